"""Summaries of a sweep: per design point means with confidence intervals, and paired policy differences.

Replicate r of every design point shares its seed (common random numbers), so the difference between two
points is computed replicate by replicate; its interval is then much narrower than the two points' own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

KEYS = ("point", "replicate", "seed", "status", "error")


def mean_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float, int]:
    """Mean and Student-t interval of the finite values: (mean, low, high, n); NaN bounds when n < 2."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return np.nan, np.nan, np.nan, 0
    m = float(x.mean())
    if n < 2:
        return m, np.nan, np.nan, n
    half = float(student_t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / np.sqrt(n))
    return m, m - half, m + half, n


def metric_columns(runs: pd.DataFrame, factors: list[str]) -> list[str]:
    """The metric columns of a runs table (everything that is neither a key nor a design value)."""
    return [c for c in runs.columns if c not in KEYS and c not in factors]


def factor_columns(runs: pd.DataFrame, manifest: dict | None = None) -> list[str]:
    """The design-value columns, from the manifest when given, else those between seed and status."""
    if manifest and manifest.get("design", {}).get("points"):
        return list(dict.fromkeys(k for p in manifest["design"]["points"] for k in p))
    cols = list(runs.columns)
    return cols[cols.index("seed") + 1: cols.index("status")]


def by_point(runs: pd.DataFrame, factors: list[str], metrics: list[str], level: float = 0.95) -> pd.DataFrame:
    """One row per design point: its factor values, and for each metric mean, ci_low, ci_high and n."""
    ok = runs[runs["status"] == "ok"]
    rows = []
    for point, grp in ok.groupby("point", sort=True):
        row: dict = {"point": int(point), **{f: grp[f].iloc[0] for f in factors}}
        for m in metrics:
            mean, lo, hi, n = mean_ci(grp[m].to_numpy(), level)
            if m.endswith("_share"):  # a share lies in [0, 1]; so does every value its interval may claim
                lo, hi = max(lo, 0.0), min(hi, 1.0)
            row.update({m: mean, f"{m}_ci_low": lo, f"{m}_ci_high": hi, f"{m}_n": n})
        rows.append(row)
    return pd.DataFrame(rows)


def paired_differences(runs: pd.DataFrame, reference: int, metrics: list[str], factors: list[str],
                       level: float = 0.95) -> pd.DataFrame:
    """Effect of each design point against ``reference`` on each metric, paired by replicate (common seeds).

    Rows: point, factor values, metric, reference mean, effect (mean difference) with its interval, relative
    effect (difference / reference mean), and the number of pairs.
    """
    ok = runs[runs["status"] == "ok"]
    ref = ok[ok["point"] == reference].set_index("replicate")
    out = []
    for point, grp in ok[ok["point"] != reference].groupby("point", sort=True):
        g = grp.set_index("replicate")
        common = g.index.intersection(ref.index)
        if not (g.loc[common, "seed"].to_numpy() == ref.loc[common, "seed"].to_numpy()).all():
            raise ValueError("paired differences need common random numbers (the same seed per replicate)")
        for m in metrics:
            diff = g.loc[common, m].to_numpy(dtype=float) - ref.loc[common, m].to_numpy(dtype=float)
            mean, lo, hi, n = mean_ci(diff, level)
            if m.endswith("_share"):  # a difference of two shares lies in [-1, 1]
                lo, hi = max(lo, -1.0), min(hi, 1.0)
            base = float(np.nanmean(ref.loc[common, m].to_numpy(dtype=float))) if len(common) else np.nan
            out.append({"point": int(point), **{f: g[f].iloc[0] for f in factors}, "metric": m, "reference": base,
                        "effect": mean, "ci_low": lo, "ci_high": hi,
                        "relative": mean / base if base else np.nan, "n": n})
    return pd.DataFrame(out)
