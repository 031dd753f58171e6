"""Every energy model reachable from a study file (issue 27)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulsetrain.devices import builtin_device
from pulsetrain.energy.models import CapacitiveSwitching, EnergyTable, SchottkyUpperBound
from pulsetrain.energy.spec import build_energy_model
from pulsetrain.errors import DataFormatError, InputError
from pulsetrain.study import StudyConfig
from pulsetrain.training.config import load_config_file

DEV = "ID161ZR15000-200us"


def _load(tmp_path: Path, energy: str) -> StudyConfig:
    path = tmp_path / "cfg" / "study.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"devices: [{DEV}]\nalgorithms: [sgd]\nepochs: 1\nenergy_model: {energy}\n")
    cfg = load_config_file(path, StudyConfig)
    assert isinstance(cfg, StudyConfig)
    return cfg


def test_table_from_csv_relative_to_the_study_file(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "e.csv").write_text(
        "pulse_width_s,amplitude_v,energy_j\n2e-4,-5,1e-12\n2e-4,5,3e-12\n")
    monkeypatch.chdir(tmp_path)
    cfg = _load(tmp_path, "{kind: table, file: e.csv}")
    cfg.check()
    model = build_energy_model(builtin_device(DEV), cfg.energy_model)
    assert isinstance(model, EnergyTable)
    assert model.energy_per_pulse_j(2e-4, 0.0) == pytest.approx(2e-12)


def test_parameters_of_schottky_and_capacitive(tmp_path: Path) -> None:
    dev = builtin_device(DEV)
    hot = build_energy_model(dev, _load(tmp_path, "{kind: schottky, temperature_k: 350}")
                             .energy_model)
    assert isinstance(hot, SchottkyUpperBound) and hot.temperature_k == 350
    plain = build_energy_model(dev, _load(tmp_path, "schottky").energy_model)
    direct = SchottkyUpperBound(area_m2=1e-10, thickness_m=5e-9, temperature_k=350)
    assert hot.energy_per_pulse_j(2e-4, 5) == pytest.approx(direct.energy_per_pulse_j(2e-4, 5))
    assert hot.energy_per_pulse_j(2e-4, 5) != pytest.approx(plain.energy_per_pulse_j(2e-4, 5))
    cap = build_energy_model(dev, _load(tmp_path, "{kind: capacitive, switched_fraction: 0.1}")
                             .energy_model)
    assert isinstance(cap, CapacitiveSwitching) and cap.switched_fraction == 0.1
    assert StudyConfig().energy_model == "schottky"  # the default as before


@pytest.mark.parametrize("content, where", [
    ("pulse_width_s,amplitude_v\n2e-4,5\n", "energy_j"),
    ("pulse_width_s,amplitude_v,energy_j\n2e-4,5,1e-12\n2e-4,x,1e-12\n", "line 3"),
    ("pulse_width_s,amplitude_v,energy_j\n-1,5,1e-12\n", "pulse_width_s"),
])
def test_bad_table_is_one_line_naming_file_row_column(tmp_path: Path, content: str,
                                                      where: str) -> None:
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "e.csv").write_text(content)
    cfg = _load(tmp_path, "{kind: table, file: " + str(tmp_path / "cfg" / "e.csv") + "}")
    with pytest.raises(DataFormatError) as err:
        cfg.check()
    message = str(err.value)
    assert "\n" not in message and "e.csv" in message and where in message


def test_unknown_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="energy_model"):
        _load(tmp_path, "{kind: magic}")


def test_iv_model_from_a_measured_dc_sweep(tmp_path: Path) -> None:
    iv = Path(__file__).resolve().parents[3] / "shared/data/hzo-lbe247/_ID182ZR1000" \
        / "DCIV_20241024155401/IV_measR[_ID182ZR1000(-1)]20241024155401.csv"
    if not iv.is_file():
        pytest.skip(f"measured data not here: {iv}")
    from pulsetrain.energy.models import IVModel
    from pulsetrain.measurements.wgfmu import read_dciv

    cfg = _load(tmp_path, "{kind: iv, file: '" + str(iv) + "'}")
    model = build_energy_model(builtin_device(DEV), cfg.energy_model)
    assert isinstance(model, IVModel)
    direct = IVModel.fit(read_dciv(iv))
    v = model.bias_v[len(model.bias_v) // 3]  # inside the measured range
    assert model.energy_per_pulse_j(2e-4, v) == pytest.approx(direct.energy_per_pulse_j(2e-4, v))
    assert model.energy_per_pulse_j(2e-4, v) > 0
