"""The one entry point to run the model: ``run(world_or_scenario, seed, engine)`` -> :class:`RunResult`.

Sweeps and the command line call only this, never an engine's insides.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable

from sim.outputs import RunResult
from sim.scenario import Scenario, load
from sim.world import World, compile_world

ENGINES = ("fast", "mesa")
SEED_MAX = 2**64 - 1

try:  # the compiled engine is optional at import time: without a compiler the package still works
    from cyext import engine as _fast
except ImportError as exc:  # pragma: no cover - exercised by a test that hides the extension
    _fast = None
    _FAST_ERROR = str(exc)
else:
    _FAST_ERROR = ""


def fast_available() -> bool:
    """True when the compiled engine was built and imports."""
    return _fast is not None


def default_engine() -> str:
    """``fast`` when the compiled engine is available, else ``mesa``."""
    return "fast" if fast_available() else "mesa"


def as_world(obj: World | Scenario | str | Path) -> World:
    """Accept a compiled world, a scenario, or a path to a scenario file."""
    if isinstance(obj, World):
        return obj
    if isinstance(obj, Scenario):
        return compile_world(obj)
    return compile_world(load(obj))


def run(world_or_scenario: World | Scenario | str | Path, seed: int | None = None, engine: str | None = None,
        progress: Callable[[int], None] | None = None, requests: bool = True) -> RunResult:
    """Run one simulation; ``seed`` defaults to the scenario's, ``engine`` to the fastest available.

    ``progress(days)`` is called as days complete (the Mesa engine reports every day, the compiled engine once).
    Asking for ``fast`` when it is not built falls back to ``mesa`` with a one-line warning.
    ``requests=False``: keep only the counts of requests that the metrics read, not the requests table (a run
    makes hundreds of thousands of requests; the dashboard needs its metrics only). The metrics are the same.
    """
    world = as_world(world_or_scenario)
    if seed is not None and (isinstance(seed, bool) or not 0 <= int(seed) <= SEED_MAX or int(seed) != seed):
        # the compiled engine would wrap -1 or 2**64 silently into another seed: refuse, as scenario files do
        raise ValueError(f"seed must be a whole number 0 .. 2**64-1 (got {seed!r})")
    engine = engine or default_engine()
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    if engine == "fast" and _fast is None:
        warnings.warn(f"compiled engine not available ({_FAST_ERROR}); running the Mesa engine", RuntimeWarning,
                      stacklevel=2)
        engine = "mesa"
    if engine == "fast":
        result = _fast.run(world, world.seed if seed is None else int(seed), requests=requests)
        if progress is not None:
            progress(world.horizon)
        return result
    from sim.metrics import count_requests
    from sim.model import run_mesa

    result = run_mesa(world, seed, progress)
    if not requests:
        result.omit_requests(count_requests(result, world.warmup))
    return result
