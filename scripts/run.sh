#!/usr/bin/env bash
# Serve the402 locally: start the devnet chain (anvil, contracts deployed once, state kept in
# the data dir), migrate, seed the demo catalog when empty, run the django-q2 cluster in the
# background and the web server in the foreground. Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT="${PORT:-8000}"
NETWORK="${THE402_NETWORK:-devnet}"

QCLUSTER_PID=""
cleanup() {
    [ -n "$QCLUSTER_PID" ] && kill "$QCLUSTER_PID" 2>/dev/null && wait "$QCLUSTER_PID" 2>/dev/null
    [ "$NETWORK" = devnet ] && $PY manage.py devnet stop >/dev/null 2>&1
    true
}
trap cleanup EXIT INT TERM

if [ "$NETWORK" = devnet ]; then
    $PY manage.py devnet start
fi
$PY manage.py migrate --no-input -v 0
$PY manage.py seed_demo --if-empty

$PY manage.py qcluster &
QCLUSTER_PID=$!

echo "the402 is serving on http://127.0.0.1:${PORT}  (catalog: /v1/services/catalog, docs: /docs)"
$PY manage.py runserver "127.0.0.1:${PORT}" --noreload
