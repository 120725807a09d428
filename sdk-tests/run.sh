#!/usr/bin/env bash
# Signalbox against the official Unleash SDKs (issue 7): builds the server, starts it on a free
# 127.0.0.1 port with a fresh SQLite database, and runs
#   - node-basic.mjs    Node SDK (unleash-client): fetch, 304, register, metrics, a kill seen
#                       by a polling client within its interval and a streaming one within 1 s;
#   - python_basic.py   Python SDK (UnleashClient): fetch, 304, register, metrics, a kill;
#   - node-spec.mjs     client specification 5.2.2 through the Node SDK;
#   - python_spec.py    client specification 5.2.2 through the Python SDK;
#   - frontend-spec.mjs client specification 6.1.0 through our /api/frontend;
# then writes sdk-tests/report.txt. Exits non-zero when a basic check fails or a runner
# crashes; a specification case that does not pass is reported, not fatal.
#
# Needs `npm ci` and `python3 -m venv .venv && .venv/bin/pip install -r requirements.txt`
# in sdk-tests/ first (.ci/run does both).
#
#   bash sdk-tests/run.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
cd "$ROOT"

# The server is configured by flags alone: no SIGNALBOX_* setting of the caller's reaches it.
unset DATABASE_URL
while IFS= read -r name; do unset "$name"; done < <(compgen -e | grep '^SIGNALBOX_' || true)

[[ -d $HERE/node_modules/unleash-client ]] || { echo "run 'npm ci' in sdk-tests/ first" >&2; exit 2; }
[[ -x $HERE/.venv/bin/python ]] || { echo "create sdk-tests/.venv first (see requirements.txt)" >&2; exit 2; }

echo "--> cargo build -p signalbox"
cargo build -p signalbox
SERVER_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/signalbox"

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    local rc=$?
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if ((rc != 0)) && [[ -f $WORK/server.log ]]; then
        echo "--- last lines of the server log ---" >&2
        tail -n 40 "$WORK/server.log" >&2 || true
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
export SBX_BASE_URL="http://127.0.0.1:$PORT"
ADMIN_EMAIL=admin@example.test
ADMIN_PASSWORD='a long password 123'

echo "--> starting signalbox on $SBX_BASE_URL (database in $WORK)"
"$SERVER_BIN" serve \
    --listen "127.0.0.1:$PORT" \
    --database-url "sqlite://$WORK/signalbox.db" \
    --admin-email "$ADMIN_EMAIL" --admin-password "$ADMIN_PASSWORD" \
    --log-level warn >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

for _ in $(seq 1 300); do
    if curl -fsS "$SBX_BASE_URL/readyz" >/dev/null 2>&1; then break; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "signalbox exited before it was ready" >&2; exit 1; }
    sleep 0.1
done
curl -fsS "$SBX_BASE_URL/readyz" >/dev/null || { echo "signalbox was not ready within 30 s" >&2; exit 1; }

SBX_ADMIN_TOKEN=$(curl -fsS "$SBX_BASE_URL/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
export SBX_ADMIN_TOKEN
export SBX_RESULTS_DIR="$WORK/results"
mkdir -p "$SBX_RESULTS_DIR"

NODE_SDK=$(node -p 'require("./sdk-tests/node_modules/unleash-client/package.json").version')
PY_SDK=$("$HERE/.venv/bin/python" -c 'from importlib.metadata import version; print(version("UnleashClient"))')
export SBX_VERSIONS="unleash-client (Node) $NODE_SDK on node $(node --version); UnleashClient (Python) $PY_SDK on $("$HERE/.venv/bin/python" --version)"
echo "--> $SBX_VERSIONS"

failed=()
# run NAME COMMAND... — runs a script with its output shown and kept for the report.
run() {
    local name=$1
    shift
    echo
    echo "--> $name"
    local rc=0
    "$@" 2>&1 | tee "$SBX_RESULTS_DIR/$name.log" || rc=$?
    if ((rc != 0)); then
        echo "<-- $name FAILED (exit code $rc)"
        failed+=("$name")
    fi
}

run node-basic node "$HERE/node-basic.mjs"
run python-basic "$HERE/.venv/bin/python" "$HERE/python_basic.py"
run node-spec node "$HERE/node-spec.mjs"
run python-spec "$HERE/.venv/bin/python" "$HERE/python_spec.py"
run frontend-spec node "$HERE/frontend-spec.mjs"

echo
node "$HERE/report.mjs"
echo "(written to sdk-tests/report.txt)"

if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "signalbox is no longer running" >&2
    failed+=(server)
fi
if ((${#failed[@]})); then
    echo "sdk-tests: FAILED: ${failed[*]}"
    exit 1
fi
echo "sdk-tests: the basic SDK checks passed and every runner completed"
