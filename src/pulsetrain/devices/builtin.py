"""Built-in devices shipped with the package (fitted parameters, not raw data)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from pulsetrain.devices.io import device_from_dict, load_device
from pulsetrain.devices.lut import LutDevice
from pulsetrain.errors import UnknownDeviceError

FAMILY = "ID161ZR15000"
"""Name of the built-in device family (HZO superlattice device, sample LBE247)."""
DEFAULT_DEVICE = "ID161ZR15000-200ns"
"""Built-in device used when none is named."""


def _folder() -> Any:
    return resources.files("pulsetrain").joinpath("data", "devices")


RECIPE_SUFFIX = {"measured": "", "thesis": "-thesis"}
"""How a built-in's name says its device-model recipe: ``ID161ZR15000-200us`` (measured),
``ID161ZR15000-200us-thesis``."""


def builtin_recipe(data: dict[str, Any]) -> str:
    """The device-model recipe of a built-in device file's content."""
    return str(data.get("metrics", {}).get("recipe", "measured"))


def builtin_names(recipe: str | None = "measured") -> list[str]:
    """Names of the built-in devices of one device-model recipe (``None``: all), ordered by
    pulse width (measured before thesis at the same width)."""
    names = []
    for entry in _folder().iterdir():
        if entry.name.endswith(".json"):
            data = json.loads(entry.read_text(encoding="utf-8"))
            kind = builtin_recipe(data)
            if recipe is None or kind == recipe:
                names.append((data.get("pulse_width_s") or 0.0, kind != "measured",
                              data["name"]))
    return [n for *_, n in sorted(names)]


def builtin_device(name: str) -> LutDevice:
    """A built-in device by name (case-insensitive).

    Raises
    ------
    UnknownDeviceError
        Listing the built-in names.
    """
    for entry in _folder().iterdir():
        if entry.name.lower() == f"{name.lower()}.json":
            data = json.loads(entry.read_text(encoding="utf-8"))
            return device_from_dict(data, f"built-in {entry.name}")
    raise UnknownDeviceError(f"unknown device {name!r}: not a built-in "
                             f"({', '.join(builtin_names(None))}) and not a device file")


def builtin_family(family: str = FAMILY, recipe: str = "measured") -> list[LutDevice]:
    """The built-in devices of a family made with one device-model recipe, ordered by
    pulse width."""
    return [builtin_device(n) for n in builtin_names(recipe) if n.startswith(family)]


def resolve_device(name_or_path: str | Path | LutDevice) -> LutDevice:
    """A built-in name or a path to a device file → the device (a device object is
    returned as it is).

    Raises
    ------
    UnknownDeviceError
        If it is neither a built-in name nor an existing file.
    DataFormatError
        If the file exists but is not a valid device file.
    """
    if isinstance(name_or_path, LutDevice):
        return name_or_path
    text = str(name_or_path)
    path = Path(text)
    if path.suffix.lower() in (".json", ".toml") or path.exists():
        if not path.is_file():
            raise UnknownDeviceError(f"{path}: device file not found")
        return load_device(path)
    return builtin_device(text)
