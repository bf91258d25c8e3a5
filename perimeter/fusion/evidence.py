"""Classification evidence from one associated detection, added to a track's features.

Only detections no other track gates feed these (the engine decides); ``range_m`` is the
track's distance from the reporting tower after the update.
"""

from __future__ import annotations

import math

from perimeter.fusion.scan import Scan
from perimeter.fusion.track import Track


def add_thermal(track: Track, scan: Scan, d: int, range_m: float, ifov_rad: float,
                mast_height_m: float) -> None:
    """Size, height and contrast evidence of thermal detection ``d``."""
    feats = track.evidence.features
    feats.thermal_hits += 1
    size_px = float(scan.size_px[d])
    if not math.isnan(size_px) and size_px > 0:
        feats.sizes_m.append(size_px * range_m * ifov_rad)
    elev = math.nan if scan.elevation_rad is None else float(scan.elevation_rad[d])
    if not math.isnan(elev):
        feats.heights_m.append(mast_height_m + range_m * math.tan(elev))
        # a pixel of elevation noise, and the range error through the depression angle
        range_sigma = math.sqrt(max(float(track.state.p[0, 0] + track.state.p[1, 1]), 0.0))
        feats.height_sigmas_m.append(math.hypot(range_m * ifov_rad,
                                                range_sigma * math.tan(abs(elev))))
    contrast = float(scan.contrast_k[d])
    if not math.isnan(contrast):
        feats.contrast_k_sum += contrast
        feats.contrast_n += 1


def add_acoustic(track: Track, scan: Scan, d: int, range_m: float) -> None:
    """Sound-hint and source-level evidence of acoustic detection ``d``."""
    feats = track.evidence.features
    feats.acoustic_hits += 1
    hint = int(scan.kind_hint[d])
    if hint >= 0:
        feats.hint_counts[hint] += 1
    level = float(scan.level_db[d])
    if not math.isnan(level):
        feats.source_db_sum += level + 20 * math.log10(max(range_m, 1.0))
        feats.source_n += 1
