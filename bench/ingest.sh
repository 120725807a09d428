#!/usr/bin/env bash
# Ingest benchmark (DESIGN.md "Performance budget"; issue 4 "Benchmark").
#
# Builds the release binaries, starts `signalbox serve` on a fresh SQLite database with limits
# lifted, creates a signal endpoint and token, and drives `POST /api/signal-endpoint/bench`
# with ~300-byte JSON bodies from wrk (64 connections for 10 s, then 256). The same load then
# goes to bench/bare-server (parses the same JSON, answers 202, stores nothing). Prints
# signals/s, p50/p99, non-2xx and the ratio signalbox/bare; then the Postgres figure when
# `psql -h 127.0.0.1 -U postgres` works. Also idle RSS and start-up time.
#
# The host's speed drifts by tens of percent within minutes (bench/RESULTS.md), so the two
# servers run side by side and take turns: ROUNDS rounds per connection count, each a wrk run
# against signalbox and then one against the bare server; the ratio printed is the median of
# the rounds' ratios (each round's pair measured within seconds of each other).
#
# Environment: ROUNDS (default 3), DURATION (default 10s), CONNECTIONS (default "64 256"), THREADS (default 2),
# SKIP_BUILD=1 to reuse the release build in CARGO_TARGET_DIR (default target/), SKIP_POSTGRES=1, PG_URL_BASE (default
# postgres://postgres@127.0.0.1:5432), PERF=1 to record a perf profile of signalbox during
# an extra 64-connection run (written to the temp dir, summary printed), PG_PLAIN=0 to skip
# the extra Postgres run with sslmode=disable, KEEP_WORK=1 to keep the temp dir.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DURATION="${DURATION:-10s}"
ROUNDS="${ROUNDS:-3}"
CONNECTIONS="${CONNECTIONS:-64 256}"
THREADS="${THREADS:-2}"
PG_URL_BASE="${PG_URL_BASE:-postgres://postgres@127.0.0.1:5432}"
PG_DB=sbx_bench
ADMIN_EMAIL=admin@signalbox.local
ADMIN_PASSWORD='bench password 123'
ENDPOINT=bench

SIGNALBOX="${CARGO_TARGET_DIR:-$ROOT/target}/release/signalbox"
BARE="${CARGO_TARGET_DIR:-$ROOT/target}/release/signalbox-bench-bare"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/signalbox-bench.XXXXXX")"
PIDS=()
PG_CREATED=0

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
    if [[ "$PG_CREATED" == 1 ]]; then
        PGOPTIONS='-c client_min_messages=warning' psql -h 127.0.0.1 -U postgres -w -q \
            -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    if [[ "${KEEP_WORK:-0}" != 1 ]]; then rm -rf "$WORK"; else log "kept $WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools ---------------------------------------------------------------------------------
for tool in curl jq python3; do command -v "$tool" >/dev/null || die "$tool is required"; done
if ! command -v wrk >/dev/null; then
    SUDO=""
    [[ "$(id -u)" == 0 ]] || SUDO="sudo"
    log "installing wrk"
    if ! $SUDO apt-get install -y -q wrk >/dev/null 2>&1; then
        $SUDO apt-get update -q >/dev/null
        $SUDO apt-get install -y -q wrk >/dev/null
    fi
fi

# --- build ---------------------------------------------------------------------------------
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "cargo build --release -p signalbox -p signalbox-bench-bare"
    (cd "$ROOT" && cargo build --release -q -p signalbox -p signalbox-bench-bare)
fi
[[ -x "$SIGNALBOX" && -x "$BARE" ]] || die "release binaries missing; run without SKIP_BUILD=1"

# --- helpers -------------------------------------------------------------------------------
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

now_ns() { date +%s%N; }

# wait_ready URL PID: polls until URL answers 2xx; fails if PID dies or 30 s pass.
wait_ready() {
    local url="$1" pid="$2" deadline=$((SECONDS + 30))
    until curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || die "server (pid $pid) exited before $url answered"
        ((SECONDS < deadline)) || die "$url did not answer within 30 s"
        sleep 0.002
    done
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# start_signalbox NAME [extra serve args...]: starts the server, sets SB_PID, SB_URL,
# SB_STARTUP_MS (exec → /readyz answering) and SB_RSS_KIB (right after readiness).
start_signalbox() {
    local name="$1"
    shift
    local dir="$WORK/$name" port
    mkdir -p "$dir"
    port="$(free_port)"
    SB_URL="http://127.0.0.1:$port"
    local start
    start="$(now_ns)"
    (cd "$dir" && exec "$SIGNALBOX" serve --listen "127.0.0.1:$port" \
        --signal-rate-limit 0 --max-signal-endpoints 0 --max-tokens-per-endpoint 0 \
        --admin-email "$ADMIN_EMAIL" --admin-password "$ADMIN_PASSWORD" --log-level warn "$@") \
        >>"$dir/server.log" 2>&1 &
    SB_PID=$!
    PIDS+=("$SB_PID")
    wait_ready "$SB_URL/readyz" "$SB_PID"
    SB_STARTUP_MS=$((($(now_ns) - start) / 1000000))
    SB_RSS_KIB="$(rss_kib "$SB_PID")"
}

stop_pid() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

api() { # api METHOD PATH JWT [JSON]
    local args=(-fsS --max-time 30 -X "$1" "$SB_URL$2" -H 'Content-Type: application/json')
    [[ -n "$3" ]] && args+=(-H "Authorization: Bearer $3")
    [[ $# -ge 4 ]] && args+=(--data "$4")
    curl "${args[@]}"
}

# setup_endpoint: logs in, creates the endpoint and a token; sets JWT, ENDPOINT_ID, TOKEN.
setup_endpoint() {
    JWT="$(api POST /v1/auth/login "" "$(jq -nc --arg e "$ADMIN_EMAIL" --arg p "$ADMIN_PASSWORD" '{email: $e, password: $p}')" | jq -er .token)"
    ENDPOINT_ID="$(api POST /v1/signal-endpoints "$JWT" "{\"name\":\"$ENDPOINT\"}" | jq -er .id)"
    TOKEN="$(api POST "/v1/signal-endpoints/$ENDPOINT_ID/tokens" "$JWT" '{"name":"wrk"}' | jq -er .token)"
}

stored_signals() {
    api GET "/v1/signal-endpoints/$ENDPOINT_ID/signals?limit=1" "$JWT" | jq -er .total
}

# The wrk script: a ~300-byte JSON signal, bearer token from BENCH_TOKEN, and a done hook
# that prints one machine-readable line.
BODY='{"source":"alertmanager","event":"alert.firing","severity":"critical","service":"checkout-api","environment":"production","alert":{"name":"HighErrorRate","value":0.073,"threshold":0.05,"window":"5m"},"labels":{"team":"payments","runbook":"https://runbooks.example.com/5xx"},"fired_at":"2026-04-01T12:00:00Z"}'
LUA="$WORK/ingest.lua"
cat >"$LUA" <<EOF
wrk.method = "POST"
wrk.body = [[$BODY]]
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("BENCH_TOKEN")
if token ~= nil and token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "BENCH requests=%d duration_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d max_us=%d\n",
        summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
        latency:percentile(50), latency:percentile(99), latency.max))
end
EOF

# run_wrk LABEL URL CONNECTIONS [TOKEN]: runs wrk, keeps its output, prints a result line and
# sets R_RPS, R_OK (2xx responses), R_P50, R_P99, R_NON2XX, R_ERRORS.
run_wrk() {
    local label="$1" url="$2" conns="$3" token="${4:-}" out
    out="$WORK/wrk-${label// /_}-$conns.txt"
    BENCH_TOKEN="$token" wrk -t"$THREADS" -c"$conns" -d"$DURATION" --latency -s "$LUA" "$url" >"$out" 2>&1 ||
        { cat "$out" >&2; die "wrk failed"; }
    local line
    line="$(grep '^BENCH ' "$out")" || { cat "$out" >&2; die "wrk printed no summary"; }
    local requests duration_us non2xx connect rd wr timeout p50 p99
    requests="$(sed -E 's/.* requests=([0-9]+).*/\1/' <<<"$line")"
    duration_us="$(sed -E 's/.* duration_us=([0-9]+).*/\1/' <<<"$line")"
    non2xx="$(sed -E 's/.* non2xx=([0-9]+).*/\1/' <<<"$line")"
    connect="$(sed -E 's/.* connect=([0-9]+).*/\1/' <<<"$line")"
    rd="$(sed -E 's/.* read=([0-9]+).*/\1/' <<<"$line")"
    wr="$(sed -E 's/.* write=([0-9]+).*/\1/' <<<"$line")"
    timeout="$(sed -E 's/.* timeout=([0-9]+).*/\1/' <<<"$line")"
    p50="$(sed -E 's/.* p50_us=([0-9]+).*/\1/' <<<"$line")"
    p99="$(sed -E 's/.* p99_us=([0-9]+).*/\1/' <<<"$line")"
    R_OK=$((requests - non2xx))
    R_NON2XX="$non2xx"
    R_ERRORS=$((connect + rd + wr + timeout))
    R_RPS="$(awk -v n="$R_OK" -v d="$duration_us" 'BEGIN { printf "%.0f", n / (d / 1e6) }')"
    R_P50="$(awk -v u="$p50" 'BEGIN { printf "%.2f", u / 1000 }')"
    R_P99="$(awk -v u="$p99" 'BEGIN { printf "%.2f", u / 1000 }')"
    local wrk_non2xx
    wrk_non2xx="$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")"
    printf '%-22s c=%-4s %9s 2xx/s  p50 %8s ms  p99 %8s ms  2xx %8s  non-2xx %s (wrk: %s)  socket errors %s\n' \
        "$label" "$conns" "$R_RPS" "$R_P50" "$R_P99" "$R_OK" "$R_NON2XX" "${wrk_non2xx:-0}" "$R_ERRORS"
}

percent() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", 100 * a / b; else print "n/a" }'; }
ratio() { local p; p="$(percent "$1" "$2")"; if [[ "$p" == n/a ]]; then echo n/a; else printf '%s %%' "$p"; fi; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
largest() { printf '%s\n' "$@" | sort -g | tail -n 1; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

declare -A SB_RPS SB_P50 SB_P99 BARE_RPS BARE_P50 BARE_P99 RATIO RATIOS

printf 'Signalbox ingest benchmark — %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
printf 'nproc %s; CPU %s; wrk -t%s -d%s; %s rounds; body %s bytes\n\n' "$(nproc)" \
    "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" "$THREADS" "$DURATION" "$ROUNDS" "${#BODY}"

# --- the bare axum server (the baseline), running beside signalbox and idle between its turns
BARE_PORT="$(free_port)"
"$BARE" "$BARE_PORT" >"$WORK/bare.log" 2>&1 &
BARE_PID=$!
PIDS+=("$BARE_PID")
BARE_URL="http://127.0.0.1:$BARE_PORT/api/signal-endpoint/$ENDPOINT"
deadline=$((SECONDS + 10))
until curl -fsS -o /dev/null -X POST "$BARE_URL" -H 'Content-Type: application/json' --data "$BODY" 2>/dev/null; do
    kill -0 "$BARE_PID" 2>/dev/null || die "bare server exited"
    ((SECONDS < deadline)) || die "bare server did not answer"
    sleep 0.01
done

# --- signalbox on SQLite -------------------------------------------------------------------
SQLITE_URL="sqlite://$WORK/sqlite/signalbox.db"
log "signalbox (SQLite): first start on a fresh database"
start_signalbox sqlite --database-url "$SQLITE_URL"
FIRST_STARTUP_MS="$SB_STARTUP_MS"
FIRST_RSS_KIB="$SB_RSS_KIB"
stop_pid "$SB_PID"
log "signalbox (SQLite): restart on the migrated database"
start_signalbox sqlite --database-url "$SQLITE_URL"
printf 'start-up (exec → /readyz 200): first start %s ms (creates, migrates, seeds the owner), restart %s ms\n' \
    "$FIRST_STARTUP_MS" "$SB_STARTUP_MS"
printf 'idle RSS right after /readyz:   first start %s, restart %s\n\n' "$(mib "$FIRST_RSS_KIB")" "$(mib "$SB_RSS_KIB")"
IDLE_RSS_KIB="$SB_RSS_KIB"
SQLITE_RESTART_MS="$SB_STARTUP_MS"

setup_endpoint
LOGIN_RSS_KIB="$(rss_kib "$SB_PID")" # a login runs Argon2id (19 MiB by default)
SB_INGEST="$SB_URL/api/signal-endpoint/$ENDPOINT"
# Warm the token cache and check the request is accepted before measuring.
curl -fsS -o /dev/null -X POST "$SB_INGEST" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' --data "$BODY" || die "a test signal was refused"
SENT_OK=1 # the warm-up signal
for c in $CONNECTIONS; do
    sb_rps=() sb_p50=() sb_p99=() bare_rps=() bare_p50=() bare_p99=() ratios=()
    for ((round = 1; round <= ROUNDS; round++)); do
        run_wrk "signalbox sqlite" "$SB_INGEST" "$c" "$TOKEN"
        sb_rps+=("$R_RPS") sb_p50+=("$R_P50") sb_p99+=("$R_P99")
        SENT_OK=$((SENT_OK + R_OK))
        run_wrk "bare axum" "$BARE_URL" "$c"
        bare_rps+=("$R_RPS") bare_p50+=("$R_P50") bare_p99+=("$R_P99")
        ratios+=("$(percent "${sb_rps[-1]}" "$R_RPS")")
    done
    SB_RPS[$c]="$(median "${sb_rps[@]}")" SB_P50[$c]="$(median "${sb_p50[@]}")" SB_P99[$c]="$(largest "${sb_p99[@]}")"
    BARE_RPS[$c]="$(median "${bare_rps[@]}")" BARE_P50[$c]="$(median "${bare_p50[@]}")"
    BARE_P99[$c]="$(largest "${bare_p99[@]}")"
    RATIO[$c]="$(median "${ratios[@]}")"
    RATIOS[$c]="$(printf '%s %% / ' "${ratios[@]}")"
    RATIOS[$c]="${RATIOS[$c]% / }"
done
sleep 1 # let requests still in flight when wrk stopped finish
STORED="$(stored_signals)"
PEAK_KIB="$(hwm_kib "$SB_PID")"
printf 'stored signals: %s; 2xx counted by wrk (+1 warm-up): %s; difference %s (requests in flight when wrk stops are stored but not counted: at most the connection count per run)\n' \
    "$STORED" "$SENT_OK" "$((STORED - SENT_OK))"
printf 'signalbox peak RSS (VmHWM) after the SQLite runs: %s\n\n' "$(mib "$PEAK_KIB")"

if [[ "${PERF:-0}" == 1 ]] && command -v perf >/dev/null; then
    log "perf record of signalbox during a 64-connection run"
    perf record -F 999 -p "$SB_PID" -o "$WORK/perf.data" -- sleep 8 >/dev/null 2>&1 &
    PERF_PID=$!
    BENCH_TOKEN="$TOKEN" wrk -t"$THREADS" -c64 -d8s -s "$LUA" "$SB_INGEST" >/dev/null 2>&1 || true
    wait "$PERF_PID" || true
    echo "perf: share of samples by thread, then by symbol"
    perf report -i "$WORK/perf.data" --no-children --sort comm --stdio 2>/dev/null | grep -E '^ +[0-9]' || true
    perf report -i "$WORK/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null |
        grep -E '^ +[0-9]' | head -40 | cut -c1-160 || true
    echo
fi
stop_pid "$SB_PID"

stop_pid "$BARE_PID"
echo

# --- signalbox on Postgres -----------------------------------------------------------------
# The figure as specified: the plain URL (sqlx then negotiates TLS with a server that has
# ssl=on, even on 127.0.0.1). A second run on the same database with `?sslmode=disable`
# (PG_PLAIN=0 skips it) shows how much of the gap is the TLS/Nagle interaction — see
# RESULTS.md.
PG_RPS="" PG_P50="" PG_P99="" PGP_RPS="" PGP_P50="" PGP_P99=""
export PGOPTIONS='-c client_min_messages=warning'
pg() { psql -h 127.0.0.1 -U postgres -w -q "$@"; }
if [[ "${SKIP_POSTGRES:-0}" != 1 ]] && command -v psql >/dev/null && pg -c 'SELECT 1' >/dev/null 2>&1; then
    log "signalbox (Postgres)"
    pg -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null
    pg -c "CREATE DATABASE $PG_DB" >/dev/null
    PG_CREATED=1
    SECRET_KEY="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
    PG_URL="$PG_URL_BASE/$PG_DB"
    start_signalbox postgres --database-url "$PG_URL" --secret-key "$SECRET_KEY"
    PG_STARTUP_MS="$SB_STARTUP_MS" PG_RSS_KIB="$SB_RSS_KIB"
    setup_endpoint
    SB_INGEST="$SB_URL/api/signal-endpoint/$ENDPOINT"
    curl -fsS -o /dev/null -X POST "$SB_INGEST" -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' --data "$BODY" || die "a test signal was refused (Postgres)"
    run_wrk "signalbox postgres" "$SB_INGEST" 64 "$TOKEN"
    PG_RPS="$R_RPS" PG_P50="$R_P50" PG_P99="$R_P99"
    PG_SENT=$((R_OK + 1))
    sleep 1
    printf 'stored signals (Postgres): %s; 2xx counted by wrk (+1 warm-up): %s\n' "$(stored_signals)" "$PG_SENT"
    stop_pid "$SB_PID"
    start_signalbox postgres --database-url "$PG_URL" --secret-key "$SECRET_KEY"
    PG_RESTART_MS="$SB_STARTUP_MS"
    stop_pid "$SB_PID"
    printf 'Postgres start-up: first start %s ms, restart %s ms; idle RSS %s\n' \
        "$PG_STARTUP_MS" "$PG_RESTART_MS" "$(mib "$PG_RSS_KIB")"
    if [[ "${PG_PLAIN:-1}" == 1 ]]; then
        # Same database, key, endpoint and token (the session JWT stays valid: same key).
        start_signalbox postgres --database-url "$PG_URL?sslmode=disable" --secret-key "$SECRET_KEY"
        PGP_STARTUP_MS="$SB_STARTUP_MS"
        SB_INGEST="$SB_URL/api/signal-endpoint/$ENDPOINT"
        run_wrk "postgres sslmode=disable" "$SB_INGEST" 64 "$TOKEN"
        PGP_RPS="$R_RPS" PGP_P50="$R_P50" PGP_P99="$R_P99"
        sleep 1
        printf 'stored signals (Postgres, both runs): %s; 2xx counted by wrk (+1 warm-up): %s\n' \
            "$(stored_signals)" "$((PG_SENT + R_OK))"
        printf 'Postgres restart with sslmode=disable: %s ms\n' "$PGP_STARTUP_MS"
        stop_pid "$SB_PID"
    fi
    pg -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null
    PG_CREATED=0
    echo
else
    log "Postgres not reachable as postgres@127.0.0.1 (or SKIP_POSTGRES=1): skipped"
fi

# --- summary -------------------------------------------------------------------------------
row() { printf '%-36s %10s %10s %10s\n' "$@"; }
printf 'Summary (signals/s = 2xx/s and p50: medians of the rounds; p99: the largest of the rounds; ms)\n'
row run 'signals/s' p50 p99
for c in $CONNECTIONS; do row "signalbox SQLite @$c" "${SB_RPS[$c]}" "${SB_P50[$c]}" "${SB_P99[$c]}"; done
for c in $CONNECTIONS; do row "bare axum @$c" "${BARE_RPS[$c]}" "${BARE_P50[$c]}" "${BARE_P99[$c]}"; done
if [[ -n "$PG_RPS" ]]; then row "signalbox Postgres @64" "$PG_RPS" "$PG_P50" "$PG_P99"; fi
if [[ -n "$PGP_RPS" ]]; then row "signalbox Postgres sslmode=disable @64" "$PGP_RPS" "$PGP_P50" "$PGP_P99"; fi
for c in $CONNECTIONS; do
    printf 'ratio signalbox SQLite / bare @%-4s %s %%   (median of the rounds: %s; target >= 50 %%, stretch 65 %%)\n' \
        "$c" "${RATIO[$c]}" "${RATIOS[$c]}"
done
if [[ -n "$PG_RPS" && -n "${BARE_RPS[64]:-}" ]]; then
    printf 'ratio signalbox Postgres / bare @64  %s\n' "$(ratio "$PG_RPS" "${BARE_RPS[64]}")"
    if [[ -n "$PGP_RPS" ]]; then
        printf 'ratio Postgres sslmode=disable / bare @64 %s\n' "$(ratio "$PGP_RPS" "${BARE_RPS[64]}")"
    fi
fi
if [[ -n "${SB_P99[64]:-}" ]]; then printf 'p99 @64 (SQLite): %s ms (target < 25 ms)\n' "${SB_P99[64]}"; fi
printf 'idle RSS %s right after /readyz on restart, %s after first start, %s after one login (target < 40 MB)\n' \
    "$(mib "$IDLE_RSS_KIB")" "$(mib "$FIRST_RSS_KIB")" "$(mib "$LOGIN_RSS_KIB")"
printf 'start-up %s ms first start, %s ms restart (SQLite; target < 300 ms)\n' "$FIRST_STARTUP_MS" "$SQLITE_RESTART_MS"
if [[ -n "$PG_RPS" ]]; then
    printf 'start-up on Postgres: %s ms first start, %s ms restart%s\n' "$PG_STARTUP_MS" "$PG_RESTART_MS" \
        "${PGP_STARTUP_MS:+, $PGP_STARTUP_MS ms restart with sslmode=disable}"
fi
