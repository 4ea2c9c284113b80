#!/usr/bin/env bash
# Serve the402 locally: start the devnet chain (anvil, contracts deployed once, state kept in
# the data dir), migrate, seed the demo catalog when empty, install the schedules, run the
# django-q2 cluster and the web server. Ctrl-C (or SIGTERM) stops all of them.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT="${PORT:-8000}"
NETWORK="${THE402_NETWORK:-devnet}"

PIDS=()
cleanup() {
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "$NETWORK" = devnet ]; then $PY manage.py devnet stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT INT TERM

if [ "$NETWORK" = devnet ]; then
    $PY manage.py devnet start
fi
$PY manage.py migrate --no-input -v 0
if [ "$NETWORK" = devnet ]; then
    # The demo providers answer through the built-in demo provider, so the demo catalog
    # can be bought from end to end.
    $PY manage.py seed_demo --if-empty --webhook-url "http://127.0.0.1:${PORT}/demo/provider"
else
    $PY manage.py seed_demo --if-empty
fi
$PY manage.py setup_schedules

$PY manage.py qcluster &
PIDS+=($!)
$PY manage.py runserver "127.0.0.1:${PORT}" --noreload &
PIDS+=($!)
echo "the402 is serving on http://127.0.0.1:${PORT}  (catalog: /v1/services/catalog, docs: /docs)"
wait -n "${PIDS[@]}"
