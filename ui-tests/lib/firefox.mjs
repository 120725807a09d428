// Firefox for the UI tests: Debian's firefox-esr (/usr/bin/firefox-esr, or FIREFOX_PATH)
// driven over WebDriver BiDi by puppeteer-core, which never downloads a browser (playwright
// can only drive its own patched Firefox). The page-level helpers of lib/browser.mjs
// (checkAccessibility, csrfToken, postFromPage, keepEvidence, screenshot, pathOf) take a
// puppeteer page as well and are used as they are; this file adds what differs: launching,
// a page in a fresh context, and finding elements by their label or name.
import assert from 'node:assert/strict';

import puppeteer from 'puppeteer-core';

import { ACTION_TIMEOUT_MS, BASE, pathOf } from './browser.mjs';

export const FIREFOX = process.env.FIREFOX_PATH || '/usr/bin/firefox-esr';

/**
 * Preferences on top of puppeteer's own (which already turn off updates, telemetry upload,
 * safe browsing and the start page): no traffic but to 127.0.0.1, with MOZ_DISABLE_NONLOCAL_
 * CONNECTIONS below as the first fence. The second: every other host goes to a proxy on a
 * closed port (127.0.0.1:9, the discard port) and fails; Firefox never sends localhost
 * through a proxy, so the server is reached directly. The rest keeps background services
 * (updates, telemetry, remote settings, captive portal checks, prefetching) from starting.
 */
const FIREFOX_PREFS = {
  'network.proxy.type': 1,
  'network.proxy.http': '127.0.0.1',
  'network.proxy.http_port': 9,
  'network.proxy.ssl': '127.0.0.1',
  'network.proxy.ssl_port': 9,
  'network.proxy.share_proxy_settings': true,
  'network.proxy.allow_hijacking_localhost': false,
  'network.trr.mode': 5,
  'network.http.http3.enable': false,
  'network.dns.disablePrefetch': true,
  'network.prefetch-next': false,
  'network.predictor.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'app.update.auto': false,
  'app.update.enabled': false,
  'app.normandy.enabled': false,
  'toolkit.telemetry.enabled': false,
  'toolkit.telemetry.unified': false,
  'toolkit.telemetry.archive.enabled': false,
  'toolkit.telemetry.server': '',
  'browser.ping-centre.telemetry': false,
  'browser.region.update.enabled': false,
  'browser.region.network.url': '',
  'browser.topsites.contile.enabled': false,
  'extensions.systemAddon.update.enabled': false,
  'extensions.blocklist.enabled': false,
  'media.gmp-manager.url': '',
  // Remote settings: what Firefox's own test harness uses; it looks up nothing.
  'services.settings.server': 'data:,#remote-settings-dummy/v1',
  'browser.shell.checkDefaultBrowser': false,
};

/**
 * Starts Firefox, headless. puppeteer gives it a fresh profile (a new mkdtemp
 * `puppeteer_dev_firefox_profile-*` with the preferences above, removed on close), so nothing
 * is shared with another run or with a desktop profile; every page made by `newPage` is in
 * its own browser context (its own cookies and storage).
 */
export async function launchFirefox() {
  return puppeteer.launch({
    browser: 'firefox',
    protocol: 'webDriverBiDi',
    executablePath: FIREFOX,
    headless: true,
    defaultViewport: { width: 1280, height: 900 },
    extraPrefsFirefox: FIREFOX_PREFS,
    timeout: 60_000,
    protocolTimeout: 60_000,
    // MOZ_DISABLE_NONLOCAL_CONNECTIONS: what Firefox's own test harness sets; Firefox then
    // refuses connections to anything but the local machine, and lets the remote settings
    // server above be overridden (a release build ignores that preference otherwise).
    env: { ...process.env, MOZ_CRASHREPORTER_DISABLE: '1', MOZ_DISABLE_NONLOCAL_CONNECTIONS: '1' },
  });
}

/**
 * A new browser context (no cookies) and a page in it; `page.close()` does not close the
 * context, `closePage` does. Uncaught script errors are kept in `page.errors`, console errors
 * in `page.consoleErrors`.
 */
export async function newPage(browser) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  page.setDefaultTimeout(ACTION_TIMEOUT_MS);
  page.setDefaultNavigationTimeout(ACTION_TIMEOUT_MS);
  page.errors = [];
  page.consoleErrors = [];
  page.on('pageerror', (error) => page.errors.push(String(error?.message ?? error)));
  page.on('console', (message) => {
    if (message.type() === 'error') page.consoleErrors.push(message.text());
  });
  return page;
}

/** Closes the page's browser context (and so the page). */
export async function closePage(page) {
  await page.browserContext().close();
}

/** Loads `path` (`/ui/flags`) and returns the response. */
export async function goto(page, path) {
  return page.goto(BASE + path, { waitUntil: 'load' });
}

/**
 * Clicks `element` and waits for the navigation it starts (a link, or a form's post and the
 * 303 after it); returns the final response.
 */
export async function clickAndWait(page, element) {
  const [response] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), element.click()]);
  return response;
}

/**
 * The first element matching `selector` inside `within` whose name is `name` (its
 * aria-label, else its whitespace-collapsed text, else its value), once one exists.
 */
export async function named(page, selector, name, { within = 'body', timeout = ACTION_TIMEOUT_MS } = {}) {
  try {
    const handle = await page.waitForFunction(
      (within, selector, name) => {
        const norm = (s) => (s ?? '').replace(/\s+/g, ' ').trim();
        const root = document.querySelector(within);
        if (!root) return null;
        return (
          [...root.querySelectorAll(selector)].find(
            (el) => norm(el.getAttribute('aria-label') || el.textContent || el.value) === name,
          ) ?? null
        );
      },
      { timeout, polling: 100 },
      within,
      selector,
      name,
    );
    return handle.asElement();
  } catch (error) {
    throw new Error(`no ${selector} named ${JSON.stringify(name)} in ${within} on ${page.url()}: ${error.message}`);
  }
}

/** A button (or submit input) named `name`. */
export function button(page, name, options) {
  return named(page, 'button, input[type=submit]', name, options);
}

/** A link named `name`. */
export function link(page, name, options) {
  return named(page, 'a[href]', name, options);
}

/** The form control inside `within` whose <label> reads exactly `label`. */
export async function labelled(page, within, label) {
  try {
    const handle = await page.waitForFunction(
      (within, label) => {
        const norm = (s) => (s ?? '').replace(/\s+/g, ' ').trim();
        const root = document.querySelector(within);
        if (!root) return null;
        return [...root.querySelectorAll('label')].find((l) => norm(l.textContent) === label)?.control ?? null;
      },
      { timeout: ACTION_TIMEOUT_MS, polling: 100 },
      within,
      label,
    );
    return handle.asElement();
  } catch (error) {
    throw new Error(`no control labelled ${JSON.stringify(label)} in ${within} on ${page.url()}: ${error.message}`);
  }
}

/** Empties a text field and types `text` into it, key by key. */
export async function fill(element, text) {
  await element.evaluate((el) => {
    el.value = '';
  });
  await element.type(text);
}

/** The whitespace-collapsed text of the first element matching `selector`. */
export async function textOf(page, selector) {
  const handle = await page.waitForSelector(selector);
  return handle.evaluate((el) => el.innerText.replace(/\s+/g, ' ').trim());
}

/** Waits until some element matching `selector` has `text` in its text; returns it. */
export async function waitForText(page, selector, text, timeout = ACTION_TIMEOUT_MS) {
  try {
    const handle = await page.waitForFunction(
      (selector, text) => [...document.querySelectorAll(selector)].find((el) => el.textContent.includes(text)) ?? null,
      { timeout, polling: 50 },
      selector,
      text,
    );
    return handle.asElement();
  } catch (error) {
    throw new Error(`no ${selector} with ${JSON.stringify(text)} within ${timeout} ms on ${page.url()}: ${error.message}`);
  }
}

/** How many elements match `selector` now. */
export async function count(page, selector) {
  return (await page.$$(selector)).length;
}

/** Logs in through /ui/login; checks the answer and that the page is /ui/. */
export async function login(page, email, password) {
  await goto(page, '/ui/login');
  await fill(await page.waitForSelector('#email'), email);
  await fill(await page.waitForSelector('#password'), password);
  const response = await clickAndWait(page, await button(page, 'Log in'));
  assert.equal(response?.status(), 200, `logging in as ${email}`);
  assert.equal(pathOf(page), '/ui/', `logging in as ${email} leads to /ui/`);
}
