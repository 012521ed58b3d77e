"""Accounting invariants of the reference engine over many seeds and both shipped scenarios."""

from __future__ import annotations

import pytest

from sim.engines import run
from sim.scenario import from_dict, load
from sim.world import compile_world
from tests.conftest import SCENARIOS, two_country_raw
from tests.invariants import check_invariants


@pytest.mark.parametrize("seed", range(12))
def test_tiny_many_seeds(seed):
    world = compile_world(load(SCENARIOS / "tiny.yaml"))
    check_invariants(run(world, seed, "mesa"), world)


@pytest.mark.parametrize("seed", range(6))
def test_two_country_stressed(seed):
    """Quits, seizures, timeouts and a slow queue all at once."""
    raw = two_country_raw(quit_prob=0.05)
    raw["countries"][1].update(mla_per_day=1, law=0.7)
    raw["providers"][0]["compliance"] = 0.4
    raw["enforcement"].update(detect_prob=0.08, case_timeout_days=60)
    world = compile_world(from_dict(raw, "test"))
    check_invariants(run(world, seed, "mesa"), world)


def test_baseline_short():
    world = compile_world(load(SCENARIOS / "baseline.yaml", [("warmup_days", 0), ("horizon_days", 400)]))
    check_invariants(run(world, 3, "mesa"), world)
