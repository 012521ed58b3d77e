"""Persistence metrics (docs/ODD.md, "Metrics"): one function, fed by either engine's run result.

Every metric ignores the warm-up (days up to ``warmup_days``, read from the run's meta). Levels
(``persistence``, ``supply``, ``arrests_per_year``) are means over the last W = min(365, T - warm-up) days;
shares and medians use every day after the warm-up. An undefined metric (no network, no MLA answer...) is NaN,
never None, so a table of runs is plain floats.
"""

from __future__ import annotations

import math

import numpy as np

from sim.outputs import (CAUSE_ALIVE, CAUSE_ARREST, KIND_MLA, KIND_NAMES, OUTCOME_EVIDENCE, OUTCOME_LOST,
                         OUTCOME_REFUSED, RunResult)
from sim.survival import kaplan_meier
from sim.world import USER_UNIT

ROUTE_METRICS = tuple(f"route_share_{name}" for name in KIND_NAMES)
METRICS = ("persistence", "supply", "lifetime_rmst", "lifetime_median", "dismantled_share", "haven_share",
           "mla_delay_median", "evidence_loss_share", "arrests_per_year", "case_success_share",
           "time_to_arrest_median") + ROUTE_METRICS + ("users_served", "availability", "users_migrated_per_year")
NAN = math.nan
CLOSINGS = ("arrests", "cases_failed_evidence", "cases_failed_haven", "cases_timed_out", "cases_moot")


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else NAN


def _or_nan(value: float | None) -> float:
    return NAN if value is None else float(value)


def horizon_and_warmup(result: RunResult) -> tuple[int, int]:
    """(T, warm-up) of a run: T from the daily table, the warm-up from its meta (0 for version-1 results)."""
    return len(result.daily), int(result.meta.get("warmup_days", 0) or 0)


def lifetimes(result: RunResult, born_after: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Lifetimes in days and event flags (1 ended, 0 alive at the horizon: censored at T) of the networks
    born after day ``born_after`` (all networks with the default 0 and day-0 networks included)."""
    T = len(result.daily)
    net = result.networks
    if born_after > 0:
        net = net[net["born"] > born_after]
    ended = net["cause"].to_numpy() != CAUSE_ALIVE
    stop = np.where(ended, net["ended"].to_numpy(), T)
    return stop - net["born"].to_numpy(), ended.astype(np.int64)


def time_to_arrest(result: RunResult, after: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Days from a network's first case to its arrest (event 1), or to its quitting or the horizon (censored),
    for the networks whose first case opened after day ``after``."""
    T = len(result.daily)
    net = result.networks
    net = net[net["first_case"] > after] if after > 0 else net[net["first_case"] >= 0]
    arrested = net["cause"].to_numpy() == CAUSE_ARREST
    stop = np.where(net["cause"].to_numpy() == CAUSE_ALIVE, T, net["ended"].to_numpy())
    return stop - net["first_case"].to_numpy(), arrested.astype(np.int64)


def compute(result: RunResult) -> dict[str, float]:
    """Every metric of the model (``METRICS``) for one run; NaN where a metric is undefined."""
    T, warmup = horizon_and_warmup(result)
    W = min(365, T - warmup)
    daily = result.daily
    after = daily[daily["day"] > warmup]
    tail = daily.iloc[T - W:] if W > 0 else daily.iloc[0:0]
    net, req = result.networks, result.requests
    out: dict[str, float] = {
        "persistence": float(tail["networks"].mean()) if W > 0 else NAN,
        "supply": float(tail["servers_up"].mean()) if W > 0 else NAN,
    }
    durations, events = lifetimes(result, warmup)
    if len(durations):
        curve = kaplan_meier(durations, events)
        out["lifetime_rmst"] = curve.rmst(T - warmup)
        out["lifetime_median"] = _or_nan(curve.median())
    else:
        out["lifetime_rmst"] = out["lifetime_median"] = NAN
    present = net[(net["ended"] == -1) | (net["ended"] > warmup)]  # networks operating after the warm-up
    out["dismantled_share"] = _ratio((present["cause"] == CAUSE_ARREST).sum(), len(present))
    out["haven_share"] = _ratio(after["servers_up_haven"].sum(), after["servers_up"].sum())
    answered = req[(req["kind"] == KIND_MLA) & (req["created"] > warmup)
                   & req["outcome"].isin([OUTCOME_EVIDENCE, OUTCOME_LOST, OUTCOME_REFUSED])]
    out["mla_delay_median"] = float(np.median(answered["resolved"] - answered["created"])) if len(answered) else NAN
    out["evidence_loss_share"] = _ratio(after["evidence_lost"].sum(),
                                        after["evidence_obtained"].sum() + after["evidence_lost"].sum())
    out["arrests_per_year"] = float(tail["arrests"].sum()) * 365.0 / W if W > 0 else NAN
    out["case_success_share"] = _ratio(after["arrests"].sum(), sum(after[c].sum() for c in CLOSINGS))
    durations, events = time_to_arrest(result, warmup)
    out["time_to_arrest_median"] = _or_nan(kaplan_meier(durations, events).median()) if len(durations) else NAN
    # stage B: user units are thousands of users; the metrics are in millions
    out["users_served"] = float(tail["users_served"].mean()) / USER_UNIT if W > 0 else NAN
    markets = int(result.meta.get("markets", 0) or 0)
    out["availability"] = float(tail["markets_available"].mean()) / markets if W > 0 and markets else NAN
    out["users_migrated_per_year"] = (float(after["migrated"].sum()) / USER_UNIT * 365.0 / len(after)
                                      if len(after) else NAN)
    evidence = req[(req["outcome"] == OUTCOME_EVIDENCE) & (req["resolved"] > warmup)]
    counts = np.bincount(evidence["kind"].to_numpy(), minlength=len(KIND_NAMES))
    for name, count in zip(ROUTE_METRICS, counts):
        out[name] = _ratio(count, len(evidence))
    return out
