// The load driver and watchers of bench/actions.sh: signal → flag change latency.
//
// One Node process, one monotonic clock (performance.now(), ms) for every observation:
//   - sends signals at a steady RATE to FLAGS endpoints in turn (signal i goes to endpoint
//     i mod FLAGS with payload {"on": <bool>, "seq": i}; per endpoint `on` alternates, starting
//     with true, so every signal flips its flag), and records when each request was sent and
//     when its 202 arrived;
//   - API: from each 202 on, polls GET /v1/projects/default/flags/{key}/environments/development
//     until the configuration's `version` has reached the signal's change (every change bumps
//     it by one, so the k-th signal of a flag is visible once version >= initial + k: exact even
//     when the runner is behind); one watcher per flag (see below), POLL_MS apart for the first
//     POLL_FAST_FOR_MS after the oldest waiting 202, then max(POLL_SLOW_MS, 5 % of its wait);
//   - webhook: an HTTP receiver on 127.0.0.1:HOOK_PORT records when each `flag.updated`
//     delivery arrives, with the event's id;
//   - SDK: the official Node unleash-client (sdk-tests' pinned version) in streaming mode; on
//     every `changed` event it asks isEnabled(key) for every bench flag and records each flip.
// Matching observations to signals and the statistics are bench/actions-report.py's (it has the
// database, where the order of each flag's changes is known). This writes the raw observations
// to RAW_OUT (JSON) and prints a few counters.
//
// Configuration: a JSON file (argv[2]) written by bench/actions.sh. Only 127.0.0.1 is contacted.
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const {
  host, port, jwt, clientToken, flags, rate, durationS, warmupS, hookPort, nodeModules,
  pollMs, pollFastForMs, pollSlowMs, drainS, rawOut,
} = cfg;
const pollApiOn = cfg.pollApi !== false; // POLL_API=0: no API watchers (e.g. to measure the runner alone)
const require = createRequire(join(nodeModules, 'package.json'));
const { Unleash, InMemStorageProvider } = require('unleash-client');
const SDK_VERSION = require('unleash-client/package.json').version;

const now = () => performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function request(method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

const adminHeaders = { authorization: `Bearer ${jwt}` };
const envPath = (key) => `/v1/projects/default/flags/${key}/environments/development`;

// ---- webhook receiver ----------------------------------------------------------------------
const hooks = []; // { t, id, key, enabled }
let hookOther = 0;
const receiver = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const t = now();
    res.writeHead(204).end();
    try {
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (event.type !== 'flag.updated' || event.data?.environment !== 'development') {
        hookOther += 1;
        return;
      }
      hooks.push({ t, id: event.id, key: event.data.flag_key, enabled: event.data.after?.enabled });
    } catch {
      hookOther += 1;
    }
  });
});
receiver.keepAliveTimeout = 60_000;
await new Promise((resolve, reject) => {
  receiver.once('error', reject);
  receiver.listen(hookPort, '127.0.0.1', resolve);
});

// ---- the flags' starting point -------------------------------------------------------------
const initial = new Map(); // key → version before any signal
for (const { key } of flags) {
  const answer = await request('GET', envPath(key), adminHeaders);
  const body = JSON.parse(answer.body);
  if (answer.status !== 200 || body.enabled !== false || typeof body.version !== 'number') {
    console.error(`GET ${envPath(key)}: ${answer.status} ${answer.body.slice(0, 300)} (expected a fresh flag, off)`);
    process.exit(1);
  }
  initial.set(key, body.version);
}

// ---- SDK -----------------------------------------------------------------------------------
const keys = flags.map((f) => f.key);
const sdkFlips = []; // { t, key, enabled }
const sdkState = new Map();
let sdkChanged = 0;
const sdkWarnings = [];
const sdkModes = [];
const client = new Unleash({
  url: `http://${host}:${port}/api`,
  appName: 'signalbox-bench-actions',
  instanceId: 'bench-actions',
  customHeaders: { Authorization: clientToken },
  refreshInterval: 60_000, // only the stream can deliver a change in time
  disableMetrics: true,
  experimentalMode: { type: 'streaming' },
  storageProvider: new InMemStorageProvider(),
  skipInstanceCountWarning: true,
});
client.on('error', (e) => sdkWarnings.push(`error: ${e?.message ?? e}`));
client.on('warn', (w) => sdkWarnings.push(`warn: ${w?.message ?? w}`));
client.on('mode', (m) => sdkModes.push(String(m)));
function readSdk() {
  const t = now();
  for (const key of keys) {
    const enabled = client.isEnabled(key);
    if (sdkState.get(key) !== enabled) {
      if (sdkState.has(key)) sdkFlips.push({ t, key, enabled });
      sdkState.set(key, enabled);
    }
  }
}
let sdkReady = false; // isEnabled before 'synchronized' only warns and answers false
client.on('changed', () => {
  sdkChanged += 1;
  if (sdkReady) readSdk();
});
const synced = await new Promise((resolve) => {
  if (client.isSynchronized()) return resolve(true);
  const timer = setTimeout(() => resolve(false), 15_000);
  client.once('synchronized', () => {
    clearTimeout(timer);
    resolve(true);
  });
});
if (!synced) {
  console.error(`the SDK did not synchronise within 15 s: ${sdkWarnings.join('; ')}`);
  process.exit(1);
}
sdkReady = true;
readSdk();
for (const key of keys) {
  if (sdkState.get(key) !== false) {
    console.error(`flag ${key} is not off in development as the SDK sees it; the bench expects fresh flags`);
    process.exit(1);
  }
}

// ---- API polling ---------------------------------------------------------------------------
// One watcher per flag, active while a signal of that flag is waiting to be seen: one request
// at a time, POLL_MS apart while the oldest waiting 202 is younger than POLL_FAST_FOR_MS, then
// max(POLL_SLOW_MS, 5 % of its wait) apart. A reading of version v settles every waiting signal
// of the flag whose change is at or below v. The poll load so stays bounded by the flag count
// however far behind the runner is (a poller per signal made a backlog feed itself).
let apiRequests = 0;
let apiErrors = 0;
const waiting = new Map(keys.map((k) => [k, []])); // key → signals answered 202, not yet seen
const watching = new Set();
async function watchFlag(key) {
  if (watching.has(key)) return;
  watching.add(key);
  const path = envPath(key);
  const queue = waiting.get(key);
  while (queue.length) {
    let answer;
    try {
      answer = await request('GET', path, adminHeaders);
    } catch {
      answer = { status: 0 };
    }
    const t = now();
    apiRequests += 1;
    if (answer.status === 200) {
      const body = JSON.parse(answer.body);
      const seen = body.version - initial.get(key); // changes applied so far
      while (queue.length && queue[0].k <= seen) {
        const signal = queue.shift();
        signal.api = t;
        signal.apiVersionAhead = seen - signal.k; // > 0: a later change was seen first
      }
    } else {
      apiErrors += 1;
    }
    while (queue.length && t - queue[0].t202 > drainS * 1000) queue.shift(); // given up
    if (!queue.length) break;
    const waited = t - queue[0].t202;
    await sleep(waited < pollFastForMs ? pollMs : Math.max(pollSlowMs, waited * 0.05));
  }
  watching.delete(key);
}
function pollApi(signal) {
  if (!pollApiOn) return;
  // 202s of one flag arrive in order but not always: keep the queue sorted by k.
  const queue = waiting.get(signal.key);
  let j = queue.length;
  while (j > 0 && queue[j - 1].k > signal.k) j -= 1;
  queue.splice(j, 0, signal);
  watchFlag(signal.key);
}

// ---- the load ------------------------------------------------------------------------------
const signals = []; // { i, key, k, on, measured, tSend, t202, status, api }
const sentPerFlag = new Map(keys.map((k) => [k, 0]));
let ingestErrors = 0;

function send(i, measured) {
  const flag = flags[i % flags.length];
  const k = sentPerFlag.get(flag.key) + 1; // this flag's k-th signal: its k-th change
  sentPerFlag.set(flag.key, k);
  const on = k % 2 === 1; // fresh flags are off: on, off, on, …
  const signal = { i, key: flag.key, k, on, measured, tSend: now(), t202: null, status: null, api: null };
  signals.push(signal);
  const body = JSON.stringify({ on, seq: i, source: 'bench' });
  request('POST', `/api/signal-endpoint/${flag.endpoint}`, {
    authorization: `Bearer ${flag.token}`,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  }, body).then(
    (answer) => {
      signal.t202 = now();
      signal.status = answer.status;
      if (answer.status === 202) pollApi(signal);
      else ingestErrors += 1;
    },
    () => {
      signal.status = 0;
      ingestErrors += 1;
    },
  );
}

const interval = 1000 / rate;
const warmup = Math.round(warmupS * rate);
const total = warmup + Math.round(durationS * rate);
console.log(
  `driver: unleash-client ${SDK_VERSION} streaming; ${flags.length} flags/endpoints; ${rate} signals/s for ` +
    `${warmupS} s warm-up + ${durationS} s measured (${total - warmup} signals); API polled every ${pollMs} ms ` +
    `for ${pollFastForMs} ms after the 202, then every max(${pollSlowMs} ms, 5 % of the wait)` +
    (pollApiOn ? '' : ' — API polling OFF (POLL_API=0)'),
);
let lag = 0;
const start = now();
for (let i = 0; i < total; i += 1) {
  const due = start + i * interval;
  const wait = due - now();
  if (wait > 0.5) await sleep(wait);
  lag = Math.max(lag, now() - due);
  send(i, i >= warmup);
}
const loadEnd = now();

// ---- drain: until every flag shows its last signal's state everywhere, or DRAIN s ----------
function settled() {
  for (const key of keys) {
    const k = sentPerFlag.get(key);
    const last = signals.findLast((s) => s.key === key);
    if (!last || last.status === null) return false;
    if (pollApiOn && last.status === 202 && last.api === null) return false;
    if (sdkState.get(key) !== (k % 2 === 1)) return false;
  }
  return hooks.length >= signals.filter((s) => s.status === 202).length;
}
const drainDeadline = now() + drainS * 1000;
while (now() < drainDeadline && !settled()) await sleep(20);
const drained = settled();
const drainEnd = now();
while (watching.size && now() < drainDeadline + 1000) await sleep(20);

const wallOffsetMs = Date.now() - (performance.timeOrigin + now()); // drift of the clocks, for the record
console.log(
  `driver: load ${((loadEnd - start) / 1000).toFixed(2)} s (${(total / ((loadEnd - start) / 1000)).toFixed(1)} signals/s, ` +
    `largest send lag ${lag.toFixed(1)} ms), ${ingestErrors} ingest errors; drain ${drained ? 'complete' : 'NOT complete'} ` +
    `after ${((drainEnd - loadEnd) / 1000).toFixed(2)} s; API ${apiRequests} GETs ` +
    `(${(apiRequests / ((drainEnd - start) / 1000)).toFixed(0)}/s), ${apiErrors} not 200; webhook ${hooks.length} flag.updated ` +
    `(+${hookOther} other); SDK ${sdkChanged} 'changed' events, ${sdkFlips.length} flips, ` +
    `modes ${sdkModes.join(',') || 'streaming throughout'}, ${sdkWarnings.length} warnings` +
    (sdkWarnings.length ? ` (${[...new Set(sdkWarnings)].slice(0, 3).join('; ')})` : ''),
);

writeFileSync(
  rawOut,
  JSON.stringify({
    time_origin_unix_ms: performance.timeOrigin,
    wall_offset_ms: wallOffsetMs,
    rate, warmup_s: warmupS, duration_s: durationS, flags: keys.length, sdk_version: SDK_VERSION,
    load_start: start, load_end: loadEnd, drain_end: drainEnd, drained, send_lag_max: lag,
    api_requests: apiRequests, api_errors: apiErrors, ingest_errors: ingestErrors,
    sdk_changed: sdkChanged, sdk_modes: sdkModes, sdk_warnings: sdkWarnings.length, hook_other: hookOther,
    signals: signals.map((s) => ({
      i: s.i, key: s.key, k: s.k, on: s.on, measured: s.measured, status: s.status,
      send: s.tSend, ack: s.t202, api: s.api, api_ahead: s.apiVersionAhead ?? null,
    })),
    hooks,
    sdk_flips: sdkFlips,
  }),
);

client.destroy();
agent.destroy();
receiver.close();
receiver.closeAllConnections?.();
process.exit(0);
