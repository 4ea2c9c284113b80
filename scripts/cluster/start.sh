#!/usr/bin/env bash
# `make cluster`: the production shape on this machine. HAProxy on 127.0.0.1:$CLUSTER_PORT in
# front of $CLUSTER_WEB gunicorn instances (127.0.0.1:$CLUSTER_PORT+1...), $CLUSTER_WORKERS
# django-q2 clusters on Redis (db $CLUSTER_REDIS_DB), PostgreSQL (database $CLUSTER_DB on the
# machine's server) and the devnet chain (anvil on $CLUSTER_DEVNET_PORT). The MCP server is
# the Django app's own `/mcp` route, so it is served by the web processes, behind the proxy.
# Every process it starts leaves a pid file in var/cluster/run; `make cluster-stop` ends them.
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$CLUSTER_ROOT"
RUN="$CLUSTER_DIR/run"
LOG="$CLUSTER_DIR/log"

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# --- the machine's services: HAProxy installed, Redis and PostgreSQL running -------------
if ! command -v haproxy >/dev/null && [ ! -x /usr/sbin/haproxy ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "Installing HAProxy (apt-get install haproxy)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
    else
        echo "make cluster needs HAProxy: 'sudo apt-get install haproxy'" >&2
        exit 1
    fi
fi
HAPROXY="$(command -v haproxy || echo /usr/sbin/haproxy)"
# Debian's package starts its own service on :80 with its own config; ours is separate.
if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
    echo "Starting redis-server"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" >/dev/null
    for _ in $(seq 50); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
    for _ in $(seq 50); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 0.2; done
fi
# The database goes with this checkout's chain (its state is in $CLUSTER_DIR): a new chain gets
# a new database, or the ledger would owe what an older chain's treasury held.
if [ ! -f "$CLUSTER_DIR/database-created" ]; then
    psql "$CLUSTER_PG/postgres" -qc "DROP DATABASE IF EXISTS $CLUSTER_DB WITH (FORCE)" >/dev/null
fi
if ! psql "$CLUSTER_PG/postgres" -Atqc "SELECT 1 FROM pg_database WHERE datname = '$CLUSTER_DB'" | grep -q 1; then
    echo "Creating database $CLUSTER_DB"
    psql "$CLUSTER_PG/postgres" -qc "CREATE DATABASE $CLUSTER_DB" >/dev/null
    # A new database: tasks queued for an old one would fail.
    redis-cli -h 127.0.0.1 -n "$CLUSTER_REDIS_DB" flushdb >/dev/null
    mkdir -p "$CLUSTER_DIR" && touch "$CLUSTER_DIR/database-created"
fi

# --- the chain, the schema, the demo catalog, the schedules ------------------------------
$PY manage.py devnet start >"$LOG/devnet.log"
$PY manage.py migrate --no-input -v 0
$PY manage.py collectstatic --no-input -v 0
$PY manage.py seed_demo --if-empty --webhook-url "http://127.0.0.1:${CLUSTER_PORT}/demo/provider" >>"$LOG/devnet.log"
$PY manage.py setup_schedules >/dev/null
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

# --- web: gunicorn instances, each its own process group (a kill takes master and workers) -
for i in $(seq 1 "$CLUSTER_WEB"); do
    "$CLUSTER_ROOT/scripts/cluster/web.sh" "$i"
done

# --- workers: django-q2 clusters on the Redis broker -------------------------------------
for i in $(seq 1 "$CLUSTER_WORKERS"); do
    "$CLUSTER_ROOT/scripts/cluster/worker.sh" "$i"
done

# Each web process answers before the proxy sends it traffic.
for i in $(seq 1 "$CLUSTER_WEB"); do
    for _ in $(seq 240); do
        curl -fs -o /dev/null "http://127.0.0.1:$((CLUSTER_PORT + i))/health" && break
        sleep 0.5
    done
done

# --- the proxy ----------------------------------------------------------------------------
CFG="$RUN/haproxy.cfg"
{
    cat <<CFG
global
    maxconn 2000
    log stdout format raw local0 err

defaults
    mode http
    timeout connect 2s
    # Longer than gunicorn's own timeout: a request is never cut while it settles a payment.
    timeout client 90s
    timeout server 90s
    timeout http-request 10s
    timeout queue 30s
    # A connection that fails before the request is sent goes to another server; a request
    # already sent is never re-sent (a POST may have been paid).
    retries 2
    option redispatch
    retry-on conn-failure empty-response
    option http-server-close
    option forwardfor

frontend the402
    bind 127.0.0.1:${CLUSTER_PORT}
    # Metrics are for the monitoring system (it scrapes each web process), not the public.
    http-request deny deny_status 404 if { path_beg /metrics }
    default_backend web

backend web
    balance leastconn
    option httpchk
    http-check send meth GET uri /health ver HTTP/1.1 hdr Host 127.0.0.1
    http-check expect status 200
    # A refused connection fails a check at once: a dead process is out in about 1.5 s. A slow
    # answer gets 3 s (a busy machine is not a dead process).
    timeout check 3s
    default-server inter 1s fastinter 500ms downinter 1s fall 3 rise 2 maxconn 16
CFG
    for i in $(seq 1 "$CLUSTER_WEB"); do
        echo "    server web$i 127.0.0.1:$((CLUSTER_PORT + i)) check"
    done
    cat <<CFG

frontend stats
    bind 127.0.0.1:$((CLUSTER_PORT + 99))
    stats enable
    stats uri /
    stats refresh 2s
CFG
} >"$CFG"
if alive "$RUN/haproxy.pid"; then
    "$HAPROXY" -f "$CFG" -p "$RUN/haproxy.pid" -D -sf "$(cat "$RUN/haproxy.pid")"
else
    "$HAPROXY" -f "$CFG" -p "$RUN/haproxy.pid" -D
fi

# --- ready: every web process is UP in the proxy -----------------------------------------
for _ in $(seq 120); do
    up="$(curl -fs "http://127.0.0.1:$((CLUSTER_PORT + 99))/;csv" | grep -c '^web,web[0-9]*,.*,UP,' || true)"
    if [ "$up" = "$CLUSTER_WEB" ] && curl -fs -o /dev/null "http://127.0.0.1:${CLUSTER_PORT}/health"; then
        echo "the402 cluster: http://127.0.0.1:${CLUSTER_PORT} (HAProxy; stats on :$((CLUSTER_PORT + 99)))," \
            "$CLUSTER_WEB web, $CLUSTER_WORKERS qclusters, PostgreSQL $CLUSTER_DB, Redis db $CLUSTER_REDIS_DB," \
            "devnet on :$CLUSTER_DEVNET_PORT; MCP at /mcp. Stop: make cluster-stop"
        exit 0
    fi
    sleep 0.5
done
echo "the cluster did not answer /health within 60 s; logs in $LOG" >&2
exit 1
