"""GeoJSON (RFC 7946) of alerts, tracks and the site, placed by the site's geographic origin.

Local east-north metres become WGS 84 longitude/latitude by a local tangent-plane
approximation around ``site.origin``: ``lat = lat0 + y / M(lat0)``, ``lon = lon0 + x / (N(lat0)
cos lat0)``, with ``M`` and ``N`` the ellipsoid's meridional and prime-vertical radii of
curvature at the origin. Over a site of ten kilometres the error is well under a metre, far
below the sensors' accuracy. Positions are written ``[lon, lat]`` as RFC 7946 requires.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from perimeter.contract import Origin, Position, TracksSnapshot
from perimeter.site import GeoOrigin, Site

WGS84_A_M = 6_378_137.0
WGS84_F = 1.0 / 298.257223563
DECIMALS = 7  # about a centimetre
Feature = dict[str, Any]


class GeoError(ValueError):
    """The site cannot be placed on the globe (it has no ``origin``)."""


class AlertLike(Protocol):
    """An alert event or a stored alert record: what GeoJSON needs of either."""

    @property
    def alert_id(self) -> str: ...
    @property
    def position(self) -> Position | None: ...
    @property
    def origin(self) -> Origin | None: ...

    def model_dump(self, *, mode: str, by_alias: bool, exclude: set[str]) -> dict[str, Any]: ...


def _radii_m(lat_deg: float) -> tuple[float, float]:
    """Meridional (M) and prime-vertical (N) radii of curvature of WGS 84 at ``lat_deg``."""
    e2 = WGS84_F * (2.0 - WGS84_F)
    s2 = math.sin(math.radians(lat_deg)) ** 2
    n = WGS84_A_M / math.sqrt(1.0 - e2 * s2)
    return n * (1.0 - e2) / (1.0 - e2 * s2), n


def origin_of(site: Site) -> GeoOrigin:
    if site.origin is None:
        raise GeoError(f"site.origin: site {site.name!r} has no geographic origin "
                       "(add origin: {lat: ..., lon: ...}) so it cannot be exported as GeoJSON")
    return site.origin


def to_lon_lat(origin: GeoOrigin, x_m: float, y_m: float) -> tuple[float, float]:
    """``(lon, lat)`` degrees of the local point ``x_m`` east, ``y_m`` north of ``origin``."""
    m, n = _radii_m(origin.lat)
    lat = origin.lat + math.degrees(y_m / m)
    lon = origin.lon + math.degrees(x_m / (n * math.cos(math.radians(origin.lat))))
    return round(lon, DECIMALS), round(lat, DECIMALS)


def to_local_m(origin: GeoOrigin, lon: float, lat: float) -> tuple[float, float]:
    """The inverse of :func:`to_lon_lat`: ``(x_m, y_m)`` east and north of ``origin``."""
    m, n = _radii_m(origin.lat)
    return (math.radians(lon - origin.lon) * n * math.cos(math.radians(origin.lat)),
            math.radians(lat - origin.lat) * m)


def _line(origin: GeoOrigin, points: Iterable[tuple[float, float]]) -> list[list[float]]:
    return [list(to_lon_lat(origin, x, y)) for x, y in points]


def feature(geometry: dict[str, Any], properties: dict[str, Any]) -> Feature:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def collection(features: Sequence[Feature], site: Site) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features),
            "properties": {"site": site.name, "origin": origin_of(site).model_dump()}}


def site_features(site: Site) -> list[Feature]:
    """Towers (points), the perimeter line and terrain zones (polygons)."""
    o = origin_of(site)
    out = [feature({"type": "Point", "coordinates": list(to_lon_lat(o, t.x_m, t.y_m))},
                   {"kind": "tower", "tower_id": t.id, "height_m": t.height_m})
           for t in site.towers]
    out.append(feature({"type": "LineString", "coordinates": _line(o, site.perimeter)},
                       {"kind": "perimeter", "length_m": site.perimeter_length_m}))
    for zone in site.terrain:
        ring = _line(o, [*zone.polygon, zone.polygon[0]])
        out.append(feature({"type": "Polygon", "coordinates": [ring]},
                           {"kind": "terrain", "terrain": zone.kind, "name": zone.name}))
    return out


def alerts_geojson(site: Site, events: Iterable[AlertLike], *,
                   origins: bool = True) -> dict[str, Any]:
    """One point per alert at its latest position (properties of its latest event or record),
    and with ``origins`` one point per estimated origin of movement."""
    o = origin_of(site)
    latest: dict[str, AlertLike] = {}
    for event in events:
        if event.position is not None or event.alert_id not in latest:
            latest[event.alert_id] = event
    features = []
    for alert_id, event in latest.items():
        props = event.model_dump(mode="json", by_alias=True, exclude={"position", "origin"})
        geometry = (None if event.position is None else
                    {"type": "Point",
                     "coordinates": list(to_lon_lat(o, event.position.x_m, event.position.y_m))})
        features.append(feature(geometry or {"type": "GeometryCollection", "geometries": []},
                                {"kind": "alert", **props}))
        if origins and event.origin is not None:
            og = event.origin
            features.append(feature(
                {"type": "Point", "coordinates": list(to_lon_lat(o, og.x_m, og.y_m))},
                {"kind": "origin", "alert_id": alert_id, "t_s": og.t_s,
                 "sigma_major_m": og.sigma_major_m, "sigma_minor_m": og.sigma_minor_m,
                 "orientation_deg": og.orientation_deg}))
    return collection(features, site)


def tracks_geojson(site: Site, snapshots: Iterable[TracksSnapshot]) -> dict[str, Any]:
    """One line per track through its snapshot positions in time order (a point if seen once)."""
    o = origin_of(site)
    paths: dict[str, list[tuple[float, float, float]]] = {}
    last: dict[str, dict[str, Any]] = {}
    for snap in sorted(snapshots, key=lambda s: s.t_s):
        for track in snap.tracks:
            paths.setdefault(track.track_id, []).append(
                (snap.t_s, track.position.x_m, track.position.y_m))
            last[track.track_id] = {"class": track.class_, "status": track.status,
                                    "alert_id": track.alert_id, "towers": track.towers}
    features = []
    for track_id, path in paths.items():
        coords = _line(o, [(x, y) for _, x, y in path])
        geometry = ({"type": "Point", "coordinates": coords[0]} if len(coords) == 1
                    else {"type": "LineString", "coordinates": coords})
        features.append(feature(geometry, {"kind": "track", "track_id": track_id,
                                           "t_start_s": path[0][0], "t_end_s": path[-1][0],
                                           "times_s": [t for t, _, _ in path], **last[track_id]}))
    return collection(features, site)
