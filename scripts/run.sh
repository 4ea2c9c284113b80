#!/usr/bin/env bash
# Serve the402 locally: start the devnet chain (anvil, contracts deployed once, state kept in
# the data dir), migrate, seed the demo catalog when empty (devnet only), install the
# schedules, run the django-q2 cluster and the web server. Ctrl-C (or SIGTERM) stops all of them.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT="${PORT:-8000}"
# A local run: Django's debug mode (a generated SECRET_KEY and encryption key kept in the
# data dir) and webhooks to 127.0.0.1, where the demo provider listens. Both are off in
# any other start-up unless set; set either to 0 to run without it.
export DEBUG="${DEBUG:-1}"
export THE402_WEBHOOK_ALLOW_PRIVATE="${THE402_WEBHOOK_ALLOW_PRIVATE:-1}"
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
fi
$PY manage.py setup_schedules

$PY manage.py qcluster &
PIDS+=($!)
$PY manage.py runserver "127.0.0.1:${PORT}" --noreload &
PIDS+=($!)
# "serving" only once the port answers HTTP; nothing if the server died trying.
if $PY - "$PORT" "${PIDS[-1]}" <<'EOF'
import sys, time, urllib.error, urllib.request
port, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
        sys.exit(0)
    except urllib.error.HTTPError:
        sys.exit(0)  # it answers, if not happily (503: the database is not ready)
    except OSError:
        try:  # a dead server is a zombie until this script returns: read its state
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                    sys.exit(1)
        except FileNotFoundError:
            sys.exit(1)
        except OSError:
            pass  # no /proc (macOS): rely on the deadline
        time.sleep(0.2)
sys.exit(1)
EOF
then
    echo "the402 is serving on http://127.0.0.1:${PORT}  (catalog: /v1/services/catalog, docs: /docs, MCP: /mcp)"
    echo "dashboard: http://127.0.0.1:${PORT}/dashboard/  (catalog pages: http://127.0.0.1:${PORT}/services/)"
    if [ "$NETWORK" = devnet ]; then
        # A lived-in demo agent account (deposit, purchases and an inquiry made through the
        # dashboard's own paths, once); its sign-in is printed. Devnet only.
        $PY manage.py seed_demo_account || echo "(the demo agent account could not be seeded)"
        # The demo provider's account: services, a job in its inbox, an earning. Devnet only.
        $PY manage.py seed_demo_provider_account || echo "(the demo provider account could not be seeded)"
    fi
fi
wait -n "${PIDS[@]}"
