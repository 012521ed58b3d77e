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
