"""Persistence metrics (MODEL.md §8): one function, fed by either engine's run result."""

from __future__ import annotations

import numpy as np

from sim.analysis.survival import kaplan_meier
from sim.outputs import (CAUSE_ALIVE, CAUSE_ARREST, KIND_MLA, OUTCOME_EVIDENCE, OUTCOME_LOST, OUTCOME_REFUSED,
                         RunResult)

METRICS = ("persistence", "supply", "lifetime_rmst", "lifetime_median", "dismantled_share", "haven_share",
           "mla_delay_median", "evidence_loss_share")


def _ratio(num: float, den: float) -> float | None:
    return float(num) / float(den) if den else None


def lifetimes(result: RunResult) -> tuple[np.ndarray, np.ndarray]:
    """Network lifetimes in days and event flags (1 ended, 0 alive at the horizon: censored at T)."""
    T = int(result.daily["day"].max()) if len(result.daily) else 0
    net = result.networks
    ended = net["cause"].to_numpy() != CAUSE_ALIVE
    stop = np.where(ended, net["ended"].to_numpy(), T)
    return stop - net["born"].to_numpy(), ended.astype(np.int64)


def compute(result: RunResult) -> dict[str, float | None]:
    """All metrics of MODEL.md §8; None where a metric is undefined (no MLA request, no network...)."""
    daily = result.daily
    T = len(daily)
    W = min(365, T)
    tail = daily.iloc[T - W:]
    net, req = result.networks, result.requests
    out: dict[str, float | None] = {
        "persistence": float(tail["networks"].mean()) if W else None,
        "supply": float(tail["servers_up"].mean()) if W else None,
    }
    if len(net):
        durations, events = lifetimes(result)
        curve = kaplan_meier(durations, events)
        out["lifetime_rmst"] = curve.rmst(T)
        out["lifetime_median"] = curve.median()
    else:
        out["lifetime_rmst"] = out["lifetime_median"] = None
    out["dismantled_share"] = _ratio((net["cause"] == CAUSE_ARREST).sum(), len(net))
    out["haven_share"] = _ratio(daily["servers_up_haven"].sum(), daily["servers_up"].sum())
    answered = req[(req["kind"] == KIND_MLA) & req["outcome"].isin([OUTCOME_EVIDENCE, OUTCOME_LOST, OUTCOME_REFUSED])]
    out["mla_delay_median"] = float(np.median(answered["resolved"] - answered["created"])) if len(answered) else None
    out["evidence_loss_share"] = _ratio(daily["evidence_lost"].sum(), daily["evidence_obtained"].sum() + daily["evidence_lost"].sum())
    return out
