// Reads the worked examples of docs/protocol.md section 12 (`name = hex` lines in ```vectors
// blocks, continued on indented lines), which tests/unit/test_docs.c recomputes from the C code.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fromHex } from '../src/verify.js';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

export function protocolVectors() {
    const text = readFileSync(`${REPO}/docs/protocol.md`, 'utf8');
    const out = {};
    for (const block of text.matchAll(/```vectors\n([\s\S]*?)```/g)) {
        let name = null;
        for (const line of block[1].split('\n')) {
            const m = /^(\S+) =\s*([0-9a-f]*)$/.exec(line);
            if (m) {
                name = m[1];
                out[name] = m[2];
            } else if (name && /^\s+[0-9a-f]+$/.test(line)) {
                out[name] += line.trim();
            }
        }
    }
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, fromHex(v)]));
}
