"""Two engines, one model: the compiled engine's four tables equal the Mesa engine's, dtypes included."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.engines import fast_available, run
from sim.scenario import from_dict, load
from sim.world import compile_world
from tests.conftest import SCENARIOS, one_country_raw, tiny_raw, two_country_raw
from tests.invariants import check_invariants
from sim.synthetic import random_raw

pytestmark = pytest.mark.equivalence


def test_compiled_engine_is_built():
    """The suite is about the compiled engine: it must not silently fall back to Mesa."""
    assert fast_available()


def assert_same(world, seed):
    a, b = run(world, seed, "mesa"), run(world, seed, "fast")
    assert (a.meta["engine"], b.meta["engine"]) == ("mesa", "fast")
    for name, ta in a.tables().items():
        tb = b.tables()[name]
        assert list(ta.columns) == list(tb.columns), name
        assert (ta.dtypes == tb.dtypes).all(), name
        assert ta.equals(tb), f"{name} differs (world {world.name}, seed {seed})"
    check_invariants(b, world)
    return b


def _edit_tiny(fn):
    raw = tiny_raw()
    fn(raw)
    return raw


def _all(key, value, section="countries"):
    def fn(raw):
        for item in raw[section]:
            item[key] = value
    return fn


def _no_blocs(raw):
    raw["blocs"] = {}
    for c in raw["countries"]:
        c["blocs"] = []


def _saturated(raw):
    raw["pirates"].update(initial_networks=30, market_capacity=30, entry_per_day=2.0, entry_slots=2)


def _long_queues(raw):
    for c in raw["countries"]:
        c["mla_per_day"] = 1
    raw["enforcement"]["detect_prob"] = 0.1


EDGE_WORLDS = {
    "capacity-0": _edit_tiny(_all("capacity", 0)),
    "law-0": _edit_tiny(_all("law", 0.0)),
    "law-1": _edit_tiny(_all("law", 1.0)),
    "no-blocs": _edit_tiny(_no_blocs),
    "all-bulletproof": _edit_tiny(lambda r: [p.update(kind="bulletproof", compliance=0.02) for p in r["providers"]]),
    "all-compliant": _edit_tiny(_all("compliance", 1.0, "providers")),
    "T-1": _edit_tiny(lambda r: r.update(horizon_days=1)),
    "entry-at-capacity": _edit_tiny(_saturated),
    "mla-1-long-queues": _edit_tiny(_long_queues),
    "one-country": one_country_raw(),
    "two-country": two_country_raw(quit_prob=0.03),
    "harmonized-fast": _edit_tiny(lambda r: r["policy"].update(harmonization=1.0, mla_speed=0.1, preservation_everywhere=True)),
    "joined": _edit_tiny(lambda r: r["policy"].update(join={"eu": ["HVN"], "budapest": ["HVN"]})),
}


# Version-2 edge worlds: every evidence route alone and all together, both evidence rules, residence at the
# extremes, nationality bars everywhere, JITs and production orders everywhere, a money trail in every case.
def _v2_base(raw):
    raw["horizon_days"] = 500
    raw["enforcement"].update(detect_prob=0.08, case_threshold=2, identify_prob=0.5)
    for c in raw["countries"]:
        c.update(capacity=4, mla_per_day=2)


def _v2(*edits):
    def fn(raw):
        _v2_base(raw)
        for edit in edits:
            edit(raw)
    return _edit_tiny(fn)


def _bloc_all(**fields):
    def fn(raw):
        raw["blocs"]["all"] = dict(fields)
        for c in raw["countries"]:
            c["blocs"] = list(c["blocs"]) + ["all"]
    return fn


_voluntary = _all("discloses", 0.6, "providers")
_orders = _bloc_all(production_orders={"median_days": 10, "p90_days": 20})
_jit = _bloc_all(jit=True)
_money = lambda r: r["enforcement"].update(money_trail_prob=1.0, money_identify_prob=0.4)  # noqa: E731
_first = lambda r: r["enforcement"].update(evidence_rule="first")  # noqa: E731
_bars = lambda r: [c.update(extradites_nationals=False, prosecutes_nationals=0.5) for c in r["countries"]]  # noqa: E731

EDGE_WORLDS.update({
    "v2-domestic-only": _v2(lambda r: [p.update(country="MKT") for p in r["providers"]],
                            lambda r: [c.update(demand=0.0) for c in r["countries"][1:]],
                            lambda r: r["pirates"].update(home_in_market=1.0)),
    "v2-mla-only": _v2(_no_blocs),
    "v2-voluntary-only": _v2(_no_blocs, _voluntary, _all("order_compliance", 0.3, "providers")),
    "v2-orders-only": _v2(_no_blocs, _orders, _all("order_compliance", 0.5, "providers")),
    "v2-jit-only": _v2(_no_blocs, _jit),
    "v2-money-only": _v2(_no_blocs, _money),
    "v2-all-routes": _v2(_voluntary, _orders, _jit, _money, _first),
    "v2-all-routes-rule-all": _v2(_voluntary, _orders, _money),
    "v2-first": _v2(_first),
    "v2-home-in-market-1": _v2(lambda r: r["pirates"].update(home_in_market=1.0)),
    "v2-home-in-market-0": _v2(lambda r: r["pirates"].update(home_in_market=0.0), _first),
    "v2-nationality-bars": _v2(_bars, _first),
    "v2-bars-surrender-nationals": _v2(_bars, _bloc_all(surrender_nationals=True)),
    "b-demand-entry": _v2(lambda r: r.setdefault("market", {}).update(entry="demand", acquire_share=0.1)),
    "b-blocking": _v2(lambda r: r["policy"].update(blocking_everywhere=True),
                      lambda r: r["enforcement"].update(block_after_notices=3, block={"days": 10})),
    "b-cutoff": _v2(lambda r: r["policy"].update(cutoff_everywhere=True),
                    lambda r: r["enforcement"].update(cutoff_after_notices=3, cutoff_quit_prob=0.05)),
    "b-adaptive": _v2(lambda r: r["pirates"].update(heat_aversion=2.0, heat_half_life_days=20, memory_weight=1.5)),
    "b-all": _v2(lambda r: r.setdefault("market", {}).update(entry="demand", migrate_share=0.9, return_share=0.05),
                 lambda r: r["policy"].update(blocking_everywhere=True, cutoff_everywhere=True),
                 lambda r: r["enforcement"].update(block_after_notices=4, cutoff_after_notices=6),
                 lambda r: r["pirates"].update(heat_aversion=1.0), _voluntary, _orders, _money, _first),
    # long-tailed delays whose top quantiles run far past the horizon (the compiled engine caps its tables at T + 1)
    "delays-past-horizon": _v2(
        lambda r: [p.update(notice={"median_days": 3, "p90_days": 1e7}) for p in r["providers"]],
        lambda r: [c.update(mla={"median_days": 200, "p90_days": 1e9}, court={"median_days": 20, "p90_days": 1e6})
                   for c in r["countries"]]),
    "v2-speeds-floor-warmup": _v2(lambda r: r["policy"].update(mla_speed=0.3, surrender_speed=2.0, priority_floor=0.6),
                                  lambda r: r.update(warmup_days=100)),
})


@pytest.mark.parametrize("name", sorted(EDGE_WORLDS))
@pytest.mark.parametrize("seed", [1, 2])
def test_edge_worlds(name, seed):
    assert_same(compile_world(from_dict(EDGE_WORLDS[name], name)), seed)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_baseline_three_years_from_a_cold_start(seed):
    world = compile_world(load(SCENARIOS / "baseline.yaml", {"warmup_days": 0, "horizon_days": 1095}))
    assert_same(world, seed)


def test_baseline_with_its_warm_up():
    """The default world as shipped: 25 years of warm-up, then 3 measured (about a minute on the Mesa engine)."""
    assert_same(compile_world(load(SCENARIOS / "baseline.yaml")), 20261128)


@pytest.mark.parametrize("seed", range(4))
def test_tiny(seed):
    assert_same(compile_world(load(SCENARIOS / "tiny.yaml")), seed)


def test_large_world_60_countries_300_providers():
    raw = random_raw(60, n_countries=60, n_providers=300, horizon=150, n_blocs=5, initial_networks=100,
                     market_capacity=150, servers_per_network=4)
    res = assert_same(compile_world(from_dict(raw, "large")), 9)
    assert res.daily["servers_up"].iloc[-1] > 0 and len(res.requests) > 0


def test_edge_worlds_exercise_their_edge():
    """The edge worlds really are at their edge (so the equivalence above covers it)."""
    r = run(compile_world(from_dict(EDGE_WORLDS["capacity-0"], "x")), 1, "fast")
    assert r.daily["cases_opened"].sum() == 0
    r = run(compile_world(from_dict(EDGE_WORLDS["entry-at-capacity"], "x")), 1, "fast")
    assert r.daily["entries"].iloc[0] == 0
    r = run(compile_world(from_dict(EDGE_WORLDS["mla-1-long-queues"], "x")), 1, "fast")
    assert r.daily["mla_backlog"].max() >= 10
    r = run(compile_world(from_dict(EDGE_WORLDS["T-1"], "x")), 1, "fast")
    assert len(r.daily) == 1


def test_v2_edge_worlds_exercise_their_edge():
    """Each version-2 edge world really takes its route (so the equivalence above covers it)."""
    def kinds(name):
        r = run(compile_world(from_dict(EDGE_WORLDS[name], name)), 1, "fast")
        return r, set(r.requests["kind"])
    assert kinds("v2-domestic-only")[1] == {0}
    assert kinds("v2-mla-only")[1] == {0, 1}  # MKT hosts too: its own servers are domestic
    r, k = kinds("v2-voluntary-only")
    assert k == {0, 1, 2} and r.daily["fallbacks"].sum() > 0
    r, k = kinds("v2-orders-only")
    assert k == {0, 1, 3} and r.daily["fallbacks"].sum() > 0
    assert kinds("v2-jit-only")[1] == {0, 4}
    assert 5 in kinds("v2-money-only")[1]
    r, k = kinds("v2-all-routes")
    assert {0, 4, 5} <= k and r.daily["cases_identified"].sum() > 0
    r, _ = kinds("v2-nationality-bars")
    assert r.daily["prosecutions_home"].sum() > 0 and r.daily["cases_failed_haven"].sum() > 0
    r, _ = kinds("b-blocking")
    assert r.daily["blocking_orders"].sum() > 0
    r, _ = kinds("b-cutoff")
    assert r.daily["cutoffs"].sum() > 0 and r.daily["cutoff_quits"].sum() > 0
    r, _ = kinds("b-all")
    assert r.daily["migrated"].sum() > 0 and r.daily["entries"].sum() > 0 and r.daily["blocking_orders"].sum() > 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), run_seed=st.integers(0, 2**64 - 1), n_countries=st.integers(1, 12),
       n_providers=st.integers(1, 25), horizon=st.integers(1, 250))
def test_random_valid_scenarios(seed, run_seed, n_countries, n_providers, horizon):
    raw = random_raw(seed, n_countries=n_countries, n_providers=n_providers, horizon=horizon)
    assert_same(compile_world(from_dict(raw, "random")), run_seed)


def test_without_the_extension_falls_back_to_mesa(tmp_path):
    """No compiler, no extension: the package imports, runs on Mesa, and says so in one line."""
    code = ("import sys; sys.modules['cyext.engine'] = None\n"
            "import warnings\n"
            "from sim.engines import run, fast_available, default_engine\n"
            "assert not fast_available() and default_engine() == 'mesa'\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always')\n"
            "    r = run('scenarios/tiny.yaml', 1, 'fast')\n"
            "assert r.meta['engine'] == 'mesa' and len(r.daily) == 365\n"
            "assert len(w) == 1 and 'compiled engine not available' in str(w[0].message)\n"
            "print('fallback ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=SCENARIOS.parent)
    assert out.returncode == 0, out.stderr
    assert "fallback ok" in out.stdout
