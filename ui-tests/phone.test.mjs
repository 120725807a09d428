// The admin UI on a phone's screen (390 × 844, Chromium): every main page fits the width —
// wide tables scroll sideways inside the page instead of hiding columns — and a flag's
// toggles can still be reached (the last column's too) and used.
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
  randomTag,
  screenshot,
} from './lib/browser.mjs';

const PHONE = { width: 390, height: 844 };
const PAGES = [
  ['overview', '/ui/'],
  ['signal-endpoints', '/ui/signal-endpoints'],
  ['webhooks', '/ui/webhooks'],
  ['flags', '/ui/flags'],
  ['actions', '/ui/actions'],
  ['typed-signals', '/ui/typed'],
  ['settings', '/ui/settings'],
];

let browser;
let page;

describe('the admin UI on a phone', { timeout: 120_000 }, () => {
  before(async () => {
    browser = await launchBrowser();
    page = await newPage(browser, PHONE);
  });

  after(async () => {
    await browser?.close();
  });

  test('every main page fits the screen; a flag toggles from its list', { timeout: 90_000 }, async () => {
    await keepEvidence(page, 'phone', async () => {
      const flag = `phone-${randomTag()}`;
      await api('POST', '/v1/projects/default/flags', await apiLogin(ADMIN_EMAIL, ADMIN_PASSWORD), { key: flag });
      await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
      for (const [name, path] of PAGES) {
        await page.goto(BASE + path);
        await checkAccessibility(page);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        // What sticks out, for the message: the outermost elements past the right edge.
        const wide = await page.evaluate(() =>
          [...document.querySelectorAll('body *')]
            .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
            .filter((e) => !(e.parentElement?.getBoundingClientRect().right > window.innerWidth + 1))
            .map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}${e.className ? `.${e.className}` : ''}`)
            .slice(0, 5),
        );
        assert.ok(overflow <= 1, `${path} is ${overflow}px wider than a ${PHONE.width}px screen: ${wide.join(', ')}`);
        await screenshot(page, `phone-${name}`);
      }

      await page.goto(`${BASE}/ui/flags`);
      const last = page.getByRole('button', { name: `Turn on ${flag} in production`, exact: true });
      await last.scrollIntoViewIfNeeded();
      assert.ok(await last.isVisible(), 'the last column’s toggle is reachable');
      const toggle = page.getByRole('button', { name: `Turn on ${flag} in development`, exact: true });
      await toggle.scrollIntoViewIfNeeded();
      await Promise.all([page.waitForLoadState('load'), toggle.click()]);
      await page.getByRole('button', { name: `Turn off ${flag} in development`, exact: true }).waitFor();
    });
  });
});
