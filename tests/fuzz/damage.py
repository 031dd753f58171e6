"""Hypothesis strategies that damage a text file the way lab files get damaged."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from pulsetrain.errors import InputError

_JUNK = ["nan", "inf", "-inf", "1e400", "-0", "", " ", "é", "µS", "日本", "\x00", "NaN",
         "1,5", "0x10", "TRUE", "null", "9" * 40]


@st.composite
def damaged(draw: st.DrawFn, text: str) -> str:
    """``text`` with one to three of: truncation, a byte flip, a deleted, duplicated or
    swapped line, decimal commas, a junk field (NaN, inf, huge, unicode, empty), or
    nothing left at all."""
    out = text
    for _ in range(draw(st.integers(1, 3))):
        lines = out.split("\n")
        kind = draw(st.sampled_from(["truncate", "flip", "delete", "duplicate", "swap",
                                     "comma", "junk", "empty", "tab"]))
        n = max(len(out), 1)
        if kind == "truncate":
            out = out[:draw(st.integers(0, n))]
        elif kind == "flip":
            k = draw(st.integers(0, n - 1))
            ch = draw(st.characters(min_codepoint=0, max_codepoint=0x2FFF))
            out = out[:k] + ch + out[k + 1:]
        elif kind in ("delete", "duplicate", "swap") and lines:
            i = draw(st.integers(0, len(lines) - 1))
            j = draw(st.integers(0, len(lines) - 1))
            if kind == "delete":
                del lines[i]
            elif kind == "duplicate":
                lines.insert(j, lines[i])
            else:
                lines[i], lines[j] = lines[j], lines[i]
            out = "\n".join(lines)
        elif kind == "comma":
            out = out.replace(".", ",", draw(st.integers(1, 5)))
        elif kind == "junk" and lines:
            i = draw(st.integers(0, len(lines) - 1))
            sep = "\t" if "\t" in lines[i] else ","
            fields = lines[i].split(sep)
            f = draw(st.integers(0, len(fields) - 1))
            fields[f] = draw(st.sampled_from(_JUNK))
            lines[i] = sep.join(fields)
            out = "\n".join(lines)
        elif kind == "empty":
            out = draw(st.sampled_from(["", "\n", "\ufeff", "   \n\n"]))
        elif kind == "tab":
            out = out.replace(",", ";")
    return out


def outcome(text: str | bytes, name: str, read: Callable[[Path], Any],
            per_key: bool = False) -> Any:
    """Write ``text`` to a fresh file ``name``, read it; return the result or ``None``
    when the reader raised an :class:`InputError` that is one line naming the file.
    With ``per_key`` (config files) the error may be one line per offending key, each
    naming the file.  Any other exception propagates (and fails the property)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            return read(path)
        except InputError as exc:
            message = str(exc)
            lines = message.strip().split("\n")
            assert per_key or len(lines) == 1, message
            assert all(path.name in line for line in lines), message
            assert "Traceback" not in message
            return None
