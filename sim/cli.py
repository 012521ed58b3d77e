"""The ``piracysim`` command line.

User errors (a bad file, field, value or path) end in one line on stderr and exit code 2, without a
traceback; internal errors keep theirs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Sequence

from sim import __version__
from sim.scenario import ScenarioError

EXIT_USER_ERROR = 2
PLOT_KINDS = ("heatmap", "lines", "survival", "timeseries", "displacement", "sobol", "policies", "run")


class UserError(Exception):
    """An error the user can fix (bad path, bad option); shown as one line, exit 2."""


def _validate(args: argparse.Namespace) -> int:
    from sim.scenario import load
    from sim.world import compile_world

    bad = 0
    for name in args.files:
        try:
            world = compile_world(load(name, args.set))
        except ScenarioError as exc:
            print(f"error: {exc}", file=sys.stderr)
            bad += 1
            continue
        print(world.summary() if args.verbose else f"ok: {name}")
    return EXIT_USER_ERROR if bad else 0


def _progress_bar(total: int, desc: str, unit: str):
    """A tqdm bar with an ETA on a terminal; silent when stderr is not one (CI, pipes)."""
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread: sweeps fork worker processes from this one
    return tqdm(total=total, desc=desc, unit=unit, disable=not sys.stderr.isatty(), leave=False, dynamic_ncols=True)


def _run(args: argparse.Namespace) -> int:
    import json
    import time
    from datetime import datetime

    from sim import engines, metrics
    from sim.analysis.plots import run_figures
    from sim.scenario import load
    from sim.sweep.manifest import library_versions
    from sim.world import compile_world

    scenario = load(args.scenario, args.set)
    world = compile_world(scenario)
    seed = scenario.seed if args.seed is None else args.seed
    out = Path(args.out) if args.out else Path("results") / f"{scenario.name}-{datetime.now():%Y%m%d-%H%M%S}"
    _check_out_dir(out)
    engine = args.engine or engines.default_engine()
    started = time.perf_counter()
    with _progress_bar(world.horizon, f"{scenario.name} ({engine})", "day") as bar:
        result = engines.run(world, seed, engine, progress=bar.update)
    wall = time.perf_counter() - started
    result.write(out, args.format)
    (out / "scenario.yaml").write_text(_dump_yaml(scenario.to_raw()))
    summary = {
        "scenario": scenario.name, "scenario_file": str(args.scenario), "scenario_digest": scenario.digest(),
        "overrides": {k: v for k, v in args.set}, "seed": seed, "engine": engine, "horizon_days": world.horizon,
        "metrics": metrics.compute(result), "versions": library_versions(), "wall_seconds": round(wall, 3),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    figures = [] if args.no_figures else run_figures(result, out / "figures")
    m = summary["metrics"]
    print(f"{scenario.name}: seed {seed}, {engine} engine, {world.horizon} days in {wall:.2f} s")
    print(f"  persistence {_fmt(m['persistence'])} networks, supply {_fmt(m['supply'])} servers, "
          f"dismantled {_fmt(m['dismantled_share'], '.1%')}, MLA median {_fmt(m['mla_delay_median'], '.0f')} days")
    print(f"  tables and summary.json in {out}/" + (f"; figures in {out / 'figures'}/" if figures else ""))
    return 0


def _fmt(value: float | None, spec: str = ".1f") -> str:
    return "n/a" if value is None else format(value, spec)


def _dump_yaml(raw: dict) -> str:
    import yaml

    return yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)


def _check_out_dir(out: Path) -> None:
    """An output folder must be a folder (new or existing); never a file we would clobber."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")


def _sweep(args: argparse.Namespace) -> int:
    import time

    from sim import engines
    from sim.sweep.design import load_experiment
    from sim.sweep.runner import ExecutorSpec, SweepError, run_sweep

    exp = load_experiment(args.experiment, args.size)
    if args.scheduler:
        spec = ExecutorSpec("dask", scheduler=args.scheduler)
    elif args.dask_local is not None:
        spec = ExecutorSpec("dask", workers=args.dask_local)
    elif args.workers == 1:
        spec = ExecutorSpec("serial")
    else:
        spec = ExecutorSpec("processes", workers=args.workers or 0)
    out = Path(args.out) if args.out else Path("results") / "sweeps" / f"{exp.name}-{exp.size}"
    engine = args.engine or engines.default_engine()
    bar = _progress_bar(0, f"{exp.name} [{exp.size}]", "run")
    bar.__enter__()
    started = time.perf_counter()

    def total(n: int) -> None:
        bar.reset(total=n)

    try:
        manifest = run_sweep(exp, out, spec, engine, resume=args.resume, progress=bar.update, on_total=total)
    except SweepError as exc:
        raise UserError(str(exc)) from None
    except KeyboardInterrupt:
        bar.__exit__(None, None, None)
        print(f"interrupted: finished runs are saved in {out}; run the same command with --resume to continue",
              file=sys.stderr)
        return 130
    finally:
        bar.__exit__(None, None, None)
    wall = time.perf_counter() - started
    failed = manifest.get("failed_runs", 0)
    print(f"{exp.name} [{exp.size}]: {exp.n_runs} runs ({len(exp.points)} points x {exp.replicates} replicates) "
          f"on {spec.describe()}, {engine} engine, in {wall:.1f} s" + (f"; {failed} failed (see runs table)" if failed else ""))
    print(f"  {out / manifest['files']['runs']['path']}  (content sha256 {manifest['runs_content_sha256'][:16]}…)")
    return 0


def _patterns(args: argparse.Namespace) -> int:
    from sim import patterns
    from sim.scenario import load

    scenario = load(args.scenario, args.set)
    seeds = range(1, args.seeds + 1)
    print(f"{scenario.name}: measuring patterns over {args.seeds} seeds (Mesa engine for server-level detail)...")
    measured = patterns.measure_all(scenario, seeds)
    measured.update(patterns.joint_vs_solo_successors(scenario, range(1, 10 * args.seeds + 1)))
    rows = patterns.check(measured)
    for name, value, target, ok in rows:
        print(f"  {'ok  ' if ok else 'MISS'} {name:38s} {value:9.3f}   target {target}")
    return 0 if all(ok for *_, ok in rows) else 1


def _report(args: argparse.Namespace) -> int:
    from sim.analysis.report import ReportError, report

    try:
        path = report(Path(args.folder))
    except (ReportError, FileNotFoundError) as exc:
        raise UserError(str(exc)) from None
    print(f"report: {path} (figures as PNG and SVG in {path.parent / 'figures'}/)")
    return 0


def _plot(args: argparse.Namespace) -> int:
    from sim.analysis.report import ReportError, plot

    try:
        paths = plot(Path(args.folder), args.kind, Path(args.out) if args.out else None, args.metric, args.x, args.y)
    except (ReportError, FileNotFoundError) as exc:
        raise UserError(str(exc)) from None
    for p in paths:
        print(p)
    return 0


def _dashboard(args: argparse.Namespace) -> int:
    from sim.scenario import load

    load(args.scenario)  # a bad scenario is the usual one-line error, before any server starts
    from sim.dashboard.server import PortInUse, serve

    # The optional extra, looked up without importing it: Solara reads its settings (offline ones
    # included) once, at import, and serve() sets them first.
    from importlib.util import find_spec

    missing = [name for name in ("solara", "solara_assets", "uvicorn", "altair") if find_spec(name) is None]
    if missing:
        raise UserError(f"the dashboard needs its extra ({', '.join(missing)} missing): "
                        "pip install -e '.[dashboard]'")
    if not 0 <= args.port <= 65535:
        raise UserError(f"--port {args.port}: must be between 0 and 65535")
    try:
        serve(args.scenario, args.port)
    except PortInUse as exc:
        raise UserError(str(exc)) from None
    return 0


def _parse_sets(items: Sequence[str] | None) -> list[tuple[str, object]]:
    from sim.scenario import parse_override

    return [parse_override(item) for item in items or []]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(prog="piracysim", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"piracysim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check scenario files; exit 2 if any is invalid")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help="override a field (repeatable)")
    p.add_argument("-v", "--verbose", action="store_true", help="print a summary of each compiled world")
    p.set_defaults(func=_validate)

    p = sub.add_parser("run", help="run one scenario: tables, summary.json and figures")
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--seed", type=int, default=None, help="root seed (default: the scenario's)")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help="override a field (repeatable)")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default: results/NAME-DATE-TIME)")
    p.add_argument("--engine", choices=("fast", "mesa"), default=None, help="default: fast when built, else mesa")
    p.add_argument("--format", choices=("csv", "parquet"), default="csv", help="table format (default csv)")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.set_defaults(func=_run)

    p = sub.add_parser("sweep", help="run an experiment file: many runs over a design, streamed to disk")
    p.add_argument("experiment", metavar="EXPERIMENT")
    p.add_argument("--size", default=None, help="a size from the experiment's sizes: block (e.g. ci, full)")
    p.add_argument("--out", default=None, metavar="DIR", help="sweep folder (default: results/sweeps/NAME-SIZE)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None, metavar="N",
                       help="local worker processes (default: one per core; 1 runs serially)")
    where.add_argument("--scheduler", default=None, metavar="ADDR", help="an existing Dask scheduler, tcp://HOST:PORT")
    where.add_argument("--dask-local", type=int, default=None, metavar="N", help="a local Dask cluster of N workers")
    p.add_argument("--resume", action="store_true", help="continue an interrupted sweep in --out")
    p.add_argument("--engine", choices=("fast", "mesa"), default=None, help="default: fast when built, else mesa")
    p.set_defaults(func=_sweep)

    p = sub.add_parser("patterns", help="check a scenario against patterns seen in real enforcement")
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--seeds", type=int, default=4, help="replicates for the Mesa measurements (default 4)")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help="override a field (repeatable)")
    p.set_defaults(func=_patterns)

    p = sub.add_parser("report", help="a self-contained report.html of a run or sweep folder")
    p.add_argument("folder", metavar="DIR")
    p.set_defaults(func=_report)

    p = sub.add_parser("plot", help="single figures of a run or sweep folder (PNG and SVG)")
    p.add_argument("folder", metavar="DIR")
    p.add_argument("--kind", required=True, choices=PLOT_KINDS)
    p.add_argument("--metric", default=None, help="one metric (default: every metric of the experiment)")
    p.add_argument("--x", default=None, help="factor on the x axis (heatmap, lines)")
    p.add_argument("--y", default=None, help="factor on the y axis (heatmap) or the grouping factor (lines)")
    p.add_argument("--out", default=None, metavar="DIR", help="where to write (default: DIR/figures)")
    p.set_defaults(func=_plot)

    p = sub.add_parser("dashboard",
                       help="an interactive what-if and watch dashboard in the browser (127.0.0.1, offline)")
    p.add_argument("scenario", metavar="SCENARIO", nargs="?", default="scenarios/baseline.yaml",
                   help="scenario to start from (default scenarios/baseline.yaml)")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one, printed)")
    p.set_defaults(func=_dashboard)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if hasattr(args, "set"):
        try:
            args.set = _parse_sets(args.set)
        except ScenarioError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USER_ERROR
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except (ScenarioError, UserError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
