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


@pytest.mark.parametrize("name", sorted(EDGE_WORLDS))
@pytest.mark.parametrize("seed", [1, 2])
def test_edge_worlds(name, seed):
    assert_same(compile_world(from_dict(EDGE_WORLDS[name], name)), seed)


@pytest.mark.parametrize("seed", [1, 2, 3, 20261128])
def test_baseline(seed):
    assert_same(compile_world(load(SCENARIOS / "baseline.yaml")), seed)


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
