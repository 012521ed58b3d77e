"""The command line as a user runs it: real subprocesses, real files."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import SCENARIOS

TABLES = ("daily.csv", "servers_by_country.csv", "networks.csv", "requests.csv")


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def digest(folder: Path) -> dict[str, str]:
    return {t: hashlib.sha256((folder / t).read_bytes()).hexdigest() for t in TABLES}


def test_version():
    out = cli("--version")
    assert out.returncode == 0 and out.stdout.startswith("piracysim ")


def test_validate_ok_and_bad(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("countries: [{id: A, law: 2}]\nproviders: [{id: p, country: A}]\n")
    out = cli("validate", str(SCENARIOS / "tiny.yaml"), str(bad), str(tmp_path / "missing.yaml"))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert lines == [f"error: {bad}: countries[0].law: out of range: must be at most 1 and at least 0 (got 2)",
                     f"error: {tmp_path / 'missing.yaml'}: file not found"]
    assert "Traceback" not in out.stderr
    assert cli("validate", *map(str, sorted(SCENARIOS.glob("*.yaml")))).returncode == 0


def test_run_writes_everything_and_is_reproducible(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for folder, seed in ((a, "3"), (b, "3"), (c, "4")):
        out = cli("run", str(SCENARIOS / "tiny.yaml"), "--seed", seed, "--out", str(folder), "--engine", "mesa")
        assert out.returncode == 0, out.stderr
    for name in TABLES + ("summary.json", "scenario.yaml", "meta.json"):
        assert (a / name).is_file()
    for fig in ("networks", "cases", "servers_by_country", "survival"):
        assert (a / "figures" / f"{fig}.png").stat().st_size > 10_000
    assert digest(a) == digest(b)
    assert digest(a) != digest(c)
    summary = json.loads((a / "summary.json").read_text())
    assert summary["seed"] == 3 and summary["engine"] == "mesa" and len(summary["scenario_digest"]) == 64
    assert set(summary["metrics"]) >= {"persistence", "lifetime_rmst", "mla_delay_median"}
    assert summary["versions"]["mesa"].startswith("3.")


def test_run_with_override_and_bad_override(tmp_path):
    out = cli("run", str(SCENARIOS / "tiny.yaml"), "--set", "policy.mla_speed=0.5", "--out", str(tmp_path / "o"),
              "--no-figures", "--engine", "mesa")
    assert out.returncode == 0 and json.loads((tmp_path / "o" / "summary.json").read_text())["overrides"] == {"policy.mla_speed": 0.5}
    out = cli("run", str(SCENARIOS / "tiny.yaml"), "--set", "policy.mla_sped=0.5", "--out", str(tmp_path / "p"))
    assert out.returncode == 2 and "policy.mla_sped: unknown key" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "p").exists()  # nothing runs on an invalid scenario


def test_run_refuses_to_clobber_a_file(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("precious")
    out = cli("run", str(SCENARIOS / "tiny.yaml"), "--out", str(target))
    assert out.returncode == 2 and "not a folder" in out.stderr
    assert target.read_text() == "precious"
