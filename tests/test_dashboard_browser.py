"""The dashboard end to end: ``piracysim dashboard`` on a free port, Debian's Chromium through Playwright.

Every page is offline-guarded: a request to anything but 127.0.0.1 is aborted and recorded, and each test
asserts that none was attempted and that no local request failed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import expect, sync_playwright

from sim.cli import main as piracysim
from sim.scenario import load
from tests.conftest import SCENARIOS
from tests.dashboard_helpers import (answer_serial, dashboard, drag_slider, launch, open_page, persistence,
                                    wait_for_answer)

BASELINE = SCENARIOS / "baseline.yaml"


@pytest.fixture(scope="module")
def url():
    with dashboard(BASELINE) as address:
        yield address


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = launch(pw)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, url):
    pg, guard = open_page(browser, url)
    try:
        yield pg
    finally:
        pg.close()
    assert guard.blocked == [], f"requests left 127.0.0.1: {guard.blocked}"
    assert guard.failed == [], f"local requests failed: {guard.failed}"


def test_offline_page_shows_the_what_if_answer(page):
    assert page.locator("img").count() >= 3                    # the three chart images
    assert page.locator(".piracysim-metrics tr").count() >= 9   # header and one row per metric
    assert 0 < persistence(page) < 1000
    assert page.get_by_text("Harmonisation").count() and page.get_by_text("MLA speed").count()


def test_faster_mla_means_fewer_live_networks(page):
    # Under the default world's evidence rule (first identifying piece) other routes carry the cases and MLA
    # speed barely moves persistence (the flagship experiment); a case that waits for every answer feels it.
    serial = answer_serial(page)
    box = page.get_by_label("PATH=VALUE; PATH=VALUE (as --set)")
    box.fill("enforcement.evidence_rule=all")
    box.press("Enter")
    wait_for_answer(page, serial)
    before, serial = persistence(page), answer_serial(page)
    drag_slider(page, "mla_speed", 0.1)     # 1.0 -> about 0.35: every formal MLA delay faster
    wait_for_answer(page, serial)
    assert persistence(page) < before
    # the slider's own label follows its value, which the page sets in the same render as the answer
    expect(page.locator(".piracysim-lever-mla_speed").locator("xpath=..")).to_contain_text(
        "MLA speed: delay multiplier (lower is faster): 0.3", timeout=10_000)


def test_bad_input_shows_the_cli_line_and_the_app_keeps_working(page, capsys):
    box = page.get_by_label("PATH=VALUE; PATH=VALUE (as --set)")
    box.fill("pirates.entry_per_day=9")
    box.press("Enter")
    error = page.locator(".piracysim-error")
    error.wait_for()
    # the CLI's own entry point, in this process (tests/test_cli.py runs it as a subprocess)
    assert piracysim(["validate", str(BASELINE), "--set", "pirates.entry_per_day=9"]) == 2
    line = capsys.readouterr().err.strip()
    assert line.startswith("error: ") and "entry_per_day" in line
    assert error.inner_text().strip() == line
    assert "Traceback" not in page.inner_text("body")
    box.fill("")
    box.press("Enter")
    error.wait_for(state="detached")
    serial = answer_serial(page)
    drag_slider(page, "mla_speed", 0.9)     # slower MLA: the page still answers
    wait_for_answer(page, serial)
    assert answer_serial(page) != serial and persistence(page) > 0


def test_watch_mode_steps_three_days(page):
    page.locator(".piracysim-mode-watch").click()
    day = page.locator(".piracysim-day")
    day.wait_for()
    assert day.inner_text() == "Day 0"
    for n in (1, 2, 3):
        page.get_by_role("button", name="Step").click()
        page.wait_for_function("n => document.querySelector('.piracysim-day').innerText === `Day ${n}`", arg=n)
    horizon = load(SCENARIOS / "baseline.yaml").horizon_days
    assert f"of {horizon}:" in page.inner_text("body")
    assert page.locator("img").count() >= 3      # networks, host countries, open cases


def test_export_is_a_valid_scenario(page, tmp_path):
    serial = answer_serial(page)
    page.get_by_text("Preservation everywhere").click()
    wait_for_answer(page, serial)
    serial = answer_serial(page)
    page.get_by_label("join eu").click(force=True)      # the field's own text overlays the input
    page.get_by_role("option", name="BRA").click()
    wait_for_answer(page, serial)
    with page.expect_download() as info:
        page.get_by_role("button", name="Export scenario (YAML)").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    # the installed console script, as a user would check the file
    out = subprocess.run([str(Path(sys.executable).with_name("piracysim")), "validate", str(path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == f"ok: {path}", out.stderr
    policy = yaml.safe_load(path.read_text())["policy"]
    assert policy["preservation_everywhere"] is True and policy["join"] == {"eu": ["BRA"]}
