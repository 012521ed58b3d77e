"""Fault injection: real subprocesses killed, starved and raced, each bounded in time.

After every fault: the message (if any) is one line with no traceback, no process of the sweep is left
behind, and ``--resume`` finishes with files byte-identical to a sweep that never failed.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from sim.sweep.store import file_digest
from tests.conftest import ROOT, SCENARIOS

TIMEOUT = 120  # seconds any one command may take before the test fails (a hang is a failure, never a wait)
TABLES = ("runs", "networks", "daily")


def _experiment(tmp: Path, horizon: int = 200) -> Path:
    doc = {"name": "faults", "base": str(SCENARIOS / "tiny.yaml"), "overrides": {"horizon_days": horizon},
           "factors": {"policy.mla_speed": {"levels": [0.5, 1.0]}, "policy.harmonization": {"levels": [0.0, 0.5, 1.0]}},
           "design": "grid", "replicates": 3, "seed": 7, "metrics": ["persistence", "dismantled_share"],
           "keep": ["networks", "daily"]}
    path = tmp / "exp.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _cmd(exp: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "sim.cli", "sweep", str(exp), "--out", str(out), *extra]


def _start(cmd: list[str], **kw) -> subprocess.Popen:
    # a session of its own: the sweep and every worker share its process group, which is how we look for leftovers
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, **kw)


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    proc = _start(cmd, **kw)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        _kill_group(proc.pid)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # zombies of an already-reaped group do not count; a live member answers the signal
    return True


def _kill_group(pgid: int) -> None:
    """Clean-up for a failing test only (never part of what is asserted)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _assert_none_left(pgid: int, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = _group_alive(pgid)
    _kill_group(pgid)
    assert not alive, "processes of the sweep were left behind"


def _wait_for_shards(out: Path, n: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + TIMEOUT
    while len(list((out / "shards").glob("runs-*"))) < n:
        assert proc.poll() is None, f"the sweep ended before {n} shards: {proc.stderr.read()}"
        assert time.monotonic() < deadline, "no shards appeared"
        time.sleep(0.02)


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("faults [")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def _digests(out: Path) -> dict[str, str]:
    return {t: file_digest(out / f"{t}.parquet") for t in TABLES}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """The experiment swept once without faults (serially, on the compiled engine)."""
    tmp = tmp_path_factory.mktemp("faults")
    exp = _experiment(tmp)
    done = _run(_cmd(exp, tmp / "ref", "--workers", "1", "--engine", "fast"))
    assert done.returncode == 0, done.stderr
    return exp, _digests(tmp / "ref")


def test_kill_main_process(reference, tmp_path):
    exp, expected = reference
    out = tmp_path / "out"
    proc = _start(_cmd(exp, out, "--workers", "2", "--engine", "mesa"))
    _wait_for_shards(out, 2, proc)
    os.kill(proc.pid, signal.SIGKILL)  # the main process only: its workers must notice by themselves
    proc.communicate(timeout=TIMEOUT)
    _assert_none_left(proc.pid)
    assert not (out / "runs.parquet").exists()
    resumed = _run(_cmd(exp, out, "--workers", "2", "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    assert _digests(out) == expected


def test_kill_one_worker(reference, tmp_path):
    import psutil

    exp, expected = reference
    out = tmp_path / "out"
    proc = _start(_cmd(exp, out, "--workers", "2", "--engine", "mesa"))
    _wait_for_shards(out, 1, proc)
    workers = psutil.Process(proc.pid).children()
    assert workers, "no worker processes"
    workers[0].kill()
    stdout, stderr = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0 and "Traceback" not in stderr, stderr  # the lost tasks ran on a fresh pool
    _assert_none_left(proc.pid)
    assert _digests(out) == expected
    resumed = _run(_cmd(exp, out, "--workers", "2", "--resume"))  # nothing left to do: recombines, same bytes
    assert resumed.returncode == 0 and _digests(out) == expected


def test_output_file_size_limit(reference, tmp_path):
    exp, expected = reference
    out = tmp_path / "out"

    def limit() -> None:  # `ulimit -f`: writes past 16 KiB fail (EFBIG), as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, 16 * 1024))

    failed = _run(_cmd(exp, out, "--workers", "2", "--engine", "fast"), preexec_fn=limit)
    assert failed.returncode == 2
    line = _one_line(failed.stderr)
    assert "File too large" in line and "--resume" in line
    resumed = _run(_cmd(exp, out, "--workers", "2", "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    assert _digests(out) == expected


def test_corrupt_shard(reference, tmp_path):
    exp, expected = reference
    out = tmp_path / "out"
    first = _run(_cmd(exp, out, "--workers", "2", "--engine", "fast"))
    assert first.returncode == 0, first.stderr
    shards = sorted((out / "shards").glob("networks-*.parquet"))
    shards[len(shards) // 2].write_bytes(b"PAR1 this is not a parquet file")  # e.g. a disk error
    (out / "runs.parquet").unlink()  # as if the sweep had stopped before combining
    resumed = _run(_cmd(exp, out, "--workers", "2", "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    assert "corrupt" in _one_line(resumed.stderr)
    assert _digests(out) == expected


def test_corrupt_shard_at_combine_is_one_line(reference, tmp_path):
    from sim.sweep.design import load_experiment
    from sim.sweep.store import Store, StoreError

    exp_path, expected = reference
    out = tmp_path / "out"
    assert _run(_cmd(exp_path, out, "--workers", "1", "--engine", "fast")).returncode == 0
    victim = sorted((out / "shards").glob("daily-*.parquet"))[0]
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])  # truncated
    with pytest.raises(StoreError, match="corrupt shard") as err:
        Store(out).combine(load_experiment(exp_path).keep)
    assert "\n" not in str(err.value)
    resumed = _run(_cmd(exp_path, out, "--workers", "1", "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    assert _digests(out) == expected


def test_two_sweeps_on_one_folder(reference, tmp_path):
    exp, expected = reference
    out = tmp_path / "out"
    first = _start(_cmd(exp, out, "--workers", "2", "--engine", "mesa"))
    _wait_for_shards(out, 1, first)
    second = _run(_cmd(exp, out, "--workers", "1", "--resume"))
    assert second.returncode == 2
    assert "another piracysim process" in _one_line(second.stderr)
    _, stderr = first.communicate(timeout=TIMEOUT)
    assert first.returncode == 0, stderr
    _assert_none_left(first.pid)
    assert _digests(out) == expected


_OOM_RUN = """
import resource, sys
from sim.scenario import load
from sim.world import compile_world
from cyext import engine
world = compile_world(load(sys.argv[1]))
vm = int([l for l in open("/proc/self/status") if l.startswith("VmSize")][0].split()[1]) * 1024
limit = vm + int(sys.argv[2]) * 2**20
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
try:
    engine.run(world, 1)
except MemoryError as e:
    print("MemoryError:", e)
    sys.exit(3)
print("finished")
"""


def test_compiled_engine_out_of_memory_is_a_memoryerror():
    """The compiled engine grows its records, calendars and queues as a run goes: under an address-space limit
    that a default-world run outgrows at different points (2 to 50 MiB of headroom), every failed growth ends in
    MemoryError, never a crash; with room to spare the run finishes."""
    outcomes = {}
    for headroom_mib in (2, 12, 20, 28, 36, 44, 52, 400):
        proc = subprocess.run([sys.executable, "-c", _OOM_RUN, str(SCENARIOS / "baseline.yaml"), str(headroom_mib)],
                              capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT)
        assert proc.returncode in (0, 3), (headroom_mib, proc.returncode, proc.stderr[-500:])
        outcomes[headroom_mib] = proc.stdout.strip()
    assert outcomes[2].startswith("MemoryError") and outcomes[400] == "finished", outcomes
    assert any(o == "MemoryError: compiled engine ran out of memory" for o in outcomes.values()), outcomes


def test_killed_dashboard_leaves_no_chart_worker():
    """The dashboard draws its charts in worker processes (one per chart, started with the page): when the server
    is killed, by SIGKILL so that nothing of its own can clean up, they notice and exit."""
    import re
    import urllib.request

    proc = _start([sys.executable, "-m", "sim.cli", "dashboard", str(SCENARIOS / "tiny.yaml")])
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://\S+", line).group(0)
        urllib.request.urlopen(url, timeout=TIMEOUT).read()  # the page: Solara imports the app, which starts them
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and len(_children(proc.pid)) < 2:
            time.sleep(0.1)
        assert len(_children(proc.pid)) >= 2, "the chart workers did not start"
    except BaseException:
        _kill_group(proc.pid)
        raise
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=TIMEOUT)
    _assert_none_left(proc.pid)


def _children(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is ``pid``."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                state, ppid = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[:2]
            except OSError:
                continue
            if int(ppid) == pid and state != "Z":
                out.append(int(entry))
    return out
