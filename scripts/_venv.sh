# Shared by scripts/serve.sh and scripts/test.sh: create or reuse the project venv and install the package.
# Usage: source scripts/_venv.sh [EXTRA]   (EXTRA e.g. "dev"; none for the product alone)
# VENV defaults to .venv in the repo; set GLOSSARIAN_VENV to reuse one elsewhere (pip downloads ~1.7 GB otherwise).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GLOSSARIAN_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
EXTRA="${1:-}"
# The requirement is built here, once: pip 23.2 (what a new Python 3.11 venv ships) rejects an empty
# extra ("path[]"), so the brackets are only added when an extra is named.
if [ -n "$EXTRA" ]; then REQ="$ROOT[$EXTRA]"; else REQ="$ROOT"; fi
if [ ! -x "$VENV/bin/python" ]; then
  echo ">> creating $VENV (first run: installs torch CPU, sentence-transformers, faiss, gradio; ~2 min)"
  "$PY" -m venv "$VENV"
fi
# torch 2.13.0 CPU first: an unpinned torch would pull a multi-GB CUDA build.
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  "$VENV/bin/pip" install -q "torch==2.13.0" 2>&1 | { grep -v "^WARNING: Location" || true; }
fi
# pipefail keeps pip's exit status; the braces only stop grep's "nothing left to print" from failing.
"$VENV/bin/pip" install -q -e "$REQ" 2>&1 | { grep -v "^WARNING: Location" || true; }
