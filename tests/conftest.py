"""Shared fixtures: the measured HZO data beside the repo, and synthetic files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
HZO = REPO.parent / "shared" / "data" / "hzo-lbe247"
DEVICE = "ID161ZR15000"


@pytest.fixture(scope="session")
def hzo_dir() -> Path:
    if not HZO.is_dir():
        pytest.skip(f"measured data not found at {HZO}")
    return HZO


WGFMU_HEADER = """Setup title\tpulsedAmplitudeSweep_DCIV
test date\t24.10.2024
test time\t11:32:36
Device ID\t_DEVX
Count\t1
TriggerOutput\t0
TriggerPolarity\tpositive
Measurement parameters
groundWGFMU,pulseWGFMU,startVolage1,endVoltage1,startVolage2,endVoltage2,stepSize,riseTime,fallTime,pulseWidth,pulseDelay,repetitions,measName,
SMU2,WGFMU3,0.1,3.0,-0.1,-3.0,0.1,0.000000020,0.000000020,0.000200000,0.001,2,x,
Measurement Data
index, pulse amplitude (V), R_low (ohm), R_high (ohm)
"""


def soft_bounds_trace(n: int = 60, a: float = 0.06, b: float = 0.03
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Weights after alternating ramps of a soft-bounds device: down ramp then up ramp.

    Δw_up = a (1 − w), Δw_down = b (1 + w); returns (amplitudes, weights)."""
    w = 0.9
    amps, ws = [], []
    for k in range(n):  # positive pulses: depression
        w -= b * (1 + w)
        amps.append(0.1 + 0.05 * k)
        ws.append(w)
    for k in range(n):  # negative pulses: potentiation
        w += a * (1 - w)
        amps.append(-0.1 - 0.05 * k)
        ws.append(w)
    return np.array(amps), np.array(ws)


def write_wgfmu(path: Path, rows: list[str], header: str = WGFMU_HEADER) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "\n".join(rows) + "\n")
    return path


def wgfmu_rows(amps: np.ndarray, g: np.ndarray) -> list[str]:
    r = 1.0 / g
    pairs = enumerate(zip(amps, r, strict=True))
    return [f"{i:5d}, {v:6.3f},{ri:.3f},{ri:.3f}" for i, (v, ri) in pairs]
