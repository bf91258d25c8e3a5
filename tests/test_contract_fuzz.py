"""Property tests: whatever bytes arrive, parsing either succeeds or raises ContractError."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from perimeter.contract import (
    AlertEvent,
    ContractError,
    SensorReport,
    TowerStatus,
    parse_payload,
)

MODELS = (SensorReport, TowerStatus, AlertEvent)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)


def _parses_or_refuses(raw: bytes | str) -> None:
    for model in MODELS:
        try:
            parse_payload(model, raw)
        except ContractError as err:
            assert str(err)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_escape_as_other_errors(raw: bytes) -> None:
    _parses_or_refuses(raw)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_random_json_never_escapes_as_other_errors(value: object) -> None:
    _parses_or_refuses(json.dumps(value, allow_nan=True))


detection = st.fixed_dictionaries({
    "bearing_deg": st.floats(allow_nan=True, allow_infinity=True),
    "bearing_sigma_deg": st.floats(allow_nan=True, allow_infinity=True),
    "snr_db": st.floats(allow_nan=True, allow_infinity=True),
})


@settings(max_examples=300, deadline=None)
@given(
    seq=st.integers(min_value=-(2**70), max_value=2**70),
    t_s=st.floats(allow_nan=True, allow_infinity=True),
    detections=st.lists(detection, max_size=4),
)
def test_accepted_reports_hold_only_finite_in_range_values(
    seq: int, t_s: float, detections: list[dict[str, float]]
) -> None:
    raw = json.dumps({"tower_id": "T01", "sensor": "acoustic", "seq": seq, "t_s": t_s,
                      "detections": detections})
    try:
        report = parse_payload(SensorReport, raw)
    except ContractError:
        return
    assert report.seq >= 0 and math.isfinite(report.t_s)
    for det in report.detections:
        assert 0.0 <= det.bearing_deg < 360.0
        assert 0.0 < det.bearing_sigma_deg <= 180.0
        assert math.isfinite(det.snr_db)
