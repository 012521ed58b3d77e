"""What-if mode, without any screen: levers, the scenario they make, replicates and their comparison, export.

Everything here is plain Python on the public entry points (``sim.scenario``, ``sim.engines``,
``sim.metrics``), so the browser page stays a thin layer and the same answers can be checked in tests.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, get_type_hints

import numpy as np
import pandas as pd
import yaml

from sim import engines, metrics
from sim.outputs import DAILY_COLUMNS
from sim.scenario import Policy, Scenario, ScenarioError, from_dict, parse_override, parse_yaml, read_text

SOURCE = "dashboard"          # how the app's own inputs are named in error messages
MAX_REPLICATES = 200          # limits are checked before any work starts
MAX_RUN_DAYS = 200 * 3650     # replicates x horizon: keeps one answer within about a minute
DEFAULT_REPLICATES = 20
BAND = (5.0, 95.0)            # the 90% band of the charts and metric intervals
TAIL_DAYS = 365               # the window of "servers by host country", as for persistence

# How a known lever is shown. A lever is offered only when the scenario format has it (``Policy``'s fields),
# so levers added to the format later (surrender_speed, priority_floor...) appear by themselves, and a name
# here that the format does not know is simply left out.
_HINTS: dict[str, dict[str, Any]] = {
    "harmonization": {"label": "Harmonisation h (criminalises and powers: x' = x + h(1 - x))", "min": 0.0,
                      "max": 1.0, "step": 0.05},
    "mla_speed": {"label": "MLA speed: delay multiplier (lower is faster)", "min": 0.05, "max": 3.0, "step": 0.05},
    "surrender_speed": {"label": "Surrender speed: delay multiplier (lower is faster)", "min": 0.05, "max": 3.0,
                        "step": 0.05},
    "priority_floor": {"label": "Priority floor", "step": 0.05},
    "capacity_scale": {"label": "Capacity scale", "min": 0.0, "max": 5.0, "step": 0.1},
    "preservation_everywhere": {"label": "Preservation everywhere"},
    "blocking_everywhere": {"label": "Site blocking orders everywhere"},
    "cutoff_everywhere": {"label": "Payment and advertising cut-offs everywhere"},
}


@dataclass(frozen=True)
class Lever:
    """One policy lever as the page shows it: a slider (float or int) or a switch (bool)."""

    name: str
    kind: str                  # "float", "int" or "bool"
    label: str
    doc: str
    default: Any
    min: float | None = None
    max: float | None = None
    step: float | None = None


def levers(policy_cls: type = Policy) -> list[Lever]:
    """The scalar levers of the scenario format's ``policy`` section, in its order, with slider ranges.

    Ranges come from the field's metadata (its allowed range), narrowed by the hints above for a usable
    slider; ``policy.join`` is not a scalar and is edited as bloc memberships instead.
    """
    hints = get_type_hints(policy_cls)
    out = []
    for f in dataclasses.fields(policy_cls):
        tp = hints[f.name]
        kind = {bool: "bool", int: "int", float: "float"}.get(tp)
        if kind is None:
            continue
        hint = _HINTS.get(f.name, {})
        default = f.default if f.default is not dataclasses.MISSING else None
        label = hint.get("label", f.name.replace("_", " ").capitalize())
        doc = f.metadata.get("doc", "")
        if kind == "bool":
            out.append(Lever(f.name, kind, label, doc, bool(default)))
            continue
        lo, hi = f.metadata.get("lo"), f.metadata.get("hi")
        lo_ui = hint.get("min", lo if lo is not None else 0.0)
        hi_ui = hint.get("max", hi if hi is not None else max(2.0 * float(default or 1.0), (lo_ui or 0.0) + 1.0))
        if lo is not None:
            lo_ui = max(lo_ui, lo)
            if f.metadata.get("lo_open") and lo_ui == lo:  # a slider cannot reach an open bound
                lo_ui = lo + (hint.get("step") or (hi_ui - lo) / 20)
        if hi is not None:
            hi_ui = min(hi_ui, hi)
        step = hint.get("step", 1 if kind == "int" else (hi_ui - lo_ui) / 20)
        if kind == "int":
            lo_ui, hi_ui, step = int(lo_ui), int(hi_ui), max(1, int(step))
        out.append(Lever(f.name, kind, label, doc, default, lo_ui, hi_ui, step))
    return out


# --------------------------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Base:
    """A scenario file as loaded: its raw data (``extends`` and ``world`` resolved by validation) and path."""

    path: Path
    raw: dict[str, Any]
    scenario: Scenario


def load_base(path: str | Path) -> Base:
    """Load and validate a scenario file; a bad file raises :class:`ScenarioError` (the CLI's one line)."""
    p = Path(path)
    text = read_text(p)
    raw = parse_yaml(text, str(p))
    scenario = from_dict(raw, str(p), p)
    return Base(p, raw, scenario)


def parse_extra(text: str) -> list[tuple[str, Any]]:
    """Extra overrides typed by the user, ``PATH=VALUE`` separated by ``;`` (as ``--set`` in the CLI)."""
    return [parse_override(item.strip()) for item in text.split(";") if item.strip()]


def policy_overrides(values: Mapping[str, Any], joins: Mapping[str, list[str]]) -> list[tuple[str, Any]]:
    """The lever values and extra bloc members as dotted-path overrides of the scenario."""
    out: list[tuple[str, Any]] = [(f"policy.{name}", value) for name, value in values.items()]
    for bloc, members in joins.items():
        out.append((f"policy.join.{bloc}", list(members)))
    return out


def variant(base: Base, overrides: list[tuple[str, Any]]) -> Scenario:
    """The base scenario with the what-if overrides, validated like ``piracysim run --set``.

    An impossible combination raises :class:`ScenarioError` whose message is the CLI's one line.
    """
    if not overrides:
        return base.scenario
    return from_dict(base.raw, str(base.path), base.path, overrides)


def check_replicates(n: Any) -> int:
    """The number of replicates, checked before any run starts."""
    if isinstance(n, bool) or not isinstance(n, (int, float)) or not float(n).is_integer():
        raise ScenarioError(SOURCE, "replicates", "expected a whole number", n)
    if not 1 <= n <= MAX_REPLICATES:
        raise ScenarioError(SOURCE, "replicates", f"out of range: must be at least 1 and at most {MAX_REPLICATES}", n)
    return int(n)


def export_yaml(scenario: Scenario, name: str | None = None) -> str:
    """The scenario as a complete YAML file (every default filled in); loads with ``piracysim validate``."""
    raw = scenario.to_raw()
    if name:
        raw["name"] = name
    return yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)


# --------------------------------------------------------------------------------------------- running


def replicate_seeds(scenario: Scenario, n: int) -> list[int]:
    """Common random numbers: replicate r uses the same seed for the unchanged scenario and every variant.

    The rule is the sweeps' (``SeedSequence(root, spawn_key=(0, r))``), so a what-if answer can be
    reproduced by a sweep with common random numbers on the same root seed.
    """
    return [int(np.random.SeedSequence(scenario.seed, spawn_key=(0, r)).generate_state(1, dtype=np.uint64)[0])
            for r in range(n)]


@dataclass(eq=False)  # compared by identity: holds arrays, and the page keys its memos on it
class Replicates:
    """The outputs of one scenario on a list of seeds: stacked daily series and metrics per seed."""

    seeds: list[int]
    days: np.ndarray                        # (T,)
    daily: dict[str, np.ndarray]            # column -> (n, T)
    by_country: pd.DataFrame                # (n, C): mean up servers over the last TAIL_DAYS days
    havens: list[str]
    metrics: pd.DataFrame                   # (n, metrics), NaN where undefined
    seconds: list[float] = field(default_factory=list)  # wall seconds of each replicate's run


def evaluate(scenario: Scenario, seeds: list[int], engine: str = "fast", expected: list[float] | None = None
             ) -> Replicates:
    """Run ``scenario`` once per seed and keep what the page shows.

    This is the only place that runs the model, through the public entry points ``sim.engines.run`` and
    ``sim.metrics.compute``; it can switch to a batch evaluator without touching the page. The replicates run
    on a thread per core: the compiled engine's day loop releases the interpreter lock, so they run at once.
    ``expected``: a guess of each replicate's run time (e.g. the unchanged scenario's on the same seed); the
    longest start first, so that no thread is left with a long run at the end while the others wait.
    """
    world = engines.as_world(scenario)

    def one(seed: int) -> tuple[dict, dict[str, np.ndarray], np.ndarray, float]:
        start = time.perf_counter()
        result = engines.run(world, seed, engine, requests=False)  # the metrics' counts, not the requests table
        took = time.perf_counter() - start
        row = {k: (np.nan if v is None else v) for k, v in metrics.compute(result).items()}
        # the days the metrics see (the warm-up is not part of the answer), read as columns of the engine's
        # arrays: no DataFrames for the 20 replicates of an answer
        shown = result.column("daily", "day") > world.warmup
        daily = {c: result.column("daily", c)[shown] for c in DAILY_COLUMNS}
        tail = slice(max(0, len(daily["day"]) - TAIL_DAYS), None)
        sbc = [result.column("servers_by_country", cid)[shown][tail].mean() for cid in world.country_ids]
        return row, daily, np.array(sbc), took

    order = list(range(len(seeds)))
    if expected is not None and len(expected) == len(seeds):
        order.sort(key=lambda i: -expected[i])
    with ThreadPoolExecutor(max_workers=min(len(seeds), os.cpu_count() or 1)) as pool:
        done = dict(zip(order, pool.map(one, [seeds[i] for i in order])))
    rows, dailies, tails, seconds = (list(x) for x in zip(*(done[i] for i in range(len(seeds)))))  # seed order
    daily = {c: np.stack([d[c] for d in dailies]) for c in DAILY_COLUMNS if c != "day"}
    havens = [c for c, h in zip(world.country_ids, world.haven) if h]
    return Replicates(list(seeds), dailies[0]["day"], daily, pd.DataFrame(tails, columns=list(world.country_ids)),
                      havens, pd.DataFrame(rows, columns=list(metrics.METRICS)), seconds)


class Cache:
    """Replicates by (scenario digest, seeds, engine): the unchanged scenario runs once per session."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self.items: dict[tuple, Replicates] = {}

    def get(self, scenario: Scenario, seeds: list[int], engine: str, expected: list[float] | None = None
            ) -> Replicates:
        """The cached replicates, computed on first use (oldest entry evicted beyond ``size``); ``expected`` as
        for :func:`evaluate`."""
        key = (scenario.digest(), tuple(seeds), engine)
        if key not in self.items:
            if len(self.items) >= self.size:
                self.items.pop(next(iter(self.items)))
            self.items[key] = evaluate(scenario, seeds, engine, expected)
        return self.items[key]


# --------------------------------------------------------------------------------------------- comparing


def band(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median and the 90% band across replicates (axis 0)."""
    lo, mid, hi = np.percentile(values, [BAND[0], 50.0, BAND[1]], axis=0)
    return mid, lo, hi


def route_columns(rep: Replicates) -> list[str]:
    """The evidence routes the model reports: every daily ``requests_*`` count, whatever the model version."""
    return [c for c in rep.daily if c.startswith("requests_")]


@dataclass(frozen=True)
class MetricRow:
    """One metric: median and 90% interval for each side, and the paired difference (variant - base)."""

    name: str
    base: tuple[float, float, float]
    variant: tuple[float, float, float]
    diff: tuple[float, float, float]


def _interval(x: np.ndarray) -> tuple[float, float, float]:
    x = x[~np.isnan(x)]
    if not len(x):
        return (math.nan, math.nan, math.nan)
    lo, mid, hi = np.percentile(x, [BAND[0], 50.0, BAND[1]])
    return (float(mid), float(lo), float(hi))


def compare(base: Replicates, var: Replicates) -> list[MetricRow]:
    """Key metrics of both sides on common random numbers, with the paired difference seed by seed."""
    out = []
    for name in base.metrics.columns:
        b, v = base.metrics[name].to_numpy(float), var.metrics[name].to_numpy(float)
        out.append(MetricRow(name, _interval(b), _interval(v), _interval(v - b)))
    return out


_serials = itertools.count(1)


@dataclass(eq=False)  # compared by identity, as Replicates
class Answer:
    """What the page shows for one set of inputs; ``serial`` tells answers apart (tests wait on it)."""

    scenario: Scenario
    base: Replicates
    variant: Replicates
    rows: list[MetricRow] = field(default_factory=list)
    serial: int = field(default_factory=lambda: next(_serials))

    def metric(self, name: str) -> MetricRow:
        """The row of one metric."""
        return next(r for r in self.rows if r.name == name)


def answer(base: Base, overrides: list[tuple[str, Any]], n: Any, cache: Cache | None = None,
           engine: str = "fast") -> Answer:
    """Validate the inputs, run both sides on the same seeds and compare them.

    Raises :class:`ScenarioError` (one line, nothing run) on an impossible combination.
    """
    n = check_replicates(n)
    scenario = variant(base, overrides)
    if n * scenario.horizon_days > MAX_RUN_DAYS:
        raise ScenarioError(SOURCE, "replicates", f"{n} runs of {scenario.horizon_days} days exceed the dashboard's "
                            f"limit of {MAX_RUN_DAYS} run-days; use piracysim sweep for longer runs", n)
    cache = cache or Cache()
    seeds = replicate_seeds(base.scenario, n)
    b = cache.get(base.scenario, seeds, engine)
    v = cache.get(scenario, seeds, engine, b.seconds)  # on common random numbers, run times follow the seed
    return Answer(scenario, b, v, compare(b, v))
