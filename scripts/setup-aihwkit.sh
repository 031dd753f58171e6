#!/usr/bin/env bash
# Create the separate AIHWKit venv used by the cross-checks and benchmarks (optional).
#   scripts/setup-aihwkit.sh          -> .venv-aihwkit with aihwkit==1.1.0, torch==2.10.0
#   AIHWKIT_VERSION=0.9.2 PYTHON=python3.10 scripts/setup-aihwkit.sh
#                                     -> .venv-aihwkit-0.9.2 with aihwkit==0.9.2,
#                                        torch==2.4.1 (the version the published study ran;
#                                        its wheels are for Python 3.8-3.10 only)
# AIHWKit 1.1.0's CPU wheel works only with torch 2.10.0 (a ~7 GB install), so it stays
# out of pulsetrain's own .venv; pulsetrain drives it through a subprocess
# (validation/aihwkit_worker.py).  Override the location with
# PULSETRAIN_AIHWKIT_VENV (and point PULSETRAIN_AIHWKIT_PYTHON at its python).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VERSION=${AIHWKIT_VERSION:-1.1.0}
case "$VERSION" in
  1.1.0) TORCH=torch==2.10.0; DEFAULT_VENV=.venv-aihwkit; NUMPY="" ;;
  0.9.2) TORCH=torch==2.4.1; DEFAULT_VENV=.venv-aihwkit-0.9.2; NUMPY="numpy<2" ;;
  *) echo "[aihwkit] AIHWKIT_VERSION=$VERSION: expected 1.1.0 or 0.9.2" >&2; exit 2 ;;
esac
VENV=${PULSETRAIN_AIHWKIT_VENV:-$DEFAULT_VENV}
if "$VENV/bin/python" -c "import aihwkit, lmfit" >/dev/null 2>&1; then
  echo "[aihwkit] $VENV already imports aihwkit $("$VENV/bin/python" -c 'import aihwkit; print(aihwkit.__version__)' 2>/dev/null)" >&2
  exit 0
fi
if [ "$VERSION" = 0.9.2 ] && ! "$PY" -c 'import sys; sys.exit(sys.version_info >= (3, 11))'; then
  echo "[aihwkit] aihwkit 0.9.2 has wheels for Python 3.8-3.10 only; $PY is $("$PY" -V 2>&1):" \
       "set PYTHON to a python3.10" >&2
  exit 2
fi
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
echo "[aihwkit] installing aihwkit==$VERSION $TORCH into $VENV (several GB)" >&2
# shellcheck disable=SC2086  # NUMPY is empty or one requirement
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "aihwkit==$VERSION" "$TORCH" \
  $NUMPY 2>&1 | grep -v "^WARNING: Location" || true
"$VENV/bin/python" -c "import aihwkit" || { echo "[aihwkit] install failed" >&2; exit 1; }
# lmfit: AIHWKit's fit_measurements, the thesis recipe's oracle (validation/thesis_oracle.py)
"$VENV/bin/python" -m pip install -q --disable-pip-version-check lmfit 2>&1 \
  | grep -v "^WARNING: Location" || true
echo "[aihwkit] ready: $VENV/bin/python (for the scripts: PULSETRAIN_AIHWKIT_PYTHON=$VENV/bin/python)" >&2
