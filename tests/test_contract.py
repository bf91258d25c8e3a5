"""The message contract: valid payloads parse, invalid ones name the field and the reason."""

from __future__ import annotations

import json

import pytest

from perimeter.contract import (
    MAX_PAYLOAD_BYTES,
    AlertEvent,
    ContractError,
    SensorReport,
    TowerStatus,
    dump_payload,
    parse_payload,
)

REPORT = {
    "tower_id": "T03", "sensor": "thermal", "seq": 1234, "t_s": 1768514400.25,
    "detections": [{"bearing_deg": 87.4, "bearing_sigma_deg": 0.3, "snr_db": 12.5}],
}

ALERT = {
    "event": "new", "alert_id": "a-000017", "track_id": "k-000042", "t_s": 1768514460.0,
    "class": "person", "class_confidence": 0.91, "confidence": 0.97, "severity": "high",
    "position": {"x_m": 2310.0, "y_m": -420.0}, "velocity": {"vx_mps": -1.2, "vy_mps": 0.3},
    "origin": {"x_m": 3105.0, "y_m": -610.0, "t_s": 1768514401.0,
               "sigma_major_m": 35.0, "sigma_minor_m": 12.0, "orientation_deg": 80.0},
    "distance_to_perimeter_m": 2280.0, "towers": ["T03", "T04"],
    "sensors": ["thermal", "acoustic"],
}


def test_contract_examples_round_trip() -> None:
    report = parse_payload(SensorReport, json.dumps(REPORT))
    assert report.detections[0].bearing_deg == pytest.approx(87.4)
    assert json.loads(dump_payload(report)) == REPORT
    alert = parse_payload(AlertEvent, json.dumps(ALERT).encode())
    assert alert.class_ == "person"
    assert alert.to_payload() == ALERT


def test_unknown_fields_are_kept_as_compatible_extensions() -> None:
    payload = dict(REPORT, firmware="1.2")
    assert json.loads(dump_payload(parse_payload(SensorReport, json.dumps(payload))))[
        "firmware"] == "1.2"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r["detections"][0].update(bearing_deg=360.0), "detections.0.bearing_deg"),
        (lambda r: r["detections"][0].update(bearing_deg=-1), "detections.0.bearing_deg"),
        (lambda r: r.update(sensor="radar"), "sensor"),
        (lambda r: r.update(seq=-1), "seq"),
        (lambda r: r.pop("t_s"), "t_s"),
        (lambda r: r.update(tower_id="T 03/x"), "tower_id"),
        (lambda r: r["detections"][0].update(kind_hint="dragon"), "detections.0.kind_hint"),
    ],
)
def test_invalid_report_names_the_field(mutate: object, field: str) -> None:
    payload = json.loads(json.dumps(REPORT))
    mutate(payload)  # type: ignore[operator]
    with pytest.raises(ContractError) as err:
        parse_payload(SensorReport, json.dumps(payload))
    assert err.value.field == field
    assert field in str(err.value)


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe\x00", b"", b"[]", b"null"])
def test_garbage_is_a_contract_error(raw: bytes) -> None:
    with pytest.raises(ContractError):
        parse_payload(SensorReport, raw)


def test_nan_and_infinity_are_refused() -> None:
    text = json.dumps(REPORT).replace("12.5", "NaN")
    with pytest.raises(ContractError) as err:
        parse_payload(SensorReport, text)
    assert err.value.field == "detections.0.snr_db"


def test_oversized_payload_is_refused_unread() -> None:
    with pytest.raises(ContractError, match="exceeds"):
        parse_payload(SensorReport, b" " * (MAX_PAYLOAD_BYTES + 1))


def test_tower_status_offline_will() -> None:
    status = parse_payload(TowerStatus, b'{"tower_id": "T05", "state": "offline"}')
    assert status.state == "offline"
    with pytest.raises(ContractError) as err:
        parse_payload(TowerStatus, b'{"tower_id": "T05", "state": "asleep"}')
    assert err.value.field == "state"


def test_blob_extent_is_optional_and_non_negative() -> None:
    old = {"tower_id": "T03", "sensor": "thermal", "seq": 1, "t_s": 10.0,
           "detections": [{"bearing_deg": 87.4, "bearing_sigma_deg": 0.3, "snr_db": 12.5,
                           "size_px": 3.2}]}
    det = parse_payload(SensorReport, json.dumps(old)).detections[0]
    assert det.width_px is None and det.height_px is None
    old["detections"][0].update(width_px=2.0, height_px=7.0)  # type: ignore[index]
    det = parse_payload(SensorReport, json.dumps(old)).detections[0]
    assert (det.width_px, det.height_px) == (2.0, 7.0)
    old["detections"][0]["height_px"] = -1.0  # type: ignore[index]
    with pytest.raises(ContractError) as err:
        parse_payload(SensorReport, json.dumps(old))
    assert err.value.field == "detections.0.height_px"
