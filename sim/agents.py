"""The agents of the reference engine: countries, hosting providers, pirate networks and their servers.

Each agent holds its own state and behaviour; cases and requests are plain records. All randomness goes
through ``model.u(stream, t, a, b)`` (the counter generator), never Mesa's ``model.random``, and every
probability and delay table comes from the compiled world: the agents do no floating-point work of their own.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa

from sim import rng as R
from sim.outputs import CAUSE_ALIVE, OUTCOME_OPEN

if TYPE_CHECKING:
    from sim.model import PiracyModel

# Server removal causes and case stages (docs/ODD.md).
TAKEDOWN, SEIZURE, ARREST, QUIT = 1, 2, 3, 4
EVIDENCE, ARRESTING, CLOSED = 0, 1, 2


@dataclass(slots=True)
class Case:
    """An investigation led by the market country of a network."""

    id: int
    network: int
    lead: int
    opened: int
    stage: int = EVIDENCE
    pending: int = 0
    evidence: int = 0
    identified: bool = False
    arrest_due: int = 0
    arrested_by: int = -1


@dataclass(slots=True)
class Request:
    """A request for evidence: held on one server (by route, docs/ODD.md, phase 5) or a money trail (server -1)."""

    id: int
    case: int
    server: int
    lead: int
    requested: int
    kind: int
    created: int
    preserved: bool = False
    started: int = -1
    due: int = 0
    resolved: int = -1
    outcome: int = OUTCOME_OPEN


class Country(mesa.Agent):
    """A jurisdiction: leads cases in its market, and answers other countries' MLA requests from a FIFO queue."""

    def __init__(self, model: "PiracyModel", idx: int) -> None:
        super().__init__(model)
        w = model.world
        self.idx = idx
        self.code = w.country_ids[idx]
        self.capacity = int(w.capacity[idx])
        self.open_prob = float(w.open_prob[idx])
        self.mla_per_day = int(w.mla_per_day[idx])
        self.open_cases = 0
        self.mla_queue: deque[Request] = deque()

    def consider_complaint(self, network: "PirateNetwork", t: int) -> None:
        """A complaint about ``network`` (enough notices): open a case if there is capacity and the law allows."""
        m = self.model
        if self.open_cases >= self.capacity:
            return  # no capacity: the complaint waits until tomorrow
        network.notices_since_case = 0
        if m.u(R.OPEN, t, network.idx) < self.open_prob:
            m.open_case(network, self, t)

    def work_mla_queue(self, t: int) -> None:
        """Start up to ``mla_per_day`` queued incoming requests, first in first out."""
        m = self.model
        for _ in range(min(self.mla_per_day, len(self.mla_queue))):
            req = self.mla_queue.popleft()
            req.started = t
            m.schedule_request(req, int(m.world.mla_chan[req.lead, self.idx]), t)


class HostingProvider(mesa.Agent):
    """A hosting provider: on a notice it removes the server, or the host country's police may seize it."""

    def __init__(self, model: "PiracyModel", idx: int) -> None:
        super().__init__(model)
        w = model.world
        self.idx = idx
        self.code = w.provider_ids[idx]
        self.country = int(w.provider_country[idx])
        self.compliance = float(w.compliance[idx])
        self.notice_tab = int(w.notice_tab[idx])

    def answer_notice(self, server: "Server", t: int) -> None:
        """A notice on ``server`` is due today: comply (takedown), else maybe a referral to the police."""
        m = self.model
        s = server.idx
        if m.u(R.COMPLY, t, s) < self.compliance:
            m.remove_server(server, t, TAKEDOWN)
            m.today["takedowns"] += 1
            m.networks[server.network].takedowns += 1
            m.quit_check(server, t)
        elif m.u(R.SEIZE, t, s) < m.world.seize_prob[self.country]:
            server.seize_due = t + m.draw(int(m.world.court_tab[self.country]), m.u(R.COURT_DELAY, t, s))
            m.seizure_calendar.add(server.seize_due, s)
            m.today["referrals"] += 1


class Server(mesa.Agent):
    """One server a network rents from a provider; evidence about its operator lives in the provider's logs."""

    def __init__(self, model: "PiracyModel", idx: int, network: int, provider: int, t: int) -> None:
        super().__init__(model)
        self.idx = idx
        self.network = network
        self.provider = provider
        self.country = int(model.world.provider_country[provider])
        self.up = True
        self.born = t
        self.removed_day = -1
        self.removal_cause = 0
        self.seized = False
        self.notice_due = 0
        self.seize_due = 0

    def bears_evidence(self, t: int, retention: int) -> bool:
        """Whether the logs of this server still say something on day ``t``."""
        return self.up or self.seized or t - self.removed_day <= retention


class PirateNetwork(mesa.Agent):
    """A piracy operation: an operator at ``home`` serving customers in ``market`` from rented servers."""

    def __init__(self, model: "PiracyModel", idx: int, home: int, market: int, predecessor: int, t: int) -> None:
        super().__init__(model)
        self.idx = idx
        self.home = home
        self.market = market
        self.predecessor = predecessor
        self.born = t
        self.ended = -1
        self.cause = CAUSE_ALIVE
        self.notices_since_case = 0
        self.case = -1
        self.first_case = -1
        self.arrested_by = -1
        # stage B: users (units), interventions, and the servers it lost per host country (its memory)
        self.users = self.users_peak = 0
        self.blocked = self.cut = False
        self.block_due = self.cutoff_due = 0
        self.blocked_day = self.cut_day = -1
        self.movers = 0
        self.memory: Counter[int] = Counter()
        self.servers: list[Server] = []
        self.n_up = 0
        self.servers_created = self.takedowns = self.seizures = self.notices = self.cases = 0

    @property
    def alive(self) -> bool:
        """True until arrest or quitting."""
        return self.ended == -1

    def rebuild(self, t: int) -> None:
        """Each missing server is replaced with probability ``reprovision_prob`` (one draw per slot)."""
        m = self.model
        p = m.world.reprovision_prob
        for slot in range(m.world.servers_per_network - self.n_up):
            if m.u(R.REPROVISION, t, self.idx, slot) < p:
                m.provision(self, t)
                m.today["reprovisions"] += 1

    def joint_coverage(self, lead: int) -> tuple[int, int]:
        """(j, u): up servers in countries acting jointly with ``lead``, and all up servers."""
        joint = self.model.world.joint
        up = [s for s in self.servers if s.up]
        return sum(int(joint[lead, s.country]) for s in up), len(up)


__all__ = ["Case", "Request", "Country", "HostingProvider", "Server", "PirateNetwork",
           "TAKEDOWN", "SEIZURE", "ARREST", "QUIT", "EVIDENCE", "ARRESTING", "CLOSED"]
