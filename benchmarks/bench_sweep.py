"""Sweep throughput: the same sweep serially and on N workers (processes, Dask), measured side by side.

Parallel efficiency = (runs/s on N workers) / (N x serial runs/s), wall clock from the start of the sweep to
the combined table. This machine's speed drifts by tens of percent from minute to minute, so every variant
runs ``--rounds`` times, interleaved, and the best time of each is kept. Two reference lines help read the
numbers: the *ceiling* (the sweep's exact runs split over N bare processes with no sweep machinery at all,
which is the most any executor could reach here; its CPU time per run, alone and side by side, shows what
running two processes at once costs the hardware itself), and Dask on a cluster started before the clock (what ``--scheduler``
users see) beside ``--dask-local`` (cluster start-up included).

    .venv/bin/python benchmarks/bench_sweep.py [--runs 2000] [--workers 2] [--rounds 2]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

import yaml

from sim.engines import run
from sim.metrics import compute
from sim.sweep.design import load_experiment
from sim.sweep.runner import ExecutorSpec, run_sweep
from sim.scenario import from_dict
from sim.world import compile_world

ROOT = Path(__file__).resolve().parent.parent


def experiment(folder: Path, runs: int, scenario: str) -> Path:
    """Two policy points on the chosen scenario, enough replicates for ``runs`` runs."""
    doc = {"name": "bench", "base": str(ROOT / "scenarios" / scenario),
           "factors": {"policy.mla_speed": {"levels": [0.5, 1.0]}}, "design": "grid",
           "replicates": max(1, runs // 2), "seed": 1, "metrics": ["persistence", "lifetime_rmst", "dismantled_share"]}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bench.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _bare(args: tuple) -> float:
    """Run the given (point, seed) runs of the experiment with no sweep machinery; return CPU seconds used."""
    exp_path, runs = args
    exp = load_experiment(exp_path)
    worlds: dict[int, object] = {}
    cpu = time.process_time()
    for point, seed in runs:
        if point not in worlds:
            worlds[point] = compile_world(from_dict(exp.scenario_raw(point), "b", overrides=list(exp.points[point].items())))
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


def sweep(exp, out: Path, spec: ExecutorSpec) -> tuple[float, str]:
    start = time.perf_counter()
    man = run_sweep(exp, out, spec, engine="fast")
    return time.perf_counter() - start, man["runs_content_sha256"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--scenario", default="baseline.yaml")
    args = parser.parse_args()
    import dask
    from distributed import LocalCluster

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        exp_path = experiment(folder, args.runs, args.scenario)
        exp = load_experiment(exp_path)
        n, w = exp.n_runs, args.workers
        print(f"sweep: {n} runs of {args.scenario} (compiled engine), {w} workers, best of {args.rounds} rounds")
        best: dict[str, float] = {}
        digests: dict[str, str] = {}
        cpu_per_run: dict[int, float] = {}
        for r in range(args.rounds):
            for k in (1, w):
                wall, cpu = bare(exp_path, k)
                if wall < best.get(f"bare {k}", 1e9):
                    best[f"bare {k}"], cpu_per_run[k] = wall, cpu
            for name, spec in (("serial", ExecutorSpec("serial")), ("processes", ExecutorSpec("processes", workers=w)),
                               ("dask-local", ExecutorSpec("dask", workers=w))):
                wall, digests[name] = sweep(exp, folder / f"{name}-{r}", spec)
                best[name] = min(best.get(name, 1e9), wall)
            # an "existing" cluster, configured as docs/experiments.md advises (no MALLOC_TRIM_THRESHOLD_)
            environ = {k: v for k, v in dask.config.get("distributed.nanny.pre-spawn-environ").items()
                       if k != "MALLOC_TRIM_THRESHOLD_"}
            with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}), \
                    LocalCluster(n_workers=w, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
                # a long-lived cluster has imported the package already: warm it with a small sweep first
                sweep(load_experiment(experiment(folder / f"warm-{r}", 2 * w, args.scenario)), folder / f"warm-{r}" / "o",
                      ExecutorSpec("dask", scheduler=cluster.scheduler_address))
                wall, digests["dask scheduler"] = sweep(exp, folder / f"sched-{r}", ExecutorSpec("dask", scheduler=cluster.scheduler_address))
                best["dask scheduler"] = min(best.get("dask scheduler", 1e9), wall)
        ceiling = best["bare 1"] / best[f"bare {w}"] / w
        serial_rate = n / best["serial"]
        print(f"  {'bare, 1 process':22s} {best['bare 1']:6.1f} s  {n / best['bare 1']:7.1f} runs/s  "
              f"CPU {cpu_per_run[1] * 1e3:.1f} ms per run")
        print(f"  {f'bare, {w} processes':22s} {best[f'bare {w}']:6.1f} s  {n / best[f'bare {w}']:7.1f} runs/s  "
              f"CPU {cpu_per_run[w] * 1e3:.1f} ms per run; machine ceiling {ceiling:6.1%}")
        print(f"  {'serial':22s} {best['serial']:6.1f} s  {serial_rate:7.1f} runs/s")
        for name in ("processes", "dask-local", "dask scheduler"):  # dask scheduler: existing cluster, warm workers
            rate = n / best[name]
            eff = rate / (w * serial_rate)
            print(f"  {name:22s} {best[name]:6.1f} s  {rate:7.1f} runs/s  parallel efficiency {eff:6.1%}"
                  f"  (of ceiling {eff / ceiling:6.1%})  same result: {digests[name] == digests['serial']}")
        print(f"  parent peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
