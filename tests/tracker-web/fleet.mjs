// Opens upledger-tracker's fleet page in headless Chromium (the explorer's shared launcher,
// web/explorer/test/chromium.mjs: Debian's /usr/bin/chromium through playwright-core), clicks the
// first device needing attention, and prints what the page showed as one JSON object for
// tests/system/test_tracker.py.
// Usage: node fleet.mjs URL
import { openPage, withChromium } from '../../web/explorer/test/chromium.mjs';

const STEP_TIMEOUT_MS = 20000; // any one wait for the page

const url = process.argv[2];
const errors = [];
const out = await withChromium(async (browser) => {
  const page = await openPage(browser, url, errors, { timeoutMs: STEP_TIMEOUT_MS });
  await page.waitForSelector('body[data-loaded="true"]');
  const cards = await page.$$eval('.card[data-status]', (cs) =>
    Object.fromEntries(cs.map((c) => [c.dataset.status, Number(c.querySelector('b').textContent)])));
  const attention = await page.$$eval('#attention tbody tr', (rows) =>
    rows.map((r) => ({ key: r.querySelector('button').dataset.key,
      status: r.children[1].textContent })));
  const releases = await page.$$eval('#releases tbody tr', (rows) =>
    rows.map((r) => [...r.children].map((td) => td.textContent)));
  let device = null;
  if (attention.length) {
    await page.click('#attention tbody tr button');
    await page.waitForSelector('#device:not([hidden]) #history tbody tr');
    device = {
      key: await page.textContent('#device-key'),
      status: await page.textContent('#device-status'),
      history: await page.$$eval('#history tbody tr', (rows) => rows.length),
    };
  }
  const error = await page.textContent('#error');
  return { cards, attention, releases, device, error, errors };
});
console.log(JSON.stringify(out));
