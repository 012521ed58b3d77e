"""Reproducibility in CI: the ``ci`` size of every experiment, digested, against digests committed in the repo.

    python -m sim.sweep.digests            # compare (exit 1 and name what changed)
    python -m sim.sweep.digests --update   # regenerate experiments/digests.json, deliberately, after a model change

A digest covers the content of the combined runs table and of each kept table (values, column names, row
order), not file bytes, so it is independent of the Parquet writer's version.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from sim.sweep.design import load_experiment
from sim.sweep.runner import ExecutorSpec, run_sweep
from sim.sweep.store import frame_digest, read_kept, read_runs

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ROOT / "experiments"
DIGESTS = EXPERIMENTS / "digests.json"


def digest_experiment(path: Path, engine: str = "fast", spec: ExecutorSpec | None = None) -> dict[str, str]:
    """Run the ``ci`` size of one experiment in a temporary folder; digest its tables."""
    exp = load_experiment(path, "ci")
    with tempfile.TemporaryDirectory() as tmp:
        run_sweep(exp, Path(tmp) / "out", spec or ExecutorSpec("serial"), engine)
        out = {"runs": frame_digest(read_runs(Path(tmp) / "out"))}
        for table in exp.keep:
            out[table] = frame_digest(read_kept(Path(tmp) / "out", table))
    return out


def compute_all() -> dict[str, dict[str, str]]:
    """Digests of every experiment in experiments/."""
    return {p.name: digest_experiment(p) for p in sorted(EXPERIMENTS.glob("*.yaml"))}


def main(argv: list[str] | None = None) -> int:
    """Compare with, or regenerate, experiments/digests.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="rewrite experiments/digests.json")
    args = parser.parse_args(argv)
    now = compute_all()
    if args.update:
        DIGESTS.write_text(json.dumps(now, indent=2, sort_keys=True) + "\n")
        print(f"wrote {DIGESTS}")
        return 0
    committed = json.loads(DIGESTS.read_text()) if DIGESTS.exists() else {}
    changed = [f"{e}:{t}" for e in now for t in now[e] if committed.get(e, {}).get(t) != now[e][t]]
    for item in changed:
        print(f"changed: {item}")
    print("digests match" if not changed else f"{len(changed)} digests differ from {DIGESTS.name}")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
