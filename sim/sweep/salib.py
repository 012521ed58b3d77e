"""A ``saltelli`` sweep as SALib's Sobol input: ``to_salib(runs, metric) -> (problem, Y)``.

The sweep's design is SALib's ``sample.sobol(problem, n, calc_second_order=False,
seed=np.random.default_rng(root))`` (the same scrambled Sobol' points, split into A and B the same way), but
stored in blocks: points 0..n-1 are A, n..2n-1 are B, then A with factor i taken from B for i = 1..d
(``[A; B; AB_1; ..; AB_d]``, the order ``scipy.stats.sobol_indices`` takes). SALib wants one block per base
sample j instead: ``[A_j, AB_1j, .., AB_dj, B_j]``. :func:`to_salib` reorders the per-point means of a metric
into that order, so ``SALib.analyze.sobol.analyze(problem, Y, calc_second_order=False)`` works on it directly.

SALib and the project (through scipy) use the same estimators (Saltelli 2010 for first order, Jansen for total
order) and the same variance (of A and B); they centre the outputs on slightly different means (SALib on all
n(d + 2) outputs, scipy on A and B), so total indices agree to rounding and first-order indices to a term
that shrinks with n (at most 6e-5 at the full sensitivity experiment).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.sweep.design import Experiment
from sim.sweep.store import read_runs


def _factors_and_bounds(runs: pd.DataFrame, factors: list[str] | None,
                        experiment: Experiment | None) -> tuple[list[str], list[list[float]], list[str]]:
    if experiment is not None:
        fs = [f for f in experiment.factors]
        if any(f.levels is not None for f in fs):
            raise ValueError("a Sobol analysis needs range factors only (levels found)")
        return ([f.path for f in fs], [[f.low, f.high] for f in fs],
                ["logunif" if f.log else "unif" for f in fs])
    if factors is None:
        cols = list(runs.columns)
        factors = cols[cols.index("seed") + 1: cols.index("status")]
    # without the experiment, the bounds are those the design reached (the analysis itself does not use them)
    bounds = [[float(runs[f].min()), float(runs[f].max())] for f in factors]
    return list(factors), bounds, ["unif"] * len(factors)


def to_salib(runs: pd.DataFrame | str | Path, metric: str, experiment: Experiment | None = None,
             factors: list[str] | None = None) -> tuple[dict[str, Any], np.ndarray]:
    """SALib's ``problem`` and the output vector ``Y`` (SALib row order) of ``metric`` from a saltelli sweep.

    ``runs`` is a sweep folder or its runs table; each point's output is the mean of its successful
    replicates, as in :func:`sim.analysis.sensitivity.indices_from_sweep`. The factors are the experiment's
    when ``experiment`` is given (bounds and log scales included: ``dists`` ``logunif``), else the folder's
    manifest's, else ``factors``, else the design columns of the table (bounds: the values reached).
    Raises ValueError when the sweep is not a complete saltelli design over those factors.
    """
    if isinstance(runs, (str, Path)):
        folder = Path(runs)
        manifest = json.loads((folder / "manifest.json").read_text())
        design = manifest.get("design", {})
        if design.get("type") != "saltelli":
            raise ValueError(f"{folder}: a {design.get('type')} sweep; Sobol indices need a saltelli design")
        factors = factors or list(design.get("factors", []))
        runs = read_runs(folder)
    if metric not in runs.columns:
        raise ValueError(f"no metric {metric!r} in the runs table")
    names, bounds, dists = _factors_and_bounds(runs, factors, experiment)
    d = len(names)
    means = runs[runs["status"] == "ok"].groupby("point")[metric].mean().sort_index()
    total = int(runs["point"].max()) + 1
    if total % (d + 2) or len(means) != total:
        raise ValueError(f"not a complete saltelli sweep over {d} factors ({len(means)} of {total} points)")
    n = total // (d + 2)
    blocked = means.to_numpy(dtype=np.float64).reshape(d + 2, n)  # rows: A, B, AB_1..AB_d
    # SALib: for each base sample j, A_j, AB_1j..AB_dj, B_j
    order = np.vstack([blocked[0], blocked[2:], blocked[1]])      # (d + 2, n)
    y = order.T.reshape(-1)
    problem: dict[str, Any] = {"num_vars": d, "names": names, "bounds": bounds}
    if any(x != "unif" for x in dists):
        problem["dists"] = dists
    return problem, y
