"""The tracker's configuration: its stages' settings and the imagers' pixel angle."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from perimeter.fusion import imm, jpda
from perimeter.fusion.classify import ClassModel
from perimeter.fusion.clutter import ClutterMapConfig
from perimeter.fusion.manage import ManageConfig
from perimeter.fusion.triangulate import InitiatorConfig

__all__ = ["DEFAULT_IFOV_RAD", "EngineConfig", "thermal_ifov_rad"]

DEFAULT_IFOV_RAD = 17e-6 / 0.075
"""A thermal pixel's angle when the site does not say (17 µm pitch behind a 75 mm lens)."""


def thermal_ifov_rad(thermal: dict[str, object]) -> float:
    """Pixel angle of a tower's imager from its site parameters (``pixel_pitch_um``,
    ``focal_length_mm``), defaulting to :data:`DEFAULT_IFOV_RAD`."""
    pitch = thermal.get("pixel_pitch_um", 17.0)
    focal = thermal.get("focal_length_mm", 75.0)
    if isinstance(pitch, int | float) and isinstance(focal, int | float) and focal > 0:
        return float(pitch) * 1e-6 / (float(focal) * 1e-3)
    return DEFAULT_IFOV_RAD


@dataclass(frozen=True, slots=True)
class EngineConfig:
    initiator: InitiatorConfig = field(default_factory=InitiatorConfig)
    manage: ManageConfig = field(default_factory=ManageConfig)
    clutter: ClutterMapConfig = field(default_factory=ClutterMapConfig)
    classes: ClassModel = field(default_factory=ClassModel)
    jpda: jpda.JpdaConfig = field(default_factory=jpda.JpdaConfig)
    imm: imm.ImmConfig | None = None
    """None: one constant-velocity EKF per track, its noise by class (``q_by_class``); set:
    the interacting multiple model of :mod:`.imm` (standing, walking, driving), whose modes
    carry their own noise (docs/fusion.md, "IMM")."""
    q_by_class: dict[str, float] = field(default_factory=lambda: {
        "person": 0.05, "group": 0.05, "animal": 0.05, "vehicle": 1.0, "unknown": 0.3})
    consider_bias: bool = False
    """Schmidt-Kalman "consider" update (:mod:`.consider`): each tower's residual azimuth
    bias (registration's sigma) is common to all its bearings; the covariance keeps its part
    instead of averaging it away (docs/fusion.md, "Track NEES")."""
    consider_posterior: bool = False
    """With ``consider_bias``: a bias registration has not applied is considered with the
    root mean square about zero of its posterior (estimate and the estimate's own sigma)
    instead of its relative sigma, which stays at the 1° prior until the tower has
    ``min_snapshots`` snapshots (docs/fusion.md, "Track NEES")."""
    llr_init: float = -4.0
    llr_max: float = 60.0
    miss_window_s: float = 120.0
    late_initiation_s: float = 1.0
    """A late scan at most this far behind the newest may still start tracks (reordering)."""
    seed_beside_tracks: bool = False
    """Offer the initiator a bearing that tracks gate when each of them took another bearing
    of the same report (one object makes at most one detection per report): people walking
    close together start their own tracks beside a neighbour's (docs/fusion.md, "Dense
    targets"; with ``seed_beside_thermal_only`` measured mixed on the whole set: off)."""
    seed_beside_thermal_only: bool = True
    """With ``seed_beside_tracks``, only imagers' bearings (resolved blobs); an acoustic
    report may hold one source twice (echoes), and its wide gates hold many bearings."""
    relevance_range_m: float = 20_000.0
    """Tracks farther than this from a tower (beyond any sensor's range) are neither gated
    against nor penalised by its reports: on a long site each report meets only its own."""
    fov_rad: float = math.pi
    sound_speed_mps: float = 337.0
    """Speed of sound for the acoustic travel time (331.3 sqrt(1 + T/273.15) at 10 °C; the
    site's temperature is not known to fusion, and ±20 °C changes it by 3.5 %)."""

    def __post_init__(self) -> None:
        if self.consider_bias and self.imm is not None:
            raise ValueError("consider_bias: the consider update is the constant-velocity "
                             "EKF's and the IMM would skip it; set imm=None with it")

    def seeds_beside(self, sensor: str) -> bool:
        """Whether a report of ``sensor`` offers the initiator the bearings gated only by
        tracks that took another of its bearings (``seed_beside_tracks``)."""
        return self.seed_beside_tracks and (sensor == "thermal"
                                            or not self.seed_beside_thermal_only)
