// Flags in the admin UI, in a real browser: create a flag with the form, turn it on in an
// environment and see its state change, kill it with a reason (answering the confirmation
// step) and see the killed state with the reason, then revive it; add a strategy with a
// constraint and see a bad rollout refused next to its field; create an SDK token (its
// secret shown once) and revoke it. The API confirms each change.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  BASE,
  api,
  apiLogin,
  checkAccessibility,
  keepEvidence,
  launchBrowser,
  login,
  newPage,
  pathOf,
  randomTag,
  screenshot,
  waitForPath,
} from './lib/browser.mjs';

const TEST_TIMEOUT_MS = 60_000;
const FLAG = `checkout-${randomTag()}`;
const REASON = `double charges seen (${randomTag()})`;

let browser;
let page;
let ownerJwt;

async function config(environment) {
  return api('GET', `/v1/projects/default/flags/${FLAG}/environments/${environment}`, ownerJwt);
}

/** The state cell of the flag in `environment` on the list page. */
function listCell(environment) {
  return page.locator(`#flags tr[data-flag="${FLAG}"] .toggle[data-environment="${environment}"]`);
}

describe('flags in the admin UI', { timeout: 3 * TEST_TIMEOUT_MS }, () => {
  before(async () => {
    browser = await launchBrowser();
    page = await newPage(browser);
    ownerJwt = await apiLogin(ADMIN_EMAIL, ADMIN_PASSWORD);
  });

  after(async () => {
    await browser?.close();
  });

  test('owner: create a flag, toggle it, kill it with a reason and revive it', { timeout: TEST_TIMEOUT_MS }, async () => {
    await keepEvidence(page, 'flags', async () => {
      await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
      await Promise.all([
        waitForPath(page, '/ui/flags'),
        page.locator('nav').getByRole('link', { name: 'Flags', exact: true }).click(),
      ]);
      assert.equal((await page.locator('h1').innerText()).trim(), 'Flags');
      await checkAccessibility(page);

      // Create the flag with the form: a 303 to its page.
      const form = page.locator('form#create-flag');
      await form.getByLabel('Key (letters, digits, . _ -)', { exact: true }).fill(FLAG);
      await form.getByLabel('Type', { exact: true }).selectOption('release');
      await Promise.all([
        waitForPath(page, `/ui/flags/default/${FLAG}`),
        form.getByRole('button', { name: 'Create flag', exact: true }).click(),
      ]);
      assert.equal((await page.locator('h1').innerText()).trim(), FLAG);
      assert.equal((await config('development')).enabled, false);

      // Back on the list, turn it on in development.
      await page.goto(`${BASE}/ui/flags?project=default`);
      await listCell('development').locator('.state').filter({ hasText: 'Off' }).waitFor();
      await Promise.all([
        page.waitForURL((url) => url.pathname === '/ui/flags'),
        page.getByRole('button', { name: `Turn on ${FLAG} in development`, exact: true }).click(),
      ]);
      await listCell('development').locator('.state').filter({ hasText: 'On' }).waitFor();
      await listCell('production').locator('.state').filter({ hasText: 'Off' }).waitFor();
      assert.equal((await config('development')).enabled, true);
      assert.equal((await config('production')).enabled, false);
      await checkAccessibility(page);
      await screenshot(page, 'flags');

      // The flag's page: kill it with a reason, answering the confirmation step.
      await Promise.all([
        waitForPath(page, `/ui/flags/default/${FLAG}`),
        page.locator('#flags').getByRole('link', { name: FLAG, exact: true }).click(),
      ]);
      await checkAccessibility(page);
      const kill = page.locator('form#kill-flag');
      await kill.getByLabel('Reason', { exact: true }).fill(REASON);
      await kill.getByRole('button', { name: 'Kill flag…', exact: true }).click();
      await page.locator('form#confirm-kill').waitFor();
      assert.equal((await page.locator('h1').innerText()).trim(), `Kill ${FLAG}?`);
      assert.equal((await page.locator('#confirm-reason').innerText()).trim(), REASON);
      await checkAccessibility(page);
      assert.equal((await config('development')).killed, null, 'nothing is killed before confirming');
      await Promise.all([
        waitForPath(page, `/ui/flags/default/${FLAG}`),
        page.getByRole('button', { name: 'Kill now', exact: true }).click(),
      ]);
      const killed = page.locator('#killed');
      await killed.waitFor();
      const text = await killed.innerText();
      assert.ok(text.includes(REASON), `the reason is shown: ${text}`);
      assert.ok(text.includes('killed by you'), `who killed it is shown: ${text}`);
      const dev = await config('development');
      assert.equal(dev.enabled, false);
      assert.equal(dev.killed.reason, REASON);
      assert.equal((await page.locator('section.environment[data-environment="development"] .state').innerText()).trim(), 'Killed');
      await checkAccessibility(page);
      await screenshot(page, 'flag');

      // Revive: the kill is lifted, the flag stays off and can be turned on again.
      await Promise.all([
        page.waitForResponse((r) => new URL(r.url()).pathname.endsWith('/revive')),
        page.locator('form#revive-flag').getByRole('button', { name: 'Revive', exact: true }).click(),
      ]);
      await page.locator('#kill-flag').waitFor();
      assert.equal(pathOf(page), `/ui/flags/default/${FLAG}`);
      assert.equal((await config('development')).killed, null);
      assert.equal((await config('development')).enabled, false);
    });
  });

  test('owner: create a frontend SDK token, its secret shown once, then revoke it', { timeout: TEST_TIMEOUT_MS }, async () => {
    await keepEvidence(page, 'sdk-tokens', async () => {
      const name = `web-${randomTag()}`;
      await page.goto(`${BASE}/ui/flags`);
      await Promise.all([
        waitForPath(page, '/ui/flags/sdk-tokens'),
        page.getByRole('link', { name: 'SDK tokens', exact: true }).click(),
      ]);
      assert.equal((await page.locator('h1').innerText()).trim(), 'SDK tokens');
      await checkAccessibility(page);

      const form = page.locator('form#create-sdk-token');
      await form.getByLabel('Name', { exact: true }).fill(name);
      await form.getByLabel('Type', { exact: true }).selectOption('frontend');
      await form.getByLabel('Environment', { exact: true }).selectOption('development');
      await form.getByLabel('CORS origins (frontend tokens; comma-separated, or *)', { exact: true }).fill('https://app.example.com');
      await Promise.all([
        page.waitForResponse((r) => new URL(r.url()).pathname === '/ui/flags/sdk-tokens' && r.request().method() === 'POST'),
        form.getByRole('button', { name: 'Create token', exact: true }).click(),
      ]);
      const secret = (await page.locator('#sdk-token-secret').innerText()).trim();
      assert.match(secret, /^\*:development\.[0-9a-f]{56}$/);
      await page.getByRole('button', { name: 'Copy', exact: true }).waitFor();
      const tokens = (await api('GET', '/v1/sdk-tokens', ownerJwt)).data;
      const token = tokens.find((t) => t.name === name);
      assert.ok(token, `the API lists ${name}`);
      assert.equal(token.type, 'frontend');
      assert.deepEqual(token.cors_origins, ['https://app.example.com']);
      await checkAccessibility(page);
      await screenshot(page, 'sdk-tokens');

      // Reloading the list does not show the secret again.
      await page.goto(`${BASE}/ui/flags/sdk-tokens`);
      assert.ok(!(await page.content()).includes(secret), 'the secret is shown only once');

      // Revoke, answering the confirmation.
      await page.getByRole('button', { name: `Revoke ${name}`, exact: true }).click();
      await page.locator('form#confirm-revoke').waitFor();
      await checkAccessibility(page);
      await Promise.all([
        waitForPath(page, '/ui/flags/sdk-tokens'),
        page.getByRole('button', { name: 'Revoke now', exact: true }).click(),
      ]);
      const left = (await api('GET', '/v1/sdk-tokens', ownerJwt)).data;
      assert.ok(!left.some((t) => t.name === name), 'revoked');
    });
  });

  test('owner: add a strategy with a constraint, then see a rollout over 100 refused next to its field', { timeout: TEST_TIMEOUT_MS }, async () => {
    await keepEvidence(page, 'flag-strategy', async () => {
      await page.goto(`${BASE}/ui/flags/default/${FLAG}`);
      const development = page.locator('section.environment[data-environment="development"]');
      await development.getByLabel('Add a strategy', { exact: true }).selectOption('flexibleRollout');
      await Promise.all([
        waitForPath(page, `/ui/flags/default/${FLAG}/environments/development/strategies/new`),
        development.getByRole('button', { name: 'Add…', exact: true }).click(),
      ]);
      assert.equal((await page.locator('h1').innerText()).trim(), `New strategy for ${FLAG} in Development`);
      await checkAccessibility(page);

      const form = page.locator('form#strategy-form');
      await form.locator('#param-rollout').fill('25');
      await form.getByLabel('Context field (e.g. userId, appName, country)', { exact: true }).fill('country');
      await form.getByLabel('Operator', { exact: true }).selectOption('IN');
      await form.getByLabel('Values (comma-separated; list operators)', { exact: true }).fill('NL, BE');
      await Promise.all([
        waitForPath(page, `/ui/flags/default/${FLAG}`),
        form.getByRole('button', { name: 'Save strategy', exact: true }).first().click(),
      ]);
      const strategy = (await config('development')).strategies[0];
      assert.equal(strategy.name, 'flexibleRollout');
      assert.equal(strategy.parameters.rollout, '25');
      assert.deepEqual(strategy.constraints, [
        { contextName: 'country', operator: 'IN', values: ['NL', 'BE'], inverted: false, caseInsensitive: false },
      ]);
      await development.locator('article.strategy').filter({ hasText: 'country' }).waitFor();
      await checkAccessibility(page);
      await screenshot(page, 'flag-strategy');

      // Edit it with a rollout over 100: the error is next to the rollout, nothing changes.
      await Promise.all([
        waitForPath(page, `/ui/flags/default/${FLAG}/environments/development/strategies/0`),
        page.getByRole('link', { name: 'Edit strategy 1 in development', exact: true }).click(),
      ]);
      await page.locator('#param-rollout').fill('250');
      await page.locator('form#strategy-form').getByRole('button', { name: 'Save strategy', exact: true }).first().click();
      await page.locator('#param-rollout-error').waitFor();
      assert.equal(await page.locator('#param-rollout').getAttribute('aria-invalid'), 'true');
      await checkAccessibility(page);
      await screenshot(page, 'flag-strategy-form');
      assert.equal((await config('development')).strategies[0].parameters.rollout, '25');
    });
  });

  test('the change requests inbox says what to do when it is empty', { timeout: TEST_TIMEOUT_MS }, async () => {
    await keepEvidence(page, 'change-requests', async () => {
      await page.goto(`${BASE}/ui/flags/change-requests`);
      assert.equal((await page.locator('h1').innerText()).trim(), 'Change requests');
      await checkAccessibility(page);
    });
  });
});
