"""The what-if charts: the unchanged scenario against the variant, medians and 90% bands across replicates.

Figures are built with matplotlib's object API (no pyplot), so concurrent browser sessions never share a
current figure; the page shows them as images and exports them as PNG or SVG.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure, SubFigure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from sim.dashboard.whatif import Answer, Replicates, band, route_columns

BASE_COLOR, VAR_COLOR = "0.45", "tab:blue"


def _figure(height: float) -> Figure:
    # fixed margins rather than a constrained layout: it draws several times faster, which the slider needs
    fig = Figure(figsize=(11, height))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.2, top=0.9, wspace=0.2)
    return fig


def _series(ax, days: np.ndarray, base: np.ndarray, var: np.ndarray, title: str, ylabel: str,
            legend: bool = True) -> None:
    for values, color, label in ((base, BASE_COLOR, "unchanged"), (var, VAR_COLOR, "what-if")):
        mid, lo, hi = band(values)
        ax.fill_between(days, lo, hi, color=color, alpha=0.2, lw=0)
        ax.plot(days, mid, color=color, lw=2, label=f"{label} (median, 90% band)")
    ax.set_title(title)
    ax.set_xlabel("day")
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(MaxNLocator(5))
    ax.xaxis.set_major_locator(MaxNLocator(6))
    if legend:
        ax.legend(frameon=False, loc="lower left")


def time_series(ans: Answer, fig: Figure | SubFigure | None = None) -> Figure | SubFigure:
    """Live networks and up servers over time."""
    fig = fig or _figure(3.6)
    ax1, ax2 = fig.subplots(1, 2)
    b, v = ans.base, ans.variant
    _series(ax1, b.days, b.daily["networks"], v.daily["networks"], "Live networks", "networks")
    _series(ax2, b.days, b.daily["servers_up"], v.daily["servers_up"], "Servers up", "servers", legend=False)
    return fig


def _paired_bars(ax, labels: list[str], base: list[float], var: list[float]) -> None:
    x = np.arange(len(labels))
    ax.bar(x - 0.2, base, 0.4, color=BASE_COLOR, label="unchanged")
    ax.bar(x + 0.2, var, 0.4, color=VAR_COLOR, label="what-if")
    ax.set_xticks(x, labels)
    ax.yaxis.set_major_locator(MaxNLocator(5))


def _totals(rep: Replicates, columns: list[str]) -> list[float]:
    return [float(np.median(rep.daily[c].sum(axis=1))) for c in columns]


def host_countries(ans: Answer, fig: Figure | SubFigure | None = None, top: int = 15) -> Figure | SubFigure:
    """Up servers by host country over the last year (medians), havens hatched, largest hosts first."""
    fig = fig or _figure(3.4)
    ax = fig.subplots()
    b = ans.base.by_country.median()
    v = ans.variant.by_country.median()
    order = (b + v).sort_values(ascending=False).index[:top]
    x = np.arange(len(order))
    havens = set(ans.variant.havens)
    for offset, values, color in ((-0.2, b, BASE_COLOR), (0.2, v, VAR_COLOR)):
        bars = ax.bar(x + offset, values[order].to_numpy(), 0.4, color=color)
        for bar, cid in zip(bars, order):
            if cid in havens:
                bar.set_hatch("//")
                bar.set_edgecolor("black")
    ax.set_xticks(x, list(order))
    ax.set_ylabel("servers up (mean, last year)")
    ax.yaxis.set_major_locator(MaxNLocator(5))
    ax.set_title("Servers by host country (hatched: havens)")
    ax.legend(handles=[Patch(color=BASE_COLOR, label="unchanged"), Patch(color=VAR_COLOR, label="what-if"),
                       Patch(facecolor="white", edgecolor="black", hatch="//", label="haven")], frameon=False)
    return fig


def cases_and_evidence(ans: Answer, fig: Figure | SubFigure | None = None) -> Figure | SubFigure:
    """Cases, failures and arrests over the horizon, and requests by evidence route (medians of totals)."""
    fig = fig or _figure(3.6)
    ax1, ax2 = fig.subplots(1, 2)
    b, v = ans.base, ans.variant
    case_cols = [c for c in ("cases_opened", "cases_failed_evidence", "cases_failed_haven", "cases_timed_out",
                             "arrests") if c in b.daily]
    _paired_bars(ax1, [c.replace("cases_", "").replace("_", "\n") for c in case_cols], _totals(b, case_cols),
                 _totals(v, case_cols))
    ax1.set_title("Cases and arrests (total over the horizon)")
    ax1.legend(frameon=False)  # one legend per figure: each chart also stands alone (page, export)
    routes = route_columns(b)
    _paired_bars(ax2, [c.removeprefix("requests_").replace("_", "\n") for c in routes], _totals(b, routes),
                 _totals(v, routes))
    ax2.set_title("Evidence by route (requests, total)")
    return fig


CHARTS = {"time_series": (time_series, 3.6), "host_countries": (host_countries, 3.4),
          "cases_evidence": (cases_and_evidence, 3.6)}


def all_figures(ans: Answer) -> dict[str, Figure]:
    """Every what-if chart by name, in page order."""
    return {name: draw(ans) for name, (draw, _) in CHARTS.items()}


def to_bytes(fig: Figure, fmt: str = "png", dpi: int = 80) -> bytes:
    """The figure as PNG or SVG bytes."""
    buf = io.BytesIO()
    # light PNG compression: the page redraws on every change and the images never leave this machine
    extra = {"pil_kwargs": {"compress_level": 1}} if fmt == "png" else {}
    fig.savefig(buf, format=fmt, dpi=dpi, **extra)
    return buf.getvalue()


def combined(ans: Answer, fmt: str) -> bytes:
    """All the what-if charts stacked in one PNG or SVG file (the figures export)."""
    heights = [h for _, h in CHARTS.values()]
    big = Figure(figsize=(11, sum(heights)), layout="constrained")
    for (draw, _), sub in zip(CHARTS.values(), big.subfigures(len(heights), 1, height_ratios=heights)):
        draw(ans, sub)
    return to_bytes(big, fmt, dpi=100)
