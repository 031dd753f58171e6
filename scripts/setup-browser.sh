#!/usr/bin/env bash
# Install headless Chromium + chromedriver (Debian packages) for tests/report/test_browser.py.
# Quick no-op when both are present.  Never fails: where they cannot be installed (not
# root, no apt-get, install error) it prints one line saying the browser test will be
# skipped and why, and exits 0.
set -uo pipefail
CHROMIUM=/usr/bin/chromium
DRIVER=/usr/bin/chromedriver
[ -x "$CHROMIUM" ] && [ -x "$DRIVER" ] && exit 0
skip() { echo "[setup] browser test will be skipped: $1" >&2; exit 0; }
[ "$EUID" = 0 ] || skip "$CHROMIUM or $DRIVER missing and not root (apt-get install chromium chromium-driver)"
command -v apt-get >/dev/null 2>&1 || skip "$CHROMIUM or $DRIVER missing and no apt-get"
echo "[setup] installing chromium + chromium-driver (Debian packages)" >&2
log=$(mktemp)
if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
       && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
          chromium chromium-driver; } >"$log" 2>&1; then
  reason=$(grep -E '^(E|W):' "$log" | head -1)
  rm -f "$log"
  skip "apt-get install chromium chromium-driver failed${reason:+ ($reason)}"
fi
rm -f "$log"
[ -x "$CHROMIUM" ] && [ -x "$DRIVER" ] || skip "installed, but $CHROMIUM or $DRIVER still missing"
