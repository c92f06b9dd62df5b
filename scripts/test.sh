#!/usr/bin/env bash
# Set up (first run only) and run the whole test suite: corpus check, unit, API and browser tests.
set -euo pipefail
source "$(dirname "$0")/_venv.sh" "dev"
cd "$ROOT"
# Browser tests need Debian's Chromium and a CJK font (Chinese renders as boxes without one).
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi wqy; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
  else
    echo "!! /usr/bin/chromium or a CJK font is missing: browser tests will be skipped (sudo apt-get install chromium fonts-wqy-microhei)"
  fi
fi
# The MediaWiki end-to-end test (tests/e2e/test_mediawiki.py) needs Debian's MediaWiki and PHP (no Apache:
# the test serves the wiki with `php -S`).
if [ ! -f /usr/share/mediawiki/maintenance/install.php ] || ! command -v php >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq --no-install-recommends mediawiki php-cli php-sqlite3 >/dev/null
  else
    echo "!! MediaWiki or PHP is missing: the MediaWiki test will be skipped (sudo apt-get install --no-install-recommends mediawiki php-cli php-sqlite3)"
  fi
fi
# Question-log tests start a private PostgreSQL cluster (initdb/pg_ctl) from Debian's package.
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq postgresql >/dev/null || (apt-get update -qq && apt-get install -y -qq postgresql >/dev/null)
  else
    echo "!! PostgreSQL is missing: its question-log tests will be skipped (sudo apt-get install postgresql)"
  fi
fi
# The topology test (tests/test_topology.py: replicas behind nginx, rate limit in Redis) and the question log's
# PostgreSQL tests need Debian's servers; they are skipped with a message when these are missing.
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ] || [ ! -x /usr/bin/redis-server ] \
    || [ ! -d /usr/lib/postgresql ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq nginx-light redis-server postgresql >/dev/null
  else
    echo "!! nginx, redis-server or postgresql is missing: topology tests will be skipped (sudo apt-get install nginx-light redis-server postgresql)"
  fi
fi
# The real-server LLM tests need llama-cpp-python's server (built once per machine) and a small GGUF chat model;
# prepared in the background while the other tests run (they run last and wait for it).
source "$(dirname "$0")/_llama_server.sh"
"$VENV/bin/glossarian" corpus check
exec "$VENV/bin/python" -m pytest "$@"
