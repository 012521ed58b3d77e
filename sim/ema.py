"""EMA Workbench interop: an experiment file as an EMA ``ReplicatorModel``.

```python
from ema_workbench import perform_experiments
from sim.ema import model_from_experiment

model = model_from_experiment("experiments/sensitivity.yaml", size="ci")
experiments, outcomes = perform_experiments(model, scenarios=64)
```

The experiment's factors become EMA parameters: a ``range`` a :class:`RealParameter` (uniform, or log-uniform
on a ``log`` scale), an ``integer`` range an :class:`IntegerParameter` over the values the sweep design takes
(``floor(low)`` .. ``ceil(high) - 1``), ``levels`` a :class:`CategoricalParameter` (a single level is set on
every run, not sampled). Factors are uncertainties unless named in ``levers``; a ``scenario`` factor (scenario
files) is always a lever, named ``scenario_file`` because EMA keeps its own ``scenario`` column.

EMA 3 wants parameter names that are Python identifiers: ``policy.mla_speed`` becomes ``policy_mla_speed``,
and the parameter's ``variable_name`` carries the dotted path the model sets. Outcomes are the experiment's
metrics, each the mean over the replicates (NaN replicates ignored; NaN when every replicate is undefined).
Replicates are the experiment's: replicate r of every EMA experiment runs with the seed of replicate r in the
sweeps under common random numbers (``sim.api.replicate_seeds(experiment seed, replicates)``), so EMA
experiments are paired like the sweeps' design points.

EMA Workbench is an optional extra: ``pip install 'piracysim[ema]'``.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sim import api
from sim.metrics import METRICS
from sim.scenario import Scenario
from sim.sweep.design import SCENARIO_FACTOR, Factor, load_experiment

__all__ = ["model_from_experiment", "prim_inputs", "identifier", "mean_of_replicates", "ExperimentModel",
           "ExperimentFunction", "SCENARIO_LEVER", "SEED_KEY"]

SCENARIO_LEVER = "scenario_file"      # EMA's experiments table has its own "scenario", "policy" and "model"
SEED_KEY = "replicate_seed"           # the key each EMA replication passes to the model function
_RESERVED = {"scenario", "policy", "model", SEED_KEY}


def _import_ema() -> Any:
    """Import EMA Workbench, or fail with the install line."""
    try:
        with warnings.catch_warnings():
            # EMA announces at import that its optional ipyparallel evaluator is unavailable: not our concern
            warnings.filterwarnings("ignore", message="ipyparallel not installed")
            import ema_workbench
    except ImportError:
        raise ImportError("EMA Workbench is not installed: pip install 'piracysim[ema]'") from None
    return ema_workbench


ema = _import_ema()


class ExperimentModel(ema.ReplicatorModel):
    """EMA's ``ReplicatorModel``, guarded against a leak in EMA 3.0: its result callback merges each policy's
    values into the (shared) scenario sample, and a model without uncertainties then sees a lever in both the
    scenario and the policy and stops ("Parameters exist in both ..."). Only uncertainties are kept from the
    scenario sample."""

    def run_model(self, scenario: Any, policy: Any, constants: Any) -> None:
        """Run one EMA experiment (all its replications)."""
        names = {u.name for u in self.uncertainties}
        scenario.data = {k: v for k, v in scenario.data.items() if k in names}
        super().run_model(scenario, policy, constants)


def identifier(path: str, taken: Iterable[str] = ()) -> str:
    """A Python identifier for a dotted scenario path (``policy.mla_speed`` -> ``policy_mla_speed``), distinct
    from ``taken`` and from EMA's own column names."""
    name = re.sub(r"\W", "_", path) or "_"
    if name[0].isdigit():
        name = "_" + name
    used = set(taken) | _RESERVED
    base, i = name, 2
    while name in used:
        name = f"{base}_{i}"
        i += 1
    return name


def mean_of_replicates(values: Sequence[float]) -> float:
    """The mean of a metric over replicates, ignoring NaN (undefined) ones; NaN when all are undefined."""
    arr = np.asarray(values, dtype=np.float64)
    ok = arr[~np.isnan(arr)]
    return float(ok.mean()) if ok.size else math.nan


class ExperimentFunction:
    """The model function EMA calls once per replication: applies the dotted-path values to the experiment's
    base (or the chosen scenario file), runs one seed and returns the metrics. Picklable, so EMA's
    multiprocessing evaluator can ship it to workers; each worker keeps its compiled worlds in the
    :func:`sim.api.world` cache."""

    def __init__(self, base: Scenario, bases: dict[str, Scenario], metrics: Sequence[str], engine: str | None,
                 fixed: dict[str, Any] | None = None) -> None:
        self.base, self.bases, self.metrics, self.engine = base, dict(bases), tuple(metrics), engine
        self.fixed = dict(fixed or {})  # single-level factors: set on every run, not sampled

    def __call__(self, **values: Any) -> dict[str, float]:
        """Run one replicate: ``values`` holds dotted paths, ``scenario_file`` and ``replicate_seed``."""
        seed = values.pop(SEED_KEY)
        level = values.pop(SCENARIO_LEVER, None)
        scenario = self.base if level is None else self.bases[str(level)]
        world = api.world(scenario, {**self.fixed, **values})
        return api.run_metrics(world, int(seed), self.metrics, self.engine)


def _parameter(f: Factor, name: str) -> Any:
    """The EMA parameter of a factor (see the module docstring for the mapping)."""
    if f.levels is not None:
        if f.path == SCENARIO_FACTOR:
            from ema_workbench.em_framework.parameters import Category

            # readable category names (the file's stem); the value is the level as written in the experiment
            cats = [Category(Path(str(level)).stem, str(level)) for level in f.levels]
            return ema.CategoricalParameter(name, cats)
        return ema.CategoricalParameter(name, list(f.levels), variable_name=f.path)
    if f.integer:
        if f.log:
            raise ValueError(f"factors.{f.path}: an integer range on a log scale has no EMA parameter")
        return ema.IntegerParameter(name, int(math.floor(f.low)), int(math.ceil(f.high)) - 1, variable_name=f.path)
    if f.log:
        from scipy.stats import loguniform

        return ema.RealParameter.from_dist(name, loguniform(f.low, f.high), variable_name=f.path)
    return ema.RealParameter(name, f.low, f.high, variable_name=f.path)


def model_from_experiment(path: str | Path, size: str | None = None, *, levers: Iterable[str] = (),
                          metrics: Iterable[str] | None = None, engine: str | None = None,
                          name: str | None = None) -> Any:
    """An EMA Workbench ``ReplicatorModel`` for the experiment file ``path`` (at ``size``, e.g. ``ci``).

    ``levers``: dotted factor paths to make levers rather than uncertainties (a ``scenario`` factor always
    is one). ``metrics``: the outcomes (default: the experiment's). ``engine``: as :func:`sim.engines.run`.
    The model's name is the experiment's name made an identifier unless ``name`` is given. The experiment's
    design, samples and sizes' factor changes are used only for the factors; EMA does its own sampling.
    """
    exp = load_experiment(path, size)
    names = list(exp.metrics if metrics is None else metrics)
    for m in names:
        if m not in METRICS:
            raise ValueError(f"unknown metric {m!r}; expected some of: {', '.join(METRICS)}")
    lever_paths = set(levers)
    unknown = lever_paths - {f.path for f in exp.factors}
    if unknown:
        raise ValueError(f"levers: {sorted(unknown)[0]!r} is not a factor of {path}")

    # a factor with one level is no parameter (EMA's replicator passes constants by name, not by variable
    # name): the model function sets it on every run
    fixed = {f.path: f.levels[0] for f in exp.factors if f.levels is not None and len(f.levels) == 1
             and f.path != SCENARIO_FACTOR}
    bases = exp.bases
    single_scenario = [f for f in exp.factors if f.path == SCENARIO_FACTOR and len(f.levels or ()) == 1]
    base = bases[str(single_scenario[0].levels[0])] if single_scenario else exp.base
    function = ExperimentFunction(base, bases, names, engine, fixed)
    model = ExperimentModel(identifier(name or exp.name), function=function)
    uncertainties, lever_params, taken = [], [], set()
    for f in exp.factors:
        if f.levels is not None and len(f.levels) == 1:
            continue
        pname = SCENARIO_LEVER if f.path == SCENARIO_FACTOR else identifier(f.path, taken)
        taken.add(pname)
        param = _parameter(f, pname)
        if f.path == SCENARIO_FACTOR or f.path in lever_paths:
            lever_params.append(param)
        else:
            uncertainties.append(param)
    model.uncertainties = uncertainties
    model.levers = lever_params
    model.outcomes = [ema.ScalarOutcome(m, variable_name=m, function=mean_of_replicates) for m in names]
    model.replications = [{SEED_KEY: s} for s in api.replicate_seeds(exp.seed, exp.replicates)]
    return model


def prim_inputs(experiments: Any) -> Any:
    """The input columns of EMA's experiments table, ready for ``ema_workbench.analysis.prim.Prim``: EMA's own
    ``scenario``, ``policy`` and ``model`` columns dropped, and integer columns as float, because PRIM's
    pasting step in EMA 3.0 writes fractional limits into them, which pandas 3 refuses."""
    x = experiments.drop(columns=[c for c in ("scenario", "policy", "model") if c in experiments.columns])
    ints = [c for c in x.columns if np.issubdtype(x[c].dtype, np.integer)]
    return x.astype({c: np.float64 for c in ints})
