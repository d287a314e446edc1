// node --test: the page's requests are bounded and their failures are one clear line; a file's
// digest, read as a stream, is its SHA-256.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ApiError, MAX_JSON_BYTES, getBundle, getJSON, hashFile, setBase } from '../src/api.js';
import { LIMITS } from '../src/verify.js';

// Answers every fetch with `res` (a function of the URL) and records the URLs asked.
function serve(res) {
    const asked = [];
    globalThis.fetch = async (url) => {
        asked.push(url);
        return res(url);
    };
    return asked;
}

test('a dropped file hashes to its SHA-256, across stream chunks and the 1 MiB slices', async () => {
    const data = new Uint8Array(3 * (1 << 20) + 12345).map((_, i) => (i * 31) & 0xff);
    const seen = [];
    const d = await hashFile(new Blob([data]), (n) => seen.push(n));
    assert.equal(d, createHash('sha256').update(data).digest('hex'));
    assert.equal(seen.at(-1), data.length);
    assert.equal(await hashFile(new Blob([])), createHash('sha256').digest('hex'));
});

test('JSON answers: errors name the problem and the code, oversized and non-JSON refused', async () => {
    setBase('http://node.example/');
    const asked = serve(() => new Response(JSON.stringify({ error: 'no such release', code: 19, name: 'UL_E_NOT_FOUND' }), { status: 404 }));
    await assert.rejects(getJSON('/v1/releases/00', 'release'), (e) => e instanceof ApiError && e.message === 'release: no such release (UL_E_NOT_FOUND, HTTP 404)');
    assert.equal(asked[0], 'http://node.example/v1/releases/00');
    serve(() => new Response('<html>gateway</html>', { status: 502 }));
    await assert.rejects(getJSON('/v1/status', 'status'), /status: HTTP 502/);
    serve(() => new Response('not json', { status: 200 }));
    await assert.rejects(getJSON('/v1/status', 'status'), /not a JSON object/);
    serve(() => new Response('null', { status: 200 }));
    await assert.rejects(getJSON('/v1/status', 'status'), /not a JSON object/);
    // Too long, whether the length is announced or not.
    serve(() => new Response(new Uint8Array(MAX_JSON_BYTES + 1), { status: 200 }));
    await assert.rejects(getJSON('/v1/status', 'status'), /more than the 1048576 allowed|longer than the 1048576 bytes/);
    serve(() => new Response(new ReadableStream({
        start(c) {
            for (let i = 0; i < 5; i++) {
                c.enqueue(new Uint8Array(MAX_JSON_BYTES / 4));
            }
            c.close();
        },
    }), { status: 200 }));
    await assert.rejects(getJSON('/v1/status', 'status'), /longer than the 1048576 bytes allowed/);
    serve(() => {
        throw new TypeError('connection refused');
    });
    await assert.rejects(getJSON('/v1/status', 'status'), /no answer from the node \(connection refused\)/);
    setBase('');
});

test('bundle URLs follow the API layout and answers are capped at the bundle bound', async () => {
    const asked = serve(() => new Response(new Uint8Array(10), { status: 200 }));
    const b = await getBundle('acme/router', 'router v2', 'ab'.repeat(32), 7);
    assert.equal(b.length, 10);
    assert.equal(asked[0], `/v1/bundles/acme/router/hw/router%20v2/releases/${'ab'.repeat(32)}/7.cbor`);
    serve(() => new Response(new Uint8Array(LIMITS.bundleBytes + 1), { status: 200 }));
    await assert.rejects(getBundle('acme/router', 'x', 'ab'.repeat(32), 7), /proof bundle: /);
});
