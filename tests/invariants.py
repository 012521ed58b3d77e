"""Accounting identities every run must satisfy, whatever the engine, scenario or seed."""

from __future__ import annotations

import numpy as np

from sim.outputs import (CAUSE_ALIVE, CAUSE_ARREST, CAUSE_QUIT, KIND_DOMESTIC, KIND_JIT, KIND_MLA, KIND_MONEY,
                         KIND_ORDER, KIND_VOLUNTARY, OUTCOME_DROPPED, OUTCOME_EVIDENCE, OUTCOME_LOST, OUTCOME_REFUSED,
                         RunResult)
from sim.world import World


def check_invariants(res: RunResult, world: World) -> None:
    """Assert the identities; a failure names the first one broken."""
    d, net, req, sbc = res.daily, res.networks, res.requests, res.servers_by_country
    T = world.horizon
    days = np.arange(1, T + 1)
    assert len(d) == T and np.array_equal(d["day"], days) and np.array_equal(sbc["day"], days)
    assert (d.to_numpy() >= 0).all() and (sbc.to_numpy() >= 0).all(), "negative count"

    # stocks equal recounts from the records
    born, ended = net["born"].to_numpy(), net["ended"].to_numpy()
    alive_at = lambda t: ((born <= t) & ((ended == -1) | (ended > t))).sum()  # noqa: E731
    assert np.array_equal(d["networks"], [alive_at(t) for t in days]), "networks stock"
    countries = list(world.country_ids)
    assert np.array_equal(d["servers_up"], sbc[countries].sum(axis=1)), "servers_up vs by-country"
    havens = [c for c, h in zip(countries, world.haven) if h]
    assert np.array_equal(d["servers_up_haven"], sbc[havens].sum(axis=1) if havens else np.zeros(T)), "haven stock"
    mla = req[req["kind"] == KIND_MLA]
    created, started = mla["created"].to_numpy(), mla["started"].to_numpy()
    backlog = [((created <= t) & ((started == -1) | (started > t))).sum() for t in days]
    assert np.array_equal(d["mla_backlog"], backlog), "mla_backlog stock"

    # networks: initial + entries + successors; ends by cause
    assert len(net) == world.initial_networks + d["entries"].sum() + d["successors"].sum()
    assert (net["predecessor"] >= 0).sum() == d["successors"].sum()
    assert (net["cause"] == CAUSE_ARREST).sum() == d["arrests"].sum()
    assert (net["cause"] == CAUSE_QUIT).sum() == d["quits"].sum()
    assert ((net["cause"] == CAUSE_ALIVE) == (net["ended"] == -1)).all()

    # servers: created = initial sets + reprovisions; up = created - removed
    spn = world.servers_per_network
    assert net["servers_created"].sum() == spn * len(net) + d["reprovisions"].sum()
    assert net["takedowns"].sum() == d["takedowns"].sum() and net["seizures"].sum() == d["seizures"].sum()
    assert net["notices"].sum() == d["notices"].sum()
    alive = net[net["cause"] == CAUSE_ALIVE]
    up_end = (alive["servers_created"] - alive["takedowns"] - alive["seizures"]).sum()
    assert up_end == d["servers_up"].iloc[-1], "servers up = created - removed"

    # cases: every closed case counted exactly once as failed, moot or arrest
    opened = d["cases_opened"].cumsum()
    closed = (d["cases_failed_evidence"] + d["cases_failed_haven"] + d["cases_timed_out"] + d["cases_moot"]
              + d["arrests"]).cumsum()
    assert np.array_equal(d["cases_open"], opened - closed), "cases_open = opened - closed"
    assert net["cases"].sum() == d["cases_opened"].sum()
    if len(req):
        assert req["case"].max() < d["cases_opened"].sum()

    # requests
    assert len(req) == d["requests_sent"].sum() and np.array_equal(req["request"], np.arange(len(req)))
    out = req["outcome"]
    assert out.isin([OUTCOME_EVIDENCE, OUTCOME_REFUSED, OUTCOME_LOST]).sum() == d["requests_answered"].sum()
    assert (out == OUTCOME_REFUSED).sum() == d["requests_refused"].sum()
    assert (out == OUTCOME_EVIDENCE).sum() == d["evidence_obtained"].sum()
    assert (out == OUTCOME_LOST).sum() == d["evidence_lost"].sum()
    resolved = req[out != 0]
    assert (resolved["resolved"] >= resolved["started"]).all() and (resolved["started"] >= resolved["created"]).all()
    local = req["kind"].isin([KIND_DOMESTIC, KIND_MONEY])
    assert (local == (req["lead"] == req["requested"])).all(), "domestic and money requests stay at home"
    assert ((req["kind"] == KIND_MONEY) == (req["server"] == -1)).all(), "a money trail has no server"
    for kind, col in ((KIND_VOLUNTARY, "requests_voluntary"), (KIND_ORDER, "requests_order"), (KIND_JIT, "requests_jit"),
                      (KIND_MONEY, "requests_money")):
        assert (req["kind"] == kind).sum() == d[col].sum(), col
    fell_back = (req["kind"].isin([KIND_ORDER, KIND_VOLUNTARY]) & (out == OUTCOME_REFUSED)).sum()
    assert fell_back == d["fallbacks"].sum(), "every refused order or voluntary request falls back to MLA"
    assert (out[req["kind"].isin([KIND_DOMESTIC, KIND_JIT, KIND_MONEY])] != OUTCOME_REFUSED).all()
    assert (out[req["kind"] == KIND_MONEY] != OUTCOME_LOST).all(), "a money trail is never lost"
    assert d["cases_identified"].sum() <= d["cases_opened"].sum()

    # stage B: user units are conserved in every market, every day
    D = int(world.demand_units.sum())
    stock = d["users_served"] + d["users_unserved"] + d["users_lapsed"] + d["users_in_transit"]
    assert (stock == D).all(), "users served + unserved + lapsed + in transit = demand"
    ubm = res.users_by_market
    assert np.array_equal(ubm["day"], days) and np.array_equal(ubm[countries].sum(axis=1), d["users_served"])
    assert (d["markets_available"] <= int((world.demand_units > 0).sum())).all()
    assert (net["users_peak"] >= 0).all()
    assert ((net["blocked_day"] >= 0).sum() == d["blocking_orders"].sum()) and ((net["cut_day"] >= 0).sum() == d["cutoffs"].sum())
    assert d["cutoff_quits"].sum() <= d["quits"].sum()

    # v2 network records: arrested_by only for arrests; prosecutions at home are arrests by the home country
    arrested = net["cause"] == CAUSE_ARREST
    assert ((net["arrested_by"] >= 0) == arrested).all(), "arrested_by set exactly for arrests"
    by_home = arrested & (net["arrested_by"] == net["home"]) & (net["home"] != net["market"])
    assert by_home.sum() <= d["prosecutions_home"].sum()
    assert ((net["first_case"] == -1) == (net["cases"] == 0)).all()
    assert (net.loc[net["first_case"] >= 0, "first_case"] >= net.loc[net["first_case"] >= 0, "born"]).all()
    assert ((out == OUTCOME_DROPPED) <= (req["resolved"] >= 0)).all()
