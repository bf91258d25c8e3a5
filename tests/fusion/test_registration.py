"""Registration: a tower's azimuth bias and clock offset estimated from shared targets."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest

from perimeter.bus import Message
from perimeter.contract import FusionStatus
from perimeter.fusion.registration_fit import RegistrationConfig
from perimeter.fusion.replay import CollectingOutput
from perimeter.fusion.runner import FusionRunner
from perimeter.site import western_heights
from perimeter.thresholds import Thresholds
from tests.fusion.synth import EPOCH_S, Target, generate, straight

SITE = western_heights()
SIGMA_DEG = 0.05


def distorted(messages: list[Message], tower_id: str, *,
              bias_deg: Callable[[float], float] = lambda t: 0.0,
              clock_s: float = 0.0) -> list[Message]:
    """``tower_id``'s bearings rotated by ``bias_deg(t)`` and its clock ``clock_s`` ahead."""
    out = []
    for message in messages:
        payload = json.loads(message.payload)
        if payload["tower_id"] == tower_id:
            t = payload["t_s"]
            for det in payload["detections"]:
                det["bearing_deg"] = (det["bearing_deg"] + bias_deg(t)) % 360.0
            payload["t_s"] = t + clock_s
            message = Message(message.topic, json.dumps(payload).encode())
        out.append(message)
    out.sort(key=lambda m: json.loads(m.payload)["t_s"])
    return out


def traffic(duration_s: float) -> list[Target]:
    """Vehicles and walkers crossing in front of the towers, one after another."""
    targets = []
    for i in range(int(duration_s // 60)):
        t0 = EPOCH_S + 5.0 + 60.0 * i
        y0 = -2500.0 + 900.0 * (i % 6)
        targets.append(straight((3500.0 - 150 * (i % 4), y0), (-1.0, 7.0 if i % 2 else -7.0),
                                t0, t0 + 200.0, size_m=2.5))
    return targets


def fused(messages: list[Message], config: RegistrationConfig | None = None
          ) -> tuple[FusionRunner, CollectingOutput]:
    out = CollectingOutput()
    runner = FusionRunner(SITE, Thresholds(), out, registration_config=config)
    for message in messages:
        runner.feed(message)
    runner.finish()
    return runner, out


@pytest.fixture(scope="module")
def clean() -> list[Message]:
    return generate(SITE, traffic(600.0), 600.0, np.random.default_rng(5),
                    thermal_sigma_deg=SIGMA_DEG, clutter_per_report=0.1)


def test_a_fixed_bias_is_estimated_within_its_sigma(clean: list[Message]) -> None:
    runner, out = fused(distorted(clean, "T05", bias_deg=lambda t: 0.4))
    status = runner.registration.status()
    t05 = status["T05"]
    assert t05.snapshots > 50
    assert 0.0 < t05.azimuth_bias_sigma_deg < 0.05
    assert abs(t05.azimuth_bias_deg - 0.4) <= 3.0 * t05.azimuth_bias_sigma_deg
    assert t05.applied
    for tid, est in status.items():  # the others: no bias, and none claimed
        if tid != "T05" and est.snapshots > 50:
            assert abs(est.azimuth_bias_deg) <= 3.0 * est.azimuth_bias_sigma_deg + 0.01, tid
    assert not [e for e in out.alerts if e.fault]
    payload = FusionStatus.model_validate({"state": "online", "registration": status})
    assert payload.registration["T05"].applied


def first_applied(messages: list[Message], tower_id: str, config: RegistrationConfig
                  ) -> tuple[int, bool]:
    """Feed ``messages`` until ``tower_id``'s estimate has rested on five snapshots for 20 s
    of data: its snapshots then and whether its bias was applied."""
    runner = FusionRunner(SITE, Thresholds(), CollectingOutput(), registration_config=config)
    five_at_s: float | None = None
    est = runner.registration.status()[tower_id]
    for i, message in enumerate(messages):
        runner.feed(message)
        if i % 20:
            continue
        est = runner.registration.status()[tower_id]
        t_s = float(json.loads(message.payload)["t_s"])
        if five_at_s is None and est.snapshots >= 5:
            five_at_s = t_s
        if five_at_s is not None and t_s - five_at_s >= 20.0:
            break
    return est.snapshots, est.applied


def test_a_bias_known_from_a_few_snapshots_is_applied(clean: list[Message]) -> None:
    # a 0.4 deg bias is eight bearing sigmas: it is applied once it rests on a few
    # snapshots (min_snapshots 3), not only once ten have come
    messages = distorted(clean, "T05", bias_deg=lambda t: 0.4)
    snapshots, applied = first_applied(messages, "T05", RegistrationConfig())
    assert 5 <= snapshots < 10
    assert applied
    snapshots, applied = first_applied(messages, "T05", RegistrationConfig(min_snapshots=10))
    assert snapshots < 10
    assert not applied


def test_a_clock_offset_is_estimated_within_its_sigma(clean: list[Message]) -> None:
    runner, _ = fused(distorted(clean, "T08", clock_s=0.8))
    t08 = runner.registration.status()["T08"]
    assert 0.0 < t08.clock_offset_sigma_s < 0.2
    assert abs(t08.clock_offset_s - 0.8) <= 3.0 * t08.clock_offset_sigma_s


@pytest.mark.parametrize(("change_point", "within_s"), [(False, 120.0), (True, 60.0)])
def test_a_knocked_mast_is_flagged(clean: list[Message], change_point: bool,
                                   within_s: float) -> None:
    knock_s = EPOCH_S + 300.0
    runner, out = fused(distorted(clean, "T04",
                                  bias_deg=lambda t: 0.2 if t < knock_s else 1.2),
                        RegistrationConfig(change_point=change_point))
    faults = [e for e in out.alerts if e.fault == "bias_jump"]
    assert faults and faults[0].event == "new" and faults[0].towers == ["T04"]
    # +30 s here in both modes. The whole window's median may wait for it to turn over:
    # while it still holds pre-knock evidence, its robust spread can read the step as noise
    # (+20 to +80 s on different machines, from float differences in the fits); with the
    # change point, once jump_min_after snapshots from three tracks follow the knock
    # (+100 s against +135 s through scanning heads: docs/fusion.md). A mis-paired track's
    # 2.5 deg snapshot once held both to +80 s (the errors' floor was the sigmas' rms; now
    # their median: docs/fusion.md)
    assert knock_s <= faults[0].t_s <= knock_s + within_s
    assert [e.event for e in faults] == ["new", "closed"]  # closed once re-registered
    t04 = runner.registration.status()["T04"]
    assert t04.bias_jump_t_s is not None and t04.bias_jump_deg == pytest.approx(1.0, abs=0.2)
    # it re-converges on the new alignment
    assert abs(t04.azimuth_bias_deg - 1.2) <= 3.0 * t04.azimuth_bias_sigma_deg
    assert all(e.towers == ["T04"] for e in faults)


def scanned(messages: list[Message], frame_s: float = 0.5, steps: int = 11) -> list[Message]:
    """What two scanning heads per tower report: each looks at one of ``steps`` fields of
    view of its 90 degrees per frame, so a bearing is seen once every ``steps`` frames
    (5.5 s), at a phase of its own per tower."""
    out = []
    for message in messages:
        payload = json.loads(message.payload)
        frame = round((payload["t_s"] - EPOCH_S) / frame_s)
        tower = int(payload["tower_id"][1:])
        payload["detections"] = [
            d for d in payload["detections"]
            if int((d["bearing_deg"] % 90.0) / (90.0 / steps)) == (frame + 5 * tower) % steps]
        out.append(Message(message.topic, json.dumps(payload).encode()))
    return out


def test_scanning_heads_register_a_small_bias(clean: list[Message]) -> None:
    """A bearing every 5.5 s per tower: snapshots over seconds, velocity profiled out. A
    rotation common to all towers is weakly observable, so each bias is judged against the
    mean of the others' (``relative_sigma_rad``)."""
    runner, out = fused(distorted(scanned(clean), "T05", bias_deg=lambda t: 0.15))
    registration = runner.registration
    status = registration.status()
    seen = {tid: est for tid, est in status.items() if est.snapshots >= 10}
    assert len(seen) == 12
    relative_deg = {tid: float(np.degrees(registration.relative_sigma_rad[k]))
                    for k, tid in enumerate(registration.tower_ids)}
    others = np.mean([est.azimuth_bias_deg for tid, est in seen.items() if tid != "T05"])
    assert 0.0 < relative_deg["T05"] < 0.03
    assert abs(seen["T05"].azimuth_bias_deg - others - 0.15) <= 3.0 * relative_deg["T05"]
    assert seen["T05"].applied
    for tid, est in seen.items():  # the others agree with one another
        if tid != "T05":
            assert abs(est.azimuth_bias_deg - others) <= 3.0 * relative_deg[tid], tid
    assert not [e for e in out.alerts if e.fault]
