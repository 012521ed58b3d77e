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

from sim import calibrate, patterns
from sim.cli import main
from sim.scenario import apply_overrides, from_dict, load
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
        assert post[p.path].between(p.low, p.high).all(), p.path
        if p.integer:
            assert post[p.path].dtype == np.int64
    prov = json.loads((folder / "posterior.json").read_text())
    for key in ("scenario_digest", "targets", "library", "population_size", "epsilon_schedule", "seed",
                "wall_seconds", "parameters", "total_simulations"):
        assert key in prov, key
    assert prov["scenario_digest"] == cal.base.digest()
    assert set(prov["targets"]) == set(cal.targets) <= set(patterns.CALIBRATION)
    assert prov["library"]["pyabc"].startswith("0.13")
    assert len(prov["epsilon_schedule"]) == prov["generations"] >= 1
    return post


def test_distance_is_zero_inside_the_intervals():
    d = calibrate.interval_distance(("survival_without_arrest", "arrests_per_market_year"))
    assert d({"survival_without_arrest": 0.8, "arrests_per_market_year": 1.0}, {}) == 0.0
    # 0.1 below a 0.3-wide interval and 1.5 above a 1.5-wide one
    assert d({"survival_without_arrest": 0.6, "arrests_per_market_year": 3.5}, {}) == pytest.approx(
        math.hypot(0.1 / 0.3, 1.5 / 1.5))
    assert d({"survival_without_arrest": float("nan"), "arrests_per_market_year": 1.0}, {}) == calibrate.NAN_DISTANCE


def test_parameters_map_prior_quantiles():
    p = calibrate.Parameter("enforcement.detect_prob", 0.005, 0.05, log=True)
    assert p.value(0.0) == pytest.approx(0.005) and p.value(1.0) == pytest.approx(0.05)
    assert p.value(0.5) == pytest.approx(math.sqrt(0.005 * 0.05))
    assert calibrate.Parameter("pirates.market_capacity", 60, 240, integer=True).value(0.5) == 150


def test_runs_are_deterministic_per_particle():
    cal = calibrate.load_calibration(EXPERIMENT, "ci")
    sim = calibrate.Simulator(cal.base.to_raw(), cal.parameters, cal.seed, 1, cal.targets)
    u = {f"p{i}": 0.5 for i in range(len(cal.parameters))}
    assert sim(u) == sim(u)
    assert calibrate.particle_seed(1, {"a": 0.1}, 0) != calibrate.particle_seed(1, {"a": 0.2}, 0)
    v = dict(u, p4=0.0)  # detect_prob at its lowest: fewer arrests
    assert sim(v)["arrests_per_market_year"] < sim(u)["arrests_per_market_year"]


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


def test_committed_posterior_follows_the_interface():
    post = calibrate.read_posterior(COMMITTED)
    prov = json.loads((COMMITTED / "posterior.json").read_text())
    cal = calibrate.load_calibration(EXPERIMENT, prov["size"])
    assert prov["scenario_digest"] == load(SCENARIOS / "baseline.yaml").digest()  # fitted to today's default world
    _check_posterior(COMMITTED, cal)
    raw = load(SCENARIOS / "baseline.yaml").to_raw()
    for values in calibrate.sample_posterior(post, 20, seed=1):  # every draw is a valid scenario as it stands
        from_dict(apply_overrides(raw, values), "draw")
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
