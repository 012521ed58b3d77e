"""Pattern checks: the baseline reproduces what real enforcement shows (targets and sources in sim.patterns)."""

from __future__ import annotations

import pytest

from sim import patterns
from sim.scenario import load
from tests.conftest import SCENARIOS


@pytest.fixture(scope="module")
def measured():
    """Baseline, four seeds: deterministic, and stable across seeds."""
    return patterns.measure_all(load(SCENARIOS / "baseline.yaml"), range(1, 5))


# The default world misses this target and the miss is reported, not tuned away (docs/scenarios.md, "Patterns"):
# formal MLA requests wait in the requested country's queue before its own lognormal delay (median 300 days
# and more) starts, so the measured median is above 8-10 months.
KNOWN_MISSES = {"formal_mla_median_days"}


@pytest.mark.parametrize("name", sorted(patterns.TARGETS))
def test_baseline_pattern(measured, name):
    low, high, what, source = patterns.TARGETS[name]
    hit = low <= measured[name] <= high
    assert hit != (name in KNOWN_MISSES), (f"{what}: measured {measured[name]:.3f}, target {low}..{high} ({source}); "
                                           "update KNOWN_MISSES and docs/scenarios.md if this changed")


def test_joint_action_leaves_fewer_successors():
    """Same world, same 40 seeds: joint action everywhere (every arrest joint) against the baseline (where
    joint arrests are rare). successor_prob_joint = 0.075 vs successor_prob = 0.3 should show as ~1/4."""
    m = patterns.joint_vs_solo_successors(load(SCENARIOS / "baseline.yaml"), range(1, 41))
    assert m["arrests_as_is"] >= 50 and m["arrests_joint_everywhere"] >= 50
    assert m["successors_per_arrest_joint_everywhere"] < 0.5 * m["successors_per_arrest_as_is"]
    assert 0.15 <= m["successors_per_arrest_as_is"] <= 0.45  # successor_prob 0.3


def test_check_flags_a_miss():
    rows = patterns.check({"notice_share": 0.5, "replacement_median_days": 1.0})
    assert [ok for *_, ok in rows] == [False, True]
