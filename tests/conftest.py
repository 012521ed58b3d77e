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
