// The explorer page: browses a node's read-only HTTP API and verifies a release's proof bundle in
// the browser against the chain id the user pinned. Views are chosen by the URL fragment
// (#view=release&id=…&chain=…), so every page can be linked. Server data is only ever set as
// text (textContent), never parsed as HTML.
import { ApiError, getBundle, getGenesis, getJSON, hashFile, setBase } from './api.js';
import { VerifyError, toHex, verifyBundle } from './verify.js';

const HEX64 = /^[0-9a-f]{64}$/;
const BLOCKS_SHOWN = 10;
const RELEASES_PER_PAGE = 20;
const STORE_KEY = 'upledger.chain';

// ---- DOM helpers ----------------------------------------------------------------------------

function el(tag, attrs = {}, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
        if (k === 'text') {
            e.textContent = v;
        } else if (k.startsWith('on')) {
            e.addEventListener(k.slice(2), v);
        } else if (v !== undefined && v !== null && v !== false) {
            e.setAttribute(k, v === true ? '' : String(v));
        }
    }
    for (const kid of kids.flat()) {
        if (kid !== null && kid !== undefined) {
            e.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
        }
    }
    return e;
}

function params() {
    return new URLSearchParams(location.hash.slice(1));
}

// A fragment for a view, keeping the pinned chain and node of the current one.
function href(view, args = {}) {
    const cur = params();
    const p = new URLSearchParams();
    for (const k of ['chain', 'node']) {
        if (cur.get(k)) {
            p.set(k, cur.get(k));
        }
    }
    if (view) {
        p.set('view', view);
    }
    for (const [k, v] of Object.entries(args)) {
        p.set(k, String(v));
    }
    return `#${p}`;
}

function link(view, args, text) {
    return el('a', { href: href(view, args) }, text);
}

function hex(h, n) {
    return el('code', { class: 'hex', title: h }, n ? `${h.slice(0, n)}…` : h);
}

function table(rows) {
    return el('table', {}, el('tbody', {}, rows.filter(Boolean).map(([k, v]) => el('tr', {}, el('th', { scope: 'row' }, k), el('td', {}, v)))));
}

function listTable(head, rows) {
    return el('table', {}, el('thead', {}, el('tr', {}, head.map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c) => el('td', {}, c))))));
}

function errorBox(e) {
    const msg = e instanceof ApiError || e instanceof VerifyError ? e.message : `unexpected error: ${e && e.message}`;
    return el('p', { class: 'error', role: 'alert' }, msg);
}

function show(...nodes) {
    const main = document.getElementById('main');
    main.replaceChildren(...nodes.filter((n) => n !== null && n !== undefined));
}

function time(ms) {
    return new Date(Number(ms)).toISOString().replace('.000Z', 'Z');
}

// ---- the trust root --------------------------------------------------------------------------

/** The pinned chain id and where it came from; never the server's word. */
function trustRoot() {
    const frag = (params().get('chain') || '').toLowerCase();
    if (HEX64.test(frag)) {
        return { id: frag, from: "this page's address (#chain=…)" };
    }
    const saved = (localStorage.getItem(STORE_KEY) || '').toLowerCase();
    if (HEX64.test(saved)) {
        return { id: saved, from: "this browser's setting" };
    }
    return null;
}

function renderTrust() {
    const t = trustRoot();
    const input = el('input', { type: 'text', id: 'chain-input', name: 'chain', 'aria-label': 'chain id to trust (64 hex digits)', placeholder: 'chain id: SHA-256 of the genesis, 64 hex digits', value: t ? t.id : '' });
    const form = el('form', { id: 'trust-form', onsubmit: (ev) => {
        ev.preventDefault();
        const v = input.value.trim().toLowerCase();
        if (!HEX64.test(v)) {
            msg.textContent = 'a chain id is 64 hex digits';
            return;
        }
        localStorage.setItem(STORE_KEY, v);
        const p = params();
        p.delete('chain');
        if (location.hash === `#${p}`) {
            route();
        } else {
            location.hash = `#${p}`;
        }
    } }, input, el('button', { type: 'submit' }, 'Pin in this browser'));
    const msg = el('span', { class: 'error', role: 'status' });
    const what = t
        ? el('span', {}, 'Trust root: chain id ', hex(t.id), ` — pinned by ${t.from}. `)
        : el('span', { class: 'warn' }, 'No trust root pinned: nothing can be verified until you pin the chain id you trust. ');
    document.getElementById('trust').replaceChildren(what, form, msg);
}

// ---- views ---------------------------------------------------------------------------------

async function viewHead() {
    const [st, gen] = await Promise.all([getJSON('/v1/status', 'status'), getJSON('/v1/genesis', 'genesis')]);
    const head = st.head;
    const blocks = [];
    for (let h = st.height; h >= 1 && h > st.height - BLOCKS_SHOWN; h--) {
        blocks.push([link('block', { h }, String(h))]);
    }
    const t = trustRoot();
    const claim = t && t.id !== gen.chain_id
        ? el('p', { class: 'warn', role: 'alert' }, `This node says its chain id is ${gen.chain_id}: not the one you pinned.`) : null;
    return [
        el('h2', {}, `Chain “${gen.name}”`),
        claim,
        table([
            ['Head', head ? el('span', {}, link('block', { h: st.height }, `height ${st.height}`), ` · `, hex(head.hash, 16), ` · ${head.time}`) : 'no blocks yet'],
            ['Releases in the log', String(st.log_size)],
            ['Chain id (the server says)', hex(gen.chain_id)],
            ['Genesis', `${gen.time} · ${gen.validators.length} validator(s)`],
            ['In sync', st.in_sync ? 'yes' : 'no'],
        ]),
        searchPanel(),
        nsForm(),
        el('h2', {}, 'Latest blocks'),
        listTable(['Height'], blocks),
    ];
}

function searchPanel() {
    const out = el('div', { id: 'search-out', 'aria-live': 'polite' });
    const input = el('input', { type: 'text', id: 'digest-input', 'aria-label': 'image SHA-256 digest', placeholder: 'image SHA-256, 64 hex digits' });
    const file = el('input', { type: 'file', id: 'file-input', 'aria-label': 'firmware image file to hash here' });
    const search = async (digest) => {
        location.hash = href('search', { digest });
    };
    file.addEventListener('change', () => file.files[0] && hashAndSearch(file.files[0], out, search));
    const drop = el('div', { id: 'drop' },
        el('h2', {}, 'Find a release by its image'),
        el('p', {}, 'Drop a firmware file here, or choose one: it is hashed in this browser (SHA-256) and never uploaded.'),
        file,
        el('form', { class: 'inline-form', onsubmit: (ev) => {
            ev.preventDefault();
            const d = input.value.trim().toLowerCase();
            if (!HEX64.test(d)) {
                out.replaceChildren(el('p', { class: 'error' }, 'a digest is 64 hex digits'));
                return;
            }
            search(d);
        } }, input, el('button', { type: 'submit' }, 'Search')),
        out);
    drop.addEventListener('dragover', (ev) => {
        ev.preventDefault();
        drop.classList.add('over');
    });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (ev) => {
        ev.preventDefault();
        drop.classList.remove('over');
        const f = ev.dataTransfer.files[0];
        if (f) {
            hashAndSearch(f, out, search);
        }
    });
    return drop;
}

async function hashAndSearch(f, out, search) {
    const status = el('p', { role: 'status' }, `Hashing ${f.name}…`);
    out.replaceChildren(status);
    try {
        const d = await hashFile(f, (n) => {
            status.textContent = `Hashing ${f.name}: ${Math.floor((100 * n) / Math.max(f.size, 1))}%`;
        });
        status.textContent = `SHA-256 of ${f.name}: ${d}`;
        search(d);
    } catch (e) {
        out.replaceChildren(errorBox(e));
    }
}

function nsForm() {
    const input = el('input', { type: 'text', id: 'ns-input', 'aria-label': 'namespace (vendor/product)', placeholder: 'vendor/product' });
    return el('form', { class: 'inline-form', onsubmit: (ev) => {
        ev.preventDefault();
        location.hash = href('ns', { ns: input.value.trim() });
    } }, el('label', { for: 'ns-input' }, 'Namespace: '), input, el('button', { type: 'submit' }, 'Open'));
}

async function viewSearch(p) {
    const d = (p.get('digest') || '').toLowerCase();
    if (!HEX64.test(d)) {
        throw new ApiError('search: a digest is 64 hex digits');
    }
    const r = await getJSON(`/v1/search?digest=${d}`, 'search');
    const rows = (Array.isArray(r.results) ? r.results : []).filter((x) => HEX64.test(x.id)).map((x) => [link('release', { id: x.id, digest: d }, `${x.namespace || ''} ${x.version || ''}`.trim() || `release ${x.id.slice(0, 16)}…`), hex(x.id, 16), String(x.height ?? '')]);
    return [el('h2', {}, 'Releases with image ', hex(d)),
        rows.length ? listTable(['Release', 'Id', 'Height'], rows) : el('p', { id: 'no-results' }, 'No release has this image digest.')];
}

async function viewBlock(p) {
    const h = Number(p.get('h'));
    const b = await getJSON(`/v1/blocks/${h}`, `block ${h}`);
    const hd = b.header;
    return [
        el('h2', {}, `Block ${hd.height}`),
        el('p', {}, h > 1 ? link('block', { h: h - 1 }, '← previous') : null, ' ', link('block', { h: h + 1 }, 'next →')),
        table([
            ['Hash', hex(hd.hash)], ['Time', hd.time], ['Previous', hex(hd.prev)], ['Tx root', hex(hd.tx_root)],
            ['Release log', el('span', {}, `${hd.log_size} releases, root `, hex(hd.log_root))],
            ['State root', hex(hd.state_root)], ['Validators hash', hex(hd.validators_hash)],
            ['Next validators hash', hex(hd.next_validators_hash)], ['Proposer', hex(hd.proposer)],
            ['Commit', `round ${b.commit.round}: ${b.commit.signed_power} of ${b.commit.total_power} power signed`],
        ]),
        el('h3', {}, 'Transactions'),
        listTable(['Kind', 'Id'], b.txs.map((t) => [t.kind, t.kind === 'publish' ? link('release', { id: t.id }, hex(t.id)) : hex(t.id)])),
        el('h3', {}, 'Commit signers'),
        listTable(['Validator', 'Power', 'Time'], b.commit.signers.map((s) => [hex(s.pubkey), String(s.power), time(s.time_ms)])),
    ];
}

function keyset(k) {
    return k ? el('span', {}, `${k.threshold} of `, k.keys.map((x) => el('div', {}, hex(x)))) : '';
}

async function viewNamespace(p) {
    const ns = p.get('ns') || '';
    const [vendor, product] = ns.split('/');
    if (!vendor || !product) {
        throw new ApiError('namespace: want vendor/product');
    }
    const base = `/v1/namespaces/${encodeURIComponent(vendor)}/${encodeURIComponent(product)}`;
    const cursor = p.get('cursor');
    const q = `?order=newest&limit=${RELEASES_PER_PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const [n, page] = await Promise.all([getJSON(base, `namespace ${ns}`), getJSON(`${base}/releases${q}`, `releases of ${ns}`)]);
    const pol = n.policy;
    return [
        el('h2', {}, `Namespace ${n.namespace}`),
        table([
            ['Policy set at', link('block', { h: n.height }, `height ${n.height}`)],
            ['Owners', keyset(pol.owners)], ['Publishers', keyset(pol.publishers)],
            ['Roles', Object.entries(pol.roles || {}).map(([r, k]) => el('div', {}, `${r}: `, keyset(k)))],
            ['Approvals required', Object.entries(pol.require || {}).map(([k, r]) => el('div', {}, `${k}: ${r.join(', ')}`))],
            ['Hardware classes', pol.hardware.length ? pol.hardware.join(', ') : 'any'],
            ['Revokers', pol.revokers.join(', ')],
            pol.end_of_support ? ['End of support', pol.end_of_support] : null,
        ]),
        el('h3', {}, 'Releases, newest first'),
        listTable(['Version', 'Sequence', 'Hardware', 'Released', 'Id'], page.releases.map((r) => [
            link('release', { id: r.id }, r.version), String(r.sequence), r.hardware.join(', '), r.release_time, hex(r.id, 16)])),
        page.next !== undefined ? link('ns', { ns, cursor: page.next }, 'older releases →') : null,
    ];
}

async function viewValidators(p) {
    const before = p.get('before');
    const v = await getJSON(`/v1/validators${before ? `?before=${Number(before)}` : ''}`, 'validator sets');
    return [el('h2', {}, 'Validator-set history'),
        ...v.sets.map((s) => el('section', {},
            el('h3', {}, `From height ${s.from}${s.until !== undefined ? ` to ${s.until}` : ' (current)'}`),
            listTable(['Validator', 'Power'], s.validators.map((x) => [hex(x.pubkey), String(x.power)])))),
        v.next !== undefined ? link('validators', { before: v.next }, 'older sets →') : null];
}

async function viewEvidence() {
    const v = await getJSON('/v1/evidence', 'evidence');
    return [el('h2', {}, 'Equivocation evidence'),
        v.evidence.length
            ? listTable(['Validator', 'Height', 'Round', 'Vote', 'Recorded at', 'Evidence tx'], v.evidence.map((e) => [
                hex(e.validator, 16), link('block', { h: e.height }, String(e.height)), String(e.round), e.type,
                link('block', { h: e.recorded_at }, String(e.recorded_at)), hex(e.tx, 16)]))
            : el('p', {}, 'No equivocation has been recorded.')];
}

// ---- a release and its verification ----------------------------------------------------------

async function viewRelease(p) {
    const id = (p.get('id') || '').toLowerCase();
    if (!HEX64.test(id)) {
        throw new ApiError('release: an id is 64 hex digits');
    }
    const r = await getJSON(`/v1/releases/${id}`, 'release');
    if (r.id !== id || !Array.isArray(r.hardware) || !r.hardware.length || !r.image) {
        throw new ApiError(`release: the server answered something else than release ${id.slice(0, 16)}…`);
    }
    const pv = r.provenance || {};
    const hw = r.hardware.includes(p.get('hw')) ? p.get('hw') : r.hardware[0];
    const select = el('select', { id: 'hw-select', 'aria-label': 'hardware class of the device' },
        r.hardware.map((c) => el('option', { value: c, selected: c === hw }, c)));
    select.addEventListener('change', () => {
        location.hash = href('release', { id, hw: select.value });
    });
    const panel = el('section', { id: 'verify', 'aria-live': 'polite' }, el('p', {}, 'Verifying in this browser…'));
    const digest = (p.get('digest') || '').toLowerCase();
    verifyPanel(r, hw, HEX64.test(digest) ? digest : null)
        .catch((e) => verdictBox(false, 'NOT verified', `unexpected error: ${e.message}`, null))
        .then((n) => panel.replaceChildren(n));
    return [
        el('h2', {}, `${r.namespace} ${r.version}`),
        table([
            ['Release id', hex(r.id)],
            ['Namespace', link('ns', { ns: r.namespace }, r.namespace)],
            ['Provider', r.provider], ['Version', `${r.version} (sequence ${r.sequence})`],
            ['Kind', r.kind], ['Released', r.release_time],
            ['Image', el('span', {}, `${r.image.file}, ${r.image.size} bytes, SHA-256 `, hex(r.image.sha256))],
            ['Hardware classes', r.hardware.join(', ')],
            ['Dependencies', r.dependencies.length ? r.dependencies.map((d) => `${d.namespace} ${d.version}`).join('; ') : 'none'],
            ['Mirrors (hints)', r.links.length ? r.links.join(' ') : 'none'],
            ['Signed by (co-signers)', r.signers.map((k) => el('div', {}, hex(k)))],
            ['Approvals', Object.keys(pv.approvals || {}).length ? Object.entries(pv.approvals).map(([role, keys]) => el('div', {}, `${role}: `, keys.map((k) => hex(k, 16)))) : 'none'],
            ['Committed', r.height ? el('span', {}, link('block', { h: r.height }, `block ${r.height}`), `, release-log index ${r.log_index}`) : '?'],
            ['Revoked (the server says)', pv.revoked ? `yes, at height ${pv.revoked_height}: ${pv.revocation_reason}` : 'no'],
        ]),
        el('h3', {}, 'Verification'),
        el('p', {}, el('label', { for: 'hw-select' }, 'Device hardware class: '), select),
        panel,
    ];
}

// What the server's JSON says about a release against the record the proofs cover: the first
// field that differs, or null.
function claimMismatch(r, rel) {
    const same = [
        ['namespace', r.namespace === rel.ns],
        ['version', r.version === rel.version],
        ['sequence', BigInt(r.sequence) === rel.seq],
        ['image digest', r.image.sha256 === toHex(rel.digest)],
        ['image size', BigInt(r.image.size) === BigInt(rel.size)],
        ['file name', r.image.file === rel.file],
        ['provider', r.provider === rel.provider],
        ['hardware classes', r.hardware.join('\n') === rel.hw.join('\n')],
        ['signers', r.signers.join() === rel.signers.map(toHex).join()],
    ];
    const bad = same.find(([, ok]) => !ok);
    return bad ? bad[0] : null;
}

async function verifyPanel(r, hw, digest) {
    const t = trustRoot();
    if (!t) {
        return verdictBox(false, 'NOT verified', 'no trust root pinned: pin the chain id (the genesis hash) you trust above', null);
    }
    let res;
    try {
        const st = await getJSON('/v1/status', 'status');
        if (!Number.isSafeInteger(st.height) || st.height < 1) {
            throw new ApiError('status: the server gave no head height');
        }
        const [genesis, bundle] = await Promise.all([getGenesis(), getBundle(r.namespace, hw, r.id, st.height)]);
        res = verifyBundle({ bundle, genesis, chainId: t.id, hw, ns: r.namespace, releaseId: r.id });
    } catch (e) {
        if (e instanceof VerifyError) {
            return verdictBox(false, 'NOT verified', e.reason, e.code);
        }
        return verdictBox(false, 'NOT verified', e instanceof ApiError ? e.message : `unexpected error: ${e.message}`, null);
    }
    const bad = claimMismatch(r, res.release);
    if (bad) {
        return verdictBox(false, 'NOT verified', `the server's description of the release differs from the record the proofs cover: ${bad}`, null);
    }
    if (digest && digest !== toHex(res.release.digest)) {
        return verdictBox(false, 'NOT verified', `the image searched for (${digest.slice(0, 16)}…) is not this release's image`, null);
    }
    return resultBox(res, r, hw, t, digest);
}

function verdictBox(ok, status, reason, code) {
    return el('div', { class: `verdict ${ok ? 'ok' : 'bad'}`, role: 'status' },
        el('div', { class: 'status', id: 'verify-status' }, status),
        el('div', { id: 'verify-reason' }, reason, code ? el('span', {}, ' (', el('code', { id: 'verify-code' }, code), ')') : null));
}

// What the installable proof shows about this release.
function installable(res) {
    if (!res.installable.member) {
        return 'the class has no installable release';
    }
    return res.verdict.code === 'UL_E_NOT_INSTALLABLE' ? 'another release heads the class\'s list' : 'this release heads the class\'s list';
}

function resultBox(res, r, hw, t, digest) {
    const hd = res.header;
    const q = hd.quorum;
    const via = hd.checkpointTime !== null ? `a freshness checkpoint at ${time(hd.checkpointTime)}` : `the commit (round ${hd.round})`;
    const checks = [
        `the genesis hashes to the pinned chain id (from ${t.from}); chain “${res.genesis.name}”`,
        `validator-set walk from the genesis set: ${res.steps.length} change(s)${res.steps.map((s) => ` at height ${s.height} (${s.quorum.signed} of ${s.quorum.total} power signed)`).join(',')}`,
        `header ${hd.height} (${toHex(hd.hash).slice(0, 16)}…, ${time(hd.timeMs)}) signed through ${via}: ${q.signers} of ${q.voters} validators, ${q.signed} of ${q.total} power (more than 2/3), every BIP-340 signature checked`,
        `release record ${toHex(res.release.id).slice(0, 16)}… signed by ${res.release.signers.length} author key(s), every signature checked; the server's description matches it`,
        digest ? `the image you searched for is this release's image (SHA-256 ${digest.slice(0, 16)}…)` : null,
        `inclusion in the release log: leaf ${res.inclusion.index} of ${res.inclusion.size}, to the header's log root`,
        `installable proof for ${res.installable.hw}: ${installable(res)}, to the header's state root`,
        `revocation proof: ${res.revocation.member ? 'REVOKED' : 'not revoked'}, to the header's state root`,
    ];
    const v = res.verdict;
    const serverRevoked = Boolean(r.provenance && r.provenance.revoked);
    const lie = serverRevoked !== res.revocation.member
        ? el('p', { class: 'warn', role: 'alert' }, "The server's JSON disagrees with the proof about revocation: trust the proof.") : null;
    return el('div', {},
        verdictBox(true, 'verified', 'every proof in the bundle holds, from the pinned genesis', null),
        el('ul', { class: 'checks' }, checks.filter(Boolean).map((c) => el('li', {}, c))),
        lie,
        el('div', { class: `verdict ${v.code ? 'bad' : 'ok'}`, id: 'device-verdict' },
            el('div', { class: 'status' }, v.code ? `A ${hw} device would refuse it` : `A ${hw} device would install it`),
            el('div', {}, v.reason, v.code ? el('span', {}, ' (', el('code', {}, v.code), ')') : null)));
}

// ---- routing ---------------------------------------------------------------------------------

const VIEWS = { '': viewHead, search: viewSearch, block: viewBlock, ns: viewNamespace, release: viewRelease, validators: viewValidators, evidence: viewEvidence };

let generation = 0;

async function route() {
    const p = params();
    const node = p.get('node');
    setBase(node && /^https?:\/\//.test(node) ? node : '');
    renderTrust();
    for (const a of document.querySelectorAll('nav a[data-view], #home-link')) {
        a.setAttribute('href', href(a.dataset.view || ''));
    }
    const view = VIEWS[p.get('view') || ''];
    const mine = ++generation;
    if (!view) {
        show(el('p', { class: 'error' }, `no such view: ${p.get('view')}`));
        return;
    }
    show(el('p', {}, 'Loading…'));
    let nodes;
    try {
        nodes = await view(p);
    } catch (e) {
        nodes = [errorBox(e)];
    }
    // A view that answers after the reader moved on is dropped.
    if (mine === generation) {
        show(...nodes);
    }
}

window.addEventListener('hashchange', route);
route();
