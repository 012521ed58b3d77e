"""The world compiler (MODEL.md §4): a scenario becomes plain arrays, once.

Every floating-point decision of a run is made here: delay tables, cumulative weights, per-country
probabilities, the entry table. The engines then only compare uniforms with these numbers and do integer
bookkeeping, which is what makes the Mesa engine and the compiled engine identical by construction.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import ndtri

from sim.scenario import Delay, Scenario, load

K_TABLE = 1000
Z90 = 1.2815515655446004  # standard normal quantile at 0.9


@dataclass(frozen=True, eq=False)
class World:
    """A compiled scenario: everything an engine needs, as numpy arrays and plain numbers.

    Delay draws are ``delays[table, int(u * K_TABLE)]``; fields ending in ``_tab`` and ``_chan`` hold table
    indices. Probabilities are float64 and compared as ``u < p``.
    """

    name: str
    digest: str
    seed: int
    horizon: int
    country_ids: tuple[str, ...]
    provider_ids: tuple[str, ...]
    provider_kinds: tuple[str, ...]
    # delay tables
    delays: np.ndarray            # (n_tables, K_TABLE) int64
    court_tab: np.ndarray         # (C,) int64
    notice_tab: np.ndarray        # (P,) int64
    mla_chan: np.ndarray          # (C, C) int64: [lead, requested]
    arrest_chan: np.ndarray       # (C, C) int64: [lead, home]
    successor_tab: int
    # countries
    law: np.ndarray               # (C,) float64: law' after harmonisation
    open_prob: np.ndarray         # (C,) float64 = grant_prob = seize_prob = law'
    extradite_prob: np.ndarray    # (C,) float64
    haven: np.ndarray             # (C,) int64 (0/1)
    capacity: np.ndarray          # (C,) int64 (after capacity_scale)
    mla_per_day: np.ndarray       # (C,) int64
    retention: np.ndarray         # (C,) int64
    preserve: np.ndarray          # (C, C) int64 (0/1): [lead, requested]
    joint: np.ndarray             # (C, C) int64 (0/1): [lead, c]
    home_cum: np.ndarray          # (C,) float64
    market_cum: np.ndarray        # (C,) float64
    # providers
    provider_country: np.ndarray  # (P,) int64
    compliance: np.ndarray        # (P,) float64
    host_cum: np.ndarray          # (P,) float64
    # pirates
    initial_networks: int
    entry_slots: int
    market_capacity: int
    entry_q: np.ndarray           # (market_capacity + 1,) float64
    servers_per_network: int
    reprovision_prob: float
    quit_prob: float
    successor_prob: float
    successor_prob_joint: float
    # enforcement
    detect_prob: float
    case_threshold: int
    identify_prob: float
    case_timeout_days: int

    @property
    def n_countries(self) -> int:
        """C, the number of countries."""
        return len(self.country_ids)

    @property
    def n_providers(self) -> int:
        """P, the number of hosting providers."""
        return len(self.provider_ids)

    def arrays(self) -> dict[str, Any]:
        """Every field as a name -> value dict (what the compiled engine takes)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def summary(self) -> str:
        """A few lines describing the compiled world, for ``make demo`` and ``piracysim validate -v``."""
        havens = [c for c, h in zip(self.country_ids, self.haven) if h]
        med = lambda tab: int(self.delays[tab, K_TABLE // 2])  # noqa: E731
        mla_meds = [med(self.mla_chan[i, j]) for i in range(self.n_countries) for j in range(self.n_countries) if i != j]
        lines = [
            f"{self.name}: {self.n_countries} countries, {self.n_providers} providers, horizon {self.horizon} days, seed {self.seed}",
            f"  law' {self.law.min():.2f}..{self.law.max():.2f}; havens: {', '.join(havens) or 'none'}",
            f"  capacity {int(self.capacity.sum())} cases in all; MLA starts {int(self.mla_per_day.sum())}/day in all",
        ]
        if mla_meds:
            lines.append(f"  MLA channel medians {min(mla_meds)}..{max(mla_meds)} days (median of pairs {int(np.median(mla_meds))})")
        lines.append(f"  {self.initial_networks} initial networks, market capacity {self.market_capacity}, "
                     f"{self.servers_per_network} servers each; {len(self.delays)} delay tables")
        return "\n".join(lines)


def delay_table(d: Delay, k: int = K_TABLE) -> np.ndarray:
    """The K-entry table of a delay: ``max(1, round(Q((i + 0.5) / K)))`` with Q the lognormal quantile."""
    if d.fixed:
        return np.full(k, max(1, int(np.rint(d.median_days))), dtype=np.int64)
    mu = np.log(d.median_days)
    sigma = (np.log(d.p90_days) - np.log(d.median_days)) / Z90
    p = (np.arange(k, dtype=np.float64) + 0.5) / k
    return np.maximum(1, np.rint(np.exp(mu + sigma * ndtri(p)))).astype(np.int64)


def cumulative(weights: np.ndarray) -> np.ndarray:
    """Normalised cumulative weights whose last entry is exactly 1.0 and where zero weights are never picked."""
    w = np.asarray(weights, dtype=np.float64)
    cum = np.cumsum(w) / w.sum()
    # Everything from the last positive weight on is exactly 1.0: u < 1 always picks a positive weight there.
    cum[int(np.flatnonzero(w > 0)[-1]):] = 1.0
    return cum


def pick(cum: np.ndarray, u: float) -> int:
    """The smallest i with ``u < cum[i]`` (the categorical draw both engines use)."""
    return bisect.bisect_right(cum, u)


class _Tables:
    """Deduplicated delay tables: equal distributions share one row."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.index: dict[tuple[float, float], int] = {}

    def add(self, d: Delay) -> int:
        key = (d.median_days, d.p90_days)
        if key not in self.index:
            self.index[key] = len(self.rows)
            self.rows.append(delay_table(d))
        return self.index[key]


def compile_world(sc: Scenario) -> World:
    """Compile a validated scenario into a :class:`World`, applying the policy levers."""
    pol, pir, enf = sc.policy, sc.pirates, sc.enforcement
    countries, providers = sc.countries, sc.providers
    C = len(countries)
    cidx = sc.country_index()
    speed = pol.mla_speed
    tables = _Tables()

    law = np.array([c.law + pol.harmonization * (1.0 - c.law) for c in countries], dtype=np.float64)
    members: dict[str, set[int]] = {b: set() for b in sc.blocs}
    for i, c in enumerate(countries):
        for b in c.blocs:
            members[b].add(i)
    for b, ids in pol.join.items():
        members[b].update(range(C) if "*" in ids else (cidx[x] for x in ids))
    blocs = list(sc.blocs.items())  # file order breaks ties

    def shared(i: int, j: int) -> list[tuple[str, Any]]:
        return [(name, bloc) for name, bloc in blocs if i in members[name] and j in members[name]]

    def channel(i: int, j: int, own: Delay, attr: str) -> int:
        """The table for a transfer from j to lead i: j's own, or the fastest shared bloc's."""
        options = [getattr(bloc, attr) for _, bloc in shared(i, j) if getattr(bloc, attr) is not None]
        best = min(options, key=lambda d: d.median_days) if options else own  # min keeps the first of ties
        return tables.add(best.scaled(speed))

    court_tab = np.array([tables.add(c.court) for c in countries], dtype=np.int64)
    notice_tab = np.array([tables.add(p.notice) for p in providers], dtype=np.int64)
    mla_chan = np.array([[channel(i, j, countries[j].mla, "mla") for j in range(C)] for i in range(C)], dtype=np.int64)
    arrest_chan = np.array([[channel(i, j, countries[j].extradition, "surrender") for j in range(C)] for i in range(C)],
                           dtype=np.int64)
    successor_tab = tables.add(pir.successor)
    preserve = np.array([[int(pol.preservation_everywhere or any(b.preservation for _, b in shared(i, j)))
                          for j in range(C)] for i in range(C)], dtype=np.int64)
    joint = np.array([[int(i == j or any(b.joint_action for _, b in shared(i, j))) for j in range(C)] for i in range(C)],
                     dtype=np.int64)

    provider_country = np.array([cidx[p.country] for p in providers], dtype=np.int64)
    compliance = np.array([p.compliance for p in providers], dtype=np.float64)
    risk = compliance + (1.0 - compliance) * law[provider_country]
    share = np.array([p.share for p in providers], dtype=np.float64)
    # A provider with no market share is never chosen, even when alpha = 0 would make 0**0 = 1.
    host_w = np.where(share > 0, share ** pir.host_size_exponent, 0.0) * np.exp(-pir.risk_aversion * risk)
    Kc = pir.market_capacity
    entry_q = np.array([pir.entry_per_day * max(0.0, 1.0 - a / Kc) / pir.entry_slots for a in range(Kc + 1)],
                       dtype=np.float64)

    return World(
        name=sc.name,
        digest=sc.digest(),
        seed=sc.seed,
        horizon=sc.horizon_days,
        country_ids=tuple(c.id for c in countries),
        provider_ids=tuple(p.id for p in providers),
        provider_kinds=tuple(p.kind for p in providers),
        delays=np.vstack(tables.rows),
        court_tab=court_tab,
        notice_tab=notice_tab,
        mla_chan=mla_chan,
        arrest_chan=arrest_chan,
        successor_tab=successor_tab,
        law=law,
        open_prob=law.copy(),
        extradite_prob=np.array([c.extradites for c in countries], dtype=np.float64) * law,
        haven=(law < enf.haven_law_below).astype(np.int64),
        capacity=np.array([int(np.rint(c.capacity * pol.capacity_scale)) for c in countries], dtype=np.int64),
        mla_per_day=np.array([c.mla_per_day for c in countries], dtype=np.int64),
        retention=np.array([c.retention_days for c in countries], dtype=np.int64),
        preserve=preserve,
        joint=joint,
        home_cum=cumulative(np.array([c.origin for c in countries])),
        market_cum=cumulative(np.array([c.demand for c in countries])),
        provider_country=provider_country,
        compliance=compliance,
        host_cum=cumulative(host_w),
        initial_networks=pir.initial_networks,
        entry_slots=pir.entry_slots,
        market_capacity=Kc,
        entry_q=entry_q,
        servers_per_network=pir.servers_per_network,
        reprovision_prob=pir.reprovision_prob,
        quit_prob=pir.quit_prob,
        successor_prob=pir.successor_prob,
        successor_prob_joint=pir.successor_prob_joint,
        detect_prob=enf.detect_prob,
        case_threshold=enf.case_threshold,
        identify_prob=enf.identify_prob,
        case_timeout_days=enf.case_timeout_days,
    )


def load_world(path: str | Path, overrides: Any = None) -> World:
    """Load, validate and compile a scenario file in one call."""
    return compile_world(load(path, overrides))
