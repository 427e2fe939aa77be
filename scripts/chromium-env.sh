#!/usr/bin/env bash
# Headless Chromium for the report's rendering test (tests/test_report.py). On CI (CI=true) it is
# installed from Debian's archive when missing; elsewhere the test is skipped without it.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "${CI:-}" = "true" ]; then
  SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
