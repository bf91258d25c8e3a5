"""Ground truth kept beside the simulation for scoring; never published by the towers."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class TargetTruth:
    """One target's true trajectory, sampled in absolute time (Unix ``t_s``)."""

    id: str
    kind: str  # person | group | light_vehicle | heavy_vehicle | animal
    scripted: bool  # False for the scenario's random nuisance animals
    start_t_s: float  # when it starts to move from its first waypoint (absolute)
    origin_xy_m: tuple[float, float]  # its first waypoint
    end_t_s: float  # when it reached its last waypoint (inf if it never did)
    t_s: FloatArray  # shape (n,)
    xy_m: FloatArray  # shape (n, 2)
    count: int = 1

    def position(self, t_s: float) -> tuple[float, float]:
        """True position at ``t_s`` (linear interpolation, clamped at the ends)."""
        x = float(np.interp(t_s, self.t_s, self.xy_m[:, 0]))
        y = float(np.interp(t_s, self.t_s, self.xy_m[:, 1]))
        return (x, y)


@dataclass(slots=True)
class DetectionTag:
    """What produced one published detection: a target id, or ``None`` for clutter."""

    tower_id: str
    sensor: str
    seq: int
    index: int  # position in the report's detections list
    target_id: str | None


@dataclass(slots=True)
class Truth:
    scenario: str
    seed: int
    epoch_s: float  # the scenario's start as Unix time
    duration_s: float
    perimeter_length_m: float
    targets: list[TargetTruth] = field(default_factory=list)
    detections: list[DetectionTag] = field(default_factory=list)

    def target(self, target_id: str) -> TargetTruth:
        for target in self.targets:
            if target.id == target_id:
                return target
        raise KeyError(target_id)
