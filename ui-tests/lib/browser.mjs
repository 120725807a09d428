// Browser and API helpers for the UI tests. The server's URL and the owner's credentials come
// from run.sh (SIGNALBOX_URL, ADMIN_EMAIL, ADMIN_PASSWORD); screenshots go to SCREENSHOT_DIR.
// The browser is the system's Chromium (/usr/bin/chromium) driven by playwright-core, which
// never downloads one. Only 127.0.0.1 is ever contacted. The helpers that take a page
// (checkAccessibility, csrfToken, postFromPage, keepEvidence, screenshot, pathOf) use only
// what playwright's and puppeteer's pages have in common: the Firefox tests use them too.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { chromium } from 'playwright-core';

export const HERE = dirname(dirname(fileURLToPath(import.meta.url)));
export const BASE = required('SIGNALBOX_URL').replace(/\/+$/, '');
export const ADMIN_EMAIL = required('ADMIN_EMAIL');
export const ADMIN_PASSWORD = required('ADMIN_PASSWORD');
export const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR || join(HERE, 'screenshots');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Longest wait of any one browser action or assertion, unless a test says otherwise. */
export const ACTION_TIMEOUT_MS = 10_000;

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run this through ui-tests/run.sh`);
  }
  return value;
}

/**
 * Starts Chromium. `chromium.launch` gives it a fresh `--user-data-dir` (a new mkdtemp
 * `playwright_chromiumdev_profile-*`, removed on close), so nothing is shared with another
 * run or with a desktop profile; every `browser.newContext()` is a further clean slate
 * (its own cookies and storage), which is how a second user gets their own session.
 */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
}

/**
 * A new context (no cookies) and a page in it, a laptop's viewport unless given. Uncaught
 * script errors are kept in `page.errors`; console errors (which include every 4xx a fetch gets) in `page.consoleErrors`.
 */
export async function newPage(browser, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(ACTION_TIMEOUT_MS);
  const page = await context.newPage();
  page.errors = [];
  page.consoleErrors = [];
  page.on('pageerror', (error) => page.errors.push(String(error?.message ?? error)));
  page.on('console', (message) => {
    if (message.type() === 'error') page.consoleErrors.push(message.text());
  });
  return page;
}

/** The path of the page's URL (`/ui/login`). */
export function pathOf(page) {
  return new URL(page.url()).pathname;
}

/** Waits until the page is at `path` (a string, or a RegExp over the path). */
export async function waitForPath(page, path, timeout = ACTION_TIMEOUT_MS) {
  const matches = (url) => (path instanceof RegExp ? path.test(url.pathname) : url.pathname === path);
  await page.waitForURL(matches, { timeout });
}

/** Logs in through /ui/login and waits for /ui/. */
export async function login(page, email, password) {
  await page.goto(`${BASE}/ui/login`);
  await page.locator('#email').fill(email);
  await page.locator('#password').fill(password);
  await Promise.all([
    waitForPath(page, '/ui/'),
    page.getByRole('button', { name: 'Log in', exact: true }).click(),
  ]);
}

/** A full-page PNG `<name>.png` in SCREENSHOT_DIR; returns its path. */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Runs `body`; when it throws, keeps a screenshot and the HTML of `page` as
 * `FAILED-<name>.png|.html` in SCREENSHOT_DIR before passing the error on.
 */
export async function keepEvidence(page, name, body) {
  try {
    return await body();
  } catch (error) {
    try {
      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      writeFileSync(join(SCREENSHOT_DIR, `FAILED-${name}.html`), await page.content());
      await screenshot(page, `FAILED-${name}`);
      console.error(`(page at ${page.url()} kept as ${join(SCREENSHOT_DIR, `FAILED-${name}.png`)} and .html)`);
    } catch {
      // the page may be gone; the original error matters more
    }
    throw error;
  }
}

/**
 * The basic checks every page must pass: a non-empty <title>, exactly one <h1>, and a label
 * for every visible form control (other than hidden inputs and buttons): a <label for=id>,
 * an enclosing <label>, aria-label, or aria-labelledby naming elements with text.
 */
export async function checkAccessibility(page) {
  const problems = await page.evaluate(() => {
    const found = [];
    if (!document.title.trim()) found.push('the <title> is missing or empty');
    const h1s = document.querySelectorAll('h1');
    if (h1s.length !== 1) found.push(`${h1s.length} <h1> elements, expected exactly one`);

    const text = (el) => (el?.textContent ?? '').replace(/\s+/g, ' ').trim();
    const describe = (el) => {
      let d = el.tagName.toLowerCase();
      if (el.id) d += `#${el.id}`;
      if (el.getAttribute('name')) d += `[name=${el.getAttribute('name')}]`;
      if (el.getAttribute('type')) d += `[type=${el.getAttribute('type')}]`;
      return d;
    };
    const visible = (el) => {
      if (typeof el.checkVisibility === 'function') {
        return el.checkVisibility({ visibilityProperty: true, opacityProperty: false });
      }
      const style = getComputedStyle(el);
      const rect = el.getBoundingClientRect();
      return style.display !== 'none' && style.visibility !== 'hidden' && rect.width + rect.height > 0;
    };
    const NOT_LABELLED = new Set(['hidden', 'submit', 'button', 'reset', 'image']);

    for (const el of document.querySelectorAll('input, select, textarea')) {
      if (el.tagName === 'INPUT' && NOT_LABELLED.has((el.getAttribute('type') || 'text').toLowerCase())) continue;
      if (!visible(el)) continue;
      // el.labels: every <label for=this id> and the enclosing <label>.
      const byLabel = [...(el.labels ?? [])].some((label) => text(label) !== '');
      const byAriaLabel = (el.getAttribute('aria-label') || '').trim() !== '';
      const byLabelledBy = (el.getAttribute('aria-labelledby') || '')
        .split(/\s+/)
        .filter(Boolean)
        .some((id) => text(document.getElementById(id)) !== '');
      if (!byLabel && !byAriaLabel && !byLabelledBy) found.push(`${describe(el)} has no label`);
    }
    return found;
  });
  assert.deepEqual(problems, [], `accessibility problems on ${page.url()}:\n  ${problems.join('\n  ')}`);
}

/** The page's CSRF token from <meta name="csrf-token">. */
export async function csrfToken(page) {
  const token = await page.evaluate(() => document.querySelector('meta[name="csrf-token"]')?.content ?? null);
  assert.ok(token, `no <meta name="csrf-token" content="…"> on ${page.url()}`);
  return token;
}

/**
 * Posts a form from inside the page (same origin, with its cookies), as a script the
 * server did not write could; returns the status of the final response.
 */
export async function postFromPage(page, path, formBody) {
  return page.evaluate(
    async ({ path, formBody }) => {
      const response = await fetch(path, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: formBody,
      });
      return response.status;
    },
    { path, formBody },
  );
}

/** Calls the JSON API with a session JWT; throws with the server's answer unless 2xx. */
export async function api(method, path, token, body) {
  const response = await fetch(BASE + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
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

/** POST /v1/auth/login; returns the session JWT (for `Authorization: Bearer`). */
export async function apiLogin(email, password) {
  const { token } = await api('POST', '/v1/auth/login', undefined, { email, password });
  assert.ok(token, `POST /v1/auth/login gave no token for ${email}`);
  return token;
}

/** Every signal endpoint of the workspace (GET /v1/signal-endpoints, all pages). */
export async function listEndpoints(token) {
  const all = [];
  for (let offset = 0; ; ) {
    const page = await api('GET', `/v1/signal-endpoints?limit=100&offset=${offset}`, token);
    all.push(...page.data);
    if (!page.has_more || page.data.length === 0) return all;
    offset += page.data.length;
  }
}

const execFileAsync = promisify(execFile);

/**
 * Sends a signal with the real curl, as the page's curl command would; returns the HTTP
 * status and the answer's body.
 */
export async function curlSignal(name, secret, json) {
  const { stdout } = await execFileAsync(
    'curl',
    [
      '-sS',
      '-X',
      'POST',
      `${BASE}/api/signal-endpoint/${name}`,
      '-H',
      `Authorization: Bearer ${secret}`,
      '-H',
      'Content-Type: application/json',
      '-d',
      json,
      '-w',
      '\n%{http_code}',
    ],
    { timeout: 10_000 },
  );
  const cut = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A short random lowercase hex string, for names that must not collide. */
export function randomTag(bytes = 4) {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
}
