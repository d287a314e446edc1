// Verifies an upledger proof bundle (docs/protocol.md sections 4, 7, 8, 9 and 10) the way a
// device does (client/update.c), so a page can check a release without trusting the server that
// served the bundle. Every failure names the UL_E_* code the C library reports for it.
import { decodeFirst, encode, rfc8949EncodeOptions } from 'cborg';
import { schnorr } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';

// Bounds from schema/ul_limits.h (docs/protocol.md section 11).
export const LIMITS = Object.freeze({
    sectionBytes: 4160, // UL_MAX_SECTION_BYTES
    // UL_MAX_BUNDLE_BYTES: (64 + 1) * (512 + 32 + 64 * 128) + 4160 + 8 * 112 + 64 * 34 + 64 +
    // 2 * (320 + 256 + 5 * (64 * 34 + 8))
    bundleBytes: 65 * (512 + 32 + 64 * 128) + 4160 + 8 * 112 + 64 * 34 + 64 + 2 * (320 + 256 + 5 * (64 * 34 + 8)),
    genesisBytes: 16 + 128 + 16 + 16 + 64 * 48, // header fields + UL_MAX_VALSET_BYTES
    headerBytes: 512, // UL_MAX_HEADER_BYTES
    valsetSteps: 64, // UL_MAX_VALSET_STEPS
    validators: 64, // UL_MAX_VALIDATORS
    totalPower: 1n << 60n, // UL_MAX_TOTAL_POWER
    proofDepth: 64, // UL_MAX_PROOF_DEPTH
    siblingsPerSection: 64, // UL_MAX_SIBLINGS_PER_SECTION
    stateValueBytes: 320, // UL_MAX_STATE_VALUE_BYTES
    smtDepth: 256, // UL_SMT_DEPTH
    sigs: 8, // UL_MAX_SIGS
    cborDepth: 8, // UL_MAX_CBOR_DEPTH
    labelBytes: 128, // UL_MAX_LABEL_LEN
});

const BUNDLE_VERSION = 2;
const TX_PUBLISH = 2;
const enc = new TextEncoder();

/** A verification failure: code is the UL_E_* name, reason one line saying what failed. */
export class VerifyError extends Error {
    constructor(code, reason) {
        super(`${reason} (${code})`);
        this.name = 'VerifyError';
        this.code = code;
        this.reason = reason;
    }
}

function fail(code, reason) {
    throw new VerifyError(code, reason);
}

// ---- bytes ------------------------------------------------------------------------------------

export function toHex(b) {
    let s = '';
    for (const x of b) {
        s += x.toString(16).padStart(2, '0');
    }
    return s;
}

export function fromHex(s) {
    if (typeof s !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(s)) {
        throw new Error('not a hex string');
    }
    const out = new Uint8Array(s.length / 2);
    for (let i = 0; i < out.length; i++) {
        out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
    }
    return out;
}

export function concat(...parts) {
    let n = 0;
    for (const p of parts) {
        n += p.length;
    }
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
        out.set(p, o);
        o += p.length;
    }
    return out;
}

function eq(a, b) {
    if (a.length !== b.length) {
        return false;
    }
    let d = 0;
    for (let i = 0; i < a.length; i++) {
        d |= a[i] ^ b[i];
    }
    return d === 0;
}

// Bytewise order, a proper prefix first.
function cmp(a, b) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
        if (a[i] !== b[i]) {
            return a[i] - b[i];
        }
    }
    return a.length - b.length;
}

const ZERO32 = new Uint8Array(32);
const H = (...parts) => sha256(concat(...parts));

function be64(n) {
    const out = new Uint8Array(8);
    let v = BigInt(n);
    for (let i = 7; i >= 0; i--) {
        out[i] = Number(v & 0xffn);
        v >>= 8n;
    }
    return out;
}

// ---- canonical CBOR ----------------------------------------------------------------------------

const DECODE = Object.freeze({
    strict: true,
    allowIndefinite: false,
    allowUndefined: false,
    allowInfinity: false,
    allowNaN: false,
    allowBigInt: true,
    useMaps: true,
    rejectDuplicateMapKeys: true,
});

export function encodeCanonical(v) {
    return encode(v, rfc8949EncodeOptions);
}

function depthOf(v) {
    if (Array.isArray(v)) {
        return 1 + v.reduce((m, x) => Math.max(m, depthOf(x)), 0);
    }
    if (v instanceof Map) {
        let m = 0;
        for (const [k, x] of v) {
            m = Math.max(m, depthOf(k), depthOf(x));
        }
        return 1 + m;
    }
    return 1;
}

function cborError(e) {
    const m = String(e && e.message);
    if (/strict|indefinite|more bytes than necessary/.test(m)) {
        return new VerifyError('UL_E_CBOR_NONCANONICAL', `CBOR is not canonical: ${m}`);
    }
    if (/not enough data|unexpected end/i.test(m)) {
        return new VerifyError('UL_E_TRUNCATED', 'the bundle ends inside a section');
    }
    return new VerifyError('UL_E_CBOR_MALFORMED', `malformed CBOR: ${m}`);
}

/**
 * Decodes the first item of bytes, which must be in canonical form (re-encoded, the very same
 * bytes), with at most UL_MAX_CBOR_DEPTH levels. Returns [value, rest].
 */
export function decodeCanonical(bytes, what) {
    let value, rest;
    try {
        [value, rest] = decodeFirst(bytes, DECODE);
    } catch (e) {
        throw cborError(e);
    }
    const used = bytes.subarray(0, bytes.length - rest.length);
    let again;
    try {
        again = encodeCanonical(value);
    } catch (e) {
        fail('UL_E_CBOR_TYPE', `${what}: an item of a type upledger never uses`);
    }
    if (!eq(again, used)) {
        fail('UL_E_CBOR_NONCANONICAL', `${what} is not canonical CBOR (key order, integer or float form)`);
    }
    if (depthOf(value) > LIMITS.cborDepth) {
        fail('UL_E_LIMIT', `${what} nests deeper than ${LIMITS.cborDepth} levels`);
    }
    return [value, rest];
}

function decodeOne(bytes, what) {
    const [v, rest] = decodeCanonical(bytes, what);
    if (rest.length !== 0) {
        fail('UL_E_CBOR_TRAILING', `${what}: bytes after its CBOR item`);
    }
    return v;
}

// ---- schema checks ------------------------------------------------------------------------------

function isUint(v) {
    return (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) || (typeof v === 'bigint' && v >= 0n);
}

function uint(v, what, max) {
    if (!isUint(v)) {
        fail('UL_E_CBOR_TYPE', `${what} is not an unsigned integer`);
    }
    if (max !== undefined && BigInt(v) > BigInt(max)) {
        fail('UL_E_SCHEMA_FIELD', `${what} ${v} is above ${max}`);
    }
    return v;
}

// A count or index that must fit a JavaScript number (heights, rounds, sizes).
function num(v, what) {
    uint(v, what);
    if (typeof v === 'bigint') {
        fail('UL_E_LIMIT', `${what} ${v} is too large`);
    }
    return v;
}

function bytes(v, what, len) {
    if (!(v instanceof Uint8Array)) {
        fail('UL_E_CBOR_TYPE', `${what} is not a byte string`);
    }
    if (len !== undefined && v.length !== len) {
        fail('UL_E_SCHEMA_FIELD', `${what} is ${v.length} bytes, not ${len}`);
    }
    return v;
}

function label(v, what) {
    if (typeof v !== 'string' || !/^[ -~]{1,128}$/.test(v)) {
        fail('UL_E_SCHEMA_FIELD', `${what} is not a label (1..128 printable ASCII bytes)`);
    }
    return v;
}

function array(v, what, min, max) {
    if (!Array.isArray(v)) {
        fail('UL_E_CBOR_TYPE', `${what} is not an array`);
    }
    if (v.length < min || v.length > max) {
        fail(v.length > max ? 'UL_E_LIMIT' : 'UL_E_SCHEMA_FIELD', `${what} has ${v.length} items, not ${min}..${max}`);
    }
    return v;
}

// A map with exactly the integer keys `req` plus any of `opt`.
function record(v, what, req, opt = []) {
    if (!(v instanceof Map)) {
        fail('UL_E_CBOR_TYPE', `${what} is not a map`);
    }
    for (const k of req) {
        if (!v.has(k)) {
            fail('UL_E_SCHEMA_FIELD', `${what} lacks key ${k}`);
        }
    }
    for (const k of v.keys()) {
        if (!req.includes(k) && !opt.includes(k)) {
            fail('UL_E_SCHEMA_FIELD', `${what} has an unknown key ${String(k)}`);
        }
    }
    return v;
}

const HEADER_KEYS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

/** Decodes a header record (docs/protocol.md section 7) into named fields. */
export function headerFields(h) {
    record(h, 'header', HEADER_KEYS);
    if (h.get(1) !== 1) {
        fail('UL_E_VERSION', `header version ${String(h.get(1))} is not 1`);
    }
    const height = num(h.get(3), 'header height');
    if (height < 1) {
        fail('UL_E_SCHEMA_FIELD', 'header height is 0');
    }
    return {
        chainId: bytes(h.get(2), 'header chain id', 32),
        height,
        timeMs: num(h.get(4), 'header time'),
        prev: bytes(h.get(5), 'previous header hash', 32),
        txRoot: bytes(h.get(6), 'tx root', 32),
        logRoot: bytes(h.get(7), 'release-log root', 32),
        logSize: num(h.get(8), 'release-log size'),
        stateRoot: bytes(h.get(9), 'state root', 32),
        validatorsHash: bytes(h.get(10), 'validators hash', 32),
        nextValidatorsHash: bytes(h.get(11), 'next validators hash', 32),
        proposer: bytes(h.get(12), 'proposer', 32),
    };
}

/** Decodes a release record (docs/protocol.md section 5.1) enough to judge and show it. */
export function releaseFields(r) {
    record(r, 'release', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [13, 14]);
    const ns = r.get(1);
    if (typeof ns !== 'string' || ns.length > 128 || !/^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*$/.test(ns)) {
        fail('UL_E_NS_NAME', 'the release names an invalid namespace');
    }
    const hw = array(r.get(10), 'hardware classes', 1, 16).map((x) => label(x, 'hardware class'));
    return {
        ns,
        provider: label(r.get(2), 'provider'),
        time: uint(r.get(3), 'release time'),
        version: label(r.get(4), 'version'),
        seq: BigInt(uint(r.get(5), 'sequence')),
        digest: bytes(r.get(6), 'image digest', 32),
        size: uint(r.get(7), 'image size'),
        file: label(r.get(8), 'file name'),
        links: array(r.get(9), 'links', 0, 8),
        hw,
        deps: array(r.get(11), 'dependencies', 0, 16),
        kind: uint(r.get(12), 'update kind', 3),
        encrypted: r.has(14),
    };
}

// A genesis (section 7) and its validator set's hash.
function genesisFields(g) {
    record(g, 'genesis', [1, 2, 3, 4]);
    if (g.get(1) !== 1) {
        fail('UL_E_VERSION', `genesis version ${String(g.get(1))} is not 1`);
    }
    const set = array(g.get(4), 'genesis validator set', 1, LIMITS.validators);
    return {
        name: label(g.get(2), 'chain name'),
        timeMs: num(g.get(3), 'genesis time'),
        validators: set.map((v) => ({ key: bytes(v[0], 'validator key', 32), power: BigInt(uint(v[1], 'power')) })),
        validatorsHash: H(encodeCanonical(set)),
    };
}

// ---- signatures ---------------------------------------------------------------------------------

export const TAGS = Object.freeze({
    release: 'upledger/v1/release',
    tx: 'upledger/v1/tx',
    vote: 'upledger/v1/vote',
    checkpoint: 'upledger/v1/checkpoint',
});

/** signed_msg(tag, chain_id, bytes) = H(H(tag) || H(tag) || chain_id || bytes), section 3.2. */
export function signedMsg(tag, chainId, recordBytes) {
    const t = sha256(enc.encode(tag));
    return H(t, t, chainId, recordBytes);
}

// BIP-340 verification; a key that is not a curve point verifies nothing.
function schnorrOk(sig, msg, key) {
    try {
        return schnorr.verify(sig, msg, key);
    } catch {
        return false;
    }
}

// ---- Merkle proofs ------------------------------------------------------------------------------

/** RFC 9162 section 2.1.3.2: the audit path from leaf hash `leaf` at `index` of `size` to root. */
export function inclusionRoot(leaf, index, size, path) {
    if (index >= size) {
        fail('UL_E_MERKLE_RANGE', `inclusion proof index ${index} is not below the tree size ${size}`);
    }
    let fn = index;
    let sn = size - 1;
    let r = leaf;
    for (const p of path) {
        if (sn === 0) {
            fail('UL_E_MERKLE_PROOF', 'inclusion proof does not verify (path longer than the tree)');
        }
        if (fn % 2 === 1 || fn === sn) {
            r = H(Uint8Array.of(1), p, r);
            while (fn % 2 === 0 && fn !== 0) {
                fn = Math.floor(fn / 2);
                sn = Math.floor(sn / 2);
            }
        } else {
            r = H(Uint8Array.of(1), r, p);
        }
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
    }
    if (sn !== 0) {
        fail('UL_E_MERKLE_PROOF', 'inclusion proof does not verify (path shorter than the tree)');
    }
    return r;
}

function bit(b, i) {
    return (b[i >> 3] >> (7 - (i & 7))) & 1;
}

// The siblings a state proof's bitmap calls for; refuses a bitmap of the wrong length or with a
// bit at or past the depth.
function bitmapBits(bitmap, depth) {
    if (bitmap.length !== Math.ceil(depth / 8)) {
        fail('UL_E_SCHEMA_FIELD', 'state proof bitmap has the wrong length');
    }
    let set = 0;
    for (let i = 0; i < bitmap.length * 8; i++) {
        if (bit(bitmap, i)) {
            if (i >= depth) {
                fail('UL_E_SCHEMA_FIELD', 'state proof bitmap has a bit at or past its depth');
            }
            set++;
        }
    }
    return set;
}

/**
 * Folds a state proof (section 4.3) for smtKey to a root. term: null (empty subtree),
 * {key, valueHash} (a leaf). siblings: bottom up. Returns the root.
 */
export function stateRoot(smtKey, depth, bitmap, term, siblings) {
    if (depth > LIMITS.smtDepth) {
        fail('UL_E_LIMIT', `state proof depth ${depth} is above 256`);
    }
    const set = bitmapBits(bitmap, depth);
    if (set !== siblings.length) {
        fail('UL_E_SCHEMA_FIELD', `state proof has ${siblings.length} siblings, its bitmap calls for ${set}`);
    }
    let h = ZERO32;
    if (term !== null) {
        for (let i = 0; i < depth; i++) {
            if (bit(term.key, i) !== bit(smtKey, i)) {
                fail('UL_E_SCHEMA_FIELD', "state proof ends in a leaf off the key's path");
            }
        }
        h = H(Uint8Array.of(2), term.key, term.valueHash);
    }
    let s = 0;
    for (let i = depth - 1; i >= 0; i--) {
        const sib = bit(bitmap, i) ? siblings[s++] : ZERO32;
        if (sib === ZERO32 && (eq(h, ZERO32) || (term !== null && i === depth - 1))) {
            fail('UL_E_MERKLE_PROOF', 'state proof does not verify (a node no tree can hold)');
        }
        h = bit(smtKey, i) ? H(Uint8Array.of(3), sib, h) : H(Uint8Array.of(3), h, sib);
    }
    return h;
}

// ---- the bundle -----------------------------------------------------------------------------------

// Reads the bundle's sections (RFC 8742 sequence of byte strings) one at a time.
class Sections {
    constructor(buf) {
        this.rest = buf;
        this.index = 0;
    }

    next(what) {
        if (this.rest.length === 0) {
            fail('UL_E_TRUNCATED', `the bundle ends before its ${what}`);
        }
        const [wrap, rest] = decodeCanonical(this.rest, `section ${this.index}`);
        bytes(wrap, `section ${this.index}`);
        if (wrap.length > LIMITS.sectionBytes) {
            fail('UL_E_LIMIT', `section ${this.index} is ${wrap.length} bytes, above ${LIMITS.sectionBytes}`);
        }
        const sec = decodeOne(wrap, `section ${this.index} (${what})`);
        if (!Array.isArray(sec) || sec.length === 0 || !isUint(sec[0])) {
            fail('UL_E_CBOR_TYPE', `section ${this.index} is not a section array`);
        }
        this.rest = rest;
        this.index++;
        return sec;
    }
}

function expectType(sec, types, what) {
    if (!types.includes(sec[0])) {
        fail('UL_E_SCHEMA_FIELD', `a section out of order: type ${sec[0]} where the ${what} belongs`);
    }
}

function shape(sec, lens, what) {
    if (!lens.includes(sec.length)) {
        fail('UL_E_SCHEMA_FIELD', `${what} section has ${sec.length} fields`);
    }
}

function readBegin(rd, chainId) {
    const sec = rd.next('begin section');
    expectType(sec, [0], 'begin section');
    shape(sec, [4], 'begin');
    if (sec[1] !== BUNDLE_VERSION) {
        fail('UL_E_VERSION', `bundle version ${String(sec[1])} is not ${BUNDLE_VERSION}`);
    }
    if (!eq(bytes(sec[2], 'bundle chain id', 32), chainId)) {
        fail('UL_E_CHAIN_ID', 'the bundle is for another chain than the pinned chain id');
    }
    return num(uint(sec[3], 'n-steps', LIMITS.valsetSteps), 'n-steps');
}

// The voters of one header: its whole set in order, the signers' signatures checked.
function readVoters(rd, n, ctx) {
    const { hd, hash, round, chainId, cpTime } = ctx;
    const set = [];
    let total = 0n;
    let signed = 0n;
    let signers = 0;
    let last = null;
    for (let i = 0; i < n; i++) {
        const v = rd.next('voter section');
        expectType(v, [2], 'voter section');
        shape(v, [3, 5], 'voter');
        const key = bytes(v[1], 'voter key', 32);
        const power = BigInt(uint(v[2], 'voter power', LIMITS.totalPower));
        if (power === 0n) {
            fail('UL_E_SCHEMA_FIELD', 'a voter with zero power');
        }
        if (last !== null && cmp(key, last) <= 0) {
            fail('UL_E_VALIDATOR', `voters out of set order at height ${hd.height}`);
        }
        if (power > LIMITS.totalPower - total) {
            fail('UL_E_VALIDATOR', `voters' total power is above 2^60 at height ${hd.height}`);
        }
        if (v.length === 5) {
            const time = num(v[3], 'voter time');
            const sig = bytes(v[4], 'voter signature', 64);
            let msg;
            if (cpTime !== null) {
                if (time !== cpTime) {
                    fail('UL_E_CHECKPOINT', "a checkpoint signer's time is not the checkpoint's");
                }
                msg = signedMsg(TAGS.checkpoint, chainId, encodeCanonical(new Map([[1, hd.height], [2, hash], [3, time]])));
            } else {
                const vote = new Map([[1, 2], [2, hd.height], [3, round], [4, hash], [5, time]]);
                msg = signedMsg(TAGS.vote, chainId, encodeCanonical(vote));
            }
            if (!schnorrOk(sig, msg, key)) {
                fail('UL_E_SIG', `the ${cpTime !== null ? 'checkpoint' : 'precommit'} signature of validator ${toHex(key).slice(0, 16)}… at height ${hd.height} does not verify`);
            }
            signed += power;
            signers++;
        }
        set.push([key, v[2]]);
        total += power;
        last = key;
    }
    if (!eq(H(encodeCanonical(set)), hd.validatorsHash)) {
        fail('UL_E_VALIDATOR', `the voters at height ${hd.height} are not the set the header names`);
    }
    if (!(3n * signed > 2n * total)) {
        fail('UL_E_QUORUM', `signers hold no more than 2/3 of the power at height ${hd.height} (${signed} of ${total})`);
    }
    return { total, signed, signers, voters: n };
}

// One header section (or the final checkpoint section) and its voters.
function readHeader(rd, st, last) {
    const sec = rd.next(last ? 'header the proofs are against' : 'validator-set change header');
    expectType(sec, last ? [1, 8] : [1], last ? 'header section' : 'change header section');
    shape(sec, [4], 'header');
    const hdBytes = encodeCanonical(sec[1]);
    if (hdBytes.length > LIMITS.headerBytes) {
        fail('UL_E_LIMIT', `a header of ${hdBytes.length} bytes`);
    }
    const hd = headerFields(sec[1]);
    if (!eq(hd.chainId, st.chainId)) {
        fail('UL_E_CHAIN_ID', `the header at height ${hd.height} is for another chain`);
    }
    if (hd.height <= st.lastHeight) {
        fail('UL_E_HEIGHT', `header heights do not ascend (${hd.height} after ${st.lastHeight})`);
    }
    st.lastHeight = hd.height;
    const hash = H(hdBytes);
    const isCp = sec[0] === 8;
    const round = isCp ? 0 : num(sec[2], 'round');
    const cpTime = isCp ? num(sec[2], 'checkpoint time') : null;
    const n = num(uint(sec[3], 'n-voters', LIMITS.validators), 'n-voters');
    if (n < 1) {
        fail('UL_E_SCHEMA_FIELD', 'a header section with no voters');
    }
    if (!eq(hd.validatorsHash, st.trusted)) {
        fail('UL_E_VALSET_GAP', `the header at height ${hd.height} is signed by a validator set the walk from the genesis set does not reach`);
    }
    const q = readVoters(rd, n, { hd, hash, round, chainId: st.chainId, cpTime });
    return { hd, hash, round, checkpointTime: cpTime, quorum: q };
}

// The publish tx, cut into its leaf and signature sections; returns the release and its leaf hash.
function readLeaf(rd, chainId) {
    const sec = rd.next('release leaf');
    expectType(sec, [3], 'leaf section');
    shape(sec, [4], 'leaf');
    if (sec[1] !== TX_PUBLISH) {
        fail('UL_E_TX_KIND', `the leaf is a transaction of kind ${String(sec[1])}, not a publish`);
    }
    const rel = releaseFields(sec[2]);
    const body = encodeCanonical(sec[2]);
    const id = H(body);
    const nSigs = num(uint(sec[3], 'n-sigs', LIMITS.sigs), 'n-sigs');
    if (nSigs < 1) {
        fail('UL_E_SCHEMA_FIELD', 'a release with no signatures');
    }
    const msg = signedMsg(TAGS.release, chainId, body);
    const sigs = [];
    for (let i = 0; i < nSigs; i++) {
        const s = rd.next('author signature');
        expectType(s, [4], 'signature section');
        shape(s, [3], 'signature');
        const key = bytes(s[1], 'signer key', 32);
        const sig = bytes(s[2], 'signature', 64);
        if (i > 0 && cmp(key, sigs[i - 1][0]) <= 0) {
            fail('UL_E_SCHEMA_FIELD', 'author signatures are not in ascending key order');
        }
        if (!schnorrOk(sig, msg, key)) {
            fail('UL_E_SIG', `the author signature by ${toHex(key).slice(0, 16)}… does not verify`);
        }
        sigs.push([key, sig]);
    }
    const tx = encodeCanonical(new Map([[1, TX_PUBLISH], [2, sec[2]], [3, sigs]]));
    return { rel, id, signers: sigs.map((s) => s[0]), leaf: H(Uint8Array.of(0), tx) };
}

function readInclusion(rd, hd, leaf) {
    const sec = rd.next('inclusion proof');
    expectType(sec, [5], 'inclusion section');
    shape(sec, [4], 'inclusion');
    const index = num(sec[1], 'leaf index');
    const size = num(sec[2], 'tree size');
    const path = array(sec[3], 'audit path', 0, LIMITS.proofDepth).map((p) => bytes(p, 'audit path hash', 32));
    if (size !== hd.logSize) {
        fail('UL_E_MERKLE_RANGE', `the inclusion proof is for a log of ${size} releases, the header's has ${hd.logSize}`);
    }
    if (!eq(inclusionRoot(leaf, index, size, path), hd.logRoot)) {
        fail('UL_E_MERKLE_PROOF', "inclusion proof does not verify: it does not lead to the header's release-log root");
    }
    return { index, size };
}

// A state section and its sibling sections; which 1 is the installable list, 2 the revocation.
function readState(rd, which, hd, keyOf) {
    const what = which === 1 ? 'installable proof' : 'revocation proof';
    const sec = rd.next(what);
    expectType(sec, [6], `${what} section`);
    shape(sec, [which === 1 ? 6 : 5], what);
    if (sec[1] !== which) {
        fail('UL_E_SCHEMA_FIELD', `a section out of order: state proof ${String(sec[1])} where the ${what} belongs`);
    }
    const depth = num(uint(sec[2], 'state proof depth', LIMITS.smtDepth), 'depth');
    const bitmap = bytes(sec[3], 'state proof bitmap');
    const hw = which === 1 ? label(sec[5], 'installable class') : null;
    const stateKey = keyOf(hw);
    const smtKey = sha256(stateKey);
    let term = null;
    let value = null;
    const t = sec[4];
    if (t instanceof Uint8Array) {
        if (t.length > LIMITS.stateValueBytes) {
            fail('UL_E_LIMIT', `a state value of ${t.length} bytes`);
        }
        value = t;
        term = { key: smtKey, valueHash: sha256(t) };
    } else if (Array.isArray(t)) {
        array(t, 'state terminal', 2, 2);
        term = { key: bytes(t[0], 'terminal key', 32), valueHash: bytes(t[1], 'terminal value hash', 32) };
        if (eq(term.key, smtKey)) {
            fail('UL_E_MERKLE_PROOF', `the ${what} ends in the key's own leaf without its value`);
        }
    } else if (t !== null) {
        fail('UL_E_CBOR_TYPE', `the ${what}'s terminal is neither a value, a leaf nor null`);
    }
    const want = bitmapBits(bitmap, depth);
    const sibs = [];
    while (sibs.length < want) {
        const s = rd.next(`${what} siblings`);
        expectType(s, [7], 'siblings section');
        shape(s, [2], 'siblings');
        const list = array(s[1], 'siblings', 1, LIMITS.siblingsPerSection);
        if (sibs.length + list.length > want) {
            fail('UL_E_SCHEMA_FIELD', `more siblings than the ${what}'s bitmap calls for`);
        }
        for (const x of list) {
            sibs.push(bytes(x, 'sibling', 32));
        }
    }
    if (!eq(stateRoot(smtKey, depth, bitmap, term, sibs), hd.stateRoot)) {
        fail('UL_E_MERKLE_PROOF', `${what} does not verify: it does not lead to the header's state root`);
    }
    return { member: value !== null, value, hw, depth, siblings: sibs.length };
}

function stateKeyInstallable(ns, hw) {
    return concat(enc.encode('Si'), enc.encode(ns), Uint8Array.of(0), enc.encode(hw));
}

function stateKeyRevocation(id) {
    return concat(enc.encode('Sv'), id);
}

// What a device of class `hw` updating `ns` would conclude (section 10 step 7), the proofs held.
function deviceVerdict(r, hw, ns) {
    if (ns && r.rel.ns !== ns) {
        return { code: 'UL_E_NAMESPACE', reason: `the release is for ${r.rel.ns}, not ${ns}` };
    }
    if (!r.rel.hw.includes(hw)) {
        return { code: 'UL_E_HW_MISMATCH', reason: `the release does not list the class ${hw}` };
    }
    if (r.revocation.member) {
        const v = r.revocation.value;
        const reason = v.length > 8 ? new TextDecoder().decode(v.subarray(8)) : '';
        return { code: 'UL_E_REVOKED', reason: `the release is revoked${reason ? `: ${reason}` : ''}` };
    }
    const inst = r.installable;
    const head = concat(be64(r.rel.seq), r.id);
    if (!inst.member || inst.hw !== hw || inst.value.length < 40 || !eq(inst.value.subarray(0, 40), head)) {
        return { code: 'UL_E_NOT_INSTALLABLE', reason: `the release is not the newest installable for ${hw}` };
    }
    // What the device has installed is its own: dependencies are named, not judged, here.
    const deps = r.rel.deps.map((d) => `${d[0]} ${d[1]}`).join(', ');
    return { code: null, reason: `the newest installable release for ${hw}, not revoked${deps ? `; it needs ${deps} installed` : ''}` };
}

/**
 * Verifies a proof bundle against a pinned chain id and the genesis it hashes to.
 *   bundle, genesis: Uint8Array; chainId: Uint8Array(32) or hex, the trust root;
 *   hw: the device's hardware class (default: the class the installable proof names);
 *   ns, releaseId (Uint8Array or hex): what the caller expects the bundle to prove.
 * Returns the facts checked and the device's verdict; throws VerifyError on the first failure.
 */
export function verifyBundle({ bundle, genesis, chainId, hw, ns, releaseId }) {
    const pinned = typeof chainId === 'string' ? fromHex(chainId) : chainId;
    if (!(pinned instanceof Uint8Array) || pinned.length !== 32) {
        fail('UL_E_ARG', 'no chain id pinned: the trust root must be a 32-byte hash');
    }
    if (genesis.length > LIMITS.genesisBytes) {
        fail('UL_E_LIMIT', `a genesis of ${genesis.length} bytes`);
    }
    if (!eq(sha256(genesis), pinned)) {
        fail('UL_E_CHAIN_ID', 'the genesis hash does not equal the pinned chain id');
    }
    const gen = genesisFields(decodeOne(genesis, 'genesis'));
    if (bundle.length > LIMITS.bundleBytes) {
        fail('UL_E_LIMIT', `a bundle of ${bundle.length} bytes, above ${LIMITS.bundleBytes}`);
    }
    const rd = new Sections(bundle);
    const st = { chainId: pinned, trusted: gen.validatorsHash, lastHeight: 0 };
    const nSteps = readBegin(rd, pinned);
    const steps = [];
    for (let i = 0; i < nSteps; i++) {
        const s = readHeader(rd, st, false);
        steps.push({ height: s.hd.height, quorum: s.quorum });
        st.trusted = s.hd.nextValidatorsHash;
    }
    const head = readHeader(rd, st, true);
    const leaf = readLeaf(rd, pinned);
    if (releaseId !== undefined) {
        const want = typeof releaseId === 'string' ? fromHex(releaseId) : releaseId;
        if (!eq(want, leaf.id)) {
            fail('UL_E_SCHEMA_FIELD', 'the bundle proves another release than the one asked for');
        }
    }
    const inclusion = readInclusion(rd, head.hd, leaf.leaf);
    const installable = readState(rd, 1, head.hd, (c) => stateKeyInstallable(leaf.rel.ns, c));
    const revocation = readState(rd, 2, head.hd, () => stateKeyRevocation(leaf.id));
    if (rd.rest.length !== 0) {
        fail('UL_E_CBOR_TRAILING', 'bytes after the last section of the bundle');
    }
    const r = { ...leaf, installable, revocation };
    return {
        chainId: toHex(pinned),
        genesis: { name: gen.name, validators: gen.validators.length },
        steps,
        header: { ...head.hd, hash: head.hash, round: head.round, checkpointTime: head.checkpointTime, quorum: head.quorum },
        release: { ...leaf.rel, id: leaf.id, signers: leaf.signers },
        inclusion,
        installable,
        revocation,
        verdict: deviceVerdict(r, hw || installable.hw, ns),
    };
}
