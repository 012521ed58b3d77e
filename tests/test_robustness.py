"""Policies across uncertainty: the draws file, its application to scenarios, common random numbers per draw,
the robustness statistics on a table with a known answer, PRIM on a known box, and the ci sizes end to end."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import yaml

from sim import api, cli, engines, metrics, uncertainty
from sim.analysis import robustness as rb
from sim.scenario import load
from sim.sweep.design import SCENARIO_FACTOR, load_experiment
from sim.sweep.runner import ExecutorSpec, run_sweep
from sim.sweep.store import read_runs
from tests.conftest import ROOT, SCENARIOS

ROBUSTNESS = ROOT / "experiments" / "robustness.yaml"
SOBOL = ROOT / "experiments" / "uncertainty_sobol.yaml"


# ------------------------------------------------------------------------------------ statistics by hand


def _table() -> pd.DataFrame:
    # four futures, three options (lower is better); effects of A: -2, -1, +1, -3; of B: -1, -4, 0, +2
    return pd.DataFrame({"ref": [10.0, 20.0, 30.0, 40.0], "A": [8.0, 19.0, 31.0, 37.0], "B": [9.0, 16.0, 30.0, 42.0]},
                        index=pd.Index([0, 1, 2, 3], name="draw"))


def test_effects_shares_regret_and_rank_by_hand():
    pf = rb.per_future(_table(), "ref")
    assert pf["effect"]["A"].tolist() == [-2, -1, 1, -3]
    assert pf["beats"]["B"].tolist() == [True, True, False, False]  # a tie (effect 0) does not beat
    # best option per future: A (8), B (16), ref or B (30), A (37)
    assert pf["regret"]["A"].tolist() == [0, 3, 1, 0]
    assert pf["regret"]["B"].tolist() == [1, 0, 0, 5]
    assert pf["regret"]["ref"].tolist() == [2, 4, 0, 3]
    assert pf["rank"].loc[2].tolist() == [1, 3, 1]  # ties share the best rank

    t = rb.summarise(_table(), np.full(4, 0.25), "ref", n_boot=200, seed=1).set_index("policy")
    assert t.loc["A", "effect_mean"] == pytest.approx(-1.25) and t.loc["B", "effect_mean"] == pytest.approx(-0.75)
    assert t.loc["A", "share_beats"] == pytest.approx(0.75) and t.loc["B", "share_beats"] == pytest.approx(0.5)
    assert t.loc["A", "regret_mean"] == pytest.approx(1.0) and t.loc["B", "regret_mean"] == pytest.approx(1.5)
    # relative effects: A -20%, -5%, +3.33%, -7.5%
    assert t.loc["A", "relative_mean"] == pytest.approx((-20 - 5 + 100 / 30 - 7.5) / 4)
    # ranking among the three options by mean effect (ref = 0): A 1, B 2
    assert (t.loc["A", "rank"], t.loc["B", "rank"]) == (1, 2)
    assert t.loc["A", "effect_low"] <= -1.25 <= t.loc["A", "effect_high"]
    assert 1 <= t.loc["B", "rank_low"] <= 2 <= t.loc["B", "rank_high"] <= 3
    assert list(t.index) == ["A", "B"]


def test_weights_count_in_every_statistic():
    # all weight on future 1 (effects A -1, B -4): B wins, A has regret 3
    t = rb.summarise(_table(), np.array([0.0, 1.0, 0.0, 0.0]), "ref", n_boot=50).set_index("policy")
    assert t.loc["B", "effect_mean"] == pytest.approx(-4) and t.loc["A", "regret_mean"] == pytest.approx(3)
    assert (t.loc["B", "rank"], t.loc["A", "rank"]) == (1, 2)
    assert t.loc["B", "effect_low"] == t.loc["B", "effect_high"] == pytest.approx(-4)  # only future 1 is ever drawn


def test_higher_is_better_metrics_flip_the_direction():
    t = rb.summarise(_table(), np.full(4, 0.25), "ref", lower_is_better=False, n_boot=20).set_index("policy")
    assert t.loc["A", "share_beats"] == pytest.approx(0.25) and t.loc["B", "share_beats"] == pytest.approx(0.25)


# ------------------------------------------------------------------------------------ PRIM


def test_prim_finds_a_known_box():
    g = np.random.default_rng(4)
    x = pd.DataFrame({"a": g.random(2000), "b": g.random(2000), "c": g.random(2000),
                      "rule": g.choice(["first", "all"], 2000)})
    y = ((x["a"] > 0.7) & (x["b"] < 0.4)).to_numpy()
    box = rb.prim_box(x, y, "p")
    assert set(box.limits.index) == {"a", "b"}  # c and rule do not matter
    assert box.limits.loc["a", "low"] == pytest.approx(0.7, abs=0.05)
    assert box.limits.loc["b", "high"] == pytest.approx(0.4, abs=0.08)
    inside = ((x["a"] >= box.limits.loc["a", "low"]) & (x["a"] <= box.limits.loc["a", "high"])
              & (x["b"] >= box.limits.loc["b", "low"]) & (x["b"] <= box.limits.loc["b", "high"])).to_numpy()
    assert box.coverage == pytest.approx(y[inside].sum() / y.sum())
    assert box.density == pytest.approx(y[inside].mean()) and box.density >= 0.8 and box.coverage >= 0.9
    assert box.base_rate == pytest.approx(y.mean())

    y2 = ((x["a"] > 0.5) & (x["rule"] == "all")).to_numpy()
    box2 = rb.prim_box(x, y2, "p")
    assert "rule" in box2.limits.index and set(box2.limits.loc["rule", "low"]) == {"all"}
    assert rb.prim_box(x, np.zeros(len(x), bool)) is None


# ------------------------------------------------------------------------------------ the draws file


def test_prior_file_matches_the_documented_priors():
    draws = uncertainty.load_draws(uncertainty.PRIOR_FILE)
    assert len(draws) >= 512 and draws["weight"].sum() == pytest.approx(1)
    assert uncertainty.parameters(draws) == [p.path for p in uncertainty.PRIORS]
    meta = uncertainty.read_sidecar(uncertainty.PRIOR_FILE)
    for p in uncertainty.PRIORS:
        col = draws[p.path]
        if p.dist == "choice":
            assert set(col) == set(p.levels)
        else:
            assert p.low <= col.min() and col.max() <= p.high
        assert meta["parameters"][p.path]["source"] == p.source and p.source
    # the file is the documented command's output, byte for byte in content
    regenerated = uncertainty.sample_prior(meta["draws"], meta["seed"])
    pd.testing.assert_frame_equal(regenerated, draws)


def test_a_draw_is_applied_to_each_policy_scenario():
    base = load(SCENARIOS / "baseline.yaml").to_raw()
    crack = load(SCENARIOS / "haven_crackdown.yaml").to_raw()
    row = {"enforcement.detect_prob": 0.01, "countries.*.retention_days": 2.0, "countries.*.extradites": 10.0}
    a, b = uncertainty.expand(base, row), uncertainty.expand(crack, row)
    assert a["enforcement.detect_prob"] == b["enforcement.detect_prob"] == 0.01
    assert a["countries.RUS.retention_days"] == 60 and b["countries.RUS.retention_days"] == 180  # 30 and 90, doubled
    assert a["countries.NLD.retention_days"] == 360
    assert a["countries.NLD.extradites"] == 1.0  # clipped to the field's range
    world = api.world(base, a)
    assert world is not None


def test_robustness_futures_are_posterior_draws_that_never_change_a_policy_lever():
    """The full size runs every policy on the ABC posterior's first 512 draws. No column of the posterior is a
    policy lever or a path any policy scenario sets; a countries.*.FIELD multiplier scales the policy's own
    country values (haven_crackdown's retention stays three times the status quo's), never replaces them."""
    from sim.scenario import apply_overrides

    exp = load_experiment(ROBUSTNESS, "full")
    unc = exp.uncertainty
    posterior = (ROBUSTNESS.parent / unc.file).resolve()
    assert posterior == ROOT / "scenarios" / "data" / "posterior" / "posterior.parquet"
    assert unc.mode == "draws" and len(unc.rows) == 512 >= 500
    draws = uncertainty.load_draws(posterior)
    assert uncertainty.read_sidecar(posterior)["kind"] == "posterior" and len(draws) >= 512
    cols = uncertainty.parameters(draws)
    assert not [c for c in cols if c.startswith("policy.")]
    assert {"countries.*.capacity", "countries.*.priority"} <= set(cols)
    base = load(SCENARIOS / "baseline.yaml").to_raw()

    def at(raw, path):
        node = raw
        for key in path.split("."):
            node = node.get(key) if isinstance(node, dict) else None
        return node

    for level in exp.factors[0].levels:
        pol = load(ROBUSTNESS.parent / level).to_raw()
        for c in cols:
            if not c.startswith(uncertainty.WILDCARD):
                assert at(pol, c) == at(base, c), f"{level} sets {c}: a draw would overwrite it"
        for row in unc.rows[:16]:
            over = uncertainty.expand(pol, row)
            assert not [k for k in over if k.startswith("policy.")]
            assert apply_overrides(pol, over)["policy"] == pol["policy"]
    crack = load(SCENARIOS / "haven_crackdown.yaml").to_raw()
    for row in unc.rows[:16]:
        a, b = uncertainty.expand(base, row), uncertainty.expand(crack, row)
        ra, rb_ = (a.get("countries.RUS.retention_days", 30), b.get("countries.RUS.retention_days", 90))
        assert rb_ == pytest.approx(3 * ra, abs=2)  # 30 x m and 90 x m, each rounded


def test_crn_seeds_are_shared_across_policies_and_differ_across_draws(tmp_path):
    exp = load_experiment(ROBUSTNESS, "ci")
    n = len(exp.uncertainty.rows)
    levels = exp.factors[0].levels
    assert len(exp.points) == len(levels) * n
    for p, point in enumerate(exp.points):
        assert point[SCENARIO_FACTOR] == levels[p // n] and exp.draw_of[p] == exp.uncertainty.draws[p % n]
    seeds = {(exp.draw_of[p], r): set() for p in range(len(exp.points)) for r in range(exp.replicates)}
    for p in range(len(exp.points)):
        for r in range(exp.replicates):
            seeds[(exp.draw_of[p], r)].add(exp.seed_of(p, r))
    assert all(len(s) == 1 for s in seeds.values())  # one seed per (draw, replicate), whatever the policy
    assert len({next(iter(s)) for s in seeds.values()}) == len(seeds)  # and different futures differ

    # a real sweep: every policy's row of a draw has that draw's seed and values; one row reproduced by hand
    run_sweep(exp, tmp_path / "s", ExecutorSpec("serial"), "fast")
    runs = read_runs(tmp_path / "s")
    runs["draw"] = runs["point"].map(dict(enumerate(exp.draw_of)))
    assert (runs.groupby(["draw", "replicate"])["seed"].nunique() == 1).all()
    draws = uncertainty.load_draws((ROBUSTNESS.parent / exp.uncertainty.file).resolve()).set_index("draw")
    p = len(exp.points) - 1  # the last policy under the last draw
    row = runs[runs["point"] == p].iloc[0]
    assert row["enforcement.detect_prob"] == draws.loc[exp.draw_of[p], "enforcement.detect_prob"]
    values = {k: v for k, v in exp.points[p].items() if k != SCENARIO_FACTOR}
    result = engines.run(api.world(exp.scenario_of(p), values), int(row["seed"]), "fast")
    assert metrics.compute(result)["persistence"] == pytest.approx(row["persistence"], rel=1e-12)
    # under a different draw the same policy gives a different world
    other = {k: v for k, v in exp.points[p - 1].items() if k != SCENARIO_FACTOR}
    assert other != values


# ------------------------------------------------------------------------------------ bad files


def _main(capsys, *args: str) -> tuple[int, str]:
    try:
        code = cli.main(list(args))
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


def _experiment(tmp_path, draws_name: str) -> str:
    doc = yaml.safe_load(ROBUSTNESS.read_text())
    doc["base"] = str(SCENARIOS / "baseline.yaml")
    doc["factors"]["scenario"]["levels"] = [str(SCENARIOS / "baseline.yaml"), str(SCENARIOS / "capacity_boost.yaml")]
    doc["uncertainty"] = {"file": draws_name, "draws": 2}
    doc["sizes"] = {"ci": {"overrides": {"warmup_days": 0, "horizon_days": 30}}}
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def _good() -> pd.DataFrame:
    return pd.DataFrame({"draw": [0, 1], "weight": [0.5, 0.5], "enforcement.detect_prob": [0.01, 0.03],
                         "countries.*.extradites": [0.5, 1.5]})


@pytest.mark.parametrize("case, field, shown", [
    ("missing", "(file)", "nope.parquet"),
    ("not_parquet", "(file)", "bad.parquet"),
    ("no_weight", "weight", "missing column"),
    ("unnormalised", "weight", "(got 2.0)"),
    ("negative", "weight", "(got -0.5)"),
    ("duplicate", "draw", "(got 0)"),
    ("bad_value", "enforcement.detect_prob", "(got 1.5)"),
    ("bad_path", "enforcement.no_such_field", "no_such_field"),
    ("missing_value", "enforcement.detect_prob", "missing value"),
    ("policy_lever", "policy.capacity_scale", "cannot be a policy lever"),
])
def test_a_bad_draws_file_is_one_line_naming_file_field_and_value(tmp_path, capsys, case, field, shown):
    df = _good()
    name = "bad.parquet"
    if case == "missing":
        name = "nope.parquet"
    elif case == "not_parquet":
        (tmp_path / name).write_text("draw,weight\n0,1\n")
    else:
        if case == "no_weight":
            df = df.drop(columns="weight")
        elif case == "unnormalised":
            df["weight"] = [1.0, 1.0]
        elif case == "negative":
            df["weight"] = [-0.5, 1.5]
        elif case == "duplicate":
            df["draw"] = [0, 0]
        elif case == "bad_value":
            df["enforcement.detect_prob"] = [0.01, 1.5]
        elif case == "bad_path":
            df["enforcement.no_such_field"] = [1, 2]
        elif case == "missing_value":
            df["enforcement.detect_prob"] = [0.01, None]
        elif case == "policy_lever":  # a future that set a lever would undo the policy it is run with
            df["policy.capacity_scale"] = [0.5, 2.0]
        df.to_parquet(tmp_path / name, index=False)
    code, err = _main(capsys, "sweep", _experiment(tmp_path, name), "--size", "ci", "--out", str(tmp_path / "out"))
    lines = [x for x in err.splitlines() if x.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"error: {name}: {field}") and shown in lines[0], lines[0]
    assert not (tmp_path / "out").exists()


def test_a_good_draws_file_runs(tmp_path, capsys):
    _good().to_parquet(tmp_path / "good.parquet", index=False)
    code, err = _main(capsys, "sweep", _experiment(tmp_path, "good.parquet"), "--size", "ci", "--workers", "1",
                      "--out", str(tmp_path / "out"))
    assert code == 0, err
    runs = read_runs(tmp_path / "out")
    assert len(runs) == 4 and set(runs["enforcement.detect_prob"]) == {0.01, 0.03}
    assert runs["countries.NLD.extradites"].tolist() == pytest.approx([0.3, 0.9, 0.3, 0.9])  # 0.6 x 0.5, x 1.5


# ------------------------------------------------------------------------------------ ci sizes end to end


def test_ci_sizes_give_a_report_with_ranking_prim_sobol_and_horizons(tmp_path, capsys):
    for exp_path, name in ((ROBUSTNESS, "rob"), (SOBOL, "sob")):
        run_sweep(load_experiment(exp_path, "ci"), tmp_path / name, ExecutorSpec("serial"), "fast")
    sob = load_experiment(SOBOL, "ci")
    assert len(sob.points) == 4 * 2 * (len(sob.uncertainty.factors) + 2)
    assert set(sob.seed_groups) == {0}  # a saltelli design keeps one seed set for every row, like sensitivity.yaml
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code, err = _main(capsys, "robustness", str(tmp_path / "rob"), "--sobol", str(tmp_path / "sob"),
                          "--horizon", f"5={tmp_path / 'rob'}", "--boot", "50", "--out", str(tmp_path / "report"))
    assert code == 0, err
    md = (tmp_path / "report" / "robustness.md").read_text()
    for needle in ("## Ranking on persistence", "## Ranking on users_served", "PRIM", "Sobol", "## Horizons"):
        assert needle in md
    table = pd.read_csv(tmp_path / "report" / "ranking_persistence.csv")
    assert len(table) == 10 and table["rank"].is_monotonic_increasing
    assert ((table["share_beats"] >= 0) & (table["share_beats"] <= 1)).all()
    sob_table = pd.read_csv(tmp_path / "report" / "sobol_effects.csv")
    assert set(sob_table["factor"]) == set(sob.uncertainty.factors)
    assert (tmp_path / "report" / "figures" / "effects_persistence.png").stat().st_size > 1000


def test_robustness_of_a_sweep_without_uncertainty_is_one_line(tmp_path, capsys):
    exp = load_experiment(ROOT / "experiments" / "harmonization_mla.yaml", "ci")
    run_sweep(exp, tmp_path / "h", ExecutorSpec("serial"), "fast")
    code, err = _main(capsys, "robustness", str(tmp_path / "h"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "no uncertainty block" in err


def test_every_prior_has_its_row_in_sources_csv():
    import csv

    with (ROOT / "scenarios" / "data" / "sources.csv").open() as fh:
        sources = {r["column"]: r for r in csv.DictReader(fh)}
    for p in uncertainty.PRIORS + uncertainty.COUNTRY_PRIORS:
        row = sources[f"prior:{p.path}"]
        assert row["source"] == p.source and row["solidity"] == p.solidity
        if p.dist != "choice":
            assert f"{p.low:g} to {p.high:g}" in row["rule"]


def test_pooled_sweeps_keep_only_futures_with_every_policy():
    params = pd.DataFrame({"x": [0.1, 0.2, 0.3]}, index=pd.Index([0, 1, 2], name="draw"))
    weights = pd.Series(1 / 3, index=params.index)

    class Exp:
        seed, replicates = 7, 1

    def sweep(rows, policies, par=params):
        fut = pd.DataFrame(rows, columns=["draw", "policy", "persistence"])
        return rb.Sweep("f", Exp(), fut, policies, policies[0], par, weights.loc[par.index])

    main = sweep([(0, "ref", 10.0), (1, "ref", 11.0), (2, "ref", 12.0), (0, "A", 9.0)], ["ref", "A", "B"])
    part = sweep([(0, "B", 8.0), (1, "A", 12.0), (1, "B", 10.0), (2, "B", 13.0), (0, "A", 99.0)], ["A", "B"])
    pooled = rb.pool(main, [part])
    assert sorted(set(pooled.futures["draw"])) == [0, 1]  # draw 2 lacks A
    # the main sweep's result wins where both have one
    assert pooled.futures.set_index(["draw", "policy"]).loc[(0, "A"), "persistence"] == 9.0
    other = sweep([(0, "B", 8.0)], ["A", "B"], par=params.assign(x=[0.5, 0.2, 0.3]))
    with pytest.raises(rb.RobustnessError, match="draws differ"):
        rb.pool(main, [other])
