"""The what-if charts: the unchanged scenario against the variant, medians and 90% bands across replicates.

Figures are built with matplotlib's object API (no pyplot), so concurrent browser sessions never share a
current figure; the page shows them as images and exports them as PNG or SVG. What a chart draws is first
reduced to :class:`ChartData` (kilobytes), so the page's three charts can be drawn at once in worker processes
(:class:`ChartPool`): drawing is interpreter-bound and would not run in parallel on threads.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure, SubFigure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from sim.dashboard.whatif import Answer, Replicates, band, route_columns
from sim.procs import worker_init

BASE_COLOR, VAR_COLOR = "0.45", "tab:blue"


@contextlib.contextmanager
def own_style():
    """matplotlib's own style while a chart is made and drawn, whatever else this process has imported (the
    report's plotting module sets a house style when imported), so that the server and the drawing processes
    draw the very same images."""
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        yield


def _figure(height: float) -> Figure:
    # fixed margins rather than a constrained layout: it draws several times faster, which the slider needs
    fig = Figure(figsize=(11, height))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.2, top=0.9, wspace=0.2)
    return fig


Band = tuple[np.ndarray, np.ndarray, np.ndarray]  # median, 5th and 95th percentile across replicates


@dataclass(frozen=True)
class ChartData:
    """What the charts draw, reduced from an answer: bands, medians and totals (unchanged, what-if)."""

    days: np.ndarray
    series: dict[str, tuple[Band, Band]]                 # daily column -> bands of both sides
    by_country: tuple[pd.Series, pd.Series]              # median up servers by host country, last year
    havens: tuple[str, ...]
    cases: tuple[list[str], list[float], list[float]]    # case columns, median totals of both sides
    routes: tuple[list[str], list[float], list[float]]   # requests_* columns, median totals of both sides


def _totals(rep: Replicates, columns: list[str]) -> list[float]:
    return [float(np.median(rep.daily[c].sum(axis=1))) for c in columns]


def chart_data(ans: Answer) -> ChartData:
    """The answer reduced to what the charts show."""
    b, v = ans.base, ans.variant
    case_cols = [c for c in ("cases_opened", "cases_failed_evidence", "cases_failed_haven", "cases_timed_out",
                             "arrests") if c in b.daily]
    routes = route_columns(b)
    return ChartData(b.days, {c: (band(b.daily[c]), band(v.daily[c])) for c in ("networks", "servers_up")},
                     (b.by_country.median(), v.by_country.median()), tuple(v.havens),
                     (case_cols, _totals(b, case_cols), _totals(v, case_cols)),
                     (routes, _totals(b, routes), _totals(v, routes)))


def _series(ax, days: np.ndarray, bands: tuple[Band, Band], title: str, ylabel: str, legend: bool = True) -> None:
    for (mid, lo, hi), color, label in zip(bands, (BASE_COLOR, VAR_COLOR), ("unchanged", "what-if")):
        ax.fill_between(days, lo, hi, color=color, alpha=0.2, lw=0)
        ax.plot(days, mid, color=color, lw=2, label=f"{label} (median, 90% band)")
    ax.set_title(title)
    ax.set_xlabel("day")
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(MaxNLocator(5))
    ax.xaxis.set_major_locator(MaxNLocator(6))
    if legend:
        ax.legend(frameon=False, loc="lower left")


def time_series(data: ChartData, fig: Figure | SubFigure | None = None) -> Figure | SubFigure:
    """Live networks and up servers over time."""
    fig = fig or _figure(3.6)
    ax1, ax2 = fig.subplots(1, 2)
    _series(ax1, data.days, data.series["networks"], "Live networks", "networks")
    _series(ax2, data.days, data.series["servers_up"], "Servers up", "servers", legend=False)
    return fig


def _refill_series(fig: Figure, data: ChartData) -> None:
    for ax, key in zip(fig.axes, ("networks", "servers_up")):
        for (mid, lo, hi), band_, line in zip(data.series[key], ax.collections, ax.lines):
            band_.set_data(data.days, lo, hi)
            line.set_ydata(mid)
        _rescale(ax)
        ax.set_ylim(bottom=0)


def _rescale(ax) -> None:
    """Limits from the artists' new data, as a fresh chart would get them."""
    ax.relim()
    ax.set_autoscaley_on(True)
    ax.autoscale_view(scalex=False)


def _paired_bars(ax, labels: list[str], base: list[float], var: list[float]) -> None:
    x = np.arange(len(labels))
    ax.bar(x - 0.2, base, 0.4, color=BASE_COLOR, label="unchanged")
    ax.bar(x + 0.2, var, 0.4, color=VAR_COLOR, label="what-if")
    ax.set_xticks(x, labels)
    ax.yaxis.set_major_locator(MaxNLocator(5))


def host_countries(data: ChartData, fig: Figure | SubFigure | None = None, top: int = 15) -> Figure | SubFigure:
    """Up servers by host country over the last year (medians), havens hatched, largest hosts first."""
    fig = fig or _figure(3.4)
    ax = fig.subplots()
    b, v = data.by_country
    order = _top_hosts(data, top)
    x = np.arange(len(order))
    havens = set(data.havens)
    for offset, values, color in ((-0.2, b, BASE_COLOR), (0.2, v, VAR_COLOR)):
        bars = ax.bar(x + offset, values[order].to_numpy(), 0.4, color=color)
        for bar, cid in zip(bars, order):
            if cid in havens:
                bar.set_hatch("//")
                bar.set_edgecolor("black")
    ax.set_xticks(x, list(order))
    ax.set_ylabel("servers up (mean, last year)")
    ax.yaxis.set_major_locator(MaxNLocator(5))
    ax.set_title("Servers by host country (hatched: havens)")
    ax.legend(handles=[Patch(color=BASE_COLOR, label="unchanged"), Patch(color=VAR_COLOR, label="what-if"),
                       Patch(facecolor="white", edgecolor="black", hatch="//", label="haven")], frameon=False)
    return fig


def _top_hosts(data: ChartData, top: int = 15) -> pd.Index:
    b, v = data.by_country
    return (b + v).sort_values(ascending=False).index[:top]


def _refill_bars(ax, *heights: list[float]) -> None:
    """New heights for the paired bars of ``ax`` (the unchanged side's containers first)."""
    for container, values in zip(ax.containers, heights):
        for bar, h in zip(container, values):
            bar.set_height(h)
    _rescale(ax)


def _refill_hosts(fig: Figure, data: ChartData) -> None:
    order = _top_hosts(data)
    _refill_bars(fig.axes[0], *(side[order].to_numpy() for side in data.by_country))


def _refill_cases(fig: Figure, data: ChartData) -> None:
    _refill_bars(fig.axes[0], *data.cases[1:])
    _refill_bars(fig.axes[1], *data.routes[1:])


def cases_and_evidence(data: ChartData, fig: Figure | SubFigure | None = None) -> Figure | SubFigure:
    """Cases, failures and arrests over the horizon, and requests by evidence route (medians of totals)."""
    fig = fig or _figure(3.6)
    ax1, ax2 = fig.subplots(1, 2)
    case_cols, case_b, case_v = data.cases
    _paired_bars(ax1, [c.replace("cases_", "").replace("_", "\n") for c in case_cols], case_b, case_v)
    ax1.set_title("Cases and arrests (total over the horizon)")
    ax1.legend(frameon=False)  # one legend per figure: each chart also stands alone (page, export)
    routes, route_b, route_v = data.routes
    _paired_bars(ax2, [c.removeprefix("requests_").replace("_", "\n") for c in routes], route_b, route_v)
    ax2.set_title("Evidence by route (requests, total)")
    return fig


CHARTS = {"time_series": (time_series, 3.6), "host_countries": (host_countries, 3.4),
          "cases_evidence": (cases_and_evidence, 3.6)}

# Per chart: what fixes its layout (its days, its categories), and how a drawn chart of that layout takes new
# data. A page chart of the same layout as the last is redrawn from the last figure with its data replaced (the
# same image as a fresh one, a third faster: building a figure's axes and ticks is a third of the cost).
REFILL = {
    "time_series": (lambda d: (len(d.days), int(d.days[0]) if len(d.days) else 0), _refill_series),
    "host_countries": (lambda d: (tuple(_top_hosts(d)), d.havens), _refill_hosts),
    "cases_evidence": (lambda d: (tuple(d.cases[0]), tuple(d.routes[0])), _refill_cases),
}


def all_figures(ans: Answer) -> dict[str, Figure]:
    """Every what-if chart by name, in page order."""
    data = chart_data(ans)
    with own_style():
        return {name: draw(data) for name, (draw, _) in CHARTS.items()}


def to_bytes(fig: Figure, fmt: str = "png", dpi: int = 80) -> bytes:
    """The figure as PNG or SVG bytes."""
    buf = io.BytesIO()
    # light PNG compression: the page redraws on every change and the images never leave this machine
    extra = {"pil_kwargs": {"compress_level": 1}} if fmt == "png" else {}
    with own_style():
        fig.savefig(buf, format=fmt, dpi=dpi, **extra)
    return buf.getvalue()


def _ready(_: int) -> bool:
    return True


_LAST: dict[str, tuple[tuple, Figure]] = {}  # per process: the last page figure of each chart, by its layout
_LAST_LOCK = threading.Lock()  # a server drawing here (its pool broke) may do so for two sessions at once


def chart_png(name: str, data: ChartData) -> bytes:
    """One page chart as PNG bytes (what a drawing process runs), redrawn from the last one when the layout is
    the same (see ``REFILL``)."""
    layout, refill = REFILL[name]
    key = layout(data)
    with _LAST_LOCK, own_style():
        last = _LAST.get(name)
        if last is not None and last[0] == key:
            fig = last[1]
            refill(fig, data)
        else:
            fig = CHARTS[name][0](data)
            _LAST[name] = (key, fig)
        return to_bytes(fig)


class ChartPool:
    """Draws the page's charts at once, one per worker process (even on fewer cores: the operating system then
    shares them out, which still beats drawing one after another).

    The workers are spawned (the server has threads, so it must not fork) as children of the server, which they
    watch: they die with it however it ends. :meth:`start` starts them ahead of the first answer. A pool that
    broke (a worker killed) is replaced, and that answer is drawn here instead: the page never waits on a dead
    process.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or len(CHARTS)
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=worker_init)
        return self._pool

    def start(self) -> None:
        """Start the workers now (each imports matplotlib and the model, ~1 s) rather than on the first answer."""
        try:
            list(self._executor().map(_ready, range(self.workers)))
        except BrokenProcessPool:
            self.close()

    def render(self, ans: Answer) -> dict[str, bytes]:
        """Every page chart of ``ans`` as PNG bytes, by name in page order."""
        data = chart_data(ans)
        try:
            futures = {name: self._executor().submit(chart_png, name, data) for name in CHARTS}
            return {name: f.result() for name, f in futures.items()}
        except BrokenProcessPool:
            self.close()
            return {name: chart_png(name, data) for name in CHARTS}

    def close(self) -> None:
        """Stop the workers (a later render starts new ones)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def combined(ans: Answer, fmt: str) -> bytes:
    """All the what-if charts stacked in one PNG or SVG file (the figures export)."""
    heights = [h for _, h in CHARTS.values()]
    data = chart_data(ans)
    with own_style():
        big = Figure(figsize=(11, sum(heights)), layout="constrained")
        for (draw, _), sub in zip(CHARTS.values(), big.subfigures(len(heights), 1, height_ratios=heights)):
            draw(data, sub)
    return to_bytes(big, fmt, dpi=100)
