/* CLI helpers around keys and transactions: passphrases, key arguments, signing, submitting. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define SUBMIT_POLL_MS 5
#define SUBMIT_WAIT_MS 30000

void ul_cli_free_secret(char *s)
{
    ul_passphrase_free(s);
}

ul_err ul_cli_passphrase(const char *passphrase_file, bool confirm, char **out)
{
    return ul_passphrase_read(passphrase_file, confirm, out);
}

ul_err ul_cli_load_key(const char *path, const char *passphrase_file, ul_key **out)
{
    char *pass = NULL;
    if (ul_cli_regular_file(path) != UL_OK) {
        return UL_E_IO; /* errno says why */
    }
    ul_err e = UL_OK;
    if (ul_key_file_encrypted(path)) {
        e = ul_cli_passphrase(passphrase_file, false, &pass);
    }
    if (e == UL_OK) {
        e = ul_key_load(out, path, pass);
    }
    ul_cli_free_secret(pass);
    if (e == UL_E_KEY_PERMS) {
        ul_cli_key_perms_detail(path);
    }
    return e;
}

ul_err ul_cli_pubkey_arg(const char *arg, uint8_t pub32[UL_PUBKEY_BYTES])
{
    if (strlen(arg) == 2 * UL_PUBKEY_BYTES && ul_hex_decode(pub32, UL_PUBKEY_BYTES, arg) == UL_OK) {
        return ul_client_pubkey_check(pub32); /* a key that could never sign: UL_E_KEY */
    }
    return ul_cli_regular_file(arg) == UL_OK ? ul_key_load_pubkey(arg, pub32) : UL_E_IO;
}

ul_err ul_cli_id_arg(const char *arg, uint8_t id32[UL_HASH_BYTES])
{
    return ul_hex_decode(id32, UL_HASH_BYTES, arg) == UL_OK ? UL_OK : UL_E_ARG;
}

ul_err ul_cli_u64_arg(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = s[0] >= '0' && s[0] <= '9' ? strtoull(s, &end, 10) : 0;
    if (s[0] < '0' || s[0] > '9' || *end || errno == ERANGE) {
        return UL_E_ARG;
    }
    *v = x;
    return UL_OK;
}

ul_err ul_cli_chain_id(ul_cli *cli, uint8_t chain_id32[UL_HASH_BYTES])
{
    ul_msg q, r;
    uint8_t *buf;
    ul_q_status_reply st;
    ul_q_status_req(&q);
    ul_err e = ul_cli_call(cli, &q, &r, &buf);
    if (e == UL_OK && (e = ul_q_status_reply_read(&r, &st)) == UL_OK) {
        memcpy(chain_id32, st.chain_id.ptr, UL_HASH_BYTES);
    }
    ul_p2p_free(buf);
    return e;
}

static int cmp_sig(const void *a, const void *b)
{
    return memcmp(((const ul_sig *)a)->pubkey, ((const ul_sig *)b)->pubkey, UL_PUBKEY_BYTES);
}

ul_err ul_cli_sign_tx(ul_cli *cli, ul_key *const *keys, size_t n_keys, ul_tx_kind kind, ul_domain d,
                      const uint8_t *body, size_t blen, uint8_t *out, size_t cap, size_t *len)
{
    uint8_t chain_id[UL_HASH_BYTES];
    ul_tx t = {.kind = kind, .body = {body, blen}, .n_sigs = n_keys};
    ul_err e = n_keys >= 1 && n_keys <= UL_MAX_SIGS ? ul_cli_chain_id(cli, chain_id) : UL_E_LIMIT;
    for (size_t i = 0; e == UL_OK && i < n_keys; i++) {
        memcpy(t.sigs[i].pubkey, ul_key_pubkey(keys[i]), UL_PUBKEY_BYTES);
        e = ul_key_sign(keys[i], t.sigs[i].sig, d, chain_id, body, blen);
    }
    if (e != UL_OK) {
        return e;
    }
    qsort(t.sigs, n_keys, sizeof t.sigs[0], cmp_sig); /* canonical: sorted by key */
    return ul_schema_tx_encode(out, cap, len, &t);
}

ul_err ul_cli_load_keys(const char *const *paths, size_t n, const char *passphrase_file,
                        ul_key **keys, char *msg, size_t cap)
{
    for (size_t i = 0; i < n; i++) {
        ul_err e = ul_cli_load_key(paths[i], passphrase_file, &keys[i]);
        if (e != UL_OK) {
            ul_cli_file_msg(msg, cap, e, "loading --key", paths[i]);
            ul_cli_free_keys(keys, i);
            return e;
        }
    }
    return UL_OK;
}

void ul_cli_free_keys(ul_key **keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ul_key_destroy(keys[i]);
        keys[i] = NULL;
    }
}

ul_err ul_cli_next_nonce(ul_cli *cli, ul_key *const *keys, size_t n, uint64_t *nonce)
{
    *nonce = 1;
    for (size_t i = 0; i < n; i++) {
        ul_msg q, r;
        uint8_t *buf;
        uint64_t last = 0;
        ul_q_nonce_reply nr;
        ul_q_nonce_req(&q, ul_key_pubkey(keys[i]));
        ul_err e = ul_cli_call(cli, &q, &r, &buf);
        if (e == UL_OK && (e = ul_q_nonce_reply_read(&r, &nr)) == UL_OK) {
            last = nr.nonce;
        }
        ul_p2p_free(buf);
        if (e != UL_OK) {
            return e;
        }
        /* Above every signer's last nonce, so it is fresh for each of them. */
        *nonce = last + 1 > *nonce ? last + 1 : *nonce;
    }
    return UL_OK;
}

static ul_err poll_committed(ul_cli *cli, const uint8_t id32[UL_HASH_BYTES], uint64_t *height)
{
    for (int waited = 0; waited < SUBMIT_WAIT_MS; waited += SUBMIT_POLL_MS) {
        ul_msg q, r;
        uint8_t *buf;
        uint64_t h = 0;
        ul_q_tx_status_reply tr;
        ul_q_tx_status_req(&q, id32);
        ul_err e = ul_cli_call(cli, &q, &r, &buf);
        if (e == UL_OK && (e = ul_q_tx_status_reply_read(&r, &tr)) == UL_OK) {
            h = tr.height;
        }
        ul_p2p_free(buf);
        if (e != UL_OK) {
            return e; /* UL_E_NOT_FOUND: the node lost the pending block (crash) */
        }
        if (h > 0) {
            *height = h;
            return UL_OK;
        }
        struct timespec ts = {0, SUBMIT_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    return UL_E_TIMEOUT;
}

/* nanomsg's REQ socket resends a request when its connection drops and comes back, so a submit
 * can reach a node twice: the second copy is refused (duplicate release, namespace exists,
 * replayed nonce) although the first committed. BIP-340 signatures here carry fresh randomness,
 * so the same tx bytes on the chain can only be this submission: then it succeeded. */
static bool ours_committed(ul_cli *cli, const uint8_t *tx, size_t len, uint8_t id[UL_HASH_BYTES],
                           uint64_t *height)
{
    ul_msg q, r;
    ul_tx t;
    ul_q_release_reply rr;
    ul_q_tx_status_reply ts;
    uint8_t *buf;
    uint64_t h = 0;
    bool same = false;
    if (ul_schema_tx_decode(&t, tx, len) != UL_OK) {
        return false;
    }
    if (t.kind == UL_TX_PUBLISH) {
        ul_client_sha256(id, t.body.ptr, t.body.len);
        ul_q_release_req(&q, id);
        if (ul_cli_call(cli, &q, &r, &buf) == UL_OK && ul_q_release_reply_read(&r, &rr) == UL_OK) {
            h = rr.height;
            same = rr.tx.len == len && memcmp(rr.tx.ptr, tx, len) == 0;
        }
    } else {
        ul_client_sha256(id, tx, len); /* other txs are known by the hash of their bytes */
        ul_q_tx_status_req(&q, id);
        same = ul_cli_call(cli, &q, &r, &buf) == UL_OK &&
               ul_q_tx_status_reply_read(&r, &ts) == UL_OK && (h = ts.height) > 0;
    }
    ul_p2p_free(buf);
    if (same) {
        *height = h;
    }
    return same;
}

ul_err ul_cli_submit(ul_cli *cli, const uint8_t *tx, size_t len, bool wait,
                     uint8_t id32[UL_HASH_BYTES], uint64_t *height)
{
    ul_msg q, r, one;
    ul_span item = {tx, len}, res;
    uint8_t *buf;
    uint64_t st = 0;
    ul_q_submit_reply sr;
    ul_q_submit_result sres;
    ul_q_submit_req(&q, &item, 1);
    ul_err e = ul_cli_call(cli, &q, &r, &buf);
    if (e == UL_OK && (ul_q_submit_reply_read(&r, &sr) != UL_OK || sr.results.n != 1 ||
                       !ul_msg_list_next(&sr.results.wire, &res) ||
                       ul_q_submit_result_decode(&one, res, &sres) != UL_OK)) {
        e = UL_E_PROTOCOL;
    }
    if (e == UL_OK) {
        st = sres.err;
        memcpy(id32, sres.id.ptr, UL_HASH_BYTES);
    }
    ul_p2p_free(buf);
    if (e != UL_OK) {
        return e;
    }
    *height = 0;
    if ((st == UL_E_DUPLICATE || st == UL_E_NS_EXISTS || st == UL_E_REPLAY) &&
        ours_committed(cli, tx, len, id32, height)) {
        return UL_OK;
    }
    if (st != UL_OK) {
        return (ul_err)st;
    }
    return wait ? poll_committed(cli, id32, height) : UL_OK;
}
