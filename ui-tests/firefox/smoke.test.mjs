// The admin UI in Firefox (Debian's firefox-esr over WebDriver BiDi, lib/firefox.mjs): log in,
// create a signal endpoint and a token with the forms, a signal sent with curl shows in the
// live view (Server-Sent Events, no reload), toggle a flag in the Flags list, a viewer sees
// no admin controls and is refused (403) when posting anyway, a form post without the CSRF
// token is refused (403), and every page of the navigation has a title, one <h1> and labelled
// controls, with a screenshot. The tests run in order and share the owner's page.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  api,
  apiLogin,
  checkAccessibility,
  csrfToken,
  curlSignal,
  keepEvidence,
  listEndpoints,
  pathOf,
  postFromPage,
  randomTag,
  screenshot,
} from '../lib/browser.mjs';
import {
  button,
  clickAndWait,
  closePage,
  count,
  fill,
  goto,
  labelled,
  launchFirefox,
  link,
  login,
  newPage,
  textOf,
  waitForText,
} from '../lib/firefox.mjs';

/** How soon a signal must show in #live-signals after curl returns. */
const LIVE_LIMIT_MS = 3000;
const TEST_TIMEOUT_MS = 60_000;

const TAG = randomTag();
const ENDPOINT = `firefox-${TAG}`;
const TOKEN_NAME = 'firefox-ci';
const FLAG = `firefox-flag-${TAG}`;

/** The pages of the navigation, in its order: [link text, path, screenshot name]. */
const NAV_PAGES = [
  ['Overview', '/ui/', 'overview'],
  ['Signal endpoints', '/ui/signal-endpoints', 'signal-endpoints'],
  ['Webhooks', '/ui/webhooks', 'webhooks'],
  ['Flags', '/ui/flags', 'flags'],
  ['Actions', '/ui/actions', 'actions'],
  ['Typed signals', '/ui/typed', 'typed-signals'],
  ['Settings', '/ui/settings', 'settings'],
];

let browser;
let page; // the owner's page, shared by the tests in order
let ownerJwt;
const shared = { endpointPath: null, secret: null };

async function flagConfig(environment) {
  return api('GET', `/v1/projects/default/flags/${FLAG}/environments/${environment}`, ownerJwt);
}

/** The paths of the page's forms that post. */
function postingForms(page) {
  return page.$$eval('form', (forms) => forms.filter((f) => f.method === 'post').map((f) => new URL(f.action).pathname));
}

/** The text of the flag's state in `environment` on the Flags list ("On", "Off"). */
function listState(environment) {
  return textOf(page, `#flags tr[data-flag="${FLAG}"] .toggle[data-environment="${environment}"] .state`);
}

describe('the admin UI in Firefox', { timeout: 8 * TEST_TIMEOUT_MS }, () => {
  before(async () => {
    browser = await launchFirefox();
    page = await newPage(browser);
    ownerJwt = await apiLogin(ADMIN_EMAIL, ADMIN_PASSWORD);
  });

  after(async () => {
    await browser?.close();
  });

  test('Firefox over WebDriver BiDi', async (t) => {
    const version = await browser.version();
    t.diagnostic(version);
    assert.match(version, /^firefox\//i, 'the browser is Firefox');
    assert.match(await page.evaluate(() => navigator.userAgent), /Firefox\/\d+/);
  });

  test('log in (a wrong password first)', { timeout: TEST_TIMEOUT_MS }, async () => {
    await keepEvidence(page, 'firefox-login', async () => {
      // Without a session, / leads to the login page.
      await goto(page, '/');
      assert.equal(pathOf(page), '/ui/login');
      await checkAccessibility(page);
      await screenshot(page, 'login');

      await fill(await page.waitForSelector('#email'), ADMIN_EMAIL);
      await fill(await page.waitForSelector('#password'), 'not the password at all');
      const refused = await clickAndWait(page, await button(page, 'Log in'));
      assert.equal(refused?.status(), 401, 'a failed login answers 401');
      await page.waitForSelector('.error');
      await checkAccessibility(page);

      await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
      assert.equal(await textOf(page, 'h1'), 'Overview');
      await csrfToken(page);
    });
  });

  test('owner: create an endpoint and a token, and see a curl signal arrive live', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await keepEvidence(page, 'firefox-live', async () => {
      await clickAndWait(page, await link(page, 'Signal endpoints', { within: 'nav' }));
      assert.equal(pathOf(page), '/ui/signal-endpoints');

      // Create the endpoint: a 303 to its page.
      await fill(await labelled(page, 'form#create-endpoint', 'Name'), ENDPOINT);
      await fill(await labelled(page, 'form#create-endpoint', 'Description'), 'Made in Firefox');
      await clickAndWait(page, await button(page, 'Create endpoint', { within: 'form#create-endpoint' }));
      assert.match(pathOf(page), /^\/ui\/signal-endpoints\/[^/]+$/);
      shared.endpointPath = pathOf(page);
      assert.equal(await textOf(page, 'h1'), ENDPOINT);

      // Create a token: its secret is shown once, with a curl command that uses it.
      await fill(await labelled(page, 'form#create-token', 'Token name'), TOKEN_NAME);
      await clickAndWait(page, await button(page, 'Create token', { within: 'form#create-token' }));
      shared.secret = await textOf(page, '#token-secret');
      assert.ok(shared.secret.length >= 16, `#token-secret looks too short: ${JSON.stringify(shared.secret)}`);
      const curlText = await textOf(page, '#token-curl');
      assert.ok(curlText.includes(shared.secret), '#token-curl does not contain the secret');
      assert.ok(curlText.includes(`/api/signal-endpoint/${ENDPOINT}`), `#token-curl: ${curlText}`);
      await checkAccessibility(page);

      // The live view must be the same document when the signal arrives: no reload. (The
      // stream resumes after the newest signal the page was rendered with, so a signal sent
      // before it is connected is not lost.)
      await page.waitForSelector('#live-signals');
      await page.evaluate(() => {
        window.__uiTestNoReload = true;
      });
      const marker = `firefox-${randomTag()}`;
      const started = performance.now();
      const { status, body } = await curlSignal(ENDPOINT, shared.secret, JSON.stringify({ hello: marker }));
      assert.ok(status >= 200 && status < 300, `curl: POST /api/signal-endpoint/${ENDPOINT} answered ${status}: ${body}`);
      const article = await waitForText(page, '#live-signals article.signal', marker, LIVE_LIMIT_MS);
      t.diagnostic(`signal shown ${Math.round(performance.now() - started)} ms after curl returned`);
      const text = await article.evaluate((el) => el.innerText);
      assert.match(text, new RegExp(`\\b${TOKEN_NAME}\\b`), `the signal does not name the token: ${text}`);
      const pre = await article.$eval('pre', (el) => el.textContent);
      assert.deepEqual(JSON.parse(pre), { hello: marker }, 'the <pre> holds the payload as JSON');
      assert.equal(await page.evaluate(() => window.__uiTestNoReload === true), true, 'the page was reloaded');
      assert.equal(await textOf(page, '#live-state'), 'Live');
      await screenshot(page, 'signal-endpoint');

      assert.deepEqual(page.errors, [], 'uncaught script errors on the pages');
    });
  });

  // Firefox fires EventSource's `open` only when the first bytes of the body arrive
  // (Chromium on the response's headers): the server starts each stream with a comment.
  test(
    'the live view says Live once connected, before any signal',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      await goto(page, shared.endpointPath);
      await waitForText(page, '#live-state', 'Live', LIVE_LIMIT_MS);
    },
  );

  test('owner: create a flag and toggle it in the Flags list', { timeout: TEST_TIMEOUT_MS }, async () => {
    await keepEvidence(page, 'firefox-flags', async () => {
      await clickAndWait(page, await link(page, 'Flags', { within: 'nav' }));
      assert.equal(pathOf(page), '/ui/flags');
      await fill(await labelled(page, 'form#create-flag', 'Key (letters, digits, . _ -)'), FLAG);
      await (await labelled(page, 'form#create-flag', 'Type')).select('release');
      await clickAndWait(page, await button(page, 'Create flag', { within: 'form#create-flag' }));
      assert.equal(pathOf(page), `/ui/flags/default/${FLAG}`);
      assert.equal((await flagConfig('development')).enabled, false);

      // On in development: the list shows it, production stays off.
      await goto(page, '/ui/flags?project=default');
      assert.equal(await listState('development'), 'Off');
      await clickAndWait(page, await button(page, `Turn on ${FLAG} in development`));
      assert.equal(pathOf(page), '/ui/flags');
      assert.equal(await listState('development'), 'On');
      assert.equal(await listState('production'), 'Off');
      assert.equal((await flagConfig('development')).enabled, true);
      assert.equal((await flagConfig('production')).enabled, false);

      // And off again.
      await clickAndWait(page, await button(page, `Turn off ${FLAG} in development`));
      assert.equal(await listState('development'), 'Off');
      assert.equal((await flagConfig('development')).enabled, false);
    });
  });

  test('viewer: no admin controls, and a form post is refused anyway', { timeout: TEST_TIMEOUT_MS }, async () => {
    const email = `firefox-viewer-${randomTag()}@example.test`;
    const password = 'viewer password 123';
    await api('POST', '/v1/users', ownerJwt, { email, role: 'viewer', password });

    const viewer = await newPage(browser); // a new context: its own cookies
    try {
      await keepEvidence(viewer, 'firefox-viewer', async () => {
        await login(viewer, email, password);
        assert.match(await textOf(viewer, 'header .who'), /viewer/);

        // No form that changes anything, on any page: the only posts are the viewer's own
        // session's (log out, switch workspace in Settings).
        for (const path of [...NAV_PAGES.map(([, p]) => p), '/ui/flags?project=default']) {
          const response = await goto(viewer, path);
          assert.equal(response?.status(), 200, `a viewer's GET ${path}`);
          const posts = await postingForms(viewer);
          const own = path === '/ui/settings' ? ['/ui/logout', '/ui/settings/workspace'] : ['/ui/logout'];
          assert.deepEqual(posts, own, `forms that post on ${path} for a viewer`);
        }
        assert.equal(await count(viewer, '#create-endpoint'), 0);
        assert.ok((await viewer.$$(`#flags tr[data-flag="${FLAG}"]`)).length === 1, 'the viewer sees the flag');
        assert.equal(await count(viewer, `#flags tr[data-flag="${FLAG}"] button`), 0, 'a viewer has toggle buttons');

        // Posting anyway, with the viewer's valid CSRF token: 403, nothing changes.
        const csrf = await csrfToken(viewer);
        const create = await postFromPage(viewer, '/ui/signal-endpoints', `name=viewer-${TAG}&csrf=${encodeURIComponent(csrf)}`);
        assert.equal(create, 403, "a viewer's POST /ui/signal-endpoints");
        const toggle = await postFromPage(
          viewer,
          `/ui/flags/default/${FLAG}/toggle`,
          `environment=development&enabled=on&back=list&csrf=${encodeURIComponent(csrf)}`,
        );
        assert.equal(toggle, 403, "a viewer's POST …/toggle");
        const remove = await postFromPage(viewer, `${shared.endpointPath}/delete`, `csrf=${encodeURIComponent(csrf)}`);
        assert.equal(remove, 403, `a viewer's POST ${shared.endpointPath}/delete`);
        assert.ok((await listEndpoints(ownerJwt)).some((e) => e.name === ENDPOINT), 'the viewer deleted the endpoint');
        assert.ok(!(await listEndpoints(ownerJwt)).some((e) => e.name === `viewer-${TAG}`), 'the viewer made an endpoint');
        assert.equal((await flagConfig('development')).enabled, false, 'the viewer turned the flag on');
      });
    } finally {
      await closePage(viewer);
    }
  });

  // Found by this suite: the page by its URL must be refused as the API refuses it.
  test(
    "viewer: an endpoint's page, opened by its URL, is refused (as the API refuses it)",
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const email = `firefox-viewer-${randomTag()}@example.test`;
      const password = 'viewer password 123';
      await api('POST', '/v1/users', ownerJwt, { email, role: 'viewer', password });
      const viewer = await newPage(browser);
      try {
        await login(viewer, email, password);
        const response = await goto(viewer, shared.endpointPath);
        assert.equal(response?.status(), 403, `${shared.endpointPath} for a viewer`);
        const forms = await postingForms(viewer);
        assert.ok(forms.every((action) => action === '/ui/logout'), `forms that post on the refusal: ${forms}`);
      } finally {
        await closePage(viewer);
      }
    },
  );

  test('owner: a form post without the CSRF token is refused', { timeout: TEST_TIMEOUT_MS }, async () => {
    await keepEvidence(page, 'firefox-csrf', async () => {
      // The browser submits the real form, its hidden csrf field taken out.
      await goto(page, '/ui/signal-endpoints');
      await page.$eval('form#create-endpoint input[name="csrf"]', (input) => input.remove());
      await fill(await labelled(page, 'form#create-endpoint', 'Name'), `nocsrf-${TAG}`);
      const response = await clickAndWait(page, await button(page, 'Create endpoint', { within: 'form#create-endpoint' }));
      assert.equal(response?.status(), 403, 'the form submitted without csrf');

      // And a script's post with the session cookie alone.
      await goto(page, '/ui/signal-endpoints');
      assert.equal(await postFromPage(page, '/ui/signal-endpoints', `name=nocsrf2-${TAG}`), 403, 'a fetch without csrf');
      const names = (await listEndpoints(ownerJwt)).map((e) => e.name);
      assert.ok(!names.some((n) => n.startsWith('nocsrf')), `an endpoint posted without a CSRF token exists: ${names}`);
      assert.ok(names.includes(ENDPOINT), `the API does not list ${ENDPOINT}`);
    });
  });

  test('every page of the navigation: a title, one <h1>, labelled controls; screenshots', { timeout: TEST_TIMEOUT_MS }, async () => {
    await keepEvidence(page, 'firefox-pages', async () => {
      await goto(page, '/ui/');
      for (const [name, path, shot] of NAV_PAGES) {
        await clickAndWait(page, await link(page, name, { within: 'nav' }));
        assert.equal(pathOf(page), path, `the ${name} link`);
        assert.equal(await textOf(page, 'h1'), name);
        assert.equal(await page.title(), `${name} · Signalbox`);
        const current = await page.$eval('nav a[aria-current="page"]', (a) => a.textContent.trim());
        assert.equal(current, name, 'the navigation marks the current page');
        await checkAccessibility(page);
        await screenshot(page, shot);
      }
      // The endpoint's page, with its live view.
      await goto(page, shared.endpointPath);
      await checkAccessibility(page);
      assert.deepEqual(page.errors, [], 'uncaught script errors on the pages');
    });
  });

  test('owner: log out', { timeout: TEST_TIMEOUT_MS }, async () => {
    await keepEvidence(page, 'firefox-logout', async () => {
      await clickAndWait(page, await button(page, 'Log out'));
      assert.equal(pathOf(page), '/ui/login');
      await goto(page, '/ui/signal-endpoints');
      assert.equal(pathOf(page), '/ui/login');
    });
  });
});
