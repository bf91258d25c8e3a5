from dataclasses import replace
from pathlib import Path

import numpy as np
from matplotlib.image import imread

from perimeter.tuning.plot import DPI, SIZE_IN, TIED_SIZE_IN, has_ties, save_roc_png
from perimeter.tuning.runner import PointResult
from tests.tuning.synth import point

POINTS = [point(0, 12, 20, 0.2, current=True), point(1, 18, 20, 0.5), point(2, 19, 20, 1.5)]


def test_roc_png_is_a_valid_image_with_current_recommended_and_limit(tmp_path: Path) -> None:
    out = tmp_path / "roc.png"
    fig = save_roc_png(out, POINTS, recommended=POINTS[1], max_false_alerts_per_km_day=1.0)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(out)
    assert image.shape[:2] == (round(SIZE_IN[1] * DPI), round(SIZE_IN[0] * DPI))
    ax = fig.axes[0]
    by_gid = {line.get_gid(): line for line in ax.get_lines() if line.get_gid()}
    assert list(by_gid["current"].get_xydata()[0]) == [0.2, 0.6]
    assert list(by_gid["recommended"].get_xydata()[0]) == [0.5, 0.9]
    assert by_gid["limit"].get_xdata()[0] == 1.0
    assert by_gid["points"].get_xydata().tolist() == [[0.2, 0.6], [0.5, 0.9], [1.5, 0.95]]
    # the recommended star is drawn in red: red pixels exist in the image
    rgb = image[..., :3]
    red = (rgb[..., 0] > 0.8) & (rgb[..., 1] < 0.3) & (rgb[..., 2] < 0.3)
    assert int(np.count_nonzero(red)) > 20


def test_error_bars_span_the_clopper_pearson_interval(tmp_path: Path) -> None:
    fig = save_roc_png(tmp_path / "roc.png", POINTS)
    bars = [c for c in fig.axes[0].collections if len(c.get_segments()) == len(POINTS)]
    spans = [(float(s[0][1]), float(s[1][1])) for s in bars[0].get_segments()]
    for (lo, hi), p in zip(spans, POINTS, strict=True):
        assert (lo, hi) == (p.pd_low_95, p.pd_high_95)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "recommended" not in labels and "current" in labels


def _with_medians(p: PointResult, tta_s: float, origin_m: float) -> PointResult:
    pooled = p.pooled.model_copy(update={
        "time_to_alert_s": p.pooled.time_to_alert_s.model_copy(update={"median": tta_s}),
        "origin_error_m": p.pooled.origin_error_m.model_copy(update={"median": origin_m})})
    return replace(p, pooled=pooled)


def test_tied_points_get_time_to_alert_and_origin_error_panels(tmp_path: Path) -> None:
    tied = [_with_medians(point(i, 1, 1, 0.0, current=i == 0), tta, err)
            for i, (tta, err) in enumerate([(51.0, 17.0), (165.0, 624.0), (421.0, 3241.0)])]
    assert has_ties(tied) and not has_ties(POINTS)
    fig = save_roc_png(tmp_path / "tied.png", tied, recommended=tied[0])
    assert len(fig.axes) == 3
    assert [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "tied"] == [
        "3 points here"]
    lines = {line.get_gid(): line for ax in fig.axes for line in ax.get_lines()
             if line.get_gid()}
    assert lines["time_to_alert"].get_xydata().tolist() == [[0.0, 51.0], [0.1, 165.0],
                                                          [0.2, 421.0]]
    assert lines["origin_error"].get_xydata()[:, 1].tolist() == [17.0, 624.0, 3241.0]
    assert fig.axes[1].get_xlabel() == "alert.min_confidence"
    assert imread(tmp_path / "tied.png").shape[1] == round(TIED_SIZE_IN[0] * DPI)
    assert len(save_roc_png(tmp_path / "roc.png", POINTS).axes) == 1
