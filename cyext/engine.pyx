# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The compiled engine: docs/ODD.md as arrays of state plus one function per phase.

Read it next to ``sim/model.py``: the phases carry the same names in the same order. State is a structure of
arrays (one growable C array per field of each entity kind, no Python object per entity); the whole day loop
runs without the GIL; the only floating-point operations compare a uniform with a number the world compiler
computed (and ``u * 1000`` to index a delay table, as the Mesa engine does).

Lists of "up servers", "live networks" and "cases waiting for evidence" are kept in ascending id order and
compacted lazily by the phases that walk them; events due on a day sit in per-day linked lists ("calendars")
that are sorted by id when the day comes.
"""

import numpy as np

from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, malloc, qsort, realloc
from libc.string cimport memset

from cyext.rng cimport mix, prefix, top53_at, uniform_at

cdef extern from *:
    ctypedef unsigned long long u128 "unsigned __int128"  # gcc's 128-bit integer: exact weighted draws

from sim.outputs import DAILY_COLUMNS, NETWORK_COLUMNS, REQUEST_COLUMNS, RunResult, frame, run_meta

# Streams (docs/ODD.md)
cdef enum:
    ENTRY = 1
    HOME = 2
    MARKET = 3
    HOST = 4
    DETECT = 5
    NOTICE_DELAY = 6
    COMPLY = 7
    SEIZE = 8
    COURT_DELAY = 9
    QUIT_S = 10
    OPEN = 11
    REQ_DELAY = 12
    GRANT = 13
    IDENT = 14
    EXTRADITE = 15
    ARREST_DELAY = 16
    SUCCESSOR = 17
    SUCC_DELAY = 18
    REPROVISION = 19
    RESIDENCE = 20
    MONEY = 21
    PROSECUTE = 22
    MIGRATE_DELAY = 23
    BLOCK_DELAY = 24
    CUTOFF_DELAY = 25
    CUTOFF_QUIT = 26
    HOST_ACCEPT = 27
    HOST_EXACT = 28

cdef enum:
    K_TABLE = 1000

# Daily table columns (the order of sim.outputs.DAILY_COLUMNS; checked at import below)
cdef enum:
    D_DAY = 0
    D_NETWORKS = 1
    D_SERVERS_UP = 2
    D_SERVERS_UP_HAVEN = 3
    D_ENTRIES = 4
    D_SUCCESSORS = 5
    D_NOTICES = 6
    D_TAKEDOWNS = 7
    D_REFERRALS = 8
    D_SEIZURES = 9
    D_QUITS = 10
    D_CASES_OPEN = 11
    D_CASES_OPENED = 12
    D_REQUESTS_SENT = 13
    D_MLA_BACKLOG = 14
    D_REQUESTS_ANSWERED = 15
    D_REQUESTS_REFUSED = 16
    D_EVIDENCE_OBTAINED = 17
    D_EVIDENCE_LOST = 18
    D_CASES_FAILED_EVIDENCE = 19
    D_CASES_FAILED_HAVEN = 20
    D_CASES_TIMED_OUT = 21
    D_CASES_MOOT = 22
    D_ARRESTS = 23
    D_REPROVISIONS = 24
    D_REQUESTS_VOLUNTARY = 25
    D_REQUESTS_ORDER = 26
    D_REQUESTS_JIT = 27
    D_REQUESTS_MONEY = 28
    D_FALLBACKS = 29
    D_CASES_IDENTIFIED = 30
    D_PROSECUTIONS_HOME = 31
    D_USERS_SERVED = 32
    D_USERS_UNSERVED = 33
    D_USERS_LAPSED = 34
    D_USERS_IN_TRANSIT = 35
    D_MIGRATED = 36
    D_MARKETS_AVAILABLE = 37
    D_BLOCKING_ORDERS = 38
    D_CUTOFFS = 39
    D_CUTOFF_QUITS = 40
    N_DAILY = 41

# Codes (sim.outputs / sim.agents)
cdef enum:
    CAUSE_ALIVE = 0
    CAUSE_ARREST = 1
    CAUSE_QUIT = 2
    ST_EVIDENCE = 0
    ST_ARRESTING = 1
    ST_CLOSED = 2
    KIND_DOMESTIC = 0
    KIND_MLA = 1
    KIND_VOLUNTARY = 2
    KIND_ORDER = 3
    KIND_JIT = 4
    KIND_MONEY = 5
    N_NET_COLS = 17
    SRV_DOWN = 0
    SRV_IDLE = 1
    SRV_BUSY = 2
    FX_BITS = 20
    HEAT_LEVELS = 16
    HOST_TRIES = 64
    ACCEPT_BITS = 40
    OUT_OPEN = 0
    OUT_EVIDENCE = 1
    OUT_REFUSED = 2
    OUT_LOST = 3
    OUT_DROPPED = 4

_DAILY_ORDER = ("day", "networks", "servers_up", "servers_up_haven", "entries", "successors", "notices",
                "takedowns", "referrals", "seizures", "quits", "cases_open", "cases_opened", "requests_sent",
                "mla_backlog", "requests_answered", "requests_refused", "evidence_obtained", "evidence_lost",
                "cases_failed_evidence", "cases_failed_haven", "cases_timed_out", "cases_moot", "arrests",
                "reprovisions", "requests_voluntary", "requests_order", "requests_jit", "requests_money", "fallbacks",
                "cases_identified", "prosecutions_home", "users_served", "users_unserved", "users_lapsed",
                "users_in_transit", "migrated", "markets_available", "blocking_orders", "cutoffs", "cutoff_quits")
if _DAILY_ORDER != tuple(DAILY_COLUMNS):  # the D_* indices above must follow the table's column order
    raise ImportError("cyext.engine daily columns are out of step with sim.outputs.DAILY_COLUMNS")


# ---------------------------------------------------------------------------------------------- small helpers

cdef struct Vec:
    int64_t* data
    int64_t n
    int64_t cap


cdef int vec_push(Vec* v, int64_t x) noexcept nogil:
    cdef int64_t* p
    if v.n == v.cap:
        p = <int64_t*>realloc(v.data, (v.cap * 2 + 16) * sizeof(int64_t))
        if p == NULL:
            return -1
        v.data = p
        v.cap = v.cap * 2 + 16
    v.data[v.n] = x
    v.n += 1
    return 0


cdef int cmp_i64(const void* a, const void* b) noexcept nogil:
    cdef int64_t x = (<const int64_t*>a)[0]
    cdef int64_t y = (<const int64_t*>b)[0]
    return (x > y) - (x < y)


cdef inline int64_t pick(const double* cum, int64_t n, double u) noexcept nogil:
    """The smallest i with u < cum[i] (bisect_right)."""
    cdef int64_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if u < cum[mid]:
            hi = mid
        else:
            lo = mid + 1
    return lo


cdef int regrow(int64_t** p, int64_t cap) noexcept nogil:
    """Grow ``*p`` to ``cap`` entries; on failure ``*p`` is left as it was (still valid) and -1 returned."""
    cdef int64_t* q = <int64_t*>realloc(p[0], cap * sizeof(int64_t))
    if q == NULL:
        return -1
    p[0] = q
    return 0


cdef const int64_t* i64(object arr, list keep) except NULL:
    a = np.ascontiguousarray(arr, dtype=np.int64)
    keep.append(a)
    cdef const int64_t[::1] view = a.reshape(-1)
    return &view[0]


cdef const double* f64(object arr, list keep) except NULL:
    a = np.ascontiguousarray(arr, dtype=np.float64)
    keep.append(a)
    cdef const double[::1] view = a.reshape(-1)
    return &view[0]


# ---------------------------------------------------------------------------------------------- the engine

cdef class Engine:
    """One run's state: the compiled world's numbers, the entities as arrays, and the output buffers."""

    # world
    cdef uint64_t mixed_seed  # mix(seed): the first round of every draw
    cdef uint64_t detect_thr  # ceil(detect_prob * 2**53) (World.detect_threshold)
    cdef int64_t T, C, P, S, Kcap, spn, threshold, timeout, succ_tab, evidence_first
    cdef double reprov_p, quit_p, ident_p, home_in_market, money_p, money_ident_p, cutoff_quit_p
    cdef int64_t entry_demand, acquire_fx, return_fx, migrate_fx, migration_tab, block_after, block_tab, block_fx
    cdef int64_t cutoff_after, cutoff_tab, adaptive, heat_shift, memory_fx
    cdef const int64_t* demand_units
    cdef const double* entry_dq
    cdef const int64_t* entry_dq_off
    cdef const int64_t* blocks
    cdef const int64_t* cuts
    cdef const int64_t* accept
    cdef const int64_t* host_wq
    cdef const int64_t* host_wq_cum
    cdef const int64_t* host_countries
    cdef int64_t n_host_countries
    cdef const int64_t* delays
    cdef const int64_t* court_tab
    cdef const int64_t* notice_tab
    cdef const int64_t* mla_chan
    cdef const int64_t* arrest_chan
    cdef const int64_t* order_chan
    cdef const double* open_prob
    cdef const double* grant_prob
    cdef const double* seize_prob
    cdef const double* extradite_prob
    cdef const int64_t* extradites_nationals
    cdef const double* prosecute_prob
    cdef const int64_t* haven
    cdef const int64_t* capacity
    cdef const int64_t* mla_per_day
    cdef const int64_t* retention
    cdef const int64_t* preserve
    cdef const int64_t* joint
    cdef const int64_t* jit
    cdef const int64_t* surrender_nat
    cdef const double* succ_q
    cdef const double* home_cum
    cdef const double* market_cum
    cdef const double* host_cum
    cdef const int64_t* prov_country
    cdef const double* compliance
    cdef const double* discloses
    cdef const int64_t* disclosure_tab
    cdef const double* order_compliance
    cdef const double* entry_q
    cdef list keep

    # countries
    cdef int64_t* open_cases
    cdef int64_t* q_head
    cdef int64_t* q_tail
    cdef int64_t* q_len
    cdef int64_t* up_by_country
    cdef int64_t* unserved
    cdef int64_t* lapsed
    cdef int64_t* in_transit
    cdef int64_t* heat
    cdef int64_t* mk_live         # per market, kept up to date: live networks, live unblocked networks, users served
    cdef int64_t* mk_open
    cdef int64_t* mk_served
    cdef int64_t* scratch_gain    # per market, within the users phase: today's acquisition and how many got theirs
    cdef int64_t* scratch_rank
    cdef int64_t* eco_level       # per country, kept up to date when adaptive: min(15, ecosystem heat level)
    cdef int64_t* is_host         # per country: 1 if it hosts a provider of positive weight
    cdef int64_t eco_hist[16]     # host countries per ecosystem level (its lowest non-empty bin normalises)
    cdef bint any_interventions

    # networks
    cdef int64_t n_net, cap_net
    cdef int64_t* net_home
    cdef int64_t* net_market
    cdef int64_t* net_pred
    cdef int64_t* net_born
    cdef int64_t* net_ended
    cdef int64_t* net_cause
    cdef int64_t* net_nsc
    cdef int64_t* net_case
    cdef int64_t* net_nup
    cdef int64_t* net_created
    cdef int64_t* net_takedowns
    cdef int64_t* net_seizures
    cdef int64_t* net_notices
    cdef int64_t* net_cases
    cdef int64_t* net_first
    cdef int64_t* net_last
    cdef int64_t* net_succ_next
    cdef int64_t* net_arrested_by
    cdef int64_t* net_first_case
    cdef int64_t* net_users
    cdef int64_t* net_users_peak
    cdef int64_t* net_blocked_day
    cdef int64_t* net_cut_day
    cdef int64_t* net_block_due
    cdef int64_t* net_cutoff_due
    cdef int64_t* net_movers
    cdef int64_t* net_mig_next
    cdef int64_t* net_mem          # (cap_net, C): servers the network lost per host country

    # servers
    cdef int64_t n_srv, cap_srv
    cdef int64_t* srv_net
    cdef int64_t* srv_prov
    cdef int64_t* srv_country
    cdef int64_t* srv_up
    cdef int64_t* srv_removed
    cdef int64_t* srv_seized
    cdef int64_t* srv_notice_due
    cdef int64_t* srv_seize_due
    cdef int64_t* srv_sibling
    cdef int64_t* srv_notice_next
    cdef int64_t* srv_seize_next
    cdef unsigned char* srv_state   # SRV_DOWN, SRV_IDLE (up, nothing pending) or SRV_BUSY: what detection reads

    # cases
    cdef int64_t n_case, cap_case
    cdef int64_t* case_net
    cdef int64_t* case_lead
    cdef int64_t* case_opened
    cdef int64_t* case_stage
    cdef int64_t* case_pending
    cdef int64_t* case_evidence
    cdef int64_t* case_identified
    cdef int64_t* case_arrested_by
    cdef int64_t* case_arrest_next

    # requests
    cdef int64_t n_req, cap_req
    cdef int64_t* req_case
    cdef int64_t* req_server
    cdef int64_t* req_lead
    cdef int64_t* req_requested
    cdef int64_t* req_kind
    cdef int64_t* req_created
    cdef int64_t* req_started
    cdef int64_t* req_resolved
    cdef int64_t* req_preserved
    cdef int64_t* req_outcome
    cdef int64_t* req_due_next
    cdef int64_t* req_queue_next

    # calendars: head of the linked list of ids due on each day 0..T (-1 = none)
    cdef int64_t* cal_notice
    cdef int64_t* cal_seize
    cdef int64_t* cal_request
    cdef int64_t* cal_arrest
    cdef int64_t* cal_successor
    cdef int64_t* cal_migrate

    # ordered id lists and stocks
    cdef Vec up_list
    cdef Vec live_list
    cdef Vec evidence_list
    cdef Vec due
    cdef int64_t n_live, n_up, n_cases_open, backlog
    cdef int failed

    # outputs
    cdef int64_t* daily
    cdef int64_t* by_country
    cdef int64_t* users_by_market
    cdef int64_t* row
    cdef object daily_arr, by_country_arr, users_arr

    def __cinit__(self):
        self.failed = 0

    def __init__(self, world, seed):
        w = world
        self.keep = []
        self.mixed_seed = mix(<uint64_t>(int(seed) & 0xFFFFFFFFFFFFFFFF))
        self.T, self.C, self.P = w.horizon, w.n_countries, w.n_providers
        self.S, self.Kcap, self.spn = w.entry_slots, w.market_capacity, w.servers_per_network
        self.threshold, self.timeout, self.succ_tab = w.case_threshold, w.case_timeout_days, w.successor_tab
        self.reprov_p, self.quit_p = w.reprovision_prob, w.quit_prob
        self.detect_thr = <uint64_t>w.detect_threshold
        self.ident_p, self.home_in_market, self.evidence_first = w.identify_prob, w.home_in_market, w.evidence_first
        self.money_p, self.money_ident_p = w.money_trail_prob, w.money_identify_prob
        self.entry_demand, self.acquire_fx, self.return_fx = w.entry_demand, w.acquire_fx, w.return_fx
        self.migrate_fx, self.migration_tab, self.block_after = w.migrate_fx, w.migration_tab, w.block_after
        self.block_tab, self.block_fx, self.cutoff_after = w.block_tab, w.block_fx, w.cutoff_after
        self.cutoff_tab, self.cutoff_quit_p, self.adaptive = w.cutoff_tab, w.cutoff_quit_prob, w.adaptive
        self.heat_shift, self.memory_fx = w.heat_shift, w.memory_fx
        self.demand_units = i64(w.demand_units, self.keep)
        self.entry_dq = f64(w.entry_dq, self.keep)
        self.entry_dq_off = i64(w.entry_dq_off, self.keep)
        self.blocks = i64(w.blocks, self.keep)
        self.cuts = i64(w.cuts, self.keep)
        self.accept = i64(w.accept, self.keep)
        self.host_wq = i64(w.host_wq, self.keep)
        self.host_wq_cum = i64(w.host_wq_cum, self.keep)
        self.host_countries = i64(w.host_countries, self.keep)
        self.n_host_countries = len(w.host_countries)
        self.delays = i64(w.delays, self.keep)
        self.court_tab = i64(w.court_tab, self.keep)
        self.notice_tab = i64(w.notice_tab, self.keep)
        self.mla_chan = i64(w.mla_chan, self.keep)
        self.arrest_chan = i64(w.arrest_chan, self.keep)
        self.order_chan = i64(w.order_chan, self.keep)
        self.open_prob = f64(w.open_prob, self.keep)
        self.grant_prob = f64(w.grant_prob, self.keep)
        self.seize_prob = f64(w.seize_prob, self.keep)
        self.extradite_prob = f64(w.extradite_prob, self.keep)
        self.extradites_nationals = i64(w.extradites_nationals, self.keep)
        self.prosecute_prob = f64(w.prosecute_prob, self.keep)
        self.haven = i64(w.haven, self.keep)
        self.capacity = i64(w.capacity, self.keep)
        self.mla_per_day = i64(w.mla_per_day, self.keep)
        self.retention = i64(w.retention, self.keep)
        self.preserve = i64(w.preserve, self.keep)
        self.joint = i64(w.joint, self.keep)
        self.jit = i64(w.jit, self.keep)
        self.surrender_nat = i64(w.surrender_nat, self.keep)
        self.succ_q = f64(w.succ_q, self.keep)
        self.home_cum = f64(w.home_cum, self.keep)
        self.market_cum = f64(w.market_cum, self.keep)
        self.host_cum = f64(w.host_cum, self.keep)
        self.prov_country = i64(w.provider_country, self.keep)
        self.compliance = f64(w.compliance, self.keep)
        self.discloses = f64(w.discloses, self.keep)
        self.disclosure_tab = i64(w.disclosure_tab, self.keep)
        self.order_compliance = f64(w.order_compliance, self.keep)
        self.entry_q = f64(w.entry_q, self.keep)

        cdef int64_t C = self.C, T = self.T, i
        self.open_cases = self.filled(C, 0)
        self.q_head = self.filled(C, -1)
        self.q_tail = self.filled(C, -1)
        self.q_len = self.filled(C, 0)
        self.up_by_country = self.filled(C, 0)
        self.unserved = self.filled(C, 0)
        for i in range(C):
            self.unserved[i] = self.demand_units[i]
        self.lapsed = self.filled(C, 0)
        self.in_transit = self.filled(C, 0)
        self.heat = self.filled(C, 0)
        self.mk_live = self.filled(C, 0)
        self.mk_open = self.filled(C, 0)
        self.mk_served = self.filled(C, 0)
        self.scratch_gain = self.filled(C, 0)
        self.scratch_rank = self.filled(C, 0)
        self.eco_level = self.filled(C, 0)
        self.is_host = self.filled(C, 0)
        for i in range(HEAT_LEVELS):
            self.eco_hist[i] = 0
        for i in range(self.n_host_countries):
            self.is_host[self.host_countries[i]] = 1
        self.eco_hist[0] = self.n_host_countries  # no heat yet: every host country at level 0
        self.any_interventions = bool(np.any(w.blocks) or np.any(w.cuts))
        self.cal_notice = self.filled(T + 1, -1)
        self.cal_seize = self.filled(T + 1, -1)
        self.cal_request = self.filled(T + 1, -1)
        self.cal_arrest = self.filled(T + 1, -1)
        self.cal_successor = self.filled(T + 1, -1)
        self.cal_migrate = self.filled(T + 1, -1)

        self.daily_arr = np.zeros((T, N_DAILY), dtype=np.int64)
        self.by_country_arr = np.zeros((T, C + 1), dtype=np.int64)
        self.users_arr = np.zeros((T, C + 1), dtype=np.int64)
        cdef int64_t[:, ::1] dv = self.daily_arr
        cdef int64_t[:, ::1] bv = self.by_country_arr
        cdef int64_t[:, ::1] uv = self.users_arr
        if T > 0:
            self.daily = &dv[0, 0]
            self.by_country = &bv[0, 0]
            self.users_by_market = &uv[0, 0]

        n0 = max(16, w.initial_networks * 2)
        if (self.grow_networks(n0) or self.grow_servers(n0 * w.servers_per_network) or self.grow_cases(64)
                or self.grow_requests(256)):
            raise MemoryError()
        for i in range(w.initial_networks):
            self.create_network(0, -1, -1)
        if self.failed:
            raise MemoryError()
        self.split_initial_demand()

    cdef void split_initial_demand(self) noexcept nogil:
        """Each market's user units split equally among its initial networks (the lowest ids get the rest)."""
        cdef int64_t i, n, c
        for i in range(self.live_list.n):
            n = self.live_list.data[i]
            c = self.net_market[n]
            self.gain_users(n, self.unserved[c] // self.mk_live[c]
                            + (1 if self.scratch_rank[c] < self.unserved[c] % self.mk_live[c] else 0))
            self.scratch_rank[c] += 1
        for c in range(self.C):
            if self.mk_live[c]:
                self.unserved[c] = 0

    cdef inline void gain_users(self, int64_t n, int64_t units) noexcept nogil:
        self.net_users[n] += units
        self.mk_served[self.net_market[n]] += units
        if self.net_users[n] > self.net_users_peak[n]:
            self.net_users_peak[n] = self.net_users[n]

    cdef int64_t* filled(self, int64_t n, int64_t value) except NULL:
        cdef int64_t* p = <int64_t*>malloc((n if n > 0 else 1) * sizeof(int64_t))
        cdef int64_t i
        if p == NULL:
            raise MemoryError()
        for i in range(n):
            p[i] = value
        return p

    def __dealloc__(self):
        free(self.open_cases); free(self.q_head); free(self.q_tail); free(self.q_len); free(self.up_by_country)
        free(self.cal_notice); free(self.cal_seize); free(self.cal_request); free(self.cal_arrest)
        free(self.cal_successor); free(self.cal_migrate)
        free(self.unserved); free(self.lapsed); free(self.in_transit); free(self.heat)
        free(self.mk_live); free(self.mk_open); free(self.mk_served); free(self.scratch_gain); free(self.scratch_rank)
        free(self.eco_level); free(self.is_host)
        free(self.net_users); free(self.net_users_peak); free(self.net_blocked_day); free(self.net_cut_day)
        free(self.net_block_due); free(self.net_cutoff_due); free(self.net_movers); free(self.net_mig_next)
        free(self.net_mem)
        free(self.net_home); free(self.net_market); free(self.net_pred); free(self.net_born); free(self.net_ended)
        free(self.net_cause); free(self.net_nsc); free(self.net_case); free(self.net_nup); free(self.net_created)
        free(self.net_takedowns); free(self.net_seizures); free(self.net_notices); free(self.net_cases)
        free(self.net_first); free(self.net_last); free(self.net_succ_next); free(self.net_arrested_by)
        free(self.net_first_case)
        free(self.srv_net); free(self.srv_prov); free(self.srv_country); free(self.srv_up); free(self.srv_removed)
        free(self.srv_seized); free(self.srv_notice_due); free(self.srv_seize_due); free(self.srv_sibling)
        free(self.srv_notice_next); free(self.srv_seize_next); free(self.srv_state)
        free(self.case_net); free(self.case_lead); free(self.case_opened); free(self.case_stage)
        free(self.case_pending); free(self.case_evidence); free(self.case_identified); free(self.case_arrested_by)
        free(self.case_arrest_next)
        free(self.req_case); free(self.req_server); free(self.req_lead); free(self.req_requested)
        free(self.req_kind); free(self.req_created); free(self.req_started); free(self.req_resolved)
        free(self.req_preserved); free(self.req_outcome); free(self.req_due_next); free(self.req_queue_next)
        free(self.up_list.data); free(self.live_list.data); free(self.evidence_list.data); free(self.due.data)

    # ------------------------------------------------------------------ growth (structure of arrays)

    # Each grow_* leaves every array valid (grown or not) and updates the capacity only when all grew, so a
    # failed allocation is reported (``failed``, then MemoryError) and never written past.

    cdef int grow_networks(self, int64_t cap) noexcept nogil:
        if (regrow(&self.net_home, cap) or regrow(&self.net_market, cap) or regrow(&self.net_pred, cap)
                or regrow(&self.net_born, cap) or regrow(&self.net_ended, cap) or regrow(&self.net_cause, cap)
                or regrow(&self.net_nsc, cap) or regrow(&self.net_case, cap) or regrow(&self.net_nup, cap)
                or regrow(&self.net_created, cap) or regrow(&self.net_takedowns, cap)
                or regrow(&self.net_seizures, cap) or regrow(&self.net_notices, cap) or regrow(&self.net_cases, cap)
                or regrow(&self.net_first, cap) or regrow(&self.net_last, cap) or regrow(&self.net_succ_next, cap)
                or regrow(&self.net_arrested_by, cap) or regrow(&self.net_first_case, cap)
                or regrow(&self.net_users, cap) or regrow(&self.net_users_peak, cap)
                or regrow(&self.net_blocked_day, cap) or regrow(&self.net_cut_day, cap)
                or regrow(&self.net_block_due, cap) or regrow(&self.net_cutoff_due, cap)
                or regrow(&self.net_movers, cap) or regrow(&self.net_mig_next, cap)
                or regrow(&self.net_mem, cap * self.C)):
            self.failed = 1
            return 1
        self.cap_net = cap
        return 0

    cdef int grow_servers(self, int64_t cap) noexcept nogil:
        cdef unsigned char* st
        if (regrow(&self.srv_net, cap) or regrow(&self.srv_prov, cap) or regrow(&self.srv_country, cap)
                or regrow(&self.srv_up, cap) or regrow(&self.srv_removed, cap) or regrow(&self.srv_seized, cap)
                or regrow(&self.srv_notice_due, cap) or regrow(&self.srv_seize_due, cap)
                or regrow(&self.srv_sibling, cap) or regrow(&self.srv_notice_next, cap)
                or regrow(&self.srv_seize_next, cap)):
            self.failed = 1
            return 1
        st = <unsigned char*>realloc(self.srv_state, cap)
        if st == NULL:
            self.failed = 1
            return 1
        self.srv_state = st
        self.cap_srv = cap
        return 0

    cdef int grow_cases(self, int64_t cap) noexcept nogil:
        if (regrow(&self.case_net, cap) or regrow(&self.case_lead, cap) or regrow(&self.case_opened, cap)
                or regrow(&self.case_stage, cap) or regrow(&self.case_pending, cap) or regrow(&self.case_evidence, cap)
                or regrow(&self.case_identified, cap) or regrow(&self.case_arrested_by, cap)
                or regrow(&self.case_arrest_next, cap)):
            self.failed = 1
            return 1
        self.cap_case = cap
        return 0

    cdef int grow_requests(self, int64_t cap) noexcept nogil:
        if (regrow(&self.req_case, cap) or regrow(&self.req_server, cap) or regrow(&self.req_lead, cap)
                or regrow(&self.req_requested, cap) or regrow(&self.req_kind, cap) or regrow(&self.req_created, cap)
                or regrow(&self.req_started, cap) or regrow(&self.req_resolved, cap)
                or regrow(&self.req_preserved, cap) or regrow(&self.req_outcome, cap)
                or regrow(&self.req_due_next, cap) or regrow(&self.req_queue_next, cap)):
            self.failed = 1
            return 1
        self.cap_req = cap
        return 0

    # ------------------------------------------------------------------ helpers shared by the phases

    cdef inline double u(self, int64_t stream, int64_t t, int64_t a, int64_t b) noexcept nogil:
        return uniform_at(prefix(self.mixed_seed, <uint64_t>stream, <uint64_t>t), <uint64_t>a, <uint64_t>b)

    cdef inline int64_t draw(self, int64_t table, double u) noexcept nogil:
        return self.delays[table * K_TABLE + <int64_t>(u * K_TABLE)]

    cdef inline void cal_add(self, int64_t* head, int64_t* nxt, int64_t day, int64_t idx) noexcept nogil:
        if day <= self.T:  # days past the horizon never come
            nxt[idx] = head[day]
            head[day] = idx

    cdef void cal_pop(self, int64_t* head, int64_t* nxt, int64_t t) noexcept nogil:
        """Today's ids into ``self.due``, ascending."""
        cdef int64_t i = head[t], j, n, x
        cdef int64_t* a
        self.due.n = 0
        while i != -1:
            if vec_push(&self.due, i):
                self.failed = 1
                return
            i = nxt[i]
        head[t] = -1
        # The list holds the latest addition first, and additions mostly come in ascending id order: reversed,
        # it is usually sorted already, which one pass confirms; otherwise sort.
        a = self.due.data
        n = self.due.n
        for i in range(n // 2):
            x = a[i]
            a[i] = a[n - 1 - i]
            a[n - 1 - i] = x
        if n > 64:
            for i in range(1, n):
                if a[i - 1] > a[i]:
                    qsort(a, n, sizeof(int64_t), cmp_i64)
                    break
        else:  # short lists, nearly in order: insertion sort
            for i in range(1, n):
                x = a[i]
                j = i - 1
                while j >= 0 and a[j] > x:
                    a[j + 1] = a[j]
                    j -= 1
                a[j + 1] = x

    cdef int64_t create_network(self, int64_t t, int64_t pred, int64_t market) noexcept nogil:
        cdef int64_t n = self.n_net, i
        if n == self.cap_net and self.grow_networks(self.cap_net * 2):
            return -1
        if pred < 0:
            self.net_market[n] = market if market >= 0 else pick(self.market_cum, self.C, self.u(MARKET, 0, n, 0))
            if self.u(RESIDENCE, 0, n, 0) < self.home_in_market:
                self.net_home[n] = self.net_market[n]
            else:
                self.net_home[n] = pick(self.home_cum, self.C, self.u(HOME, 0, n, 0))
        else:
            self.net_home[n] = self.net_home[pred]
            self.net_market[n] = self.net_market[pred]
        self.net_pred[n] = pred
        self.net_born[n] = t
        self.net_ended[n] = -1
        self.net_cause[n] = CAUSE_ALIVE
        self.net_nsc[n] = 0
        self.net_case[n] = -1
        self.net_nup[n] = 0
        self.net_created[n] = 0
        self.net_takedowns[n] = 0
        self.net_seizures[n] = 0
        self.net_notices[n] = 0
        self.net_cases[n] = 0
        self.net_first[n] = -1
        self.net_last[n] = -1
        self.net_arrested_by[n] = -1
        self.net_first_case[n] = -1
        self.net_users[n] = 0
        self.net_users_peak[n] = 0
        self.net_blocked_day[n] = -1
        self.net_cut_day[n] = -1
        self.net_block_due[n] = 0
        self.net_cutoff_due[n] = 0
        self.net_movers[n] = 0
        memset(self.net_mem + n * self.C, 0, self.C * sizeof(int64_t))
        self.mk_live[self.net_market[n]] += 1
        self.mk_open[self.net_market[n]] += 1
        self.n_net += 1
        self.n_live += 1
        if vec_push(&self.live_list, n):
            self.failed = 1
            return -1
        for i in range(self.spn):
            self.provision(n, t)
        return n

    cdef void provision(self, int64_t n, int64_t t) noexcept nogil:
        cdef int64_t s = self.n_srv, p, c
        if s == self.cap_srv and self.grow_servers(self.cap_srv * 2):
            return
        p = self.choose_host(n, s)
        c = self.prov_country[p]
        self.srv_net[s] = n
        self.srv_prov[s] = p
        self.srv_country[s] = c
        self.srv_up[s] = 1
        self.srv_state[s] = SRV_IDLE
        self.srv_removed[s] = -1
        self.srv_seized[s] = 0
        self.srv_notice_due[s] = 0
        self.srv_seize_due[s] = 0
        self.srv_sibling[s] = -1
        if self.net_last[n] == -1:
            self.net_first[n] = s
        else:
            self.srv_sibling[self.net_last[n]] = s
        self.net_last[n] = s
        self.n_srv += 1
        if vec_push(&self.up_list, s):
            self.failed = 1
            return
        self.n_up += 1
        self.up_by_country[c] += 1
        self.refresh_eco(c)
        self.net_nup[n] += 1
        self.net_created[n] += 1

    cdef inline void refresh_eco(self, int64_t c) noexcept nogil:
        """Recompute country c's ecosystem level after its heat or its up servers changed."""
        cdef int64_t level
        if not self.adaptive:
            return
        level = ((self.heat[c] >> 16) * 10) // (self.up_by_country[c] + 1)
        if level > HEAT_LEVELS - 1:
            level = HEAT_LEVELS - 1
        if self.is_host[c]:
            self.eco_hist[self.eco_level[c]] -= 1
            self.eco_hist[level] += 1
        self.eco_level[c] = level

    cdef inline int64_t heat_level(self, int64_t n, int64_t c) noexcept nogil:
        cdef int64_t level = self.eco_level[c] + ((self.net_mem[n * self.C + c] * self.memory_fx) >> FX_BITS)
        return level if level < HEAT_LEVELS - 1 else HEAT_LEVELS - 1

    cdef int64_t choose_host(self, int64_t n, int64_t s) noexcept nogil:
        """By size (stage A's draw) without adaptation; with it, exactly proportional to weight times
        exp(-beta * (level - coolest level)) in integers: rejection, then an exact draw over every provider."""
        cdef int64_t i, p, c, d, coolest = HEAT_LEVELS, total, x, lo, hi, mid
        cdef u128 big = 0
        if not self.adaptive:
            return pick(self.host_cum, self.P, self.u(HOST, 0, s, 0))
        coolest = 0
        while self.eco_hist[coolest] == 0:  # the lowest ecosystem level among host countries
            coolest += 1
        total = self.host_wq_cum[self.P - 1]
        for i in range(HOST_TRIES):
            x = <int64_t>((<u128>top53_at(prefix(self.mixed_seed, HOST, 0), <uint64_t>s, <uint64_t>i) * <u128>total) >> 53)
            lo = 0
            hi = self.P
            while lo < hi:  # the first p with host_wq_cum[p] > x
                mid = (lo + hi) >> 1
                if x < self.host_wq_cum[mid]:
                    hi = mid
                else:
                    lo = mid + 1
            p = lo
            d = self.heat_level(n, self.prov_country[p]) - coolest
            if d == 0 or top53_at(prefix(self.mixed_seed, HOST_ACCEPT, 0), <uint64_t>s, <uint64_t>i) < (
                    <uint64_t>self.accept[d] << (53 - ACCEPT_BITS)):
                return p
        for p in range(self.P):
            if self.host_wq[p]:
                big += <u128>self.host_wq[p] * <u128>self.accept[self.heat_level(n, self.prov_country[p]) - coolest]
        big = (<u128>top53_at(prefix(self.mixed_seed, HOST_EXACT, 0), <uint64_t>s, 0) * big) >> 53
        for p in range(self.P):
            if self.host_wq[p]:
                d = self.heat_level(n, self.prov_country[p]) - coolest
                if big < <u128>self.host_wq[p] * <u128>self.accept[d]:
                    return p
                big -= <u128>self.host_wq[p] * <u128>self.accept[d]
        return self.P - 1  # unreachable: the draw is below the sum of the weights

    cdef void remove_server(self, int64_t s, int64_t t, bint hot) noexcept nogil:
        """Take a server down; a takedown or seizure (``hot``) heats its country and enters the network's memory."""
        self.srv_up[s] = 0
        self.srv_state[s] = SRV_DOWN
        self.srv_removed[s] = t
        self.srv_notice_due[s] = 0
        self.srv_seize_due[s] = 0
        self.n_up -= 1
        self.up_by_country[self.srv_country[s]] -= 1
        self.net_nup[self.srv_net[s]] -= 1
        if hot:
            self.heat[self.srv_country[s]] += 1 << 16
            self.net_mem[self.srv_net[s] * self.C + self.srv_country[s]] += 1
        self.refresh_eco(self.srv_country[s])

    cdef inline bint bears_evidence(self, int64_t s, int64_t t, int64_t retention) noexcept nogil:
        return self.srv_up[s] or self.srv_seized[s] or t - self.srv_removed[s] <= retention

    cdef void quit_check(self, int64_t s, int64_t t) noexcept nogil:
        if self.u(QUIT_S, t, s, 0) < self.quit_p:
            self.end_network(self.srv_net[s], t, CAUSE_QUIT)
            self.row[D_QUITS] += 1

    cdef void end_network(self, int64_t n, int64_t t, int64_t cause) noexcept nogil:
        cdef int64_t s = self.net_first[n], users, m, movers, due
        while s != -1:
            if self.srv_up[s]:
                self.remove_server(s, t, False)
            s = self.srv_sibling[s]
        self.net_ended[n] = t
        self.net_cause[n] = cause
        self.n_live -= 1
        users = self.net_users[n]
        m = self.net_market[n]
        self.mk_live[m] -= 1
        if self.net_blocked_day[n] == -1:
            self.mk_open[m] -= 1
        self.mk_served[m] -= users
        if users:
            movers = (users * self.migrate_fx) >> FX_BITS
            self.lapsed[m] += users - movers
            self.net_movers[n] = movers
            if movers:
                self.in_transit[m] += movers
                due = t + self.draw(self.migration_tab, self.u(MIGRATE_DELAY, t, n, 0))
                self.cal_add(self.cal_migrate, self.net_mig_next, due, n)
            self.net_users[n] = 0
        if self.net_case[n] != -1:
            self.close_case(self.net_case[n])
            if cause != CAUSE_ARREST:
                self.row[D_CASES_MOOT] += 1

    cdef void open_case(self, int64_t n, int64_t lead, int64_t t) noexcept nogil:
        cdef int64_t k = self.n_case, s, host, p, pair, prev = -1, nxt
        if k == self.cap_case and self.grow_cases(self.cap_case * 2):
            return
        self.case_net[k] = n
        self.case_lead[k] = lead
        self.case_opened[k] = t
        self.case_stage[k] = ST_EVIDENCE
        self.case_pending[k] = 0
        self.case_evidence[k] = 0
        self.case_identified[k] = 0
        self.case_arrested_by[k] = -1
        self.n_case += 1
        if vec_push(&self.evidence_list, k):
            self.failed = 1
            return
        self.open_cases[lead] += 1
        self.n_cases_open += 1
        self.net_case[n] = k
        self.net_cases[n] += 1
        if self.net_first_case[n] == -1:
            self.net_first_case[n] = t
        self.row[D_CASES_OPENED] += 1
        s = self.net_first[n]
        while s != -1:
            host = self.srv_country[s]
            nxt = self.srv_sibling[s]
            if not self.srv_up[s] and not self.srv_seized[s] and t - self.srv_removed[s] > self.retention[host]:
                # Its logs are gone for good (it is down, not seized, past retention): no later pass over the
                # network's servers can use it, so it leaves the chain (the order of the rest is kept).
                if prev == -1:
                    self.net_first[n] = nxt
                else:
                    self.srv_sibling[prev] = nxt
                if self.net_last[n] == s:
                    self.net_last[n] = prev
                s = nxt
                continue
            prev = s
            if self.bears_evidence(s, t, self.retention[host]):
                p = self.srv_prov[s]
                pair = lead * self.C + host
                if host == lead:
                    self.new_request(k, s, host, KIND_DOMESTIC, t, self.court_tab[lead])
                elif self.jit[pair]:
                    self.new_request(k, s, host, KIND_JIT, t, self.court_tab[host])
                elif self.order_chan[pair] >= 0:
                    self.new_request(k, s, host, KIND_ORDER, t, self.order_chan[pair])
                elif self.discloses[p] > 0:
                    self.new_request(k, s, host, KIND_VOLUNTARY, t, self.disclosure_tab[p])
                else:
                    self.new_request(k, s, host, KIND_MLA, t, -1)
            s = nxt
        if self.u(MONEY, 0, k, 0) < self.money_p:
            self.new_request(k, -1, lead, KIND_MONEY, t, self.court_tab[lead])

    cdef void new_request(self, int64_t k, int64_t s, int64_t requested, int64_t kind, int64_t t,
                          int64_t table) noexcept nogil:
        """A request of ``kind``: MLA joins the requested country's queue, any other starts today."""
        cdef int64_t r = self.n_req, lead = self.case_lead[k]
        if r == self.cap_req and self.grow_requests(self.cap_req * 2):
            return
        self.n_req += 1
        self.req_case[r] = k
        self.req_server[r] = s
        self.req_lead[r] = lead
        self.req_requested[r] = requested
        self.req_kind[r] = kind
        self.req_created[r] = t
        self.req_started[r] = -1
        self.req_resolved[r] = -1
        self.req_outcome[r] = OUT_OPEN
        self.req_preserved[r] = (self.preserve[lead * self.C + requested]
                                 if kind == KIND_MLA or kind == KIND_VOLUNTARY or kind == KIND_ORDER or kind == KIND_JIT
                                 else 0)
        self.case_pending[k] += 1
        self.row[D_REQUESTS_SENT] += 1
        if kind == KIND_VOLUNTARY:
            self.row[D_REQUESTS_VOLUNTARY] += 1
        elif kind == KIND_ORDER:
            self.row[D_REQUESTS_ORDER] += 1
        elif kind == KIND_JIT:
            self.row[D_REQUESTS_JIT] += 1
        elif kind == KIND_MONEY:
            self.row[D_REQUESTS_MONEY] += 1
        if kind == KIND_MLA:
            self.req_queue_next[r] = -1
            if self.q_tail[requested] == -1:
                self.q_head[requested] = r
            else:
                self.req_queue_next[self.q_tail[requested]] = r
            self.q_tail[requested] = r
            self.q_len[requested] += 1
            self.backlog += 1
        else:
            self.req_started[r] = t
            self.schedule_request(r, table, t)

    cdef inline void schedule_request(self, int64_t r, int64_t table, int64_t t) noexcept nogil:
        cdef int64_t due = t + self.draw(table, self.u(REQ_DELAY, t, r, 0))
        self.cal_add(self.cal_request, self.req_due_next, due, r)

    cdef void close_case(self, int64_t k) noexcept nogil:
        self.case_stage[k] = ST_CLOSED
        self.open_cases[self.case_lead[k]] -= 1
        self.n_cases_open -= 1
        self.net_case[self.case_net[k]] = -1

    # ------------------------------------------------------------------ the day: eleven phases in order

    cdef void step(self, int64_t t) noexcept nogil:
        self.row = self.daily + (t - 1) * N_DAILY
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

    cdef void arrivals(self, int64_t t) noexcept nogil:
        cdef int64_t i, slot, c
        cdef double q
        cdef uint64_t pre
        self.cal_pop(self.cal_successor, self.net_succ_next, t)
        for i in range(self.due.n):
            self.create_network(t, self.due.data[i], -1)
            self.row[D_SUCCESSORS] += 1
        if self.entry_demand:  # stage B: entry per market, driven by its unserved users
            pre = prefix(self.mixed_seed, ENTRY, <uint64_t>t)  # the same draws as u(ENTRY, t, c, slot), fewer rounds
            for c in range(self.C):
                if self.demand_units[c] == 0:
                    continue
                q = self.entry_dq[self.entry_dq_off[c] + self.unserved[c]]
                for slot in range(self.S):
                    if uniform_at(pre, <uint64_t>c, <uint64_t>slot) < q:
                        self.create_network(t, -1, c)
                        self.row[D_ENTRIES] += 1
            return
        q = self.entry_q[self.n_live if self.n_live < self.Kcap else self.Kcap]
        for slot in range(self.S):
            if self.u(ENTRY, t, slot, 0) < q:
                self.create_network(t, -1, -1)
                self.row[D_ENTRIES] += 1

    cdef void detection(self, int64_t t) noexcept nogil:
        cdef int64_t i, s, n, keep = 0
        cdef int64_t* ids = self.up_list.data
        cdef uint64_t pre = prefix(self.mixed_seed, DETECT, <uint64_t>t)  # the hot loop: one draw per up server
        cdef unsigned char state
        for i in range(self.up_list.n):
            s = ids[i]
            # One byte per server says all this loop needs (up, and nothing pending), so after decades of churn
            # the scattered ids of the up servers still hit the cache.
            state = self.srv_state[s]
            if state == SRV_DOWN:
                continue  # removed since the last pass: drop it from the list
            ids[keep] = s
            keep += 1
            if state == SRV_BUSY:
                continue
            if top53_at(pre, <uint64_t>s, 0) < self.detect_thr:  # = uniform < detect_prob, in integers
                self.srv_state[s] = SRV_BUSY
                self.srv_notice_due[s] = t + self.draw(self.notice_tab[self.srv_prov[s]], self.u(NOTICE_DELAY, t, s, 0))
                self.cal_add(self.cal_notice, self.srv_notice_next, self.srv_notice_due[s], s)
                n = self.srv_net[s]
                self.net_nsc[n] += 1
                self.net_notices[n] += 1
                self.row[D_NOTICES] += 1
        self.up_list.n = keep

    cdef void notices_due(self, int64_t t) noexcept nogil:
        cdef int64_t i, s, c
        self.cal_pop(self.cal_notice, self.srv_notice_next, t)
        for i in range(self.due.n):
            s = self.due.data[i]
            if self.srv_notice_due[s] != t:
                continue  # cancelled: the server went down before its notice came due
            self.srv_notice_due[s] = 0
            if not self.srv_up[s]:
                continue
            self.srv_state[s] = SRV_IDLE  # unless a referral below makes it wait for a seizure
            c = self.srv_country[s]
            if self.u(COMPLY, t, s, 0) < self.compliance[self.srv_prov[s]]:
                self.remove_server(s, t, True)
                self.row[D_TAKEDOWNS] += 1
                self.net_takedowns[self.srv_net[s]] += 1
                self.quit_check(s, t)
            elif self.u(SEIZE, t, s, 0) < self.seize_prob[c]:
                self.srv_state[s] = SRV_BUSY
                self.srv_seize_due[s] = t + self.draw(self.court_tab[c], self.u(COURT_DELAY, t, s, 0))
                self.cal_add(self.cal_seize, self.srv_seize_next, self.srv_seize_due[s], s)
                self.row[D_REFERRALS] += 1

    cdef void seizures_due(self, int64_t t) noexcept nogil:
        cdef int64_t i, s
        self.cal_pop(self.cal_seize, self.srv_seize_next, t)
        for i in range(self.due.n):
            s = self.due.data[i]
            if self.srv_seize_due[s] != t:
                continue
            self.srv_seize_due[s] = 0
            if not self.srv_up[s]:
                continue
            self.remove_server(s, t, True)
            self.srv_seized[s] = 1
            self.row[D_SEIZURES] += 1
            self.net_seizures[self.srv_net[s]] += 1
            self.quit_check(s, t)

    cdef void cases_open(self, int64_t t) noexcept nogil:
        cdef int64_t i, n, lead, keep = 0
        cdef int64_t* ids = self.live_list.data
        for i in range(self.live_list.n):
            n = ids[i]
            if self.net_ended[n] != -1:
                continue  # ended since the last pass: drop it from the list
            ids[keep] = n
            keep += 1
            if self.net_case[n] != -1 or self.net_nsc[n] < self.threshold:
                continue
            lead = self.net_market[n]
            if self.open_cases[lead] >= self.capacity[lead]:
                continue  # no capacity: the complaint waits until tomorrow
            self.net_nsc[n] = 0
            if self.u(OPEN, t, n, 0) < self.open_prob[lead]:
                self.open_case(n, lead, t)
        self.live_list.n = keep

    cdef void interventions(self, int64_t t) noexcept nogil:
        cdef int64_t i, n, c, lost
        if not self.any_interventions:
            return
        for i in range(self.live_list.n):
            n = self.live_list.data[i]
            if self.net_ended[n] != -1:
                continue
            c = self.net_market[n]
            if self.blocks[c] and not self.net_block_due[n] and self.net_notices[n] >= self.block_after:
                self.net_block_due[n] = t + self.draw(self.block_tab, self.u(BLOCK_DELAY, t, n, 0))
            if self.cuts[c] and not self.net_cutoff_due[n] and self.net_notices[n] >= self.cutoff_after:
                self.net_cutoff_due[n] = t + self.draw(self.cutoff_tab, self.u(CUTOFF_DELAY, t, n, 0))
            if self.net_block_due[n] == t:
                self.net_blocked_day[n] = t
                self.mk_open[c] -= 1
                lost = (self.net_users[n] * self.block_fx) >> FX_BITS
                self.net_users[n] -= lost
                self.mk_served[c] -= lost
                self.unserved[c] += lost
                self.row[D_BLOCKING_ORDERS] += 1
            if self.net_cutoff_due[n] == t:
                self.net_cut_day[n] = t
                self.row[D_CUTOFFS] += 1
            if self.net_cut_day[n] != -1 and self.u(CUTOFF_QUIT, t, n, 0) < self.cutoff_quit_p:
                self.end_network(n, t, CAUSE_QUIT)
                self.row[D_QUITS] += 1
                self.row[D_CUTOFF_QUITS] += 1

    cdef void mla_queues(self, int64_t t) noexcept nogil:
        cdef int64_t c, i, r, k
        for c in range(self.C):
            k = self.mla_per_day[c] if self.mla_per_day[c] < self.q_len[c] else self.q_len[c]
            for i in range(k):
                r = self.q_head[c]
                self.q_head[c] = self.req_queue_next[r]
                if self.q_head[c] == -1:
                    self.q_tail[c] = -1
                self.q_len[c] -= 1
                self.backlog -= 1
                self.req_started[r] = t
                self.schedule_request(r, self.mla_chan[self.req_lead[r] * self.C + c], t)

    cdef void requests_due(self, int64_t t) noexcept nogil:
        cdef int64_t i, r, k, c, kind
        cdef double p
        self.cal_pop(self.cal_request, self.req_due_next, t)
        for i in range(self.due.n):
            r = self.due.data[i]
            k = self.req_case[r]
            self.req_resolved[r] = t
            self.case_pending[k] -= 1
            if self.case_stage[k] == ST_CLOSED:
                self.req_outcome[r] = OUT_DROPPED
                continue
            self.row[D_REQUESTS_ANSWERED] += 1
            c = self.req_requested[r]
            kind = self.req_kind[r]
            if self.refused(r, kind, c, t):
                self.req_outcome[r] = OUT_REFUSED
                self.row[D_REQUESTS_REFUSED] += 1
                if kind == KIND_ORDER or kind == KIND_VOLUNTARY:
                    self.new_request(k, self.req_server[r], c, KIND_MLA, t, -1)
                    self.row[D_FALLBACKS] += 1
                continue
            if (kind == KIND_MONEY or self.req_preserved[r]
                    or self.bears_evidence(self.req_server[r], t, self.retention[c])):
                self.req_outcome[r] = OUT_EVIDENCE
                self.row[D_EVIDENCE_OBTAINED] += 1
                p = self.money_ident_p if kind == KIND_MONEY else self.ident_p
                if self.u(IDENT, 0, k, self.case_evidence[k]) < p and not self.case_identified[k]:
                    self.case_identified[k] = 1
                    self.row[D_CASES_IDENTIFIED] += 1
                self.case_evidence[k] += 1
            else:
                self.req_outcome[r] = OUT_LOST
                self.row[D_EVIDENCE_LOST] += 1

    cdef inline bint refused(self, int64_t r, int64_t kind, int64_t c, int64_t t) noexcept nogil:
        cdef double p
        if kind == KIND_MLA:
            p = self.grant_prob[c]
        elif kind == KIND_ORDER:
            p = self.order_compliance[self.srv_prov[self.req_server[r]]]
        elif kind == KIND_VOLUNTARY:
            p = self.discloses[self.srv_prov[self.req_server[r]]]
        else:
            return False
        return not self.u(GRANT, t, r, 0) < p

    cdef void cases_resolve(self, int64_t t) noexcept nogil:
        cdef int64_t i, k, keep = 0
        cdef bint ready
        cdef int64_t* ids = self.evidence_list.data
        for i in range(self.evidence_list.n):
            k = ids[i]
            if self.case_stage[k] != ST_EVIDENCE:
                continue  # closed since the last pass
            ready = self.case_pending[k] == 0 or (self.evidence_first and self.case_identified[k])
            if ready and self.case_identified[k]:
                self.arrest_decision(k, t)
            elif ready:
                self.fail_case(k, D_CASES_FAILED_EVIDENCE)
            elif t - self.case_opened[k] >= self.timeout:
                self.fail_case(k, D_CASES_TIMED_OUT)
            if self.case_stage[k] == ST_EVIDENCE:
                ids[keep] = k
                keep += 1
        self.evidence_list.n = keep

    cdef void arrest_decision(self, int64_t k, int64_t t) noexcept nogil:
        cdef int64_t n = self.case_net[k], lead = self.case_lead[k]
        cdef int64_t home = self.net_home[n]
        if home == lead:
            self.arrest_stage(k, self.court_tab[lead], t, lead)
        elif not self.extradites_nationals[home] and not self.surrender_nat[lead * self.C + home]:
            if self.u(PROSECUTE, 0, n, 0) < self.prosecute_prob[home]:
                self.arrest_stage(k, self.mla_chan[lead * self.C + home], t, home)
                self.row[D_PROSECUTIONS_HOME] += 1
            else:
                self.fail_case(k, D_CASES_FAILED_HAVEN)
        elif self.u(EXTRADITE, 0, n, lead) < self.extradite_prob[home]:
            self.arrest_stage(k, self.arrest_chan[lead * self.C + home], t, lead)
        else:
            self.fail_case(k, D_CASES_FAILED_HAVEN)

    cdef inline void fail_case(self, int64_t k, int64_t counter) noexcept nogil:
        self.close_case(k)
        self.row[counter] += 1

    cdef inline void arrest_stage(self, int64_t k, int64_t table, int64_t t, int64_t by) noexcept nogil:
        self.case_stage[k] = ST_ARRESTING
        self.case_arrested_by[k] = by
        self.cal_add(self.cal_arrest, self.case_arrest_next, t + self.draw(table, self.u(ARREST_DELAY, 0, k, 0)), k)

    cdef void arrests_due(self, int64_t t) noexcept nogil:
        cdef int64_t i, k, n, lead, s, due, j, up
        self.cal_pop(self.cal_arrest, self.case_arrest_next, t)
        for i in range(self.due.n):
            k = self.due.data[i]
            if self.case_stage[k] != ST_ARRESTING:
                continue  # the network quit first: the case closed as moot
            n = self.case_net[k]
            lead = self.case_lead[k]
            j = 0
            up = 0
            s = self.net_first[n]
            while s != -1:
                if self.srv_up[s]:
                    up += 1
                    j += self.joint[lead * self.C + self.srv_country[s]]
                s = self.srv_sibling[s]
            self.net_arrested_by[n] = self.case_arrested_by[k]
            self.end_network(n, t, CAUSE_ARREST)
            self.row[D_ARRESTS] += 1
            if self.u(SUCCESSOR, 0, n, 0) < self.succ_q[j * (self.spn + 1) + up]:
                due = t + self.draw(self.succ_tab, self.u(SUCC_DELAY, 0, n, 0))
                self.cal_add(self.cal_successor, self.net_succ_next, due, n)

    cdef void users(self, int64_t t) noexcept nogil:
        cdef int64_t i, j, n, x, c, movers, target, back, gain
        cdef bint any_gain
        self.cal_pop(self.cal_migrate, self.net_mig_next, t)
        for i in range(self.due.n):
            n = self.due.data[i]
            c = self.net_market[n]
            movers = self.net_movers[n]
            self.in_transit[c] -= movers
            target = -1
            for j in range(self.live_list.n):  # the live network of the market with the most users, lowest id first
                x = self.live_list.data[j]
                if self.net_ended[x] == -1 and self.net_market[x] == c and (
                        target == -1 or self.net_users[x] > self.net_users[target]):
                    target = x
            if target == -1:
                self.unserved[c] += movers
            else:
                self.gain_users(target, movers)
                self.row[D_MIGRATED] += movers
        any_gain = False
        for c in range(self.C):
            back = (self.lapsed[c] * self.return_fx) >> FX_BITS
            self.lapsed[c] -= back
            self.unserved[c] += back
            self.scratch_gain[c] = (self.unserved[c] * self.acquire_fx) >> FX_BITS if self.mk_open[c] else 0
            self.scratch_rank[c] = 0
            self.unserved[c] -= self.scratch_gain[c]
            any_gain = any_gain or self.scratch_gain[c] > 0
        if not any_gain:
            return
        for i in range(self.live_list.n):
            n = self.live_list.data[i]
            if self.net_ended[n] != -1 or self.net_blocked_day[n] != -1:
                continue
            c = self.net_market[n]
            gain = self.scratch_gain[c]
            self.gain_users(n, gain // self.mk_open[c] + (1 if self.scratch_rank[c] < gain % self.mk_open[c] else 0))
            self.scratch_rank[c] += 1

    cdef void reprovisioning(self, int64_t t) noexcept nogil:
        cdef int64_t i, n, slot, missing, keep = 0, c
        cdef int64_t* ids = self.live_list.data
        for c in range(self.C):
            self.heat[c] -= self.heat[c] >> self.heat_shift
            self.refresh_eco(c)
        for i in range(self.live_list.n):
            n = ids[i]
            if self.net_ended[n] != -1:
                continue
            ids[keep] = n
            keep += 1
            missing = self.spn - self.net_nup[n]
            for slot in range(missing):
                if self.u(REPROVISION, t, n, slot) < self.reprov_p:
                    self.provision(n, t)
                    self.row[D_REPROVISIONS] += 1
        self.live_list.n = keep

    cdef void record(self, int64_t t) noexcept nogil:
        cdef int64_t c, haven_up = 0
        cdef int64_t i, n, served = 0, unserved = 0, lapsed = 0, transit = 0, available = 0
        cdef int64_t* um = self.users_by_market + (t - 1) * (self.C + 1)
        cdef int64_t* bc = self.by_country + (t - 1) * (self.C + 1)
        bc[0] = t
        for c in range(self.C):
            bc[c + 1] = self.up_by_country[c]
            if self.haven[c]:
                haven_up += self.up_by_country[c]
        self.row[D_DAY] = t
        self.row[D_NETWORKS] = self.n_live
        self.row[D_SERVERS_UP] = self.n_up
        self.row[D_SERVERS_UP_HAVEN] = haven_up
        self.row[D_CASES_OPEN] = self.n_cases_open
        self.row[D_MLA_BACKLOG] = self.backlog
        um[0] = t
        for c in range(self.C):
            um[c + 1] = self.mk_served[c]
            served += self.mk_served[c]
            unserved += self.unserved[c]
            lapsed += self.lapsed[c]
            transit += self.in_transit[c]
            if self.demand_units[c] > 0 and self.mk_live[c] > 0:
                available += 1
        self.row[D_USERS_SERVED] = served
        self.row[D_USERS_UNSERVED] = unserved
        self.row[D_USERS_LAPSED] = lapsed
        self.row[D_USERS_IN_TRANSIT] = transit
        self.row[D_MARKETS_AVAILABLE] = available

    # ------------------------------------------------------------------ driver and outputs

    cdef int loop(self) noexcept nogil:
        cdef int64_t t
        for t in range(1, self.T + 1):
            self.step(t)
            if self.failed:
                return -1
        return 0

    def run(self):
        """Run every day of the horizon (without the GIL)."""
        cdef int rc
        with nogil:
            rc = self.loop()
        if rc:
            raise MemoryError("compiled engine ran out of memory")

    def records(self):
        """(networks, requests) as int64 arrays in the column order of sim.outputs."""
        cdef int64_t n, r
        nets = np.empty((self.n_net, N_NET_COLS), dtype=np.int64)
        cdef int64_t[:, ::1] nv = nets
        for n in range(self.n_net):
            nv[n, 0] = n
            nv[n, 1] = self.net_pred[n]
            nv[n, 2] = self.net_born[n]
            nv[n, 3] = self.net_ended[n]
            nv[n, 4] = self.net_cause[n]
            nv[n, 5] = self.net_home[n]
            nv[n, 6] = self.net_market[n]
            nv[n, 7] = self.net_created[n]
            nv[n, 8] = self.net_takedowns[n]
            nv[n, 9] = self.net_seizures[n]
            nv[n, 10] = self.net_notices[n]
            nv[n, 11] = self.net_cases[n]
            nv[n, 12] = self.net_arrested_by[n]
            nv[n, 13] = self.net_first_case[n]
            nv[n, 14] = self.net_users_peak[n]
            nv[n, 15] = self.net_blocked_day[n]
            nv[n, 16] = self.net_cut_day[n]
        reqs = np.empty((self.n_req, 10), dtype=np.int64)
        cdef int64_t[:, ::1] rv = reqs
        for r in range(self.n_req):
            rv[r, 0] = r
            rv[r, 1] = self.req_case[r]
            rv[r, 2] = self.req_server[r]
            rv[r, 3] = self.req_lead[r]
            rv[r, 4] = self.req_requested[r]
            rv[r, 5] = self.req_kind[r]
            rv[r, 6] = self.req_created[r]
            rv[r, 7] = self.req_started[r]
            rv[r, 8] = self.req_resolved[r]
            rv[r, 9] = self.req_outcome[r]
        return nets, reqs

    def entity_counts(self):
        """Entities created (networks, servers, cases, requests): what the engine's memory grows with."""
        return {"networks": self.n_net, "servers": self.n_srv, "cases": self.n_case, "requests": self.n_req}

    def state_bytes(self):
        """Bytes of run state held in C arrays (outputs excluded): entity arrays sized by the entities
        created (at most twice, from doubling), per-country arrays, and five calendar heads per day."""
        per_entity = (27 + self.C) * self.cap_net + 11 * self.cap_srv + 9 * self.cap_case + 12 * self.cap_req
        lists = self.up_list.cap + self.live_list.cap + self.evidence_list.cap + self.due.cap
        return 8 * (per_entity + lists + 12 * self.C + 6 * (self.T + 1))

    def daily_table(self):
        """The daily table, the servers-by-country and the users-by-market matrices as int64 arrays."""
        return self.daily_arr, self.by_country_arr, self.users_arr


def run(world, seed, stats=None):
    """Run the compiled engine on a compiled world; returns a :class:`sim.outputs.RunResult`.

    ``stats``, if a dict, receives the entity counts and the bytes of state the run held.
    """
    eng = Engine(world, seed)
    eng.run()
    if stats is not None:
        stats.update(eng.entity_counts(), state_bytes=eng.state_bytes())
    daily, by_country, users = eng.daily_table()
    nets, reqs = eng.records()
    countries = ("day",) + tuple(world.country_ids)
    # raw arrays: DataFrames are built only if a caller reads a table as one (metrics read the arrays)
    return RunResult.from_arrays({"daily": (daily, DAILY_COLUMNS), "servers_by_country": (by_country, countries),
                                  "networks": (nets, NETWORK_COLUMNS), "requests": (reqs, REQUEST_COLUMNS),
                                  "users_by_market": (users, countries)}, run_meta(world, seed, "fast"))
