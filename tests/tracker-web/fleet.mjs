// Opens upledger-tracker's fleet page in headless Chromium (Debian's /usr/bin/chromium through
// playwright-core, which never downloads a browser), clicks the first device needing attention,
// and prints what the page showed as one JSON object for tests/system/test_tracker.py.
// Usage: node fleet.mjs URL
import { chromium } from 'playwright-core';

const url = process.argv[2];
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'],
});
try {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url, { timeout: 20000 });
  await page.waitForSelector('body[data-loaded="true"]', { timeout: 20000 });
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
    await page.waitForSelector('#device:not([hidden]) #history tbody tr', { timeout: 10000 });
    device = {
      key: await page.textContent('#device-key'),
      status: await page.textContent('#device-status'),
      history: await page.$$eval('#history tbody tr', (rows) => rows.length),
    };
  }
  const error = await page.textContent('#error');
  console.log(JSON.stringify({ cards, attention, releases, device, error, errors }));
} finally {
  await browser.close();
}
