// Typed signals and actions in the admin UI, in a real browser: declare a custom signal type
// with the form (its slug shown), create an ICP profile whose CEL condition is checked on the
// server as it is typed (an invalid one shows its line and column without submitting), send
// a typed signal with the owner's JWT, and find the lead with its score; an action set on the
// type shows its run in the run log, and a set's preview says the latest typed signal would
// match. The tests run in order and share the owner's page.
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
const TAG = randomTag();
const TYPE_NAME = `Demo request ${TAG}`;
const SLUG = `demo_request_${TAG}`.toLowerCase();
const PROFILE = `Mid-market ${TAG}`;
const EMAIL = `ada-${TAG}@acme-${TAG}.io`.toLowerCase();
const DOMAIN = `acme-${TAG}.io`.toLowerCase();
const FLAG = `typed-${TAG}`.toLowerCase();

let browser;
let page; // the owner's page, shared by the tests in order
let ownerJwt;
const shared = { leadId: null, setId: null };

/** Types into a field key by key, as a person would (htmx listens for keyup). */
async function typeInto(locator, text) {
  await locator.fill('');
  await locator.pressSequentially(text, { delay: 10 });
}

/** POST /signals as the owner: a typed signal of the test's type about Ada. */
async function sendTypedSignal(n) {
  return api('POST', '/signals', ownerJwt, {
    signal_type: SLUG,
    source: 'browser-test',
    event_name: 'demo_requested',
    occurred_at: new Date(Date.now() - n * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
    identity: { email: EMAIL, company_domain: DOMAIN, first_name: 'Ada', last_name: `Lovelace ${TAG}` },
    context: { team_size: 12 },
  });
}

describe('typed signals and actions in the admin UI', { timeout: 6 * TEST_TIMEOUT_MS }, () => {
  before(async () => {
    browser = await launchBrowser();
    page = await newPage(browser);
    ownerJwt = await apiLogin(ADMIN_EMAIL, ADMIN_PASSWORD);
  });

  after(async () => {
    await browser?.close();
  });

  test('owner: declare a custom signal type with the form', { timeout: TEST_TIMEOUT_MS }, async () => {
    await keepEvidence(page, 'typed', async () => {
      await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
      await Promise.all([
        waitForPath(page, '/ui/typed'),
        page.locator('nav').getByRole('link', { name: 'Typed signals', exact: true }).click(),
      ]);
      assert.equal((await page.locator('h1').innerText()).trim(), 'Typed signals');
      await checkAccessibility(page);

      const form = page.locator('form#create-type');
      await form.getByLabel('Name', { exact: true }).fill(TYPE_NAME);
      await form.getByLabel('Source description', { exact: true }).fill('The website demo form');
      await form.getByLabel(/Autoqualify: score captures/).check();
      await Promise.all([
        page.waitForURL((url) => url.pathname === '/ui/typed' && url.searchParams.has('created')),
        form.getByRole('button', { name: 'Declare signal type', exact: true }).click(),
      ]);
      assert.equal((await page.locator('#created-slug').innerText()).trim(), SLUG, 'the slug is shown');
      const row = page.locator(`#signal-types tr[data-slug="${SLUG}"]`);
      await row.waitFor();
      assert.match(await row.innerText(), /custom/);

      // A duplicate: 409, the problem shown on the page, the form kept.
      await form.getByLabel('Name', { exact: true }).fill(TYPE_NAME.toUpperCase());
      const [refused] = await Promise.all([
        page.waitForResponse((r) => new URL(r.url()).pathname === '/ui/typed' && r.request().method() === 'POST'),
        form.getByRole('button', { name: 'Declare signal type', exact: true }).click(),
      ]);
      assert.equal(refused.status(), 409);
      await page.locator('p.error', { hasText: 'exists' }).waitFor();
      await checkAccessibility(page);

      const types = await api('GET', '/v1/signal-types', ownerJwt);
      const mine = types.filter((t) => t.slug === SLUG);
      assert.equal(mine.length, 1, 'the API lists the type once');
      assert.equal(mine[0].autoqualify, true);
      await page.goto(`${BASE}/ui/typed`);
      await screenshot(page, 'typed');
      assert.deepEqual(page.errors, [], 'uncaught script errors');
    });
  });

  test('owner: create an ICP profile, its conditions checked as they are typed', { timeout: TEST_TIMEOUT_MS }, async () => {
    await keepEvidence(page, 'profiles', async () => {
      await page.goto(`${BASE}/ui/typed/profiles`);
      await checkAccessibility(page);
      const form = page.locator('form#create-profile');
      await form.getByLabel('Kind', { exact: true }).selectOption('icp');
      await form.getByLabel('Code', { exact: true }).fill(PROFILE);

      // An invalid condition: the error with its line and column, and no submit.
      const first = page.locator('#condition-0');
      await typeInto(first, 'identity.company_domain.endsWith(');
      const check = page.locator('#condition-0-check');
      await check.locator('.error').waitFor();
      assert.match(await check.innerText(), /line \d+, column \d+/);
      assert.equal(pathOf(page), '/ui/typed/profiles');
      const none = await api('GET', '/v1/icp-profiles', ownerJwt);
      assert.ok(!none.some((p) => p.code === PROFILE), 'nothing was submitted');
      await checkAccessibility(page);

      await typeInto(first, "identity.company_domain.endsWith('.io')");
      await check.locator('.valid').waitFor();
      assert.equal((await check.innerText()).trim(), 'valid');
      await page.locator('#weight-0').fill('30');
      await typeInto(page.locator('#condition-1'), 'signals.context.team_size > 10');
      await page.locator('#condition-1-check .valid').waitFor();
      await page.locator('#weight-1').fill('50');
      await typeInto(page.locator('#condition-2'), 'signals.context.missing > 1');
      await page.locator('#condition-2-check .valid').waitFor();
      await page.locator('#weight-2').fill('20');
      await screenshot(page, 'profiles');

      await Promise.all([
        page.waitForResponse((r) => new URL(r.url()).pathname === '/ui/typed/profiles' && r.request().method() === 'POST'),
        form.getByRole('button', { name: 'Create profile', exact: true }).click(),
      ]);
      await page.locator('#icp-profiles', { hasText: PROFILE }).waitFor();
      const profiles = await api('GET', '/v1/icp-profiles', ownerJwt);
      const mine = profiles.find((p) => p.code === PROFILE);
      assert.ok(mine, 'the API lists the profile');
      assert.equal(mine.rules.length, 3);
      assert.deepEqual(page.errors, [], 'uncaught script errors');
    });
  });

  test('owner: a typed signal makes a lead with its score', { timeout: TEST_TIMEOUT_MS }, async () => {
    await keepEvidence(page, 'leads', async () => {
      const captured = await sendTypedSignal(5);
      assert.equal(captured.qualification.icp_code, PROFILE, JSON.stringify(captured));
      assert.equal(captured.qualification.icp_score, 80, JSON.stringify(captured));
      shared.leadId = captured.matched_record_id;

      await page.goto(`${BASE}/ui/typed/leads`);
      await checkAccessibility(page);
      await page.getByLabel('Search by email, domain or name').fill(DOMAIN);
      await Promise.all([
        page.waitForURL((url) => url.pathname === '/ui/typed/leads' && url.searchParams.get('q') === DOMAIN),
        page.getByRole('button', { name: 'Search', exact: true }).click(),
      ]);
      const link = page.locator('table#leads').getByRole('link', { name: `Ada Lovelace ${TAG}`, exact: true });
      await link.waitFor();
      const row = page.locator('table#leads tbody tr', { hasText: `Ada Lovelace ${TAG}` });
      assert.match(await row.innerText(), new RegExp(`${PROFILE}\\s+80`));
      await checkAccessibility(page);
      await screenshot(page, 'leads');

      await Promise.all([waitForPath(page, `/ui/typed/leads/${shared.leadId}`), link.click()]);
      assert.equal((await page.locator('h1').innerText()).trim(), `Ada Lovelace ${TAG}`);
      const latest = await page.locator('#latest-qualification').innerText();
      assert.match(latest, new RegExp(`${PROFILE}\\s+80`), latest);
      const timeline = await page.locator('#captures').innerText();
      assert.ok(timeline.includes(SLUG) && timeline.includes('demo_requested'), timeline);
      assert.ok((await page.locator('main').innerText()).includes(EMAIL), 'the identity shows the email');
      await checkAccessibility(page);
      await screenshot(page, 'lead');
      assert.deepEqual(page.errors, [], 'uncaught script errors');
    });
  });

  test('owner: an action set made with the form shows its run in the run log', { timeout: TEST_TIMEOUT_MS }, async () => {
    await keepEvidence(page, 'actions', async () => {
      await api('POST', '/v1/service-accounts', ownerJwt, { name: `responder-${TAG}`, role: 'editor' });
      await api('POST', '/v1/projects/default/flags', ownerJwt, { key: FLAG });
      const setName = `Demo requests ${TAG}`;
      await page.goto(`${BASE}/ui/actions`);
      await checkAccessibility(page);
      const form = page.locator('form#create-action-set');
      await form.getByLabel('Name', { exact: true }).fill(setName);
      await form.getByLabel('Runs as (service account)').selectOption({ label: `responder-${TAG} (editor)` });
      await form.getByLabel('When a signal comes from').selectOption(`signal-type:${SLUG}`);
      await form.locator('#a0-action').selectOption('TOGGLE_FEATURE_ON');
      await form.getByLabel(/^Flag key/).fill(FLAG);
      await form.getByLabel(/^Environment \(/).fill('development');
      await Promise.all([
        waitForPath(page, /^\/ui\/actions\/[^/]+$/),
        form.getByRole('button', { name: 'Create action set', exact: true }).click(),
      ]);
      const sets = await api('GET', '/v1/projects/default/action-sets', ownerJwt);
      const set = sets.data.find((s) => s.name === setName);
      assert.ok(set, 'the API lists the action set');
      assert.equal(set.match.source_id, SLUG);
      shared.setId = set.id;

      await page.goto(`${BASE}/ui/actions`);
      const link = page.locator('table#action-sets').getByRole('link', { name: setName, exact: true });
      await link.waitFor();

      await sendTypedSignal(1);
      await Promise.all([waitForPath(page, `/ui/actions/${set.id}`), link.click()]);
      const deadline = Date.now() + 10_000;
      while ((await page.locator('#runs li.run[data-state="success"]').count()) === 0) {
        assert.ok(Date.now() < deadline, `no successful run in the log: ${await page.locator('main').innerText()}`);
        await sleep(300);
        await page.reload();
      }
      const run = await page.locator('#runs li.run').first().innerText();
      assert.ok(run.includes('TOGGLE_FEATURE_ON') && /success/.test(run), run);
      await checkAccessibility(page);
      await screenshot(page, 'actions');
      assert.deepEqual(page.errors, [], 'uncaught script errors');
    });
  });

  test('owner: the preview says whether the latest typed signal would match', { timeout: TEST_TIMEOUT_MS }, async () => {
    await keepEvidence(page, 'action-preview', async () => {
      const actor = await api('POST', '/v1/service-accounts', ownerJwt, { name: `previewer-${TAG}`, role: 'editor' });
      const set = await api('POST', '/v1/projects/default/action-sets', ownerJwt, {
        name: `Preview ${TAG}`,
        actor_id: actor.id,
        match: {
          source: 'signal-type',
          source_id: SLUG,
          payload: { 'context.team_size': { operator: 'IN', values: ['12'] } },
        },
        actions: [{ action: 'TOGGLE_FEATURE_ON', execution_params: { feature_name: FLAG, environment: 'development' } }],
      });
      await sendTypedSignal(3);
      await page.goto(`${BASE}/ui/actions/${set.id}`);
      const result = page.locator('#preview p.result');
      const deadline = Date.now() + 10_000;
      while ((await result.count()) === 0) {
        assert.ok(Date.now() < deadline, `no preview: ${await page.locator('main').innerText()}`);
        await sleep(300);
        await page.reload();
      }
      assert.equal(await result.getAttribute('data-match'), 'true', await page.locator('#preview').innerText());
      assert.match(await result.innerText(), /^Match/);
      await checkAccessibility(page);
      await screenshot(page, 'action-preview');
      assert.deepEqual(page.errors, [], 'uncaught script errors');
    });
  });

  test('viewer: no controls, and a form post is refused anyway', { timeout: TEST_TIMEOUT_MS }, async () => {
    const email = `typed-viewer-${TAG}@example.test`;
    const password = 'viewer password 123';
    await api('POST', '/v1/users', ownerJwt, { email, role: 'viewer', password });
    const viewer = await newPage(browser);
    try {
      await keepEvidence(viewer, 'typed-viewer', async () => {
        await login(viewer, email, password);
        await viewer.goto(`${BASE}/ui/typed`);
        assert.equal(await viewer.locator('#create-type').count(), 0);
        assert.equal(await viewer.locator('#signal-types').count(), 0);
        const csrf = await csrfToken(viewer);
        const status = await postFromPage(viewer, '/ui/typed', `name=viewer-${TAG}&csrf=${encodeURIComponent(csrf)}`);
        assert.equal(status, 403);
        await viewer.goto(`${BASE}/ui/typed/leads?q=${encodeURIComponent(DOMAIN)}`);
        await viewer.locator('table#leads').getByRole('link', { name: `Ada Lovelace ${TAG}` }).waitFor();
        await checkAccessibility(viewer);
      });
    } finally {
      await viewer.context().close();
    }
  });

  test('owner: a form post without the CSRF token is refused', { timeout: TEST_TIMEOUT_MS }, async () => {
    await keepEvidence(page, 'typed-csrf', async () => {
      await page.goto(`${BASE}/ui/typed`);
      assert.equal(await postFromPage(page, '/ui/typed', `name=nocsrf-${TAG}`), 403);
      const types = await api('GET', '/v1/signal-types', ownerJwt);
      assert.ok(!types.some((t) => t.slug === `nocsrf_${TAG}`.toLowerCase()));
    });
  });
});
