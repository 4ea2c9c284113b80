# Sourced by the cluster scripts: where the local cluster lives and the environment every
# process of it (web, worker, management commands, the load test) shares.
CLUSTER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLUSTER_DIR="${CLUSTER_DIR:-$CLUSTER_ROOT/var/cluster}"
PY="$CLUSTER_ROOT/.venv/bin/python"
# HAProxy's port (the cluster's one address), the web processes' ports after it.
CLUSTER_PORT="${CLUSTER_PORT:-8400}"
CLUSTER_WEB="${CLUSTER_WEB:-3}"
CLUSTER_WORKERS="${CLUSTER_WORKERS:-2}"
CLUSTER_DB="${CLUSTER_DB:-the402_cluster}"
CLUSTER_PG="${CLUSTER_PG:-postgres://postgres@127.0.0.1:5432}"
CLUSTER_REDIS_DB="${CLUSTER_REDIS_DB:-7}"
CLUSTER_DEVNET_PORT="${CLUSTER_DEVNET_PORT:-8445}"

mkdir -p "$CLUSTER_DIR/data" "$CLUSTER_DIR/log" "$CLUSTER_DIR/run"
# Production-shaped: DEBUG off, so the keys are generated once here (never in the repo).
if [ ! -f "$CLUSTER_DIR/secrets" ]; then
    umask 077
    {
        echo "SECRET_KEY=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')"
        echo "THE402_ENCRYPTION_KEY=$("$PY" -c 'import base64, secrets; print(base64.b64encode(secrets.token_bytes(32)).decode())')"
        echo "THE402_METRICS_TOKEN=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(24))')"
    } >"$CLUSTER_DIR/secrets"
    umask 022
fi
set -a
# shellcheck disable=SC1091
. "$CLUSTER_DIR/secrets"
DEBUG=0
THE402_DATA_DIR="$CLUSTER_DIR/data"
DATABASE_URL="$CLUSTER_PG/$CLUSTER_DB"
REDIS_URL="redis://127.0.0.1:6379/$CLUSTER_REDIS_DB"
THE402_NETWORK=devnet
THE402_DEVNET_PORT="$CLUSTER_DEVNET_PORT"
ALLOWED_HOSTS="127.0.0.1,localhost"
THE402_PUBLIC_URL="http://127.0.0.1:$CLUSTER_PORT"
SECURE_COOKIES=0
# The demo provider and the load test's provider listen on 127.0.0.1.
THE402_WEBHOOK_ALLOW_PRIVATE=1
# The load test sends many thread messages from few agents.
THE402_RATE_LIMIT_MESSAGES=1000
# Short timeouts, so a request killed with its process is taken over by a retry within the
# fault run: a key's lease is max(this, settle + data API timeouts + 60 s) = 75 s.
THE402_SETTLE_TIMEOUT=10
THE402_DATA_API_TIMEOUT=5
THE402_WEBHOOK_TIMEOUT=3
THE402_IDEMPOTENCY_LEASE=60
# One gunicorn worker process per instance (the instance is the unit of scale here).
WEB_CONCURRENCY="${WEB_CONCURRENCY:-1}"
GUNICORN_THREADS="${GUNICORN_THREADS:-4}"
PROMETHEUS_MULTIPROC_DIR="$CLUSTER_DIR/run/prometheus"
LOG_LEVEL="${LOG_LEVEL:-WARNING}"
set +a
export CLUSTER_ROOT CLUSTER_DIR CLUSTER_PORT CLUSTER_WEB CLUSTER_WORKERS CLUSTER_DB CLUSTER_PG \
    CLUSTER_REDIS_DB CLUSTER_DEVNET_PORT
