import math

import pytest

from perimeter.bus import Message
from perimeter.contract import SensorReport, dump_payload
from perimeter.evaluation import crb
from perimeter.thresholds import Thresholds
from perimeter.topics import sensor
from sim.truth import DetectionTag, Truth

PAIR = [((0.0, -500.0), 1.0), ((0.0, 500.0), 1.0)]  # towers 1 km apart, sigma 1 deg


@pytest.mark.parametrize(("range_m", "expected_m"), [(1000.0, 35.0), (2000.0, 108.0),
                                                      (4000.0, 404.0)])
def test_two_towers_match_physics_note(range_m: float, expected_m: float) -> None:
    assert crb.bearing_crb_m((range_m, 0.0), PAIR) == pytest.approx(expected_m, abs=1.0)


def test_two_towers_match_closed_form_off_axis() -> None:
    # Symmetric pair: sqrt(2) sigma r / sin(gamma) with r to each tower and crossing angle gamma.
    target = (1500.0, 0.0)
    r = math.hypot(1500.0, 500.0)
    gamma = 2 * math.atan2(500.0, 1500.0)
    closed = math.sqrt(2) * math.radians(1.0) * r / math.sin(gamma)
    assert crb.bearing_crb_m(target, PAIR) == pytest.approx(closed, rel=1e-9)


def test_more_towers_and_sharper_bearings_tighten_the_bound() -> None:
    far = (4000.0, 0.0)
    three = [*PAIR, ((0.0, 1500.0), 1.0)]
    assert crb.bearing_crb_m(far, three) < crb.bearing_crb_m(far, PAIR)
    sharp = [(xy, 0.5) for xy, _ in PAIR]
    assert crb.bearing_crb_m(far, sharp) == pytest.approx(crb.bearing_crb_m(far, PAIR) / 2)


def test_one_tower_or_collinear_towers_cannot_fix() -> None:
    assert crb.bearing_crb_m((1000.0, 0.0), PAIR[:1]) == math.inf
    assert crb.bearing_crb_m((1000.0, 0.0), [((0.0, 0.0), 1.0), ((-500.0, 0.0), 1.0)]) == math.inf
    assert crb.bearing_crb_m((1000.0, 0.0), []) == math.inf


def test_bad_observer_is_refused() -> None:
    with pytest.raises(ValueError, match="bearing_sigma_deg"):
        crb.bearing_crb_m((1000.0, 0.0), [((0.0, 0.0), 0.0)])


def test_tower_sigma_combines_its_sensors() -> None:
    sightings = [crb.Sighting("T01", "thermal", 0.0, 1.0), crb.Sighting("T01", "thermal", 1.0, 3.0),
                 crb.Sighting("T01", "acoustic", 0.0, 2.0)]
    # thermal median 2 deg, acoustic 2 deg: combined information gives 2 / sqrt(2).
    assert crb.tower_sigmas_deg(sightings) == {"T01": pytest.approx(math.sqrt(2))}


def test_origin_bound_uses_only_the_first_seconds() -> None:
    towers = {"A": (0.0, -500.0), "B": (0.0, 500.0)}
    early = [crb.Sighting("A", "thermal", 100.0, 1.0), crb.Sighting("B", "thermal", 105.0, 1.0)]
    late = crb.Sighting("B", "thermal", 200.0, 1.0)
    assert crb.origin_crb_m((2000.0, 0.0), 100.0, early, towers, 30.0) == pytest.approx(108, abs=1)
    assert crb.origin_crb_m((2000.0, 0.0), 100.0, [early[0], late], towers, 30.0) == math.inf


def _report(tower: str, seq: int, t_s: float, sigmas: list[float],
            snr_db: float = 10.0) -> Message:
    report = SensorReport(tower_id=tower, sensor="thermal", seq=seq, t_s=t_s, detections=[
        {"bearing_deg": 90.0, "bearing_sigma_deg": s, "snr_db": snr_db} for s in sigmas])
    return Message(sensor(tower, "thermal"), dump_payload(report))


def test_sightings_join_tags_with_reports() -> None:
    truth = Truth("s", 1, 0.0, 10.0, 6000.0, detections=[
        DetectionTag("T01", "thermal", 4, 1, "p1"), DetectionTag("T01", "thermal", 4, 0, None),
        DetectionTag("T02", "thermal", 9, 0, "p1")])
    messages = [_report("T01", 4, 12.5, [0.7, 0.3]), _report("T02", 9, 13.0, [0.5], 7.0),
                _report("T02", 10, 14.0, [0.9]), Message("perimeter/v1/towers/T01/status", b"{}")]
    found = crb.sightings_by_target(truth, messages)
    assert found == {"p1": [crb.Sighting("T01", "thermal", 12.5, 0.3, 10.0),
                            crb.Sighting("T02", "thermal", 13.0, 0.5, 7.0)]}
    # fusion drops a thermal detection below 8 dB: the bounds do not count it
    floors = Thresholds(thermal_min_snr_db=8.0, acoustic_min_snr_db=6.0)
    assert crb.usable(found["p1"], floors) == [found["p1"][0]]
    acoustic = crb.Sighting("T03", "acoustic", 13.0, 9.0, 7.0)
    assert crb.usable([acoustic], floors) == [acoustic]
