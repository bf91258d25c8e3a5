import io
from pathlib import Path

from perimeter.contract import AlertEvent
from perimeter.export import from_recording, from_store
from perimeter.geojson import to_local_m
from perimeter.site import western_heights
from perimeter.store.alerts import AlertStore
from sim.scenario import load_scenario
from sim.uplink import RecordingUplink
from sim.world import World

SCENARIO = {
    "name": "export-tiny", "seed": 2, "duration_s": 90, "site": "western-heights",
    "environment": {"start_time": "2026-01-15T22:00:00Z", "weather": "clear", "wind_mps": 2.0},
    "targets": [{"id": "v1", "kind": "light_vehicle", "start_s": 5, "speed_mps": 5.0,
                 "path": [[1500, -250], [1100, -250]]}],
    "nuisance": {"animals": 0},
    # export plumbing: imagers that find the car within seconds and are aligned to north
    # (see the conftest crossing_scenario)
    "sensors": {"thermal": {"pointing": "staring", "hot_spot_scale": 0.0,
                            "azimuth_bias_deg": [0.0, 0.0],
                            "detector_snr_db": 16.0}},
}


def _kinds(doc: dict[str, object]) -> list[str]:
    features = doc["features"]
    assert isinstance(features, list)
    return [f["properties"]["kind"] for f in features]


def test_a_recording_exports_its_alerts_origins_and_tracks_near_the_truth(tmp_path: Path) -> None:
    buffer = io.StringIO()
    World(load_scenario(SCENARIO), RecordingUplink(buffer)).run(speed=None)
    path = tmp_path / "run.jsonl"
    path.write_text(buffer.getvalue())
    doc = from_recording(path, western_heights())
    kinds = _kinds(doc)
    assert kinds.count("alert") >= 1 and "origin" in kinds and "track" in kinds
    assert kinds.count("tower") == 12
    alert = next(f for f in doc["features"] if f["properties"]["kind"] == "alert")
    lon, lat = alert["geometry"]["coordinates"]
    x_m, y_m = to_local_m(western_heights().origin, lon, lat)  # type: ignore[arg-type]
    assert 1000.0 < x_m < 1600.0 and abs(y_m + 250.0) < 150.0


def test_a_store_exports_every_alert_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    with AlertStore.open(url) as store:
        for i, kind in enumerate(("new", "update")):
            store.append(AlertEvent.model_validate({
                "event": kind, "alert_id": "a-000001", "t_s": 10.0 + i, "class": "vehicle",
                "confidence": 0.9, "severity": "high",
                "position": {"x_m": 1200.0 - 10 * i, "y_m": 0.0}}))
    doc = from_store(url, western_heights(), with_site=False)
    (alert,) = doc["features"]
    assert alert["properties"]["alert_id"] == "a-000001"
    assert alert["properties"]["updates"] == 2
