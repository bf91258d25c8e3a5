"""Detection ranges the models produce, per kind and weather (the table in docs/sensors.md)."""

from __future__ import annotations

import pytest

from sim.coverage import acoustic_range_m, table, thermal_range_m
from sim.signatures import KINDS


def test_person_about_two_km_and_vehicle_several_km_on_a_clear_night() -> None:
    assert 1800.0 < thermal_range_m("person", "clear") < 2400.0
    assert thermal_range_m("light_vehicle", "clear") > 5000.0
    assert thermal_range_m("heavy_vehicle", "clear") > 6000.0


@pytest.mark.parametrize("kind", KINDS)
def test_range_falls_from_clear_to_haze_to_fog(kind: str) -> None:
    clear, haze, fog = (thermal_range_m(kind, w) for w in ("clear", "haze", "fog"))
    assert clear >= haze > fog
    assert fog < 0.5 * haze


@pytest.mark.parametrize("kind", ["light_vehicle", "heavy_vehicle"])
def test_haze_shortens_the_long_vehicle_ranges(kind: str) -> None:
    assert thermal_range_m(kind, "haze") < thermal_range_m(kind, "clear")
    assert thermal_range_m(kind, "rain") < thermal_range_m(kind, "clear")


def test_crossover_hides_people_more_than_vehicles() -> None:
    assert thermal_range_m("person", "clear", "crossover") < 0.7 * thermal_range_m("person",
                                                                                   "clear")
    assert thermal_range_m("light_vehicle", "clear", "crossover") > 5000.0


def test_acoustic_ranges_order_and_wind() -> None:
    person, car, truck = (acoustic_range_m(k) for k in ("person", "light_vehicle",
                                                         "heavy_vehicle"))
    assert person < 200.0 < car < truck
    assert acoustic_range_m("light_vehicle", wind_mps=8.0) < car


def test_table_has_a_row_per_kind() -> None:
    rows = table().splitlines()
    assert len(rows) == 2 + len(KINDS)


def test_a_bigger_group_is_seen_farther() -> None:
    from sim.signatures import signature

    assert signature("group", 1).critical_dim_m == signature("person").critical_dim_m
    dims = [signature("group", n).critical_dim_m for n in (2, 3, 5, 10)]
    assert dims == sorted(dims)


def test_finding_a_target_takes_time_and_staring_cores_find_it_sooner() -> None:
    from sim.coverage import thermal_found_range_m
    from sim.sensors.optics import ThermalParams

    long_run = thermal_range_m("person", "clear")
    found = thermal_found_range_m("person", within_s=120.0)
    assert found < long_run
    assert thermal_found_range_m("person", within_s=10.0) < found
    staring = ThermalParams(pointing="staring")
    assert thermal_found_range_m("person", within_s=120.0, params=staring) > found
