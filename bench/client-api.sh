#!/usr/bin/env bash
# Client API benchmark (issue 7 "Benchmark").
#
# Builds the release binary into its own target dir (/tmp/sbx-client-bench, so other builds in
# target/ are left alone), starts `signalbox serve` on a fresh SQLite database, creates 100
# flags with 3 strategies each (flexibleRollout, userWithId, default), each strategy with one
# constraint, enabled in production, plus a client and a frontend SDK token, and restarts it on
# the same database (the measured process has run no Argon2 hash). Then, with wrk, each run
# after waiting for a quiet machine (no other benchmark, little other CPU use):
#   a. GET /api/client/features, full 200 answers (no If-None-Match);
#   b. the same with the current ETag as If-None-Match (304s);
#   c. GET /api/frontend?userId=<n>&properties[region]=eu, userId different on every request;
# prints requests/s, p50/p99, non-2xx/3xx, the server's CPU (by thread) and resident memory
# (VmRSS) idle and after the load; then
#   e. kill → visible to a streaming client: a Python SSE reader on /api/client/streaming, and
#      KILLS times a kill through the API, timed from just before the call to the arrival of
#      the matching `unleash-updated` event (then revive + on, also timed); once idle and once
#      while wrk loads /api/client/features.
# Ends with a summary against the issue's targets and Unleash OSS 8.2.0's figures.
#
# Environment: DURATION (default 10s), CONNECTIONS (default 64), THREADS (default 2),
# FLAGS (default 100), KILLS (default 20), SKIP_BUILD=1 to reuse the release build,
# BENCH_TARGET_DIR (default /tmp/sbx-client-bench), SERVE_ARGS (extra `serve` flags),
# KILL_UNDER_LOAD=0 to skip the kill run under load, QUIET_CORES (default 0.15) and
# QUIET_MAX_WAIT (default 1800 s) for the quiet-machine wait, PERF=1 to profile each wrk run
# with perf record (hottest symbols printed), KEEP_WORK=1 to keep the temp dir.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
FLAGS="${FLAGS:-100}"
KILLS="${KILLS:-20}"
TARGET_DIR="${BENCH_TARGET_DIR:-/tmp/sbx-client-bench}"
ADMIN_EMAIL=admin@signalbox.local
ADMIN_PASSWORD='bench password 123'
PROJECT_FLAGS=/v1/projects/default/flags

# The issue's targets (2 cores) and Unleash OSS 8.2.0 on this kind of machine, for scale.
TARGET_FULL=18000 TARGET_304=40000 TARGET_FRONTEND=12000 TARGET_RSS_MB=40 TARGET_KILL_P99_MS=1000
UNLEASH_FULL=1850 UNLEASH_304=4100 UNLEASH_FRONTEND=1250 UNLEASH_RSS_MB=340

SIGNALBOX="$TARGET_DIR/release/signalbox"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/signalbox-client-bench.XXXXXX")"
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
for tool in curl jq python3 awk; do command -v "$tool" >/dev/null || die "$tool is required"; done
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
    log "CARGO_TARGET_DIR=$TARGET_DIR cargo build --release -p signalbox"
    (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release -q -p signalbox)
fi
[[ -x "$SIGNALBOX" ]] || die "$SIGNALBOX missing; run without SKIP_BUILD=1"

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

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k * 1.024 / 1000 }'; }

CLK_TCK="$(getconf CLK_TCK)"
# cpu_ticks PID: user + system clock ticks the process has used so far.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); split($0, f, " "); print f[12] + f[13] }' "/proc/$1/stat"; }
# sys_ticks: "processes irq steal" clock ticks of the whole machine: user + nice + system,
# irq + softirq (loopback TCP is mostly softirq work), steal (the hypervisor gave the time to
# someone else).
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

# wait_for_quiet: waits while another benchmark runs (wrk, hey, bench/fanout.sh,
# bench/ingest.sh, the bench receiver or bare server), or while anything but signalbox keeps
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
        if pgrep -x wrk >/dev/null || pgrep -x hey >/dev/null || pgrep -f 'bench/(fanout|ingest)\.sh' >/dev/null ||
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

# --- wrk scripts ---------------------------------------------------------------------------
# Every script reports one machine-readable line; headers come from the environment.
DONE_LUA='
function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "BENCH requests=%d duration_us=%d bytes=%d non2xx3xx=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d max_us=%d\n",
        summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write, e.timeout,
        latency:percentile(50), latency:percentile(99), latency.max))
end'

# Client API: the headers a current Node SDK sends (raw token, appname, client spec).
CLIENT_LUA="$WORK/client.lua"
cat >"$CLIENT_LUA" <<EOF
wrk.method = "GET"
wrk.headers["Authorization"] = os.getenv("BENCH_TOKEN")
wrk.headers["Unleash-AppName"] = "bench"
wrk.headers["Unleash-Client-Spec"] = "5.2.2"
local etag = os.getenv("BENCH_ETAG")
if etag ~= nil and etag ~= "" then
    wrk.headers["If-None-Match"] = etag
end
$DONE_LUA
EOF

# Frontend API: a different userId on every request (per-thread ranges), region eu.
FRONTEND_LUA="$WORK/frontend.lua"
cat >"$FRONTEND_LUA" <<EOF
wrk.method = "GET"
wrk.headers["Authorization"] = os.getenv("BENCH_TOKEN")
local next_thread = 0
function setup(thread)
    thread:set("thread_no", next_thread)
    next_thread = next_thread + 1
end
local counter = 0
function init(args)
    counter = (thread_no or 0) * 100000000
end
function request()
    counter = counter + 1
    return wrk.format(nil, "/api/frontend?userId=" .. counter .. "&properties%5Bregion%5D=eu")
end
$DONE_LUA
EOF

# run_wrk LABEL LUA PATH TOKEN [ETAG]: runs wrk against the server for DURATION; prints a
# result line, the server's CPU by thread and the machine's other CPU use. Sets R_RPS (good
# answers/s: status below 400, as wrk counts), R_P50, R_P99, R_BAD (status >= 400),
# R_ERRORS (socket errors), R_BYTES (bytes per answer, headers included), R_CPU (server
# cores), R_OTHER (cores used by anything but the server and wrk).
run_wrk() {
    local label="$1" lua="$2" path="$3" token="$4" etag="${5:-}" out
    out="$WORK/wrk-${label// /_}.txt"
    wait_for_quiet
    local t0 s0 sys0 wall0
    thread_ticks "$SB_PID" >"$WORK/threads-0.txt"
    s0="$(cpu_ticks "$SB_PID")"
    sys0="$(sys_ticks)"
    wall0="$(date +%s%N)"
    local perf_pid=""
    if [[ "${PERF:-0}" == 1 ]] && command -v perf >/dev/null; then
        perf record -F 499 -g -p "$SB_PID" -o "$WORK/perf-${label// /_}.data" -- sleep "${DURATION%s}" >/dev/null 2>&1 &
        perf_pid=$!
    fi
    local TIMEFORMAT='%U %S'
    { time BENCH_TOKEN="$token" BENCH_ETAG="$etag" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
        -s "$lua" "$SB_URL$path" >"$out" 2>&1; } 2>"$WORK/wrk-time.txt" ||
        { cat "$out" >&2; die "wrk failed"; }
    local s1 sys1 wall1
    s1="$(cpu_ticks "$SB_PID")"
    sys1="$(sys_ticks)"
    wall1="$(date +%s%N)"
    thread_ticks "$SB_PID" >"$WORK/threads-1.txt"
    [[ -n "$perf_pid" ]] && wait "$perf_pid" 2>/dev/null
    local line
    line="$(grep '^BENCH ' "$out")" || { cat "$out" >&2; die "wrk printed no summary"; }
    field() { sed -E "s/.* $1=([0-9]+).*/\1/" <<<"$line"; }
    local requests duration_us bytes
    requests="$(field requests)" duration_us="$(field duration_us)" bytes="$(field bytes)"
    R_BAD="$(field non2xx3xx)"
    R_ERRORS=$(($(field connect) + $(field read) + $(field write) + $(field timeout)))
    local good=$((requests - R_BAD))
    R_RPS="$(awk -v n="$good" -v d="$duration_us" 'BEGIN { printf "%.0f", n / (d / 1e6) }')"
    R_P50="$(awk -v u="$(field p50_us)" 'BEGIN { printf "%.2f", u / 1000 }')"
    R_P99="$(awk -v u="$(field p99_us)" 'BEGIN { printf "%.2f", u / 1000 }')"
    R_MAX="$(awk -v u="$(field max_us)" 'BEGIN { printf "%.2f", u / 1000 }')"
    R_BYTES="$(awk -v b="$bytes" -v n="$requests" 'BEGIN { printf "%.0f", (n > 0) ? b / n : 0 }')"
    local secs wrk_cpu
    secs="$(awk -v a="$wall0" -v b="$wall1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')"
    wrk_cpu="$(awk '{ print $1 + $2 }' "$WORK/wrk-time.txt")"
    R_CPU="$(awk -v a="$s0" -v b="$s1" -v hz="$CLK_TCK" -v s="$secs" 'BEGIN { printf "%.2f", (b - a) / hz / s }')"
    R_WRK_CPU="$(awk -v c="$wrk_cpu" -v s="$secs" 'BEGIN { printf "%.2f", c / s }')"
    read -r R_OTHER R_IRQ R_STEAL < <(awk -v a="$sys0" -v b="$sys1" -v srv="$R_CPU" -v w="$R_WRK_CPU" -v hz="$CLK_TCK" -v s="$secs" \
        'BEGIN { split(a, x, " "); split(b, y, " "); o = (y[1] - x[1]) / hz / s - srv - w
                 printf "%.2f %.2f %.2f\n", (o > 0) ? o : 0, (y[2] - x[2]) / hz / s, (y[3] - x[3]) / hz / s }')
    printf '%-26s %9s/s  p50 %6s ms  p99 %6s ms  max %7s ms  status>=400 %s  socket errors %s  %s B/answer\n' \
        "$label" "$R_RPS" "$R_P50" "$R_P99" "$R_MAX" "$R_BAD" "$R_ERRORS" "$R_BYTES"
    printf '    cores (of %s): signalbox %s, wrk %s, irq/softirq %s, steal %s, other processes %s (quiet check before: %s)\n' \
        "$(nproc)" "$R_CPU" "$R_WRK_CPU" "$R_IRQ" "$R_STEAL" "$R_OTHER" "$QUIET"
    printf '    signalbox by thread (cores): %s; VmRSS now %s (peak %s)\n' \
        "$(thread_split "$WORK/threads-0.txt" "$WORK/threads-1.txt" "$secs")" "$(mib "$(rss_kib "$SB_PID")")" "$(mib "$(hwm_kib "$SB_PID")")"
    local wrk_non="$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")"
    [[ -z "$wrk_non" ]] || printf '    wrk: Non-2xx or 3xx responses: %s\n' "$wrk_non"
    if [[ -n "$perf_pid" ]]; then
        echo "    perf: hottest symbols (self)"
        perf report -i "$WORK/perf-${label// /_}.data" --no-children --sort comm,dso,symbol --stdio 2>/dev/null |
            grep -E '^ +[0-9]' | head -25 | cut -c1-170 | sed 's/^/    /' || true
    fi
}

# --- the kill → stream measurement ---------------------------------------------------------
# Reads /api/client/streaming on its own thread, recording when each feature-updated event
# arrives; the main thread kills, revives and enables flags through the API and times each
# change from just before the call to the arrival of the matching event.
KILL_PY="$WORK/kill.py"
cat >"$KILL_PY" <<'EOF'
import http.client, json, math, sys, threading, time

host, port, client_token, jwt, prefix, kills = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
seen = []  # (monotonic time, feature name, enabled)
cond = threading.Condition()
connected = threading.Event()
failure = []

def reader():
    try:
        conn = http.client.HTTPConnection(host, port, timeout=120)
        conn.request("GET", "/api/client/streaming", headers={"Authorization": client_token, "Accept": "text/event-stream"})
        resp = conn.getresponse()
        if resp.status != 200:
            raise RuntimeError(f"streaming answered {resp.status}")
        buf = b""
        while True:
            chunk = resp.read1(65536)
            if not chunk:
                return
            buf += chunk
            while b"\n\n" in buf:
                block, buf = buf.split(b"\n\n", 1)
                now = time.monotonic()
                event, data = None, []
                for line in block.decode().splitlines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        data.append(line[5:].lstrip())
                if event == "unleash-connected":
                    connected.set()
                elif event == "unleash-updated":
                    with cond:
                        for e in json.loads("\n".join(data))["events"]:
                            if e.get("type") == "feature-updated":
                                seen.append((now, e["feature"]["name"], e["feature"]["enabled"]))
                        cond.notify_all()
    except Exception as e:  # reported by the main thread
        failure.append(repr(e))
        connected.set()
        with cond:
            cond.notify_all()

def post(path, body):
    conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.request("POST", path, body=json.dumps(body),
                 headers={"Authorization": "Bearer " + jwt, "Content-Type": "application/json"})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    if resp.status != 200:
        raise RuntimeError(f"POST {path} answered {resp.status}")

def wait_for(name, enabled, since, timeout=10.0):
    deadline = time.monotonic() + timeout
    with cond:
        while True:
            for at, n, en in seen:
                if at >= since and n == name and en == enabled:
                    return at
            left = deadline - time.monotonic()
            if left <= 0 or failure:
                return None
            cond.wait(left)

threading.Thread(target=reader, daemon=True).start()
if not connected.wait(10) or failure:
    sys.exit(f"no unleash-connected event: {failure}")
kill_ms, on_ms, call_ms, missed = [], [], [], 0
for i in range(kills):
    key = f"{prefix}{i:03d}"
    flag = f"/v1/projects/default/flags/{key}"
    t0 = time.monotonic()
    post(f"{flag}/kill", {"reason": "bench"})
    call_ms.append((time.monotonic() - t0) * 1000)
    at = wait_for(key, False, t0)
    if at is None:
        missed += 1
    else:
        kill_ms.append((at - t0) * 1000)
    post(f"{flag}/revive", {})
    t1 = time.monotonic()
    post(f"{flag}/environments/production/on", {})
    at = wait_for(key, True, t1)
    if at is None:
        missed += 1
    else:
        on_ms.append((at - t1) * 1000)
    time.sleep(0.05)

def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)  # nearest rank
    return values[min(len(values), max(1, math.ceil(p / 100 * len(values)))) - 1]

print(f"KILL n={len(kill_ms)} missed={missed} kill_p50={pct(kill_ms, 50):.1f} kill_p99={pct(kill_ms, 99):.1f} "
      f"kill_max={max(kill_ms or [float('nan')]):.1f} on_p50={pct(on_ms, 50):.1f} on_p99={pct(on_ms, 99):.1f} "
      f"call_p50={pct(call_ms, 50):.1f} call_p99={pct(call_ms, 99):.1f}")
EOF

# run_kills LABEL: prints and sets K_P50, K_P99, K_MAX, K_ON_P50, K_ON_P99, K_CALL_P50, K_MISSED.
run_kills() {
    local out="$WORK/kills-${1// /_}.txt" line
    python3 "$KILL_PY" 127.0.0.1 "$SB_PORT" "$CLIENT_TOKEN" "$JWT" flag- "$KILLS" >"$out" 2>&1 ||
        { cat "$out" >&2; die "the kill measurement failed"; }
    line="$(grep '^KILL ' "$out")"
    kf() { sed -E "s/.* $1=([^ ]+).*/\1/" <<<"$line"; }
    K_P50="$(kf kill_p50)" K_P99="$(kf kill_p99)" K_MAX="$(kf kill_max)" K_ON_P50="$(kf on_p50)"
    K_ON_P99="$(kf on_p99)" K_CALL_P50="$(kf call_p50)" K_MISSED="$(kf missed)"
    printf '%-30s kill → event p50 %s ms, p99 %s ms, max %s ms (n=%s, missed %s); on → event p50 %s ms, p99 %s ms; kill call alone p50 %s ms\n' \
        "$1" "$K_P50" "$K_P99" "$K_MAX" "$(kf n)" "$K_MISSED" "$K_ON_P50" "$K_ON_P99" "$K_CALL_P50"
}

# --- run -----------------------------------------------------------------------------------
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
if ! git -C "$ROOT" diff --quiet HEAD -- crates 2>/dev/null; then COMMIT="$COMMIT + uncommitted changes in crates/"; fi
CPU_MODEL="$(lscpu 2>/dev/null | awk -F': *' '/^Model name/ { print $2; exit }')"
[[ -n "$CPU_MODEL" ]] || CPU_MODEL="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
printf 'Signalbox client API benchmark — %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
printf 'nproc %s; CPU %s; commit %s; %s flags × 3 strategies × 1 constraint; wrk -t%s -c%s -d%s\n\n' \
    "$(nproc)" "${CPU_MODEL:-unknown}" "$COMMIT" "$FLAGS" "$THREADS" "$CONNECTIONS" "$DURATION"

# start_signalbox: starts the server on the SQLite database in $WORK/sqlite (created on the
# first start) on a free port; sets SB_PID, SB_PORT, SB_URL.
start_signalbox() {
    mkdir -p "$WORK/sqlite"
    SB_PORT="$(free_port)"
    SB_URL="http://127.0.0.1:$SB_PORT"
    # shellcheck disable=SC2086 # SERVE_ARGS is a list of flags
    (cd "$WORK/sqlite" && exec "$SIGNALBOX" serve --listen "127.0.0.1:$SB_PORT" \
        --database-url "sqlite://$WORK/sqlite/signalbox.db" \
        --admin-email "$ADMIN_EMAIL" --admin-password "$ADMIN_PASSWORD" --log-level warn ${SERVE_ARGS:-}) \
        >>"$WORK/server.log" 2>&1 &
    SB_PID=$!
    PIDS+=("$SB_PID")
    wait_ready "$SB_URL/readyz" "$SB_PID"
}

log "signalbox serve on a fresh SQLite database"
start_signalbox
sleep 1
RSS_FIRST="$(rss_kib "$SB_PID")" # the first start seeds the owner: one Argon2id hash (19 MiB)

JWT="$(api POST /v1/auth/login "" "$(jq -nc --arg e "$ADMIN_EMAIL" --arg p "$ADMIN_PASSWORD" '{email: $e, password: $p}')" | jq -er .token)"
RSS_LOGIN="$(rss_kib "$SB_PID")"

log "creating $FLAGS flags (3 strategies, 1 constraint each), enabled in production"
for ((i = 0; i < FLAGS; i++)); do
    key="$(printf 'flag-%03d' "$i")"
    api POST "$PROJECT_FLAGS" "$JWT" "{\"key\":\"$key\",\"description\":\"Benchmark flag $i\",\"tags\":[\"team:bench\"]}" >/dev/null
    config="$(jq -nc --arg k "$key" '
        {contextName: "region", operator: "IN", values: ["eu", "us"]} as $c |
        {enabled: true, strategies: [
          {name: "flexibleRollout", parameters: {rollout: "50", stickiness: "default", groupId: $k}, constraints: [$c]},
          {name: "userWithId", parameters: {userIds: "ada,grace,1,2,3,4,5,6,7,8,9,10"}, constraints: [$c]},
          {name: "default", parameters: {}, constraints: [$c]}]}')"
    api PUT "$PROJECT_FLAGS/$key/environments/production" "$JWT" "$config" >/dev/null
done
CLIENT_TOKEN="$(api POST /v1/sdk-tokens "$JWT" '{"name":"bench-client","type":"client","environment":"production"}' | jq -er .secret)"
FRONTEND_TOKEN="$(api POST /v1/sdk-tokens "$JWT" '{"name":"bench-frontend","type":"frontend","environment":"production"}' | jq -er .secret)"

sleep 1
RSS_SETUP="$(rss_kib "$SB_PID")"
# An SDK-serving process: restart on the same database (the session stays valid: same key
# file), so no Argon2 hash has run in it. The figures below are this process's.
stop_pid "$SB_PID"
log "restarting signalbox on the same database"
start_signalbox
sleep 1
RSS_START="$(rss_kib "$SB_PID")"

# Check the answers before measuring.
FEATURES=/api/client/features
curl -fsS -D "$WORK/features.headers" -o "$WORK/features.json" "$SB_URL$FEATURES" \
    -H "Authorization: $CLIENT_TOKEN" -H 'Unleash-AppName: bench' -H 'Unleash-Client-Spec: 5.2.2' ||
    die "GET $FEATURES failed"
N_FEATURES="$(jq '.features | length' "$WORK/features.json")"
N_STRATEGIES="$(jq '[.features[].strategies[]] | length' "$WORK/features.json")"
N_CONSTRAINTS="$(jq '[.features[].strategies[].constraints[]] | length' "$WORK/features.json")"
FULL_BYTES="$(wc -c <"$WORK/features.json")"
[[ "$N_FEATURES" == "$FLAGS" ]] || die "$FEATURES served $N_FEATURES features, not $FLAGS"
ETAG="$(awk -F': ' 'tolower($1) == "etag" { sub(/\r$/, "", $2); print $2 }' "$WORK/features.headers")"
[[ -n "$ETAG" ]] || die "$FEATURES sent no ETag"
STATUS_304="$(curl -sS -o /dev/null -w '%{http_code}' "$SB_URL$FEATURES" -H "Authorization: $CLIENT_TOKEN" \
    -H 'Unleash-AppName: bench' -H 'Unleash-Client-Spec: 5.2.2' -H "If-None-Match: $ETAG")"
[[ "$STATUS_304" == 304 ]] || die "If-None-Match: $ETAG answered $STATUS_304, not 304"
curl -fsS -o "$WORK/frontend.json" "$SB_URL/api/frontend?userId=7&properties%5Bregion%5D=eu" \
    -H "Authorization: $FRONTEND_TOKEN" || die "GET /api/frontend failed"
FRONTEND_ON="$(jq '.toggles | length' "$WORK/frontend.json")"
FRONTEND_BYTES="$(wc -c <"$WORK/frontend.json")"
[[ "$FRONTEND_ON" == "$FLAGS" ]] || die "/api/frontend (region eu) answered $FRONTEND_ON toggles, not $FLAGS"
FRONTEND_US="$(curl -fsS "$SB_URL/api/frontend?userId=7&properties%5Bregion%5D=asia" -H "Authorization: $FRONTEND_TOKEN" | jq '.toggles | length')"
printf 'GET %s: %s features, %s strategies, %s constraints, body %s bytes, ETag %s; with If-None-Match: %s\n' \
    "$FEATURES" "$N_FEATURES" "$N_STRATEGIES" "$N_CONSTRAINTS" "$FULL_BYTES" "$ETAG" "$STATUS_304"
printf 'GET /api/frontend?userId=7&properties[region]=eu: %s toggles on, body %s bytes (region asia: %s on)\n' \
    "$FRONTEND_ON" "$FRONTEND_BYTES" "$FRONTEND_US"
sleep 1
RSS_IDLE="$(rss_kib "$SB_PID")"
printf 'VmRSS, first process: %s after the first start (owner seeded with Argon2id), %s after a login, %s after creating the flags and tokens\n' \
    "$(mib "$RSS_FIRST")" "$(mib "$RSS_LOGIN")" "$(mib "$RSS_SETUP")"
printf 'VmRSS, restarted process: %s idle after start, %s after the first SDK answers\n\n' "$(mib "$RSS_START")" "$(mib "$RSS_IDLE")"

run_wrk "a. features 200" "$CLIENT_LUA" "$FEATURES" "$CLIENT_TOKEN"
FULL_RPS="$R_RPS" FULL_P50="$R_P50" FULL_P99="$R_P99" FULL_BAD="$R_BAD" FULL_CPU="$R_CPU" FULL_OTHER="$R_OTHER" FULL_ANSWER="$R_BYTES"
run_wrk "b. features 304" "$CLIENT_LUA" "$FEATURES" "$CLIENT_TOKEN" "$ETAG"
NM_RPS="$R_RPS" NM_P50="$R_P50" NM_P99="$R_P99" NM_BAD="$R_BAD" NM_CPU="$R_CPU" NM_OTHER="$R_OTHER" NM_ANSWER="$R_BYTES"
# A 304 is headers only (~150 bytes); anything near the full body means 200s were counted.
((NM_ANSWER < 1000)) || log "warning: ${NM_ANSWER} bytes per answer in the 304 run: not all answers were 304"
STATUS_304_AFTER="$(curl -sS -o /dev/null -w '%{http_code}' "$SB_URL$FEATURES" -H "Authorization: $CLIENT_TOKEN" \
    -H 'Unleash-AppName: bench' -H 'Unleash-Client-Spec: 5.2.2' -H "If-None-Match: $ETAG")"
printf '    after the run, If-None-Match: %s still answers %s\n' "$ETAG" "$STATUS_304_AFTER"
run_wrk "c. frontend evaluations" "$FRONTEND_LUA" "/api/frontend" "$FRONTEND_TOKEN"
FE_RPS="$R_RPS" FE_P50="$R_P50" FE_P99="$R_P99" FE_BAD="$R_BAD" FE_CPU="$R_CPU" FE_OTHER="$R_OTHER" FE_ANSWER="$R_BYTES"

sleep 2
RSS_AFTER="$(rss_kib "$SB_PID")"
HWM="$(hwm_kib "$SB_PID")"
printf '\nd. VmRSS idle after the load: %s (peak VmHWM %s); before the load %s\n\n' \
    "$(mib "$RSS_AFTER")" "$(mib "$HWM")" "$(mib "$RSS_IDLE")"

log "e. kill → streaming client, $KILLS times (idle server)"
wait_for_quiet
run_kills "e. kill, idle"
KI_P50="$K_P50" KI_P99="$K_P99" KI_MAX="$K_MAX" KI_MISSED="$K_MISSED"
KL_P50="" KL_P99=""
if [[ "${KILL_UNDER_LOAD:-1}" == 1 ]]; then
    log "e. kill → streaming client while wrk loads $FEATURES"
    BENCH_TOKEN="$CLIENT_TOKEN" wrk -t"$THREADS" -c"$CONNECTIONS" -d120s -s "$CLIENT_LUA" "$SB_URL$FEATURES" \
        >"$WORK/wrk-kill-load.txt" 2>&1 &
    LOAD_PID=$!
    PIDS+=("$LOAD_PID")
    sleep 2
    run_kills "e. kill, under load"
    KL_P50="$K_P50" KL_P99="$K_P99" KL_MAX="$K_MAX" KL_MISSED="$K_MISSED"
    stop_pid "$LOAD_PID"
fi
sleep 2
RSS_END="$(rss_kib "$SB_PID")"
HWM_END="$(hwm_kib "$SB_PID")"
printf 'VmRSS after the kill runs: %s (peak VmHWM %s)\n' "$(mib "$RSS_END")" "$(mib "$HWM_END")"

WARNINGS="$(grep -cE 'WARN|ERROR' "$WORK/server.log" || true)"
printf '\nserver log: %s WARN/ERROR lines' "$WARNINGS"
if ((WARNINGS > 0)); then
    printf '; most frequent:\n'
    grep -E 'WARN|ERROR' "$WORK/server.log" | sed -E 's/^[^A-Z]*//' | cut -c1-160 | sort | uniq -c | sort -rn | head -5
else
    printf '\n'
fi
stop_pid "$SB_PID"

# --- summary -------------------------------------------------------------------------------
verdict() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { ok = (op == ">=") ? (v >= t) : (v < t); print ok ? "met" : "MISSED" }'; }
times_unleash() { awk -v v="$1" -v u="$2" 'BEGIN { printf "%.1f×", v / u }'; }
RSS_MAX_KIB="$(printf '%s\n' "$RSS_IDLE" "$RSS_AFTER" | sort -n | tail -1)" # idle readings before the kill runs
RSS_MAX_MB="$(awk -v k="$RSS_MAX_KIB" 'BEGIN { printf "%.1f", k * 1.024 / 1000 }')"

echo
printf 'Summary — nproc %s, %s, commit %s, wrk -t%s -c%s -d%s\n' "$(nproc)" "${CPU_MODEL:-unknown}" "$COMMIT" \
    "$THREADS" "$CONNECTIONS" "$DURATION"
printf '%-34s %10s %9s %9s %8s %10s %12s %8s\n' run 'req/s' 'p50 ms' 'p99 ms' '>=400' target 'Unleash OSS' verdict
printf '%-34s %10s %9s %9s %8s %10s %12s %8s\n' "a. /api/client/features 200" "$FULL_RPS" "$FULL_P50" "$FULL_P99" \
    "$FULL_BAD" ">= $TARGET_FULL" "$UNLEASH_FULL" "$(verdict "$FULL_RPS" "$TARGET_FULL" '>=')"
printf '%-34s %10s %9s %9s %8s %10s %12s %8s\n' "b. /api/client/features 304" "$NM_RPS" "$NM_P50" "$NM_P99" \
    "$NM_BAD" ">= $TARGET_304" "$UNLEASH_304" "$(verdict "$NM_RPS" "$TARGET_304" '>=')"
printf '%-34s %10s %9s %9s %8s %10s %12s %8s\n' "c. /api/frontend evaluations" "$FE_RPS" "$FE_P50" "$FE_P99" \
    "$FE_BAD" ">= $TARGET_FRONTEND" "$UNLEASH_FRONTEND" "$(verdict "$FE_RPS" "$TARGET_FRONTEND" '>=')"
printf '%-34s %10s %9s %9s %8s %10s %12s %8s\n' "d. VmRSS idle, after the load" "$(mb "$RSS_MAX_KIB")" '' '' '' \
    "< $TARGET_RSS_MB MB" "~$UNLEASH_RSS_MB MB" "$(verdict "$RSS_MAX_MB" "$TARGET_RSS_MB" '<')"
printf '%-34s %10s %9s %9s %8s %10s %12s %8s\n' "d. VmRSS after the kill runs" "$(mb "$RSS_END")" '' '' '' \
    "< $TARGET_RSS_MB MB" '' "$(verdict "$(awk -v k="$RSS_END" 'BEGIN { printf "%.1f", k * 1.024 / 1000 }')" "$TARGET_RSS_MB" '<')"
printf '%-34s %10s %9s %9s %8s %10s %12s %8s\n' "e. kill → stream, idle" '' "$KI_P50" "$KI_P99" "$KI_MISSED" \
    "p99 < 1 s" '' "$(verdict "$KI_P99" "$TARGET_KILL_P99_MS" '<')"
if [[ -n "$KL_P50" ]]; then
    printf '%-34s %10s %9s %9s %8s %10s %12s %8s\n' "e. kill → stream, under load" '' "$KL_P50" "$KL_P99" "$KL_MISSED" \
        "p99 < 1 s" '' "$(verdict "$KL_P99" "$TARGET_KILL_P99_MS" '<')"
fi
printf '\nvs Unleash OSS 8.2.0: full %s, 304 %s, frontend %s, memory %s less\n' \
    "$(times_unleash "$FULL_RPS" "$UNLEASH_FULL")" "$(times_unleash "$NM_RPS" "$UNLEASH_304")" \
    "$(times_unleash "$FE_RPS" "$UNLEASH_FRONTEND")" "$(awk -v u="$UNLEASH_RSS_MB" -v m="$RSS_MAX_MB" 'BEGIN { printf "%.0f×", u / m }')"
printf 'answers: full %s bytes (%s per answer with headers), 304 %s bytes per answer, frontend %s bytes per answer\n' \
    "$FULL_BYTES" "$FULL_ANSWER" "$NM_ANSWER" "$FE_ANSWER"
printf 'signalbox cores (of %s): full %s, 304 %s, frontend %s; other processes: %s, %s, %s\n' "$(nproc)" \
    "$FULL_CPU" "$NM_CPU" "$FE_CPU" "$FULL_OTHER" "$NM_OTHER" "$FE_OTHER"
printf 'VmRSS (SDK-serving process, restarted, no login): idle after start %s, after the first answers %s, after the wrk load %s (peak %s), after the kill runs %s (peak %s)\n' \
    "$(mib "$RSS_START")" "$(mib "$RSS_IDLE")" "$(mib "$RSS_AFTER")" "$(mib "$HWM")" "$(mib "$RSS_END")" "$(mib "$HWM_END")"
printf 'VmRSS (first process): after the first start %s, after a login %s, after creating the flags %s\n' \
    "$(mib "$RSS_FIRST")" "$(mib "$RSS_LOGIN")" "$(mib "$RSS_SETUP")"
