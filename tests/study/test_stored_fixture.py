"""A store written by the code before models, datasets, noise options and verdict intervals
(commit 037a886, `tests/fixtures/store-037a886/`, written by `run_study` on its
`study.yaml`): today's code finds every run done (same keys, nothing recomputed), and a
fresh run of the same study gives the stored epochs bit for bit (defaults unchanged:
model mlp, dataset mnist, noise-free)."""

from __future__ import annotations

import shutil
from pathlib import Path

from pulsetrain.study import StudyConfig, run_study
from pulsetrain.training.config import load_config_file
from tests.study.test_study import _store_rows, needs_mnist

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "store-037a886"


@needs_mnist
def test_a_store_written_before_resumes_without_recomputing(tmp_path: Path) -> None:
    old = tmp_path / "old"
    shutil.copytree(FIXTURE, old)
    cfg = load_config_file(old / "study.yaml", StudyConfig)
    assert isinstance(cfg, StudyConfig)
    stored = _store_rows(old / "results.sqlite")
    assert len(stored) == 2 * 2  # two runs, two epochs each
    results = run_study(cfg, old)
    assert [r.get("skipped") for r in results] == [True, True]
    assert {r["key"] for r in results} == {"01d7a8c4e3dc5d6d", "b81a4046782308b5"}
    assert not (old / "checkpoints").exists()  # nothing trained
    assert _store_rows(old / "results.sqlite") == stored
    # and today's code trains the same study to the same numbers
    run_study(cfg, tmp_path / "new")
    assert _store_rows(tmp_path / "new" / "results.sqlite") == stored
