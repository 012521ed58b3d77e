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
            "haven_crackdown", "weakest_link")


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
    for r in rows():
        pop, law = float(r["population_m"]), float(r["law"])
        assert float(r["demand"]) == pytest.approx(pop * float(r["piracy_rate"]), abs=0.006), r["id"]
        assert int(r["capacity"]) == int(np.clip(np.rint(np.sqrt(pop) * law), 1, 8)), r["id"]


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


def test_what_each_policy_changes():
    base = compile_world(load(SCENARIOS / "baseline.yaml"))
    w = {n: compile_world(load(SCENARIOS / f"{n}.yaml")) for n in POLICIES}
    idx = {c: i for i, c in enumerate(base.country_ids)}
    assert w["universal_budapest"].preserve.all() and not base.preserve.all()
    # second protocol: party to party now ~10 days, non-parties unchanged
    nld, usa, rus = idx["NLD"], idx["USA"], idx["RUS"]
    assert abs(np.median(w["second_protocol"].delays[w["second_protocol"].mla_chan[usa, nld]]) - 10) <= 1
    assert np.array_equal(w["second_protocol"].delays[w["second_protocol"].mla_chan[usa, rus]],
                          base.delays[base.mla_chan[usa, rus]])
    eu = w["eu_style_everywhere"]
    assert max(np.median(eu.delays[eu.mla_chan[i, j]]) for i in range(eu.n_countries) for j in range(eu.n_countries)) <= 90
    assert w["joint_task_force"].joint[idx["USA"], idx["DEU"]] == 1 and base.joint[idx["USA"], idx["DEU"]] == 0
    assert (w["capacity_boost"].capacity == 2 * base.capacity).all()
    assert w["haven_crackdown"].law[rus] == 0.6 and not w["haven_crackdown"].haven.any()
    wl = w["weakest_link"]
    assert wl.preserve[nld].sum() == 0 and wl.joint[nld].sum() == 1  # only with itself
    assert np.median(wl.delays[wl.mla_chan[idx["DEU"], nld]]) == 300  # its own formal MLA, no EU channel
