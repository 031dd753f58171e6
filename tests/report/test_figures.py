"""Study and device figures: checked on the matplotlib Figure objects, with small inputs
built here (no training)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Annotation, Text

from pulsetrain.devices import builtin_device, fit_device, save_device
from pulsetrain.devices.fit import DeviceFit
from pulsetrain.devices.metrics import RunMetrics
from pulsetrain.measurements import scan_folder
from pulsetrain.report import device_figures as dfig
from pulsetrain.report import study_figures as sf
from tests.conftest import soft_bounds_trace

A, B, MID = "ID161ZR15000-20ns-a", "ID161ZR15000-20ns-b", "ID161ZR15000-200us"


# ---------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def _renderer(fig: Figure) -> object:
    fig.canvas.draw()
    return fig.canvas.get_renderer()  # type: ignore[attr-defined]


def _legend_texts(ax: Axes) -> list[str]:
    legend = ax.get_legend()
    return [] if legend is None else [t.get_text() for t in legend.get_texts()]


def _assert_legends_outside(fig: Figure) -> None:
    """Every legend (axes' and figure's) lies clear of every axes' data area."""
    renderer = _renderer(fig)
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    legends += list(fig.legends)
    assert legends
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in fig.axes:
            assert not box.overlaps(ax.get_window_extent(renderer)), legend


def _assert_no_join_at_one_width(ax: Axes) -> None:
    """No drawn line segment joins two points at the same x (pulse width)."""
    for line in ax.get_lines():
        if line.get_linestyle() in ("None", "none", "", " "):
            continue
        x = np.asarray(line.get_xdata(), dtype=float)
        assert not (np.diff(x) == 0).any(), (line.get_label(), x)


def _marker_xs(ax: Axes) -> list[float]:
    """x of every marker-only point of the axes."""
    return [float(x) for line in ax.get_lines() if line.get_linestyle() in ("None", "none")
            for x in line.get_xdata()]


def _assert_titles_inside(fig: Figure) -> None:
    renderer = _renderer(fig)
    page = fig.bbox
    titles = [ax.title for ax in fig.axes if ax.title.get_text()]
    suptitle = fig.get_suptitle()
    titles += [t for t in fig.findobj(Text) if suptitle and t.get_text() == suptitle]
    assert titles
    for title in titles:
        box = title.get_window_extent(renderer)
        assert page.x0 <= box.x0 and box.x1 <= page.x1 + 0.5, title.get_text()
        assert page.y0 <= box.y0 and box.y1 <= page.y1 + 0.5, title.get_text()


def _runs(points: list[tuple[str, str, float, float, float]], **extra: object
          ) -> pd.DataFrame:
    """Runs table from (device, algorithm, pulse width s, energy J, accuracy)."""
    label = {A: "20ns-a", B: "20ns-b", MID: "200us", "ID161ZR15000-200ns": "200ns",
             "ID161ZR15000-2us": "2us", "ID161ZR15000-2ms": "2ms"}
    rows = [{"device": d, "algorithm": algo, "pulse_width_s": pw, "pulse_width": label[d],
             "seed": 0, "recipe": "measured", "total_energy_j": e, "final_test_acc": acc,
             "energy_per_pulse_up_j": 1e-11 * pw / 2e-8, "energy_per_pulse_down_j":
             3e-11 * pw / 2e-8} for d, algo, pw, e, acc in points]
    return pd.DataFrame(rows).assign(**extra)


CLOSE = [(A, "sgd", 2e-8, 1.00e-4, 0.900), (B, "sgd", 2e-8, 1.02e-4, 0.901),
         ("ID161ZR15000-200ns", "sgd", 2e-7, 1.04e-4, 0.899),
         ("ID161ZR15000-2us", "sgd", 2e-6, 0.98e-4, 0.902),
         (A, "mixed-precision", 2e-8, 1.01e-4, 0.903),
         (B, "mixed-precision", 2e-8, 0.99e-4, 0.898)]
"""Six runs within 5 % in energy and 0.5 points in accuracy: labels must make room."""


def _summary() -> pd.DataFrame:
    """energy_tradeoff input: sgd never reaches the target; two devices at 20 ns."""
    rows = []
    for algo, scale, epochs in (("sgd", 1.0, None), ("mixed-precision", 0.3, 2.0)):
        for dev, pw in ((A, 2e-8), (B, 2e-8), (MID, 2e-4)):
            e = scale * pw * 1e3
            rows.append({"algorithm": algo, "device": dev, "pulse_width_s": pw,
                         "recipe": "measured", "total_energy_j_mean": e,
                         "total_energy_j_std": 0.1 * e,
                         "energy_to_target_j_mean": None if epochs is None else e / 2,
                         "energy_to_target_j_std": None,
                         "epochs_to_target_mean": epochs if epochs is None or dev != MID
                         else 3.0, "epochs_to_target_std": None})
    return pd.DataFrame(rows)


def _metrics(device: str, run: str, pw: float, k: float) -> RunMetrics:
    return RunMetrics(device_id=device, run=run, pulse_width_s=pw, gmax_gmin=2 + k,
                      on_off=3 + k, n_up=40, n_down=38, dw_min=0.02 * (1 + k), asymmetry=1.5,
                      nl_ltp=0.3, nl_ltd=-0.2, r2_ltp=0.99, r2_ltd=0.98,
                      symmetry_point=0.2 + 0.1 * k, symmetry_point_sim=0.21,
                      sp_pulses=200, symmetry_point_recipe=0.25, c2c_noise=0.05,
                      g_min_s=1e-7, g_max_s=3e-7)


METRICS = [_metrics("DEV1", "r1", 2e-8, 0.0), _metrics("DEV1", "r2", 2e-8, 0.5),
           _metrics("DEV1", "r3", 2e-6, 1.0), _metrics("DEV2", "r4", 2e-6, 1.5),
           _metrics("DEV2", "r5", 2e-4, 2.0)]


def _fit(tmp_path: Path, siemens: float, name: str | None = None) -> DeviceFit:
    """A soft-bounds run whose conductance spans about 0.2–2 × ``siemens``."""
    amps, w = soft_bounds_trace(80, 0.06, 0.03)
    pd.DataFrame({"pulse_index": np.arange(w.size), "amplitude_v": amps,
                  "pulse_width_s": 2e-8, "conductance_s": siemens * (1.2 + w),
                  "device_id": "SYN", "run": "r1"}).to_csv(tmp_path / "syn.csv", index=False)
    pd.DataFrame({"device_id": ["SYN"], "run": ["r1"], "VStartPos": [0.0],
                  "VEndPos": [99.0], "VStartNeg": [0.0], "VEndNeg": [-99.0]}).to_csv(
        tmp_path / "cutoffs.csv", index=False)
    (run,) = scan_folder(tmp_path).runs
    return fit_device(run, name=name)


def _user_device(tmp_path: Path) -> str:
    """A device file under a path-like folder, named unlike its path."""
    folder = tmp_path / "fit" / "ID161" / "devices"
    folder.mkdir(parents=True)
    dev = builtin_device(MID).with_options(name="mine")
    return str(save_device(dev, folder / "ID161ZR15000-200us.json"))


def _checkpoint(path: Path, acc: float) -> Path:
    w = torch.linspace(-0.5, 0.9, 50).reshape(5, 10)
    torch.save({"tiles": [{"w": w, "ref": torch.full_like(w, 0.3)}],
                "history": [{"epoch": 1, "test_acc": acc}]}, path)
    return path


# ---------------------------------------------------------------- 1. scatter labels


def test_scatter_labels_are_pulse_width_names_and_do_not_overlap() -> None:
    fig = sf.energy_accuracy_scatter(_runs(CLOSE))
    ax = fig.axes[0]
    anns = [c for c in ax.texts if isinstance(c, Annotation)]
    texts = sorted(a.get_text() for a in anns)
    # one label per run (one seed), 20ns-a and 20ns-b told apart, per algorithm
    assert texts == sorted(["20ns-a", "20ns-b", "200ns", "2us", "20ns-a", "20ns-b"])
    for dpi in (100, 110):  # the report saves at 110 dpi: still apart there
        fig.set_dpi(dpi)
        renderer = _renderer(fig)
        boxes = [a.get_window_extent(renderer) for a in anns]
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                assert not boxes[i].overlaps(boxes[j]), (texts, dpi)
        frame = ax.get_window_extent(renderer)
        assert all(frame.contains(b.x0, b.y0) and frame.contains(b.x1, b.y1)
                   for b in boxes)


def test_run_labels_add_recipe_and_device_when_widths_collide(tmp_path: Path) -> None:
    mine = _user_device(tmp_path)
    runs = pd.DataFrame({"device": [MID, mine, MID], "pulse_width": ["200us"] * 3,
                         "pulse_width_s": [2e-4] * 3, "algorithm": ["sgd"] * 3,
                         "recipe": ["measured", "measured", "thesis"]})
    labels = sf.run_labels(runs).tolist()
    assert labels[2] == "200us [thesis]"
    assert labels[1] == "200us [measured] mine" and labels[0].endswith(MID)
    assert len(set(labels)) == 3


# ---------------------------------------------------------------- 2. Pareto front


def test_pareto_front_goes_through_every_non_dominated_run_in_energy_order() -> None:
    # (energy J, accuracy): the front is 1→2→4→8 (each costs more and scores higher);
    # 3, 5 and 9 J are beaten by a cheaper run with a higher accuracy
    pts = [(8e-4, 0.90), (1e-4, 0.50), (3e-4, 0.60), (4e-4, 0.80), (2e-4, 0.70),
           (5e-4, 0.75), (9e-4, 0.85)]
    names = [A, B, MID, "ID161ZR15000-200ns", "ID161ZR15000-2us", "ID161ZR15000-2ms", A]
    algos = ["sgd"] * 6 + ["mixed-precision"]
    fig = sf.energy_accuracy_scatter(_runs([(d, a, 1e-6, e, acc) for d, a, (e, acc)
                                            in zip(names, algos, pts, strict=True)]))
    (front,) = [ln for ln in fig.axes[0].get_lines() if ln.get_label() == "Pareto front"]
    assert np.asarray(front.get_xdata()).tolist() == [1e-4, 2e-4, 4e-4, 8e-4]
    assert np.asarray(front.get_ydata()) == pytest.approx([50.0, 70.0, 80.0, 90.0])
    assert front.get_linestyle() not in ("None", "none")


# ---------------------------------------------------------------- 3. legends


def test_legends_list_only_what_the_panel_draws_and_sit_outside() -> None:
    epochs = [{"epoch": k, "test_acc": 0.3 * k} for k in (1, 2, 3)]
    curves = {("sgd", A): epochs, ("sgd", MID): epochs, ("mixed-precision", A): epochs}
    fig = sf.accuracy_curves(curves, [A, B, MID])
    sgd, mp = fig.axes
    assert _legend_texts(sgd) == [A, MID] and _legend_texts(mp) == [A]
    _assert_legends_outside(fig)

    fig = sf.energy_tradeoff(_summary())
    total, to_target, epochs_ax = fig.axes
    assert sorted(_legend_texts(total)) == ["mixed-precision", "sgd"]
    # sgd never reached the target: the panels of the target list only mixed-precision
    assert _legend_texts(to_target) == _legend_texts(epochs_ax) == ["mixed-precision"]
    _assert_legends_outside(fig)

    fig = sf.energy_accuracy_scatter(_runs(CLOSE))
    assert _legend_texts(fig.axes[0]) == ["sgd", "mixed-precision", "Pareto front"]
    _assert_legends_outside(fig)
    _assert_legends_outside(sf.energy_per_pulse(_runs(CLOSE)))
    _assert_legends_outside(sf.device_panel([A, B, MID]))


# ---------------------------------------------------------------- 4. integer epochs


def test_epoch_axes_have_integer_ticks_only() -> None:
    epochs = [{"epoch": k, "test_acc": 0.2 * k} for k in (1, 2, 3)]
    fig = sf.accuracy_curves({("sgd", A): epochs}, [A])
    fig.canvas.draw()
    ticks = [t for t in fig.axes[0].get_xticks() if 1 <= t <= 3]
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks)

    fig = sf.energy_tradeoff(_summary())  # epochs to target: 2 and 3
    fig.canvas.draw()
    ax = fig.axes[2]
    lo, hi = ax.get_ylim()
    ticks = [t for t in ax.get_yticks() if lo <= t <= hi]
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks)


# ---------------------------------------------------------------- 5. y labels with units


def test_every_device_panel_has_a_y_label_with_its_unit(tmp_path: Path) -> None:
    fit = _fit(tmp_path, 1e-7)
    figures = [sf.device_panel([A, B, MID]), dfig.summary_figure(METRICS),
               dfig.population_figure(METRICS), dfig.response_figure(fit),
               dfig.raw_figure(fit)]
    for fig in figures:
        for ax in fig.axes:
            if not ax.axison:  # the text panel listing the runs
                continue
            label = ax.get_ylabel()
            assert label and "(" in label and label.rstrip().endswith(")"), label


# ---------------------------------------------------------------- 6. no join at one width


def test_two_devices_at_one_width_are_not_joined() -> None:
    fig = sf.device_panel([A, B, MID])
    for ax in fig.axes[1:]:
        _assert_no_join_at_one_width(ax)
        assert _marker_xs(ax).count(2e-8) >= 2  # both 20 ns devices still drawn
    ax = sf.energy_per_pulse(_runs(CLOSE)).axes[0]
    _assert_no_join_at_one_width(ax)
    assert _marker_xs(ax).count(2e-8) == 4  # up and down of 20ns-a and 20ns-b
    fig = sf.energy_tradeoff(_summary())
    for ax in fig.axes:
        _assert_no_join_at_one_width(ax)
    # the line of a panel runs through one point per width: the 20 ns mean
    lines = [ln for ln in fig.axes[0].get_lines() if ln.get_linestyle() == "-"]
    assert lines and all(np.asarray(ln.get_xdata()).tolist() == [2e-8, 2e-4] for ln in lines)


# ---------------------------------------------------------------- 7. conductance unit


@pytest.mark.parametrize(("siemens", "unit"), [(1e-7, "nS"), (1e-10, "pS"), (1e-5, "µS")])
def test_conductance_axis_picks_a_readable_unit(tmp_path: Path, siemens: float,
                                                unit: str) -> None:
    ax = dfig.raw_figure(_fit(tmp_path, siemens)).axes[0]
    assert ax.get_ylabel() == f"conductance G ({unit})"
    g = np.concatenate([np.asarray(ln.get_ydata(), dtype=float) for ln in ax.get_lines()])
    assert 1 <= np.nanmax(np.abs(g)) < 1000
    lo, hi = ax.get_ylim()
    ticks = [t for t in ax.get_yticks() if lo <= t <= hi and t != 0]
    assert ticks and all(0.1 <= abs(t) <= 1000 for t in ticks)


def test_unit_scale() -> None:
    assert dfig.unit_scale([2e-8, 5e-9], "S") == (pytest.approx(1e9), "nS")
    assert dfig.unit_scale([3e-11], "S") == (pytest.approx(1e12), "pS")  # 30 pS
    assert dfig.unit_scale([5e-4, np.nan], "J") == (pytest.approx(1e6), "µJ")
    assert dfig.unit_scale([1.0], "J") == (1.0, "J")
    assert dfig.unit_scale([np.nan, 0.0], "J") == (1.0, "J")


# ---------------------------------------------------------------- 8. titles inside


def test_titles_and_suptitles_lie_inside_the_figure(tmp_path: Path) -> None:
    fit = _fit(tmp_path, 1e-7, name="ID161ZR15000-200us-20241024110755")  # a fit's name
    ck = _checkpoint(tmp_path / "a.pt", 0.8)
    epochs = [{"epoch": k, "test_acc": 0.3 * k} for k in (1, 2, 3)]
    figures = [sf.device_panel([A, B, MID]),
               sf.accuracy_curves({("sgd", A): epochs, ("sp-shift", B): epochs}, [A, B]),
               sf.energy_per_pulse(_runs(CLOSE)), sf.energy_tradeoff(_summary()),
               sf.energy_accuracy_scatter(_runs(CLOSE)),
               sf.weight_histograms({("sgd", A): ck, ("sp-shift", A): ck}, [A, B]),
               dfig.summary_figure(METRICS), dfig.population_figure(METRICS),
               dfig.response_figure(fit), dfig.raw_figure(fit)]
    for fig in figures:
        _assert_titles_inside(fig)


# ---------------------------------------------------------------- 9. accuracy range


@pytest.mark.parametrize("accs", [[0.999, 1.0, 0.9995], [0.5, 0.5, 0.5], [0.0, 0.001, 0.0]])
def test_accuracy_axis_stays_in_0_100_with_a_minimal_span(accs: list[float]) -> None:
    points = [(A, "sgd", 2e-8, 1e-4, accs[0]), (B, "sgd", 2e-8, 2e-4, accs[1]),
              (MID, "sgd", 2e-4, 3e-4, accs[2])]
    lo, hi = sf.energy_accuracy_scatter(_runs(points)).axes[0].get_ylim()
    assert 0 <= lo < hi <= 100
    assert hi - lo >= sf.MIN_ACCURACY_SPAN
    assert lo <= 100 * min(accs) and 100 * max(accs) <= hi


# ---------------------------------------------------------------- 10. missing weights


def test_weights_panel_without_a_checkpoint_says_why(tmp_path: Path) -> None:
    mine = _user_device(tmp_path)
    ck = _checkpoint(tmp_path / "a.pt", 0.8)
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    fig = sf.weight_histograms({("sgd", A): ck, ("sp-shift", A): ck, ("sgd", B): broken},
                               [A, B, mine])
    axes = np.asarray(fig.axes).reshape(3, 2)
    assert all(len(ax.patches) > 0 for ax in axes[0])  # histograms drawn for A
    said = [[" ".join(t.get_text() for t in ax.texts) for ax in row] for row in axes[1:]]
    assert said[0][0].startswith(f"no checkpoint for {B}: broken.pt unreadable")
    assert said[0][1].startswith(f"no checkpoint for {B}: no finished sp-shift run")
    assert said[1][0].startswith("no checkpoint for mine: no finished sgd run")
    assert all(not ax.patches for row in axes[1:] for ax in row)

    empty = sf.weight_histograms({}, [A])
    assert "no sgd or sp-shift checkpoint" in empty.axes[0].texts[0].get_text()


# ---------------------------------------------------------------- 11. names, not paths


def test_device_files_are_shown_by_name_not_path(tmp_path: Path) -> None:
    mine = _user_device(tmp_path)
    assert "/" in mine and Path(mine).stem != "mine"
    epochs = [{"epoch": k, "test_acc": 0.3 * k} for k in (1, 2)]
    ck = _checkpoint(tmp_path / "a.pt", 0.8)
    figures = [sf.device_panel([A, mine]),
               sf.accuracy_curves({("sgd", mine): epochs, ("sgd", A): epochs}, [A, mine]),
               sf.weight_histograms({("sgd", mine): ck}, [mine])]
    assert "mine" in _legend_texts(figures[1].axes[0])
    assert any("mine" in t for t in _legend_texts(figures[0].axes[0]))
    assert "mine" in figures[2].axes[0].get_title()
    for fig in figures:
        for text in fig.findobj(Text):
            assert str(tmp_path) not in text.get_text() and ".json" not in text.get_text()
    # a device file that cannot be read any more: its stem, still no path
    assert sf.device_label(tmp_path / "gone" / "old-device.json") == "old-device"
    runs = pd.DataFrame({"device": [mine], "pulse_width": [None], "pulse_width_s": [None],
                         "algorithm": ["sgd"]})
    assert sf.run_labels(runs).tolist() == ["mine"]


# ---------------------------------------------------------------- energy breakdown


def test_energy_breakdown_stacks_parts_per_run_in_a_scaled_unit() -> None:
    runs = pd.DataFrame({
        "device": [MID, MID, A, A], "pulse_width": ["200us", "200us", "20ns-a", "20ns-a"],
        "pulse_width_s": [2e-4, 2e-4, 2e-8, 2e-8],
        "algorithm": ["sgd", "sgd", "sgd", "sp-shift"], "seed": [0, 1, 0, 0],
        "recipe": "measured",
        "programming_energy_j": [2e-3, 4e-3, 5e-4, 1e-4],  # 200us sgd: mean 3 mJ
        "sp_estimation_energy_j": [None, None, None, 2e-4],
        "read_energy_j": [1e-3, 1e-3, 1e-4, 1e-4],
        # no digital_energy_j column at all: counts 0
    })
    fig = sf.energy_breakdown(runs)
    assert fig is not None
    ax = fig.axes[0]
    assert ax.get_xlabel() == "energy per run (mJ)" and ax.get_xscale() == "linear"
    labels = [t.get_text() for t in ax.get_yticklabels()]
    # sorted by total: 20ns-a sgd 0.6 mJ, 20ns-a sp-shift 0.4 mJ, 200us sgd 4 mJ
    assert labels == ["20ns-a · sp-shift", "20ns-a · sgd", "200us · sgd"]
    widths = {c.get_label(): [p.get_width() for p in c.patches] for c in ax.containers}
    assert widths["programming pulses"] == pytest.approx([0.1, 0.5, 3.0])
    assert widths["SP estimation"] == pytest.approx([0.2, 0.0, 0.0])
    assert widths["array reads"] == pytest.approx([0.1, 0.1, 1.0])
    assert "digital operations" not in widths  # nothing to draw, nothing in the legend
    lefts = {c.get_label(): [p.get_x() for p in c.patches] for c in ax.containers}
    assert lefts["array reads"] == pytest.approx([0.3, 0.5, 3.0])  # stacked after the others
    _assert_legends_outside(fig)

    two = sf.energy_breakdown(pd.concat([runs, runs.assign(recipe="thesis")]))
    assert two is not None
    names = [t.get_text() for t in two.axes[0].get_yticklabels()]
    assert len(names) == len(set(names)) == 6 and "200us [thesis] · sgd" in names

    assert sf.energy_breakdown(runs.drop(columns=["programming_energy_j",
                                                  "sp_estimation_energy_j",
                                                  "read_energy_j"])) is None


def test_accuracy_limits() -> None:
    assert sf.accuracy_limits([100.0, 100.0]) == (pytest.approx(95.0), 100.0)
    assert sf.accuracy_limits([0.0]) == (0.0, pytest.approx(5.0))
    lo, hi = sf.accuracy_limits([10.0, 90.0])
    assert lo == pytest.approx(6.0) and hi == pytest.approx(94.0)
    assert math.isclose(sf.accuracy_limits([])[1], 100.0)


def test_energy_breakdown_goes_logarithmic_over_a_wide_span() -> None:
    """A 3.95 mJ run beside 1.56 J ones (×395): a log axis, every bar visible."""
    runs = pd.DataFrame({
        "device": [MID, A], "pulse_width": ["200us", "20ns-a"], "pulse_width_s": [2e-4, 2e-8],
        "algorithm": ["mixed-precision", "sp-shift"], "seed": [0, 0], "recipe": "measured",
        "programming_energy_j": [0.0045, 3.95e-3], "digital_energy_j": [1.5555, 0.0]})
    fig = sf.energy_breakdown(runs)
    assert fig is not None
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "energy per run (J)"
    lo, hi = ax.get_xlim()
    assert 0 < lo < 3.95e-3 and hi > 1.56
    ends = {c.get_label(): [p.get_x() + p.get_width() for p in c.patches]
            for c in ax.containers}
    assert ends["programming pulses"] == pytest.approx([3.95e-3, 0.0045])
    assert ends["digital operations"][1] == pytest.approx(1.56)


def test_accuracy_curves_fit_the_page_with_distinct_colours() -> None:
    """Three algorithms × seven devices: at 110 dpi at most ~1100 px wide (not 2145), so
    9-pt text stays ≥ 9 px when shown at up to 1200 px; each panel's lines differ in colour;
    the empty fourth cell of the 2 × 2 grid has no axis."""
    from matplotlib.colors import to_hex

    devs = [f"dev{k}" for k in range(7)]
    epochs = [{"epoch": e, "test_acc": 0.1 * e} for e in (1, 2, 3)]
    curves = {(a, d): epochs for a in ("sgd", "mixed-precision", "sp-shift") for d in devs}
    fig = sf.accuracy_curves(curves, devs)
    assert fig.get_figwidth() * 110 <= 1100
    assert len(fig.axes) == 3
    for ax in fig.axes:
        colours = [to_hex(line.get_color()) for line in ax.lines]
        assert len(colours) == 7 and len(set(colours)) == 7
        assert ax.xaxis.label.get_fontsize() * 110 / 72 >= 9
