"""The track: a number and an alert, and the parts its stages own (Stone Soup's split of
state, score and evidence).

- :class:`.TrackState` (:mod:`.track_state`): the filter's estimate, history and trail,
  written by the estimator (engine update, :mod:`.ekf`);
- :class:`.TrackScore` (:mod:`.track_score`): status and log-likelihood ratio, written by
  the score updates and the manager (:mod:`.manage`);
- :class:`.TrackEvidence` (:mod:`.track_evidence`): who saw it, the bearings that fix it,
  features and class, written by association (:mod:`.engine`), :mod:`.evidence` and
  :mod:`.classify`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from perimeter.fusion.track_evidence import TrackEvidence
from perimeter.fusion.track_score import TrackScore
from perimeter.fusion.track_state import TrackState

SLOW_MPS = 0.7
SLOW_FACTOR = 3.0
"""A track surely slower than :data:`SLOW_MPS` keeps its triangulation for ``SLOW_FACTOR``
times the usual window: a crawler glimpsed between trees moves little between sightings."""


@dataclass(slots=True)
class Track:
    """One live track: its identity, and its state, score and evidence."""

    number: int
    first_t_s: float
    state: TrackState
    score: TrackScore = field(default_factory=TrackScore)
    evidence: TrackEvidence = field(default_factory=TrackEvidence)
    home_tower: int | None = None  # set while only one tower has seen it
    alert_id: str | None = None
    deleted: bool = False
    successor: int | None = None
    """The track a duplicate merge kept in this one's place (:mod:`.duplicates`): the same
    object, so it continues this track's alert."""

    @property
    def track_id(self) -> str:
        return f"k-{self.number:06d}"

    def imaged(self, t_s: float, window_s: float, *, slow_mps: float = SLOW_MPS,
               slow_factor: float = SLOW_FACTOR) -> bool:
        """Two thermal imagers each saw the track at least twice in the last ``window_s``.

        A track surely slower than ``slow_mps`` moves little between glimpses, so its window is
        ``slow_factor`` times longer (sparse sightings of a crawler between trees)."""
        if slow_mps > 0.0 and self.state.surely_slower_than(slow_mps):
            window_s *= slow_factor
        return self.evidence.imaged(t_s, window_s)

    def triangulated(self, t_s: float, window_s: float) -> bool:
        """Whether the track's range is observed: :meth:`imaged` or
        :meth:`.TrackEvidence.fixed`."""
        return self.imaged(t_s, window_s) or self.evidence.fixed(t_s, window_s)

    def record_hit(self, t_s: float, tower: int, sensor: str, *, counts: bool = True) -> None:
        """An associated detection; ``counts`` toward M-of-N (seed detections do not)."""
        self.score.record_hit(t_s, counts=counts)
        self.evidence.record_detection(t_s, tower, sensor)
        self.state.mark_trail(t_s)
