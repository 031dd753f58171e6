"""Minimal examples the fuzz suite (tests/fuzz) found in the device-file reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pulsetrain.devices import LutDevice, load_device, save_device
from pulsetrain.errors import DataFormatError


def _file(tmp_path: Path) -> Path:
    return save_device(LutDevice("fz", [0.1, 0.05], [0.05, 0.1]), tmp_path / "d.json")


def test_two_bad_fields_are_one_line_naming_the_file(tmp_path: Path) -> None:
    path = _file(tmp_path)
    path.write_text(json.dumps(json.loads(path.read_text()) | {"lut_down": None,
                                                               "area_m2": False}))
    with pytest.raises(DataFormatError) as info:
        load_device(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    assert "'lut_down'" in message and "(and 1 more)" in message


def test_non_utf8_device_file_is_a_data_format_error(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_bytes(b"\x80")
    with pytest.raises(DataFormatError, match=r"d\.json: not UTF-8 text \(byte 0\)"):
        load_device(path)
