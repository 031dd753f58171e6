"""Built-in devices: present, loadable, and exactly what the pipeline gives on the data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pulsetrain.devices import (
    DEFAULT_DEVICE,
    builtin_device,
    builtin_family,
    builtin_names,
    resolve_device,
    save_device,
)
from pulsetrain.errors import UnknownDeviceError
from pulsetrain.workflows import fit_device_folder
from tests.conftest import DEVICE

EXPECTED = ["ID161ZR15000-20ns-a", "ID161ZR15000-20ns-b", "ID161ZR15000-200ns",
            "ID161ZR15000-2us", "ID161ZR15000-20us", "ID161ZR15000-200us", "ID161ZR15000-2ms"]


def test_names_and_provenance() -> None:
    assert builtin_names() == EXPECTED
    assert DEFAULT_DEVICE in EXPECTED
    for dev in builtin_family():
        for key in ("source", "licence", "date", "command", "measurement_run"):
            assert dev.provenance.get(key), (dev.name, key)
        assert dev.mapping is not None and dev.pulse_width_s


def test_builtins_match_a_fresh_fit(hzo_dir: Path) -> None:
    fresh = {f.device.run: f.device for f in fit_device_folder(hzo_dir, DEVICE).fits}
    for dev in builtin_family():
        again = fresh[dev.run]
        np.testing.assert_allclose(dev.lut_up, again.lut_up, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(dev.lut_down, again.lut_down, rtol=1e-9, atol=1e-12)
        assert dev.metrics["symmetry_point"] == pytest.approx(again.metrics["symmetry_point"])


def test_resolve_name_or_file(tmp_path: Path) -> None:
    dev = builtin_device("id161zr15000-2us")  # case-insensitive
    path = save_device(dev, tmp_path / "mine.json")
    assert resolve_device(path).name == dev.name
    assert resolve_device(str(path)).dw_min == pytest.approx(dev.dw_min)
    with pytest.raises(UnknownDeviceError, match="device file not found"):
        resolve_device(tmp_path / "missing.json")
    with pytest.raises(UnknownDeviceError, match="not a built-in"):
        resolve_device("nope")


def test_no_raw_measurements_in_package() -> None:
    folder = Path(__file__).resolve().parents[1] / "src" / "pulsetrain" / "data"
    for f in folder.rglob("*"):
        if f.is_file():
            assert f.suffix == ".json"
            assert json.loads(f.read_text())["schema"] == "pulsetrain.device"


def test_thesis_builtins_match_a_fresh_thesis_fit(hzo_dir: Path) -> None:
    from pulsetrain.devices import get_recipe
    from pulsetrain.measurements import scan_folder

    runs = {r.run: r for r in scan_folder(hzo_dir).runs_of(DEVICE)}
    thesis = builtin_family(recipe="thesis")
    assert [d.name for d in thesis] == [f"{n}-thesis" for n in EXPECTED]
    for dev in thesis:
        options = dev.provenance["recipe"]["options"]
        window = options.get("window")
        fresh = get_recipe("thesis", **({"window": tuple(window)} if window else {})).fit(
            runs[dev.run or ""]).device
        np.testing.assert_allclose(dev.lut_up, fresh.lut_up, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(dev.lut_down, fresh.lut_down, rtol=1e-9, atol=1e-12)
        assert (dev.w_min, dev.w_max) == pytest.approx((fresh.w_min, fresh.w_max))
