"""A track's own path for the motion classifier: its trail from the estimate's last jump on.

The motion evidence (:mod:`.classify`, :mod:`.motion`) is read from the trail after the last
step no object could make (:mod:`.trail_jumps`). One refresh of a track's class may need the
path in several of its steps (a due motion window, the filter-speed terms, the vehicle
corroboration), or in none: :class:`OwnPath` reads it on the first call and keeps it.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence

from perimeter.fusion.track import Track
from perimeter.fusion.trail_jumps import own_trail, top_speed_mps

if typing.TYPE_CHECKING:
    from perimeter.fusion.classify import ClassModel

Trail = Sequence[tuple[float, float, float]]


def own_path(track: Track, model: ClassModel) -> Trail:
    """The track's trail from the estimate's last jump on (:mod:`.trail_jumps`): what the
    motion evidence is read from."""
    state = track.state
    return own_trail(state.trail, state.trail_sigma_m, top_speed_mps(
        model.speed_mean_mps["vehicle"], model.vehicle_speed_log_sigma))


class OwnPath:
    """:func:`own_path` of one track, read on the first call and kept: one read per refresh,
    which leaves the trail as it is, however many of its steps need the path."""

    __slots__ = ("_model", "_path", "_track")

    def __init__(self, track: Track, model: ClassModel) -> None:
        self._track = track
        self._model = model
        self._path: Trail | None = None

    def __call__(self) -> Trail:
        if self._path is None:
            self._path = own_path(self._track, self._model)
        return self._path


def read_path(track: Track, model: ClassModel, path: OwnPath | None) -> Trail:
    """The track's own path: from ``path`` when given, else read now."""
    return own_path(track, model) if path is None else path()
