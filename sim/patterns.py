"""Pattern checks: does a world reproduce what real enforcement shows? (docs/scenarios.md, "Patterns")

Each function measures one pattern from real runs and returns the measured value; ``measure_all`` runs a
world over several seeds and collects them. The targets and their sources live with the tests
(``tests/test_patterns.py``) and in ``docs/scenarios.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.agents import ARREST, QUIT
from sim.model import PiracyModel
from sim.outputs import CAUSE_ALIVE, CAUSE_ARREST, KIND_MLA
from sim.scenario import Scenario
from sim.world import World, compile_world


def notice_share(daily: pd.DataFrame) -> float:
    """Share of server removals (takedowns + seizures) done by hosts acting on notices."""
    t, s = daily["takedowns"].sum(), daily["seizures"].sum()
    return float(t / (t + s))


def replacement_delays(model: PiracyModel) -> np.ndarray:
    """Days from each takedown or seizure until the network's next new server (first in, first out)."""
    delays: list[int] = []
    for net in model.networks:
        removed = sorted(s.removed_day for s in net.servers
                         if s.removed_day >= 0 and s.removal_cause not in (ARREST, QUIT))
        rebuilt = sorted(s.born for s in net.servers if s.born > net.born)
        delays += [b - r for r, b in zip(removed, rebuilt)]
    return np.array(delays)


def formal_mla_delays(requests: pd.DataFrame, scenario: Scenario, horizon: int, window: int = 730,
                      warmup: int = 0) -> np.ndarray:
    """Days from request to answer for MLA requests that went through the requested country's own (formal)
    channel, i.e. between countries sharing no bloc with a faster channel, sent after the warm-up.

    Only requests sent at least ``window`` days before the horizon count: later ones with long delays are
    still open at the end, and leaving them out would bias the median down (right censoring). Requests whose
    case closed first (under ``evidence_rule: first``, most of them) still have their answer day, so they
    count too: leaving them out would keep only the quick answers."""
    members = {b: set() for b in scenario.blocs}
    for i, c in enumerate(scenario.countries):
        for b in c.blocs:
            members[b].add(i)
    fast = [m for b, m in members.items() if scenario.blocs[b].mla is not None]
    req = requests[(requests["kind"] == KIND_MLA) & (requests["created"] <= horizon - window)
                   & (requests["created"] > warmup) & (requests["resolved"] >= 0)]
    formal = [not any(l in m and r in m for m in fast) for l, r in zip(req["lead"], req["requested"])]
    sel = req[formal]
    return (sel["resolved"] - sel["created"]).to_numpy()


def survival_without_arrest(networks: pd.DataFrame, warmup: int = 0) -> float:
    """Share of the networks operating at the end of the warm-up (day 0 without one) and never arrested that are
    still operating at the horizon."""
    first = networks[(networks["born"] <= warmup) & ((networks["ended"] == -1) | (networks["ended"] > warmup))
                     & (networks["cause"] != CAUSE_ARREST)]
    return float((first["cause"] == CAUSE_ALIVE).mean())


def successors_per_arrest(networks: pd.DataFrame, world: World) -> tuple[int, int]:
    """(successors, arrests) counting only arrests early enough for a successor to appear before the horizon
    (successor delay below its 99th percentile)."""
    cutoff = world.horizon - int(world.delays[world.successor_tab, 990])
    arrested = networks[(networks["cause"] == CAUSE_ARREST) & (networks["ended"] <= cutoff)]["network"]
    return int(networks["predecessor"].isin(arrested).sum()), int(len(arrested))


def joint_vs_solo_successors(scenario: Scenario, seeds: range, horizon: int = 1825) -> dict[str, float]:
    """Successors per arrest in the world as it is and in the same world with joint action everywhere
    (every arrest then joint), on the same seeds: the effect of joint action alone."""
    from sim.engines import run
    from sim.scenario import apply_overrides, from_dict

    raw = apply_overrides(scenario.to_raw(), {"horizon_days": scenario.warmup_days + horizon})
    worlds = {"as_is": compile_world(from_dict(raw, scenario.name))}
    raw["blocs"]["everyone_jointly"] = {"joint_action": True}
    raw["policy"]["join"] = {**raw["policy"]["join"], "everyone_jointly": ["*"]}
    worlds["joint_everywhere"] = compile_world(from_dict(raw, scenario.name))
    out: dict[str, float] = {}
    for name, world in worlds.items():
        succ = arrests = 0
        for seed in seeds:
            s, a = successors_per_arrest(run(world, seed).networks, world)
            succ, arrests = succ + s, arrests + a
        out[f"successors_per_arrest_{name}"] = succ / arrests if arrests else float("nan")
        out[f"arrests_{name}"] = arrests
    return out


# name -> (low, high, what, source). The successor pattern is a comparison, checked by ``check``.
TARGETS = {
    "notice_share": (0.75, 0.95, "share of server removals by hosts acting on notices (about 85/15)",
                     "Avalanche: 221 servers offline by abuse notices vs 39 seized (Europol, A)"),
    "replacement_median_days": (1.0, 2.0, "median days until a removed server is replaced",
                                "re-emergence after seizure median 1-2 days (Vu 2025, A)"),
    "formal_mla_median_days": (243.0, 304.0, "median days of a formal MLA request (8-10 months)",
                               "formal MLA ~10 months on average, lognormal median 8-10 months (EC 2018, A)"),
    "survival_without_arrest": (0.7, 1.0, "share of never-arrested networks still operating at the horizon",
                                "infrastructure-only takedowns rebuilt (Emotet ~10 months, B); durable effect needs arrests"),
}


def check(measured: dict[str, float]) -> list[tuple[str, float, str, bool]]:
    """(pattern, measured, target text, ok) for each target, plus the joint-action comparison if measured."""
    rows = [(k, measured[k], f"{lo:g}..{hi:g}: {what} [{src}]", lo <= measured[k] <= hi)
            for k, (lo, hi, what, src) in TARGETS.items() if k in measured]
    if "successors_per_arrest_joint_everywhere" in measured:
        j, s = measured["successors_per_arrest_joint_everywhere"], measured["successors_per_arrest_as_is"]
        rows.append(("successors_per_arrest (joint / as is)", j / s if s else float("nan"),
                     "< 1: joint action leaves fewer successors [coordinated multi-target ops cut activity "
                     "20-40% for 10-13 weeks, single takedowns only days (Collier 2019, A)]", j < s))
    return rows


def measure_all(scenario: Scenario, seeds: range) -> dict[str, float]:
    """Measure every pattern over ``seeds``: the run's tables (compiled engine) after the warm-up, and the
    replacement delays from the Mesa engine's server-level detail over the first year from a cold start (the
    rebuild rule does not depend on the state of the market, and a long warm-up on Mesa would take minutes)."""
    from sim.engines import run
    from sim.scenario import apply_overrides, from_dict

    world = compile_world(scenario)
    short = compile_world(from_dict(apply_overrides(scenario.to_raw(), {"warmup_days": 0, "horizon_days": 365}),
                                    scenario.name))
    share, repl, mla, surv = [], [], [], []
    for seed in seeds:
        res = run(world, seed)
        after = res.daily[res.daily["day"] > world.warmup]
        share.append(notice_share(after))
        mla.append(formal_mla_delays(res.requests, scenario, world.horizon, warmup=world.warmup))
        surv.append(survival_without_arrest(res.networks, world.warmup))
        model = PiracyModel(short, seed)
        for _ in range(short.horizon):
            model.step()
        repl.append(replacement_delays(model))
    return {
        "notice_share": float(np.mean(share)),
        "replacement_median_days": float(np.median(np.concatenate(repl))),
        "formal_mla_median_days": float(np.median(np.concatenate(mla))),
        "survival_without_arrest": float(np.mean(surv)),
    }
