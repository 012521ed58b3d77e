"""sim.api and interop numbers: evaluate's overhead, the EMA example's PRIM box, SALib vs project Sobol indices.

1. Overhead: one design point (the baseline with ``policy.mla_speed = 0.5``) x ``--seeds`` seeds, measured side by
   side and interleaved over ``--rounds`` rounds, timed in CPU seconds of this process (wall time on this
   shared machine swings by tens of percent with the other users' load; the median of each variant is kept):
   - bare engine runs: ``engines.run(world, seed)`` on a world compiled beforehand;
   - bare runs + metrics: the same plus ``metrics.compute`` (what any caller who wants metrics does);
   - ``api.evaluate`` on a Scenario and on a file path, with the world cache warm (a repeated evaluation);
   - ``api.evaluate`` after ``api.cache_clear()`` (the first evaluation of a point: validation + compilation).
2. ``--prim``: the EMA Workbench example of docs/interop.md (64 experiments, PRIM), its box printed.
3. ``--salib SIZE``: the sensitivity experiment at SIZE (``ci`` or ``full``) run on ``--workers`` processes,
   then SALib's indices beside the project's for every metric, with the largest differences.

    .venv/bin/python benchmarks/bench_api.py [--seeds 100] [--rounds 5] [--prim] [--salib full --workers 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sim import api, engines, metrics
from sim.scenario import load

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
POINT = {"policy.mla_speed": 0.5}


def overhead(n_seeds: int, rounds: int) -> None:
    """Print the median wall time of each variant and its ratio to the bare engine runs."""
    scenario = load(BASELINE)
    world = api.world(scenario, POINT)
    seeds = api.replicate_seeds(20261128, n_seeds)
    engine = engines.default_engine()

    def bare() -> None:
        for s in seeds:
            engines.run(world, s, engine)

    def bare_metrics() -> None:
        for s in seeds:
            metrics.compute(engines.run(world, s, engine))

    def evaluate_scenario() -> None:
        api.evaluate(scenario, POINT, seeds=seeds, engine=engine)

    def evaluate_path() -> None:
        api.evaluate(BASELINE, POINT, seeds=seeds, engine=engine)

    def evaluate_cold() -> None:
        api.cache_clear()
        api.evaluate(BASELINE, POINT, seeds=seeds, engine=engine)

    variants = {"bare engine runs": bare, "bare runs + metrics.compute": bare_metrics,
                "api.evaluate(Scenario), warm cache": evaluate_scenario,
                "api.evaluate(path), warm cache": evaluate_path, "api.evaluate(path), cold cache": evaluate_cold}
    times: dict[str, list[float]] = {k: [] for k in variants}
    evaluate_path()  # warm the cache and the caches of the OS
    for _ in range(rounds):
        for name, fn in variants.items():
            start = time.process_time()
            fn()
            times[name].append(time.process_time() - start)
        evaluate_path()  # leave the cache warm after the cold variant
    base = statistics.median(times["bare engine runs"])
    with_metrics = statistics.median(times["bare runs + metrics.compute"])
    print(f"one point x {n_seeds} seeds, engine {engine}, {rounds} interleaved rounds (median CPU seconds)")
    print(f"{'variant':40s} {'CPU s':>8s} {'vs bare':>8s} {'vs bare+metrics':>16s}")
    for name, ts in times.items():
        t = statistics.median(ts)
        print(f"{name:40s} {t:8.3f} {t / base - 1:+8.1%} {t / with_metrics - 1:+16.1%}")


def prim_box() -> None:
    """The docs' EMA example, its PRIM box printed."""
    import warnings

    from sim.ema import model_from_experiment, prim_inputs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench import perform_experiments
        from ema_workbench.analysis import prim

        model = model_from_experiment(ROOT / "experiments" / "sensitivity.yaml", size="ci")
        experiments, outcomes = perform_experiments(model, scenarios=64, uncertainty_sampling_kwargs={"rng": 42})
        y = outcomes["persistence"] <= np.percentile(outcomes["persistence"], 25)
        box = prim.Prim(prim_inputs(experiments), y).find_box()
        stats, limits = box.inspect(style="data")[0]
    print("\nEMA example (docs/interop.md): 64 LHS experiments, cases of interest = lowest quarter of persistence")
    print(stats[["coverage", "density", "mass", "res_dim"]].to_string())
    print(limits.to_string())


def salib(size: str, workers: int) -> None:
    """The sensitivity sweep at ``size``; SALib's and the project's indices side by side."""
    import warnings

    from SALib.analyze import sobol

    from sim.analysis.sensitivity import indices_from_sweep
    from sim.sweep import to_salib
    from sim.sweep.design import load_experiment
    from sim.sweep.runner import ExecutorSpec, run_sweep
    from sim.sweep.store import read_runs

    exp = load_experiment(ROOT / "experiments" / "sensitivity.yaml", size)
    out = Path(tempfile.mkdtemp()) / f"sensitivity-{size}"
    start = time.perf_counter()
    run_sweep(exp, out, ExecutorSpec("processes", workers=workers))
    print(f"\nsensitivity --size {size}: {exp.n_runs} runs in {time.perf_counter() - start:.0f} s on {workers} workers")
    runs = read_runs(out)
    names = [f.path for f in exp.factors]
    pd.set_option("display.width", 160)
    for metric in exp.metrics:
        problem, y = to_salib(out, metric, experiment=exp)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            si = sobol.analyze(problem, y, calc_second_order=False, seed=1)
        ours = indices_from_sweep(runs, names, metric, n_resamples=99)
        side = pd.DataFrame({"factor": names, "S1 project": ours["first_order"], "S1 SALib": si["S1"],
                             "ST project": ours["total_order"], "ST SALib": si["ST"]})
        print(f"\n{metric}: max |dS1| = {np.abs(side['S1 project'] - side['S1 SALib']).max():.2e}, "
              f"max |dST| = {np.abs(side['ST project'] - side['ST SALib']).max():.2e}")
        print(side.to_string(index=False, float_format=lambda v: f"{v:.5f}"))


def main() -> None:
    """Parse arguments and print the measurements asked for."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--prim", action="store_true", help="also the EMA example's PRIM box")
    ap.add_argument("--salib", default=None, metavar="SIZE", help="also SALib vs project indices at SIZE")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-overhead", action="store_true")
    args = ap.parse_args()
    if not args.no_overhead:
        overhead(args.seeds, args.rounds)
    if args.prim:
        prim_box()
    if args.salib:
        salib(args.salib, args.workers)


if __name__ == "__main__":
    main()
