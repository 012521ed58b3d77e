"""Run an experiment's (point, replicate) runs on any ``concurrent.futures`` executor.

Tasks are batches of runs sized to take about a second (the last ones less), so scheduling costs stay small;
the parent process submits a bounded number at a time, writes each finished task's results to a shard at once,
and retries what failed. Results never depend on the executor, the worker count, the batch sizes or
the order of completion: every run's seed is fixed by (point, replicate), and the combined table is sorted.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator

import multiprocessing
import threading

import numpy as np
import pandas as pd

from sim import api, engines, metrics
from sim.outputs import RunResult
from sim.procs import LOCK_NAME, FolderLock, LockError, worker_init
from sim.scenario import Scenario, from_dict
from sim.sweep import manifest as mf
from sim.sweep.design import SCENARIO_FACTOR, Experiment, run_seed
from sim.sweep.store import Store, StoreError, file_digest, frame_digest, read_runs
from sim.world import compile_world

RunFn = Callable[[Any, int, str], RunResult]


class SweepError(Exception):
    """A sweep cannot start (e.g. the output folder holds another experiment); shown as one line."""


@dataclass(frozen=True)
class PointRuns:
    """Replicates of one design point within a task."""

    point: int
    base: str                           # key into Task.bases: the scenario level, or "" for the base
    values: dict[str, Any]              # overrides the point applies to its base scenario
    label: dict[str, Any]               # the design values as recorded in the runs table
    runs: tuple[tuple[int, int], ...]   # (replicate, seed)


@dataclass(frozen=True)
class Task:
    """A batch of runs, possibly over several design points, with everything a worker needs (no shared state)."""

    task_id: int
    items: tuple[PointRuns, ...]
    bases: dict[str, Scenario]          # validated scenarios the items start from (digest computed, kept)
    engine: str
    metrics: tuple[str, ...]
    keep: tuple[str, ...]
    attempt: int = 0

    def only(self, failed: set[tuple[int, int]], task_id: int) -> "Task":
        """This task reduced to the given (point, replicate) runs, as a new attempt."""
        items = tuple(replace(it, runs=tuple(x for x in it.runs if (it.point, x[0]) in failed)) for it in self.items)
        return replace(self, task_id=task_id, items=tuple(it for it in items if it.runs), attempt=self.attempt + 1)


def default_run(world: Any, seed: int, engine: str) -> RunResult:
    """The run function of a sweep: :func:`sim.engines.run`."""
    return engines.run(world, seed, engine)


def _row(item: PointRuns, replicate: int, seed: int) -> dict[str, Any]:
    return {"point": item.point, "replicate": replicate, "seed": np.uint64(seed), **item.label}


def run_task(task: Task, run_fn: RunFn = default_run, bases: dict[str, Scenario] | None = None) -> dict[str, Any]:
    """Execute one task (in a worker): compile each point's world once, run its replicates, catch per-run errors.

    ``bases`` replaces ``task.bases`` (a Dask sweep scatters the base scenarios to the workers once and sends
    tasks without them). Returns rows for the runs table and, for each kept table, the per-run tables with point
    and replicate.
    """
    bases = task.bases if bases is None else bases
    rows: list[dict[str, Any]] = []
    kept: dict[str, list[pd.DataFrame]] = {t: [] for t in task.keep}
    for item in task.items:
        try:
            # the public world cache (sim.api.world): a point's world is made once per worker process; a new
            # point validates only its overridden fields (sim.scenario.with_overrides) and compiles in ~1 ms
            world, world_error = api.world(bases[item.base], item.values), ""
        except Exception as exc:  # noqa: BLE001 - recorded, not raised: the sweep goes on
            world, world_error = None, f"{type(exc).__name__}: {exc}"
        for replicate, seed in item.runs:
            row = _row(item, replicate, seed)
            try:
                if world is None:
                    raise RuntimeError(world_error)
                result = run_fn(world, seed, task.engine)
                values = metrics.compute(result)
                row.update(status="ok", error="")
                row.update({m: np.nan if values[m] is None else float(values[m]) for m in task.metrics})
                # DataFrames only for the tables kept: the metrics read the engine's raw arrays
                tables = result.after_warmup(task.keep) if task.keep else {}
                for table in task.keep:
                    df = tables[table].copy()
                    df.insert(0, "replicate", replicate)
                    df.insert(0, "point", item.point)
                    kept[table].append(df)
            except Exception as exc:  # noqa: BLE001
                row.update(status="failed", error=f"{type(exc).__name__}: {exc}")
                row.update({m: np.nan for m in task.metrics})
            rows.append(row)
    return {"rows": rows, "kept": {t: pd.concat(v, ignore_index=True) for t, v in kept.items() if v}}


class SerialExecutor(Executor):
    """Runs each submitted call at once in this process (the executor for debugging and small sweeps)."""

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> Future:  # type: ignore[override]
        """Call ``fn`` now; the returned future is already done."""
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            fut.set_exception(exc)
        return fut


@dataclass
class ExecutorSpec:
    """How runs are executed: ``serial``, ``processes`` (N workers) or ``dask`` (a scheduler or a local cluster)."""

    kind: str = "processes"
    workers: int = 0          # 0: one per core
    scheduler: str | None = None

    def describe(self) -> str:
        """For the manifest and the progress line."""
        if self.kind == "dask":
            return f"dask ({self.scheduler})" if self.scheduler else f"dask-local ({self.workers} workers)"
        return self.kind


class _Executors:
    """Context manager that opens the executor an :class:`ExecutorSpec` names and closes what it opened."""

    def __init__(self, spec: ExecutorSpec) -> None:
        self.spec = spec
        self.closers: list[Callable[[], None]] = []
        self.pool: ProcessPoolExecutor | None = None
        self.client: Any = None  # the Dask client, for scattering shared data
        self.workers = 1

    def __enter__(self) -> Executor:
        spec = self.spec
        if spec.kind == "serial":
            return SerialExecutor()
        if spec.kind == "processes":
            self.workers = spec.workers or os.cpu_count() or 1
            return self._pool()
        if spec.kind == "dask":
            try:
                from distributed import Client, LocalCluster
            except ImportError:
                raise SweepError("Dask is not installed: pip install 'piracysim[distributed]'") from None
            if spec.scheduler:
                try:
                    client = Client(spec.scheduler, timeout="20s")
                except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, ValueError for a bad address...
                    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    raise SweepError(f"--scheduler {spec.scheduler}: cannot connect ({detail})") from None
                self.workers = max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))
            else:
                import dask

                self.workers = spec.workers or os.cpu_count() or 1
                # Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 in workers, which costs this allocation-heavy
                # work 10-20%, and each worker samples its own stack every 10 ms for Dask's profile view, which
                # costs a 2-core sweep ~4%: our own local cluster starts its workers without either.
                environ = {k: v for k, v in dask.config.get("distributed.nanny.pre-spawn-environ", {}).items()
                           if k != "MALLOC_TRIM_THRESHOLD_"}
                settings: dict[str, Any] = {"distributed.nanny.pre-spawn-environ": environ,
                                            "distributed.worker.profile.enabled": False}
                if _forkserver_ready():
                    # Workers forked from a server that has imported the package start in a fraction of a second;
                    # spawned ones import it each (~1-2 s of a short sweep). The server starts from this
                    # process's environment, which holds no MALLOC_TRIM_THRESHOLD_ either.
                    settings["distributed.worker.multiprocessing-method"] = "forkserver"
                with dask.config.set(settings):
                    cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
                client = Client(cluster)
                self.closers.append(cluster.close)
                # workers of our own cluster die with this process (a remote cluster's workers are not ours)
                from sim.sweep.daskwatch import ParentWatch

                client.register_plugin(ParentWatch())
            self.closers.insert(0, client.close)
            self.client = client
            return client.get_executor(pure=False)  # pure=False: a retried task is a new task, not a cached failure
        raise ValueError(f"unknown executor {spec.kind!r}")

    def _pool(self) -> ProcessPoolExecutor:
        # fork where it is safe (Linux, no other Python thread here): workers inherit the imported package
        # instead of spending ~2 s each importing it again; spawn elsewhere.
        safe_fork = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
        ctx = multiprocessing.get_context("fork" if safe_fork else "spawn")
        # every worker watches its parent: a killed sweep leaves no worker behind
        pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=worker_init)
        self.pool = pool
        return pool

    def renew(self) -> Executor:
        """A fresh process pool after a worker died (a broken pool accepts no more work)."""
        if self.spec.kind != "processes":
            raise RuntimeError("only a process pool breaks")
        try:
            self.pool.shutdown(wait=True, cancel_futures=True)
        except Exception:  # noqa: BLE001 - a broken pool may fail to shut down cleanly; its workers are gone
            pass
        return self._pool()

    def __exit__(self, *exc: Any) -> None:
        if self.pool is not None:
            self.closers.append(lambda: self.pool.shutdown(wait=True, cancel_futures=True))
        for close in self.closers:
            try:
                close()
            except Exception:  # noqa: BLE001 - closing must not hide the sweep's own error
                pass


# What a worker forked from the multiprocessing fork server needs already imported (with Dask's own list).
FORKSERVER_PRELOAD = ("sim.sweep.runner", "sim.sweep.daskwatch", "sim.model", "cyext.engine", "pyarrow")


def _forkserver_ready() -> bool:
    """Make the fork server (if this platform has one) preload the package for Dask's worker processes.

    Dask sets the server's preload list on first use; we add ours after it, before the server starts (the first
    local cluster of this process starts it; later clusters fork from the same server)."""
    import multiprocessing.forkserver as forkserver

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return False
    from distributed.utils import get_mp_context

    import dask

    with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}):
        ctx = get_mp_context()  # Dask's preload list (distributed, numpy, pandas...)
    server = getattr(forkserver, "_forkserver", None)
    preload = list(getattr(server, "_preload_modules", []) or [])
    ctx.set_forkserver_preload(preload + [m for m in FORKSERVER_PRELOAD if m not in preload])
    return True


def task_sizes(exp: Experiment, engine: str, run_fn: RunFn, workers: int, pending: int,
               target_seconds: float = 1.0, tail_seconds: float = 0.06) -> tuple[int, int]:
    """Runs per task, largest and smallest, from one timed run: the largest lasts ``target_seconds`` (yet there are
    at least ~4 tasks per worker), the smallest (the last tasks, see :func:`make_tasks`) ``tail_seconds``.

    Each task costs the parent a shard to write and a round trip (on Dask also the scheduler's bookkeeping), ~5-10
    ms of CPU on a machine whose cores the workers already use: a second of runs per task keeps that near 1%,
    and the small last tasks keep the workers finishing together."""
    world = compile_world(exp.scenario_of(0))
    start = time.perf_counter()
    try:
        metrics.compute(run_fn(world, exp.seed_of(0, 0), engine))
    except Exception:  # noqa: BLE001 - the sweep records failures itself; size small and carry on
        return 1, 1
    per_run = max(time.perf_counter() - start, 1e-4)
    by_time = math.ceil(target_seconds / per_run)
    by_balance = max(1, pending // (4 * max(1, workers)))
    size = int(max(1, min(by_time, by_balance)))
    return size, int(max(1, min(size, math.ceil(tail_seconds / per_run))))


def make_tasks(exp: Experiment, todo: list[tuple[int, int]], size: int, engine: str, workers: int = 1,
               smallest: int = 1) -> Iterator[Task]:
    """Group pending (point, replicate) runs, in order, into tasks of up to ``size`` runs (spanning points as
    needed). Guided sizes: a task takes at most 1/(2 x workers) of the runs still to assign, so the last tasks are
    small and no worker idles long at the end; but at least ``smallest`` runs, so the tail is not dozens of
    one-run tasks whose scheduling costs more than the runs."""
    raws: dict[str, Scenario] = {}
    seeds: dict[tuple[int, int], int] = {}  # by spawn key: under common random numbers points share their seeds

    def seed(p: int, r: int) -> int:
        key = exp.seed_key(p, r)
        s = seeds.get(key)
        if s is None:
            s = seeds[key] = run_seed(exp.seed, *key)  # ~10 us each, while the workers wait for their first task
        return s

    def item(p: int, reps: list[int]) -> PointRuns:
        key = str(exp.points[p].get(SCENARIO_FACTOR, ""))
        if key not in raws:
            raws[key] = exp.scenario_of(p)
            raws[key].digest()  # computed once here and kept: it travels with the scenario to the workers
        values = {k: v for k, v in exp.points[p].items() if k != SCENARIO_FACTOR}
        return PointRuns(p, key, values, dict(exp.points[p]), tuple((r, seed(p, r)) for r in reps))

    todo = sorted(todo)
    start, tid = 0, 0
    while start < len(todo):
        take = max(1, min(size, max(smallest, math.ceil((len(todo) - start) / (2 * max(1, workers))))))
        chunk = todo[start:start + take]
        start += take
        by_point: dict[int, list[int]] = {}
        for p, r in chunk:
            by_point.setdefault(p, []).append(r)
        items = tuple(item(p, reps) for p, reps in by_point.items())
        yield Task(tid, items, {it.base: raws[it.base] for it in items}, engine, exp.metrics, exp.keep)
        tid += 1


def _rows_frame(rows: list[dict[str, Any]], exp: Experiment) -> pd.DataFrame:
    """Runs rows with a fixed column order: keys, design values, status, metrics."""
    cols = ["point", "replicate", "seed", *exp.value_columns, "status", "error", *exp.metrics]
    return pd.DataFrame(rows).reindex(columns=cols)


def _describe_base(exp: Experiment, out: Path) -> None:
    """The resolved base scenario and the havens of each design point (law' depends on the point), for
    reports: a sweep folder is self-describing."""
    import json

    import yaml

    # libyaml's emitter when PyYAML has it: the same text, ~20x faster than the pure-Python one (~0.15 s)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    (out / "scenario.yaml").write_text(yaml.dump(exp.base.to_raw(), Dumper=dumper, sort_keys=False, allow_unicode=True))

    def havens(p: int | None) -> list[str]:
        if p is None:
            world = compile_world(exp.base)
        else:
            values = [(k, v) for k, v in exp.points[p].items() if k != SCENARIO_FACTOR]
            world = compile_world(from_dict(exp.scenario_raw(p), "base", overrides=values))
        return [c for c, h in zip(world.country_ids, world.haven) if h]

    # per point only where displacement figures need it: compiling thousands of points would cost seconds
    points = {p: havens(p) for p in range(len(exp.points))} if "servers_by_country" in exp.keep else {}
    (out / "havens.json").write_text(json.dumps({"base": havens(None), "points": points}) + "\n")


def _write_shard(store: Store, runs: pd.DataFrame, kept: dict[str, pd.DataFrame]) -> None:
    """Write a task's shard; a full disk or a file-size limit is a one-line error, not a traceback."""
    try:
        store.write_shard(runs, kept)
    except OSError as exc:
        raise SweepError(f"{store.shards}: cannot write a shard ({exc.strerror or exc}); finished runs are saved: "
                         "make room and run the same command with --resume") from None


def run_sweep(exp: Experiment, out: str | Path, spec: ExecutorSpec | None = None, engine: str | None = None,
              resume: bool = False, retries: int = 2, run_fn: RunFn = default_run,
              progress: Callable[[int], None] | None = None, on_total: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Run every (point, replicate) of ``exp`` not yet finished in ``out``; combine; write the manifest.

    ``progress(n)`` is called as runs finish; ``on_total(n)`` once with the number of runs to do. A run that
    fails is retried ``retries`` times, then recorded with its point, replicate, seed and error.
    Returns the final manifest.
    """
    spec = spec or ExecutorSpec()
    engine = engine or engines.default_engine()
    if engine == "fast" and not engines.fast_available():
        engine = "mesa"  # provenance: the manifest records the engine the workers will actually run
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SweepError(f"{out}: exists and is not a folder")
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        lock = FolderLock(out)
        lock.__enter__()
    except LockError as exc:
        raise SweepError(str(exc)) from None
    except OSError as exc:
        raise SweepError(f"--out {out}: cannot write there ({exc.strerror or type(exc).__name__})") from None
    try:
        return _run_locked(exp, out, spec, engine, resume, retries, run_fn, progress, on_total, created)
    except SweepError:
        if created and not (out / "manifest.json").exists():
            shutil.rmtree(out, ignore_errors=True)  # a sweep that never started leaves no half-made folder
        raise
    finally:
        lock.__exit__()


def _run_locked(exp: Experiment, out: Path, spec: ExecutorSpec, engine: str, resume: bool, retries: int,
                run_fn: RunFn, progress: Callable[[int], None] | None, on_total: Callable[[int], None] | None,
                created: bool) -> dict[str, Any]:
    """:func:`run_sweep` once the folder is locked."""
    man_path = out / "manifest.json"
    if man_path.exists():
        try:
            old = mf.read(man_path)
        except (OSError, ValueError):
            raise SweepError(f"{out / 'manifest.json'}: unreadable; the folder is damaged, choose another --out") from None
        if not resume:
            raise SweepError(f"{out}: already holds a sweep ({old.get('status')}); use --resume to continue it "
                             "or choose another --out")
        if old.get("experiment_digest") != exp.digest():
            raise SweepError(f"{out}: holds a different experiment (digest {str(old.get('experiment_digest'))[:12]}…); "
                             "refusing to mix results")
    elif any(p.name != LOCK_NAME for p in out.iterdir()) and not resume:
        raise SweepError(f"{out}: folder is not empty and holds no sweep; choose another --out")
    store = Store(out)
    notes = store.verify() if resume else []
    for note in notes:
        import sys

        print(f"warning: {note}", file=sys.stderr)
    try:
        done = store.finished()
    except StoreError as exc:
        raise SweepError(str(exc)) from None
    todo = [(p, r) for p in range(len(exp.points)) for r in range(exp.replicates) if (p, r) not in done]
    started = mf.now()

    with (ctx := _Executors(spec)) as executor:
        manifest: dict[str, Any] = {}

        def describe() -> None:
            """scenario.yaml, havens.json and the manifest (which marks the folder as this sweep's): written before
            any shard, but once the first tasks are out, so the workers need not wait for them (~50 ms and a git
            call in the parent)."""
            try:
                _describe_base(exp, out)
            except OSError as exc:
                if created and not man_path.exists():
                    shutil.rmtree(out, ignore_errors=True)  # leave no half-made folder behind
                raise SweepError(f"--out {out}: cannot write there ({exc.strerror or type(exc).__name__})") from None
            manifest.update(mf.build(exp, engine, spec.describe(), ctx.workers, started))
            if resume and man_path.exists():
                manifest["resumed_from"] = mf.read(man_path).get("started")
            mf.write(man_path, manifest)

        if on_total:
            on_total(len(todo))
        if not todo:
            describe()
        else:
            size, smallest = task_sizes(exp, engine, run_fn, ctx.workers, len(todo))
            queue = list(make_tasks(exp, todo, size, engine, ctx.workers, smallest=smallest))
            next_id = len(queue)
            queue.reverse()  # pop() from the end: tasks go out in ascending order
            limit = max(2, 2 * ctx.workers)
            in_flight: dict[Future, Task] = {}
            shared: Any = None
            if ctx.client is not None:
                # the base scenarios (~40 kB each, pickled) go to every worker once, not with every task
                bases = {key: sc for task in queue for key, sc in task.bases.items()}
                try:
                    # one object in a list: a dict would make its keys Dask keys, and "" (no scenario factor) is none
                    [shared] = ctx.client.scatter([bases], broadcast=True, hash=False)
                except Exception:  # noqa: BLE001 - no workers yet, or a scheduler that refuses: send bases with tasks
                    shared = None

            def submit(task: Task) -> Future:
                # queued tasks keep their bases: a retry after lost scattered data sends them along again
                if shared is not None:
                    return executor.submit(run_task, replace(task, bases={}), run_fn, shared)
                return executor.submit(run_task, task, run_fn)

            def fresh_pool() -> Executor:
                # A worker died (killed, out of memory): the pool accepts no more work and every task in it is
                # lost. Resubmit them all on a fresh pool, as Dask does by itself.
                for fut, task in in_flight.items():
                    fut.cancel()
                    queue.append(replace(task, attempt=task.attempt + 1) if task.attempt < retries else task)
                in_flight.clear()
                return ctx.renew()

            while queue or in_flight:
                while queue and len(in_flight) < limit:
                    task = queue.pop()
                    try:
                        in_flight[submit(task)] = task
                    except BrokenExecutor:  # the pool broke since the last wait
                        queue.append(task)
                        executor = fresh_pool()
                if not manifest:  # the first tasks are out: describe the sweep while they run (shards come after)
                    describe()
                # a timeout so progress can say "still running" when no task finishes for a while
                finished, _ = wait(list(in_flight), timeout=5, return_when=FIRST_COMPLETED)
                if not finished and progress:
                    progress(0)
                broken = False
                for fut in finished:
                    task = in_flight.pop(fut)
                    try:
                        result = fut.result()
                    except Exception as exc:  # the task itself died (worker lost, unpicklable...): retry whole
                        broken = broken or isinstance(exc, BrokenExecutor)
                        shared = None  # perhaps the scattered bases were lost with workers: send them with tasks
                        if task.attempt < retries:
                            queue.append(replace(task, attempt=task.attempt + 1))
                            continue
                        result = {"rows": [dict(_row(it, r, s), status="failed", error=f"{type(exc).__name__}: {exc}")
                                           for it in task.items for r, s in it.runs], "kept": {}}
                    rows = result["rows"]
                    failed = [r for r in rows if r["status"] != "ok"]
                    if failed and task.attempt < retries:
                        queue.append(task.only({(r["point"], r["replicate"]) for r in failed}, next_id))
                        next_id += 1
                        rows = [r for r in rows if r["status"] == "ok"]
                    if rows:
                        _write_shard(store, _rows_frame(rows, exp), result["kept"])
                        if progress:
                            progress(len(rows))
                if broken:
                    executor = fresh_pool()

    try:
        files = store.combine(exp.keep)
    except StoreError as exc:
        raise SweepError(str(exc)) from None
    except OSError as exc:
        raise SweepError(f"{out}: cannot write the combined tables ({exc.strerror or exc}); every run is saved in "
                         "shards/: make room and run the same command with --resume") from None
    # the runs table as written (a Parquet file gives back the frame it was given), else as read back
    runs = store.combined_runs if store.combined_runs is not None else read_runs(out)
    manifest.update(finished=mf.now(), status="complete", runs_content_sha256=frame_digest(runs),
                    failed_runs=int((runs["status"] != "ok").sum()),
                    files={name: {"path": p.name, "sha256": file_digest(p)} for name, p in files.items()})
    mf.write(man_path, manifest)
    return manifest
