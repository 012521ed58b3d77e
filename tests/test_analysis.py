"""Analysis: intervals, paired differences and Sobol indices against known answers; reports and figures of
real run and sweep folders; the experiments' ci digests against the committed ones."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim.analysis.sensitivity import indices_from_evaluations
from sim.analysis.summary import mean_ci, paired_differences
from sim.sweep import digests
from sim.sweep.design import Factor, _points, load_experiment
from sim.sweep.runner import ExecutorSpec, run_sweep
from sim.sweep.store import frame_digest, read_kept, read_runs
from tests.conftest import ROOT, SCENARIOS

EXPERIMENTS = sorted((ROOT / "experiments").glob("*.yaml"))


def test_mean_ci_by_hand():
    # 1 2 3 4: mean 2.5, sd sqrt(5/3) = 1.290994, t(0.975, 3) = 3.182446: half width 3.182446 * 1.290994 / 2 = 2.054260
    m, lo, hi, n = mean_ci(np.array([1, 2, 3, 4, np.nan]))
    assert (m, n) == (2.5, 4)
    assert (lo, hi) == pytest.approx((2.5 - 2.054260, 2.5 + 2.054260), abs=1e-5)
    assert np.isnan(mean_ci(np.array([7.0]))[1])


def _runs(seeds_b=(1, 2, 3)):
    return pd.DataFrame({"point": [0, 0, 0, 1, 1, 1], "replicate": [0, 1, 2] * 2, "seed": [1, 2, 3, *seeds_b],
                         "x": [0, 0, 0, 1, 1, 1], "status": "ok", "error": "", "m": [10, 12, 14, 9, 10, 13]})


def test_paired_differences_by_hand():
    # differences -1, -2, -1: mean -4/3, sd 0.57735, t(0.975, 2) = 4.302653, half width 1.434218
    eff = paired_differences(_runs(), 0, ["m"], ["x"]).iloc[0]
    assert eff["effect"] == pytest.approx(-4 / 3)
    assert (eff["ci_low"], eff["ci_high"]) == pytest.approx((-4 / 3 - 1.434218, -4 / 3 + 1.434218), abs=1e-5)
    assert eff["relative"] == pytest.approx(-4 / 3 / 12) and eff["n"] == 3
    with pytest.raises(ValueError, match="common random numbers"):
        paired_differences(_runs(seeds_b=(4, 5, 6)), 0, ["m"], ["x"])


def test_sobol_indices_on_ishigami_match_the_analytic_values():
    """Ishigami (a=7, b=0.1) through the saltelli design and the sweep's index code. Analytic values:
    S = (0.3139, 0.4424, 0), ST = (0.5576, 0.4424, 0.2437); each must fall in its 95% bootstrap interval."""
    factors = tuple(Factor(f"x{i}", low=-np.pi, high=np.pi) for i in range(3))
    n = 4096
    _, points = _points("ishigami", "saltelli", factors, n, 7)
    assert len(points) == n * (3 + 2)
    x = np.array([[p[f"x{i}"] for i in range(3)] for p in points])
    f = np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])
    idx = indices_from_evaluations(f[:n], f[n:2 * n], f[2 * n:].reshape(3, n), ["x1", "x2", "x3"], n_resamples=300)
    v = 0.5 + 49 / 8 + 0.1 * np.pi**4 / 5 + 0.01 * np.pi**8 / 18
    s1, s2 = (0.5 * (1 + 0.1 * np.pi**4 / 5) ** 2) / v, (49 / 8) / v
    st3 = (0.01 * np.pi**8 * (1 / 18 - 1 / 50)) / v  # 8 b^2 pi^8 / 225 / V
    first, total = [s1, s2, 0.0], [s1 + st3, s2, st3]
    for i in range(3):
        assert idx["first_low"][i] <= first[i] <= idx["first_high"][i], (i, idx.iloc[i].to_dict())
        assert idx["total_low"][i] <= total[i] <= idx["total_high"][i], (i, idx.iloc[i].to_dict())
    assert idx["first_high"][2] - idx["first_low"][2] < 0.1  # the intervals are informative


# ------------------------------------------------------------------------------------ the shipped experiments


@pytest.fixture(scope="module")
def ci_sweeps(tmp_path_factory):
    """The ci size of every shipped experiment, run once (serial, compiled engine)."""
    base = tmp_path_factory.mktemp("ci")
    out = {}
    for path in EXPERIMENTS:
        folder = base / path.stem
        run_sweep(load_experiment(path, "ci"), folder, ExecutorSpec("serial"), "fast")
        out[path.name] = folder
    return out


@pytest.mark.digest
def test_ci_results_match_committed_digests(ci_sweeps):
    """Regenerate deliberately after a model change: python -m sim.sweep.digests --update (docs/experiments.md)."""
    committed = json.loads(digests.DIGESTS.read_text())
    assert set(committed) == {p.name for p in EXPERIMENTS}
    for name, folder in ci_sweeps.items():
        exp = load_experiment(ROOT / "experiments" / name, "ci")
        now = {"runs": frame_digest(read_runs(folder)), **{t: frame_digest(read_kept(folder, t)) for t in exp.keep}}
        assert now == committed[name], f"{name}: results changed; if intended, regenerate the digests"


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=600)


def _self_contained(path):
    text = path.read_text()
    assert not re.search(r'(src|href)="(https?:|file:|/)', text) and "<link" not in text and "<script" not in text
    return text


@pytest.mark.parametrize("name,expected", [
    ("harmonization_mla.yaml", ["heatmap_persistence", "lines_persistence"]),
    ("sensitivity.yaml", ["sobol_persistence", "sobol_dismantled_share"]),
    ("policies.yaml", ["policies", "survival", "timeseries_networks", "displacement_0", "displacement_11"]),
])
def test_sweep_reports(ci_sweeps, name, expected):
    folder = ci_sweeps[name]
    out = _cli("report", str(folder))
    assert out.returncode == 0, out.stderr
    assert "Warning" not in out.stderr, out.stderr  # e.g. pyplot holding every figure the report draws
    text = _self_contained(folder / "report.html")
    assert text.count('src="data:image/png;base64,') >= len(expected)
    for stem in expected:
        assert (folder / "figures" / f"{stem}.png").stat().st_size > 10_000
        assert (folder / "figures" / f"{stem}.svg").exists()
    assert "Results by design point" in text and "Manifest" in text and "horizon_days" in text
    if name == "policies.yaml":
        assert "Effects against baseline" in text and "second_protocol" in text
    if name == "sensitivity.yaml":
        assert "Sobol indices" in text


def test_run_report_and_plot(tmp_path):
    assert _cli("run", str(SCENARIOS / "tiny.yaml"), "--out", str(tmp_path / "r"), "--no-figures").returncode == 0
    out = _cli("report", str(tmp_path / "r"))
    assert out.returncode == 0, out.stderr
    text = _self_contained(tmp_path / "r" / "report.html")
    assert text.count('src="data:image/png;base64,') == 4 and "persistence" in text
    out = _cli("plot", str(tmp_path / "r"), "--kind", "survival", "--out", str(tmp_path / "figs"))
    assert out.returncode == 0 and (tmp_path / "figs" / "survival.png").exists()


def test_plot_and_report_errors_are_one_line(ci_sweeps, tmp_path):
    out = _cli("plot", str(ci_sweeps["harmonization_mla.yaml"]), "--kind", "sobol")
    assert out.returncode == 2 and "no sobol figure applies" in out.stderr and "Traceback" not in out.stderr
    out = _cli("plot", str(ci_sweeps["harmonization_mla.yaml"]), "--kind", "heatmap", "--metric", "speed")
    assert out.returncode == 2 and "--metric speed: not one of" in out.stderr
    out = _cli("report", str(tmp_path))
    assert out.returncode == 2 and "not a sweep folder" in out.stderr
