#!/usr/bin/env bash
# Webhook fan-out benchmark (DESIGN.md "Performance budget"; issue 5 "Benchmark").
#
# Builds the release binaries, starts bench/receiver (answers every POST 204, records
# commit → receipt latency and duplicate webhook-ids) and measures its own capacity with wrk.
# Then starts `signalbox serve` on a fresh SQLite database with limits lifted and 127.0.0.1
# allow-listed, creates 10 webhooks subscribed to `signal.received` (all pointing at the
# receiver), a signal endpoint and a token, and drives ingest:
#   phase A (max): wrk at 64 connections for DURATION; signals accepted/s, then waits for all
#           10 × stored deliveries; deliveries/s, p50/p99 commit → receipt, duplicates, drain;
#   phase B (paced): hey at half of phase A's delivery rate (÷ 10 as signals/s); p50/p99.
# The same against Postgres when `psql -h 127.0.0.1 -U postgres` works.
#
# Environment: DURATION (default 10s), CONNECTIONS (phase A, default 64), THREADS (wrk, 2),
# WEBHOOKS (default 10), PACED_WORKERS (hey workers in phase B, default 16), PACED_RATE
# (signals/s in phase B instead of half of phase A), DRAIN_TIMEOUT (s, default 600),
# STALL_TIMEOUT (s without a new delivery before giving up, default 30), SERVE_ARGS (extra
# `signalbox serve` flags, e.g. "--webhook-concurrency 512"), SKIP_BUILD=1, SKIP_SQLITE=1,
# SKIP_POSTGRES=1, PG_URL_BASE (default postgres://postgres@127.0.0.1:5432), PERF=1
# (`perf record` and `perf stat` of signalbox during each phase A: threads, hottest symbols,
# fsync/s and deliveries per fsync), KEEP_WORK=1 (keep the temp dir: logs, raw outputs).
# See bench/README.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
WEBHOOKS="${WEBHOOKS:-10}"
PACED_WORKERS="${PACED_WORKERS:-16}"
PACED_RATE="${PACED_RATE:-}"
DRAIN_TIMEOUT="${DRAIN_TIMEOUT:-600}"
STALL_TIMEOUT="${STALL_TIMEOUT:-30}"
SERVE_ARGS="${SERVE_ARGS:-}"
PG_URL_BASE="${PG_URL_BASE:-postgres://postgres@127.0.0.1:5432}"
PG_DB=sbx_fanout
ADMIN_EMAIL=admin@signalbox.local
ADMIN_PASSWORD='bench password 123'
ENDPOINT=bench
TARGET_DELIVERIES=20000 # deliveries/s on SQLite (issue 5)
TARGET_P99_MS=50        # p99 commit → receipt at half that rate

SIGNALBOX="${CARGO_TARGET_DIR:-$ROOT/target}/release/signalbox"
RECEIVER="${CARGO_TARGET_DIR:-$ROOT/target}/release/signalbox-bench-receiver"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/signalbox-fanout.XXXXXX")"
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
for tool in curl jq python3 awk; do command -v "$tool" >/dev/null || die "$tool is required"; done
# wrk drives the maximum rate; hey (Debian package `hey`) paces phase B with -q per worker.
apt_install() { # apt_install PACKAGE...
    local sudo=""
    [[ "$(id -u)" == 0 ]] || sudo="sudo"
    log "installing $*"
    if ! $sudo apt-get install -y -q "$@" >/dev/null 2>&1; then
        $sudo apt-get update -q >/dev/null
        $sudo apt-get install -y -q "$@" >/dev/null
    fi
}
command -v wrk >/dev/null || apt_install wrk
command -v hey >/dev/null || apt_install hey || log "hey is not installable: phase B falls back to wrk with a per-connection delay"

# --- build ---------------------------------------------------------------------------------
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "cargo build --release -p signalbox -p signalbox-bench-receiver"
    (cd "$ROOT" && cargo build --release -q -p signalbox -p signalbox-bench-receiver)
fi
[[ -x "$SIGNALBOX" && -x "$RECEIVER" ]] || die "release binaries missing; run without SKIP_BUILD=1"

# --- helpers -------------------------------------------------------------------------------
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

now_s() { date +%s.%N; } # Unix seconds with ns, comparable to the receiver's first_at/last_at

# wait_ready URL PID: polls until URL answers 2xx; fails if PID dies or 30 s pass.
wait_ready() {
    local url="$1" pid="$2" deadline=$((SECONDS + 30))
    until curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || die "process $pid exited before $url answered"
        ((SECONDS < deadline)) || die "$url did not answer within 30 s"
        sleep 0.01
    done
}

stop_pid() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# CPU seconds (user + system) a process has used so far.
CLK_TCK="$(getconf CLK_TCK)"
cpu_s() { awk -v hz="$CLK_TCK" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"; }

# cpu_snap PIDS...: "busy-ticks all-ticks ours" for the whole machine right now, where ours
# is the CPU of PIDS and of every process named postgres (the database under test).
cpu_snap() {
    local ours
    ours="$(cat /proc/[0-9]*/stat 2>/dev/null | awk -v pids=" $* " '{
        match($0, /\(.*\)/); name = substr($0, RSTART + 1, RLENGTH - 2)
        split(substr($0, RSTART + RLENGTH + 1), f, " ")
        if (name == "postgres" || index(pids, " " $1 " ") > 0) n += f[12] + f[13] } END { print n + 0 }')"
    awk -v own="$ours" '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, own }' /proc/stat
}

# busy_between SNAP0 SNAP1: percent of the machine's CPU (all cores) used by anything but
# ours (see cpu_snap) — another build or test run on the box skews every figure here.
busy_between() {
    awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ")
        busy = y[1] - x[1] - (y[3] - x[3]); all = y[2] - x[2]
        printf "%.0f", (all > 0 && busy > 0) ? 100 * busy / all : 0 }'
}

# proc_snap: "pid name ticks" for every process now.
proc_snap() {
    cat /proc/[0-9]*/stat 2>/dev/null | awk '{ match($0, /\(.*\)/); name = substr($0, RSTART + 1, RLENGTH - 2)
        gsub(/ /, "_", name); split(substr($0, RSTART + RLENGTH + 1), f, " "); print $1, name, f[12] + f[13] }'
}

# top_others SNAP0 SNAP1 PIDS...: the three process names (other than PIDS) that used the most
# CPU between two proc_snap files (processes that ended in between are not seen).
top_others() {
    local a="$1" b="$2"
    shift 2
    awk -v hz="$CLK_TCK" -v skip=" $* " 'NR == FNR { t[$1] = $3; next }
        index(skip, " " $1 " ") == 0 { used[$2] += $3 - t[$1] }
        END { for (n in used) if (used[n] >= hz / 10) printf "%.1f %s\n", used[n] / hz, n }' "$a" "$b" |
        sort -rn | head -3 | awk '{ printf "%s%s %s s", (NR > 1 ? ", " : ""), $2, $1 }'
}

# busy_elsewhere PIDS...: the same over the next second.
busy_elsewhere() {
    local s0
    s0="$(cpu_snap "$@")"
    sleep 1
    busy_between "$s0" "$(cpu_snap "$@")"
}

calc() { awk "BEGIN { $1 }"; } # calc 'printf "%.1f", 1 / 3'

# seconds DURATION: wrk-style duration (10s, 2m, 1h, or plain seconds) in seconds.
seconds() {
    case "$1" in
    *ms) calc "print ${1%ms} / 1000" ;;
    *s) echo "${1%s}" ;;
    *m) calc "print ${1%m} * 60" ;;
    *h) calc "print ${1%h} * 3600" ;;
    *) echo "$1" ;;
    esac
}

# --- receiver ------------------------------------------------------------------------------
RECV_PORT="$(free_port)"
RECV_URL="http://127.0.0.1:$RECV_PORT"
"$RECEIVER" --listen "127.0.0.1:$RECV_PORT" >"$WORK/receiver.log" 2>&1 &
RECV_PID=$!
PIDS+=("$RECV_PID")
wait_ready "$RECV_URL/count" "$RECV_PID"

recv_reset() { curl -fsS -X POST "$RECV_URL/reset" >/dev/null; }
recv_count() { curl -fsS --max-time 10 "$RECV_URL/count" | jq -er .received; }
recv_stats() { curl -fsS --max-time 60 "$RECV_URL/stats"; }

# --- load scripts --------------------------------------------------------------------------
# The signal: the ~300-byte JSON alert of bench/ingest.sh.
BODY='{"source":"alertmanager","event":"alert.firing","severity":"critical","service":"checkout-api","environment":"production","alert":{"name":"HighErrorRate","value":0.073,"threshold":0.05,"window":"5m"},"labels":{"team":"payments","runbook":"https://runbooks.example.com/5xx"},"fired_at":"2026-04-01T12:00:00Z"}'
printf '%s' "$BODY" >"$WORK/signal.json"
# What signalbox POSTs for that signal (same shape and size; ids are placeholders).
HOOK_BODY='{"id":"01a22701-b7b2-71b0-93aa-5abdaf729819","type":"signal.received","timestamp":"2026-11-29T11:12:33.714801Z","workspace_id":"01a22701-b39e-77ab-8cae-d5bed6ad9699","data":{"endpoint_id":"01a22701-b77d-77ec-88e9-195da68e187c","endpoint_name":"bench","signal_id":"01a22701-b7b2-71b0-93aa-5abc2566a798","token_id":"01a22701-b799-74e8-b5ca-cb62e4ab3593","token_name":"bench","payload":'"$BODY"'}}'

DONE_HOOK='
function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "BENCH requests=%d duration_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d\n",
        summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
        latency:percentile(50), latency:percentile(99)))
end'

cat >"$WORK/signal.lua" <<EOF
wrk.method = "POST"
wrk.body = [[$BODY]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
local pace = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if pace ~= nil and pace > 0 then
    function delay() return pace end
end
$DONE_HOOK
EOF

cat >"$WORK/hook.lua" <<EOF
wrk.method = "POST"
wrk.body = [[$HOOK_BODY]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"] = "Signalbox/0.1.0"
wrk.headers["webhook-id"] = "01a22701-b7b3-7467-94c7-16a782cb2b70"
wrk.headers["webhook-timestamp"] = "1795950753"
$DONE_HOOK
EOF

# run_wrk OUT URL CONNECTIONS LUA: runs wrk; sets R_OK (2xx), R_RPS (2xx/s), R_P50/R_P99 (ms),
# R_NON2XX, R_ERRORS (socket errors).
run_wrk() {
    local out="$1" url="$2" conns="$3" lua="$4" line
    wrk -t"$THREADS" -c"$conns" -d"$DURATION" --latency -s "$lua" "$url" >"$out" 2>&1 ||
        { cat "$out" >&2; die "wrk failed"; }
    line="$(grep '^BENCH ' "$out")" || { cat "$out" >&2; die "wrk printed no summary"; }
    field() { sed -E "s/.* $1=([0-9]+).*/\\1/" <<<"$line"; }
    local requests duration_us
    requests="$(field requests)" duration_us="$(field duration_us)" R_NON2XX="$(field non2xx)"
    R_ERRORS=$(($(field connect) + $(field read) + $(field write) + $(field timeout)))
    R_OK=$((requests - R_NON2XX))
    R_RPS="$(calc "printf \"%.0f\", $R_OK / ($duration_us / 1e6)")"
    R_P50="$(calc "printf \"%.2f\", $(field p50_us) / 1000")"
    R_P99="$(calc "printf \"%.2f\", $(field p99_us) / 1000")"
}

# --- receiver capacity ---------------------------------------------------------------------
declare -A RES # results, keyed "<backend> <name>"

COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
if ! git -C "$ROOT" diff --quiet HEAD -- crates vendor 2>/dev/null; then COMMIT="$COMMIT + uncommitted changes in crates/"; fi
printf 'Signalbox webhook fan-out benchmark — %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
CPU_MODEL="$(lscpu 2>/dev/null | awk -F': *' '/^Model name/ { print $2; exit }')"
printf 'nproc %s; CPU %s; commit %s; %s webhooks; wrk -t%s -c%s -d%s; signal body %s bytes, webhook body ~%s bytes\n\n' \
    "$(nproc)" "${CPU_MODEL:-unknown}" "$COMMIT" \
    "$WEBHOOKS" "$THREADS" "$CONNECTIONS" "$DURATION" "${#BODY}" "${#HOOK_BODY}"

RECV_BUSY="$(busy_elsewhere "$RECV_PID")"
log "receiver capacity: wrk -c64 POST $RECV_URL/hook (CPU used elsewhere just before: $RECV_BUSY %)"
RECV_CPU0="$(cpu_s "$RECV_PID")"
run_wrk "$WORK/wrk-receiver.txt" "$RECV_URL/hook" 64 "$WORK/hook.lua"
RECV_CPU1="$(cpu_s "$RECV_PID")"
RECV_CAPACITY="$R_RPS"
RECV_COUNTED="$(recv_count)"
printf 'receiver capacity: %s req/s (2xx/s; p50 %s ms, p99 %s ms; non-2xx %s, socket errors %s; receiver counted %s of %s; %s CPU-s)\n\n' \
    "$R_RPS" "$R_P50" "$R_P99" "$R_NON2XX" "$R_ERRORS" "$RECV_COUNTED" "$R_OK" \
    "$(calc "printf \"%.1f\", $RECV_CPU1 - $RECV_CPU0")"
recv_reset

# --- signalbox -----------------------------------------------------------------------------
# start_signalbox NAME [extra serve args...]: sets SB_PID, SB_URL, SB_LOG.
start_signalbox() {
    local name="$1"
    shift
    local dir="$WORK/$name" port
    mkdir -p "$dir"
    port="$(free_port)"
    SB_URL="http://127.0.0.1:$port"
    SB_LOG="$dir/server.log"
    # shellcheck disable=SC2086 # SERVE_ARGS is a list of flags
    (cd "$dir" && exec "$SIGNALBOX" serve --listen "127.0.0.1:$port" \
        --admin-email "$ADMIN_EMAIL" --admin-password "$ADMIN_PASSWORD" \
        --signal-rate-limit 0 --max-signal-endpoints 0 --max-tokens-per-endpoint 0 \
        --webhook-allow-cidr 127.0.0.1/32 --log-level warn "$@" $SERVE_ARGS) >>"$SB_LOG" 2>&1 &
    SB_PID=$!
    PIDS+=("$SB_PID")
    wait_ready "$SB_URL/readyz" "$SB_PID"
}

api() { # api METHOD PATH JWT [JSON]
    local args=(-fsS --max-time 30 -X "$1" "$SB_URL$2" -H 'Content-Type: application/json')
    [[ -n "$3" ]] && args+=(-H "Authorization: Bearer $3")
    [[ $# -ge 4 ]] && args+=(--data "$4")
    curl "${args[@]}"
}

# setup: logs in, creates the webhooks, the endpoint and a token; sets JWT, WEBHOOK_IDS,
# ENDPOINT_ID, TOKEN.
setup() {
    JWT="$(api POST /v1/auth/login "" "$(jq -nc --arg e "$ADMIN_EMAIL" --arg p "$ADMIN_PASSWORD" '{email: $e, password: $p}')" | jq -er .token)"
    WEBHOOK_IDS=()
    local i
    for ((i = 1; i <= WEBHOOKS; i++)); do
        WEBHOOK_IDS+=("$(api POST /v1/webhooks "$JWT" \
            "{\"name\":\"bench-$i\",\"url\":\"$RECV_URL/hook\",\"events\":[\"signal.received\"]}" | jq -er .id)")
    done
    ENDPOINT_ID="$(api POST /v1/signal-endpoints "$JWT" "{\"name\":\"$ENDPOINT\"}" | jq -er .id)"
    TOKEN="$(api POST "/v1/signal-endpoints/$ENDPOINT_ID/tokens" "$JWT" '{"name":"bench"}' | jq -er .token)"
}

stored_signals() { api GET "/v1/signal-endpoints/$ENDPOINT_ID/signals?limit=1" "$JWT" | jq -er .total; }

# deliveries_with STATUS: that status's deliveries summed over the bench webhooks.
deliveries_with() {
    local id total=0 n
    for id in "${WEBHOOK_IDS[@]}"; do
        n="$(api GET "/v1/webhooks/$id/deliveries?status=$1&limit=1" "$JWT" | jq -er .total)"
        total=$((total + n))
    done
    echo "$total"
}

# wait_deliveries EXPECTED LOG: polls the receiver until EXPECTED requests arrived, nothing
# new arrived for STALL_TIMEOUT s, or DRAIN_TIMEOUT s passed; sets W_STATE and W_RECEIVED.
# Appends "unix-time received" per poll to LOG.
wait_deliveries() {
    local expected="$1" progress="$2" start=$SECONDS last=-1 last_change=$SECONDS n
    while :; do
        n="$(recv_count)"
        printf '%s %s\n' "$(now_s)" "$n" >>"$progress"
        if ((n >= expected)); then W_STATE=complete; break; fi
        if ((n != last)); then last=$n last_change=$SECONDS; fi
        if ((SECONDS - last_change >= STALL_TIMEOUT)); then W_STATE="stalled (nothing new for ${STALL_TIMEOUT} s)"; break; fi
        if ((SECONDS - start >= DRAIN_TIMEOUT)); then W_STATE="timed out after ${DRAIN_TIMEOUT} s"; break; fi
        kill -0 "$SB_PID" 2>/dev/null || { W_STATE="signalbox exited"; break; }
        sleep 0.5
    done
    W_RECEIVED="$(recv_count)"
}

# thread_ticks PID: "tid name ticks" for each thread of PID (user + system clock ticks).
thread_ticks() {
    local stat
    for stat in /proc/"$1"/task/*/stat; do
        awk '{ tid = $1; match($0, /\(.*\)/); name = substr($0, RSTART + 1, RLENGTH - 2); gsub(/ /, "_", name)
               rest = substr($0, RSTART + RLENGTH + 1); split(rest, f, " "); print tid, name, f[12] + f[13] }' "$stat" 2>/dev/null || true
    done
}

# thread_split BEFORE AFTER: CPU seconds per thread name between two thread_ticks snapshots.
thread_split() {
    awk -v hz="$CLK_TCK" 'NR == FNR { before[$1] = $3; next }
        { used[$2] += $3 - before[$1] } # threads born in between start from 0
        END { for (n in used) if (used[n] > 0) printf "%s %.1f s; ", n, used[n] / hz }' "$1" "$2" |
        tr ';' '\n' | sed '/^ *$/d' | sort -k2 -t' ' -rn | tr '\n' ';' | sed 's/;$//; s/;/,/g'
}

PERF_EVENTS="syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync,syscalls:sys_enter_pwrite64,syscalls:sys_enter_futex,context-switches,task-clock"

# perf_stat_line LABEL FILE SECONDS DELIVERIES: per-second syscall counts from `perf stat -x,`.
perf_stat_line() {
    awk -F, -v label="$1" -v s="$3" -v d="$4" '
        { n[$3] = $1 }
        END { syncs = n["syscalls:sys_enter_fdatasync"] + n["syscalls:sys_enter_fsync"]
              printf "%s: %.0f deliveries/s, %.0f fsync/s (%.1f deliveries per sync), %.0f pwrite64/s, %.0f futex/s, %.0f context switches/s, %.2f CPUs\n",
                  label, d / s, syncs / s, (syncs > 0) ? d / syncs : 0, n["syscalls:sys_enter_pwrite64"] / s,
                  n["syscalls:sys_enter_futex"] / s, n["context-switches"] / s, n["task-clock"] / s / 1000 }' "$2"
}

# perf_report DATA: share of samples by thread name, then the hottest symbols.
perf_report() {
    echo "  perf: share of samples by thread"
    perf report -i "$1" --no-children --sort comm --stdio 2>/dev/null | grep -E '^ +[0-9]' | sed 's/^/  /' || true
    echo "  perf: hottest symbols"
    perf report -i "$1" --no-children --sort comm,dso,symbol --stdio 2>/dev/null |
        grep -E '^ +[0-9]' | head -30 | cut -c1-170 | sed 's/^/  /' || true
}

# fanout BACKEND: both phases against the running server; results into RES["BACKEND …"].
fanout() {
    local b="$1" ingest="$SB_URL/api/signal-endpoint/$ENDPOINT"
    setup
    # One signal end to end: the webhooks accept the receiver and deliveries flow.
    curl -fsS -o /dev/null -X POST "$ingest" -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' --data "$BODY" || die "a test signal was refused"
    local deadline=$((SECONDS + 30))
    until (($(recv_count) >= WEBHOOKS)); do
        ((SECONDS < deadline)) || { tail -20 "$SB_LOG" >&2; die "the warm-up signal did not reach $WEBHOOKS webhooks within 30 s"; }
        sleep 0.05
    done
    sleep 0.5
    local warm
    warm="$(recv_stats)"
    (($(jq -r .duplicates <<<"$warm") == 0)) || log "duplicates in the warm-up: $warm"
    recv_reset

    # --- phase A: as fast as wrk can ingest -----------------------------------------------
    RES[$b busy]="$(busy_elsewhere "$SB_PID" "$RECV_PID")"
    log "$b phase A: wrk -c$CONNECTIONS -d$DURATION, then drain (CPU used elsewhere just before: ${RES[$b busy]} %)"
    local before after t0 t1 sb_cpu0 sb_cpu1 rc_cpu0 rc_cpu1 stats during
    before="$(stored_signals)"
    sb_cpu0="$(cpu_s "$SB_PID")" rc_cpu0="$(cpu_s "$RECV_PID")"
    thread_ticks "$SB_PID" >"$WORK/threads-$b-0.txt"
    local perf_pid="" stat_pid=""
    if [[ "${PERF:-0}" == 1 ]] && command -v perf >/dev/null; then
        perf record -F 499 -p "$SB_PID" -o "$WORK/perf-$b.data" -- sleep "$(seconds "$DURATION")" >/dev/null 2>&1 &
        perf_pid=$!
        perf stat -x, -e "$PERF_EVENTS" -p "$SB_PID" -o "$WORK/perfstat-$b-load.txt" -- sleep "$(seconds "$DURATION")" >/dev/null 2>&1 &
        stat_pid=$!
    fi
    t0="$(now_s)"
    BENCH_TOKEN="$TOKEN" run_wrk "$WORK/wrk-$b-A.txt" "$ingest" "$CONNECTIONS" "$WORK/signal.lua"
    t1="$(now_s)"
    during="$(recv_count)"
    if [[ -n "$perf_pid" ]]; then wait "$perf_pid" "$stat_pid" || true; fi
    local drain0
    drain0="$(cpu_snap "$SB_PID" "$RECV_PID")"
    proc_snap >"$WORK/procs-$b-drain0.txt"
    if [[ -n "$perf_pid" ]]; then # 5 s of the drain: no ingest, only deliveries
        local c0 c1
        c0="$(recv_count)"
        perf stat -x, -e "$PERF_EVENTS" -p "$SB_PID" -o "$WORK/perfstat-$b-drain.txt" -- sleep 5 >/dev/null 2>&1 || true
        c1="$(recv_count)"
        perf_stat_line "$b phase A, load" "$WORK/perfstat-$b-load.txt" "$(seconds "$DURATION")" "$during"
        perf_stat_line "$b phase A, 5 s of drain" "$WORK/perfstat-$b-drain.txt" 5 $((c1 - c0))
    fi
    after="$(stored_signals)"
    RES[$b accepted]="$R_RPS" RES[$b ingest_p99]="$R_P99" RES[$b non2xx]="$R_NON2XX"
    local signals=$((after - before)) expected
    expected=$((signals * WEBHOOKS))
    printf '%s phase A: %s signals/s accepted (2xx/s over %s; p50 %s ms, p99 %s ms; non-2xx %s, socket errors %s); %s signals stored → %s deliveries expected\n' \
        "$b" "$R_RPS" "$DURATION" "$R_P50" "$R_P99" "$R_NON2XX" "$R_ERRORS" "$signals" "$expected"
    wait_deliveries "$expected" "$WORK/progress-$b-A.txt"
    RES[$b busy_drain]="$(busy_between "$drain0" "$(cpu_snap "$SB_PID" "$RECV_PID")")"
    proc_snap >"$WORK/procs-$b-drain1.txt"
    RES[$b others_drain]="$(top_others "$WORK/procs-$b-drain0.txt" "$WORK/procs-$b-drain1.txt" "$SB_PID" "$RECV_PID")"
    sb_cpu1="$(cpu_s "$SB_PID")" rc_cpu1="$(cpu_s "$RECV_PID")"
    thread_ticks "$SB_PID" >"$WORK/threads-$b-1.txt"
    stats="$(recv_stats)"
    local received dups first last p50 p99 rate drain load_rate
    received="$(jq -r .received <<<"$stats")" dups="$(jq -r .duplicates <<<"$stats")"
    first="$(jq -r .first_at <<<"$stats")" last="$(jq -r .last_at <<<"$stats")"
    p50="$(jq -r .p50_ms <<<"$stats")" p99="$(jq -r .p99_ms <<<"$stats")"
    [[ "$first" != null && "$last" != "$first" ]] || { tail -20 "$SB_LOG" >&2; die "$b: no deliveries arrived"; }
    rate="$(calc "printf \"%.0f\", $received / ($last - $first)")"
    drain="$(calc "printf \"%.1f\", $last - $t1")"
    load_rate="$(calc "printf \"%.0f\", $during / ($t1 - $t0)")"
    RES[$b deliveries]="$rate" RES[$b p50]="$p50" RES[$b p99]="$p99" RES[$b dups]="$dups"
    RES[$b drain]="$drain" RES[$b state]="$W_STATE" RES[$b load_rate]="$load_rate"
    RES[$b received]="$received / $expected"
    printf '%s phase A: %s of %s deliveries received (%s); %s deliveries/s (first → last receipt, %.1f s); %s/s while wrk ran; drain after load stopped %s s\n' \
        "$b" "$received" "$expected" "$W_STATE" "$rate" "$(calc "print $last - $first")" "$load_rate" "$drain"
    printf '%s phase A: commit → receipt p50 %s ms, p99 %s ms, max %s ms; duplicates %s; unparsed %s\n' \
        "$b" "$p50" "$p99" "$(jq -r .max_ms <<<"$stats")" "$dups" "$(jq -r .unparsed <<<"$stats")"
    printf '%s phase A: CPU used elsewhere during the drain: %s %% (most: %s)\n' "$b" "${RES[$b busy_drain]}" \
        "${RES[$b others_drain]:-none}"
    printf '%s phase A: CPU-s signalbox %s, receiver %s (%.0f µs of signalbox CPU per delivery, signal included)\n' \
        "$b" "$(calc "printf \"%.1f\", $sb_cpu1 - $sb_cpu0")" "$(calc "printf \"%.1f\", $rc_cpu1 - $rc_cpu0")" \
        "$(calc "print ($received > 0) ? ($sb_cpu1 - $sb_cpu0) * 1e6 / $received : 0")"
    printf '%s phase A: signalbox CPU by thread (load + drain): %s\n' "$b" \
        "$(thread_split "$WORK/threads-$b-0.txt" "$WORK/threads-$b-1.txt")"
    if [[ -n "$perf_pid" ]]; then perf_report "$WORK/perf-$b.data"; fi
    RES[$b pending]="$(deliveries_with pending)" RES[$b dead]="$(deliveries_with dead)"
    printf '%s phase A: deliveries still pending %s, dead %s (all bench webhooks)\n' "$b" "${RES[$b pending]}" "${RES[$b dead]}"
    recv_reset

    # --- phase B: paced at half of phase A's delivery rate --------------------------------
    local target
    target="${PACED_RATE:-$(calc "printf \"%.0f\", $rate / 2 / $WEBHOOKS")}"
    ((target >= 1)) || target=1
    RES[$b target]="$target"
    before="$(stored_signals)"
    local achieved ok
    RES[$b busy_B]="$(busy_elsewhere "$SB_PID" "$RECV_PID")"
    log "$b phase B: CPU used elsewhere just before: ${RES[$b busy_B]} %"
    RES[$b busy_AB]="${RES[$b busy]} / ${RES[$b busy_B]}"
    if command -v hey >/dev/null; then
        log "$b phase B: hey -c$PACED_WORKERS at $target signals/s for $DURATION"
        local out="$WORK/hey-$b-B.txt"
        hey -z "$DURATION" -c "$PACED_WORKERS" -q "$(calc "printf \"%.3f\", $target / $PACED_WORKERS")" -m POST \
            -H "Authorization: Bearer $TOKEN" -T application/json -D "$WORK/signal.json" "$ingest" >"$out" 2>&1 ||
            { cat "$out" >&2; die "hey failed"; }
        achieved="$(awk '/Requests\/sec:/ { printf "%.0f", $2 }' "$out")"
        ok="$(awk '/\[2[0-9][0-9]\]/ { n += $2 } END { print n + 0 }' "$out")"
        RES[$b ingest_p99_B]="$(awk '/ 99% in / { printf "%.2f", $3 * 1000 }' "$out")"
        printf '%s phase B: hey %s workers, target %s signals/s, achieved %s requests/s (%s 2xx; signal p99 %s ms)\n' \
            "$b" "$PACED_WORKERS" "$target" "$achieved" "$ok" "${RES[$b ingest_p99_B]:-?}"
    else
        local conns=$PACED_WORKERS delay
        delay="$(calc "printf \"%.0f\", $conns * 1000 / $target")"
        log "$b phase B: wrk -c$conns with a ${delay} ms delay per connection (hey missing)"
        BENCH_TOKEN="$TOKEN" BENCH_DELAY_MS="$delay" \
            run_wrk "$WORK/wrk-$b-B.txt" "$ingest" "$conns" "$WORK/signal.lua"
        achieved="$R_RPS"
        printf '%s phase B: wrk %s connections, %s ms apart each, target %s signals/s, achieved %s 2xx/s\n' \
            "$b" "$conns" "$delay" "$target" "$achieved"
    fi
    after="$(stored_signals)"
    expected=$(((after - before) * WEBHOOKS))
    wait_deliveries "$expected" "$WORK/progress-$b-B.txt"
    stats="$(recv_stats)"
    RES[$b achieved]="$achieved"
    RES[$b p50_B]="$(jq -r .p50_ms <<<"$stats")" RES[$b p99_B]="$(jq -r .p99_ms <<<"$stats")"
    RES[$b dups_B]="$(jq -r .duplicates <<<"$stats")" RES[$b state_B]="$W_STATE"
    printf '%s phase B: %s of %s deliveries received (%s); commit → receipt p50 %s ms, p99 %s ms, max %s ms; duplicates %s\n' \
        "$b" "$(jq -r .received <<<"$stats")" "$expected" "$W_STATE" "${RES[$b p50_B]}" "${RES[$b p99_B]}" \
        "$(jq -r .max_ms <<<"$stats")" "${RES[$b dups_B]}"
    recv_reset

    local warnings
    warnings="$(grep -c -E 'WARN|ERROR' "$SB_LOG" || true)"
    RES[$b log]="$warnings"
    printf '%s: %s WARN/ERROR lines in the server log\n' "$b" "$warnings"
    if ((warnings > 0)); then grep -E 'WARN|ERROR' "$SB_LOG" | cut -c1-300 | sort | uniq -c | sort -rn | head -5; fi
    echo
}

# --- SQLite --------------------------------------------------------------------------------
BACKENDS=()
if [[ "${SKIP_SQLITE:-0}" != 1 ]]; then
    log "signalbox on a fresh SQLite database"
    start_signalbox sqlite --database-url "sqlite://$WORK/sqlite/signalbox.db"
    fanout sqlite
    stop_pid "$SB_PID"
    BACKENDS+=(sqlite)
fi

# --- Postgres ------------------------------------------------------------------------------
pg() { PGOPTIONS='-c client_min_messages=warning' psql -h 127.0.0.1 -U postgres -w -q -v ON_ERROR_STOP=1 "$@"; }
if [[ "${SKIP_POSTGRES:-0}" != 1 ]] && pg -c 'select 1' >/dev/null 2>&1; then
    pg -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null
    pg -c "CREATE DATABASE $PG_DB" >/dev/null
    PG_CREATED=1
    SECRET_KEY="$(openssl rand -hex 32 2>/dev/null || python3 -c 'import secrets; print(secrets.token_hex(32))')"
    log "signalbox on Postgres ($PG_URL_BASE/$PG_DB?sslmode=disable)"
    start_signalbox postgres --database-url "$PG_URL_BASE/$PG_DB?sslmode=disable" --secret-key "$SECRET_KEY"
    fanout postgres
    stop_pid "$SB_PID"
    pg -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null
    PG_CREATED=0
    BACKENDS+=(postgres)
else
    log "Postgres not reachable as postgres@127.0.0.1 (or SKIP_POSTGRES=1): skipped"
fi

# --- summary -------------------------------------------------------------------------------
printf 'Summary (%s webhooks per signal; nproc %s; CPU %s)\n' "$WEBHOOKS" "$(nproc)" "${CPU_MODEL:-unknown}"
printf 'receiver capacity: %s requests/s (CPU used elsewhere just before: %s %%)\n' "$RECV_CAPACITY" "$RECV_BUSY"
row() { printf '%-44s %12s %12s\n' "$@"; }
[[ ${#BACKENDS[@]} -gt 0 ]] || exit 0
row '' "${BACKENDS[@]}"
line() { # line LABEL KEY [SUFFIX]
    local label="$1" key="$2" vals=() b
    for b in "${BACKENDS[@]}"; do vals+=("${RES[$b $key]:-–}${3:-}"); done
    row "$label" "${vals[@]}"
}
line 'A: signals accepted/s (wrk)' accepted
line 'A: deliveries/s (first → last receipt)' deliveries
line 'A: deliveries/s while load ran' load_rate
line 'A: deliveries received / expected' received
line 'A: drain after load stopped (s)' drain
line 'A: p50 commit → receipt (ms)' p50
line 'A: p99 commit → receipt (ms)' p99
line 'A: duplicates' dups
line 'A: dead deliveries' dead
line 'B: target signals/s' target
line 'B: achieved signals/s' achieved
line 'B: p50 commit → receipt (ms)' p50_B
line 'B: p99 commit → receipt (ms)' p99_B
line 'B: duplicates' dups_B
line 'WARN/ERROR lines in server log' log
line '% CPU elsewhere before A / B (not postgres)' busy_AB
for b in "${BACKENDS[@]}"; do
    printf '%s: deliveries/s %s = %s of the %s/s target; receiver capacity used %s; phase B p99 %s ms (target < %s ms)\n' \
        "$b" "${RES[$b deliveries]}" \
        "$(calc "printf \"%.1f %%\", 100 * ${RES[$b deliveries]} / $TARGET_DELIVERIES")" "$TARGET_DELIVERIES" \
        "$(calc "printf \"%.1f %%\", 100 * ${RES[$b deliveries]} / ($RECV_CAPACITY > 0 ? $RECV_CAPACITY : 1)")" \
        "${RES[$b p99_B]}" "$TARGET_P99_MS"
done
[[ -n "${RES[sqlite deliveries]:-}" ]] || exit 0
met=no
if (($(calc "print (${RES[sqlite deliveries]} >= $TARGET_DELIVERIES && ${RES[sqlite p99_B]} < $TARGET_P99_MS) ? 1 : 0") == 1)); then met=yes; fi
printf 'target (SQLite: >= %s deliveries/s, p99 < %s ms at half rate) met: %s\n' "$TARGET_DELIVERIES" "$TARGET_P99_MS" "$met"
