"""Mesa engine vs compiled engine, measured side by side in one process.

Prints medians over several repeats of each engine's CPU time (the process's, which a busy machine
disturbs far less than wall time; both engines are single-threaded) and its wall time, the ratio mesa/fast
of CPU times, the compiled engine's CPU cost per server-day (CPU time / sum over days of servers up), and
the memory a 10-year large-world run holds.

Each engine runs each world once untimed before the timed repeats (its time is printed as the first run), and
no result of an earlier run, of either engine, is alive while a run is timed. The first run in a fresh process
pays one-time costs that a sweep's workers pay once: the heap grows to the run's size (each new page faulted in),
and the compiled engine sizes its arrays and derives the world's tables. Left among the repeats, the first run
and the heap's growth on the next two or three (while the previous result was still held) moved the median of
five by 5-10%. The engines' runs are interleaved (a few compiled runs before each Mesa run), so that both are
timed over the same minutes of a machine whose speed drifts.

    .venv/bin/python benchmarks/bench_engines.py [--repeats 5] [--quick]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

from cyext import engine as fast_engine
from sim.engines import run
from sim.outputs import RunResult
from sim.scenario import from_dict, load
from sim.synthetic import random_raw
from sim.world import World, compile_world

ROOT = Path(__file__).resolve().parent.parent


def large_world(horizon: int = 1095, stage_b: bool = False) -> World:
    """100 countries, 1,000 providers, market capacity 1,000; with ``stage_b`` every stage B mechanism on
    (demand entry, blocking orders and cut-offs everywhere, heat-averse host choice)."""
    raw = random_raw(100, n_countries=100, n_providers=1000, horizon=horizon, n_blocs=6, initial_networks=800,
                     entry_per_day=2.0, entry_slots=4, market_capacity=1000, servers_per_network=5,
                     reprovision_prob=0.5, quit_prob=0.005)
    raw["enforcement"].update(detect_prob=0.02, case_threshold=3, case_timeout_days=730)
    if stage_b:
        raw["market"] = {"entry": "demand", "acquire_share": 0.05, "return_share": 0.01, "migrate_share": 0.71}
        raw["policy"].update(blocking_everywhere=True, cutoff_everywhere=True)
        raw["enforcement"].update(block_after_notices=10, cutoff_after_notices=10, cutoff_quit_prob=0.005)
        raw["pirates"].update(heat_aversion=1.0, heat_half_life_days=30, memory_weight=1.0)
    return compile_world(from_dict(raw, "large-world" + ("-stage-b" if stage_b else "")))


class Timer:
    """One engine's timed runs of one world: CPU and wall seconds of each, and the last result."""

    def __init__(self, world: World, engine: str, seed: int = 1) -> None:
        self.world, self.engine, self.seed = world, engine, seed
        self.cpu: list[float] = []
        self.wall: list[float] = []
        self.result: RunResult | None = None
        c0 = time.process_time()
        run(world, seed, engine)  # untimed: see the module's docstring
        self.first = time.process_time() - c0

    def time(self, repeats: int) -> None:
        """Time ``repeats`` more runs (a whole run: the engine and its tables)."""
        for _ in range(repeats):
            self.result = None  # the last run's tables freed before this one is timed
            c0, w0 = time.process_time(), time.perf_counter()
            self.result = run(self.world, self.seed, self.engine)
            self.cpu.append(time.process_time() - c0)
            self.wall.append(time.perf_counter() - w0)


def compare(label: str, world: World, repeats: int, mesa_repeats: int) -> None:
    """Time both engines on ``world`` (at least ``repeats`` compiled and ``mesa_repeats`` Mesa runs) and print
    the medians, the ratio and whether the last results are identical."""
    fast, mesa = Timer(world, "fast"), Timer(world, "mesa")
    # interleaved, so that both engines are timed over the same minutes of a machine whose speed drifts
    per_round = -(-repeats // mesa_repeats)
    for _ in range(mesa_repeats):
        mesa.result = None
        fast.time(per_round)
        fast.result = None
        mesa.time(1)
    fast.result = run(world, fast.seed, "fast")  # untimed, for the comparison below
    fast_s, mesa_s = statistics.median(fast.cpu), statistics.median(mesa.cpu)
    server_days = int(fast.result.daily["servers_up"].sum())
    print(f"{label}: {world.n_countries} countries, {world.n_providers} providers, {world.horizon} days, "
          f"{server_days:,} server-days")
    for name, t in (("mesa", mesa), ("fast", fast)):
        print(f"  {name}  median CPU {statistics.median(t.cpu):9.4f} s  wall {statistics.median(t.wall):9.4f} s  "
              f"({len(t.cpu)} runs; first run {t.first:.4f} s)")
    print(f"  ratio mesa/fast {mesa_s / fast_s:8.1f}x (CPU)   identical outputs: {fast.result.equals(mesa.result)}")
    print(f"  fast: {fast_s / server_days * 1e9:.1f} ns per server-day (CPU)")


def memory(years: int = 10) -> None:
    world = large_world(365 * years)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    stats: dict = {}
    start = time.process_time()
    res = fast_engine.run(world, 1, stats)
    wall = time.process_time() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out_bytes = sum(int(df.memory_usage(index=False).sum()) for df in res.tables().values())
    server_days = int(res.daily["servers_up"].sum())
    print(f"large world, {years} years ({world.horizon} days): {wall:.2f} s CPU, "
          f"{wall / server_days * 1e9:.1f} ns per server-day")
    print(f"  entities created: {stats['networks']:,} networks, {stats['servers']:,} servers, "
          f"{stats['cases']:,} cases, {stats['requests']:,} requests")
    print(f"  engine state {stats['state_bytes'] / 2**20:.1f} MiB "
          f"(~{stats['state_bytes'] / max(1, stats['servers'] + stats['requests']):.0f} bytes per server or request); "
          f"output tables {out_bytes / 2**20:.1f} MiB; "
          f"days x servers would be {world.horizon * stats['servers'] * 8 / 2**30:.1f} GiB")
    print(f"  process peak RSS {after / 1024:.0f} MiB (grew {(after - before) / 1024:.0f} MiB during the run)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one Mesa run per world, shorter large world")
    args = parser.parse_args()
    mesa_repeats = 1 if args.quick else 3
    compare("baseline", compile_world(load(ROOT / "scenarios" / "baseline.yaml")), args.repeats, mesa_repeats)
    compare("large world", large_world(365 if args.quick else 1095), args.repeats, 1)
    compare("large world, every stage B mechanism on", large_world(365 if args.quick else 1095, stage_b=True),
            args.repeats, 1)
    memory()


if __name__ == "__main__":
    main()
