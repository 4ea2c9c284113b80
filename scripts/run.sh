#!/usr/bin/env bash
# Serve the402 locally: migrate, seed the demo catalog when empty, start the django-q2
# cluster in the background and the web server in the foreground. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT="${PORT:-8000}"

$PY manage.py migrate --no-input -v 0
$PY manage.py seed_demo --if-empty

$PY manage.py qcluster &
QCLUSTER_PID=$!
trap 'kill "$QCLUSTER_PID" 2>/dev/null; wait "$QCLUSTER_PID" 2>/dev/null || true' EXIT INT TERM

echo "the402 is serving on http://127.0.0.1:${PORT}  (catalog: /v1/services/catalog, docs: /docs)"
$PY manage.py runserver "127.0.0.1:${PORT}" --noreload
