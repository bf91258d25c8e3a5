import json

import pytest

from perimeter.contract import AlertEvent, TracksSnapshot
from perimeter.geojson import (
    GeoError,
    alerts_geojson,
    site_features,
    to_local_m,
    to_lon_lat,
    tracks_geojson,
)
from perimeter.site import GeoOrigin, load_site, western_heights

ORIGIN = GeoOrigin(lat=50.0, lon=10.0)
# published lengths of a degree on WGS 84 at 50 degrees latitude
M_PER_DEG_LAT_50 = 111_229.0
M_PER_DEG_LON_50 = 71_696.0


def test_known_offsets_land_where_the_ellipsoid_says_and_order_is_lon_lat() -> None:
    lon, lat = to_lon_lat(ORIGIN, 1000.0, 2000.0)
    assert lon == pytest.approx(10.0 + 1000.0 / M_PER_DEG_LON_50, abs=2e-6)
    assert lat == pytest.approx(50.0 + 2000.0 / M_PER_DEG_LAT_50, abs=2e-6)
    x_m, y_m = to_local_m(ORIGIN, lon, lat)
    assert (x_m, y_m) == (pytest.approx(1000.0, abs=0.01), pytest.approx(2000.0, abs=0.01))


def _event(kind: str, x_m: float, t_s: float) -> AlertEvent:
    return AlertEvent.model_validate({
        "event": kind, "alert_id": "a-000001", "track_id": "k-1", "t_s": t_s, "class": "person",
        "confidence": 0.9, "severity": "high", "position": {"x_m": x_m, "y_m": 0.0},
        "origin": {"x_m": 3000.0, "y_m": 0.0, "t_s": 1.0, "sigma_major_m": 30.0,
                   "sigma_minor_m": 10.0, "orientation_deg": 90.0}})


def test_alerts_are_points_at_their_latest_position_with_their_origin() -> None:
    doc = alerts_geojson(western_heights(), [_event("new", 2500.0, 10.0),
                                             _event("update", 2000.0, 20.0)])
    json.dumps(doc)  # serialisable
    assert doc["type"] == "FeatureCollection"
    alert, origin = doc["features"]
    assert alert["properties"]["event"] == "update" and alert["properties"]["class"] == "person"
    assert alert["geometry"]["coordinates"] == list(to_lon_lat(ORIGIN, 2000.0, 0.0))
    assert origin["properties"]["kind"] == "origin"
    assert origin["geometry"]["coordinates"][0] > alert["geometry"]["coordinates"][0]  # east


def test_tracks_are_lines_in_time_order_and_the_site_is_drawn() -> None:
    snaps = [TracksSnapshot.model_validate({"t_s": t, "tracks": [
        {"track_id": "k-1", "status": "confirmed", "position": {"x_m": x, "y_m": 0.0},
         "velocity": {"vx_mps": -1.0, "vy_mps": 0.0}}]}) for t, x in ((2.0, 90.0), (1.0, 100.0))]
    (line,) = tracks_geojson(western_heights(), snaps)["features"]
    assert line["geometry"]["type"] == "LineString"
    assert [c[0] for c in line["geometry"]["coordinates"]] == sorted(
        (c[0] for c in line["geometry"]["coordinates"]), reverse=True)
    kinds = [f["properties"]["kind"] for f in site_features(western_heights())]
    assert kinds.count("tower") == 12 and "perimeter" in kinds
    polygon = next(f for f in site_features(western_heights())
                   if f["properties"]["kind"] == "terrain")
    ring = polygon["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1]  # closed ring


def test_a_site_without_origin_is_refused_naming_the_field() -> None:
    site = load_site({"name": "bare", "towers": [{"id": "T1", "x_m": 0, "y_m": 0}],
                      "perimeter": [[0, 0], [1, 1]]})
    with pytest.raises(GeoError, match=r"site\.origin"):
        alerts_geojson(site, [])
