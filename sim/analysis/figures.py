"""Figures of a sweep: surfaces, response lines, survival, time series, displacement, sensitivity, policies.

Every function takes tables (summaries, runs, kept per-run tables), never an engine, and returns a matplotlib
Figure; ``sim.analysis.plots.save`` writes PNG (and SVG). Axes carry units; sizes are readable on a slide.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis import plots  # also sets the Agg backend and the house style
from sim.survival import kaplan_meier
from sim.outputs import CAUSE_ALIVE

import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

LABELS = {
    "persistence": "live networks (mean of last year)",
    "supply": "servers up (mean of last year)",
    "lifetime_rmst": "network lifetime, restricted mean (days)",
    "lifetime_median": "network lifetime, median (days)",
    "dismantled_share": "share of networks dismantled by arrest",
    "haven_share": "share of server-days in havens",
    "mla_delay_median": "MLA request to answer, median (days)",
    "evidence_loss_share": "share of evidence lost to retention",
    "policy.harmonization": "legal harmonisation h (criminalises and powers: x' = x + h(1 - x))",
    "policy.mla_speed": "formal MLA delay multiplier (lower is faster)",
    "policy.surrender_speed": "extradition and surrender delay multiplier (lower is faster)",
    "enforcement.evidence_rule": "evidence rule",
    "policy.capacity_scale": "enforcement capacity multiplier",
}


def label(name: str) -> str:
    """A readable axis label for a metric or factor."""
    return LABELS.get(name, name)


def is_share(metric: str) -> bool:
    """Metrics that are shares of a whole (0..1): their changes are percentage points, their intervals in [0, 1]."""
    return metric.endswith("_share")


def fmt_num(v: float, digits: int = 3) -> str:
    """A number for people: ``digits`` significant digits, never in exponent form (1060, not 1.06e+03)."""
    if v is None or not np.isfinite(v):
        return "–"
    if v == 0:
        return "0"
    mag = int(np.floor(np.log10(abs(v))))
    if mag >= digits - 1:
        return f"{v:,.0f}"
    text = f"{v:.{digits - 1 - mag}f}"
    return text.rstrip("0").rstrip(".")


LINE_STYLES = ("-", "--", "-.", ":")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _style(i: int, n: int) -> dict:
    """Colour, dash and marker of line ``i`` of ``n``: lines that coincide (policies with the same effect) stay
    distinguishable by their dashes and markers, not by colour alone."""
    return {"color": plt.get_cmap("tab10")(i % 10), "ls": LINE_STYLES[i % len(LINE_STYLES)],
            "marker": MARKERS[i % len(MARKERS)], "markevery": (0.05 + 0.9 * i / max(n, 1) / 4, 0.2), "ms": 7}


def fmt_value(v: object) -> str:
    """A factor value for labels: numbers compactly (0.05, 1, 2), anything else as text."""
    return f"{v:g}" if isinstance(v, (int, float, np.floating, np.integer)) else str(v)


def heatmap(summary: pd.DataFrame, x: str, y: str, metric: str, facet: str | None = None) -> Figure:
    """Mean ``metric`` over a grid of two factors, cells labelled, with contour lines (the flagship figure); with
    ``facet``, one panel per level of that factor side by side on one colour scale (a structural choice shown,
    not averaged away)."""
    panels = [(None, summary)] if facet is None else list(summary.groupby(facet, sort=True))
    # dropna=False: a level where the metric is undefined stays in the grid, blank and explained, not dropped
    tables = [grp.pivot_table(index=y, columns=x, values=metric, aggfunc="mean", dropna=False)
              .sort_index().sort_index(axis=1) for _, grp in panels]
    values = np.concatenate([t.to_numpy().ravel() for t in tables])
    finite = values[np.isfinite(values)]
    vmin, vmax = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    fig, axes = plots.subplots(1, len(panels), figsize=(9 * len(panels) ** 0.8, 6.5), layout="constrained",
                             squeeze=False)
    for ax, (level, _), table in zip(axes[0], panels, tables):
        z = table.to_numpy()
        im = ax.imshow(z, origin="lower", aspect="auto", cmap="viridis", vmin=vmin, vmax=vmax)
        if min(z.shape) >= 2 and np.isfinite(z).all() and np.ptp(z) > 0:
            cs = ax.contour(np.arange(z.shape[1]), np.arange(z.shape[0]), z, levels=6, colors="white", linewidths=1.2)
            ax.clabel(cs, fmt=fmt_num, fontsize=10)
        for i in range(z.shape[0]):
            for j in range(z.shape[1]):
                if np.isfinite(z[i, j]):
                    ax.text(j, i, fmt_num(z[i, j]), ha="center", va="center", fontsize=9, color="black",
                            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.6, "lw": 0})
        ax.set_xticks(range(z.shape[1]), [fmt_value(v) for v in table.columns])
        ax.set_yticks(range(z.shape[0]), [fmt_value(v) for v in table.index])
        ax.set_xlabel(label(x))
        ax.set_ylabel(label(y))
        ax.set_title(f"{label(metric)}\nby {x.split('.')[-1]} and {y.split('.')[-1]}"
                     + ("" if level is None else f"\n{facet.split('.')[-1]} = {fmt_value(level)}"))
    fig.colorbar(im, ax=list(axes[0]), label=label(metric))
    blank = int((~np.isfinite(values)).sum())
    if blank:  # say why cells are empty rather than leave a reader to guess
        fig.text(0.01, 0.005, f"Blank cells ({blank}): {label(metric)} is undefined in every replicate there "
                              "(e.g. no MLA request was made, or no network ended).", fontsize=9, color="#555")
    return fig


def lines(summary: pd.DataFrame, x: str, metric: str, group: str | None = None) -> Figure:
    """``metric`` against one factor with 95% interval bands, one line per level of ``group``."""
    fig, ax = plots.subplots(figsize=(9, 5.5), layout="constrained")
    groups = [(None, summary)] if group is None else list(summary.groupby(group, sort=True))
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, max(1, len(groups))))
    for i, ((level, grp), color) in enumerate(zip(groups, colors)):
        g = grp.sort_values(x)
        name = None if level is None else f"{group.split('.')[-1]} = {fmt_value(level)}"
        ax.plot(g[x], g[metric], marker=MARKERS[i % len(MARKERS)], ls=LINE_STYLES[i % len(LINE_STYLES)], color=color,
                lw=2, label=name)
        ax.fill_between(g[x], g[f"{metric}_ci_low"], g[f"{metric}_ci_high"], color=color, alpha=0.2)
    if summary[x].min() > 0 and summary[x].max() / summary[x].min() >= 20:
        ax.set_xscale("log")
    ax.set_xlabel(label(x))
    ax.set_ylabel(label(metric))
    if group is not None:
        ax.legend(frameon=False, fontsize=10, loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.set_title(f"{label(metric)} (mean, 95% interval)")
    return fig


def _merge_identical(curves: list[tuple[str, tuple[np.ndarray, ...]]]) -> list[tuple[str, tuple[np.ndarray, ...]]]:
    """Curves that are exactly equal (policies with no effect in this world) drawn once, named together
    ("baseline = joint_task_force"): otherwise one hides the others and the reader sees fewer policies."""
    merged: dict[bytes, tuple[list[str], tuple[np.ndarray, ...]]] = {}
    for name, arrays in curves:
        key = b"|".join(np.ascontiguousarray(a, dtype=np.float64).tobytes() for a in arrays)
        merged.setdefault(key, ([], arrays))[0].append(name)
    return [(" = ".join(names), arrays) for names, arrays in merged.values()]


def _legend_label(name: str, width: int = 60) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(name, width)) or name


def survival_by_point(networks: pd.DataFrame, horizon: int, names: dict[int, str]) -> Figure:
    """Kaplan–Meier curves of network lifetime per design point (replicates pooled), with 95% bands."""
    fig, ax = plots.subplots(figsize=(9, 5.5), layout="constrained")
    curves = []
    for point, name in names.items():
        net = networks[networks["point"] == point]
        if net.empty:
            continue
        ended = net["cause"].to_numpy() != CAUSE_ALIVE
        durations = np.where(ended, net["ended"], horizon) - net["born"].to_numpy()
        km = kaplan_meier(durations, ended.astype(int))
        curves.append((name, (km.times, km.survival, km.lower, km.upper)))
    curves = _merge_identical(curves)
    for i, (name, (times, surv, lower, upper)) in enumerate(curves):
        style = _style(i, len(curves))
        ax.step(times, surv, where="post", color=style["color"], ls=style["ls"], lw=2, label=_legend_label(name))
        ax.fill_between(times, lower, upper, step="post", color=style["color"], alpha=0.15)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("network lifetime (days)")
    ax.set_ylabel("share of networks still operating")
    ax.legend(frameon=False, fontsize=10, loc="lower left")
    ax.set_title("Network survival (Kaplan–Meier, 95% bands)")
    return fig


def timeseries(daily: pd.DataFrame, column: str, names: dict[int, str]) -> Figure:
    """A daily-table column across replicates: median and 90% band per design point."""
    fig, ax = plots.subplots(figsize=(10, 5.5), layout="constrained")
    curves = []
    for point, name in names.items():
        d = daily[daily["point"] == point]
        if d.empty:
            continue
        q = d.groupby("day")[column].quantile([0.05, 0.5, 0.95]).unstack()
        curves.append((name, (q.index.to_numpy(), q[0.5].to_numpy(), q[0.05].to_numpy(), q[0.95].to_numpy())))
    curves = _merge_identical(curves)
    for i, (name, (days, mid, low, high)) in enumerate(curves):
        style = _style(i, len(curves))
        ax.plot(days, mid, lw=2, label=_legend_label(name), **style)
        ax.fill_between(days, low, high, color=style["color"], alpha=0.15)
    ax.set_xlabel("day")
    ax.set_ylabel(column.replace("_", " "))
    ax.legend(frameon=False, fontsize=10)
    ax.set_title(f"{column.replace('_', ' ')}: median and 90% band across replicates")
    return fig


def displacement(by_country: pd.DataFrame, point: int, name: str, havens: list[str], top: int = 8) -> Figure:
    """Servers up by host country over time (mean across replicates) for one design point; havens hatched."""
    d = by_country[by_country["point"] == point]
    countries = [c for c in d.columns if c not in ("point", "replicate", "day")]
    fig = plots.stacked_by_country(d.groupby("day")[countries].mean(), havens, "servers up (mean across replicates)", top)
    fig.axes[0].set_title(f"Servers by host country: {name}")
    return fig


def sobol(indices: pd.DataFrame, metric: str) -> Figure:
    """First-order and total Sobol indices per factor with bootstrap intervals."""
    fig, ax = plots.subplots(figsize=(9, 0.6 * len(indices) + 2.5), layout="constrained")
    y = np.arange(len(indices))
    for offset, kind, color in ((-0.18, "first", "tab:blue"), (0.18, "total", "tab:orange")):
        val = indices[f"{kind}_order"].to_numpy()
        err = np.vstack([val - indices[f"{kind}_low"], indices[f"{kind}_high"] - val]).clip(min=0)
        ax.barh(y + offset, val, height=0.34, xerr=err, color=color, capsize=3,
                label="first order" if kind == "first" else "total order")
    ax.set_yticks(y, [f.split(".")[-1] for f in indices["factor"]])
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("Sobol index (share of variance)")
    ax.legend(frameon=False)
    ax.set_title(f"Sensitivity of {label(metric)}\n(95% bootstrap intervals)")
    return fig


def policy_effects(effects: pd.DataFrame, names: dict[int, str], reference: str) -> Figure:
    """Relative effect of each policy on each metric against the reference, with paired 95% intervals."""
    metrics = list(dict.fromkeys(effects["metric"]))
    ncols = min(3, len(metrics))
    nrows = -(-len(metrics) // ncols)
    points = [p for p in names if p in set(effects["point"])]
    fig, axes = plots.subplots(nrows, ncols, figsize=(5 * ncols + 1.5, (0.4 * len(points) + 1.6) * nrows),
                             sharey=True, layout="constrained", squeeze=False)
    y = np.arange(len(points))
    for ax in axes.flat[len(metrics):]:
        ax.set_visible(False)
    for ax, m in zip(axes.flat, metrics):
        e = effects[effects["metric"] == m].set_index("point").loc[points]
        if is_share(m):  # a share going from 1% to 9% is +8 percentage points, not +800%
            mid, lo, hi = 100 * e["effect"], 100 * e["ci_low"], 100 * e["ci_high"]
            unit = "change vs {} (percentage points)"
        else:
            ref = e["reference"].replace(0, np.nan)
            mid, lo, hi = 100 * e["effect"] / ref, 100 * e["ci_low"] / ref, 100 * e["ci_high"] / ref
            unit = "% change vs {}"
        ax.errorbar(mid, y, xerr=np.vstack([mid - lo, hi - mid]).clip(min=0), fmt="o", color="tab:blue", capsize=3)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_title(label(m), fontsize=11)
        ax.set_xlabel(unit.format(reference))
    for row in axes:
        row[0].set_yticks(y, [names[p] for p in points])
    fig.suptitle(f"Policy effects against {reference} (paired on common seeds, 95% intervals)", fontsize=13)
    return fig
