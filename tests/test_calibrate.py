"""Calibration by ABC (sim/calibrate.py, piracysim calibrate): real pyabc, real worker processes, a real Dask
LocalCluster, real files. The fit uses calibration targets only; the posterior file follows the interface that
experiments sample from (draw, weight, one column per dotted scenario path)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import calibrate, patterns, uncertainty
from sim.cli import main
from sim.scenario import load, with_overrides
from sim.sweep.design import load_experiment
from tests.conftest import SCENARIOS

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENT = ROOT / "experiments" / "calibration" / "baseline.yaml"
COMMITTED = ROOT / "scenarios" / "data" / "posterior"

SMALL = """\
name: small
base: {base}
overrides: {{warmup_days: 730, horizon_days: 2190}}
parameters:
  enforcement.detect_prob: {{range: [0.005, 0.05], scale: log}}
  pirates.market_capacity: {{range: [60, 240], integer: true}}
targets: [survival_without_arrest, arrests_per_market_year]
population: 4
generations: 1
draws: 2
seed: 7
"""


def _small(tmp_path: Path, text: str = SMALL) -> Path:
    path = tmp_path / "cal.yaml"
    path.write_text(text.format(base=SCENARIOS / "baseline.yaml"))
    return path


def _check_posterior(folder: Path, cal: calibrate.Calibration) -> pd.DataFrame:
    post = pd.read_parquet(folder / "posterior.parquet")
    assert list(post.columns) == ["draw", "weight", *[p.path for p in cal.parameters]]
    assert post["draw"].dtype == np.int64 and list(post["draw"]) == list(range(len(post)))
    assert post["weight"].dtype == np.float64 and post["weight"].sum() == pytest.approx(1.0)
    for p in cal.parameters:
        if p.dist == "choice":
            assert set(post[p.path]) <= set(p.levels), p.path
            continue
        assert post[p.path].between(p.low, p.high).all(), p.path
        if p.integer:
            assert post[p.path].dtype == np.int64
    prov = json.loads((folder / "posterior.json").read_text())
    for key in ("scenario_digest", "targets", "library", "population_size", "epsilon_schedule", "seed",
                "wall_seconds", "parameters", "total_simulations", "rule"):
        assert key in prov, key
    assert prov["scenario_digest"] == cal.base.digest()
    assert set(prov["targets"]) == set(cal.targets) <= set(patterns.CALIBRATION)
    assert prov["library"]["pyabc"].startswith("0.13")
    assert len(prov["epsilon_schedule"]) == prov["generations"] >= 1
    assert prov["kind"] == "posterior" and prov["draws"] == len(post)
    # the posterior is a draws file as experiments take it (uncertainty: {file: ...}), with the priors' scales
    draws = uncertainty.load_draws(folder / "posterior.parquet")
    assert uncertainty.parameters(draws) == [p.path for p in cal.parameters]
    for p in cal.parameters:
        assert uncertainty.read_sidecar(folder / "posterior.parquet")["parameters"][p.path]["scale"] == p.scale
    return post


def test_distance_is_zero_inside_the_intervals():
    d = calibrate.interval_distance(("survival_without_arrest", "arrests_per_market_year"))
    assert d({"survival_without_arrest": 0.8, "arrests_per_market_year": 1.0}, {}) == 0.0
    # 0.1 below a 0.3-wide interval and 1.5 above a 1.5-wide one
    assert d({"survival_without_arrest": 0.6, "arrests_per_market_year": 3.5}, {}) == pytest.approx(
        math.hypot(0.1 / 0.3, 1.5 / 1.5))
    assert d({"survival_without_arrest": float("nan"), "arrests_per_market_year": 1.0}, {}) == calibrate.NAN_DISTANCE


def test_parameters_map_prior_quantiles():
    p = calibrate.Parameter("enforcement.detect_prob", "loguniform", 0.005, 0.05)
    assert p.at(0.0) == pytest.approx(0.005) and p.at(1.0) == pytest.approx(0.05)
    assert p.at(0.5) == pytest.approx(math.sqrt(0.005 * 0.05))
    whole = calibrate.Parameter("pirates.market_capacity", "uniform", 60, 240, integer=True)
    assert whole.at(0.5) == 150 and whole.at(1.0) == 240 and whole.at(0.0) == 60  # never 241 at the top
    rule = uncertainty.shared_prior("enforcement.evidence_rule")
    assert (rule.at(0.2), rule.at(0.7), rule.at(1.0)) == ("first", "all", "all")
    # the quantile mapping is the prior draws file's (sim.uncertainty.Prior.sample), value for value
    u = np.linspace(0, 0.999, 50)
    for prior in uncertainty.PRIORS:
        assert [prior.at(x) for x in u] == list(prior.sample(u)), prior.path


def test_the_default_calibration_uses_the_shared_priors_and_no_policy_lever():
    """One definition of each prior: the committed calibration's unknowns are sim.uncertainty's objects (every
    unknown of the prior draws file, plus the countries' capacity and priority), none a policy lever."""
    for size in ("ci", "full"):
        cal = calibrate.load_calibration(EXPERIMENT, size)
        assert all(p is uncertainty.shared_prior(p.path) for p in cal.parameters)
        paths = [p.path for p in cal.parameters]
        assert set(paths) == {p.path for p in uncertainty.PRIORS + uncertainty.COUNTRY_PRIORS}
        assert not [x for x in paths if x.startswith("policy.")]
    full = calibrate.load_calibration(EXPERIMENT, "full")
    assert full.population >= 512 and full.generations <= 4


def test_calibration_applies_country_multipliers_as_experiments_do(tmp_path):
    """A posterior row gives the same scenario in the ABC (calibrate.scenario_of) as in a sweep that takes the
    row from a draws file: countries.*.FIELD multiplies every country's value, clipped and rounded alike."""
    row = {"enforcement.detect_prob": 0.01, "enforcement.evidence_rule": "all", "countries.*.capacity": 0.5,
           "countries.*.priority": 1.3, "countries.*.extradites": 1.2, "countries.*.retention_days": 1.5}
    raw = load(SCENARIOS / "baseline.yaml").to_raw()
    mine = calibrate.scenario_of(raw, row)
    pd.DataFrame([{"draw": 0, "weight": 1.0, **row}]).to_parquet(tmp_path / "d.parquet", index=False)
    (tmp_path / "exp.yaml").write_text(f"name: one\nbase: {SCENARIOS / 'baseline.yaml'}\ndesign: grid\n"
                                       "uncertainty: {file: d.parquet}\nreplicates: 1\nseed: 1\n")
    exp = load_experiment(tmp_path / "exp.yaml")
    assert len(exp.points) == 1
    theirs = with_overrides(exp.scenario_of(0), list(exp.points[0].items()), "one")  # as api.world applies a point
    assert {**theirs.to_raw(), "name": ""} == {**mine.to_raw(), "name": ""}
    got = {c["id"]: c for c in mine.to_raw()["countries"]}
    was = {c["id"]: c for c in raw["countries"]}
    assert got["DEU"]["capacity"] == 4 and got["MDA"]["capacity"] == 0  # 8 x 0.5; 1 x 0.5 rounds to even
    assert got["NLD"]["priority"] == 1.0 and got["RUS"]["priority"] == pytest.approx(0.65)  # capped at 1; 0.5 x 1.3
    assert got["NLD"]["retention_days"] == 270 and mine.to_raw()["policy"] == raw["policy"]
    assert all(got[k]["extradites"] == pytest.approx(min(1.0, was[k]["extradites"] * 1.2)) for k in got)


def test_a_policy_lever_is_refused_as_an_unknown(tmp_path, capsys):
    path = tmp_path / "cal.yaml"
    path.write_text(SMALL.format(base=SCENARIOS / "baseline.yaml").replace(
        "pirates.market_capacity: {range: [60, 240], integer: true}", "policy.capacity_scale: {range: [0.5, 2.0]}"))
    assert main(["calibrate", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "cal.yaml: parameters.policy.capacity_scale: a policy lever cannot be an unknown" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "o").exists()


def test_runs_are_deterministic_per_particle():
    cal = calibrate.load_calibration(EXPERIMENT, "ci")
    sim = calibrate.Simulator(cal.base.to_raw(), cal.parameters, cal.seed, 1, cal.targets)
    u = {f"p{i}": 0.5 for i in range(len(cal.parameters))}
    assert sim(u) == sim(u)
    assert calibrate.particle_seed(1, {"a": 0.1}, 0) != calibrate.particle_seed(1, {"a": 0.2}, 0)
    key = f"p{[p.path for p in cal.parameters].index('enforcement.detect_prob')}"
    # detection at the top of its prior against the bottom: more takedowns, more never-arrested networks quit
    low, high = sim(dict(u, **{key: 0.0})), sim(dict(u, **{key: 1.0}))
    assert high["survival_without_arrest"] < low["survival_without_arrest"] - 0.2


def test_calibrate_ci_on_processes(tmp_path, capsys):
    """The ci size of the real file, end to end: ABC on two worker processes, then the predictive checks."""
    out = tmp_path / "cal"
    assert main(["calibrate", str(EXPERIMENT), "--size", "ci", "--out", str(out), "--workers", "2"]) == 0
    cal = calibrate.load_calibration(EXPERIMENT, "ci")
    _check_posterior(out, cal)
    prov = json.loads((out / "posterior.json").read_text())
    assert prov["sampler"] == "processes" and prov["workers"] == 2
    report = (out / "report.md").read_text()
    for name in patterns.VALIDATION:
        assert f"`{name}`" in report
    assert "Validation targets were never used to fit" in report
    assert (out / "figures" / "predictive.png").stat().st_size > 5000
    pred = pd.read_csv(out / "predictive.csv")
    assert len(pred) == cal.draws and set(patterns.VALIDATION) <= set(pred.columns)
    printed = capsys.readouterr().out
    assert "ABC-SMC:" in printed and "validation" in printed


def test_calibrate_on_a_dask_local_cluster(tmp_path):
    """pyabc's DaskDistributedSampler on a real dask.distributed LocalCluster of two worker processes."""
    cal = calibrate.load_calibration(_small(tmp_path))
    folder = tmp_path / "dask"
    folder.mkdir()
    prov = calibrate.run_abc(cal, folder, "dask", workers=2)
    assert prov["sampler"].startswith("dask") and prov["total_simulations"] >= cal.population
    _check_posterior(folder, cal)


def test_a_fixed_tolerance_in_one_generation_is_rejection_abc_with_equal_weights(tmp_path):
    """epsilon: X with one generation: particles from the prior within X of the targets, every weight 1/N, the
    distances all <= X (the full size's method: SMC's importance weights collapse with sixteen unknowns)."""
    import pyabc

    cal = calibrate.load_calibration(_small(tmp_path, SMALL + "epsilon: 1.5\n"))
    assert cal.epsilon == 1.5 and calibrate.load_calibration(_small(tmp_path)).epsilon is None
    folder = tmp_path / "rej"
    folder.mkdir()
    prov = calibrate.run_abc(cal, folder, "processes", workers=2)
    post = _check_posterior(folder, cal)
    assert np.allclose(post["weight"], 1 / cal.population) and prov["epsilon_schedule"] == [1.5]
    assert "rejection ABC" in prov["method"] and prov["effective_sample_size"] == pytest.approx(cal.population)
    d = pyabc.History(f"sqlite:///{folder / 'abc.db'}").get_weighted_distances(t=0)
    assert len(d) == cal.population and (d["distance"] <= 1.5).all()


def test_committed_posterior_follows_the_interface():
    post = calibrate.read_posterior(COMMITTED)
    prov = json.loads((COMMITTED / "posterior.json").read_text())
    cal = calibrate.load_calibration(EXPERIMENT, prov["size"])
    assert prov["scenario_digest"] == load(SCENARIOS / "baseline.yaml").digest()  # fitted to today's default world
    _check_posterior(COMMITTED, cal)
    raw = load(SCENARIOS / "baseline.yaml").to_raw()
    assert len(post) >= 512 and prov["population_size"] >= 512  # the robustness experiment's 512 futures
    assert prov["effective_sample_size"] >= 500  # equally weighted: 512 futures, not a handful
    for values in calibrate.sample_posterior(post, 20, seed=1):  # every draw is a valid scenario as it stands
        calibrate.scenario_of(raw, values, "draw")
    assert (COMMITTED / "report.md").is_file()


def test_check_only_uses_a_given_posterior(tmp_path):
    out = tmp_path / "check"
    assert main(["calibrate", str(EXPERIMENT), "--size", "ci", "--check", str(COMMITTED), "--draws", "2",
                 "--workers", "1", "--out", str(out)]) == 0
    assert not (out / "posterior.parquet").exists() and "scenarios/data/posterior" in (out / "report.md").read_text()


@pytest.mark.parametrize("edit, expected", [
    (lambda s: s + "bogus: 1\n", "cal.yaml: bogus: unknown key"),
    (lambda s: s.replace("[survival_without_arrest, arrests_per_market_year]", "[investigation_years]"),
     "cal.yaml: targets[0]: is a validation target; calibration fits calibration targets only"),
    (lambda s: s.replace("[0.005, 0.05]", "[0.05, 0.005]"), "cal.yaml: parameters.enforcement.detect_prob.range"),
    (lambda s: s.replace("[0.005, 0.05]", "[0.005, 5.0]"),
     "cal.yaml: parameters.enforcement.detect_prob: makes an invalid scenario"),
    (lambda s: s.replace("population: 4", "population: 1"), "cal.yaml: population: expected a whole number 2 .. 5000"),
    (lambda s: s + "epsilon: -1\n", "cal.yaml: epsilon: expected median (pyabc's schedule) or a tolerance > 0"),
    (lambda s: s.replace("enforcement.detect_prob: {range: [0.005, 0.05], scale: log}", "enforcement.detect_prob: shared")
     .replace("pirates.market_capacity:", "pirates.no_prior:").replace("{range: [60, 240], integer: true}", "shared"),
     "cal.yaml: parameters.pirates.no_prior: no shared prior for this path"),
    (lambda s: s.replace("enforcement.detect_prob", "enforcement.nope"), "cal.yaml: parameters.enforcement.nope"),
])
def test_bad_calibration_files(tmp_path, capsys, edit, expected):
    path = tmp_path / "cal.yaml"
    path.write_text(edit(SMALL.format(base=SCENARIOS / "baseline.yaml")))
    assert main(["calibrate", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_bad_size_and_posterior(tmp_path, capsys):
    assert main(["calibrate", str(EXPERIMENT), "--size", "huge", "--out", str(tmp_path / "o")]) == 2
    assert "no size named 'huge'" in capsys.readouterr().err
    junk = tmp_path / "posterior.parquet"
    junk.write_text("not parquet")
    assert main(["calibrate", str(EXPERIMENT), "--size", "ci", "--check", str(junk), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "not a readable parquet file" in err and len(err.strip().splitlines()) == 1
    bad = tmp_path / "bad.parquet"
    pd.DataFrame({"weight": [1.0], "x": [1.0]}).to_parquet(bad)
    assert main(["calibrate", str(EXPERIMENT), "--size", "ci", "--check", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "expected draw, weight" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_unreachable_scheduler_and_too_many_draws(tmp_path, capsys):
    """A Dask address where nothing listens, and a draw count above the limit: one line each, exit 2, no folder."""
    import socket

    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["calibrate", str(_small(tmp_path)), "--scheduler", f"tcp://127.0.0.1:{port}",
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "no Dask scheduler answered" in err and len(err.strip().splitlines()) == 1
    assert main(["calibrate", str(EXPERIMENT), "--size", "ci", "--draws", "20000", "--out", str(tmp_path / "o")]) == 2
    assert "--draws 20000: at most 10000" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
