"""The world compiler (docs/ODD.md): a scenario becomes plain arrays, once.

Every floating-point decision of a run is made here: delay tables, cumulative weights, per-country
probabilities, the entry table. The engines then only compare uniforms with these numbers and do integer
bookkeeping, which is what makes the Mesa engine and the compiled engine identical by construction.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import ndtri

from sim.scenario import Delay, Scenario, load, trim_cache

K_TABLE = 1000
MAX_DELAY_DAYS = 10**7  # a delay table's cap: far past any horizon, and finite
USER_UNIT = 1000        # users per integer user unit (stage B)
FX_BITS = 20            # shares in the day loop are 20-bit fixed point: x of N is (N * round(x * 2**20)) >> 20
HEAT_ONE = 1 << 16      # a removal adds this to a country's heat (fixed point, so the halving keeps resolution)
HEAT_LEVELS = 16        # host-choice heat levels 0..15
HOST_TRIES = 64         # rejection-sampling proposals before the exact fallback
WEIGHT_BITS = 24        # adaptive host choice: host weights sum to 2**24 ...
ACCEPT_BITS = 40        # ... and acceptance chances have 40 bits, so weight sums stay below 2**64
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
    warmup: int
    country_ids: tuple[str, ...]
    provider_ids: tuple[str, ...]
    provider_kinds: tuple[str, ...]
    # delay tables
    delays: np.ndarray            # (n_tables, K_TABLE) int64
    court_tab: np.ndarray         # (C,) int64
    notice_tab: np.ndarray        # (P,) int64
    mla_chan: np.ndarray          # (C, C) int64: [lead, requested]
    arrest_chan: np.ndarray       # (C, C) int64: [lead, home]
    order_chan: np.ndarray        # (C, C) int64: [lead, requested], -1 where no production-order channel
    successor_tab: int
    # countries
    law: np.ndarray               # (C,) float64: law' = min(crim', pow', prio')
    open_prob: np.ndarray         # (C,) float64: min(crim', prio'), the lead opens a case
    grant_prob: np.ndarray        # (C,) float64: min(crim', pow'), an MLA request to it is granted
    seize_prob: np.ndarray        # (C,) float64: min(pow', prio'), its police act on a referral
    extradite_prob: np.ndarray    # (C,) float64: extradites * crim'
    extradites_nationals: np.ndarray  # (C,) int64 (0/1)
    prosecute_prob: np.ndarray    # (C,) float64: prosecutes_nationals
    haven: np.ndarray             # (C,) int64 (0/1)
    capacity: np.ndarray          # (C,) int64 (after capacity_scale)
    mla_per_day: np.ndarray       # (C,) int64
    retention: np.ndarray         # (C,) int64
    preserve: np.ndarray          # (C, C) int64 (0/1): [lead, requested]
    joint: np.ndarray             # (C, C) int64 (0/1): [lead, c], same country, joint_action or jit bloc
    jit: np.ndarray               # (C, C) int64 (0/1): [lead, c] share a bloc with joint investigation teams
    surrender_nat: np.ndarray     # (C, C) int64 (0/1): [lead, home] share a bloc that surrenders nationals
    home_cum: np.ndarray          # (C,) float64
    market_cum: np.ndarray        # (C,) float64
    # providers
    provider_country: np.ndarray  # (P,) int64
    compliance: np.ndarray        # (P,) float64
    discloses: np.ndarray         # (P,) float64
    disclosure_tab: np.ndarray    # (P,) int64
    order_compliance: np.ndarray  # (P,) float64
    host_cum: np.ndarray          # (P,) float64
    # pirates
    initial_networks: int
    entry_slots: int
    market_capacity: int
    entry_q: np.ndarray           # (market_capacity + 1,) float64
    servers_per_network: int
    reprovision_prob: float
    quit_prob: float
    home_in_market: float
    successor_prob: float
    successor_prob_joint: float
    succ_q: np.ndarray            # (spn + 1, spn + 1) float64: [joint up servers j, up servers u]
    # enforcement
    detect_prob: float
    detect_threshold: int         # ceil(detect_prob * 2**53): u < detect_prob exactly when u's 53 bits < this
    case_threshold: int
    identify_prob: float
    evidence_first: int           # 1: evidence_rule first, 0: all
    money_trail_prob: float
    money_identify_prob: float
    case_timeout_days: int
    # stage B: users and displacement (docs/ODD.md §13)
    demand_units: np.ndarray      # (C,) int64: round(demand * USER_UNIT)
    entry_demand: int             # 1: market.entry demand
    entry_dq: np.ndarray          # (sum(D + 1),) float64: entry chance per slot for market c, u unserved at [off[c] + u]
    entry_dq_off: np.ndarray      # (C,) int64
    acquire_fx: int
    return_fx: int
    migrate_fx: int
    migration_tab: int
    # stage B: interventions without MLA
    blocks: np.ndarray            # (C,) int64 (0/1)
    cuts: np.ndarray              # (C,) int64 (0/1)
    block_after: int
    block_tab: int
    block_fx: int
    cutoff_after: int
    cutoff_tab: int
    cutoff_quit_prob: float
    # stage B: adaptive host choice
    adaptive: int                 # 1 when heat_aversion > 0
    heat_shift: int               # k: heat decays by heat >> k each day
    accept: np.ndarray            # (HEAT_LEVELS,) int64: max(1, round(exp(-beta * level) * 2**ACCEPT_BITS))
    memory_fx: int
    host_wq: np.ndarray           # (P,) int64: host weights share**alpha (* risk term) on 2**WEIGHT_BITS in all
    host_wq_cum: np.ndarray       # (P,) int64: their running sum
    host_countries: np.ndarray    # (H,) int64: countries with a provider of positive weight

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


_Z = ndtri((np.arange(K_TABLE, dtype=np.float64) + 0.5) / K_TABLE)  # the standard normal quantiles of every row


def delay_rows(keys: list[tuple[float, float]]) -> np.ndarray:
    """The K-entry tables of delays given as (median, p90) days, one row each, in one vectorised call:
    ``min(MAX_DELAY_DAYS, max(1, round(Q((i + 0.5) / K))))`` with Q the lognormal quantile (every entry the median,
    rounded, when p90 equals it). The cap keeps a long tail's top quantiles (which can overflow to infinity)
    finite; a delay that long never comes within a run (horizons are at most 36,500 days)."""
    m = np.array([k[0] for k in keys], dtype=np.float64).reshape(-1, 1)
    q = np.array([k[1] for k in keys], dtype=np.float64).reshape(-1, 1)
    sigma = np.where(q == m, 0.0, (np.log(q) - np.log(m)) / Z90)
    # exp(log(m) + sigma * z), then rounded and capped, in one buffer (the same operations, elementwise)
    rows = sigma * _Z[None, :]
    rows += np.log(m)
    with np.errstate(over="ignore"):  # exp overflows to inf, which the cap turns into MAX_DELAY_DAYS
        np.exp(rows, out=rows)
    flat = sigma[:, 0] == 0.0
    if flat.any():
        rows[flat] = m[flat]
    np.rint(rows, out=rows)
    np.clip(rows, 1, MAX_DELAY_DAYS, out=rows)
    return rows.astype(np.int64)


def delay_table(d: Delay) -> np.ndarray:
    """The K-entry table of one delay (see :func:`delay_rows`)."""
    return delay_rows([(d.median_days, d.p90_days)])[0]


def cumulative(weights: np.ndarray) -> np.ndarray:
    """Normalised cumulative weights whose last entry is exactly 1.0 and where zero weights are never picked."""
    w = np.asarray(weights, dtype=np.float64)
    cum = np.cumsum(w) / w.sum()
    # Everything from the last positive weight on is exactly 1.0: u < 1 always picks a positive weight there.
    cum[int(np.flatnonzero(w > 0)[-1]):] = 1.0
    return cum


def fixed(x: float) -> int:
    """``round(x * 2**FX_BITS)``: a share as the fixed-point integer the day loop multiplies with."""
    return int(round(x * (1 << FX_BITS)))


def threshold53(p: float) -> int:
    """``ceil(p * 2**53)``: a uniform ``k * 2**-53`` is below ``p`` exactly when ``k`` is below this.

    (The product is exact: multiplying by a power of two only moves the exponent.) The compiled engine's
    hottest comparison uses it to stay in integers."""
    return int(math.ceil(p * 2.0**53))


def pick(cum: np.ndarray, u: float) -> int:
    """The smallest i with ``u < cum[i]`` (the categorical draw both engines use)."""
    return bisect.bisect_right(cum, u)


_ROWS: dict[tuple[float, float], np.ndarray] = {}  # (median, p90) -> table row, shared by every world compiled here
_ROWS_MAX = 4096  # ~32 MB at most; a sweep over a delay lever adds a few rows per design point


class _Tables:
    """Deduplicated delay tables: equal distributions share one row. Rows are computed when the world takes
    them, the new ones in one vectorised call (:func:`delay_rows`), and kept for later worlds: most rows of a sweep's design points are the same."""

    def __init__(self, keys: list[tuple[float, float]] | None = None,
                 index: dict[tuple[float, float], int] | None = None) -> None:
        self.keys: list[tuple[float, float]] = list(keys or [])
        self.index: dict[tuple[float, float], int] = dict(index or {})

    def add(self, d: Delay) -> int:
        return self.add_key((d.median_days, d.p90_days))

    def add_key(self, key: tuple[float, float]) -> int:
        i = self.index.get(key)
        if i is None:
            i = self.index[key] = len(self.keys)
            self.keys.append(key)
        return i

    def matrix(self) -> np.ndarray:
        """The (n_tables, K_TABLE) int64 matrix of every row added, in order of first addition."""
        missing = [k for k in dict.fromkeys(self.keys) if k not in _ROWS]
        if missing:
            for k, row in zip(missing, delay_rows(missing)):
                _ROWS[k] = row
        # np.array of equal rows: the same matrix as np.stack, a third of the time
        out = np.array([_ROWS[k] for k in self.keys]) if self.keys else np.zeros((0, K_TABLE), dtype=np.int64)
        trim_cache(_ROWS, _ROWS_MAX)
        return out


class _Static:
    """What a world takes from its countries, providers and blocs (and ``policy.join``) alone, before any other
    lever: computed once and shared by every world whose scenario holds the very same parts. A sweep's design
    points change a few fields (sim.scenario.with_overrides keeps every other part as it is), so their worlds
    skip this work. Arrays here are never handed to a World without a copy."""

    def __init__(self, sc: Scenario) -> None:
        countries, providers = sc.countries, sc.providers
        C = self.C = len(countries)
        cidx = self.cidx = sc.country_index()
        self.country_ids = tuple(c.id for c in countries)
        self.provider_ids = tuple(p.id for p in providers)
        self.provider_kinds = tuple(p.kind for p in providers)

        def col(items: tuple, attr: str, dtype: type) -> np.ndarray:
            return np.array([getattr(x, attr) for x in items], dtype=dtype)

        self.crim, self.powers, self.prio = (col(countries, a, np.float64) for a in ("criminalises", "powers", "priority"))
        self.extradites = col(countries, "extradites", np.float64)
        self.extradites_nationals = col(countries, "extradites_nationals", np.int64)
        self.prosecute = col(countries, "prosecutes_nationals", np.float64)
        self.capacity = [c.capacity for c in countries]
        self.mla_per_day = col(countries, "mla_per_day", np.int64)
        self.retention = col(countries, "retention_days", np.int64)
        self.demand = np.array([c.demand for c in countries])
        self.origin = np.array([c.origin for c in countries])
        self.blocks_sites = [c.blocks_sites for c in countries]
        self.cuts_payments = [c.cuts_payments for c in countries]
        self.mla_own = [c.mla for c in countries]
        self.extradition_own = [c.extradition for c in countries]

        # Bloc membership as a (B, C) matrix, then every pair matrix at once: shared[b, i, j] is true when i and
        # j are both members of bloc b (blocs in file order, which breaks ties between equally fast channels).
        bloc_list = self.bloc_list = list(sc.blocs.values())
        member = np.zeros((len(bloc_list), C), dtype=bool)
        bloc_pos = {name: b for b, name in enumerate(sc.blocs)}
        for i, c in enumerate(countries):
            for name in c.blocs:
                member[bloc_pos[name], i] = True
        for name, ids in sc.policy.join.items():
            member[bloc_pos[name], list(range(C)) if "*" in ids else [cidx[x] for x in ids]] = True
        shared = member[:, :, None] & member[:, None, :]

        def any_shared(flag: str) -> np.ndarray:
            has = np.array([bool(getattr(b, flag)) for b in bloc_list], dtype=bool)
            return shared[has].any(axis=0) if has.any() else np.zeros((C, C), dtype=bool)

        self.any_shared = {flag: any_shared(flag) for flag in ("preservation", "jit", "joint_action", "surrender_nationals")}
        # per channel: the bloc delays, and for each pair the fastest shared bloc (the first of equal medians)
        self.channels: dict[str, tuple[list[Delay | None], np.ndarray, np.ndarray]] = {}
        for attr in ("mla", "surrender", "production_orders"):
            delays = [getattr(b, attr) for b in bloc_list]
            median = np.array([np.inf if d is None else d.median_days for d in delays])
            candidate = np.where(shared, median[:, None, None], np.inf) if len(bloc_list) else np.full((1, C, C), np.inf)
            self.channels[attr] = (delays, candidate.argmin(axis=0), np.isfinite(candidate.min(axis=0)))
        # the pair matrices no lever changes, in the dtype a World holds (copied into each world)
        jit = self.any_shared["jit"]
        self.joint = (np.eye(C, dtype=bool) | self.any_shared["joint_action"] | jit).astype(np.int64)
        self.jit = jit.astype(np.int64)
        self.surrender_nat = self.any_shared["surrender_nationals"].astype(np.int64)
        self.home_cum, self.market_cum = cumulative(self.origin), cumulative(self.demand)
        # what compile_world derives from a few levers, by the levers' values (a sweep's points repeat most of
        # them): small, and never handed to a World without a copy
        self.memo: dict[tuple[Any, ...], Any] = {}

        self.provider_country = np.array([cidx[p.country] for p in providers], dtype=np.int64)
        self.compliance = col(providers, "compliance", np.float64)
        self.share = col(providers, "share", np.float64)
        self.discloses = col(providers, "discloses", np.float64)
        self.order_compliance = col(providers, "order_compliance", np.float64)
        # the first delay tables of every world: court, notice, disclosure (the order compile_world adds them in)
        tables = _Tables()
        self.court_tab = np.array([tables.add(c.court) for c in countries], dtype=np.int64)
        self.notice_tab = np.array([tables.add(p.notice) for p in providers], dtype=np.int64)
        self.disclosure_tab = np.array([tables.add(p.disclosure) for p in providers], dtype=np.int64)
        self.table_keys, self.table_index = tables.keys, tables.index
        # each channel's delays as table keys (median, p90): the blocs' (None where a bloc has none), and the
        # countries' own as their distinct keys in order of first appearance plus, per country, which one it is
        # (the countries of a world share a few delays: a new speed scales those few)
        own_delays = {"mla": self.mla_own, "surrender": self.extradition_own, "production_orders": None}
        self.channel_keys: dict[str, tuple[list[tuple[float, float] | None], list[tuple[float, float]] | None,
                                           np.ndarray | None]] = {}
        for attr in self.channels:
            bloc_keys = [None if d is None else (d.median_days, d.p90_days) for d in self.channels[attr][0]]
            own = own_delays[attr]
            if own is None:
                self.channel_keys[attr] = (bloc_keys, None, None)
                continue
            distinct: dict[tuple[float, float], int] = {}
            which = np.array([distinct.setdefault((d.median_days, d.p90_days), len(distinct)) for d in own],
                             dtype=np.int64)
            self.channel_keys[attr] = (bloc_keys, list(distinct), which)


_STATIC: dict[tuple[int, ...], tuple[tuple[Any, ...], _Static]] = {}


def _static(sc: Scenario) -> _Static:
    """The :class:`_Static` part of ``sc``, from the cache when its parts are the very objects seen before (the
    cache holds them, so their ids cannot be reused while their entry lives)."""
    parts = (sc.countries, sc.providers, sc.blocs, sc.policy.join)
    key = tuple(id(x) for x in parts)
    hit = _STATIC.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], parts)):
        return hit[1]
    st = _Static(sc)
    _STATIC[key] = (parts, st)
    trim_cache(_STATIC, 32)
    return st


def clear_caches() -> None:
    """Forget the delay-table rows and the shared parts of worlds compiled so far (results never depend on them)."""
    _ROWS.clear()
    _STATIC.clear()


_MEMO_MAX = 64  # entries per group of levers and shared part (each a few small arrays)


def _memo(st: _Static, key: tuple[Any, ...], make: Any) -> Any:
    """``make()``, kept in ``st.memo`` under ``key`` (a group name and the values of the levers it reads): a
    sweep's design points mostly repeat the levers a part of the world depends on, so the part is made once.
    Callers copy arrays out of it."""
    hit = st.memo.get(key)
    if hit is None:
        hit = st.memo[key] = make()
        trim_cache(st.memo, _MEMO_MAX)
    return hit


_WORLD_FIELDS = frozenset(f.name for f in fields(World))


def _new_world(values: dict[str, Any]) -> World:
    """``World(**values)``: a frozen dataclass's ``__init__`` only stores its ~100 fields one by one (~20 us per
    world); with every field given, they are stored at once. Anything else goes through ``__init__`` (and its
    error for a missing or unknown field)."""
    if values.keys() != _WORLD_FIELDS:
        return World(**values)
    world = object.__new__(World)
    world.__dict__.update(values)
    return world


def compile_world(sc: Scenario) -> World:
    """Compile a validated scenario into a :class:`World`, applying the policy levers."""
    pol, pir, enf = sc.policy, sc.pirates, sc.enforcement
    st = _static(sc)
    C = st.C
    tables = _Tables(st.table_keys, st.table_index)  # court, notice and disclosure tables first
    h = pol.harmonization

    crim, powers = st.crim + h * (1.0 - st.crim), st.powers + h * (1.0 - st.powers)
    prio = np.maximum(st.prio, pol.priority_floor)
    law = np.minimum(np.minimum(crim, powers), prio)
    mk = sc.market

    def make_tables() -> tuple[Any, ...]:
        """Every delay table and the indices into them, in the order they are added (court, notice and
        disclosure first, from the shared part; then the channels, successor, migration, block, cutoff)."""
        tables = _Tables(st.table_keys, st.table_index)
        add = tables.add_key

        def channel(attr: str, speed: float) -> np.ndarray:
            """[lead, requested] delay table: the fastest shared bloc's ``attr`` (the first of equal medians),
            else the requested country's own (or -1 where it has none), scaled by ``speed``."""
            _, best, found = st.channels[attr]
            bloc_keys, own_keys, which = st.channel_keys[attr]
            if speed != 1.0:  # as Delay.scaled would make them (the same products, the same keys)
                bloc_keys = [None if k is None else (k[0] * speed, k[1] * speed) for k in bloc_keys]
                own_keys = None if own_keys is None else [(m * speed, q * speed) for m, q in own_keys]
            bloc_tab = np.array([-1 if k is None else add(k) for k in bloc_keys] or [-1], dtype=np.int64)
            # adding the distinct keys in order of first appearance adds the same tables in the same order as
            # adding every country's; two keys equal only once scaled get one table either way
            own_tab = np.full(C, -1, dtype=np.int64) if own_keys is None else \
                np.array([add(k) for k in own_keys], dtype=np.int64)[which]
            return np.where(found, bloc_tab[best], own_tab[None, :]).astype(np.int64)

        mla_chan = channel("mla", pol.mla_speed)
        arrest_chan = channel("surrender", pol.surrender_speed)
        order_chan = channel("production_orders", 1.0)
        # Every table is added before the World takes its copy of the rows.
        tabs = tuple(tables.add(d) for d in (pir.successor, mk.migration, enf.block, enf.cutoff))
        return (tables, mla_chan, arrest_chan, order_chan) + tabs

    # the memo keeps the tables' keys, not their rows (~170 kB a world): the rows are shared by every world (_ROWS)
    tables, mla_chan, arrest_chan, order_chan, successor_tab, migration_tab, block_tab, cutoff_tab = (
        a.copy() if isinstance(a, np.ndarray) else a for a in _memo(
            st, ("tables", pol.mla_speed, pol.surrender_speed, pir.successor, mk.migration, enf.block, enf.cutoff),
            make_tables))
    delays = tables.matrix()
    court_tab, notice_tab, disclosure_tab = st.court_tab.copy(), st.notice_tab.copy(), st.disclosure_tab.copy()
    preserve = _memo(st, ("preserve", pol.preservation_everywhere),
                     lambda: (st.any_shared["preservation"] | pol.preservation_everywhere).astype(np.int64))

    provider_country = st.provider_country.copy()
    compliance = st.compliance.copy()
    risk = compliance + (1.0 - compliance) * law[provider_country]
    share = st.share
    # A provider with no market share is never chosen, even when alpha = 0 would make 0**0 = 1.
    host_w = np.where(share > 0, share ** pir.host_size_exponent, 0.0) * np.exp(-pir.risk_aversion * risk)
    Kc = pir.market_capacity
    spn = pir.servers_per_network

    def make_entry_q() -> np.ndarray:
        # lambda0 * max(0, 1 - a / K) / S for a = 0..K, elementwise as Python would compute it (same roundings)
        return pir.entry_per_day * np.maximum(0.0, 1.0 - np.arange(Kc + 1, dtype=np.float64) / Kc) / pir.entry_slots

    def make_succ_q() -> np.ndarray:
        j, u = np.meshgrid(np.arange(spn + 1), np.arange(spn + 1), indexing="ij")
        with np.errstate(divide="ignore", invalid="ignore"):
            succ_q = np.where(u > 0, pir.successor_prob - (pir.successor_prob - pir.successor_prob_joint) * j / np.maximum(u, 1),
                              pir.successor_prob_joint)
        return succ_q.astype(np.float64)

    def make_entry_dq() -> tuple[np.ndarray, np.ndarray]:
        if mk.entry == "demand":  # one chance per unserved count of every market: only demand entry reads it
            entry_dq_off = np.concatenate([[0], np.cumsum(D + 1)[:-1]]).astype(np.int64)
            entry_dq = np.concatenate([pir.entry_per_day * np.arange(d + 1, dtype=np.float64) / D_total / pir.entry_slots
                                       for d in D])
        else:
            entry_dq_off, entry_dq = np.zeros(C, dtype=np.int64), np.zeros(1, dtype=np.float64)
        return entry_dq_off, entry_dq

    entry_q = _memo(st, ("entry_q", Kc, pir.entry_per_day, pir.entry_slots), make_entry_q).copy()
    succ_q = _memo(st, ("succ_q", spn, pir.successor_prob, pir.successor_prob_joint), make_succ_q).copy()
    D = np.rint(st.demand.astype(np.float64) * USER_UNIT).astype(np.int64)
    D_total = max(1, int(D.sum()))
    entry_dq_off, entry_dq = (a.copy() for a in _memo(st, ("entry_dq", mk.entry, pir.entry_per_day, pir.entry_slots),
                                                         make_entry_dq))
    heat_shift = max(0, int(round(math.log2(pir.heat_half_life_days / math.log(2)))))
    blocks = _memo(st, ("blocks", pol.blocking_everywhere),
                   lambda: np.array([b or pol.blocking_everywhere for b in st.blocks_sites], dtype=np.int64)).copy()
    cuts = _memo(st, ("cuts", pol.cutoff_everywhere),
                 lambda: np.array([c or pol.cutoff_everywhere for c in st.cuts_payments], dtype=np.int64)).copy()
    capacity = _memo(st, ("capacity", pol.capacity_scale), lambda: np.array(
        [int(np.rint(c * pol.capacity_scale)) for c in st.capacity], dtype=np.int64)).copy()
    # at least 1: no provider's weight ever rounds to nothing, so the exact fallback always has a total
    accept = _memo(st, ("accept", pir.heat_aversion), lambda: np.maximum(
        1, np.rint(np.exp(-pir.heat_aversion * np.arange(HEAT_LEVELS)) * 2**ACCEPT_BITS)).astype(np.int64)).copy()
    host_wq = np.where(host_w > 0, np.maximum(1, np.rint(host_w / host_w.sum() * 2**WEIGHT_BITS)), 0).astype(np.int64)

    return _new_world(dict(
        name=sc.name,
        digest=sc.digest(),
        seed=sc.seed,
        horizon=sc.horizon_days,
        warmup=sc.warmup_days,
        country_ids=st.country_ids,
        provider_ids=st.provider_ids,
        provider_kinds=st.provider_kinds,
        delays=delays,
        court_tab=court_tab,
        notice_tab=notice_tab,
        mla_chan=mla_chan,
        arrest_chan=arrest_chan,
        order_chan=order_chan,
        successor_tab=successor_tab,
        law=law,
        open_prob=np.minimum(crim, prio),
        grant_prob=np.minimum(crim, powers),
        seize_prob=np.minimum(powers, prio),
        extradite_prob=st.extradites * crim,
        extradites_nationals=st.extradites_nationals.copy(),
        prosecute_prob=st.prosecute.copy(),
        haven=(law < enf.haven_law_below).astype(np.int64),
        capacity=capacity,
        mla_per_day=st.mla_per_day.copy(),
        retention=st.retention.copy(),
        preserve=preserve.copy(),
        joint=st.joint.copy(),
        jit=st.jit.copy(),
        surrender_nat=st.surrender_nat.copy(),
        home_cum=st.home_cum.copy(),
        market_cum=st.market_cum.copy(),
        provider_country=provider_country,
        compliance=compliance,
        discloses=st.discloses.copy(),
        disclosure_tab=disclosure_tab,
        order_compliance=st.order_compliance.copy(),
        host_cum=cumulative(host_w),
        initial_networks=pir.initial_networks,
        entry_slots=pir.entry_slots,
        market_capacity=Kc,
        entry_q=entry_q,
        servers_per_network=spn,
        reprovision_prob=pir.reprovision_prob,
        quit_prob=pir.quit_prob,
        home_in_market=pir.home_in_market,
        successor_prob=pir.successor_prob,
        successor_prob_joint=pir.successor_prob_joint,
        succ_q=succ_q,
        detect_prob=enf.detect_prob,
        detect_threshold=threshold53(enf.detect_prob),
        case_threshold=enf.case_threshold,
        identify_prob=enf.identify_prob,
        evidence_first=int(enf.evidence_rule == "first"),
        money_trail_prob=enf.money_trail_prob,
        money_identify_prob=enf.money_identify_prob,
        case_timeout_days=enf.case_timeout_days,
        demand_units=D,
        entry_demand=int(mk.entry == "demand"),
        entry_dq=entry_dq,
        entry_dq_off=entry_dq_off,
        acquire_fx=fixed(mk.acquire_share),
        return_fx=fixed(mk.return_share),
        migrate_fx=fixed(mk.migrate_share),
        migration_tab=migration_tab,
        blocks=blocks,
        cuts=cuts,
        block_after=enf.block_after_notices,
        block_tab=block_tab,
        block_fx=fixed(enf.block_effect),
        cutoff_after=enf.cutoff_after_notices,
        cutoff_tab=cutoff_tab,
        cutoff_quit_prob=enf.cutoff_quit_prob,
        adaptive=int(pir.heat_aversion > 0),
        heat_shift=heat_shift,
        accept=accept,
        memory_fx=fixed(pir.memory_weight),
        host_wq=host_wq,
        host_wq_cum=np.cumsum(host_wq).astype(np.int64),
        host_countries=np.unique(provider_country[host_wq > 0]).astype(np.int64),
    ))


def load_world(path: str | Path, overrides: Any = None) -> World:
    """Load, validate and compile a scenario file in one call."""
    return compile_world(load(path, overrides))
