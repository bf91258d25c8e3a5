"""Hostile scenarios: ``load_scenario`` either returns a scenario or raises ``ScenarioError``
with one ``field.path: reason`` line per problem; nothing else escapes."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.scenario import Scenario, ScenarioError, load_scenario
from tests.reliability.streams import crossing_spec

KEYS = st.text(st.characters(exclude_categories=("Cc", "Zl", "Zp")), max_size=12)
"""Mapping keys without line breaks (a key holding one splits its error line in two)."""
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=25,
)


def load_or_refuse(ref: dict[str, Any] | str | Path) -> Scenario | None:
    try:
        return load_scenario(ref)
    except ScenarioError as exc:
        first = str(exc).split("\n")[0]
        assert re.match(r"^\S.*?: \S", first), first  # "field.path: reason" first
        return None


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path into a nested mapping/list."""
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            out += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            out += paths(child, (*prefix, i))
    return out


VALID = crossing_spec(faults=[{"tower": "T05", "kind": "link_down", "start_s": 5,
                               "duration_s": 10}],
                      sensors={"frame_hz": 2.0, "status_interval_s": 30})
VALID_PATHS = paths(VALID)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS, json_values, max_size=8))
def test_random_mappings_are_refused_cleanly(mapping: dict[str, Any]) -> None:
    load_or_refuse(mapping)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(where=st.sampled_from(VALID_PATHS), junk=json_values, drop=st.booleans())
def test_one_field_replaced_by_junk_is_refused_or_loaded(where: tuple[Any, ...], junk: Any,
                                                         drop: bool) -> None:
    spec = copy.deepcopy(VALID)
    parent = spec
    for key in where[:-1]:
        parent = parent[key]
    if drop and isinstance(parent, dict):
        del parent[where[-1]]
    else:
        parent[where[-1]] = junk
    scenario = load_or_refuse(spec)
    if scenario is not None:
        assert scenario.duration_s > 0 and scenario.site_model.towers


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=400) | st.binary(max_size=400).map(
    lambda b: b.decode("latin-1")))
def test_random_yaml_files_are_refused_cleanly(tmp_path_factory: pytest.TempPathFactory,
                                               text: str) -> None:
    path = tmp_path_factory.mktemp("yaml") / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_or_refuse(path) is None


def test_a_file_not_in_utf8_is_refused_naming_the_byte(tmp_path: Path) -> None:
    raw = tmp_path / "raw.yaml"
    raw.write_bytes(b"name: \xff\xfe\nduration_s: 10\n")
    with pytest.raises(ScenarioError, match="not UTF-8 text: invalid start byte at byte 6"):
        load_scenario(raw)


def test_an_alias_bomb_is_refused_without_expanding(tmp_path: Path) -> None:
    bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        refs = ",".join([f"*{chr(96 + i)}"] * 9)
        bomb.append(f"{chr(97 + i)}: &{chr(97 + i)} [{refs}]")
    bomb.append("name: *i")
    bombed = tmp_path / "bomb.yaml"
    bombed.write_text("\n".join(bomb) + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="name"):
        load_scenario(bombed)


@pytest.mark.parametrize(("patch", "field"), [
    ({"duration_s": float("nan")}, "duration_s"),
    ({"duration_s": float("inf")}, "duration_s"),
    ({"seed": -1}, "seed"),
    ({"targets": [{"id": "p", "kind": "person", "path": [[0, 0], [float("nan"), 1]]}]},
     "targets.0.path"),
    ({"faults": [{"tower": "T99", "kind": "offline", "start_s": 1}]}, "faults.0.tower"),
    ({"environment": {"start_time": "yesterday"}}, "environment.start_time"),
    ({"site": "no-such-site"}, "site"),
])
def test_bad_values_name_their_field(patch: dict[str, Any], field: str) -> None:
    with pytest.raises(ScenarioError, match=rf"(^|\n){field}"):
        load_scenario({**VALID, **patch})
