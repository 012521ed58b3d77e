"""Monte Carlo sweeps: designs, seeds, executors, storage, resume and failures, with real processes and Dask."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.scenario import ScenarioError
from sim.sweep.design import load_experiment
from sim.sweep.runner import ExecutorSpec, SweepError, run_sweep
from sim.sweep.store import frame_digest, read_kept, read_runs
from tests import sweep_helpers
from tests.conftest import ROOT, SCENARIOS


def write_exp(tmp_path: Path, name="exp.yaml", **fields) -> Path:
    doc = {"name": "t", "base": str(SCENARIOS / "tiny.yaml"), "overrides": {"horizon_days": 200},
           "factors": {"policy.mla_speed": {"levels": [0.5, 1.0]}, "policy.harmonization": {"levels": [0.0, 1.0]}},
           "design": "grid", "replicates": 3, "seed": 99, "metrics": ["persistence", "dismantled_share"],
           "keep": ["daily"], "sizes": {"ci": {"replicates": 2}}}
    doc.update(fields)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


# ------------------------------------------------------------------------------------ designs and seeds


def test_grid_points_and_crn_seeds(tmp_path):
    exp = load_experiment(write_exp(tmp_path))
    assert len(exp.points) == 4 and exp.n_runs == 12
    assert exp.points[1] == {"policy.mla_speed": 0.5, "policy.harmonization": 1.0}
    # common random numbers: replicate r has the same seed at every point; seeds differ across replicates
    assert exp.seed_of(0, 1) == exp.seed_of(3, 1) != exp.seed_of(0, 2)
    expected = int(np.random.SeedSequence(99, spawn_key=(0, 1)).generate_state(1, dtype=np.uint64)[0])
    assert exp.seed_of(2, 1) == expected
    exp2 = load_experiment(write_exp(tmp_path, "e2.yaml", common_random_numbers=False))
    assert exp2.seed_of(0, 1) != exp2.seed_of(3, 1)
    assert load_experiment(write_exp(tmp_path), "ci").replicates == 2


def test_lhs_sobol_and_table_designs(tmp_path):
    factors = {"policy.mla_speed": {"range": [0.05, 2.0], "scale": "log"}, "pirates.servers_per_network":
               {"range": [1, 6], "integer": True}}
    lhs = load_experiment(write_exp(tmp_path, "l.yaml", factors=factors, design="lhs", samples=10))
    speeds = sorted(p["policy.mla_speed"] for p in lhs.points)
    # Latin hypercube on a log scale: exactly one point in each of the 10 equal slices of log(speed)
    edges = np.exp(np.linspace(np.log(0.05), np.log(2.0), 11))
    assert np.array_equal(np.searchsorted(edges, speeds) - 1, np.arange(10))
    assert all(isinstance(p["pirates.servers_per_network"], int) for p in lhs.points)
    sob = load_experiment(write_exp(tmp_path, "s.yaml", factors=factors, design="sobol", samples=16))
    assert len(sob.points) == 16
    table = load_experiment(write_exp(tmp_path, "x.yaml", factors={}, design={"table": [
        {"policy.mla_speed": 0.5}, {"policy.harmonization": 1.0, "countries.HUB.capacity": 5}]}))
    assert table.value_columns == ("policy.mla_speed", "policy.harmonization", "countries.HUB.capacity")


@pytest.mark.parametrize("fields,where", [
    ({"replicates": 0}, "exp.yaml: replicates: expected a whole number >= 1 (got 0)"),
    ({"factors": {"policy.mla_sped": {"levels": [1]}}}, "factors.policy.mla_sped: makes an invalid scenario"),
    ({"factors": {"policy.mla_speed": {"levels": [-1]}}}, "factors.policy.mla_speed: makes an invalid scenario"),
    ({"factors": {"policy.mla_speed": {"range": [2, 1]}}}, "factors.policy.mla_speed.range: expected [low, high]"),
    ({"design": "random"}, "design: expected one of grid, lhs, sobol"),
    ({"design": "sobol", "samples": 10, "factors": {"policy.mla_speed": {"range": [0.1, 1]}}}, "samples: a sobol design needs a power of two"),
    ({"metrics": ["persistance"]}, "metrics[0]: unknown metric"),
    ({"keep": ["hourly"]}, "keep[0]: unknown table"),
    ({"base": "nowhere.yaml"}, "base: invalid with its overrides"),
    ({"overrides": {"horizon_days": 0}}, "base: invalid with its overrides"),
    ({"replicats": 3}, "exp.yaml: replicats: unknown key"),
])
def test_experiment_errors_name_file_field_value(tmp_path, fields, where):
    with pytest.raises(ScenarioError) as err:
        load_experiment(write_exp(tmp_path, **fields))
    assert where in str(err.value) and "\n" not in str(err.value)


def test_unknown_size(tmp_path):
    with pytest.raises(ScenarioError, match="no size named 'huge'"):
        load_experiment(write_exp(tmp_path), "huge")


# ------------------------------------------------------------------------------------ executors agree


def test_same_content_serial_processes_dask(tmp_path):
    exp = load_experiment(write_exp(tmp_path))
    digests, daily = {}, {}
    for name, spec in (("serial", ExecutorSpec("serial")), ("processes", ExecutorSpec("processes", workers=2)),
                       ("dask", ExecutorSpec("dask", workers=2))):
        man = run_sweep(exp, tmp_path / name, spec)
        runs = read_runs(tmp_path / name)
        assert len(runs) == 12 and (runs["status"] == "ok").all()
        assert runs[["point", "replicate"]].equals(runs[["point", "replicate"]].sort_values(["point", "replicate"]))
        assert man["runs_content_sha256"] == frame_digest(runs)
        assert man["executor"].startswith(name.replace("dask", "dask-local"))
        digests[name] = frame_digest(runs)
        daily[name] = frame_digest(read_kept(tmp_path / name, "daily"))
    assert len(set(digests.values())) == 1, digests
    assert len(set(daily.values())) == 1
    kept = read_kept(tmp_path / "serial", "daily")
    assert len(kept) == 12 * 200 and list(kept.columns[:3]) == ["point", "replicate", "day"]


def test_refuses_to_mix_or_overwrite(tmp_path):
    exp = load_experiment(write_exp(tmp_path))
    run_sweep(exp, tmp_path / "out", ExecutorSpec("serial"))
    with pytest.raises(SweepError, match="already holds a sweep"):
        run_sweep(exp, tmp_path / "out", ExecutorSpec("serial"))
    other = load_experiment(write_exp(tmp_path, "o.yaml", seed=100))
    with pytest.raises(SweepError, match="different experiment"):
        run_sweep(other, tmp_path / "out", ExecutorSpec("serial"), resume=True)
    before = read_runs(tmp_path / "out")
    man = run_sweep(exp, tmp_path / "out", ExecutorSpec("serial"), resume=True)  # nothing left: recombines only
    assert frame_digest(read_runs(tmp_path / "out")) == frame_digest(before) == man["runs_content_sha256"]


# ------------------------------------------------------------------------------------ failures


@pytest.mark.parametrize("kind", ["serial", "processes"])
def test_failing_runs_are_retried_then_recorded(tmp_path, kind):
    exp = load_experiment(write_exp(tmp_path))
    calls = []
    man = run_sweep(exp, tmp_path / kind, ExecutorSpec(kind, workers=2), run_fn=sweep_helpers.failing_point_one,
                    retries=2, progress=calls.append)
    runs = read_runs(tmp_path / kind)
    failed = runs[runs["status"] == "failed"]
    assert len(runs) == 12 and len(failed) == 6 and man["failed_runs"] == 6
    assert (failed["policy.mla_speed"] == 0.5).all()
    assert failed["error"].str.contains("RuntimeError: injected failure").all()
    assert failed["persistence"].isna().all() and failed["seed"].notna().all()
    ok = runs[runs["status"] == "ok"]
    assert ok["persistence"].notna().all() and sum(calls) == 12


def test_transient_failures_succeed_on_retry(tmp_path, monkeypatch):
    monkeypatch.setenv("PIRACYSIM_FLAKY_DIR", str(tmp_path))
    exp = load_experiment(write_exp(tmp_path))
    run_sweep(exp, tmp_path / "flaky", ExecutorSpec("processes", workers=2), run_fn=sweep_helpers.flaky_once)
    reference = tmp_path / "ref"
    run_sweep(exp, reference, ExecutorSpec("serial"))
    assert frame_digest(read_runs(tmp_path / "flaky")) == frame_digest(read_runs(reference))


def test_combining_from_memory_equals_combining_from_disk(tmp_path):
    """A sweep combines the runs shards it wrote from memory (and digests the combined table it wrote); a later
    Store reads them back from disk (a resume). Both must give the same runs file: failed rows (NaN metrics, error
    text) and design values included."""
    from sim.sweep.store import Store, file_digest

    exp = load_experiment(write_exp(tmp_path))
    out = tmp_path / "out"
    man = run_sweep(exp, out, ExecutorSpec("serial"), run_fn=sweep_helpers.failing_point_one, retries=0)
    from_memory, bytes_memory = read_runs(out), file_digest(out / "runs.parquet")
    assert (from_memory["status"] == "failed").sum() == 6 == man["failed_runs"]
    assert man["runs_content_sha256"] == frame_digest(from_memory)  # the manifest digests the table as written
    Store(out).combine(exp.keep)
    from_disk = read_runs(out)
    assert from_disk.equals(from_memory) and (from_disk.dtypes == from_memory.dtypes).all()
    assert file_digest(out / "runs.parquet") == bytes_memory


# ------------------------------------------------------------------------------------ interruption


def test_killed_sweep_resumes_to_the_same_result(tmp_path):
    exp_path = write_exp(tmp_path, factors={"policy.mla_speed": {"levels": [0.25, 0.5, 1.0, 2.0]},
                                            "policy.harmonization": {"levels": [0.0, 0.5, 1.0]}},
                         replicates=5, keep=[])
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "sim.cli", "sweep", str(exp_path), "--out", str(out), "--workers", "1",
           "--engine", "mesa"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "shards").glob("runs-*"))) < 3:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    shards = len(list((out / "shards").glob("runs-*")))
    assert shards >= 3 and not (out / "runs.parquet").exists()  # really interrupted mid-way
    partial = pd.concat([pd.read_parquet(p) for p in (out / "shards").glob("runs-*.parquet")])
    assert 0 < len(partial) < 60

    resumed = subprocess.run(cmd + ["--resume"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    # the same experiment, uninterrupted (and on the compiled engine: the results are the same)
    clean_cmd = [sys.executable, "-m", "sim.cli", "sweep", str(exp_path), "--out", str(tmp_path / "clean"),
                 "--workers", "2", "--engine", "fast"]
    clean = subprocess.run(clean_cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert clean.returncode == 0, clean.stderr
    a, b = read_runs(out), read_runs(tmp_path / "clean")
    assert len(a) == 60 and frame_digest(a) == frame_digest(b)


def test_cli_sweep_errors_are_one_line(tmp_path):
    bad = write_exp(tmp_path, replicates=-2)
    out = subprocess.run([sys.executable, "-m", "sim.cli", "sweep", str(bad)], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 2 and "replicates: expected a whole number" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("path", sorted((ROOT / "experiments").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_experiments_have_ci_size_and_run(tmp_path, path):
    exp = load_experiment(path, "ci")
    assert exp.n_runs <= 200
    load_experiment(path, "full")


# ------------------------------------------------------------------------------------ combined tables


def test_combined_rows_equal_per_run_tables_and_single_runs(tmp_path):
    """Every kept table, including those with many rows per run and no day (networks, requests), holds exactly
    the rows of its per-run tables: as many as all shards hold, and the same as single runs of the same seeds."""
    from sim import engines
    from sim.outputs import TABLES
    from sim.scenario import from_dict
    from sim.sweep.store import Store
    from sim.world import compile_world

    exp = load_experiment(write_exp(tmp_path, keep=list(TABLES)))
    out = tmp_path / "all"
    run_sweep(exp, out, ExecutorSpec("processes", workers=2))
    # a run written twice (a retry or a resume after a kill) is counted once
    store = Store(out)
    first = sorted((out / "shards").glob("runs-*"))[0]
    seq = first.name.split("-")[1].split(".")[0]
    again = {t: pd.read_parquet(out / "shards" / f"{t}-{seq}.parquet") for t in TABLES}
    store.write_shard(pd.read_parquet(first), again)
    store.combine(exp.keep)
    for table in TABLES:
        combined = read_kept(out, table)
        shards = sorted((out / "shards").glob(f"{table}-*.parquet"))
        per_run = pd.concat([pd.read_parquet(p) for p in shards]).drop_duplicates()
        assert len(combined) == sum(len(pd.read_parquet(p)) for p in shards) - len(again[table]), table
        assert len(combined) == len(per_run) > exp.n_runs, table
        for (point, replicate), rows in combined.groupby(["point", "replicate"]):
            world = compile_world(from_dict(exp.scenario_raw(point), "base",
                                            overrides=list(exp.points[point].items())))
            single = engines.run(world, exp.seed_of(point, replicate), "fast").tables()[table]
            got = rows.drop(columns=["point", "replicate"]).reset_index(drop=True)
            assert got.equals(single), (table, point, replicate)
        assert combined.groupby(["point", "replicate"]).ngroups == exp.n_runs
