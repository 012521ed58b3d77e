"""Figures of one run: what a policy analyst looks at first.

Every function takes a :class:`RunResult` (never an engine) and returns the matplotlib Figure; ``save``
writes it as PNG (and SVG when asked). Axes are labelled with units and readable at slide size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: the model knows nothing of screens
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from sim.survival import kaplan_meier  # noqa: E402
from sim.metrics import lifetimes  # noqa: E402
from sim.outputs import RunResult  # noqa: E402

plt.rcParams.update({"font.size": 12, "axes.titlesize": 14, "axes.labelsize": 12, "figure.dpi": 100,
                     "axes.spines.top": False, "axes.spines.right": False})


def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float], layout: str | None = None,
             **kwargs: Any) -> tuple[Figure, Any]:
    """As ``plt.subplots``, but pyplot does not keep the figure: a report draws dozens before it saves any, and
    a figure nobody holds any longer is simply freed."""
    fig = Figure(figsize=figsize, layout=layout)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def _title(fig: Figure, result: RunResult, what: str) -> None:
    meta = result.meta
    fig.suptitle(f"{what}: {meta.get('scenario', '')} (seed {meta.get('seed', '?')})", fontsize=14)


def _mark_warmup(ax: Axes, result: RunResult) -> None:
    """Shade the warm-up, which every metric ignores (the series are shown whole so its end can be judged)."""
    w = int(result.meta.get("warmup_days", 0) or 0)
    if w:
        ax.axvspan(0, w, color="0.9", zorder=0, label=f"warm-up ({w} days, not measured)")


def networks_and_servers(result: RunResult) -> Figure:
    """Live networks and up servers (and those in havens) over time."""
    d = result.daily
    fig, ax = subplots(figsize=(10, 5.5), layout="constrained")
    ax.plot(d["day"], d["servers_up"], color="tab:blue", label="servers up")
    ax.plot(d["day"], d["servers_up_haven"], color="tab:red", label="servers up in havens")
    _mark_warmup(ax, result)
    ax.set_xlabel("day")
    ax.set_ylabel("servers")
    ax2 = ax.twinx()
    ax2.plot(d["day"], d["networks"], color="black", lw=2, label="live networks")
    ax2.set_ylabel("networks")
    ax2.spines["right"].set_visible(True)
    ax2.set_ylim(bottom=0)
    ax.set_ylim(bottom=0)
    lines = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    # below both axes' data (the y axes start at 0 and the stocks sit well above it)
    ax.legend(lines, [ln.get_label() for ln in lines], loc="lower center", ncols=2, frameon=True, framealpha=0.9)
    _title(fig, result, "Networks and servers")
    return fig


def cases_and_backlog(result: RunResult, window: int = 30) -> Figure:
    """Cases opened, failed and arrests (cumulative), and the MLA backlog."""
    d = result.daily
    fig, (ax, ax2) = subplots(2, 1, figsize=(10, 7), sharex=True, layout="constrained")
    failed = d["cases_failed_evidence"] + d["cases_failed_haven"] + d["cases_timed_out"]
    for series, label, color in ((d["cases_opened"], "cases opened", "tab:blue"),
                                 (failed, "cases failed (evidence, haven, timeout)", "tab:orange"),
                                 (d["cases_moot"], "cases moot (network quit)", "tab:gray"),
                                 (d["arrests"], "arrests", "tab:green")):
        ax.plot(d["day"], series.cumsum(), label=label, color=color, lw=2)
    ax.set_ylabel("cumulative count")
    _mark_warmup(ax, result)
    ax.legend(frameon=False, loc="upper left")
    ax2.fill_between(d["day"], d["mla_backlog"], color="tab:purple", alpha=0.4, label="MLA requests queued")
    ax2.plot(d["day"], d["cases_open"], color="black", label="cases open")
    ax2.set_xlabel("day")
    ax2.set_ylabel("count at end of day")
    ax2.legend(frameon=False, loc="upper left")
    _title(fig, result, "Investigations")
    return fig


def stacked_by_country(by_day: pd.DataFrame, havens: set[str] | list[str], ylabel: str, top: int = 10) -> Figure:
    """Servers by host country over time (``by_day``: one column per country, indexed by day), stacked, the
    largest ``top`` shown and the rest summed; havens hatched and marked in the legend."""
    havens = set(havens)
    shown = list(by_day.sum().sort_values(ascending=False).index[:top])
    rest = [c for c in by_day.columns if c not in shown]
    series = [by_day[c].to_numpy() for c in shown]
    labels = [f"{c} (haven)" if c in havens else c for c in shown]
    if rest:
        series.append(by_day[rest].sum(axis=1).to_numpy())
        labels.append(f"{len(rest)} others")
    fig, ax = subplots(figsize=(10, 5.5), layout="constrained")
    colors = plt.get_cmap("tab20")(np.arange(len(series)) % 20)
    polys = ax.stackplot(by_day.index, *series, labels=labels, colors=colors, alpha=0.9)
    for poly, c in zip(polys, shown):
        if c in havens:
            poly.set_hatch("///")
            poly.set_edgecolor("black")
    ax.set_xlabel("day")
    ax.set_ylabel(ylabel)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=10)
    return fig


def servers_by_country(result: RunResult, top: int = 10) -> Figure:
    """Up servers by host country, stacked; havens hatched and marked in the legend."""
    fig = stacked_by_country(result.servers_by_country.set_index("day"), result.meta.get("havens", []),
                             "servers up", top)
    _title(fig, result, "Servers by host country")
    return fig


def survival(result: RunResult) -> Figure:
    """Kaplan–Meier curve of network lifetime with its 95% band (networks alive at the horizon are censored)."""
    durations, events = lifetimes(result)
    curve = kaplan_meier(durations, events)
    fig, ax = subplots(figsize=(8, 5.5), layout="constrained")
    ax.step(curve.times, curve.survival, where="post", color="tab:blue", lw=2,
            label=f"Kaplan–Meier ({curve.n} networks, {int(events.sum())} ended)")
    ax.fill_between(curve.times, curve.lower, curve.upper, step="post", alpha=0.25, color="tab:blue", label="95% band")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("network lifetime (days)")
    ax.set_ylabel("share of networks still operating")
    ax.legend(frameon=False, loc="lower left")
    _title(fig, result, "Network survival")
    return fig


RUN_FIGURES = {
    "networks": networks_and_servers,
    "cases": cases_and_backlog,
    "servers_by_country": servers_by_country,
    "survival": survival,
}


def save(fig: Figure, path: Path, svg: bool = False) -> list[Path]:
    """Write ``fig`` to ``path`` (.png) and optionally an .svg beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = [path.with_suffix(".png")]
    fig.savefig(out[0], dpi=150)
    if svg:
        out.append(path.with_suffix(".svg"))
        fig.savefig(out[1])
    return out


def run_figures(result: RunResult, folder: Path, svg: bool = False) -> list[Path]:
    """All figures of one run into ``folder``."""
    paths: list[Path] = []
    for name, make in RUN_FIGURES.items():
        paths += save(make(result), folder / f"{name}.png", svg)
    return paths
