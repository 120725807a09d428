#!/usr/bin/env python3
"""The report of bench/actions.sh: matches the driver's observations to signals and prints the
latencies from each signal's ingest 202 to its flag change (API, webhook, SDK), then a
server-side breakdown from the database.

    actions-report.py DATABASE RAW_JSON

Ground truth is the database: each bench flag's `flag.updated` events in commit order (`seq`).
Every signal flips its flag and the runner runs a flag's runs in order, so a flag's k-th signal
is its k-th change (checked: the k-th event's `after.enabled` must be the k-th signal's `on`).
  - API: the driver polled until the configuration's version reached initial + k (exact).
  - Webhook: a delivery names its event's id (exact).
  - SDK: the k-th flip of the flag's isEnabled, when the SDK saw as many flips of that flag as
    there were changes; otherwise (changes coalesced between two `changed` events) the first
    flip to the signal's state after the previous match and not before the change committed,
    and one seen after the next-but-one change committed is counted as ambiguous, not used.
Times: the driver's monotonic clock; database times (wall clock, same machine) are converted
with the driver's performance.timeOrigin. Prints `RESULT channel=… n=… …` lines for the script.
Python standard library only.
"""
import json
import math
import sqlite3
import sys
from datetime import datetime

db_path, raw_path = sys.argv[1], sys.argv[2]
raw = json.load(open(raw_path))
origin = raw["time_origin_unix_ms"]
conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)


def wall_ms(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000 if text else None


def drv(text):  # a database time on the driver's clock
    w = wall_ms(text)
    return None if w is None else w - origin


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)  # nearest rank
    return values[min(len(values), max(1, math.ceil(p / 100 * len(values)))) - 1]


def fmt(v):
    return "nan" if v != v else f"{v:.1f}"


# ---- ground truth: each flag's changes in commit order ------------------------------------------
keys = sorted({s["key"] for s in raw["signals"]})
changes = {k: [] for k in keys}  # key → [(event id, enabled, commit time on the driver clock)]
for event_id, data, created in conn.execute(
        "SELECT id, data, created_at FROM events WHERE type = 'flag.updated' ORDER BY seq"):
    d = json.loads(data)
    if d.get("environment") == "development" and d.get("flag_key") in changes:
        changes[d["flag_key"]].append((event_id, d["after"]["enabled"], drv(created)))

signals = sorted(raw["signals"], key=lambda s: (s["key"], s["k"]))
by_key = {k: [] for k in keys}
for s in signals:
    by_key[s["key"]].append(s)
parity_errors = 0
for key, lst in by_key.items():
    for s in lst:
        ch = changes[key][s["k"] - 1] if s["k"] <= len(changes[key]) else None
        if ch is not None and ch[1] != s["on"]:
            parity_errors += 1
            ch = None
        s["event"] = ch[0] if ch else None
        s["commit"] = ch[2] if ch else None

# ---- webhook: by event id -----------------------------------------------------------------------
hook_at = {}
hook_dupes = 0
for h in raw["hooks"]:
    if h["id"] in hook_at:
        hook_dupes += 1
        continue
    hook_at[h["id"]] = h["t"]
for s in signals:
    s["hook"] = hook_at.get(s["event"]) if s["event"] else None

# ---- SDK: the flag's flips --------------------------------------------------------------------
flips = {k: [] for k in keys}
for f in sorted(raw["sdk_flips"], key=lambda f: f["t"]):
    if f["key"] in flips:
        flips[f["key"]].append(f)
sdk_ambiguous = 0
sdk_coalesced_flags = 0
for key, lst in by_key.items():
    fl, ch = flips[key], changes[key]
    exact = len(fl) == len(ch) and all(f["enabled"] == c[1] for f, c in zip(fl, ch))
    if not exact:
        sdk_coalesced_flags += 1
    nxt = 0
    for n, s in enumerate(lst):
        s["sdk"] = None
        if s["commit"] is None:
            continue
        if exact:
            s["sdk"] = fl[s["k"] - 1]["t"]
            continue
        j = nxt
        while j < len(fl) and (fl[j]["enabled"] != s["on"] or fl[j]["t"] < s["commit"] - 2):
            j += 1
        if j == len(fl):
            continue
        nxt = j + 1
        later = lst[n + 2]["commit"] if n + 2 < len(lst) else None
        if later is not None and fl[j]["t"] >= later:
            sdk_ambiguous += 1
            continue
        s["sdk"] = fl[j]["t"]

# ---- latencies from the 202 --------------------------------------------------------------------
measured = [s for s in raw["signals"] if s["measured"]]
accepted = [s for s in measured if s["status"] == 202]
n_changes = sum(len(v) for v in changes.values())
print(f"\nsignals: {len(measured)} measured (+{len(raw['signals']) - len(measured)} warm-up), {len(accepted)} answered 202; "
      f"flag.updated events (development, bench flags): {n_changes} for {len(raw['signals'])} signals sent; "
      f"state mismatches {parity_errors}; webhook duplicates {hook_dupes}; "
      f"flags whose SDK flips were not one per change {sdk_coalesced_flags} (SDK matches ambiguous: {sdk_ambiguous})")
ack = sorted(s["ack"] - s["send"] for s in accepted)
print(f"ingest send → 202: p50 {pct(ack, 50):.2f} ms, p99 {pct(ack, 99):.2f} ms, max {ack[-1] if ack else float('nan'):.2f} ms")
api_ahead = sum(1 for s in accepted if s["api"] is not None and s["api_ahead"])
print(f"API: {raw['api_requests']} GETs ({raw['api_requests'] / ((raw['drain_end'] - raw['load_start']) / 1000):.0f}/s over load and drain); "
      f"{api_ahead} signals first seen with a later change already applied")


def channel(label, field, target):
    if field == "api" and raw["api_requests"] == 0:
        print(f"{label:<44} not measured (POLL_API=0)")
        print("RESULT channel=api n=0 missed=0 early=0 p50=nan p90=nan p99=nan max=nan")
        return []
    values, early = [], 0
    for s in accepted:
        if s.get(field) is None or s["ack"] is None:
            continue
        d = s[field] - s["ack"]
        early += d < 0
        values.append(d)
    missed = len(accepted) - len(values)
    p50, p90, p99 = pct(values, 50), pct(values, 90), pct(values, 99)
    mx = max(values) if values else float("nan")
    verdict = ""
    if target is not None:
        verdict = "met" if (p99 < target and missed == 0) else "MISSED"
        verdict = f"  (target p99 < {target} ms: {verdict})"
    print(f"{label:<44} n={len(values):5d}  p50 {fmt(p50):>7}  p90 {fmt(p90):>7}  p99 {fmt(p99):>8}  max {fmt(mx):>8} ms"
          f"  not seen {missed}" + (f", before the 202 {early}" if early else "") + verdict)
    print(f"RESULT channel={field} n={len(values)} missed={missed} early={early} p50={fmt(p50)} p90={fmt(p90)} "
          f"p99={fmt(p99)} max={fmt(mx)}")
    return values


print("\nfrom the ingest 202 (driver's clock) to:")
channel("1. API GET …/environments/development", "api", 50)
channel("2. flag.updated webhook received", "hook", None)
channel("3. Node SDK (streaming) isEnabled flipped", "sdk", 1000)

# ---- over time: does the runner keep up? --------------------------------------------------------
print("\nover time (measured signals, by when they were sent; latency 202 → API):")
start = min(s["send"] for s in measured) if measured else 0
window = 5000
buckets = {}
for s in accepted:
    buckets.setdefault(int((s["send"] - start) // window), []).append(s)
for b in sorted(buckets):
    lst = buckets[b]
    api = [s["api"] - s["ack"] for s in lst if s["api"] is not None]
    print(f"  {b * window / 1000:5.0f}-{(b + 1) * window / 1000:<3.0f} s  signals {len(lst):4d}  API p50 {fmt(pct(api, 50)):>7}  "
          f"p99 {fmt(pct(api, 99)):>8} ms  not seen {len(lst) - len(api)}")

# ---- server side ---------------------------------------------------------------------------------
seq_of = {s["i"]: s for s in raw["signals"]}
runs = conn.execute(
    "SELECT r.state, r.started_at, r.finished_at, s.received_at, json_extract(s.payload, '$.seq') "
    "FROM action_runs r JOIN signals s ON s.id = r.signal_id").fetchall()
states = {}
parts = {k: [] for k in ("ack_start", "recv_start", "start_commit", "commit_finish", "recv_commit",
                         "commit_api", "commit_hook", "commit_sdk")}
for state, started, finished, received, seq in runs:
    states[state] = states.get(state, 0) + 1
    s = seq_of.get(seq)
    if state != "success" or s is None or not s["measured"] or s["status"] != 202:
        continue
    st, fin, rcv = drv(started), drv(finished), drv(received)
    parts["recv_start"].append(st - rcv)
    parts["ack_start"].append(st - s["ack"])
    if s.get("commit") is not None:
        c = s["commit"]
        parts["start_commit"].append(c - st)
        parts["commit_finish"].append(fin - c)
        parts["recv_commit"].append(c - rcv)
        for ch in ("api", "hook", "sdk"):
            if s.get(ch) is not None:
                parts[f"commit_{ch}"].append(s[ch] - c)
labels = {
    "recv_start": "signal received_at → run started_at (woken, claimed)",
    "ack_start": "202 at the driver → run started_at",
    "start_commit": "run started_at → flag.updated created_at (batch, action)",
    "commit_finish": "flag.updated created_at → run finished_at",
    "recv_commit": "signal received_at → flag.updated created_at",
    "commit_api": "flag.updated created_at → API poll saw it",
    "commit_hook": "flag.updated created_at → webhook received",
    "commit_sdk": "flag.updated created_at → SDK flipped",
}
left = conn.execute("SELECT COUNT(*) FROM action_runs WHERE state IN ('pending', 'started')").fetchone()[0]
print(f"\nserver side (database; measured signals whose run succeeded): runs by state {dict(sorted(states.items()))}, "
      f"pending/started left at the end {left}")
for key, label in labels.items():
    v = parts[key]
    print(f"  {label:<58} n={len(v):5d}  p50 {fmt(pct(v, 50)):>7}  p90 {fmt(pct(v, 90)):>7}  "
          f"p99 {fmt(pct(v, 99)):>8}  max {fmt(max(v) if v else float('nan')):>8} ms")
# Run throughput: changes committed during the load against signals sent.
load_s = (raw["load_end"] - raw["load_start"]) / 1000
during = sum(1 for v in changes.values() for c in v if c[2] is not None and raw["load_start"] <= c[2] <= raw["load_end"])
print(f"  changes committed during the load: {during} in {load_s:.1f} s = {during / load_s:.1f}/s "
      f"against {len(raw['signals']) / load_s:.1f} signals/s sent")
started = sorted({r[1] for r in runs if r[1] and r[0] == "success"})
batch_sizes = {}
for state, st, *_ in runs:
    if state == "success" and st:
        batch_sizes[st] = batch_sizes.get(st, 0) + 1
sizes = sorted(batch_sizes.values())
print(f"  claims that started runs: {len(sizes)}; runs started per claim p50 {pct(sizes, 50)}, max {sizes[-1] if sizes else 0} "
      f"(every run of a claim gets the claim's started_at, so 'started → created_at' includes the runs before it)")
after = [drv(st) for st in started if drv(st) > raw["load_end"]]
if len(after) >= 3:
    gaps = sorted(b - a for a, b in zip(after, after[1:]))
    print(f"  claims after the load ended: {len(after)}, median gap {pct(gaps, 50):.0f} ms "
          f"(~1000 ms: the backlog drains at the runner's 1 s sweep, not by being woken)")
