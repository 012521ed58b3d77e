"""Is the baseline's warm-up long enough? Evidence that the daily series are flat after ``warmup_days``.

Runs a scenario (default ``scenarios/baseline.yaml``) over several seeds with a longer horizon, then prints

1. yearly means of the daily series (averaged over seeds), so the transient and where it ends can be seen;
2. for the scenario's own ``warmup_days`` and measured window (``horizon_days - warmup_days``): the mean of
   the first and the last half of the window, their difference relative to the mean, and the difference
   divided by its standard error across seeds (|z| well below 2: no drift that the seeds can detect).

Usage: ``.venv/bin/python scenarios/check_warmup.py [--seeds 6] [--years 12] [--jobs 2]``.
The numbers go into docs/scenarios.md ("Warm-up").
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

SERIES = ("networks", "servers_up", "cases_open", "cases_opened", "cases_failed_haven", "arrests")
HERE = Path(__file__).resolve().parent


def one_run(args: tuple[str, int, int]) -> dict[str, np.ndarray]:
    """Daily series of one Mesa run of ``path`` with the horizon set to ``horizon`` days."""
    from sim.engines import run
    from sim.scenario import load
    from sim.world import compile_world

    path, horizon, seed = args
    sc = load(path, [("horizon_days", horizon)])
    daily = run(compile_world(sc), seed, engine="mesa").daily
    return {c: daily[c].to_numpy(dtype=np.float64)[1:] for c in SERIES}  # row 0 is day 0 (the set-up)


def main() -> None:
    """Run the check and print the two tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default=str(HERE / "baseline.yaml"))
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--years", type=int, default=12, help="years simulated for the yearly table")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()

    from sim.scenario import load

    sc = load(a.scenario)
    warm, window = sc.warmup_days, sc.horizon_days - sc.warmup_days
    horizon = max(a.years * 365, sc.horizon_days)
    seeds = range(1, a.seeds + 1)
    with ProcessPoolExecutor(a.jobs) as pool:
        runs = list(pool.map(one_run, [(a.scenario, horizon, s) for s in seeds]))

    years = horizon // 365
    print(f"{sc.name}: {a.seeds} seeds, {horizon} days; yearly means of the daily series (mean over seeds)")
    print("year " + "".join(f"{c:>14}" for c in SERIES))
    for y in range(years):
        vals = [np.mean([r[c][y * 365:(y + 1) * 365].mean() for r in runs]) for c in SERIES]
        print(f"{y + 1:>4} " + "".join(f"{v:>14.3f}" for v in vals))

    half = window // 2
    print(f"\nwarmup_days {warm}, window {window} days: first vs last half of the window (days {warm + 1}.."
          f"{warm + half} vs {warm + window - half + 1}..{warm + window})")
    print(f"{'series':>14}{'first half':>12}{'last half':>12}{'rel. diff':>11}{'z':>8}")
    for c in SERIES:
        first = np.array([r[c][warm:warm + half].mean() for r in runs])
        last = np.array([r[c][warm + window - half:warm + window].mean() for r in runs])
        d = last - first
        se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
        rel = d.mean() / first.mean() if first.mean() else float("nan")
        z = d.mean() / se if se else float("nan")
        print(f"{c:>14}{first.mean():>12.3f}{last.mean():>12.3f}{rel:>+11.1%}{z:>+8.2f}")


if __name__ == "__main__":
    main()
