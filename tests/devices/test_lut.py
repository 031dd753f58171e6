from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pulsetrain.devices import LutDevice, Variation, load_device, save_device
from pulsetrain.errors import DataFormatError


def _dev() -> LutDevice:
    return LutDevice("d", [0.1, 0.05, 0.0], [0.0, 0.02, 0.04])


def test_interpolation_and_clipping() -> None:
    dev = _dev()
    assert dev.step_up(-0.5) == pytest.approx(0.075)
    assert dev.step_down(0.5) == pytest.approx(0.03)
    np.testing.assert_allclose(dev.pulse([0.98, -0.99], [1, -1]), [0.981, -0.9902])
    flat = LutDevice("flat", [0.05, 0.05], [0.05, 0.05])
    np.testing.assert_allclose(flat.pulse([0.98, -0.99], [1, -1]), [1.0, -1.0])  # clipped
    assert dev.dw_min == pytest.approx(0.02)


def test_invalid_tables_are_rejected() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        LutDevice("x", [0.1, -0.1], [0.1, 0.1])
    with pytest.raises(ValueError, match="equal length"):
        LutDevice("x", [0.1, 0.1, 0.1], [0.1, 0.1])
    with pytest.raises(ValueError, match="bound_std"):
        Variation(bound_std=-1)


def test_round_trip(tmp_path: Path) -> None:
    dev = _dev().with_options(variation=Variation(step_gain_std=0.1), c2c_noise=0.2)
    path = save_device(dev, tmp_path / "d.json")
    back = load_device(path)
    np.testing.assert_array_equal(back.lut_up, dev.lut_up)
    assert back.variation == dev.variation and back.c2c_noise == 0.2


def test_toml_device_file(tmp_path: Path) -> None:
    p = tmp_path / "hand.toml"
    p.write_text('schema = "pulsetrain.device"\nschema_version = 1\nname = "hand"\n'
                 "lut_up = [0.1, 0.0]\nlut_down = [0.0, 0.1]\n")
    assert load_device(p).step_up(-1.0) == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("change", "words"),
    [({"lut_up": [0.1, -0.2, 0.0]}, "'lut_up'"),
     ({"colour": "red"}, "'colour'"),
     ({"c2c_noise": "lots"}, "'c2c_noise'"),
     ({"schema_version": 7}, "'schema_version'"),
     ({"lut_down": [0.0, 0.1]}, "same length")],
)
def test_bad_device_file_names_the_field(tmp_path: Path, change: dict[str, object],
                                         words: str) -> None:
    p = tmp_path / "bad.json"
    data = json.loads(json.dumps({"schema": "pulsetrain.device", "schema_version": 1,
                                  "name": "b", "lut_up": [0.1, 0.05, 0.0],
                                  "lut_down": [0.0, 0.02, 0.04]}))
    data.update(change)
    p.write_text(json.dumps(data))
    with pytest.raises(DataFormatError) as info:
        load_device(p)
    assert words in str(info.value) and str(p) in str(info.value)
