"""ROC-style PNG of a sweep: pooled Pd against false alerts per km-day, with exact 95 % bounds.

When points tie on Pd and false alerts (they sit on one spot of the ROC panel), two more panels
show what still tells them apart: the median time to alert and the median origin error against
the swept value (the point's number when several thresholds are swept).

Drawn on a bare :class:`matplotlib.figure.Figure` with the Agg canvas (no pyplot state, no
display). Artists carry ``gid`` s (``points``, ``current``, ``recommended``, ``limit``,
``time_to_alert``, ``origin_error``) so tests and callers can find them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from perimeter.tuning.runner import PointResult

SIZE_IN = (7.0, 5.0)
TIED_SIZE_IN = (15.0, 5.0)
DPI = 120


def has_ties(points: Sequence[PointResult]) -> bool:
    """Whether two scored points share both Pd and false alerts per km-day."""
    spots = [(p.pd, p.false_alerts_per_km_day) for p in points if p.pd is not None]
    return len(set(spots)) < len(spots)


def _swept(points: Sequence[PointResult]) -> tuple[str, list[float]]:
    """The x axis of the tie panels: the one swept threshold, else the point number."""
    names = {name for p in points for name in p.values}
    if len(names) == 1:
        (name,) = names
        return name, [float(p.values[name]) for p in points]
    return "sweep point", [float(p.index) for p in points]


def _median_tta_s(p: PointResult) -> float | None:
    return p.pooled.time_to_alert_s.median


def _median_origin_error_m(p: PointResult) -> float | None:
    return p.pooled.origin_error_m.median


_TIE_PANELS: tuple[tuple[str, str, Callable[[PointResult], float | None]], ...] = (
    ("time_to_alert", "median time to alert (s)", _median_tta_s),
    ("origin_error", "median origin error (m)", _median_origin_error_m))


def _tie_panels(fig: Figure, points: Sequence[PointResult],
                recommended: PointResult | None) -> None:
    label, xs = _swept(points)
    for col, (gid, ylabel, value) in enumerate(_TIE_PANELS, start=2):
        ax = fig.add_subplot(1, 3, col)
        pairs = [(x, value(p)) for x, p in zip(xs, points, strict=True)]
        shown = sorted((x, y) for x, y in pairs if y is not None)
        ax.plot([x for x, _ in shown], [y for _, y in shown], marker="o", color="tab:blue",
                gid=gid)
        for x, p in zip(xs, points, strict=True):
            y = value(p)
            if y is None:
                continue
            if p.current:
                ax.plot([x], [y], marker="s", markersize=11, linestyle="none",
                        markerfacecolor="none", markeredgecolor="tab:orange",
                        markeredgewidth=2.0)
            if recommended is not None and p.index == recommended.index:
                ax.plot([x], [y], marker="*", markersize=16, linestyle="none",
                        color="tab:red")
        ax.set_xlabel(label)
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.set_title("tied points: " + ylabel.split(" (")[0])


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
    """The figure: every point with its Pd interval, the current and recommended marked; with
    the time-to-alert and origin-error panels when points tie (:func:`has_ties`)."""
    tied = has_ties(points)
    fig = Figure(figsize=TIED_SIZE_IN if tied else SIZE_IN, dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 3, 1) if tied else fig.add_subplot()
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
    if tied:
        spots = Counter((p.false_alerts_per_km_day, p.pd) for p in points if p.pd is not None)
        for (x, y), count in spots.items():
            if count > 1:
                ax.annotate(f"{count} points here", (x, y), textcoords="offset points",
                            xytext=(8, -14), fontsize="small", gid="tied")
        _tie_panels(fig, points, recommended)
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
