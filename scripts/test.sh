#!/usr/bin/env bash
# Set up (with test tools), then lint, type-check and run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-env.sh dev
bash scripts/setup-browser.sh  # headless Chromium for tests/report/test_browser.py; never fails
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/pytest -q "$@"
