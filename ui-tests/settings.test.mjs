// Settings in the admin UI, in a real browser: an API token made here is shown once and works
// against the API; the audit log lists its creation.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  BASE,
  api,
  checkAccessibility,
  keepEvidence,
  launchBrowser,
  login,
  newPage,
  randomTag,
  screenshot,
  waitForPath,
} from './lib/browser.mjs';

let browser;
let page;

describe('settings in the admin UI', { timeout: 120_000 }, () => {
  before(async () => {
    browser = await launchBrowser();
    page = await newPage(browser);
  });

  after(async () => {
    await browser?.close();
  });

  test('owner: an API token is shown once and works; the audit log lists it', { timeout: 60_000 }, async () => {
    await keepEvidence(page, 'settings', async () => {
      await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
      await Promise.all([
        waitForPath(page, '/ui/settings'),
        page.locator('nav').getByRole('link', { name: 'Settings', exact: true }).click(),
      ]);
      await checkAccessibility(page);
      const name = `bot-${randomTag()}`;
      const form = page.locator('form#create-api-token');
      await form.getByLabel('Token name', { exact: true }).fill(name);
      await form.getByLabel('Access', { exact: true }).selectOption('role:viewer');
      await form.getByRole('button', { name: 'Create API token', exact: true }).click();
      const secret = (await page.locator('#api-token-secret').innerText()).trim();
      assert.ok(secret.startsWith('sbx_'), `not an API token: ${secret}`);
      const me = await api('GET', '/v1/me', secret);
      assert.equal(me.role, 'viewer', 'the token acts with the role chosen');
      await checkAccessibility(page);
      await screenshot(page, 'settings');

      await page.goto(`${BASE}/ui/settings/audit?type=api_token.created`);
      await page.locator('#audit', { hasText: 'api_token.created' }).waitFor();
      await checkAccessibility(page);
      await screenshot(page, 'audit');
    });
  });
});
