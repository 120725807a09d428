#!/usr/bin/env bash
# Action sets benchmark: signal → flag change latency (issue "action sets", benchmark).
#
# Builds the release binary into its own target dir (/tmp/sbx-actions-bench, so builds in
# target/ are left alone), starts `signalbox serve` on a fresh SQLite database in a temp dir
# with the limits that would cap the load lifted (`--signal-rate-limit 0
# --action-runs-per-minute 0`, no count limits) and `--webhook-allow-cidr 127.0.0.1/32`, and
# creates:
#   - a service account `bench-actor` (editor), the actor of every action set;
#   - FLAGS flags `act-00`… (off in development), and per flag a signal endpoint `act-NN` with
#     a token and two action sets on it: payload `on` IN ["true"] → TOGGLE_FEATURE_ON, and
#     `on` IN ["false"] → TOGGLE_FEATURE_OFF (each signal writes two pending runs; the runner
#     drops the one whose filter does not hold);
#   - a webhook on `flag.updated` to the driver's receiver on 127.0.0.1, and a client SDK token
#     for development.
# Then bench/actions-driver.mjs (Node, the official unleash-client pinned by sdk-tests'
# package-lock.json) sends RATE signals/s for WARMUP + DURATION seconds, endpoint i mod FLAGS in
# turn, `on` alternating per endpoint, so every signal flips its flag; and measures, per signal,
# from its ingest 202 to
#   1. the change visible through the API (GET …/flags/{key}/environments/development, polled
#      by the driver from the 202 on),
#   2. the `flag.updated` webhook arriving at the driver's receiver,
#   3. the streaming Node SDK reporting the new state (isEnabled on its `changed` event);
# bench/actions-report.py matches the observations to signals (the database's flag.updated
# events are the ground truth of each flag's changes) and prints p50/p90/p99/max of each and
# the counts, latency over time, then a server-side breakdown from the database (signal
# received → run started → flag.updated committed → run finished; commit → API, webhook, SDK);
# this script adds the CPU used by signalbox, the driver and everything else.
#
# Environment: RATE (default 100 signals/s), DURATION (25 s measured), WARMUP (3 s, not
# counted), FLAGS (50 flag/endpoint pairs: a flag gets a signal every FLAGS/RATE s, so the
# changes of one flag do not overlap), POLL_MS (1: API poll spacing for the first
# POLL_FAST_FOR_MS=250 ms after the 202), POLL_SLOW_MS (10, after that; or 5 % of the wait if
# longer), POLL_API=0 (no API polling: the runner measured without that load), DRAIN (20 s:
# longest wait for the last changes), SKIP_BUILD=1 (reuse the release build), BENCH_TARGET_DIR
# (default /tmp/sbx-actions-bench), SERVE_ARGS (extra `serve` flags), NODE_MODULES (a
# node_modules holding unleash-client; default sdk-tests/node_modules if `npm ci` was run there,
# else sdk-tests' package.json and package-lock.json are installed with `npm ci` into
# $BENCH_TARGET_DIR/node), QUIET_CORES (0.15) and QUIET_MAX_WAIT (1800 s) for the quiet-machine
# wait, KEEP_WORK=1 (keep the temp dir: server log, database, driver output, per-signal
# timings in signals.json).
#
# Only 127.0.0.1 is contacted (apart from `npm ci` when the SDK is not installed yet). Every
# process it starts is killed on exit (trap).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RATE="${RATE:-100}"
DURATION="${DURATION:-25}"
WARMUP="${WARMUP:-3}"
FLAGS="${FLAGS:-50}"
POLL_MS="${POLL_MS:-1}"
POLL_FAST_FOR_MS="${POLL_FAST_FOR_MS:-250}"
POLL_SLOW_MS="${POLL_SLOW_MS:-10}"
DRAIN="${DRAIN:-20}"
TARGET_DIR="${BENCH_TARGET_DIR:-/tmp/sbx-actions-bench}"
ADMIN_EMAIL=admin@signalbox.local
ADMIN_PASSWORD='bench password 123'
PROJECT=/v1/projects/default

SIGNALBOX="$TARGET_DIR/release/signalbox"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/signalbox-actions-bench.XXXXXX")"
PIDS=()

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

cleanup() {
    local pid
    for pid in "${PIDS[@]:-}"; do
        if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; fi
    done
    for pid in "${PIDS[@]:-}"; do
        if [[ -n "$pid" ]]; then wait "$pid" 2>/dev/null || true; fi
    done
    if [[ "${KEEP_WORK:-0}" != 1 ]]; then rm -rf "$WORK"; else log "kept $WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools ---------------------------------------------------------------------------------
for tool in curl jq python3 awk node npm; do command -v "$tool" >/dev/null || die "$tool is required"; done
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || die "node >= 20 is required"

# --- build ---------------------------------------------------------------------------------
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "CARGO_TARGET_DIR=$TARGET_DIR cargo build --release -p signalbox"
    (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release -q -p signalbox)
fi
[[ -x "$SIGNALBOX" ]] || die "$SIGNALBOX missing; run without SKIP_BUILD=1"

# The Node SDK: the version sdk-tests pins (package-lock.json), nothing unpinned.
if [[ -z "${NODE_MODULES:-}" ]]; then
    if [[ -f "$ROOT/sdk-tests/node_modules/unleash-client/package.json" ]]; then
        NODE_MODULES="$ROOT/sdk-tests/node_modules"
    else
        NODE_MODULES="$TARGET_DIR/node/node_modules"
        if ! cmp -s "$ROOT/sdk-tests/package-lock.json" "$TARGET_DIR/node/package-lock.json" ||
            [[ ! -f "$NODE_MODULES/unleash-client/package.json" ]]; then
            log "npm ci (sdk-tests' package.json and package-lock.json) in $TARGET_DIR/node"
            mkdir -p "$TARGET_DIR/node"
            cp "$ROOT/sdk-tests/package.json" "$ROOT/sdk-tests/package-lock.json" "$TARGET_DIR/node/"
            (cd "$TARGET_DIR/node" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
        fi
    fi
fi
[[ -f "$NODE_MODULES/unleash-client/package.json" ]] || die "no unleash-client in $NODE_MODULES"

# --- helpers -------------------------------------------------------------------------------
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_ready URL PID: polls until URL answers 2xx; fails if PID dies or 30 s pass.
wait_ready() {
    local url="$1" pid="$2" deadline=$((SECONDS + 30))
    until curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || die "server (pid $pid) exited before $url answered"
        ((SECONDS < deadline)) || die "$url did not answer within 30 s"
        sleep 0.01
    done
}

stop_pid() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

CLK_TCK="$(getconf CLK_TCK)"
# cpu_ticks PID: user + system clock ticks the process has used so far.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); split($0, f, " "); print f[12] + f[13] }' "/proc/$1/stat"; }
# sys_ticks: "processes irq steal" clock ticks of the whole machine.
sys_ticks() { awk '/^cpu / { print $2 + $3 + $4, $7 + $8, $9 }' /proc/stat; }

# thread_ticks PID: "tid name ticks" for each thread of PID.
thread_ticks() {
    local stat
    for stat in /proc/"$1"/task/*/stat; do
        awk '{ tid = $1; match($0, /\(.*\)/); name = substr($0, RSTART + 1, RLENGTH - 2); gsub(/ /, "_", name)
               rest = substr($0, RSTART + RLENGTH + 1); split(rest, f, " "); print tid, name, f[12] + f[13] }' "$stat" 2>/dev/null || true
    done
}

# thread_split BEFORE AFTER SECONDS: cores used per thread name between two snapshots.
thread_split() {
    awk -v hz="$CLK_TCK" -v s="$3" 'NR == FNR { before[$1] = $3; next }
        { used[$2] += $3 - before[$1]; count[$2]++ }
        END { for (n in used) if (used[n] > 0) printf "%.2f %s×%d\n", used[n] / hz / s, n, count[n] }' "$1" "$2" |
        sort -rn | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }'
}

# wait_for_quiet: waits while another benchmark runs, or while anything but signalbox keeps
# more than QUIET_CORES busy (a build or a test run on this 2-core box skews every figure), for
# at most QUIET_MAX_WAIT seconds; then goes on with a warning. Sets QUIET to what it saw.
QUIET_CORES="${QUIET_CORES:-0.15}"
QUIET_MAX_WAIT="${QUIET_MAX_WAIT:-1800}"
others_busy() { # cores used by anything but signalbox over 2 s
    local a b sa=0 sb=0
    a="$(sys_ticks)"
    [[ -z "${SB_PID:-}" ]] || sa="$(cpu_ticks "$SB_PID")"
    sleep 2
    b="$(sys_ticks)"
    [[ -z "${SB_PID:-}" ]] || sb="$(cpu_ticks "$SB_PID")"
    awk -v a="$a" -v b="$b" -v s="$((sb - sa))" -v hz="$CLK_TCK" \
        'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.2f", (y[1] + y[2] + y[3] - x[1] - x[2] - x[3] - s) / hz / 2 }'
}
wait_for_quiet() {
    local start=$SECONDS busy announced=0
    while :; do
        if pgrep -x wrk >/dev/null || pgrep -x hey >/dev/null ||
            pgrep -f 'bench/(fanout|ingest|client-api)\.sh' >/dev/null ||
            pgrep -f 'signalbox-bench-(receiver|bare)' >/dev/null; then
            busy="benchmark"
        else
            busy="$(others_busy)"
            awk -v b="$busy" -v q="$QUIET_CORES" 'BEGIN { exit !(b <= q) }' && { QUIET="$busy"; return 0; }
        fi
        if ((SECONDS - start >= QUIET_MAX_WAIT)); then
            log "warning: the machine is still busy ($busy) after ${QUIET_MAX_WAIT}s; measuring anyway"
            QUIET="busy: $busy"
            return 0
        fi
        if ((announced == 0)); then
            log "waiting for the machine to be quiet (another benchmark, or $busy cores used by other processes)"
            ps -eo pcpu=,comm= --sort=-pcpu | head -3 | sed 's/^/    /' >&2
            announced=1
        fi
        sleep 10
    done
}

api() { # api METHOD PATH JWT [JSON]
    local args=(-fsS --max-time 30 -X "$1" "$SB_URL$2" -H 'Content-Type: application/json')
    [[ -n "$3" ]] && args+=(-H "Authorization: Bearer $3")
    [[ $# -ge 4 ]] && args+=(--data "$4")
    curl "${args[@]}"
}

# --- run -----------------------------------------------------------------------------------
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
# Changes to tests do not change the binary; with SKIP_BUILD=1 the binary may be older still.
if ! git -C "$ROOT" diff --quiet HEAD -- crates ':(exclude)crates/*/tests' 2>/dev/null; then
    COMMIT="$COMMIT + uncommitted changes in crates/"
fi
[[ "${SKIP_BUILD:-0}" != 1 ]] || COMMIT="$COMMIT (SKIP_BUILD: binary built $(date -u -r "$SIGNALBOX" '+%H:%M UTC'))"
CPU_MODEL="$(lscpu 2>/dev/null | awk -F': *' '/^Model name/ { print $2; exit }')"
[[ -n "$CPU_MODEL" ]] || CPU_MODEL="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
SDK_VERSION="$(node -p "require('$NODE_MODULES/unleash-client/package.json').version")"
printf 'Signalbox action sets benchmark — %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
printf 'nproc %s; CPU %s; commit %s; SQLite; %s signals/s for %s s (+%s s warm-up) over %s flag/endpoint pairs; unleash-client %s on node %s\n\n' \
    "$(nproc)" "${CPU_MODEL:-unknown}" "$COMMIT" "$RATE" "$DURATION" "$WARMUP" "$FLAGS" "$SDK_VERSION" "$(node --version)"

mkdir -p "$WORK/sqlite"
SB_PORT="$(free_port)"
HOOK_PORT="$(free_port)"
SB_URL="http://127.0.0.1:$SB_PORT"
SECRET_KEY="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
log "signalbox serve on a fresh SQLite database"
# shellcheck disable=SC2086 # SERVE_ARGS is a list of flags
(cd "$WORK/sqlite" && exec "$SIGNALBOX" serve --listen "127.0.0.1:$SB_PORT" \
    --database-url "sqlite://$WORK/sqlite/signalbox.db" --secret-key "$SECRET_KEY" \
    --admin-email "$ADMIN_EMAIL" --admin-password "$ADMIN_PASSWORD" --log-level warn \
    --signal-rate-limit 0 --max-signal-endpoints 0 --max-tokens-per-endpoint 0 \
    --max-action-sets-per-project 0 --action-runs-per-minute 0 \
    --webhook-allow-cidr 127.0.0.1/32 ${SERVE_ARGS:-}) >>"$WORK/server.log" 2>&1 &
SB_PID=$!
PIDS+=("$SB_PID")
wait_ready "$SB_URL/readyz" "$SB_PID"

JWT="$(api POST /v1/auth/login "" "$(jq -nc --arg e "$ADMIN_EMAIL" --arg p "$ADMIN_PASSWORD" '{email: $e, password: $p}')" | jq -er .token)"

log "creating the actor, $FLAGS flags, endpoints with a token each, $((2 * FLAGS)) action sets, a webhook, an SDK token"
ACTOR_ID="$(api POST /v1/service-accounts "$JWT" '{"name":"bench-actor","role":"editor"}' | jq -er .id)"
FLAGS_JSON="[]"
for ((i = 0; i < FLAGS; i++)); do
    key="$(printf 'act-%02d' "$i")"
    api POST "$PROJECT/flags" "$JWT" "{\"key\":\"$key\"}" >/dev/null
    endpoint_id="$(api POST /v1/signal-endpoints "$JWT" "{\"name\":\"$key\"}" | jq -er .id)"
    token="$(api POST "/v1/signal-endpoints/$endpoint_id/tokens" "$JWT" '{"name":"bench"}' | jq -er .token)"
    for state in on off; do
        value=true action=TOGGLE_FEATURE_ON
        [[ "$state" == off ]] && value=false action=TOGGLE_FEATURE_OFF
        api POST "$PROJECT/action-sets" "$JWT" "$(jq -nc --arg name "$key $state" --arg actor "$ACTOR_ID" \
            --arg source "$endpoint_id" --arg value "$value" --arg action "$action" --arg flag "$key" '
            {name: $name, actor_id: $actor,
             match: {source: "signal-endpoint", source_id: $source, payload: {on: {operator: "IN", values: [$value]}}},
             actions: [{action: $action, execution_params: {feature_name: $flag, environment: "development"}}]}')" >/dev/null
    done
    FLAGS_JSON="$(jq -c --arg k "$key" --arg t "$token" '. + [{key: $k, endpoint: $k, token: $t}]' <<<"$FLAGS_JSON")"
done
api POST /v1/webhooks "$JWT" "{\"name\":\"bench-flag-updated\",\"url\":\"http://127.0.0.1:$HOOK_PORT/hook\",\"events\":[\"flag.updated\"]}" >/dev/null
CLIENT_TOKEN="$(api POST /v1/sdk-tokens "$JWT" '{"name":"bench-actions","type":"client","environment":"development"}' | jq -er .secret)"

jq -n --arg host 127.0.0.1 --argjson port "$SB_PORT" --arg jwt "$JWT" --arg clientToken "$CLIENT_TOKEN" \
    --argjson flags "$FLAGS_JSON" --argjson rate "$RATE" --argjson durationS "$DURATION" --argjson warmupS "$WARMUP" \
    --argjson hookPort "$HOOK_PORT" --arg nodeModules "$NODE_MODULES" --argjson pollMs "$POLL_MS" \
    --argjson pollFastForMs "$POLL_FAST_FOR_MS" --argjson pollSlowMs "$POLL_SLOW_MS" --argjson drainS "$DRAIN" \
    --arg rawOut "$WORK/signals.json" --argjson pollApi "$([[ "${POLL_API:-1}" == 0 ]] && echo false || echo true)" \
    '{host: $host, port: $port, jwt: $jwt, clientToken: $clientToken, flags: $flags, rate: $rate,
      durationS: $durationS, warmupS: $warmupS, hookPort: $hookPort, nodeModules: $nodeModules, pollMs: $pollMs,
      pollFastForMs: $pollFastForMs, pollSlowMs: $pollSlowMs, drainS: $drainS, rawOut: $rawOut, pollApi: $pollApi}' >"$WORK/driver.json"

wait_for_quiet
log "driving $RATE signals/s for $WARMUP + $DURATION s"
thread_ticks "$SB_PID" >"$WORK/threads-0.txt"
S0="$(cpu_ticks "$SB_PID")"
SYS0="$(sys_ticks)"
WALL0="$(date +%s%N)"
node "$ROOT/bench/actions-driver.mjs" "$WORK/driver.json" >"$WORK/driver.txt" 2>&1 &
DRIVER_PID=$!
PIDS+=("$DRIVER_PID")
# The driver's CPU, sampled until it exits (its ticks vanish with it).
D_TICKS=0
while kill -0 "$DRIVER_PID" 2>/dev/null; do
    t="$(cpu_ticks "$DRIVER_PID" 2>/dev/null || true)"
    [[ -n "$t" ]] && D_TICKS="$t"
    sleep 0.2
done
wait "$DRIVER_PID" || { cat "$WORK/driver.txt" >&2; die "the driver failed"; }
WALL1="$(date +%s%N)"
S1="$(cpu_ticks "$SB_PID")"
SYS1="$(sys_ticks)"
thread_ticks "$SB_PID" >"$WORK/threads-1.txt"
cat "$WORK/driver.txt"

SECS="$(awk -v a="$WALL0" -v b="$WALL1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')"
SB_CORES="$(awk -v a="$S0" -v b="$S1" -v hz="$CLK_TCK" -v s="$SECS" 'BEGIN { printf "%.2f", (b - a) / hz / s }')"
DRIVER_CORES="$(awk -v d="$D_TICKS" -v hz="$CLK_TCK" -v s="$SECS" 'BEGIN { printf "%.2f", d / hz / s }')"
read -r OTHER_CORES IRQ_CORES STEAL_CORES < <(awk -v a="$SYS0" -v b="$SYS1" -v srv="$SB_CORES" -v d="$DRIVER_CORES" -v hz="$CLK_TCK" -v s="$SECS" \
    'BEGIN { split(a, x, " "); split(b, y, " "); o = (y[1] - x[1]) / hz / s - srv - d
             printf "%.2f %.2f %.2f\n", (o > 0) ? o : 0, (y[2] - x[2]) / hz / s, (y[3] - x[3]) / hz / s }')
printf '\ncores (of %s) over the %s s of load and drain: signalbox %s, driver (node) %s, irq/softirq %s, steal %s, other processes %s (quiet check before: %s)\n' \
    "$(nproc)" "$SECS" "$SB_CORES" "$DRIVER_CORES" "$IRQ_CORES" "$STEAL_CORES" "$OTHER_CORES" "$QUIET"
printf 'signalbox by thread (cores): %s\n' "$(thread_split "$WORK/threads-0.txt" "$WORK/threads-1.txt" "$SECS")"

# --- matching, latencies, server-side breakdown ----------------------------------------------
sleep 1
python3 "$ROOT/bench/actions-report.py" "$WORK/sqlite/signalbox.db" "$WORK/signals.json" | tee "$WORK/report.txt"

WARNINGS="$(grep -cE 'WARN|ERROR' "$WORK/server.log" || true)"
printf '\nserver log: %s WARN/ERROR lines' "$WARNINGS"
if ((WARNINGS > 0)); then
    printf '; most frequent:\n'
    grep -E 'WARN|ERROR' "$WORK/server.log" | sed -E 's/^[^A-Z]*//' | cut -c1-160 | sort | uniq -c | sort -rn | head -5
else
    printf '\n'
fi
stop_pid "$SB_PID"

res() { grep "^RESULT channel=$1 " "$WORK/report.txt" | sed -E "s/.* $2=([^ ]+).*/\1/"; }
verdict() { awk -v v="$1" -v t="$2" -v m="$3" 'BEGIN { print (v == "nan") ? "n/a" : (v + 0 < t && m == 0) ? "met" : "MISSED" }'; }
echo
printf 'Summary — nproc %s, %s, commit %s, SQLite, %s signals/s × %s s, %s flags\n' "$(nproc)" "${CPU_MODEL:-unknown}" \
    "$COMMIT" "$RATE" "$DURATION" "$FLAGS"
printf '%-36s %6s %9s %9s %9s %9s %7s %12s %8s\n' 'ingest 202 →' n 'p50 ms' 'p90 ms' 'p99 ms' 'max ms' 'unseen' target verdict
for ch in api hook sdk; do
    case "$ch" in
    api) label="1. API GET …/environments/development" target=50 ;;
    hook) label="2. flag.updated webhook received" target="" ;;
    sdk) label="3. Node SDK (streaming) isEnabled" target=1000 ;;
    esac
    printf '%-36s %6s %9s %9s %9s %9s %7s %12s %8s\n' "$label" "$(res "$ch" n)" "$(res "$ch" p50)" "$(res "$ch" p90)" \
        "$(res "$ch" p99)" "$(res "$ch" max)" "$(res "$ch" missed)" "${target:+p99 < $target ms}" \
        "${target:+$(verdict "$(res "$ch" p99)" "$target" "$(res "$ch" missed)")}"
done
printf 'cores: signalbox %s, driver %s, other processes %s (of %s)\n' "$SB_CORES" "$DRIVER_CORES" "$OTHER_CORES" "$(nproc)"
