"""The scenario library: the sourced world file, inheritance, and what each policy file changes."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from sim.scenario import ScenarioError, load, load_text
from sim.world import compile_world
from tests.conftest import SCENARIOS

DATA = SCENARIOS / "data"
POLICIES = ("universal_budapest", "second_protocol", "eu_style_everywhere", "joint_task_force", "capacity_boost",
            "haven_crackdown", "weakest_link", "follow_the_money")
# Constitutions or statutes barring extradition of nationals: Basic Law Art 16(2), Constitution Art 5 LI,
# Constitution Art 61, Extradition Law 2000 Art 8, Code de procedure penale art 696-4.
NO_EXTRADITION_OF_NATIONALS = {"DEU", "BRA", "RUS", "CHN", "FRA"}
PRIORITY_BY_SPECIAL301 = {"": 0.9, "WL": 0.7, "PWL": 0.5}


def rows():
    with (DATA / "countries.csv").open() as fh:
        return list(csv.DictReader(fh))


def test_world_file_has_30_countries_with_treaty_status():
    data = rows()
    assert len(data) >= 30 and len({r["id"] for r in data}) == len(data)
    assert {"budapest_party_since", "eu_member_since"} <= set(data[0])
    for r in data:
        assert ("budapest" in r["blocs"].split(";")) == bool(r["budapest_party_since"])
        assert ("eu" in r["blocs"].split(";")) == bool(r["eu_member_since"])


def test_every_column_has_a_source_or_is_marked_an_assumption():
    with (DATA / "sources.csv").open() as fh:
        sources = {r["column"]: r for r in csv.DictReader(fh)}
    assert "source" in next(iter(sources.values()))
    for column in rows()[0]:
        if column == "note":
            continue
        assert column in sources, f"{column} has no row in sources.csv"
        assert sources[column]["rule"].strip() and sources[column]["source"].strip(), column


def test_derived_columns_follow_their_rules():
    """Each rule of sources.csv, applied to the documentary columns, gives the value in the row."""
    for r in rows():
        pop, law = float(r["population_m"]), float(r["law"])
        party, eu = bool(r["budapest_party_since"]), bool(r["eu_member_since"])
        crim, powers, prio = float(r["criminalises"]), float(r["powers"]), float(r["priority"])
        assert float(r["demand"]) == pytest.approx(pop * float(r["piracy_rate"]), abs=0.006), r["id"]
        assert int(r["capacity"]) == int(np.clip(np.rint(np.sqrt(pop) * law), 1, 8)), r["id"]
        # TRIPS Art 61 for WTO members; Budapest Art 10 as well for parties
        assert crim == (0.95 if party else 0.9 if r["wto_member_since"] else 0.5), r["id"]
        # Arts 16-21 for parties (and EU members); C-PROC 2021: (92 - 66) / (193 - 66) = 0.20 of the others
        assert powers == (0.9 if party or eu else 0.2), r["id"]
        assert prio == PRIORITY_BY_SPECIAL301[r["special301_2019"]], r["id"]
        assert law == min(crim, powers, prio), r["id"]
        assert r["extradites_nationals"] == ("false" if r["id"] in NO_EXTRADITION_OF_NATIONALS else "true"), r["id"]
        # Budapest Art 24(6): parties that refuse on nationality submit the case for prosecution
        assert float(r["prosecutes_nationals"]) == (0.5 if party else 0.1), r["id"]


def test_the_model_reads_the_three_components_not_law():
    sc = load(SCENARIOS / "baseline.yaml")
    by_id = {r["id"]: r for r in rows()}
    for c in sc.countries:
        r = by_id[c.id]
        assert (c.criminalises, c.powers, c.priority) == (float(r["criminalises"]), float(r["powers"]), float(r["priority"]))
        assert c.extradites_nationals == (r["extradites_nationals"] == "true")
    w = compile_world(sc)
    assert [c for c, h in zip(w.country_ids, w.haven) if h] == [r["id"] for r in rows() if float(r["law"]) < 0.5]


def test_baseline_is_version_2():
    """The v2 values of the default world: routes, EU channels, residence, evidence rule, warm-up."""
    sc = load(SCENARIOS / "baseline.yaml")
    w = compile_world(sc)
    idx = {c: i for i, c in enumerate(w.country_ids)}
    us = w.provider_ids.index("us-cloud")
    assert w.discloses[us] == 0.66 and sum(w.discloses > 0) == 1  # SIRIUS: US providers only
    assert int(w.delays[w.disclosure_tab[us], 500]) == 30
    deu, fra, nld, usa = idx["DEU"], idx["FRA"], idx["NLD"], idx["USA"]
    assert int(np.median(w.delays[w.order_chan[deu, nld]])) == 10 and w.order_chan[usa, nld] == -1
    assert w.jit[deu, nld] and not w.jit[usa, nld]
    assert w.surrender_nat[fra, deu] and not w.surrender_nat[usa, deu]
    assert not w.extradites_nationals[deu] and w.prosecute_prob[deu] == 0.5
    assert w.evidence_first == 1 and 0.5 <= w.home_in_market <= 0.7 and w.money_trail_prob > 0
    assert sc.warmup_days > 0 and sc.horizon_days == sc.warmup_days + 1095


def test_no_file_cites_the_design_notes():
    """The project stands alone: scenarios, data and docs cite original sources, not the design notes."""
    files = [*SCENARIOS.glob("*.yaml"), *DATA.glob("*.csv"), SCENARIOS.parent / "docs" / "scenarios.md"]
    for f in files:
        text = f.read_text()
        for banned in ("../shared", "CALIBRATION.md", "MODEL.md", "ARCHITECTURE.md"):
            assert banned not in text, f"{f.name} cites {banned}"


def test_baseline_uses_the_world_file():
    sc = load(SCENARIOS / "baseline.yaml")
    assert len(sc.countries) == len(rows()) and sc.countries[0].id == rows()[0]["id"]


def test_extends_merges_by_id_and_overrides_apply_after(tmp_path):
    child = tmp_path / "child.yaml"
    child.write_text(f"extends: {SCENARIOS / 'tiny.yaml'}\ncountries: [{{id: HVN, law: 0.7}}]\n"
                     "providers: [{id: new, country: MKT}]\npirates: {quit_prob: 0.2}\n")
    sc = load(child, [("countries.HUB.capacity", 9)])
    parent = load(SCENARIOS / "tiny.yaml")
    assert sc.name == "child" and sc.horizon_days == parent.horizon_days
    assert [c.law for c in sc.countries] == [0.9, 0.8, 0.7] and sc.countries[1].capacity == 9
    assert [p.id for p in sc.providers][-1] == "new" and len(sc.providers) == 5
    assert sc.pirates.quit_prob == 0.2 and sc.pirates.successor_prob == parent.pirates.successor_prob


def test_extends_errors(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("extends: b.yaml\n")
    b.write_text("extends: a.yaml\n")
    with pytest.raises(ScenarioError, match="a.yaml: extends: scenarios extend each other in a cycle"):
        load(a)
    with pytest.raises(ScenarioError, match="extends: file not found"):
        load_text("extends: nowhere.yaml\n", "x.yaml", tmp_path / "x.yaml")


def test_overrides_reach_countries_from_the_world_file():
    sc = load(SCENARIOS / "baseline.yaml", [("countries.NLD.capacity", 11)])
    assert next(c for c in sc.countries if c.id == "NLD").capacity == 11


@pytest.mark.parametrize("name", POLICIES)
def test_policy_files_are_small_and_derive_from_baseline(name):
    text = (SCENARIOS / f"{name}.yaml").read_text()
    assert "extends: baseline.yaml" in text and len(text.splitlines()) < 40


def median(w, tab: int) -> float:
    return float(np.median(w.delays[tab]))


def test_what_each_policy_changes():
    base = compile_world(load(SCENARIOS / "baseline.yaml"))
    w = {n: compile_world(load(SCENARIOS / f"{n}.yaml")) for n in POLICIES}
    idx = {c: i for i, c in enumerate(base.country_ids)}
    nld, usa, rus, deu, ind = idx["NLD"], idx["USA"], idx["RUS"], idx["DEU"], idx["IND"]
    C = base.n_countries

    ub = w["universal_budapest"]  # preservation everywhere, the parties' powers, prosecute-or-extradite
    assert ub.preserve.all() and not base.preserve.all()
    assert (ub.grant_prob >= 0.9).all() and base.grant_prob[rus] == 0.2 and not ub.haven.any()
    assert ub.prosecute_prob[rus] == 0.5 and (ub.open_prob == base.open_prob).all()  # priority unchanged

    sp = w["second_protocol"]  # new routes among parties, not a faster MLA
    assert median(sp, sp.order_chan[usa, nld]) == 45 and base.order_chan[usa, nld] == -1
    assert sp.jit[usa, nld] and not base.jit[usa, nld] and not sp.jit[usa, rus] and sp.order_chan[usa, rus] == -1
    assert all(median(sp, sp.mla_chan[i, j]) == median(base, base.mla_chan[i, j]) for i in range(C) for j in range(C))

    eu = w["eu_style_everywhere"]
    assert eu.jit.all() and eu.surrender_nat.all() and eu.preserve.all() and (eu.order_chan >= 0).all()
    assert max(median(eu, eu.mla_chan[i, j]) for i in range(C) for j in range(C)) <= 90
    assert median(eu, eu.order_chan[usa, rus]) == 10 and median(eu, eu.arrest_chan[usa, rus]) == 45

    jt = w["joint_task_force"]
    assert jt.jit[usa, deu] and jt.joint[usa, deu] and not base.jit[usa, deu] and not base.joint[usa, deu]
    assert not jt.jit[usa, rus]

    assert (w["capacity_boost"].capacity == 2 * base.capacity).all()

    hc = w["haven_crackdown"]
    assert hc.law[rus] == 0.7 and not hc.haven[rus] and hc.haven[ind] and hc.prosecute_prob[rus] == 0.5
    assert hc.compliance[hc.provider_ids.index("ru-host")] == 0.84 and not hc.extradites_nationals[rus]

    wl = w["weakest_link"]
    assert wl.preserve[nld].sum() == 0 and wl.joint[nld].sum() == 1  # only with itself
    assert wl.jit[nld].sum() == 0 and wl.order_chan[deu, nld] == -1 and not wl.surrender_nat[deu, nld]
    assert median(wl, wl.mla_chan[deu, nld]) == 300  # its own formal MLA, no EU channel

    ftm = w["follow_the_money"]
    assert ftm.money_trail_prob > base.money_trail_prob and ftm.money_identify_prob == base.money_identify_prob
