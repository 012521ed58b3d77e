"""Kaplan–Meier survival of network lifetimes, with Greenwood confidence bands."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri  # the normal quantile, without importing all of scipy.stats


@dataclass(frozen=True)
class SurvivalCurve:
    """A right-continuous step function: ``survival[i]`` holds on ``[times[i], times[i+1])``; starts at (0, 1)."""

    times: np.ndarray
    survival: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    n: int

    def at(self, t: float) -> float:
        """S(t)."""
        return float(self.survival[np.searchsorted(self.times, t, side="right") - 1])

    def rmst(self, tau: float) -> float:
        """Restricted mean survival time: the area under S from 0 to ``tau``."""
        edges = np.append(np.minimum(self.times, tau), tau)
        return float(np.sum(self.survival * np.diff(edges)))

    def median(self) -> float | None:
        """The first time S falls to 0.5 or below; None when it never does."""
        below = np.flatnonzero(self.survival <= 0.5)
        return float(self.times[below[0]]) if below.size else None


def kaplan_meier(durations: np.ndarray, events: np.ndarray, level: float = 0.95) -> SurvivalCurve:
    """Kaplan–Meier estimate from durations and event flags (1 = ended, 0 = censored).

    Censored subjects count as at risk at their censoring time (the usual convention); the band is
    Greenwood's variance on the log-log scale, which stays inside [0, 1].
    """
    d = np.asarray(durations, dtype=np.float64)
    e = np.asarray(events, dtype=bool)
    times, deaths = np.unique(d[e], return_counts=True)
    at_risk = (d.size - np.searchsorted(np.sort(d), times, side="left")).astype(np.float64)
    deaths = deaths.astype(np.float64)
    surv = np.cumprod(1.0 - deaths / at_risk) if times.size else np.array([])
    with np.errstate(divide="ignore", invalid="ignore"):
        green = np.cumsum(deaths / (at_risk * (at_risk - deaths)))
        z = ndtri(0.5 + level / 2)
        se = np.sqrt(green) / np.abs(np.log(surv))
        lo = surv ** np.exp(z * se)
        hi = surv ** np.exp(-z * se)
    lo = np.where(surv > 0, np.nan_to_num(lo, nan=0.0), 0.0)
    hi = np.where(surv > 0, np.nan_to_num(hi, nan=1.0), 0.0)
    return SurvivalCurve(np.concatenate([[0.0], times]), np.concatenate([[1.0], surv]),
                         np.concatenate([[1.0], lo]), np.concatenate([[1.0], hi]), int(d.size))
