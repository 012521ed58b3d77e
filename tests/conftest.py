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
