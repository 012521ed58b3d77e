"""Monte Carlo sweeps over experiment files (design, runner, storage) and their export to SALib."""

from sim.sweep.salib import to_salib

__all__ = ["to_salib"]
