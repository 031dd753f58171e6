"""The docs describe the product as it is: no development history in README.md or docs/.

History (what changed between runs, superseded numbers) belongs in CHANGELOG.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [*sorted((REPO / "docs").glob("*.md")), REPO / "README.md"]

HISTORY_MARKERS = {
    "work-session label ('stop 9', 'stop-10 run')": re.compile(r"(?<![\w-])stop[ -]\d+\b", re.I),
    "rerun note": re.compile(r"Rerun in"),
    "old → new cell ('97.9 → **97.8**')": re.compile(r"→ \*\*"),
}
"""Short and precise: a plain arrow (formulas, data flow, `a → b` comparisons) is allowed."""


def history_markers(text: str) -> list[tuple[int, str, str]]:
    """``(line number, marker kind, matched text)`` for every history marker in ``text``."""
    hits = []
    for number, line in enumerate(text.splitlines(), start=1):
        for kind, pattern in HISTORY_MARKERS.items():
            hits += [(number, kind, m.group(0)) for m in pattern.finditer(line)]
    return hits


@pytest.mark.parametrize("text, kinds", [
    ("> Rerun in stop 9 with the current code", {"rerun note", "work-session label"}),
    ("| 20ns-a | 97.9 → **97.8** (1.09 → 1.09) |", {"old → new cell"}),
    ("(Stop 10: the same 21 runs again", {"work-session label"}),
    ("in the stop-10 run — after 6 epochs", {"work-session label"}),
])
def test_markers_catch_history(text: str, kinds: set[str]) -> None:
    found = {kind.split(" (")[0] for _, kind, _ in history_markers(text)}
    assert found == kinds


@pytest.mark.parametrize("text", [
    "`clean_run` → `fit_response` → `LutDevice`",            # data flow
    "grows faster (0.033 → 0.054 over epochs 1–5)",          # a measured trajectory
    "the first layer stops learning; training stops 2 epochs later",
    "| 64 | **11.8** | 7.6 → 8.2 ms |",                        # bold cell, plain arrow
    "pulses stop at the bound; a non-stop 24/7 run",
])
def test_markers_allow_product_text(text: str) -> None:
    assert history_markers(text) == []


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_no_development_history(path: Path) -> None:
    hits = history_markers(path.read_text(encoding="utf-8"))
    assert not hits, f"{path.relative_to(REPO)}: " + "; ".join(
        f"line {n}: {kind}: {text!r}" for n, kind, text in hits) + " (move it to CHANGELOG.md)"


def test_every_doc_is_checked() -> None:
    names = {p.name for p in DOCS}
    assert {"README.md", "training.md", "performance.md", "study.md"} <= names


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_docs_cite_no_markdown_file_missing_from_the_repo(path: Path) -> None:
    """A doc's citations of other Markdown files ("DOMAIN.md §7") name files in the repo,
    so a reader can follow them."""
    present = {p.name for p in REPO.rglob("*.md") if ".venv" not in p.parts}
    present.add("report.md")  # what `study run` writes
    cited = set(re.findall(r"\b([A-Za-z][\w-]*\.md)\b", path.read_text(encoding="utf-8")))
    assert cited <= present, f"{path.name} cites {sorted(cited - present)}"
