"""The thesis recipe against its oracle (AIHWKit's ``fit_measurements`` fed the preprocessing
of DOMAIN.md §11, written independently in the worker); skipped without the AIHWKit venv
or without ``lmfit`` in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from validation.aihwkit_bridge import aihwkit_available, run_aihwkit

HZO = Path(__file__).resolve().parents[2] / "shared" / "data" / "hzo-lbe247"


def _oracle_ready() -> bool:
    if not aihwkit_available():
        return False
    try:
        run_aihwkit("fit_measurements", w=[0.5, 0.4, 0.45], labels=[-1, 1, 1], dw_min=0.05,
                    piecewise_up=[1.0, 1.0], piecewise_down=[1.0, 1.0], timeout_s=300)
    except RuntimeError:  # lmfit absent in the venv
        return False
    return True


pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not _oracle_ready(), reason="AIHWKit venv with lmfit absent "
                                 "(bash scripts/setup-aihwkit.sh)")]


def test_thesis_recipe_agrees_with_the_oracle_on_every_fitted_run() -> None:
    """Issue tolerance: scalars within 2e-3 and nodes within 1e-3; measured: 0.0 and
    < 1e-12 (float32 tile arithmetic reproduced bit for bit), so 1e-9 is asserted."""
    if not HZO.is_dir():
        pytest.skip(f"{HZO} absent")
    from validation.thesis_oracle import compare_folder

    rows = compare_folder(HZO)
    compared = [r for r in rows if r.status == "compared"]
    fitted_ids = {(r.device_id, r.run) for r in compared}
    assert sum(r.device_id == "ID161ZR15000" for r in compared) == 8
    assert {d for d, _ in fitted_ids} >= {"LBE247_ID300YR1000Oct", "LBE247_ID180XR1000Star"}
    for r in compared:
        assert r.d_scalars < 1e-9 and r.d_nodes < 1e-9 and r.d_dw_min < 1e-12, r
        assert r.d_trace < 1e-9, r
    for r in rows:
        if r.status != "compared":  # every refusal says why: no window for the run
            assert "cutoffs row" in r.status or "pulses inside the window" in r.status, r
