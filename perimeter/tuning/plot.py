"""ROC-style PNG of a sweep: pooled Pd against false alerts per km-day, with exact 95 % bounds.

Drawn on a bare :class:`matplotlib.figure.Figure` with the Agg canvas (no pyplot state, no
display). Artists carry ``gid`` s (``points``, ``current``, ``recommended``, ``limit``) so tests
and callers can find them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from perimeter.tuning.runner import PointResult

SIZE_IN = (7.0, 5.0)
DPI = 120


def _errors(points: Sequence[PointResult]) -> tuple[list[float], list[float], list[list[float]]]:
    xs, ys, lo, hi = [], [], [], []
    for p in points:
        if p.pd is None:
            continue
        xs.append(p.false_alerts_per_km_day)
        ys.append(p.pd)
        lo.append(p.pd - (p.pd_low_95 if p.pd_low_95 is not None else p.pd))
        hi.append((p.pd_high_95 if p.pd_high_95 is not None else p.pd) - p.pd)
    return xs, ys, [lo, hi]


def roc_figure(points: Sequence[PointResult], *, recommended: PointResult | None = None,
               max_false_alerts_per_km_day: float | None = None, title: str = "") -> Figure:
    """The figure: every point with its Pd interval, the current and recommended marked."""
    fig = Figure(figsize=SIZE_IN, dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    xs, ys, yerr = _errors(points)
    bars = ax.errorbar(xs, ys, yerr=yerr, fmt="o", color="tab:blue", ecolor="lightsteelblue",
                       markersize=5, capsize=3, label="sweep point (Pd, 95 % CI)")
    bars.lines[0].set_gid("points")
    current = next((p for p in points if p.current), None)
    if current is not None and current.pd is not None:
        ax.plot([current.false_alerts_per_km_day], [current.pd], marker="s", markersize=11,
                linestyle="none", markerfacecolor="none", markeredgecolor="tab:orange",
                markeredgewidth=2.0, label="current", gid="current")
    if recommended is not None and recommended.pd is not None:
        ax.plot([recommended.false_alerts_per_km_day], [recommended.pd], marker="*",
                markersize=16, linestyle="none", color="tab:red", label="recommended",
                gid="recommended")
    if max_false_alerts_per_km_day is not None:
        ax.axvline(max_false_alerts_per_km_day, color="grey", linestyle="--",
                   label=f"limit {max_false_alerts_per_km_day:g} /km/day", gid="limit")
    ax.set_xlabel("false alerts per km of perimeter per day")
    ax.set_ylabel("Pd (pooled over scenarios and seeds)")
    ax.set_ylim(-0.02, 1.02)
    span = max([*xs, max_false_alerts_per_km_day or 0.0]) or 1.0
    ax.set_xlim(-0.05 * span, 1.08 * span)  # room for markers at zero false alerts
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    ax.set_title(title or "Threshold sweep")
    fig.tight_layout()
    return fig


def save_roc_png(path: str | Path, points: Sequence[PointResult], *,
                 recommended: PointResult | None = None,
                 max_false_alerts_per_km_day: float | None = None, title: str = "") -> Figure:
    """Draw :func:`roc_figure` and write it as a PNG; returns the figure."""
    fig = roc_figure(points, recommended=recommended,
                     max_false_alerts_per_km_day=max_false_alerts_per_km_day, title=title)
    fig.savefig(Path(path), format="png")
    return fig
