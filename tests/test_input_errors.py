"""Bad input and impossible sizes: one line naming file, field and value, exit 2, no traceback, no folder.

Most cases call the command line's ``main`` in this process (the same code path as the console script, without
paying an interpreter start per case); resource limits are also checked on their own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sim import cli, engines, limits
from sim.scenario import ScenarioError, load, load_text, parse_override
from sim.sweep.design import load_experiment
from tests.conftest import SCENARIOS, tiny_raw


def main(capsys, *args: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(args))
    except SystemExit as exc:  # argparse
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line(err: str) -> str:
    import re

    # progress lines (stderr is not a terminal here) are not messages
    lines = [x for x in err.splitlines() if x.strip() and not re.search(r": [\d,]+/[\d,]+ \w+s", x)]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ------------------------------------------------------------------------------------ resource limits


@pytest.mark.parametrize("setting,field", [
    ("pirates.servers_per_network=100000", "pirates.servers_per_network"),
    ("horizon_days=100000000", "horizon_days"),
    ("pirates.initial_networks=10000000", "pirates.initial_networks"),
])
def test_huge_values_are_refused_before_work(capsys, tmp_path, monkeypatch, setting, field):
    monkeypatch.chdir(tmp_path)
    code, _, err = main(capsys, "run", str(SCENARIOS / "baseline.yaml"), "--set", setting)
    line = one_line(err)
    assert code == 2 and f"baseline.yaml: {field}: too " in line and "(got " in line
    assert not (tmp_path / "results").exists()


def test_validate_applies_the_limits(capsys):
    code, _, err = main(capsys, "validate", str(SCENARIOS / "tiny.yaml"), "--set", "horizon_days=100000000")
    assert code == 2 and "horizon_days: too long" in one_line(err)


def test_memory_budget_names_the_numbers():
    sc = load(SCENARIOS / "tiny.yaml", [("pirates.servers_per_network", 20000)])
    with pytest.raises(ScenarioError) as err:
        limits.check_scenario(sc, "tiny.yaml", budget=2**28)  # a 256 MiB machine
    msg = str(err.value)
    assert msg.startswith("tiny.yaml: pirates.servers_per_network: too large: ~") and "256 MiB" in msg
    assert "servers" in msg and "(got 20000)" in msg
    limits.check_scenario(load(SCENARIOS / "baseline.yaml"), "baseline.yaml", budget=2**28)  # the real one fits


def test_estimate_is_an_upper_range_of_a_real_run():
    sc = load(SCENARIOS / "baseline.yaml")
    est = limits.estimate_run(sc)
    result = engines.run(sc, None, "fast")
    assert est.networks >= len(result.networks) and est.servers >= result.networks["servers_created"].sum()
    assert est.requests >= len(result.requests)
    assert est.networks < 10 * len(result.networks) and est.servers < 10 * result.networks["servers_created"].sum()


def _huge_design(tmp_path: Path, **fields) -> Path:
    factors = {f"pirates.{f}": {"levels": list(range(1, 11))} for f in
               ("initial_networks", "entry_slots", "market_capacity", "servers_per_network")}
    factors.update({f"enforcement.{f}": {"levels": list(range(1, 11))} for f in ("case_threshold", "case_timeout_days")})
    factors.update({"policy.harmonization": {"levels": [i / 10 for i in range(10)]},
                    "policy.mla_speed": {"levels": [i / 10 + 0.1 for i in range(10)]}})
    doc = {"name": "huge", "base": str(SCENARIOS / "tiny.yaml"), "factors": factors, "replicates": 100}
    doc.update(fields)
    path = tmp_path / "huge.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_huge_design_is_refused_without_expanding_it(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = main(capsys, "sweep", str(_huge_design(tmp_path)))  # 10^8 points: expanding would take GBs
    line = one_line(err)
    assert code == 2 and "huge.yaml: design: too large: 100,000,000 design points" in line
    assert not (tmp_path / "results").exists()


def test_huge_replicates_are_refused(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _huge_design(tmp_path, factors={"policy.mla_speed": {"levels": [0.5, 1.0]}}, replicates=10**12)
    code, _, err = main(capsys, "sweep", str(path))
    line = one_line(err)
    assert code == 2 and "replicates: too large: 2 points x 1,000,000,000,000 replicates" in line
    assert not (tmp_path / "results").exists()


def test_combined_tables_too_large_for_memory(tmp_path):
    path = _huge_design(tmp_path, factors={"policy.mla_speed": {"levels": [0.5, 1.0]}}, replicates=500_000,
                        keep=["daily", "networks"])
    with pytest.raises(ScenarioError, match=r"keep: too large: the combined tables of 1,000,000 runs"):
        load_experiment(path)


# ------------------------------------------------------------------------------------ scenario files


def test_duplicate_yaml_keys(tmp_path):
    with pytest.raises(ScenarioError, match=r"duplicate key 'horizon_days' \(first on line 1\)"):
        load_text("horizon_days: 10\nhorizon_days: 20\n", "dup.yaml")


def test_exponent_numbers_in_set_and_files():
    assert parse_override("enforcement.detect_prob=1e-3") == ("enforcement.detect_prob", 0.001)
    # a count in exponent form is that whole number, exactly, so it meets the range and resource checks
    assert parse_override("horizon_days=1e8") == ("horizon_days", 100_000_000)
    assert isinstance(parse_override("replicates=1e12")[1], int)
    raw = tiny_raw()
    text = yaml.safe_dump(raw).replace("detect_prob: 0.02", "detect_prob: 2e-2")
    assert "2e-2" in text and load_text(text, "t.yaml").enforcement.detect_prob == 0.02


def _world_scenario(tmp_path: Path, csv_bytes: bytes) -> Path:
    (tmp_path / "w.csv").write_bytes(csv_bytes)
    raw = tiny_raw()
    raw["world"] = "w.csv"
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


CSV = "id,law,capacity,notes\nMKT,0.9,4,home market\n"


def test_world_csv_with_bom_reads_like_without(tmp_path):
    plain = load(_world_scenario(tmp_path, CSV.encode()))
    bom = load(_world_scenario(tmp_path, "\ufeff".encode() + CSV.encode()))
    assert bom.digest() == plain.digest()  # before: "\ufeffid" was no id column


@pytest.mark.parametrize("data,message", [
    ("id,law,capacity,notes\nMKT,0.9,4,São Paulo\n".encode("latin-1"), "w.csv is not UTF-8 text"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "w.csv"),
    (b"id,law,capactiy\nMKT,0.9,4\n", "unknown column 'capactiy'; did you mean 'capacity'?"),
])
def test_world_csv_errors_are_one_line(tmp_path, data, message):
    with pytest.raises(ScenarioError) as err:
        load(_world_scenario(tmp_path, data))
    assert message in str(err.value) and "world" in str(err.value) and "\n" not in str(err.value)


def test_deep_extends_chain(tmp_path):
    (tmp_path / "s0.yaml").write_text(yaml.safe_dump(tiny_raw()))
    for i in range(1, 1200):
        (tmp_path / f"s{i}.yaml").write_text(f"extends: s{i - 1}.yaml\n")
    with pytest.raises(ScenarioError, match="extends: a chain of more than 32 parent scenarios"):
        load(tmp_path / "s1199.yaml")


@pytest.mark.parametrize("item", ["world=other.csv", "extends=baseline.yaml"])
def test_world_and_extends_cannot_be_set(capsys, item):
    code, _, err = main(capsys, "validate", str(SCENARIOS / "tiny.yaml"), "--set", item)
    assert code == 2 and "cannot be overridden" in one_line(err)


def test_experiment_factor_with_levels_and_range_and_unselected_sizes(tmp_path):
    doc = {"name": "t", "base": str(SCENARIOS / "tiny.yaml"),
           "factors": {"policy.mla_speed": {"levels": [1.0], "range": [0.5, 1]}}}
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(ScenarioError, match="factors.policy.mla_speed: give levels or range, not both"):
        load_experiment(tmp_path / "a.yaml")
    doc = {"name": "t", "base": str(SCENARIOS / "tiny.yaml"), "sizes": {"ci": {"replicates": 1}, "full": {"replicats": 3}}}
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(ScenarioError, match="sizes.full.replicats: unknown key"):
        load_experiment(tmp_path / "b.yaml", "ci")


# ------------------------------------------------------------------------------------ options and seeds


@pytest.mark.parametrize("args,message", [
    (("run", "{tiny}", "--seed", "-1"), "--seed: out of range"),
    (("run", "{tiny}", "--seed", str(2**64)), "--seed: out of range"),
    (("run", "{tiny}", "--engine", "mesa", "--seed", "x"), "--seed: expected a whole number"),
    (("sweep", "{exp}", "--workers", "-1"), "--workers: expected a whole number >= 1"),
    (("sweep", "{exp}", "--dask-local", "0"), "--dask-local: expected a whole number >= 1"),
    (("sweep", "{exp}", "--dask-local", "-1"), "--dask-local: expected a whole number >= 1"),
    (("sweep", "{exp}", "--scheduler", "localhost"), "--scheduler: expected tcp://HOST:PORT"),
    (("patterns", "{tiny}", "--seeds", "0"), "--seeds: expected a whole number >= 1"),
])
def test_bad_options_are_one_line(capsys, args, message):
    exp = SCENARIOS.parent / "experiments" / "policies.yaml"
    code, _, err = main(capsys, *(a.format(tiny=SCENARIOS / "tiny.yaml", exp=exp) for a in args))
    assert code == 2 and message in one_line(err)


def test_experiment_seed_range(tmp_path):
    doc = {"name": "t", "base": str(SCENARIOS / "tiny.yaml"), "seed": 2**64}
    (tmp_path / "e.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(ScenarioError, match=r"e.yaml: seed: out of range: must be at most 2\*\*64-1"):
        load_experiment(tmp_path / "e.yaml")


def test_engine_seed_range():
    with pytest.raises(ValueError, match="seed must be a whole number 0 .. 2"):
        engines.run(SCENARIOS / "tiny.yaml", -1, "fast")
    assert len(engines.run(SCENARIOS / "tiny.yaml", 2**64 - 1, "fast").daily) == 365


# ------------------------------------------------------------------------------------ run folders


def test_run_folder_reuse_needs_force(capsys, tmp_path):
    tiny, out = str(SCENARIOS / "tiny.yaml"), tmp_path / "r"
    assert main(capsys, "run", tiny, "--out", str(out), "--no-figures", "--seed", "5")[0] == 0
    code, _, err = main(capsys, "run", tiny, "--out", str(out), "--no-figures", "--seed", "6", "--format", "parquet")
    assert code == 2 and "already holds another run" in one_line(err) and "--force" in err
    code, _, _ = main(capsys, "run", tiny, "--out", str(out), "--no-figures", "--seed", "6", "--format", "parquet",
                      "--force")
    assert code == 0 and json.loads((out / "summary.json").read_text())["seed"] == 6
    assert not (out / "daily.csv").exists()  # no stale seed-5 files mixed in
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".r.")] == []  # no temporary folder left


def test_run_refuses_a_sweep_folder(capsys, tmp_path):
    (tmp_path / "sweep").mkdir()
    (tmp_path / "sweep" / "manifest.json").write_text("{}")
    (tmp_path / "sweep" / "scenario.yaml").write_text("precious")
    code, _, err = main(capsys, "run", str(SCENARIOS / "tiny.yaml"), "--out", str(tmp_path / "sweep"))
    assert code == 2 and "already holds a sweep" in one_line(err)
    assert (tmp_path / "sweep" / "scenario.yaml").read_text() == "precious"


def test_run_out_under_a_file_fails_before_running(capsys, tmp_path):
    (tmp_path / "file").write_text("x")
    code, out, err = main(capsys, "run", str(SCENARIOS / "tiny.yaml"), "--out", str(tmp_path / "file" / "sub"))
    assert code == 2 and "a part of the path is a file" in one_line(err) and out == ""


def test_default_folders_never_collide(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a, b = cli._RunFolder(None, "tiny", False), cli._RunFolder(None, "tiny", False)
    b.final = a.final  # two runs started in the same second
    (a.tmp / "x").write_text("a")
    (b.tmp / "x").write_text("b")
    first, second = a.commit(), b.commit()
    assert first != second and (first / "x").read_text() == "a" and (second / "x").read_text() == "b"


def test_scenario_name_cannot_escape_results(capsys, tmp_path, monkeypatch):
    (tmp_path / "deep").mkdir()
    monkeypatch.chdir(tmp_path / "deep")
    code, _, _ = main(capsys, "run", str(SCENARIOS / "tiny.yaml"), "--set", "name=../../evil", "--no-figures")
    assert code == 0
    made = list((tmp_path / "deep" / "results").iterdir())
    assert len(made) == 1 and made[0].name.startswith("evil-") and not (tmp_path / "evil").exists()


def test_progress_lines_when_not_a_terminal(tmp_path):
    import io

    from sim.progress import Progress

    stream = io.StringIO()
    with Progress(0, "sweep", "run", stream=stream) as bar:
        bar.reset(100)
        for _ in range(100):
            bar.update(1)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "sweep: 100 runs to do" and lines[-1].startswith("sweep: 100/100 runs (100%)")
    assert len(lines) == 11  # every 10%


def test_provenance_without_the_compiled_engine(tmp_path):
    """No extension: `--engine fast` says in one line that Mesa runs, and summary.json records mesa."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['cyext.engine'] = None\n"
            "from sim.cli import main\n"
            f"sys.exit(main(['run', {str(SCENARIOS / 'tiny.yaml')!r}, '--engine', 'fast', '--no-figures', "
            f"'--out', {str(tmp_path / 'o')!r}, '--set', 'horizon_days=30']))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "running the Mesa engine" in one_line(out.stderr)
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["engine"] == "mesa"
    assert "mesa engine" in out.stdout
