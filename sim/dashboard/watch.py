"""Watch mode: the reference (Mesa) engine day by day in Mesa's own SolaraViz.

The page is Mesa's SolaraViz with its Step / Play / Reset controls; the components show live networks and
servers, servers by host country (havens hatched) and open cases as the agents act.
"""

from __future__ import annotations

import solara
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz, make_plot_component
from mesa.visualization.utils import update_counter

from sim.dashboard.whatif import replicate_seeds
from sim.model import PiracyModel
from sim.scenario import Scenario
from sim.world import World, compile_world


class WatchModel(PiracyModel):
    """The reference model, stopping at the scenario's horizon so that Play ends where a run ends."""

    def __init__(self, world: World, seed: int | None = None) -> None:
        super().__init__(world, seed)

    def step(self) -> None:
        """One day, then stop once the horizon is reached."""
        super().step()
        self.running = self.steps < self.world.horizon


@solara.component
def Day(model: WatchModel) -> None:
    """The current day and the counts behind the charts, as text (for readers and for tests)."""
    update_counter.get()  # re-render after every step, as Mesa's own components do
    row = model.row or {"networks": len(model.live), "servers_up": len(model.up_servers),
                        "servers_up_haven": int(model.up_by_country[model.haven_mask].sum()),
                        "cases_open": model.n_cases_open, "arrests": 0}
    with solara.Div(style={"font-size": "1.1em"}):
        solara.Text(f"Day {model.steps}", classes=["piracysim-day"], style={"font-weight": "bold"})
        solara.Text(f" of {model.world.horizon}: {row['networks']} live networks, {row['servers_up']} servers up "
                    f"({row['servers_up_haven']} in havens), {row['cases_open']} open cases, "
                    f"{row['arrests']} arrests today")


@solara.component
def HostCountries(model: WatchModel) -> None:
    """Up servers by host country today, havens hatched."""
    update_counter.get()
    w = model.world
    up = model.up_by_country
    order = [i for i in up.argsort()[::-1] if up[i] > 0][:15]
    fig = Figure(figsize=(7, 3.2))
    fig.subplots_adjust(left=0.1, right=0.98, bottom=0.15, top=0.88)
    ax = fig.subplots()
    bars = ax.bar(range(len(order)), [int(up[i]) for i in order], color="tab:blue")
    for bar, i in zip(bars, order):
        if w.haven[i]:
            bar.set_hatch("//")
            bar.set_edgecolor("black")
    ax.set_xticks(range(len(order)), [w.country_ids[i] for i in order], fontsize=8)
    ax.set_ylabel("servers up")
    ax.set_title(f"Servers by host country, day {model.steps} (hatched: havens)")
    solara.FigureMatplotlib(fig, format="png")


def components() -> list:
    """SolaraViz components: day summary, networks and servers, host countries, open cases."""
    return [
        Day,
        make_plot_component({"networks": "black"}),
        HostCountries,
        make_plot_component({"cases_open": "tab:green", "mla_backlog": "tab:orange"}),
    ]


@solara.component
def WatchPage(scenario: Scenario) -> None:
    """Mesa's SolaraViz on the given scenario (the what-if settings, when they are valid)."""
    world = solara.use_memo(lambda: compile_world(scenario), [scenario.digest()])
    model = solara.use_memo(lambda: WatchModel(world, scenario.seed), [world])
    # A choice of seeds rather than free text: the scenario's own and the what-if replicates' (no bad input).
    seeds = [scenario.seed] + replicate_seeds(scenario, 9)
    params = {"world": world,
              "seed": {"type": "Select", "value": scenario.seed, "values": seeds, "label": "seed (Reset to apply)"}}
    SolaraViz(model, components=components(), model_params=params, name=f"Watch: {scenario.name} (Mesa engine)",
              play_interval=50)
