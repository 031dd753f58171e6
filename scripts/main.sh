#!/usr/bin/env bash
# The main job: set up, then fit the built-in device family from the measured data
# and write its report (device files, metrics.csv, figures, report.md).
#   scripts/main.sh [DATA_DIR] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/hzo-lbe247}
OUT=${2:-results/device-fit}
scripts/setup-env.sh
.venv/bin/pulsetrain device fit "$DATA" --device ID161ZR15000 --out "$OUT"
echo "report: $OUT/report.md"
