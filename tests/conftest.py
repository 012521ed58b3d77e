"""Shared fixtures: paths and small scenario builders."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


def tiny_raw() -> dict[str, Any]:
    """The raw data of scenarios/tiny.yaml (a fresh copy each call)."""
    return copy.deepcopy(yaml.safe_load((SCENARIOS / "tiny.yaml").read_text()))


@pytest.fixture
def tiny() -> dict[str, Any]:
    """Raw tiny scenario data to edit in a test."""
    return tiny_raw()


def two_country_raw(**pirates: Any) -> dict[str, Any]:
    """A hand-built world: market MKT (law 1, all demand, no hosts) and host HST (all providers).

    Every case is led by MKT and every request is an MLA request to HST. Delays are fixed so outcomes can be
    reasoned out; tests edit the fields they are about.
    """
    raw: dict[str, Any] = {
        "name": "two-country",
        "horizon_days": 400,
        "seed": 11,
        "blocs": {},
        "countries": [
            {"id": "MKT", "law": 1.0, "capacity": 5, "mla_per_day": 5, "demand": 1.0, "origin": 1.0,
             "court": {"days": 5}, "mla": {"days": 30}, "extradition": {"days": 20}, "extradites": 1.0,
             "retention_days": 30, "blocs": []},
            {"id": "HST", "law": 1.0, "capacity": 5, "mla_per_day": 5, "demand": 0.0, "origin": 1.0,
             "court": {"days": 5}, "mla": {"days": 30}, "extradition": {"days": 20}, "extradites": 1.0,
             "retention_days": 30, "blocs": []},
        ],
        "providers": [{"id": "h1", "country": "HST", "share": 1, "compliance": 0.5, "notice": {"days": 2}}],
        "pirates": {"initial_networks": 10, "entry_per_day": 0.2, "entry_slots": 2, "market_capacity": 20,
                    "servers_per_network": 3, "reprovision_prob": 0.5, "quit_prob": 0.0},
        "enforcement": {"detect_prob": 0.05, "case_threshold": 2, "identify_prob": 0.5, "case_timeout_days": 300},
    }
    raw["pirates"].update(pirates)
    return raw


def one_country_raw() -> dict[str, Any]:
    """A single-country world: every case is domestic and every operator at home."""
    raw = two_country_raw()
    raw["countries"] = raw["countries"][:1]
    raw["providers"][0]["country"] = "MKT"
    return raw


# Country indices of rules_raw(): the lead is not country 0, so a draw keyed by the lead differs from one
# keyed by 0 (b = 0 is the default argument of the counter generator).
HST, LED, HOM = 0, 1, 2


def rules_raw() -> dict[str, Any]:
    """A hand-made version-2 world where every answer can be reasoned out (tests/test_rules_v2.py).

    Countries: HST (index 0, hosts the only provider), LED (index 1, the only market, so it leads every case),
    HOM (index 2, home of operators when ``home_in_market`` is 0). Every delay is fixed and different, so a due
    day names the table it came from: court LED 5, HST 9, HOM 17; mla LED 7, HST 40, HOM 60; extradition
    LED 11, HST 13, HOM 30. One network with one server; detection certain and a case at the first notice, so
    the case opens on day 1; the notice itself comes due after the horizon (the server stays up). Law 1
    everywhere, identification certain, no successors, no quitting, operators live in their market.
    """

    def country(cid: str, demand: float, origin: float, court: int, mla: int, extradition: int) -> dict[str, Any]:
        return {"id": cid, "law": 1.0, "capacity": 50, "mla_per_day": 50, "demand": demand, "origin": origin,
                "court": {"days": court}, "mla": {"days": mla}, "extradition": {"days": extradition},
                "extradites": 1.0, "retention_days": 1000, "blocs": []}

    return {
        "name": "rules",
        "horizon_days": 120,
        "seed": 1,
        "blocs": {},
        "countries": [country("HST", 0.0, 0.0, 9, 40, 13), country("LED", 1.0, 0.0, 5, 7, 11),
                      country("HOM", 0.0, 1.0, 17, 60, 30)],
        "providers": [{"id": "hp", "country": "HST", "share": 1, "compliance": 0.0, "notice": {"days": 1000}}],
        "pirates": {"initial_networks": 1, "entry_per_day": 0.0, "entry_slots": 1, "market_capacity": 50,
                    "servers_per_network": 1, "reprovision_prob": 0.0, "quit_prob": 0.0, "home_in_market": 1.0,
                    "successor_prob": 0.0, "successor_prob_joint": 0.0, "successor": {"days": 3}},
        "enforcement": {"detect_prob": 1.0, "case_threshold": 1, "identify_prob": 1.0, "evidence_rule": "all",
                        "case_timeout_days": 1000},
    }


def in_bloc(raw: dict[str, Any], name: str, members: list[str], **fields: Any) -> dict[str, Any]:
    """Add bloc ``name`` with ``fields`` and make ``members`` join it; returns ``raw``."""
    raw["blocs"][name] = fields
    for c in raw["countries"]:
        if c["id"] in members:
            c["blocs"] = list(c["blocs"]) + [name]
    return raw


def set_country(raw: dict[str, Any], cid: str, **fields: Any) -> dict[str, Any]:
    """Update country ``cid`` of ``raw``; returns ``raw``."""
    next(c for c in raw["countries"] if c["id"] == cid).update(fields)
    return raw
