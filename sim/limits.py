"""Resource limits, checked before any work starts: a run or a sweep that cannot fit is refused in one line.

Values that pass validation can still ask for more than the machine has (``servers_per_network: 100000``,
``horizon_days: 100000000``, a design of 10^10 runs). Rather than discover that in the middle of a run (a
MemoryError deep in an engine, a killed worker, a half-written folder), the size of the work is estimated here
from the validated scenario's dimensions and from the design's *counts*, never by building anything, and
compared with the documented limits below (docs/experiments.md, "Limits").

The estimates are deliberately simple upper-range figures (entities x bytes per entity), meant to catch values
off by orders of magnitude, not to predict memory to the megabyte.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sim.outputs import DAILY_COLUMNS, NETWORK_COLUMNS, REQUEST_COLUMNS
from sim.scenario import ScenarioError

if TYPE_CHECKING:
    from sim.scenario import Scenario

# Documented limits (docs/experiments.md). The memory budget is also capped by what the machine has.
MAX_HORIZON_DAYS = 36_500           # 100 years: far beyond any enforcement question the model answers
MAX_COUNTRIES = 1_000               # the world compiler keeps country x country tables
MAX_NETWORKS = 10_000_000           # networks created over one run
MAX_SERVERS = 50_000_000            # servers created over one run
MAX_POINTS = 1_000_000              # design points of one experiment (each is a row and a compiled world)
MAX_RUNS = 10_000_000               # runs of one experiment
MEMORY_ENV = "PIRACYSIM_MAX_MEMORY_GB"  # lowers (or, at one's own risk, raises) the memory budget

# Bytes per entity: the compiled engine keeps a network in 27 int64 arrays plus one per country (its memory of
# losses by host country), a server in 11 and a request in 12 (grown by doubling: x1.5 on average); the Mesa
# engine holds Python agent objects (~1 KB each, measured).
_BYTES = {"fast": {"network": 27 * 12, "network_per_country": 12, "server": 11 * 12, "request": 12 * 12},
          "mesa": {"network": 1_500, "network_per_country": 8, "server": 1_200, "request": 800}}
_DAILY_COLUMNS = len(DAILY_COLUMNS)
_RECORD_BYTES = {"networks": len(NETWORK_COLUMNS) * 8, "requests": len(REQUEST_COLUMNS) * 8}  # one record row


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def _num(n: float) -> str:
    return f"{n:,.0f}"


def memory_budget() -> int:
    """Bytes one piece of work may use: the smaller of what the machine has available, the address-space limit
    (``ulimit -v``) and ``PIRACYSIM_MAX_MEMORY_GB`` when set."""
    candidates = []
    try:
        with open("/proc/meminfo") as fh:
            info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in fh if ":" in line}
        candidates.append(info.get("MemAvailable", info.get("MemTotal", 0)))
    except (OSError, ValueError, IndexError):
        try:
            candidates.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
        except (ValueError, OSError, AttributeError):
            pass
    try:
        import resource

        for which in (resource.RLIMIT_AS, resource.RLIMIT_DATA):
            soft, _ = resource.getrlimit(which)
            if soft not in (resource.RLIM_INFINITY, -1) and soft > 0:
                candidates.append(soft)
    except (ImportError, OSError, ValueError):
        pass
    env = os.environ.get(MEMORY_ENV, "").strip()
    if env:
        try:
            candidates.append(int(float(env) * 2**30))
        except ValueError:
            pass
    candidates = [c for c in candidates if c > 0]
    return min(candidates) if candidates else 8 * 2**30


@dataclass(frozen=True)
class RunEstimate:
    """What one run of a scenario holds at most, roughly: entities over the run and the bytes they take."""

    days: int
    countries: int
    live_networks: int
    networks: int
    servers: int
    requests: int
    bytes_by_field: dict[str, float]

    @property
    def memory(self) -> float:
        """Estimated peak bytes of one run."""
        return sum(self.bytes_by_field.values())

    def table_rows(self, table: str) -> float:
        """Estimated rows of a per-run output table."""
        return {"daily": self.days, "servers_by_country": self.days, "users_by_market": self.days,
                "networks": self.networks, "requests": self.requests}[table]

    def table_bytes(self, table: str) -> float:
        """Estimated bytes of a per-run output table in memory (int64 columns plus point and replicate)."""
        width = {"daily": _DAILY_COLUMNS, "servers_by_country": self.countries + 1,
                 "users_by_market": self.countries + 1}.get(table)
        row = (width * 8) if width else _RECORD_BYTES[table]
        return self.table_rows(table) * (row + 16)


def estimate_run(sc: "Scenario", engine: str = "fast") -> RunEstimate:
    """Entities and memory of one run of a validated scenario, from its dimensions alone."""
    pir, T, C, P = sc.pirates, sc.horizon_days, len(sc.countries), len(sc.providers)
    per = _BYTES.get(engine, _BYTES["mesa"])
    live = max(pir.initial_networks, pir.market_capacity)
    # networks created: the initial ones, entries (at most entry_per_day a day), and successors of arrests
    networks = int(pir.initial_networks + pir.entry_per_day * T * (1 + pir.successor_prob))
    # servers created: each network's first servers, then replacements of removed ones, which happen at most
    # at the detection rate on every live server (baseline: 15,600 estimated, 9,100 measured; tiny with
    # servers_per_network 100000: 27.6 million estimated, 5.2 million measured, ~1 GB peak)
    servers = int(networks * pir.servers_per_network
                  + live * pir.servers_per_network * min(1.0, sc.enforcement.detect_prob) * T)
    # evidence requests: a case asks for every server whose logs are still kept, and refused voluntary requests
    # fall back to MLA; measured at 4.5 per server (baseline, 28 years) and 0.3 (tiny)
    requests = int(servers * 6)
    by_field = {
        "horizon_days": T * (_DAILY_COLUMNS + 2 * (C + 1)) * 8 * 3,  # daily tables in the engine, pandas, output
        "countries": C * C * 8 * 6 + (C * C + P + C) * 1000 * 8,  # pair matrices and delay tables
        "pirates.initial_networks": networks * (per["network"] + C * per["network_per_country"]
                                                + _RECORD_BYTES["networks"]),
        "pirates.servers_per_network": servers * per["server"],
        "requests": requests * (per["request"] + _RECORD_BYTES["requests"]),
    }
    return RunEstimate(T, C, live, networks, servers, requests, by_field)


def check_scenario(sc: "Scenario", source: str, engine: str = "fast", workers: int = 1,
                   budget: int | None = None) -> RunEstimate:
    """Refuse, as a :class:`ScenarioError` (one line naming file, field, value and the numbers), a scenario whose
    runs cannot fit the documented limits or the memory budget (``workers`` runs at once)."""
    if sc.horizon_days > MAX_HORIZON_DAYS:
        raise ScenarioError(source, "horizon_days", f"too long: the limit is {_num(MAX_HORIZON_DAYS)} days (100 years)",
                            sc.horizon_days)
    if len(sc.countries) > MAX_COUNTRIES:
        raise ScenarioError(source, "countries", f"too many: the limit is {_num(MAX_COUNTRIES)}", len(sc.countries))
    est = estimate_run(sc, engine)
    if est.networks > MAX_NETWORKS:
        field, value = _largest(sc, ("pirates.initial_networks", "pirates.entry_per_day", "horizon_days"))
        raise ScenarioError(source, field, f"too large: a run would create ~{_num(est.networks)} networks, "
                                           f"the limit is {_num(MAX_NETWORKS)}", value)
    if est.servers > MAX_SERVERS:
        field, value = _largest(sc, ("pirates.servers_per_network", "pirates.initial_networks", "horizon_days"))
        raise ScenarioError(source, field, f"too large: a run would create ~{_num(est.servers)} servers "
                                           f"({_num(est.networks)} networks x {pir_spn(sc)} servers), "
                                           f"the limit is {_num(MAX_SERVERS)}", value)
    budget = memory_budget() if budget is None else budget
    need = est.memory * max(1, workers)
    if need > budget:
        field = max(est.bytes_by_field, key=est.bytes_by_field.get)
        field = {"requests": "pirates.servers_per_network"}.get(field, field)
        value = len(sc.countries) if field == "countries" else _get(sc, field)
        runs = f"{workers} runs at once x " if workers > 1 else ""
        raise ScenarioError(source, field, f"too large: {runs}~{_gib(est.memory)} per run ({_num(est.servers)} servers, "
                                           f"{_num(est.networks)} networks, {_num(est.days)} days) exceeds the "
                                           f"{_gib(budget)} memory available (set {MEMORY_ENV} to change)", value)
    return est


def pir_spn(sc: "Scenario") -> int:
    """Servers per network of a scenario (for messages)."""
    return sc.pirates.servers_per_network


def _get(sc: Any, dotted: str) -> Any:
    node = sc
    for part in dotted.split("."):
        node = getattr(node, part)
    return node


def _largest(sc: "Scenario", fields: tuple[str, ...]) -> tuple[str, Any]:
    """The field of ``fields`` furthest above its default: the one the user most likely set too high."""
    from sim.scenario import Scenario

    default = Scenario()
    best, ratio = fields[0], -math.inf
    for f in fields:
        value, base = _get(sc, f), _get(default, f)
        r = math.log(max(float(value), 1e-12) / max(float(base), 1e-12))
        if r > ratio:
            best, ratio = f, r
    return best, _get(sc, best)


def count_points(design: Any, factors: list[Any], samples: int | None) -> int:
    """Design points a design will have, from its counts only (a grid is never expanded to count it)."""
    if isinstance(design, dict):
        table = design.get("table")
        return len(table) if isinstance(table, list) else 0
    if not factors:
        return 1
    if design == "grid":
        return math.prod(len(f.levels) if f.levels is not None else 1 for f in factors)
    n = samples or 0
    return n * (len(factors) + 2) if design == "saltelli" else n


def check_design(source: str, points: int, replicates: int, keep: tuple[str, ...] | list[str], n_columns: int,
                 est: RunEstimate | None, budget: int | None = None) -> None:
    """Refuse a design whose point count, run count or combined tables exceed the limits (one line)."""
    if points > MAX_POINTS:
        raise ScenarioError(source, "design", f"too large: {_num(points)} design points, the limit is "
                                              f"{_num(MAX_POINTS)}", points)
    runs = points * replicates
    if runs > MAX_RUNS:
        raise ScenarioError(source, "replicates", f"too large: {_num(points)} point{'s' * (points != 1)} x {_num(replicates)} replicates = "
                                                  f"{_num(runs)} runs, the limit is {_num(MAX_RUNS)}", replicates)
    budget = memory_budget() if budget is None else budget
    # the runs table and each kept table are combined in memory at the end of the sweep
    tables = runs * (n_columns + 8) * 8 * 2 + (sum(est.table_bytes(t) for t in keep) * runs if est else 0)
    if tables > budget:
        where = "keep" if keep and est else "replicates"
        raise ScenarioError(source, where, f"too large: the combined tables of {_num(runs)} runs would take "
                                           f"~{_gib(tables)}, more than the {_gib(budget)} memory available "
                                           f"(set {MEMORY_ENV} to change)", list(keep) if where == "keep" else replicates)
