"""Scenario files: the shipped ones are valid; malformed ones are rejected naming file, path and value."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import yaml

from sim.scenario import ScenarioError, apply_overrides, describe, load, load_text, parse_override
from tests.conftest import SCENARIOS, tiny_raw


def _write(tmp_path: Path, raw, name="bad.yaml") -> Path:
    p = tmp_path / name
    p.write_text(raw if isinstance(raw, str) else yaml.safe_dump(raw, sort_keys=False))
    return p


def _edit(fn):
    raw = tiny_raw()
    fn(raw)
    return raw


# (id, edit of tiny.yaml or raw text, expected path in the message, expected value shown or None)
MALFORMED = [
    ("unknown-top", _edit(lambda r: r.update(horizon=5)), "bad.yaml: horizon: unknown key", None),
    ("unknown-country-key", _edit(lambda r: r["countries"][0].update(lawful=1)), "countries[0].lawful: unknown key", None),
    ("unknown-delay-key", _edit(lambda r: r["countries"][1]["mla"].update(mean_days=3)), "countries[1].mla.mean_days", None),
    ("unknown-bloc-key", _edit(lambda r: r["blocs"]["eu"].update(fast=True)), "blocs.eu.fast: unknown key", None),
    ("unknown-policy-key", _edit(lambda r: r["policy"].update(speed=2)), "policy.speed: unknown key", None),
    ("wrong-type-horizon", _edit(lambda r: r.update(horizon_days="long")), "horizon_days: expected a whole number", "'long'"),
    ("wrong-type-float-int", _edit(lambda r: r["countries"][0].update(capacity=2.5)), "countries[0].capacity: expected a whole number", "2.5"),
    ("wrong-type-bool", _edit(lambda r: r["blocs"]["budapest"].update(preservation="yes")), "blocs.budapest.preservation", "'yes'"),
    ("probability-above-1", _edit(lambda r: r["providers"][2].update(compliance=1.5)), "providers[2].compliance: out of range", "1.5"),
    ("probability-negative", _edit(lambda r: r["enforcement"].update(detect_prob=-0.1)), "enforcement.detect_prob: out of range", "-0.1"),
    ("negative-capacity", _edit(lambda r: r["countries"][2].update(capacity=-1)), "countries[2].capacity: out of range", "-1"),
    ("duplicate-country", _edit(lambda r: r["countries"][1].update(id="MKT")), "countries[1].id: duplicate id", "'MKT'"),
    ("duplicate-provider", _edit(lambda r: r["providers"][3].update(id="mkt-cloud")), "providers[3].id: duplicate id", "'mkt-cloud'"),
    ("provider-unknown-country", _edit(lambda r: r["providers"][1].update(country="XXX")), "providers[1].country: unknown country", "'XXX'"),
    ("unknown-bloc", _edit(lambda r: r["countries"][2].update(blocs=["nato"])), "countries[2].blocs[0]: unknown bloc", "'nato'"),
    ("join-unknown-bloc", _edit(lambda r: r["policy"].update(join={"asean": ["MKT"]})), "policy.join.asean: unknown bloc", None),
    ("join-unknown-country", _edit(lambda r: r["policy"].update(join={"eu": ["ZZZ"]})), "policy.join.eu[0]: unknown country", "'ZZZ'"),
    ("p90-below-median", _edit(lambda r: r["countries"][0].update(mla={"median_days": 200, "p90_days": 100})),
     "countries[0].mla.p90_days: must be at least median_days", "100"),
    ("median-zero", _edit(lambda r: r["providers"][0].update(notice={"median_days": 0, "p90_days": 3})),
     "providers[0].notice.median_days: out of range", "0"),
    ("delay-half", _edit(lambda r: r["pirates"].update(successor={"median_days": 60})), "pirates.successor: a delay needs both", None),
    ("entry-over-slots", _edit(lambda r: r["pirates"].update(entry_per_day=3, entry_slots=2)), "pirates.entry_per_day: entry_per_day / entry_slots", "3.0"),
    ("list-where-mapping", _edit(lambda r: r.update(pirates=[1, 2])), "pirates: expected a mapping", "[1, 2]"),
    ("mapping-where-list", _edit(lambda r: r.update(countries={"id": "MKT"})), "countries: expected a list", None),
    ("no-providers", _edit(lambda r: r.update(providers=[])), "providers: needs at least one entry", None),
    ("missing-id", _edit(lambda r: r["countries"][0].pop("id")), "countries[0].id: required field is missing", None),
    ("bad-kind", _edit(lambda r: r["providers"][0].update(kind="cloud")), "providers[0].kind: must be one of", "'cloud'"),
    ("zero-demand", _edit(lambda r: [c.update(demand=0) for c in r["countries"]]), "countries[*].demand: at least one must be positive", None),
    ("mla-speed-zero", _edit(lambda r: r["policy"].update(mla_speed=0)), "policy.mla_speed: out of range", "0"),
    ("top-level-list", "- a\n- b\n", "bad.yaml: (top level): expected a mapping", None),
    ("empty-file", "", "bad.yaml: the file is empty", None),
    ("comment-only", "# nothing here\n", "bad.yaml: the file is empty", None),
    ("yaml-syntax", "name: x\ncountries: [a, b\nproviders: []\n", "bad.yaml: line 3: YAML syntax error", None),
    ("yaml-tab", "name: x\n\tseed: 3\n", "bad.yaml: line 2: YAML syntax error", None),
]


@pytest.mark.parametrize("case,raw,where,value", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_rejected(tmp_path, case, raw, where, value):
    path = _write(tmp_path, raw)
    with pytest.raises(ScenarioError) as err:
        load(path)
    msg = str(err.value)
    assert "\n" not in msg
    assert str(path) in msg
    assert where in msg
    if value is not None:
        assert f"(got {value})" in msg


def test_python_object_tags_refused(tmp_path):
    """Only the safe loader is used: a python/object tag is a syntax error, not code execution."""
    path = _write(tmp_path, "name: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ScenarioError, match="YAML syntax error"):
        load(path)


def test_missing_file():
    with pytest.raises(ScenarioError, match="nope.yaml: file not found"):
        load("nope.yaml")


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_scenarios_valid(path):
    sc = load(path)
    assert sc.countries and sc.providers


def test_defaults_filled_and_immutable():
    sc = load_text("countries: [{id: A}]\nproviders: [{id: p, country: A}]\n")
    assert sc.horizon_days == 1095 and sc.policy.mla_speed == 1.0 and sc.countries[0].law == 0.5
    assert sc.countries[0].mla.median_days == 300
    with pytest.raises(AttributeError):
        sc.horizon_days = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        sc.blocs["x"] = None  # type: ignore[index]


def test_pickle_roundtrip_and_digest_stable():
    sc = load(SCENARIOS / "tiny.yaml")
    again = pickle.loads(pickle.dumps(sc))
    assert again == sc and again.digest() == sc.digest()
    assert load(SCENARIOS / "tiny.yaml", [("seed", 8)]).digest() != sc.digest()


def test_overrides_by_dotted_path():
    sc = load(SCENARIOS / "tiny.yaml", [parse_override("policy.mla_speed=0.5"), parse_override("countries.HUB.capacity=8"),
                                        parse_override("policy.join.eu=[HVN]"), parse_override("blocs.eu.mla.median_days=100")])
    assert sc.policy.mla_speed == 0.5
    assert [c.capacity for c in sc.countries] == [3, 8, 1]
    assert sc.policy.join["eu"] == ("HVN",)
    assert sc.blocs["eu"].mla.median_days == 100


@pytest.mark.parametrize("override,where", [
    ("countries.XXX.capacity=3", "countries.XXX.capacity: bad override path"),
    ("policy.mla_speed=fast", "policy.mla_speed: expected a number"),
    ("countries.HUB.capacty=3", "countries[1].capacty: unknown key"),
    ("horizon_days.x=3", "horizon_days.x: bad override path"),
    ("countries.HUB=3", "countries.HUB: bad override path"),
    ("policy..x=1", "policy..x: bad override path"),
    ("policy.harmonization=2", "policy.harmonization: out of range"),
])
def test_bad_overrides(override, where):
    with pytest.raises(ScenarioError) as err:
        load(SCENARIOS / "tiny.yaml", [parse_override(override)])
    assert where in str(err.value)
    assert "tiny.yaml" in str(err.value)


def test_override_without_equals():
    with pytest.raises(ScenarioError, match="path=value"):
        parse_override("policy.mla_speed")


def test_apply_overrides_does_not_touch_input():
    raw = tiny_raw()
    apply_overrides(raw, {"policy.mla_speed": 3})
    assert raw["policy"]["mla_speed"] == 1.0


def test_describe_covers_every_field():
    text = describe()
    for name in ("mla_speed", "retention_days", "successor_prob_joint", "haven_law_below", "preservation"):
        assert f"`{name}`" in text


def test_format_doc_matches_schema():
    """docs/scenario-format.md carries the generated reference, so docs and code cannot drift."""
    from tests.conftest import ROOT

    from sim.scenario import format_doc

    assert (ROOT / "docs" / "scenario-format.md").read_text() == format_doc()


# Overrides on a validated scenario (what a sweep's design point does): the fast path of with_overrides must give
# the very scenario, digest and one-line error that full validation of the overridden raw form gives.
OVERRIDE_CASES = [
    [("policy.mla_speed", 0.5)], [("policy.mla_speed", 0)], [("policy.mla_speed", -1.0)], [("policy.mla_speed", "x")],
    [("policy.capacity_scale", float("nan"))], [("policy.blocking_everywhere", 1)],
    [("countries.NLD.capacity", 8.0)], [("countries.NLD.capacity", 8.5)], [("countries.NLD.capacity", -1)],
    [("countries.NLD.law", 0.2)], [("countries.NLD.criminalises", None)], [("countries.XXX.capacity", 1)],
    [("countries.NLD", 1)], [("countries.NLD.blocs", ["nope"])], [("countries.NLD.demand", 0.0)],
    [("providers.us-cloud.compliance", 1.5)], [("providers.us-cloud.country", "ZZZ")],
    [("providers.us-cloud.notice", {"median_days": 1, "p90_days": 3, "x": 1})],
    [("blocs.eu.mla", {"median_days": 10, "p90_days": 20})], [("blocs.eu.mla", {"median_days": 30, "p90_days": 20})],
    [("blocs.eu.mla.median_days", 10)], [("blocs.eu.preservation", False)], [("blocs.new.jit", True)],
    [("policy.join.eu", ["GBR"])], [("policy.join.eu", ["ZZZ"])], [("policy", {"mla_speed": 0.5})],
    [("pirates.entry_per_day", 100.0)], [("warmup_days", 20000)], [("horizon_days", 2000), ("warmup_days", 100)],
    [("market.entry", "bogus")], [("pirates.bogus", 1)], [("world", "x.csv")], [("policy..x", 1)],
    [("seed", 2**64)], [("policy.mla_speed", 0.5), ("policy.mla_speed", -0.7)],
]


@pytest.mark.parametrize("items", OVERRIDE_CASES, ids=lambda items: ",".join(f"{p}={v!r}" for p, v in items))
def test_with_overrides_equals_full_validation(items):
    import numpy as np

    from sim.scenario import from_dict, with_overrides

    base = load(SCENARIOS / "baseline.yaml")

    def outcome(make):
        try:
            sc = make()
        except ScenarioError as exc:
            return None, str(exc)
        return sc, None

    full, full_error = outcome(lambda: from_dict(base.to_raw(), "point", overrides=items))
    fast, fast_error = outcome(lambda: with_overrides(base, items, "point"))
    assert fast_error == full_error
    if full_error is not None:
        assert "\n" not in full_error and full_error.startswith("point: ")
    else:
        assert fast == full and fast.digest() == full.digest()
        # numpy scalars from samplers are plain numbers afterwards, as after full validation
        assert with_overrides(base, [(p, np.float64(v)) if isinstance(v, float) else (p, v) for p, v in items],
                              "point") == full


def test_digest_is_the_canonical_json_of_the_raw_form():
    import hashlib
    import json

    for path in sorted(SCENARIOS.glob("*.yaml")):
        sc = load(path)
        text = json.dumps(sc.to_raw(), sort_keys=True, separators=(",", ":"))
        assert sc.digest() == hashlib.sha256(text.encode()).hexdigest(), path.name
        assert pickle.loads(pickle.dumps(sc)).digest() == sc.digest()


def test_world_csv_edit_is_seen(tmp_path):
    # parsed world files are cached by path, modification time and size: an edit must be read again
    import shutil

    shutil.copytree(SCENARIOS, tmp_path / "s")
    first = load(tmp_path / "s" / "baseline.yaml")
    csv_path = tmp_path / "s" / "data" / "countries.csv"
    import csv

    with csv_path.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    col = rows[0].index("capacity")
    rows[1][col] = str(int(float(rows[1][col])) + 7)
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    second = load(tmp_path / "s" / "baseline.yaml")
    assert second.countries[0].capacity == first.countries[0].capacity + 7
