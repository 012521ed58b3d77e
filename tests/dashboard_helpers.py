"""The dashboard in a real browser: start ``piracysim dashboard`` on a free port, drive Debian's Chromium with
Playwright, and block every request that would leave 127.0.0.1. Used by the browser tests and the benchmark.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("PIRACYSIM_CHROMIUM", "/usr/bin/chromium")
# As root on a machine without network: no sandbox, no GPU, and none of Chromium's own background traffic.
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
START_TIMEOUT = 60.0      # seconds for the server to print its address
STOP_TIMEOUT = 10.0       # seconds for it to stop on SIGINT before it is killed
_LOCAL = re.compile(r"^(?:https?|wss?)://(?:127\.0\.0\.1|localhost)(?::\d+)?/")


def chromium() -> str:
    """The Chromium executable; a missing one fails the test with what to install (``.ci/run`` does it)."""
    path = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if not path:
        raise RuntimeError(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium (as .ci/run does)")
    return path


@contextlib.contextmanager
def dashboard(scenario: str | Path = ROOT / "scenarios" / "baseline.yaml") -> Iterator[str]:
    """``piracysim dashboard SCENARIO`` on a free port as a subprocess; yields its URL, always stops it."""
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "dashboard", str(scenario)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            preexec_fn=_die_with_parent)
    lines: list[str] = []
    found = threading.Event()

    def pump() -> None:  # read continuously so the server never blocks on a full pipe
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "http://" in line:
                found.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        if not found.wait(START_TIMEOUT):
            raise RuntimeError(f"dashboard did not start in {START_TIMEOUT:.0f} s:\n{''.join(lines)[-3000:]}")
        url = re.search(r"http://\S+", next(ln for ln in lines if "http://" in ln)).group(0)
        yield url
    finally:
        _stop(proc)
        reader.join(timeout=STOP_TIMEOUT)


def _die_with_parent() -> None:
    """In the child: SIGTERM when the test process dies, even by SIGKILL, so no server outlives it (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def _stop(proc: subprocess.Popen) -> None:
    """SIGINT (a clean uvicorn shutdown), then SIGKILL to the whole process group if it lingers."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(STOP_TIMEOUT)


class Offline:
    """A Playwright route handler: local requests go through, any other is aborted and recorded."""

    def __init__(self) -> None:
        self.blocked: list[str] = []
        self.failed: list[str] = []

    def __call__(self, route) -> None:
        url = route.request.url
        if _LOCAL.match(url) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def attach(self, page) -> None:
        """Route every request of ``page`` through this handler and record HTTP errors."""
        page.route("**/*", self)
        page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}"))


def open_page(browser, url: str, path: str = "", timeout_ms: int = 30_000):
    """A new page on the dashboard, offline-guarded, once the what-if answer (or watch day) is shown."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.set_default_timeout(timeout_ms)
    guard = Offline()
    guard.attach(page)
    page.goto(url + path)
    page.wait_for_selector(".piracysim-day" if path == "watch" else ".piracysim-persistence", state="attached")
    return page, guard


def persistence(page) -> float:
    """The displayed what-if persistence (live networks, mean over the last year, median of replicates)."""
    return float(page.locator(".piracysim-persistence").inner_text())


def drag_slider(page, name: str, fraction: float) -> None:
    """Drag lever ``name``'s thumb to ``fraction`` of its track and release it (one 'change')."""
    slider = page.locator(f".piracysim-lever-{name} .v-slider")
    track = slider.bounding_box()
    thumb = page.locator(f".piracysim-lever-{name} .v-slider__thumb").bounding_box()
    assert track and thumb
    page.mouse.move(thumb["x"] + thumb["width"] / 2, thumb["y"] + thumb["height"] / 2)
    page.mouse.down()
    y = track["y"] + track["height"] / 2
    target = track["x"] + fraction * track["width"]
    page.mouse.move(target, y, steps=8)
    page.mouse.up()


ANSWER_SHOWN = """old => {
    const p = document.querySelector('.piracysim-persistence');
    const serial = p && [...p.classList].find(c => c.startsWith('piracysim-answer-'));
    if (!serial || serial === old) return false;
    const charts = [...document.querySelectorAll('img.solara-image')];
    return charts.length >= 3 && charts.every(i => i.classList.contains(serial) && i.complete && i.naturalWidth > 0)
        && document.querySelector('.piracysim-metrics.' + serial) !== null;
}"""


def answer_serial(page) -> str:
    """The class naming the answer on show (``piracysim-answer-N``)."""
    classes = page.locator(".piracysim-persistence").get_attribute("class") or ""
    return next(c for c in classes.split() if c.startswith("piracysim-answer-"))


def wait_for_answer(page, old: str, timeout: float = 60.0) -> float:
    """Seconds until a new answer than ``old`` is on show: headline, every chart (loaded) and the metrics."""
    start = time.perf_counter()
    page.wait_for_function(ANSWER_SHOWN, arg=old, timeout=timeout * 1000)
    return time.perf_counter() - start


def launch(playwright):
    """Debian's Chromium, headless, through ``executable_path`` (browsers cannot be downloaded here)."""
    return playwright.chromium.launch(executable_path=chromium(), args=LAUNCH_ARGS, timeout=60_000)
