"""Kaplan–Meier and the persistence metrics, against numbers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.survival import kaplan_meier
from sim.metrics import compute
from sim.outputs import DAILY_COLUMNS, NETWORK_COLUMNS, REQUEST_COLUMNS, RunResult, frame


def test_kaplan_meier_hand_example_with_censoring():
    # durations 2 3 3+ 5 6+ 8 (+ = censored). Event times 2, 3, 5, 8 with at-risk 6, 5, 3, 1:
    # S(2) = 5/6, S(3) = 5/6 * 4/5 = 2/3 (the censored 3 is still at risk at 3), S(5) = 2/3 * 2/3 = 4/9, S(8) = 0.
    km = kaplan_meier(np.array([2, 3, 3, 5, 6, 8]), np.array([1, 1, 0, 1, 0, 1]))
    assert km.times.tolist() == [0, 2, 3, 5, 8]
    assert km.survival == pytest.approx([1, 5 / 6, 2 / 3, 4 / 9, 0])
    assert km.at(4.9) == pytest.approx(2 / 3) and km.at(5) == pytest.approx(4 / 9)
    assert km.median() == 5  # first time S <= 0.5
    # area: 2*1 + 1*5/6 + 2*2/3 + 3*4/9 + 2*0 = 5.5 up to 10; up to 4: 2 + 5/6 + 2/3 = 3.5
    assert km.rmst(10) == pytest.approx(5.5)
    assert km.rmst(4) == pytest.approx(3.5)
    assert np.all(km.lower <= km.survival + 1e-12) and np.all(km.survival <= km.upper + 1e-12)


def test_kaplan_meier_all_censored_never_falls():
    km = kaplan_meier(np.array([5, 7]), np.array([0, 0]))
    assert km.median() is None and km.rmst(7) == 7.0


def test_kaplan_meier_greenwood_matches_textbook():
    # Greenwood at t=2 above: var(S) = S^2 * 1/(6*5); log-log band with z = 1.96
    km = kaplan_meier(np.array([2, 3, 3, 5, 6, 8]), np.array([1, 1, 0, 1, 0, 1]))
    s = 5 / 6
    se = np.sqrt(1 / 30) / abs(np.log(s))
    assert km.lower[1] == pytest.approx(s ** np.exp(1.959964 * se), rel=1e-5)


def _result(T=3):
    daily = frame(np.zeros((T, len(DAILY_COLUMNS))), DAILY_COLUMNS)
    daily["day"] = np.arange(1, T + 1)
    daily["networks"] = [4, 2, 3]
    daily["servers_up"] = [10, 6, 8]
    daily["servers_up_haven"] = [1, 3, 0]
    daily["evidence_obtained"] = [3, 0, 0]
    daily["evidence_lost"] = [0, 1, 0]
    nets = frame([[0, -1, 0, 2, 1, 0, 0, 3, 0, 0, 0, 1, 0, 1, 0, -1, -1],    # arrested on day 2 (lifetime 2), case from day 1
                  [1, -1, 0, -1, 0, 0, 0, 3, 0, 0, 0, 0, -1, -1, 0, -1, -1],  # alive: censored at 3
                  [2, -1, 1, 2, 2, 0, 0, 3, 0, 0, 0, 0, -1, -1, 0, -1, -1],   # quit on day 2 (lifetime 1)
                  [3, 0, 3, -1, 0, 0, 0, 3, 0, 0, 0, 0, -1, -1, 0, -1, -1]], NETWORK_COLUMNS)  # born at 3, censored
    reqs = frame([[0, 0, 0, 0, 1, 1, 1, 1, 41, 1],
                  [1, 0, 1, 0, 1, 1, 1, 2, 11, 2],
                  [2, 0, 2, 0, 1, 1, 0, -1, -1, 0],   # open: not counted
                  [3, 0, 3, 0, 0, 0, 0, 0, 5, 1]], REQUEST_COLUMNS)  # domestic: not counted
    sbc = pd.DataFrame({"day": daily["day"], "A": daily["servers_up"]})
    return RunResult(daily, sbc, nets, reqs)


def test_metrics_by_hand():
    m = compute(_result())
    assert m["persistence"] == pytest.approx(3.0) and m["supply"] == pytest.approx(8.0)
    assert m["dismantled_share"] == pytest.approx(1 / 4)
    assert m["haven_share"] == pytest.approx(4 / 24)
    assert m["mla_delay_median"] == pytest.approx(25.0)  # median of 40 and 10
    assert m["evidence_loss_share"] == pytest.approx(1 / 4)
    # lifetimes 2, 3+, 1, 0+ (+ censored). At t=1 three are at risk (the 0+ left at 0): S(1) = 2/3;
    # at t=2 two: S(2) = 2/3 * 1/2 = 1/3. Area up to T=3: 1*1 + 1*2/3 + 1*1/3 = 2.
    assert m["lifetime_rmst"] == pytest.approx(2.0)
    assert m["lifetime_median"] == 2.0


def test_metrics_undefined_are_nan():
    r = _result()
    r.requests = r.requests.iloc[0:0]
    r.daily["evidence_obtained"] = 0
    r.daily["evidence_lost"] = 0
    m = compute(r)
    assert math.isnan(m["mla_delay_median"]) and math.isnan(m["evidence_loss_share"])
    assert all(isinstance(v, float) for v in m.values()), "NaN, never None"


def test_warmup_days_are_excluded_from_every_metric():
    """rules_raw(): one network, arrested on day 46, horizon 120. With warm-up 50 the window is days 51..120,
    when no network operates: persistence 0, no arrest counted, no network born after the warm-up. Without a
    warm-up the window is all 120 days and the network lives through day 45: persistence 45 / 120."""
    from sim.engines import run
    from sim.scenario import from_dict
    from sim.world import compile_world
    from tests.conftest import rules_raw

    raw = rules_raw()
    cold = compute(run(compile_world(from_dict(raw, "rules")), engine="mesa"))
    assert cold["persistence"] == 45 / 120 and cold["dismantled_share"] == 1.0 and cold["arrests_per_year"] > 0
    raw["warmup_days"] = 50
    res = run(compile_world(from_dict(raw, "rules")), engine="mesa")
    assert len(res.daily) == 120  # outputs still cover every day
    warm = compute(res)
    assert warm["persistence"] == 0.0 and warm["supply"] == 0.0 and warm["arrests_per_year"] == 0.0
    assert math.isnan(warm["lifetime_median"]) and math.isnan(warm["dismantled_share"])


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all((math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k] for k in a)


@pytest.mark.parametrize("scenario, overrides", [
    ("baseline.yaml", [("horizon_days", 1095), ("warmup_days", 365)]),
    ("baseline.yaml", [("horizon_days", 800), ("warmup_days", 0)]),
    ("follow_the_money.yaml", [("horizon_days", 900), ("warmup_days", 300)]),
    ("adaptive_havens.yaml", [("horizon_days", 700), ("warmup_days", 200), ("market.entry", "demand")]),
    ("blocking_orders.yaml", [("horizon_days", 700), ("warmup_days", 100)]),
    ("tiny.yaml", []),
])
def test_metrics_from_raw_arrays_equal_the_dataframe_path(scenario, overrides):
    """A run's result holds the engine's raw arrays; compute() reads them without building DataFrames, and
    gives exactly (not approximately) the numbers compute_from_frames() gives on the DataFrames. A run that kept
    only the requests' counts (requests=False, counted in C) gives them too, and refuses to show the table."""
    from sim.engines import run
    from sim.metrics import compute_from_frames
    from sim.outputs import TABLES
    from sim.scenario import load
    from sim.world import compile_world
    from tests.conftest import SCENARIOS

    world = compile_world(load(SCENARIOS / scenario, overrides))
    for seed in (1, 7, 2**63 + 5):
        res = run(world, seed, "fast")
        fast = compute(res)
        assert not any(res.has_frame(t) for t in TABLES), "metrics alone must not build DataFrames"
        assert _same(fast, compute_from_frames(res))
        assert _same(compute(res), fast)  # now from the DataFrames the reference built
        lean = run(world, seed, "fast", requests=False)
        assert _same(compute(lean), fast)
        with pytest.raises(ValueError, match="requests=False"):
            lean.requests
        lean.requests = res.requests.iloc[0:0]  # a table assigned replaces the counts, as it replaces an array
        assert math.isnan(compute(lean)["mla_delay_median"]) and lean.request_counts is None
    if scenario == "tiny.yaml":  # the Mesa engine hands over the same kind of result
        mesa = run(world, 3, "mesa")
        assert not mesa.has_frame("daily") and _same(compute(mesa), compute_from_frames(run(world, 3, "fast")))
        assert _same(compute(run(world, 3, "mesa", requests=False)), compute(mesa))


@pytest.mark.parametrize("values", [[], [0], [5], [3, 1], [2, 2, 9], [0, 0, 1, 7], list(range(11)) * 3 + [40]])
def test_median_of_counts_is_numpys_median(values):
    """mla_delay_median from counts by delay: np.median of the values, the mean of the middle two when even."""
    from sim.metrics import median_of_counts

    counts = np.bincount(np.array(values, dtype=np.int64), minlength=1)
    got = median_of_counts(counts)
    assert (math.isnan(got) and not values) or got == float(np.median(values))


def test_metrics_follow_an_edited_table():
    """Assigning or editing a table's DataFrame is what the metrics then read (the raw array is dropped)."""
    from sim.engines import run
    from sim.world import load_world
    from tests.conftest import SCENARIOS

    res = run(load_world(SCENARIOS / "tiny.yaml"), 2, "fast")
    before = compute(res)
    res.daily["networks"] = res.daily["networks"] * 2
    after = compute(res)
    assert after["persistence"] == pytest.approx(2 * before["persistence"])
    res.requests = res.requests.iloc[0:0]
    assert math.isnan(compute(res)["mla_delay_median"])


def test_after_warmup_builds_only_the_tables_asked_for():
    from sim.engines import run
    from sim.scenario import load
    from sim.world import compile_world
    from tests.conftest import SCENARIOS

    res = run(compile_world(load(SCENARIOS / "tiny.yaml", [("warmup_days", 10)])), 1, "fast")
    kept = res.after_warmup(["daily"])
    assert list(kept) == ["daily"] and (kept["daily"]["day"] > 10).all()
    assert res.has_frame("daily") and not res.has_frame("networks") and not res.has_frame("requests")
    assert set(res.after_warmup()) == {"daily", "servers_by_country", "networks", "requests", "users_by_market"}
