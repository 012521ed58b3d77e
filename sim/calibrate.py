"""Calibration by approximate Bayesian computation (ABC-SMC, pyabc) and posterior-predictive checks.

``piracysim calibrate experiments/calibration/baseline.yaml --size ci|full --out DIR`` fits the grade-C parameters of a
base scenario (assumptions without a source: entry, detection, identification, quitting, the countries' capacity
and priority, residence...) to the **calibration targets** of :mod:`sim.patterns` and nothing else, on the compiled engine,
in parallel on local processes (pyabc's multicore sampler) or on Dask (its ``DaskDistributedSampler`` on a
``dask.distributed`` cluster). Then it runs posterior draws and checks the **validation targets**, which the fit
never saw (docs/calibration.md).

The unknowns are never policy levers (a ``policy.*`` parameter is refused): a posterior draw is a future that
every policy scenario is then run in, and it must not overwrite what the policy sets. Their priors are, where the
file says ``shared``, the one definition in :mod:`sim.uncertainty` (``PRIORS``, ``COUNTRY_PRIORS``), and a
``countries.*.FIELD`` parameter is a multiplier of every country's FIELD applied by :func:`sim.uncertainty.expand`,
exactly as experiments apply a draws file.

Files written to DIR (whole or not at all):

- ``posterior.parquet``: one row per accepted particle of the last generation: ``draw`` (int), ``weight``
  (float, summing to 1) and one column per parameter named by its dotted scenario path, as experiment overrides
  use it (``enforcement.detect_prob``, ``countries.*.capacity``): a draws file (sim.uncertainty) that experiments
  take as ``uncertainty: {file: .../posterior.parquet, draws: N}``;
- ``posterior.json``: provenance (scenario digest, targets, pyabc version, population sizes, epsilon schedule,
  seed, wall time, priors);
- ``abc.db``: pyabc's own history (SQLite);
- ``report.md`` and ``figures/predictive.png``: the posterior-predictive checks.

The ABC distance needs no single "observed" value: each target is an interval, and a run's distance is the
root of the summed squares of how far each statistic falls outside its interval, in units of the interval's
width (0 inside). Epsilon falls generation by generation (pyabc's median quantile) towards 0, where every
accepted particle reproduces every calibration target.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from sim import patterns
from sim.scenario import Scenario, ScenarioError, apply_overrides, from_dict, load
from sim.sweep.design import read_sized
from sim.uncertainty import WILDCARD, Prior, expand, shared_prior

_KEYS = {"name", "description", "base", "overrides", "parameters", "targets", "population", "generations",
         "replicates", "seed", "draws", "sizes", "max_simulations", "epsilon"}
_SIZE_KEYS = {"population", "generations", "replicates", "draws", "overrides", "description", "max_simulations",
              "epsilon"}
NAN_DISTANCE = 10.0  # an unmeasurable statistic counts as ten interval widths away
MAX_POPULATION = 5000
MAX_GENERATIONS = 30
MAX_DRAWS = 10000


Parameter = Prior  # a calibration parameter is a prior of sim.uncertainty: one mapping of quantiles to values


def scenario_of(base_raw: dict[str, Any], values: dict[str, Any], source: str = "calibration") -> Scenario:
    """The base scenario under one set of parameter values: ``countries.*.FIELD`` multipliers expanded per
    country by :func:`sim.uncertainty.expand` (as experiments apply a draws file), other paths set as they are."""
    return from_dict(apply_overrides(base_raw, expand(base_raw, values)), source)


def prior_text(prm: Prior) -> str:
    """A prior in a few characters, for tables: ``0.1..1 (log)``, ``first|all``, ``x0.5..1.5``."""
    if prm.dist == "choice":
        return "|".join(prm.levels)
    mult = "x" if prm.path.startswith(WILDCARD) else ""
    return f"{mult}{prm.low:g}..{prm.high:g}{' (log)' if prm.scale == 'log' else ''}"


@dataclass(frozen=True)
class Calibration:
    """A validated calibration file at one size."""

    name: str
    source: str
    base: Scenario
    parameters: tuple[Prior, ...]
    targets: tuple[str, ...]
    population: int
    generations: int
    replicates: int
    draws: int
    seed: int
    size: str
    max_simulations: int
    epsilon: float | None = None               # a fixed tolerance for every generation; None: pyabc's median schedule
    description: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


def _err(source: str, path: str, msg: str, value: Any = ...) -> ScenarioError:
    return ScenarioError(source, path, msg) if value is ... else ScenarioError(source, path, msg, value)


def _int(source: str, path: str, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        rng = f"{low} .. {high}" if high is not None else f">= {low}"
        raise _err(source, path, f"expected a whole number {rng}", value)
    return value


def _parameter(source: str, path: str, spec: Any) -> Prior:
    where = f"parameters.{path}"
    if path.split(".")[0] == "policy":
        raise _err(source, where, "a policy lever cannot be an unknown: a posterior draw would overwrite what the "
                                  "policy scenarios set (scale the countries' columns with countries.*.FIELD)")
    if spec == "shared":
        prior = shared_prior(path)
        if prior is None:
            raise _err(source, where, "no shared prior for this path in sim/uncertainty.py (PRIORS, COUNTRY_PRIORS); "
                                      "give {range: [low, high]}", spec)
        return prior
    if not isinstance(spec, dict):
        raise _err(source, where, "expected shared or {range: [low, high], scale: linear|log, integer: true|false}",
                   spec)
    unknown = set(spec) - {"range", "scale", "integer"}
    if unknown:
        raise _err(source, f"{where}.{sorted(unknown)[0]}", "unknown key; expected range, scale, integer")
    rng = spec.get("range")
    if (not isinstance(rng, list) or len(rng) != 2
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in rng) or not rng[0] < rng[1]):
        raise _err(source, f"{where}.range", "expected [low, high] with low < high", rng)
    scale = spec.get("scale", "linear")
    if scale not in ("linear", "log"):
        raise _err(source, f"{where}.scale", "expected linear or log", scale)
    if scale == "log" and rng[0] <= 0:
        raise _err(source, f"{where}.range", "a log scale needs low > 0", rng)
    integer = spec.get("integer", False)
    if not isinstance(integer, bool):
        raise _err(source, f"{where}.integer", "expected true or false", integer)
    if path.startswith(WILDCARD) and (path.count(".") != 2 or integer):
        raise _err(source, where, "countries.*.FIELD is a (non-integer) multiplier of one country field", spec)
    return Prior(path, "loguniform" if scale == "log" else "uniform", float(rng[0]), float(rng[1]), integer,
                 source=f"{source} (calibration prior)")


def load_calibration(path: str | Path, size: str | None = None) -> Calibration:
    """Load and validate a calibration file at a size; every error is one line naming file, field and value."""
    p = Path(path)
    source = str(path)
    raw = read_sized(p, size, _KEYS, _SIZE_KEYS)
    if not isinstance(raw.get("base"), str):
        raise _err(source, "base", "required: the path of the base scenario", raw.get("base"))
    overrides = raw.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise _err(source, "overrides", "expected a mapping of path: value", overrides)
    try:
        base = load(p.parent / raw["base"], list(overrides.items()))
    except ScenarioError as exc:
        raise _err(source, "base", f"invalid with its overrides: {exc}") from None
    params_raw = raw.get("parameters")
    if not isinstance(params_raw, dict) or not params_raw:
        raise _err(source, "parameters", "expected a mapping of dotted scenario path: shared | {range: [low, high]}",
                   params_raw)
    params = tuple(_parameter(source, str(k), v) for k, v in params_raw.items())
    base_raw = base.to_raw()
    for prm in params:  # a prior's two ends bound its values (fields are valid on intervals): both valid, all are
        for end in _ends(prm):
            try:
                scenario_of(base_raw, {prm.path: end}, "base")
            except ScenarioError as exc:
                detail = str(exc).split(": ", 1)[1] if ": " in str(exc) else str(exc)
                raise _err(source, f"parameters.{prm.path}", f"makes an invalid scenario: {detail}") from None
        if prm.path.startswith(WILDCARD) and not any(prm.path[len(WILDCARD):] in c for c in base_raw.get("countries") or []):
            raise _err(source, f"parameters.{prm.path}", "no country of the base scenario sets this field")
    targets = raw.get("targets", list(patterns.CALIBRATION))
    if not isinstance(targets, list) or not targets:
        raise _err(source, "targets", "expected a non-empty list of calibration targets", targets)
    for i, t in enumerate(targets):
        if t not in patterns.TARGETS:
            raise _err(source, f"targets[{i}]", f"unknown target; expected one of: {', '.join(patterns.CALIBRATION)}", t)
        if t not in patterns.CALIBRATION:
            raise _err(source, f"targets[{i}]", f"is a {patterns.TARGETS[t].group} target; calibration fits "
                                               f"calibration targets only ({', '.join(patterns.CALIBRATION)})", t)
    seed = _int(source, "seed", raw.get("seed", 1), 0, 2**64 - 1)
    eps = raw.get("epsilon", "median")
    if eps != "median" and (isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 < eps < math.inf):
        raise _err(source, "epsilon", "expected median (pyabc's schedule) or a tolerance > 0", eps)
    from sim import limits

    limits.check_scenario(base, f"{source} (base {raw['base']})", "fast", os.cpu_count() or 1)
    for end in (0.0, 1.0):  # the priors' corners bound the work of a run (sizes grow monotonically with each)
        corner = scenario_of(base_raw, {prm.path: prm.at(end) for prm in params}, "base")
        limits.check_scenario(corner, f"{source} (every parameter at the {'top' if end else 'bottom'} of its "
                                      "prior)", "fast", os.cpu_count() or 1)
    return Calibration(
        name=str(raw.get("name", p.stem)), source=source, base=base, parameters=params, targets=tuple(targets),
        population=_int(source, "population", raw.get("population", 100), 2, MAX_POPULATION),
        generations=_int(source, "generations", raw.get("generations", 5), 1, MAX_GENERATIONS),
        replicates=_int(source, "replicates", raw.get("replicates", 1), 1, 100),
        draws=_int(source, "draws", raw.get("draws", 50), 1, MAX_DRAWS), seed=seed, size=size or "default",
        max_simulations=_int(source, "max_simulations", raw.get("max_simulations", 100000), 1),
        epsilon=None if eps == "median" else float(eps),
        description=str(raw.get("description", "")), raw=raw)


def _ends(prm: Prior) -> list[Any]:
    """The values that bound a prior: both ends of a range, every level of a choice."""
    return list(prm.levels) if prm.dist == "choice" else [prm.at(0.0), prm.at(1.0)]


# ------------------------------------------------------------------------------------------- the simulator

def particle_seed(root: int, values: dict[str, Any], replicate: int) -> int:
    """A run's seed from the root seed and the particle's values: a particle's run never depends on which worker
    drew it or when (pyabc's own draws are not reproducible across samplers, but each run is)."""
    doc = json.dumps([root, replicate, sorted((k, repr(v)) for k, v in values.items())])
    return int.from_bytes(hashlib.sha256(doc.encode()).digest()[:8], "little")


class Simulator:
    """Picklable model for pyabc: prior quantiles in, the patterns of the compiled engine's runs out."""

    def __init__(self, base_raw: dict[str, Any], parameters: tuple[Prior, ...], seed: int, replicates: int,
                 keys: tuple[str, ...]) -> None:
        self.base_raw, self.parameters, self.seed, self.replicates, self.keys = (base_raw, parameters, seed,
                                                                                 replicates, keys)

    def values(self, unit: dict[str, float]) -> dict[str, Any]:
        """Parameter values (by dotted path) of prior quantiles keyed p0, p1, ..."""
        return {prm.path: prm.at(unit[f"p{i}"]) for i, prm in enumerate(self.parameters)}

    def measure(self, values: dict[str, Any]) -> dict[str, float]:
        """Every compiled-engine pattern of the base scenario with ``values``, pooled over the replicates."""
        from sim.engines import run
        from sim.world import compile_world

        scenario = scenario_of(self.base_raw, values)
        world = compile_world(scenario)
        raws = [patterns.collect(run(world, particle_seed(self.seed, values, r), "fast"), world, scenario)
                for r in range(self.replicates)]
        return patterns.summarise(raws)

    def __call__(self, unit: dict[str, float]) -> dict[str, float]:
        """pyabc's model call: the calibration statistics of one particle."""
        m = self.measure(self.values(unit))
        return {k: float(m[k]) for k in self.keys}


def interval_distance(targets: tuple[str, ...]) -> Callable[[dict, dict], float]:
    """The distance of a run's statistics from the target intervals (0 when every one is inside)."""
    return _IntervalDistance(targets)


class _IntervalDistance:
    """Picklable callable: sqrt(sum over targets of (distance outside [low, high] / (high - low))^2)."""

    def __init__(self, targets: tuple[str, ...]) -> None:
        self.targets = targets

    def __call__(self, x: dict, x0: dict) -> float:
        total = 0.0
        for name in self.targets:
            t, v = patterns.TARGETS[name], float(x[name])
            if math.isnan(v):
                d = NAN_DISTANCE
            else:
                d = max(t.low - v, 0.0, v - t.high) / (t.high - t.low)
            total += d * d
        return math.sqrt(total)


# ------------------------------------------------------------------------------------------- running ABC

def _sampler(kind: str, workers: int, scheduler: str | None):
    """pyabc's sampler and what to close afterwards: ``processes`` (multicore) or ``dask`` (a LocalCluster of
    ``workers`` processes, or the cluster at ``scheduler``)."""
    from pyabc.sampler import DaskDistributedSampler, MulticoreEvalParallelSampler, SingleCoreSampler

    if kind == "serial":
        return SingleCoreSampler(), []
    if kind == "processes":
        return MulticoreEvalParallelSampler(n_procs=workers), []
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:  # nothing listening there: the user's address, one line
            raise ScenarioError(f"--scheduler {scheduler}", "", f"no Dask scheduler answered within 10 s "
                                                                f"({type(exc).__name__})") from None
        return DaskDistributedSampler(dask_client=client, batch_size=1), [client]
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    return DaskDistributedSampler(dask_client=client, batch_size=1), [client, cluster]


def run_abc(cal: Calibration, folder: Path, kind: str = "processes", workers: int = 2,
            scheduler: str | None = None, say: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """Run ABC-SMC for ``cal`` with its database in ``folder``; write posterior.parquet and posterior.json there.
    Returns the provenance written to posterior.json."""
    import pyabc

    for name in ("ABC", "pyabc", "Sampler", "Epsilon", "History", "Population", "Distance", "Acceptor"):
        logging.getLogger(name).setLevel(logging.WARNING)  # pyabc logs each generation at INFO
    keys = cal.targets
    sim = Simulator(cal.base.to_raw(), cal.parameters, cal.seed, cal.replicates, keys)
    prior = pyabc.Distribution(**{f"p{i}": pyabc.RV("uniform", 0.0, 1.0) for i in range(len(cal.parameters))})
    sampler, closers = _sampler(kind, workers, scheduler)
    np.random.seed(cal.seed % 2**32)  # pyabc draws from numpy's global generator in this process
    started = time.perf_counter()
    try:
        # a fixed tolerance with one generation is rejection ABC: particles straight from the prior, equal weights
        eps = pyabc.ListEpsilon([cal.epsilon] * cal.generations) if cal.epsilon else pyabc.MedianEpsilon()
        abc = pyabc.ABCSMC(sim, prior, interval_distance(keys), population_size=cal.population, sampler=sampler,
                           eps=eps)
        observed = {k: (patterns.TARGETS[k].low + patterns.TARGETS[k].high) / 2 for k in keys}  # unused by the distance
        db = folder / "abc.db"
        abc.new(f"sqlite:///{db}", observed)
        history = abc.run(minimum_epsilon=0.0, max_nr_populations=cal.generations,
                          max_total_nr_simulations=cal.max_simulations)
    finally:
        for c in closers:
            c.close()
    wall = time.perf_counter() - started
    frame, weights = history.get_distribution(m=0, t=history.max_t)
    posterior = pd.DataFrame({"draw": np.arange(len(frame), dtype=np.int64),
                              "weight": np.asarray(weights, dtype=np.float64) / float(np.sum(weights))})
    for i, prm in enumerate(cal.parameters):
        vals = [prm.at(u) for u in frame[f"p{i}"].to_numpy()]
        posterior[prm.path] = (np.asarray(vals, dtype=str).astype(object) if prm.dist == "choice" else
                               np.asarray(vals, dtype=np.int64 if prm.integer else np.float64))
    posterior.to_parquet(folder / "posterior.parquet", index=False)
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]
    from sim.sweep.manifest import library_versions, now

    prov = {
        "kind": "posterior", "draws": int(len(posterior)),
        "calibration": cal.name, "calibration_file": cal.source, "size": cal.size,
        "scenario": cal.base.name, "scenario_digest": cal.base.digest(),
        "overrides": cal.raw.get("overrides") or {},
        "targets": {k: {"low": patterns.TARGETS[k].low, "high": patterns.TARGETS[k].high,
                        "source": patterns.TARGETS[k].source} for k in keys},
        "parameters": {prm.path: prm.describe() for prm in cal.parameters},
        "rule": "no policy lever is a parameter; countries.*.FIELD multiplies every country's FIELD "
                "(sim.uncertainty.expand), so a draw scales what a policy scenario sets and never replaces it",
        "library": {"pyabc": pyabc.__version__, **library_versions()},
        "method": ("ABC-SMC (pyabc), uniform priors on prior quantiles, interval distance, " +
                   (f"fixed epsilon {cal.epsilon:g}" + (" (one generation: rejection ABC from the prior)"
                                                       if cal.generations == 1 else "")
                    if cal.epsilon else "median epsilon")),
        "sampler": kind if kind != "dask" else f"dask ({scheduler or f'LocalCluster of {workers} workers'})",
        "workers": workers, "population_size": cal.population, "generations": int(history.max_t + 1),
        "max_generations": cal.generations, "replicates_per_particle": cal.replicates,
        "epsilon_schedule": [float(e) for e in pops["epsilon"]],
        "simulations_per_generation": [int(s) for s in pops["samples"]],
        "total_simulations": int(history.total_nr_simulations),
        "accepted": int(len(posterior)), "effective_sample_size": float(1.0 / np.sum(posterior["weight"] ** 2)),
        "seed": cal.seed, "engine": "fast", "wall_seconds": round(wall, 1), "written": now(),
    }
    (folder / "posterior.json").write_text(json.dumps(prov, indent=2) + "\n")
    say(f"ABC-SMC: {prov['generations']} generations, {prov['total_simulations']} runs, epsilon "
        f"{' -> '.join(f'{e:.3g}' for e in prov['epsilon_schedule'])} in {wall:.1f} s")
    return prov


# ------------------------------------------------------------------------------------------- the posterior

def read_posterior(path: str | Path) -> pd.DataFrame:
    """A posterior file (``posterior.parquet`` or a folder holding one), checked against the interface:
    ``draw`` (int), ``weight`` (float, summing to 1), then one column per dotted scenario path."""
    p = Path(path)
    if p.is_dir():
        p = p / "posterior.parquet"
    if not p.is_file():
        raise ScenarioError(str(path), "", "no posterior.parquet there")
    try:
        df = pd.read_parquet(p)
    except Exception as exc:  # a damaged or foreign file: one line, not a traceback
        raise ScenarioError(str(p), "", f"not a readable parquet file ({type(exc).__name__})") from None
    if list(df.columns[:2]) != ["draw", "weight"] or len(df.columns) < 3 or df.empty:
        raise ScenarioError(str(p), "columns", "expected draw, weight, then one column per parameter path",
                            list(df.columns))
    if not np.isclose(df["weight"].sum(), 1.0) or (df["weight"] < 0).any():
        raise ScenarioError(str(p), "weight", "weights must be >= 0 and sum to 1", float(df["weight"].sum()))
    return df


def sample_posterior(posterior: pd.DataFrame, n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` parameter sets drawn from the posterior by weight (with replacement), as override mappings."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(posterior), size=n, replace=True, p=posterior["weight"].to_numpy() / posterior["weight"].sum())
    cols = [c for c in posterior.columns if c not in ("draw", "weight")]
    def plain(col: pd.Series, i: int) -> Any:
        if pd.api.types.is_integer_dtype(col):
            return int(col.iloc[i])
        return float(col.iloc[i]) if pd.api.types.is_numeric_dtype(col) else str(col.iloc[i])

    return [{c: plain(posterior[c], i) for c in cols} for i in idx]


def summary_table(posterior: pd.DataFrame, cal: Calibration | None = None) -> pd.DataFrame:
    """Weighted mean, median and 90% interval of every numeric parameter, the weighted share of each level of a
    choice (``parameter = level``, in ``mean``), and the prior when ``cal`` is given."""
    w = posterior["weight"].to_numpy()
    rows = []
    priors = {p.path: p for p in cal.parameters} if cal else {}
    for c in posterior.columns[2:]:
        prm = priors.get(c)
        prior = prior_text(prm) if prm else ""
        if not pd.api.types.is_numeric_dtype(posterior[c]):
            levels = list(prm.levels) if prm and prm.levels else sorted(set(posterior[c].astype(str)))
            for level in levels:
                share = float(w[(posterior[c].astype(str) == level).to_numpy()].sum() / w.sum())
                rows.append({"parameter": f"{c} = {level}", "mean": share, "q05": math.nan, "median": math.nan,
                             "q95": math.nan, "prior": f"share, prior {1 / len(levels):.2g}"})
            continue
        v = posterior[c].to_numpy(dtype=np.float64)
        order = np.argsort(v)
        cw = np.cumsum(w[order]) / w.sum()
        q = lambda x: float(v[order][min(np.searchsorted(cw, x), len(v) - 1)])  # noqa: E731
        rows.append({"parameter": c, "mean": float(np.sum(w * v) / w.sum()), "q05": q(0.05), "median": q(0.5),
                     "q95": q(0.95), "prior": prior})
    return pd.DataFrame(rows)


def _predict_one(args: tuple[dict[str, Any], dict[str, Any], int, int]) -> dict[str, float]:
    base_raw, values, seed, replicates = args
    sim = Simulator(base_raw, (), seed, replicates, ())
    return sim.measure(values)


def predictive(cal: Calibration, posterior: pd.DataFrame, draws: int, workers: int = 1) -> pd.DataFrame:
    """Posterior-predictive runs: ``draws`` parameter sets drawn by weight, each run (``cal.replicates`` seeds)
    on the compiled engine; one row per draw with its values and every compiled-engine pattern."""
    sets = sample_posterior(posterior, draws, cal.seed + 1)
    base_raw = cal.base.to_raw()
    jobs = [(base_raw, v, cal.seed + 2, cal.replicates) for v in sets]
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            out = list(pool.map(_predict_one, jobs))
    else:
        out = [_predict_one(j) for j in jobs]
    return pd.DataFrame([{"draw": i, **v, **m} for i, (v, m) in enumerate(zip(sets, out))])


def check_predictive(pred: pd.DataFrame) -> pd.DataFrame:
    """Per calibration and validation target: the predictive median and 90% interval, the share of draws inside
    the target, and a pass when the target interval overlaps the central 90% of the predictive distribution."""
    rows = []
    for name in patterns.CALIBRATION + patterns.VALIDATION:
        if name not in pred:
            continue
        t = patterns.TARGETS[name]
        v = pred[name].to_numpy(dtype=np.float64)
        ok = v[~np.isnan(v)]
        lo, med, hi = (np.quantile(ok, [0.05, 0.5, 0.95]) if ok.size else (np.nan,) * 3)
        rows.append({"group": t.group, "target": name, "interval": t.interval(), "median": float(med),
                     "q05": float(lo), "q95": float(hi), "share_in_target": float(np.mean([t.hit(x) for x in v])),
                     "measurable": int(ok.size), "passes": bool(ok.size and lo <= t.high and hi >= t.low),
                     "source": t.source})
    return pd.DataFrame(rows)


def write_report(folder: Path, cal: Calibration, posterior: pd.DataFrame, pred: pd.DataFrame,
                 checks: pd.DataFrame, prov: dict[str, Any] | None, posterior_source: str) -> Path:
    """report.md (posterior summary and the posterior-predictive table) and figures/predictive.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figs = folder / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    names = list(checks["target"])
    ncol = min(4, len(names))
    nrow = -(-len(names) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.0 * ncol, 2.6 * nrow), squeeze=False)
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, names):
        t = patterns.TARGETS[name]
        v = pred[name].to_numpy(dtype=np.float64)
        v = v[~np.isnan(v)]
        if v.size:
            ax.hist(v, bins=15, color="#4477aa" if t.group == "validation" else "#999999")
        ax.axvspan(t.low, t.high if not math.isinf(t.high) else max(t.low, float(v.max()) if v.size else t.low),
                   color="#228833", alpha=0.25, label="target")
        ax.set_title(f"{name}\n({t.group}: {t.interval()})", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(f"Posterior-predictive checks, {cal.base.name}: {len(pred)} posterior draws (green: target)",
                 fontsize=8)
    fig.tight_layout()
    fig.savefig(figs / "predictive.png", dpi=110)
    plt.close(fig)

    summ = summary_table(posterior, cal)
    lines = [f"# Calibration and posterior-predictive checks: {cal.base.name}", "",
             f"Posterior: `{posterior_source}` ({len(posterior)} particles, effective sample size "
             f"{1.0 / float(np.sum(posterior['weight'] ** 2)):.1f}).", ""]
    if prov:
        lines += [f"{prov['method']}; pyabc {prov['library']['pyabc']}, {prov['sampler']} sampler: population "
                  f"{prov['population_size']}, {prov['generations']} generations, {prov['total_simulations']} runs, "
                  f"epsilon {' → '.join(f'{e:.3g}' for e in prov['epsilon_schedule'])}, {prov['wall_seconds']} s.",
                  f"Fitted to the calibration targets only: {', '.join(prov['targets'])}.", ""]
    lines += ["## Posterior", "", "`countries.*.FIELD` is a multiplier of every country's FIELD; a choice shows the "
              "weighted share of each level (in *mean*).", "",
              "| parameter | prior | mean | median | 90% interval |", "|---|---|---|---|---|"]
    for r in summ.itertuples():
        if math.isnan(r.median):
            lines.append(f"| `{r.parameter}` | {r.prior} | {r.mean:.2f} | | |")
        else:
            lines.append(f"| `{r.parameter}` | {r.prior} | {r.mean:.4g} | {r.median:.4g} | {r.q05:.4g} – {r.q95:.4g} |")
    lines += ["", f"## Posterior-predictive checks ({len(pred)} draws, {cal.replicates} run(s) each, compiled engine)",
              "", "A target passes when its interval overlaps the central 90% of the predictive distribution. "
              "Validation targets were never used to fit.", "",
              "| group | target | target interval | predictive median | 90% interval | share of draws in target | |",
              "|---|---|---|---|---|---|---|"]
    for r in checks.itertuples():
        lines.append(f"| {r.group} | `{r.target}` | {r.interval} | {r.median:.3g} | {r.q05:.3g} – {r.q95:.3g} | "
                     f"{r.share_in_target:.2f} | {'pass' if r.passes else '**fail**'} |")
    lines += ["", "![posterior-predictive distributions](figures/predictive.png)", "",
              "Sources of the targets:", ""]
    lines += [f"- `{r.target}`: {r.source}" for r in checks.itertuples()]
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n")
    pred.to_csv(folder / "predictive.csv", index=False)
    return path
