"""Regenerate the built-in device files from the measured data (run from the repo root).

    python scripts/make_builtin_devices.py ../shared/data/hzo-lbe247

Fits every usable run of ID161ZR15000 with the package's own pipeline
(``pulsetrain.workflows.fit_device_folder``, default options) and writes one
JSON file per run to ``src/pulsetrain/data/devices/`` with provenance.  The
raw measurement files are not copied.  ``tests/test_builtin.py`` refits from
the data and checks these files still match.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

from pulsetrain.devices.io import save_device
from pulsetrain.measurements import format_seconds
from pulsetrain.workflows import fit_device_folder

FAMILY = "ID161ZR15000"
OUT = Path("src/pulsetrain/data/devices")


def main(data: str) -> None:
    result = fit_device_folder(data, FAMILY, out=None, min_pulses=40, window="cutoffs")
    by_width: dict[str, list] = {}
    for fit in result.fits:
        by_width.setdefault(format_seconds(fit.device.pulse_width_s or 0), []).append(fit)
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    for width, fits in by_width.items():
        for k, fit in enumerate(fits):
            suffix = f"-{'abcdefgh'[k]}" if len(fits) > 1 else ""
            name = f"{FAMILY}-{width}{suffix}"
            provenance = {
                "source": "HZO superlattice device LBE247/ID161ZR15000, Keysight WGFMU "
                          "pulsed amplitude sweeps (P. Uriarte Vicandi, ETH Zurich MSc thesis; "
                          "data behind arXiv 2509.18121)",
                "licence": "MIT (measurement data); fitted parameters derived by pulsetrain",
                "measurement_run": fit.device.run,
                "repetition": fit.clean.sweep.repetition,
                "source_file": fit.clean.sweep.source.name if fit.clean.sweep.source else None,
                "date": date.today().isoformat(),
                "command": "python scripts/make_builtin_devices.py ../shared/data/hzo-lbe247",
                "fit": "pulsetrain.devices.fit_device(n_points=32, repetition=last usable, "
                       "min_pulses=40, window=cutoffs, smoothing=GCV)",
                "amplitudes": "amplitude_up_v/amplitude_down_v: mean pulse amplitude of the "
                              "measured potentiation/depression branch inside the cutoff "
                              "window",
                "area_m2": "ASSUMED 1e-10 m² (100 µm²): the measurement files do not state "
                           "the device area; DOMAIN.md's energy anchor is for devices under "
                           "100 µm². Override it in a device file.",
                "thickness_m": "5e-9 m: HZO superlattice thickness used by the thesis's "
                               "Schottky model (DOMAIN.md §5)",
            }
            save_device(replace(fit.device, name=name, provenance=provenance, area_m2=1e-10,
                                thickness_m=5e-9),
                        OUT / f"{name}.json")
            print(f"wrote {OUT / (name + '.json')}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/hzo-lbe247")
