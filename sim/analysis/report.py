"""``piracysim report`` and ``piracysim plot``: figures and a self-contained HTML report of a run or a sweep.

The report embeds its figures (PNG, base64), its tables, the scenario and the manifest in one file that opens
offline. Figures are also written to ``figures/`` as PNG and SVG for slides and papers.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis import figures as F
from sim.analysis import plots, sensitivity, summary
from sim.outputs import RunResult
from sim.sweep.design import SCENARIO_FACTOR
from sim.sweep.store import read_kept, read_runs

class ReportError(Exception):
    """The folder cannot be reported on (not a run or sweep folder, or the figure asked for does not apply)."""


@dataclass
class Sweep:
    """A finished sweep folder, loaded: runs table, manifest, factors, metrics, point names."""

    folder: Path
    runs: pd.DataFrame
    manifest: dict
    factors: list[str]
    metrics: list[str]
    names: dict[int, str] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path) -> "Sweep":
        manifest_path = folder / "manifest.json"
        if not manifest_path.exists():
            raise ReportError(f"{folder}: no manifest.json (not a sweep folder)")
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("status") != "complete":
            raise ReportError(f"{folder}: the sweep has not finished (status {manifest.get('status')}); "
                              "run it again with --resume")
        runs = read_runs(folder)
        factors = summary.factor_columns(runs, manifest)
        metrics = [m for m in manifest.get("metrics", []) if m in runs.columns]
        names = {}
        for p, values in enumerate(manifest["design"]["points"]):
            if SCENARIO_FACTOR in values:
                names[p] = Path(str(values[SCENARIO_FACTOR])).stem
            else:
                names[p] = ", ".join(f"{k.split('.')[-1]}={F.fmt_value(v)}" for k, v in values.items()) or "base"
        return cls(folder, runs, manifest, factors, metrics, names)

    @property
    def numeric_factors(self) -> list[str]:
        """Factors with numeric values (axes of surfaces and lines)."""
        return [f for f in self.factors if f != SCENARIO_FACTOR and pd.api.types.is_numeric_dtype(self.runs[f])]

    def summary(self) -> pd.DataFrame:
        """Per point means and intervals."""
        return summary.by_point(self.runs, self.factors, self.metrics)

    def kept(self, table: str) -> pd.DataFrame | None:
        """A kept per-run table, or None when the experiment did not keep it."""
        return read_kept(self.folder, table) if table in self.manifest.get("keep", []) else None

    def horizon(self) -> int:
        """The horizon of the runs (from the resolved base scenario)."""
        import yaml

        path = self.folder / "scenario.yaml"
        return int(yaml.safe_load(path.read_text())["horizon_days"]) if path.exists() else 0


# ---------------------------------------------------------------------------------------------- figures


def sweep_figures(sw: Sweep, kind: str | None = None, metric: str | None = None, x: str | None = None,
                  y: str | None = None) -> list[tuple[str, str, Figure]]:
    """(file stem, caption, figure) for the figures that apply to this sweep (or just ``kind``)."""
    out: list[tuple[str, str, Figure]] = []
    want = (lambda k: kind is None or kind == k)
    metrics = [metric] if metric else sw.metrics
    num = sw.numeric_factors
    design = sw.manifest["design"]["type"]
    grid = design == "grid"
    summ = sw.summary() if (want("heatmap") or want("lines")) else None
    # A categorical factor (other than scenario files), such as an evidence rule, splits surfaces into panels
    facet = next((f for f in sw.factors if f != SCENARIO_FACTOR and f not in num), None)
    if want("heatmap") and grid and len(num) >= 2:
        fx, fy = x or num[0], y or num[1]
        for m in metrics:
            out.append((f"heatmap_{m}", f"Mean {F.label(m)} over {fx} and {fy}"
                        + (f", one panel per {facet}." if facet else "."), F.heatmap(summ, fx, fy, m, facet)))
    if want("lines") and grid and num:
        fx = x or num[0]
        group = y or facet or next((f for f in num if f != fx), None)
        for m in metrics:
            out.append((f"lines_{m}", f"{F.label(m)} against {fx}" + (f", one line per {group}" if group else "") + ".",
                        F.lines(summ, fx, m, group)))
    if want("sobol") and design == "saltelli":
        for m in metrics:
            idx = sensitivity.indices_from_sweep(sw.runs, num, m)
            out.append((f"sobol_{m}", f"Sobol indices of {F.label(m)}.", F.sobol(idx, m)))
    # effects are paired on common seeds; a sweep without them (per-draw seeds of an uncertainty block, or
    # common_random_numbers: false) has no such figure: `piracysim robustness` analyses draws (docs/robustness.md)
    paired = sw.runs.groupby("replicate")["seed"].nunique().max() == 1
    if kind == "policies" and not paired:
        raise ReportError(f"{sw.folder}: points do not share seeds (draws or no common random numbers); "
                          "for a sweep with uncertainty use piracysim robustness")
    if want("policies") and paired and (SCENARIO_FACTOR in sw.factors or design == "table"):
        eff = summary.paired_differences(sw.runs, 0, metrics, sw.factors)
        out.append(("policies", f"Effect of each point against {sw.names[0]}.", F.policy_effects(eff, sw.names, sw.names[0])))
    shown = _few_points(sw)
    nets = sw.kept("networks") if want("survival") else None
    if nets is not None:
        out.append(("survival", "Network survival per point.", F.survival_by_point(nets, sw.horizon(), shown)))
    daily = sw.kept("daily") if want("timeseries") else None
    if daily is not None:
        for col in ([metric] if metric in (daily.columns if metric else []) else ["networks", "servers_up"]):
            out.append((f"timeseries_{col}", f"Daily {col} across replicates.", F.timeseries(daily, col, shown)))
    sbc = sw.kept("servers_by_country") if want("displacement") else None
    if sbc is not None:
        for p in list(shown)[:1] + list(shown)[-1:] if len(shown) > 1 else list(shown):
            out.append((f"displacement_{p}", f"Servers by host country, {shown[p]} (havens hatched).",
                        F.displacement(sbc, p, shown[p], _havens(sw, p))))
    if kind is not None and not out:
        raise ReportError(f"{sw.folder}: no {kind} figure applies to this sweep "
                          f"(design {design}, factors {', '.join(sw.factors) or 'none'}, kept {sw.manifest.get('keep')})")
    return out


def _few_points(sw: Sweep, most: int = 8) -> dict[int, str]:
    """At most ``most`` design points for per-point curves: all, or evenly spread ones."""
    points = sorted(sw.names)
    if len(points) > most:
        points = [points[int(i)] for i in np.linspace(0, len(points) - 1, most)]
    return {p: sw.names[p] for p in points}


def _havens(sw: Sweep, point: int) -> list[str]:
    """The havens (law' below the threshold) of one design point, as recorded when the sweep started."""
    path = sw.folder / "havens.json"
    if not path.exists():
        return []
    doc = json.loads(path.read_text())
    return doc["points"].get(str(point), doc["base"])


def run_figures(folder: Path) -> list[tuple[str, str, Figure]]:
    """The figures of a single run folder."""
    result = RunResult.read(folder)
    captions = {"networks": "Live networks and servers over time.", "cases": "Investigations and the MLA backlog.",
                "servers_by_country": "Servers by host country (havens hatched).",
                "survival": "Network survival (Kaplan–Meier)."}
    return [(name, captions[name], make(result)) for name, make in plots.RUN_FIGURES.items()]


def is_run_folder(folder: Path) -> bool:
    """A folder written by ``piracysim run`` (a sweep folder has a manifest; it may keep daily tables too)."""
    return (folder / "meta.json").exists() and not (folder / "manifest.json").exists()


# ---------------------------------------------------------------------------------------------- plot and report


def plot(folder: Path, kind: str, out: Path | None = None, metric: str | None = None, x: str | None = None,
         y: str | None = None, svg: bool = True) -> list[Path]:
    """Write the figures of one kind for a run or sweep folder; returns the files written."""
    if not folder.is_dir():
        raise ReportError(f"{folder}: not a folder")
    if kind == "run" or is_run_folder(folder):
        if kind not in ("run", "survival"):
            raise ReportError(f"{folder}: a run folder has the figures of --kind run (and survival)")
        figs = [f for f in run_figures(folder) if kind == "run" or f[0] == "survival"]
    else:
        sw = Sweep.load(folder)
        for name, value in (("--metric", metric), ("--x", x), ("--y", y)):
            pool = sw.metrics if name == "--metric" else sw.factors
            if value is not None and value not in pool:
                raise ReportError(f"{folder}: {name} {value}: not one of {', '.join(pool)}")
        figs = sweep_figures(sw, kind, metric, x, y)
    target = out or folder / "figures"
    paths: list[Path] = []
    for stem, _, fig in figs:
        paths += plots.save(fig, target / f"{stem}.png", svg)
    return paths


def _img(fig: Figure, path: Path) -> str:
    files = plots.save(fig, path, svg=True)
    data = base64.b64encode(files[0].read_bytes()).decode()
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(path.stem)}">'


def _table(df: pd.DataFrame, digits: int = 3) -> str:
    return df.to_html(index=False, float_format=lambda v: F.fmt_num(v, digits), border=0, classes="tbl", na_rep="–")


def _summary_table(sw: Sweep) -> pd.DataFrame:
    s = sw.summary()
    out = s[["point", *sw.factors]].copy()
    for m in sw.metrics:
        out[m] = [f"{F.fmt_num(v)} [{F.fmt_num(lo)}, {F.fmt_num(hi)}]" if np.isfinite(lo) else F.fmt_num(v)
                  for v, lo, hi in zip(s[m], s[f"{m}_ci_low"], s[f"{m}_ci_high"])]
    out.insert(1, "runs", s[f"{sw.metrics[0]}_n"] if sw.metrics else 0)
    return out


CSS = """body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}h1{margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;
margin-top:2em}img{max-width:100%;border:1px solid #eee;margin:.5em 0}.tbl{border-collapse:collapse;font-size:.85em}
.tbl td,.tbl th{padding:.25em .6em;border-bottom:1px solid #eee;text-align:right}.tbl th{background:#f6f6f6}
pre{background:#f8f8f8;padding:1em;overflow:auto;font-size:.8em}figcaption{color:#555;font-size:.9em}
.meta{color:#555}"""


def report(folder: Path) -> Path:
    """Write ``report.html`` for a run folder or a finished sweep folder; returns its path."""
    if not folder.is_dir():
        raise ReportError(f"{folder}: not a folder")
    figs_dir = folder / "figures"
    parts: list[str] = []
    if is_run_folder(folder):
        summ = json.loads((folder / "summary.json").read_text()) if (folder / "summary.json").exists() else {}
        title = f"Run report: {summ.get('scenario', folder.name)}"
        parts.append(f"<p class=meta>seed {summ.get('seed')} · {summ.get('engine')} engine · "
                     f"{summ.get('horizon_days')} days · scenario digest {str(summ.get('scenario_digest'))[:16]}…</p>")
        parts.append("<h2>Metrics</h2>" + _table(pd.DataFrame([summ.get("metrics", {})])))
        parts.append("<h2>Figures</h2>")
        for stem, caption, fig in run_figures(folder):
            parts.append(f"<figure>{_img(fig, figs_dir / f'{stem}.png')}<figcaption>{html.escape(caption)}</figcaption></figure>")
        details = summ
    else:
        sw = Sweep.load(folder)
        man = sw.manifest
        title = f"Sweep report: {man['experiment']} [{man['size']}]"
        failed = int((sw.runs["status"] != "ok").sum())
        parts.append(f"<p class=meta>{len(sw.runs)} runs ({len(sw.names)} design points × {man['design']['replicates']} "
                     f"replicates, {man['design']['type']} design) · {failed} failed · {man['engine']} engine · "
                     f"{html.escape(str(man['executor']))} · root seed {man['seeds']['root']}"
                     f"{' (common random numbers)' if man['seeds']['common_random_numbers'] else ''} · "
                     f"runs content sha256 {man.get('runs_content_sha256', '')[:16]}…</p>")
        parts.append("<h2>Results by design point</h2><p>Mean [95% interval] over replicates.</p>" + _table(_summary_table(sw)))
        if (SCENARIO_FACTOR in sw.factors or man["design"]["type"] == "table") and \
                sw.runs.groupby("replicate")["seed"].nunique().max() == 1:  # paired only on common seeds
            eff = summary.paired_differences(sw.runs, 0, sw.metrics, sw.factors)
            eff.insert(1, "name", [sw.names[p] for p in eff["point"]])
            parts.append(f"<h2>Effects against {html.escape(sw.names[0])}</h2><p>Paired by replicate (common seeds): "
                         "mean difference with its 95% interval, and relative to the reference mean.</p>"
                         + _table(eff.drop(columns=[c for c in sw.factors if c in eff.columns])))
        if man["design"]["type"] == "saltelli":
            for m in sw.metrics:
                idx = sensitivity.indices_from_sweep(sw.runs, sw.numeric_factors, m)
                parts.append(f"<h2>Sobol indices: {html.escape(F.label(m))}</h2>" + _table(idx))
        parts.append("<h2>Figures</h2>")
        for stem, caption, fig in sweep_figures(sw):
            parts.append(f"<figure>{_img(fig, figs_dir / f'{stem}.png')}<figcaption>{html.escape(caption)}</figcaption></figure>")
        details = man
    scenario = folder / "scenario.yaml"
    if scenario.exists():
        parts.append("<h2>Scenario</h2><pre>" + html.escape(scenario.read_text()) + "</pre>")
    parts.append("<h2>Manifest</h2><pre>" + html.escape(json.dumps(details, indent=2, default=str)) + "</pre>")
    doc = (f"<!doctype html><html lang=en><meta charset=utf-8><title>{html.escape(title)}</title><style>{CSS}</style>"
           f"<h1>{html.escape(title)}</h1>" + "\n".join(parts) + "</html>\n")
    path = folder / "report.html"
    path.write_text(doc, encoding="utf-8")
    return path

