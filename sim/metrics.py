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
                         OUTCOME_REFUSED, RequestCounts, RunResult)
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
    return result.n_rows("daily"), int(result.meta.get("warmup_days", 0) or 0)


def lifetimes(result: RunResult, born_after: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Lifetimes in days and event flags (1 ended, 0 alive at the horizon: censored at T) of the networks
    born after day ``born_after`` (all networks with the default 0 and day-0 networks included)."""
    T = result.n_rows("daily")
    born, ended_day, cause = (result.column("networks", c) for c in ("born", "ended", "cause"))
    if born_after > 0:
        keep = born > born_after
        born, ended_day, cause = born[keep], ended_day[keep], cause[keep]
    ended = cause != CAUSE_ALIVE
    stop = np.where(ended, ended_day, T)
    return stop - born, ended.astype(np.int64)


def time_to_arrest(result: RunResult, after: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Days from a network's first case to its arrest (event 1), or to its quitting or the horizon (censored),
    for the networks whose first case opened after day ``after``."""
    T = result.n_rows("daily")
    first, ended_day, cause = (result.column("networks", c) for c in ("first_case", "ended", "cause"))
    keep = first > after if after > 0 else first >= 0
    first, ended_day, cause = first[keep], ended_day[keep], cause[keep]
    arrested = cause == CAUSE_ARREST
    stop = np.where(cause == CAUSE_ALIVE, T, ended_day)
    return stop - first, arrested.astype(np.int64)


def compute(result: RunResult) -> dict[str, float]:
    """Every metric of the model (``METRICS``) for one run; NaN where a metric is undefined.

    Computed from the tables' int64 columns (:meth:`RunResult.column`), so a result that holds raw arrays is
    never turned into DataFrames; :func:`compute_from_frames` is the same on DataFrames (the tests keep the two
    equal). Sums of integer columns are exact, so every mean is the same float on either path."""
    T, warmup = horizon_and_warmup(result)
    W = min(365, T - warmup)

    def col(name: str) -> np.ndarray:
        return result.column("daily", name)

    after = col("day") > warmup
    n_after = int(np.count_nonzero(after))

    def tail_sum(name: str) -> int:
        return int(col(name)[T - W:].sum())

    def after_sum(name: str) -> int:
        return int(col(name)[after].sum())

    out: dict[str, float] = {
        "persistence": tail_sum("networks") / W if W > 0 else NAN,
        "supply": tail_sum("servers_up") / W if W > 0 else NAN,
    }
    durations, events = lifetimes(result, warmup)
    if len(durations):
        curve = kaplan_meier(durations, events)
        out["lifetime_rmst"] = curve.rmst(T - warmup)
        out["lifetime_median"] = _or_nan(curve.median())
    else:
        out["lifetime_rmst"] = out["lifetime_median"] = NAN
    ended, cause = result.column("networks", "ended"), result.column("networks", "cause")
    present = (ended == -1) | (ended > warmup)  # networks operating after the warm-up
    out["dismantled_share"] = _ratio(int(np.count_nonzero(cause[present] == CAUSE_ARREST)), int(np.count_nonzero(present)))
    out["haven_share"] = _ratio(after_sum("servers_up_haven"), after_sum("servers_up"))
    counts = result.request_counts
    if counts is not None:  # a run made with requests=False: its requests table was counted, not kept
        if counts.warmup != warmup:
            raise ValueError(f"the run's request counts are after day {counts.warmup}, not {warmup}")
        out["mla_delay_median"], by_kind = median_of_counts(counts.delays), counts.by_kind
    else:
        delays, kinds = _requests_read(result, warmup)
        out["mla_delay_median"] = float(np.median(delays)) if len(delays) else NAN
        by_kind = np.bincount(kinds, minlength=len(KIND_NAMES))
    lost, obtained = after_sum("evidence_lost"), after_sum("evidence_obtained")
    out["evidence_loss_share"] = _ratio(lost, obtained + lost)
    out["arrests_per_year"] = float(tail_sum("arrests")) * 365.0 / W if W > 0 else NAN
    out["case_success_share"] = _ratio(after_sum("arrests"), sum(after_sum(c) for c in CLOSINGS))
    durations, events = time_to_arrest(result, warmup)
    out["time_to_arrest_median"] = _or_nan(kaplan_meier(durations, events).median()) if len(durations) else NAN
    # stage B: user units are thousands of users; the metrics are in millions
    out["users_served"] = tail_sum("users_served") / W / USER_UNIT if W > 0 else NAN
    markets = int(result.meta.get("markets", 0) or 0)
    out["availability"] = tail_sum("markets_available") / W / markets if W > 0 and markets else NAN
    out["users_migrated_per_year"] = (float(after_sum("migrated")) / USER_UNIT * 365.0 / n_after
                                      if n_after else NAN)
    n_evidence = int(by_kind.sum())
    for name, count in zip(ROUTE_METRICS, by_kind):
        out[name] = _ratio(count, n_evidence)
    return out


def _requests_read(result: RunResult, warmup: int) -> tuple[np.ndarray, np.ndarray]:
    """What the metrics read of the requests table: the delays (resolved - created) of the MLA requests made after
    the warm-up and answered (evidence, lost or refused), and the kinds of the requests that brought evidence
    after it."""
    kind, created, resolved, outcome = (result.column("requests", c)
                                        for c in ("kind", "created", "resolved", "outcome"))
    answered = ((kind == KIND_MLA) & (created > warmup)
                & ((outcome == OUTCOME_EVIDENCE) | (outcome == OUTCOME_LOST) | (outcome == OUTCOME_REFUSED)))
    return resolved[answered] - created[answered], kind[(outcome == OUTCOME_EVIDENCE) & (resolved > warmup)]


def count_requests(result: RunResult, warmup: int) -> RequestCounts:
    """The :class:`RequestCounts` of an engine's requests table (what the compiled engine counts in C when a run
    is made with ``requests=False``; the Mesa engine's runs are counted here)."""
    delays, kinds = _requests_read(result, warmup)
    return RequestCounts(warmup, np.bincount(delays, minlength=1), np.bincount(kinds, minlength=len(KIND_NAMES)))


def median_of_counts(counts: np.ndarray) -> float:
    """The median of the values 0, 1, 2... counted ``counts[v]`` times each, as ``np.median`` of the values
    would give it (the mean of the two middle ones for an even number); NaN when there are none."""
    n = int(counts.sum())
    if n == 0:
        return NAN
    cum = np.cumsum(counts)
    lo, hi = np.searchsorted(cum, [(n - 1) // 2 + 1, n // 2 + 1])  # the values at ranks (n - 1) // 2 and n // 2
    return (int(lo) + int(hi)) / 2


def compute_from_frames(result: RunResult) -> dict[str, float]:
    """:func:`compute` on the DataFrames of the run (the reference the raw-array path is tested against)."""
    daily, net, req = result.daily, result.networks, result.requests
    T, warmup = len(daily), int(result.meta.get("warmup_days", 0) or 0)
    W = min(365, T - warmup)
    after = daily[daily["day"] > warmup]
    tail = daily.iloc[T - W:] if W > 0 else daily.iloc[0:0]
    out: dict[str, float] = {
        "persistence": float(tail["networks"].mean()) if W > 0 else NAN,
        "supply": float(tail["servers_up"].mean()) if W > 0 else NAN,
    }
    alive = net["born"] > warmup if warmup > 0 else np.ones(len(net), dtype=bool)
    life = net[alive]
    ended = life["cause"].to_numpy() != CAUSE_ALIVE
    durations = np.where(ended, life["ended"].to_numpy(), T) - life["born"].to_numpy()
    if len(durations):
        curve = kaplan_meier(durations, ended.astype(np.int64))
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
    first = net[net["first_case"] > warmup] if warmup > 0 else net[net["first_case"] >= 0]
    arrested = first["cause"].to_numpy() == CAUSE_ARREST
    stop = np.where(first["cause"].to_numpy() == CAUSE_ALIVE, T, first["ended"].to_numpy())
    durations = stop - first["first_case"].to_numpy()
    out["time_to_arrest_median"] = (_or_nan(kaplan_meier(durations, arrested.astype(np.int64)).median())
                                    if len(durations) else NAN)
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
