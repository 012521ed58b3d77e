"""The run result: the tables of the model (docs/ODD.md, Outputs), identical in both engines, and how they are stored."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sim.world import World

DAILY_COLUMNS = (
    "day", "networks", "servers_up", "servers_up_haven", "entries", "successors", "notices", "takedowns",
    "referrals", "seizures", "quits", "cases_open", "cases_opened", "requests_sent", "mla_backlog",
    "requests_answered", "requests_refused", "evidence_obtained", "evidence_lost", "cases_failed_evidence",
    "cases_failed_haven", "cases_timed_out", "cases_moot", "arrests", "reprovisions",
    # version 2, appended so version-1 readers keep working
    "requests_voluntary", "requests_order", "requests_jit", "requests_money", "fallbacks", "cases_identified",
    "prosecutions_home",
    # stage B (docs/ODD.md §13): user units (1 unit = 1,000 users) and interventions without MLA
    "users_served", "users_unserved", "users_lapsed", "users_in_transit", "migrated", "markets_available",
    "blocking_orders", "cutoffs", "cutoff_quits",
)
NETWORK_COLUMNS = (
    "network", "predecessor", "born", "ended", "cause", "home", "market", "servers_created", "takedowns",
    "seizures", "notices", "cases",
    "arrested_by", "first_case",  # version 2: the arresting country (-1), the day its first case opened (-1)
    "users_peak", "blocked_day", "cut_day",  # stage B: most user units it served; days it was blocked, cut off (-1)
)
REQUEST_COLUMNS = (
    "request", "case", "server", "lead", "requested", "kind", "created", "started", "resolved", "outcome",
)
TABLES = ("daily", "servers_by_country", "networks", "requests", "users_by_market")
OPTIONAL_TABLES = ("users_by_market",)  # absent from run folders written before stage B

# Codes used in the record tables.
CAUSE_ALIVE, CAUSE_ARREST, CAUSE_QUIT = 0, 1, 2
KIND_DOMESTIC, KIND_MLA, KIND_VOLUNTARY, KIND_ORDER, KIND_JIT, KIND_MONEY = 0, 1, 2, 3, 4, 5
KIND_NAMES = ("domestic", "mla", "voluntary", "order", "jit", "money")
OUTCOME_OPEN, OUTCOME_EVIDENCE, OUTCOME_REFUSED, OUTCOME_LOST, OUTCOME_DROPPED = 0, 1, 2, 3, 4


def frame(data: np.ndarray | list, columns: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """An int64 DataFrame with exactly these columns (empty tables keep their columns and dtype).

    The frame takes over ``data`` when it is an int64 array (the compiled engine's tables are), without a copy:
    nothing else holds them."""
    arr = np.asarray(data, dtype=np.int64).reshape(-1, len(columns))
    return pd.DataFrame(arr, columns=list(columns), copy=False)


class _Table:
    """A table attribute of :class:`RunResult`: the DataFrame, built from the raw array on first access."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: "RunResult | None", owner: type | None = None) -> Any:
        if obj is None:
            return self
        return obj.frame(self.name)

    def __set__(self, obj: "RunResult", value: pd.DataFrame) -> None:
        obj._frames[self.name] = value
        obj._arrays.pop(self.name, None)  # the frame is now the table: an array beside it could go stale
        if self.name == "requests":
            obj.request_counts = None  # likewise counts kept instead of the table


@dataclass(frozen=True)
class RequestCounts:
    """What the metrics read of a run's requests table, counted: the MLA requests made after day ``warmup`` and
    answered (evidence, lost or refused) by delay in days (``delays[d]``), and the evidence obtained after it by
    the kind of request that brought it (``by_kind``, in ``KIND_NAMES`` order). A run made with
    ``requests=False`` keeps these instead of its requests table."""

    warmup: int
    delays: np.ndarray
    by_kind: np.ndarray


class RunResult:
    """One run's outputs: five int64 tables and what identifies the run.

    The engines hand over raw int64 arrays (:meth:`from_arrays`); each table becomes a DataFrame only when it is
    read as one (``result.daily``...), so a caller that needs only metrics (a sweep keeping no tables) never
    pays for DataFrames: :func:`sim.metrics.compute` reads columns with :meth:`column`, from the array or from
    the DataFrame when one was built (and perhaps edited). Assigning a DataFrame to a table replaces it.

    A run made with ``requests=False`` (:func:`sim.engines.run`) keeps, instead of its requests table, only the
    counts the metrics read (``request_counts``); reading that table is then an error, not an empty table.
    """

    daily = _Table()
    servers_by_country = _Table()   # columns: day, then one per country id (up servers at end of day)
    networks = _Table()
    requests = _Table()
    users_by_market = _Table()      # day, then user units served per country

    def __init__(self, daily: pd.DataFrame | None = None, servers_by_country: pd.DataFrame | None = None,
                 networks: pd.DataFrame | None = None, requests: pd.DataFrame | None = None,
                 users_by_market: pd.DataFrame | None = None, meta: dict[str, Any] | None = None) -> None:
        self._frames: dict[str, pd.DataFrame] = {}
        self._arrays: dict[str, tuple[np.ndarray, tuple[str, ...]]] = {}
        for name, df in zip(TABLES, (daily, servers_by_country, networks, requests, users_by_market)):
            if df is not None:  # a table not given reads as an empty DataFrame
                self._frames[name] = df
        self.meta: dict[str, Any] = {} if meta is None else meta  # scenario, digest, seed, engine, countries, havens
        self.request_counts: RequestCounts | None = None  # kept instead of the requests table (requests=False)

    @classmethod
    def from_arrays(cls, arrays: dict[str, tuple[Any, tuple[str, ...]]], meta: dict[str, Any]) -> "RunResult":
        """A result holding raw tables: ``{name: (2-D int64 array of shape (rows, columns), column names)}`` for
        each of ``TABLES``, in any memory order; DataFrames are built from them on first access."""
        out = cls(meta=meta)
        for name in TABLES:
            data, columns = arrays[name]
            arr = np.asarray(data, dtype=np.int64)
            if arr.ndim != 2 or arr.shape[1] != len(columns):
                arr = arr.reshape(-1, len(columns))
            out._arrays[name] = (arr, tuple(columns))
        return out

    def omit_requests(self, counts: RequestCounts) -> None:
        """Drop the requests table, keeping ``counts`` for the metrics."""
        self._frames.pop("requests", None)
        self._arrays.pop("requests", None)
        self.request_counts = counts

    def frame(self, name: str) -> pd.DataFrame:
        """Table ``name`` as a DataFrame (built from the raw array once, then kept)."""
        if name == "requests" and self.request_counts is not None:
            raise ValueError("this run kept no requests table (it was made with requests=False): run it again "
                             "with requests=True to read the table")
        df = self._frames.get(name)
        if df is None:
            raw = self._arrays.pop(name, None)
            df = self._frames[name] = pd.DataFrame() if raw is None else frame(*raw)
        return df

    def has_frame(self, name: str) -> bool:
        """True when table ``name`` has been built as a DataFrame (or was given as one)."""
        return name in self._frames

    def column(self, table: str, name: str) -> np.ndarray:
        """One column of a table as a 1-D int64 array, without building a DataFrame when there is none."""
        raw = self._arrays.get(table)
        if raw is not None:
            arr, columns = raw
            return arr[:, columns.index(name)]
        return self.frame(table)[name].to_numpy()

    def n_rows(self, table: str) -> int:
        """Rows of a table."""
        raw = self._arrays.get(table)
        return raw[0].shape[0] if raw is not None else len(self.frame(table))

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by name."""
        return {name: getattr(self, name) for name in TABLES}

    def after_warmup(self, names: tuple[str, ...] | list[str] | None = None) -> dict[str, pd.DataFrame]:
        """The tables as the metrics see them: days after the warm-up, the networks operating after it, and the
        requests made after it (what a sweep keeps; everything when there is no warm-up). ``names``: only these
        tables (the others are not built)."""
        w = int(self.meta.get("warmup_days", 0) or 0)
        tables = {name: self.frame(name) for name in (TABLES if names is None else names)}
        if w == 0:
            return tables
        out = {}
        for name, df in tables.items():
            if "day" in df.columns:
                df = df[df["day"] > w]
            elif name == "networks":
                df = df[(df["ended"] == -1) | (df["ended"] > w)]
            elif name == "requests":
                df = df[df["created"] > w]
            out[name] = df.reset_index(drop=True)
        return out

    def equals(self, other: "RunResult") -> bool:
        """True when all tables are identical, values, column names and dtypes included."""
        return all(a.equals(b) and list(a.columns) == list(b.columns) and (a.dtypes == b.dtypes).all()
                   for a, b in zip(self.tables().values(), other.tables().values()))

    def write(self, folder: str | Path, fmt: str = "csv") -> list[Path]:
        """Write the tables (``csv`` or ``parquet``) and ``meta.json``; returns the paths written."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, df in self.tables().items():
            path = out / f"{name}.{fmt}"
            if fmt == "csv":
                df.to_csv(path, index=False, lineterminator="\n")
            elif fmt == "parquet":
                df.to_parquet(path, index=False)
            else:
                raise ValueError(f"unknown table format {fmt!r}")
            paths.append(path)
        meta = out / "meta.json"
        meta.write_text(json.dumps(self.meta, indent=2, sort_keys=True) + "\n")
        return paths + [meta]

    @classmethod
    def read(cls, folder: str | Path) -> "RunResult":
        """Read a run folder written by :meth:`write` (CSV or Parquet, whichever is there)."""
        src = Path(folder)
        tables = {}
        for name in TABLES:
            if (src / f"{name}.parquet").exists():
                df = pd.read_parquet(src / f"{name}.parquet")
            elif (src / f"{name}.csv").exists():
                df = pd.read_csv(src / f"{name}.csv")
            elif name in OPTIONAL_TABLES:
                df = pd.DataFrame()
            else:
                raise FileNotFoundError(f"{src}: no {name}.csv or {name}.parquet (not a run folder?)")
            tables[name] = df.astype(np.int64)
        meta_path = src / "meta.json"
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        return cls(meta=meta, **tables)


def run_meta(world: "World", seed: int, engine: str) -> dict[str, Any]:
    """What identifies a run: scenario name and digest, seed, engine, horizon, warm-up, countries and havens."""
    return {"scenario": world.name, "scenario_digest": world.digest, "seed": int(seed), "engine": engine,
            "horizon_days": world.horizon, "warmup_days": world.warmup, "countries": list(world.country_ids),
            "markets": int((world.demand_units > 0).sum()),
            "havens": [c for c, h in zip(world.country_ids, world.haven) if h]}
