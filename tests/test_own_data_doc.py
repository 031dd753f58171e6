"""docs/own-data.md's commands are the commands this test runs: every fenced ``bash`` block,
in order, in one empty folder; the study's report must exist and name the fitted device."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "own-data.md"


def _blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)


def test_page_has_the_whole_walk_through() -> None:
    script = "\n".join(_blocks())
    for step in ("device scan", "device fit", "study run", "my-study.yaml"):
        assert step in script


@pytest.mark.slow
def test_own_data_page_runs(tmp_path: Path) -> None:
    bindir = str(Path(sys.executable).parent)
    env = os.environ | {"PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
                        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    for block in _blocks():
        done = subprocess.run(["bash", "-e", "-c", block], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{block}\n{done.stdout}\n{done.stderr}"
    report = tmp_path / "results" / "report.md"
    assert (tmp_path / "results" / "report.html").is_file()
    assert "MYDEV-2us-r1" in report.read_text(encoding="utf-8")
