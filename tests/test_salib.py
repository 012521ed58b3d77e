"""sim.sweep.to_salib: a saltelli sweep is SALib's Sobol design in another row order, and SALib's analysis of it
reproduces the project's indices."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import yaml
from SALib.analyze import sobol
from SALib.sample import sobol as sobol_sample

from sim.analysis.sensitivity import indices_from_sweep
from sim.sweep import to_salib
from sim.sweep.design import load_experiment
from sim.sweep.runner import ExecutorSpec, run_sweep
from sim.sweep.store import read_runs
from tests.conftest import SCENARIOS

FACTORS = {"policy.mla_speed": {"range": [0.05, 2.0], "scale": "log"},
           "enforcement.identify_prob": {"range": [0.1, 0.6]},
           "policy.harmonization": {"range": [0.0, 1.0]}}


def write_exp(tmp_path, **fields):
    doc = {"name": "sobol", "base": str(SCENARIOS / "tiny.yaml"), "overrides": {"horizon_days": 300},
           "factors": FACTORS, "design": "saltelli", "samples": 16, "replicates": 2, "seed": 4242,
           "metrics": ["persistence", "dismantled_share"]}
    doc.update(fields)
    path = tmp_path / "sobol.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return load_experiment(path)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("salib")
    exp = write_exp(tmp)
    run_sweep(exp, tmp / "out", ExecutorSpec("serial"))
    return exp, tmp / "out"


def test_the_design_is_salibs_sobol_sample_reordered(tmp_path):
    exp = write_exp(tmp_path)
    problem = {"num_vars": 3, "names": list(FACTORS), "bounds": [[0.05, 2.0], [0.1, 0.6], [0.0, 1.0]],
               "dists": ["logunif", "unif", "unif"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # SALib hands scipy the legacy seed= keyword
        salib_x = sobol_sample.sample(problem, 16, calc_second_order=False, seed=np.random.default_rng(exp.seed))
    ours = np.array([[pt[f] for f in FACTORS] for pt in exp.points]).reshape(5, 16, 3)   # A, B, AB_1..AB_3
    reordered = np.concatenate([ours[0][:, None], ours[2:].transpose(1, 0, 2), ours[1][:, None]], axis=1)
    np.testing.assert_allclose(reordered.reshape(-1, 3), salib_x, rtol=1e-12, atol=0)


def test_salib_reproduces_the_project_indices(sweep):
    exp, out = sweep
    runs = read_runs(out)
    names = [f.path for f in exp.factors]
    for metric in exp.metrics:
        problem, y = to_salib(out, metric, experiment=exp)
        assert problem["names"] == names and problem["num_vars"] == 3
        assert problem["bounds"] == [[0.05, 2.0], [0.1, 0.6], [0.0, 1.0]]
        assert problem["dists"] == ["logunif", "unif", "unif"]
        assert y.shape == (16 * 5,)
        si = sobol.analyze(problem, y, calc_second_order=False, seed=1)
        ours = indices_from_sweep(runs, names, metric, n_resamples=9)
        np.testing.assert_allclose(si["ST"], ours["total_order"], rtol=0, atol=1e-12)
        # first order: the same estimator and variance; SALib centres on the mean of all outputs, scipy on the
        # mean of A and B, which shifts S1_i by exactly (mean_AB - mean_all) * mean(AB_i - A) / var
        means = runs.groupby("point")[metric].mean().to_numpy().reshape(5, 16)
        a, b, ab = means[0], means[1], means[2:]
        shift = (np.r_[a, b].mean() - means.mean()) * (ab - a).mean(axis=1) / np.r_[a, b].var()
        np.testing.assert_allclose(si["S1"] - ours["first_order"].to_numpy(), shift, rtol=0, atol=1e-12)
        assert np.abs(si["S1"] - ours["first_order"]).max() < 0.05


def test_runs_table_without_experiment_and_bad_input(sweep, tmp_path):
    exp, out = sweep
    runs = read_runs(out)
    problem, y = to_salib(runs, "persistence")
    assert problem["names"] == list(FACTORS) and "dists" not in problem
    lo, hi = problem["bounds"][0]
    assert 0.05 <= lo < hi <= 2.0
    np.testing.assert_array_equal(y, to_salib(out, "persistence", experiment=exp)[1])
    with pytest.raises(ValueError, match="not a complete saltelli sweep"):
        to_salib(runs[runs["point"] != 7], "persistence")
    with pytest.raises(ValueError, match="no metric"):
        to_salib(runs, "supply")
    grid = write_exp(tmp_path, design="grid", factors={"policy.mla_speed": {"levels": [0.5, 1.0]}}, replicates=1)
    run_sweep(grid, tmp_path / "grid", ExecutorSpec("serial"))
    with pytest.raises(ValueError, match="saltelli design"):
        to_salib(tmp_path / "grid", "persistence")
    assert isinstance(read_runs(tmp_path / "grid"), pd.DataFrame)
