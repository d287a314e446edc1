// Drives the explorer in headless Chromium (test/chromium.mjs: Debian's /usr/bin/chromium through
// playwright-core) and prints what the page showed as one JSON object.
// tests/system/test_explorer.py starts the node and the tampering proxy and judges the output.
//
// usage: node test/browser.mjs CONFIG.json
//   {"node": URL, "proxy": URL, "proxyJson": URL, "proxySearch": URL, "digest": HEX|null, "chain": HEX, "image": PATH, "id": HEX, "hw": CLASS,
//    "screenshots": DIR}
import { openPage, withChromium } from './chromium.mjs';
import { mkdirSync, readFileSync } from 'node:fs';

const STEP_TIMEOUT_MS = 30000; // any one wait for the page
const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const out = { errors: [] };

async function verdict(page) {
    const status = page.locator('#verify-status');
    await status.waitFor({ timeout: STEP_TIMEOUT_MS });
    return {
        status: (await status.textContent()).trim(),
        reason: (await page.locator('#verify-reason').textContent()).trim(),
        device: (await page.locator('#device-verdict').count()) ? (await page.locator('#device-verdict').textContent()).trim() : null,
        checks: await page.locator('ul.checks li').allTextContents(),
    };
}

function open(browser, url) {
    return openPage(browser, url, out.errors, { timeoutMs: STEP_TIMEOUT_MS, viewport: { width: 1100, height: 900 } });
}

await withChromium(async (browser) => {
    const frag = `#chain=${cfg.chain}`;
    // 1. Search by a file chosen on the page: hashed here, found through /v1/search.
    const page = await open(browser, `${cfg.node}/explorer/${frag}`);
    out.trust = (await page.locator('#trust').textContent()).trim();
    await page.locator('#file-input').setInputFiles(cfg.image);
    const hit = page.locator(`a[href*="id=${cfg.id}"]`);
    await page.locator(`a[href*="id=${cfg.id}"], #main .error`).first().waitFor();
    out.search = (await page.locator('#main').textContent()).trim();
    if (await hit.count()) {
        await hit.click();
    } else {
        // A node built without the search index answers 501: the page said so; go on by id.
        await page.goto(`${cfg.node}/explorer/${frag}&view=release&id=${cfg.id}`);
    }
    out.release = await verdict(page);
    out.title = (await page.locator('h2').first().textContent()).trim();
    mkdirSync(cfg.screenshots, { recursive: true });
    await page.screenshot({ path: `${cfg.screenshots}/release.png`, fullPage: true });
    // 2. The same release through a proxy that flips one byte of the bundle's inclusion proof.
    const rel = `view=release&id=${cfg.id}&hw=${encodeURIComponent(cfg.hw)}`;
    const bad = await open(browser, `${cfg.proxy}/explorer/${frag}&${rel}`);
    out.tampered = await verdict(bad);
    await bad.screenshot({ path: `${cfg.screenshots}/release-tampered.png`, fullPage: true });
    // The release's JSON through a proxy that changes its version: the proofs cover another record.
    const liar = await open(browser, `${cfg.proxyJson}/explorer/${frag}&${rel}`);
    out.lyingJson = await verdict(liar);
    // A search answer that names another release (only where the node has a search index).
    if (cfg.digest) {
        const seek = await open(browser, `${cfg.proxySearch}/explorer/${frag}&view=search&digest=${cfg.digest}`);
        await seek.locator('#main td a').first().click();
        out.lyingSearch = await verdict(seek);
    }
    // 3. No trust root pinned, then a trust root of another chain.
    const none = await open(browser, `${cfg.node}/explorer/#${rel}`);
    out.unpinned = await verdict(none);
    const other = cfg.chain.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    const wrong = await open(browser, `${cfg.node}/explorer/#chain=${other}&${rel}`);
    out.wrongChain = await verdict(wrong);
    // 4. Browsing: the head page, a block, the namespace, validators, evidence.
    const head = await open(browser, `${cfg.node}/explorer/${frag}`);
    await head.locator('text=Latest blocks').waitFor();
    out.head = (await head.locator('#main').textContent()).trim();
    for (const view of ['validators', 'evidence', 'block&h=1', `ns&ns=${encodeURIComponent(cfg.ns)}`]) {
        await head.goto(`${cfg.node}/explorer/${frag}&view=${view}`);
        await head.locator('#main h2, #main .error').first().waitFor();
        out[view.split('&')[0]] = (await head.locator('#main').textContent()).trim();
    }
});
process.stdout.write(`${JSON.stringify(out)}\n`);
