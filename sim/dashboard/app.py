"""The dashboard's pages: what-if (compiled engine) and watch (Mesa's SolaraViz on the reference engine).

Solara serves this module (``piracysim dashboard`` sets it up). State is per browser session; the unchanged
scenario's replicates are cached across sessions. User mistakes end in the CLI's one-line message on the page,
never a traceback, and the page keeps working.
"""

from __future__ import annotations

import html
import os
import threading
from pathlib import Path
from typing import Any, Callable

import reacton.core
import reacton.ipyvue as rvue
import reacton.ipyvuetify as rv
import solara

from sim import engines
from sim.dashboard import figures as F
from sim.dashboard import whatif as W
from sim.dashboard.watch import WatchPage
from sim.scenario import ScenarioError

SCENARIO_ENV = "PIRACYSIM_DASHBOARD_SCENARIO"
DEFAULT_SCENARIO = "scenarios/baseline.yaml"

_cache = W.Cache()
_cache_lock = threading.Lock()  # sessions share the cache; the engines themselves are re-entrant
_charts = F.ChartPool()         # shared by sessions: one drawing process per chart
threading.Thread(target=_charts.start, name="piracysim-chart-workers", daemon=True).start()


def _first_scenario() -> str:
    return os.environ.get(SCENARIO_ENV, DEFAULT_SCENARIO)


# Per-session state (Solara keeps one value per browser session).
scenario_path = solara.reactive(_first_scenario())
current = solara.reactive(None)      # the what-if Scenario shown; watch mode runs it


def _library(path: str) -> list[str]:
    """Scenario files next to the chosen one, to pick from."""
    folder = Path(path).parent if Path(path).parent.is_dir() else Path(DEFAULT_SCENARIO).parent
    return sorted(str(p) for p in folder.glob("*.yaml"))


@solara.component
def LeverSlider(label: str, value: float, lo: float, hi: float, step: float, name: str,
                on_release: Callable[[float], None]) -> None:
    """A slider that re-runs on release ('change'), not on every pixel of a drag."""
    draft, set_draft = solara.use_state(value)
    solara.use_effect(lambda: set_draft(value), [value])
    solara.Text(f"{label}: {draft:g}", style={"font-size": "0.9em"})
    slider = rv.Slider(v_model=draft, on_v_model=set_draft, min=lo, max=hi, step=step, thumb_label=True,
                       hide_details=True, class_=f"piracysim-lever piracysim-lever-{name}")
    rvue.use_event(slider, "change", lambda _w, _e, data: on_release(data))


def _fmt(x: float, signed: bool = False) -> str:
    if x != x:  # NaN: the metric is undefined in every replicate
        return "n/a"
    return f"{x:+.3g}" if signed else f"{x:.3g}"


@solara.component
def MetricsTable(ans: W.Answer) -> None:
    """Key metrics: median [90% interval] of each side and of the paired difference."""
    def cell(m: float, lo: float, hi: float, signed: bool = False) -> str:
        return f"<td>{_fmt(m, signed)} [{_fmt(lo, signed)}, {_fmt(hi, signed)}]</td>"

    rows = "".join(f"<tr><td>{html.escape(r.name)}</td>{cell(*r.base)}{cell(*r.variant)}{cell(*r.diff, True)}</tr>"
                   for r in ans.rows)
    # plain HTML rather than Markdown: Solara's Markdown pulls KaTeX, which solara-assets does not ship
    solara.HTML("table", unsafe_innerHTML="<thead><tr><th>metric</th><th>unchanged</th><th>what-if</th>"
                "<th>paired difference</th></tr></thead><tbody>" + rows + "</tbody>",
                classes=["piracysim-metrics", f"piracysim-answer-{ans.serial}"],
                style="border-spacing: 12px 2px; text-align: left")


@solara.component
def WhatIf() -> None:
    """What-if mode: levers, bloc memberships, scenario file and replicates; charts against the unchanged scenario."""
    path_text, set_path_text = solara.use_state(scenario_path.value)
    base, set_base = solara.use_state(None)
    values, set_values = solara.use_state({})
    joins, set_joins = solara.use_state({})
    n, set_n = solara.use_state(W.DEFAULT_REPLICATES)
    extra, set_extra = solara.use_state("")
    ans, set_ans = solara.use_state(None)
    error, set_error = solara.use_state(None)
    levers = solara.use_memo(W.levers, [])

    def load(path: str) -> None:
        try:
            b = W.load_base(path)
        except ScenarioError as exc:
            set_error(f"error: {exc}")
            return
        scenario_path.set(path)
        set_base(b)
        set_values({lv.name: getattr(b.scenario.policy, lv.name) for lv in levers})
        set_joins({bloc: list(b.scenario.policy.join.get(bloc, ())) for bloc in b.scenario.blocs})
        compute(b, {}, {}, n, extra)

    def compute(b: W.Base, vals: dict, jn: dict, reps: Any, extra_text: str) -> None:
        """Validate, run and show; a user error keeps the last answer and shows the CLI's line."""
        try:
            overrides = W.policy_overrides(vals, {k: v for k, v in jn.items()
                                                  if list(b.scenario.policy.join.get(k, ())) != list(v)})
            overrides += W.parse_extra(extra_text)
            with _cache_lock:
                a = W.answer(b, overrides, reps, _cache, engines.default_engine())
        except ScenarioError as exc:
            set_error(f"error: {exc}")
            return
        set_error(None)
        set_ans(a)
        current.set(a.scenario)

    solara.use_effect(lambda: load(scenario_path.value), [])

    # One render per change, after its answer: a state change outside a batch re-renders the page at once, which
    # would put a render (tens of ms) between the slider's release and the runs.
    batch = reacton.core.get_render_context()

    def set_lever(name: str, value: Any) -> None:
        with batch:
            new = {**values, name: value}
            set_values(new)
            if base is not None:
                compute(base, new, joins, n, extra)

    def set_join(bloc: str, members: list[str]) -> None:
        with batch:
            new = {**joins, bloc: list(members)}
            set_joins(new)
            if base is not None:
                compute(base, values, new, n, extra)

    def set_reps(text: str) -> None:
        try:
            reps: Any = int(text)
        except ValueError:
            reps = text
        with batch:
            set_n(reps)
            if base is not None:
                compute(base, values, joins, reps, extra)

    def set_extra_text(text: str) -> None:
        with batch:
            set_extra(text)
            if base is not None:
                compute(base, values, joins, n, text)

    solara.AppBarTitle("piracysim what-if (compiled engine)")
    with solara.Sidebar():
        with solara.Card("Scenario"):
            library = _library(path_text)
            if path_text in library:
                solara.Select("scenario file", values=library, value=path_text,
                              on_value=lambda p: (set_path_text(p), load(p)))
            solara.InputText("scenario path", value=path_text, continuous_update=False,
                             on_value=lambda p: (set_path_text(p), load(p)))
            solara.InputText("replicates (common random numbers)", value=str(n), continuous_update=False,
                             on_value=set_reps)
        with solara.Card("Policy levers"):
            for lv in levers:
                v = values.get(lv.name, lv.default)
                if lv.kind == "bool":
                    solara.Switch(label=lv.label, value=bool(v), on_value=lambda x, k=lv.name: set_lever(k, x))
                elif lv.kind == "int":
                    LeverSlider(lv.label, int(v), lv.min, lv.max, lv.step, lv.name,
                                lambda x, k=lv.name: set_lever(k, int(x)))
                else:
                    LeverSlider(lv.label, float(v), lv.min, lv.max, lv.step, lv.name,
                                lambda x, k=lv.name: set_lever(k, round(float(x), 6)))
        if base is not None and base.scenario.blocs:
            with solara.Card("Bloc memberships (add countries)"):
                ids = [c.id for c in base.scenario.countries]
                for bloc in base.scenario.blocs:
                    members = {c.id for c in base.scenario.countries if bloc in c.blocs}
                    solara.SelectMultiple(f"join {bloc}", values=joins.get(bloc, []),
                                          all_values=[c for c in ids if c not in members],
                                          on_value=lambda m, k=bloc: set_join(k, m))
        with solara.Card("More overrides"):
            solara.InputText("PATH=VALUE; PATH=VALUE (as --set)", value=extra, continuous_update=False,
                             on_value=set_extra_text)

    # drawn once per answer: the page re-renders for other reasons (errors, typing) without redrawing
    charts = solara.use_memo(lambda: {} if ans is None else _charts.render(ans), [ans])
    if error:
        solara.Error(error, classes=["piracysim-error"])
    if ans is None:
        solara.Info("Loading the scenario...")
        return
    p = ans.metric("persistence")
    n_reps = len(ans.base.seeds)
    with solara.Row(style={"align-items": "baseline"}):
        solara.HTML("h3", html.escape(f"{ans.scenario.name}: live networks over the last year"))
    with solara.Div(style={"font-size": "1.1em", "margin-bottom": "8px"}):
        solara.Text(f"unchanged {_fmt(p.base[0])}, what-if ")
        solara.Text(f"{p.variant[0]:.2f}", classes=["piracysim-persistence", f"piracysim-answer-{ans.serial}"],
                    style={"font-weight": "bold"})
        solara.Text(f", paired difference {_fmt(p.diff[0], True)} [{_fmt(p.diff[1], True)}, {_fmt(p.diff[2], True)}]"
                    f" (median, 90% interval) over {n_reps} replicates on common random numbers, "
                    f"{engines.default_engine()} engine; what-if scenario ")
        solara.Text(ans.scenario.digest()[:12], classes=["piracysim-digest"], style={"font-family": "monospace"})
    for name, png in charts.items():
        # the answer's serial on every chart: a reader (or test) can tell when all of them show the new answer
        solara.Image(png, classes=[f"piracysim-chart-{name}", f"piracysim-answer-{ans.serial}"])
    MetricsTable(ans)
    with solara.Row():
        solara.FileDownload(lambda: W.export_yaml(ans.scenario, f"{ans.scenario.name}-whatif").encode(),
                            filename=f"{ans.scenario.name}-whatif.yaml", label="Export scenario (YAML)")
        solara.FileDownload(lambda: F.combined(ans, "png"), filename=f"{ans.scenario.name}-whatif.png",
                            label="Figures (PNG)")
        solara.FileDownload(lambda: F.combined(ans, "svg"), filename=f"{ans.scenario.name}-whatif.svg",
                            label="Figures (SVG)")


@solara.component
def Watch() -> None:
    """Watch mode on the what-if scenario (or the chosen file until the what-if page has run)."""
    scenario = current.value
    if scenario is None:
        try:
            scenario = W.load_base(scenario_path.value).scenario
        except ScenarioError as exc:
            solara.Error(f"error: {exc}", classes=["piracysim-error"])
            return
    WatchPage(scenario)


@solara.component
def Layout(children: list = []) -> None:  # noqa: B006 - Solara's layout signature
    """Solara's app layout with the two modes as buttons in the app bar."""
    router = solara.use_router()
    with solara.AppLayout(children=children, navigation=False, title="piracysim"):
        with solara.AppBar():
            for label, path in (("What-if", "/"), ("Watch", "/watch")):
                solara.Button(label, text=True, dark=True, classes=[f"piracysim-mode-{path.strip('/') or 'whatif'}"],
                              on_click=lambda p=path: router.push(p),
                              outlined=router.path == path)


routes = [
    solara.Route(path="/", component=WhatIf, label="What-if", layout=Layout),
    solara.Route(path="watch", component=Watch, label="Watch"),
]
