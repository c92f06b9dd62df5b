#!/usr/bin/env bash
# Set up (first run only) and start Glossarian on its embedded defaults: http://127.0.0.1:7860
set -euo pipefail
source "$(dirname "$0")/_venv.sh" ""
exec "$VENV/bin/glossarian" serve "$@"
