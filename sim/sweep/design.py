"""Experiment files: a base scenario, factors, a design, replicates and a root seed, validated like scenarios.

```yaml
name: harmonization_mla
base: ../scenarios/baseline.yaml        # relative to this file
overrides: {horizon_days: 1095}         # applied to the base before any factor
factors:                                # dotted scenario paths
  policy.harmonization: {levels: [0, 0.5, 1]}
  policy.mla_speed: {range: [0.05, 2], scale: log}
design: grid                            # grid | lhs | sobol | saltelli | {table: [{path: value, ...}, ...]}
samples: 64                             # design points for lhs and sobol; base samples n for saltelli
replicates: 20
seed: 20261128
metrics: [persistence, lifetime_rmst]   # from sim.metrics.METRICS (default: all)
keep: [daily]                           # per-run tables kept besides metrics
common_random_numbers: true             # the same replicate seeds at every design point
sizes:                                  # named variants; --size NAME applies one on top
  ci: {replicates: 2, samples: 8, overrides: {horizon_days: 365}}
```

``saltelli`` is the design for Sobol sensitivity indices: n(d + 2) points, the matrices A and B (n points each)
then, for each factor i, A with factor i taken from B, as ``scipy.stats.sobol_indices`` expects them.
A factor named ``scenario`` takes scenario files (relative to the experiment) as levels: each design point
then starts from its own scenario, the experiment's ``overrides`` applied to each.

Seeds: run (point p, replicate r) uses ``SeedSequence(seed, spawn_key=(q, r))`` reduced to 64 bits, with
q = 0 under common random numbers (every point shares the replicate seeds, so differences between points
are paired) and q = p otherwise. A run's seed never depends on scheduling, worker count or retries.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from sim import limits
from sim.metrics import METRICS
from sim.scenario import Scenario, ScenarioError, from_dict, load, parse_yaml, read_text
from sim.outputs import TABLES

DESIGNS = ("grid", "lhs", "sobol", "saltelli", "table")
SCENARIO_FACTOR = "scenario"
_KEYS = {"name", "description", "base", "overrides", "factors", "design", "samples", "replicates", "seed",
         "metrics", "keep", "common_random_numbers", "sizes", "uncertainty"}
_SIZE_KEYS = {"replicates", "samples", "overrides", "factors", "design", "description", "uncertainty"}


@dataclass(frozen=True)
class Factor:
    """One dotted scenario path, with discrete ``levels`` or a continuous ``range`` (linear or log scale)."""

    path: str
    levels: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False

    def from_unit(self, u: np.ndarray) -> list[Any]:
        """Map points of [0, 1) to factor values (levels by index, ranges by scale)."""
        if self.levels is not None:
            idx = np.minimum((u * len(self.levels)).astype(int), len(self.levels) - 1)
            return [self.levels[i] for i in idx]
        if self.log:
            vals = np.exp(np.log(self.low) + u * (np.log(self.high) - np.log(self.low)))
        else:
            vals = self.low + u * (self.high - self.low)
        return [int(np.floor(v)) if self.integer else float(v) for v in vals]


@dataclass(frozen=True)
class Experiment:
    """A validated experiment at one size: what to run, how many times, with which seeds."""

    name: str
    source: str
    base_path: str
    base: Scenario
    factors: tuple[Factor, ...]
    design: str
    points: tuple[dict[str, Any], ...]
    replicates: int
    seed: int
    metrics: tuple[str, ...]
    keep: tuple[str, ...]
    common_random_numbers: bool
    size: str
    description: str = ""
    bases: dict[str, Scenario] = field(default_factory=dict, compare=False)  # scenario factor level -> scenario
    raw: dict[str, Any] = field(default_factory=dict, compare=False)
    # uncertainty (sim.uncertainty): the draw of each point and the seed group its replicates use
    draw_of: tuple[int, ...] = ()
    seed_groups: tuple[int, ...] = ()
    uncertainty: Any = field(default=None, compare=False)

    @property
    def n_runs(self) -> int:
        """Design points times replicates."""
        return len(self.points) * self.replicates

    @functools.cached_property
    def value_columns(self) -> tuple[str, ...]:
        """The scenario paths the design sets, in order of first appearance (columns of the runs table); made
        once (a sweep reads it for every shard, and a large design has thousands of points)."""
        return tuple(dict.fromkeys(k for row in self.points for k in row))

    def seed_of(self, point: int, replicate: int) -> int:
        """The 64-bit seed of run (point, replicate)."""
        return run_seed(self.seed, *self.seed_key(point, replicate))

    def seed_key(self, point: int, replicate: int) -> tuple[int, int]:
        """The spawn key of run (point, replicate)'s seed: runs with equal keys have equal seeds (every point's
        replicate r under common random numbers)."""
        if self.seed_groups and self.common_random_numbers:  # one seed set per draw, shared by every policy
            return self.seed_groups[point], replicate
        return 0 if self.common_random_numbers else point, replicate

    def scenario_of(self, point: int) -> Scenario:
        """The scenario a design point starts from (its ``scenario`` level, else the base)."""
        level = self.points[point].get(SCENARIO_FACTOR)
        return self.base if level is None else self.bases[level]

    def scenario_raw(self, point: int = 0) -> dict[str, Any]:
        """The resolved scenario of a design point (overrides applied, world and extends merged) as plain data."""
        return self.scenario_of(point).to_raw()

    def digest(self) -> str:
        """Canonical hash of what determines the results: base scenario, points, replicates, seeds rule."""
        doc = {"base": self.base.digest(), "bases": {k: v.digest() for k, v in sorted(self.bases.items())},
               "points": list(self.points), "replicates": self.replicates,
               "seed": self.seed, "crn": self.common_random_numbers, "metrics": list(self.metrics),
               "keep": list(self.keep)}
        if self.seed_groups:
            doc["seed_groups"] = list(self.seed_groups)
        return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def run_seed(root: int, point: int, replicate: int) -> int:
    """The seed rule of every run: ``SeedSequence(root, spawn_key=(point, replicate))`` reduced to 64 bits
    (``point`` is 0 for every point under common random numbers). Also :func:`sim.api.replicate_seeds`."""
    return int(np.random.SeedSequence(root, spawn_key=(point, replicate)).generate_state(1, dtype=np.uint64)[0])


def _err(source: str, path: str, msg: str, value: Any = ...) -> ScenarioError:
    return ScenarioError(source, path, msg) if value is ... else ScenarioError(source, path, msg, value)


def _int(source: str, path: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise _err(source, path, f"expected a whole number >= {low}", value)
    return value


def _factor(source: str, path: str, spec: Any) -> Factor:
    where = f"factors.{path}"
    if not isinstance(spec, dict):
        raise _err(source, where, "expected {levels: [...]} or {range: [low, high]}", spec)
    unknown = set(spec) - {"levels", "range", "scale", "integer"}
    if unknown:
        raise _err(source, f"{where}.{sorted(unknown)[0]}", "unknown key; expected levels, range, scale, integer")
    if "levels" in spec and "range" in spec:
        raise _err(source, where, "give levels or range, not both", spec)
    if "levels" in spec:
        levels = spec["levels"]
        if not isinstance(levels, list) or not levels:
            raise _err(source, f"{where}.levels", "expected a non-empty list", levels)
        return Factor(path, levels=tuple(levels))
    rng = spec.get("range")
    if (not isinstance(rng, list) or len(rng) != 2 or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in rng)
            or not rng[0] < rng[1]):
        raise _err(source, f"{where}.range", "expected [low, high] with low < high", rng)
    scale = spec.get("scale", "linear")
    if scale not in ("linear", "log"):
        raise _err(source, f"{where}.scale", "expected linear or log", scale)
    if scale == "log" and rng[0] <= 0:
        raise _err(source, f"{where}.range", "a log scale needs low > 0", rng)
    return Factor(path, low=float(rng[0]), high=float(rng[1]), log=scale == "log", integer=bool(spec.get("integer", False)))


def _points(source: str, design: Any, factors: tuple[Factor, ...], samples: int | None, seed: int) -> tuple[str, list[dict]]:
    if isinstance(design, dict):
        if set(design) != {"table"} or not isinstance(design["table"], list) or not design["table"]:
            raise _err(source, "design", "an explicit design is {table: [{path: value, ...}, ...]}", design)
        rows = design["table"]
        for i, row in enumerate(rows):
            if not isinstance(row, dict) or not row:
                raise _err(source, f"design.table[{i}]", "expected a mapping of path: value", row)
        return "table", [dict(r) for r in rows]
    if design not in ("grid", "lhs", "sobol", "saltelli"):
        raise _err(source, "design", f"expected one of {', '.join(DESIGNS[:4])} or {{table: [...]}}", design)
    if not factors:
        return design, [{}]
    if design == "grid":
        for f in factors:
            if f.levels is None:
                raise _err(source, f"factors.{f.path}", "a grid design needs levels")
        return design, [dict(zip([f.path for f in factors], combo)) for combo in itertools.product(*[f.levels for f in factors])]
    from scipy.stats import qmc

    if samples is None:
        raise _err(source, "samples", f"a {design} design needs samples (the number of design points)")
    d = len(factors)
    if design == "lhs":
        unit = qmc.LatinHypercube(d=d, rng=np.random.default_rng(seed)).random(samples)
    elif design == "saltelli":
        if samples & (samples - 1):
            raise _err(source, "samples", "a saltelli design needs a power of two", samples)
        a_b = qmc.Sobol(d=2 * d, scramble=True, rng=np.random.default_rng(seed)).random(samples).T.reshape(2, d, -1)
        a, b = a_b
        ab = np.tile(a, (d, 1, 1))
        ab[np.arange(d), np.arange(d)] = b  # page i: A with factor i from B
        unit = np.concatenate([a, b, *ab], axis=1).T
    else:
        if samples & (samples - 1):
            raise _err(source, "samples", "a sobol design needs a power of two", samples)
        unit = qmc.Sobol(d=d, scramble=True, rng=np.random.default_rng(seed)).random_base2(int(math.log2(samples)))
    cols = [f.from_unit(unit[:, j]) for j, f in enumerate(factors)]
    return design, [dict(zip([f.path for f in factors], vals)) for vals in zip(*cols)]


def read_sized(path: Path, size: str | None, keys: set[str] | frozenset[str], size_keys: set[str] | frozenset[str],
               check: Callable[[str, str, str, Any], None] | None = None) -> dict[str, Any]:
    """The top-level mapping of a YAML file with named ``sizes`` (experiments, calibrations), with size ``size``'s
    changes applied (None: as written): ``overrides`` and ``uncertainty`` merge into the top level's, any other
    key replaces it. Unknown keys, at the top and in every size (not only the one asked for), are one-line
    errors; ``check(source, size name, key, value)`` validates each size entry further."""
    source = str(path)
    raw = parse_yaml(read_text(path), source)
    if raw is None:
        raise _err(source, "", "the file is empty")
    if not isinstance(raw, dict):
        raise _err(source, "(top level)", "expected a mapping", raw)
    for key in raw:
        if key not in keys:
            raise _err(source, str(key), f"unknown key; expected one of: {', '.join(sorted(keys))}")
    raw = copy.deepcopy(raw)
    sizes = raw.get("sizes") or {}
    if not isinstance(sizes, dict):
        raise _err(source, "sizes", "expected a mapping of size name to changes", sizes)
    for name, change in sizes.items():
        if not isinstance(change, (dict, type(None))):
            raise _err(source, f"sizes.{name}", "expected a mapping", change)
        for key, value in (change or {}).items():
            if key not in size_keys:
                raise _err(source, f"sizes.{name}.{key}", f"unknown key; expected one of: {', '.join(sorted(size_keys))}")
            if key == "overrides" and not isinstance(value, dict):
                raise _err(source, f"sizes.{name}.{key}", "expected a mapping", value)
            if check is not None:
                check(source, str(name), key, value)
    if size is not None:
        if size not in sizes:
            raise _err(source, "sizes", f"no size named {size!r}; defined: {', '.join(sizes) or 'none'}", size)
        for key, value in (sizes[size] or {}).items():
            if key == "overrides":
                raw["overrides"] = {**(raw.get("overrides") or {}), **value}
            elif key == "uncertainty" and isinstance(value, dict) and isinstance(raw.get(key), dict):
                raw[key] = {**raw[key], **value}
            else:
                raw[key] = value
    return raw


def _check_size_entry(source: str, name: str, key: str, value: Any) -> None:
    """An experiment size's whole numbers and factors."""
    if key in ("replicates", "samples"):
        _int(source, f"sizes.{name}.{key}", value, 1)
    if key == "factors":
        if not isinstance(value, dict):
            raise _err(source, f"sizes.{name}.{key}", "expected a mapping", value)
        for path, fspec in value.items():
            _factor(source, f"{path}", fspec)


def load_experiment(path: str | Path, size: str | None = None, engine: str = "fast", workers: int = 1) -> Experiment:
    """Load and validate an experiment file at a size (None: as written at the top level).

    Resource limits are checked here, before the design is built: the number of points is counted from the
    factors, samples and design (never by expanding it), and the runs and their tables estimated against the
    limits of :mod:`sim.limits` for ``workers`` runs at once on ``engine``.
    """
    p = Path(path)
    source = str(path)
    raw = read_sized(p, size, _KEYS, _SIZE_KEYS, _check_size_entry)

    if "base" not in raw or not isinstance(raw["base"], str):
        raise _err(source, "base", "required: the path of the base scenario", raw.get("base"))
    base_path = (p.parent / raw["base"]).resolve()
    overrides = raw.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise _err(source, "overrides", "expected a mapping of path: value", overrides)
    try:
        base = load(base_path, list(overrides.items()))
    except ScenarioError as exc:
        raise _err(source, "base", f"invalid with its overrides: {exc}") from None

    factors_raw = raw.get("factors") or {}
    if not isinstance(factors_raw, dict):
        raise _err(source, "factors", "expected a mapping of path: {levels|range}", factors_raw)
    factors = tuple(_factor(source, str(k), v) for k, v in factors_raw.items())
    bases: dict[str, Scenario] = {}
    for f in factors:
        if f.path == SCENARIO_FACTOR:
            if f.levels is None:
                raise _err(source, "factors.scenario", "a scenario factor needs levels (scenario files)")
            for level in f.levels:
                try:
                    bases[str(level)] = load(p.parent / str(level), list(overrides.items()))
                except ScenarioError as exc:
                    raise _err(source, "factors.scenario", f"level {level!r} is invalid: {exc}") from None
    replicates = _int(source, "replicates", raw.get("replicates", 1), 1)
    seed = _int(source, "seed", raw.get("seed", 1), 0)
    if seed > 2**64 - 1:  # the same range as a scenario's seed and --seed
        raise _err(source, "seed", "out of range: must be at most 2**64-1", seed)
    samples = raw.get("samples")
    if samples is not None:
        samples = _int(source, "samples", samples, 1)
    est = limits.check_scenario(base, f"{source} (base {raw['base']})", engine, workers)
    metrics_raw, keep_raw = raw.get("metrics", list(METRICS)), raw.get("keep", [])
    unc = None
    if raw.get("uncertainty") is not None:  # every design point is crossed with draws of the unknowns
        from sim.uncertainty import design_spec

        unc = design_spec(source, p.parent, raw["uncertainty"], seed)
        unc.validate(base)
    limits.check_design(source, limits.count_points(raw.get("design", "grid"), list(factors), samples)
                        * (len(unc.rows) if unc else 1), replicates,
                        [t for t in keep_raw if t in TABLES] if isinstance(keep_raw, list) else [],
                        len(factors) + (len(metrics_raw) if isinstance(metrics_raw, list) else len(METRICS)), est)
    design, points = _points(source, raw.get("design", "grid"), factors, samples, seed)

    metrics = raw.get("metrics", list(METRICS))
    if not isinstance(metrics, list) or not metrics:
        raise _err(source, "metrics", "expected a non-empty list", metrics)
    for i, m in enumerate(metrics):
        if m not in METRICS:
            raise _err(source, f"metrics[{i}]", f"unknown metric; expected one of: {', '.join(METRICS)}", m)
    keep = raw.get("keep", [])
    if not isinstance(keep, list):
        raise _err(source, "keep", "expected a list", keep)
    for i, t in enumerate(keep):
        if t not in TABLES:
            raise _err(source, f"keep[{i}]", f"unknown table; expected one of: {', '.join(TABLES)}", t)
    crn = raw.get("common_random_numbers", True)
    if not isinstance(crn, bool):
        raise _err(source, "common_random_numbers", "expected true or false", crn)

    _check_points(source, base, [f for f in factors if f.path != SCENARIO_FACTOR], points, design, engine, workers)
    draw_of: list[int] = []
    groups: list[int] = []
    if unc is not None:
        def raw_of(i: int) -> dict[str, Any]:
            level = points[i].get(SCENARIO_FACTOR)
            return (base if level is None else bases[str(level)]).to_raw()

        points, draw_of, groups = unc.cross(points, raw_of)
    return Experiment(name=str(raw.get("name", p.stem)), source=source, base_path=str(base_path), base=base,
                      factors=factors, design=design, points=tuple(points), replicates=replicates, seed=seed,
                      metrics=tuple(metrics), keep=tuple(keep), common_random_numbers=crn, size=size or "default",
                      description=str(raw.get("description", "")), bases=bases, raw=raw,
                      draw_of=tuple(draw_of), seed_groups=tuple(groups), uncertainty=unc)


def _check_points(source: str, base: Scenario, factors: list[Factor], points: list[dict], design: str,
                  engine: str = "fast", workers: int = 1) -> None:
    """Every value a factor takes must make a valid scenario. Levels are checked one by one, a range by its
    two ends (scenario fields are valid on intervals, so the values between are valid too), and every row of
    an explicit table whole."""
    raw = base.to_raw()
    checks: list[tuple[str, list[tuple[str, Any]]]] = []
    if design == "table":
        checks = [(f"design.table[{i}]", list(row.items())) for i, row in enumerate(points)]
    for f in factors:
        if f.levels is not None:
            values: list[Any] = list(f.levels)
        else:
            values = [int(np.floor(f.low)), int(np.ceil(f.high)) - 1] if f.integer else [f.low, f.high]
        checks += [(f"factors.{f.path}", [(f.path, v)]) for v in values]
    for where, items in checks:
        try:
            sc = from_dict(raw, "base", overrides=items)
        except ScenarioError as exc:
            detail = str(exc).split(": ", 1)[1] if ": " in str(exc) else str(exc)
            raise _err(source, where, f"makes an invalid scenario: {detail}") from None
        # a factor's levels and a range's ends bound its values: if they fit, every point fits
        limits.check_scenario(sc, f"{source} ({where}={items[-1][1]!r})", engine, workers)
