"""``report.md`` + self-contained ``report.html`` + figures + ``summary.csv`` of a study."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from markdown_it import MarkdownIt

from pulsetrain.devices.builtin import resolve_device
from pulsetrain.energy.costs import format_joules
from pulsetrain.energy.spec import spec_kind
from pulsetrain.report import study_figures as sf
from pulsetrain.report.population import FIGURE_STEM, population_section
from pulsetrain.study.analysis import (
    CHANCE,
    LEFT_CHANCE,
    load_study,
    run_label,
    summarise_runs,
    summarise_study,
)
from pulsetrain.study.config import StudyConfig
from pulsetrain.study.stats import CI_METHOD, TEST_METHOD
from pulsetrain.study.verdict import (
    ENERGY_PARTS,
    PARETO_RTOL,
    Comparison,
    Verdict,
    study_verdict,
)
from pulsetrain.training.datasets import DATASETS
from pulsetrain.training.registry import algorithm

WORKS = 0.5
"""Final test accuracy from which an algorithm "works" (below it, it fails; 10 classes:
chance is 0.1) — the recipe-sensitivity table flags a pulse width and algorithm whose
verdict differs between recipes."""


def recipe_sensitivity(runs: pd.DataFrame) -> list[str]:
    """Markdown: per pulse width × algorithm, final accuracy and energy under each recipe
    side by side (mean over seeds), with the cases where the conclusion flips flagged."""
    recipes = sorted(runs.recipe.dropna().unique())
    if len(recipes) < 2:
        return []
    grouped = runs.groupby(["pulse_width", "algorithm", "recipe"], sort=False)
    acc = grouped.final_test_acc.mean()
    energy = grouped.total_energy_j.mean()
    head = " | ".join(f"acc {r} (%) | energy {r} (J)" for r in recipes)
    lines = ["## Recipe sensitivity", "",
             "The same grid under each device-model recipe (docs/recipes.md). A flip: the "
             f"algorithm works (final test accuracy ≥ {100 * WORKS:.0f} %) under one recipe "
             "and fails under another.", "",
             f"| pulse width | algorithm | {head} | conclusion |",
             "|---|---|" + "---|---|" * len(recipes) + "---|"]
    order = runs.sort_values(["pulse_width_s", "algorithm"])[["pulse_width", "algorithm"]]
    flips = 0
    for pw, algo in order.drop_duplicates().itertuples(index=False):
        values = [(acc.get((pw, algo, r)), energy.get((pw, algo, r))) for r in recipes]
        cells = " | ".join(f"{_fmt(a, 'pct')} | {_fmt(e, 'e')}" for a, e in values)
        accs = [a for a, _ in values if a is not None and not pd.isna(a)]
        flip = len(accs) > 1 and max(accs) >= WORKS > min(accs)
        flips += flip
        lines.append(f"| {pw} | {algo} | {cells} | {'FLIPS' if flip else 'same'} |")
    lines += ["", f"{flips} of {len(order.drop_duplicates())} conclusions flip with the "
              "recipe.", ""]
    return lines


def energy_text(joules: object) -> str:
    """``1.24 J``, ``39.1 mJ``, ``5.2 µJ``: an energy with a readable unit."""
    if joules is None or joules is pd.NA:
        return "–"
    return format_joules(float(joules))  # type: ignore[arg-type]


def _pair_name(pairs: pd.DataFrame, i: int, recipes: int) -> str:
    row = pairs.loc[i]
    name = f"{row.algorithm} at {row.pulse_width}"
    return name + (f" ({row.recipe} recipe)" if recipes > 1 else "")


def _ci(r: Any, stem: str, kind: str) -> str:
    """`` (95 % CI a–b)`` of a pair's ``{stem}_ci_low/high``; empty below two seeds."""
    low, high = r.get(f"{stem}_ci_low"), r.get(f"{stem}_ci_high")
    if low is None or pd.isna(low):
        return ""
    if kind == "e":
        return f" (95 % CI {energy_text(low)}–{energy_text(high)})"
    return f" (95 % CI {_fmt(low, kind)}–{_fmt(high, kind)})"


def _rivals_text(rivals: list[Comparison], name: object, what: str) -> tuple[str, bool]:
    """The significance of one winner against the others, and whether it holds."""
    if not rivals:
        return "", True
    close = [c for c in rivals if not c.significant]
    beaten = len(rivals) - len(close)
    if all(pd.isna(c.p_value) for c in rivals):
        return (f" One seed per pair: no test possible, so this {what} is not established "
                "over the others.", False)
    text = f" It beats {beaten} of {len(rivals)} other pairs significantly"
    if not close:
        return text + ".", True
    def one(c: Comparison) -> str:
        need = "" if c.seeds_needed is None else f", ~{c.seeds_needed} seeds per pair needed"
        p = "no test" if pd.isna(c.p_value) else f"p = {c.p_value:.2g}"
        return f"{name(c.other)} ({p}{need})"  # type: ignore[operator]
    shown = ", ".join(one(c) for c in close[:3]) + (f" and {len(close) - 3} more"
                                                    if len(close) > 3 else "")
    return (text + f"; not distinguishable with these seeds from {shown} at the observed "
            "spread.", False)


def verdict_section(v: Verdict, target: float,
                    assumptions: dict[str, str] | None = None) -> list[str]:
    """Markdown: the verdict paragraph and the table of Pareto-optimal pairs.

    ``assumptions``: per energy part column (:data:`ENERGY_PARTS`), the assumption behind
    it in words, quoted when that part dominates a total."""
    pairs = v.pairs
    if pairs.empty:
        return ["## Verdict", "", "No analog run has finished yet.", ""]
    recipes = pairs.recipe.nunique()

    def name(i: int | None) -> str:
        return "–" if i is None else _pair_name(pairs, i, recipes)

    lines = ["## Verdict", ""]
    sentences = []
    if not v.converged:
        best = float(pairs.final_test_acc.max())
        sentences.append(
            f"**Nothing converged**: no run reached {100 * target:.0f} % validation accuracy "
            f"(the bar for naming winners; best mean final test accuracy "
            f"{_fmt(best, 'pct')} %). No pair reached {100 * target:.0f} % validation "
            "accuracy in every run. To change: train longer (more epochs), on more images "
            "(no train_subset), with tuned learning rates, or set a lower "
            "target_accuracy.")
    if v.converged and v.best_accuracy is not None:
        b = pairs.loc[v.best_accuracy]
        text, _ = _rivals_text(v.accuracy_rivals, name, "winner")
        sentences.append(f"Best final accuracy: **{name(v.best_accuracy)}**, "
                         f"{_fmt(b.final_test_acc, 'pct')} %{_ci(b, 'acc', 'pct')} for "
                         f"{energy_text(b.total_energy_j)}." + text)
    if v.converged and v.lowest_energy_to_target is not None:
        b = pairs.loc[v.lowest_energy_to_target]
        text, _ = _rivals_text(v.energy_rivals, name, "winner")
        sentences.append(f"Lowest energy to {100 * target:.0f} % validation accuracy: "
                         f"**{name(v.lowest_energy_to_target)}**, "
                         f"{energy_text(b.energy_to_target_j)}"
                         f"{_ci(b, 'energy_to_target', 'e')} (epoch "
                         f"{_fmt(b.epochs_to_target)})." + text)
    elif v.converged:
        sentences.append(f"No pair reached {100 * target:.0f} % validation accuracy in every "
                         "run.")
    if v.converged and v.best_accuracy_per_joule is not None:
        b = pairs.loc[v.best_accuracy_per_joule]
        sentences.append(f"Most accuracy per joule (by means): "
                         f"**{name(v.best_accuracy_per_joule)}** "
                         f"({energy_text(b.energy_per_point_j)} per point above chance).")
    if v.at_chance:
        sentences.append("Never left chance accuracy (best validation accuracy below "
                         f"{100 * LEFT_CHANCE:.0f} %, chance {100 * CHANCE:.0f} %): "
                         + ", ".join(name(i) for i in v.at_chance) + ".")
    if v.unstable:
        sentences.append("Unstable (seeds split between training and collapse to chance): "
                         + ", ".join(f"{name(i)} ({pairs.seeds_left[i]} of "
                                     f"{pairs.seeds[i]} seeds trained)"
                                     for i in v.unstable) + ".")
    by_part: dict[str, list[tuple[int, float]]] = {}
    for i, col, share in v.dominant:
        by_part.setdefault(col, []).append((i, share))
    for col, items in by_part.items():
        low = min(share for _, share in items)
        note = (assumptions or {}).get(col)
        sentences.append(
            f"{ENERGY_PARTS[col].capitalize()} make at least {100 * low:.1f} % of the total "
            f"energy of {', '.join(name(i) for i, _ in items)}: their totals measure that "
            "part, not the device" + (f" (assumption: {note})" if note else "") + ".")
    lines += [" ".join(sentences), "",
              "Energies are every cost of a run: programming pulses + symmetry-point "
              "estimation + digital operations + array reads (docs/energy.md). "
              f"Comparisons: {TEST_METHOD}. Pareto-optimal pairs (no other pair is both "
              f"cheaper and at least as accurate; totals within {100 * PARETO_RTOL:.0f} % "
              "count as equal):", "",
              "| pulse width | algorithm |" + (" recipe |" if recipes > 1 else "")
              + " test acc (%) | total energy | programming | SP estimation | digital | "
              "reads | energy to target | per point above chance | seeds left chance |",
              "|---|---|" + ("---|" if recipes > 1 else "") + "---|" * 9]
    for i in v.pareto:
        r = pairs.loc[i]
        lines.append(
            f"| {r.pulse_width} | {r.algorithm} |" + (f" {r.recipe} |" if recipes > 1 else "")
            + f" {_fmt(r.final_test_acc, 'pct')}{_ci(r, 'acc', 'pct')} | "
            f"{energy_text(r.total_energy_j)}{_ci(r, 'total_energy', 'e')} | "
            f"{energy_text(r.programming_energy_j)} | {energy_text(r.sp_estimation_energy_j)} | "
            f"{energy_text(r.digital_energy_j)} | {energy_text(r.read_energy_j)} | "
            f"{energy_text(r.energy_to_target_j)}{_ci(r, 'energy_to_target', 'e')} | "
            f"{energy_text(r.energy_per_point_j)} | {r.seeds_left} of {r.seeds} |")
    return [*lines, ""]


def confidence_section(v: Verdict, runs: pd.DataFrame) -> list[str]:
    """Markdown: how sure the report is — seeds per pair, the interval method and test,
    the learning rates used, and which verdict lines could change with more seeds."""
    if v.pairs.empty:
        return []
    seeds = sorted({int(n) for n in v.pairs.seeds})
    lrs = runs.dropna(subset=["lr"]).groupby("algorithm").lr.first()
    fragile = []
    if v.converged:
        if not _rivals_text(v.accuracy_rivals, str, "")[1]:
            fragile.append("best final accuracy")
        if not _rivals_text(v.energy_rivals, str, "")[1]:
            fragile.append("lowest energy to the target")
    return ["## How sure this report is", "",
            f"Seeds per pair: {', '.join(map(str, seeds))}. Intervals: {CI_METHOD}. "
            f"Comparisons: {TEST_METHOD}. Hyperparameters: the learning rates of the study "
            "config, not tuned (each algorithm's default where an entry gives none): "
            + ", ".join(f"{a} {lr:g}" for a, lr in lrs.items()) + ". "
            + ("Verdict lines that could change with more seeds (not significant): "
               + ", ".join(fragile) + "." if fragile else
               "Every named winner is significant at these seeds." if v.converged else
               "No winner is named (nothing converged)."), ""]


@dataclass
class StudyReport:
    """Files written by :func:`write_study_report`."""

    markdown: Path
    html: Path
    summary_csv: Path
    runs_csv: Path
    figures: list[Path] = field(default_factory=list)


def _fmt(x: object, kind: str = "g") -> str:
    if x is None or x is pd.NA or (isinstance(x, float) and pd.isna(x)):
        return "–"
    if kind == "pct":
        return f"{100 * float(x):.1f}"  # type: ignore[arg-type]
    if kind == "e":
        return f"{float(x):.3g}"  # type: ignore[arg-type]
    return f"{x:.3g}" if isinstance(x, float) else str(x)


def _table(summary: pd.DataFrame) -> list[str]:
    lines = ["| algorithm | device | pulse width | test acc (%) | epochs to target | "
             "epochs to 99 % final | pulses | total energy | energy to target | "
             "J per point | rank | seeds | c2c noise | d2d variation |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in summary.iterrows():
        acc = _fmt(r.final_test_acc_mean, "pct")
        if r.seeds > 1:
            acc += f" ± {_fmt(r.final_test_acc_std, 'pct')}"
        if r.at_chance == r.seeds:
            acc += " (chance)"
        lines.append(
            f"| {r.algorithm} | {r.device} | {r.pulse_width} | {acc} | "
            f"{_fmt(r.epochs_to_target_mean)} | {_fmt(r.epochs_to_99pct_final_mean)} | "
            f"{_fmt(r.total_pulses_mean, 'e')} | {energy_text(r.total_energy_j_mean)} | "
            f"{energy_text(r.energy_to_target_j_mean)} | "
            f"{energy_text(r.energy_per_point_j_mean)} | {_fmt(r.rank_accuracy_per_joule)} | "
            f"{int(r.seeds)} | {_fmt(r.c2c_noise)} | {_fmt(r.device_variation)} |")
    return lines


def noise_lines(cfg: StudyConfig) -> list[str]:
    """The report's statement of the noise its analog runs used (one line per distinct
    setup), and a warning line where runs ignore their devices' measured noise."""
    setups: dict[str, None] = {}
    ignored: dict[str, float] = {}
    for run in cfg.runs():
        if not algorithm(run.algorithm).analog:
            continue
        device = resolve_device(run.device)
        noise = run.noise(device)
        setups[f"c2c noise {noise.c2c_noise:.3g} ({noise.source}), d2d variation "
               f"{noise.variation_text}"] = None
        if noise.ignores_estimate and noise.estimate is not None:
            ignored[device.name] = noise.estimate
    if not setups:
        return []
    lines = [f"Noise: {'; '.join(setups)} (c2c: relative step noise per pulse; d2d: "
             "relative stds drawn once per tile).", ""]
    if ignored:
        lo, hi = min(ignored.values()), max(ignored.values())
        span = f"{lo:.3g}" if lo == hi else f"{lo:.3g}–{hi:.3g}"
        lines += [f"**Warning:** {len(ignored)} device(s) carry a measured c2c noise "
                  f"estimate ({span}) that these runs ignore: they train noise-free; set "
                  "`c2c_noise: measured` in the study's options to use it.", ""]
    return lines


def write_study_report(directory: str | Path) -> StudyReport:
    """Analyse the runs in ``directory`` and write the report files there."""
    directory = Path(directory)
    cfg, store = load_study(directory)
    runs = summarise_runs(store, cfg)
    summary = summarise_study(runs)
    devices = cfg.device_names()
    fig_dir = directory / "figures"
    figures: list[Path] = []
    curves: dict[tuple[str, str], list[dict[str, object]]] = {}
    checkpoints: dict[tuple[str, str], Path] = {}
    for run in cfg.runs():
        if run.seed != cfg.seeds[0] or store.run_status(run.key()) is None:
            continue
        curves[(run_label(cfg, run), run.device_label)] = store.epochs(run.key())
        ck = directory / "checkpoints" / f"{run.key()}.pt"
        if ck.is_file():
            checkpoints[(run_label(cfg, run), run.device_label)] = ck
    figures += sf.save(sf.device_panel(devices), fig_dir, "devices")
    figures += sf.save(sf.accuracy_curves(curves, devices), fig_dir, "accuracy")
    if not runs.empty:
        figures += sf.save(sf.energy_per_pulse(runs), fig_dir, "energy-per-pulse")
        figures += sf.save(sf.energy_tradeoff(summary), fig_dir, "energy-tradeoff")
        figures += sf.save(sf.energy_accuracy_scatter(runs), fig_dir, "energy-vs-accuracy")
        breakdown = sf.energy_breakdown(runs)
        if breakdown is not None:
            figures += sf.save(breakdown, fig_dir, "energy-breakdown")
    figures += sf.save(sf.weight_histograms(checkpoints, devices), fig_dir, "weights")
    pop_lines, pop_fig = population_section(runs, [resolve_device(d) for d in devices])
    if pop_fig is not None:
        figures += sf.save(pop_fig, fig_dir, FIGURE_STEM)
    runs_csv, summary_csv = directory / "runs.csv", directory / "summary.csv"
    runs.to_csv(runs_csv, index=False)
    summary.to_csv(summary_csv, index=False)
    n_total = len(cfg.runs())
    intro = [
        f"# {cfg.name}: accuracy, convergence and energy",
        "",
        f"{len(runs)} of {n_total} runs finished. Dataset: {DATASETS[cfg.dataset].title}. "
        f"Devices: {', '.join(devices)}. "
        f"{cfg.epochs} epochs, batch {cfg.batch_size}, seeds {cfg.seeds}, target validation "
        f"accuracy {100 * cfg.target_accuracy:.0f} %. Energy model: {spec_kind(cfg.energy_model)}"
        + (" (an upper bound: Schottky emission through the full area for the whole pulse)"
           if spec_kind(cfg.energy_model) == "schottky" else "") + ".",
        "",
    ]
    intro += noise_lines(cfg)
    if cfg.train_subset:
        intro += [f"Quick study: {cfg.train_subset} training images, {cfg.val_size} validation,"
                  f" {cfg.test_subset or 10000} test.", ""]
    sections = [
        ("Devices", "devices", "Response curves (solid up, dashed down) and metrics vs pulse "
         "width."),
        ("Accuracy per epoch", "accuracy", "One panel per algorithm, one line per device."),
        ("Energy per pulse", "energy-per-pulse", "Energy of one programming pulse."),
        ("Energy and convergence vs pulse width", "energy-tradeoff",
         "Total training energy, energy to reach the target and epochs to reach it "
         "(mean ± std over seeds; runs that never reach the target are left out)."),
        ("Energy vs accuracy", "energy-vs-accuracy", "Each run; dashed staircase and "
         "ringed points: the Pareto front."),
        ("Energy by part", "energy-breakdown", "Each run's energy split into programming "
         "pulses, symmetry-point estimation, digital operations and array reads (mean over "
         "seeds)."),
        ("Weights after training", "weights", "Device states of the last layer without and "
         "with SP shifting; without it the weights collect at the device's SP."),
    ]
    verdict = study_verdict(runs)
    assumptions = {"digital_energy_j": f"{energy_text(cfg.digital_energy_per_op_j)} per "
                   "digital multiply-add, digital_energy_per_op_j",
                   "programming_energy_j": f"the {cfg.energy_model} energy model per pulse"}
    md = [*intro, *confidence_section(verdict, runs),
          *verdict_section(verdict, cfg.target_accuracy, assumptions),
          "## Summary", "",
          "Mean over seeds. Total energy: every cost (see the verdict); J per point: total "
          "energy per percentage point of test accuracy above chance; rank: by J per point "
          "(1 = most accuracy per joule); (chance): every run stayed at chance.", "",
          *_table(summary), ""]
    if not runs.empty:
        md += recipe_sensitivity(runs)
    md += pop_lines
    for title, stem, caption in sections:
        if (fig_dir / f"{stem}.png").is_file():
            md += [f"## {title}", "", caption, "", f"![{title}](figures/{stem}.png)", ""]
    md_path = directory / "report.md"
    md_path.write_text("\n".join(md) + "\n", encoding="utf-8")
    html_path = directory / "report.html"
    html_path.write_text(_html(md, fig_dir), encoding="utf-8")
    return StudyReport(md_path, html_path, summary_csv, runs_csv, figures)


def _html(md: list[str], fig_dir: Path) -> str:
    """Markdown → self-contained HTML with markdown-it-py (CommonMark + tables; figures
    inlined as base64)."""

    def inline(match: re.Match[str]) -> str:
        data = base64.b64encode((fig_dir / match.group(1)).read_bytes()).decode()
        return f'src="data:image/png;base64,{data}"'

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render("\n".join(md))
    body = re.sub(r'src="figures/([^"/]+\.png)"', inline, body)
    body = body.replace("<table>", "<div class='scroll'><table>") \
        .replace("</table>", "</table></div>")
    style = ("body{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em}"
             "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;"
             "padding:3px 6px}img{max-width:100%}.scroll{overflow-x:auto}")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>pulsetrain report"
            f"</title><style>{style}</style></head><body>" + body + "</body></html>\n")
