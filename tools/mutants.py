"""Mutation check of the behaviour tests: `make mutants` (not part of `make test`).

The equivalence tests prove that the two engines agree, not that they are right: a mistake made in both
passes them. This script breaks one rule at a time in the Mesa engine or the world compiler (a named,
single-point, exact text replacement), runs only the fast behaviour tests against the broken copy, and
reports whether they noticed (killed) or not (survived).

Each mutant is (file, old text, new text); the old text must occur exactly once in the current source, or
the script stops before running anything, so mutants cannot silently rot when the code changes. Every
mutant runs in its own temporary copy of the tree (the working tree is never touched), two at a time.

Usage: python tools/mutants.py [-j JOBS] [-k SUBSTRING ...] [--list]
Exit status: 0 every mutant killed; 1 some survived (or errored); 2 stale mutant or failing baseline.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
# The fast behaviour tests (seconds, Mesa engine only): never the equivalence or digest tests.
TESTS = ("tests/test_rules_v2.py", "tests/test_rules_stage_b.py", "tests/test_model_phases.py", "tests/test_world.py",
         "tests/test_metrics.py")
MARKS = "not equivalence and not digest"
COPY = ("sim", "tests", "scenarios", "cyext", "pyproject.toml")
TIMEOUT = 300  # seconds per mutant; a mutant that hangs the tests counts as killed


@dataclass(frozen=True)
class Mutant:
    """One single-point change: replace ``old`` (which occurs exactly once in ``file``) by ``new``."""

    name: str
    file: str
    old: str
    new: str


M, A, W, MET = "sim/model.py", "sim/agents.py", "sim/world.py", "sim/metrics.py"

MUTANTS: tuple[Mutant, ...] = (
    # ---- phase 5: routes
    Mutant("jit-delay-from-leads-court", M,
           "KIND_JIT, t, int(w.court_tab[host]))", "KIND_JIT, t, int(w.court_tab[lead.idx]))"),
    Mutant("jit-route-dropped", M, "elif w.jit[lead.idx, host]:", "elif False:"),
    Mutant("order-route-everywhere", M, "elif w.order_chan[lead.idx, host] >= 0:",
           "elif w.order_chan[lead.idx, host] >= -1:"),
    Mutant("voluntary-route-without-disclosure", M, "elif w.discloses[server.provider] > 0:",
           "elif w.discloses[server.provider] >= 0:"),
    Mutant("voluntary-delay-from-hosts-court", M,
           "KIND_VOLUNTARY, t, int(w.disclosure_tab[server.provider]))", "KIND_VOLUNTARY, t, int(w.court_tab[host]))"),
    Mutant("domestic-requests-preserved", M, "foreign = kind in (KIND_MLA, KIND_VOLUNTARY, KIND_ORDER, KIND_JIT)",
           "foreign = kind in (KIND_DOMESTIC, KIND_MLA, KIND_VOLUNTARY, KIND_ORDER, KIND_JIT)"),
    Mutant("money-trail-draw-flipped", M, "if self.u(R.MONEY, 0, case.id) < w.money_trail_prob:",
           "if self.u(R.MONEY, 0, case.id) >= w.money_trail_prob:"),
    Mutant("case-retention-of-the-lead", M, "if not server.bears_evidence(t, int(w.retention[host])):",
           "if not server.bears_evidence(t, int(w.retention[lead.idx])):"),
    Mutant("money-trail-asks-the-home-country", M, "self.new_request(case, -1, lead.idx, KIND_MONEY,",
           "self.new_request(case, -1, net.home, KIND_MONEY,"),
    Mutant("money-delay-from-homes-court", M, "KIND_MONEY, t, int(w.court_tab[lead.idx]))",
           "KIND_MONEY, t, int(w.court_tab[net.home]))"),
    Mutant("jit-requests-not-preserved", M, "foreign = kind in (KIND_MLA, KIND_VOLUNTARY, KIND_ORDER, KIND_JIT)",
           "foreign = kind in (KIND_MLA, KIND_VOLUNTARY, KIND_ORDER)"),
    # ---- phase 7: answers
    Mutant("closed-case-answers-not-dropped", M, "if case.stage == CLOSED:", "if False:"),
    Mutant("answer-retention-of-the-lead", M, "bears_evidence(t, int(w.retention[req.requested]))",
           "bears_evidence(t, int(w.retention[req.lead]))"),
    Mutant("money-not-always-evidence", M, "if (req.kind == KIND_MONEY or req.preserved", "if (req.preserved"),
    Mutant("money-identify-prob-ignored", M,
           "p = w.money_identify_prob if req.kind == KIND_MONEY else w.identify_prob", "p = w.identify_prob"),
    Mutant("identification-draw-index-shifted", M, "self.u(R.IDENT, 0, case.id, case.evidence) < p",
           "self.u(R.IDENT, 0, case.id, case.evidence + 1) < p"),
    Mutant("fallback-skipped", M,
           "                    self.new_request(case, req.server, req.requested, KIND_MLA, t)\n",
           "                    pass\n"),
    Mutant("fallback-to-the-lead", M, "self.new_request(case, req.server, req.requested, KIND_MLA, t)",
           "self.new_request(case, req.server, req.lead, KIND_MLA, t)"),
    Mutant("grant-prob-of-the-lead", M, "p = w.grant_prob[req.requested]", "p = w.grant_prob[req.lead]"),
    Mutant("grant-prob-is-open-prob", M, "p = w.grant_prob[req.requested]", "p = w.open_prob[req.requested]"),
    Mutant("order-compliance-is-discloses", M, "p = w.order_compliance[self.servers[req.server].provider]",
           "p = w.discloses[self.servers[req.server].provider]"),
    Mutant("jit-refusable-like-mla", M, "if req.kind == KIND_MLA:\n            p = w.grant_prob",
           "if req.kind in (KIND_MLA, KIND_JIT):\n            p = w.grant_prob"),
    # ---- phase 8: resolution and the arrest decision
    Mutant("evidence-rule-ignored", M, "ready = case.pending == 0 or (w.evidence_first and case.identified)",
           "ready = case.pending == 0"),
    Mutant("evidence-rule-inverted", M, "ready = case.pending == 0 or (w.evidence_first and case.identified)",
           "ready = case.pending == 0 or (not w.evidence_first and case.identified)"),
    Mutant("timeout-one-day-late", M, "elif t - case.opened >= w.case_timeout_days:",
           "elif t - case.opened > w.case_timeout_days:"),
    Mutant("home-arrest-check-dropped", M, "if home == lead:", "if False:"),
    Mutant("surrender-nationals-ignored", M,
           "elif not w.extradites_nationals[home] and not w.surrender_nat[lead, home]:",
           "elif not w.extradites_nationals[home]:"),
    Mutant("nationality-bar-without-extradites-nationals", M,
           "elif not w.extradites_nationals[home] and not w.surrender_nat[lead, home]:",
           "elif not w.surrender_nat[lead, home]:"),
    Mutant("prosecution-draw-flipped", M, "if self.u(R.PROSECUTE, 0, net.idx) < w.prosecute_prob[home]:",
           "if self.u(R.PROSECUTE, 0, net.idx) >= w.prosecute_prob[home]:"),
    Mutant("prosecution-by-extradition-delay", M, "self.arrest_stage(case, int(w.mla_chan[lead, home]), t, home)",
           "self.arrest_stage(case, int(w.arrest_chan[lead, home]), t, home)"),
    Mutant("prosecution-channel-reversed", M, "self.arrest_stage(case, int(w.mla_chan[lead, home]), t, home)",
           "self.arrest_stage(case, int(w.mla_chan[home, lead]), t, home)"),
    Mutant("prosecution-arrested-by-lead", M, "self.arrest_stage(case, int(w.mla_chan[lead, home]), t, home)",
           "self.arrest_stage(case, int(w.mla_chan[lead, home]), t, lead)"),
    Mutant("extradition-drawn-per-case", M, "self.u(R.EXTRADITE, 0, net.idx, lead)",
           "self.u(R.EXTRADITE, 0, case.id, lead)"),
    Mutant("extradition-draw-without-lead", M, "self.u(R.EXTRADITE, 0, net.idx, lead)",
           "self.u(R.EXTRADITE, 0, net.idx)"),
    Mutant("extradite-prob-of-the-lead", M, "< w.extradite_prob[home]:", "< w.extradite_prob[lead]:"),
    Mutant("extradition-channel-reversed", M, "self.arrest_stage(case, int(w.arrest_chan[lead, home]), t, lead)",
           "self.arrest_stage(case, int(w.arrest_chan[home, lead]), t, lead)"),
    # ---- phase 9 and creating networks
    Mutant("successor-draw-flipped", M, "< w.succ_q[j, u]:", ">= w.succ_q[j, u]:"),
    Mutant("succ-q-transposed", M, "< w.succ_q[j, u]:", "< w.succ_q[u, j]:"),
    Mutant("residence-comparison-flipped", M, "if self.u(R.RESIDENCE, 0, n) < self.world.home_in_market:",
           "if self.u(R.RESIDENCE, 0, n) >= self.world.home_in_market:"),
    # ---- agents
    Mutant("mla-channel-reversed-in-queue", A, "m.world.mla_chan[req.lead, self.idx]",
           "m.world.mla_chan[self.idx, req.lead]"),
    Mutant("joint-coverage-counts-every-server", A, "return sum(int(joint[lead, s.country]) for s in up), len(up)",
           "return len(up), len(up)"),
    Mutant("open-prob-is-grant-prob", A, "self.open_prob = float(w.open_prob[idx])",
           "self.open_prob = float(w.grant_prob[idx])"),
    Mutant("seize-prob-is-grant-prob", A, "m.world.seize_prob[self.country]", "m.world.grant_prob[self.country]"),
    Mutant("case-opens-at-capacity", A, "if self.open_cases >= self.capacity:", "if self.open_cases > self.capacity:"),
    # ---- world compiler
    Mutant("mla-speed-scales-production-orders", W, 'channel("production_orders", 1.0)',
           'channel("production_orders", pol.mla_speed)'),
    Mutant("mla-speed-scales-disclosure", W, "tables.add(p.disclosure) for p in providers",
           "tables.add(p.disclosure.scaled(pol.mla_speed)) for p in providers"),
    Mutant("prosecute-prob-is-extradites", W, 'self.prosecute = col(countries, "prosecutes_nationals", np.float64)',
           'self.prosecute = col(countries, "extradites", np.float64)'),
    Mutant("home-drawn-by-demand", W, "self.home_cum, self.market_cum = cumulative(self.origin), cumulative(self.demand)",
           "self.home_cum, self.market_cum = cumulative(self.demand), cumulative(self.demand)"),
    Mutant("harmonization-moves-priority", W, "prio = np.maximum(st.prio, pol.priority_floor)",
           "prio = np.maximum(st.prio + h * (1.0 - st.prio), pol.priority_floor)"),
    Mutant("priority-floor-min-not-max", W, "prio = np.maximum(st.prio, pol.priority_floor)",
           "prio = np.minimum(st.prio, pol.priority_floor)"),
    Mutant("grant-prob-uses-priority", W, "grant_prob=np.minimum(crim, powers),", "grant_prob=np.minimum(crim, prio),"),
    Mutant("open-prob-uses-powers", W, "open_prob=np.minimum(crim, prio),", "open_prob=np.minimum(powers, prio),"),
    Mutant("seize-prob-uses-criminalises", W, "seize_prob=np.minimum(powers, prio),",
           "seize_prob=np.minimum(crim, prio),"),
    Mutant("extradite-prob-ignores-criminalises", W, "extradite_prob=st.extradites * crim,",
           "extradite_prob=st.extradites.copy(),"),
    Mutant("haven-threshold-inclusive", W, "haven=(law < enf.haven_law_below)", "haven=(law <= enf.haven_law_below)"),
    Mutant("mla-speed-scales-surrender", W, 'channel("surrender", pol.surrender_speed)',
           'channel("surrender", pol.mla_speed)'),
    Mutant("surrender-speed-scales-mla", W, 'channel("mla", pol.mla_speed)', 'channel("mla", pol.surrender_speed)'),
    Mutant("mla-channel-uses-leads-delay", W, "bloc_tab[best], own_tab[None, :])", "bloc_tab[best], own_tab[:, None])"),
    Mutant("bloc-channel-slowest-not-fastest", W, "(delays, candidate.argmin(axis=0),",
           "(delays, np.where(np.isfinite(candidate), candidate, -np.inf).argmax(axis=0),"),
    Mutant("jit-bloc-not-joint", W, 'self.any_shared["joint_action"] | jit)', 'self.any_shared["joint_action"])'),
    Mutant("jit-with-any-shared-bloc", W, "self.any_shared = {flag: any_shared(flag) for flag in",
           'self.any_shared = {flag: shared.any(axis=0) if flag == "jit" else any_shared(flag) for flag in'),
    Mutant("surrender-nationals-with-any-shared-bloc", W, "self.any_shared = {flag: any_shared(flag) for flag in",
           'self.any_shared = {flag: shared.any(axis=0) if flag == "surrender_nationals" else any_shared(flag) for flag in'),
    Mutant("preservation-everywhere-always", W, '(st.any_shared["preservation"] | pol.preservation_everywhere)',
           '(st.any_shared["preservation"] | True)'),
    Mutant("succ-q-interpolation-reversed", W, "(pir.successor_prob - pir.successor_prob_joint) * j / np.maximum(u, 1)",
           "(pir.successor_prob - pir.successor_prob_joint) * (u - j) / np.maximum(u, 1)"),
    Mutant("succ-q-empty-network-solo", W, "np.maximum(u, 1),\n                              pir.successor_prob_joint)",
           "np.maximum(u, 1),\n                              pir.successor_prob)"),
    Mutant("evidence-rule-flag-inverted", W, 'evidence_first=int(enf.evidence_rule == "first")',
           'evidence_first=int(enf.evidence_rule == "all")'),
    # ---- metrics
    Mutant("warm-up-ignored-in-metrics", MET, "W = min(365, T - warmup)\n\n    def col(", "W = min(365, T)\n\n    def col("),
    Mutant("users-served-not-in-millions", MET, 'float(tail["users_served"].mean()) / USER_UNIT',
           'float(tail["users_served"].mean())'),
    # ---- stage B: users and displacement
    Mutant("migration-to-the-smallest", M, "key=lambda x: (x.users, -x.idx)", "key=lambda x: (-x.users, -x.idx)"),
    Mutant("movers-also-lapse", M, "self.lapsed[net.market] += net.users - movers",
           "self.lapsed[net.market] += net.users"),
    Mutant("blocked-still-acquires", M, "            if not net.blocked:\n", "            if True:\n"),
    Mutant("block-effect-ignored", M, "lost = share_of(net.users, w.block_fx)", "lost = 0"),
    Mutant("cutoff-quit-draw-flipped", M, "self.u(R.CUTOFF_QUIT, t, net.idx) < w.cutoff_quit_prob",
           "self.u(R.CUTOFF_QUIT, t, net.idx) > w.cutoff_quit_prob"),
    Mutant("lapsed-never-return", M, "back = share_of(self.lapsed[c], w.return_fx)", "back = 0"),
    Mutant("acquisition-remainder-to-the-last", M,
           "gain = share_of(self.unserved[c], w.acquire_fx)\n            base, extra = divmod(gain, len(nets))\n"
           "            for i, net in enumerate(nets):\n                self.gain_users(net, base + (1 if i < extra else 0))",
           "gain = share_of(self.unserved[c], w.acquire_fx)\n            base, extra = divmod(gain, len(nets))\n"
           "            for i, net in enumerate(nets):\n                self.gain_users(net, base + (1 if i >= len(nets) - extra else 0))"),
    Mutant("demand-entry-ignores-unserved", M, "q = w.entry_dq[w.entry_dq_off[c] + self.unserved[c]]",
           "q = w.entry_dq[w.entry_dq_off[c] + int(w.demand_units[c])]"),
    Mutant("initial-demand-left-unserved", M, "                self.gain_users(net, base + (1 if i < extra else 0))\n"
           "            self.unserved[c] = 0", "                self.gain_users(net, base + (1 if i < extra else 0))\n"
           "            pass"),
    # ---- stage B: adaptive host choice
    Mutant("heat-never-decays", M, "self.heat = [h - (h >> k) for h in self.heat]", "self.heat = list(self.heat)"),
    Mutant("heat-level-ignores-memory", M,
           "return min(HEAT_LEVELS - 1, self.eco_level(c) + share_of(net.memory[c], self.world.memory_fx))",
           "return min(HEAT_LEVELS - 1, self.eco_level(c))"),
    Mutant("heat-acceptance-ignored", M, "if d == 0 or self.counter_rng.top53(R.HOST_ACCEPT",
           "if True or self.counter_rng.top53(R.HOST_ACCEPT"),
    Mutant("heat-half-life-off-by-one", W, "int(round(math.log2(pir.heat_half_life_days / math.log(2))))",
           "int(round(math.log2(pir.heat_half_life_days / math.log(2)))) + 1"),
    Mutant("delay-table-uncapped", W, "np.clip(rows, 1, MAX_DELAY_DAYS, out=rows)", "np.maximum(rows, 1, out=rows)"),
    Mutant("blocking-lever-ignored", W, "[b or pol.blocking_everywhere for b in st.blocks_sites]",
           "[b for b in st.blocks_sites]"),
)


def check_anchors(mutants: tuple[Mutant, ...]) -> list[str]:
    """One line per mutant whose old text does not occur exactly once (or whose change is empty)."""
    problems, names = [], set()
    for m in mutants:
        if m.name in names:
            problems.append(f"{m.name}: duplicate name")
        names.add(m.name)
        n = (ROOT / m.file).read_text().count(m.old)
        if n != 1:
            problems.append(f"{m.name}: old text found {n} times in {m.file} (expected exactly once): {m.old!r}")
        if m.old == m.new:
            problems.append(f"{m.name}: old and new text are the same")
    return problems


def copy_tree(dest: Path) -> None:
    """Copy what the behaviour tests need (sources, tests, scenarios, config) into ``dest``."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.c", "*.html")
    for name in COPY:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=skip)
        else:
            shutil.copy2(src, dest / name)


def preimport() -> None:
    """Import the heavy third-party modules once, before forking: each mutant's process then only imports the
    (mutated) project itself. Nothing of the project is imported here."""
    # One BLAS thread: the parent forks, and a forked copy of a busy thread pool is asking for trouble.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    # Not pandas (nor mesa, which imports it): pandas loads pyarrow, whose allocator starts a thread, and a
    # process with threads should not fork. The children import those two themselves.
    import numpy  # noqa: F401
    import pytest  # noqa: F401
    import scipy.special  # noqa: F401
    import scipy.stats  # noqa: F401
    import yaml  # noqa: F401

    leaked = [name for name in ("sim", "tests", "cyext", "pandas") if name in sys.modules]
    if leaked:  # the children must import these from their own copy
        raise RuntimeError(f"imported too early: {leaked}")


def child(tree: Path, log: Path) -> None:
    """In a forked process: run the behaviour tests on ``tree``, stopping at the first failure; never returns.

    Exit codes: pytest's (0 passed, 1 a test failed, ...), 4 if the copy's own sources were not the ones imported.
    """
    code = 3
    try:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.chdir(tree)
        sys.path.insert(0, str(tree))  # the copy comes first, ahead of the editable install of the working tree
        sys.dont_write_bytecode = True
        import pytest
        import sim

        if not str(Path(sim.__file__).resolve()).startswith(str(tree.resolve())):
            print(f"error: imported sim from {sim.__file__}, not from the copy {tree}")
            code = 4
        else:
            code = int(pytest.main(["-x", "-q", "-p", "no:cacheprovider", "-m", MARKS, *TESTS]))
    except BaseException:  # noqa: BLE001 - report anything, exit with a code the parent understands
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def first_failure(out: str) -> str:
    """The id of the first failing test in a pytest output (the -ra summary), or '?'."""
    found = re.search(r"^(?:FAILED|ERROR) (\S+)", out, re.M)
    return found.group(1) if found else "?"


def verdict(code: int | None, out: str) -> tuple[str, str]:
    """(status, detail) from a child's exit code (None: timed out) and output."""
    if code is None:
        return "killed", f"timeout after {TIMEOUT} s"
    if code == 0:
        return "survived", ""
    if code == 1:
        return "killed", f"by {first_failure(out)}"
    return "error", f"exit {code}: {out.strip().splitlines()[-1:]}"


Report = Callable[..., None]


def run_all(mutants: tuple[Mutant | None, ...], jobs: int, report: Report) -> None:
    """Run each mutant (None: the unmutated baseline) in its own copy and forked process, ``jobs`` at a time;
    ``report(mutant, status, detail, output)`` is called as each finishes. On any exit (Ctrl-C included) no
    child process and no temporary copy is left behind."""
    queue = list(mutants)
    running: dict[int, tuple[Mutant | None, Path, float]] = {}
    try:
        _schedule(queue, running, jobs, report)
    finally:
        for cpid, (_, tmp, _) in running.items():
            os.kill(cpid, signal.SIGKILL)
            os.waitpid(cpid, 0)
            shutil.rmtree(tmp, ignore_errors=True)


def _schedule(queue: list[Mutant | None], running: dict[int, tuple[Mutant | None, Path, float]], jobs: int,
              report: Report) -> None:
    while queue or running:
        while queue and len(running) < jobs:
            m = queue.pop(0)
            tmp = Path(tempfile.mkdtemp(prefix="mutant-"))
            try:
                tree = tmp / "tree"
                copy_tree(tree)
                if m is not None:
                    path = tree / m.file
                    text = path.read_text()
                    assert text.count(m.old) == 1  # checked on the working tree before any run; the copy is identical
                    path.write_text(text.replace(m.old, m.new))
                sys.stdout.flush()
                pid = os.fork()
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            if pid == 0:
                child(tree, tmp / "log.txt")
            running[pid] = (m, tmp, time.monotonic())
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            for cpid, (m, tmp, t0) in list(running.items()):
                if time.monotonic() - t0 > TIMEOUT:
                    os.kill(cpid, signal.SIGKILL)
                    os.waitpid(cpid, 0)
                    del running[cpid]
                    shutil.rmtree(tmp, ignore_errors=True)
                    report(m, *verdict(None, ""), "")
            time.sleep(0.05)
            continue
        m, tmp, _ = running.pop(pid)
        code = os.waitstatus_to_exitcode(status)
        out = (tmp / "log.txt").read_text(errors="replace")
        shutil.rmtree(tmp, ignore_errors=True)
        report(m, *verdict(code, out), out)


def main(argv: list[str] | None = None) -> int:
    """Check the anchors, run the baseline, then every mutant; print one line each and the summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-j", "--jobs", type=int, default=2, help="mutants run at once (default 2)")
    ap.add_argument("-k", action="append", default=[], help="only mutants whose name contains this (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = ap.parse_args(argv)
    mutants = tuple(m for m in MUTANTS if not args.k or any(k in m.name for k in args.k))
    problems = check_anchors(MUTANTS)
    if problems:
        for line in problems:
            print(f"error: stale mutant {line}", file=sys.stderr)
        return 2
    if args.list:
        for m in mutants:
            print(f"{m.name}  ({m.file})")
        return 0
    # A polite kill (SIGTERM) unwinds like Ctrl-C, so run_all's cleanup stops the children and removes the copies.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    start = time.monotonic()
    preimport()
    base: list[tuple[str, str]] = []
    run_all((None,), 1, lambda m, status, detail, out="": base.append((status, out)))
    if base[0][0] != "survived":  # the unmutated tree must pass, or every "kill" would mean nothing
        print(f"error: the behaviour tests fail without any mutation:\n{base[0][1][-3000:]}", file=sys.stderr)
        return 2
    print(f"baseline: behaviour tests pass unmutated ({', '.join(TESTS)})", flush=True)
    results: dict[str, tuple[str, str]] = {}

    def report(m: Mutant, status: str, detail: str, out: str = "") -> None:
        results[m.name] = (status, detail)
        print(f"{m.name:48s} {status:8s} {m.file}  {detail}", flush=True)

    run_all(mutants, max(1, args.jobs), report)
    killed = sum(s == "killed" for s, _ in results.values())
    survived = sum(s == "survived" for s, _ in results.values())
    errors = sum(s == "error" for s, _ in results.values())
    if errors:
        print(f"{errors} mutant(s) could not be tested (error above)")
    print(f"({time.monotonic() - start:.0f} s)")
    print(f"mutants: {killed} killed, {survived} survived")
    return 0 if survived == 0 and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
