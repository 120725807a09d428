// Admin API helpers for the Node scripts: the server's URL and an owner session come from
// run.sh (SBX_BASE_URL, SBX_ADMIN_TOKEN). Only 127.0.0.1 is ever contacted.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = dirname(dirname(fileURLToPath(import.meta.url)));
export const BASE = required('SBX_BASE_URL');
const ADMIN = required('SBX_ADMIN_TOKEN');

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run this through sdk-tests/run.sh`);
  }
  return value;
}

/** Calls the admin API; throws with the server's answer unless the status is 2xx. */
export async function api(method, path, body) {
  const response = await fetch(BASE + path, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 500)}`);
  }
  return text ? JSON.parse(text) : null;
}

/** Creates an SDK token and returns its secret. */
export async function sdkToken(type, environment, projects) {
  const body = { name: `${type}-${environment}-${Date.now()}`, type, environment };
  if (projects) body.projects = projects;
  return (await api('POST', '/v1/sdk-tokens', body)).secret;
}

/** A fresh project and environment (keys `<prefix>-<nn>`) holding the spec's state. */
export async function specWorld(prefix, index, state, tokenType) {
  const key = `${prefix}-${String(index).padStart(2, '0')}`;
  await api('POST', '/v1/projects', { key });
  await api('POST', '/v1/environments', { key, type: 'test' });
  const imported = await api(
    'POST',
    `/v1/import/unleash?project=${encodeURIComponent(key)}&environment=${encodeURIComponent(key)}`,
    state,
  );
  const secret = await sdkToken(tokenType, key, [key]);
  return { project: key, environment: key, secret, imported };
}

export function specFiles(pkg) {
  const dir = join(HERE, 'node_modules', pkg, 'specifications');
  const names = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
  return names.map((name, i) => ({
    index: i + 1,
    name,
    spec: JSON.parse(readFileSync(join(dir, name), 'utf8')),
  }));
}

export function specVersion(pkg) {
  return JSON.parse(readFileSync(join(HERE, 'node_modules', pkg, 'package.json'), 'utf8')).version;
}

/** Variants compared as the SDKs' own spec runners do: name, enabled, payload, feature_enabled. */
export function normalVariant(v) {
  if (!v || typeof v !== 'object') return v;
  const out = { name: v.name, enabled: v.enabled };
  if (v.payload !== undefined && v.payload !== null) out.payload = v.payload;
  out.feature_enabled = v.feature_enabled ?? v.featureEnabled;
  return out;
}

function canonical(value) {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical(value[k])]),
    );
  }
  return value;
}

export function sameJson(a, b) {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/**
 * Each case is evaluated REPEAT times: an answer that changes between evaluations (random
 * stickiness where the spec expects a sticky one) fails even when one draw happens to match.
 */
export const REPEAT = 10;

/** Runs `answer` REPEAT times; `got` is the answer, or a description of the different ones. */
export async function repeated(answer, expected, same = sameJson) {
  const answers = [];
  for (let i = 0; i < REPEAT; i += 1) answers.push(await answer());
  const pass = answers.every((a) => same(a, expected));
  if (answers.every((a) => sameJson(a, answers[0]))) return { got: answers[0], pass };
  const counts = new Map();
  for (const a of answers) counts.set(show(a), (counts.get(show(a)) ?? 0) + 1);
  const got = `varies over ${REPEAT} evaluations: ${[...counts].map(([a, n]) => `${a} ×${n}`).join(', ')}`;
  return { got, pass };
}

export function show(value) {
  return value === undefined ? 'undefined' : JSON.stringify(canonical(value));
}

/** Writes one runner's results where report.mjs finds them. */
export function writeResults(runner, result) {
  const dir = required('SBX_RESULTS_DIR');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${runner}.json`), JSON.stringify(result, null, 2));
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 20 ms until it is true; returns the elapsed ms, or null past `limitMs`. */
export async function waitFor(check, limitMs) {
  const started = performance.now();
  for (;;) {
    if (await check()) return performance.now() - started;
    if (performance.now() - started > limitMs) return null;
    await sleep(20);
  }
}
