"""Synthetic ground truth and alert events with known answers, for the evaluation tests."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from perimeter.contract import AlertEvent, Origin, Position
from sim.truth import TargetTruth, Truth

EPOCH_S = 1_768_514_400.0


def target(target_id: str, kind: str, path: Sequence[tuple[float, float]], *,
           start_s: float = 0.0, speed_mps: float = 10.0, scripted: bool = True) -> TargetTruth:
    """A target that waits at ``path[0]`` and walks the path from ``start_s`` at ``speed_mps``."""
    pts = np.asarray(path, dtype=float)
    legs = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    t = EPOCH_S + start_s + np.concatenate([[0.0], np.cumsum(legs) / speed_mps])
    return TargetTruth(id=target_id, kind=kind, scripted=scripted, start_t_s=float(t[0]),
                       origin_xy_m=(float(pts[0, 0]), float(pts[0, 1])),
                       end_t_s=float(t[-1]), t_s=t, xy_m=pts)


def truth(*targets: TargetTruth, duration_s: float = 3600.0) -> Truth:
    return Truth(scenario="synthetic", seed=7, epoch_s=EPOCH_S, duration_s=duration_s,
                 perimeter_length_m=6000.0, targets=list(targets))


def alert(alert_id: str, points: Sequence[tuple[float, float, float]], *, cls: str = "person",
          origin: tuple[float, float] | None = None, track_id: str | None = None,
          classes: Sequence[str] | None = None,
          ellipse: tuple[float, float, float] = (30.0, 10.0, 0.0),
          origin_elapsed_s: float = 0.0) -> list[AlertEvent]:
    """Events ``new``, ``update``... at ``(elapsed_s, x_m, y_m)`` points; origin on the first,
    with the 1-sigma ``ellipse`` ``(sigma_major_m, sigma_minor_m, orientation_deg)``;
    ``classes`` gives each event's class (else ``cls`` for all); the origin's time is
    ``origin_elapsed_s`` after the epoch."""
    events = []
    for i, (elapsed_s, x, y) in enumerate(points):
        org = None
        if i == 0 and origin is not None:
            org = Origin(x_m=origin[0], y_m=origin[1], t_s=EPOCH_S + origin_elapsed_s,
                         sigma_major_m=ellipse[0],
                         sigma_minor_m=ellipse[1], orientation_deg=ellipse[2])
        events.append(AlertEvent.model_validate({
            "event": "new" if i == 0 else "update", "alert_id": alert_id,
            "track_id": track_id or f"k-{alert_id}", "t_s": EPOCH_S + elapsed_s,
            "class": classes[i] if classes is not None else cls,
            "confidence": 0.9, "severity": "high", "position": Position(x_m=x, y_m=y),
            "origin": org}))
    return events


def along(tgt: TargetTruth, elapsed: Sequence[float], offset_m: float = 0.0,
          ) -> list[tuple[float, float, float]]:
    """Points on the target's true track at ``elapsed`` seconds, shifted north by ``offset_m``."""
    out = []
    for e in elapsed:
        x, y = tgt.position(EPOCH_S + e)
        out.append((e, x, y + offset_m))
    return out


def dist(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.dist(a, b)
