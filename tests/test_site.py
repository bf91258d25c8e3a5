from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from perimeter.site import SiteError, load_site, western_heights


def test_builtin_site_matches_the_contract() -> None:
    site = western_heights()
    assert [t.id for t in site.towers] == [f"T{i:02d}" for i in range(1, 13)]
    assert site.tower("T01").xy == (0.0, -2750.0)
    assert site.tower("T12").xy == (0.0, 2750.0)
    assert all(t.height_m == 15.0 for t in site.towers)
    assert site.perimeter_length_m == pytest.approx(6000.0)
    assert {z.kind for z in site.terrain} == {"forest", "built"}
    assert load_site("western-heights") is site


def test_site_from_file_and_inline(tmp_path: Path) -> None:
    data = {"name": "two", "towers": [{"id": "A", "x_m": 0, "y_m": 0},
                                      {"id": "B", "x_m": 0, "y_m": 800}],
            "perimeter": [[500, -1000], [500, 1000]]}
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data))
    assert load_site(path).tower("B").y_m == 800
    assert load_site(data).name == "two"


def test_bad_site_names_the_field() -> None:
    with pytest.raises(SiteError, match=r"site\.towers\.0\.height_m"):
        load_site({"name": "x", "towers": [{"id": "A", "x_m": 0, "y_m": 0, "height_m": -3}],
                   "perimeter": [[0, 0], [1, 1]]})
    with pytest.raises(SiteError, match="duplicate tower ids"):
        load_site({"name": "x", "towers": [{"id": "A", "x_m": 0, "y_m": 0},
                                           {"id": "A", "x_m": 1, "y_m": 0}],
                   "perimeter": [[0, 0], [1, 1]]})
    with pytest.raises(SiteError, match="neither a built-in site"):
        load_site("no-such-site")
