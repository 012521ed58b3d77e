"""What is not known, as a file of draws: documented priors, the draws file format, and applying a draw.

A **draws file** is a Parquet table, one row per draw: ``draw`` (int, unique), ``weight`` (float, >= 0, summing
to 1) and one column per uncertain parameter, named by its dotted scenario override path
(``enforcement.detect_prob``, as ``--set`` and experiments' overrides write it). A sidecar JSON next to it
(same name, ``.json``) records its provenance. The prior shipped in ``scenarios/data/prior_draws.parquet`` is
written by ``python -m sim.uncertainty prior``; a posterior in the same format can replace it in any experiment
(``uncertainty: {file: ...}``), see docs/robustness.md: the ABC posterior of ``piracysim calibrate``
(``scenarios/data/posterior/posterior.parquet``) is one. A column may never be a ``policy.*`` lever: policies
are what an experiment compares across the draws, and a draw that set one would undo the policy it is run with.

One extension of the override path: ``countries.*.FIELD`` is a **multiplier** of every country's FIELD
(clipped to the field's range, rounded for whole-number fields). Country values differ by design (a
cooperative party extradites more often than a non-party) and policies change some of them
(``haven_crackdown`` sets retention in three countries); an unknown *level* of such a field is a common scale
on all of them, which keeps both the documented differences and what each policy changes.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.scenario import ScenarioError, Scenario

WILDCARD = "countries.*."
RESERVED = ("draw", "weight")
DEFAULT_SEED = 20261129
PRIOR_FILE = Path(__file__).resolve().parents[1] / "scenarios" / "data" / "prior_draws.parquet"


@dataclass(frozen=True)
class Prior:
    """The prior of one uncertain parameter: its distribution, range and where the range comes from."""

    path: str                                # dotted override path, or countries.*.FIELD (a multiplier)
    dist: str                                # uniform | loguniform | choice
    low: float = 0.0
    high: float = 0.0
    integer: bool = False
    levels: tuple[str, ...] = ()
    source: str = ""
    solidity: str = "assumption"

    @property
    def scale(self) -> str:
        """``log`` for a log-uniform prior (Sobol designs sample it on that scale), else ``linear``."""
        return "log" if self.dist == "loguniform" else "linear"

    def at(self, u: float) -> Any:
        """The value of this prior at one quantile ``u`` (clipped into [0, 1): the top of a whole-number range is
        ``high``, never ``high + 1``), as a plain Python value. ABC (sim.calibrate) maps its particles with it."""
        u = min(max(float(u), 0.0), math.nextafter(1.0, 0.0))
        return _plain(self.sample(np.array([u]))[0])

    def describe(self) -> dict[str, Any]:
        """The prior as data (provenance sidecars): distribution, range or levels, scale, source, solidity."""
        return {k: v for k, v in asdict(self).items() if k != "path"} | {"scale": self.scale}

    def sample(self, u: np.ndarray) -> np.ndarray:
        """Map uniforms on [0, 1) to values of this prior (inverse CDF)."""
        if self.dist == "choice":
            idx = np.minimum((u * len(self.levels)).astype(int), len(self.levels) - 1)
            return np.array(self.levels, dtype=object)[idx]
        if self.dist == "loguniform":
            v = np.exp(np.log(self.low) + u * (np.log(self.high) - np.log(self.low)))
        else:
            v = self.low + u * (self.high - self.low)
        # whole-number fields: each of low..high equally likely (floor of a uniform on [low, high + 1))
        return np.floor(self.low + u * (self.high + 1 - self.low)).astype(np.int64) if self.integer else v


# The grade-C parameters of the default world (docs/scenarios.md marks them as assumptions), with the ranges
# docs/robustness.md justifies. Levers that a policy scenario pulls (capacity_scale, money_trail_prob, blocking,
# cut-offs, heat aversion) are deliberately absent: a draw must never undo the policy being evaluated.
PRIORS: tuple[Prior, ...] = (
    Prior("pirates.entry_per_day", "loguniform", 0.1, 1.0,
          source="assumption: 35 to 365 new networks a year in an empty market (baseline 0.3)"),
    Prior("pirates.market_capacity", "uniform", 60, 240, integer=True,
          source="assumption: half to twice the baseline 120 live networks"),
    Prior("pirates.servers_per_network", "uniform", 2, 12, integer=True,
          source="Eurojust/Europol operation reports: ~30 to >200 servers in the largest IPTV operations (B); most "
                 "networks are small: 2-12 is an assumption", solidity="B/assumption"),
    Prior("pirates.quit_prob", "loguniform", 0.0005, 0.01,
          source="assumption bracketing the baseline 0.002; Emotet rebuilt within ~10 months without arrests (B)"),
    Prior("pirates.home_in_market", "uniform", 0.4, 0.8,
          source="no statistic found; large IPTV operations were run from and for one country (operation reports, C); "
                 "range is an assumption", solidity="C/assumption"),
    Prior("pirates.successor_prob", "uniform", 0.1, 0.6,
          source="assumption; infrastructure-only takedowns are rebuilt (Emotet ~10 months, B)"),
    Prior("enforcement.detect_prob", "loguniform", 0.005, 0.05,
          source="assumption: right holders notice a given server every 20 to 200 days"),
    Prior("enforcement.identify_prob", "uniform", 0.1, 0.6,
          source="voluntary disclosure succeeds in 0.66-0.68 of requests (SIRIUS 2018-19, B) as an upper bound; "
                 "evidence naming the operator is rarer (assumption)", solidity="B/assumption"),
    Prior("enforcement.case_threshold", "uniform", 1, 6, integer=True,
          source="assumption: notices before a complaint is filed"),
    Prior("enforcement.case_timeout_days", "uniform", 365, 1460, integer=True,
          source="investigations of large operations ran 2 years (Ghost Click, FBI) to 4 years (Avalanche, Europol) (A); "
                 "1-4 years as a timeout is an assumption", solidity="A/assumption"),
    Prior("enforcement.evidence_rule", "choice", levels=("first", "all"),
          source="structural assumption: a case proceeds on the first identifying piece of evidence, or waits for "
                 "every answer; equal prior weight"),
    Prior("countries.*.extradites", "uniform", 0.5, 1.5,
          source="Ghost Click and Megaupload outcomes (B); per-country values are assumptions, scaled together "
                 "by 0.5-1.5", solidity="B/assumption"),
    Prior("countries.*.retention_days", "loguniform", 0.5, 2.0,
          source="Budapest Art 29: preservation for at least 60 days, US 90 (A); retention values are assumptions, "
                 "scaled together by 0.5-2", solidity="A/assumption"),
    Prior("countries.*.prosecutes_nationals", "uniform", 0.4, 1.6,
          source="Budapest Art 24(6): a party refusing on nationality must submit the case for prosecution (A); "
                 "submission is not conviction: values scaled together by 0.4-1.6 (assumption)", solidity="A/assumption"),
)


# Two more unknowns: the countries' enforcement capacity and priority columns (assumptions per country,
# scenarios/data/sources.csv), as multipliers of every country's value. Policies pull the *policy* fields
# (capacity_scale, priority_floor), never these columns' level, so a draw scales the countries and a policy still
# acts on top (capacity_boost doubles whatever capacity the draw gives). The ABC calibration fits them
# (arrests_per_market_year bears on both); the prior draws file, made before they were split from the policy
# levers, leaves them at their defaults, and its columns stay PRIORS.
COUNTRY_PRIORS: tuple[Prior, ...] = (
    Prior("countries.*.capacity", "loguniform", 0.5, 2.0,
          source="assumption: per-country investigators (sources.csv, C) scaled together by 0.5-2; whole numbers "
                 "after scaling"),
    Prior("countries.*.priority", "uniform", 0.5, 1.5,
          source="assumption: the Special 301 mapping of priority (sources.csv, C) scaled together by 0.5-1.5, "
                 "capped at 1"),
)
SHARED_PRIORS: dict[str, Prior] = {p.path: p for p in PRIORS + COUNTRY_PRIORS}


def shared_prior(path: str) -> Prior | None:
    """The one definition of the prior of ``path`` (PRIORS or COUNTRY_PRIORS), or None when there is none."""
    return SHARED_PRIORS.get(path)


class DrawsError(ScenarioError):
    """A draws file is unusable: one line naming the file, the field and the value."""


def sample_prior(n: int, seed: int = DEFAULT_SEED, priors: tuple[Prior, ...] = PRIORS) -> pd.DataFrame:
    """``n`` independent draws from the priors (plain Monte Carlo, so draws are exchangeable and a bootstrap over
    them is valid), equal weights, in the draws file format."""
    g = np.random.default_rng(seed)
    u = g.random((n, len(priors)))
    cols: dict[str, Any] = {"draw": np.arange(n, dtype=np.int64), "weight": np.full(n, 1.0 / n)}
    for j, p in enumerate(priors):
        cols[p.path] = p.sample(u[:, j])
    df = pd.DataFrame(cols)
    for p in priors:
        if p.dist == "choice":
            df[p.path] = df[p.path].astype(str)
    return df


def provenance(priors: tuple[Prior, ...], n: int, seed: int, command: str) -> dict[str, Any]:
    """The sidecar of a prior draws file: how it was made and every prior's range and source."""
    return {"kind": "prior", "draws": n, "seed": seed, "sampling": "independent Monte Carlo, equal weights",
            "command": command, "parameters": {p.path: p.describe() for p in priors}}


def write_draws(df: pd.DataFrame, path: str | Path, meta: dict[str, Any]) -> Path:
    """Write a draws table and its sidecar JSON (``path`` with ``.json``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(path, index=False)
    sidecar(path).write_text(json.dumps(meta, indent=2, default=str) + "\n")
    return path


def sidecar(path: str | Path) -> Path:
    """Where a draws file's provenance lives."""
    return Path(path).with_suffix(".json")


def _bad(source: str, field: str, msg: str, value: Any = ...) -> DrawsError:
    return DrawsError(source, field, msg) if value is ... else DrawsError(source, field, msg, _plain(value))


def load_draws(path: str | Path, source: str | None = None) -> pd.DataFrame:
    """Read and check a draws file: readable Parquet, ``draw`` whole and unique, ``weight`` finite, >= 0 and
    summing to 1, parameter columns named by dotted paths with no missing value. Raises :class:`DrawsError`."""
    p = Path(path)
    src = source or str(path)
    if not p.is_file():
        raise _bad(src, "(file)", "no such draws file", str(path))
    try:
        df = pd.read_parquet(p)
    except Exception as exc:  # noqa: BLE001 - any reader error is a bad file to the user
        raise _bad(src, "(file)", f"not a readable Parquet table ({type(exc).__name__})", str(path)) from None
    for col in RESERVED:
        if col not in df.columns:
            raise _bad(src, col, "missing column (a draws file has draw, weight and one column per parameter)")
    if len(df) == 0:
        raise _bad(src, "draw", "the file holds no draws")
    d = df["draw"]
    if not pd.api.types.is_integer_dtype(d):
        raise _bad(src, "draw", "expected whole numbers", d.iloc[0])
    if d.duplicated().any():
        raise _bad(src, "draw", "draws must be unique", int(d[d.duplicated()].iloc[0]))
    w = pd.to_numeric(df["weight"], errors="coerce")
    bad = ~np.isfinite(w.to_numpy(dtype=float)) | (w.to_numpy(dtype=float) < 0)
    if bad.any():
        raise _bad(src, "weight", f"expected finite weights >= 0 (draw {int(d[bad].iloc[0])})", df["weight"][bad].iloc[0])
    if not math.isclose(float(w.sum()), 1.0, rel_tol=0, abs_tol=1e-6):
        raise _bad(src, "weight", "weights must be normalised (sum to 1)", round(float(w.sum()), 9))
    params = [c for c in df.columns if c not in RESERVED]
    if not params:
        raise _bad(src, "(columns)", "no parameter columns")
    for c in params:
        if not isinstance(c, str) or not c or any(not part for part in c.split(".")):
            raise _bad(src, str(c), "a parameter column must be a dotted scenario path")
        if c.split(".")[0] == "policy":  # the levers are what experiments compare: a future must not set one
            raise _bad(src, c, "a draws column cannot be a policy lever (policies are what is compared across draws)")
        if c.startswith(WILDCARD) and (c.count(".") != 2 or not pd.api.types.is_numeric_dtype(df[c])):
            raise _bad(src, c, "countries.*.FIELD is a numeric multiplier of one country field", df[c].iloc[0])
        missing = df[c].isna()
        if missing.any():
            raise _bad(src, c, f"missing value (draw {int(d[missing].iloc[0])})")
    return df.sort_values("draw", kind="stable").reset_index(drop=True)


def parameters(draws: pd.DataFrame) -> list[str]:
    """The parameter columns of a draws table, in file order."""
    return [c for c in draws.columns if c not in RESERVED]


def _plain(value: Any) -> Any:
    """numpy scalars as plain Python (scenario validation and YAML/JSON want them)."""
    return value.item() if isinstance(value, np.generic) else value


def expand(scenario_raw: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """A draw's overrides for one scenario: plain paths as they are; ``countries.*.F`` multipliers as one
    override per country whose F it changes (in that scenario, so a policy's own country values are scaled)."""
    out: dict[str, Any] = {}
    for path, value in row.items():
        if path in RESERVED:
            continue
        value = _plain(value)
        if not path.startswith(WILDCARD):
            out[path] = value
            continue
        field = path[len(WILDCARD):]
        for c in scenario_raw.get("countries") or []:
            if field not in c or c[field] is None:
                continue  # the field's default stays (absent = not set for that country)
            old = c[field]
            if isinstance(old, bool) or not isinstance(old, (int, float)):
                continue
            new = old * float(value)
            if field in ("extradites", "prosecutes_nationals", "criminalises", "powers", "priority"):
                new = min(1.0, max(0.0, new))
            if isinstance(old, int):
                new = max(0, int(round(new)))
            if new != old:
                out[f"countries.{c['id']}.{field}"] = new
    return out


def check(base: Scenario, draws: pd.DataFrame, source: str) -> None:
    """Every parameter of the draws makes a valid base scenario: numeric columns at their smallest and largest
    value (fields are valid on intervals), other columns at each distinct value. Raises :class:`DrawsError`
    naming the file, the column and the value."""
    from sim.scenario import from_dict

    raw = base.to_raw()
    for c in parameters(draws):
        col = draws[c]
        values = [col.min(), col.max()] if pd.api.types.is_numeric_dtype(col) else list(dict.fromkeys(col))
        for v in values:
            try:
                from_dict(raw, "base", overrides=list(expand(raw, {c: v}).items()))
            except ScenarioError as exc:
                detail = str(exc).split(": ", 2)[-1]
                raise _bad(source, c, f"invalid value for the scenario: {detail}", _plain(v)) from None
            if c.startswith(WILDCARD) and not any(c[len(WILDCARD):] in x for x in raw.get("countries") or []):
                raise _bad(source, c, "no country of the scenario sets this field", _plain(v))


def design_ranges(draws: pd.DataFrame, meta: dict[str, Any] | None = None, q: float = 0.0) -> list[dict[str, Any]]:
    """Factor specs (as experiments write them) spanning each parameter of the draws: numeric columns from
    the ``q`` to ``1 - q`` quantile (the whole range with q = 0), on the sidecar's scale when it gives one;
    other columns as levels. The factors of a Sobol design over what the draws leave uncertain."""
    params_meta = (meta or {}).get("parameters", {})
    out = []
    for c in parameters(draws):
        col = draws[c]
        info = params_meta.get(c, {})
        if not pd.api.types.is_numeric_dtype(col):
            out.append({"path": c, "levels": list(info.get("levels") or dict.fromkeys(col.astype(str)))})
            continue
        lo, hi = (float(col.quantile(q)), float(col.quantile(1 - q))) if q else (float(col.min()), float(col.max()))
        integer = bool(info.get("integer", pd.api.types.is_integer_dtype(col)))
        if integer:
            lo, hi = math.floor(lo), math.floor(hi) + 1  # Factor floors values in [low, high)
        if hi <= lo:
            continue  # a parameter the draws do not vary is not a factor
        scale = info.get("scale", "linear")
        out.append({"path": c, "range": [lo, hi], "scale": "log" if scale == "log" and lo > 0 else "linear",
                    "integer": integer})
    return out


def read_sidecar(path: str | Path) -> dict[str, Any]:
    """The provenance next to a draws file ({} when there is none)."""
    s = sidecar(path)
    try:
        return json.loads(s.read_text()) if s.is_file() else {}
    except (OSError, ValueError):
        return {}


@dataclass(frozen=True)
class UncertaintyDesign:
    """An experiment's ``uncertainty:`` block resolved: the rows (parameter values) every design point is
    crossed with, the draw id and the seed group of each row, and where they come from."""

    file: str
    mode: str                                  # draws | saltelli
    rows: tuple[dict[str, Any], ...]
    draws: tuple[int, ...]                     # draw id of each row (saltelli: the row's index in the design)
    groups: tuple[int, ...]                    # seed group of each row (its replicates' seeds: spawn_key (group, r))
    factors: tuple[str, ...] = ()              # saltelli: the factors in design order

    def validate(self, base: Scenario) -> None:
        """Every parameter value these rows set makes a valid ``base`` scenario (see :func:`check`)."""
        check(base, pd.DataFrame(list(self.rows)), self.file)

    def cross(self, points: list[dict[str, Any]], raw_of: Any) -> tuple[list[dict[str, Any]], list[int], list[int]]:
        """Every design point with every row: point ``i * len(rows) + j`` is design point i under row j, its
        overrides expanded for that point's scenario (``raw_of(i)``: the point's resolved raw scenario)."""
        out, draw_of, group_of = [], [], []
        for i, point in enumerate(points):
            raw = raw_of(i)
            for row, d, g in zip(self.rows, self.draws, self.groups):
                out.append({**point, **expand(raw, row)})
                draw_of.append(d)
                group_of.append(g)
        return out, draw_of, group_of


_SPEC_KEYS = {"file", "draws", "saltelli", "range_quantile"}


def design_spec(source: str, folder: Path, spec: Any, seed: int) -> UncertaintyDesign:
    """Read an experiment's ``uncertainty`` value: ``PATH`` or ``{file: PATH, draws: N}`` (the first N draws,
    each its own seed group) or ``{file: PATH, saltelli: N}`` (a Saltelli design of n = N base samples over
    the ranges the draws span, all rows on the same replicate seeds like the ``sensitivity`` experiment).
    Raises :class:`DrawsError` or :class:`ScenarioError` with one line naming the file, field and value."""
    if isinstance(spec, str):
        spec = {"file": spec}
    if not isinstance(spec, dict) or "file" not in spec or not isinstance(spec["file"], str):
        raise _bad(source, "uncertainty", "expected PATH or {file: PATH, draws: N | saltelli: N}", spec)
    unknown = set(spec) - _SPEC_KEYS
    if unknown:
        raise _bad(source, f"uncertainty.{sorted(unknown)[0]}", f"unknown key; expected one of: {', '.join(sorted(_SPEC_KEYS))}")
    if "draws" in spec and "saltelli" in spec:
        raise _bad(source, "uncertainty", "give draws or saltelli, not both", spec)
    for key in ("draws", "saltelli"):
        v = spec.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise _bad(source, f"uncertainty.{key}", "expected a whole number >= 1", v)
    path = (folder / spec["file"]).resolve()
    draws = load_draws(path, spec["file"])
    params = parameters(draws)
    if "saltelli" in spec:
        from sim.sweep.design import _factor, _points

        q = spec.get("range_quantile", 0.0)
        if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 <= q < 0.5:
            raise _bad(source, "uncertainty.range_quantile", "expected a number in [0, 0.5)", q)
        specs = design_ranges(draws, read_sidecar(path), float(q))
        factors = tuple(_factor(source, s["path"], {k: v for k, v in s.items() if k != "path"}) for s in specs)
        _, rows = _points(source, "saltelli", factors, spec["saltelli"], seed)
        return UncertaintyDesign(spec["file"], "saltelli", tuple(rows), tuple(range(len(rows))),
                                 (0,) * len(rows), tuple(f.path for f in factors))
    n = spec.get("draws", len(draws))
    if n > len(draws):
        raise _bad(source, "uncertainty.draws", f"the file holds only {len(draws)} draws", n)
    sub = draws.iloc[:n]
    rows = tuple({c: _plain(v) for c, v in zip(params, vals)} for vals in sub[params].itertuples(index=False))
    ids = tuple(int(x) for x in sub["draw"])
    return UncertaintyDesign(spec["file"], "draws", rows, ids, ids)


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.uncertainty prior [--draws N] [--seed S] [--out PATH]``: write the prior draws file."""
    parser = argparse.ArgumentParser(description="Write the prior draws file from the documented priors.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prior")
    p.add_argument("--draws", type=int, default=1024)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--out", default=str(PRIOR_FILE))
    args = parser.parse_args(argv)
    df = sample_prior(args.draws, args.seed)
    cmd = f"python -m sim.uncertainty prior --draws {args.draws} --seed {args.seed}"
    out = write_draws(df, args.out, provenance(PRIORS, args.draws, args.seed, cmd))
    print(f"wrote {out} ({len(df)} draws, {len(PRIORS)} parameters) and {sidecar(out).name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
