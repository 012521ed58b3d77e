"""A Dask worker plugin (separate module: importing ``distributed`` costs ~0.5 s, paid only by Dask sweeps)."""

from __future__ import annotations

from typing import Any

from distributed import WorkerPlugin

from sim.procs import watch_parent


class ParentWatch(WorkerPlugin):
    """Each worker of our local cluster, restarted ones included, exits when the sweep's process is gone."""

    name = "piracysim-parent-watch"

    def setup(self, worker: Any) -> None:
        """Start the watch in the worker process."""
        watch_parent()
