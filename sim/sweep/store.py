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
        self._write(runs, self.shards / f"runs-{self._seq:06d}.{self.ext}")

    def _shard_paths(self, table: str) -> list[Path]:
        if not self.shards.is_dir():
            return []
        return sorted(p for p in self.shards.iterdir() if (m := _SHARD.match(p.name)) and m["table"] == table)

    def runs(self) -> pd.DataFrame:
        """Every run row written so far; where a run appears twice (a rerun after failure), the last wins."""
        parts = [self._read(p) for p in self._shard_paths("runs")]
        if not parts:
            return pd.DataFrame(columns=RUN_KEYS + ["status"])
        df = pd.concat(parts, ignore_index=True)
        return df.drop_duplicates(RUN_KEYS, keep="last")

    def finished(self) -> set[tuple[int, int]]:
        """(point, replicate) of runs that completed successfully."""
        df = self.runs()
        ok = df[df["status"] == "ok"]
        return set(zip(ok["point"].astype(int), ok["replicate"].astype(int)))

    def combine(self, keep: tuple[str, ...]) -> dict[str, Path]:
        """Write ``runs`` and each kept table as one file sorted by run (and day); returns the paths."""
        out: dict[str, Path] = {}
        runs = self.runs().sort_values(RUN_KEYS, kind="stable").reset_index(drop=True)
        runs = runs.astype({"point": "int64", "replicate": "int64", "seed": "uint64"})
        runs["error"] = runs["error"].fillna("").astype(str)
        path = self.folder / f"runs.{self.ext}"
        self._write(runs, path)
        out["runs"] = path
        ok = set(zip(runs.loc[runs["status"] == "ok", "point"], runs.loc[runs["status"] == "ok", "replicate"]))
        for table in keep:
            parts = [self._read(p) for p in self._shard_paths(table)]
            if not parts:
                continue
            df = pd.concat(parts, ignore_index=True)
            mask = [k in ok for k in zip(df["point"], df["replicate"])]
            order = RUN_KEYS + (["day"] if "day" in df.columns else [])
            df = df[mask].drop_duplicates(order, keep="last").sort_values(order, kind="stable").reset_index(drop=True)
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
