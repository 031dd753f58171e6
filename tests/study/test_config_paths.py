"""Relative paths in a study file resolve against the file's folder (issue 27)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pulsetrain.errors import InputError
from pulsetrain.study import StudyConfig
from pulsetrain.training.config import load_config_file

DEVICE = Path(__file__).parents[2] / "src/pulsetrain/data/devices/ID161ZR15000-200us.json"


def _study(tmp_path: Path, devices: str) -> Path:
    folder = tmp_path / "some" / "dir"
    (folder / "fit" / "a" / "devices").mkdir(parents=True)
    shutil.copy(DEVICE, folder / "fit" / "a" / "devices" / "mine.json")
    path = folder / "my-study.yaml"
    path.write_text(f"devices: {devices}\nalgorithms: [sgd]\nepochs: 1\n")
    return path


def test_glob_resolves_against_the_config_folder(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = _study(tmp_path, "[fit/*/devices/*.json, ID161ZR15000-2us]")
    monkeypatch.chdir(tmp_path)  # not the file's folder
    cfg = load_config_file(path, StudyConfig)
    assert isinstance(cfg, StudyConfig)
    names = cfg.device_names()
    assert names[1] == "ID161ZR15000-2us"  # a built-in name stays a name
    assert Path(names[0]).resolve() == (path.parent / "fit/a/devices/mine.json").resolve()


def test_keys_unchanged_when_run_from_the_config_folder(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    path = _study(tmp_path, "[fit/*/devices/*.json]")
    monkeypatch.chdir(path.parent)
    cfg = load_config_file(path, StudyConfig)
    assert isinstance(cfg, StudyConfig)
    written = StudyConfig(devices=["fit/*/devices/*.json"], algorithms=["sgd"], epochs=1)
    assert [r.key() for r in cfg.runs()] == [r.key() for r in written.runs()]
    assert cfg.device_names() == ["fit/a/devices/mine.json"]
    absolute = load_config_file(path.resolve(), StudyConfig)  # same folder, absolute
    assert isinstance(absolute, StudyConfig)
    assert [r.key() for r in absolute.runs()] == [r.key() for r in written.runs()]


def test_no_match_names_the_folder_searched(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = _study(tmp_path, "[nothing/*.json]")
    monkeypatch.chdir(tmp_path)
    cfg = load_config_file(path, StudyConfig)
    assert isinstance(cfg, StudyConfig)
    with pytest.raises(InputError) as err:
        cfg.device_names()
    message = str(err.value)
    assert "\n" not in message
    assert str((tmp_path / "some" / "dir" / "nothing").resolve()) in message
