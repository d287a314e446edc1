/* The device's streaming bundle verifier: sections arrive in chunks of any size, one is buffered
 * in the context, checked and forgotten. Quorum, header, release signatures, inclusion and state
 * proofs fail at once; release-level verdicts wait for ul_client_bundle_final.
 */
#include <string.h>

#include <sodium/utils.h>

#include "internal.h"

/* ul_update.expect past the last section. */
#define EXPECT_END (UL_SEC_MAX_ + 1)
/* Largest tx piece: map(3), 1, kind (<= 9 bytes), 2; or 3, array(n); or one [key, sig]. */
#define PIECE_BYTES 104

ul_err ul_client_update_fail(ul_update *u, ul_err e)
{
    if (e != UL_OK && u->err == UL_OK) {
        u->err = e;
        sodium_memzero(u->class_sk, sizeof u->class_sk);
        u->has_class_sk = false;
        if (u->phase == UL_PH_IMAGE) {
            sodium_memzero(&u->w.img.ss, sizeof u->w.img.ss);
            sodium_memzero(u->w.img.key, sizeof u->w.img.key);
        }
    }
    return u->err != UL_OK ? u->err : e;
}

ul_err ul_client_update_enter(ul_update *u, uint64_t phase)
{
    if (u == NULL) {
        return UL_E_ARG;
    }
    if (u->err != UL_OK) {
        return u->err;
    }
    return u->phase == phase ? UL_OK : ul_client_update_fail(u, UL_E_SEQUENCE_CALL);
}

static bool eq32(const uint8_t *a, const uint8_t *b)
{
    return memcmp(a, b, UL_HASH_BYTES) == 0;
}

/* Index of component ns in st, or st->n_components. */
static size_t comp_index(const ul_device_state *st, const uint8_t *ns, size_t ns_len)
{
    const ul_component *c = ul_client_device_find(st, ns, ns_len);
    return c != NULL ? (size_t)(c - st->comp) : st->n_components;
}

/* The installed (confirmed) slot of a component. */
static const ul_slot *installed(const ul_component *c)
{
    return &c->slot[c->trial ? 1 - (c->active & 1) : (c->active & 1)];
}

ul_err ul_client_update_begin(ul_update *u, const ul_device_state *st, const uint8_t *ns,
                              size_t ns_len, const uint8_t *class_sk32, uint64_t now_ms,
                              uint64_t max_age_ms)
{
    if (u == NULL) {
        return UL_E_ARG;
    }
    memset(u, 0, sizeof *u);
    /* A state that breaks its own bounds was not made by device_init / the codec. */
    if (st == NULL || ns == NULL || st->hw_len > UL_MAX_LABEL_LEN ||
        st->n_components > UL_MAX_COMPONENTS) {
        return ul_client_update_fail(u, UL_E_ARG);
    }
    if (ul_schema_ns_check((ul_span){ns, ns_len}) != UL_OK) {
        return ul_client_update_fail(u, UL_E_NS_NAME);
    }
    u->st = st;
    u->comp = comp_index(st, ns, ns_len);
    if (u->comp < st->n_components && st->comp[u->comp].trial) {
        return ul_client_update_fail(u, UL_E_PENDING);
    }
    if (u->comp == st->n_components && st->n_components >= UL_MAX_COMPONENTS) {
        return ul_client_update_fail(u, UL_E_LIMIT);
    }
    memcpy(u->ns, ns, ns_len);
    u->ns_len = ns_len;
    u->now_ms = now_ms;
    u->max_age_ms = max_age_ms;
    if (class_sk32 != NULL) {
        memcpy(u->class_sk, class_sk32, sizeof u->class_sk);
        u->has_class_sk = true;
    }
    memcpy(u->trusted, st->valset_hash, UL_HASH_BYTES);
    u->phase = UL_PH_BUNDLE;
    u->expect = UL_SEC_BEGIN;
    u->dep_ok = true; /* until a dependency of the release is not met */
    return UL_OK;
}

/* ---- Headers and their voters --------------------------------------------------------------- */

static ul_err on_begin(ul_update *u, const ul_section *s)
{
    if (s->u.begin.version != UL_BUNDLE_VERSION) {
        return UL_E_VERSION;
    }
    if (!eq32(s->u.begin.chain_id, u->st->chain_id)) {
        return UL_E_CHAIN_ID;
    }
    u->steps_left = s->u.begin.n_steps;
    u->expect = UL_SEC_HEADER;
    return UL_OK;
}

static UL_NOINLINE ul_err on_header(ul_update *u, const ul_section *s)
{
    uint8_t piece[16];
    size_t n = 0;
    ul_span hb = s->u.header.header;
    ul_err e = ul_schema_header_decode(&u->hd, hb.ptr, hb.len);
    if (e != UL_OK) {
        return e;
    }
    if (!eq32(u->hd.chain_id, u->st->chain_id)) {
        return UL_E_CHAIN_ID;
    }
    /* Steps come in ascending height and the header the proofs are against last. */
    if (u->hd.height <= u->last_height) {
        return UL_E_HEIGHT;
    }
    u->last_height = u->hd.height;
    ul_client_sha256(u->hd_hash, hb.ptr, hb.len);
    u->round = s->u.header.round;
    /* A checkpoint's voters sign (height, header hash, time) for the header the proofs are
     * against: in place of the commit, never for a step. */
    u->hd_checkpoint = s->type == UL_SEC_CHECKPOINT;
    if (u->hd_checkpoint) {
        u->cp.height = u->hd.height;
        memcpy(u->cp.header_hash, u->hd_hash, UL_HASH_BYTES);
        u->cp.time_ms = s->u.header.time_ms;
    }
    u->voters_left = s->u.header.n_voters;
    u->item_i = 0;
    u->expect = UL_SEC_VOTER;
    /* A step at or below the device's height is one it already followed. */
    u->hd_skip = u->steps_left > 0 && u->hd.height <= u->st->height;
    if (u->hd_skip) {
        return UL_OK;
    }
    if (!eq32(u->hd.validators_hash, u->trusted)) {
        return UL_E_VALSET_GAP;
    }
    if ((e = ul_schema_valset_head_encode(piece, sizeof piece, &n, s->u.header.n_voters))) {
        return e;
    }
    ul_client_sha256_init(&u->w.v.set_hash);
    ul_client_sha256_update(&u->w.v.set_hash, piece, n);
    u->w.v.total = 0;
    u->w.v.signed_power = 0;
    return UL_OK;
}

/* The header the proofs are against: not below what the device accepted, not another one at
 * that height, neither its time nor its checkpoint's more than the clock skew ahead of the
 * device's clock, and the newer of the two not older than its maximum age. */
static ul_err final_header(ul_update *u)
{
    const ul_device_state *st = u->st;
    uint64_t fresh = u->hd.time_ms, cp = u->hd_checkpoint ? u->cp.time_ms : 0;
    if (u->hd.height < st->height) {
        return UL_E_HEADER_OLD;
    }
    if (u->hd.height == st->height && !eq32(u->hd_hash, st->header_hash)) {
        return UL_E_HEADER_CONFLICT;
    }
    fresh = cp > fresh ? cp : fresh;
    if (u->now_ms != 0 && fresh > u->now_ms && fresh - u->now_ms > UL_MAX_CLOCK_SKEW_MS) {
        return UL_E_FUTURE;
    }
    if (u->now_ms != 0 && u->max_age_ms != 0 && u->now_ms > fresh &&
        u->now_ms - fresh > u->max_age_ms) {
        return UL_E_STALE;
    }
    u->info.checkpoint_time_ms = cp;
    u->info.height = u->hd.height;
    memcpy(u->info.header_hash, u->hd_hash, UL_HASH_BYTES);
    u->info.header_time_ms = u->hd.time_ms;
    u->expect = UL_SEC_LEAF;
    return UL_OK;
}

/* After a header's last voter: the voters are the header's set, and enough of them signed. */
static ul_err end_header(ul_update *u)
{
    if (!u->hd_skip) {
        uint8_t h[UL_HASH_BYTES];
        ul_client_sha256_final(&u->w.v.set_hash, h);
        if (!eq32(h, u->hd.validators_hash)) {
            return UL_E_VALIDATOR;
        }
        /* total <= UL_MAX_TOTAL_POWER: the voters' powers were bounded as they came. */
        if (!ul_power_quorum(u->w.v.signed_power, u->w.v.total)) {
            return UL_E_QUORUM;
        }
    }
    if (u->steps_left == 0) {
        return final_header(u);
    }
    u->steps_left--;
    if (!u->hd_skip) {
        memcpy(u->trusted, u->hd.next_validators_hash, UL_HASH_BYTES);
        u->info.steps++;
    }
    u->expect = UL_SEC_HEADER;
    return UL_OK;
}

/* A voter's (key, power) into its set's hash (UL_NOINLINE: the encoding buffer is off the stack
 * by the time the voter's signature is checked). */
static UL_NOINLINE ul_err voter_hash(ul_update *u, const ul_section *s)
{
    uint8_t piece[64];
    size_t n = 0;
    ul_validator v;
    memcpy(v.pubkey, s->u.voter.key, UL_PUBKEY_BYTES);
    v.power = s->u.voter.power;
    ul_err e = ul_schema_validator_encode(piece, sizeof piece, &n, &v);
    if (e == UL_OK) {
        ul_client_sha256_update(&u->w.v.set_hash, piece, n);
    }
    return e;
}

static ul_err on_voter(ul_update *u, const ul_section *s)
{
    if (!u->hd_skip) {
        if (u->item_i > 0 && memcmp(s->u.voter.key, u->w.v.last_key, UL_PUBKEY_BYTES) <= 0) {
            return UL_E_VALIDATOR; /* repeated or out of set order */
        }
        if (s->u.voter.power > UL_MAX_TOTAL_POWER - u->w.v.total) {
            return UL_E_VALIDATOR;
        }
        ul_err e = voter_hash(u, s);
        if (e == UL_OK && s->u.voter.has_sig && u->hd_checkpoint) {
            /* One statement for every signer: the section's time. */
            e = s->u.voter.time_ms != u->cp.time_ms
                    ? UL_E_CHECKPOINT
                    : ul_client_checkpoint_sig_verify(s->u.voter.sig, s->u.voter.key,
                                                      u->st->chain_id, &u->cp);
        } else if (e == UL_OK && s->u.voter.has_sig) {
            e = ul_client_precommit_verify(s->u.voter.sig, s->u.voter.key, u->st->chain_id,
                                           u->hd.height, u->round, u->hd_hash, s->u.voter.time_ms);
        }
        if (e != UL_OK) {
            return e;
        }
        u->w.v.total += s->u.voter.power;
        u->w.v.signed_power += s->u.voter.has_sig ? s->u.voter.power : 0;
        memcpy(u->w.v.last_key, s->u.voter.key, UL_PUBKEY_BYTES);
    }
    u->item_i++;
    return --u->voters_left == 0 ? end_header(u) : UL_OK;
}

/* ---- The release -------------------------------------------------------------------------- */

/* The LEAF section streams through buf one CBOR item at a time (ul_schema_leaf_walk): the
 * record's bytes are hashed as they pass (release id, signed digest, leaf hash) and only what
 * the verdicts need is kept, each check folded in as its field arrives. */

/* A class seen in the record: its place among the classes so far, or n_hw when new. */
static size_t hw_find(const ul_update *u, const uint8_t tag[UL_LEAF_HW_TAG])
{
    size_t i = 0;
    while (i < u->w.lf.n_hw && memcmp(u->w.lf.hw[i], tag, UL_LEAF_HW_TAG) != 0) {
        i++;
    }
    return i;
}

static void leaf_hw(ul_update *u, ul_span hw, bool key)
{
    uint8_t h[UL_HASH_BYTES];
    bool own = hw.len == u->st->hw_len && memcmp(hw.ptr, u->st->hw, hw.len) == 0;
    ul_client_sha256(h, hw.ptr, hw.len);
    size_t i = hw_find(u, h);
    if (!key) {
        u->hw_ok = u->hw_ok || own;
        u->w.lf.hw_dup = u->w.lf.hw_dup || i < u->w.lf.n_hw;
        if (i == u->w.lf.n_hw && i < UL_MAX_HW) { /* the walk allows UL_MAX_HW classes */
            memcpy(u->w.lf.hw[u->w.lf.n_hw++], h, UL_LEAF_HW_TAG);
        }
        return;
    }
    u->w.lf.key_own = own;
    if (i == u->w.lf.n_hw) {
        u->w.lf.key_unlisted = true; /* a key for a class the release does not support */
        return;
    }
    u->w.lf.key_dup = u->w.lf.key_dup || (u->w.lf.key_hw_used >> i & 1u) != 0;
    u->w.lf.key_hw_used |= 1u << i;
}

/* A dependency's namespace: the device's confirmed version of it, if any. */
static void leaf_dep_ns(ul_update *u, ul_span ns)
{
    const ul_device_state *st = u->st;
    size_t c = comp_index(st, ns.ptr, ns.len);
    const ul_slot *sl = c < st->n_components ? installed(&st->comp[c]) : NULL;
    u->w.lf.dep_have =
        sl != NULL && sl->version_len > 0 && sl->version_len <= UL_MAX_LABEL_LEN &&
        ul_client_version_parse(&u->w.lf.dep_v, sl->version, sl->version_len) == UL_OK;
}

/* The record ended: the checks across its fields (records.c's release_check), then what the
 * installed release says about it. */
static ul_err leaf_check(ul_update *u)
{
    const ul_device_state *st = u->st;
    if (u->w.lf.hw_dup || u->w.lf.key_dup || u->w.lf.key_unlisted) {
        return UL_E_SCHEMA_FIELD;
    }
    const ul_slot *inst = u->comp < st->n_components ? installed(&st->comp[u->comp]) : NULL;
    uint64_t have = inst != NULL ? inst->seq : 0;
    u->rollback = u->info.seq <= have;
    /* (namespace, sequence) names one release on a chain; a known digest must agree too. */
    u->current =
        inst != NULL && inst->version_len > 0 && u->info.seq == have &&
        (sodium_is_zero(inst->digest, UL_HASH_BYTES) || eq32(inst->digest, u->info.digest));
    return UL_OK;
}

/* The transaction around the record: its kind starts the leaf hash, its signature count ends
 * the record's part (ul_schema_tx_prefix_encode / tx_middle_encode: the tx's canonical bytes). */
static ul_err leaf_tx(ul_update *u, const ul_leaf_event *ev)
{
    static const uint8_t leaf_prefix = 0x00; /* RFC 9162 leaf hash */
    uint8_t piece[PIECE_BYTES];
    size_t n = 0;
    ul_err e;
    if (ev->what == UL_LEAF_TX_KIND) {
        if (ev->val != UL_TX_PUBLISH) {
            return UL_E_TX_KIND;
        }
        ul_client_sha256_init(&u->leaf_hash);
        ul_client_sha256_update(&u->leaf_hash, &leaf_prefix, 1);
        ul_client_sha256_init(&u->w.lf.id_hash);
        ul_client_signed_digest_init(&u->w.lf.body_hash, UL_DOMAIN_RELEASE, u->st->chain_id);
        e = ul_schema_tx_prefix_encode(piece, sizeof piece, &n, ev->val);
    } else {
        e = ul_schema_tx_middle_encode(piece, sizeof piece, &n, (size_t)ev->val);
        ul_client_sha256_final(&u->w.lf.id_hash, u->info.id);
        ul_client_sha256_final(&u->w.lf.body_hash, u->body_digest);
        ul_client_statekey_revocation_hash(u->state_key[1], u->info.id);
        u->sigs_left = ev->val;
    }
    ul_client_sha256_update(&u->leaf_hash, piece, n);
    return e;
}

static void leaf_value(ul_update *u, const ul_leaf_event *ev)
{
    switch (ev->what) {
    case UL_LEAF_TIME:
        u->info.time = ev->val;
        break;
    case UL_LEAF_SEQ:
        u->info.seq = ev->val;
        break;
    case UL_LEAF_SIZE:
        u->info.size = ev->val;
        break;
    case UL_LEAF_KIND:
        u->info.kind = ev->val;
        break;
    case UL_LEAF_ENC:
        u->info.encrypted = true;
        break;
    case UL_LEAF_ENC_CHUNK:
        u->chunk_plain = ev->val;
        break;
    default:
        break;
    }
}

static ul_err leaf_event(ul_update *u, const ul_leaf_event *ev)
{
    ul_span s = ev->s;
    switch (ev->what) {
    case UL_LEAF_TYPE:
        return ev->val != UL_SEC_LEAF ? UL_E_SCHEMA_FIELD : UL_OK; /* a section out of order */
    case UL_LEAF_TX_KIND:
    case UL_LEAF_N_SIGS:
        return leaf_tx(u, ev);
    case UL_LEAF_NS:
        u->ns_ok = s.len == u->ns_len && memcmp(s.ptr, u->ns, s.len) == 0;
        /* The installable key is the record's namespace's; the proof names the class. */
        return ul_client_statekey_installable_begin(&u->inst_prefix, s);
    case UL_LEAF_VERSION:
        u->info.version_len = s.len;
        memcpy(u->info.version, s.ptr, s.len);
        break;
    case UL_LEAF_DIGEST:
        memcpy(u->info.digest, s.ptr, UL_HASH_BYTES);
        break;
    case UL_LEAF_HW:
    case UL_LEAF_KEY_HW:
        leaf_hw(u, s, ev->what == UL_LEAF_KEY_HW);
        break;
    case UL_LEAF_DEP_NS:
        leaf_dep_ns(u, s);
        break;
    case UL_LEAF_DEP_CONSTRAINT:
        u->dep_ok = u->dep_ok && u->w.lf.dep_have &&
                    ul_client_constraint_match(s.ptr, s.len, &u->w.lf.dep_v) == UL_OK;
        break;
    case UL_LEAF_KEY_SEALED:
        if (u->w.lf.key_own) {
            memcpy(u->sealed, s.ptr, UL_SEALED_KEY_BYTES);
            u->has_sealed = true;
        }
        break;
    default:
        leaf_value(u, ev);
        break;
    }
    return ev->check ? leaf_check(u) : UL_OK;
}

/* A release signature into the leaf hash (UL_NOINLINE as voter_hash). */
static UL_NOINLINE ul_err sig_hash(ul_update *u, const ul_sig *sig)
{
    uint8_t piece[PIECE_BYTES];
    size_t n = 0;
    ul_err e = ul_schema_tx_sig_encode(piece, sizeof piece, &n, sig);
    if (e == UL_OK) {
        ul_client_sha256_update(&u->leaf_hash, piece, n);
    }
    return e;
}

static ul_err on_sig(ul_update *u, const ul_section *s)
{
    /* Canonical: sorted by key, one per key, as in the tx itself. */
    if (u->item_i > 0 && memcmp(s->u.sig.pubkey, u->last_sig_key, UL_PUBKEY_BYTES) <= 0) {
        return UL_E_SCHEMA_FIELD;
    }
    ul_err e = ul_client_sig_verify_digest(s->u.sig.sig, u->body_digest, s->u.sig.pubkey);
    if (e != UL_OK) {
        return UL_E_SIG; /* a key that does not parse cannot have signed either */
    }
    if ((e = sig_hash(u, &s->u.sig)) != UL_OK) {
        return e;
    }
    memcpy(u->last_sig_key, s->u.sig.pubkey, UL_PUBKEY_BYTES);
    u->item_i++;
    if (--u->sigs_left == 0) {
        ul_client_sha256_final(&u->leaf_hash, u->leaf);
        u->expect = UL_SEC_INCLUSION;
    }
    return UL_OK;
}

/* ---- State proofs ------------------------------------------------------------------------- */

/* The installable list's newest entry (seq 8 BE, id 32) is this release. */
static bool list_head_is(const ul_update *u, ul_span v)
{
    uint8_t seq[8];
    for (size_t i = 0; i < 8; i++) {
        seq[i] = (uint8_t)(u->info.seq >> (56 - 8 * i));
    }
    return v.len >= 8 + UL_HASH_BYTES && memcmp(v.ptr, seq, 8) == 0 && eq32(v.ptr + 8, u->info.id);
}

static ul_err end_state(ul_update *u)
{
    ul_err e = ul_client_smt_fold_final(&u->w.sp.fold, u->hd.state_root);
    if (e != UL_OK) {
        return e;
    }
    if (u->which == UL_PROOF_INSTALLABLE) {
        u->installable = u->w.sp.installable;
        u->which = UL_PROOF_REVOCATION;
        u->expect = UL_SEC_STATE;
    } else {
        u->revoked = u->w.sp.member;
        u->expect = EXPECT_END;
    }
    return UL_OK;
}

static UL_NOINLINE ul_err on_state(ul_update *u, const ul_section *s)
{
    uint8_t vh[UL_HASH_BYTES];
    uint8_t end[UL_HASH_BYTES];
    bool own = false;
    const uint8_t *key = u->state_key[u->which == UL_PROOF_INSTALLABLE ? 0 : 1];
    const uint8_t *leaf_key = NULL;
    ul_err e = UL_OK;
    bool own_class = true;
    if (s->u.state.which != u->which) {
        return UL_E_SCHEMA_FIELD;
    }
    if (u->which == UL_PROOF_INSTALLABLE) {
        /* The proof is checked for the class it names; only the device's own class counts. */
        ul_span hw = s->u.state.hw;
        if ((e = ul_client_statekey_installable_final(&u->inst_prefix, hw, u->state_key[0])) !=
            UL_OK) {
            return e;
        }
        own_class = hw.len == u->st->hw_len && memcmp(hw.ptr, u->st->hw, hw.len) == 0;
    }
    if (s->u.state.terminal == UL_TERM_VALUE) {
        ul_client_sha256(vh, s->u.state.value.ptr, s->u.state.value.len);
        leaf_key = key;
    } else if (s->u.state.terminal == UL_TERM_LEAF) {
        memcpy(vh, s->u.state.leaf_value, UL_HASH_BYTES);
        leaf_key = s->u.state.leaf_key;
    }
    e = ul_client_smt_end(end, &own, key, s->u.state.depth, leaf_key, vh);
    /* The key's own leaf must come with its value: a bare hash would hide what it says. */
    if (e == UL_OK && own && s->u.state.terminal != UL_TERM_VALUE) {
        e = UL_E_MERKLE_PROOF;
    }
    if (e == UL_OK) {
        e = ul_client_smt_fold_init(&u->w.sp.fold, key, s->u.state.depth, s->u.state.bitmap, end,
                                    leaf_key != NULL);
    }
    if (e != UL_OK) {
        return e;
    }
    u->w.sp.member = own;
    u->w.sp.installable = own && own_class && list_head_is(u, s->u.state.value);
    u->sibs_left = u->w.sp.fold.sibs_left;
    u->expect = UL_SEC_SIBLINGS;
    return u->sibs_left == 0 ? end_state(u) : UL_OK;
}

/* INCLUSION and SIBLINGS stream too: each hash is folded as it arrives. */
static ul_err hashes_event(ul_update *u, const ul_leaf_event *ev)
{
    bool incl = u->expect == UL_SEC_INCLUSION;
    switch (ev->what) {
    case UL_LEAF_TYPE:
        return ev->val != u->expect ? UL_E_SCHEMA_FIELD : UL_OK; /* a section out of order */
    case UL_LEAF_INDEX:
        u->info.log_index = ev->val;
        return UL_OK;
    case UL_LEAF_TREE_SIZE:
        /* RFC 9162 paths do not pin the tree size by themselves: bind it to the header's. */
        if (ev->val != u->hd.log_size) {
            return UL_E_MERKLE_RANGE;
        }
        return ul_client_incl_init(&u->w.incl, u->leaf, u->info.log_index, ev->val);
    case UL_LEAF_HASHES:
        /* no more siblings than the bitmap has bits */
        return !incl && ev->val > u->sibs_left ? UL_E_SCHEMA_FIELD : UL_OK;
    case UL_LEAF_HASH:
        if (incl) {
            return ul_client_incl_step(&u->w.incl, ev->s.ptr);
        }
        u->sibs_left--;
        return ul_client_smt_fold_step(&u->w.sp.fold, ev->s.ptr);
    default:
        return UL_OK;
    }
}

/* Reads the whole items of a streamed section held in buf; keeps a partial one (moved to the
 * start of buf) for more bytes. */
static UL_NOINLINE ul_err stream_drain(ul_update *u)
{
    bool leaf = u->expect == UL_SEC_LEAF;
    size_t pos = 0;
    ul_err e = UL_OK;
    while (e == UL_OK && pos < u->held) {
        ul_leaf_event ev;
        size_t need = 0;
        e = leaf ? ul_schema_leaf_walk(&u->walk, &ev, u->buf + pos, u->held - pos,
                                       u->body_len - u->consumed, &need)
                 : ul_schema_hashes_walk(&u->walk, &ev, u->buf + pos, u->held - pos,
                                         u->body_len - u->consumed, &need);
        if (e == UL_E_TRUNCATED) {
            /* Only a label longer than any the record allows fills the buffer unfinished. */
            e = need > sizeof u->buf ? UL_E_LIMIT : UL_OK;
            break;
        }
        if (e == UL_OK && leaf && ev.record) {
            ul_client_sha256_update(&u->w.lf.id_hash, u->buf + pos, ev.size);
            ul_client_sha256_update(&u->w.lf.body_hash, u->buf + pos, ev.size);
            ul_client_sha256_update(&u->leaf_hash, u->buf + pos, ev.size);
        }
        if (e == UL_OK) {
            e = leaf ? leaf_event(u, &ev) : hashes_event(u, &ev);
            pos += ev.size;
            u->consumed += ev.size;
        }
    }
    memmove(u->buf, u->buf + pos, u->held - pos);
    u->held -= pos;
    return e;
}

/* A streamed section's last byte arrived: its walk must have read every item. */
static ul_err stream_end(ul_update *u)
{
    if (!u->walk.done || u->held > 0) {
        return UL_E_CBOR_MALFORMED;
    }
    u->stream = false;
    switch (u->expect) {
    case UL_SEC_LEAF:
        u->item_i = 0;
        u->expect = UL_SEC_SIG;
        return UL_OK;
    case UL_SEC_INCLUSION:
        u->which = UL_PROOF_INSTALLABLE;
        u->expect = UL_SEC_STATE;
        return ul_client_incl_final(&u->w.incl, u->hd.log_root);
    default: /* UL_SEC_SIBLINGS */
        return u->sibs_left == 0 ? end_state(u) : UL_OK;
    }
}

/* ---- Framing ------------------------------------------------------------------------------ */

static ul_err on_section(ul_update *u)
{
    ul_section s;
    ul_err e = ul_schema_section_decode(&s, u->buf, u->body_len);
    if (e != UL_OK) {
        return e;
    }
    /* The header the proofs are against may come as a checkpoint; a step may not. */
    bool cp_ok = s.type == UL_SEC_CHECKPOINT && u->expect == UL_SEC_HEADER && u->steps_left == 0;
    if (s.type != u->expect && !cp_ok) {
        return UL_E_SCHEMA_FIELD; /* a section out of order */
    }
    switch (s.type) {
    case UL_SEC_BEGIN:
        return on_begin(u, &s);
    case UL_SEC_HEADER:
    case UL_SEC_CHECKPOINT:
        return on_header(u, &s);
    case UL_SEC_VOTER:
        return on_voter(u, &s);
    case UL_SEC_SIG:
        return on_sig(u, &s);
    case UL_SEC_STATE:
        return on_state(u, &s);
    default:
        return UL_E_SCHEMA_FIELD; /* streamed sections never come whole */
    }
}

/* Takes what it can of in[0..*len): one head byte, or body bytes up to the section's end, and
 * checks the section once it is whole. */
static ul_err take(ul_update *u, const uint8_t **in, size_t *len)
{
    if (u->expect == EXPECT_END) {
        return UL_E_CBOR_TRAILING;
    }
    if (!u->framed) {
        size_t head_len = 0;
        uint64_t body_len = 0;
        u->head[u->head_have++] = **in;
        (*in)++;
        (*len)--;
        ul_err e = ul_schema_section_frame(u->head, u->head_have, &head_len, &body_len);
        if (e == UL_E_TRUNCATED && u->head_have < sizeof u->head) {
            return UL_OK;
        }
        if (e != UL_OK) {
            return e == UL_E_TRUNCATED ? UL_E_CBOR_MALFORMED : e;
        }
        u->framed = true;
        u->body_len = (size_t)body_len;
        u->body_have = 0;
        /* LEAF, INCLUSION and SIBLINGS stream item by item; any other section must fit the
         * buffer whole. */
        u->stream = u->expect == UL_SEC_LEAF || u->expect == UL_SEC_INCLUSION ||
                    u->expect == UL_SEC_SIBLINGS;
        if (u->stream) {
            u->held = 0;
            u->consumed = 0;
            if (u->expect == UL_SEC_LEAF) {
                memset(&u->w.lf, 0, sizeof u->w.lf);
            }
            ul_schema_leaf_walk_init(&u->walk);
        } else if (u->body_len > sizeof u->buf) {
            return UL_E_LIMIT;
        }
    } else if (u->stream) {
        size_t n = u->body_len - u->body_have;
        n = n < *len ? n : *len;
        n = n < sizeof u->buf - u->held ? n : sizeof u->buf - u->held;
        memcpy(u->buf + u->held, *in, n);
        u->held += n;
        u->body_have += n;
        *in += n;
        *len -= n;
        ul_err e = stream_drain(u);
        if (e != UL_OK) {
            return e;
        }
    } else {
        size_t n = u->body_len - u->body_have;
        n = n < *len ? n : *len;
        memcpy(u->buf + u->body_have, *in, n);
        u->body_have += n;
        *in += n;
        *len -= n;
    }
    if (u->body_have < u->body_len) {
        return UL_OK;
    }
    u->framed = false;
    u->head_have = 0;
    return u->stream ? stream_end(u) : on_section(u);
}

ul_err ul_client_bundle_update(ul_update *u, const uint8_t *in, size_t len)
{
    ul_err entry = ul_client_update_enter(u, UL_PH_BUNDLE);
    if (entry != UL_OK) {
        return entry;
    }
    if (in == NULL && len > 0) {
        return ul_client_update_fail(u, UL_E_ARG);
    }
    while (len > 0) {
        ul_err e = take(u, &in, &len);
        if (e != UL_OK) {
            return ul_client_update_fail(u, e);
        }
    }
    return UL_OK;
}

ul_err ul_client_bundle_final(ul_update *u, ul_release_info *info)
{
    ul_err e = UL_OK;
    ul_err entry = ul_client_update_enter(u, UL_PH_BUNDLE);
    if (entry != UL_OK) {
        return entry;
    }
    if (u->expect != EXPECT_END || u->framed || u->head_have > 0) {
        return ul_client_update_fail(u, UL_E_TRUNCATED);
    }
    /* The release's own verdicts, in the order the contract gives. */
    if (!u->ns_ok) {
        e = UL_E_NAMESPACE;
    } else if (!u->hw_ok) {
        e = UL_E_HW_MISMATCH;
    } else if (u->revoked) {
        e = UL_E_REVOKED;
    } else if (!u->installable) {
        e = UL_E_NOT_INSTALLABLE;
    } else if (u->rollback) {
        e = UL_E_ROLLBACK;
    } else if (!u->dep_ok) {
        e = UL_E_DEPENDENCY;
    }
    if (e != UL_OK) {
        return ul_client_update_fail(u, e);
    }
    u->phase = UL_PH_IMAGE;
    memset(&u->w.img, 0, sizeof u->w.img);
    ul_client_sha256_init(&u->w.img.hash);
    if (info != NULL) {
        *info = u->info;
    }
    return UL_OK;
}

bool ul_client_update_current(const ul_update *u, ul_release_info *info)
{
    /* UL_E_ROLLBACK is only ever recorded by bundle_final, after every earlier verdict held. */
    if (u == NULL || u->err != UL_E_ROLLBACK || !u->current) {
        return false;
    }
    if (info != NULL) {
        *info = u->info;
    }
    return true;
}

/* ---- Accept, abort ------------------------------------------------------------------------ */

static void slot_fill(ul_slot *sl, const ul_release_info *in)
{
    memset(sl, 0, sizeof *sl);
    sl->seq = in->seq;
    memcpy(sl->digest, in->digest, UL_HASH_BYTES);
    sl->size = in->size;
    sl->version_len = in->version_len;
    memcpy(sl->version, in->version, in->version_len);
}

/* Position of a new component ns: components stay sorted by namespace bytes, shorter first. */
static size_t comp_insert_at(const ul_device_state *st, const uint8_t *ns, size_t ns_len)
{
    size_t i = 0;
    for (; i < st->n_components; i++) {
        const ul_component *c = &st->comp[i];
        size_t m = c->ns_len < ns_len ? c->ns_len : ns_len;
        int d = memcmp(c->ns, ns, m);
        if (d > 0 || (d == 0 && c->ns_len > ns_len)) {
            break;
        }
    }
    return i;
}

ul_err ul_client_update_accept(ul_update *u, ul_device_state *st)
{
    if (u == NULL) {
        return UL_E_ARG;
    }
    if (u->err != UL_OK) {
        return u->err;
    }
    if (u->phase != UL_PH_IMAGE_OK || st == NULL || st != u->st) {
        return UL_E_SEQUENCE_CALL; /* nothing written: the image was not accepted (here) */
    }
    size_t i = u->comp;
    if (i == st->n_components) {
        i = comp_insert_at(st, u->ns, u->ns_len);
        memmove(&st->comp[i + 1], &st->comp[i], (st->n_components - i) * sizeof st->comp[0]);
        st->n_components++;
        memset(&st->comp[i], 0, sizeof st->comp[i]);
        memcpy(st->comp[i].ns, u->ns, u->ns_len);
        st->comp[i].ns_len = u->ns_len;
        st->comp[i].active = 1; /* so that slot 0 is the one written, as update_slot said */
    }
    ul_component *c = &st->comp[i];
    uint64_t slot = 1 - (c->active & 1);
    slot_fill(&c->slot[slot], &u->info);
    c->active = slot;
    c->trial = true;
    c->boots = 0;
    st->height = u->hd.height;
    memcpy(st->header_hash, u->hd_hash, UL_HASH_BYTES);
    memcpy(st->valset_hash, u->hd.next_validators_hash, UL_HASH_BYTES);
    ul_client_update_abort(u);
    return UL_OK;
}

void ul_client_update_abort(ul_update *u)
{
    if (u != NULL) {
        sodium_memzero(u, sizeof *u);
    }
}

uint64_t ul_client_update_slot(const ul_device_state *st, const uint8_t *ns, size_t ns_len)
{
    size_t i = comp_index(st, ns, ns_len);
    return i < st->n_components ? 1 - (st->comp[i].active & 1) : 0;
}

ul_err ul_client_bundle_verify(ul_update *u, ul_release_info *info, const ul_device_state *st,
                               const uint8_t *ns, size_t ns_len, const uint8_t *bundle, size_t len)
{
    ul_err e = ul_client_update_begin(u, st, ns, ns_len, NULL, 0, 0);
    if (e == UL_OK) {
        e = ul_client_bundle_update(u, bundle, len);
    }
    return e != UL_OK ? e : ul_client_bundle_final(u, info);
}
