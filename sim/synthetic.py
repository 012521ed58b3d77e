"""Synthetic scenarios: random but valid worlds of any size, for equivalence tests, scaling studies and benchmarks."""

from __future__ import annotations

from typing import Any

import numpy as np


def _delay(g: np.random.Generator, lo: float, hi: float) -> dict[str, float]:
    m = float(np.round(g.uniform(lo, hi), 1))
    if g.random() < 0.2:
        return {"days": m}
    return {"median_days": m, "p90_days": float(np.round(m * g.uniform(1.0, 3.0), 1))}


def random_raw(seed: int, n_countries: int = 8, n_providers: int = 20, horizon: int = 200,
               n_blocs: int = 3, **pirates: Any) -> dict[str, Any]:
    """A valid scenario with random countries, blocs and providers (numpy seed ``seed``)."""
    g = np.random.default_rng(seed)
    blocs = {}
    for b in range(n_blocs):
        bloc: dict[str, Any] = {"preservation": bool(g.random() < 0.6), "joint_action": bool(g.random() < 0.5)}
        if g.random() < 0.6:
            bloc["mla"] = _delay(g, 20, 150)
        if g.random() < 0.5:
            bloc["surrender"] = _delay(g, 10, 90)
        if g.random() < 0.4:
            bloc["production_orders"] = _delay(g, 3, 30)
        bloc["jit"] = bool(g.random() < 0.3)
        bloc["surrender_nationals"] = bool(g.random() < 0.4)
        blocs[f"b{b}"] = bloc
    countries = []
    for c in range(n_countries):
        countries.append({
            "id": f"C{c:03d}", "law": float(np.round(g.uniform(0, 1), 3)), "capacity": int(g.integers(0, 6)),
            "mla_per_day": int(g.integers(0, 4)), "mla": _delay(g, 30, 400), "court": _delay(g, 2, 60),
            "extradition": _delay(g, 20, 900), "extradites": float(np.round(g.uniform(0, 1), 3)),
            "retention_days": int(g.integers(0, 200)), "demand": float(np.round(g.exponential(1.0), 3)),
            "origin": float(np.round(g.exponential(1.0), 3)),
            "blocs": [f"b{b}" for b in range(n_blocs) if g.random() < 0.4],
        })
        if g.random() < 0.7:  # version-2 legal components; otherwise `law` stands for all three
            countries[-1].update({k: float(np.round(g.uniform(0, 1), 3)) for k in ("criminalises", "powers", "priority")})
        countries[-1]["extradites_nationals"] = bool(g.random() < 0.7)
        countries[-1]["prosecutes_nationals"] = float(np.round(g.uniform(0, 1), 3))
        countries[-1]["blocks_sites"] = bool(g.random() < 0.3)
        countries[-1]["cuts_payments"] = bool(g.random() < 0.3)
    countries[0]["demand"] = max(countries[0]["demand"], 0.5)
    countries[0]["origin"] = max(countries[0]["origin"], 0.5)
    kinds = ("mainstream", "offshore", "bulletproof")
    providers = [{"id": f"p{p}", "country": f"C{int(g.integers(0, n_countries)):03d}",
                  "share": float(np.round(g.exponential(2.0) + (1.0 if p == 0 else 0.0), 3)),
                  "compliance": float(np.round(g.uniform(0, 1), 3)), "notice": _delay(g, 1, 20),
                  "kind": kinds[int(g.integers(0, 3))],
                  "discloses": float(np.round(g.uniform(0, 1), 3)) if g.random() < 0.4 else 0.0,
                  "disclosure": _delay(g, 5, 90), "order_compliance": float(np.round(g.uniform(0, 1), 3))}
                 for p in range(n_providers)]
    pir = {"initial_networks": int(g.integers(0, 30)), "entry_per_day": float(np.round(g.uniform(0, 1), 3)),
           "entry_slots": int(g.integers(1, 5)), "market_capacity": int(g.integers(1, 60)),
           "servers_per_network": int(g.integers(1, 6)), "reprovision_prob": float(np.round(g.uniform(0, 1), 3)),
           "host_size_exponent": float(np.round(g.uniform(0, 2), 3)), "risk_aversion": float(np.round(g.uniform(0, 3), 3)),
           "quit_prob": float(np.round(g.uniform(0, 0.05), 4)), "successor_prob": float(np.round(g.uniform(0, 1), 3)),
           "successor_prob_joint": float(np.round(g.uniform(0, 1), 3)), "successor": _delay(g, 5, 120),
           "home_in_market": float(np.round(g.uniform(0, 1), 3)),
           "heat_aversion": float(np.round(g.uniform(0, 3), 3)) if g.random() < 0.4 else 0.0,
           "heat_half_life_days": float(np.round(g.uniform(2, 120), 1)),
           "memory_weight": float(np.round(g.uniform(0, 2), 3))}
    pir["entry_per_day"] = min(pir["entry_per_day"], float(pir["entry_slots"]))
    pir.update(pirates)
    return {
        "name": f"random-{seed}", "horizon_days": horizon, "seed": seed, "blocs": blocs, "countries": countries,
        "providers": providers, "pirates": pir,
        "enforcement": {"detect_prob": float(np.round(g.uniform(0.005, 0.2), 4)), "case_threshold": int(g.integers(1, 5)),
                        "identify_prob": float(np.round(g.uniform(0, 1), 3)), "case_timeout_days": int(g.integers(10, 400)),
                        "haven_law_below": 0.5, "evidence_rule": "first" if g.random() < 0.5 else "all",
                        "money_trail_prob": float(np.round(g.uniform(0, 1), 3)) if g.random() < 0.5 else 0.0,
                        "money_identify_prob": float(np.round(g.uniform(0, 1), 3)),
                        "block_after_notices": int(g.integers(1, 8)), "block": _delay(g, 5, 60),
                        "block_effect": float(np.round(g.uniform(0, 1), 3)),
                        "cutoff_after_notices": int(g.integers(1, 8)), "cutoff": _delay(g, 5, 60),
                        "cutoff_quit_prob": float(np.round(g.uniform(0, 0.05), 4))},
        "market": {"entry": "demand" if g.random() < 0.4 else "capacity",
                   "acquire_share": float(np.round(g.uniform(0, 0.3), 3)),
                   "return_share": float(np.round(g.uniform(0, 0.1), 3)),
                   "migrate_share": float(np.round(g.uniform(0, 1), 3)), "migration": _delay(g, 1, 10)},
        "policy": {"harmonization": float(np.round(g.uniform(0, 1), 3)) if g.random() < 0.3 else 0.0,
                   "mla_speed": float(np.round(g.uniform(0.1, 2), 3)) if g.random() < 0.3 else 1.0,
                   "surrender_speed": float(np.round(g.uniform(0.1, 2), 3)) if g.random() < 0.3 else 1.0,
                   "priority_floor": float(np.round(g.uniform(0, 1), 3)) if g.random() < 0.3 else 0.0,
                   "preservation_everywhere": bool(g.random() < 0.1)},
    }
