"""A small synthetic bearing generator for fusion tests: known targets, noise, misses, clutter."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from perimeter import topics
from perimeter.bus import Message
from perimeter.site import Site

EPOCH_S = 1_768_514_400.0
IFOV_RAD = 17e-6 / 0.075


@dataclass(frozen=True)
class Target:
    """A target whose position at absolute time ``t`` is ``path(t)`` while ``t0 <= t <= t1``."""

    path: Callable[[float], tuple[float, float]]
    t0_s: float
    t1_s: float
    size_m: float = 1.0
    kind_hint: str | None = None
    only_towers: tuple[str, ...] | None = None


def straight(start_xy: tuple[float, float], velocity_mps: tuple[float, float], t0_s: float,
             t1_s: float, **kw: object) -> Target:
    def path(t: float) -> tuple[float, float]:
        dt = t - t0_s
        return (start_xy[0] + velocity_mps[0] * dt, start_xy[1] + velocity_mps[1] * dt)
    return Target(path, t0_s, t1_s, **kw)  # type: ignore[arg-type]


def wandering(center_xy: tuple[float, float], speed_mps: float, t0_s: float, t1_s: float,
              rng: np.random.Generator, *, size_m: float = 1.0) -> Target:
    """A slow random walk (an animal grazing) sampled each second."""
    n = int(t1_s - t0_s) + 2
    heading = np.cumsum(rng.normal(0.0, 0.6, n))
    steps = speed_mps * np.stack([np.sin(heading), np.cos(heading)], axis=1)
    xy = np.asarray(center_xy) + np.cumsum(steps, axis=0)

    def path(t: float) -> tuple[float, float]:
        k = (t - t0_s)
        return (float(np.interp(k, np.arange(n), xy[:, 0])),
                float(np.interp(k, np.arange(n), xy[:, 1])))
    return Target(path, t0_s, t1_s, size_m=size_m)


def generate(site: Site, targets: list[Target], duration_s: float, rng: np.random.Generator, *,
             sensors: tuple[str, ...] = ("thermal",), period_s: float = 0.5,
             thermal_sigma_deg: float = 0.2, acoustic_sigma_deg: float = 4.0, pd: float = 0.9,
             clutter_per_report: float = 0.3, max_range_m: float = 7000.0,
             start_s: float = EPOCH_S) -> list[Message]:
    """Sensor report messages of every tower, in time order."""
    messages = []
    seqs: dict[tuple[str, str], int] = {}
    n_steps = int(duration_s / period_s)
    for k in range(n_steps):
        for ti, tower in enumerate(site.towers):
            for si, sensor in enumerate(sensors):
                t_s = start_s + k * period_s + 0.013 * ((7 * ti + 3 * si) % 37)
                sigma = thermal_sigma_deg if sensor == "thermal" else acoustic_sigma_deg
                dets = []
                for target in targets:
                    if not target.t0_s <= t_s <= target.t1_s:
                        continue
                    if target.only_towers is not None and tower.id not in target.only_towers:
                        continue
                    if sensor == "acoustic" and target.kind_hint is None:
                        continue
                    x, y = target.path(t_s)
                    r = math.hypot(x - tower.x_m, y - tower.y_m)
                    if r > max_range_m or rng.random() > pd:
                        continue
                    b = math.degrees(math.atan2(x - tower.x_m, y - tower.y_m))
                    det: dict[str, object] = {
                        "bearing_deg": (b + rng.normal(0.0, sigma)) % 360.0,
                        "bearing_sigma_deg": sigma, "snr_db": 15.0 + rng.normal(0, 2)}
                    if sensor == "thermal":
                        det["size_px"] = max(target.size_m / (r * IFOV_RAD), 0.5)
                        det["contrast_k"] = 8.0
                    else:
                        det["kind_hint"] = target.kind_hint
                        det["level_db"] = 40.0
                    dets.append(det)
                for _ in range(rng.poisson(clutter_per_report)):
                    dets.append({"bearing_deg": float(rng.uniform(10.0, 170.0)),
                                 "bearing_sigma_deg": sigma,
                                 "snr_db": float(rng.uniform(8.0, 14.0)),
                                 **({"size_px": 1.0, "contrast_k": 3.0}
                                    if sensor == "thermal" else {"kind_hint": "unknown"})})
                seq = seqs.get((tower.id, sensor), 0)
                seqs[(tower.id, sensor)] = seq + 1
                payload = {"tower_id": tower.id, "sensor": sensor, "seq": seq, "t_s": t_s,
                           "detections": dets}
                messages.append(Message(topics.sensor(tower.id, sensor),
                                        json.dumps(payload).encode()))
    messages.sort(key=lambda m: json.loads(m.payload)["t_s"])
    return messages


def crb_rms_m(site: Site, xy: tuple[float, float], sigma_deg: float,
              max_range_m: float = 7000.0) -> float:
    """Bearing-only Cramér-Rao bound (RMS metres) of one thermal look from every tower in range."""
    info = np.zeros((2, 2))
    s = math.radians(sigma_deg)
    for tower in site.towers:
        dx, dy = xy[0] - tower.x_m, xy[1] - tower.y_m
        r2 = dx * dx + dy * dy
        if r2 > max_range_m**2:
            continue
        h = np.array([dy / r2, -dx / r2])
        info += np.outer(h, h) / s**2
    return float(math.sqrt(np.trace(np.linalg.inv(info))))
