// The official Node SDK (unleash-client) against Signalbox: fetch, 304s, register and
// metrics, and a kill reaching a polling client within its interval and a streaming client
// within a second. Exits non-zero on any failed check.
import { InMemStorageProvider, Unleash, destroy, initialize } from 'unleash-client';

import { createRequire } from 'node:module';

import { BASE, api, sdkToken, sleep, waitFor } from './lib/admin.mjs';

const SDK_VERSION = createRequire(import.meta.url)('unleash-client/package.json').version;

const REFRESH_MS = 1000;
const POLL_MARGIN_MS = 1500;
const STREAM_LIMIT_MS = 1000;
const STREAM_ROUNDS = 5;

let failures = 0;
function check(ok, what, detail = '') {
  console.log(`${ok ? 'ok  ' : 'FAIL'} node-sdk: ${what}${detail ? ` (${detail})` : ''}`);
  if (!ok) failures += 1;
  return ok;
}

const FLAGS = '/v1/projects/default/flags';

async function newFlag(key) {
  await api('POST', FLAGS, { key });
  await api('POST', `${FLAGS}/${key}/environments/production/on`, {});
}

/** Collects an SDK instance's events. */
function watch(client) {
  const seen = { errors: [], warnings: [], registered: 0, sent: [], unchanged: 0, changed: 0, modes: [] };
  client.on('error', (e) => seen.errors.push(String(e?.message ?? e)));
  client.on('warn', (w) => seen.warnings.push(String(w?.message ?? w)));
  client.on('registered', () => (seen.registered += 1));
  client.on('sent', (payload) => seen.sent.push(payload));
  client.on('unchanged', () => (seen.unchanged += 1));
  client.on('changed', () => (seen.changed += 1));
  client.on('mode', (m) => seen.modes.push(m));
  return seen;
}

function synchronized(client, seen, limitMs = 15000) {
  return new Promise((resolve) => {
    if (client.isSynchronized()) return resolve(true);
    const timer = setTimeout(() => resolve(false), limitMs);
    client.once('synchronized', () => {
      clearTimeout(timer);
      resolve(true);
    });
    client.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

async function polling(secret) {
  const key = `node-polling-${Date.now()}`;
  await newFlag(key);
  const appName = 'signalbox-sdk-tests-node';
  const client = initialize({
    url: `${BASE}/api`,
    appName,
    instanceId: 'node-polling',
    customHeaders: { Authorization: secret },
    refreshInterval: REFRESH_MS,
    metricsInterval: 1000,
    storageProvider: new InMemStorageProvider(), // no backup file: what it knows, it fetched
    skipInstanceCountWarning: true,
  });
  const seen = watch(client);
  check(await synchronized(client, seen), 'polling client fetched the flags', seen.errors.join('; '));
  check(client.isEnabled(key) === true, `isEnabled(${key}) is true once on`);
  for (let i = 0; i < 10; i += 1) client.isEnabled(key);

  const gotUnchanged = await waitFor(() => seen.unchanged > 0, 5000);
  check(gotUnchanged !== null, 'a later poll got 304 (the SDK sent If-None-Match)', `${seen.unchanged} unchanged`);
  const registered = await waitFor(() => seen.registered > 0, 5000);
  check(registered !== null, "register was accepted ('registered' event)");
  const sent = await waitFor(
    () => seen.sent.some((p) => (p?.bucket?.toggles?.[key]?.yes ?? 0) > 0),
    5000,
  );
  check(sent !== null, `metrics with ${key}'s counts were accepted ('sent' event)`, `${seen.sent.length} sent`);

  // The server's side of it: the instance in /v1/applications, the counts in the flag's usage.
  const apps = await api('GET', '/v1/applications');
  const instance = apps.data
    ?.find((a) => a.app_name === appName)
    ?.instances?.find((i) => i.instance_id === 'node-polling');
  check(
    instance !== undefined && String(instance.sdk_version).endsWith(`:${SDK_VERSION}`),
    `GET /v1/applications lists ${appName}/node-polling with its SDK version`,
    instance ? `sdk_version ${instance.sdk_version}` : 'not listed',
  );
  const usage = (await api('GET', `${FLAGS}/${key}`)).usage ?? [];
  const counted = usage.filter((u) => u.app_name === appName).reduce((n, u) => n + (u.yes ?? 0), 0);
  check(counted > 0, `the flag's usage counts ${appName}'s evaluations`, `yes=${counted}`);

  const killedAt = performance.now();
  await api('POST', `${FLAGS}/${key}/kill`, { reason: 'test' });
  const delay = await waitFor(() => client.isEnabled(key) === false, REFRESH_MS + POLL_MARGIN_MS);
  const took = delay === null ? null : performance.now() - killedAt;
  check(
    took !== null,
    `polling: the kill is visible within the ${REFRESH_MS} ms interval + ${POLL_MARGIN_MS} ms`,
    took === null ? 'not seen' : `seen after ${Math.round(took)} ms`,
  );
  if (took !== null) console.log(`measure node-sdk polling kill->visible: ${Math.round(took)} ms`);

  check(seen.errors.length === 0, "no 'error' events (polling)", seen.errors.join('; '));
  check(seen.warnings.length === 0, "no 'warn' events (polling)", seen.warnings.join('; '));
  destroy();
}

async function streaming(secret) {
  const key = `node-streaming-${Date.now()}`;
  await newFlag(key);
  const client = new Unleash({
    url: `${BASE}/api`,
    appName: 'signalbox-sdk-tests-node-streaming',
    instanceId: 'node-streaming',
    customHeaders: { Authorization: secret },
    // A long poll interval, so only the stream can deliver the kill in time.
    refreshInterval: 60000,
    metricsInterval: 1000,
    experimentalMode: { type: 'streaming' },
    storageProvider: new InMemStorageProvider(),
    skipInstanceCountWarning: true,
  });
  const seen = watch(client);
  check(await synchronized(client, seen), 'streaming client was hydrated', seen.errors.join('; '));
  check(client.isEnabled(key) === true, `streaming isEnabled(${key}) is true once on`);

  const delays = [];
  for (let round = 1; round <= STREAM_ROUNDS; round += 1) {
    if (round > 1) {
      await api('POST', `${FLAGS}/${key}/revive`, { environments: ['production'] });
      await api('POST', `${FLAGS}/${key}/environments/production/on`, {});
      if ((await waitFor(() => client.isEnabled(key) === true, 5000)) === null) {
        check(false, `streaming round ${round}: the flag came back on`);
        break;
      }
    }
    await sleep(300);
    const killedAt = performance.now();
    await api('POST', `${FLAGS}/${key}/kill`, { reason: 'test' });
    const seenAfter = await waitFor(() => client.isEnabled(key) === false, 5000);
    const took = seenAfter === null ? null : performance.now() - killedAt;
    check(
      took !== null && took < STREAM_LIMIT_MS,
      `streaming round ${round}: the kill is visible within ${STREAM_LIMIT_MS} ms`,
      took === null ? 'not seen within 5 s' : `seen after ${Math.round(took)} ms`,
    );
    if (took !== null) delays.push(took);
  }
  if (delays.length) {
    const sorted = [...delays].sort((a, b) => a - b);
    console.log(
      `measure node-sdk streaming kill->visible: ${delays.map((d) => Math.round(d)).join(', ')} ms ` +
        `(median ${Math.round(sorted[Math.floor(sorted.length / 2)])}, max ${Math.round(sorted.at(-1))})`,
    );
  }
  check(
    !seen.modes.includes('polling'),
    'the SDK stayed in streaming mode',
    seen.modes.length ? `mode events: ${seen.modes.join(', ')}` : '',
  );
  check(seen.errors.length === 0, "no 'error' events (streaming)", seen.errors.join('; '));
  check(seen.warnings.length === 0, "no 'warn' events (streaming)", seen.warnings.join('; '));
  client.destroy();
}

try {
  const secret = await sdkToken('client', 'production');
  await polling(secret);
  await streaming(secret);
} catch (error) {
  check(false, 'ran to the end', error?.stack ?? String(error));
}
console.log(`node-sdk basic checks: ${failures === 0 ? 'all passed' : `${failures} FAILED`}`);
process.exit(failures === 0 ? 0 : 1);
