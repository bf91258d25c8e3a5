"""``perimeter export``: alerts and tracks as GeoJSON, from a recording or an alert store."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from perimeter.contract import AlertEvent, TracksSnapshot
from perimeter.fusion.replay import Replay
from perimeter.geojson import alerts_geojson, collection, site_features, tracks_geojson
from perimeter.site import Site
from perimeter.store.alerts import AlertStore
from perimeter.store.records import AlertRecord
from perimeter.thresholds import Thresholds

PAGE = 500


def combined(site: Site, alerts: Iterable[AlertEvent | AlertRecord],
             snapshots: Iterable[TracksSnapshot] = (), *, with_site: bool = True
             ) -> dict[str, Any]:
    """One FeatureCollection: alerts (and origins), tracks, and optionally the site."""
    features = alerts_geojson(site, alerts)["features"]
    features += tracks_geojson(site, snapshots)["features"]
    return collection(features + (site_features(site) if with_site else []), site)


def from_recording(path: str | Path, site: Site, thresholds: Thresholds | None = None,
                   *, with_site: bool = True) -> dict[str, Any]:
    """Fuse a recording (as ``perimeter fusion --replay`` does) and export what it raised."""
    with Path(path).open(encoding="utf-8") as lines:
        run = Replay(lines, site, thresholds or Thresholds(), keep_snapshots=True)
        alerts = list(run)
    return combined(site, alerts, run.output.snapshots, with_site=with_site)


def from_store(url: str, site: Site, *, with_site: bool = True) -> dict[str, Any]:
    """Every alert of an alert store (``sqlite:///alerts.db`` or a Postgres URL)."""
    store = AlertStore.open(url)
    try:
        records: list[AlertRecord] = []
        cursor: str | None = None
        while True:
            page, cursor = store.list_alerts(limit=PAGE, cursor=cursor)
            records += page
            if cursor is None:
                break
    finally:
        store.close()
    return combined(site, reversed(records), with_site=with_site)
