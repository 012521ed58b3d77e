"""The reference engine: the model of docs/ODD.md on Mesa 3.5, one day per ``step()``, thirteen phases in order.

Read it next to ``cyext/engine.pyx``: the phases carry the same names in the same order. Iteration is always
by ascending id; every random draw is ``u(stream, t, a, b)`` from the counter generator; Mesa's own
``rng``/``random`` are seeded from the root seed by convention but drive nothing.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from typing import Callable

import mesa
import numpy as np

from sim import rng as R
from sim.agents import (ARREST, ARRESTING, CLOSED, QUIT, SEIZURE, TAKEDOWN, Case, Country, HostingProvider,
                        PirateNetwork, Request, Server)
from sim.outputs import (CAUSE_ARREST, CAUSE_QUIT, DAILY_COLUMNS, KIND_DOMESTIC, KIND_JIT, KIND_MLA, KIND_MONEY,
                         KIND_ORDER, KIND_VOLUNTARY, NETWORK_COLUMNS, OUTCOME_DROPPED, OUTCOME_EVIDENCE, OUTCOME_LOST,
                         OUTCOME_REFUSED, REQUEST_COLUMNS, RunResult, run_meta)
from sim.world import ACCEPT_BITS, FX_BITS, HEAT_LEVELS, HEAT_ONE, HOST_TRIES, K_TABLE, World, pick

_KIND_COUNTER = {KIND_VOLUNTARY: "requests_voluntary", KIND_ORDER: "requests_order", KIND_JIT: "requests_jit",
                 KIND_MONEY: "requests_money"}
STOCKS = ("day", "networks", "servers_up", "servers_up_haven", "cases_open", "mla_backlog", "users_served",
          "users_unserved", "users_lapsed", "users_in_transit", "markets_available")
FLOWS = tuple(c for c in DAILY_COLUMNS if c not in STOCKS)


def share_of(n: int, fx: int) -> int:
    """``(n * fx) >> FX_BITS``: a fixed-point share of n, rounded down (docs/ODD.md §13.2)."""
    return (n * fx) >> FX_BITS


class Calendar:
    """Ids due on a given day; ``pop(t)`` returns today's in ascending id order."""

    def __init__(self, horizon: int) -> None:
        self.horizon = horizon
        self.days: defaultdict[int, list[int]] = defaultdict(list)

    def add(self, day: int, idx: int) -> None:
        """Schedule ``idx`` on ``day`` (days past the horizon never come, so they are not kept)."""
        if day <= self.horizon:
            self.days[day].append(idx)

    def pop(self, t: int) -> list[int]:
        """Today's ids, ascending, removed from the calendar."""
        return sorted(self.days.pop(t, ()))


class PiracyModel(mesa.Model):
    """Cross-border enforcement against piracy networks (model version 2, docs/ODD.md) on a compiled :class:`World`."""

    def __init__(self, world: World, seed: int | None = None) -> None:
        seed = world.seed if seed is None else int(seed)
        super().__init__(rng=seed)
        self.world = world
        self.seed = seed
        self.counter_rng = R.CounterRNG(seed)
        w = world
        T = w.horizon
        self.countries = [Country(self, c) for c in range(w.n_countries)]
        self.providers = [HostingProvider(self, p) for p in range(w.n_providers)]
        self.networks: list[PirateNetwork] = []
        self.servers: list[Server] = []
        self.cases: list[Case] = []
        self.requests: list[Request] = []
        # Live networks, up servers and cases waiting for evidence, keyed by id. Ids only grow, so dict
        # insertion order is ascending id order.
        self.live: dict[int, PirateNetwork] = {}
        self.up_servers: dict[int, Server] = {}
        self.evidence_cases: dict[int, Case] = {}
        self.notice_calendar = Calendar(T)
        self.seizure_calendar = Calendar(T)
        self.request_calendar = Calendar(T)
        self.arrest_calendar = Calendar(T)
        self.successor_calendar = Calendar(T)
        self.migration_calendar = Calendar(T)
        self.up_by_country = np.zeros(w.n_countries, dtype=np.int64)
        self.haven_mask = w.haven.astype(bool)
        self.n_cases_open = 0
        self.today: Counter[str] = Counter()
        self.row: dict[str, int] = {}
        self.by_country_rows: list[np.ndarray] = []
        # stage B: user units per market not served by a live network, and recent removals per host country
        C = w.n_countries
        self.unserved = [int(d) for d in w.demand_units]
        self.lapsed = [0] * C
        self.in_transit = [0] * C
        self.heat = [0] * C
        self.users_rows: list[list[int]] = []
        self.datacollector = mesa.DataCollector(
            model_reporters={col: (lambda m, c=col: m.row[c]) for col in DAILY_COLUMNS})
        for _ in range(w.initial_networks):
            self.create_network(0)
        self.split_initial_demand()

    def split_initial_demand(self) -> None:
        """Each market's user units split equally among its initial networks (the lowest ids get the rest)."""
        by_market: defaultdict[int, list[PirateNetwork]] = defaultdict(list)
        for net in self.live.values():
            by_market[net.market].append(net)
        for c, nets in by_market.items():
            base, extra = divmod(self.unserved[c], len(nets))
            for i, net in enumerate(nets):
                self.gain_users(net, base + (1 if i < extra else 0))
            self.unserved[c] = 0

    def gain_users(self, net: PirateNetwork, units: int) -> None:
        """``net`` now serves ``units`` more user units."""
        net.users += units
        net.users_peak = max(net.users_peak, net.users)

    # ------------------------------------------------------------------ helpers shared by the phases

    def u(self, stream: int, t: int, a: int, b: int = 0) -> float:
        """The uniform for (stream, t, a, b) under this run's seed."""
        return self.counter_rng.u(stream, t, a, b)

    def draw(self, table: int, u: float) -> int:
        """A delay in days from delay table ``table`` for the uniform ``u``."""
        return int(self.world.delays[table, int(u * K_TABLE)])

    def create_network(self, t: int, predecessor: PirateNetwork | None = None, market: int = -1) -> PirateNetwork:
        """A new network (a successor inherits home and market; demand entry gives the market) with its full
        set of servers."""
        n = len(self.networks)
        if predecessor is None:
            if market < 0:
                market = pick(self.world.market_cum, self.u(R.MARKET, 0, n))
            if self.u(R.RESIDENCE, 0, n) < self.world.home_in_market:
                home = market
            else:
                home = pick(self.world.home_cum, self.u(R.HOME, 0, n))
            pred = -1
        else:
            home, market, pred = predecessor.home, predecessor.market, predecessor.idx
        net = PirateNetwork(self, n, home, market, pred, t)
        self.networks.append(net)
        self.live[n] = net
        for _ in range(self.world.servers_per_network):
            self.provision(net, t)
        return net

    def provision(self, net: PirateNetwork, t: int) -> Server:
        """Rent a server for ``net`` from a provider chosen by size (and risk)."""
        s = len(self.servers)
        provider = self.choose_host(net, s)
        server = Server(self, s, net.idx, provider, t)
        self.servers.append(server)
        self.up_servers[s] = server
        net.servers.append(server)
        net.n_up += 1
        net.servers_created += 1
        self.up_by_country[server.country] += 1
        return server

    def choose_host(self, net: PirateNetwork, s: int) -> int:
        """The provider of server ``s`` (docs/ODD.md §13.4). Without adaptation: by size, stage A's draw. With it:
        exactly proportional to weight * exp(-beta * (level - coolest level)), all in integers: proposals by weight,
        accepted with the level's chance; after HOST_TRIES rejections an exact draw over every provider."""
        w = self.world
        if not w.adaptive:
            return pick(w.host_cum, self.u(R.HOST, 0, s))
        # the normaliser: the lowest ecosystem level among host countries (a network's memory only adds levels)
        coolest = min(self.eco_level(int(c)) for c in w.host_countries)
        total = int(w.host_wq_cum[-1])
        for i in range(HOST_TRIES):
            x = (self.counter_rng.top53(R.HOST, 0, s, i) * total) >> 53
            p = bisect.bisect_right(w.host_wq_cum, x)
            d = self.heat_level(net, int(w.provider_country[p])) - coolest
            if d == 0 or self.counter_rng.top53(R.HOST_ACCEPT, 0, s, i) < int(w.accept[d]) << (53 - ACCEPT_BITS):
                return p
        weights = [int(q) * int(w.accept[self.heat_level(net, int(c)) - coolest]) if q else 0
                   for q, c in zip(w.host_wq, w.provider_country)]
        x = (self.counter_rng.top53(R.HOST_EXACT, 0, s) * sum(weights)) >> 53
        for p, weight in enumerate(weights):
            x -= weight
            if x < 0:
                return p
        raise AssertionError("unreachable: x < sum(weights)")

    def eco_level(self, c: int) -> int:
        """Country c's ecosystem heat level: recent removals per ten up servers there (at most the top level)."""
        return min(HEAT_LEVELS - 1, ((self.heat[c] >> 16) * 10) // (int(self.up_by_country[c]) + 1))

    def heat_level(self, net: PirateNetwork, c: int) -> int:
        """Country c's heat level for ``net``: its ecosystem level plus the network's own losses there."""
        return min(HEAT_LEVELS - 1, self.eco_level(c) + share_of(net.memory[c], self.world.memory_fx))

    def remove_server(self, server: Server, t: int, cause: int) -> None:
        """Take a server down (any cause); its pending notice and seizure are cancelled. A takedown or seizure
        heats its country and stays in its network's memory."""
        server.up = False
        server.removed_day = t
        server.removal_cause = cause
        server.notice_due = server.seize_due = 0
        del self.up_servers[server.idx]
        net = self.networks[server.network]
        net.n_up -= 1
        self.up_by_country[server.country] -= 1
        if cause == TAKEDOWN or cause == SEIZURE:
            self.heat[server.country] += HEAT_ONE
            net.memory[server.country] += 1

    def quit_check(self, server: Server, t: int) -> None:
        """After a takedown or seizure, the operator may give up."""
        if self.u(R.QUIT, t, server.idx) < self.world.quit_prob:
            self.end_network(self.networks[server.network], t, CAUSE_QUIT)
            self.today["quits"] += 1

    def end_network(self, net: PirateNetwork, t: int, cause: int) -> None:
        """Arrest or quit: every up server goes, and an open case closes (moot unless it is the arrest)."""
        for server in net.servers:
            if server.up:
                self.remove_server(server, t, ARREST if cause == CAUSE_ARREST else QUIT)
        net.ended = t
        net.cause = cause
        del self.live[net.idx]
        if net.users:
            movers = share_of(net.users, self.world.migrate_fx)
            self.lapsed[net.market] += net.users - movers
            net.movers = movers
            if movers:
                self.in_transit[net.market] += movers
                due = t + self.draw(self.world.migration_tab, self.u(R.MIGRATE_DELAY, t, net.idx))
                self.migration_calendar.add(due, net.idx)
            net.users = 0
        if net.case != -1:
            self.close_case(self.cases[net.case])
            if cause != CAUSE_ARREST:
                self.today["cases_moot"] += 1

    def open_case(self, net: PirateNetwork, lead: Country, t: int) -> Case:
        """Open a case against ``net``: one request per evidence-bearing server by the first route open, then
        perhaps a money trail (docs/ODD.md, phase 5)."""
        w = self.world
        case = Case(len(self.cases), net.idx, lead.idx, t)
        self.cases.append(case)
        self.evidence_cases[case.id] = case
        lead.open_cases += 1
        self.n_cases_open += 1
        net.case = case.id
        net.cases += 1
        if net.first_case == -1:
            net.first_case = t
        self.today["cases_opened"] += 1
        for server in net.servers:
            host = server.country
            if not server.bears_evidence(t, int(w.retention[host])):
                continue
            if host == lead.idx:
                self.new_request(case, server.idx, host, KIND_DOMESTIC, t, int(w.court_tab[lead.idx]))
            elif w.jit[lead.idx, host]:
                self.new_request(case, server.idx, host, KIND_JIT, t, int(w.court_tab[host]))
            elif w.order_chan[lead.idx, host] >= 0:
                self.new_request(case, server.idx, host, KIND_ORDER, t, int(w.order_chan[lead.idx, host]))
            elif w.discloses[server.provider] > 0:
                self.new_request(case, server.idx, host, KIND_VOLUNTARY, t, int(w.disclosure_tab[server.provider]))
            else:
                self.new_request(case, server.idx, host, KIND_MLA, t)
        if self.u(R.MONEY, 0, case.id) < w.money_trail_prob:
            self.new_request(case, -1, lead.idx, KIND_MONEY, t, int(w.court_tab[lead.idx]))
        return case

    def new_request(self, case: Case, server: int, requested: int, kind: int, t: int, table: int = -1) -> Request:
        """Create a request of ``kind``: an MLA request joins the requested country's queue, any other starts
        today and is answered after a delay from ``table``. Foreign requests are preserved where the pair
        preserves."""
        foreign = kind in (KIND_MLA, KIND_VOLUNTARY, KIND_ORDER, KIND_JIT)
        req = Request(len(self.requests), case.id, server, case.lead, requested, kind, t,
                      preserved=foreign and bool(self.world.preserve[case.lead, requested]))
        self.requests.append(req)
        case.pending += 1
        self.today["requests_sent"] += 1
        if kind != KIND_DOMESTIC and kind != KIND_MLA:
            self.today[_KIND_COUNTER[kind]] += 1
        if kind == KIND_MLA:
            self.countries[requested].mla_queue.append(req)
        else:
            req.started = t
            self.schedule_request(req, table, t)
        return req

    def schedule_request(self, req: Request, table: int, t: int) -> None:
        """A request starts today and is answered after a delay drawn from ``table``."""
        req.due = t + self.draw(table, self.u(R.REQ_DELAY, t, req.id))
        self.request_calendar.add(req.due, req.id)

    def close_case(self, case: Case) -> None:
        """Close a case (success, failure or moot): the lead's capacity is freed."""
        case.stage = CLOSED
        self.countries[case.lead].open_cases -= 1
        self.n_cases_open -= 1
        self.networks[case.network].case = -1
        self.evidence_cases.pop(case.id, None)

    # ------------------------------------------------------------------ the day: eleven phases in order

    def step(self) -> None:
        """One day t: the thirteen phases of docs/ODD.md §4 and §13.4, in order."""
        t = self.steps
        self.today.clear()
        self.arrivals(t)
        self.detection(t)
        self.notices_due(t)
        self.seizures_due(t)
        self.cases_open(t)
        self.interventions(t)
        self.mla_queues(t)
        self.requests_due(t)
        self.cases_resolve(t)
        self.arrests_due(t)
        self.users(t)
        self.reprovisioning(t)
        self.record(t)

    def arrivals(self, t: int) -> None:
        """1. Successors due today (by predecessor id), then entry draws that thin out as the market fills."""
        w = self.world
        for pred in self.successor_calendar.pop(t):
            self.create_network(t, self.networks[pred])
            self.today["successors"] += 1
        if w.entry_demand:  # stage B: entry per market, driven by its unserved users
            for c in range(w.n_countries):
                if w.demand_units[c] == 0:
                    continue
                q = w.entry_dq[w.entry_dq_off[c] + self.unserved[c]]
                for slot in range(w.entry_slots):
                    if self.u(R.ENTRY, t, c, slot) < q:
                        self.create_network(t, market=c)
                        self.today["entries"] += 1
            return
        q = w.entry_q[min(len(self.live), w.market_capacity)]
        for slot in range(w.entry_slots):
            if self.u(R.ENTRY, t, slot) < q:
                self.create_network(t)
                self.today["entries"] += 1

    def detection(self, t: int) -> None:
        """2. Right holders detect up servers with nothing pending and send the provider a notice."""
        p = self.world.detect_prob
        for s, server in self.up_servers.items():
            if server.notice_due or server.seize_due:
                continue
            if self.u(R.DETECT, t, s) < p:
                provider = self.providers[server.provider]
                server.notice_due = t + self.draw(provider.notice_tab, self.u(R.NOTICE_DELAY, t, s))
                self.notice_calendar.add(server.notice_due, s)
                net = self.networks[server.network]
                net.notices_since_case += 1
                net.notices += 1
                self.today["notices"] += 1

    def notices_due(self, t: int) -> None:
        """3. Providers answer the notices due today."""
        for s in self.notice_calendar.pop(t):
            server = self.servers[s]
            if server.notice_due != t:
                continue  # cancelled: the server went down before its notice came due
            server.notice_due = 0
            if server.up:
                self.providers[server.provider].answer_notice(server, t)

    def seizures_due(self, t: int) -> None:
        """4. The host country's police seize the servers whose court order is due today."""
        for s in self.seizure_calendar.pop(t):
            server = self.servers[s]
            if server.seize_due != t:
                continue
            server.seize_due = 0
            if not server.up:
                continue
            self.remove_server(server, t, SEIZURE)
            server.seized = True
            self.today["seizures"] += 1
            self.networks[server.network].seizures += 1
            self.quit_check(server, t)

    def cases_open(self, t: int) -> None:
        """5. Networks with enough notices and no case become complaints in their market country."""
        threshold = self.world.case_threshold
        for net in self.live.values():
            if net.case == -1 and net.notices_since_case >= threshold:
                self.countries[net.market].consider_complaint(net, t)

    def interventions(self, t: int) -> None:
        """5b. Blocking orders and payment cut-offs: ordered after enough notices in a market that uses them,
        taking effect after a delay; a cut-off network may quit any day."""
        w = self.world
        for net in list(self.live.values()):
            c = net.market
            if w.blocks[c] and not net.block_due and net.notices >= w.block_after:
                net.block_due = t + self.draw(w.block_tab, self.u(R.BLOCK_DELAY, t, net.idx))
            if w.cuts[c] and not net.cutoff_due and net.notices >= w.cutoff_after:
                net.cutoff_due = t + self.draw(w.cutoff_tab, self.u(R.CUTOFF_DELAY, t, net.idx))
            if net.block_due == t:
                net.blocked, net.blocked_day = True, t
                lost = share_of(net.users, w.block_fx)
                net.users -= lost
                self.unserved[c] += lost
                self.today["blocking_orders"] += 1
            if net.cutoff_due == t:
                net.cut, net.cut_day = True, t
                self.today["cutoffs"] += 1
            if net.cut and self.u(R.CUTOFF_QUIT, t, net.idx) < w.cutoff_quit_prob:
                self.end_network(net, t, CAUSE_QUIT)
                self.today["quits"] += 1
                self.today["cutoff_quits"] += 1

    def mla_queues(self, t: int) -> None:
        """6. Each country starts its quota of queued incoming MLA requests."""
        self.agents_by_type[Country].do("work_mla_queue", t)

    def requests_due(self, t: int) -> None:
        """7. Requests answered today: dropped, refused (a refused order or voluntary request falls back to MLA),
        evidence (drawn for identification at once), or evidence lost."""
        w = self.world
        for r in self.request_calendar.pop(t):
            req = self.requests[r]
            case = self.cases[req.case]
            req.resolved = t
            case.pending -= 1
            if case.stage == CLOSED:
                req.outcome = OUTCOME_DROPPED
                continue
            self.today["requests_answered"] += 1
            if self.refused(req, t):
                req.outcome = OUTCOME_REFUSED
                self.today["requests_refused"] += 1
                if req.kind in (KIND_ORDER, KIND_VOLUNTARY):
                    self.new_request(case, req.server, req.requested, KIND_MLA, t)
                    self.today["fallbacks"] += 1
                continue
            if (req.kind == KIND_MONEY or req.preserved
                    or self.servers[req.server].bears_evidence(t, int(w.retention[req.requested]))):
                req.outcome = OUTCOME_EVIDENCE
                self.today["evidence_obtained"] += 1
                p = w.money_identify_prob if req.kind == KIND_MONEY else w.identify_prob
                if self.u(R.IDENT, 0, case.id, case.evidence) < p and not case.identified:
                    case.identified = True
                    self.today["cases_identified"] += 1
                case.evidence += 1
            else:
                req.outcome = OUTCOME_LOST
                self.today["evidence_lost"] += 1

    def refused(self, req: Request, t: int) -> bool:
        """Whether the requested side refuses: MLA on dual criminality and powers, an order or a voluntary
        request at the provider's discretion; domestic, JIT and money requests never are."""
        w = self.world
        if req.kind == KIND_MLA:
            p = w.grant_prob[req.requested]
        elif req.kind == KIND_ORDER:
            p = w.order_compliance[self.servers[req.server].provider]
        elif req.kind == KIND_VOLUNTARY:
            p = w.discloses[self.servers[req.server].provider]
        else:
            return False
        return not self.u(R.GRANT, t, req.id) < p

    def cases_resolve(self, t: int) -> None:
        """8. Ready cases (every answer in, or identified under evidence_rule first) go to the arrest decision
        or fail for lack of evidence; cases not ready time out."""
        w = self.world
        for case in list(self.evidence_cases.values()):
            ready = case.pending == 0 or (w.evidence_first and case.identified)
            if ready and case.identified:
                self.arrest_decision(case, t)
            elif ready:
                self.fail_case(case, "cases_failed_evidence")
            elif t - case.opened >= w.case_timeout_days:
                self.fail_case(case, "cases_timed_out")

    def arrest_decision(self, case: Case, t: int) -> None:
        """An identified operator: arrest at home, prosecution at home where nationals are not surrendered,
        or extradition (one draw per operator and requesting country)."""
        w = self.world
        net = self.networks[case.network]
        lead, home = case.lead, net.home
        if home == lead:
            self.arrest_stage(case, int(w.court_tab[lead]), t, lead)
        elif not w.extradites_nationals[home] and not w.surrender_nat[lead, home]:
            if self.u(R.PROSECUTE, 0, net.idx) < w.prosecute_prob[home]:
                self.arrest_stage(case, int(w.mla_chan[lead, home]), t, home)
                self.today["prosecutions_home"] += 1
            else:
                self.fail_case(case, "cases_failed_haven")
        elif self.u(R.EXTRADITE, 0, net.idx, lead) < w.extradite_prob[home]:
            self.arrest_stage(case, int(w.arrest_chan[lead, home]), t, lead)
        else:
            self.fail_case(case, "cases_failed_haven")

    def fail_case(self, case: Case, counter: str) -> None:
        """A case fails and closes, counted under ``counter``."""
        self.close_case(case)
        self.today[counter] += 1

    def arrest_stage(self, case: Case, table: int, t: int, by: int) -> None:
        """The operator is identified (and surrendered, or prosecuted at home by ``by``): arrest after a delay
        from ``table``."""
        case.stage = ARRESTING
        case.arrested_by = by
        case.arrest_due = t + self.draw(table, self.u(R.ARREST_DELAY, 0, case.id))
        del self.evidence_cases[case.id]
        self.arrest_calendar.add(case.arrest_due, case.id)

    def arrests_due(self, t: int) -> None:
        """9. Arrests: the network ends; a successor may follow, less likely after joint action."""
        w = self.world
        for k in self.arrest_calendar.pop(t):
            case = self.cases[k]
            if case.stage != ARRESTING:
                continue  # the network quit first: the case closed as moot
            net = self.networks[case.network]
            j, u = net.joint_coverage(case.lead)
            net.arrested_by = case.arrested_by
            self.end_network(net, t, CAUSE_ARREST)
            self.today["arrests"] += 1
            if self.u(R.SUCCESSOR, 0, net.idx) < w.succ_q[j, u]:
                self.successor_calendar.add(t + self.draw(w.successor_tab, self.u(R.SUCC_DELAY, 0, net.idx)), net.idx)

    def users(self, t: int) -> None:
        """10b. Migrating users arrive at their market's largest live network; lapsed users return to looking;
        live, unblocked networks win a share of each market's unserved users, split equally."""
        w = self.world
        for n in self.migration_calendar.pop(t):
            ended = self.networks[n]
            c, movers = ended.market, ended.movers
            self.in_transit[c] -= movers
            target = max((x for x in self.live.values() if x.market == c), key=lambda x: (x.users, -x.idx), default=None)
            if target is None:
                self.unserved[c] += movers
            else:
                self.gain_users(target, movers)
                self.today["migrated"] += movers
        eligible: defaultdict[int, list[PirateNetwork]] = defaultdict(list)
        for net in self.live.values():
            if not net.blocked:
                eligible[net.market].append(net)
        for c in range(w.n_countries):
            back = share_of(self.lapsed[c], w.return_fx)
            self.lapsed[c] -= back
            self.unserved[c] += back
            nets = eligible.get(c)
            if not nets:
                continue
            gain = share_of(self.unserved[c], w.acquire_fx)
            base, extra = divmod(gain, len(nets))
            for i, net in enumerate(nets):
                self.gain_users(net, base + (1 if i < extra else 0))
            self.unserved[c] -= gain

    def reprovisioning(self, t: int) -> None:
        """11. Every country's heat decays; live networks replace missing servers."""
        k = self.world.heat_shift
        self.heat = [h - (h >> k) for h in self.heat]
        for net in self.live.values():
            net.rebuild(t)

    def record(self, t: int) -> None:
        """11. The day's row: flows counted today, stocks at the end of the day."""
        up = self.up_by_country
        self.row = {c: self.today[c] for c in FLOWS}
        served = [0] * self.world.n_countries
        live_in = [0] * self.world.n_countries
        for net in self.live.values():
            served[net.market] += net.users
            live_in[net.market] += 1
        self.row.update(day=t, networks=len(self.live), servers_up=len(self.up_servers),
                        servers_up_haven=int(up[self.haven_mask].sum()), cases_open=self.n_cases_open,
                        mla_backlog=sum(len(c.mla_queue) for c in self.countries), users_served=sum(served),
                        users_unserved=sum(self.unserved), users_lapsed=sum(self.lapsed),
                        users_in_transit=sum(self.in_transit),
                        markets_available=sum(1 for c, d in enumerate(self.world.demand_units) if d > 0 and live_in[c]))
        self.users_rows.append([t] + served)
        self.datacollector.collect(self)
        self.by_country_rows.append(np.concatenate([[t], up]))

    # ------------------------------------------------------------------ outputs

    def result(self) -> RunResult:
        """The five tables (docs/ODD.md, Outputs) for the days run so far, as raw int64 arrays like the compiled
        engine's (DataFrames are built when a table is read as one)."""
        w = self.world
        countries = ("day",) + w.country_ids
        daily = self.datacollector.get_model_vars_dataframe()[list(DAILY_COLUMNS)].to_numpy(dtype=np.int64)
        networks = [[n.idx, n.predecessor, n.born, n.ended, n.cause, n.home, n.market, n.servers_created,
                     n.takedowns, n.seizures, n.notices, n.cases, n.arrested_by, n.first_case, n.users_peak,
                     n.blocked_day, n.cut_day] for n in self.networks]
        requests = [[r.id, r.case, r.server, r.lead, r.requested, r.kind, r.created, r.started, r.resolved,
                     r.outcome] for r in self.requests]
        return RunResult.from_arrays({"daily": (daily, DAILY_COLUMNS),
                                      "servers_by_country": (self.by_country_rows, countries),
                                      "networks": (networks, NETWORK_COLUMNS), "requests": (requests, REQUEST_COLUMNS),
                                      "users_by_market": (self.users_rows, countries)}, run_meta(w, self.seed, "mesa"))


def run_mesa(world: World, seed: int | None = None, progress: Callable[[int], None] | None = None) -> RunResult:
    """Run the reference engine for the whole horizon; ``progress(days_done)`` is called after each day."""
    model = PiracyModel(world, seed)
    for _ in range(world.horizon):
        model.step()
        if progress is not None:
            progress(1)
    return model.result()
