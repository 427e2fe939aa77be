#!/usr/bin/env bash
# Regenerate the VS Code screenshots in docs/images/ (notification, status bar menu, view) by running
# the extension's end-to-end test in code-server with its screenshots written there.
#   bash scripts/make-vscode-screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p docs/images
PROACTIVE_LS_SCREENSHOTS="$PWD/docs/images" .venv/bin/python -m pytest -q -p no:cacheprovider tests/test_vscode_e2e.py
ls -l docs/images/vscode-*.png
