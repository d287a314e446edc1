// Bounded requests to a node's HTTP API (docs/openapi.yaml): every answer is read up to a byte
// limit and a time limit, and a bad answer becomes one line naming the problem.
import { sha256 } from '@noble/hashes/sha2.js';
import { LIMITS, concat, toHex } from './verify.js';

export const MAX_JSON_BYTES = 1 << 20; // a page of 1024 releases is well under 1 MiB
export const TIMEOUT_MS = 15000;
export const HASH_CHUNK_BYTES = 1 << 20; // a dropped file is hashed a MiB at a time

export class ApiError extends Error {}

let base = '';

/** Sets the node's base URL ("" for the page's own origin). */
export function setBase(url) {
    base = url.replace(/\/+$/, '');
}

async function readCapped(res, max, what) {
    const len = Number(res.headers.get('content-length'));
    if (len > max) {
        throw new ApiError(`${what}: the server sent ${len} bytes, more than the ${max} allowed`);
    }
    const reader = res.body.getReader();
    const chunks = [];
    let n = 0;
    for (;;) {
        const { done, value } = await reader.read();
        if (done) {
            break;
        }
        n += value.length;
        if (n > max) {
            await reader.cancel();
            throw new ApiError(`${what}: the answer is longer than the ${max} bytes allowed`);
        }
        chunks.push(value);
    }
    return concat(...chunks);
}

async function request(path, accept, max, what) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
    try {
        let res;
        try {
            res = await fetch(base + path, { headers: { Accept: accept }, signal: ctl.signal, credentials: 'omit' });
        } catch (e) {
            throw new ApiError(`${what}: no answer from the node (${ctl.signal.aborted ? 'timed out' : e.message})`);
        }
        const body = await readCapped(res, max, what);
        if (!res.ok) {
            let msg = `HTTP ${res.status}`;
            try {
                const j = JSON.parse(new TextDecoder().decode(body));
                msg = `${j.error} (${j.name}, HTTP ${res.status})`;
            } catch {
                // not the API's JSON error: the status says enough
            }
            throw new ApiError(`${what}: ${msg}`);
        }
        return body;
    } finally {
        clearTimeout(timer);
    }
}

export async function getJSON(path, what = path) {
    const body = await request(path, 'application/json', MAX_JSON_BYTES, what);
    try {
        const v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
        if (v === null || typeof v !== 'object') {
            throw new Error('not an object');
        }
        return v;
    } catch (e) {
        throw new ApiError(`${what}: the server's answer is not a JSON object (${e.message})`);
    }
}

export function getGenesis() {
    return request('/v1/genesis.cbor', 'application/cbor', LIMITS.genesisBytes, 'genesis');
}

export function getBundle(ns, hw, id, height) {
    const [vendor, product] = ns.split('/').map(encodeURIComponent);
    const path = `/v1/bundles/${vendor}/${product}/hw/${encodeURIComponent(hw)}/releases/${id}/${height}.cbor`;
    return request(path, 'application/cbor', LIMITS.bundleBytes, 'proof bundle');
}

/** SHA-256 of a File or Blob, read as a stream (progress(bytesDone) after each chunk). */
export async function hashFile(file, progress = () => {}) {
    const h = sha256.create();
    const reader = file.stream().getReader();
    let done = 0;
    for (;;) {
        const r = await reader.read();
        if (r.done) {
            break;
        }
        // A stream chunk may be large: feed it in bounded slices.
        for (let o = 0; o < r.value.length; o += HASH_CHUNK_BYTES) {
            h.update(r.value.subarray(o, o + HASH_CHUNK_BYTES));
        }
        done += r.value.length;
        progress(done);
    }
    return toHex(h.digest());
}
