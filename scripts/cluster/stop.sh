#!/usr/bin/env bash
# `make cluster-stop`: end what `make cluster` started (by the pid files in var/cluster/run:
# the proxy, each web instance's and worker's process group), then the devnet (which saves
# its state). Redis, PostgreSQL and their data are left as they are.
set -uo pipefail
. "$(dirname "$0")/env.sh"
cd "$CLUSTER_ROOT"
RUN="$CLUSTER_DIR/run"
for pidfile in "$RUN"/haproxy.pid "$RUN"/web-*.pid "$RUN"/worker-*.pid; do
    [ -f "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
        # web and worker processes lead their own process group (setsid)
        if [ "$(ps -o pgid= -p "$pid" | tr -d ' ')" = "$pid" ]; then
            kill -TERM -- "-$pid" 2>/dev/null
        else
            kill -TERM "$pid" 2>/dev/null
        fi
    fi
done
for pidfile in "$RUN"/haproxy.pid "$RUN"/web-*.pid "$RUN"/worker-*.pid; do
    [ -f "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null; fi
    rm -f "$pidfile"
done
$PY manage.py devnet stop >/dev/null 2>&1 || true
echo "the402 cluster stopped"
