# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The compiled engine: docs/ODD.md as arrays of state plus one function per phase.

Read it next to ``sim/model.py``: the phases carry the same names in the same order. State is a structure of
arrays (one growable C array per field of each entity kind, no Python object per entity); the whole day loop
runs without the GIL; the only floating-point operations compare a uniform with a number the world compiler
computed (and ``u * 1000`` to index a delay table, as the Mesa engine does).

Lists of "up servers", "live networks" and "cases waiting for evidence" are kept in ascending id order and
compacted lazily by the phases that walk them; events due on a day sit in per-day arrays ("calendars") that are
sorted by id when the day comes. An MLA request is scheduled when it joins its country's queue (see issue_requests).
"""

import weakref

import numpy as np

cimport cython
from libc.stdint cimport int8_t, int32_t, int64_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, qsort, realloc
from libc.string cimport memcpy, memmove, memset

from cyext.rng cimport mix, prefix, top53_at, uniform_at

cdef extern from *:
    void __builtin_prefetch(const void* addr) nogil  # gcc and clang: a hint only, it changes no result
    void __builtin_prefetch_w "__builtin_prefetch" (const void* addr, int rw) nogil
    int __builtin_ctzll(unsigned long long x) nogil  # gcc and clang: trailing zero bits (x != 0)


cdef enum:
    PREFETCH = 8  # how many entries ahead a loop over scattered ids asks for


cdef extern from *:
    ctypedef unsigned long long u128 "unsigned __int128"  # gcc's 128-bit integer: exact weighted draws


cdef extern from *:
    # The detection draws of one day, in C so that gcc can compile the loop for the vector units the machine
    # has, chosen at load time (target_clones). Integer arithmetic only, so every version gives the same bits:
    # hit[i] = top53_at(pre, ids[i], 0) < thr, with mix() spelled out as in cyext/rng.pxd.
    """
    #include <stdint.h>
    static inline uint64_t piracysim_mix(uint64_t z) {
        z = z + 0x9E3779B97F4A7C15ULL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    #if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12 && defined(__x86_64__) && defined(__linux__)
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
    #endif
    static int64_t piracysim_detect_hits(uint64_t pre, const int64_t* ids, int64_t n, uint64_t thr,
                                         unsigned char* hit) {
        int64_t hits = 0;
        for (int64_t i = 0; i < n; i++) {
            unsigned char h = (piracysim_mix(piracysim_mix(pre ^ (uint64_t)ids[i]) ^ 0ULL) >> 11) < thr;
            hit[i] = h;
            hits += h;
        }
        return hits;
    }
    """
    int64_t detect_hits "piracysim_detect_hits" (uint64_t pre, const int64_t* ids, int64_t n, uint64_t thr,
                                                 unsigned char* hit) nogil

cdef extern from *:
    # The entry draws of one day (stage B), likewise: hit[slot * C + c] = uniform_at(pre, c, slot) < q[c], the
    # uniform spelled out as in cyext/rng.pxd (53 bits, converted exactly, scaled by a power of two).
    """
    #if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12 && defined(__x86_64__) && defined(__linux__)
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
    #endif
    static int64_t piracysim_entry_hits(uint64_t pre, const double* q, int64_t C, int64_t S, uint64_t* key,
                                        unsigned char* hit) {
        int64_t hits = 0;
        for (int64_t c = 0; c < C; c++)
            key[c] = piracysim_mix(pre ^ (uint64_t)c);
        for (int64_t slot = 0; slot < S; slot++) {
            for (int64_t c = 0; c < C; c++) {
                double u = (double)(piracysim_mix(key[c] ^ (uint64_t)slot) >> 11) * 1.1102230246251565e-16;
                unsigned char h = u < q[c];
                hit[slot * C + c] = h;
                hits += h;
            }
        }
        return hits;
    }
    """
    int64_t entry_hits "piracysim_entry_hits" (uint64_t pre, const double* q, int64_t C, int64_t S, uint64_t* key,
                                               unsigned char* hit) nogil

cdef extern from *:
    # The due days of a case's requests (issue_requests), likewise: for each request r0 + j that starts (start >= 0),
    # due = start + delays[tab * K + (int)(uniform_at(prefix(seed, REQ_DELAY, start), r0 + j, 0) * K)], where
    # stream_key = mix(mix(seed) ^ REQ_DELAY), so that prefix(seed, REQ_DELAY, start) = mix(stream_key ^ start).
    # Unsigned and 32-bit indices where gcc 12 vectorises only those (the tables' entries number below 2**31).
    """
    #if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12 && defined(__x86_64__) && defined(__linux__)
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
    #endif
    static void piracysim_due_days(uint64_t stream_key, const int64_t* restrict start, int64_t r0, int64_t n,
                                   const int64_t* restrict tab, const int32_t* restrict delays, int32_t k,
                                   int64_t* restrict due) {
        const uint64_t* st = (const uint64_t*)start;
        for (uint64_t j = 0; j < (uint64_t)n; j++) {
            uint64_t s = st[j] >> 63 ? 0 : st[j];  /* a request that never starts: any day, unused */
            uint64_t x = piracysim_mix(piracysim_mix(piracysim_mix(stream_key ^ s) ^ ((uint64_t)r0 + j)) ^ 0ULL) >> 11;
            double u = (double)x * 1.1102230246251565e-16;
            due[j] = start[j] + delays[(int32_t)tab[j] * k + (int32_t)(u * (double)k)];
        }
    }
    """
    void due_days "piracysim_due_days" (uint64_t stream_key, const int64_t* start, int64_t r0, int64_t n,
                                        const int64_t* tab, const int32_t* delays, int32_t k, int64_t* due) nogil

cdef extern from *:
    """
    #if defined(__GLIBC__)
    #include <malloc.h>
    static void piracysim_keep_freed_memory(void) {
        /* A run allocates tables of tens of MB and frees them, and the next run does it again. By default glibc
           maps blocks this large afresh each time and the kernel zeroes every page on first touch (a sixth of a
           default-world run); served from the heap and kept there once freed (up to 128 MB), they are reused. */
        mallopt(M_MMAP_THRESHOLD, 64 << 20);
        mallopt(M_TRIM_THRESHOLD, 128 << 20);
    }
    #else
    static void piracysim_keep_freed_memory(void) {}
    #endif
    """
    void keep_freed_memory "piracysim_keep_freed_memory" ()


keep_freed_memory()

from sim.outputs import DAILY_COLUMNS, NETWORK_COLUMNS, REQUEST_COLUMNS, RequestCounts, RunResult, run_meta

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
    N_STREAMS = 29

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
    N_KINDS = 6
    N_NET_COLS = 17
    IN_SHORT = 1
    IN_CANDIDATES = 2
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

cdef enum:
    ID32_CAP = 2147483648  # most servers, cases or requests one run may create (ids fit an int32)


cdef struct Srv:
    # One server in 28 bytes, for the same reason as Req (days and ids fit 32 bits)
    int32_t net
    int32_t prov
    int32_t country
    int32_t removed
    int32_t notice_due
    int32_t seize_due
    int8_t up
    int8_t seized


cdef struct Req:
    # One request in 32 bytes (the limits keep ids and days far below 2**31): a request's fields are read
    # together, at random ids, so one cache line each beats ten arrays.
    int32_t case
    int32_t server
    int32_t lead
    int32_t requested
    int32_t created
    int32_t started
    int32_t resolved
    int8_t kind
    int8_t outcome
    int8_t preserved


cdef struct Vec:
    int64_t* data
    int64_t n
    int64_t cap


cdef int vec_push(Vec* v, int64_t x) noexcept nogil:
    cdef int64_t* p
    if v.n == v.cap:
        # 64 entries at first: most calendar days and server lists then never grow (a run made ~11,000 calls
        # to realloc, most to grow a day from 16 entries, before its buffer went back to the spare pool)
        p = <int64_t*>realloc(v.data, (v.cap * 2 + 64) * sizeof(int64_t))
        if p == NULL:
            return -1
        v.data = p
        v.cap = v.cap * 2 + 64
    v.data[v.n] = x
    v.n += 1
    return 0


cdef int sorted_insert(Vec* v, int64_t x) noexcept nogil:
    """Insert ``x`` into the ascending vector ``v`` (which does not hold it); -1 when it cannot grow."""
    cdef int64_t lo = 0, hi = v.n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if v.data[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    if vec_push(v, x):
        return -1
    memmove(v.data + lo + 1, v.data + lo, (v.n - 1 - lo) * sizeof(int64_t))
    v.data[lo] = x
    return 0


cdef void free_vecs(Vec* v, int64_t n) noexcept nogil:
    cdef int64_t i
    if v != NULL:
        for i in range(n):
            if v[i].data != NULL:  # most days' buffers were handed on when popped: no call for those
                free(v[i].data)
        free(v)


cdef int grow_vecs(Vec** p, int64_t cap) noexcept nogil:
    """Grow the vector array ``*p`` to ``cap`` (new entries are set by their owner); -1 on failure."""
    cdef Vec* q = <Vec*>realloc(p[0], cap * sizeof(Vec))
    if q == NULL:
        return -1
    p[0] = q
    return 0


cdef int cmp_i64(const void* a, const void* b) noexcept nogil:
    cdef int64_t x = (<const int64_t*>a)[0]
    cdef int64_t y = (<const int64_t*>b)[0]
    return (x > y) - (x < y)


cdef inline int64_t pick(const double* cum, int64_t n, double u) noexcept nogil:
    """The smallest i with u < cum[i] (bisect_right), or n. Halving without branches (a conditional move): the
    halves a uniform takes are a coin toss each, which a branch predictor gets wrong half the time."""
    cdef int64_t base = 0, half
    if n <= 0:
        return 0
    while n > 1:
        half = n >> 1
        base = base + half if cum[base + half] <= u else base
        n -= half
    return base + (cum[base] <= u)


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


cdef const int32_t* i32(object arr, list keep) except NULL:
    a = np.ascontiguousarray(arr, dtype=np.int32)
    keep.append(a)
    cdef const int32_t[::1] view = a.reshape(-1)
    return &view[0]


cdef const double* f64(object arr, list keep) except NULL:
    a = np.ascontiguousarray(arr, dtype=np.float64)
    keep.append(a)
    cdef const double[::1] view = a.reshape(-1)
    return &view[0]


# ---------------------------------------------------------------------------------------------- the engine

@cython.final  # no subclasses: method calls are direct (and the small ones inlined) instead of through a table
cdef class Engine:
    """One run's state: the compiled world's numbers, the entities as arrays, and the output buffers."""

    # world
    cdef uint64_t mixed_seed  # mix(seed): the first round of every draw
    cdef uint64_t detect_thr  # ceil(detect_prob * 2**53) (World.detect_threshold)
    cdef uint64_t pre_v[N_STREAMS]  # per stream: the prefix of its draws on day pre_t[stream] (see u())
    cdef uint64_t pre_host, pre_accept, pre_exact  # the day-0 prefixes of the adaptive host choice's streams
    cdef uint64_t req_key         # mix(mix(seed) ^ REQ_DELAY): the request delays' prefix of day t is mix(req_key ^ t)
    cdef int64_t pre_t[N_STREAMS]
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
    cdef const int64_t* host_guide  # adaptive proposals: where the search for a draw x starts (see _derived)
    cdef int64_t guide_shift
    cdef const int64_t* host_countries
    cdef int64_t n_host_countries
    cdef const int32_t* delays    # the world's tables, capped at T + 1 days (see _derived)
    cdef const int64_t* court_tab
    cdef const int64_t* notice_tab
    cdef const int64_t* mla_chan
    cdef const int64_t* arrest_chan
    cdef const int64_t* order_chan
    cdef const int64_t* route_kind  # per (lead, host): the route a request takes, or -1 if the provider decides
    cdef const int64_t* route_tab   # and its delay table (for -1: MLA's, when the provider does not disclose)
    cdef const int64_t* prov_vol    # per provider: 1 if it discloses voluntarily
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
    cdef int64_t* slot_day        # per country: the day its next queued MLA request starts (FIFO, see issue_requests)
    cdef int64_t* slot_used       # per country: requests already starting on slot_day
    cdef int64_t* up_by_country
    cdef int64_t* unserved
    cdef int64_t* lapsed
    cdef int64_t* in_transit
    cdef int64_t* heat
    cdef int64_t* mk_live         # per market, kept up to date: live networks and users served (open ones: mk_open_ids)
    cdef int64_t* mk_served
    cdef int64_t* scratch_rank    # per market, while the initial users are split: how many got theirs
    # Users gained are credited lazily (see users): per market, its open networks (live, not blocked) in ascending
    # id order, the sum of the equal shares since they last changed, and the days with each rest since then
    cdef Vec* mk_open_ids
    cdef int64_t* mk_share
    cdef Vec* mk_rests
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
    cdef Vec* net_srv              # per network: its servers that may still bear evidence, in id order
    cdef int64_t* net_lists        # per network: IN_SHORT | IN_CANDIDATES, its membership of the two lists below
    cdef int64_t* net_arrested_by
    cdef int64_t* net_first_case
    cdef int64_t* net_users
    cdef int64_t* net_users_peak
    cdef int64_t* net_blocked_day
    cdef int64_t* net_cut_day
    cdef int64_t* net_block_due
    cdef int64_t* net_cutoff_due
    cdef int64_t* net_movers
    cdef int64_t* net_rank         # per open network: its place in its market's mk_open_ids
    cdef int64_t* net_mem          # (cap_net, C): servers the network lost per host country

    # servers
    cdef int64_t n_srv, cap_srv
    cdef Srv* srv
    cdef int64_t* srv_pos           # its place in up_list (-1 once down)

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

    # requests
    cdef int64_t n_req, cap_req
    cdef Req* req
    cdef int64_t sent[N_KINDS]           # today's requests by kind (record() copies them into the daily row)
    # the requests a case sends at once, made in passes (see issue_requests): server, requested country, kind,
    # delay table, start day (-1: not within the run) and due day of each
    cdef int64_t* b_srv
    cdef int64_t* b_to
    cdef int64_t* b_kind
    cdef int64_t* b_tab
    cdef int64_t* b_start
    cdef int64_t* b_due
    cdef int64_t* b_mla             # which of them go through MLA
    cdef int64_t b_cap

    # calendars: the ids due on each day 0..T, in order of addition (contiguous, so a day's pop reads them
    # in one sweep instead of chasing a linked list through memory); spare day buffers are reused
    cdef Vec* cal_notice
    cdef Vec* cal_seize
    cdef Vec* cal_request
    cdef Vec* cal_arrest
    cdef Vec* cal_successor
    cdef Vec* cal_migrate
    cdef Vec* cal_interv           # networks whose blocking order or cut-off comes into force that day
    cdef Vec spare_data           # buffers of popped days (as addresses) and their capacities
    cdef Vec spare_cap
    cdef int64_t* starts_on       # per day 0..T: MLA requests that start on it (the backlog falls by it that day)
    cdef int64_t queues_day       # the last day whose MLA starts have happened (the mla_queues phase)

    # ordered id lists and stocks
    cdef Vec up_list
    cdef Vec live_list
    cdef Vec short_list           # ascending: live networks that may lack servers (the only ones phase 12 touches)
    cdef Vec cand_list            # ascending: networks that may file a complaint (case_threshold notices, no case)
    cdef Vec evidence_list
    cdef Vec pending              # networks that reached a notice threshold since the last interventions phase
    cdef Vec cut_list             # ascending: networks cut off (ended ones are dropped by the next phase 6)
    cdef Vec new_cut              # networks cut off today, ascending (merged into cut_list after the phase)
    cdef Vec due
    cdef unsigned char* up_state  # per entry of up_list: SRV_IDLE (nothing pending) or SRV_BUSY
    cdef unsigned char* hit       # per entry of up_list: detected today
    cdef int64_t cap_up           # capacity of both
    cdef double* entry_q_today    # stage B entry, per market: today's entry chance (-1: no demand, no draws)
    cdef uint64_t* entry_key      # per market: its draws' first round
    cdef unsigned char* entry_hit # per (slot, market): a network enters
    cdef int64_t n_live, n_up, n_cases_open, backlog
    cdef int failed

    # outputs
    cdef int64_t* daily
    cdef int64_t* by_country
    cdef int64_t* users_by_market
    cdef int64_t* row
    cdef object daily_arr, by_country_arr, users_arr

    def __cinit__(self):
        cdef int64_t i
        self.failed = 0
        for i in range(N_KINDS):
            self.sent[i] = 0
        for i in range(N_STREAMS):
            self.pre_t[i] = -1

    def __init__(self, world, seed):
        w = world
        self.keep = []
        self.mixed_seed = mix(<uint64_t>(int(seed) & 0xFFFFFFFFFFFFFFFF))
        self.pre_host = prefix(self.mixed_seed, HOST, 0)
        self.pre_accept = prefix(self.mixed_seed, HOST_ACCEPT, 0)
        self.pre_exact = prefix(self.mixed_seed, HOST_EXACT, 0)
        self.req_key = mix(self.mixed_seed ^ <uint64_t>REQ_DELAY)
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
        self.entry_q_today = <double*>malloc(max(1, w.n_countries) * sizeof(double))
        self.entry_key = <uint64_t*>malloc(max(1, w.n_countries) * sizeof(uint64_t))
        self.entry_hit = <unsigned char*>malloc(max(1, w.n_countries * w.entry_slots))
        if self.entry_q_today == NULL or self.entry_key == NULL or self.entry_hit == NULL:
            raise MemoryError()
        self.entry_dq_off = i64(w.entry_dq_off, self.keep)
        self.blocks = i64(w.blocks, self.keep)
        self.cuts = i64(w.cuts, self.keep)
        self.accept = i64(w.accept, self.keep)
        self.host_wq = i64(w.host_wq, self.keep)
        self.host_wq_cum = i64(w.host_wq_cum, self.keep)
        self.host_countries = i64(w.host_countries, self.keep)
        self.n_host_countries = len(w.host_countries)
        delays, route_kind, route_tab, prov_vol, host_guide, self.guide_shift = _derived(w)
        if delays.size >= 2**31:  # due_days indexes the tables in 32 bits
            raise ValueError(f"{len(delays)} delay tables are more than the compiled engine takes")
        self.host_guide = i64(host_guide, self.keep)
        self.delays = i32(delays, self.keep)
        self.court_tab = i64(w.court_tab, self.keep)
        self.notice_tab = i64(w.notice_tab, self.keep)
        self.mla_chan = i64(w.mla_chan, self.keep)
        self.arrest_chan = i64(w.arrest_chan, self.keep)
        self.order_chan = i64(w.order_chan, self.keep)
        self.route_kind = i64(route_kind, self.keep)
        self.route_tab = i64(route_tab, self.keep)
        self.prov_vol = i64(prov_vol, self.keep)
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
        self.slot_day = self.filled(C, 0)
        self.slot_used = self.filled(C, 0)
        self.starts_on = self.filled(T + 2, 0)  # day T + 1 counts the starts after the run (never read)
        self.queues_day = 0
        self.up_by_country = self.filled(C, 0)
        self.unserved = self.filled(C, 0)
        for i in range(C):
            self.unserved[i] = self.demand_units[i]
        self.lapsed = self.filled(C, 0)
        self.in_transit = self.filled(C, 0)
        self.heat = self.filled(C, 0)
        self.mk_live = self.filled(C, 0)
        self.mk_served = self.filled(C, 0)
        self.scratch_rank = self.filled(C, 0)
        self.mk_open_ids = self.vecs(C)
        self.mk_share = self.filled(C, 0)
        self.mk_rests = self.vecs(C)
        self.eco_level = self.filled(C, 0)
        self.is_host = self.filled(C, 0)
        for i in range(HEAT_LEVELS):
            self.eco_hist[i] = 0
        for i in range(self.n_host_countries):
            self.is_host[self.host_countries[i]] = 1
        self.eco_hist[0] = self.n_host_countries  # no heat yet: every host country at level 0
        self.any_interventions = bool(np.any(w.blocks) or np.any(w.cuts))
        if self.block_after < 1 or self.cutoff_after < 1:  # as the scenario format requires: see interventions
            raise ValueError("block_after and cutoff_after must be at least 1 notice")
        self.cal_notice = self.vecs(T + 1)
        self.cal_seize = self.vecs(T + 1)
        self.cal_request = self.vecs(T + 1)
        self.cal_arrest = self.vecs(T + 1)
        self.cal_successor = self.vecs(T + 1)
        self.cal_migrate = self.vecs(T + 1)
        self.cal_interv = self.vecs(T + 1)

        # not zeroed here (megabytes a run): step() clears each day's row, record() writes every cell of the others
        self.daily_arr = np.empty((T, N_DAILY), dtype=np.int64)
        self.by_country_arr = np.empty((T, C + 1), dtype=np.int64)
        self.users_arr = np.empty((T, C + 1), dtype=np.int64)
        cdef int64_t[:, ::1] dv = self.daily_arr
        cdef int64_t[:, ::1] bv = self.by_country_arr
        cdef int64_t[:, ::1] uv = self.users_arr
        if T > 0:
            self.daily = &dv[0, 0]
            self.by_country = &bv[0, 0]
            self.users_by_market = &uv[0, 0]

        n0 = max(16, w.initial_networks * 2)
        nets, srvs, cases, reqs = _SIZES.get(_shape(w), (n0, n0 * w.servers_per_network, 64, 256))
        if (self.grow_networks(nets) or self.grow_servers(srvs) or self.grow_cases(cases)
                or self.grow_requests(reqs)):
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

    cdef void settle(self, int64_t c) noexcept nogil:
        """Credit market c's open networks with what they gained since its open networks last changed: each the
        sum of the shares, plus one for every day whose rest reached past its place (see users). Their users only
        grew meanwhile, so the peak is right if taken now."""
        cdef Vec* ids = &self.mk_open_ids[c]
        cdef int64_t* rests = self.mk_rests[c].data
        cdef int64_t r, n, share = self.mk_share[c], past = 0
        for r in range(ids.n - 1, -1, -1):  # past: the days whose rest was above r
            n = ids.data[r]
            self.net_users[n] += share + past
            if self.net_users[n] > self.net_users_peak[n]:
                self.net_users_peak[n] = self.net_users[n]
            past += rests[r]
            rests[r] = 0
        self.mk_share[c] = 0

    cdef void open_add(self, int64_t n) noexcept nogil:
        """A new network joins its market's open networks (last: it has the highest id)."""
        cdef int64_t c = self.net_market[n]
        self.settle(c)
        self.net_rank[n] = self.mk_open_ids[c].n
        if vec_push(&self.mk_open_ids[c], n) or vec_push(&self.mk_rests[c], 0):
            self.failed = 1

    cdef void open_remove(self, int64_t n) noexcept nogil:
        """Open network n ends or is blocked: credited first, then off its market's list."""
        cdef int64_t c = self.net_market[n], i
        cdef Vec* ids = &self.mk_open_ids[c]
        self.settle(c)
        for i in range(self.net_rank[n], ids.n - 1):
            ids.data[i] = ids.data[i + 1]
            self.net_rank[ids.data[i]] = i
        ids.n -= 1
        self.mk_rests[c].n -= 1  # all zero once settled

    cdef int64_t* filled(self, int64_t n, int64_t value) except NULL:
        cdef int64_t* p = <int64_t*>malloc((n if n > 0 else 1) * sizeof(int64_t))
        cdef int64_t i
        if p == NULL:
            raise MemoryError()
        for i in range(n):
            p[i] = value
        return p

    cdef Vec* vecs(self, int64_t n) except NULL:
        """``n`` empty vectors (no buffers yet)."""
        cdef Vec* v = <Vec*>calloc(n if n > 0 else 1, sizeof(Vec))
        if v == NULL:
            raise MemoryError()
        return v

    def __dealloc__(self):
        cdef int64_t i
        free_vecs(self.cal_notice, self.T + 1); free_vecs(self.cal_seize, self.T + 1)
        free_vecs(self.cal_request, self.T + 1); free_vecs(self.cal_arrest, self.T + 1)
        free_vecs(self.cal_successor, self.T + 1); free_vecs(self.cal_migrate, self.T + 1)
        free_vecs(self.cal_interv, self.T + 1)
        for i in range(self.spare_data.n):
            free(<int64_t*>self.spare_data.data[i])
        free(self.spare_data.data); free(self.spare_cap.data)
        free(self.open_cases); free(self.up_by_country)
        free(self.slot_day); free(self.slot_used); free(self.starts_on)
        free(self.b_srv); free(self.b_to); free(self.b_kind); free(self.b_tab); free(self.b_start); free(self.b_due)
        free(self.b_mla)
        free(self.unserved); free(self.lapsed); free(self.in_transit); free(self.heat)
        free(self.mk_live); free(self.mk_served); free(self.scratch_rank)
        free_vecs(self.mk_open_ids, self.C); free_vecs(self.mk_rests, self.C); free(self.mk_share)
        free(self.eco_level); free(self.is_host)
        free(self.net_users); free(self.net_users_peak); free(self.net_blocked_day); free(self.net_cut_day)
        free(self.net_block_due); free(self.net_cutoff_due); free(self.net_movers); free(self.net_lists)
        free(self.net_rank)
        free(self.net_mem)
        free(self.net_home); free(self.net_market); free(self.net_pred); free(self.net_born); free(self.net_ended)
        free(self.net_cause); free(self.net_nsc); free(self.net_case); free(self.net_nup); free(self.net_created)
        free(self.net_takedowns); free(self.net_seizures); free(self.net_notices); free(self.net_cases)
        if self.net_srv != NULL:
            free_vecs(self.net_srv, self.n_net)
        free(self.net_arrested_by)
        free(self.net_first_case)
        free(self.srv); free(self.srv_pos); free(self.up_state)
        free(self.case_net); free(self.case_lead); free(self.case_opened); free(self.case_stage)
        free(self.case_pending); free(self.case_evidence); free(self.case_identified); free(self.case_arrested_by)
        free(self.req)
        free(self.up_list.data); free(self.live_list.data); free(self.short_list.data); free(self.cand_list.data); free(self.evidence_list.data); free(self.due.data); free(self.hit)
        free(self.pending.data); free(self.cut_list.data); free(self.new_cut.data)
        free(self.entry_q_today); free(self.entry_key); free(self.entry_hit)

    # ------------------------------------------------------------------ growth (structure of arrays)

    # Each grow_* leaves every array valid (grown or not) and updates the capacity only when all grew, so a
    # failed allocation is reported (``failed``, then MemoryError) and never written past.

    cdef int grow_networks(self, int64_t cap) noexcept nogil:
        if (regrow(&self.net_home, cap) or regrow(&self.net_market, cap) or regrow(&self.net_pred, cap)
                or regrow(&self.net_born, cap) or regrow(&self.net_ended, cap) or regrow(&self.net_cause, cap)
                or regrow(&self.net_nsc, cap) or regrow(&self.net_case, cap) or regrow(&self.net_nup, cap)
                or regrow(&self.net_created, cap) or regrow(&self.net_takedowns, cap)
                or regrow(&self.net_seizures, cap) or regrow(&self.net_notices, cap) or regrow(&self.net_cases, cap)
                or grow_vecs(&self.net_srv, cap)
                or regrow(&self.net_arrested_by, cap) or regrow(&self.net_first_case, cap)
                or regrow(&self.net_users, cap) or regrow(&self.net_users_peak, cap)
                or regrow(&self.net_blocked_day, cap) or regrow(&self.net_cut_day, cap)
                or regrow(&self.net_block_due, cap) or regrow(&self.net_cutoff_due, cap)
                or regrow(&self.net_movers, cap) or regrow(&self.net_lists, cap) or regrow(&self.net_rank, cap)
                or regrow(&self.net_mem, cap * self.C)):
            self.failed = 1
            return 1
        self.cap_net = cap
        return 0

    cdef int grow_servers(self, int64_t cap) noexcept nogil:
        cdef Srv* q = NULL
        if cap <= ID32_CAP:
            q = <Srv*>realloc(self.srv, cap * sizeof(Srv))
        if q == NULL:
            self.failed = 1
            return 1
        self.srv = q
        if regrow(&self.srv_pos, cap):
            self.failed = 1
            return 1
        self.cap_srv = cap
        return 0

    cdef int grow_cases(self, int64_t cap) noexcept nogil:
        if (cap > ID32_CAP or regrow(&self.case_net, cap) or regrow(&self.case_lead, cap) or regrow(&self.case_opened, cap)
                or regrow(&self.case_stage, cap) or regrow(&self.case_pending, cap) or regrow(&self.case_evidence, cap)
                or regrow(&self.case_identified, cap) or regrow(&self.case_arrested_by, cap)
):
            self.failed = 1
            return 1
        self.cap_case = cap
        return 0

    cdef int batch_room(self, int64_t n) noexcept nogil:
        """Room for ``n`` requests in the batch arrays; -1 (and ``failed``) when they cannot grow."""
        cdef int64_t cap = n if n > 2 * self.b_cap else 2 * self.b_cap
        if n <= self.b_cap:
            return 0
        if (regrow(&self.b_srv, cap) or regrow(&self.b_to, cap) or regrow(&self.b_kind, cap)
                or regrow(&self.b_tab, cap) or regrow(&self.b_start, cap) or regrow(&self.b_due, cap)
                or regrow(&self.b_mla, cap)):
            self.failed = 1
            return -1
        self.b_cap = cap
        return 0

    cdef int grow_requests(self, int64_t cap) noexcept nogil:
        cdef Req* q = NULL
        if cap <= ID32_CAP:  # ids of requests, cases and servers are kept in 32 bits
            q = <Req*>realloc(self.req, cap * sizeof(Req))
        if q == NULL:
            self.failed = 1
            return 1
        self.req = q
        self.cap_req = cap
        return 0

    # ------------------------------------------------------------------ helpers shared by the phases

    cdef inline double u(self, int64_t stream, int64_t t, int64_t a, int64_t b) noexcept nogil:
        # The prefix depends on (stream, t) alone: kept per stream, it is computed once a day (once a run for
        # the t = 0 streams), so most draws cost two rounds instead of five. The bits are the same.
        if self.pre_t[stream] != t:
            self.pre_t[stream] = t
            self.pre_v[stream] = prefix(self.mixed_seed, <uint64_t>stream, <uint64_t>t)
        return uniform_at(self.pre_v[stream], <uint64_t>a, <uint64_t>b)

    cdef inline int64_t draw(self, int64_t table, double u) noexcept nogil:
        return self.delays[table * K_TABLE + <int64_t>(u * K_TABLE)]

    cdef inline void cal_add(self, Vec* cal, int64_t day, int64_t idx) noexcept nogil:
        if day <= self.T:  # days past the horizon never come
            if cal[day].cap == 0 and self.spare_data.n:  # reuse a popped day's buffer
                self.spare_data.n -= 1
                self.spare_cap.n -= 1
                cal[day].data = <int64_t*>self.spare_data.data[self.spare_data.n]
                cal[day].cap = self.spare_cap.data[self.spare_cap.n]
            if vec_push(&cal[day], idx):
                self.failed = 1

    cdef void cal_pop(self, Vec* cal, int64_t t) noexcept nogil:
        """Today's ids into ``self.due``, ascending; the day's buffer becomes ``due`` and due's old buffer is
        kept for reuse. Ids added for day ``t`` after its pop are never seen (as with any calendar)."""
        cdef int64_t i, j, n, x
        cdef int64_t* a
        if self.due.cap:
            if vec_push(&self.spare_data, <int64_t>self.due.data) or vec_push(&self.spare_cap, self.due.cap):
                self.failed = 1
                return
        self.due = cal[t]
        cal[t].data = NULL
        cal[t].n = 0
        cal[t].cap = 0
        # Ids come in order of addition, which is mostly ascending: one pass usually confirms it; otherwise sort.
        a = self.due.data
        n = self.due.n
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
        self.net_srv[n].data = NULL
        self.net_srv[n].n = 0
        self.net_srv[n].cap = 0
        self.net_arrested_by[n] = -1
        self.net_first_case[n] = -1
        self.net_users[n] = 0
        self.net_users_peak[n] = 0
        self.net_blocked_day[n] = -1
        self.net_cut_day[n] = -1
        self.net_block_due[n] = 0
        self.net_cutoff_due[n] = 0
        self.net_movers[n] = 0
        self.net_lists[n] = 0
        memset(self.net_mem + n * self.C, 0, self.C * sizeof(int64_t))
        self.mk_live[self.net_market[n]] += 1
        self.n_net += 1
        self.open_add(n)
        self.n_live += 1
        if vec_push(&self.live_list, n):
            self.failed = 1
            return -1
        for i in range(self.spn):
            self.provision(n, t)
        return n

    cdef void provision(self, int64_t n, int64_t t) noexcept nogil:
        cdef int64_t s = self.n_srv, p, c
        cdef unsigned char* st
        if s == self.cap_srv and self.grow_servers(self.cap_srv * 2):
            return
        p = self.choose_host(n, s)
        c = self.prov_country[p]
        self.srv[s].net = n
        self.srv[s].prov = p
        self.srv[s].country = c
        self.srv[s].up = 1
        self.srv[s].removed = -1
        self.srv[s].seized = 0
        self.srv[s].notice_due = 0
        self.srv[s].seize_due = 0
        if vec_push(&self.net_srv[n], s):
            self.failed = 1
            return
        self.n_srv += 1
        self.srv_pos[s] = self.up_list.n
        if vec_push(&self.up_list, s):
            self.failed = 1
            return
        if self.up_list.cap > self.cap_up:  # up_state and hit follow up_list's capacity
            st = <unsigned char*>realloc(self.up_state, self.up_list.cap)
            if st != NULL:
                self.up_state = st
                st = <unsigned char*>realloc(self.hit, self.up_list.cap)
            if st == NULL:
                self.failed = 1
                return
            self.hit = st
            self.cap_up = self.up_list.cap
        self.up_state[self.srv_pos[s]] = SRV_IDLE
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
        cdef int64_t i, p, c, d, coolest = HEAT_LEVELS, total, x
        cdef u128 big = 0
        if not self.adaptive:
            return pick(self.host_cum, self.P, self.u(HOST, 0, s, 0))
        coolest = 0
        while self.eco_hist[coolest] == 0:  # the lowest ecosystem level among host countries
            coolest += 1
        total = self.host_wq_cum[self.P - 1]
        for i in range(HOST_TRIES):
            x = <int64_t>((<u128>top53_at(self.pre_host, <uint64_t>s, <uint64_t>i) * <u128>total) >> 53)
            p = self.host_guide[x >> self.guide_shift]  # then the first p with host_wq_cum[p] > x
            while self.host_wq_cum[p] <= x:
                p += 1
            d = self.heat_level(n, self.prov_country[p]) - coolest
            if d == 0 or top53_at(self.pre_accept, <uint64_t>s, <uint64_t>i) < (
                    <uint64_t>self.accept[d] << (53 - ACCEPT_BITS)):
                return p
        for p in range(self.P):
            if self.host_wq[p]:
                big += <u128>self.host_wq[p] * <u128>self.accept[self.heat_level(n, self.prov_country[p]) - coolest]
        big = (<u128>top53_at(self.pre_exact, <uint64_t>s, 0) * big) >> 53
        for p in range(self.P):
            if self.host_wq[p]:
                d = self.heat_level(n, self.prov_country[p]) - coolest
                if big < <u128>self.host_wq[p] * <u128>self.accept[d]:
                    return p
                big -= <u128>self.host_wq[p] * <u128>self.accept[d]
        return self.P - 1  # unreachable: the draw is below the sum of the weights

    cdef void remove_server(self, int64_t s, int64_t t, bint hot) noexcept nogil:
        """Take a server down; a takedown or seizure (``hot``) heats its country and enters the network's memory."""
        cdef int64_t i = self.srv_pos[s], last = self.up_list.n - 1, m = self.up_list.data[last]
        self.srv[s].up = 0
        # Out of up_list: the last entry takes its place (detection's order does not matter, see detection()).
        self.up_list.data[i] = m
        self.up_state[i] = self.up_state[last]
        self.srv_pos[m] = i
        self.srv_pos[s] = -1
        self.up_list.n = last
        self.srv[s].removed = t
        self.srv[s].notice_due = 0
        self.srv[s].seize_due = 0
        self.n_up -= 1
        self.up_by_country[self.srv[s].country] -= 1
        self.net_nup[self.srv[s].net] -= 1
        self.listed(self.srv[s].net, IN_SHORT, &self.short_list)
        if hot:
            self.heat[self.srv[s].country] += 1 << 16
            self.net_mem[self.srv[s].net * self.C + self.srv[s].country] += 1
        self.refresh_eco(self.srv[s].country)

    cdef inline bint bears_evidence(self, int64_t s, int64_t t, int64_t retention) noexcept nogil:
        # bitwise, not short-circuit: no branch (open_case runs it over every server of a network)
        return (self.srv[s].up | self.srv[s].seized) | (t - self.srv[s].removed <= retention)

    cdef void quit_check(self, int64_t s, int64_t t) noexcept nogil:
        if self.u(QUIT_S, t, s, 0) < self.quit_p:
            self.end_network(self.srv[s].net, t, CAUSE_QUIT)
            self.row[D_QUITS] += 1

    cdef void end_network(self, int64_t n, int64_t t, int64_t cause) noexcept nogil:
        cdef int64_t i, s, users, m, movers, due
        self.net_ended[n] = t  # first: its servers going down below do not put it on the short list
        for i in range(self.net_srv[n].n):
            s = self.net_srv[n].data[i]
            if self.srv[s].up:
                self.remove_server(s, t, False)
        free(self.net_srv[n].data)  # an ended network's servers are never walked again
        self.net_srv[n].data = NULL
        self.net_srv[n].n = 0
        self.net_srv[n].cap = 0
        self.net_cause[n] = cause
        self.n_live -= 1
        if self.net_blocked_day[n] == -1:
            self.open_remove(n)  # its users credited first
        users = self.net_users[n]
        m = self.net_market[n]
        self.mk_live[m] -= 1
        self.mk_served[m] -= users
        if users:
            movers = (users * self.migrate_fx) >> FX_BITS
            self.lapsed[m] += users - movers
            self.net_movers[n] = movers
            if movers:
                self.in_transit[m] += movers
                due = t + self.draw(self.migration_tab, self.u(MIGRATE_DELAY, t, n, 0))
                self.cal_add(self.cal_migrate, due, n)
            self.net_users[n] = 0
        if self.net_case[n] != -1:
            self.close_case(self.net_case[n])
            if cause != CAUSE_ARREST:
                self.row[D_CASES_MOOT] += 1

    cdef void open_case(self, int64_t n, int64_t lead, int64_t t) noexcept nogil:
        cdef int64_t k = self.n_case, s, host, p, pair, i, keep = 0, j = 0, kind, table, vol, bears
        cdef Vec* v
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
        v = &self.net_srv[n]
        if self.batch_room(v.n + 1):
            return
        for i in range(v.n):
            s = v.data[i]
            if i + PREFETCH < v.n:  # independent loads: ask for the servers ahead while this one is handled
                __builtin_prefetch(&self.srv[v.data[i + PREFETCH]])
            # Without branches, which would be coin tosses: every server is written at the ends of the kept list
            # and of the batch, and counted only if it bears evidence. One that does not has lost its logs for
            # good (it is down, not seized, past retention): no later pass over the network's servers can use it,
            # so it leaves the list (the order of the rest is kept).
            host = self.srv[s].country
            bears = self.bears_evidence(s, t, self.retention[host])
            v.data[keep] = s
            keep += bears
            p = self.srv[s].prov
            pair = lead * self.C + host
            kind = self.route_kind[pair]
            table = self.route_tab[pair]
            vol = self.prov_vol[p]  # where the provider decides (kind -1): voluntary disclosure or MLA
            self.b_kind[j] = kind if kind >= 0 else KIND_MLA + vol * (KIND_VOLUNTARY - KIND_MLA)
            self.b_tab[j] = table if kind >= 0 else table + vol * (self.disclosure_tab[p] - table)
            self.b_srv[j] = s
            self.b_to[j] = host
            j += bears
        v.n = keep
        if self.u(MONEY, 0, k, 0) < self.money_p:
            self.b_srv[j], self.b_to[j], self.b_kind[j], self.b_tab[j] = -1, lead, KIND_MONEY, self.court_tab[lead]
            j += 1
        self.issue_requests(k, t, j)

    cdef void new_request(self, int64_t k, int64_t s, int64_t requested, int64_t kind, int64_t t,
                          int64_t table) noexcept nogil:
        """One request of case k (a fallback to MLA): see issue_requests."""
        if self.batch_room(1):
            return
        self.b_srv[0], self.b_to[0], self.b_kind[0], self.b_tab[0] = s, requested, kind, table
        self.issue_requests(k, t, 1)

    cdef void issue_requests(self, int64_t k, int64_t t, int64_t count) noexcept nogil:
        """Case k sends the ``count`` requests of the batch arrays, with consecutive ids: an MLA request joins the
        requested country's queue, any other starts today.

        A queue is first in, first out, and starts at most ``mla_per_day`` requests a day from the day the request
        joins it (the next day when it joins after the day's starts, phase 6). So the day a request will start is
        known when it joins: the first day from then with a start left, after those ahead of it. Every request is
        scheduled now, and a queue is only a count of the requests that start each day. The passes keep the
        branches apart from the draws, which are independent of one another and so overlap."""
        cdef int64_t j, r0 = self.n_req, lead = self.case_lead[k], c, kind, start, m, due, n_mla = 0, i, used
        cdef bint late, full, over
        cdef const int64_t* preserve = self.preserve + lead * self.C
        cdef Req* q
        while r0 + count > self.cap_req:
            if self.grow_requests(self.cap_req * 2):
                return
        self.n_req += count
        self.case_pending[k] += count
        for j in range(0, count, 2):  # the records' lines, to be written below (two records a line)
            __builtin_prefetch_w(&self.req[r0 + j], 1)
        for j in range(count):  # the records, each starting today; the MLA ones listed (no branch on the kind)
            c = self.b_to[j]
            kind = self.b_kind[j]
            q = &self.req[r0 + j]
            q.case = k
            q.server = self.b_srv[j]
            q.lead = lead
            q.requested = c
            q.kind = kind
            q.created = t
            q.started = t
            q.resolved = -1
            q.outcome = OUT_OPEN
            q.preserved = preserve[c] & -<int64_t>((kind != KIND_DOMESTIC) & (kind != KIND_MONEY))
            self.sent[kind] += 1
            self.b_start[j] = t
            self.b_mla[n_mla] = j
            n_mla += kind == KIND_MLA
        self.backlog += n_mla
        for i in range(n_mla):  # an MLA request starts when its queue reaches it (selects, not branches)
            j = self.b_mla[i]
            c = self.b_to[j]
            m = self.mla_per_day[c]
            start = -1  # never, unless the queue starts any
            if m > 0:
                start = self.slot_day[c]
                used = self.slot_used[c]
                late = start <= self.queues_day  # the queue is empty: it starts the day after its last starts
                start = self.queues_day + 1 if late else start
                used = (0 if late else used) + 1
                full = used == m
                self.slot_day[c] = start + full
                self.slot_used[c] = 0 if full else used
                over = start > self.T
                self.starts_on[self.T + 1 if over else start] += 1
                start = -1 if over else start
            self.req[r0 + j].started = start
            self.b_start[j] = start
        # the due days, all at once (a request that never starts gets a day it never uses)
        due_days(self.req_key, self.b_start, r0, count, self.b_tab, self.delays, K_TABLE, self.b_due)
        for j in range(count):
            # On the calendar of its due day as (request << 32 | case): the answer is read only if the case is still
            # open that day. Otherwise it is dropped, which touches nothing but the request, so the request is left
            # as scheduled (due day set, outcome open) and records() writes the drop.
            due = self.b_due[j]
            if self.b_start[j] >= 0 and due <= self.T:
                self.req[r0 + j].resolved = due
                self.cal_add(self.cal_request, due, ((r0 + j) << 32) | k)

    cdef void close_case(self, int64_t k) noexcept nogil:
        cdef int64_t n = self.case_net[k]
        self.case_stage[k] = ST_CLOSED
        self.open_cases[self.case_lead[k]] -= 1
        self.n_cases_open -= 1
        self.net_case[n] = -1
        if self.net_nsc[n] >= self.threshold:  # its complaint can be filed again
            self.listed(n, IN_CANDIDATES, &self.cand_list)

    cdef inline void listed(self, int64_t n, int64_t flag, Vec* lst) noexcept nogil:
        """Put live network n on an ascending list (once)."""
        if self.net_ended[n] == -1 and not (self.net_lists[n] & flag):
            self.net_lists[n] |= flag
            if sorted_insert(lst, n):
                self.failed = 1

    # ------------------------------------------------------------------ the day: eleven phases in order

    cdef void step(self, int64_t t) noexcept nogil:
        self.row = self.daily + (t - 1) * N_DAILY
        memset(self.row, 0, N_DAILY * sizeof(int64_t))
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
        self.cal_pop(self.cal_successor, t)
        for i in range(self.due.n):
            self.create_network(t, self.due.data[i], -1)
            self.row[D_SUCCESSORS] += 1
        if self.entry_demand:  # stage B: entry per market, driven by its unserved users
            # The draws u(ENTRY, t, c, slot) all at once: entering changes no market's unserved users, so every
            # chance is known before the first network enters. Then the entries in order of market and slot.
            for c in range(self.C):
                self.entry_q_today[c] = (self.entry_dq[self.entry_dq_off[c] + self.unserved[c]]
                                         if self.demand_units[c] else -1.0)
            if entry_hits(prefix(self.mixed_seed, ENTRY, <uint64_t>t), self.entry_q_today, self.C, self.S,
                          self.entry_key, self.entry_hit) == 0:
                return
            for c in range(self.C):
                for slot in range(self.S):
                    if self.entry_hit[slot * self.C + c]:
                        self.create_network(t, -1, c)
                        self.row[D_ENTRIES] += 1
            return
        q = self.entry_q[self.n_live if self.n_live < self.Kcap else self.Kcap]
        for slot in range(self.S):
            if self.u(ENTRY, t, slot, 0) < q:
                self.create_network(t, -1, -1)
                self.row[D_ENTRIES] += 1

    cdef void detection(self, int64_t t) noexcept nogil:
        """One draw per up server (the hot loop, vectorised, over the contiguous list of up servers); an idle one
        drawn below detect_prob gets a notice. Busy servers draw too and ignore it: a draw consumes nothing.
        The order of the list does not matter: a notice touches only its server, commutative counters and the
        notice calendar, whose days are taken up in ascending id order."""
        cdef int64_t i = 0, end = self.up_list.n
        cdef uint64_t word
        if detect_hits(prefix(self.mixed_seed, DETECT, <uint64_t>t), self.up_list.data, end, self.detect_thr,
                       self.hit) == 0:
            return
        while i + 8 <= end:  # detections are rare: eight at a time, then each set byte (0 or 1) by its bit
            memcpy(&word, self.hit + i, 8)
            while word:
                self.notice(i + (__builtin_ctzll(word) >> 3), t)
                word &= word - 1
            i += 8
        while i < end:
            if self.hit[i]:
                self.notice(i, t)
            i += 1

    cdef inline void notice(self, int64_t i, int64_t t) noexcept nogil:
        """Entry i of up_list was detected today: if it is idle, its host gets a notice."""
        cdef int64_t s, n
        if self.up_state[i] != SRV_IDLE:
            return
        s = self.up_list.data[i]
        self.up_state[i] = SRV_BUSY
        self.srv[s].notice_due = t + self.draw(self.notice_tab[self.srv[s].prov], self.u(NOTICE_DELAY, t, s, 0))
        self.cal_add(self.cal_notice, self.srv[s].notice_due, s)
        n = self.srv[s].net
        self.net_nsc[n] += 1
        self.net_notices[n] += 1
        if self.any_interventions and (self.net_notices[n] == self.block_after
                                       or self.net_notices[n] == self.cutoff_after):
            if vec_push(&self.pending, n):
                self.failed = 1
        self.row[D_NOTICES] += 1
        if self.net_nsc[n] >= self.threshold:
            self.listed(n, IN_CANDIDATES, &self.cand_list)

    cdef void notices_due(self, int64_t t) noexcept nogil:
        cdef int64_t i, s, c
        self.cal_pop(self.cal_notice, t)
        for i in range(self.due.n):
            s = self.due.data[i]
            if self.srv[s].notice_due != t:
                continue  # cancelled: the server went down before its notice came due
            self.srv[s].notice_due = 0
            if not self.srv[s].up:
                continue
            self.up_state[self.srv_pos[s]] = SRV_IDLE  # unless a referral below makes it wait for a seizure
            c = self.srv[s].country
            if self.u(COMPLY, t, s, 0) < self.compliance[self.srv[s].prov]:
                self.remove_server(s, t, True)
                self.row[D_TAKEDOWNS] += 1
                self.net_takedowns[self.srv[s].net] += 1
                self.quit_check(s, t)
            elif self.u(SEIZE, t, s, 0) < self.seize_prob[c]:
                self.up_state[self.srv_pos[s]] = SRV_BUSY
                self.srv[s].seize_due = t + self.draw(self.court_tab[c], self.u(COURT_DELAY, t, s, 0))
                self.cal_add(self.cal_seize, self.srv[s].seize_due, s)
                self.row[D_REFERRALS] += 1

    cdef void seizures_due(self, int64_t t) noexcept nogil:
        cdef int64_t i, s
        self.cal_pop(self.cal_seize, t)
        for i in range(self.due.n):
            s = self.due.data[i]
            if self.srv[s].seize_due != t:
                continue
            self.srv[s].seize_due = 0
            if not self.srv[s].up:
                continue
            self.remove_server(s, t, True)
            self.srv[s].seized = 1
            self.row[D_SEIZURES] += 1
            self.net_seizures[self.srv[s].net] += 1
            self.quit_check(s, t)

    cdef void cases_open(self, int64_t t) noexcept nogil:
        """Complaints, in ascending network id as over all live networks: only the listed candidates can file
        one (case_threshold notices since the last, no open case); a candidate leaves the list when it files,
        gets a case or ends, and stays while its lead has no capacity."""
        cdef int64_t i, n, lead, keep = 0
        cdef int64_t* ids = self.live_list.data
        if self.live_list.n > self.n_live + (self.n_live >> 3) + 8:
            # drop the networks ended since the last pass, once they are an eighth of the list (its readers skip them)
            for i in range(self.live_list.n):
                n = ids[i]
                ids[keep] = n
                keep += self.net_ended[n] == -1
            self.live_list.n = keep
            keep = 0
        ids = self.cand_list.data
        for i in range(self.cand_list.n):
            n = ids[i]
            if self.net_ended[n] != -1 or self.net_case[n] != -1 or self.net_nsc[n] < self.threshold:
                self.net_lists[n] &= ~IN_CANDIDATES
                continue
            lead = self.net_market[n]
            if self.open_cases[lead] >= self.capacity[lead]:
                ids[keep] = n  # no capacity: the complaint waits until tomorrow
                keep += 1
                continue
            self.net_nsc[n] = 0
            self.net_lists[n] &= ~IN_CANDIDATES
            if self.u(OPEN, t, n, 0) < self.open_prob[lead]:
                self.open_case(n, lead, t)
        self.cand_list.n = keep

    cdef void interventions(self, int64_t t) noexcept nogil:
        """Phase 6, as a pass over every live network in ascending id order, but visiting only those with
        something to do today (the others' steps are all no-ops): the networks cut off (a quit draw each day),
        those that reached a notice threshold today (``pending``: thresholds are at least 1, so a network reaches
        one only by a notice) and those whose blocking order or cut-off comes into force today (``cal_interv``).
        ``cut_list`` is compacted as it is walked."""
        cdef int64_t i = 0, j = 0, k, n, prev = -1, keep = 0, was_cut
        cdef bint from_cut
        if not self.any_interventions:
            return
        self.cal_pop(self.cal_interv, t)  # ascending into due; the pending networks join it, and it is re-sorted
        if self.pending.n:
            for k in range(self.pending.n):
                if vec_push(&self.due, self.pending.data[k]):
                    self.failed = 1
                    return
            self.pending.n = 0
            qsort(self.due.data, self.due.n, sizeof(int64_t), cmp_i64)
        self.new_cut.n = 0
        while i < self.cut_list.n or j < self.due.n:  # the two ascending lists merged, repeats visited once
            from_cut = j == self.due.n or (i < self.cut_list.n and self.cut_list.data[i] <= self.due.data[j])
            if from_cut:
                n = self.cut_list.data[i]
                i += 1
            else:
                n = self.due.data[j]
                j += 1
            if n == prev or self.net_ended[n] != -1:
                continue
            prev = n
            was_cut = self.net_cut_day[n] != -1
            self.intervene(n, t)
            if self.net_ended[n] == -1:
                if from_cut:
                    self.cut_list.data[keep] = n
                    keep += 1
                elif not was_cut and self.net_cut_day[n] != -1:
                    if vec_push(&self.new_cut, n):
                        self.failed = 1
                        return
        self.cut_list.n = keep
        for k in range(self.new_cut.n):
            if sorted_insert(&self.cut_list, self.new_cut.data[k]):
                self.failed = 1
                return

    cdef void intervene(self, int64_t n, int64_t t) noexcept nogil:
        """Live network n in phase 6: blocking orders and cut-offs are drawn once its notices reach their
        thresholds, come into force on their day, and a network cut off may quit each day."""
        cdef int64_t c = self.net_market[n], lost
        if self.blocks[c] and not self.net_block_due[n] and self.net_notices[n] >= self.block_after:
            self.net_block_due[n] = t + self.draw(self.block_tab, self.u(BLOCK_DELAY, t, n, 0))
            if self.net_block_due[n] != t:
                self.cal_add(self.cal_interv, self.net_block_due[n], n)
        if self.cuts[c] and not self.net_cutoff_due[n] and self.net_notices[n] >= self.cutoff_after:
            self.net_cutoff_due[n] = t + self.draw(self.cutoff_tab, self.u(CUTOFF_DELAY, t, n, 0))
            if self.net_cutoff_due[n] != t:
                self.cal_add(self.cal_interv, self.net_cutoff_due[n], n)
        if self.net_block_due[n] == t:
            self.net_blocked_day[n] = t
            self.open_remove(n)  # its users credited first
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
        """Each country starts its quota of queued requests: they were scheduled when they joined the queue
        (see issue_requests), so only the backlog changes."""
        self.backlog -= self.starts_on[t]
        self.queues_day = t

    cdef void requests_due(self, int64_t t) noexcept nogil:
        cdef int64_t i, r, k, c, kind
        cdef double p
        self.cal_pop(self.cal_request, t)
        for i in range(self.due.n):
            k = self.due.data[i] & ((<int64_t>1 << 32) - 1)
            if self.case_stage[k] == ST_CLOSED:
                continue  # dropped: records() writes it
            r = self.due.data[i] >> 32
            self.case_pending[k] -= 1
            self.row[D_REQUESTS_ANSWERED] += 1
            c = self.req[r].requested
            kind = self.req[r].kind
            if self.refused(r, kind, c, t):
                self.req[r].outcome = OUT_REFUSED
                self.row[D_REQUESTS_REFUSED] += 1
                if kind == KIND_ORDER or kind == KIND_VOLUNTARY:
                    self.new_request(k, self.req[r].server, c, KIND_MLA, t, self.mla_chan[self.req[r].lead * self.C + c])
                    self.row[D_FALLBACKS] += 1
                continue
            if (kind == KIND_MONEY or self.req[r].preserved
                    or self.bears_evidence(self.req[r].server, t, self.retention[c])):
                self.req[r].outcome = OUT_EVIDENCE
                self.row[D_EVIDENCE_OBTAINED] += 1
                p = self.money_ident_p if kind == KIND_MONEY else self.ident_p
                if self.u(IDENT, 0, k, self.case_evidence[k]) < p and not self.case_identified[k]:
                    self.case_identified[k] = 1
                    self.row[D_CASES_IDENTIFIED] += 1
                self.case_evidence[k] += 1
            else:
                self.req[r].outcome = OUT_LOST
                self.row[D_EVIDENCE_LOST] += 1

    cdef inline bint refused(self, int64_t r, int64_t kind, int64_t c, int64_t t) noexcept nogil:
        cdef double p
        if kind == KIND_MLA:
            p = self.grant_prob[c]
        elif kind == KIND_ORDER:
            p = self.order_compliance[self.srv[self.req[r].server].prov]
        elif kind == KIND_VOLUNTARY:
            p = self.discloses[self.srv[self.req[r].server].prov]
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
        self.cal_add(self.cal_arrest, t + self.draw(table, self.u(ARREST_DELAY, 0, k, 0)), k)

    cdef void arrests_due(self, int64_t t) noexcept nogil:
        cdef int64_t i, i2, k, n, lead, s, due, j, up
        self.cal_pop(self.cal_arrest, t)
        for i in range(self.due.n):
            k = self.due.data[i]
            if self.case_stage[k] != ST_ARRESTING:
                continue  # the network quit first: the case closed as moot
            n = self.case_net[k]
            lead = self.case_lead[k]
            j = 0
            up = 0
            for i2 in range(self.net_srv[n].n):
                s = self.net_srv[n].data[i2]
                if self.srv[s].up:
                    up += 1
                    j += self.joint[lead * self.C + self.srv[s].country]
            self.net_arrested_by[n] = self.case_arrested_by[k]
            self.end_network(n, t, CAUSE_ARREST)
            self.row[D_ARRESTS] += 1
            if self.u(SUCCESSOR, 0, n, 0) < self.succ_q[j * (self.spn + 1) + up]:
                due = t + self.draw(self.succ_tab, self.u(SUCC_DELAY, 0, n, 0))
                self.cal_add(self.cal_successor, due, n)

    cdef void users(self, int64_t t) noexcept nogil:
        """Migrations, then each market's gain split equally among its open networks, the first (lowest ids)
        getting the rest. The split is the same every day until the market's open networks change, so instead of
        crediting every network every day the market adds up the shares and counts the days of each rest; a
        network's users are brought up to date (settle) before anything reads them or the open networks change."""
        cdef int64_t i, j, n, x, c, movers, target, back, gain, k
        self.cal_pop(self.cal_migrate, t)
        for i in range(self.due.n):
            n = self.due.data[i]
            c = self.net_market[n]
            movers = self.net_movers[n]
            self.in_transit[c] -= movers
            self.settle(c)
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
        for c in range(self.C):
            back = (self.lapsed[c] * self.return_fx) >> FX_BITS
            self.lapsed[c] -= back
            self.unserved[c] += back
            k = self.mk_open_ids[c].n  # open networks
            gain = (self.unserved[c] * self.acquire_fx) >> FX_BITS if k else 0
            if gain:
                self.unserved[c] -= gain
                self.mk_served[c] += gain
                self.mk_share[c] += gain // k
                self.mk_rests[c].data[gain % k] += 1

    cdef void reprovisioning(self, int64_t t) noexcept nogil:
        cdef int64_t i, n, slot, missing, keep = 0, c, won
        cdef int64_t* ids = self.short_list.data  # ascending, as over all live networks: the others lack nothing
        if self.adaptive:  # heat is read only by the adaptive host choice
            for c in range(self.C):
                self.heat[c] -= self.heat[c] >> self.heat_shift
                self.refresh_eco(c)
        for i in range(self.short_list.n):
            n = ids[i]
            if self.net_ended[n] != -1:
                self.net_lists[n] &= ~IN_SHORT
                continue
            missing = self.spn - self.net_nup[n]
            # the successful slots counted first (a coin toss each, summed rather than branched on), then
            # provisioned: the draws do not depend on the provisioning, nor a server on its slot
            won = 0
            for slot in range(missing):
                won += self.u(REPROVISION, t, n, slot) < self.reprov_p
            self.row[D_REPROVISIONS] += won
            for slot in range(won):
                self.provision(n, t)
            if self.net_nup[n] < self.spn:
                ids[keep] = n
                keep += 1
            else:
                self.net_lists[n] &= ~IN_SHORT
        self.short_list.n = keep

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
        for c in range(N_KINDS):
            self.row[D_REQUESTS_SENT] += self.sent[c]
        self.row[D_REQUESTS_VOLUNTARY] = self.sent[KIND_VOLUNTARY]
        self.row[D_REQUESTS_ORDER] = self.sent[KIND_ORDER]
        self.row[D_REQUESTS_JIT] = self.sent[KIND_JIT]
        self.row[D_REQUESTS_MONEY] = self.sent[KIND_MONEY]
        memset(self.sent, 0, sizeof(self.sent))
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
        cdef int64_t c
        for t in range(1, self.T + 1):
            self.step(t)
            if self.failed:
                return -1
        for c in range(self.C):  # the last days' gains, for the networks' peaks
            self.settle(c)
        return 0

    def run(self):
        """Run every day of the horizon (without the GIL)."""
        cdef int rc
        with nogil:
            rc = self.loop()
        if rc:
            raise MemoryError("compiled engine ran out of memory")

    def records(self, bint requests=True):
        """(networks, requests) as int64 arrays in the column order of sim.outputs, column-major (as pandas keeps
        its columns, so they become DataFrames without a copy); with ``requests=False`` the requests array has no
        rows."""
        cdef int64_t n, r, N = self.n_net, R = self.n_req if requests else 0
        nets = np.empty((N, N_NET_COLS), dtype=np.int64, order="F")
        reqs = np.empty((R, 10), dtype=np.int64, order="F")
        cdef int64_t[::1, :] nv = nets
        cdef int64_t[::1, :] rv = reqs
        cdef int64_t* ncol = &nv[0, 0] if N else NULL  # column j of network n at ncol[j * N + n]
        cdef int64_t* col = &rv[0, 0] if R else NULL
        with nogil:  # plain copies: the dashboard's replicate threads can build their records at once
            for n in range(N):
                ncol[n] = n
                ncol[1 * N + n] = self.net_pred[n]
                ncol[2 * N + n] = self.net_born[n]
                ncol[3 * N + n] = self.net_ended[n]
                ncol[4 * N + n] = self.net_cause[n]
                ncol[5 * N + n] = self.net_home[n]
                ncol[6 * N + n] = self.net_market[n]
                ncol[7 * N + n] = self.net_created[n]
                ncol[8 * N + n] = self.net_takedowns[n]
                ncol[9 * N + n] = self.net_seizures[n]
                ncol[10 * N + n] = self.net_notices[n]
                ncol[11 * N + n] = self.net_cases[n]
                ncol[12 * N + n] = self.net_arrested_by[n]
                ncol[13 * N + n] = self.net_first_case[n]
                ncol[14 * N + n] = self.net_users_peak[n]
                ncol[15 * N + n] = self.net_blocked_day[n]
                ncol[16 * N + n] = self.net_cut_day[n]
            for r in range(R):  # one pass over the records, one sequential output stream per column
                col[r] = r
                col[R + r] = self.req[r].case
                col[2 * R + r] = self.req[r].server
                col[3 * R + r] = self.req[r].lead
                col[4 * R + r] = self.req[r].requested
                col[5 * R + r] = self.req[r].kind
                col[6 * R + r] = self.req[r].created
                col[7 * R + r] = self.req[r].started
                col[8 * R + r] = self.req[r].resolved
                # scheduled within the run and never answered: its case closed first, so it was dropped
                col[9 * R + r] = (OUT_DROPPED if self.req[r].outcome == OUT_OPEN and self.req[r].resolved != -1
                                  else self.req[r].outcome)
        return nets, reqs

    def request_counts(self, int64_t warmup):
        """What the metrics read of the requests table, as counts (sim.outputs.RequestCounts): the MLA
        requests made after day ``warmup`` and answered (evidence, lost or refused) by delay in days (resolved -
        created, 0 .. T), and the evidence obtained after it by the kind of request that brought it."""
        delays = np.zeros(self.T + 1, dtype=np.int64)
        evidence = np.zeros(N_KINDS, dtype=np.int64)
        cdef int64_t[::1] dv = delays
        cdef int64_t[::1] ev = evidence
        cdef int64_t r, out
        with nogil:
            for r in range(self.n_req):
                out = self.req[r].outcome  # a dropped request is still open here (records() names it)
                if (self.req[r].kind == KIND_MLA and self.req[r].created > warmup
                        and (out == OUT_EVIDENCE or out == OUT_LOST or out == OUT_REFUSED)):
                    dv[self.req[r].resolved - self.req[r].created] += 1
                if out == OUT_EVIDENCE and self.req[r].resolved > warmup:
                    ev[self.req[r].kind] += 1
        return delays, evidence

    def entity_counts(self):
        """Entities created (networks, servers, cases, requests): what the engine's memory grows with."""
        return {"networks": self.n_net, "servers": self.n_srv, "cases": self.n_case, "requests": self.n_req}

    def state_bytes(self):
        """Bytes of run state held in C arrays (outputs excluded): entity arrays sized by the entities created
        (an eighth more than the last run of the world's shape, or at most twice, from doubling; a server takes 40
        bytes, a request 32), per-country arrays, the MLA starts per day, a case's batch of requests, and the
        calendars (a vector header per day and calendar, and the buffers they and the spare pool hold)."""
        cdef int64_t i, buffers = 0
        for i in range(self.T + 1):
            buffers += (self.cal_notice[i].cap + self.cal_seize[i].cap + self.cal_request[i].cap
                        + self.cal_arrest[i].cap + self.cal_successor[i].cap + self.cal_migrate[i].cap
                        + self.cal_interv[i].cap)
        for i in range(self.spare_cap.n):
            buffers += self.spare_cap.data[i]
        for i in range(self.C):
            buffers += self.mk_open_ids[i].cap + self.mk_rests[i].cap
        per_entity = (26 + self.C) * self.cap_net + 5 * self.cap_srv + 8 * self.cap_case + 4 * self.cap_req
        lists = (self.up_list.cap + self.live_list.cap + self.evidence_list.cap + self.due.cap
                 + self.spare_data.cap + self.spare_cap.cap + 7 * self.b_cap
                 + self.pending.cap + self.cut_list.cap + self.new_cut.cap)
        return 8 * (per_entity + lists + buffers + 18 * self.C + 22 * (self.T + 1) + 1) + 2 * self.cap_up

    def daily_table(self):
        """The daily table, the servers-by-country and the users-by-market matrices as int64 arrays."""
        return self.daily_arr, self.by_country_arr, self.users_arr


# The engine's own tables derived from a world, made once per world (a world is frozen): every replicate of a
# large world would otherwise redo them, and capping a large world's delay tables alone took a fifth of a run.
_DERIVED = weakref.WeakKeyDictionary()


def _derived(world):
    """(delays, route_kind, route_tab, prov_vol, host_guide, guide_shift) for ``world``, cached while it lives.

    - delays: capped at T + 1, as int32. A delay past the horizon means "never within the run" wherever it is
      added to a day, so the cap changes no due day that can come; it keeps every due day (at most 2T + 1)
      within 32 bits and halves the tables, whose random reads (a provider's notice delay...) are cache misses.
    - route_kind, route_tab (C x C, [lead, host]): the route of open_case's request and its delay table:
      domestic, else a joint team, else a production order, else (-1) the provider's voluntary disclosure
      or MLA; prov_vol: the providers that disclose voluntarily.
    - host_guide, guide_shift: the first provider whose running host weight exceeds g << guide_shift, for each g
      up to the total's (at most 1,024 of them). The first p with host_wq_cum[p] > x is at or after
      host_guide[x >> guide_shift], mostly there: one or two steps instead of a bisection.
    """
    hit = _DERIVED.get(world)
    if hit is not None:
        return hit
    w = world
    C_ = w.n_countries
    lead_, host_ = np.indices((C_, C_))
    jit_ = np.asarray(w.jit).reshape(C_, C_) != 0
    order_ = np.asarray(w.order_chan).reshape(C_, C_)
    court_ = np.asarray(w.court_tab)
    routes = [lead_ == host_, jit_, order_ >= 0]
    hit = (np.ascontiguousarray(np.minimum(w.delays, w.horizon + 1), dtype=np.int32),
           np.ascontiguousarray(np.select(routes, [KIND_DOMESTIC, KIND_JIT, KIND_ORDER], -1), dtype=np.int64),
           np.ascontiguousarray(np.select(routes, [court_[lead_], court_[host_], order_],
                                          np.asarray(w.mla_chan).reshape(C_, C_)), dtype=np.int64),
           np.ascontiguousarray(np.asarray(w.discloses) > 0, dtype=np.int64))
    cum = np.asarray(w.host_wq_cum, dtype=np.int64)
    total = int(cum[len(cum) - 1]) if len(cum) else 0  # (no negative indices: wraparound is off here)
    shift = max(0, total.bit_length() - 10)
    starts = np.arange((total >> shift) + 1, dtype=np.int64) << shift
    guide = np.searchsorted(cum, starts, side="right").astype(np.int64)
    hit += (guide,)
    for a in hit:
        a.flags.writeable = False
    hit += (shift,)
    _DERIVED[world] = hit
    return hit


# Entities the last run of a world of the same shape created, plus an eighth: replicates of a world, and runs of
# worlds that differ in a few levers (a sweep, the dashboard), start at about the size they will need instead of
# doubling there (each doubling copies the array). It sizes arrays, nothing else.
_SIZES = {}


def _shape(world):
    return (world.horizon, world.n_countries, world.n_providers, world.initial_networks, world.servers_per_network)


def run(world, seed, stats=None, requests=True):
    """Run the compiled engine on a compiled world; returns a :class:`sim.outputs.RunResult`.

    ``stats``, if a dict, receives the entity counts and the bytes of state the run held. ``requests=False``
    keeps only the counts of the requests that the metrics read, not the table (see :func:`sim.engines.run`).
    """
    cdef Engine eng = Engine(world, seed)
    eng.run()
    if len(_SIZES) >= 256:
        _SIZES.clear()
    _SIZES[_shape(world)] = tuple(x + (x >> 3) + 16 for x in (eng.n_net, eng.n_srv, eng.n_case, eng.n_req))
    if stats is not None:
        stats.update(eng.entity_counts(), state_bytes=eng.state_bytes())
    daily, by_country, users = eng.daily_table()
    nets, reqs = eng.records(requests)
    countries = ("day",) + tuple(world.country_ids)
    # raw arrays: DataFrames are built only if a caller reads a table as one (metrics read the arrays)
    result = RunResult.from_arrays({"daily": (daily, DAILY_COLUMNS), "servers_by_country": (by_country, countries),
                                    "networks": (nets, NETWORK_COLUMNS), "requests": (reqs, REQUEST_COLUMNS),
                                    "users_by_market": (users, countries)}, run_meta(world, seed, "fast"))
    if not requests:
        result.omit_requests(RequestCounts(world.warmup, *eng.request_counts(world.warmup)))
    return result
