"""Details of figures and tables a reader would otherwise misread."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.analysis import figures as F
from sim.analysis import summary


def test_numbers_never_in_exponent_form():
    assert [F.fmt_num(v) for v in (1060.4, 123456.7, 99.14, 0.0123, 12.0, 0)] == ["1,060", "123,457", "99.1", "0.0123",
                                                                                   "12", "0"]
    assert F.fmt_num(float("nan")) == "–"


def _runs(values_by_point: dict[int, list[float]], metric: str) -> pd.DataFrame:
    rows = [{"point": p, "replicate": r, "seed": 100 + r, "status": "ok", "error": "", metric: v}
            for p, vals in values_by_point.items() for r, v in enumerate(vals)]
    return pd.DataFrame(rows)


def test_share_intervals_stay_in_0_1():
    runs = _runs({0: [0.0, 0.0, 0.02], 1: [1.0, 0.97, 1.0]}, "dismantled_share")
    s = summary.by_point(runs, [], ["dismantled_share"])
    assert (s["dismantled_share_ci_low"] >= 0).all() and (s["dismantled_share_ci_high"] <= 1).all()
    eff = summary.paired_differences(runs, 0, ["dismantled_share"], [])
    assert (eff["ci_low"] >= -1).all() and (eff["ci_high"] <= 1).all()


def test_share_effects_in_percentage_points():
    runs = _runs({0: [0.01, 0.01, 0.01], 1: [0.09, 0.09, 0.09]}, "dismantled_share")
    eff = summary.paired_differences(runs, 0, ["dismantled_share"], [])
    fig = F.policy_effects(eff, {0: "base", 1: "policy"}, "base")
    ax = fig.axes[0]
    assert "percentage points" in ax.get_xlabel()
    x = ax.lines[0].get_xdata() if ax.lines else ax.collections[0].get_offsets()[:, 0]
    assert np.allclose(np.asarray(x, dtype=float), 8.0)  # +8 pp, not +800%


def test_coinciding_lines_are_named_together():
    ends = {p: [10, 20, 30, 40, 50] if p < 5 else [5 * p, 6 * p, 7 * p, 8 * p, 9 * p] for p in range(8)}
    networks = pd.DataFrame([{"point": p, "replicate": 0, "network": i, "born": 0, "ended": e, "cause": 1}
                             for p, es in ends.items() for i, e in enumerate(es)])
    fig = F.survival_by_point(networks, 100, {p: f"policy{p}" for p in range(8)})
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    # five policies with the same curve are one line named for all five, not five lines hiding each other
    assert labels[0].replace("\n", " ") == "policy0 = policy1 = policy2 = policy3 = policy4" and len(labels) == 4
    styles = {(ln.get_linestyle(), ln.get_color()) for ln in fig.axes[0].lines}
    assert len(styles) == 4


def test_heatmap_says_why_cells_are_blank():
    s = pd.DataFrame({"a": [0, 0, 1, 1], "b": [0, 1, 0, 1], "m": [1.0, 2.0, np.nan, np.nan]})
    fig = F.heatmap(s, "a", "b", "m")
    assert any("Blank cells (2)" in t.get_text() for t in fig.texts)
