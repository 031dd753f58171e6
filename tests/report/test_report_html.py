"""The report's HTML: rendered by markdown-it-py, tables, escaping, figures inlined."""

from __future__ import annotations

import base64
from pathlib import Path

from pulsetrain.report.study_report import _html


def test_html_renders_tables_escapes_and_inlines_figures(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"\x89PNG-bytes")
    md = ["# T <x>", "", "Best: **sgd at 2us** & more, 3 < 4.", "",
          "| a | b |", "|---|---|", "| 1 | **2** |", "", "![A](figures/a.png)"]
    html = _html(md, tmp_path)
    assert "<h1>T &lt;x&gt;</h1>" in html
    assert "<strong>sgd at 2us</strong> &amp; more, 3 &lt; 4." in html
    assert "<div class='scroll'><table>" in html and "<td><strong>2</strong></td>" in html
    assert html.count("<tr>") == 2 and "<th>a</th>" in html
    data = base64.b64encode(b"\x89PNG-bytes").decode()
    assert f'src="data:image/png;base64,{data}"' in html and "figures/a.png" not in html
