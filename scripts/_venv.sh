# Shared by scripts/serve.sh and scripts/test.sh: create or reuse the project venv and install the package.
# VENV defaults to .venv in the repo; set GLOSSARIAN_VENV to reuse one elsewhere (pip downloads ~1.7 GB otherwise).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GLOSSARIAN_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  echo ">> creating $VENV"
  "$PY" -m venv "$VENV"
fi
# torch 2.13.0 CPU first: an unpinned torch would pull a multi-GB CUDA build.
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  "$VENV/bin/pip" install -q "torch==2.13.0" 2>&1 | { grep -v "^WARNING: Location" || true; }
fi
# pipefail keeps pip's exit status; the braces only stop grep's "nothing left to print" from failing.
"$VENV/bin/pip" install -q -e "$ROOT[$1]" 2>&1 | { grep -v "^WARNING: Location" || true; }
