"""Pattern checks: calibration targets, validation targets and consistency checks (docs/scenarios.md, "Patterns").

Three groups, kept apart so that a pass is read for what it is:

- **calibration** targets are facts the model is fitted to (`piracysim calibrate` uses these and nothing else);
  passing them shows the fit worked, not that the model is valid;
- **validation** targets are facts the model never takes as input and is never fitted to: the evidence;
- **consistency** checks read back what an input sets (a share that follows from a compliance rate, a delay that
  follows from a daily chance): they show the engine does what the input says, and are no evidence of validity.

Every value is measured from real runs. The compiled engine's tables give all but one: :func:`collect` turns one
run into raw counts and durations, :func:`summarise` pools the raw data of several runs (seeds) into the measured
values, so a quantity over few events (arrest clusters) or a survival curve is estimated from every run at once.
Right-censored durations (investigations still open at the horizon, MLA requests not yet answered) are
Kaplan–Meier estimates (``sim.survival``), never medians of the completed cases. The server replacement delay needs
server-level records and comes from the Mesa engine (:func:`replacement_delays`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.agents import ARREST, QUIT
from sim.model import PiracyModel
from sim.outputs import CAUSE_ALIVE, CAUSE_ARREST, CAUSE_QUIT, KIND_MLA, OUTCOME_DROPPED, OUTCOME_OPEN, RunResult
from sim.scenario import Scenario
from sim.survival import kaplan_meier
from sim.world import World, compile_world

GROUPS = ("calibration", "validation", "consistency")
# Durations that can outlast a 3-year measured window (investigations, MLA answers) are followed over the run's
# last ten years, most of them in the late warm-up where the world is already at its steady state: a survival
# curve over 3 years of follow-up could not show a 4-year median.
SURVIVAL_WINDOW_DAYS = 3650
REBUILD_DAYS = 304          # ~10 months (Emotet's rebuild)
ACTIVITY_BEFORE_DAYS = 28   # activity before a multi-target operation: the 4 weeks before its first arrest
ACTIVITY_AFTER_DAYS = 91    # and the 13 weeks after its last one (Collier et al.: 10-13 weeks)
CLUSTER_DAYS = 14           # arrests in one market within 2 weeks of each other form one multi-target operation
TOP_MARKETS = 5             # "one ecosystem": each of the five largest markets by users


@dataclass(frozen=True)
class Target:
    """One pattern: its group, the interval that counts as reproduced, what it is, what it tests and its source."""

    name: str
    group: str
    low: float
    high: float
    what: str
    tests: str
    source: str

    def hit(self, value: float) -> bool:
        """True when ``value`` lies in [low, high] (an unmeasurable NaN never hits)."""
        return bool(not math.isnan(value) and self.low <= value <= self.high)

    def interval(self) -> str:
        """The interval as text."""
        if math.isinf(self.high):
            return f">= {self.low:g}"
        return f"{self.low:g}..{self.high:g}"


_T = [
    # calibration: fitted by piracysim calibrate (sim/calibrate.py)
    Target("formal_mla_median_days", "calibration", 243.0, 304.0,
           "median days from a formal MLA request to its answer (Kaplan-Meier, open requests censored)",
           "the queue before the requested country starts a request: the input sets the service delay (median "
           "300 days), the wait before it comes from how many requests the enforcement parameters send",
           "formal MLA ~10 months on average, 6 weeks to 24 months (European Commission 2018, SWD(2018) 118, A)"),
    Target("survival_without_arrest", "calibration", 0.7, 1.0,
           "share of never-arrested networks operating at the end of the warm-up still operating 3 years later",
           "the operators' chance to quit after losing servers (pirates.quit_prob)",
           "infrastructure-only takedowns are rebuilt and durable effect needs arrests (Collier et al. 2019, A; "
           "Vu et al. 2025, A)"),
    Target("arrests_per_market_year", "calibration", 0.5, 2.0,
           "arrests a year in each of the five largest markets (mean)",
           "how often enforcement ends an operation: detection, identification, capacity, priority",
           "successive operations against one national ecosystem about a year apart (Operation 404 phases, Brazil "
           "2019-2024; Taken Down, Italy, Nov 2024, then Feb 2026), piracy monitor and Creative Unites reports (B)"),
    # validation: never inputs, never fitted
    Target("investigation_years", "validation", 2.0, 4.0,
           "median years from a network's first case to its arrest (Kaplan-Meier; quits and the horizon censor)",
           "how long evidence and arrest take end to end (routes, queues, case timeouts, repeat cases); "
           "case_timeout_days (730) was set from the same sources, so the lower end is not fully independent",
           "Ghost Click 2 years (FBI 2011, A); Avalanche 4 years (Europol 2016, A)"),
    Target("countries_per_operation", "validation", 6.0, 30.0,
           "median number of countries in a case: the lead and every country asked for evidence",
           "how far a network's infrastructure spreads over jurisdictions and how many an investigation must reach",
           "Xtream Codes 6 countries (Eurojust 2019), Taken Down 7-8 (Eurojust/Europol 2024), Avalanche 30 "
           "(Europol 2016) (A/B)"),
    Target("rebuilt_without_arrest", "validation", 0.5, 1.0,
           "share of networks under investigation still operating 10 months after their first case, absent arrest "
           "(Kaplan-Meier of the time to quitting; arrests and the horizon censor)",
           "whether takedowns without arrests leave operations running, as Emotet's did",
           "Emotet: infrastructure taken down in Jan 2021 (Europol), back by Nov 2021 (security press, B)"),
    Target("activity_drop_multi_target", "validation", -0.40, -0.20,
           "change in users served in a market over the 13 weeks after a multi-target operation (two or more "
           "arrests there within 2 weeks) against the 4 weeks before",
           "whether the market's demand finds other services at once or is disrupted for weeks",
           "coordinated multi-target operations cut market activity 20-40% for 10-13 weeks, single takedowns only "
           "for days (Collier et al. 2019, IMC, A)"),
    Target("mla_abandoned_share", "validation", 0.25, 0.67,
           "share of formal MLA requests answered only after their case had ended (the investigation did not wait)",
           "whether formal MLA is too slow to serve the investigations that ask for it",
           "many requests abandoned because MLA is too slow (Council of Europe T-CY 2014, B-); about 2/3 of "
           "cross-border e-evidence cases not effectively pursued, an upper bound (European Commission 2018, B)"),
    # consistency: read-backs of inputs
    Target("notice_share", "consistency", 0.75, 0.95,
           "share of server removals by hosts acting on notices (takedowns / takedowns + seizures)",
           "read-back of provider compliance (0.84-0.97 for mainstream hosts, an input)",
           "Avalanche: 221 servers offline by abuse notices vs 39 seized (Europol 2016, A)"),
    Target("replacement_median_days", "consistency", 1.0, 2.0,
           "median days until a removed server is replaced (Mesa engine, server records)",
           "read-back of pirates.reprovision_prob (0.5 a day: median 1 day)",
           "re-emergence after seizure median 1-2 days (Vu et al. 2025, A)"),
    Target("successor_ratio_joint", "consistency", 0.0, 0.99,
           "successors per arrest with joint action everywhere / as is (same seeds)",
           "read-back of successor_prob_joint / successor_prob (0.075 / 0.3)",
           "coordinated multi-target operations disrupt more than single takedowns (Collier et al. 2019, A)"),
]
TARGETS: dict[str, Target] = {t.name: t for t in _T}
CALIBRATION = tuple(t.name for t in _T if t.group == "calibration")
VALIDATION = tuple(t.name for t in _T if t.group == "validation")
CONSISTENCY = tuple(t.name for t in _T if t.group == "consistency")


# ------------------------------------------------------------------------------------------- per-run raw data

def _km_median(durations: np.ndarray, events: np.ndarray) -> float:
    if durations.size == 0:
        return float("nan")
    med = kaplan_meier(durations, events).median()
    return float("nan") if med is None else med


def _formal_mask(requests: pd.DataFrame, scenario: Scenario) -> np.ndarray:
    """MLA requests between countries that share no bloc with a faster MLA channel (the requested country's own,
    formal channel)."""
    members: dict[str, set[int]] = {b: set() for b in scenario.blocs}
    for i, c in enumerate(scenario.countries):
        for b in c.blocs:
            members[b].add(i)
    fast = [m for b, m in members.items() if scenario.blocs[b].mla is not None]
    return np.array([not any(l in m and r in m for m in fast) for l, r in zip(requests["lead"], requests["requested"])],
                    dtype=bool)


def formal_mla_delays(requests: pd.DataFrame, scenario: Scenario, horizon: int,
                      start: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(durations, answered) of formal MLA requests created after day ``start``: an answered request's duration is
    resolved - created, an open one is censored at the horizon. Requests whose case closed first still have
    their answer day and count (under ``evidence_rule: first`` most of them): leaving them out would keep only
    the quick answers."""
    req = requests[(requests["kind"] == KIND_MLA) & (requests["created"] > start)]
    req = req[_formal_mask(req, scenario)]
    done = req["resolved"].to_numpy() >= 0
    dur = np.where(done, req["resolved"] - req["created"], horizon - req["created"])
    return dur.astype(np.float64), done


def survival_without_arrest(networks: pd.DataFrame, warmup: int = 0) -> float:
    """Share of the networks operating at the end of the warm-up (day 0 without one) and never arrested that are
    still operating at the horizon."""
    alive, total = _survival_counts(networks, warmup)
    return alive / total if total else float("nan")


def _survival_counts(networks: pd.DataFrame, warmup: int) -> tuple[int, int]:
    first = networks[(networks["born"] <= warmup) & ((networks["ended"] == -1) | (networks["ended"] > warmup))
                     & (networks["cause"] != CAUSE_ARREST)]
    return int((first["cause"] == CAUSE_ALIVE).sum()), int(len(first))


def notice_share(daily: pd.DataFrame) -> float:
    """Share of server removals (takedowns + seizures) done by hosts acting on notices."""
    t, s = daily["takedowns"].sum(), daily["seizures"].sum()
    return float(t / (t + s)) if t + s else float("nan")


def _first_case_durations(networks: pd.DataFrame, horizon: int, start: int, cause: int) -> tuple[np.ndarray, np.ndarray]:
    """(durations, events) from the first case (opened after ``start``) to the network's end by ``cause``; an end
    by the other cause, or the horizon, censors."""
    sel = networks[networks["first_case"] > start]
    ended = sel["ended"].to_numpy()
    dur = np.where(ended >= 0, ended - sel["first_case"], horizon - sel["first_case"]).astype(np.float64)
    return dur, (sel["cause"] == cause).to_numpy()


def _activity_changes(result: RunResult, world: World) -> np.ndarray:
    """Relative change in users served in a market after each multi-target operation there (two or more arrests
    of its networks within CLUSTER_DAYS), the 13 weeks after its last arrest against the 4 weeks before its first;
    only operations whose windows lie after the warm-up and before the horizon."""
    ubm = result.users_by_market
    if ubm.empty:
        return np.array([])
    served = ubm.set_index("day")
    net = result.networks
    arrests = net[(net["cause"] == CAUSE_ARREST) & (net["ended"] > world.warmup)]
    out: list[float] = []
    for market, grp in arrests.groupby("market"):
        col = world.country_ids[int(market)]
        days = np.sort(grp["ended"].to_numpy())
        clusters: list[list[int]] = []
        for d in days:  # chain arrests closer than CLUSTER_DAYS into one operation
            if clusters and d - clusters[-1][-1] <= CLUSTER_DAYS:
                clusters[-1].append(int(d))
            else:
                clusters.append([int(d)])
        for c in clusters:
            first, last = c[0], c[-1]
            if len(c) < 2 or first - ACTIVITY_BEFORE_DAYS <= world.warmup or last + ACTIVITY_AFTER_DAYS > world.horizon:
                continue
            before = served.loc[first - ACTIVITY_BEFORE_DAYS:first - 1, col].mean()
            after = served.loc[last + 1:last + ACTIVITY_AFTER_DAYS, col].mean()
            if before > 0:
                out.append(after / before - 1.0)
    return np.array(out, dtype=np.float64)


def collect(result: RunResult, world: World, scenario: Scenario) -> dict[str, Any]:
    """The raw data of every pattern measured on the compiled engine's tables, from one run (see :func:`summarise`)."""
    h, w = world.horizon, world.warmup
    start = max(0, h - SURVIVAL_WINDOW_DAYS)
    net, req = result.networks, result.requests
    after = result.daily[result.daily["day"] > w]
    mla_dur, mla_done = formal_mla_delays(req, scenario, h, start)
    inv_dur, inv_ev = _first_case_durations(net, h, start, CAUSE_ARREST)
    reb_dur, reb_ev = _first_case_durations(net, h, start, CAUSE_QUIT)
    top = np.argsort(-world.demand_units.astype(np.int64), kind="stable")[:TOP_MARKETS]
    arrested = net[(net["cause"] == CAUSE_ARREST) & (net["ended"] > w)]
    alive, total = _survival_counts(net, w)
    # countries per case: the lead and every country asked, over cases whose requests start after `start`
    cases = req[req["created"] > start]
    per_case = (pd.concat([cases[["case", "lead"]].rename(columns={"lead": "c"}),
                           cases[["case", "requested"]].rename(columns={"requested": "c"})])
                .drop_duplicates().groupby("case").size().to_numpy())
    # formal MLA requests old enough to be settled (6+ years of follow-up): answered after the case ended?
    old = req[(req["kind"] == KIND_MLA) & (req["created"] > start) & (req["created"] <= h - 2190)]
    old = old[_formal_mask(old, scenario)]
    return {
        "mla_dur": mla_dur, "mla_done": mla_done,
        "alive": alive, "total": total,
        "top_arrests": int(arrested["market"].isin(top).sum()), "market_years": TOP_MARKETS * (h - w) / 365.0,
        "inv_dur": inv_dur, "inv_ev": inv_ev, "reb_dur": reb_dur, "reb_ev": reb_ev,
        "countries": per_case.astype(np.float64),
        "activity": _activity_changes(result, world),
        "mla_dropped": int((old["outcome"] == OUTCOME_DROPPED).sum()),
        "mla_settled": int((old["outcome"] != OUTCOME_OPEN).sum()),
        "takedowns": int(after["takedowns"].sum()), "seizures": int(after["seizures"].sum()),
    }


def summarise(raws: list[dict[str, Any]]) -> dict[str, float]:
    """The measured value of every compiled-engine pattern, pooling the raw data of several runs."""
    cat = lambda k: np.concatenate([r[k] for r in raws]) if raws else np.array([])  # noqa: E731
    tot = lambda k: sum(r[k] for r in raws)  # noqa: E731
    inv = _km_median(cat("inv_dur"), cat("inv_ev"))
    reb_dur, reb_ev = cat("reb_dur"), cat("reb_ev")
    act = cat("activity")
    return {
        "formal_mla_median_days": _km_median(cat("mla_dur"), cat("mla_done")),
        "survival_without_arrest": tot("alive") / tot("total") if tot("total") else float("nan"),
        "arrests_per_market_year": tot("top_arrests") / tot("market_years") if tot("market_years") else float("nan"),
        "investigation_years": inv / 365.0,
        "countries_per_operation": float(np.median(cat("countries"))) if cat("countries").size else float("nan"),
        "rebuilt_without_arrest": kaplan_meier(reb_dur, reb_ev).at(REBUILD_DAYS) if reb_dur.size else float("nan"),
        "activity_drop_multi_target": float(act.mean()) if act.size else float("nan"),
        "activity_operations": float(act.size),
        "mla_abandoned_share": tot("mla_dropped") / tot("mla_settled") if tot("mla_settled") else float("nan"),
        "notice_share": (tot("takedowns") / (tot("takedowns") + tot("seizures"))
                         if tot("takedowns") + tot("seizures") else float("nan")),
    }


# --------------------------------------------------------------------------- measures needing other runs

def replacement_delays(model: PiracyModel) -> np.ndarray:
    """Days from each takedown or seizure until the network's next new server (first in, first out)."""
    delays: list[int] = []
    for net in model.networks:
        removed = sorted(s.removed_day for s in net.servers
                         if s.removed_day >= 0 and s.removal_cause not in (ARREST, QUIT))
        rebuilt = sorted(s.born for s in net.servers if s.born > net.born)
        delays += [b - r for r, b in zip(removed, rebuilt)]
    return np.array(delays)


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
    j, s = out["successors_per_arrest_joint_everywhere"], out["successors_per_arrest_as_is"]
    out["successor_ratio_joint"] = j / s if s else float("nan")
    return out


def mesa_replacement_median(scenario: Scenario, seeds: range) -> float:
    """Median replacement delay from the Mesa engine's server records over one cold-start year per seed (the
    rebuild rule does not depend on the state of the market, and a long warm-up on Mesa would take minutes)."""
    from sim.scenario import apply_overrides, from_dict

    short = compile_world(from_dict(apply_overrides(scenario.to_raw(), {"warmup_days": 0, "horizon_days": 365}),
                                    scenario.name))
    delays = []
    for seed in seeds:
        model = PiracyModel(short, seed)
        for _ in range(short.horizon):
            model.step()
        delays.append(replacement_delays(model))
    d = np.concatenate(delays)
    return float(np.median(d)) if d.size else float("nan")


def measure_runs(scenario: Scenario, seeds: range) -> dict[str, float]:
    """The compiled-engine patterns of ``scenario`` over ``seeds``, pooled (what calibration and the
    posterior-predictive checks use)."""
    from sim.engines import run

    world = compile_world(scenario)
    return summarise([collect(run(world, seed), world, scenario) for seed in seeds])


def measure_all(scenario: Scenario, seeds: range, successor_seeds: range | None = None) -> dict[str, float]:
    """Measure every pattern: the compiled-engine ones over ``seeds``, the replacement delay on Mesa over the same
    seeds, the joint-action comparison over ``successor_seeds`` (default: ten times as many seeds)."""
    out = measure_runs(scenario, seeds)
    out["replacement_median_days"] = mesa_replacement_median(scenario, seeds)
    out.update(joint_vs_solo_successors(scenario, successor_seeds or range(1, 10 * len(seeds) + 1)))
    return out


def check(measured: dict[str, float]) -> list[dict[str, Any]]:
    """One row per target that was measured, in group order: group, name, measured, low, high, ok, what, tests,
    source."""
    rows = []
    for group in GROUPS:
        for t in _T:
            if t.group == group and t.name in measured:
                v = float(measured[t.name])
                rows.append({"group": group, "name": t.name, "measured": v, "low": t.low, "high": t.high,
                             "ok": t.hit(v), "what": t.what, "tests": t.tests, "source": t.source})
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as plain text, one block per group (what ``piracysim patterns`` prints)."""
    heads = {"calibration": "Calibration targets (used to fit: piracysim calibrate)",
             "validation": "Validation targets (never inputs, never fitted)",
             "consistency": "Consistency checks (read-backs of inputs: not evidence)"}
    lines: list[str] = []
    for group in GROUPS:
        mine = [r for r in rows if r["group"] == group]
        if not mine:
            continue
        lines.append(heads[group])
        for r in mine:
            t = TARGETS[r["name"]]
            lines.append(f"  {'ok  ' if r['ok'] else 'MISS'} {r['name']:28s} {r['measured']:9.3f}   target "
                         f"{t.interval():>12s}  {t.what}")
            lines.append(f"       tests: {t.tests}")
            lines.append(f"       source: {t.source}")
    return "\n".join(lines)
