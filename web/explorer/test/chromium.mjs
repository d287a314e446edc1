// How upledger's browser tests start a browser: Debian's /usr/bin/chromium, headless, driven by
// playwright-core (web/explorer/package-lock.json, installed by `make explorer` with
// PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1: playwright never downloads a browser). Used by the
// explorer's test/browser.mjs and by tests/tracker-web/fleet.mjs (upledger-tracker's fleet page).
import { accessSync, constants } from 'node:fs';
import { chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

// Runs fn(browser) in a new headless Chromium, closes the browser whatever fn does, and
// returns what fn returned.
export async function withChromium(fn) {
    try {
        accessSync(CHROMIUM, constants.X_OK);
    } catch {
        throw new Error(`${CHROMIUM} is missing: make deps installs Debian's chromium`);
    }
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    try {
        return await fn(browser);
    } finally {
        await browser.close();
    }
}

// Opens url in a new page whose uncaught exceptions and console errors are appended to errors
// (not Chromium's "Failed to load resource" line for a 4xx/5xx answer: the pages handle those).
// Every wait on the page is bounded by timeoutMs.
export async function openPage(browser, url, errors, { timeoutMs, viewport } = {}) {
    const page = await browser.newPage(viewport ? { viewport } : {});
    page.setDefaultTimeout(timeoutMs);
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
        if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
            errors.push(`console: ${m.text()}`);
        }
    });
    await page.goto(url, { timeout: timeoutMs });
    return page;
}
