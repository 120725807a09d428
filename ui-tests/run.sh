#!/usr/bin/env bash
# Signalbox's admin UI in real browsers: builds the server, starts it on a free 127.0.0.1
# port with a fresh SQLite database, and runs against that one server, one file at a time
# (node:test), first every ui-tests/*.test.mjs with the system's Chromium driven by
# playwright-core, then every ui-tests/firefox/*.test.mjs with the system's Firefox ESR driven
# over WebDriver BiDi by puppeteer-core:
#   - signal-endpoints.test.mjs  log in; create an endpoint and a token; a signal sent with
#                                curl shows live (SSE, no reload); pause/resume; a viewer has
#                                no admin controls and is refused (403); a form post without
#                                the CSRF token is refused (403); log out.
#   - webhooks.test.mjs          a webhook to a receiver on 127.0.0.1; a test event shows
#                                as succeeded, its attempt, redeliver; viewer; delete asks.
#   - flags.test.mjs             create a flag, toggle it, kill it with a reason, revive it;
#                                add a strategy with a constraint, a bad rollout refused.
#   - typed.test.mjs             declare a custom type; a profile's conditions checked as
#                                typed; a typed signal makes a lead with its score; an action
#                                set made with the form shows its run; viewer; CSRF.
#   - settings.test.mjs          an API token shown once works; the audit log lists it.
#   - phone.test.mjs             at 390 px wide every main page fits (tables scroll inside
#                                it) and a flag toggles from its list.
#   - firefox/smoke.test.mjs     in Firefox: log in; an endpoint and a token made with the
#                                forms; a curl signal shows live (SSE, no reload); a flag
#                                toggled in the Flags list; a viewer has no admin controls and
#                                is refused (403); a form post without the CSRF token is
#                                refused (403); every page of the navigation has a title, one
#                                <h1> and labelled controls; log out.
# Screenshots (and, for a failed step, the page's HTML) go to a fresh directory printed at
# the end, Firefox's to its firefox/ subdirectory. Exits non-zero when a test fails; the
# Firefox files run even when a Chromium one failed.
#
# Needs `npm ci` in ui-tests/, Chromium at /usr/bin/chromium and Firefox ESR at
# /usr/bin/firefox-esr (.ci/run sees to all three). Without firefox-esr the Firefox files are
# skipped, and the run says so. Neither playwright-core nor puppeteer-core ever downloads a
# browser.
#
#   bash ui-tests/run.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
cd "$ROOT"

# The server is configured by flags alone: no SIGNALBOX_* setting of the caller's reaches it.
unset DATABASE_URL
while IFS= read -r name; do unset "$name"; done < <(compgen -e | grep '^SIGNALBOX_' || true)

# CHROMIUM_PATH: another Chromium build, for a run by hand; lib/browser.mjs reads it too.
export CHROMIUM_PATH=${CHROMIUM_PATH:-/usr/bin/chromium}
CHROMIUM=$CHROMIUM_PATH
# FIREFOX_PATH: likewise for Firefox (lib/firefox.mjs).
export FIREFOX_PATH=${FIREFOX_PATH:-/usr/bin/firefox-esr}
FIREFOX=$FIREFOX_PATH
for module in playwright-core puppeteer-core; do
    [[ -d $HERE/node_modules/$module ]] || { echo "run 'npm ci' in ui-tests/ first" >&2; exit 2; }
done
[[ -x $CHROMIUM ]] || {
    echo "no $CHROMIUM: apt-get install -y --no-install-recommends chromium" >&2
    exit 2
}

echo "--> cargo build -p signalbox"
cargo build -p signalbox
SERVER_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/signalbox"

WORK=$(mktemp -d)
SCREENSHOT_DIR=$(mktemp -d -t signalbox-ui-screenshots.XXXXXX)
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
    echo "screenshots: $SCREENSHOT_DIR"
    exit "$rc"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
export SIGNALBOX_URL="http://127.0.0.1:$PORT"
export ADMIN_EMAIL=admin@signalbox.local
export ADMIN_PASSWORD='ui test password 123'
export SCREENSHOT_DIR
SECRET_KEY=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')

# --signal-rate-limit 0: the tests send signals less than a second apart on one endpoint.
echo "--> starting signalbox on $SIGNALBOX_URL (database in $WORK)"
"$SERVER_BIN" serve \
    --listen "127.0.0.1:$PORT" \
    --database-url "sqlite://$WORK/db.sqlite" \
    --secret-key "$SECRET_KEY" \
    --admin-email "$ADMIN_EMAIL" --admin-password "$ADMIN_PASSWORD" \
    --public-url "$SIGNALBOX_URL" \
    --signal-rate-limit 0 \
    --webhook-allow-cidr 127.0.0.1/32 \
    --action-runs-per-minute 0 \
    --log-level warn >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

for _ in $(seq 1 300); do
    if curl -fsS "$SIGNALBOX_URL/readyz" >/dev/null 2>&1; then break; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "signalbox exited before it was ready" >&2; exit 1; }
    sleep 0.1
done
curl -fsS "$SIGNALBOX_URL/readyz" >/dev/null || { echo "signalbox was not ready within 30 s" >&2; exit 1; }

module_version() {
    node -p "require('./ui-tests/node_modules/$1/package.json').version"
}

rc=0
echo "--> Chromium: playwright-core $(module_version playwright-core), $("$CHROMIUM" --version 2>/dev/null || echo 'chromium (version unknown)'), node $(node --version)"
node --test --test-concurrency=1 --test-reporter=spec "$HERE"/*.test.mjs || rc=$?

if [[ -x $FIREFOX ]]; then
    echo "--> Firefox: puppeteer-core $(module_version puppeteer-core) (WebDriver BiDi), $("$FIREFOX" --version 2>/dev/null || echo 'firefox (version unknown)')"
    SCREENSHOT_DIR="$SCREENSHOT_DIR/firefox" \
        node --test --test-concurrency=1 --test-reporter=spec "$HERE"/firefox/*.test.mjs || rc=$?
else
    echo "--> Firefox: SKIPPED, no $FIREFOX (apt-get install -y --no-install-recommends firefox-esr)"
fi

if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "signalbox is no longer running" >&2
    rc=1
fi
if ((rc != 0)); then
    echo "ui-tests: FAILED"
    exit 1
fi
echo "ui-tests: passed"
