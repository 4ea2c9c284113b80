#!/usr/bin/env bash
# Start web instance N of the local cluster (gunicorn on 127.0.0.1:$CLUSTER_PORT+N) unless it
# runs; its own session, so its pid is also its process group (master and workers).
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$CLUSTER_ROOT"
i="$1"
pidfile="$CLUSTER_DIR/run/web-$i.pid"
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then exit 0; fi
setsid "$CLUSTER_ROOT/.venv/bin/gunicorn" the402.wsgi -c gunicorn.conf.py \
    --bind "127.0.0.1:$((CLUSTER_PORT + i))" --name "the402-web-$i" \
    >>"$CLUSTER_DIR/log/web-$i.log" 2>&1 </dev/null &
echo $! >"$pidfile"
