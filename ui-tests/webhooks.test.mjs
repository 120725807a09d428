// Webhooks in the admin UI, in a real browser: a tiny receiver on 127.0.0.1 (node:http,
// answering 200); create a webhook to it through the form; "Send test event"; the deliveries
// list shows the delivery as succeeded; its attempt view shows the receiver's answer; a
// viewer has no controls. Only 127.0.0.1 is contacted.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  BASE,
  api,
  apiLogin,
  checkAccessibility,
  csrfToken,
  keepEvidence,
  launchBrowser,
  login,
  newPage,
  pathOf,
  postFromPage,
  randomTag,
  screenshot,
  sleep,
  waitForPath,
} from './lib/browser.mjs';

const TEST_TIMEOUT_MS = 60_000;
/** How long the deliveries list may take to show the test delivery as succeeded. */
const DELIVERED_LIMIT_MS = 10_000;
const RECEIVER_ANSWER = 'ok from the browser test receiver';

const TAG = randomTag();
const WEBHOOK = `receiver-${TAG}`;

let browser;
let page;
let ownerJwt;
let receiver;
let receiverUrl;
const received = [];
const shared = { webhookPath: null };

/** A receiver on 127.0.0.1:0 that records every request and answers 200. */
function startReceiver() {
  return new Promise((resolve) => {
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        received.push({ path: request.url, headers: request.headers, body });
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.end(RECEIVER_ANSWER);
      });
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

describe('webhooks in the admin UI', { timeout: 4 * TEST_TIMEOUT_MS }, () => {
  before(async () => {
    receiver = await startReceiver();
    receiverUrl = `http://127.0.0.1:${receiver.address().port}/hook`;
    browser = await launchBrowser();
    page = await newPage(browser);
    ownerJwt = await apiLogin(ADMIN_EMAIL, ADMIN_PASSWORD);
  });

  after(async () => {
    await browser?.close();
    await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve()));
  });

  test('owner: create a webhook, send a test event, see it succeed and its attempt', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await keepEvidence(page, 'webhooks-create-and-test', async () => {
      await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
      await Promise.all([
        waitForPath(page, '/ui/webhooks'),
        page.locator('nav').getByRole('link', { name: 'Webhooks', exact: true }).click(),
      ]);
      assert.equal((await page.locator('h1').innerText()).trim(), 'Webhooks');
      assert.match(await page.title(), /Webhooks/);
      await checkAccessibility(page);
      const hint = await page.locator('#events-hint').innerText();
      assert.ok(hint.includes('signal.received') && hint.includes('signal.captured'), `the picker's hint: ${hint}`);

      // An invalid URL: 422, the error next to the URL field, what was typed kept.
      const form = page.locator('form#create-webhook');
      await form.locator('#webhook-name').fill(WEBHOOK);
      await form.locator('#webhook-url').fill('not a url');
      const [refused] = await Promise.all([
        page.waitForResponse((r) => new URL(r.url()).pathname === '/ui/webhooks' && r.request().method() === 'POST'),
        form.getByRole('button', { name: 'Create webhook', exact: true }).click(),
      ]);
      assert.equal(refused.status(), 422);
      await page.locator('#webhook-url-error').waitFor();
      assert.equal(await page.locator('#webhook-url').getAttribute('aria-invalid'), 'true');
      await checkAccessibility(page);

      // The real thing: one event type ticked, a retry schedule.
      const again = page.locator('form#create-webhook');
      assert.equal(await again.locator('#webhook-name').inputValue(), WEBHOOK, 'the name typed is kept');
      await again.locator('#webhook-url').fill(receiverUrl);
      await again.locator('#webhook-retry').fill('1s, 5s');
      // The type list is folded away while no type is chosen.
      assert.equal(await again.locator('#event-flag-created').isVisible(), false);
      await again.locator('#event-types summary').click();
      await again.locator('#event-flag-created').check();
      await checkAccessibility(page);
      await Promise.all([
        waitForPath(page, /^\/ui\/webhooks\/[^/]+$/),
        again.getByRole('button', { name: 'Create webhook', exact: true }).click(),
      ]);
      shared.webhookPath = pathOf(page);
      assert.equal((await page.locator('h1').innerText()).trim(), WEBHOOK);
      assert.equal(await page.locator('#event-flag-created').isChecked(), true);
      assert.equal(await page.locator('#webhook-retry').inputValue(), '1s, 5s');
      await checkAccessibility(page);
      await screenshot(page, 'webhook');

      // Send a test event: the deliveries list, where it shows as succeeded.
      await Promise.all([
        waitForPath(page, `${shared.webhookPath}/deliveries`),
        page.getByRole('button', { name: 'Send test event', exact: true }).first().click(),
      ]);
      const started = performance.now();
      const succeeded = page.locator('table#deliveries tr', { hasText: 'webhook.test' }).locator('[data-status="succeeded"]');
      while ((await succeeded.count()) === 0) {
        assert.ok(performance.now() - started < DELIVERED_LIMIT_MS, 'the test delivery never showed as succeeded');
        await sleep(250);
        await page.reload();
      }
      t.diagnostic(`succeeded shown ${Math.round(performance.now() - started)} ms after sending`);
      const test = received.find((r) => JSON.parse(r.body).type === 'webhook.test');
      assert.ok(test, `the receiver got no webhook.test: ${received.map((r) => r.body).join('\n')}`);
      assert.equal(test.path, '/hook');
      assert.ok(test.headers['webhook-id'], 'the request has a webhook-id header');
      assert.equal((await page.locator('h1').innerText()).trim(), `Deliveries of ${WEBHOOK}`);
      await checkAccessibility(page);
      await screenshot(page, 'webhook-deliveries');

      // The status filter.
      await page.locator('#delivery-status').selectOption('dead');
      await Promise.all([
        page.waitForURL((url) => url.searchParams.get('status') === 'dead'),
        page.getByRole('button', { name: 'Filter', exact: true }).click(),
      ]);
      await page.locator('p.empty').waitFor();
      await page.locator('#delivery-status').selectOption('succeeded');
      await Promise.all([
        page.waitForURL((url) => url.searchParams.get('status') === 'succeeded'),
        page.getByRole('button', { name: 'Filter', exact: true }).click(),
      ]);

      // The attempt view: the receiver's status and answer.
      await Promise.all([
        waitForPath(page, /\/deliveries\/[^/]+$/),
        page.locator('table#deliveries').getByRole('link', { name: 'webhook.test', exact: true }).first().click(),
      ]);
      const attempts = await page.locator('#attempts').innerText();
      assert.ok(attempts.includes('Attempt 1'), attempts);
      assert.ok(attempts.includes('200'), `the response status: ${attempts}`);
      assert.ok(attempts.includes(RECEIVER_ANSWER), `the response body: ${attempts}`);
      await checkAccessibility(page);
      await screenshot(page, 'webhook-delivery');

      // Redeliver: the receiver gets it again.
      const before = received.length;
      await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/redeliver') && r.request().method() === 'POST'),
        page.getByRole('button', { name: 'Redeliver', exact: true }).click(),
      ]);
      const deadline = performance.now() + DELIVERED_LIMIT_MS;
      while (received.length === before) {
        assert.ok(performance.now() < deadline, 'the redelivery never arrived');
        await sleep(100);
      }

      // The list shows the webhook with its health.
      await page.goto(`${BASE}/ui/webhooks`);
      const row = page.locator('table#webhooks tr', { hasText: WEBHOOK });
      await row.waitFor();
      assert.ok((await row.innerText()).includes('enabled'));
      await checkAccessibility(page);
      await screenshot(page, 'webhooks');

      assert.deepEqual(page.errors, [], 'uncaught script errors on the pages');
    });
  });

  test('viewer: no controls, and a form post is refused anyway', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(shared.webhookPath, 'needs the webhook of the first test');
    const email = `viewer-${randomTag()}@example.test`;
    const password = 'viewer password 123';
    await api('POST', '/v1/users', ownerJwt, { email, role: 'viewer', password });
    const viewer = await newPage(browser);
    try {
      await keepEvidence(viewer, 'webhooks-viewer', async () => {
        await login(viewer, email, password);
        await viewer.goto(`${BASE}/ui/webhooks`);
        assert.equal(await viewer.locator('#create-webhook').count(), 0, 'a viewer sees the create form');
        assert.ok((await viewer.locator('p.notice').innerText()).includes('owners and admins'));
        await checkAccessibility(viewer);
        const csrf = await csrfToken(viewer);
        const status = await postFromPage(viewer, `${shared.webhookPath}/delete`, `csrf=${encodeURIComponent(csrf)}`);
        assert.equal(status, 403, "a viewer's POST …/delete with a valid CSRF token");
        const webhooks = await api('GET', '/v1/webhooks?limit=100', ownerJwt);
        assert.ok(webhooks.data.some((w) => w.name === WEBHOOK), 'the webhook is still there');
      });
    } finally {
      await viewer.context().close();
    }
  });

  test('owner: deleting asks for confirmation first', { timeout: TEST_TIMEOUT_MS }, async () => {
    await keepEvidence(page, 'webhooks-delete', async () => {
      await page.goto(BASE + shared.webhookPath);
      // Dismissed: nothing happens.
      page.once('dialog', (dialog) => dialog.dismiss());
      await page.getByRole('button', { name: 'Delete webhook', exact: true }).click();
      await sleep(300);
      assert.equal(pathOf(page), shared.webhookPath);
      // Accepted: gone.
      page.once('dialog', (dialog) => dialog.accept());
      await Promise.all([
        waitForPath(page, '/ui/webhooks'),
        page.getByRole('button', { name: 'Delete webhook', exact: true }).click(),
      ]);
      const webhooks = await api('GET', '/v1/webhooks?limit=100', ownerJwt);
      assert.ok(!webhooks.data.some((w) => w.name === WEBHOOK), 'the webhook was not deleted');
    });
  });
});
