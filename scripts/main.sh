#!/usr/bin/env bash
# The main job: set up, then run the reproducible energy–convergence study (quick version)
# on the built-in ID161ZR15000 device family and write its report.
#   scripts/main.sh [--full] [--out DIR] [--workers N]    (options go to `pulsetrain reproduce`)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-env.sh
exec .venv/bin/pulsetrain reproduce "$@"
