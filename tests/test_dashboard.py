"""The dashboard without a browser: levers from the scenario format, what-if answers, export, bad input."""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import sys

import numpy as np
import pytest
import yaml

from sim.dashboard import figures as F
from sim.dashboard import whatif as W
from sim.scenario import ScenarioError, _f
from tests.conftest import SCENARIOS


@pytest.fixture(scope="module")
def tiny() -> W.Base:
    return W.load_base(SCENARIOS / "tiny.yaml")


def test_levers_follow_the_scenario_format():
    names = [lv.name for lv in W.levers()]
    assert names == ["harmonization", "mla_speed", "surrender_speed", "priority_floor", "blocking_everywhere",
                     "cutoff_everywhere", "capacity_scale", "preservation_everywhere"]
    mla = next(lv for lv in W.levers() if lv.name == "mla_speed")
    assert mla.kind == "float" and 0 < mla.min < 1 < mla.max and mla.default == 1.0  # open bound 0 never reached

    # A lever added to the format appears by itself; a known hint the format lacks is left out.
    @dataclasses.dataclass(frozen=True)
    class PolicyV2:
        harmonization: float = _f(0.0, "h", 0, 1)
        surrender_speed: float = _f(1.0, "surrender multiplier", 0, lo_open=True)
        priority_floor: float = _f(0.0, "floor", 0, 1)
        new_count: int = _f(3, "a new integer lever", 1, 10)
        join: dict = _f(doc="not a scalar", default_factory=dict)

    levers = {lv.name: lv for lv in W.levers(PolicyV2)}
    assert list(levers) == ["harmonization", "surrender_speed", "priority_floor", "new_count"]
    assert levers["surrender_speed"].label.startswith("Surrender speed")
    assert (levers["priority_floor"].min, levers["priority_floor"].max) == (0, 1)
    assert (levers["new_count"].kind, levers["new_count"].min, levers["new_count"].max) == ("int", 1, 10)


def test_what_if_runs_on_common_random_numbers(tiny):
    cache = W.Cache()
    same = W.answer(tiny, [], 4, cache)
    assert same.base is same.variant  # the unchanged scenario is computed once
    assert all(r.diff[0] == 0 or np.isnan(r.diff[0]) for r in same.rows)
    faster = W.answer(tiny, W.policy_overrides({"mla_speed": 0.1}, {}), 4, cache)
    assert faster.base is same.base and faster.variant.seeds == same.base.seeds
    assert faster.scenario.policy.mla_speed == 0.1
    assert faster.variant.daily["networks"].shape == (4, tiny.scenario.horizon_days)
    assert W.route_columns(faster.variant) == [c for c in faster.variant.daily if c.startswith("requests_")]
    assert W.route_columns(faster.variant)  # today's model reports requests sent, answered, refused


def test_replicates_started_longest_first_come_back_in_seed_order(tiny):
    seeds = W.replicate_seeds(tiny.scenario, 5)
    plain = W.evaluate(tiny.scenario, seeds)
    shuffled = W.evaluate(tiny.scenario, seeds, expected=[0.1, 0.5, 0.3, 0.9, 0.2])
    assert len(plain.seconds) == 5 and all(s > 0 for s in plain.seconds)
    assert plain.metrics.equals(shuffled.metrics) and plain.by_country.equals(shuffled.by_country)
    assert all((plain.daily[c] == shuffled.daily[c]).all() for c in plain.daily)
    one = W.evaluate(tiny.scenario, seeds[3:4])
    assert (one.daily["networks"][0] == plain.daily["networks"][3]).all()  # row r is seed r's run


def test_bad_input_is_the_cli_line(tiny):
    overrides = W.parse_extra("pirates.entry_per_day=9")
    with pytest.raises(ScenarioError) as exc:
        W.answer(tiny, overrides, 4)
    cli = subprocess.run([sys.executable, "-m", "sim.cli", "validate", str(tiny.path), "--set",
                          "pirates.entry_per_day=9"], capture_output=True, text=True, timeout=120)
    assert cli.returncode == 2 and cli.stderr.strip() == f"error: {exc.value}"
    for n in (0, 10_000, 2.5, "many"):
        with pytest.raises(ScenarioError, match="dashboard: replicates"):
            W.check_replicates(n)
    with pytest.raises(ScenarioError, match="limit of"):
        W.answer(tiny, [("horizon_days", 10**8)], 4)
    with pytest.raises(ScenarioError, match="file not found"):
        W.load_base(SCENARIOS / "missing.yaml")


def test_export_loads_and_figures_render(tiny, tmp_path):
    ans = W.answer(tiny, W.policy_overrides({"preservation_everywhere": True}, {"eu": ["HVN"]}), 2)
    path = tmp_path / "mine.yaml"
    path.write_text(W.export_yaml(ans.scenario, "mine"))
    out = subprocess.run([sys.executable, "-m", "sim.cli", "validate", str(path)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    raw = yaml.safe_load(path.read_text())
    assert raw["name"] == "mine" and raw["policy"]["preservation_everywhere"] is True
    assert raw["policy"]["join"] == {"eu": ["HVN"]}
    assert F.combined(ans, "png").startswith(b"\x89PNG")
    assert b"<svg" in F.combined(ans, "svg")[:2000]


def test_chart_workers_draw_what_this_process_draws_and_a_dead_one_costs_nothing(tiny):
    ans = W.answer(tiny, [("policy.mla_speed", 0.5)], 3)
    # drawn in this test process, which has imported the report's plotting module (its house style) when the
    # suite was collected: the charts keep their own style here as in the workers
    here = {name: F.chart_png(name, F.chart_data(ans)) for name in F.CHARTS}
    pool = F.ChartPool(workers=2)
    try:
        pool.start()
        assert pool.render(ans) == here
        worker = next(iter(pool._pool._processes.values()))
        worker.kill()
        worker.join(10)
        assert pool.render(ans) == here        # drawn here while the broken pool is replaced
        assert pool.render(ans) == here        # by fresh workers
    finally:
        pool.close()


def test_a_chart_redrawn_with_new_data_is_the_image_of_a_fresh_one(tiny):
    first, second = (F.chart_data(W.answer(tiny, [("policy.mla_speed", m)], 3)) for m in (0.3, 2.0))
    assert not np.array_equal(first.series["networks"][1][0], second.series["networks"][1][0])
    for name, (draw, _) in F.CHARTS.items():
        F.chart_png(name, first)
        kept = F._LAST[name][1]
        redrawn = F.chart_png(name, second)
        with F.own_style():
            fresh = F.to_bytes(draw(second))
        assert redrawn == fresh, name
        if name != "host_countries":  # the hosts' order may change, and with it the layout
            assert F._LAST[name][1] is kept, name  # redrawn from the same figure, not built anew


def test_the_server_process_asks_for_no_transparent_huge_pages():
    # in a child process: the setting is for the life of the process (and its children)
    code = ("import ctypes, sys; from sim.dashboard.server import no_huge_pages; ok = no_huge_pages(); "
            "print(ok, ctypes.CDLL(None).prctl(42, 0, 0, 0, 0) if sys.platform.startswith('linux') else -1)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    if sys.platform.startswith("linux"):
        assert out.stdout.split() == ["True", "1"]  # PR_GET_THP_DISABLE reads the flag back
    else:
        assert out.stdout.split() == ["False", "-1"]


def test_dashboard_command_refuses_bad_input_in_one_line(tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "sim.cli", "dashboard", *args], capture_output=True, text=True,
                              timeout=120)

    out = run(str(tmp_path / "missing.yaml"))
    assert out.returncode == 2 and out.stderr == f"error: {tmp_path / 'missing.yaml'}: file not found\n"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        out = run(str(SCENARIOS / "tiny.yaml"), "--port", str(port))
    assert out.returncode == 2 and out.stderr.startswith(f"error: --port {port}: cannot listen on 127.0.0.1")
    assert len(out.stderr.splitlines()) == 1 and "Traceback" not in out.stderr


def test_server_settings_keep_everything_local():
    """What serve() sets before Solara reads its settings: no telemetry, no CDN beyond this machine."""
    code = ("import os; from sim.dashboard.server import OFFLINE_ENV; os.environ.update(OFFLINE_ENV); "
            "import solara.server.settings as s, solara.settings as a; "
            "print(s.telemetry.mixpanel_enable, a.assets.cdn, s.main.mode)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    enabled, cdn, mode = out.stdout.split()
    assert enabled == "False" and cdn.startswith("http://127.0.0.1:") and mode == "production"
