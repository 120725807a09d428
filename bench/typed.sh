#!/usr/bin/env bash
# Typed-ingest benchmark (issue 9: "Typed ingest with autoqualify on (3 ICP and 3 persona
# profiles of 5 rules each) versus signal-endpoint ingest in the same run: >= 50 % of its
# rate").
#
# Builds the release binary into its own target dir (CARGO_TARGET_DIR, default
# /tmp/sbx-typed-bench: other builds may be running), starts `signalbox serve` on a fresh
# SQLite database with every limit lifted, and through the API: turns autoqualify on for
# `custom_event`, creates 3 ICP and 3 persona profiles of 5 CEL rules each, an ingest-scoped
# API token, and a signal endpoint `bench` with a token. Then, alternating, ROUNDS times:
#   typed     POST /signals                      (Authorization: Bearer <ingest API token>)
#   endpoint  POST /api/signal-endpoint/bench    (Authorization: Bearer <endpoint token>)
# with wrk (same threads, connections, duration) and a Lua script that builds a NEW body for
# every request (unique idempotency_key and occurred_at; 90 % of the emails from a pool of
# 1000 people, 10 % new people), so neither side measures replays. Both sides post the same
# body shape (~330 bytes). Prints 2xx/s, p50/p99, non-2xx, server CPU by thread, and the
# ratio typed / endpoint per round and on the medians (target >= 0.50). Afterwards counts the
# stored captures, signals and leads with sqlite3 and compares them with wrk's 2xx counts.
#
# Environment: DURATION (15s), CONNECTIONS (64, as bench/ingest.sh's first run), THREADS (2),
# ROUNDS (3), SKIP_BUILD=1 (reuse the binary in CARGO_TARGET_DIR), CARGO_TARGET_DIR,
# QUIET_CORES (0.15) / QUIET_MAX_WAIT (600 s) for the quiet-machine wait before each run,
# PERF=1 (one extra typed run under `perf record -g`, hottest symbols printed), DIAG=1 (one
# extra typed run with autoqualify off), KEEP_WORK=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DURATION="${DURATION:-15s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
ROUNDS="${ROUNDS:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/sbx-typed-bench}"
ADMIN_EMAIL=admin@signalbox.local
ADMIN_PASSWORD='bench password 123'
ENDPOINT=bench

SIGNALBOX="$CARGO_TARGET_DIR/release/signalbox"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/signalbox-typed-bench.XXXXXX")"
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
for tool in curl jq python3 git; do command -v "$tool" >/dev/null || die "$tool is required"; done
if ! command -v wrk >/dev/null; then
    SUDO=""
    [[ "$(id -u)" == 0 ]] || SUDO="sudo"
    log "installing wrk"
    if ! $SUDO apt-get install -y -q wrk >/dev/null 2>&1; then
        $SUDO apt-get update -q >/dev/null
        $SUDO apt-get install -y -q wrk >/dev/null
    fi
fi

# --- build (record the exact commit: the server code is in flux) ----------------------------
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
DIRTY=""
if ! git -C "$ROOT" diff --quiet HEAD -- crates Cargo.toml Cargo.lock 2>/dev/null; then
    DIRTY=" + uncommitted changes in crates/"
elif [[ -n "$(git -C "$ROOT" status --porcelain --untracked-files=normal -- crates 2>/dev/null)" ]]; then
    DIRTY=" + untracked files in crates/"
fi
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "cargo build --release -p signalbox (CARGO_TARGET_DIR=$CARGO_TARGET_DIR) at $COMMIT$DIRTY"
    (cd "$ROOT" && cargo build --release -q -p signalbox)
    # The tree may have moved while cargo ran; the binary is from the tree cargo saw.
    AFTER="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
    [[ "$AFTER" == "$COMMIT" ]] || log "warning: HEAD moved from $COMMIT to $AFTER during the build"
else
    log "SKIP_BUILD=1: using $SIGNALBOX as built (commit unknown to this script; HEAD is $COMMIT$DIRTY)"
fi
[[ -x "$SIGNALBOX" ]] || die "$SIGNALBOX missing; run without SKIP_BUILD=1"

# --- helpers -------------------------------------------------------------------------------
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_ready() { # URL PID
    local url="$1" pid="$2" deadline=$((SECONDS + 30))
    until curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || die "server (pid $pid) exited before $url answered"
        ((SECONDS < deadline)) || die "$url did not answer within 30 s"
        sleep 0.01
    done
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

CLK_TCK="$(getconf CLK_TCK)"
cpu_ticks() { awk '{ sub(/^.*\) /, ""); split($0, f, " "); print f[12] + f[13] }' "/proc/$1/stat"; }
sys_ticks() { awk '/^cpu / { print $2 + $3 + $4, $7 + $8, $9 }' /proc/stat; }
thread_ticks() {
    local stat
    for stat in /proc/"$1"/task/*/stat; do
        awk '{ tid = $1; match($0, /\(.*\)/); name = substr($0, RSTART + 1, RLENGTH - 2); gsub(/ /, "_", name)
               rest = substr($0, RSTART + RLENGTH + 1); split(rest, f, " "); print tid, name, f[12] + f[13] }' "$stat" 2>/dev/null || true
    done
}
thread_split() { # BEFORE AFTER SECONDS: cores used per thread name
    awk -v hz="$CLK_TCK" -v s="$3" 'NR == FNR { before[$1] = $3; next }
        { used[$2] += $3 - before[$1]; count[$2]++ }
        END { for (n in used) if (used[n] > 0) printf "%.2f %s×%d\n", used[n] / hz / s, n, count[n] }' "$1" "$2" |
        sort -rn | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }'
}

# wait_for_quiet: as bench/client-api.sh — waits while another benchmark runs or anything but
# signalbox keeps more than QUIET_CORES busy, at most QUIET_MAX_WAIT s. Sets QUIET.
QUIET_CORES="${QUIET_CORES:-0.15}"
QUIET_MAX_WAIT="${QUIET_MAX_WAIT:-600}"
others_busy() {
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
        if pgrep -x wrk >/dev/null || pgrep -x hey >/dev/null || pgrep -x oha >/dev/null ||
            pgrep -f 'bench/(fanout|ingest|client-api|actions)\.sh' >/dev/null ||
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

api() { # api METHOD PATH JWT [JSON]: fails (with the answer) on non-2xx
    local args=(-sS --max-time 30 -X "$1" "$SB_URL$2" -H 'Content-Type: application/json' -w '\n%{http_code}')
    [[ -n "$3" ]] && args+=(-H "Authorization: Bearer $3")
    [[ $# -ge 4 ]] && args+=(--data "$4")
    local out code
    out="$(curl "${args[@]}")" || die "curl $1 $2 failed"
    code="${out##*$'\n'}"
    out="${out%$'\n'*}"
    [[ "$code" == 2* ]] || die "$1 $2 answered $code: $out"
    printf '%s' "$out"
}

# --- start the server ----------------------------------------------------------------------
SECRET_KEY="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
DB_FILE="$WORK/sqlite/signalbox.db"
mkdir -p "$WORK/sqlite"
PORT="$(free_port)"
SB_URL="http://127.0.0.1:$PORT"
log "signalbox serve on $SB_URL (SQLite $DB_FILE)"
(cd "$WORK/sqlite" && exec "$SIGNALBOX" serve --listen "127.0.0.1:$PORT" --database-url "sqlite://$DB_FILE" \
    --secret-key "$SECRET_KEY" \
    --signal-rate-limit 0 --max-signal-endpoints 0 --max-tokens-per-endpoint 0 \
    --typed-signal-rate-per-minute 0 --typed-signal-rate-per-day 0 \
    --admin-email "$ADMIN_EMAIL" --admin-password "$ADMIN_PASSWORD" --log-level warn) \
    >>"$WORK/server.log" 2>&1 &
SB_PID=$!
PIDS+=("$SB_PID")
wait_ready "$SB_URL/readyz" "$SB_PID"

# --- setup through the API -----------------------------------------------------------------
JWT="$(api POST /v1/auth/login "" "$(jq -nc --arg e "$ADMIN_EMAIL" --arg p "$ADMIN_PASSWORD" '{email: $e, password: $p}')" | jq -er .token)"
api PUT /v1/signal-types/custom_event "$JWT" '{"autoqualify": true}' | jq -e '.autoqualify == true' >/dev/null ||
    die "autoqualify did not turn on"

# 3 ICP + 3 persona profiles, 5 rules each, over signals.context.*, identity.*, lead.*.
profile() { # KIND CODE RULE... (each rule "weight|condition")
    local kind="$1" code="$2" rules="[]" r
    shift 2
    for r in "$@"; do
        rules="$(jq -c --arg c "${r#*|}" --argjson w "${r%%|*}" '. + [{condition: $c, weight: $w}]' <<<"$rules")"
    done
    api POST "/v1/$kind-profiles" "$JWT" "$(jq -nc --arg code "$code" --argjson rules "$rules" '{code: $code, rules: $rules}')" >/dev/null
}
profile icp "Mid-market SaaS" \
    "30|signals.context.team_size > 10" \
    "20|identity.company_domain.endsWith('.io')" \
    "20|lead.capture_count >= 2" \
    "15|has(signals.context.plan_tier) && signals.context.plan_tier == 'free'" \
    "15|signals.event_name == 'user_invited_teammate'"
profile icp "Enterprise" \
    "40|signals.context.team_size >= 200" \
    "20|has(signals.context.plan_tier) && signals.context.plan_tier == 'enterprise'" \
    "15|identity.company_domain.endsWith('.com')" \
    "15|lead.capture_count >= 5" \
    "10|signals.source == 'bench'"
profile icp "Startup" \
    "30|signals.context.team_size <= 20" \
    "25|has(signals.context.seats) && signals.context.seats < 10" \
    "20|identity.company_domain.endsWith('.io') || identity.company_domain.endsWith('.ai')" \
    "15|lead.capture_count >= 1" \
    "10|has(signals.context.plan_tier) && signals.context.plan_tier in ['free', 'starter']"
profile persona "VP Engineering" \
    "40|has(identity.title) && identity.title.contains('VP')" \
    "25|has(identity.title) && identity.title.contains('Engineering')" \
    "15|identity.email.startsWith('user')" \
    "10|lead.capture_count >= 3" \
    "10|signals.context.team_size > 10"
profile persona "Founder" \
    "40|has(identity.title) && (identity.title.contains('Founder') || identity.title.contains('CEO'))" \
    "20|signals.context.team_size < 50" \
    "15|identity.company_domain.endsWith('.io')" \
    "15|lead.capture_count >= 2" \
    "10|has(signals.context.plan_tier) && signals.context.plan_tier == 'free'"
profile persona "Developer" \
    "35|has(identity.title) && identity.title.contains('Engineer')" \
    "25|signals.event_name.startsWith('api_')" \
    "15|has(signals.context.seats) && signals.context.seats >= 1" \
    "15|lead.capture_count >= 1" \
    "10|identity.email.endsWith('.io')"
NPROFILES="$(api GET /v1/icp-profiles "$JWT" | jq 'if type == "array" then length else (.items // .data // []) | length end')"
NPERSONAS="$(api GET /v1/persona-profiles "$JWT" | jq 'if type == "array" then length else (.items // .data // []) | length end')"

INGEST_KEY="$(api POST /v1/api-tokens "$JWT" '{"name":"bench","scope":"ingest"}' | jq -er .token)"
ENDPOINT_ID="$(api POST /v1/signal-endpoints "$JWT" "{\"name\":\"$ENDPOINT\"}" | jq -er .id)"
ENDPOINT_TOKEN="$(api POST "/v1/signal-endpoints/$ENDPOINT_ID/tokens" "$JWT" '{"name":"wrk"}' | jq -er .token)"

# --- the wrk script: a new body per request ------------------------------------------------
# Per thread a counter; n = round * 10^9 + thread * 10^8 + counter is unique in the whole run.
# occurred_at = 2026-11-01T00:00:00Z + n µs (unique instants), idempotency_key "bench-<n>".
# People: 9 of 10 requests come from a pool of 1000 (user<i>@acme<i % 50>.io, existing
# leads after the first few hundred requests), 1 in 10 is a new person (new<n>@fresh<...>.io).
LUA="$WORK/typed.lua"
cat >"$LUA" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
local round = tonumber(os.getenv("BENCH_ROUND") or "0")
local base = 1793491200 -- 2026-11-01T00:00:00Z
local titles = {"VP Engineering", "Founder & CEO", "Senior Engineer", "Head of Growth"}
local plans = {"free", "starter", "free", "enterprise"}
local events = {"user_invited_teammate", "api_key_created", "enabled_sso", "user_invited_teammate"}
local next_thread = 0
function setup(thread)
    thread:set("thread_no", next_thread)
    next_thread = next_thread + 1
end
local counter = 0
local prefix = 0
function init(args)
    prefix = round * 1000000000 + (thread_no or 0) * 100000000
end
function request()
    counter = counter + 1
    local n = prefix + counter
    local email, domain
    if counter % 10 == 0 then
        domain = string.format("fresh%d.io", n % 97)
        email = string.format("new%d@%s", n, domain)
    else
        local i = (n * 7919) % 1000
        domain = string.format("acme%d.io", i % 50)
        email = string.format("user%d@%s", i, domain)
    end
    local k = counter % 4 + 1
    local t = base + math.floor(n / 1000000)
    local at = os.date("!%Y-%m-%dT%H:%M:%S", t) .. string.format(".%06dZ", n % 1000000)
    local body = string.format(
        '{"signal_type":"custom_event","source":"bench","event_name":"%s","occurred_at":"%s",' ..
        '"idempotency_key":"bench-%d","identity":{"email":"%s","company_domain":"%s","title":"%s"},' ..
        '"context":{"team_size":%d,"plan_tier":"%s","seats":%d}}',
        events[k], at, n, email, domain, titles[k], 5 + (n % 40), plans[k], 1 + (n % 12))
    return wrk.format(nil, nil, nil, body)
end
function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "BENCH requests=%d duration_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d max_us=%d\n",
        summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
        latency:percentile(50), latency:percentile(99), latency.max))
end
EOF

SAMPLE_AT="$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)"
SAMPLE="{\"signal_type\":\"custom_event\",\"source\":\"bench\",\"event_name\":\"user_invited_teammate\",\"occurred_at\":\"$SAMPLE_AT\",\"identity\":{\"email\":\"sample@acme0.io\",\"company_domain\":\"acme0.io\",\"title\":\"VP Engineering\"},\"context\":{\"team_size\":12,\"plan_tier\":\"free\",\"seats\":3}}"
# A sample of each, checked: typed answers 201 with a non-null icp_score.
SAMPLE_OUT="$(curl -sS -o "$WORK/sample.json" -w '%{http_code}' -X POST "$SB_URL/signals" \
    -H "Authorization: Bearer $INGEST_KEY" -H 'Content-Type: application/json' --data "$SAMPLE")"
[[ "$SAMPLE_OUT" == 201 ]] || die "typed sample answered $SAMPLE_OUT: $(cat "$WORK/sample.json")"
jq -e '.qualification.icp_score != null and .qualification.persona_score != null' "$WORK/sample.json" >/dev/null ||
    die "typed sample has no qualification: $(cat "$WORK/sample.json")"
EP_OUT="$(curl -sS -o "$WORK/sample-ep.json" -w '%{http_code}' -X POST "$SB_URL/api/signal-endpoint/$ENDPOINT" \
    -H "Authorization: Bearer $ENDPOINT_TOKEN" -H 'Content-Type: application/json' --data "$SAMPLE")"
[[ "$EP_OUT" == 2* ]] || die "endpoint sample answered $EP_OUT: $(cat "$WORK/sample-ep.json")"
# The replay path, once, to show it is not what the load measures.
REPLAY_CODE="$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$SB_URL/signals" \
    -H "Authorization: Bearer $INGEST_KEY" -H 'Content-Type: application/json' --data "$SAMPLE")"

printf 'Signalbox typed-ingest benchmark (issue 9) — %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
printf 'binary built from %s%s; nproc %s; CPU %s\n' "$COMMIT" "$DIRTY" "$(nproc)" \
    "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
printf 'wrk -t%s -c%s -d%s, %s rounds alternating typed / endpoint; one new signal per request\n' \
    "$THREADS" "$CONNECTIONS" "$DURATION" "$ROUNDS"
printf 'profiles: %s ICP, %s persona, 5 rules each; custom_event autoqualify on\n' "$NPROFILES" "$NPERSONAS"
printf 'sample typed answer (201): %s\n' "$(jq -c '.qualification' "$WORK/sample.json")"
printf 'sample endpoint answer (%s): %s; replay of the typed sample answered %s\n\n' \
    "$EP_OUT" "$(cat "$WORK/sample-ep.json")" "$REPLAY_CODE"

# run_wrk LABEL URL TOKEN ROUND: one measured run; sets R_RPS R_OK R_P50 R_P99 R_NON2XX R_ERRORS R_CPU.
run_wrk() {
    local label="$1" url="$2" token="$3" round="$4" out
    out="$WORK/wrk-$label-$round.txt"
    wait_for_quiet
    local s0 sys0 wall0
    thread_ticks "$SB_PID" >"$WORK/threads-0.txt"
    s0="$(cpu_ticks "$SB_PID")" sys0="$(sys_ticks)" wall0="$(date +%s%N)"
    local TIMEFORMAT='%U %S'
    { time BENCH_TOKEN="$token" BENCH_ROUND="$round" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
        -s "$LUA" "$url" >"$out" 2>&1; } 2>"$WORK/wrk-time.txt" || { cat "$out" >&2; die "wrk failed"; }
    local s1 sys1 wall1
    s1="$(cpu_ticks "$SB_PID")" sys1="$(sys_ticks)" wall1="$(date +%s%N)"
    thread_ticks "$SB_PID" >"$WORK/threads-1.txt"
    local line
    line="$(grep '^BENCH ' "$out")" || { cat "$out" >&2; die "wrk printed no summary"; }
    field() { sed -E "s/.* $1=([0-9]+).*/\1/" <<<"$line"; }
    local requests duration_us
    requests="$(field requests)" duration_us="$(field duration_us)"
    R_NON2XX="$(field non2xx)"
    R_ERRORS=$(($(field connect) + $(field read) + $(field write) + $(field timeout)))
    R_OK=$((requests - R_NON2XX))
    R_RPS="$(awk -v n="$R_OK" -v d="$duration_us" 'BEGIN { printf "%.0f", n / (d / 1e6) }')"
    R_P50="$(awk -v u="$(field p50_us)" 'BEGIN { printf "%.2f", u / 1000 }')"
    R_P99="$(awk -v u="$(field p99_us)" 'BEGIN { printf "%.2f", u / 1000 }')"
    local secs wrk_cpu other
    secs="$(awk -v a="$wall0" -v b="$wall1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')"
    wrk_cpu="$(awk '{ print $1 + $2 }' "$WORK/wrk-time.txt")"
    R_CPU="$(awk -v a="$s0" -v b="$s1" -v hz="$CLK_TCK" -v s="$secs" 'BEGIN { printf "%.2f", (b - a) / hz / s }')"
    local wrk_cores
    wrk_cores="$(awk -v c="$wrk_cpu" -v s="$secs" 'BEGIN { printf "%.2f", c / s }')"
    other="$(awk -v a="$sys0" -v b="$sys1" -v srv="$R_CPU" -v w="$wrk_cores" -v hz="$CLK_TCK" -v s="$secs" \
        'BEGIN { split(a, x, " "); split(b, y, " "); o = (y[1] - x[1]) / hz / s - srv - w
                 printf "other processes %.2f, irq/softirq %.2f, steal %.2f", (o > 0) ? o : 0, (y[2] - x[2]) / hz / s, (y[3] - x[3]) / hz / s }')"
    printf '%-9s round %s  %7s 2xx/s  p50 %7s ms  p99 %7s ms  2xx %7s  non-2xx %s  socket errors %s\n' \
        "$label" "$round" "$R_RPS" "$R_P50" "$R_P99" "$R_OK" "$R_NON2XX" "$R_ERRORS"
    printf '    cores: signalbox %s, wrk %s, %s (quiet check before: %s)\n' "$R_CPU" "$wrk_cores" "$other" "$QUIET"
    printf '    signalbox by thread (cores): %s\n' "$(thread_split "$WORK/threads-0.txt" "$WORK/threads-1.txt" "$secs")"
}

TYPED_URL="$SB_URL/signals"
EP_URL="$SB_URL/api/signal-endpoint/$ENDPOINT"
TYPED_SENT=1 EP_SENT=1 # the samples
TYPED_RPS=() EP_RPS=() RATIOS=()
for ((round = 1; round <= ROUNDS; round++)); do
    run_wrk typed "$TYPED_URL" "$INGEST_KEY" "$round"
    t="$R_RPS" TYPED_RPS+=("$R_RPS") TYPED_SENT=$((TYPED_SENT + R_OK))
    run_wrk endpoint "$EP_URL" "$ENDPOINT_TOKEN" "$round"
    EP_RPS+=("$R_RPS") EP_SENT=$((EP_SENT + R_OK))
    r="$(awk -v a="$t" -v b="$R_RPS" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')"
    RATIOS+=("$r")
    printf '    round %s: typed / endpoint = %s\n\n' "$round" "$r"
done

if [[ "${PERF:-0}" == 1 ]] && command -v perf >/dev/null; then
    log "perf record -g of signalbox during an extra typed run"
    perf record -F 499 -g -p "$SB_PID" -o "$WORK/perf.data" -- sleep "${DURATION%s}" >/dev/null 2>&1 &
    PERF_PID=$!
    run_wrk typed "$TYPED_URL" "$INGEST_KEY" 9
    TYPED_SENT=$((TYPED_SENT + R_OK))
    wait "$PERF_PID" 2>/dev/null || true
    echo "perf (typed run): hottest symbols, self"
    perf report -i "$WORK/perf.data" --no-children --sort comm,dso,symbol --stdio 2>/dev/null |
        grep -E '^ +[0-9]' | head -30 | cut -c1-170 | sed 's/^/    /' || true
    echo "perf (typed run): by symbol, children (inclusive), signalbox frames"
    perf report -i "$WORK/perf.data" --children --sort symbol --stdio -g none 2>/dev/null |
        grep -E '^ +[0-9]' | grep -Ei 'signalbox|sqlite3|cel|serde|in_write_tx|tokio' | head -40 | cut -c1-170 | sed 's/^/    /' || true
    echo
fi

if [[ "${DIAG:-0}" == 1 ]]; then
    # Diagnostic: the same typed load with autoqualify off (no profile load, no CEL, no lead
    # UPDATE): how much of the gap is qualification, how much the request's other work.
    api PUT /v1/signal-types/custom_event "$JWT" '{"autoqualify": false}' >/dev/null
    run_wrk typed-noaq "$TYPED_URL" "$INGEST_KEY" 8
    TYPED_SENT=$((TYPED_SENT + R_OK))
    printf '    typed with autoqualify off / endpoint median: %s\n\n' \
        "$(awk -v a="$R_RPS" -v b="$(printf '%s\n' "${EP_RPS[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')" 'BEGIN { printf "%.2f", a / b }')"
    api PUT /v1/signal-types/custom_event "$JWT" '{"autoqualify": true}' >/dev/null
fi

# --- stored? -------------------------------------------------------------------------------
sleep 1 # requests in flight when wrk stopped
if command -v sqlite3 >/dev/null; then
    read -r CAPTURES SIGNALS LEADS QUALIFIED < <(sqlite3 -separator ' ' "file:$DB_FILE?mode=ro" \
        "SELECT (SELECT count(*) FROM signal_captures), (SELECT count(*) FROM signals), (SELECT count(*) FROM leads),
                (SELECT count(*) FROM leads WHERE icp_score IS NOT NULL)")
    SCORED="$(sqlite3 "file:$DB_FILE?mode=ro" \
        "SELECT count(*) FROM signal_captures WHERE json_extract(response, '$.qualification.icp_score') IS NOT NULL")"
    printf 'stored: %s typed captures (%s with an icp_score) vs %s 2xx counted (+ samples); %s endpoint signals vs %s 2xx counted; %s leads (%s scored)\n' \
        "$CAPTURES" "$SCORED" "$TYPED_SENT" "$SIGNALS" "$EP_SENT" "$LEADS" "$QUALIFIED"
    printf '        (stored may exceed counted by up to %s per run: requests in flight when wrk stops)\n' "$CONNECTIONS"
else
    printf 'stored leads (API): %s\n' "$(api GET '/v1/leads?limit=1' "$JWT" | jq -r .total)"
    printf 'stored endpoint signals (API): %s\n' "$(api GET "/v1/signal-endpoints/$ENDPOINT_ID/signals?limit=1" "$JWT" | jq -r .total)"
fi
WARNS="$(grep -c . "$WORK/server.log" || true)"
printf 'server log lines at --log-level warn: %s%s\n' "$WARNS" \
    "$( ((WARNS > 0)) && printf '; first: %s' "$(head -c 300 "$WORK/server.log" | head -1)")"
printf 'signalbox VmRSS after the runs: %s\n\n' "$(mib "$(rss_kib "$SB_PID")")"

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
MT="$(median "${TYPED_RPS[@]}")" ME="$(median "${EP_RPS[@]}")"
MR="$(awk -v a="$MT" -v b="$ME" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')"
printf 'Summary (2xx/s): typed %s (median %s); endpoint %s (median %s)\n' "${TYPED_RPS[*]}" "$MT" "${EP_RPS[*]}" "$ME"
printf 'ratio typed / endpoint per round: %s; on the medians: %s (target >= 0.50): %s\n' "${RATIOS[*]}" "$MR" \
    "$(awk -v r="$MR" 'BEGIN { print (r >= 0.5) ? "MET" : "MISSED" }')"
