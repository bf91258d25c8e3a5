"""Registration's knocked-mast check on leave-one-out evidence, and its bias-jump alerts."""

from __future__ import annotations

import itertools
import math

import numpy as np

from perimeter.fusion.registration_fit import RegistrationConfig
from perimeter.fusion.registration_jumps import BiasJumps

TOWERS_XY = np.array([[0.0, 0.0], [2000.0, 0.0], [0.0, 2000.0]])
IDS = ["T01", "T02", "T03"]
THETA = np.zeros(6)
KNOWN = np.full(3, math.radians(0.01))  # every bias known to 0.01 deg against the others'


def _jumps() -> BiasJumps:
    counter = itertools.count(1)
    return BiasJumps(TOWERS_XY, IDS, RegistrationConfig(), lambda: f"a-{next(counter):06d}")


def _evidence(jumps: BiasJumps, k: int, bias_deg: float, t0_s: float = 0.0,
              tracks: int = 3) -> None:
    """A window of evidence on tower ``k`` at ``bias_deg``, from ``tracks`` tracks in turn."""
    rng = np.random.default_rng(3)
    for i in range(RegistrationConfig().loo_window):
        noise_deg = float(rng.normal(0.0, 0.01))
        jumps.add_evidence(k, math.radians(bias_deg + noise_deg), math.radians(0.01),
                           t0_s + 10.0 * i, i % tracks)


def test_evidence_that_agrees_with_the_estimate_flags_nothing() -> None:
    jumps = _jumps()
    for k in range(3):
        _evidence(jumps, k, 0.0)
    assert jumps.check(150.0, THETA, KNOWN, 1.0) == ([], -1, 0.0)


def test_a_knocked_mast_is_flagged_alerted_and_closed_once_re_converged() -> None:
    jumps = _jumps()
    _evidence(jumps, 0, 0.0)
    _evidence(jumps, 1, 0.5)
    events, worst, shift_rad = jumps.check(150.0, THETA, KNOWN, 1.0)
    assert events == [] and worst == 1
    assert abs(math.degrees(shift_rad) - 0.5) < 0.02
    (new,) = jumps.flag(worst, shift_rad, 150.0)
    assert (new.event, new.alert_id, new.fault, new.towers) == ("new", "a-000001", "bias_jump",
                                                                ["T02"])
    assert jumps.jump(1) == (150.0, round(math.degrees(shift_rad), 4))
    assert jumps.jump(0) == (None, None)
    # every tower's evidence is dropped after a flag
    assert jumps.check(160.0, THETA, KNOWN, 1.0) == ([], -1, 0.0)
    # open at least min_alert_s, then closed once the bias is known again
    unsettled = KNOWN.copy()
    unsettled[1] = math.radians(0.5)
    assert jumps.check(300.0, THETA, unsettled, 1.0)[0] == []
    assert jumps.check(180.0, THETA, KNOWN, 1.0)[0] == []
    (closed,) = jumps.check(300.0, THETA, KNOWN, 1.0)[0]
    assert (closed.event, closed.alert_id) == ("closed", "a-000001")
    assert jumps.close_all(400.0) == []


def test_a_shift_seen_on_one_track_only_is_no_jump() -> None:
    # one still track whose tower pairs a hot spot beside it: every snapshot of it is off
    # alike (crossover-group's T06, 11 of 15 snapshots of one track 3 deg off)
    jumps = _jumps()
    _evidence(jumps, 0, 0.0)
    _evidence(jumps, 1, -3.0, tracks=1)
    assert jumps.check(150.0, THETA, KNOWN, 1.0) == ([], -1, 0.0)
    # a second track that sees it too makes it a jump
    jumps = _jumps()
    _evidence(jumps, 1, -3.0, tracks=2)
    assert jumps.check(150.0, THETA, KNOWN, 1.0)[1] == 1
    # ... but not one whose own snapshots scatter more than they depart
    jumps = _jumps()
    _evidence(jumps, 1, -3.0, tracks=1)
    for i, scattered_deg in enumerate([-0.6, -11.4, -2.4]):
        jumps.add_evidence(1, math.radians(scattered_deg), math.radians(0.05), 150.0 + i, 7)
    assert jumps.check(155.0, THETA, KNOWN, 1.0)[1] == -1


def test_close_all_closes_the_open_alerts() -> None:
    jumps = _jumps()
    jumps.flag(2, math.radians(1.0), 50.0)
    (closed,) = jumps.close_all(60.0)
    assert (closed.event, closed.towers, closed.t_s) == ("closed", ["T03"], 60.0)
