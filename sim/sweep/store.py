"""Sweep storage: results are written in shards as tasks finish, and combined at the end.

A sweep folder holds ``shards/`` (``runs-NNNNNN`` and ``<table>-NNNNNN`` files, Parquet with pyarrow,
CSV otherwise), ``manifest.json``, and after combining ``runs.parquet`` (or ``runs.csv``) sorted by
(point, replicate) plus one file per kept table. A shard appears atomically (written under a temporary name,
then renamed), and a run's kept tables are written before its row in a runs shard, so a run counts as
finished exactly when its row is on disk: an interrupted sweep loses at most the tasks in flight.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pandas as pd

try:
    import pyarrow  # noqa: F401
    HAS_PARQUET = True
except ImportError:  # pragma: no cover - pyarrow is in the test extra
    HAS_PARQUET = False

RUN_KEYS = ["point", "replicate"]


class StoreError(Exception):
    """A sweep folder's files are damaged; shown as one line."""

_SHARD = re.compile(r"^(?P<table>[a-z_]+)-(?P<seq>\d{6})\.(?P<ext>parquet|csv)$")


def frame_digest(df: pd.DataFrame) -> str:
    """SHA-256 of a table's content (columns, values at full precision, row order); not of file bytes."""
    return hashlib.sha256(df.to_csv(index=False, lineterminator="\n").encode()).hexdigest()


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Store:
    """The files of one sweep folder."""

    def __init__(self, folder: str | Path, fmt: str | None = None) -> None:
        self.folder = Path(folder)
        self.shards = self.folder / "shards"
        self.ext = fmt or ("parquet" if HAS_PARQUET else "csv")
        self._seq = self._last_seq()
        # the runs shards this Store wrote (one row per run: small), by file name, so combining reads back only
        # the shards of earlier sessions and the kept tables (which can be large: those stay on disk only)
        self._written: dict[str, pd.DataFrame] = {}
        self.combined_runs: pd.DataFrame | None = None  # the runs table the last combine wrote (Parquet only)

    def _last_seq(self) -> int:
        seqs = [int(m["seq"]) for p in self.shards.glob("*") if (m := _SHARD.match(p.name))] if self.shards.is_dir() else []
        return max(seqs, default=-1)

    def _write(self, df: pd.DataFrame, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        if path.suffix == ".parquet":
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, index=False, lineterminator="\n")
        os.replace(tmp, path)  # atomic: a reader sees the whole shard or none of it

    @staticmethod
    def _read(path: Path) -> pd.DataFrame:
        return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, keep_default_na=False,
                                                                                  na_values=[""])

    def write_shard(self, runs: pd.DataFrame, kept: dict[str, pd.DataFrame] | None = None) -> None:
        """Write one task's results: kept tables first, then the runs rows that mark them finished."""
        self.shards.mkdir(parents=True, exist_ok=True)
        self._seq += 1
        for table, df in (kept or {}).items():
            self._write(df, self.shards / f"{table}-{self._seq:06d}.{self.ext}")
        path = self.shards / f"runs-{self._seq:06d}.{self.ext}"
        self._write(runs, path)
        if path.suffix == ".parquet":  # a Parquet file gives back the frame it was given (CSV infers types again)
            self._written[path.name] = runs

    def _shard_paths(self, table: str) -> list[Path]:
        if not self.shards.is_dir():
            return []
        return sorted(p for p in self.shards.iterdir() if (m := _SHARD.match(p.name)) and m["table"] == table)

    def _read_shard(self, path: Path) -> pd.DataFrame:
        """One shard; an unreadable one is moved to ``shards/corrupt/`` (with the shards of the same task, so its
        runs are redone on ``--resume``) and reported as a :class:`StoreError`."""
        try:
            return self._read(path)
        except Exception as exc:  # noqa: BLE001 - pyarrow and pandas raise many types for a damaged file
            m = _SHARD.match(path.name)
            moved = self.quarantine(m["seq"]) if m else []
            raise StoreError(f"{path}: corrupt shard ({type(exc).__name__}); moved {len(moved)} shard file(s) of "
                             "that task to shards/corrupt/; run the same command with --resume to redo its runs") from None

    def quarantine(self, seq: str) -> list[Path]:
        """Move every shard of task ``seq`` to ``shards/corrupt/``: its runs no longer count as finished."""
        bad = self.shards / "corrupt"
        bad.mkdir(exist_ok=True)
        moved = []
        for p in list(self.shards.iterdir()):
            m = _SHARD.match(p.name)
            if m and m["seq"] == seq:
                p.replace(bad / p.name)
                moved.append(bad / p.name)
        return moved

    def verify(self) -> list[str]:
        """Check every shard before a resume; quarantine damaged tasks and return one line for each."""
        notes = []
        if not self.shards.is_dir():
            return notes
        for p in sorted(self.shards.iterdir()):
            m = _SHARD.match(p.name)
            if not m or not p.exists():
                continue
            try:
                if p.suffix == ".parquet" and m["table"] != "runs":
                    import pyarrow.parquet as pq

                    pq.read_metadata(p)  # footer and schema: cheap, and catches truncation and garbage
                else:
                    self._read(p)
            except Exception as exc:  # noqa: BLE001
                self.quarantine(m["seq"])
                notes.append(f"{p.name}: corrupt ({type(exc).__name__}); its task's runs will be redone")
        return notes

    def _runs_tagged(self) -> pd.DataFrame:
        """Every run row written so far with the shard number it came from (column ``_seq``)."""
        parts = []
        for p in self._shard_paths("runs"):
            mem = self._written.get(p.name)
            df = self._read_shard(p) if mem is None else mem.copy()
            df["_seq"] = int(_SHARD.match(p.name)["seq"])
            parts.append(df)
        if not parts:
            return pd.DataFrame(columns=RUN_KEYS + ["status", "_seq"])
        # where a run appears twice (a rerun after failure or a resume), the last shard wins
        return pd.concat(parts, ignore_index=True).drop_duplicates(RUN_KEYS, keep="last")

    def runs(self) -> pd.DataFrame:
        """Every run row written so far; where a run appears twice (a rerun after failure), the last wins."""
        return self._runs_tagged().drop(columns="_seq")

    def finished(self) -> set[tuple[int, int]]:
        """(point, replicate) of runs that completed successfully."""
        df = self.runs()
        ok = df[df["status"] == "ok"]
        return set(zip(ok["point"].astype(int), ok["replicate"].astype(int)))

    def combine(self, keep: tuple[str, ...]) -> dict[str, Path]:
        """Write ``runs`` and each kept table as one file sorted by run (and day); returns the paths.

        A kept table holds any number of rows per run (``networks``: one per network), so rows are never
        deduplicated by key: each successful run takes all its rows from the one shard that holds its winning
        runs row, which is also how a run written twice (a retry, a resume) is counted once.
        """
        out: dict[str, Path] = {}
        tagged = self._runs_tagged().sort_values(RUN_KEYS, kind="stable").reset_index(drop=True)
        winners = tagged.loc[tagged["status"] == "ok", RUN_KEYS + ["_seq"]].astype("int64")
        runs = tagged.drop(columns="_seq").astype({"point": "int64", "replicate": "int64", "seed": "uint64"})
        runs["error"] = runs["error"].fillna("").astype(str)
        path = self.folder / f"runs.{self.ext}"
        self._write(runs, path)
        self.combined_runs = runs if path.suffix == ".parquet" else None
        out["runs"] = path
        for table in keep:
            paths = self._shard_paths(table)
            if not paths:
                continue
            parts = []
            for p in paths:
                df = self._read_shard(p)
                df["_seq"] = int(_SHARD.match(p.name)["seq"])
                parts.append(df)
            df = pd.concat(parts, ignore_index=True)
            df = df.merge(winners, on=RUN_KEYS + ["_seq"], how="inner", sort=False).drop(columns="_seq")
            order = RUN_KEYS + (["day"] if "day" in df.columns else [])
            # stable: rows of one run keep the order the engine wrote them in (networks by id, requests by id)
            df = df.sort_values(order, kind="stable").reset_index(drop=True)
            path = self.folder / f"{table}.{self.ext}"
            self._write(df, path)
            out[table] = path
        return out


def read_runs(folder: str | Path) -> pd.DataFrame:
    """The combined runs table of a finished sweep folder."""
    folder = Path(folder)
    for ext in ("parquet", "csv"):
        if (folder / f"runs.{ext}").exists():
            return Store._read(folder / f"runs.{ext}")
    raise FileNotFoundError(f"{folder}: no runs.parquet or runs.csv (not a finished sweep folder?)")


def read_kept(folder: str | Path, table: str) -> pd.DataFrame:
    """A kept per-run table (e.g. ``daily``) of a finished sweep folder."""
    folder = Path(folder)
    for ext in ("parquet", "csv"):
        if (folder / f"{table}.{ext}").exists():
            return Store._read(folder / f"{table}.{ext}")
    raise FileNotFoundError(f"{folder}: no {table}.parquet or {table}.csv (was it in the experiment's keep?)")
