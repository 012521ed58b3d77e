"""sim.api: evaluate, replicate_seeds and the world cache, against the engines and the sweeps themselves."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml

from sim import api, engines, metrics
from sim.scenario import ScenarioError, load
from sim.sweep.design import load_experiment
from sim.sweep.runner import ExecutorSpec, run_sweep
from sim.sweep.store import read_runs
from tests.conftest import SCENARIOS

TINY = SCENARIOS / "tiny.yaml"


def undefined(value) -> bool:
    """compute() marks an undefined metric None today and NaN once every table uses NaN: accept both."""
    return value is None or (isinstance(value, float) and math.isnan(value))


@pytest.fixture(autouse=True)
def fresh_cache():
    api.cache_clear()
    yield
    api.cache_clear()


def test_evaluate_one_row_per_run_equal_to_the_engine():
    seeds = [1, 2, np.uint64(2**63 + 5)]
    df = api.evaluate(TINY, {"policy.mla_speed": 0.5}, seeds=seeds)
    assert list(df.columns) == ["replicate", "seed", "policy.mla_speed", *metrics.METRICS]
    assert list(df["replicate"]) == [0, 1, 2] and df["seed"].dtype == np.uint64
    assert [int(s) for s in df["seed"]] == [1, 2, 2**63 + 5]
    world = engines.as_world(load(TINY, {"policy.mla_speed": 0.5}))
    for row, seed in zip(df.itertuples(index=False), seeds):
        expected = metrics.compute(engines.run(world, int(seed)))
        for m in metrics.METRICS:
            got = getattr(row, m)
            assert isinstance(got, float)
            if undefined(expected[m]):
                assert math.isnan(got)      # undefined is NaN in the table, never None
            else:
                assert got == expected[m]
    assert all(df[m].dtype == np.float64 for m in metrics.METRICS)


def test_undefined_metrics_are_nan(tiny):
    tiny["horizon_days"] = 30  # too short for any MLA answer or network end
    df = api.evaluate(tiny, seeds=[3], metrics=["mla_delay_median", "lifetime_median", "persistence"])
    raw = metrics.compute(engines.run(api.world(tiny), 3))
    assert undefined(raw["mla_delay_median"]) or undefined(raw["lifetime_median"])
    for m in ("mla_delay_median", "lifetime_median"):
        assert undefined(raw[m]) == bool(np.isnan(df[m].iloc[0]))
    assert not df["persistence"].isna().any()
    assert df.map(lambda v: v is None).sum().sum() == 0


def test_replicate_seeds_follow_the_sweep_rule(tmp_path):
    doc = {"name": "t", "base": str(TINY), "factors": {"policy.mla_speed": {"levels": [0.5, 1.0]}},
           "replicates": 4, "seed": 77}
    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump(doc))
    exp = load_experiment(path)
    assert api.replicate_seeds(77, 4) == [exp.seed_of(0, r) for r in range(4)] == [exp.seed_of(1, r) for r in range(4)]
    path.write_text(yaml.safe_dump({**doc, "common_random_numbers": False}))
    exp = load_experiment(path)
    assert api.replicate_seeds(77, 4, point=1) == [exp.seed_of(1, r) for r in range(4)]
    assert api.replicate_seeds(77, 4, point=1) != api.replicate_seeds(77, 4)
    with pytest.raises(ValueError):
        api.replicate_seeds(-1, 3)


def test_evaluate_reproduces_a_sweep_and_the_runner_shares_the_cache(tmp_path):
    doc = {"name": "t", "base": str(TINY), "overrides": {"horizon_days": 200},
           "factors": {"policy.mla_speed": {"levels": [0.5, 1.0]}, "enforcement.case_threshold": {"levels": [2, 4]}},
           "replicates": 3, "seed": 5, "metrics": ["persistence", "dismantled_share", "mla_delay_median"]}
    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump(doc))
    exp = load_experiment(path)
    run_sweep(exp, tmp_path / "out", ExecutorSpec("serial"))
    runs = read_runs(tmp_path / "out")
    info = api.cache_info()
    assert info["misses"] == len(exp.points)          # the serial runner compiled each point once, through api
    for p, values in enumerate(exp.points):
        df = api.evaluate(exp.base, values, replicates=exp.replicates, root=exp.seed, metrics=list(exp.metrics))
        sweep = runs[runs["point"] == p].reset_index(drop=True)
        assert [int(s) for s in df["seed"]] == [int(s) for s in sweep["seed"]]
        pd.testing.assert_frame_equal(df[list(exp.metrics)], sweep[list(exp.metrics)], check_exact=True)
    assert api.cache_info()["misses"] == info["misses"]  # every point's world came from the runner's entries


def test_numpy_scalars_and_integral_floats_are_accepted():
    plain = api.evaluate(TINY, {"enforcement.case_threshold": 3, "policy.mla_speed": 0.5}, seeds=[4, 5])
    for threshold, speed in ((np.int64(3), np.float64(0.5)), (3.0, 0.5), (np.float32(3.0), np.float64(0.5)),
                             (np.int32(3), 0.5)):
        df = api.evaluate(TINY, {"enforcement.case_threshold": threshold, "policy.mla_speed": speed}, seeds=[4, 5])
        pd.testing.assert_frame_equal(df, plain, check_exact=True)
    assert api.cache_info()["size"] == 1  # all spell the same override: one world
    with pytest.raises(ScenarioError, match=r"enforcement\.case_threshold: expected a whole number \(got 3\.5\)"):
        api.evaluate(TINY, {"enforcement.case_threshold": 3.5})
    with pytest.raises(ScenarioError, match="policy.mla_speed"):
        api.world(TINY, [("policy.mla_speed", np.float64(-1.0))])


def test_world_cache_is_keyed_by_scenario_digest_and_overrides():
    sc = load(TINY)
    w = api.world(TINY, {"policy.mla_speed": 0.5})
    # a file, a Scenario and its resolved raw data are the same scenario: one entry
    assert api.world(sc, {"policy.mla_speed": 0.5}) is w
    assert api.world(sc.to_raw(), [("policy.mla_speed", np.float64(0.5))]) is w
    assert api.world(sc, {"policy.mla_speed": 0.25}) is not w
    assert api.world(sc) is not w and api.world(sc).digest == sc.digest()
    info = api.cache_info()
    assert info == {"hits": 3, "misses": 3, "size": 3}
    assert w.digest == load(TINY, {"policy.mla_speed": 0.5}).digest()


def test_scenario_file_changes_are_seen(tmp_path):
    path = tmp_path / "s.yaml"
    raw = yaml.safe_load(TINY.read_text())
    path.write_text(yaml.safe_dump(raw))
    first = api.world(path)
    raw["policy"] = {**(raw.get("policy") or {}), "mla_speed": 0.3}
    path.write_text(yaml.safe_dump(raw))
    assert api.world(path) is not first


def test_bad_arguments():
    with pytest.raises(ValueError, match="seeds or replicates"):
        api.evaluate(TINY, seeds=[1], replicates=2)
    with pytest.raises(ValueError, match="unknown metric 'nope'"):
        api.evaluate(TINY, metrics=["persistence", "nope"])
    with pytest.raises(ScenarioError, match="file not found"):
        api.evaluate(SCENARIOS / "missing.yaml")
    with pytest.raises(TypeError):
        api.world(42)


def test_default_is_one_run_with_the_scenario_seed():
    df = api.evaluate(TINY, metrics="persistence")
    assert list(df.columns) == ["replicate", "seed", "persistence"]
    assert len(df) == 1 and int(df["seed"].iloc[0]) == load(TINY).seed
