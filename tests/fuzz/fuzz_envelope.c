/* Fuzz target for the peer envelope decoder (ul_schema_envelope_decode), the first code that
 * reads what another node sends: whatever decodes must be in range, point inside the input,
 * re-encode to the input bytes exactly, and have as signed bytes the same map without its
 * signature and attachment. Built with -DUL_FUZZ_GEN (without replay.c), main() writes the seeds:
 *   cc -std=c11 -D_GNU_SOURCE -I. -DUL_FUZZ_GEN tests/fuzz/fuzz_envelope.c build/libupclient.a \
 *      -lsecp256k1 -lsodium -lcbor -o /tmp/gen_env && /tmp/gen_env tests/fuzz/corpus/fuzz_envelope
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/ul_schema.h"

/* Key 4, the bstr(64) head and the signature: what the signed map leaves out at the end (and
 * the attachment after it, when there is one). */
#define SIG_TAIL (1 + 2 + UL_SIG_BYTES)

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_envelope: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ul_envelope e;
    size_t n;

    if (ul_schema_envelope_decode(&e, data, size) != UL_OK) {
        return 0;
    }
    check(e.kind >= 1 && e.kind <= UL_PEER_KIND_MAX, "kind out of range");
    check(e.payload.len <= UL_MAX_PEER_PAYLOAD, "payload over the limit");
    check(size <= UL_MAX_PEER_ENVELOPE_BYTES, "envelope over the limit");
    check(e.payload.ptr >= data && e.payload.ptr + e.payload.len <= data + size,
          "payload outside the input");
    check(!e.has_attach || (e.attach.len <= UL_MAX_PEER_PAYLOAD && e.attach.ptr >= data &&
                            e.attach.ptr + e.attach.len == data + size),
          "attachment over the limit, outside the input or not last");
    uint8_t *out = malloc(size);
    check(out != NULL, "malloc");
    check(ul_schema_envelope_encode(out, size, &n, &e) == UL_OK, "re-encode");
    check(n == size && memcmp(out, data, size) == 0, "round trip differs");
    /* The signed bytes: 0xa3 and everything up to the signature's key, which follows the
     * payload. */
    size_t signed_len = (size_t)(e.payload.ptr + e.payload.len - data);
    check(ul_schema_envelope_signed_encode(out, size, &n, &e) == UL_OK, "signed bytes");
    check(n == signed_len && out[0] == 0xa3 && data[0] == (e.has_attach ? 0xa5 : 0xa4),
          "signed map head");
    check(size - signed_len >= SIG_TAIL, "signature missing after the payload");
    check(memcmp(out + 1, data + 1, n - 1) == 0, "signed bytes differ from the envelope's");
    free(out);
    return 0;
}

#ifdef UL_FUZZ_GEN
/* ---- seed corpus generator ---------------------------------------------------------------- */

static const char *g_outdir;

static void put(const char *name, const uint8_t *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_outdir, name);
    FILE *f = fopen(path, "wb");
    check(f != NULL, "open output");
    check(n == 0 || fwrite(p, 1, n, f) == n, "write");
    fclose(f);
}

static size_t put_att(const char *name, uint64_t kind, const uint8_t *payload, size_t len,
                      const uint8_t *att, size_t alen, uint8_t *out, size_t cap)
{
    ul_envelope e = {
        .kind = kind, .payload = {payload, len}, .attach = {att, alen}, .has_attach = att != NULL};
    size_t n;
    memset(e.from, 0x42, sizeof e.from);
    memset(e.sig, 0x5a, sizeof e.sig);
    check(ul_schema_envelope_encode(out, cap, &n, &e) == UL_OK, "encode");
    put(name, out, n);
    return n;
}

static size_t put_env(const char *name, uint64_t kind, const uint8_t *payload, size_t len,
                      uint8_t *out, size_t cap)
{
    return put_att(name, kind, payload, len, NULL, 0, out, cap);
}

int main(int argc, char **argv)
{
    static const uint8_t vote[] = {0xa5, 0x01, 0x02, 0x02, 0x01, 0x03, 0x00};
    static uint8_t big[70000];
    uint8_t out[80000], bad[256];
    size_t n;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    g_outdir = argv[1];
    memset(big, 0x33, sizeof big);

    put_env("proposal-empty", UL_PEER_PROPOSAL, NULL, 0, out, sizeof out);
    put_env("txs-300", UL_PEER_TXS, big, 300, out, sizeof out);
    put_env("status-70000", UL_PEER_STATUS, big, sizeof big, out, sizeof out); /* 4-byte head */
    put_att("txs-attached", UL_PEER_TXS, big, 64, big, 300, out, sizeof out);
    put_att("proposal-attached-empty", UL_PEER_PROPOSAL, big, 40, big, 0, out, sizeof out);
    n = put_att("bad-attach-text", UL_PEER_TXS, big, 32, big, 3, bad, sizeof bad);
    bad[n - 4] = 0x63; /* the attachment as text */
    put("bad-attach-text", bad, n);
    n = put_env("vote-for-key-6", UL_PEER_VOTE, vote, sizeof vote, bad, sizeof bad);
    bad[0] = 0xa5; /* a fifth entry, key 6: unknown */
    bad[n] = 0x06;
    bad[n + 1] = 0x40;
    put("bad-key-6", bad, n + 2);

    n = put_env("vote", UL_PEER_VOTE, vote, sizeof vote, bad, sizeof bad);
    bad[2] = 0x05;
    put("bad-kind-5", bad, n);
    bad[2] = 0x02;
    bad[0] = 0xa3;
    put("bad-no-sig", bad, n - SIG_TAIL);
    memmove(bad + 3, bad + 2, n - 2);
    bad[0] = 0xa4;
    bad[2] = 0x18; /* kind in a two-byte head */
    put("bad-long-kind", bad, n + 1);
    static const uint8_t unsorted[] = {0xa2, 0x02, 0x00, 0x01, 0x01};
    static const uint8_t indef[] = {0xbf, 0x01, 0x01, 0xff};
    put("bad-unsorted", unsorted, sizeof unsorted);
    put("bad-indefinite", indef, sizeof indef);
    put("empty", bad, 0);
    return 0;
}
#endif
