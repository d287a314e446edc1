// node --test: the in-browser verifier against docs/protocol.md's worked example (and bundles
// tampered with section by section), and against bundles `upledger export` wrote from a dev
// chain when UL_EXPORT_DIR names one (tests/system/test_explorer.py sets it up).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { decodeFirst, encode } from 'cborg';
import { verifyBundle, encodeCanonical, inclusionRoot, fromHex, toHex, VerifyError } from '../src/verify.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { protocolVectors } from './vectors.js';

const V = protocolVectors();
const RAW = { useMaps: true, strict: true };

// The bundle's sections as their inner bytes.
function split(bundle) {
    const out = [];
    let rest = bundle;
    while (rest.length) {
        const [b, r] = decodeFirst(rest, RAW);
        out.push(b);
        rest = r;
    }
    return out;
}

function join(sections) {
    const parts = sections.map((s) => encode(s));
    return Uint8Array.from(parts.flatMap((p) => [...p]));
}

// Re-encodes section i after f(decoded) changed it.
function edit(bundle, i, f) {
    const s = split(bundle);
    const v = decodeFirst(s[i], RAW)[0];
    f(v);
    s[i] = encodeCanonical(v);
    return join(s);
}

function flip(b, at = 0) {
    const c = Uint8Array.from(b);
    c[at] ^= 1;
    return c;
}

function check(args) {
    return verifyBundle({ genesis: V.genesis, chainId: V.chain_id, ...args });
}

function refused(args, code, reason) {
    assert.throws(() => check(args), (e) => {
        assert.ok(e instanceof VerifyError, `not a VerifyError: ${e}`);
        assert.equal(e.code, code, e.message);
        if (reason) {
            assert.match(e.reason, reason);
        }
        return true;
    });
}

test('the worked example bundle verifies and a router-v2 device would install it', () => {
    const r = check({ bundle: V.bundle, hw: 'router-v2', ns: 'acme/router', releaseId: toHex(V['release.id']) });
    assert.equal(r.chainId, toHex(V.chain_id));
    assert.equal(r.header.height, 1);
    assert.deepEqual(r.header.hash, V.header_hash);
    assert.equal(r.header.checkpointTime, null);
    assert.deepEqual(r.header.quorum, { total: 1n, signed: 1n, signers: 1, voters: 1 });
    assert.deepEqual(r.release.id, V['release.id']);
    assert.deepEqual(r.release.signers, [V['publisher.pub']]);
    assert.equal(r.release.version, '1.2.0');
    assert.deepEqual(r.inclusion, { index: 0, size: 1 });
    assert.equal(r.installable.member, true);
    assert.equal(r.installable.hw, 'router-v2');
    assert.equal(r.revocation.member, false);
    assert.equal(r.steps.length, 0);
    assert.deepEqual(r.verdict, { code: null, reason: 'the newest installable release for router-v2, not revoked' });
});

test('the checkpoint form of the example verifies; a checkpoint time off the section refused', () => {
    const s = split(V.bundle);
    const strip = (x) => decodeFirst(x, RAW)[0];
    s[1] = strip(V['checkpoint.section']);
    s[2] = strip(V['checkpoint.voter']);
    const b = join(s);
    const r = check({ bundle: b });
    assert.equal(r.header.checkpointTime, 1767225660000);
    assert.equal(r.verdict.code, null);
    refused({ bundle: edit(b, 2, (v) => { v[3] += 1; }) }, 'UL_E_CHECKPOINT');
    // The checkpoint's signature is not a precommit's: as a header section it fails.
    refused({ bundle: edit(b, 1, (v) => { v[0] = 1; v[2] = 0; }) }, 'UL_E_SIG');
});

test('the trust root: pinned chain id and the genesis it hashes to', () => {
    refused({ bundle: V.bundle, chainId: flip(V.chain_id) }, 'UL_E_CHAIN_ID', /genesis hash does not equal the pinned chain id/);
    refused({ bundle: V.bundle, genesis: flip(V.genesis, 10) }, 'UL_E_CHAIN_ID');
    refused({ bundle: V.bundle, chainId: '' }, 'UL_E_ARG', /no chain id pinned/);
    refused({ bundle: edit(V.bundle, 0, (v) => { v[2] = flip(v[2]); }) }, 'UL_E_CHAIN_ID', /another chain/);
    refused({ bundle: edit(V.bundle, 0, (v) => { v[1] = 3; }) }, 'UL_E_VERSION');
});

test('the quorum and the validator walk', () => {
    // The one voter's signature flipped; removed (no quorum); another power (another set).
    refused({ bundle: edit(V.bundle, 2, (v) => { v[4] = flip(v[4], 5); }) }, 'UL_E_SIG', /precommit signature .* does not verify/);
    refused({ bundle: edit(V.bundle, 2, (v) => { v.length = 3; }) }, 'UL_E_QUORUM', /signers hold no more than 2\/3 of the power/);
    refused({ bundle: edit(V.bundle, 2, (v) => { v[2] = 2; }) }, 'UL_E_VALIDATOR', /not the set the header names/);
    // Any header field changed: the header hash the precommit signs changes.
    refused({ bundle: edit(V.bundle, 1, (v) => { v[1].set(4, v[1].get(4) + 1); }) }, 'UL_E_SIG');
    refused({ bundle: edit(V.bundle, 1, (v) => { v[1].set(10, flip(v[1].get(10))); }) }, 'UL_E_VALSET_GAP');
    // A change step claimed that is not there: the release leaf comes where a header belongs.
    refused({ bundle: edit(V.bundle, 0, (v) => { v[3] = 1; }) }, 'UL_E_SCHEMA_FIELD', /out of order/);
});

test('the record, its signatures and its inclusion in the release log', () => {
    refused({ bundle: edit(V.bundle, 4, (v) => { v[2] = flip(v[2], 9); }) }, 'UL_E_SIG', /author signature/);
    refused({ bundle: edit(V.bundle, 3, (v) => { v[2].set(4, '1.2.1'); }) }, 'UL_E_SIG');
    refused({ bundle: edit(V.bundle, 3, (v) => { v[1] = 1; }) }, 'UL_E_TX_KIND');
    refused({ bundle: V.bundle, releaseId: flip(V['release.id']) }, 'UL_E_SCHEMA_FIELD', /another release/);
    refused({ bundle: edit(V.bundle, 5, (v) => { v[3] = [V.header_hash]; }) }, 'UL_E_MERKLE_PROOF', /inclusion proof does not verify/);
    refused({ bundle: edit(V.bundle, 5, (v) => { v[2] = 2; }) }, 'UL_E_MERKLE_RANGE');
    refused({ bundle: edit(V.bundle, 5, (v) => { v[1] = 1; }) }, 'UL_E_MERKLE_RANGE');
});

test('both state proofs', () => {
    // Sections: 6 installable, 7 its sibling, 8 revocation, 9 its sibling.
    refused({ bundle: edit(V.bundle, 7, (v) => { v[1][0] = flip(v[1][0], 31); }) }, 'UL_E_MERKLE_PROOF', /installable proof does not verify/);
    refused({ bundle: edit(V.bundle, 9, (v) => { v[1][0] = flip(v[1][0], 31); }) }, 'UL_E_MERKLE_PROOF', /revocation proof does not verify/);
    refused({ bundle: edit(V.bundle, 6, (v) => { v[4] = flip(v[4], 39); }) }, 'UL_E_MERKLE_PROOF');
    // A proof for another class is a proof of another key.
    refused({ bundle: edit(V.bundle, 6, (v) => { v[5] = 'router-v3'; }) }, 'UL_E_MERKLE_PROOF');
    // Claiming the revocation key absent by an empty subtree where a leaf sits.
    refused({ bundle: edit(V.bundle, 8, (v) => { v[4] = null; }) }, 'UL_E_MERKLE_PROOF');
    refused({ bundle: edit(V.bundle, 8, (v) => { v[3] = Uint8Array.of(0xc0); }) }, 'UL_E_SCHEMA_FIELD');
    refused({ bundle: edit(V.bundle, 6, (v) => { v[1] = 2; }) }, 'UL_E_SCHEMA_FIELD', /out of order/);
});

test('framing: truncation, trailing bytes, non-canonical and oversized input', () => {
    const s = split(V.bundle);
    refused({ bundle: join(s.slice(0, 9)) }, 'UL_E_TRUNCATED');
    refused({ bundle: V.bundle.subarray(0, V.bundle.length - 3) }, 'UL_E_TRUNCATED');
    refused({ bundle: Uint8Array.from([...V.bundle, 0x40]) }, 'UL_E_CBOR_TRAILING');
    // The begin section with n-steps as a two-byte integer: not the shortest form.
    const begin = Uint8Array.from(s[0]);
    assert.equal(begin[begin.length - 1], 0x00);
    const longer = Uint8Array.from([...begin.subarray(0, begin.length - 1), 0x18, 0x00]);
    refused({ bundle: join([longer, ...s.slice(1)]) }, 'UL_E_CBOR_NONCANONICAL');
    refused({ bundle: new Uint8Array(700000) }, 'UL_E_LIMIT');
    refused({ bundle: Uint8Array.of(0x1c) }, 'UL_E_CBOR_MALFORMED');
});

test('device verdicts: another class, another namespace', () => {
    assert.equal(check({ bundle: V.bundle, hw: 'router-v3' }).verdict.code, 'UL_E_HW_MISMATCH');
    assert.equal(check({ bundle: V.bundle, ns: 'acme/switch' }).verdict.code, 'UL_E_NAMESPACE');
});

// RFC 9162 section 2.1.1's tree hash and 2.1.3.1's audit path, written the way the RFC defines
// them (recursively), to check the verifier's iterative fold at every index of trees of 1..9.
function mth(leaves) {
    if (leaves.length === 1) {
        return leaves[0];
    }
    const k = 2 ** Math.floor(Math.log2(leaves.length - 1));
    return sha256(Uint8Array.from([1, ...mth(leaves.slice(0, k)), ...mth(leaves.slice(k))]));
}

function auditPath(m, leaves) {
    if (leaves.length === 1) {
        return [];
    }
    const k = 2 ** Math.floor(Math.log2(leaves.length - 1));
    return m < k ? [...auditPath(m, leaves.slice(0, k)), mth(leaves.slice(k))]
        : [...auditPath(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}

test('RFC 9162 inclusion paths at every index of trees of 1..9 leaves', () => {
    for (let n = 1; n <= 9; n++) {
        const leaves = Array.from({ length: n }, (_, i) => sha256(Uint8Array.of(0, i)));
        const root = mth(leaves);
        for (let m = 0; m < n; m++) {
            const path = auditPath(m, leaves);
            assert.deepEqual(inclusionRoot(leaves[m], m, n, path), root, `leaf ${m} of ${n}`);
            if (path.length) {
                assert.notDeepEqual(inclusionRoot(leaves[m], m, n, [flip(path[0]), ...path.slice(1)]), root);
                assert.throws(() => inclusionRoot(leaves[m], m, n, path.slice(1)), /path shorter/);
            }
            assert.throws(() => inclusionRoot(leaves[m], m, n, [...path, root]), /path longer/);
        }
        assert.throws(() => inclusionRoot(leaves[0], n, n, []), /not below the tree size/);
    }
});

// ---- bundles exported from a dev chain ----------------------------------------------------------

const dir = process.env.UL_EXPORT_DIR;
const haveExport = dir && existsSync(`${dir}/cases.json`);

test('bundles exported by upledger from a dev chain', { skip: haveExport ? false : 'UL_EXPORT_DIR not set' }, () => {
    const cases = JSON.parse(readFileSync(`${dir}/cases.json`, 'utf8'));
    const genesis = new Uint8Array(readFileSync(`${dir}/genesis.cbor`));
    assert.ok(cases.cases.length >= 3);
    for (const c of cases.cases) {
        const bundle = new Uint8Array(readFileSync(`${dir}/${c.file}`));
        const r = verifyBundle({ bundle, genesis, chainId: cases.chain_id, hw: c.hw, releaseId: c.id });
        assert.equal(r.verdict.code, c.verdict, `${c.file}: ${r.verdict.reason}`);
        assert.equal(r.steps.length, c.steps, c.file);
        assert.equal(r.header.height, c.height, c.file);
        assert.equal(r.header.checkpointTime !== null, c.checkpoint, c.file);
        // One byte of the inclusion proof flipped (or, with no path, its index): refused.
        const s = split(bundle);
        const i = s.findIndex((x) => x[1] === 5);
        const t = edit(bundle, i, (v) => { if (v[3].length) { v[3][0] = flip(v[3][0]); } else { v[1] += 1; } });
        assert.throws(() => verifyBundle({ bundle: t, genesis, chainId: cases.chain_id }), VerifyError);
    }
    // The genesis of another chain is refused whatever the bundle.
    const other = fromHex(cases.chain_id);
    other[0] ^= 1;
    assert.throws(() => verifyBundle({ bundle: new Uint8Array(readFileSync(`${dir}/${cases.cases[0].file}`)), genesis, chainId: other }), /pinned chain id/);
});
