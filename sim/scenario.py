"""Scenario files (docs/ODD.md): load YAML, validate every field, apply dotted-path overrides.

A scenario is either valid, and becomes a tree of frozen dataclasses with every default filled in, or it is
rejected with one :class:`ScenarioError` whose message names the file, the field path and the offending
value. Nothing runs on an invalid scenario.

Each dataclass field carries its documentation and its allowed range in ``metadata``; ``describe()`` turns
them into the reference table of ``docs/scenario-format.md``, so the documentation cannot drift from the code.
"""

from __future__ import annotations

import copy
import csv
import functools
import re
import dataclasses
import hashlib
import json
import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Mapping
from typing import Any, Callable, get_args, get_origin, get_type_hints

import numpy as np
import yaml

__all__ = [
    "ScenarioError",
    "Delay",
    "Bloc",
    "Country",
    "Provider",
    "Pirates",
    "Enforcement",
    "Market",
    "Policy",
    "Scenario",
    "load",
    "load_text",
    "from_dict",
    "apply_overrides",
    "with_overrides",
    "parse_override",
    "describe",
]

PROVIDER_KINDS = ("mainstream", "offshore", "bulletproof")
EVIDENCE_RULES = ("all", "first")
ENTRY_RULES = ("capacity", "demand")
_np_bool = np.bool_


class ScenarioError(ValueError):
    """A user's scenario (or override, or experiment) is invalid. The message is one line."""

    def __init__(self, source: str, path: str, message: str, value: Any = dataclasses.MISSING) -> None:
        self.source, self.path, self.value = source, path, value
        where = f"{source}: {path}" if path else source
        shown = "" if value is dataclasses.MISSING else f" (got {_show(value)})"
        super().__init__(f"{where}: {message}{shown}")


class FrozenMap(dict):
    """A read-only, picklable, hashable dict (for the mappings inside a frozen scenario)."""

    def _readonly(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("a scenario is immutable; use apply_overrides on its raw form")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _readonly  # type: ignore[assignment]

    def __reduce__(self) -> tuple[type, tuple[dict]]:
        return (FrozenMap, (dict(self),))

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items())))


def trim_cache(cache: dict, size: int) -> None:
    """Drop the oldest entries of a module-level cache (a dict in insertion order) beyond ``size``; safe when
    another thread trims the same cache at the same time (an entry already gone is skipped)."""
    while len(cache) > size:
        try:
            cache.pop(next(iter(cache)), None)
        except (RuntimeError, StopIteration):  # changed by another thread while we looked: look again
            continue


def clear_caches() -> None:
    """Forget parsed YAML texts, parsed world files, round-tripped scenarios and part texts (results never depend on them)."""
    for cache in (_PARSED, _WORLD_ROWS, _ROUND_TRIPPED, _PARTS):
        cache.clear()


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _f(default: Any = dataclasses.MISSING, doc: str = "", lo: float | None = None, hi: float | None = None,
       lo_open: bool = False, **kw: Any) -> Any:
    """A dataclass field with its documentation and range in metadata."""
    meta = {"doc": doc, "lo": lo, "hi": hi, "lo_open": lo_open}
    if isinstance(default, (list, dict)):
        raise TypeError("use default_factory")
    if "default_factory" in kw:
        return field(default_factory=kw.pop("default_factory"), metadata=meta)
    return field(default=default, metadata=meta)


# --------------------------------------------------------------------------------------------- types


@dataclass(frozen=True)
class Delay:
    """A delay distribution in days: lognormal given by median and 90th percentile, or fixed.

    Written ``{median_days: m, p90_days: q}`` (q >= m > 0; q == m means fixed) or ``{days: d}``.
    """

    median_days: float
    p90_days: float

    @property
    def fixed(self) -> bool:
        """True when every draw gives the same number of days."""
        return self.p90_days == self.median_days

    def scaled(self, factor: float) -> "Delay":
        """This delay with median and p90 multiplied by ``factor`` (the ``mla_speed`` and ``surrender_speed`` levers)."""
        return Delay(self.median_days * factor, self.p90_days * factor)

    def to_raw(self) -> dict[str, float]:
        """The YAML form."""
        if self.fixed:
            return {"days": self.median_days}
        return {"median_days": self.median_days, "p90_days": self.p90_days}


@dataclass(frozen=True)
class Bloc:
    """A treaty or cooperation area whose members share faster or stronger cooperation."""

    preservation: bool = _f(False, "members freeze data on request: evidence survives the retention limit")
    mla: Delay | None = _f(None, "faster MLA channel between members (replaces the requested country's own)")
    surrender: Delay | None = _f(None, "faster arrest transfer between members (replaces extradition)")
    joint_action: bool = _f(False, "members seize infrastructure together when an operator is arrested")
    production_orders: Delay | None = _f(None, "members order providers in other members directly (delay to answer)")
    jit: bool = _f(False, "members form joint investigation teams: evidence through the host's own courts, never refused")
    surrender_nationals: bool = _f(False, "members surrender their own nationals to each other (no nationality bar)")


@dataclass(frozen=True)
class Country:
    """A jurisdiction: its law, enforcement capacity and the speed of its legal assistance."""

    id: str = _f(doc="unique identifier, e.g. an ISO 3166 alpha-3 code")
    law: float = _f(0.5, "default of criminalises, powers and priority (a version-1 file sets only this)", 0, 1)
    criminalises: float | None = _f(None, "0..1 the conduct is an offence there (dual criminality); default: law", 0, 1)
    powers: float | None = _f(None, "0..1 procedural powers to preserve, produce and seize data; default: law", 0, 1)
    priority: float | None = _f(None, "0..1 willingness to act on piracy; default: law", 0, 1)
    capacity: int = _f(2, "cases it leads at once", 0)
    mla_per_day: int = _f(1, "incoming MLA requests it starts per day", 0)
    mla: Delay = _f(Delay(300, 700), "delay to execute an incoming MLA request")
    court: Delay = _f(Delay(20, 60), "delay of domestic court orders (referrals, domestic requests, arrests)")
    extradition: Delay = _f(Delay(700, 1500), "delay to surrender a suspect to a requesting country")
    extradites: float = _f(0.5, "chance 0..1 it extradites (times criminalises')", 0, 1)
    extradites_nationals: bool = _f(True, "it extradites its own nationals (false: a constitutional or statutory bar)")
    prosecutes_nationals: float = _f(0.0, "chance 0..1 it prosecutes at home a national it will not surrender", 0, 1)
    blocks_sites: bool = _f(False, "its courts issue dynamic blocking orders against services detected in its market")
    cuts_payments: bool = _f(False, "it orders payment and advertising cut-offs against services in its market")
    retention_days: int = _f(180, "days providers there keep logs", 0)
    demand: float = _f(1.0, "weight: where customers and right holders are", 0)
    origin: float = _f(1.0, "weight: where operators live", 0)
    blocs: tuple[str, ...] = _f(doc="blocs it belongs to", default_factory=tuple)

    def __post_init__(self) -> None:
        # `law` stands for the three legal components a version-1 file could not set apart.
        for name in _LEGAL_COMPONENTS:
            if getattr(self, name) is None:
                object.__setattr__(self, name, self.law)


_LEGAL_COMPONENTS = ("criminalises", "powers", "priority")


@dataclass(frozen=True)
class Provider:
    """A hosting provider: where pirates rent servers, and who answers notices."""

    id: str = _f(doc="unique identifier")
    country: str = _f(doc="id of the country it is in")
    share: float = _f(1.0, "market size weight", 0)
    compliance: float = _f(0.9, "chance 0..1 it removes a server on a notice", 0, 1)
    notice: Delay = _f(Delay(1, 3), "delay to act on a notice")
    kind: str = _f("mainstream", "label only: mainstream, offshore or bulletproof")
    discloses: float = _f(0.0, "chance 0..1 it answers a voluntary foreign request for non-content data (0: no such route)", 0, 1)
    disclosure: Delay = _f(Delay(30, 90), "delay to answer a voluntary request")
    order_compliance: float = _f(1.0, "chance 0..1 it complies with a production order", 0, 1)


@dataclass(frozen=True)
class Pirates:
    """Entry, infrastructure and resilience of pirate networks."""

    initial_networks: int = _f(40, "networks at day 0", 0)
    entry_per_day: float = _f(0.3, "lambda0: expected new networks per day in an empty market", 0)
    entry_slots: int = _f(4, "S: entry draws per day; entry_per_day / S <= 1", 1)
    market_capacity: int = _f(120, "K: live networks at which entry stops", 1)
    servers_per_network: int = _f(3, "servers a network keeps up", 1)
    reprovision_prob: float = _f(0.5, "chance per missing server per day that it is replaced", 0, 1)
    host_size_exponent: float = _f(1.0, "alpha: host choice weight share**alpha", 0)
    risk_aversion: float = _f(0.0, "beta: host choice weight exp(-beta * risk)", 0)
    quit_prob: float = _f(0.01, "chance a network quits per server removed by takedown or seizure", 0, 1)
    home_in_market: float = _f(0.0, "chance the operator lives in its market country", 0, 1)
    heat_aversion: float = _f(0.0, "beta: host choice weight share**alpha * exp(-beta * heat level); 0: no adaptation", 0)
    heat_half_life_days: float = _f(30.0, "days in which a country's recent-removal count halves (rounded to 0.69 * 2**k)",
                                    0, lo_open=True)
    memory_weight: float = _f(1.0, "heat levels a network adds per server it lost in a country", 0)
    successor_prob: float = _f(0.3, "chance an arrested network is succeeded", 0, 1)
    successor_prob_joint: float = _f(0.075, "the same when joint action reaches all its up servers (pro rata in between)", 0, 1)
    successor: Delay = _f(Delay(60, 180), "delay until a successor starts")


@dataclass(frozen=True)
class Enforcement:
    """Detection, case opening and investigation."""

    detect_prob: float = _f(0.02, "chance per up server per day that it is detected (a notice)", 0, 1)
    case_threshold: int = _f(3, "notices before a complaint is filed", 1)
    identify_prob: float = _f(0.4, "chance each piece of server evidence identifies the operator", 0, 1)
    evidence_rule: str = _f("all", "all: a case waits for every answer; first: it proceeds on the first identifying piece")
    money_trail_prob: float = _f(0.0, "chance a case finds a domestic payment or reseller trail", 0, 1)
    money_identify_prob: float = _f(0.5, "chance a money trail identifies the operator", 0, 1)
    block_after_notices: int = _f(10, "notices against a network before a blocking country's courts are asked", 1)
    block: Delay = _f(Delay(30, 90), "delay until a blocking order takes effect")
    block_effect: float = _f(0.22, "share of a blocked network's users it loses (they look for another service)", 0, 1)
    cutoff_after_notices: int = _f(10, "notices against a network before a payment and advertising cut-off is ordered", 1)
    cutoff: Delay = _f(Delay(30, 90), "delay until the cut-off takes effect")
    cutoff_quit_prob: float = _f(0.01, "daily chance a cut-off network's operator quits", 0, 1)
    case_timeout_days: int = _f(730, "days after which a case still waiting for evidence fails", 1)
    haven_law_below: float = _f(0.5, "countries with law' = min(criminalises', powers', priority') below this are havens", 0, 1)


@dataclass(frozen=True)
class Market:
    """Users of illegal services and where they go (stage B)."""

    entry: str = _f("capacity", "capacity: one global entry rule up to market_capacity; demand: entry per market from unserved users")
    acquire_share: float = _f(0.05, "share of a market's unserved users its live, unblocked networks win each day", 0, 1)
    return_share: float = _f(0.01, "share of lapsed users (who left piracy) who look for a service again each day", 0, 1)
    migrate_share: float = _f(0.71, "share of an ended network's users who move to the largest survivor of its market", 0, 1)
    migration: Delay = _f(Delay(4, 6), "delay until migrating users arrive")


@dataclass(frozen=True)
class Policy:
    """The levers, applied by the world compiler; sweeps vary these."""

    harmonization: float = _f(0.0, "h: criminalises and powers move toward 1: x' = x + h * (1 - x)", 0, 1)
    mla_speed: float = _f(1.0, "multiplies the median and p90 of every formal MLA channel (countries' and blocs' mla)", 0,
                          lo_open=True)
    surrender_speed: float = _f(1.0, "multiplies the median and p90 of every extradition and bloc surrender", 0, lo_open=True)
    priority_floor: float = _f(0.0, "priority' = max(priority, floor)", 0, 1)
    blocking_everywhere: bool = _f(False, "every country's courts issue blocking orders")
    cutoff_everywhere: bool = _f(False, "every country orders payment and advertising cut-offs")
    capacity_scale: float = _f(1.0, "capacity' = round(capacity * scale)", 0)
    preservation_everywhere: bool = _f(False, "every pair of countries preserves data on request")
    join: Mapping[str, tuple[str, ...]] = _f(doc="{bloc: [country ids]} extra members (\"*\": every country)",
                                              default_factory=FrozenMap)


@dataclass(frozen=True)
class Scenario:
    """A whole scenario: a world, its treaties, its pirates, enforcement and a policy."""

    name: str = _f("scenario", "short name (defaults to the file name)")
    description: str = _f("", "free text")
    horizon_days: int = _f(1095, "T: days simulated", 1)
    warmup_days: int = _f(0, "days excluded from every metric (outputs still cover every day); below horizon_days", 0)
    seed: int = _f(1, "root seed; a run may override it", 0, 2**64 - 1)
    extends: str | None = _f(None, "optional parent scenario (path relative to this file) whose fields this one changes")
    world: str | None = _f(None, "optional CSV of countries (path relative to the scenario) to start from")
    blocs: Mapping[str, Bloc] = _f(doc="{name: bloc}", default_factory=FrozenMap)
    countries: tuple[Country, ...] = _f(doc="the countries (required, ids unique)", default_factory=tuple)
    providers: tuple[Provider, ...] = _f(doc="the hosting providers (required, ids unique)", default_factory=tuple)
    pirates: Pirates = _f(Pirates(), "pirate networks")
    enforcement: Enforcement = _f(Enforcement(), "enforcement")
    market: Market = _f(Market(), "users and displacement (stage B)")
    policy: Policy = _f(Policy(), "policy levers")

    def country_index(self) -> dict[str, int]:
        """Country id -> index in file order."""
        return {c.id: i for i, c in enumerate(self.countries)}

    def to_raw(self) -> dict[str, Any]:
        """The resolved scenario as plain YAML/JSON data (every default filled in, ``world`` already merged)."""
        raw = _to_raw(self)
        raw.pop("world", None)
        raw.pop("extends", None)
        return raw

    def digest(self) -> str:
        """Canonical SHA-256 of the resolved scenario (independent of key order, comments and defaults).

        The SHA-256 of ``json.dumps(self.to_raw(), sort_keys=True, separators=(",", ":"))``, assembled from the
        canonical text of each part, which every (immutable) part keeps once made: a scenario made from another
        by overriding a few fields (a sweep's design point) re-encodes only the parts that changed."""
        cached = self.__dict__.get("_digest")
        if cached is None:
            text = "{" + ",".join(prefix + _part_canon(getattr(self, name)) for prefix, name in _DIGEST_FIELDS) + "}"
            cached = hashlib.sha256(text.encode()).hexdigest()
            object.__setattr__(self, "_digest", cached)
        return cached


def _to_raw(obj: Any) -> Any:
    if isinstance(obj, Delay):
        return obj.to_raw()
    if dataclasses.is_dataclass(obj):
        return {f: _to_raw(getattr(obj, f)) for f in _field_names(type(obj))}
    if isinstance(obj, Mapping):
        return {k: _to_raw(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return [_to_raw(v) for v in obj]
    return obj


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


@functools.cache
def _sorted_fields(cls: type) -> tuple[tuple[str, str], ...]:
    return tuple((f"{_canon_key(name)}:", name) for name in sorted(_field_names(cls)))


_canon_key = json.encoder.encode_basestring_ascii  # what json.dumps writes for a string (ensure_ascii)

# the fields of a scenario's digest, sorted, each with its JSON key ("world" and "extends" are resolved away)
_DIGEST_FIELDS = tuple((prefix, name) for prefix, name in _sorted_fields(Scenario) if name not in ("world", "extends"))
_PARTS: dict[int, tuple[Any, str]] = {}  # id -> (tuple or FrozenMap part of a scenario, its canonical text)


def _part_canon(obj: Any) -> str:
    """``_canon`` of a top-level part of a scenario. A tuple (countries, providers) or a FrozenMap (blocs) cannot
    keep its text as a dataclass does, so it is kept here by identity (the entry holds the object, so its id is
    not reused while the entry lives): a sweep's design points share these parts with their base scenario."""
    if type(obj) is not tuple and type(obj) is not FrozenMap:
        return _canon(obj)
    hit = _PARTS.get(id(obj))
    if hit is not None and hit[0] is obj:
        return hit[1]
    text = _canon(obj)
    _PARTS[id(obj)] = (obj, text)
    trim_cache(_PARTS, 64)
    return text


def _canon(obj: Any) -> str:
    """``json.dumps(_to_raw(obj), sort_keys=True, separators=(",", ":"))``, faster: the parts of a scenario are
    immutable, so each dataclass keeps its text once made (a non-field attribute: equality ignores it)."""
    tp = type(obj)
    if tp is float:
        return float.__repr__(obj) if math.isfinite(obj) else json.dumps(obj)
    if tp is bool:
        return "true" if obj else "false"
    if tp is int:
        return int.__repr__(obj)
    if tp is str:
        return _canon_key(obj)
    if obj is None:
        return "null"
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        cached = obj.__dict__.get("_canon")
        if cached is None:
            if tp is Delay:
                m, q = obj.median_days, obj.p90_days
                cached = (f'{{"days":{_canon(m)}}}' if obj.fixed
                          else f'{{"median_days":{_canon(m)},"p90_days":{_canon(q)}}}')
            else:
                parts = []
                for prefix, name in _sorted_fields(tp):
                    v = getattr(obj, name)
                    tv = type(v)
                    parts.append(prefix + (float.__repr__(v) if tv is float and math.isfinite(v) else
                                           int.__repr__(v) if tv is int else _canon(v)))
                cached = "{" + ",".join(parts) + "}"
            object.__setattr__(obj, "_canon", cached)
        return cached
    if isinstance(obj, Mapping):
        return "{" + ",".join(f"{_canon_key(str(k))}:{_canon(obj[k])}" for k in sorted(obj)) + "}"
    if isinstance(obj, (tuple, list)):
        return "[" + ",".join(_canon(v) for v in obj) + "]"
    return json.dumps(_to_raw(obj), sort_keys=True, separators=(",", ":"))  # anything else: as json.dumps does


# --------------------------------------------------------------------------------------------- building

_LISTS_BY_ID = ("countries", "providers")
_NO_META: Mapping[str, Any] = {}
_POSITIVE: Mapping[str, Any] = {"lo": 0, "lo_open": True}


@functools.cache
def _schema(cls: type) -> tuple[frozenset[str], str, tuple[tuple[Any, ...], ...]]:
    """A dataclass's field names, their sorted list (for messages), and per field (name, type, metadata,
    required, the type if int, float, bool, str or Delay, low, high): resolving type hints costs ~0.3 ms per
    class, far more than validating its values, so once."""
    hints = get_type_hints(cls)
    fs = dataclasses.fields(cls)
    names = frozenset(f.name for f in fs)
    specs = tuple((f.name, hints[f.name], f.metadata,
                   f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
                   hints[f.name] if hints[f.name] in (int, float, bool, str, Delay) else None,  # checked inline
                   f.metadata.get("lo"), f.metadata.get("hi")) for f in fs)
    return names, ", ".join(sorted(names)), specs


@functools.cache
def _type_info(tp: Any) -> tuple[bool, Any, str, tuple[Any, ...]]:
    """(optional, the type without None, kind, type arguments); kind is delay, dataclass, tuple, mapping or scalar."""
    origin, args = get_origin(tp), get_args(tp)
    optional = bool(args) and type(None) in args
    if optional:
        tp = next(a for a in args if a is not type(None))
        origin, args = get_origin(tp), get_args(tp)
    if tp is Delay:
        kind = "delay"
    elif dataclasses.is_dataclass(tp):
        kind = "dataclass"
    elif origin is tuple:
        kind = "tuple"
    elif origin is Mapping:
        kind = "mapping"
    else:
        kind = "scalar"
    return optional, tp, kind, args


class _Builder:
    """Turns raw YAML data into dataclasses, checking each value against the field's type and range."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, path: str, message: str, value: Any = dataclasses.MISSING) -> ScenarioError:
        return ScenarioError(self.source, path, message, value)

    def build(self, cls: type, raw: Any, path: str) -> Any:
        if not isinstance(raw, dict):
            raise self.error(path or "(top level)", "expected a mapping", raw)
        names, listed, specs = _schema(cls)
        for key in raw:
            if key not in names:
                raise self.error(_join(path, str(key)), f"unknown key; expected one of: {listed}")
        values = {}
        for name, tp, meta, required, plain, lo, hi in specs:
            if name in raw:
                v = raw[name]
                tv = type(v)
                # the common cases inline: a plain float or int of the field's own type inside its range, a flag,
                # a non-empty string, a lognormal delay written with two floats (anything else: the full checks)
                if tv is plain and (plain is bool or (bool(v) if plain is str else (
                        (lo is None or v > lo or (v == lo and not meta["lo_open"])) and (hi is None or v <= hi)
                        and (plain is int or math.isfinite(v))))):
                    values[name] = v
                elif plain is Delay and tv is dict and len(v) == 2 and type(m := v.get("median_days")) is float \
                        and type(q := v.get("p90_days")) is float and 0 < m <= q and math.isfinite(q):
                    values[name] = Delay(m, q)
                else:
                    values[name] = self.value(tp, v, f"{path}.{name}" if path else name, meta)
            elif required:
                raise self.error(_join(path, name), "required field is missing")
        return cls(**values)

    def value(self, tp: Any, raw: Any, path: str, meta: Mapping[str, Any]) -> Any:
        optional, tp, kind, args = _type_info(tp)
        if optional and raw is None:
            return None
        if kind == "scalar":
            return self.scalar(tp, raw, path, meta)
        if kind == "delay":
            return self.delay(raw, path)
        if kind == "dataclass":
            return self.build(tp, raw, path)
        if kind == "tuple":
            if not isinstance(raw, list):
                raise self.error(path, "expected a list", raw)
            return tuple(self.value(args[0], item, f"{path}[{i}]", _NO_META) for i, item in enumerate(raw))
        if not isinstance(raw, dict):
            raise self.error(path, "expected a mapping", raw)
        return FrozenMap({str(k): self.value(args[1], v, _join(path, str(k)), _NO_META) for k, v in raw.items()})

    def scalar(self, tp: Any, raw: Any, path: str, meta: Mapping[str, Any]) -> Any:
        rt = type(raw)
        if tp is float and rt is float and math.isfinite(raw):
            value: Any = raw  # the common cases first: a plain float or int needs no further type checks
        elif tp is int and rt is int:
            value = raw
        elif tp is bool:
            if not isinstance(raw, (bool, _np_bool)):
                raise self.error(path, "expected true or false", raw)
            return bool(raw)
        elif tp is str:
            if not isinstance(raw, str) or not raw:
                raise self.error(path, "expected a non-empty string", raw)
            return raw
        else:
            # Samplers (numpy, SALib, EMA Workbench) hand over numpy scalars and integral floats such as 3.0.
            is_number = isinstance(raw, numbers.Real) and not isinstance(raw, (bool, _np_bool))
            if tp is int:
                if not is_number or (not isinstance(raw, numbers.Integral) and not (math.isfinite(raw) and float(raw).is_integer())):
                    raise self.error(path, "expected a whole number", raw)
                value = int(raw)
                raw = value
            elif tp is float:
                if not is_number or not math.isfinite(raw):
                    raise self.error(path, "expected a number", raw)
                value = float(raw)
            else:  # pragma: no cover - a schema bug, not a user error
                raise TypeError(f"unsupported field type {tp!r} at {path}")
        lo, hi = meta.get("lo"), meta.get("hi")
        if lo is not None and (value < lo or (meta.get("lo_open") and value == lo)):
            bound = f"greater than {lo}" if meta.get("lo_open") else f"at least {lo}"
            raise self.error(path, f"out of range: must be {bound}" + (f" and at most {hi}" if hi is not None else ""), raw)
        if hi is not None and value > hi:
            raise self.error(path, f"out of range: must be at most {hi}" + (f" and at least {lo}" if lo is not None else ""), raw)
        return value

    def delay(self, raw: Any, path: str) -> Delay:
        if not isinstance(raw, dict):
            raise self.error(path, "expected a delay {median_days: m, p90_days: q} or {days: d}", raw)
        keys = set(raw)
        if keys == {"days"}:
            d = self.scalar(float, raw["days"], _join(path, "days"), _POSITIVE)
            return Delay(d, d)
        if keys == {"median_days", "p90_days"}:
            m = self.scalar(float, raw["median_days"], _join(path, "median_days"), _POSITIVE)
            q = self.scalar(float, raw["p90_days"], _join(path, "p90_days"), _POSITIVE)
            if q < m:
                raise self.error(_join(path, "p90_days"), f"must be at least median_days ({raw['median_days']})", raw["p90_days"])
            return Delay(m, q)
        extra = sorted(str(k) for k in keys - {"days", "median_days", "p90_days"})
        if extra:
            raise self.error(_join(path, extra[0]), "unknown key; expected median_days and p90_days, or days")
        raise self.error(path, "a delay needs both median_days and p90_days, or days alone", raw)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _check_references(sc: Scenario, b: _Builder, checked: Scenario | None = None) -> None:
    """Cross-field rules: unique ids, known countries and blocs, possible entry probability, weights.

    ``checked``: a scenario that passed these rules; the rules that read only its countries, providers and blocs
    hold for ``sc`` too when it holds the very same parts (a design point made by :func:`with_overrides`), and
    are skipped (they hold, so skipping them changes no outcome and no message)."""
    same_lists = checked is not None and sc.countries is checked.countries and sc.providers is checked.providers \
        and sc.blocs is checked.blocs
    if not same_lists:
        _check_lists(sc, b)
    if sc.enforcement.evidence_rule not in EVIDENCE_RULES:
        raise b.error("enforcement.evidence_rule", f"must be one of {', '.join(EVIDENCE_RULES)}", sc.enforcement.evidence_rule)
    if sc.market.entry not in ENTRY_RULES:
        raise b.error("market.entry", f"must be one of {', '.join(ENTRY_RULES)}", sc.market.entry)
    if sc.warmup_days >= sc.horizon_days:
        raise b.error("warmup_days", f"must be below horizon_days ({sc.horizon_days})", sc.warmup_days)
    if sc.policy.join:
        countries = sc.country_index()
        for bloc, members in sc.policy.join.items():
            if bloc not in sc.blocs:
                raise b.error(f"policy.join.{bloc}", "unknown bloc", bloc)
            for j, cid in enumerate(members):
                if cid not in countries and cid != "*":
                    raise b.error(f"policy.join.{bloc}[{j}]", "unknown country", cid)
    pir = sc.pirates
    if pir.entry_per_day / pir.entry_slots > 1:
        raise b.error("pirates.entry_per_day", f"entry_per_day / entry_slots must be at most 1 (entry_slots is {pir.entry_slots})",
                      pir.entry_per_day)
    if not same_lists:
        for list_name, attr in (("countries", "origin"), ("countries", "demand"), ("providers", "share")):
            if not any(getattr(x, attr) > 0 for x in getattr(sc, list_name)):
                raise b.error(f"{list_name}[*].{attr}", "at least one must be positive", 0)


def _check_lists(sc: Scenario, b: _Builder) -> None:
    """The rules of :func:`_check_references` on countries, providers and blocs alone (the first ones)."""
    for list_name in _LISTS_BY_ID:
        items = getattr(sc, list_name)
        if not items:
            raise b.error(list_name, "needs at least one entry", [])
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.id in seen:
                raise b.error(f"{list_name}[{i}].id", "duplicate id", item.id)
            seen.add(item.id)
    countries = sc.country_index()
    for i, c in enumerate(sc.countries):
        for j, bloc in enumerate(c.blocs):
            if bloc not in sc.blocs:
                raise b.error(f"countries[{i}].blocs[{j}]", "unknown bloc", bloc)
    for i, p in enumerate(sc.providers):
        if p.country not in countries:
            raise b.error(f"providers[{i}].country", "unknown country", p.country)
        if p.kind not in PROVIDER_KINDS:
            raise b.error(f"providers[{i}].kind", f"must be one of {', '.join(PROVIDER_KINDS)}", p.kind)


# --------------------------------------------------------------------------------------------- world files

_WORLD_FIELDS = ("law", "criminalises", "powers", "priority", "capacity", "mla_per_day", "extradites",
                 "prosecutes_nationals", "retention_days", "demand", "origin")
_WORLD_FLAGS = ("extradites_nationals", "blocks_sites", "cuts_payments")
_WORLD_DELAYS = ("mla", "court", "extradition")


def _merge_world(raw: dict[str, Any], scenario_path: Path | None, source: str) -> None:
    """Start ``countries`` from the CSV named by ``world``; entries in the scenario override its rows by id.

    The CSV has a row per country with ``id``, ``blocs`` (separated by ``;``), the numeric fields of a
    country, delays as ``<name>_median_days`` / ``<name>_p90_days``, and any number of documentary columns
    (sources, notes) that the model ignores.
    """
    ref = raw.get("world")
    if ref is None:
        return
    if not isinstance(ref, str):
        raise ScenarioError(source, "world", "expected a path to a CSV file", ref)
    base = scenario_path.parent if scenario_path else Path.cwd()
    path = (base / ref).resolve()
    if not path.is_file():
        raise ScenarioError(source, "world", "file not found", ref)
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    cached = _WORLD_ROWS.get(key)
    if cached is None:
        cached = _read_world(path, source, ref)
        _WORLD_ROWS[key] = cached  # only a file that parsed: errors always name the scenario that read it
        trim_cache(_WORLD_ROWS, 16)
    rows = [_copy_row(r) for r in cached]
    overrides = raw.get("countries") or []
    if not isinstance(overrides, list):
        raise ScenarioError(source, "countries", "expected a list", overrides)
    by_id = {r["id"]: r for r in rows}
    for i, item in enumerate(overrides):
        if not isinstance(item, dict) or "id" not in item:
            raise ScenarioError(source, f"countries[{i}]", "expected a mapping with an id", item)
        if item["id"] in by_id:
            by_id[item["id"]].update(item)
        else:
            rows.append(dict(item))
    raw["countries"] = rows


_WORLD_ROWS: dict[tuple[str, int, int], list[dict[str, Any]]] = {}  # (path, mtime, size) -> parsed rows


def _copy_row(row: dict[str, Any]) -> dict[str, Any]:
    """A parsed world row to hand out (callers merge into it): its delay mappings and bloc list copied too."""
    return {k: dict(v) if type(v) is dict else list(v) if type(v) is list else v for k, v in row.items()}


def _read_world(path: Path, source: str, ref: str) -> list[dict[str, Any]]:
    """Parse a world CSV into raw country rows (cached by :func:`_merge_world` per path, mtime and size: a
    sweep or a scenario library reads the same file many times)."""
    rows: list[dict[str, Any]] = []
    try:
        # utf-8-sig: Excel's "CSV UTF-8" starts with a byte-order mark that would otherwise glue onto "id"
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            _check_world_columns(reader.fieldnames or [], path.name, source, ref)
            for line_no, row in enumerate(reader, start=2):
                rows.append(_world_row(row, f"{path.name}:{line_no}", source))
    except UnicodeDecodeError as exc:
        raise ScenarioError(source, "world", f"{path.name} is not UTF-8 text (byte {exc.start}); save it as "
                                             "\"CSV UTF-8\"", ref) from None
    except csv.Error as exc:
        raise ScenarioError(source, "world", f"{path.name} is not a readable CSV file ({exc})", ref) from None
    return rows


def _check_world_columns(columns: list[str], name: str, source: str, ref: str) -> None:
    """``id`` is required; a column one typo away from a model column is refused rather than silently ignored
    (other columns are documentary: sources, notes)."""
    import difflib

    known = ["id", "blocs", *_WORLD_FIELDS, *(f"{d}_{q}_days" for d in _WORLD_DELAYS for q in ("median", "p90"))]
    if "id" not in columns:
        raise ScenarioError(source, "world", f"{name} has no id column (columns: {', '.join(columns[:8])})", ref)
    for col in columns:
        if col in known or col is None:
            continue
        close = difflib.get_close_matches(col.strip().lower(), known, n=1, cutoff=0.8)
        if close:
            raise ScenarioError(source, "world", f"{name}: unknown column {col!r}; did you mean {close[0]!r}?", ref)


def _world_row(row: dict[str, str], where: str, source: str) -> dict[str, Any]:
    def num(col: str) -> float | int:
        text = (row.get(col) or "").strip()
        try:
            value = float(text)
        except ValueError:
            raise ScenarioError(source, f"world {where} column {col}", "expected a number", text) from None
        return int(value) if value.is_integer() and col in ("capacity", "mla_per_day", "retention_days") else value

    out: dict[str, Any] = {"id": (row.get("id") or "").strip()}
    for col in _WORLD_FIELDS:
        if row.get(col, "").strip():
            out[col] = num(col)
    for col in _WORLD_FLAGS:
        text = (row.get(col) or "").strip().lower()
        if text:
            if text not in ("true", "false", "1", "0"):
                raise ScenarioError(source, f"world {where} column {col}", "expected true or false", text)
            out[col] = text in ("true", "1")
    for name in _WORLD_DELAYS:
        if row.get(f"{name}_median_days", "").strip():
            out[name] = {"median_days": num(f"{name}_median_days"), "p90_days": num(f"{name}_p90_days")}
    blocs = (row.get("blocs") or "").strip()
    out["blocs"] = [b.strip() for b in blocs.split(";") if b.strip()]
    return out


# --------------------------------------------------------------------------------------------- inheritance


MAX_EXTENDS = 32  # far more than any real chain; stops a generated or cyclic-by-copy chain before Python's stack


def _resolve_parents(raw: dict[str, Any], path: Path | None, source: str, seen: set[Path]) -> dict[str, Any]:
    """Merge the ``extends`` chain and the ``world`` file into one raw scenario (parents first)."""
    _merge_world(raw, path, source)
    parent_ref = raw.pop("extends", None)
    if parent_ref is None:
        return raw
    if not isinstance(parent_ref, str):
        raise ScenarioError(source, "extends", "expected a path to a scenario file", parent_ref)
    parent_path = ((path.parent if path else Path.cwd()) / parent_ref).resolve()
    if len(seen) >= MAX_EXTENDS:
        raise ScenarioError(source, "extends", f"a chain of more than {MAX_EXTENDS} parent scenarios", parent_ref)
    if parent_path in seen:
        raise ScenarioError(source, "extends", "scenarios extend each other in a cycle", parent_ref)
    if not parent_path.is_file():
        raise ScenarioError(source, "extends", "file not found", parent_ref)
    try:
        parent = yaml_load(parent_path.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError:
        raise ScenarioError(source, "extends", "the parent scenario is not valid YAML (validate it first)", parent_ref) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(source, "extends", f"cannot read the parent scenario ({type(exc).__name__})", parent_ref) from None
    if not isinstance(parent, dict):
        raise ScenarioError(source, "extends", "the parent scenario is not a mapping", parent_ref)
    parent = _resolve_parents(parent, parent_path, str(parent_path), seen | {parent_path})
    for own in ("name", "description"):  # a child is its own scenario: these are never inherited
        parent.pop(own, None)
    return _merge_raw(parent, raw)


def _merge_raw(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """``change`` laid over ``base``: mappings merge key by key, countries and providers item by item (by id),
    any other value is replaced."""
    out = copy.deepcopy(base)
    for key, value in change.items():
        if key in _LISTS_BY_ID and isinstance(value, list) and isinstance(out.get(key), list):
            items = out[key]
            index = {item.get("id"): i for i, item in enumerate(items) if isinstance(item, dict)}
            for item in value:
                if isinstance(item, dict) and item.get("id") in index:
                    items[index[item["id"]]] = {**items[index[item["id"]]], **item}
                else:
                    items.append(copy.deepcopy(item))
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge_raw(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# --------------------------------------------------------------------------------------------- overrides


def parse_override(text: str, source: str = "--set") -> tuple[str, Any]:
    """Split ``path=value``; the value is read as YAML (``0.5`` a number, ``[NLD, DEU]`` a list)."""
    if "=" not in text:
        raise ScenarioError(source, text, "an override is written path=value")
    path, _, value = text.partition("=")
    try:
        parsed = yaml_load(value) if value.strip() else None
    except yaml.YAMLError:
        parsed = value
    return path.strip(), parsed


def apply_overrides(raw: dict[str, Any], overrides: Mapping[str, Any] | list[tuple[str, Any]], source: str = "override") -> dict[str, Any]:
    """Return a copy of raw scenario data with dotted-path overrides applied (list items addressed by id).

    ``policy.mla_speed`` sets a field; ``countries.NLD.capacity`` the field of the list item with that id.
    The result still has to pass validation, so an override can never produce an invalid scenario.
    """
    out = copy.deepcopy(raw)
    items = overrides.items() if isinstance(overrides, Mapping) else overrides
    for path, value in items:
        parts = path.split(".")
        if not path or any(not p for p in parts):
            raise ScenarioError(source, path, "bad override path")
        if parts[0] in ("world", "extends"):  # resolved when the file is read, before any override
            raise ScenarioError(source, path, "cannot be overridden (it is read with the file); edit the scenario "
                                              "file instead", value)
        node: Any = out
        for depth, key in enumerate(parts[:-1]):
            here = ".".join(parts[: depth + 1])
            if isinstance(node, list):
                match = [x for x in node if isinstance(x, dict) and str(x.get("id")) == key]
                if not match:
                    raise ScenarioError(source, path, f"bad override path: no item with id {key!r} in {'.'.join(parts[:depth]) or 'list'}")
                node = match[0]
            elif isinstance(node, dict):
                if key not in node or node[key] is None:
                    if key in _LISTS_BY_ID:
                        raise ScenarioError(source, path, f"bad override path: the scenario has no {key}")
                    node[key] = {}
                node = node[key]
            else:
                raise ScenarioError(source, path, f"bad override path: {here} is not a mapping or list")
        last = parts[-1]
        if isinstance(node, list):
            raise ScenarioError(source, path, "bad override path: a list item is replaced field by field (add .FIELD)")
        if not isinstance(node, dict):
            raise ScenarioError(source, path, "bad override path: not a mapping")
        node[last] = value
    return out


_ROUND_TRIPPED: dict[str, "Scenario"] = {}  # scenario digest -> the scenario validated from its raw form


class _NotFast(Exception):
    """An override the fast path of :func:`with_overrides` leaves to full validation."""


def with_overrides(sc: Scenario, overrides: Mapping[str, Any] | list[tuple[str, Any]] | None,
                   source: str | None = None, fallback: Callable[[], Scenario] | None = None) -> Scenario:
    """``sc`` with dotted-path overrides applied: the same scenario as ``from_dict(sc.to_raw(), source,
    overrides=overrides)``, and for a bad value the same one-line error, but only the overridden fields are
    validated (then the cross-field rules): a sweep's design point costs tens of microseconds, not milliseconds.

    Paths into a delay (``countries.NLD.mla.median_days``), new bloc entries and anything else the fast path does
    not handle, and every error, go through ``fallback`` (by default the full validation above), so results and
    messages never depend on which path ran.
    """
    items = list(overrides.items() if isinstance(overrides, Mapping) else overrides or [])
    source = sc.name if source is None else source
    if fallback is None:
        def fallback() -> Scenario:
            return from_dict(sc.to_raw(), source, overrides=items)
    # Start from sc as validation of its raw form makes it (defaults such as Delay(30, 90) hold ints that the
    # raw form turns into floats: equal values, but another digest), once per scenario and process.
    base = _ROUND_TRIPPED.get(sc.digest())
    if base is None:
        base = from_dict(sc.to_raw(), source)
        _ROUND_TRIPPED[sc.digest()] = base
        trim_cache(_ROUND_TRIPPED, 16)
    if not items:
        return base
    b = _Builder(source)
    try:
        out = base
        for path, value in items:
            parts = path.split(".") if isinstance(path, str) else []
            if not parts or any(not p for p in parts) or parts[0] in ("world", "extends"):
                raise _NotFast
            out = _set_path(b, out, parts, value, "")
        _check_references(out, b, base)
    except (_NotFast, ScenarioError):
        return fallback()
    return out


def _set_path(b: "_Builder", obj: Any, parts: list[str], value: Any, where: str) -> Any:
    """A copy of the dataclass ``obj`` with the field at ``parts`` set to ``value`` (validated as the builder
    validates it at ``where``, the path its messages use); raises _NotFast for what only full validation does."""
    if type(obj) is Delay or not dataclasses.is_dataclass(obj):
        raise _NotFast
    names, _, specs = _schema(type(obj))
    name = parts[0]
    if name not in names:
        raise _NotFast
    spec = next(x for x in specs if x[0] == name)
    tp, meta = spec[1], spec[2]
    here = _join(where, name)
    if len(parts) == 1:
        new = b.value(tp, value, here, meta)
    else:
        optional, tp, kind, args = _type_info(tp)
        child = getattr(obj, name)
        if kind == "dataclass" and child is not None:
            new = _set_path(b, child, parts[1:], value, here)
        elif kind == "tuple" and len(parts) > 2 and dataclasses.is_dataclass(args[0]):
            index = next((i for i, x in enumerate(child) if str(x.id) == parts[1]), None)
            if index is None:
                raise _NotFast
            item = _set_path(b, child[index], parts[2:], value, f"{here}[{index}]")
            new = child[:index] + (item,) + child[index + 1:]
        elif kind == "mapping" and parts[1] in child:
            key = parts[1]
            if len(parts) == 2:
                entry = b.value(args[1], value, _join(here, key), _NO_META)
            elif dataclasses.is_dataclass(args[1]) and child[key] is not None:
                entry = _set_path(b, child[key], parts[2:], value, _join(here, key))
            else:
                raise _NotFast
            new = FrozenMap({k: entry if k == key else v for k, v in child.items()})
        else:
            raise _NotFast
    return _replace(obj, name, new)


def _replace(obj: Any, name: str, value: Any) -> Any:
    """``dataclasses.replace(obj, **{name: value})``. A frozen dataclass without ``__post_init__`` only stores
    its fields, so the copy is made by storing them (a few times faster); the texts a part keeps for digests
    (non-field attributes) are not copied: they describe the old values."""
    cls = type(obj)
    if hasattr(cls, "__post_init__"):
        return dataclasses.replace(obj, **{name: value})
    new = object.__new__(cls)
    d, old = new.__dict__, obj.__dict__
    for f in _field_names(cls):
        d[f] = old[f]
    d[name] = value
    return new


# --------------------------------------------------------------------------------------------- entry points


def from_dict(raw: Any, source: str = "<scenario>", path: Path | None = None,
              overrides: Mapping[str, Any] | list[tuple[str, Any]] | None = None) -> Scenario:
    """Validate raw data (as read from YAML) into a :class:`Scenario`, after merging ``world`` and overrides."""
    if raw is None:
        raise ScenarioError(source, "", "the file is empty")
    if not isinstance(raw, dict):
        raise ScenarioError(source, "(top level)", "expected a mapping of scenario fields", raw)
    raw = _resolve_parents(dict(raw), path, source, set())
    if overrides:
        raw = apply_overrides(raw, overrides, source)
    if "name" not in raw and path is not None:
        raw["name"] = path.stem
    b = _Builder(source)
    sc = b.build(Scenario, raw, "")
    _check_references(sc, b)
    return sc


class _Loader(yaml.SafeLoader):
    """The safe loader, stricter: a key given twice in one mapping is an error (PyYAML keeps the last silently),
    and numbers in exponent form without a dot (``1e-3``, YAML 1.2) are numbers, not strings."""


_EXP_TAG = "tag:piracysim,2026:exponent"
_EXP_RE = re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")
_Loader.add_implicit_resolver(  # YAML 1.2 exponent numbers; PyYAML's 1.1 rule needs a dot in the mantissa
    _EXP_TAG, _EXP_RE, list("-+0123456789"))


def _construct_exponent(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int | float:
    """``1e-3`` is 0.001; ``1e8`` (no dot, non-negative exponent) is the whole number 100000000, exactly, so a
    count written that way reaches the range checks rather than failing as "not a whole number"."""
    text = loader.construct_scalar(node).replace("_", "")
    mantissa, _, exponent = text.lower().partition("e")
    if "." not in mantissa and int(exponent) >= 0:
        return int(mantissa) * 10 ** int(exponent)
    return float(text)


_Loader.add_constructor(_EXP_TAG, _construct_exponent)


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, (str, int, float, bool)) and key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first on line {seen[key].start_mark.line + 1})",
                key_node.start_mark)
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

if getattr(yaml, "CSafeLoader", None) is not None:
    class _FastLoader(yaml.CSafeLoader):  # type: ignore[misc, name-defined]
        """The same rules as :class:`_Loader` on libyaml's parser (~15x faster on the baseline scenario)."""

    _FastLoader.add_implicit_resolver(_EXP_TAG, _EXP_RE, list("-+0123456789"))
    _FastLoader.add_constructor(_EXP_TAG, _construct_exponent)
    _FastLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
else:  # pragma: no cover - PyYAML built without libyaml
    _FastLoader = None


_PARSED: dict[str, Any] = {}  # YAML text -> its data (content-addressed: a sweep or a library rereads files)


def _copy_data(obj: Any) -> Any:
    """A deep copy of plain YAML data (mappings, lists, scalars), several times faster than copy.deepcopy."""
    tp = type(obj)
    if tp is dict:
        return {k: _copy_data(v) for k, v in obj.items()}
    if tp is list:
        return [_copy_data(v) for v in obj]
    return obj if tp in (str, int, float, bool, type(None)) else copy.deepcopy(obj)


def yaml_load(text: str) -> Any:
    """YAML text to data with the strict safe loader (no duplicate keys); each call gets its own copy."""
    hit = _PARSED.get(text)
    if hit is None:
        hit = _yaml_load(text)
        if len(text) > 256:  # the files worth remembering, not the values of --set
            _PARSED[text] = hit
            trim_cache(_PARSED, 32)
    return _copy_data(hit)


def _yaml_load(text: str) -> Any:
    if _FastLoader is not None:
        try:
            return yaml.load(text, Loader=_FastLoader)  # noqa: S506 - a CSafeLoader
        except yaml.YAMLError:
            pass  # parsed again below, so an error reads exactly as the pure-Python parser words it
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader


def parse_yaml(text: str, source: str) -> Any:
    """YAML text to data with the safe loader only; a syntax error is a ScenarioError naming the line."""
    try:
        return yaml_load(text.removeprefix("\ufeff"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}" if mark is not None else "(unknown line)"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(source, line, f"YAML syntax error: {problem}") from None


def read_text(path: str | Path) -> str:
    """A user's file as text; a missing or unreadable file is a ScenarioError."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(str(path), "", "file not found") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise ScenarioError(str(path), "", f"cannot read: {exc.__class__.__name__}") from None


def load_text(text: str, source: str = "<scenario>", path: Path | None = None,
              overrides: Mapping[str, Any] | list[tuple[str, Any]] | None = None) -> Scenario:
    """Parse YAML text (safe loader only) and validate it."""
    return from_dict(parse_yaml(text, source), source, path, overrides)


def load(path: str | Path, overrides: Mapping[str, Any] | list[tuple[str, Any]] | None = None) -> Scenario:
    """Load and validate a scenario file, optionally with dotted-path overrides."""
    return load_text(read_text(path), str(path), Path(path), overrides)


def describe() -> str:
    """Markdown reference of every scenario field, its default and range (generated from the schema)."""
    lines: list[str] = []
    for cls, prefix in ((Scenario, ""), (Bloc, "blocs.NAME."), (Country, "countries[]."), (Provider, "providers[]."),
                        (Pirates, "pirates."), (Enforcement, "enforcement."), (Market, "market."), (Policy, "policy.")):
        lines += [f"### `{prefix or 'top level'}`", "", (cls.__doc__ or "").strip().splitlines()[0], "",
                  "| field | default | range | meaning |", "|---|---|---|---|"]
        for f in dataclasses.fields(cls):
            m = f.metadata
            if f.default is not dataclasses.MISSING:
                default = f.default
                shown = json.dumps(_to_raw(default)) if not dataclasses.is_dataclass(default) or isinstance(default, Delay) else "(section)"
            elif f.default_factory is not dataclasses.MISSING:
                shown = json.dumps(_to_raw(f.default_factory()))
            else:
                shown = "required"
            lo, hi = m.get("lo"), m.get("hi")
            rng = "" if lo is None else (f"> {lo}" if m.get("lo_open") else f">= {lo}") + ("" if hi is None else f", <= {hi}")
            lines.append(f"| `{f.name}` | `{shown}` | {rng} | {m.get('doc', '')} |")
        lines.append("")
    return "\n".join(lines)


FORMAT_INTRO = """# Scenario file format

<!-- generated by `python -m sim.scenario > docs/scenario-format.md`; a test keeps it equal to the code -->

A scenario is a YAML file: a world (countries, blocs, hosting providers), pirates, enforcement, and a policy.
Every field below has a default except the lists of countries and providers. Unknown keys, keys given twice,
wrong types, out-of-range values and dangling references are errors that name the file, the field path and the
value (numbers may be written `0.001` or `1e-3`):

```
error: scenarios/mine.yaml: providers[2].compliance: out of range: must be at most 1 and at least 0 (got 1.5)
```

A delay is written `{median_days: m, p90_days: q}` (lognormal; `q >= m > 0`; `q == m` means fixed) or
`{days: d}` (fixed).

**Building on other files.** `world: data/countries.csv` starts the country list from a CSV (one row per
country; `blocs` separated by `;`; delays as `mla_median_days`, `mla_p90_days` and so on; extra columns such as
sources and notes are ignored, but a column one typo away from a model column is an error; UTF-8, with or
without the byte-order mark Excel writes); entries under `countries:` then change rows by id or add countries.
`extends: baseline.yaml` starts from another scenario: mappings merge key by key, `countries` and `providers`
merge item by item by id (an item with a new id is added), anything else is replaced; `name` and `description`
are never inherited; chains stop at 32 files. A policy scenario is therefore a few lines (see
`scenarios/second_protocol.yaml`).

**Overrides.** Any field but `world` and `extends` can be changed from the command line with a dotted path, list items by their id,
after `world` and `extends` are resolved: `--set policy.mla_speed=0.5 --set countries.NLD.capacity=8
--set policy.join.eu=[GBR]`. In `policy.join`, `"*"` stands for every country.

## Fields

"""


def format_doc() -> str:
    """The whole of docs/scenario-format.md."""
    return FORMAT_INTRO + describe()


if __name__ == "__main__":
    print(format_doc(), end="")
