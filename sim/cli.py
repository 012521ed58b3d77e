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


SEED_MAX = 2**64 - 1


class UserError(Exception):
    """An error the user can fix (bad path, bad option); shown as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the usage text is one ``--help`` away)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Print one line and exit 2."""
        print(f"error: {self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)


def _seed(text: str) -> int:
    """A root seed as every file takes it: a whole number 0 .. 2**64 - 1 (never wrapped)."""
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number 0 .. 2**64-1 (got {text!r})") from None
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"out of range: must be 0 .. 2**64-1 (got {text})")
    return value


def _positive(text: str) -> int:
    """A count of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1 (got {text!r})") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1 (got {text})")
    return value


def _scheduler(text: str) -> str:
    """A Dask scheduler address, checked for shape before any connection is tried."""
    import re

    if not re.fullmatch(r"(tcp|tls|inproc|ucx)://[A-Za-z0-9_.\-\[\]:]+:\d{1,5}", text):
        raise argparse.ArgumentTypeError(f"expected tcp://HOST:PORT (got {text!r})")
    return text


def _validate(args: argparse.Namespace) -> int:
    from sim.scenario import load
    from sim.world import compile_world

    from sim.engines import default_engine
    from sim.limits import check_scenario

    bad = 0
    for name in args.files:
        try:
            scenario = load(name, args.set)
            check_scenario(scenario, str(name), default_engine())  # valid but too big to run is not valid
            world = compile_world(scenario)
        except ScenarioError as exc:
            print(f"error: {exc}", file=sys.stderr)
            bad += 1
            continue
        print(world.summary() if args.verbose else f"ok: {name}")
    return EXIT_USER_ERROR if bad else 0


def _safe_name(name: str) -> str:
    """A scenario or experiment name as a folder name: never a path (``../../evil`` stays inside results/)."""
    import re

    safe = re.sub(r"[^A-Za-z0-9_.+-]+", "_", name).strip("._") or "run"
    return safe[:80]


def _engine(requested: str | None) -> str:
    """The engine that will actually run, saying so in one line when it differs from what was asked for."""
    from sim import engines

    if engines.fast_available():
        return requested or "fast"
    if requested == "fast":
        print("warning: --engine fast: the compiled engine is not built (make install); running the Mesa engine",
              file=sys.stderr)
    elif requested is None:
        print("note: the compiled engine is not built (make install); running the slower Mesa engine", file=sys.stderr)
    return "mesa"


def _check_limits(scenario, source: str, engine: str, workers: int = 1) -> None:
    from sim.limits import check_scenario

    check_scenario(scenario, source, engine, workers)


def _run(args: argparse.Namespace) -> int:
    import json
    import time

    from sim import engines, metrics
    from sim.analysis.plots import run_figures
    from sim.progress import Progress
    from sim.scenario import load
    from sim.sweep.manifest import library_versions
    from sim.world import compile_world

    scenario = load(args.scenario, args.set)
    engine = _engine(args.engine)
    _check_limits(scenario, str(args.scenario), engine)  # before any work: refuse what cannot fit, in one line
    seed = scenario.seed if args.seed is None else args.seed
    target = _RunFolder(args.out, scenario.name, args.force)  # checks and creates the temporary folder first
    with target:  # a write that fails is one line, and the temporary folder goes
        world = compile_world(scenario)
        started = time.perf_counter()
        with Progress(world.horizon, f"{scenario.name} ({engine})", "day") as bar:
            result = engines.run(world, seed, engine, progress=bar.update)
        wall = time.perf_counter() - started
        engine = str(result.meta.get("engine", engine))  # provenance: the engine that actually ran
        tmp = target.tmp
        result.write(tmp, args.format)
        (tmp / "scenario.yaml").write_text(_dump_yaml(scenario.to_raw()))
        summary = {
            "scenario": scenario.name, "scenario_file": str(args.scenario), "scenario_digest": scenario.digest(),
            "overrides": {k: v for k, v in args.set}, "seed": seed, "engine": engine, "horizon_days": world.horizon,
            "metrics": metrics.compute(result), "versions": library_versions(), "wall_seconds": round(wall, 3),
        }
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        figures = [] if args.no_figures else run_figures(result, tmp / "figures")
        out = target.commit()
    m = summary["metrics"]
    print(f"{scenario.name}: seed {seed}, {engine} engine, {world.horizon} days in {wall:.2f} s")
    print(f"  persistence {_fmt(m['persistence'])} networks, supply {_fmt(m['supply'])} servers, "
          f"dismantled {_fmt(m['dismantled_share'], '.1%')}, MLA median {_fmt(m['mla_delay_median'], '.0f')} days")
    print(f"  tables and summary.json in {out}/" + (f"; figures in {out / 'figures'}/" if figures else ""))
    return 0


class _RunFolder:
    """A run's output folder, written whole or not at all.

    Files go to a temporary folder next to the target, which is moved into place at the end, so an
    interrupted or failed run leaves nothing half-written and never mixes with an earlier run's files. An
    existing folder holding files (another run's, a sweep's) is refused unless ``--force``, before any work;
    a default folder (results/NAME-DATE-TIME) gets a -2, -3... suffix rather than collide with one made in the
    same second. The check and the move happen under a lock on the parent folder, so two runs never race.
    """

    def __init__(self, out: str | None, name: str, force: bool) -> None:
        import tempfile
        from datetime import datetime

        self.default = out is None
        self.final = Path(out) if out else Path("results") / f"{_safe_name(name)}-{datetime.now():%Y%m%d-%H%M%S}"
        self.force = force
        self._check()
        try:
            self.final.parent.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.final.name}.", suffix=".tmp", dir=self.final.parent))
        except (FileExistsError, NotADirectoryError):
            raise UserError(f"--out {self.final}: a part of the path is a file, not a folder") from None
        except OSError as exc:
            raise UserError(f"--out {self.final}: cannot write there ({exc.strerror or type(exc).__name__})") from None

    def _check(self) -> None:
        from sim.procs import LOCK_NAME

        final = self.final
        if final.exists() and not final.is_dir():
            raise UserError(f"--out {final}: exists and is not a folder")
        if self.default or self.force or not final.is_dir():
            return
        held = [p.name for p in final.iterdir() if p.name != LOCK_NAME]
        if held:
            what = "a sweep" if "manifest.json" in held else "another run" if "summary.json" in held else "files"
            raise UserError(f"--out {final}: already holds {what} ({len(held)} entries); choose another --out "
                            "or add --force to replace it")

    def commit(self) -> Path:
        """Move the finished folder into place; returns where it went."""
        import fcntl
        import os
        import shutil

        from sim.procs import FolderLock, LockError

        parent = os.open(self.final.parent, os.O_RDONLY)
        try:
            fcntl.flock(parent, fcntl.LOCK_EX)  # short: only the check and the renames
            final = self.final
            if self.default:
                n = 1
                while final.exists():
                    n += 1
                    final = self.final.with_name(f"{self.final.name}-{n}")
            self._check()
            if final.exists():
                try:
                    with FolderLock(final):  # a sweep still writing there keeps its folder
                        aside = final.with_name(f".{final.name}.old-{os.getpid()}")
                        final.rename(aside)
                except LockError as exc:
                    raise UserError(str(exc)) from None
                self.tmp.rename(final)
                shutil.rmtree(aside, ignore_errors=True)
            else:
                self.tmp.rename(final)
            self.final = final
            return final
        finally:
            os.close(parent)

    def __enter__(self) -> "_RunFolder":
        return self

    def __exit__(self, kind: type | None, exc: BaseException | None, tb: object) -> None:
        """Whatever happened, the temporary folder goes (it is gone already once committed); a failed write
        becomes one line."""
        self.discard()
        if isinstance(exc, OSError):
            raise UserError(f"--out {self.final}: cannot write ({exc.strerror or type(exc).__name__}); nothing was "
                            "saved") from None

    def discard(self) -> None:
        """Remove the temporary folder if it was not moved into place."""
        import shutil

        if self.tmp.exists():
            shutil.rmtree(self.tmp, ignore_errors=True)


def _fmt(value: float | None, spec: str = ".1f") -> str:
    return "n/a" if value is None else format(value, spec)


def _dump_yaml(raw: dict) -> str:
    import yaml

    return yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)


def _sweep(args: argparse.Namespace) -> int:
    import time

    from sim.progress import Progress
    from sim.sweep.design import load_experiment
    from sim.sweep.runner import ExecutorSpec, SweepError, run_sweep

    engine = _engine(args.engine)
    if args.scheduler:
        spec = ExecutorSpec("dask", scheduler=args.scheduler)
    elif args.dask_local is not None:
        spec = ExecutorSpec("dask", workers=args.dask_local)
    elif args.workers == 1:
        spec = ExecutorSpec("serial")
    else:
        spec = ExecutorSpec("processes", workers=args.workers or 0)
    # limits (design size, memory per run x local workers) are checked while loading, before any folder exists
    exp = load_experiment(args.experiment, args.size, engine=engine, workers=_local_workers(spec))
    out = Path(args.out) if args.out else Path("results") / "sweeps" / f"{_safe_name(exp.name)}-{_safe_name(exp.size)}"
    bar = Progress(0, f"{exp.name} [{exp.size}]", "run")
    started = time.perf_counter()
    try:
        manifest = run_sweep(exp, out, spec, engine, resume=args.resume, progress=bar.update, on_total=bar.reset)
    except SweepError as exc:
        raise UserError(str(exc)) from None
    except KeyboardInterrupt:
        bar.close()
        print(f"interrupted: finished runs are saved in {out}; run the same command with --resume to continue",
              file=sys.stderr)
        return 130
    finally:
        bar.close()
    wall = time.perf_counter() - started
    failed = manifest.get("failed_runs", 0)
    print(f"{exp.name} [{exp.size}]: {exp.n_runs} runs ({len(exp.points)} points x {exp.replicates} replicates) "
          f"on {spec.describe()}, {manifest['engine']} engine, in {wall:.1f} s"
          + (f"; {failed} failed (see runs table)" if failed else ""))
    print(f"  {out / manifest['files']['runs']['path']}  (content sha256 {manifest['runs_content_sha256'][:16]}…)")
    return 0


def _local_workers(spec) -> int:
    """Runs held in this machine's memory at once (a remote scheduler's workers are elsewhere)."""
    import os

    if spec.kind == "serial" or spec.scheduler:
        return 1
    return spec.workers or os.cpu_count() or 1


def _patterns(args: argparse.Namespace) -> int:
    from sim import patterns
    from sim.scenario import load

    scenario = load(args.scenario, args.set)
    _check_limits(scenario, str(args.scenario), "mesa")
    seeds = range(1, args.seeds + 1)
    print(f"{scenario.name}: measuring patterns over {args.seeds} seeds (compiled engine; Mesa for server-level "
          "replacement delays; the joint-action comparison over ten times as many seeds)...")
    measured = patterns.measure_all(scenario, seeds)
    rows = patterns.check(measured)
    print(patterns.table(rows))
    # exit 1 when a calibration target or a consistency check misses; a validation miss is a finding, not an error
    return 0 if all(r["ok"] for r in rows if r["group"] != "validation") else 1


def _calibrate(args: argparse.Namespace) -> int:
    import json
    import os

    from sim import calibrate
    from sim.sweep.manifest import library_versions

    from importlib.util import find_spec

    if find_spec("pyabc") is None:
        raise UserError("calibration needs its extra (pyabc missing): pip install -e '.[calibrate]'")
    # everything is checked before any work: the file, its size, the posterior to check, the output folder
    cal = calibrate.load_calibration(args.experiment, args.size)
    draws = args.draws or cal.draws
    if draws > calibrate.MAX_DRAWS:
        raise UserError(f"--draws {draws}: at most {calibrate.MAX_DRAWS} posterior-predictive draws")
    posterior = calibrate.read_posterior(args.check) if args.check else None
    if args.scheduler:
        kind, workers = "dask", 0
    elif args.dask_local is not None:
        kind, workers = "dask", args.dask_local
    else:
        workers = args.workers or os.cpu_count() or 1
        kind = "serial" if workers == 1 else "processes"
    default = f"{_safe_name(cal.name)}-{_safe_name(cal.size)}" + ("-check" if args.check else "")
    target = _RunFolder(args.out or str(Path("results") / default), cal.name, args.force)
    say = lambda text: print(f"  {text}")  # noqa: E731
    with target:  # a write that fails is one line, and the temporary folder goes
        prov = None
        if posterior is None:
            print(f"{cal.name} [{cal.size}]: ABC-SMC over {len(cal.parameters)} parameters against "
                  f"{', '.join(cal.targets)}; population {cal.population}, up to {cal.generations} generations, "
                  f"{'Dask' if kind == 'dask' else kind} ({workers or args.scheduler})")
            prov = calibrate.run_abc(cal, target.tmp, kind, workers, args.scheduler, say)
            posterior = calibrate.read_posterior(target.tmp / "posterior.parquet")
            source = "posterior.parquet"
        else:
            source = str(args.check)
            side = Path(args.check) if Path(args.check).is_dir() else Path(args.check).parent
            if (side / "posterior.json").is_file():
                prov = json.loads((side / "posterior.json").read_text())
        print(f"  posterior-predictive checks: {draws} draws x {cal.replicates} run(s)")
        pred = calibrate.predictive(cal, posterior, draws, max(1, workers if kind != "dask" else os.cpu_count() or 1))
        checks = calibrate.check_predictive(pred)
        report = calibrate.write_report(target.tmp, cal, posterior, pred, checks, prov, source)
        (target.tmp / "versions.json").write_text(json.dumps(library_versions(), indent=2) + "\n")
        out = target.commit()
    print(calibrate.summary_table(posterior, cal).to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(checks[["group", "target", "interval", "median", "q05", "q95", "share_in_target", "passes"]]
          .to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    print(f"  {out / report.name} (figure {out / 'figures' / 'predictive.png'})")
    return 0


def _report(args: argparse.Namespace) -> int:
    from sim.analysis.report import ReportError, report
    from sim.procs import FolderLock, LockError
    from sim.progress import Heartbeat, Progress

    folder = Path(args.folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: not a folder (expected a run or sweep folder)")
    bar = Progress(0, f"report {folder}", "figure")
    bar.say("reading tables and drawing figures")
    try:
        with FolderLock(folder), Heartbeat(bar, "still drawing"):
            path = report(folder)
    except (ReportError, FileNotFoundError, LockError) as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"{folder}: cannot write the report ({exc.strerror or type(exc).__name__})") from None
    print(f"report: {path} (figures as PNG and SVG in {path.parent / 'figures'}/)")
    return 0


def _horizon(text: str) -> tuple[int, str]:
    """YEARS=DIR: a sweep measured YEARS years after the warm-up."""
    years, sep, folder = text.partition("=")
    if not sep or not years.isdigit() or not folder:
        raise argparse.ArgumentTypeError(f"expected YEARS=DIR, e.g. 5=results/sweeps/robustness-h5 (got {text!r})")
    return int(years), folder


def _robustness(args: argparse.Namespace) -> int:
    from sim.analysis.robustness import RobustnessError, write_report
    from sim.uncertainty import DrawsError

    for folder in [args.folder, args.sobol, *[f for _, f in args.horizon], *args.part]:
        if folder is not None and not Path(folder).is_dir():
            raise UserError(f"{folder}: not a folder (expected a finished sweep folder)")
    command = "piracysim robustness " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else ""
    try:
        path = write_report(args.folder, args.out, args.sobol, dict(args.horizon) or None, n_boot=args.boot,
                            command=command, parts=args.part or None)
    except (RobustnessError, DrawsError) as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"{args.out or args.folder}: cannot write the analysis ({exc.strerror or type(exc).__name__})") from None
    print(f"robustness: {path} (tables as CSV next to it, figures in {path.parent / 'figures'}/)")
    return 0


def _plot(args: argparse.Namespace) -> int:
    from sim.analysis.report import ReportError, plot

    from contextlib import nullcontext

    from sim.procs import FolderLock, LockError

    folder = Path(args.folder)
    # figures go into the folder unless --out says otherwise: then it is a writer of that folder like any other
    writing_here = args.out is None and folder.is_dir()
    try:
        with FolderLock(folder) if writing_here else nullcontext():
            paths = plot(folder, args.kind, Path(args.out) if args.out else None, args.metric, args.x, args.y)
    except (ReportError, FileNotFoundError, LockError) as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"{args.out or args.folder}: cannot write figures ({exc.strerror or type(exc).__name__})") from None
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
    parser = _Parser(prog="piracysim", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"piracysim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("validate", help="check scenario files; exit 2 if any is invalid")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help="override a field (repeatable)")
    p.add_argument("-v", "--verbose", action="store_true", help="print a summary of each compiled world")
    p.set_defaults(func=_validate)

    p = sub.add_parser("run", help="run one scenario: tables, summary.json and figures")
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--seed", type=_seed, default=None, help="root seed 0 .. 2**64-1 (default: the scenario's)")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help="override a field (repeatable)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output folder, written whole at the end (default: results/NAME-DATE-TIME)")
    p.add_argument("--force", action="store_true", help="replace --out even if it holds another run or a sweep")
    p.add_argument("--engine", choices=("fast", "mesa"), default=None, help="default: fast when built, else mesa")
    p.add_argument("--format", choices=("csv", "parquet"), default="csv", help="table format (default csv)")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.set_defaults(func=_run)

    p = sub.add_parser("sweep", help="run an experiment file: many runs over a design, streamed to disk")
    p.add_argument("experiment", metavar="EXPERIMENT")
    p.add_argument("--size", default=None, help="a size from the experiment's sizes: block (e.g. ci, full)")
    p.add_argument("--out", default=None, metavar="DIR", help="sweep folder (default: results/sweeps/NAME-SIZE)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive, default=None, metavar="N",
                       help="local worker processes (default: one per core; 1 runs serially)")
    where.add_argument("--scheduler", type=_scheduler, default=None, metavar="ADDR", help="an existing Dask scheduler, tcp://HOST:PORT")
    where.add_argument("--dask-local", type=_positive, default=None, metavar="N", help="a local Dask cluster of N workers")
    p.add_argument("--resume", action="store_true", help="continue an interrupted sweep in --out")
    p.add_argument("--engine", choices=("fast", "mesa"), default=None, help="default: fast when built, else mesa")
    p.set_defaults(func=_sweep)

    p = sub.add_parser("patterns", help="calibration targets, validation targets and consistency checks of a scenario")
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--seeds", type=_positive, default=4, help="replicates for the Mesa measurements (default 4)")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help="override a field (repeatable)")
    p.set_defaults(func=_patterns)

    p = sub.add_parser("calibrate", help="ABC calibration to the calibration targets, then posterior-predictive "
                                         "checks of the validation targets")
    p.add_argument("experiment", metavar="CALIBRATION", help="a calibration file (experiments/calibration/baseline.yaml)")
    p.add_argument("--size", default=None, help="a size from the file's sizes: block (ci, full)")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default: results/NAME-SIZE)")
    p.add_argument("--force", action="store_true", help="replace --out even if it holds files")
    p.add_argument("--check", default=None, metavar="POSTERIOR",
                   help="skip the fit: posterior-predictive checks of this posterior.parquet (or its folder)")
    p.add_argument("--draws", type=_positive, default=None, help="posterior draws to check (default: the file's)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive, default=None, metavar="N",
                       help="local worker processes (pyabc's multicore sampler; default one per core; 1 serial)")
    where.add_argument("--scheduler", type=_scheduler, default=None, metavar="ADDR", help="an existing Dask scheduler, tcp://HOST:PORT")
    where.add_argument("--dask-local", type=_positive, default=None, metavar="N", help="a local Dask cluster of N workers")
    p.set_defaults(func=_calibrate)

    p = sub.add_parser("report", help="a self-contained report.html of a run or sweep folder")
    p.add_argument("folder", metavar="DIR")
    p.set_defaults(func=_report)

    p = sub.add_parser("robustness", help="policies across uncertainty: ranking, regret, PRIM, Sobol, horizons")
    p.add_argument("folder", metavar="DIR", help="a finished sweep of an experiment with uncertainty (robustness.yaml)")
    p.add_argument("--sobol", default=None, metavar="DIR", help="a finished saltelli sweep (uncertainty_sobol.yaml)")
    p.add_argument("--horizon", action="append", type=_horizon, default=[], metavar="YEARS=DIR",
                   help="a finished sweep of the same experiment measured YEARS after the warm-up (repeatable)")
    p.add_argument("--out", default=None, metavar="DIR", help="where to write (default: DIR/robustness)")
    p.add_argument("--boot", type=_positive, default=1000, metavar="N", help="bootstrap resamples (default 1000)")
    p.add_argument("--part", action="append", default=[], metavar="DIR",
                   help="another sweep on the same draws and seeds whose (policy, draw) results DIR lacks (repeatable); "
                        "DIR and the parts may be unfinished: only futures with every policy are used")
    p.set_defaults(func=_robustness)

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
