"""Property: every reader, given a valid or damaged file, returns a valid result or raises a
one-line :class:`InputError` naming the file; never another exception, never garbage."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from pulsetrain.devices import LutDevice, load_device, save_device
from pulsetrain.measurements import read_tidy_csv, read_wgfmu_sweep
from pulsetrain.measurements.cutoffs import read_cutoffs
from pulsetrain.measurements.sweep import PulseSweep
from pulsetrain.study.config import StudyConfig
from pulsetrain.training.config import load_config_file
from tests.conftest import WGFMU_HEADER, soft_bounds_trace, wgfmu_rows
from tests.fuzz.damage import damaged, outcome

_AMPS, _W = soft_bounds_trace(15)
TIDY = "pulse_index,amplitude_v,pulse_width_s,conductance_s,run\n" + "\n".join(
    f"{i},{a:.3f},2e-08,{1e-7 * (1.5 + x):.6g},r{i // 15}"
    for i, (a, x) in enumerate(zip(_AMPS, _W, strict=True))) + "\n"
WGFMU = WGFMU_HEADER + "\n".join(wgfmu_rows(_AMPS, 1e-7 * (1.5 + _W))) + "\n"
WGFMU_NAME = "pulsedAmplitudeSweep_DCIV[_DEVX(1)]x.csv"
CUTOFFS = ("device_name,device_id,test_date,test_time,VStartPos,VEndPos,VStartNeg,VEndNeg\n"
           "LBE247,ID161ZR15000,24.10.2024,11:32:36,0.1,3.2,-0.1,-3.2\n"
           "LBE247,ID300YR1000Oct,25.10.2024,09:00:00,0.2,3.0,-0.2,-3.0\n")
STUDY = Path("examples/study.yaml").read_text(encoding="utf-8")


def _sane(sweeps: list[PulseSweep]) -> None:
    """A valid result: finite, positive conductances, one direction per pulse."""
    assert sweeps
    for s in sweeps:
        assert len(s.conductance_s) == len(s.amplitude_v) == len(s.direction) > 0
        assert np.all(np.isfinite(s.conductance_s)) and np.all(s.conductance_s > 0)
        assert np.all(np.isfinite(s.amplitude_v))
        assert set(np.unique(s.direction)) <= {-1, 1}
        assert np.isfinite(s.pulse_width_s) and s.pulse_width_s > 0


@given(damaged(TIDY))
def test_tidy_csv_damaged(text: str) -> None:
    result = outcome(text, "t.csv", read_tidy_csv)
    if result is not None:
        _sane(result)


@given(st.permutations(range(5)))
def test_tidy_csv_columns_reordered_read_the_same(order: list[int]) -> None:
    table = [line.split(",") for line in TIDY.strip().split("\n")]
    text = "\n".join(",".join(row[k] for k in order) for row in table) + "\n"
    ref, got = outcome(TIDY, "t.csv", read_tidy_csv), outcome(text, "t.csv", read_tidy_csv)
    assert len(ref) == len(got)
    for a, b in zip(ref, got, strict=True):
        np.testing.assert_array_equal(a.conductance_s, b.conductance_s)
        np.testing.assert_array_equal(a.direction, b.direction)
        assert (a.run, a.repetition, a.pulse_width_s) == (b.run, b.repetition, b.pulse_width_s)


@given(st.integers(0, 2**32 - 1))
def test_tidy_csv_rows_shuffled_are_refused_or_read_the_same(seed: int) -> None:
    head, *rows = TIDY.strip().split("\n")
    random.Random(seed).shuffle(rows)
    ref = {(s.run, s.repetition): s for s in outcome(TIDY, "t.csv", read_tidy_csv)}
    got = outcome(head + "\n" + "\n".join(rows) + "\n", "t.csv", read_tidy_csv)
    if got is not None:  # only an interleaving of whole runs may be accepted, unchanged
        for s in got:
            np.testing.assert_array_equal(s.conductance_s, ref[(s.run, s.repetition)].conductance_s)


@given(damaged(WGFMU))
def test_wgfmu_sweep_damaged(text: str) -> None:
    result = outcome(text, WGFMU_NAME, read_wgfmu_sweep)
    if result is not None:
        _sane(result)


@given(st.binary(max_size=200))
def test_wgfmu_sweep_random_bytes(data: bytes) -> None:
    result = outcome(data, WGFMU_NAME, read_wgfmu_sweep)
    if result is not None:
        _sane(result)


@given(damaged(CUTOFFS))
def test_cutoffs_damaged(text: str) -> None:
    table = outcome(text, "cutoffs.csv", read_cutoffs)
    if table is not None:
        for row in table.rows:
            assert row.line > 1 and row.device_id


def _device_text() -> str:
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        dev = LutDevice("fz", [0.1, 0.08, 0.05, 0.02], [0.02, 0.05, 0.08, 0.1])
        return save_device(dev, Path(tmp) / "d.json").read_text(encoding="utf-8")


DEVICE = _device_text()


@given(damaged(DEVICE))
def test_device_file_damaged(text: str) -> None:
    dev = outcome(text, "d.json", load_device)
    if dev is not None:
        assert np.all(np.isfinite(dev.lut_up)) and np.all(np.asarray(dev.lut_up) >= 0)
        assert len(dev.lut_up) == len(dev.lut_down) > 0


_JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                         st.text(max_size=5), st.lists(st.floats(), max_size=3))


@given(st.dictionaries(st.sampled_from(sorted(json.loads(DEVICE))), _JSON_VALUES, max_size=3))
def test_device_file_wrong_types(changes: dict[str, object]) -> None:
    data = json.loads(DEVICE) | changes
    text = json.dumps(data, allow_nan=True)
    dev = outcome(text, "d.json", load_device)
    if dev is not None:
        assert np.all(np.isfinite(dev.lut_up)) and len(dev.lut_up) == len(dev.lut_down) > 0


def _load_study(path: Path) -> object:
    return load_config_file(path, StudyConfig)


@given(damaged(STUDY))
def test_study_yaml_damaged(text: str) -> None:
    outcome(text, "study.yaml", _load_study, per_key=True)


@given(st.sampled_from(["epochs", "seeds", "name", "devices", "lr", "algorithms"]), _JSON_VALUES)
def test_study_yaml_wrong_types(key: str, value: object) -> None:
    outcome(STUDY + f"\n{key}: {json.dumps(value)}\n", "study.yaml", _load_study, per_key=True)


@given(st.binary(max_size=200))
def test_device_file_random_bytes(data: bytes) -> None:
    outcome(data, "d.json", load_device)


@given(damaged(TIDY), damaged(CUTOFFS))
def test_folder_scan_keeps_the_good_run(tidy: str, cutoffs: str) -> None:
    """A damaged tidy CSV and cutoffs file beside a good WGFMU run: the scan still finds the
    good run unchanged, and a damaged file it cannot read is a problem naming it."""
    import tempfile
    import warnings

    from pulsetrain.errors import InputError
    from pulsetrain.measurements import scan_folder

    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        root = Path(tmp)
        good = root / "run_20240101120000" / WGFMU_NAME
        good.parent.mkdir()
        good.write_text(WGFMU, encoding="utf-8")
        (root / "t.csv").write_text(tidy, encoding="utf-8", errors="surrogatepass")
        (root / "cutoffs.csv").write_text(cutoffs, encoding="utf-8", errors="surrogatepass")
        try:
            scan = scan_folder(root)
        except InputError as exc:  # only the cutoffs file may stop a scan
            assert "cutoffs.csv" in str(exc) and "\n" not in str(exc)
            return
        wg = [r for r in scan.runs if r.device_id == "DEVX"]
        assert len(wg) == 1
        ref = read_wgfmu_sweep(good)
        np.testing.assert_array_equal(wg[0].repetitions[-1].conductance_s,
                                      ref[-1].conductance_s)
        for p in scan.problems:
            assert "\n" not in str(p)


TRAIN = 'device = "ID161ZR15000-200ns"\nalgorithm = "mixed-precision"\nepochs = 2\nlr = 0.5\n'


@given(damaged(TRAIN))
def test_train_toml_damaged(text: str) -> None:
    cfg = outcome(text, "run.toml", load_config_file, per_key=True)
    if cfg is not None:
        assert cfg.epochs >= 1 and (cfg.lr is None or (np.isfinite(cfg.lr) and cfg.lr > 0))
