"""Serve the dashboard on 127.0.0.1 with Solara's own server (Starlette on uvicorn), offline.

Everything the page loads comes from this server: the front-end from the ``solara-assets`` package, fonts
and icons included. Solara's fallback that would fetch a missing asset from a CDN is pointed at a closed
local port and its usage telemetry is off, so nothing leaves the machine at run time.
"""

from __future__ import annotations

import ctypes
import os
import socket
import sys
from pathlib import Path
from typing import Callable

HOST = "127.0.0.1"

# Set before Solara reads its settings (at import time).
OFFLINE_ENV = {
    "SOLARA_APP": "sim.dashboard.app",
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    "SOLARA_ASSETS_CDN": "http://127.0.0.1:9/",   # discard port: a missing asset fails here, never online
    "SOLARA_MODE": "production",
    "SOLARA_THEME_LOADER": "plain",
}


PR_SET_THP_DISABLE = 41  # prctl option, <linux/prctl.h>


def no_huge_pages() -> bool:
    """Ask Linux not to back this process's memory with transparent huge pages (the drawing processes inherit
    it); False where that cannot be asked.

    A what-if change runs its replicates on threads whose arrays (tens of megabytes each) are freed and allocated
    again. With huge pages always on, memory the allocator gives back and takes again is faulted in 2 MB at a
    time, each page zeroed whole: single replicates then took two to three times as long (100 ms and more of
    kernel time) at random, and one slow replicate delays the whole answer. With 4 KB pages they did not.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


class PortInUse(Exception):
    """The requested port cannot be bound."""


def bind(port: int = 0) -> socket.socket:
    """A listening socket on 127.0.0.1 (port 0: the system picks a free one, so there is no race)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise PortInUse(f"--port {port}: cannot listen on {HOST} ({exc.strerror})") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(scenario: str | Path, port: int = 0, announce: Callable[[str], None] | None = None) -> None:
    """Serve the dashboard for ``scenario`` until interrupted; ``announce(url)`` is called once it listens."""
    no_huge_pages()
    os.environ.update(OFFLINE_ENV)
    os.environ["PIRACYSIM_DASHBOARD_SCENARIO"] = str(scenario)
    sock = bind(port)
    url = f"http://{HOST}:{sock.getsockname()[1]}/"
    os.environ["SERVER_NAME"], os.environ["SERVER_PORT"] = HOST, str(sock.getsockname()[1])
    import uvicorn

    # a bounded shutdown: open browser sessions (websockets) must not keep Ctrl+C waiting
    config = uvicorn.Config("solara.server.starlette:app", log_level="warning", timeout_graceful_shutdown=3)
    server = uvicorn.Server(config)
    if announce is not None:
        announce(url)
    else:
        print(f"piracysim dashboard: {url}  (Ctrl+C to stop)", flush=True)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


if __name__ == "__main__":  # pragma: no cover - a convenience for development
    serve(sys.argv[1] if len(sys.argv) > 1 else "scenarios/baseline.yaml")
