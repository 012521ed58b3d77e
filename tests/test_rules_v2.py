"""Behaviour tests for the rules of model version 2 (docs/ODD.md; world compiler, phases 5-9, outputs).

The equivalence tests prove that the two engines agree, not that they are right. Each test here builds a
small world (tests/conftest.py: rules_raw) where the answer can be reasoned out by hand, runs the Mesa engine
and asserts the exact outcome: fixed delays give exact due days, probabilities 0 and 1 make events certain,
and where a draw matters the test computes it with the counter generator. ``make mutants`` checks that these
tests fail when a rule is broken.

In rules_raw() the one case opens on day 1 (certain detection, threshold 1); fixed delays in days:
court LED 5 / HST 9 / HOM 17, mla LED 7 / HST 40 / HOM 60, extradition LED 11 / HST 13 / HOM 30.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import rng as R
from sim.agents import ARRESTING, CLOSED, EVIDENCE
from sim.engines import run
from sim.model import PiracyModel
from sim.outputs import (CAUSE_ALIVE, CAUSE_ARREST, KIND_DOMESTIC, KIND_JIT, KIND_MLA, KIND_MONEY, KIND_ORDER,
                         KIND_VOLUNTARY, OUTCOME_DROPPED, OUTCOME_EVIDENCE, OUTCOME_LOST, OUTCOME_OPEN,
                         OUTCOME_REFUSED)
from sim.scenario import from_dict
from sim.world import World, compile_world, pick
from tests.conftest import HOM, HST, LED, in_bloc, rules_raw, set_country

OPENED = 1  # the day the case of rules_raw() opens


def world_of(raw) -> World:
    return compile_world(from_dict(raw, "rules"))


def model_of(raw, seed: int | None = None) -> PiracyModel:
    return PiracyModel(world_of(raw), seed)


def run_days(raw, days: int | None = None, seed: int | None = None) -> PiracyModel:
    """The Mesa engine stepped ``days`` days (default: the horizon)."""
    model = model_of(raw, seed)
    for _ in range(model.world.horizon if days is None else days):
        model.step()
    return model


def step_to(model: PiracyModel, day: int) -> dict[str, int]:
    """Step ``model`` until the end of ``day``; returns that day's row."""
    while model.steps < day:
        model.step()
    assert model.row["day"] == day
    return model.row


def fixed(world: World, table: int) -> int:
    """The one value of a fixed delay table."""
    row = world.delays[table]
    assert (row == row[0]).all(), "not a fixed delay"
    return int(row[0])


def first_seed(pred, limit: int = 5000) -> int:
    """The smallest seed satisfying ``pred`` (found with the counter generator, so it never goes stale)."""
    return next(s for s in range(1, limit) if pred(s))


def host_of(raw, seed: int, s: int) -> int:
    """The provider server ``s`` of a run of ``raw`` under ``seed`` rents from (docs/ODD.md, provisioning)."""
    return pick(world_of(raw).host_cum, R.uniform(seed, R.HOST, 0, s))


def day_one_flows(raw) -> dict[str, int]:
    model = model_of(raw)
    return step_to(model, 1)


# ------------------------------------------------------------------------------------------ the five routes


def route_run(raw):
    res = run(world_of(raw), engine="mesa")
    req, net = res.requests, res.networks
    return res, [tuple(int(x) for x in row) for row in req[["kind", "server", "lead", "requested", "created",
                                                             "started", "resolved", "outcome"]].to_numpy()], net


def test_mla_route_alone_queued_at_host_due_by_the_requested_countrys_mla():
    res, reqs, net = route_run(rules_raw())
    # MLA to HST, started the day it was created (quota 50), due after HST's mla (40 days, not LED's 7)
    assert reqs == [(KIND_MLA, 0, LED, HST, OPENED, OPENED, OPENED + 40, OUTCOME_EVIDENCE)]
    # home == lead: arrest by LED's court (5) after the answer
    assert net[["ended", "cause", "arrested_by", "first_case", "cases"]].values.tolist() == [
        [OPENED + 40 + 5, CAUSE_ARREST, LED, OPENED, 1]]
    d = res.daily.set_index("day")
    assert d.loc[OPENED, "requests_sent"] == 1
    assert d[["requests_voluntary", "requests_order", "requests_jit", "requests_money", "fallbacks"]].sum().sum() == 0
    assert d.loc[OPENED + 40, "cases_identified"] == 1 and d["cases_identified"].sum() == 1
    assert d.loc[OPENED + 45, "arrests"] == 1 and d["arrests"].sum() == 1


def test_domestic_route_alone_due_by_the_leads_court_and_not_preserved():
    raw = rules_raw()
    raw["providers"][0]["country"] = "LED"
    in_bloc(raw, "pres", ["LED", "HST"], preservation=True)  # the lead preserves, but not its own requests
    model = run_days(raw, 30)
    (r,) = model.requests
    assert (r.kind, r.requested, r.created, r.started, r.due, r.resolved, r.outcome) == (
        KIND_DOMESTIC, LED, OPENED, OPENED, OPENED + 5, OPENED + 5, OUTCOME_EVIDENCE)
    assert r.preserved is False
    assert model.networks[0].ended == OPENED + 5 + 5 and model.networks[0].arrested_by == LED


def test_domestic_request_is_not_preserved_so_evidence_is_lost_after_retention():
    raw = rules_raw()
    raw["providers"][0].update(country="LED", compliance=1.0, notice={"days": 2})  # taken down on day 3
    set_country(raw, "LED", retention_days=0)
    in_bloc(raw, "pres", ["LED", "HST"], preservation=True)
    model = run_days(raw, 30)
    (r,) = model.requests
    assert model.servers[0].removed_day == 3
    assert (r.resolved, r.preserved, r.outcome) == (OPENED + 5, False, OUTCOME_LOST)
    assert model.networks[0].cause == CAUSE_ALIVE


def test_jit_route_due_by_the_hosts_court_never_refused_and_first_of_the_routes():
    raw = rules_raw()
    # HST grants no MLA (powers 0) and its provider complies with no order and discloses nothing voluntarily:
    # a JIT request is none of these, so it is still answered with evidence.
    set_country(raw, "HST", powers=0.0)
    raw["providers"][0].update(order_compliance=0.0, discloses=0.5)
    in_bloc(raw, "team", ["LED", "HST"], jit=True, preservation=True, production_orders={"days": 3})
    assert day_one_flows(raw)["requests_jit"] == 1
    model = run_days(raw, 40)
    (r,) = model.requests
    assert (r.kind, r.requested, r.created, r.started, r.due, r.outcome) == (
        KIND_JIT, HST, OPENED, OPENED, OPENED + 9, OUTCOME_EVIDENCE)  # court[HST] = 9, not court[LED] = 5
    assert r.preserved is True  # foreign: preserve[LED][HST]
    assert model.networks[0].ended == OPENED + 9 + 5


def test_order_route_due_by_the_fastest_shared_production_order_channel():
    raw = rules_raw()
    raw["providers"][0].update(order_compliance=1.0, discloses=0.0)
    in_bloc(raw, "slow", ["LED", "HST"], production_orders={"days": 10})
    in_bloc(raw, "fast", ["LED", "HST"], production_orders={"days": 3})
    w = world_of(raw)
    assert fixed(w, w.order_chan[LED, HST]) == 3 and w.order_chan[LED, HOM] == -1
    assert day_one_flows(raw)["requests_order"] == 1
    model = run_days(raw, 30)
    (r,) = model.requests
    assert (r.kind, r.requested, r.created, r.started, r.due, r.outcome, r.preserved) == (
        KIND_ORDER, HST, OPENED, OPENED, OPENED + 3, OUTCOME_EVIDENCE, False)
    assert model.networks[0].ended == OPENED + 3 + 5


def test_order_route_comes_before_voluntary_disclosure():
    raw = rules_raw()
    raw["providers"][0].update(discloses=1.0, disclosure={"days": 12})
    in_bloc(raw, "po", ["LED", "HST"], production_orders={"days": 3})
    model = run_days(raw, 10)
    assert [(r.kind, r.due) for r in model.requests] == [(KIND_ORDER, OPENED + 3)]


def test_voluntary_route_due_by_the_providers_disclosure_delay():
    raw = rules_raw()
    raw["providers"][0].update(discloses=1.0, disclosure={"days": 12})
    assert day_one_flows(raw)["requests_voluntary"] == 1
    model = run_days(raw, 30)
    (r,) = model.requests
    assert (r.kind, r.requested, r.created, r.started, r.due, r.outcome) == (
        KIND_VOLUNTARY, HST, OPENED, OPENED, OPENED + 12, OUTCOME_EVIDENCE)
    assert model.networks[0].ended == OPENED + 12 + 5


def test_a_case_asks_for_every_server_whose_logs_the_host_still_keeps():
    """Threshold 2: s0 is noticed on day 1 and taken down on day 2, s1 replaces it and is noticed on day 3, when
    the case opens. HST keeps logs 1000 days (the lead none): both servers bear evidence, two MLA requests."""
    raw = rules_raw()
    raw["providers"][0].update(compliance=1.0, notice={"days": 1})
    raw["pirates"]["reprovision_prob"] = 1.0
    raw["enforcement"]["case_threshold"] = 2
    set_country(raw, "LED", retention_days=0)
    model = run_days(raw, 3)
    assert model.servers[0].removed_day == 2 and model.servers[1].born == 2
    assert [c.opened for c in model.cases] == [3]
    assert [(r.kind, r.server, r.requested, r.created) for r in model.requests] == [(KIND_MLA, 0, HST, 3),
                                                                                     (KIND_MLA, 1, HST, 3)]
    set_country(raw, "HST", retention_days=0)  # now s0's logs are gone by day 3
    assert [r.server for r in run_days(raw, 3).requests] == [1]


@pytest.mark.parametrize("host_keeps,lead_keeps,outcome", [(10, 1000, OUTCOME_LOST), (1000, 0, OUTCOME_EVIDENCE)])
def test_unpreserved_answer_judged_on_the_requested_countrys_retention(host_keeps, lead_keeps, outcome):
    """The server is taken down on day 3; the MLA answer comes on day 41, 38 days later."""
    raw = rules_raw()
    raw["providers"][0].update(compliance=1.0, notice={"days": 2})
    set_country(raw, "HST", retention_days=host_keeps)
    set_country(raw, "LED", retention_days=lead_keeps)
    model = run_days(raw, OPENED + 40)
    (r,) = model.requests
    assert model.servers[0].removed_day == 3 and not r.preserved
    assert (r.resolved, r.outcome) == (OPENED + 40, outcome)


def test_foreign_requests_are_preserved_where_the_pair_preserves():
    for preserve in (False, True):
        raw = rules_raw()
        if preserve:
            in_bloc(raw, "pres", ["LED", "HST"], preservation=True)
        (r,) = run_days(raw, 2).requests
        assert r.kind == KIND_MLA and r.preserved is preserve


# ------------------------------------------------------------------------------------------ fallback to MLA


@pytest.mark.parametrize("route", ["order", "voluntary"])
def test_refused_order_or_voluntary_request_falls_back_to_mla(route):
    raw = rules_raw()
    if route == "order":
        raw["providers"][0].update(order_compliance=0.0)
        in_bloc(raw, "po", ["LED", "HST"], production_orders={"days": 3})
        kind, answered = KIND_ORDER, OPENED + 3
    else:
        # discloses > 0 opens the route; a chance of 1e-12 refuses it (checked on the draw below)
        raw["providers"][0].update(discloses=1e-12, disclosure={"days": 12})
        kind, answered = KIND_VOLUNTARY, OPENED + 12
    model = model_of(raw)
    step_to(model, answered - 1)
    assert [r.kind for r in model.requests] == [kind] and model.cases[0].pending == 1
    row = step_to(model, answered)
    assert model.u(R.GRANT, answered, 0) >= model.world.discloses[0] or route == "order"
    old, new = model.requests
    assert (old.outcome, old.resolved) == (OUTCOME_REFUSED, answered)
    # a new MLA request for the same server, created today, queued at the requested country, not started yet
    assert (new.kind, new.server, new.lead, new.requested, new.created, new.started, new.outcome) == (
        KIND_MLA, old.server, LED, HST, answered, -1, OUTCOME_OPEN)
    assert list(model.countries[HST].mla_queue) == [new]
    assert model.cases[0].pending == 1 and model.cases[0].stage == EVIDENCE
    assert (row["fallbacks"], row["requests_refused"], row["requests_sent"], row["requests_answered"]) == (1, 1, 1, 1)
    assert row["mla_backlog"] == 1 and row["cases_failed_evidence"] == 0
    # the queue works it the next day (phase 6 comes before phase 7); answered after HST's mla
    step_to(model, answered + 1)
    assert (new.started, new.due) == (answered + 1, answered + 1 + 40)
    step_to(model, answered + 1 + 40 + 5)
    assert new.outcome == OUTCOME_EVIDENCE
    assert model.networks[0].cause == CAUSE_ARREST and model.networks[0].ended == answered + 1 + 40 + 5
    assert len(model.requests) == 2
    assert model.result().daily["requests_sent"].sum() == 2  # the fallback is counted as a request sent


def test_refused_mla_request_does_not_fall_back():
    raw = set_country(rules_raw(), "HST", powers=0.0)
    model = model_of(raw)
    row = step_to(model, OPENED + 40)
    assert [(r.kind, r.outcome) for r in model.requests] == [(KIND_MLA, OUTCOME_REFUSED)]
    assert row["fallbacks"] == 0 and row["requests_refused"] == 1 and row["cases_failed_evidence"] == 1
    assert model.cases[0].stage == CLOSED


# ------------------------------------------------------------------------------------------ dual criminality and direction


@pytest.mark.parametrize("edit,granted", [
    ({"LED": {"powers": 0.0}}, True),              # the lead's own law does not matter
    ({"HST": {"powers": 0.0}}, False),             # grant_prob = min(crim', pow') of the requested
    ({"HST": {"criminalises": 0.0}}, False),       # dual criminality: judged where the evidence is
    ({"HST": {"priority": 0.0}}, True),            # priority is not part of grant_prob (open and seize only)
])
def test_mla_granted_on_the_requested_countrys_criminalisation_and_powers(edit, granted):
    raw = rules_raw()
    for cid, fields in edit.items():
        set_country(raw, cid, **fields)
    model = run_days(raw, OPENED + 40)
    (r,) = model.requests
    assert r.outcome == (OUTCOME_EVIDENCE if granted else OUTCOME_REFUSED)
    assert model.cases[0].stage == (ARRESTING if granted else CLOSED)


def test_mla_channel_runs_from_lead_to_requested():
    raw = rules_raw()
    w = world_of(raw)
    # mla_chan[lead][requested] is the requested country's own mla where no bloc channel is shared
    assert fixed(w, w.mla_chan[LED, HST]) == 40 and fixed(w, w.mla_chan[HST, LED]) == 7
    assert fixed(w, w.mla_chan[LED, HOM]) == 60 and fixed(w, w.mla_chan[HOM, LED]) == 7
    in_bloc(raw, "fast", ["LED", "HST"], mla={"days": 25})
    in_bloc(raw, "faster", ["LED", "HST"], mla={"days": 20})
    w = world_of(raw)
    assert fixed(w, w.mla_chan[LED, HST]) == 20 and fixed(w, w.mla_chan[HST, LED]) == 20
    (r,) = run_days(raw, 30).requests
    assert (r.kind, r.due) == (KIND_MLA, OPENED + 20)


# ------------------------------------------------------------------------------------------ evidence rules


def two_server_raw(rule: str):
    """Two servers per network, one at home in LED (domestic, due day 6), one in HST (MLA, due day 41)."""
    raw = rules_raw()
    raw["pirates"]["servers_per_network"] = 2
    raw["providers"].append({"id": "lp", "country": "LED", "share": 1, "compliance": 0.0, "notice": {"days": 1000}})
    raw["enforcement"]["evidence_rule"] = rule
    raw["seed"] = first_seed(lambda s: {host_of(raw, s, 0), host_of(raw, s, 1)} == {0, 1})
    return raw


def test_evidence_rule_first_proceeds_on_the_first_identifying_piece():
    model = model_of(two_server_raw("first"))
    step_to(model, OPENED + 5)
    case = model.cases[0]
    assert sorted((r.kind, r.due) for r in model.requests) == [(KIND_DOMESTIC, OPENED + 5), (KIND_MLA, OPENED + 40)]
    # identified by the domestic answer while the MLA request is still pending: to the arrest stage today
    assert (case.stage, case.pending, case.identified, case.arrest_due) == (ARRESTING, 1, True, OPENED + 5 + 5)
    step_to(model, OPENED + 40)
    net = model.networks[0]
    assert (net.ended, net.cause) == (OPENED + 10, CAUSE_ARREST)
    mla = next(r for r in model.requests if r.kind == KIND_MLA)
    assert mla.outcome == OUTCOME_DROPPED  # the case closed at the arrest


def test_evidence_rule_all_waits_for_every_answer():
    model = model_of(two_server_raw("all"))
    step_to(model, OPENED + 5)
    case = model.cases[0]
    assert (case.stage, case.pending, case.identified) == (EVIDENCE, 1, True)
    step_to(model, OPENED + 39)
    assert case.stage == EVIDENCE
    step_to(model, OPENED + 40)
    assert (case.stage, case.pending, case.arrest_due) == (ARRESTING, 0, OPENED + 40 + 5)
    step_to(model, OPENED + 45)
    assert model.networks[0].ended == OPENED + 45


def test_evidence_rule_first_without_identification_waits_for_every_answer_then_fails():
    raw = two_server_raw("first")
    raw["enforcement"]["identify_prob"] = 0.0
    model = model_of(raw)
    step_to(model, OPENED + 39)
    assert model.cases[0].stage == EVIDENCE and model.cases[0].evidence == 1
    row = step_to(model, OPENED + 40)
    assert row["cases_failed_evidence"] == 1 and model.cases[0].stage == CLOSED and model.cases[0].evidence == 2
    assert model.networks[0].cause == CAUSE_ALIVE


def churn_raw(**enforcement):
    """Many networks, each with many cases: servers are taken down the day after their notice and replaced at
    once, so notices (and cases) keep coming; every server is domestic to the lead LED (court 5)."""
    raw = rules_raw()
    raw["horizon_days"] = 80
    raw["providers"][0].update(country="LED", compliance=1.0, notice={"days": 1})
    raw["pirates"].update(initial_networks=12, reprovision_prob=1.0, servers_per_network=2)
    raw["enforcement"].update(enforcement)
    return raw


def test_identification_draws_one_uniform_per_piece_of_evidence_in_order():
    raw = churn_raw(identify_prob=0.3)
    model = run_days(raw)
    p = model.world.identify_prob
    checked = 0
    for case in model.cases:
        draws = [model.u(R.IDENT, 0, case.id, i) < p for i in range(case.evidence)]
        assert case.identified == any(draws), case
        checked += case.evidence > 1
    assert checked >= 10
    assert model.result().daily["cases_identified"].sum() == sum(c.identified for c in model.cases)


# ------------------------------------------------------------------------------------------ arrest decision


def abroad_raw(**hom):
    """The operator lives in HOM (not the lead LED): the arrest decision is about surrender."""
    raw = rules_raw()
    raw["pirates"]["home_in_market"] = 0.0
    set_country(raw, "HOM", **hom)
    set_country(raw, "LED", extradites=0.0)  # the lead's own extradition chance must not matter
    return raw


def decided(raw, days: int = 120):
    res = run(world_of(raw), engine="mesa")
    d = res.daily.set_index("day")
    net = res.networks.iloc[0]
    return d, (int(net["ended"]), int(net["cause"]), int(net["arrested_by"]))


def test_extradition_by_the_homes_extradition_delay_and_chance():
    d, net = decided(abroad_raw())
    assert net == (OPENED + 40 + 30, CAUSE_ARREST, LED)  # arrest_chan[LED][HOM] = HOM's extradition, 30
    assert d["prosecutions_home"].sum() == 0
    d, net = decided(abroad_raw(extradites=0.0))
    assert net == (-1, CAUSE_ALIVE, -1) and d.loc[OPENED + 40, "cases_failed_haven"] == 1
    # extradite_prob = extradites * criminalises' of the home country
    d, net = decided(abroad_raw(criminalises=0.0))
    assert net == (-1, CAUSE_ALIVE, -1) and d.loc[OPENED + 40, "cases_failed_haven"] == 1


def test_extradition_channel_runs_from_lead_to_home():
    raw = abroad_raw()
    w = world_of(raw)
    assert fixed(w, w.arrest_chan[LED, HOM]) == 30 and fixed(w, w.arrest_chan[HOM, LED]) == 11
    in_bloc(raw, "ew", ["LED", "HOM"], surrender={"days": 8})
    w = world_of(raw)
    assert fixed(w, w.arrest_chan[LED, HOM]) == 8 and fixed(w, w.arrest_chan[LED, HST]) == 13
    assert decided(raw)[1] == (OPENED + 40 + 8, CAUSE_ARREST, LED)


def test_operator_at_home_in_the_lead_is_arrested_by_the_leads_court():
    raw = rules_raw()
    set_country(raw, "LED", extradites=0.0, extradites_nationals=False)  # no surrender question at home
    assert decided(raw)[1] == (OPENED + 40 + 5, CAUSE_ARREST, LED)


def test_nationality_bar_without_surrender_nationals_is_a_haven():
    raw = abroad_raw(extradites_nationals=False)
    in_bloc(raw, "coop", ["LED", "HOM"], preservation=True, surrender={"days": 8})  # shared, but no surrender_nationals
    w = world_of(raw)
    assert w.surrender_nat[LED, HOM] == 0
    d, net = decided(raw)
    assert net == (-1, CAUSE_ALIVE, -1)
    assert d.loc[OPENED + 40, "cases_failed_haven"] == 1 and d["prosecutions_home"].sum() == 0


def test_surrender_nationals_lifts_the_nationality_bar():
    raw = abroad_raw(extradites_nationals=False)
    in_bloc(raw, "eaw", ["LED", "HOM"], surrender_nationals=True, surrender={"days": 8})
    w = world_of(raw)
    assert w.surrender_nat[LED, HOM] == 1 and w.surrender_nat[LED, HST] == 0
    d, net = decided(raw)
    assert net == (OPENED + 40 + 8, CAUSE_ARREST, LED) and d["prosecutions_home"].sum() == 0


def test_prosecution_at_home_by_the_mla_channel_from_lead_to_home():
    raw = abroad_raw(extradites_nationals=False, prosecutes_nationals=1.0)
    d, net = decided(raw)
    # arrested by HOM itself, after mla_chan[LED][HOM] = HOM's mla (60; the reverse channel is 7)
    assert net == (OPENED + 40 + 60, CAUSE_ARREST, HOM)
    assert d.loc[OPENED + 40, "prosecutions_home"] == 1 and d["prosecutions_home"].sum() == 1
    assert d["cases_failed_haven"].sum() == 0


def test_one_extradition_draw_per_operator_and_requesting_country():
    raw = churn_raw()
    raw["pirates"]["home_in_market"] = 0.0
    set_country(raw, "HOM", extradites=0.5, extradition={"days": 3})
    model = run_days(raw)
    p = model.world.extradite_prob[HOM]
    assert p == 0.5
    refused_networks = refused_cases = 0
    for net in model.networks:
        refused = R.uniform(raw["seed"], R.EXTRADITE, 0, net.idx, LED) >= p
        assert net.cases >= 1
        if refused:
            # never arrested, however many cases it gives rise to: the refusal is not drawn again
            assert net.cause == CAUSE_ALIVE, net.idx
            refused_networks += 1
            refused_cases += sum(1 for c in model.cases if c.network == net.idx and c.stage == CLOSED)
        else:
            # the first case's decision is on day 6 (court 5); the arrest follows after HOM's extradition
            assert (net.cause, net.ended, net.cases, net.arrested_by) == (CAUSE_ARREST, OPENED + 5 + 3, 1, LED)
    assert refused_networks >= 3 and refused_cases >= 5 * refused_networks
    assert model.result().daily["cases_failed_haven"].sum() == refused_cases


# ------------------------------------------------------------------------------------------ joint coverage and successors


def successor_raw(spn: int = 2, **bloc):
    raw = rules_raw()
    raw["pirates"].update(servers_per_network=spn, successor_prob=1.0, successor_prob_joint=0.0)
    if bloc:
        in_bloc(raw, "b", ["LED", "HST"], **bloc)
    return raw


def test_succ_q_pro_rata_between_solo_and_joint():
    raw = rules_raw()
    raw["pirates"].update(servers_per_network=4, successor_prob=0.4, successor_prob_joint=0.1)
    q = world_of(raw).succ_q
    assert q.shape == (5, 5)
    for u in range(1, 5):
        for j in range(u + 1):
            assert q[j, u] == pytest.approx(0.4 - 0.3 * j / u, abs=1e-15), (j, u)
    assert q[0, 0] == 0.1  # no up server at the arrest: as if joint action reached all of them
    assert q[0, 4] == 0.4 and q[4, 4] == pytest.approx(0.1) and q[1, 2] == pytest.approx(0.25)


def test_joint_coverage_tables():
    raw = rules_raw()
    w = world_of(raw)
    assert w.joint.tolist() == np.eye(3, dtype=int).tolist() and not w.jit.any()
    w = world_of(in_bloc(rules_raw(), "b", ["LED", "HST"], jit=True))
    assert w.joint[LED, HST] == w.joint[HST, LED] == 1 and w.jit[LED, HST] == 1 and w.joint[LED, HOM] == 0
    w = world_of(in_bloc(rules_raw(), "b", ["LED", "HST"], joint_action=True))
    assert w.joint[LED, HST] == 1 and w.jit[LED, HST] == 0


@pytest.mark.parametrize("bloc,successor", [({}, True), ({"jit": True}, False), ({"joint_action": True}, False)])
def test_successor_chance_from_joint_coverage_at_arrest(bloc, successor):
    """Two up servers in HST at the arrest: j = 0 without a joint bloc (succ_q[0][2] = successor_prob = 1),
    j = 2 with a JIT or joint-action bloc (succ_q[2][2] = successor_prob_joint = 0)."""
    model = run_days(successor_raw(**bloc))
    arrested = model.networks[0]
    assert arrested.cause == CAUSE_ARREST
    if successor:
        assert len(model.networks) >= 2  # the successor is arrested in turn, and succeeded
        succ = model.networks[1]
        assert (succ.predecessor, succ.born, succ.home, succ.market) == (0, arrested.ended + 3, LED, LED)
    else:
        assert len(model.networks) == 1


@pytest.mark.parametrize("draw_below", [True, False])
def test_successor_chance_pro_rata_uses_succ_q_j_u(draw_below):
    """Three servers, one in the lead's own country (joint by definition): j = 1, u = 3, q = 1 - 1/3."""
    raw = successor_raw(3)
    raw["providers"].append({"id": "lp", "country": "LED", "share": 1, "compliance": 0.0, "notice": {"days": 1000}})

    def fits(s):
        one_home = sorted(host_of(raw, s, i) for i in range(3)) == [0, 0, 1]
        return one_home and (R.uniform(s, R.SUCCESSOR, 0, 0) < 2 / 3) == draw_below

    raw["seed"] = first_seed(fits)
    model = run_days(raw)
    assert sorted(s.country for s in model.networks[0].servers) == [HST, HST, LED]
    assert model.networks[0].cause == CAUSE_ARREST
    assert (len(model.networks) == 2) == draw_below


# ------------------------------------------------------------------------------------------ policy levers


def speed_raw(**policy):
    raw = abroad_raw()  # MLA to HST (40), extradition from HOM (30)
    raw["policy"] = policy
    return raw


@pytest.mark.parametrize("policy,mla,surrender,reverse", [
    ({}, 40, 30, (7, 13)),
    ({"mla_speed": 0.5}, 20, 30, (4, 13)),           # 3.5 rounds half to even: 4
    ({"surrender_speed": 0.5}, 40, 15, (7, 6)),      # 6.5 rounds half to even: 6
    ({"mla_speed": 0.25, "surrender_speed": 2.0}, 10, 60, (2, 26)),
])
def test_mla_speed_and_surrender_speed_are_separate_levers(policy, mla, surrender, reverse):
    raw = speed_raw(**policy)
    in_bloc(raw, "po", ["LED", "HOM"], production_orders={"days": 6})
    raw["providers"][0].update(disclosure={"days": 12})
    w = world_of(raw)
    assert fixed(w, w.mla_chan[LED, HST]) == mla and fixed(w, w.arrest_chan[LED, HOM]) == surrender
    assert (fixed(w, w.mla_chan[HST, LED]), fixed(w, w.arrest_chan[LED, HST])) == reverse
    # neither lever touches courts, production orders or voluntary disclosure
    assert [fixed(w, t) for t in w.court_tab] == [9, 5, 17]
    assert fixed(w, w.order_chan[LED, HOM]) == 6 and fixed(w, w.disclosure_tab[0]) == 12
    assert decided(raw)[1] == (OPENED + mla + surrender, CAUSE_ARREST, LED)


def test_speed_levers_scale_bloc_channels_too():
    raw = speed_raw(mla_speed=0.5, surrender_speed=0.25)
    in_bloc(raw, "b", ["LED", "HST", "HOM"], mla={"days": 20}, surrender={"days": 8})
    w = world_of(raw)
    assert fixed(w, w.mla_chan[LED, HST]) == 10 and fixed(w, w.arrest_chan[LED, HOM]) == 2
    assert decided(raw)[1] == (OPENED + 10 + 2, CAUSE_ARREST, LED)


def test_priority_floor_raises_open_and_seize_not_grant():
    raw = rules_raw()
    set_country(raw, "HST", criminalises=0.9, powers=0.6, priority=0.2)
    w0 = world_of(raw)
    raw["policy"] = {"priority_floor": 0.7}
    w1 = world_of(raw)
    assert (w0.open_prob[HST], w0.seize_prob[HST], w0.grant_prob[HST], w0.law[HST]) == (0.2, 0.2, 0.6, 0.2)
    assert (w1.open_prob[HST], w1.seize_prob[HST], w1.grant_prob[HST], w1.law[HST]) == (0.7, 0.6, 0.6, 0.6)
    assert (w0.haven[HST], w1.haven[HST]) == (1, 0)
    # a floor below a country's priority changes nothing
    assert (w1.open_prob[LED], w1.seize_prob[LED], w1.grant_prob[LED]) == (1.0, 1.0, 1.0)


def test_priority_floor_lets_a_lead_without_priority_open_cases():
    raw = set_country(rules_raw(), "LED", priority=0.0)
    assert run(world_of(raw), engine="mesa").daily["cases_opened"].sum() == 0
    raw["policy"] = {"priority_floor": 1.0}
    model = run_days(raw, 2)
    assert [(c.opened, c.lead) for c in model.cases] == [(OPENED, LED)]


def test_harmonization_moves_criminalises_and_powers_not_priority():
    raw = rules_raw()
    set_country(raw, "HST", criminalises=0.6, powers=0.2, priority=0.3, extradites=0.5)
    raw["policy"] = {"harmonization": 0.5}
    w = world_of(raw)
    # crim' = 0.6 + 0.5 * 0.4 = 0.8, pow' = 0.2 + 0.5 * 0.8 = 0.6, prio' = 0.3
    assert w.grant_prob[HST] == pytest.approx(0.6, abs=1e-15)
    assert w.open_prob[HST] == pytest.approx(0.3, abs=1e-15)
    assert w.seize_prob[HST] == pytest.approx(0.3, abs=1e-15)
    assert w.law[HST] == pytest.approx(0.3, abs=1e-15) and w.haven[HST] == 1
    assert w.extradite_prob[HST] == pytest.approx(0.4, abs=1e-15)


def test_haven_is_law_strictly_below_the_threshold():
    raw = rules_raw()
    set_country(raw, "HST", law=0.5)
    set_country(raw, "HOM", law=0.49)
    assert world_of(raw).haven.tolist() == [0, 0, 1]


def test_referrals_follow_seize_prob_of_the_host():
    """Compliance 0: every answered notice is a referral if the host's police act (seize_prob = min(pow', prio')),
    and the seizure follows after the host's court (9 days)."""
    raw = rules_raw()
    raw["providers"][0]["notice"] = {"days": 1}
    set_country(raw, "HST", criminalises=0.0)  # grants no MLA, yet its police act on referrals
    model = run_days(raw, 20)
    server = model.servers[0]
    assert (server.seized, server.removed_day) == (True, OPENED + 1 + 9)
    set_country(raw, "HST", criminalises=1.0, priority=0.0)
    model = run_days(raw, 20)
    assert model.result().daily["referrals"].sum() == 0 and model.servers[0].up


# ------------------------------------------------------------------------------------------ timeout, residence, money


def test_case_times_out_exactly_case_timeout_days_after_opening():
    raw = rules_raw()
    set_country(raw, "HST", mla={"days": 500})
    raw["enforcement"]["case_timeout_days"] = 30
    model = model_of(raw)
    row = step_to(model, OPENED + 29)
    assert model.cases[0].stage == EVIDENCE
    row = step_to(model, OPENED + 30)
    assert row["cases_timed_out"] == 1 and model.cases[0].stage == CLOSED
    assert model.networks[0].cause == CAUSE_ALIVE


def residence_raw(home_in_market: float):
    raw = rules_raw()
    for c, (demand, origin) in zip(raw["countries"], [(1.0, 2.0), (2.0, 0.5), (0.0, 1.0)]):
        c.update(demand=demand, origin=origin)
    raw["pirates"].update(initial_networks=300, home_in_market=home_in_market)
    return raw


@pytest.mark.parametrize("him", [0.0, 0.5, 1.0])
def test_residence_home_in_market_or_drawn_from_origin(him):
    raw = residence_raw(him)
    model = model_of(raw)
    w, seed = model.world, raw["seed"]
    for n in model.networks:
        market = pick(w.market_cum, R.uniform(seed, R.MARKET, 0, n.idx))
        if R.uniform(seed, R.RESIDENCE, 0, n.idx) < him:
            home = market
        else:
            home = pick(w.home_cum, R.uniform(seed, R.HOME, 0, n.idx))
        assert (n.market, n.home) == (market, home), n.idx
    same = sum(n.home == n.market for n in model.networks)
    if him == 1.0:
        assert same == 300
    else:
        assert same < 300 - 50 * (1 - him)


def money_raw(rule: str = "all"):
    """Money trail certain and always identifying, server evidence never identifying; the only server is
    taken down on day 3 and the lead keeps no logs, so nothing else could make the money answer evidence."""
    raw = rules_raw()
    raw["providers"][0].update(compliance=1.0, notice={"days": 2})
    set_country(raw, "LED", retention_days=0)
    set_country(raw, "HST", retention_days=0)
    raw["enforcement"].update(money_trail_prob=1.0, money_identify_prob=1.0, identify_prob=0.0, evidence_rule=rule)
    return raw


@pytest.mark.parametrize("rule,decision", [("all", OPENED + 40), ("first", OPENED + 5)])
def test_money_trail_is_a_domestic_request_that_always_gives_evidence(rule, decision):
    raw = money_raw(rule)
    assert day_one_flows(raw)["requests_money"] == 1
    model = run_days(raw, 60)
    mla, money = model.requests
    assert (money.kind, money.server, money.lead, money.requested, money.created, money.started, money.due) == (
        KIND_MONEY, -1, LED, LED, OPENED, OPENED, OPENED + 5)  # court[LED]
    assert money.outcome == OUTCOME_EVIDENCE and money.preserved is False
    assert mla.kind == KIND_MLA and mla.outcome in (OUTCOME_LOST, OUTCOME_DROPPED)
    assert model.servers[0].removed_day == 3
    assert model.cases[0].identified and model.cases[0].arrest_due == decision + 5
    assert model.networks[0].ended == decision + 5 and model.networks[0].cause == CAUSE_ARREST


def test_one_money_request_per_case_and_none_without_the_trail():
    raw = churn_raw(money_trail_prob=1.0)
    raw["pirates"]["home_in_market"] = 0.0  # operators abroad in HOM: the trail is still the lead's own
    model = run_days(raw)
    money = [r for r in model.requests if r.kind == KIND_MONEY]
    assert len(model.cases) > 10 and sorted(r.case for r in money) == [c.id for c in model.cases]
    for r in money:
        case = model.cases[r.case]
        assert (r.server, r.requested, r.lead, r.created, r.due) == (-1, case.lead, case.lead, case.opened,
                                                                      case.opened + 5)
        assert r.outcome in (OUTCOME_EVIDENCE, OUTCOME_OPEN)
    model = run_days(churn_raw(money_trail_prob=0.0))
    assert len(model.cases) > 10 and not any(r.kind == KIND_MONEY for r in model.requests)


# ------------------------------------------------------------------------------------------ warm-up


def test_warmup_is_compiled_and_outputs_still_cover_every_day():
    raw = rules_raw()
    raw["warmup_days"] = 50
    w = world_of(raw)
    assert w.warmup == 50
    res = run(w, engine="mesa")
    assert res.daily["day"].tolist() == list(range(1, 121)) and res.meta["warmup_days"] == 50
    assert res.networks["ended"].tolist() == [OPENED + 45]  # the arrest during the warm-up is still recorded
