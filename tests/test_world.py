"""The world compiler: every expected number reasoned out from docs/ODD.md."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.stats import lognorm

from sim.scenario import Delay, from_dict
from sim.world import MAX_DELAY_DAYS, compile_world, cumulative, delay_table, pick, threshold53
from tests.conftest import tiny_raw


def world(edit=None, **policy):
    raw = tiny_raw()
    raw["policy"].update(policy)
    if edit:
        edit(raw)
    return compile_world(from_dict(raw, "test"))


@pytest.mark.parametrize("m,q", [(20, 60), (240, 600), (90, 120), (1, 3), (700, 1500)])
def test_lognormal_table_median_and_p90(m, q):
    tab = delay_table(Delay(m, q))
    # The table's median lies between entries 499 and 500, Q(0.4995) and Q(0.5005), which sit symmetrically
    # around m in log space (m * exp(-+sigma * 0.00125)): their mean is m up to rounding.
    assert abs((tab[499] + tab[500]) / 2 - m) <= 0.5
    assert tab[499] <= m <= tab[500]
    # Likewise the 90th percentile between entries 899 and 900.
    assert abs((tab[899] + tab[900]) / 2 - q) <= 1.0
    assert tab[899] <= q <= tab[900]
    sigma = math.log(q / m) / 1.2815515655446004
    assert tab[900] == max(1, round(lognorm.ppf(0.9005, sigma, scale=m)))
    assert np.all(np.diff(tab) >= 0) and tab.min() >= 1


def test_fixed_and_floor():
    assert np.all(delay_table(Delay(7, 7)) == 7)
    assert np.all(delay_table(Delay(0.2, 0.2)) == 1)  # max(1, round(.)) keeps every delay at least a day
    assert delay_table(Delay(1, 3))[0] == 1


def _halved(w1, w2, chan: str) -> None:
    for i in range(3):
        for j in range(3):
            a = w1.delays[getattr(w1, chan)[i, j]]
            b = w2.delays[getattr(w2, chan)[i, j]]
            # half the median and p90: the table's median and p90 halve (up to rounding)
            assert abs((b[499] + b[500]) - (a[499] + a[500]) / 2) <= 2
            assert abs((b[899] + b[900]) - (a[899] + a[900]) / 2) <= 2


def test_mla_speed_halves_mla_channels_only():
    w1, w2 = world(), world(mla_speed=0.5)
    _halved(w1, w2, "mla_chan")
    # Surrender, court and notice delays are not formal MLA: untouched (v2 keeps the two levers apart).
    for tab in ("arrest_chan", "court_tab", "notice_tab"):
        assert np.array_equal(w1.delays[getattr(w1, tab)], w2.delays[getattr(w2, tab)]), tab


def test_surrender_speed_halves_extradition_and_surrender_only():
    w1, w2 = world(), world(surrender_speed=0.5)
    _halved(w1, w2, "arrest_chan")
    for tab in ("mla_chan", "court_tab", "notice_tab"):
        assert np.array_equal(w1.delays[getattr(w1, tab)], w2.delays[getattr(w2, tab)]), tab


def _components(raw):
    for c, (crim, pw, prio) in zip(raw["countries"], [(0.9, 0.8, 0.7), (0.95, 0.6, 0.9), (0.8, 0.2, 0.3)]):
        c.update(criminalises=crim, powers=pw, priority=prio)


def test_legal_components_and_their_formulas():
    w = world(_components)
    assert np.allclose(w.open_prob, [0.7, 0.9, 0.3])      # min(crim', prio')
    assert np.allclose(w.grant_prob, [0.8, 0.6, 0.2])     # min(crim', pow')
    assert np.allclose(w.seize_prob, [0.7, 0.6, 0.2])     # min(pow', prio')
    assert np.allclose(w.law, [0.7, 0.6, 0.2])            # min of the three
    assert np.allclose(w.extradite_prob, np.array([c["extradites"] for c in tiny_raw()["countries"]]) * [0.9, 0.95, 0.8])
    assert w.haven.tolist() == [0, 0, 1]


def test_harmonization_moves_criminalises_and_powers_not_priority():
    w = world(_components, harmonization=0.5)
    crim, pw, prio = np.array([0.95, 0.975, 0.9]), np.array([0.9, 0.8, 0.6]), np.array([0.7, 0.9, 0.3])
    assert np.allclose(w.grant_prob, np.minimum(crim, pw))
    assert np.allclose(w.open_prob, np.minimum(crim, prio))
    assert np.allclose(w.seize_prob, np.minimum(pw, prio))
    w1 = world(_components, harmonization=1.0)
    assert np.all(w1.grant_prob == 1.0) and np.allclose(w1.open_prob, [0.7, 0.9, 0.3])


def test_priority_floor_raises_priority_only():
    w = world(_components, priority_floor=0.8)
    assert np.allclose(w.open_prob, [0.8, 0.9, 0.8])
    assert np.allclose(w.grant_prob, [0.8, 0.6, 0.2])     # untouched: not a matter of priority
    assert np.allclose(w.seize_prob, [0.8, 0.6, 0.2])


def test_version1_law_sets_all_three_components():
    w = world()
    assert np.allclose(w.open_prob, w.grant_prob) and np.allclose(w.open_prob, w.seize_prob)
    assert np.allclose(w.law, [0.9, 0.8, 0.2]) and world().haven.tolist() == [0, 0, 1]  # HVN law 0.2 < 0.5


def test_cumulative_exact_and_zero_weights_never_picked():
    w = np.array([0.0, 1.0, 0.0, 2.0, 0.0, 0.0])
    cum = cumulative(w)
    assert cum[-1] == 1.0 and cum[3] == 1.0
    picks = {pick(cum, u) for u in np.linspace(0, 1, 10001)[:-1]}
    assert picks == {1, 3}
    assert pick(cum, 0.0) == 1 and pick(cum, np.nextafter(1.0, 0)) == 3
    assert pick(cum, 1 / 3 - 1e-12) == 1 and pick(cum, 1 / 3) == 3
    w = world()
    for cum in (w.home_cum, w.market_cum, w.host_cum):
        assert cum[-1] == 1.0 and np.all(np.diff(cum) >= 0)


def test_host_weights():
    w = world()
    assert np.allclose(np.diff(np.concatenate([[0], w.host_cum])), np.array([10, 8, 2, 1]) / 21)
    # beta > 0: weight share * exp(-beta * risk), risk = compliance + (1 - compliance) * law'
    def beta(raw):
        raw["pirates"]["risk_aversion"] = 5.0
    wb = world(beta)
    weights = np.diff(np.concatenate([[0], wb.host_cum]))
    risk = w.compliance + (1 - w.compliance) * w.law[w.provider_country]
    expect = np.array([10, 8, 2, 1]) * np.exp(-5 * risk)
    assert np.allclose(weights, expect / expect.sum())


def test_share_zero_never_hosts_even_with_alpha_zero():
    def edit(raw):
        raw["pirates"]["host_size_exponent"] = 0.0
        raw["providers"][0]["share"] = 0
    w = world(edit)
    assert np.allclose(np.diff(np.concatenate([[0], w.host_cum])), [0, 1 / 3, 1 / 3, 1 / 3])


def test_pair_matrices_pick_fastest_shared_bloc():
    def edit(raw):
        # A second bloc with an even faster MLA channel shared by MKT and HUB only; HVN joins the slower one.
        raw["blocs"]["fast"] = {"mla": {"days": 10}}
        raw["countries"][0]["blocs"].append("fast")
        raw["countries"][1]["blocs"].append("fast")
    w = world(edit, join={"eu": ["HVN"]})
    tab = lambda i, j, chan="mla_chan": w.delays[getattr(w, chan)[i, j]]  # noqa: E731
    assert np.all(tab(0, 1) == 10)                      # fast (10 d) beats eu (90 d)
    assert tab(0, 2)[500] == 90 and tab(2, 0)[500] == 90  # HVN now shares eu only
    assert tab(0, 1, "arrest_chan")[500] == 45            # eu surrender
    assert w.joint[0, 2] == 1 and w.preserve[2, 1] == 1


def test_pair_matrices_without_shared_bloc_use_own_channel():
    w = world()
    # HVN shares nothing: a request to HVN takes HVN's own MLA (median 400), to MKT from HVN MKT's own (240).
    assert w.delays[w.mla_chan[0, 2], 500] == 400
    assert w.delays[w.mla_chan[2, 0], 500] == 240
    assert abs(np.median(w.delays[w.arrest_chan[0, 2]]) - 1500) <= 0.5
    assert w.preserve[0, 2] == 0 and w.joint[0, 2] == 0 and w.joint[2, 2] == 1
    assert world(preservation_everywhere=True).preserve.all()


def test_ties_go_to_the_first_bloc():
    def edit(raw):
        raw["blocs"] = {"a": {"mla": {"median_days": 50, "p90_days": 60}}, "b": {"mla": {"median_days": 50, "p90_days": 500}}}
        for c in raw["countries"]:
            c["blocs"] = ["b", "a"]
    w = world(edit)
    assert w.delays[w.mla_chan[0, 1], 900] == 60


def test_capacity_scale_and_entry_table():
    w = world(capacity_scale=1.5)
    assert w.capacity.tolist() == [4, 3, 2]  # round(4.5) = 4 (half to even), round(3) = 3, round(1.5) = 2
    w = world()
    K, S, lam = 30, 2, 0.1
    assert len(w.entry_q) == K + 1
    assert w.entry_q[0] == lam / S and w.entry_q[K] == 0.0
    assert w.entry_q[15] == pytest.approx(lam * 0.5 / S)


def test_threshold53_is_the_exact_integer_form_of_u_below_p():
    """The compiled engine's detection compares 53-bit integers; it must agree with ``u < p`` everywhere."""
    g = np.random.default_rng(5)
    for p in list(g.random(200)) + [0.0, 1.0, 0.02, 0.5, 2.0**-53, 1 - 2.0**-53]:
        thr = threshold53(p)
        for k in {max(0, thr - 2), max(0, thr - 1), thr, min(2**53 - 1, thr + 1)}:
            assert (k * 2.0**-53 < p) == (k < thr)


def test_delay_table_of_a_very_long_tail_is_capped_not_overflowed():
    """A lognormal whose top quantiles overflow to infinity: the table stays finite, positive and capped, and
    keeps its order (a bad cast used to turn infinity into a negative number of days)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "invalid value encountered in cast"
        tab = delay_table(Delay(median_days=3, p90_days=1e9))
    assert tab.min() >= 1 and tab.max() == MAX_DELAY_DAYS
    assert (np.diff(tab) >= 0).all()
    assert tab[500] == 3


def test_worlds_sharing_parts_are_independent_and_identical_to_fresh_ones():
    """compile_world shares what a world takes from countries, providers and blocs alone between scenarios that
    hold the very same parts (a sweep's design points): each world must still equal one compiled from a fresh
    copy of its scenario, and own its arrays (editing one world cannot change another)."""
    import pickle

    from sim.scenario import load, with_overrides
    from tests.conftest import SCENARIOS

    base = load(SCENARIOS / "baseline.yaml")
    points = [with_overrides(base, [("policy.mla_speed", s), ("policy.harmonization", h)])
              for s, h in ((0.5, 0.0), (2.0, 0.7), (1.0, 1.0))]
    # points that repeat some levers of earlier ones and change others: each part derived from a few levers is
    # made once per value of those levers (compile_world's memo), and every world must still own its arrays
    more = [[("policy.mla_speed", 0.5), ("policy.harmonization", 0.7), ("policy.capacity_scale", 2.0)],
            [("policy.mla_speed", 0.5), ("market.entry", "demand"), ("policy.blocking_everywhere", True)],
            [("policy.mla_speed", 2.0), ("market.entry", "demand"), ("pirates.heat_aversion", 0.5)],
            [("policy.surrender_speed", 0.5), ("policy.capacity_scale", 2.0), ("pirates.heat_aversion", 0.5)]]
    points += [with_overrides(base, ov) for ov in more]
    worlds = [compile_world(p) for p in points]
    for p, w in zip(points, worlds):
        fresh = compile_world(pickle.loads(pickle.dumps(p)))  # other objects: nothing shared
        for name, value in w.arrays().items():
            other = getattr(fresh, name)
            assert (np.array_equal(value, other) and value.dtype == other.dtype) if isinstance(value, np.ndarray) \
                else value == other, name
    arrays = [w.arrays() for w in worlds]
    for name, value in arrays[0].items():
        if isinstance(value, np.ndarray):
            assert not any(np.shares_memory(value, a[name]) for a in arrays[1:]), name
