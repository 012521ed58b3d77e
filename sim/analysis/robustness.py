"""Policies across uncertainty: paired effects per future, shares of futures, regret, rankings, PRIM, Sobol.

A *future* is one draw of the uncertain parameters (sim.uncertainty). A robustness sweep runs every policy on
the same draws with the same replicate seeds per draw, so a policy's effect in a future is the paired
difference of its replicate mean and the status quo's. Across futures (weighted by the draws' weights):

- the distribution of each policy's effect (absolute and relative to the status quo in that future);
- the share of futures in which it beats the status quo (a strictly lower value of a lower-is-better metric);
- its regret in each future: how much worse it does than the best of all options (the status quo included) in
  that future; mean and 90th percentile;
- a ranking by mean effect, with intervals from a bootstrap over futures (draws resampled with their weights).

Where a leading policy fails (its effect on persistence is not below zero), PRIM (EMA Workbench) finds boxes
in the space of the uncertain parameters; where a saltelli design was run, Sobol indices of each policy's
paired effect say which unknowns decide whether it works (docs/robustness.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

LOWER_IS_BETTER = {"persistence": True, "users_served": True, "supply": True, "dismantled_share": False,
                   "arrests_per_year": False, "availability": True}
HEADLINE = ("persistence", "users_served")


class RobustnessError(Exception):
    """A folder cannot be analysed (not a robustness sweep, unfinished...); shown as one line."""


# ----------------------------------------------------------------------------------------------- tables


def futures_table(runs: pd.DataFrame, policy_of: dict[int, str], draw_of: dict[int, int],
                  metrics: list[str], complete: bool = True) -> pd.DataFrame:
    """Replicate means per (policy, draw): one row per future and policy, the metrics as columns.

    A future in which some policy has no successful run is dropped for every policy, so every comparison is
    on the same futures."""
    ok = runs[runs["status"] == "ok"].copy()
    ok["policy"] = ok["point"].map(policy_of)
    ok["draw"] = ok["point"].map(draw_of)
    means = ok.groupby(["draw", "policy"], sort=True)[metrics].mean().reset_index()
    return only_complete(means, len(set(policy_of.values()))) if complete else means


def only_complete(means: pd.DataFrame, n_pol: int) -> pd.DataFrame:
    """The futures (draws) in which every one of ``n_pol`` policies has a result."""
    complete = means.groupby("draw")["policy"].nunique()
    keep = complete[complete == n_pol].index
    return means[means["draw"].isin(keep)].reset_index(drop=True)


def wide(futures: pd.DataFrame, metric: str, policies: list[str]) -> pd.DataFrame:
    """Metric by future (rows: draw) and policy (columns, in ``policies`` order)."""
    return futures.pivot(index="draw", columns="policy", values=metric)[policies]


def _wmean(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return (w[:, None] * x).sum(axis=0) / w.sum() if x.ndim == 2 else float((w * x).sum() / w.sum())


def _wquantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    order = np.argsort(x, kind="stable")
    cw = np.cumsum(w[order]) / w.sum()
    return float(x[order][min(np.searchsorted(cw, q), len(x) - 1)])


def per_future(values: pd.DataFrame, reference: str, lower_is_better: bool = True) -> dict[str, pd.DataFrame]:
    """From a (draw x policy) table: effects against ``reference``, relative effects (% of the reference in
    that future), beats (effect strictly better than zero), regret (distance to the best option in that
    future, all columns being options) and rank (1 = best; ties share the best rank)."""
    sign = 1.0 if lower_is_better else -1.0
    ref = values[reference]
    effect = values.sub(ref, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = effect.div(ref.where(ref != 0), axis=0) * 100.0
    beats = (sign * effect) < 0
    best = (sign * values).min(axis=1)
    regret = (sign * values).sub(best, axis=0)
    rank = (sign * values).rank(axis=1, method="min")
    return {"effect": effect, "relative": relative, "beats": beats, "regret": regret, "rank": rank}


def summarise(values: pd.DataFrame, weights: np.ndarray, reference: str, lower_is_better: bool = True,
              n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """One row per policy (the reference excluded): mean effect and relative effect with bootstrap intervals,
    the 10th/50th/90th percentiles of the effect over futures, the share of futures in which the policy beats
    the reference (with interval), mean regret (with interval) and 90th-percentile regret, and the ranking by
    mean effect with its bootstrap interval (rank 1 = the best mean effect among the policies, reference
    included as an option with effect 0).

    Bootstrap: futures resampled with probabilities proportional to their weights, ``n_boot`` times, with a
    seeded generator so a report is reproducible."""
    w = np.asarray(weights, dtype=float)
    pf = per_future(values, reference, lower_is_better)
    pols = list(values.columns)
    eff, rel = pf["effect"].to_numpy(), pf["relative"].to_numpy()
    beats, regret = pf["beats"].to_numpy().astype(float), pf["regret"].to_numpy()
    sign = 1.0 if lower_is_better else -1.0

    def stats(idx: np.ndarray | None) -> tuple[np.ndarray, ...]:
        ww = w if idx is None else np.bincount(idx, minlength=len(w)).astype(float)
        m_eff = _wmean(eff, ww)
        with np.errstate(invalid="ignore"):
            m_rel = np.array([np.nansum(ww * rel[:, j]) / ww[~np.isnan(rel[:, j])].sum() for j in range(len(pols))])
        m_beat, m_reg = _wmean(beats, ww), _wmean(regret, ww)
        ranks = pd.Series(sign * m_eff).rank(method="min").to_numpy()
        return m_eff, m_rel, m_beat, m_reg, ranks

    point = stats(None)
    g = np.random.default_rng(seed)
    p = w / w.sum()
    boot = [stats(g.choice(len(w), size=len(w), p=p)) for _ in range(n_boot)]
    q = [0.5 * (1 - level), 0.5 * (1 + level)]
    lo_hi = [np.quantile(np.array([b[k] for b in boot]), q, axis=0) for k in range(5)]
    rows = []
    for j, pol in enumerate(pols):
        if pol == reference:
            continue
        rows.append({
            "policy": pol, "futures": len(w),
            "effect_mean": point[0][j], "effect_low": lo_hi[0][0][j], "effect_high": lo_hi[0][1][j],
            "relative_mean": point[1][j], "relative_low": lo_hi[1][0][j], "relative_high": lo_hi[1][1][j],
            "effect_p10": _wquantile(eff[:, j], w, 0.1), "effect_p50": _wquantile(eff[:, j], w, 0.5),
            "effect_p90": _wquantile(eff[:, j], w, 0.9),
            "share_beats": point[2][j], "share_beats_low": lo_hi[2][0][j], "share_beats_high": lo_hi[2][1][j],
            "regret_mean": point[3][j], "regret_low": lo_hi[3][0][j], "regret_high": lo_hi[3][1][j],
            "regret_p90": _wquantile(regret[:, j], w, 0.9),
            "rank": int(point[4][j]), "rank_low": int(lo_hi[4][0][j]), "rank_high": int(lo_hi[4][1][j]),
        })
    return pd.DataFrame(rows).sort_values(["rank", "effect_mean"], ascending=[True, lower_is_better]).reset_index(drop=True)


# ----------------------------------------------------------------------------------------------- PRIM


@dataclass
class PrimBox:
    """A PRIM box: the limits of the restricted parameters, and how well it describes the cases of interest."""

    policy: str
    coverage: float          # share of all failures inside the box
    density: float           # share of futures inside the box that are failures
    mass: float              # share of all futures inside the box
    base_rate: float         # share of futures that are failures
    limits: pd.DataFrame     # index: parameter; columns: low, high (or the levels kept)

    def describe(self) -> str:
        """The box as one line: restrictions joined with 'and'."""
        parts = []
        for name, row in self.limits.iterrows():
            if isinstance(row["low"], (set, frozenset)):
                parts.append(f"{name} in {{{', '.join(sorted(map(str, row['low'])))}}}")
            else:
                parts.append(f"{row['low']:.4g} <= {name} <= {row['high']:.4g}")
        return " and ".join(parts) or "(no restriction)"


def prim_box(x: pd.DataFrame, y: np.ndarray, policy: str = "", min_density: float = 0.8,
             peel_alpha: float = 0.05, mass_min: float = 0.05, max_dims: int = 3) -> PrimBox | None:
    """PRIM (EMA Workbench's ``prim.Prim``) on futures ``x`` with cases of interest ``y`` (bool). Of the boxes on
    the peeling trajectory, the one with the highest coverage whose density reaches ``min_density``; when none
    does (the cases are diffuse), the densest box restricting at most ``max_dims`` parameters. None when there
    are no cases of interest."""
    import logging
    import warnings

    with warnings.catch_warnings():  # EMA's notice that an evaluator we do not use (ipyparallel) is missing
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim

    logging.getLogger("EMA").setLevel(logging.WARNING)
    y = np.asarray(y, dtype=bool)
    if not y.any():
        return None
    x = x.copy()
    for c in x.columns:  # PRIM pastes fractional limits into integer columns, which pandas 3 refuses
        if pd.api.types.is_integer_dtype(x[c]):
            x[c] = x[c].astype(np.float64)
        elif not pd.api.types.is_numeric_dtype(x[c]):
            x[c] = x[c].astype("category")
    alg = prim.Prim(x.reset_index(drop=True), y, peel_alpha=peel_alpha, mass_min=mass_min)
    box = alg.find_box()
    traj = box.peeling_trajectory.copy()
    from ema_workbench.analysis.scenario_discovery_util import _determine_restricted_dims

    traj["dims"] = [len(_determine_restricted_dims(box.box_lims[j], alg.box_init)) for j in range(len(traj))]
    ok = traj[traj["density"] >= min_density]
    if len(ok):
        i = int(ok["coverage"].idxmax())
    else:  # failures are diffuse: the densest box that a person can still read (few restricted parameters)
        readable = traj[traj["dims"] <= max_dims]
        i = int(readable.sort_values(["density", "coverage"], ascending=False).index[0])
    box.select(i)
    stats = traj.loc[i]
    lims = box.box_lims[i]
    restricted = list(_determine_restricted_dims(lims, alg.box_init))
    # a categorical dimension's limits are the set of levels kept (the same set in both rows)
    limits = pd.DataFrame({"low": [lims.loc[0, c] for c in restricted], "high": [lims.loc[1, c] for c in restricted]},
                          index=pd.Index(restricted, name="parameter"), dtype=object)
    return PrimBox(policy, float(stats["coverage"]), float(stats["density"]), float(stats["mass"]), float(y.mean()),
                   limits)


# ----------------------------------------------------------------------------------------------- Sobol


def sobol_of_effects(values: pd.DataFrame, reference: str, factors: list[str], seed: int = 0,
                     n_resamples: int = 999) -> pd.DataFrame:
    """Sobol indices (first order and total, bootstrap intervals) of each policy's paired effect and of the
    reference's own level, from a (row x policy) table of a saltelli design in its row order (A, B, AB_i)."""
    from sim.analysis.sensitivity import indices_from_evaluations

    d = len(factors)
    n_rows = len(values)
    if n_rows % (d + 2):
        raise RobustnessError(f"not a complete saltelli design over {d} factors ({n_rows} rows)")
    n = n_rows // (d + 2)
    outputs = {f"{reference} (level)": values[reference].to_numpy()}
    for pol in values.columns:
        if pol != reference:
            outputs[f"{pol} (effect)"] = (values[pol] - values[reference]).to_numpy()
    frames = []
    for name, f in outputs.items():
        df = indices_from_evaluations(f[:n], f[n:2 * n], f[2 * n:].reshape(d, n), factors, seed=seed,
                                      n_resamples=n_resamples)
        df.insert(0, "output", name)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------------------------------- sweeps


@dataclass
class Sweep:
    """A finished sweep with an uncertainty block, its futures table and the draws' parameters and weights."""

    folder: Path
    experiment: Any
    futures: pd.DataFrame
    policies: list[str]
    reference: str
    params: pd.DataFrame        # index: draw; columns: the uncertain parameters (as in the draws file)
    weights: pd.Series          # index: draw


def _label(level: Any) -> str:
    return Path(str(level)).stem


def load_sweep(folder: str | Path, experiment: str | Path | None = None, partial: bool = False) -> Sweep:
    """Read a finished sweep of an experiment with ``uncertainty`` (the experiment file from its manifest
    unless given), mapping every point to its policy and draw. ``partial``: also an unfinished sweep (its
    shards as they are), keeping every (policy, draw) with a result, complete or not (see :func:`pool`)."""
    from sim.sweep.design import SCENARIO_FACTOR, load_experiment
    from sim.sweep.store import read_runs
    from sim.uncertainty import load_draws

    folder = Path(folder)
    man_path = folder / "manifest.json"
    if not man_path.is_file():
        raise RobustnessError(f"{folder}: not a sweep folder (no manifest.json)")
    man = json.loads(man_path.read_text())
    if man.get("status") not in ("complete", "finished") and not partial:
        raise RobustnessError(f"{folder}: the sweep has not finished (status {man.get('status')!r}); run it with --resume")
    exp = load_experiment(experiment or man["experiment_file"], None if man["size"] == "default" else man["size"])
    if exp.digest() != man["experiment_digest"]:
        raise RobustnessError(f"{folder}: its experiment file changed since the sweep ran ({exp.source})")
    if exp.uncertainty is None:
        raise RobustnessError(f"{folder}: the experiment {exp.source} has no uncertainty block")
    if partial:
        from sim.sweep.store import Store

        runs = Store(folder).runs()
    else:
        runs = read_runs(folder)
    policy_of = {p: _label(pt.get(SCENARIO_FACTOR, exp.base_path)) for p, pt in enumerate(exp.points)}
    draw_of = dict(enumerate(exp.draw_of))
    policies = list(dict.fromkeys(policy_of.values()))
    futures = futures_table(runs, policy_of, draw_of, list(exp.metrics), complete=not partial)
    unc = exp.uncertainty
    if unc.mode == "draws":
        draws = load_draws(Path(exp.source).parent / unc.file).set_index("draw")
        params = draws.loc[list(unc.draws)].drop(columns="weight")
        weights = draws.loc[list(unc.draws), "weight"]
    else:
        params = pd.DataFrame(list(unc.rows), index=pd.Index(unc.draws, name="draw"))
        weights = pd.Series(1.0 / len(unc.rows), index=params.index)
    return Sweep(folder, exp, futures, policies, policies[0], params, weights)


def pool(main: Sweep, parts: list[Sweep]) -> Sweep:
    """One sweep from several run on the same draws file and root seed (a draw's seeds depend only on the
    draw, so (policy, draw) results are the same whichever sweep ran them): ``main`` gives the policies, the
    reference and the draws' parameters and weights; the parts add (policy, draw) results it lacks. Only the
    futures in which every policy of ``main`` has a result are kept."""
    for part in parts:
        if part.experiment.seed != main.experiment.seed or part.experiment.replicates != main.experiment.replicates:
            raise RobustnessError(f"{part.folder}: another root seed or replicate count than {main.folder}")
        common = part.params.index.intersection(main.params.index)
        if not part.params.loc[common].equals(main.params.loc[common, part.params.columns]):
            raise RobustnessError(f"{part.folder}: its draws differ from those of {main.folder}")
    fut = pd.concat([main.futures, *[p.futures for p in parts]], ignore_index=True)
    fut = fut.drop_duplicates(["draw", "policy"], keep="first")
    fut = fut[fut["policy"].isin(main.policies)]
    fut = only_complete(fut.sort_values(["draw", "policy"]), len(main.policies)).reset_index(drop=True)
    return Sweep(main.folder, main.experiment, fut, main.policies, main.reference, main.params, main.weights)


def robustness_tables(sw: Sweep, n_boot: int = 1000, seed: int = 0) -> dict[str, pd.DataFrame]:
    """The summary table of every headline metric of a robustness sweep."""
    out = {}
    for m in HEADLINE:
        if m not in sw.futures.columns:
            continue
        vals = wide(sw.futures, m, sw.policies)
        out[m] = summarise(vals, sw.weights.loc[vals.index].to_numpy(), sw.reference, LOWER_IS_BETTER[m],
                           n_boot=n_boot, seed=seed)
    return out


def leading(table: pd.DataFrame, k: int = 3) -> list[str]:
    """The k policies with the best mean effect (the table's order)."""
    return list(table["policy"].head(k))


def prim_boxes(sw: Sweep, policies: list[str], metric: str = "persistence") -> list[PrimBox]:
    """A PRIM box per policy over the futures in which it fails to reduce ``metric`` (effect >= 0)."""
    vals = wide(sw.futures, metric, sw.policies)
    x = sw.params.loc[vals.index]
    x = x[[c for c in x.columns if x[c].nunique() > 1]]
    boxes = []
    for pol in policies:
        fails = (vals[pol] - vals[sw.reference]).to_numpy() >= 0
        box = prim_box(x, fails, pol)
        if box is None:
            box = PrimBox(pol, 0.0, 0.0, 0.0, 0.0, pd.DataFrame(columns=["low", "high"]))
        boxes.append(box)
    return boxes


def horizon_table(sweeps: dict[int, Sweep], n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Headline effects at each horizon (years after the warm-up), on the draws every sweep shares."""
    common = None
    for sw in sweeps.values():
        d = set(sw.futures["draw"])
        common = d if common is None else common & d
    frames = []
    for years, sw in sorted(sweeps.items()):
        fut = sw.futures[sw.futures["draw"].isin(common)]
        for m in HEADLINE:
            vals = wide(fut, m, sw.policies)
            t = summarise(vals, sw.weights.loc[vals.index].to_numpy(), sw.reference, LOWER_IS_BETTER[m],
                          n_boot=n_boot, seed=seed)
            t.insert(0, "metric", m)
            t.insert(0, "years", years)
            frames.append(t)
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------------------------------- report

UNITS = {"persistence": "live networks", "users_served": "million users"}


def _fig_effects(sw: Sweep, table: pd.DataFrame, metric: str):
    """Violins of each policy's relative effect over futures, ordered by rank, with the mean and its interval."""
    from sim.analysis import plots  # also the Agg backend and house style

    vals = wide(sw.futures, metric, sw.policies)
    rel = per_future(vals, sw.reference, LOWER_IS_BETTER[metric])["relative"]
    order = list(table["policy"])
    fig, ax = plots.subplots(figsize=(9, 0.5 * len(order) + 1.5))
    data = [rel[p].dropna().to_numpy() for p in order]
    pos = np.arange(len(order))[::-1]
    ax.violinplot(data, positions=pos, vert=False, showextrema=False, widths=0.8)
    for y, (_, row) in zip(pos, table.iterrows()):
        ax.plot([row["relative_low"], row["relative_high"]], [y, y], color="black", lw=2)
        ax.plot(row["relative_mean"], y, "o", color="black")
        ax.text(1.01, y, f"beats in {row['share_beats']:.0%}", transform=ax.get_yaxis_transform(),
                va="center", fontsize=8)
    ax.axvline(0, color="grey", lw=1, ls="--")
    ax.set_yticks(pos, order)
    ax.set_xlabel(f"effect on {metric} vs {sw.reference}, % of the status quo in the same future")
    ax.set_title(f"{metric}: effect in each of {len(vals)} futures (violin), mean and 95% interval (dot, bar)")
    fig.tight_layout()
    return fig


def _fig_ranks(table: pd.DataFrame, metric: str):
    """Rank of each policy by mean effect, with its bootstrap interval, and its mean regret."""
    from sim.analysis import plots  # also the Agg backend and house style

    fig, (a1, a2) = plots.subplots(1, 2, figsize=(11, 0.45 * len(table) + 1.5), sharey=True)
    pos = np.arange(len(table))[::-1]
    a1.errorbar(table["rank"], pos, xerr=[table["rank"] - table["rank_low"], table["rank_high"] - table["rank"]],
                fmt="o", color="black", capsize=3)
    a1.set_yticks(pos, table["policy"])
    a1.set_xlabel(f"rank by mean effect among {len(table) + 1} options\n(1 = best; 95% bootstrap interval)")
    a1.invert_xaxis()
    a2.barh(pos, table["regret_mean"], xerr=[table["regret_mean"] - table["regret_low"],
                                             table["regret_high"] - table["regret_mean"]], color="#9ab", capsize=3)
    a2.set_xlabel(f"mean regret: {UNITS.get(metric, metric)} above\nthe best option in the same future (95% interval)")
    fig.suptitle(f"{metric}: ranking and regret across futures")
    fig.tight_layout()
    return fig


def _fig_prim(sw: Sweep, box: PrimBox, metric: str = "persistence"):
    """The futures on the box's two most restricted numeric parameters, failures marked, the box drawn."""
    from matplotlib.patches import Rectangle

    from sim.analysis import plots  # also the Agg backend and house style

    num = [c for c in box.limits.index if pd.api.types.is_numeric_dtype(sw.params[c])][:2]
    if len(num) < 2:
        return None
    vals = wide(sw.futures, metric, sw.policies)
    fails = (vals[box.policy] - vals[sw.reference]) >= 0
    x = sw.params.loc[vals.index]
    where = []
    for c in box.limits.index:  # categorical restrictions: show only the futures on the box's levels
        if not pd.api.types.is_numeric_dtype(sw.params[c]):
            levels = set(map(str, box.limits.loc[c, "low"]))
            keep = x[c].astype(str).isin(levels)
            x, fails = x[keep], fails[keep.to_numpy()]
            where.append(f"{c} in {{{', '.join(sorted(levels))}}}")
    fig, ax = plots.subplots(figsize=(6.5, 5))
    ax.scatter(x.loc[~fails, num[0]], x.loc[~fails, num[1]], s=10, color="#9ab", label="reduces persistence")
    ax.scatter(x.loc[fails, num[0]], x.loc[fails, num[1]], s=14, color="#c33", marker="x", label="fails")
    (l0, h0), (l1, h1) = [(float(box.limits.loc[c, "low"]), float(box.limits.loc[c, "high"])) for c in num]
    ax.add_patch(Rectangle((l0, l1), h0 - l0, h1 - l1, fill=False, lw=2, ec="black"))
    ax.set_xlabel(num[0])
    ax.set_ylabel(num[1])
    if sw.params[num[0]].min() > 0 and sw.params[num[0]].max() / sw.params[num[0]].min() > 20:
        ax.set_xscale("log")
    if sw.params[num[1]].min() > 0 and sw.params[num[1]].max() / sw.params[num[1]].min() > 20:
        ax.set_yscale("log")
    ax.set_title(f"{box.policy} fails in {box.base_rate:.0%} of futures; box: coverage {box.coverage:.2f}, "
                 f"density {box.density:.2f}" + (f"\nfutures shown: {'; '.join(where)}" if where else ""), fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _fig_sobol(ind: pd.DataFrame):
    """Total (bar) and first-order (dot) Sobol indices of each output, one panel per output."""
    from sim.analysis import plots  # also the Agg backend and house style

    outs = list(dict.fromkeys(ind["output"]))
    factors = list(dict.fromkeys(ind["factor"]))
    fig, axes = plots.subplots(1, len(outs), figsize=(3.2 * len(outs) + 2.5, 0.35 * len(factors) + 1.8), sharey=True)
    axes = np.atleast_1d(axes)
    pos = np.arange(len(factors))[::-1]
    for ax, out in zip(axes, outs):
        d = ind[ind["output"] == out].set_index("factor").loc[factors]
        ax.barh(pos, d["total_order"].clip(lower=0), color="#9ab",
                xerr=[(d["total_order"] - d["total_low"]).clip(lower=0), (d["total_high"] - d["total_order"]).clip(lower=0)],
                capsize=2, label="total")
        ax.plot(d["first_order"].clip(lower=0), pos, "o", color="black", ms=4, label="first order")
        ax.set_title(out, fontsize=9)
        ax.set_xlim(0, max(1.0, float(d["total_high"].max())))
    axes[0].set_yticks(pos, factors)
    axes[0].legend(fontsize=8)
    fig.suptitle("Sobol indices over the uncertain parameters (95% bootstrap intervals)")
    fig.tight_layout()
    return fig


def _fig_horizons(ht: pd.DataFrame, policies: list[str]):
    """Mean relative effect and interval at each horizon, one line per policy, one panel per metric."""
    from sim.analysis import plots  # also the Agg backend and house style

    metrics = list(dict.fromkeys(ht["metric"]))
    fig, axes = plots.subplots(1, len(metrics), figsize=(6 * len(metrics), 4.5))
    axes = np.atleast_1d(axes)
    for ax, m in zip(axes, metrics):
        for i, pol in enumerate(policies):
            d = ht[(ht["metric"] == m) & (ht["policy"] == pol)].sort_values("years")
            if d.empty:
                continue
            ax.errorbar(d["years"] + 0.06 * (i - len(policies) / 2), d["relative_mean"],
                        yerr=[d["relative_mean"] - d["relative_low"], d["relative_high"] - d["relative_mean"]],
                        marker="o", capsize=2, label=pol)
        ax.axhline(0, color="grey", lw=1, ls="--")
        ax.set_xticks(sorted(set(ht["years"])))
        ax.set_xlabel("years measured after the warm-up")
        ax.set_ylabel(f"effect on {m}, % of the status quo")
    axes[-1].legend(fontsize=7, loc="best")
    fig.suptitle("Headline effects by horizon (mean over futures, 95% bootstrap intervals)")
    fig.tight_layout()
    return fig


def _md_table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(str(r[c]) for c in cols) + " |")
    return "\n".join(lines)


def _ci(m: float, lo: float, hi: float, spec: str = ".1f", pct: bool = False) -> str:
    f = (lambda v: f"{100 * v:.0f}%") if pct else (lambda v: format(v, spec))
    return f"{f(m)} ({f(lo)} to {f(hi)})"


def ranking_markdown(table: pd.DataFrame, metric: str) -> str:
    """The ranking table of one metric, for people: effect, relative effect and shares with intervals."""
    unit = UNITS.get(metric, metric)
    rows = pd.DataFrame({
        "rank (95% CI)": [f"{r} ({lo}–{hi})" for r, lo, hi in zip(table["rank"], table["rank_low"], table["rank_high"])],
        "policy": table["policy"],
        f"mean effect, {unit} (95% CI)": [_ci(*v, ".2f") for v in zip(table["effect_mean"], table["effect_low"], table["effect_high"])],
        "mean effect, % (95% CI)": [_ci(*v, ".1f") for v in zip(table["relative_mean"], table["relative_low"], table["relative_high"])],
        "10th–90th pct of effect": [f"{a:.2f} to {b:.2f}" for a, b in zip(table["effect_p10"], table["effect_p90"])],
        "share of futures beating status quo (95% CI)": [_ci(*v, pct=True) for v in zip(table["share_beats"], table["share_beats_low"], table["share_beats_high"])],
        f"mean regret, {unit} (95% CI)": [_ci(*v, ".2f") for v in zip(table["regret_mean"], table["regret_low"], table["regret_high"])],
        "90th pct regret": [f"{v:.2f}" for v in table["regret_p90"]],
    })
    return _md_table(rows)


def write_report(folder: str | Path, out: str | Path | None = None, sobol: str | Path | None = None,
                 horizons: dict[int, str | Path] | None = None, n_boot: int = 1000, k_leading: int = 3,
                 command: str = "", parts: list[str | Path] | None = None) -> Path:
    """Analyse a robustness sweep (and optionally a saltelli sweep and sweeps at other horizons) into
    ``out`` (default ``FOLDER/robustness``): ``robustness.md``, CSV tables and figures (PNG and SVG)."""
    from sim.analysis.plots import save

    if parts:
        sw = pool(load_sweep(folder, partial=True), [load_sweep(p, partial=True) for p in parts])
    else:
        sw = load_sweep(folder)
    out = Path(out) if out else Path(folder) / "robustness"
    figs = out / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    tables = robustness_tables(sw, n_boot=n_boot)
    md = [f"# Policies across uncertainty: {sw.experiment.name} [{sw.experiment.size}]", ""]
    if command:
        md += [f"Made by `{command}`.", ""]
    n_f = len(set(sw.futures["draw"]))
    if parts:
        md += [f"Pooled from {1 + len(parts)} sweeps on the same draws and seeds (`{folder}` and "
               f"{', '.join(f'`{p}`' for p in parts)}); futures in which every policy has a result.", ""]
    md += [f"{len(sw.policies) - 1} policies against `{sw.reference}` on {n_f} futures (draws of "
           f"{sw.params.shape[1]} uncertain parameters from `{sw.experiment.uncertainty.file}`) × "
           f"{sw.experiment.replicates} replicates, the same seeds per future under every policy. Effects are paired "
           "differences of replicate means; intervals are 95% bootstrap intervals over futures. Lower is better for "
           "both metrics; regret is the distance to the best option (status quo included) in the same future.", ""]
    for m, t in tables.items():
        t.to_csv(out / f"ranking_{m}.csv", index=False)
        md += [f"## Ranking on {m}", "", ranking_markdown(t, m), ""]
        for name, fig in ((f"effects_{m}", _fig_effects(sw, t, m)), (f"ranks_{m}", _fig_ranks(t, m))):
            save(fig, figs / f"{name}.png", svg=True)
            md += [f"![{name}](figures/{name}.png)", ""]
    lead = leading(tables["persistence"], k_leading)
    boxes = prim_boxes(sw, lead)
    md += ["## Where the leading policies fail (PRIM)", "",
           "Futures in which a policy does not reduce live networks (paired effect ≥ 0). PRIM (EMA Workbench) peels "
           "the space of the uncertain parameters; the box shown is the one of highest coverage whose density "
           "reaches 0.8, else (failures diffuse) the densest box restricting at most 3 parameters. Coverage: share of all failures inside the box; density: share of the "
           "futures inside the box that are failures.", ""]
    prim_rows = []
    for b in boxes:
        md += [f"- **{b.policy}** fails in {b.base_rate:.0%} of futures. Box: {b.describe()} — coverage "
               f"{b.coverage:.2f}, density {b.density:.2f}, mass {b.mass:.2f}."]
        prim_rows.append({"policy": b.policy, "fail_share": b.base_rate, "coverage": b.coverage, "density": b.density,
                          "mass": b.mass, "box": b.describe()})
        fig = _fig_prim(sw, b) if b.base_rate > 0 else None
        if fig is not None:
            save(fig, figs / f"prim_{b.policy}.png", svg=True)
            md += ["", f"  ![prim {b.policy}](figures/prim_{b.policy}.png)"]
    pd.DataFrame(prim_rows).to_csv(out / "prim_boxes.csv", index=False)
    md.append("")
    if sobol:
        ss = load_sweep(sobol)
        factors = list(ss.experiment.uncertainty.factors)
        frames = []
        for m in HEADLINE:
            vals = wide(ss.futures, m, ss.policies).sort_index()
            ind = sobol_of_effects(vals, ss.reference, factors)
            ind.insert(0, "metric", m)
            frames.append(ind)
        ind = pd.concat(frames, ignore_index=True)
        ind.to_csv(out / "sobol_effects.csv", index=False)
        n_rows = len(set(ss.futures["draw"]))
        md += ["## Which unknowns decide whether a policy works (Sobol)", "",
               f"`{ss.experiment.name}` [{ss.experiment.size}]: a Saltelli design of {n_rows} rows over the ranges of "
               f"the draws ({len(factors)} factors), each row run under {len(ss.policies)} scenarios × "
               f"{ss.experiment.replicates} replicates on the same seeds. Outputs: the status quo's level and each "
               "policy's paired effect. Total index (95% bootstrap interval); factors with total < 0.05 omitted.", ""]
        for m in HEADLINE:
            d = ind[ind["metric"] == m]
            save(_fig_sobol(d.drop(columns="metric")), figs / f"sobol_{m}.png", svg=True)
            md += [f"### {m}", ""]
            for out_name in dict.fromkeys(d["output"]):
                dd = d[(d["output"] == out_name) & (d["total_order"] >= 0.05)].sort_values("total_order", ascending=False)
                parts = [f"{r.factor} {r.total_order:.2f} ({r.total_low:.2f}–{r.total_high:.2f})" for r in dd.itertuples()]
                md.append(f"- {out_name}: " + ("; ".join(parts) or "no factor above 0.05"))
            md += ["", f"![sobol {m}](figures/sobol_{m}.png)", ""]
    if horizons:
        years0 = round((sw.experiment.base.horizon_days - sw.experiment.base.warmup_days) / 365)
        sweeps = {years0: sw, **{int(y): load_sweep(p) for y, p in horizons.items()}}
        ht = horizon_table(sweeps, n_boot=n_boot)
        ht.to_csv(out / "horizons.csv", index=False)
        n_common = int(ht["futures"].iloc[0])
        md += ["## Horizons", "",
               f"The same {n_common} futures (the draws every horizon's sweep shares) measured "
               f"{', '.join(str(y) for y in sorted(sweeps))} years after the warm-up; mean effect (% of the status "
               "quo) with 95% interval, and the share of futures in which the policy beats the status quo.", ""]
        for m in HEADLINE:
            d = ht[ht["metric"] == m]
            piv = {}
            for r in d.itertuples():
                piv.setdefault(r.policy, {})[f"{r.years} y"] = (f"{r.relative_mean:+.1f}% ({r.relative_low:+.1f} to "
                                                              f"{r.relative_high:+.1f}), beats in {r.share_beats:.0%}")
            t = pd.DataFrame.from_dict(piv, orient="index").reset_index(names="policy")
            md += [f"### {m}", "", _md_table(t), ""]
        save(_fig_horizons(ht, lead), figs / "horizons.png", svg=True)
        md += ["![horizons](figures/horizons.png)", ""]
    path = out / "robustness.md"
    path.write_text("\n".join(md) + "\n")
    return path
