"""Registration's knocked-mast check on leave-one-out evidence, and its bias-jump alerts."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

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


def _knock_flagged_after(config: RegistrationConfig, first_track: int = 0) -> int | None:
    """A full window of healthy evidence on T02 (tracks 0-2), then evidence 0.5 deg off
    from three tracks in turn (``first_track`` and the next two), one snapshot every 10 s:
    after how many the jump is flagged."""
    counter = itertools.count(1)
    jumps = BiasJumps(TOWERS_XY, IDS, config, lambda: f"a-{next(counter):06d}")
    _evidence(jumps, 1, 0.0)
    t0_s = 10.0 * config.loo_window
    rng = np.random.default_rng(8)
    for i in range(config.loo_window):
        jumps.add_evidence(1, math.radians(0.5 + float(rng.normal(0.0, 0.01))),
                           math.radians(0.01), t0_s + 10.0 * i, first_track + i % 3)
        _, worst, shift_rad = jumps.check(t0_s + 10.0 * i, THETA, KNOWN, 1.0)
        if worst >= 0:
            assert worst == 1 and abs(math.degrees(shift_rad) - 0.5) < 0.03
            return i + 1
    return None


def _majority(config: RegistrationConfig) -> int:
    """Snapshots after the knock at which they are most of the window: its median moves."""
    return config.loo_window // 2 + 1


def test_a_change_point_flags_a_knock_once_enough_evidence_follows_it() -> None:
    # the whole window's median waits for the window to turn over (8 of 15 after the
    # knock); the evidence since the split shows it after jump_min_after (three tracks)
    on, off = RegistrationConfig(change_point=True), RegistrationConfig(change_point=False)
    assert on.jump_min_after < _majority(on)
    assert _knock_flagged_after(on) == on.jump_min_after
    assert _knock_flagged_after(off) == _majority(off)


def test_tracks_off_from_their_first_snapshot_are_no_change_point() -> None:
    # new tracks whose tower pairs a hot spot beside each (crossover-group's still tracks,
    # 1-3 deg off): no track seen before the split moved, so only the whole window's
    # median, once it departs, flags it
    on = RegistrationConfig(change_point=True)
    assert _knock_flagged_after(on, first_track=10) == _majority(on)


@pytest.mark.parametrize("per_check", [0.2, 0.5])
def test_the_change_point_false_flag_rate_stays_under_its_nominal_level(
        per_check: float) -> None:
    # healthy masts: evidence at the estimate with the model's noise (independent, its
    # sigma as reported), the estimate exact; no floor on the jump and one track enough, so
    # only the test's level holds it (a union bound over overlapping splits: far under it)
    base = RegistrationConfig()
    config = RegistrationConfig(change_point=True, min_jump_deg=0.0, jump_min_tracks=1,
                                change_point_min_tracks=1,
                                jump_false_flags_per_hour=per_check * 3600.0
                                / base.solve_every_s)
    rng = np.random.default_rng(11)
    sigma_deg, draws, flags = 0.05, 1500, 0
    for _ in range(draws):
        jumps = BiasJumps(TOWERS_XY, IDS, config)
        for i in range(config.loo_window):
            jumps.add_evidence(0, math.radians(float(rng.normal(0.0, sigma_deg))),
                               math.radians(sigma_deg), 10.0 * i, i % 3)
        flags += jumps.check(150.0, THETA, np.zeros(3), 1.0)[1] >= 0
    assert 0 < flags / draws <= per_check
