"""Memory of a long sweep: does it stay flat as runs accumulate? (It should: results go to disk as they come.)

Runs a sweep of ``--runs`` runs (default 100,000 of the tiny scenario over one simulated year, a few minutes
on 2 cores) in a child process and samples the resident memory of that process and of its workers every
second from /proc, printing it at 10% steps of progress and the peaks at the end.

    .venv/bin/python benchmarks/bench_sweep_memory.py [--runs 100000] [--workers 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def rss_kib(pid: int) -> int:
    """Resident memory of a process (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def children(pid: int) -> list[int]:
    """Direct child processes (the workers)."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def runs_done(folder: Path) -> int:
    import pandas as pd

    n = 0
    for p in (folder / "shards").glob("runs-*.parquet"):
        try:
            n += len(pd.read_parquet(p, columns=["point"]))
        except Exception:  # noqa: BLE001 - a shard being renamed
            pass
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        exp = Path(tmp) / "mem.yaml"
        exp.write_text(yaml.safe_dump({
            "name": "memory", "base": str(ROOT / "scenarios" / "tiny.yaml"), "overrides": {"horizon_days": 365},
            "factors": {"policy.mla_speed": {"levels": [0.25, 0.5, 1.0, 2.0]}}, "design": "grid",
            "replicates": args.runs // 4, "seed": 3}, sort_keys=False))
        out = Path(tmp) / "out"
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "sweep", str(exp), "--out", str(out),
                                 "--workers", str(args.workers)], cwd=ROOT)
        peak_parent = peak_workers = 0
        next_mark = 0.1
        last_count = 0.0
        print(f"sweep of {args.runs:,} runs (tiny scenario, 365 days), {args.workers} workers")
        while proc.poll() is None:
            parent = rss_kib(proc.pid)
            workers = [rss_kib(c) for c in children(proc.pid)]
            peak_parent = max(peak_parent, parent)
            peak_workers = max([peak_workers, *workers])
            if time.perf_counter() - last_count > 5:
                last_count = time.perf_counter()
                done = runs_done(out)
                while done >= next_mark * args.runs and next_mark < 1.0:
                    print(f"  {next_mark:4.0%} of runs done: parent {parent / 1024:6.0f} MiB, workers "
                          f"{', '.join(f'{w / 1024:.0f}' for w in workers)} MiB  ({time.perf_counter() - start:5.0f} s)")
                    next_mark += 0.1
            time.sleep(1)
        wall = time.perf_counter() - start
        print(f"  finished in {wall:.0f} s ({args.runs / wall:.0f} runs/s), exit code {proc.returncode}")
        print(f"  peak resident memory: parent {peak_parent / 1024:.0f} MiB, largest worker {peak_workers / 1024:.0f} MiB")
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        print(f"  sweep folder {size / 2**20:.1f} MiB on disk")


if __name__ == "__main__":
    main()
