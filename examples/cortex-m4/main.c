/* Example firmware for QEMU's mps2-an386 (Cortex-M4): one update through libupclient's streaming
 * API, fed in chunks of UL_FW_CHUNK bytes as a radio would deliver them, reading the files by
 * semihosting from QEMU's working directory:
 *   device.cfg    line 1: the hardware class; line 2: the namespace to update; optional line 3:
 *                 an installed component "NS=VERSION@SEQ" (ul_client_device_add_spec)
 *   genesis.cbor  the trust anchor;  bundle.cbor  the proof bundle;  image.bin  the image file
 * It prints "verdict: UL_E_NAME (n)" (UL_OK when the update is accepted), then the figures
 * tests/bench/mcu_figures.sh reads: SysTick ticks spent in signature checks, in SHA-256 and in
 * all, the stack high-water mark and the context sizes. Exit status 0 on UL_OK. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <secp256k1_schnorrsig.h>
#include <sodium/crypto_hash_sha256.h>

#include "client/ul_client.h"
#include "fw.h"

#define UL_FW_CHUNK 128         /* bytes per "radio packet" */
#define UL_FW_GENESIS_MAX 16384 /* genesis buffer (a real device keeps it in flash) */
#define UL_FW_CFG_MAX 512

/* ---- SysTick clock: 24-bit down-counter at the core clock; wraps counted by the interrupt ---- */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_MAX 0xFFFFFFu
/* The DWT cycle counter, enabled too: QEMU does not model it (it stays 0), which main prints
 * as dwt_cycles so the figures say so rather than assume it. */
#define DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)

static volatile uint32_t wraps;

void ul_fw_systick(void)
{
    wraps++;
}

/* A wrap whose interrupt is still pending (SysTick's PENDSTSET in ICSR) is counted here. */
#define ICSR (*(volatile uint32_t *)0xE000ED04u)
#define ICSR_PENDSTSET (1u << 26)

static uint64_t ticks(void)
{
    uint32_t w, v, pend;
    do {
        w = wraps;
        v = SYST_CVR;
        pend = ICSR & ICSR_PENDSTSET;
    } while (w != wraps);
    if (pend != 0 && v > SYST_MAX / 2) {
        w++;
    }
    return (uint64_t)w * (SYST_MAX + 1u) + (SYST_MAX - v);
}

/* Time inside the wrapped library calls (linked with -Wl,--wrap=..., scripts/mcu.mk). */
static uint64_t t_sig, t_hash;
static unsigned n_sig, depth;

int __real_secp256k1_schnorrsig_verify(const secp256k1_context *ctx, const unsigned char *sig64,
                                       const unsigned char *msg, size_t msglen,
                                       const secp256k1_xonly_pubkey *pk);
int __wrap_secp256k1_schnorrsig_verify(const secp256k1_context *ctx, const unsigned char *sig64,
                                       const unsigned char *msg, size_t msglen,
                                       const secp256k1_xonly_pubkey *pk);
int __wrap_secp256k1_schnorrsig_verify(const secp256k1_context *ctx, const unsigned char *sig64,
                                       const unsigned char *msg, size_t msglen,
                                       const secp256k1_xonly_pubkey *pk)
{
    uint64_t t0 = ticks();
    int r = __real_secp256k1_schnorrsig_verify(ctx, sig64, msg, msglen, pk);
    t_sig += ticks() - t0;
    n_sig++;
    return r;
}

#define UL_FW_WRAP_HASH(name, params, args)                                                        \
    int __real_##name params;                                                                      \
    int __wrap_##name params;                                                                      \
    int __wrap_##name params                                                                       \
    {                                                                                              \
        uint64_t t0 = ticks();                                                                     \
        depth++;                                                                                   \
        int r = __real_##name args;                                                                \
        if (--depth == 0) {                                                                        \
            t_hash += ticks() - t0;                                                                \
        }                                                                                          \
        return r;                                                                                  \
    }
UL_FW_WRAP_HASH(crypto_hash_sha256,
                (unsigned char *o, const unsigned char *in, unsigned long long n), (o, in, n))
UL_FW_WRAP_HASH(crypto_hash_sha256_update,
                (crypto_hash_sha256_state * s, const unsigned char *in, unsigned long long n),
                (s, in, n))
UL_FW_WRAP_HASH(crypto_hash_sha256_final, (crypto_hash_sha256_state * s, unsigned char *o), (s, o))

/* ---- output over semihosting (write to stdout, no stdio) --------------------------------------
 */
static void put(const char *s)
{
    (void)!write(1, s, strlen(s));
}

static void put_u64(const char *label, uint64_t v)
{
    char d[24];
    size_t i = sizeof d;
    d[--i] = '\0';
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0 && i > 0);
    put(label);
    put(&d[i]);
    put("\n");
}

/* ---- the update ----------------------------------------------------------------------------- */
static ul_device_state st;
static ul_update u;
static uint8_t genesis[UL_FW_GENESIS_MAX];
static uint8_t chunk[UL_FW_CHUNK];
static char cfg[UL_FW_CFG_MAX];
static uint64_t image_bytes;

static int sink(void *arg, const uint8_t *p, size_t n)
{
    (void)arg;
    (void)p;
    image_bytes += n; /* a device writes these to its inactive slot */
    return 0;
}

/* Reads a whole small file into buf. Returns its length, or -1. */
static long read_file(const char *path, void *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        return -1;
    }
    long n = read(fd, buf, cap);
    close(fd);
    return (n < 0 || (size_t)n >= cap) ? -1 : n;
}

/* Feeds a file to the bundle (image == 0) or the image (image == 1) in UL_FW_CHUNK-byte chunks. */
static ul_err feed(const char *path, int image)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        return UL_E_IO;
    }
    ul_err e = UL_OK;
    for (;;) {
        int n = read(fd, chunk, sizeof chunk);
        if (n <= 0) {
            e = n < 0 ? UL_E_IO : e;
            break;
        }
        e = image ? ul_client_image_update(&u, chunk, (size_t)n, sink, NULL)
                  : ul_client_bundle_update(&u, chunk, (size_t)n);
        if (e != UL_OK) {
            break;
        }
    }
    close(fd);
    return e;
}

/* Splits cfg into its lines: hw, ns, and an optional installed component. */
static ul_err device_setup(void)
{
    long n = read_file("device.cfg", cfg, sizeof cfg);
    long g = read_file("genesis.cbor", genesis, sizeof genesis);
    if (n < 0 || g < 0) {
        return UL_E_IO;
    }
    char *line[3] = {cfg, NULL, NULL};
    size_t len[3] = {0, 0, 0};
    int k = 0;
    for (long i = 0; i < n && k < 3; i++) {
        if (cfg[i] == '\n') {
            len[k] = (size_t)(&cfg[i] - line[k]);
            if (++k < 3) {
                line[k] = &cfg[i + 1];
            }
        }
    }
    if (k < 2) {
        return UL_E_ARG;
    }
    ul_err e = ul_client_device_init(&st, genesis, (size_t)g, (const uint8_t *)line[0], len[0]);
    if (e == UL_OK && k == 3 && len[2] > 0) {
        e = ul_client_device_add_spec(&st, (const uint8_t *)line[2], len[2]);
    }
    if (e == UL_OK) {
        e = ul_client_update_begin(&u, &st, (const uint8_t *)line[1], len[1], NULL, 0, 0);
    }
    return e;
}

/* Highest stack use (bytes from the top) of each phase: device set-up (genesis decoding),
 * bundle, image and accept; the stack is painted again between phases. */
static size_t stack_phase[3];

static uint64_t t_paint; /* ticks spent measuring and painting, left out of the total */

static void stack_mark(int phase)
{
    uint64_t t0 = ticks();
    if (phase >= 0) {
        stack_phase[phase] = ul_fw_stack_used();
    }
    ul_fw_stack_paint();
    t_paint += ticks() - t0;
}

static ul_err update(void)
{
    stack_mark(-1);
    ul_err e = device_setup();
    stack_mark(0);
    if (e == UL_OK) {
        e = feed("bundle.cbor", 0);
    }
    if (e == UL_OK) {
        e = ul_client_bundle_final(&u, NULL);
    }
    stack_mark(1);
    if (e == UL_OK) {
        e = feed("image.bin", 1);
    }
    if (e == UL_OK) {
        e = ul_client_image_final(&u, sink, NULL);
    }
    if (e == UL_OK) {
        e = ul_client_update_accept(&u, &st);
    } else {
        ul_client_update_abort(&u);
    }
    stack_mark(2);
    return e;
}

int main(void)
{
    SYST_RVR = SYST_MAX;
    SYST_CVR = 0;
    SYST_CSR = 7;      /* enable, interrupt on wrap, core clock */
    DEMCR |= 1u << 24; /* TRCENA */
    DWT_CYCCNT = 0;
    DWT_CTRL |= 1u; /* CYCCNTENA */
    ul_err e = ul_client_init();
    uint64_t t0 = ticks();
    if (e == UL_OK) {
        e = update();
    }
    uint64_t total = ticks() - t0 - t_paint;
    put("verdict: ");
    put(ul_err_name(e));
    put_u64(" ", (uint64_t)e);
    put_u64("ticks_total: ", total);
    put_u64("ticks_sig: ", t_sig);
    put_u64("ticks_hash: ", t_hash);
    put_u64("dwt_cycles: ", DWT_CYCCNT);
    put_u64("sig_checks: ", n_sig);
    put_u64("image_bytes: ", image_bytes);
    put_u64("stack_setup: ", stack_phase[0]);
    put_u64("stack_bundle: ", stack_phase[1]);
    put_u64("stack_image: ", stack_phase[2]);
    put_u64("sizeof_update: ", sizeof u);
    put_u64("sizeof_device_state: ", sizeof st);
    return e == UL_OK ? 0 : 1;
}
