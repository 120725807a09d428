// Signal endpoints in the admin UI, in a real browser: create an endpoint and a token, send
// a signal with curl and see it arrive live (Server-Sent Events, no reload), pause and resume
// the live view, a viewer without admin controls (and refused when posting anyway), CSRF,
// and logging out. The tests run in order and share the owner's page.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  BASE,
  api,
  apiLogin,
  checkAccessibility,
  csrfToken,
  curlSignal,
  keepEvidence,
  launchBrowser,
  listEndpoints,
  login,
  newPage,
  pathOf,
  postFromPage,
  randomTag,
  screenshot,
  sleep,
  waitForPath,
} from './lib/browser.mjs';

/** How soon a signal must show in #live-signals after curl returns. */
const LIVE_LIMIT_MS = 3000;
/** How long a signal sent while paused must stay out of view. */
const PAUSED_WAIT_MS = 1500;
const TEST_TIMEOUT_MS = 60_000;

const TAG = randomTag();
const ENDPOINT = `deploys-${TAG}`;
const TOKEN_NAME = 'ci';

let browser;
let page; // the owner's page, shared by the tests in order
let ownerJwt;
const shared = { endpointPath: null, secret: null };

/** The article in #live-signals whose text contains `marker`. */
function liveSignal(marker) {
  return page.locator('#live-signals article.signal', { hasText: marker });
}

/** Sends a signal with curl and checks that the server accepted it. */
async function send(payload) {
  const { status, body } = await curlSignal(ENDPOINT, shared.secret, JSON.stringify(payload));
  assert.ok(status >= 200 && status < 300, `curl: POST /api/signal-endpoint/${ENDPOINT} answered ${status}: ${body}`);
}

describe('signal endpoints in the admin UI', { timeout: 5 * TEST_TIMEOUT_MS }, () => {
  before(async () => {
    browser = await launchBrowser();
    page = await newPage(browser);
    ownerJwt = await apiLogin(ADMIN_EMAIL, ADMIN_PASSWORD);
  });

  after(async () => {
    await browser?.close();
  });

  test('owner: create an endpoint and a token, and see a curl signal arrive live', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await keepEvidence(page, 'create-and-live', async () => {
      // Without a session, / leads to the login page.
      await page.goto(`${BASE}/`);
      await waitForPath(page, '/ui/login');
      await checkAccessibility(page);
      await screenshot(page, 'login');

      // A wrong password: the form again, with an error, and 401.
      await page.locator('#email').fill(ADMIN_EMAIL);
      await page.locator('#password').fill('not the password at all');
      const [refused] = await Promise.all([
        page.waitForResponse((r) => new URL(r.url()).pathname === '/ui/login' && r.request().method() === 'POST'),
        page.getByRole('button', { name: 'Log in', exact: true }).click(),
      ]);
      assert.equal(refused.status(), 401, 'a failed login answers 401');
      await page.locator('.error').first().waitFor();

      await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
      assert.equal(pathOf(page), '/ui/');
      await checkAccessibility(page);
      await csrfToken(page);
      await screenshot(page, 'overview');

      // The list, through the navigation.
      await Promise.all([
        waitForPath(page, '/ui/signal-endpoints'),
        page.locator('nav').getByRole('link', { name: 'Signal endpoints', exact: true }).click(),
      ]);
      assert.equal((await page.locator('h1').innerText()).trim(), 'Signal endpoints');
      assert.match(await page.title(), /Signal endpoints/);
      await checkAccessibility(page);

      // Create the endpoint: a 303 to its page.
      const form = page.locator('form#create-endpoint');
      await form.getByLabel('Name', { exact: true }).fill(ENDPOINT);
      await form.getByLabel('Description', { exact: true }).fill('Deploys from the browser test');
      await Promise.all([
        waitForPath(page, /^\/ui\/signal-endpoints\/[^/]+$/),
        form.getByRole('button', { name: 'Create endpoint', exact: true }).click(),
      ]);
      shared.endpointPath = pathOf(page);
      assert.equal((await page.locator('h1').innerText()).trim(), ENDPOINT);
      await checkAccessibility(page);

      // Create a token: its secret is shown once, with a curl command that uses it.
      const tokenForm = page.locator('form#create-token');
      await tokenForm.getByLabel('Token name', { exact: true }).fill(TOKEN_NAME);
      await tokenForm.getByRole('button', { name: 'Create token', exact: true }).click();
      await page.locator('#token-secret').waitFor();
      shared.secret = (await page.locator('#token-secret').innerText()).trim();
      assert.ok(shared.secret.length >= 16, `#token-secret looks too short: ${JSON.stringify(shared.secret)}`);
      const curlText = await page.locator('#token-curl').innerText();
      assert.ok(curlText.includes('curl'), `#token-curl has no curl command: ${curlText}`);
      assert.ok(curlText.includes(shared.secret), '#token-curl does not contain the secret');
      assert.ok(curlText.includes(`/api/signal-endpoint/${ENDPOINT}`), `#token-curl does not post to /api/signal-endpoint/${ENDPOINT}: ${curlText}`);
      await checkAccessibility(page);

      // The live view must be the same document when the signal arrives: no reload.
      await page.locator('#live-signals').waitFor({ state: 'attached' });
      await page.evaluate(() => {
        window.__uiTestNoReload = true;
      });

      const started = performance.now();
      await send({ hello: 'browser' });
      const article = page.locator('#live-signals article.signal', { hasText: 'browser' }).first();
      await article.waitFor({ timeout: LIVE_LIMIT_MS });
      t.diagnostic(`signal shown ${Math.round(performance.now() - started)} ms after curl returned`);
      const text = await article.innerText();
      assert.ok(text.includes('hello') && text.includes('browser'), `the signal does not show the payload: ${text}`);
      assert.match(text, new RegExp(`\\b${TOKEN_NAME}\\b`), `the signal does not name the token ${TOKEN_NAME}: ${text}`);
      const pre = (await article.locator('pre').first().innerText()).trim();
      assert.deepEqual(JSON.parse(pre), { hello: 'browser' }, 'the <pre> holds the payload as JSON');
      assert.equal(await page.evaluate(() => window.__uiTestNoReload === true), true, 'the page was reloaded');
      await screenshot(page, 'signal-endpoint');

      // The list shows the endpoint, linked to its page.
      await page.goto(`${BASE}/ui/signal-endpoints`);
      const link = page.locator('table#endpoints').getByRole('link', { name: ENDPOINT, exact: true });
      await link.waitFor();
      await screenshot(page, 'signal-endpoints');
      await Promise.all([waitForPath(page, shared.endpointPath), link.click()]);

      assert.deepEqual(page.errors, [], 'uncaught script errors on the pages');
    });
  });

  test('owner: pausing the live view holds signals back until it resumes', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(shared.secret && shared.endpointPath, 'needs the endpoint and token of the first test');
    await keepEvidence(page, 'pause', async () => {
      if (pathOf(page) !== shared.endpointPath) await page.goto(BASE + shared.endpointPath);
      const pause = page.locator('#live-pause');
      await pause.waitFor();
      assert.equal((await pause.innerText()).trim(), 'Pause');
      // Let the event stream connect before pausing it.
      await sleep(500);

      await pause.click();
      await page.waitForFunction(() => document.querySelector('#live-pause')?.textContent.trim() === 'Resume');

      const marker = `paused-${randomTag()}`;
      await send({ hello: marker });
      await sleep(PAUSED_WAIT_MS);
      assert.equal(await liveSignal(marker).count(), 0, 'a signal showed while the live view was paused');

      await pause.click();
      await page.waitForFunction(() => document.querySelector('#live-pause')?.textContent.trim() === 'Pause');
      await liveSignal(marker).first().waitFor({ timeout: LIVE_LIMIT_MS });
      assert.equal(await liveSignal(marker).count(), 1, 'the held-back signal shows once');

      assert.deepEqual(page.errors, [], 'uncaught script errors on the page');
    });
  });

  test('viewer: no admin controls, and a form post is refused anyway', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const email = `viewer-${randomTag()}@example.test`;
    const password = 'viewer password 123';
    await api('POST', '/v1/users', ownerJwt, { email, role: 'viewer', password });

    const viewer = await newPage(browser); // a new context: its own cookies
    try {
      await keepEvidence(viewer, 'viewer', async () => {
        await login(viewer, email, password);
        const response = await viewer.goto(`${BASE}/ui/signal-endpoints`);
        t.diagnostic(`a viewer's GET /ui/signal-endpoints answered ${response?.status()}`);
        assert.equal(pathOf(viewer), '/ui/signal-endpoints');
        assert.equal(await viewer.locator('#create-endpoint').count(), 0, 'a viewer sees the create-endpoint form');
        assert.equal(await viewer.locator('#create-token').count(), 0, 'a viewer sees the create-token form');

        const csrf = await csrfToken(viewer);
        const status = await postFromPage(viewer, '/ui/signal-endpoints', `name=x&csrf=${encodeURIComponent(csrf)}`);
        assert.equal(status, 403, "a viewer's POST /ui/signal-endpoints with a valid CSRF token");
        const names = (await listEndpoints(ownerJwt)).map((e) => e.name);
        assert.ok(!names.includes('x'), 'the endpoint the viewer posted exists');
      });
    } finally {
      await viewer.context().close();
    }
  });

  test('owner: a form post without the CSRF token is refused', { timeout: TEST_TIMEOUT_MS }, async () => {
    await keepEvidence(page, 'csrf', async () => {
      if (!pathOf(page).startsWith('/ui/')) await page.goto(`${BASE}/ui/signal-endpoints`);
      const status = await postFromPage(page, '/ui/signal-endpoints', 'name=nocsrf');
      assert.equal(status, 403, 'POST /ui/signal-endpoints without csrf');
      const names = (await listEndpoints(ownerJwt)).map((e) => e.name);
      assert.ok(!names.includes('nocsrf'), 'the endpoint posted without a CSRF token exists');
      assert.ok(names.includes(ENDPOINT), `the API does not list ${ENDPOINT}`);
    });
  });

  test('owner: log out', { timeout: TEST_TIMEOUT_MS }, async () => {
    await keepEvidence(page, 'logout', async () => {
      if (!pathOf(page).startsWith('/ui/') || pathOf(page) === '/ui/login') {
        await page.goto(`${BASE}/ui/signal-endpoints`);
      }
      await Promise.all([
        waitForPath(page, '/ui/login'),
        page.getByRole('button', { name: 'Log out', exact: true }).click(),
      ]);
      await page.goto(`${BASE}/ui/signal-endpoints`);
      await waitForPath(page, '/ui/login');
    });
  });
});
