#!/usr/bin/env bash
# Start django-q2 cluster N of the local cluster unless it runs (its own process group).
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$CLUSTER_ROOT"
i="$1"
pidfile="$CLUSTER_DIR/run/worker-$i.pid"
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then exit 0; fi
setsid "$PY" manage.py qcluster >>"$CLUSTER_DIR/log/worker-$i.log" 2>&1 </dev/null &
echo $! >"$pidfile"
