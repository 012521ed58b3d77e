"""Sweep throughput: the same sweeps against the bare engine and serially vs on N workers, side by side.

Two measures, each of a *single-point* design (two policy points, many replicates each: worlds are compiled
once) and a *distinct-points* design (a Sobol sample over four fields of the default world, one run per point:
every run validates and compiles its own world):

1. **Runs per core-second against the bare-engine bound.** The bound is the compiled engine running the
   design's pre-compiled worlds in this process, metrics only (no validation, compilation, tasks, shards or
   combining): CPU seconds per run. A sweep on N worker processes is charged wall seconds x N. The ratio is the
   share of the engine's speed a researcher's sweep gets.
2. **Parallel efficiency** = (runs/s on N workers) / (N x serial runs/s) on processes, on ``--dask-local``
   (cluster start-up included) and on a Dask cluster started before the clock (what ``--scheduler`` users see).
   The *ceiling* line is the single-point runs split over N bare processes with no sweep machinery: the most
   any executor could reach on this machine (their CPU time per run, alone and side by side, shows what running
   two processes at once costs the hardware itself).

This machine's speed drifts by tens of percent from minute to minute (it is shared), so every variant runs
``--rounds`` times, interleaved, and the best of each is kept. The default horizon is three years (one of
warm-up): short runs are where per-run overhead shows; ``--horizon 0`` keeps the scenario's own.

    .venv/bin/python benchmarks/bench_sweep.py [--runs 2000] [--workers 2] [--rounds 2] [--horizon 1095]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from sim import api
from sim.engines import run
from sim.metrics import compute
from sim.sweep.design import Experiment, load_experiment
from sim.sweep.runner import ExecutorSpec, run_sweep
from sim.scenario import from_dict
from sim.world import compile_world

ROOT = Path(__file__).resolve().parent.parent
METRICS = ["persistence", "lifetime_rmst", "dismantled_share"]
# distinct points: four levers of the default world, each over a wide range
SOBOL_FACTORS = {"policy.mla_speed": {"range": [0.25, 4.0], "scale": "log"},
                 "policy.harmonization": {"range": [0.0, 1.0]},
                 "enforcement.detect_prob": {"range": [0.01, 0.04]},
                 "pirates.quit_prob": {"range": [0.005, 0.02]}}


def experiment(folder: Path, runs: int, scenario: str, horizon: int, design: str) -> Path:
    """``single``: two policy points with runs/2 replicates each; ``distinct``: a Sobol sample of about ``runs``
    points (a power of two), one replicate each."""
    doc: dict[str, Any] = {"name": f"bench-{design}", "base": str(ROOT / "scenarios" / scenario), "seed": 1,
                           "metrics": METRICS}
    if horizon:
        doc["overrides"] = {"horizon_days": horizon, "warmup_days": horizon // 3}
    if design == "single":
        doc.update(factors={"policy.mla_speed": {"levels": [0.5, 1.0]}}, design="grid", replicates=max(1, runs // 2))
    else:
        doc.update(factors=SOBOL_FACTORS, design="sobol", samples=2 ** max(1, round(math.log2(max(2, runs)))),
                   replicates=1)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"bench-{design}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def point_world(exp: Experiment, point: int) -> Any:
    """A design point's world, compiled as a sweep's worker would make it (outside any timing)."""
    return compile_world(from_dict(exp.scenario_raw(point), "b", overrides=list(exp.points[point].items())))


def engine_bound(exp: Experiment) -> float:
    """The bare-engine bound: CPU seconds per run of the compiled engine on pre-compiled worlds, metrics only,
    in this process."""
    cpu = 0.0
    for p in range(len(exp.points)):
        world = point_world(exp, p)  # compiled outside the clock, one at a time (2,048 worlds would need ~1 GB)
        start = time.process_time()
        for r in range(exp.replicates):
            compute(run(world, exp.seed_of(p, r), "fast"))
        cpu += time.process_time() - start
    return cpu / exp.n_runs


def _bare(args: tuple) -> float:
    """Run the given (point, seed) runs of the experiment with no sweep machinery; return CPU seconds used."""
    exp_path, runs = args
    exp = load_experiment(exp_path)
    worlds: dict[int, object] = {}
    cpu = time.process_time()
    for point, seed in runs:
        if point not in worlds:
            worlds[point] = point_world(exp, point)
        compute(run(worlds[point], seed, "fast"))
    return time.process_time() - cpu


def bare(exp_path: Path, workers: int) -> tuple[float, float]:
    """The sweep's exact runs split over N already-started processes, with no tasks, shards or combining:
    the most any executor could reach here. Returns (wall seconds, CPU seconds per run)."""
    exp = load_experiment(exp_path)
    runs = [(p, exp.seed_of(p, r)) for p in range(len(exp.points)) for r in range(exp.replicates)]
    chunks = [(exp_path, runs[i::workers]) for i in range(workers)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pool.map(abs, range(workers))  # start the workers before the clock
        start = time.perf_counter()
        cpu = pool.map(_bare, chunks)
        return time.perf_counter() - start, sum(cpu) / len(runs)


def sweep(exp: Experiment, out: Path, spec: ExecutorSpec) -> tuple[float, str]:
    """Wall seconds of one sweep (folder to combined table and manifest) and its runs-table digest."""
    api.cache_clear()  # serial sweeps run in this process: no world compiled by an earlier round may help
    start = time.perf_counter()
    man = run_sweep(exp, out, spec, engine="fast")
    return time.perf_counter() - start, man["runs_content_sha256"]


def main() -> None:
    """Measure and print (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--scenario", default="baseline.yaml")
    parser.add_argument("--horizon", type=int, default=1095, help="days per run (0: the scenario's own)")
    args = parser.parse_args()
    import dask
    from distributed import LocalCluster

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = {d: experiment(folder, args.runs, args.scenario, args.horizon, d) for d in ("single", "distinct")}
        exps = {d: load_experiment(p) for d, p in paths.items()}
        w = args.workers
        horizon = f"horizon {args.horizon} days" if args.horizon else "the scenario's horizon"
        print(f"sweeps of {args.scenario} ({horizon}, compiled engine), {w} workers, best of {args.rounds} rounds")
        best: dict[str, float] = {}
        digests: dict[str, str] = {}
        cpu_per_run: dict[Any, float] = {}

        def keep(name: str, value: float) -> None:
            best[name] = min(best.get(name, math.inf), value)

        single = exps["single"]
        for r in range(args.rounds):
            for design, exp in exps.items():
                keep(f"engine {design}", engine_bound(exp))
                wall, digests[f"processes {design}"] = sweep(exp, folder / f"p-{design}-{r}", ExecutorSpec("processes", workers=w))
                keep(f"processes {design}", wall)
            for k in (1, w):
                wall, cpu = bare(paths["single"], k)
                if wall < best.get(f"bare {k}", math.inf):
                    best[f"bare {k}"], cpu_per_run[k] = wall, cpu
            for name, spec in (("serial", ExecutorSpec("serial")), ("dask-local", ExecutorSpec("dask", workers=w))):
                wall, digests[name] = sweep(single, folder / f"{name}-{r}", spec)
                keep(name, wall)
            # an "existing" cluster, configured as docs/experiments.md advises (no MALLOC_TRIM_THRESHOLD_, no
            # worker profiler)
            environ = {k: v for k, v in dask.config.get("distributed.nanny.pre-spawn-environ").items()
                       if k != "MALLOC_TRIM_THRESHOLD_"}
            with dask.config.set({"distributed.nanny.pre-spawn-environ": environ,
                                  "distributed.worker.profile.enabled": False}), \
                    LocalCluster(n_workers=w, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
                # a long-lived cluster has imported the package already: warm it with a small sweep first
                warm = experiment(folder / f"warm-{r}", 2 * w, args.scenario, args.horizon, "single")
                sweep(load_experiment(warm), folder / f"warm-{r}" / "o", ExecutorSpec("dask", scheduler=cluster.scheduler_address))
                wall, digests["dask scheduler"] = sweep(single, folder / f"sched-{r}",
                                                        ExecutorSpec("dask", scheduler=cluster.scheduler_address))
                keep("dask scheduler", wall)

        ceiling = best["bare 1"] / best[f"bare {w}"] / w
        print("runs per core-second (a sweep on N processes is charged wall seconds x N), against the bare engine")
        for design, exp in exps.items():
            n = exp.n_runs
            bound = 1 / best[f"engine {design}"]
            rate = n / (best[f"processes {design}"] * w)
            label = "single-point" if design == "single" else "distinct-points"
            print(f"  {label:16s} {n:5d} runs ({len(exp.points)} points): bare engine {bound:7.1f}, "
                  f"sweep on {w} processes {rate:7.1f} runs per core-second: {rate / bound:6.1%} of the bound"
                  f" ({rate / bound / ceiling:6.1%} of the bound times the machine ceiling below)")
        n = single.n_runs
        serial_rate = n / best["serial"]
        print(f"parallel efficiency, single-point design ({n} runs)")
        print(f"  {'bare, 1 process':22s} {best['bare 1']:6.1f} s  {n / best['bare 1']:7.1f} runs/s  "
              f"CPU {cpu_per_run[1] * 1e3:.1f} ms per run")
        print(f"  {f'bare, {w} processes':22s} {best[f'bare {w}']:6.1f} s  {n / best[f'bare {w}']:7.1f} runs/s  "
              f"CPU {cpu_per_run[w] * 1e3:.1f} ms per run; machine ceiling {ceiling:6.1%}")
        print(f"  {'serial':22s} {best['serial']:6.1f} s  {serial_rate:7.1f} runs/s")
        for name in ("processes single", "dask-local", "dask scheduler"):  # dask scheduler: existing cluster, warm workers
            rate = n / best[name]
            eff = rate / (w * serial_rate)
            print(f"  {name.replace(' single', ''):22s} {best[name]:6.1f} s  {rate:7.1f} runs/s  parallel efficiency {eff:6.1%}"
                  f"  (of ceiling {eff / ceiling:6.1%})  same result: {digests[name] == digests['serial']}")
        print(f"  parent peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
