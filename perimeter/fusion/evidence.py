"""Classification evidence from one associated detection, added to a track's features.

Only detections no other track gates feed these (the engine decides); ``range_m`` is the
track's distance from the reporting tower after the update.
"""

from __future__ import annotations

import math

from perimeter.fusion.priors import impossible_height
from perimeter.fusion.scan import Scan
from perimeter.fusion.track import Track
from perimeter.terrain import Dem


def ground_slope(dem: Dem, x_m: float, y_m: float) -> float:
    """The ground's gradient (m per m) at a point, by central differences over a cell."""
    h = dem.cell_m
    gx = (dem.ground_at(x_m + h, y_m) - dem.ground_at(x_m - h, y_m)) / (2.0 * h)
    gy = (dem.ground_at(x_m, y_m + h) - dem.ground_at(x_m, y_m - h)) / (2.0 * h)
    return math.hypot(gx, gy)


def add_thermal(track: Track, scan: Scan, d: int, range_m: float, ifov_rad: float,
                mast_height_m: float, slope: float = 0.0) -> None:
    """Size, height, aspect and contrast evidence of thermal detection ``d``; ``slope`` is the
    ground's gradient under the track (its position error moves the ground it stands on).

    A heat centre at an impossible height at the track's range (:func:`.priors.impossible_height`)
    gives no size, height or aspect: the range, or the detection, is not the object's. A
    second scan's such reading, none possible between, marks the track mislocated
    (:attr:`.TrackEvidence.mislocated`): a stray detection (clutter, another object) is
    one scan's association, a range slid along a line of sight stays wrong at the next look."""
    feats = track.evidence.features
    feats.thermal_hits += 1
    feats.version += 1
    elev = math.nan if scan.elevation_rad is None else float(scan.elevation_rad[d])
    if not math.isnan(elev):
        height_m = mast_height_m + range_m * math.tan(elev)
        # a pixel of elevation noise, the range error through the depression angle, and the
        # position error through the slope of the ground the height is taken over
        range_sigma = math.sqrt(max(float(track.state.p[0, 0] + track.state.p[1, 1]), 0.0))
        sigma_m = math.hypot(range_m * ifov_rad, range_sigma * math.tan(abs(elev)),
                             range_sigma * slope)
        ev = track.evidence
        if impossible_height(height_m, sigma_m):
            this = (scan.t_s, scan.tower_index)
            if ev.impossible_at is None:
                ev.impossible_at = this
            elif ev.impossible_at != this:
                ev.mislocated_t_s = scan.t_s
            return
        ev.located_t_s, ev.impossible_at = scan.t_s, None
        feats.heights_m.append(height_m)
        feats.height_sigmas_m.append(sigma_m)
    size_px = float(scan.size_px[d])
    if not math.isnan(size_px) and size_px > 0:
        feats.sizes_m.append(size_px * range_m * ifov_rad)
    if scan.width_px is not None and scan.height_px is not None:
        width, height = float(scan.width_px[d]), float(scan.height_px[d])
        if width > 0 and height > 0:  # NaN (absent) fails both
            feats.aspects.append(math.log(height / width))
            feats.aspect_footprints_m.append(range_m * ifov_rad)
            feats.aspect_headings_rad.append(relative_heading_rad(track, scan))
    contrast = float(scan.contrast_k[d])
    if not math.isnan(contrast):
        feats.contrast_k_sum += contrast
        feats.contrast_n += 1


HEADING_MIN_MPS = 0.5
"""Below this speed a track's heading says little of its body's (a standing or turning
object); assumed."""
HEADING_MAX_SIGMA_RAD = 0.35
"""A heading known to within about 20 degrees (one sigma, ``velocity sigma / speed``)."""


def relative_heading_rad(track: Track, scan: Scan) -> float:
    """The track's heading relative to the line of sight from ``scan``'s tower, folded into
    0 (moving along it: end on) to pi/2 (across it: broadside), or NaN when the filter's
    heading is not known well enough (slow, or its velocity uncertain)."""
    x, y, vx, vy = (float(v) for v in track.state.x[:4])
    speed = track.state.speed_mps
    if speed < HEADING_MIN_MPS or track.state.velocity_sigma_mps > HEADING_MAX_SIGMA_RAD * speed:
        return math.nan
    tx, ty = (float(v) for v in scan.tower_xy[:2])
    sight = math.atan2(x - tx, y - ty)
    return math.asin(min(1.0, abs(math.sin(math.atan2(vx, vy) - sight))))


def add_acoustic(track: Track, scan: Scan, d: int, range_m: float) -> None:
    """Sound-hint and source-level evidence of acoustic detection ``d``."""
    feats = track.evidence.features
    feats.acoustic_hits += 1
    feats.version += 1
    hint = int(scan.kind_hint[d])
    if hint >= 0:
        feats.hint_counts[hint] += 1
    level = float(scan.level_db[d])
    if not math.isnan(level):
        feats.source_db_sum += level + 20 * math.log10(max(range_m, 1.0))
        feats.source_n += 1
