from __future__ import annotations

import pytest

from perimeter.fusion import own_path as own_path_module
from perimeter.fusion.classify import ClassModel, refresh_class
from perimeter.fusion.own_path import OwnPath, own_path, read_path
from perimeter.fusion.track import Track
from tests.fusion.helpers import track_at


def _driven(speed_mps: float, seconds: float) -> Track:
    """A track whose trail (the filter's, errors 2 m) runs at ``speed_mps``, a point per 2 s."""
    track = track_at(3000.0, 0.0, -speed_mps, 0.0)
    for k in range(int(seconds / 2) + 1):
        track.state.trail.append((2.0 * k, 3000.0 - speed_mps * 2.0 * k, 0.0))
        track.state.trail_sigma_m.append(2.0)
    return track


def _counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = own_path_module.own_trail

    def counted(*args: object) -> object:
        calls.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(own_path_module, "own_trail", counted)
    return calls


def test_the_own_path_starts_after_the_estimates_last_jump() -> None:
    track = _driven(1.3, 20.0)
    kept = len(track.state.trail)
    track.state.trail[:0] = [(-4.0, 3170.0, 0.0), (-2.0, 3168.0, 0.0)]  # 170 m off, then pulled
    track.state.trail_sigma_m[:0] = [2.0, 2.0]
    assert list(own_path(track, ClassModel())) == track.state.trail[-kept:]


def test_the_path_is_read_on_the_first_call_only(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counted(monkeypatch)
    track, model = _driven(1.3, 20.0), ClassModel()
    path = OwnPath(track, model)
    assert calls == []  # nothing read until asked for
    first = path()
    assert path() is first and read_path(track, model, path) is first and len(calls) == 1
    assert list(first) == list(own_path(track, model))  # without one: read now
    assert len(calls) == 2


def test_a_refresh_reads_the_own_path_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # 16 s of a fast trail: too short for a motion window, so the due window, the filter-speed
    # terms and the vehicle corroboration (no size, no sounds) each need the path
    calls = _counted(monkeypatch)
    car = _driven(12.0, 16.0)
    refresh_class(car, 30.0, ClassModel())
    assert car.evidence.label == "vehicle" and car.evidence.class_windows == 0
    assert not car.evidence.vehicle_corroborated
    assert len(calls) == 1
