"""Run functions for sweep tests; module-level so worker processes can import them."""

from __future__ import annotations

import os
from pathlib import Path

from sim.engines import run


def failing_point_one(world, seed, engine):
    """Every replicate of the design point with policy.mla_speed 0.5 fails, always."""
    if world.delays.shape and abs(_speed(world) - 0.5) < 1e-9:
        raise RuntimeError("injected failure")
    return run(world, seed, engine)


def _speed(world) -> float:
    # the MLA channel median between the two EU members of tiny.yaml is 90 * mla_speed
    return float(world.delays[world.mla_chan[0, 1], 499] + world.delays[world.mla_chan[0, 1], 500]) / 2 / 90


def flaky_once(world, seed, engine):
    """Fails the first time each seed is seen (a marker file per seed), then works."""
    marker = Path(os.environ["PIRACYSIM_FLAKY_DIR"]) / f"{seed}"
    if not marker.exists():
        marker.write_text("seen")
        raise RuntimeError("transient failure")
    return run(world, seed, engine)
