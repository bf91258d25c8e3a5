"""The IMM wired into the engine (``EngineConfig.imm``), on a synthetic stop-and-go walker."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from perimeter.bus import Message
from perimeter.fusion import imm
from perimeter.fusion.engine import EngineConfig
from perimeter.fusion.replay import CollectingOutput
from perimeter.fusion.runner import FusionRunner
from perimeter.site import western_heights
from perimeter.thresholds import Thresholds
from tests.fusion.synth import EPOCH_S, Target, generate

SITE = western_heights()
T0, WALK_S, STOP_S = EPOCH_S + 10.0, 60.0, 60.0
START, VELOCITY = np.array([4000.0, -500.0]), np.array([-1.2, 0.3])


def walker(t: float) -> tuple[float, float]:
    """Walks, stops, walks on the same way."""
    moving = min(t - T0, WALK_S) + max(t - T0 - WALK_S - STOP_S, 0.0)
    x, y = START + VELOCITY * max(moving, 0.0)
    return float(x), float(y)


def errors(config: EngineConfig, messages: list[Message], checks: list[float]
           ) -> tuple[list[float], list[np.ndarray | None]]:
    """Position errors of the track nearest the walker and its mode probabilities at each
    time of ``checks``."""
    runner = FusionRunner(SITE, Thresholds(), CollectingOutput(), engine_config=config)
    errs: list[float] = []
    modes: list[np.ndarray | None] = []
    pending = list(checks)
    for message in messages:
        t_s = json.loads(message.payload)["t_s"]
        while pending and t_s >= pending[0]:
            truth = np.array(walker(pending.pop(0)))
            tracks = runner.engine.tracks
            assert tracks
            best = min(tracks, key=lambda t: float(np.hypot(*(t.state.x[:2] - truth))))
            errs.append(float(np.hypot(*(best.state.x[:2] - truth))))
            mu = best.state.mode_probability
            modes.append(None if mu is None else mu.copy())
        runner.feed(message)
    return errs, modes


def test_the_engine_runs_the_imm_and_a_stop_reads_as_standing() -> None:
    target = Target(walker, T0, T0 + 2 * WALK_S + STOP_S, size_m=0.75)
    messages = generate(SITE, [target], 2 * WALK_S + STOP_S + 10.0, np.random.default_rng(2))
    stop = [T0 + WALK_S + k for k in range(20, int(STOP_S), 2)]
    after = [T0 + WALK_S + STOP_S + k for k in range(20, int(WALK_S) - 5, 2)]
    base_err, base_modes = errors(EngineConfig(), messages, stop)
    imm_err, imm_modes = errors(EngineConfig(imm=imm.ImmConfig()), messages, stop + after)
    assert all(m is None for m in base_modes)
    standing = np.array([m[imm.STANDING] for m in imm_modes if m is not None])
    assert len(standing) == len(stop) + len(after)
    assert np.median(standing[:len(stop)]) > 0.5  # 0.2 deg bearings: less sure than 0.03
    assert np.median(standing[len(stop):]) < 0.3
    rms = [math.sqrt(float(np.mean(np.square(e[:len(stop)])))) for e in (base_err, imm_err)]
    assert rms[1] < rms[0]


def test_the_consider_update_is_refused_with_the_imm() -> None:
    """The consider update is the constant-velocity EKF's: asked for with the IMM, it would be
    skipped without a word, so the configuration is refused."""
    with pytest.raises(ValueError, match="consider_bias"):
        EngineConfig(imm=imm.ImmConfig(), consider_bias=True)
    assert EngineConfig(consider_bias=True).imm is None  # the default filter, the EKF, takes it
