"""Dashboard latency: time from releasing the MLA-speed slider to the updated charts, in a real browser.

Starts ``piracysim dashboard`` on the default world (20 replicates on common random numbers, compiled engine),
drives Debian's Chromium with Playwright, releases the slider at a new position each time (so nothing is
served from the cache) and waits until the displayed persistence has changed and every chart image is loaded.
Prints the median, min and max over the repeats. With ``--screenshots DIR`` it also writes a screenshot of
each mode (``dashboard_whatif.png``, ``dashboard_watch.png``), as committed under ``docs/figures/``.

    .venv/bin/python benchmarks/bench_dashboard.py [--repeats 7] [--screenshots docs/figures]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.dashboard_helpers import ANSWER_SHOWN, answer_serial, dashboard, launch, open_page, persistence  # noqa: E402


def release_to(page, name: str, fraction: float) -> float:
    """Drag lever ``name`` to ``fraction`` of its track; seconds from the release until the new answer is on
    show everywhere: headline, every chart image loaded, metrics table."""
    track = page.locator(f".piracysim-lever-{name} .v-slider").bounding_box()
    thumb = page.locator(f".piracysim-lever-{name} .v-slider__thumb").bounding_box()
    serial = answer_serial(page)
    page.mouse.move(thumb["x"] + thumb["width"] / 2, thumb["y"] + thumb["height"] / 2)
    page.mouse.down()
    page.mouse.move(track["x"] + fraction * track["width"], track["y"] + track["height"] / 2, steps=8)
    start = time.perf_counter()
    page.mouse.up()
    page.wait_for_function(ANSWER_SHOWN, arg=serial, timeout=60_000)
    return time.perf_counter() - start


def server_work(repeats: int) -> tuple[float, float, float]:
    """Medians of one change: CPU seconds of the replicates (compute) and of the three charts drawn in this
    process, and wall seconds of the charts on the page's drawing processes (one per chart).

    CPU time rather than wall time where it can: on a shared machine it says what the dashboard itself costs.
    """
    from sim.dashboard import figures as F
    from sim.dashboard import whatif as W

    base = W.load_base(ROOT / "scenarios" / "baseline.yaml")
    cache = W.Cache()
    W.answer(base, [], W.DEFAULT_REPLICATES, cache)       # the unchanged scenario, cached as in the app
    pool = F.ChartPool()
    pool.start()
    compute, charts, charts_wall = [], [], []
    try:
        for k in range(repeats):
            t0 = time.process_time()
            ans = W.answer(base, [("policy.mla_speed", 0.2 + 0.1 * k)], W.DEFAULT_REPLICATES, cache)
            t1 = time.process_time()
            [F.to_bytes(fig) for fig in F.all_figures(ans).values()]
            compute.append(t1 - t0)
            charts.append(time.process_time() - t1)
            w0 = time.perf_counter()
            pool.render(ans)
            charts_wall.append(time.perf_counter() - w0)
    finally:
        pool.close()
    return statistics.median(compute), statistics.median(charts), statistics.median(charts_wall)


def main() -> None:
    """Measure and print; optionally write the screenshots."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--screenshots", type=Path, default=None, metavar="DIR")
    args = ap.parse_args()
    with dashboard("scenarios/baseline.yaml") as url, sync_playwright() as pw:  # relative: as a user types it
        browser = launch(pw)
        page, guard = open_page(browser, url, timeout_ms=60_000)
        times = []
        fractions = [0.10 + 0.6 * i / max(1, args.repeats - 1) for i in range(args.repeats)]
        for k, f in enumerate(fractions):
            times.append(release_to(page, "mla_speed", f))
            shown = page.locator(".piracysim-lever-mla_speed").evaluate("e => e.parentElement.innerText")
            print(f"  release {k + 1}: MLA speed {shown.split(': ')[-1].strip()} -> persistence "
                  f"{persistence(page):.2f}, {times[-1] * 1000:.0f} ms")
        print(f"slider release to updated charts, default world, 20 replicates ({args.repeats} releases): "
              f"median {statistics.median(times) * 1000:.0f} ms, min {min(times) * 1000:.0f} ms, "
              f"max {max(times) * 1000:.0f} ms")
        assert not guard.blocked, guard.blocked
        compute, charts, charts_wall = server_work(args.repeats)
        print(f"server work per change (median): replicates {compute * 1000:.0f} ms CPU, charts {charts * 1000:.0f} ms "
              f"CPU in one process, {charts_wall * 1000:.0f} ms wall on the drawing processes; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        if args.screenshots:
            args.screenshots.mkdir(parents=True, exist_ok=True)
            page.set_viewport_size({"width": 1400, "height": 1650})  # the whole what-if page, metrics included
            release_to(page, "mla_speed", 0.1)
            page.screenshot(path=str(args.screenshots / "dashboard_whatif.png"), full_page=True)
            page.locator(".piracysim-mode-watch").click()
            page.locator(".piracysim-day").wait_for()
            page.get_by_role("button", name="▶").click()
            page.wait_for_function("() => parseInt(document.querySelector('.piracysim-day').innerText.slice(4)) >= 60",
                                   timeout=180_000)
            page.get_by_role("button", name="❚❚").click()
            page.set_viewport_size({"width": 1400, "height": 1000})
            page.wait_for_timeout(1500)
            page.screenshot(path=str(args.screenshots / "dashboard_watch.png"), full_page=True)
            print(f"screenshots in {args.screenshots}/")
        browser.close()


if __name__ == "__main__":
    main()
