"""Sobol sensitivity indices from a ``saltelli`` sweep, through ``scipy.stats.sobol_indices``.

The sweep ran n(d + 2) design points in the order A (n), B (n), then A with factor i from B for each i; a
metric averaged over each point's replicates gives the evaluations scipy needs. Intervals are percentile
bootstrap intervals over the n base samples, drawn with a seeded generator so a report is reproducible
(``SobolResult.bootstrap`` takes no seed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import sobol_indices


def indices_from_evaluations(f_a: np.ndarray, f_b: np.ndarray, f_ab: np.ndarray, names: list[str],
                             level: float = 0.95, n_resamples: int = 999, seed: int = 0) -> pd.DataFrame:
    """First-order and total indices with bootstrap intervals; ``f_ab`` has shape (d, n)."""
    n = f_a.shape[0]

    def estimate(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        res = sobol_indices(func={"f_A": f_a[None, idx], "f_B": f_b[None, idx], "f_AB": f_ab[:, None, idx]}, n=idx.size)
        return np.ravel(res.first_order), np.ravel(res.total_order)

    first, total = estimate(np.arange(n))
    g = np.random.default_rng(seed)
    draws = [estimate(g.integers(0, n, n)) for _ in range(n_resamples)]
    fb, tb = np.array([d[0] for d in draws]), np.array([d[1] for d in draws])
    q = [50 * (1 - level), 50 * (1 + level)]
    (f_lo, f_hi), (t_lo, t_hi) = np.nanpercentile(fb, q, axis=0), np.nanpercentile(tb, q, axis=0)
    return pd.DataFrame({"factor": names, "first_order": first, "first_low": f_lo, "first_high": f_hi,
                         "total_order": total, "total_low": t_lo, "total_high": t_hi})


def indices_from_sweep(runs: pd.DataFrame, factors: list[str], metric: str, **kw) -> pd.DataFrame:
    """Indices of ``metric`` from a saltelli sweep's runs table (points in saltelli order)."""
    d = len(factors)
    means = runs[runs["status"] == "ok"].groupby("point")[metric].mean().sort_index()
    total = int(runs["point"].max()) + 1
    if total % (d + 2) or len(means) != total:
        raise ValueError(f"not a complete saltelli sweep over {d} factors ({len(means)} of {total} points)")
    n = total // (d + 2)
    f = means.to_numpy()
    return indices_from_evaluations(f[:n], f[n:2 * n], f[2 * n:].reshape(d, n), factors, **kw)
