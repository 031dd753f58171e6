#!/usr/bin/env bash
# Create the separate AIHWKit venv used by the cross-checks and benchmarks (optional).
#   scripts/setup-aihwkit.sh          -> .venv-aihwkit with aihwkit==1.1.0, torch==2.10.0
# AIHWKit 1.1.0's CPU wheel works only with torch 2.10.0 (a ~7 GB install), so it stays
# out of pulsetrain's own .venv; pulsetrain drives it through a subprocess
# (validation/aihwkit_worker.py).  Override the location with
# PULSETRAIN_AIHWKIT_VENV (and point PULSETRAIN_AIHWKIT_PYTHON at its python).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${PULSETRAIN_AIHWKIT_VENV:-.venv-aihwkit}
if "$VENV/bin/python" -c "import aihwkit" >/dev/null 2>&1; then
  echo "[aihwkit] $VENV already imports aihwkit $("$VENV/bin/python" -c 'import aihwkit; print(aihwkit.__version__)' 2>/dev/null)" >&2
  exit 0
fi
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
echo "[aihwkit] installing aihwkit==1.1.0 torch==2.10.0 into $VENV (several GB)" >&2
"$VENV/bin/python" -m pip install -q --disable-pip-version-check aihwkit==1.1.0 torch==2.10.0 \
  2>&1 | grep -v "^WARNING: Location" || true
"$VENV/bin/python" -c "import aihwkit" || { echo "[aihwkit] install failed" >&2; exit 1; }
echo "[aihwkit] ready: $VENV/bin/python" >&2
