"""Every file a built-in device's provenance names exists.

Paths are relative to the repository root; ``../shared/...`` names the shared data folder
beside the checkout (those checks skip where it is absent).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEVICE_FILES = sorted((REPO / "src" / "pulsetrain" / "data" / "devices").glob("*.json"))

PREFIXES = ("scripts/", "src/", "docs/", "../shared/")
SUFFIXES = (".py", ".json", ".csv", ".md")


def path_tokens(text: str) -> list[str]:
    """The path-like words of ``text``: ending in .py/.json/.csv/.md or starting with
    scripts/, src/, docs/ or ../shared/ (surrounding brackets, quotes, punctuation and a
    possessive ``'s`` removed)."""
    found = []
    for word in text.split():
        word = word.lstrip("(\"'`")
        word = re.sub(r"'s$", "", word.rstrip(")\"'`,;:."))
        word = word.rstrip(")\"'`,;:.")
        if word.startswith(PREFIXES) or word.endswith(SUFFIXES):
            found.append(word)
    return found


def strings(value: Any) -> list[str]:
    """Every string inside a JSON value (dict values and list items, recursively)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def provenance_paths(device_file: Path) -> list[str]:
    provenance = json.loads(device_file.read_text(encoding="utf-8"))["provenance"]
    return [t for s in strings(provenance) for t in path_tokens(s)]


def test_path_tokens() -> None:
    text = ("model (../shared/docs/DOMAIN.md §5); DOMAIN.md's anchor; see "
            "(../shared/reference/thesis-ID161ZR15000.json, from results/test56); "
            "python scripts/make_builtin_devices.py ../shared/data/hzo-lbe247 "
            "amplitude_up_v/amplitude_down_v arXiv 2509.18121) "
            "pulsedAmplitudeSweep_DCIV[_ID161ZR15000(1)]20241024111132.csv")
    assert path_tokens(text) == [
        "../shared/docs/DOMAIN.md", "DOMAIN.md", "../shared/reference/thesis-ID161ZR15000.json",
        "scripts/make_builtin_devices.py", "../shared/data/hzo-lbe247",
        "pulsedAmplitudeSweep_DCIV[_ID161ZR15000(1)]20241024111132.csv"]


def test_there_are_built_ins_with_paths() -> None:
    assert len(DEVICE_FILES) >= 14  # seven runs × two recipes
    for f in DEVICE_FILES:  # each names at least its generator and its measurement file
        paths = provenance_paths(f)
        assert "scripts/make_builtin_devices.py" in paths, f.name
        assert any(p.startswith("../shared/data/") and p.endswith(".csv") for p in paths), f.name


@pytest.mark.parametrize("device_file", DEVICE_FILES, ids=lambda p: p.name)
def test_provenance_paths_exist(device_file: Path) -> None:
    missing, shared = [], []
    for token in provenance_paths(device_file):
        if token.startswith("../shared/"):
            shared.append(token)
            if not SHARED.is_dir():
                continue
        if not (REPO / token).exists():
            missing.append(token)
    assert not missing, f"{device_file.name}: provenance names missing files {missing}"
    if shared and not SHARED.is_dir():
        pytest.skip(f"{len(shared)} ../shared paths not checked: {SHARED} is absent")
