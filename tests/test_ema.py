"""sim.ema: experiment files as EMA Workbench models, run with EMA's own perform_experiments, then PRIM."""

from __future__ import annotations

import math
import pickle
import warnings

import numpy as np
import pytest
import yaml
import ema_workbench as ema
from ema_workbench.analysis import prim

from sim import api
from sim.ema import SCENARIO_LEVER, SEED_KEY, identifier, mean_of_replicates, model_from_experiment, prim_inputs
from sim.sweep.design import load_experiment
from tests.conftest import ROOT, SCENARIOS

SENSITIVITY = ROOT / "experiments" / "sensitivity.yaml"
POLICIES = ROOT / "experiments" / "policies.yaml"
GRID = ROOT / "experiments" / "harmonization_mla.yaml"


def test_parameters_mirror_the_experiment_with_identifier_names():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = model_from_experiment(SENSITIVITY, size="ci")
    # EMA 3 warns about names that are not identifiers: there must be none
    assert not [w for w in caught if "identifier" in str(w.message)]
    exp = load_experiment(SENSITIVITY, "ci")
    params = {u.variable_name[0]: u for u in model.uncertainties}
    assert list(params) == [f.path for f in exp.factors]
    assert not list(model.levers)
    for f in exp.factors:
        p = params[f.path]
        assert p.name == f.path.replace(".", "_") and p.name.isidentifier()
        if f.integer:
            assert isinstance(p, ema.IntegerParameter)
            assert (p.lower_bound, p.upper_bound) == (1, 6)  # the values range [1, 7] takes in the sweeps
        else:
            assert isinstance(p, ema.RealParameter)
            assert p.lower_bound == pytest.approx(f.low) and p.upper_bound == pytest.approx(f.high)
            middle = math.sqrt(f.low * f.high) if f.log else (f.low + f.high) / 2  # log-uniform: geometric mean
            assert p.dist.ppf(0.5) == pytest.approx(middle, rel=1e-9)
    assert [o.name for o in model.outcomes] == list(exp.metrics)
    assert model.replications == [{SEED_KEY: s} for s in api.replicate_seeds(exp.seed, exp.replicates)]
    assert model.name == "sensitivity"


def test_levels_scenario_lever_and_chosen_levers():
    model = model_from_experiment(GRID, size="ci", levers=["policy.mla_speed"])
    (h,) = list(model.uncertainties)
    (speed,) = list(model.levers)
    assert isinstance(h, ema.CategoricalParameter) and [c.value for c in h.categories] == [0.0, 1.0]
    assert speed.name == "policy_mla_speed" and speed.variable_name == ["policy.mla_speed"]
    assert len(model.replications) == 3
    policies = model_from_experiment(POLICIES, size="ci")
    (lever,) = list(policies.levers)
    assert lever.name == SCENARIO_LEVER and not list(policies.uncertainties)
    assert [c.name for c in lever.categories][:2] == ["baseline", "universal_budapest"]
    with pytest.raises(ValueError, match="not a factor"):
        model_from_experiment(GRID, levers=["policy.nope"])
    with pytest.raises(ValueError, match="unknown metric"):
        model_from_experiment(GRID, metrics=["nope"])


def test_identifiers_never_clash():
    assert identifier("policy.mla_speed") == "policy_mla_speed"
    assert identifier("scenario") == "scenario_2" and identifier("model") == "model_2"
    assert identifier("a.b", taken={"a_b"}) == "a_b_2"
    assert identifier("countries.1X.law") == "countries_1X_law"
    assert identifier("3d.x").isidentifier()


def test_mean_of_replicates_ignores_undefined():
    assert mean_of_replicates([1.0, math.nan, 3.0]) == 2.0
    assert math.isnan(mean_of_replicates([math.nan, math.nan]))


def test_perform_experiments_matches_evaluate_and_prim_finds_a_box(tmp_path):
    doc = yaml.safe_load(SENSITIVITY.read_text())
    doc["base"] = str(SCENARIOS / "baseline.yaml")
    doc["sizes"]["ci"]["replicates"] = 2
    path = tmp_path / "sens.yaml"
    path.write_text(yaml.safe_dump(doc))
    model = model_from_experiment(path, size="ci", metrics=["persistence", "dismantled_share"])
    experiments, outcomes = ema.perform_experiments(model, scenarios=24, uncertainty_sampling_kwargs={"rng": 3})
    assert len(experiments) == 24 and outcomes["persistence"].shape == (24,)
    assert experiments["enforcement_case_threshold"].between(1, 6).all()

    # an EMA experiment is the mean of the experiment's replicates, run through sim.api on the same values
    exp = load_experiment(path, "ci")
    for i in (0, 17):
        row = experiments.iloc[i]
        values = {u.variable_name[0]: row[u.name] for u in model.uncertainties}
        df = api.evaluate(exp.base, values, replicates=exp.replicates, root=exp.seed,
                          metrics=["persistence", "dismantled_share"])
        assert outcomes["persistence"][i] == pytest.approx(df["persistence"].mean(), rel=1e-12)
        assert outcomes["dismantled_share"][i] == pytest.approx(mean_of_replicates(df["dismantled_share"]), rel=1e-12)

    y = outcomes["persistence"] <= np.percentile(outcomes["persistence"], 30)
    x = prim_inputs(experiments)
    assert list(x.columns) == [u.name for u in model.uncertainties]
    box = prim.Prim(x, y).find_box()
    box_stats, limits = box.inspect(style="data")[0]
    assert box_stats["density"] > y.mean() and 0 < box_stats["mass"] < 1
    assert set(limits.index) <= set(x.columns) and len(limits.index) >= 1


def test_lever_only_model_runs_each_scenario_file():
    model = model_from_experiment(POLICIES, size="ci", metrics=["persistence"])
    experiments, outcomes = ema.perform_experiments(model, scenarios=1, policies=4, lever_sampling_kwargs={"rng": 0})
    exp = load_experiment(POLICIES, "ci")
    for level, value in zip(experiments[SCENARIO_LEVER], outcomes["persistence"]):
        df = api.evaluate(exp.bases[str(level)], replicates=exp.replicates, root=exp.seed, metrics="persistence")
        assert value == pytest.approx(df["persistence"].mean(), rel=1e-12)


def test_model_function_pickles():
    model = model_from_experiment(GRID, size="ci")
    fn = pickle.loads(pickle.dumps(model.function))
    out = fn(**{"policy.harmonization": 1.0, "policy.mla_speed": np.float64(0.1), SEED_KEY: np.uint64(7)})
    assert set(out) == set(load_experiment(GRID, "ci").metrics)
    assert all(isinstance(v, float) for v in out.values())


def test_multiprocessing_evaluator_gives_the_sequential_results():
    model = model_from_experiment(GRID, size="ci", metrics=["persistence"])
    with ema.MultiprocessingEvaluator(model, n_processes=2) as evaluator:
        parallel, out_parallel = evaluator.perform_experiments(scenarios=4, uncertainty_sampling_kwargs={"rng": 1})
    serial, out_serial = ema.perform_experiments(model, scenarios=4, uncertainty_sampling_kwargs={"rng": 1})
    assert list(parallel["policy_mla_speed"]) == list(serial["policy_mla_speed"])
    np.testing.assert_array_equal(out_parallel["persistence"], out_serial["persistence"])


def test_ema_and_salib_stay_optional():
    """Without the extra, the API and the sweeps import; sim.ema fails with the install line."""
    import subprocess
    import sys

    block = "import sys; sys.modules['ema_workbench'] = None; sys.modules['SALib'] = None; "
    ok = subprocess.run([sys.executable, "-c", block + "import sim.api, sim.sweep, sim.sweep.runner, sim.cli"],
                        capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([sys.executable, "-c", block + "import sim.ema"], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert bad.returncode != 0 and "pip install 'piracysim[ema]'" in bad.stderr
