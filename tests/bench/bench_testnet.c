/* Testnet benchmark: against a running loopback testnet (testnet/up.sh), sustained release
 * commits/s, commit latency at a paced offered load, and the catch-up speed of a new node.
 * Usage: bench_testnet load DIR N RATE SECONDS
 *        bench_testnet catchup DIR I CMD [ARG...]   (CMD starts node I, e.g. testnet/restart.sh)
 * DIR is the testnet directory (testnet.json, genesis.cbor). tests/bench/run.sh starts and stops
 * the testnet. Prints "bench: <name>: <value> <unit>"; figures only, nothing is asserted.
 * BENCH_TN_TIMELINE=1 also prints node 0's heights during the sustained phase (stderr). */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_rpc.h"

#define MAX_NODES 16           /* validators driven at once (one client thread each) */
#define NS_PER_NODE 2          /* publishers (own key and namespace) whose txs go to each node */
#define CALL_TIMEOUT_MS 60000  /* a batch of 1024 on a loaded node answers well within this */
#define READY_WAIT_S 30.0      /* every validator answers STATUS within this */
#define STALL_S 60.0           /* no commit progress this long ends a phase as failed */
#define QUIET_S 3.0            /* all sent, node 0's pool empty, no commit this long: all done */
#define BUSY_SLEEP_NS 5000000L /* 5 ms before re-submitting what a full pool refused */
/* 10 ms between node 0's STATUS polls in the sustained phase: its last commit and pool peak to
 * 10 ms. Each poll costs node 0 about 37 us of CPU, under 1 us per release at the thousands of
 * releases a second that phase commits (the latency phase polls less: LAT_POLL_NS). */
#define STATUS_POLL_NS 10000000L
/* The latency phase times commits from node 0's log (to the millisecond), so its STATUS polls
 * only tell when the phase is over: ten a second, where a hundred cost node 0 about 4 us of CPU
 * per release at 1000 releases/s (1% of the four validators' CPU, in three runs). */
#define LAT_POLL_NS 100000000L
#define TICK_NS 10000000L         /* 10 ms between paced batches */
#define CATCHUP_POLL_NS 20000000L /* 20 ms between a catching-up node's STATUS polls */
#define CATCHUP_WAIT_S 600.0      /* the new node reaches the head within this */

static const char *const target_sustained = ">= 3000 releases/s";
static const char *const target_p99 = "<= 1 s at 1000 releases/s";

extern char **environ;

static int fail(const char *what, ul_err e)
{
    fprintf(stderr, "bench_testnet: %s: %s (%s)\n", what, ul_err_str(e), ul_err_name(e));
    return 1;
}

static void sleep_ns(long ns)
{
    struct timespec ts = {ns / 1000000000L, ns % 1000000000L};
    nanosleep(&ts, NULL);
}

/* ---- the testnet: DIR/testnet.json ---------------------------------------------------------- */

typedef struct {
    const char *dir;              /* the testnet directory (DIR/nodeI/node.pid) */
    size_t n_val;                 /* validators: nodes 0 .. n_val - 1 */
    size_t n_nodes;               /* validators and observers */
    char rpc[2 * MAX_NODES][128]; /* query endpoints by node index */
    char log0[4096];              /* validator 0's log file: its commits' times */
    uint8_t chain_id[UL_HASH_BYTES];
} testnet;

static int testnet_load(testnet *tn, const char *dir)
{
    char path[4200];
    json_error_t jerr;
    memset(tn, 0, sizeof *tn);
    tn->dir = dir;
    snprintf(path, sizeof path, "%s/testnet.json", dir);
    json_t *root = json_load_file(path, 0, &jerr);
    json_t *nodes = root ? json_object_get(root, "nodes") : NULL;
    const char *genesis = root ? json_string_value(json_object_get(root, "genesis")) : NULL;
    int rc = 1;
    if (!json_is_array(nodes) || !genesis || json_array_size(nodes) > 2 * MAX_NODES) {
        fprintf(stderr, "bench_testnet: %s: not a testnet description (%s)\n", path,
                root ? "nodes, genesis" : jerr.text);
        goto out;
    }
    for (size_t i = 0; i < json_array_size(nodes); i++) {
        json_t *nd = json_array_get(nodes, i);
        const char *rpc = json_string_value(json_object_get(nd, "rpc"));
        const char *role = json_string_value(json_object_get(nd, "role"));
        if (!rpc || !role || strlen(rpc) >= sizeof tn->rpc[0]) {
            fprintf(stderr, "bench_testnet: %s: node %zu lacks rpc or role\n", path, i);
            goto out;
        }
        memcpy(tn->rpc[i], rpc, strlen(rpc) + 1);
        tn->n_val += strcmp(role, "validator") == 0;
        const char *log = json_string_value(json_object_get(nd, "log"));
        if (i == 0 && (!log || strlen(log) >= sizeof tn->log0)) {
            fprintf(stderr, "bench_testnet: %s: node 0 lacks its log path\n", path);
            goto out;
        }
        if (i == 0) {
            memcpy(tn->log0, log, strlen(log) + 1);
        }
    }
    tn->n_nodes = json_array_size(nodes);
    if (tn->n_val == 0 || tn->n_val > MAX_NODES) {
        fprintf(stderr, "bench_testnet: 1..%d validators, please\n", MAX_NODES);
        goto out;
    }
    if (bench_read_chain_id(genesis, tn->chain_id) != UL_OK) {
        fprintf(stderr, "bench_testnet: cannot read %s\n", genesis);
        goto out;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

/* Connects to node i and waits until it answers STATUS for this chain. */
static int node_ready(const testnet *tn, size_t i, int *sock)
{
    bench_status st;
    ul_err e = ul_p2p_connect(sock, tn->rpc[i], CALL_TIMEOUT_MS);
    double deadline = bench_now_s() + READY_WAIT_S;
    while (e == UL_OK && (e = bench_get_status(*sock, &st)) != UL_OK && bench_now_s() < deadline) {
        sleep_ns(100000000L); /* 100 ms between a starting node's STATUS tries */
    }
    if (e != UL_OK) {
        fprintf(stderr, "bench_testnet: node %zu (%s): %s\n", i, tn->rpc[i], ul_err_name(e));
        return 1;
    }
    if (memcmp(st.chain_id, tn->chain_id, UL_HASH_BYTES) != 0) {
        fprintf(stderr, "bench_testnet: node %zu serves another chain than genesis\n", i);
        return 1;
    }
    return 0;
}

/* ---- publishers: keys, namespaces, pre-signed txs ------------------------------------------- */

typedef struct {
    ul_key *key;
    char ns[40];
    size_t node;        /* the one validator its txs go to, in sequence order */
    bench_txs sus, lat; /* releases 0 .. n_sus - 1, then the latency phase's */
} publisher;

typedef struct {
    publisher *pubs;
    size_t first, step, n_pubs, n_sus, n_lat;
    const uint8_t *cid;
    int rc;
} sign_job;

static void *sign_thread(void *arg)
{
    sign_job *j = arg;
    for (size_t p = j->first; p < j->n_pubs && j->rc == 0; p += j->step) {
        publisher *pb = &j->pubs[p];
        j->rc = bench_txs_make_ns(&pb->sus, pb->key, j->cid, pb->ns, 0, j->n_sus) ||
                bench_txs_make_ns(&pb->lat, pb->key, j->cid, pb->ns, j->n_sus, j->n_lat);
    }
    return NULL;
}

/* Pre-signs every publisher's txs on as many threads as there are cores. */
static int presign(publisher *pubs, size_t n_pubs, const uint8_t *cid, size_t n_sus, size_t n_lat)
{
    sign_job jobs[MAX_NODES];
    pthread_t th[MAX_NODES];
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t n_th = cores < 1 ? 1 : cores > MAX_NODES ? MAX_NODES : (size_t)cores;
    int rc = 0;
    double t0 = bench_now_s();
    for (size_t i = 0; i < n_th; i++) {
        jobs[i] = (sign_job){pubs, i, n_th, n_pubs, n_sus, n_lat, cid, 0};
        if (pthread_create(&th[i], NULL, sign_thread, &jobs[i]) != 0) {
            jobs[i].rc = 1;
            n_th = i;
        }
    }
    for (size_t i = 0; i < n_th; i++) {
        pthread_join(th[i], NULL);
        rc |= jobs[i].rc;
    }
    printf("bench: testnet pre-signing %zu publish txs (%zu threads): %.2f s\n",
           n_pubs * (n_sus + n_lat), n_th, bench_now_s() - t0);
    return rc;
}

/* Registers every publisher's namespace (its key, nonce 1) and the dependency namespace the
 * releases name (publisher 0, nonce 2) through node 0, and waits for the commits. */
static int register_all(int sock, publisher *pubs, size_t n_pubs, const uint8_t *cid)
{
    static uint8_t body[UL_MAX_RECORD_BYTES], txs[MAX_NODES * NS_PER_NODE + 1][UL_MAX_TX_BYTES];
    ul_span items[MAX_NODES * NS_PER_NODE + 1];
    ul_err st[MAX_NODES * NS_PER_NODE + 1];
    uint8_t ids[MAX_NODES * NS_PER_NODE + 1][UL_HASH_BYTES];
    size_t blen, n = 0;
    uint64_t h;
    ul_err e = UL_OK;
    for (size_t p = 0; e == UL_OK && p <= n_pubs; p++) {
        const ul_key *k = pubs[p < n_pubs ? p : 0].key;
        e = p < n_pubs
                ? bench_register_ns_body(body, sizeof body, &blen, ul_key_pubkey(k), pubs[p].ns, 1)
                : bench_register_ns_body(body, sizeof body, &blen, ul_key_pubkey(k), BENCH_DEP_NS,
                                         2);
        if (e == UL_OK) {
            e = bench_sign_tx(k, cid, UL_TX_REGISTER, body, blen, txs[n], sizeof txs[n],
                              &items[n].len);
            items[n].ptr = txs[n];
            n++;
        }
    }
    if (e == UL_OK) {
        e = bench_submit(sock, items, n, st, ids);
    }
    for (size_t i = 0; e == UL_OK && i < n; i++) {
        if (i == n - 1 && st[i] == UL_E_NS_EXISTS) {
            break; /* an earlier run registered the dependency: all the releases need */
        }
        if ((e = st[i]) == UL_OK) {
            e = bench_wait_committed(sock, ids[i], STALL_S, &h);
        }
    }
    return e != UL_OK ? fail("registering the namespaces", e) : 0;
}

/* ---- client threads: one per validator ------------------------------------------------------ */

typedef struct {
    int sock;
    const ul_span *txs; /* this node's txs in submit order (its publishers', interleaved) */
    size_t n;
    double rate;   /* paced phase: txs/s; 0: as fast as the node takes them */
    double t0;     /* paced phase: when the first batch goes out (monotonic) */
    double *t_sub; /* paced phase: per tx, when its submit went out (-1: refused) */
    size_t accepted, refused, busy_retries, batches;
    double batch_max_s, batch_sum_s;
    ul_err first_refusal, fatal; /* written by the worker only */
    atomic_bool stop;            /* set by the main thread: give up at the next batch */
    atomic_bool done;
} worker;

/* Submits txs [i, i + m) and accounts for them. Returns how many the node took or refused for
 * good: fewer than m when its pool was full (UL_E_BUSY), so the rest goes again in order. */
static size_t submit_some(worker *w, size_t i, size_t m, ul_err *st)
{
    double b0 = bench_now_s();
    ul_err e = bench_submit(w->sock, w->txs + i, m, st, NULL);
    double dt = bench_now_s() - b0;
    w->batches++;
    w->batch_sum_s += dt;
    w->batch_max_s = dt > w->batch_max_s ? dt : w->batch_max_s;
    if (e != UL_OK) {
        w->fatal = e;
        return 0;
    }
    for (size_t k = 0; k < m; k++) {
        if (st[k] == UL_E_BUSY) {
            w->busy_retries++;
            return k;
        }
        if (st[k] == UL_OK) {
            w->accepted++;
            continue;
        }
        w->refused++;
        w->first_refusal = w->first_refusal ? w->first_refusal : st[k];
        if (w->t_sub) {
            w->t_sub[i + k] = -1;
        }
    }
    return m;
}

static void *worker_thread(void *arg)
{
    ul_err st[UL_MAX_SUBMIT_TXS];
    worker *w = arg;
    size_t i = 0, tick;
    double stall_until = bench_now_s() + STALL_S;
    while (i < w->n && !w->fatal && !atomic_load(&w->stop)) {
        size_t due = w->n;
        if (w->rate > 0) {
            double elapsed = bench_now_s() - w->t0;
            due = elapsed < 0 ? 0 : (size_t)(elapsed * w->rate) + 1;
            due = due < w->n ? due : w->n;
        }
        while (i < due && !w->fatal) {
            size_t m = due - i < UL_MAX_SUBMIT_TXS ? due - i : UL_MAX_SUBMIT_TXS;
            double now = bench_now_s();
            for (size_t k = 0; w->t_sub && k < m; k++) {
                w->t_sub[i + k] = now;
            }
            size_t took = submit_some(w, i, m, st);
            i += took;
            if (took < m) {
                if (bench_now_s() > stall_until) {
                    w->fatal = UL_E_BUSY;
                }
                sleep_ns(BUSY_SLEEP_NS);
            } else {
                stall_until = bench_now_s() + STALL_S;
            }
        }
        if (w->rate > 0 && i < w->n) { /* paced by the clock: the next tick, not "10 ms later" */
            double elapsed = bench_now_s() - w->t0;
            tick = elapsed < 0 ? 0 : (size_t)(elapsed * 1e9 / TICK_NS);
            double next = w->t0 + (double)(tick + 1) * TICK_NS / 1e9;
            struct timespec ts = {(time_t)next, (long)((next - (double)(time_t)next) * 1e9)};
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        }
    }
    atomic_store(&w->done, true);
    return NULL;
}

/* Gives node k its publishers' txs of one phase, interleaved release by release, so that every
 * publisher's txs reach its one node in sequence order. Out: spans (caller frees). */
static ul_span *node_txs(const publisher *pubs, size_t n_pubs, size_t node, bool lat, size_t *n_out)
{
    size_t per = lat ? pubs[0].lat.n : pubs[0].sus.n, n = 0;
    ul_span *s = malloc((NS_PER_NODE * per + 1) * sizeof *s);
    for (size_t i = 0; s && i < per; i++) {
        for (size_t p = 0; p < n_pubs; p++) {
            const bench_txs *t = lat ? &pubs[p].lat : &pubs[p].sus;
            if (pubs[p].node == node) {
                s[n++] = (ul_span){bench_tx(t, i), t->len[i]};
            }
        }
    }
    *n_out = n;
    return s;
}

static int workers_start(worker *w, pthread_t *th, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (pthread_create(&th[k], NULL, worker_thread, &w[k]) != 0) {
            for (size_t j = 0; j < k; j++) {
                atomic_store(&w[j].stop, true);
                pthread_join(th[j], NULL);
            }
            return fail("threads", UL_E_NOMEM);
        }
    }
    return 0;
}

static bool workers_done(worker *w, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (!atomic_load(&w[k].done)) {
            return false;
        }
    }
    return true;
}

/* Joins the workers and sums what they did. Returns 1 if any failed. */
static int workers_join(worker *w, pthread_t *th, size_t n, const char *phase, size_t *accepted)
{
    size_t refused = 0, busy = 0, batches = 0;
    double sum = 0, max = 0;
    int rc = 0;
    *accepted = 0;
    for (size_t k = 0; k < n; k++) {
        pthread_join(th[k], NULL);
        *accepted += w[k].accepted;
        refused += w[k].refused;
        busy += w[k].busy_retries;
        batches += w[k].batches;
        sum += w[k].batch_sum_s;
        max = w[k].batch_max_s > max ? w[k].batch_max_s : max;
        if (w[k].first_refusal) {
            fprintf(stderr, "bench_testnet: %s: node %zu refused a tx: %s\n", phase, k,
                    ul_err_name(w[k].first_refusal));
        }
        if (w[k].fatal) {
            fprintf(stderr, "bench_testnet: %s: node %zu: %s\n", phase, k, ul_err_name(w[k].fatal));
            rc = 1;
        }
    }
    printf("bench: testnet %s submits: %zu accepted, %zu refused, %zu re-sent after "
           "UL_E_BUSY (pool full)\n",
           phase, *accepted, refused, busy);
    printf("bench: testnet %s submit call: mean %.1f ms, max %.1f ms (%zu calls)\n", phase,
           batches ? 1e3 * sum / (double)batches : 0.0, 1e3 * max, batches);
    return rc || refused ? 1 : 0;
}

/* ---- what the nodes say after a phase ------------------------------------------------------ */

/* One line per validator: height, log size, pool and peer counters (a full peer queue drops
 * gossip). */
static void report_nodes(const testnet *tn, const int *socks, const char *phase)
{
    for (size_t k = 0; k < tn->n_val; k++) {
        bench_status s;
        if (bench_get_status(socks[k], &s) != UL_OK) {
            printf("bench: testnet after %s node %zu: does not answer\n", phase, k);
            continue;
        }
        printf("bench: testnet after %s node %zu: height %llu, log %llu, pooled %llu, peer "
               "envelopes received %llu, send dropped %llu, refused on receipt %llu\n",
               phase, k, (unsigned long long)s.height, (unsigned long long)s.log_size,
               (unsigned long long)s.pooled, (unsigned long long)s.peer_received,
               (unsigned long long)s.peer_send_dropped, (unsigned long long)s.peer_dropped_in);
    }
}

/* When a phase did not commit everything: asks each tx's node where it is (TX_STATUS) and
 * prints how many are committed, pooled, refused (by error) or unknown. */
static void tally(const worker *w, size_t n_w, const char *phase)
{
    enum { KINDS = 128 };
    size_t by_err[KINDS] = {0}, committed = 0, pooled = 0, other = 0;
    for (size_t k = 0; k < n_w; k++) {
        for (size_t i = 0; i < w[k].n; i++) {
            ul_tx t;
            uint8_t id[UL_HASH_BYTES];
            uint64_t h = 0;
            ul_msg q, r;
            uint8_t *buf = NULL;
            if (ul_schema_tx_decode(&t, w[k].txs[i].ptr, w[k].txs[i].len) != UL_OK) {
                other++;
                continue;
            }
            ul_client_sha256(id, t.body.ptr, t.body.len); /* a publish's id: its release id */
            ul_q_tx_status_reply tr;
            ul_q_tx_status_req(&q, id);
            ul_err e = ul_p2p_call(w[k].sock, &q, &r, &buf);
            if (e == UL_OK && (e = ul_q_tx_status_reply_read(&r, &tr)) == UL_OK) {
                h = tr.height;
            }
            ul_p2p_free(buf);
            if (e == UL_OK) {
                *(h > 0 ? &committed : &pooled) += 1;
            } else if ((unsigned)e < KINDS) {
                by_err[e]++;
            } else {
                other++;
            }
        }
    }
    printf("bench: testnet %s tx status at the end: %zu committed, %zu pooled", phase, committed,
           pooled);
    for (size_t e = 0; e < KINDS; e++) {
        if (by_err[e]) {
            printf(", %zu %s", by_err[e], ul_err_name((ul_err)e));
        }
    }
    printf("%s\n", other ? " (and some undecodable)" : "");
}

/* ---- the machine's own share -------------------------------------------------------------- */

/* The machine's CPU time by kind, from /proc/stat's first line (all CPUs), in clock ticks. On a
 * shared virtual machine the hypervisor's "steal" (time another guest had our CPUs) moves every
 * figure here, so the benchmark prints it beside them. */
typedef struct {
    unsigned long long busy, idle, steal;
} cpu_ticks;

static bool cpu_ticks_read(cpu_ticks *t)
{
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    bool ok = f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                          &v[3], &v[4], &v[5], &v[6], &v[7]) == 8;
    if (f) {
        fclose(f);
    }
    /* user nice system idle iowait irq softirq steal */
    t->busy = v[0] + v[1] + v[2] + v[5] + v[6];
    t->idle = v[3] + v[4];
    t->steal = v[7];
    return ok;
}

static void cpu_ticks_print(const char *phase, const cpu_ticks *a, const cpu_ticks *b)
{
    unsigned long long busy = b->busy - a->busy, idle = b->idle - a->idle,
                       steal = b->steal - a->steal, all = busy + idle + steal;
    if (all == 0) {
        return;
    }
    printf("bench: testnet %s machine CPU: %.0f%% busy, %.0f%% idle, %.0f%% stolen by the "
           "hypervisor\n",
           phase, 100.0 * (double)busy / (double)all, 100.0 * (double)idle / (double)all,
           100.0 * (double)steal / (double)all);
}

/* ---- node CPU per release beside its floor ------------------------------------------------ */

#define FLOOR_VERIFIES 400 /* BIP-340 verifies per timed batch of the floor */
#define FLOOR_BATCHES 5    /* batches; the fastest counts (a shared machine only slows one) */
#define SETTLE_STEP_NS 500000000L /* node CPU sampled this often after a phase */
#define SETTLE_IDLE_TICKS 2       /* 4 idle validators use well under 2 ticks (20 ms) in 0.5 s */
#define SETTLE_MAX_S 60.0         /* a phase's background work is counted for at most this long */

/* utime + stime of a /proc stat file, in clock ticks. */
static bool stat_ticks(const char *path, unsigned long long *ticks)
{
    char line[1024];
    unsigned long long ut = 0, st = 0;
    FILE *f = fopen(path, "r");
    bool ok = f && fgets(line, sizeof line, f);
    if (f) {
        fclose(f);
    }
    /* After "pid (comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt
     * cmajflt utime stime (proc(5) fields 3..15). */
    const char *rp = ok ? strrchr(line, ')') : NULL;
    if (!rp ||
        sscanf(rp + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) {
        return false;
    }
    *ticks = ut + st;
    return true;
}

/* A thread's context switches from its /proc status file (proc(5)): voluntary (it waited) and
 * involuntary (preempted). */
static bool status_switches(const char *path, unsigned long long *vol, unsigned long long *invol)
{
    char line[256];
    int got = 0;
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f)) {
        got += sscanf(line, "voluntary_ctxt_switches: %llu", vol) == 1;
        got += sscanf(line, "nonvoluntary_ctxt_switches: %llu", invol) == 1;
    }
    if (f) {
        fclose(f);
    }
    return got == 2;
}

/* The validators' CPU time together, in clock ticks: all (utime + stime of each upledgerd, by
 * DIR/nodeI/node.pid) and their main threads' (the loop; the rest is LevelDB's compactions,
 * nanomsg's workers and block verification's); and the main threads' context switches, each
 * costly on a virtual machine (a wake-up, caches refilled). */
typedef struct {
    unsigned long long all, main, vol, invol;
} node_cpu;

static bool node_cpu_read(const testnet *tn, node_cpu *c)
{
    memset(c, 0, sizeof *c);
    for (size_t k = 0; k < tn->n_val; k++) {
        char path[4200];
        long pid = 0;
        unsigned long long all, main;
        snprintf(path, sizeof path, "%s/node%zu/node.pid", tn->dir, k);
        FILE *f = fopen(path, "r");
        bool ok = f && fscanf(f, "%ld", &pid) == 1 && pid > 0;
        if (f) {
            fclose(f);
        }
        unsigned long long vol = 0, invol = 0;
        /* The main thread first: the whole process, read after it, is not less. */
        snprintf(path, sizeof path, "/proc/%ld/task/%ld/stat", pid, pid);
        ok = ok && stat_ticks(path, &main);
        snprintf(path, sizeof path, "/proc/%ld/task/%ld/status", pid, pid);
        ok = ok && status_switches(path, &vol, &invol);
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        if (!ok || !stat_ticks(path, &all)) {
            return false;
        }
        c->all += all, c->main += main, c->vol += vol, c->invol += invol;
    }
    return true;
}

/* The fastest verify this process has timed, and in how many batches. Each phase's floor is the
 * best of every batch so far (before the first phase, then after each): a batch that a neighbour
 * on this shared machine slowed only raises one reading, and read alone it flattered that phase's
 * ratio (floors of 166-250 us were seen minutes apart). */
static double floor_best_us;
static int floor_batches;

/* A release-sized message signed by a fresh key: what the floor's verifies check. */
typedef struct {
    ul_key *k; /* NULL: none could be made */
    uint8_t msg[256], sig[UL_SIG_BYTES];
} floor_msg;

static bool floor_msg_make(floor_msg *f, const uint8_t *cid)
{
    memset(f->msg, 0x5a, sizeof f->msg);
    if (ul_key_generate(&f->k) != UL_OK) {
        f->k = NULL;
        return false;
    }
    return ul_key_sign(f->k, f->sig, UL_DOMAIN_RELEASE, cid, f->msg, sizeof f->msg) == UL_OK;
}

/* us of this thread's CPU time per verify over n verifies of f (ul_client_sig_verify: the public
 * key parsed every time); 0 if one fails. */
static double batch_us(const floor_msg *f, const uint8_t *cid, int n)
{
    struct timespec a, z;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    for (int i = 0; i < n; i++) {
        if (ul_client_sig_verify(f->sig, UL_DOMAIN_RELEASE, cid, f->msg, sizeof f->msg,
                                 ul_key_pubkey(f->k)) != UL_OK) {
            return 0;
        }
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &z);
    return ((double)(z.tv_sec - a.tv_sec) * 1e9 + (double)(z.tv_nsec - a.tv_nsec)) / 1e3 / n;
}

/* The floor's unit: one BIP-340 verify of a release-sized message on this machine, the fastest
 * batch timed in this process so far. 0 if it cannot be measured. */
static double verify_us(const uint8_t *cid)
{
    floor_msg f;
    double best = 0;
    if (!floor_msg_make(&f, cid)) {
        goto out;
    }
    for (int b = 0; b < FLOOR_BATCHES; b++) {
        double us = batch_us(&f, cid, FLOOR_VERIFIES);
        if (us <= 0) {
            best = 0;
            goto out;
        }
        best = b == 0 || us < best ? us : best;
        floor_batches++;
    }
    floor_best_us = best > 0 && (floor_best_us == 0 || best < floor_best_us) ? best : floor_best_us;
out:
    ul_key_destroy(f.k);
    return best > 0 ? floor_best_us : 0;
}

/* A second reading of the latency phase beside the official one: the floor's verifies timed
 * while the phase runs, a small batch every PHASE_FLOOR_EVERY polls (about 1% of one core), and
 * their median. The official floor is the fastest batch of the run, so a phase that a neighbour
 * on this shared machine slowed reads high against it even when the nodes did the same work:
 * nine runs within ten minutes read 301-364 us per release, with the same blocks and context
 * switches. Against a floor timed under the same conditions much of the machine's pace cancels
 * out, but not all of it, nor always the same way: in one slowed run the official reading was
 * 2.21x and this one 1.61x (the verifies slowed more than the nodes). The two bracket a phase. */
#define PHASE_FLOOR_VERIFIES 100
#define PHASE_FLOOR_EVERY 5 /* polls of LAT_POLL_NS: a batch every 0.5 s */
#define PHASE_FLOOR_MAX 1024

typedef struct {
    floor_msg m;
    double us[PHASE_FLOOR_MAX];
    size_t n, polls;
} phase_floor;

static void phase_floor_tick(phase_floor *pf, const uint8_t *cid)
{
    if (pf->m.k && pf->polls++ % PHASE_FLOOR_EVERY == 0 && pf->n < PHASE_FLOOR_MAX) {
        double us = batch_us(&pf->m, cid, PHASE_FLOOR_VERIFIES);
        if (us > 0) {
            pf->us[pf->n++] = us;
        }
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median batch of pf (sorted in place); 0 without any. */
static double phase_floor_median(phase_floor *pf)
{
    if (pf->n == 0) {
        return 0;
    }
    qsort(pf->us, pf->n, sizeof pf->us[0], cmp_double);
    return pf->n % 2 ? pf->us[pf->n / 2] : (pf->us[pf->n / 2 - 1] + pf->us[pf->n / 2]) / 2;
}

/* Waits (at most SETTLE_MAX_S) until the validators' CPU use falls to an idle level, so that
 * work a phase leaves behind (LevelDB's compactions of what it wrote) counts in that phase and
 * not in the next. Out: *ticks, their CPU time when they settled (or at the bound). */
static bool node_cpu_settle(const testnet *tn, node_cpu *ticks)
{
    node_cpu prev, now;
    double bound = bench_now_s() + SETTLE_MAX_S;
    if (!node_cpu_read(tn, &prev)) {
        return false;
    }
    while (bench_now_s() < bound) {
        sleep_ns(SETTLE_STEP_NS);
        if (!node_cpu_read(tn, &now)) {
            return false;
        }
        bool idle = now.all - prev.all <= SETTLE_IDLE_TICKS;
        prev = now;
        if (idle) {
            break;
        }
    }
    *ticks = prev;
    return true;
}

/* Prints the validators' CPU per release committed in a phase beside the floor: one verify of
 * the release's signature on each validator. */
static void node_cpu_print(const testnet *tn, const char *phase, const node_cpu *t0,
                           const node_cpu *t1, uint64_t releases, phase_floor *pf)
{
    double floor_us = (double)tn->n_val * verify_us(tn->chain_id);
    if (releases == 0 || floor_us <= 0) {
        return;
    }
    double per = 1e6 / (double)sysconf(_SC_CLK_TCK) / (double)releases;
    double us = per * (double)(t1->all - t0->all), main_us = per * (double)(t1->main - t0->main);
    printf("bench: testnet %s node CPU per release: %.1f us (%.2fx the floor of %zu BIP-340 "
           "verifies, %.1f us, the fastest of %d batches of %d this run)\n",
           phase, us, us / floor_us, tn->n_val, floor_us, floor_batches, FLOOR_VERIFIES);
    printf("bench: testnet %s node CPU per release, main threads: %.1f us (%.2fx the floor); "
           "other threads (LevelDB compactions, nanomsg, block verification): %.1f us\n",
           phase, main_us, main_us / floor_us, us - main_us);
    printf("bench: testnet %s main threads' context switches per release: %.2f waits, %.2f "
           "preemptions\n",
           phase, (double)(t1->vol - t0->vol) / (double)releases,
           (double)(t1->invol - t0->invol) / (double)releases);
    double in_us = pf ? (double)tn->n_val * phase_floor_median(pf) : 0;
    if (in_us > 0) {
        printf("bench: testnet %s node CPU per release against a floor timed during the phase: "
               "%.2fx (%zu BIP-340 verifies at the median of %zu batches of %d taken while it "
               "ran, %.1f us)\n",
               phase, us / in_us, tn->n_val, pf->n, PHASE_FLOOR_VERIFIES, in_us);
    }
}

/* ---- (a) sustained ------------------------------------------------------------------------- */

/* Every pre-signed sustained tx, as fast as the nodes take them; node 0's STATUS tells when the
 * last is committed. */
static int sustained(const testnet *tn, int *socks, int watch, const publisher *pubs, size_t n_pubs)
{
    worker w[MAX_NODES] = {0};
    pthread_t th[MAX_NODES];
    bench_status s0, s;
    size_t accepted = 0, n_total = 0;
    uint64_t pool_max = 0;
    int rc = 1;
    ul_err e = bench_get_status(watch, &s0);
    if (e != UL_OK) {
        return fail("status", e);
    }
    for (size_t k = 0; k < tn->n_val; k++) {
        w[k].sock = socks[k];
        w[k].txs = node_txs(pubs, n_pubs, k, false, &w[k].n);
        n_total += w[k].n;
        if (!w[k].txs) {
            goto out;
        }
    }
    cpu_ticks c0, c1;
    node_cpu n0, n1;
    bool have_ticks = cpu_ticks_read(&c0), have_node = node_cpu_read(tn, &n0);
    double t0 = bench_now_s(), t_last = t0, progress = t0;
    if (workers_start(w, th, tn->n_val) != 0) {
        goto out;
    }
    s = s0;
    bool subs_done = false, timeline = getenv("BENCH_TN_TIMELINE") != NULL;
    uint64_t h_prev = s0.height;
    while (bench_now_s() - progress < STALL_S) {
        uint64_t before = s.log_size;
        if ((e = bench_get_status(watch, &s)) != UL_OK) {
            break;
        }
        pool_max = s.pooled > pool_max ? s.pooled : pool_max;
        if (s.log_size > before) {
            t_last = progress = bench_now_s();
        }
        if (timeline && s.height != h_prev) {
            fprintf(stderr,
                    "bench_testnet: %7.3f s: node 0 at height %llu, log %llu, pool %llu, "
                    "round %llu\n",
                    bench_now_s() - t0, (unsigned long long)s.height,
                    (unsigned long long)s.log_size, (unsigned long long)s.pooled,
                    (unsigned long long)s.round);
            h_prev = s.height;
        }
        subs_done = subs_done || workers_done(w, tn->n_val);
        if (subs_done && (s.log_size >= s0.log_size + n_total ||
                          (s.pooled == 0 && bench_now_s() - progress > QUIET_S))) {
            break;
        }
        sleep_ns(STATUS_POLL_NS);
    }
    have_ticks = cpu_ticks_read(&c1) && have_ticks;
    have_node = node_cpu_read(tn, &n1) && have_node;
    rc = workers_join(w, th, tn->n_val, "sustained", &accepted);
    double dt = t_last - t0;
    uint64_t committed = s.log_size - s0.log_size, blocks = s.height - s0.height;
    printf("bench: testnet sustained releases committed: %llu of %zu\n",
           (unsigned long long)committed, n_total);
    printf("bench: testnet sustained first submit to last commit: %.2f s\n", dt);
    printf("bench: testnet sustained blocks: %llu (%.0f releases per block)\n",
           (unsigned long long)blocks, blocks ? (double)committed / (double)blocks : 0.0);
    printf("bench: testnet sustained blocks/s: %.1f /s\n", bench_rate((double)blocks, dt));
    printf("bench: testnet node 0 pool peak (polled): %llu txs\n", (unsigned long long)pool_max);
    printf("bench: testnet sustained release commits/s: %.0f /s\n",
           bench_rate((double)committed, dt));
    printf("bench: testnet sustained target: %s\n", target_sustained);
    if (have_ticks) {
        cpu_ticks_print("sustained", &c0, &c1);
    }
    /* What the phase left to do (compactions) is its cost too: counted until the nodes idle. */
    node_cpu n2 = n1;
    if (have_node && node_cpu_settle(tn, &n2)) {
        node_cpu_print(tn, "sustained", &n0, &n2, committed, NULL);
        printf("bench: testnet sustained node CPU after the last commit (until idle): %.1f us "
               "per release\n",
               1e6 * (double)(n2.all - n1.all) / (double)sysconf(_SC_CLK_TCK) /
                   (double)(committed ? committed : 1));
    }
    report_nodes(tn, socks, "sustained");
    if (e != UL_OK || committed < n_total) {
        fprintf(stderr, "bench_testnet: sustained: %s\n",
                e != UL_OK ? ul_err_name(e) : "not every release committed (stalled)");
        tally(w, tn->n_val, "sustained");
        rc = 1;
    }
out:
    for (size_t k = 0; k < tn->n_val; k++) {
        free((void *)w[k].txs);
    }
    return rc;
}

/* ---- (b) latency at a paced offered load ---------------------------------------------------- */

/* The latency phase's txs by the SHA-256 of their bytes (open addressing), so that each tx of a
 * committed block is matched to its submit time. */
typedef struct {
    uint8_t (*hash)[UL_HASH_BYTES]; /* by global index */
    uint32_t *slot;                 /* global index + 1; 0: free */
    size_t cap;                     /* a power of two, at least twice the txs */
    double *t_commit;               /* by global index; 0: not seen yet */
    size_t seen;
} lat_index;

static size_t lat_find(const lat_index *ix, const uint8_t h[UL_HASH_BYTES], bool *found)
{
    size_t i = (size_t)ul_be64_get(h) & (ix->cap - 1);
    while (ix->slot[i] && memcmp(ix->hash[ix->slot[i] - 1], h, UL_HASH_BYTES) != 0) {
        i = (i + 1) & (ix->cap - 1);
    }
    *found = ix->slot[i] != 0;
    return i;
}

static int lat_index_build(lat_index *ix, const worker *w, size_t n_w, size_t total)
{
    bool found;
    memset(ix, 0, sizeof *ix);
    for (ix->cap = 1024; ix->cap < 2 * total; ix->cap *= 2) {
    }
    ix->hash = malloc(total * sizeof *ix->hash);
    ix->slot = calloc(ix->cap, sizeof *ix->slot);
    ix->t_commit = calloc(total, sizeof *ix->t_commit);
    if (!ix->hash || !ix->slot || !ix->t_commit) {
        return fail("latency index", UL_E_NOMEM);
    }
    for (size_t k = 0, g = 0; k < n_w; k++) {
        for (size_t i = 0; i < w[k].n; i++, g++) {
            ul_client_sha256(ix->hash[g], w[k].txs[i].ptr, w[k].txs[i].len);
            ix->slot[lat_find(ix, ix->hash[g], &found)] = (uint32_t)g + 1;
        }
    }
    return 0;
}

static void lat_index_free(lat_index *ix)
{
    free(ix->hash);
    free(ix->slot);
    free(ix->t_commit);
}

/* Fetches node blocks [from, to] and marks each latency-phase tx in block h committed at
 * t_at[h - from] (when node 0 logged the commit; negative: no line for it, an error if the block
 * holds a latency-phase tx). Out: *n_txs grows by the txs the blocks hold. */
static ul_err scan_blocks(int sock, uint64_t from, uint64_t to, const double *t_at, lat_index *ix,
                          uint64_t *n_txs)
{
    const uint64_t first = from;
    static ul_span txs[UL_MAX_BLOCK_TXS];
    ul_err e = UL_OK;
    while (e == UL_OK && from <= to) {
        uint64_t count = to - from + 1 < UL_MAX_BLOCK_RANGE ? to - from + 1 : UL_MAX_BLOCK_RANGE;
        ul_msg q, r;
        ul_span arr = {0}, item;
        uint8_t *buf = NULL, h[UL_HASH_BYTES];
        ul_q_block_reply br;
        bool found;
        ul_q_block_req(&q, from, count);
        if ((e = ul_p2p_call(sock, &q, &r, &buf)) == UL_OK &&
            (e = ul_q_block_reply_read(&r, &br)) == UL_OK) {
            arr = br.blocks.wire;
        }
        while (e == UL_OK && ul_msg_list_next(&arr, &item)) {
            ul_block b;
            if ((e = ul_schema_block_decode(&b, txs, UL_MAX_BLOCK_TXS, item.ptr, item.len))) {
                break;
            }
            for (size_t i = 0; i < b.n_txs; i++) {
                ul_client_sha256(h, b.txs[i].ptr, b.txs[i].len);
                size_t at = lat_find(ix, h, &found);
                if (found && t_at[from - first] < 0) {
                    fprintf(stderr, "bench_testnet: node 0's log has no commit of block %llu\n",
                            (unsigned long long)from);
                    e = UL_E_NOT_FOUND;
                    break;
                }
                if (found && ix->t_commit[ix->slot[at] - 1] == 0) {
                    ix->t_commit[ix->slot[at] - 1] = t_at[from - first];
                    ix->seen++;
                }
            }
            if (e != UL_OK) {
                break;
            }
            *n_txs += b.n_txs;
            from++;
        }
        ul_p2p_free(buf); /* an empty reply does not read: a block reply has one or more */
    }
    return e;
}

/* Prints p50, p99 and max of submit-to-commit times. Returns 1 if some release never
 * committed. */
static int lat_report(const lat_index *ix, const double *t_sub, size_t total, double rate,
                      double offered_s, uint64_t blocks, uint64_t block_txs)
{
    double *lat = malloc((total + 1) * sizeof *lat), first = 1e300, last = 0;
    size_t n = 0, missing = 0;
    for (size_t g = 0; lat && g < total; g++) {
        if (t_sub[g] > 0) { /* the submits' own span: what the pacing achieved */
            first = t_sub[g] < first ? t_sub[g] : first;
            last = t_sub[g] > last ? t_sub[g] : last;
        }
        if (t_sub[g] >= 0 && ix->t_commit[g] > 0) {
            lat[n++] = ix->t_commit[g] - t_sub[g];
        } else if (t_sub[g] >= 0) {
            missing++;
        }
    }
    if (!lat || n == 0) {
        free(lat);
        return fail("latency: nothing committed", UL_E_TIMEOUT);
    }
    qsort(lat, n, sizeof *lat, cmp_double);
    double mean = 0;
    for (size_t i = 0; i < n; i++) {
        mean += lat[i];
    }
    printf("bench: testnet latency offered load: %.0f releases/s for %.1f s, %zu releases (sent "
           "at %.0f /s over %.2f s)\n",
           rate, offered_s, total, bench_rate((double)(total - 1), last - first), last - first);
    printf("bench: testnet latency blocks: %llu (%.1f txs per block)\n", (unsigned long long)blocks,
           blocks ? (double)block_txs / (double)blocks : 0.0);
    printf("bench: testnet latency releases seen committed: %zu (%zu not)\n", n, missing);
    printf("bench: testnet commit latency mean: %.0f ms\n", 1e3 * mean / (double)n);
    printf("bench: testnet commit latency p50: %.0f ms\n", 1e3 * lat[(n - 1) / 2]);
    printf("bench: testnet commit latency p99: %.0f ms\n", 1e3 * lat[(size_t)(0.99 * (n - 1))]);
    printf("bench: testnet commit latency max: %.0f ms\n", 1e3 * lat[n - 1]);
    printf("bench: testnet latency target: %s\n", target_p99);
    free(lat);
    return missing ? 1 : 0;
}

/* Out: t_at[h - from] for h in [from, to], the time (bench_now_s's clock) at which node 0 logged
 * "committed block h" (-1: no such line: the node logs only blocks that hold txs). Its lines
 * start with a UTC time to the millisecond (node/log.c); off is CLOCK_REALTIME minus
 * bench_now_s. */
static int commit_times(const char *log, uint64_t from, uint64_t to, double off, double *t_at)
{
    FILE *f = fopen(log, "r");
    char line[512];
    if (!f) {
        fprintf(stderr, "bench_testnet: %s: %s\n", log, strerror(errno));
        return 1;
    }
    for (uint64_t h = from; h <= to; h++) {
        t_at[h - from] = -1;
    }
    while (fgets(line, sizeof line, f)) {
        struct tm tm = {0};
        int ms = 0;
        unsigned long long h = 0;
        const char *at = strstr(line, " committed block ");
        if (!at || sscanf(at, " committed block %llu:", &h) != 1 || h < from || h > to ||
            sscanf(line, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7) {
            continue;
        }
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        t_at[h - from] = (double)timegm(&tm) + ms / 1e3 - off;
    }
    fclose(f);
    return 0;
}

static double realtime_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Offers the latency-phase txs at rate releases/s (spread evenly over the validators, small
 * batches every 10 ms): each release's latency is from its submit until node 0 logged the commit
 * of the block that holds it. Node 0's STATUS, polled every 100 ms, only tells when the phase is
 * over; its blocks and its log are read afterwards, so that fetching the blocks (a few hundred
 * KiB a second from node 0) is not counted as the releases' cost. */
static int latency(const testnet *tn, int *socks, int watch, const publisher *pubs, size_t n_pubs,
                   double rate)
{
    worker w[MAX_NODES] = {0};
    pthread_t th[MAX_NODES];
    lat_index ix = {0};
    bench_status s;
    size_t total = 0, accepted = 0;
    uint64_t seen_h, h0, block_txs = 0;
    double *t_sub = NULL, *t_at = NULL;
    phase_floor *pf = NULL;
    int rc = 1;
    ul_err e = bench_get_status(watch, &s);
    if (e != UL_OK) {
        return fail("status", e);
    }
    seen_h = h0 = s.height;
    const uint64_t log0 = s.log_size;
    for (size_t k = 0; k < tn->n_val; k++) {
        w[k].txs = node_txs(pubs, n_pubs, k, true, &w[k].n);
        total += w[k].n;
        if (!w[k].txs) {
            goto out;
        }
    }
    if (!(t_sub = calloc(total + 1, sizeof *t_sub)) || lat_index_build(&ix, w, tn->n_val, total)) {
        goto out;
    }
    const double rt_off = realtime_s() - bench_now_s(); /* for node 0's log times */
    double t0 = bench_now_s() + 0.05, offered_s = (double)total / rate;
    for (size_t k = 0, g = 0; k < tn->n_val; k++) {
        w[k].sock = socks[k];
        w[k].t0 = t0;
        w[k].rate = (double)w[k].n / offered_s;
        w[k].t_sub = t_sub + g;
        g += w[k].n;
    }
    node_cpu n0, n1;
    if (!(pf = calloc(1, sizeof *pf))) {
        goto out;
    }
    (void)floor_msg_make(&pf->m, tn->chain_id); /* without it, no second reading: its line only */
    bool have_node = node_cpu_read(tn, &n0);
    if (workers_start(w, th, tn->n_val) != 0) {
        goto out;
    }
    /* Progress is a release committed (node 0's log grew): empty blocks alone do not count. */
    double progress = bench_now_s();
    uint64_t log_seen = log0;
    while (e == UL_OK && bench_now_s() - progress < STALL_S) {
        bool done = workers_done(w, tn->n_val);
        if ((e = bench_get_status(watch, &s)) == UL_OK && s.height > seen_h) {
            seen_h = s.height;
        }
        if (e == UL_OK && (s.log_size > log_seen || !done)) {
            progress = bench_now_s(); /* still sending, or a release committed */
            log_seen = s.log_size > log_seen ? s.log_size : log_seen;
        }
        size_t took = 0;
        for (size_t k = 0; done && k < tn->n_val; k++) {
            took += w[k].accepted; /* final: the workers are done */
        }
        if (e == UL_OK && done && s.log_size - log0 >= took) {
            break; /* every release a validator took is in node 0's log */
        }
        if (e == UL_OK && s.pooled == 0 && done && bench_now_s() - progress > QUIET_S) {
            break; /* all sent, nothing pooled, nothing committed for a while: no more will */
        }
        phase_floor_tick(pf, tn->chain_id);
        sleep_ns(LAT_POLL_NS);
    }
    have_node = node_cpu_settle(tn, &n1) && have_node;
    rc = workers_join(w, th, tn->n_val, "latency", &accepted);
    if (e == UL_OK && seen_h > h0) { /* the validators' CPU is read: now their log and blocks */
        if (!(t_at = malloc((size_t)(seen_h - h0) * sizeof *t_at))) {
            e = UL_E_NOMEM;
        } else if (commit_times(tn->log0, h0 + 1, seen_h, rt_off, t_at) != 0) {
            e = UL_E_IO;
        } else {
            e = scan_blocks(watch, h0 + 1, seen_h, t_at, &ix, &block_txs);
        }
    }
    if (have_node) {
        char phase[64];
        snprintf(phase, sizeof phase, "at %.0f/s offered", rate);
        node_cpu_print(tn, phase, &n0, &n1, ix.seen, pf);
    }
    report_nodes(tn, socks, "latency");
    if (ix.seen < accepted) {
        tally(w, tn->n_val, "latency");
    }
    if (e != UL_OK) {
        fail("latency: watching node 0", e);
        rc = 1;
    }
    rc |= lat_report(&ix, t_sub, total, rate, offered_s, seen_h - h0, block_txs);
out:
    for (size_t k = 0; k < tn->n_val; k++) {
        free((void *)w[k].txs);
    }
    lat_index_free(&ix);
    free(t_sub);
    free(t_at);
    if (pf) {
        ul_key_destroy(pf->m.k);
        free(pf);
    }
    return rc;
}

/* ---- load: (a) then (b) --------------------------------------------------------------------- */

static int load(const char *dir, size_t n_sus_total, double rate, double seconds)
{
    testnet tn;
    publisher pubs[MAX_NODES * NS_PER_NODE] = {0};
    int socks[MAX_NODES], watch = -1, rc = 1;
    size_t n_pubs = 0, n_open = 0;
    if (testnet_load(&tn, dir) != 0) {
        return 1;
    }
    n_pubs = tn.n_val * NS_PER_NODE;
    size_t n_sus = (n_sus_total + n_pubs - 1) / n_pubs;
    size_t n_lat = ((size_t)(rate * seconds) + n_pubs - 1) / n_pubs;
    printf("bench: testnet machine: %ld cores (nproc), %zu validators on loopback, %zu "
           "publishers (%d per validator)\n",
           sysconf(_SC_NPROCESSORS_ONLN), tn.n_val, n_pubs, NS_PER_NODE);
    (void)verify_us(tn.chain_id); /* the floor's first batches, with the testnet idle */
    for (; n_open < tn.n_val; n_open++) {
        if (node_ready(&tn, n_open, &socks[n_open]) != 0) {
            goto out;
        }
    }
    if (node_ready(&tn, 0, &watch) != 0) {
        goto out;
    }
    for (size_t p = 0; p < n_pubs; p++) {
        if (ul_key_generate(&pubs[p].key) != UL_OK) {
            fail("key", UL_E_NOMEM);
            goto out;
        }
        /* Names of this run only (a testnet may serve several runs): the first key's prefix. */
        const uint8_t *k0 = ul_key_pubkey(pubs[0].key);
        pubs[p].node = p % tn.n_val;
        snprintf(pubs[p].ns, sizeof pubs[p].ns, "bench/tn%02x%02x%02x%02x-p%02zu", k0[0], k0[1],
                 k0[2], k0[3], p);
    }
    if (register_all(watch, pubs, n_pubs, tn.chain_id) != 0 ||
        presign(pubs, n_pubs, tn.chain_id, n_sus, n_lat) != 0) {
        goto out;
    }
    rc = sustained(&tn, socks, watch, pubs, n_pubs);
    rc |= latency(&tn, socks, watch, pubs, n_pubs, rate);
out:
    for (size_t p = 0; p < n_pubs; p++) {
        bench_txs_free(&pubs[p].sus);
        bench_txs_free(&pubs[p].lat);
        ul_key_destroy(pubs[p].key);
    }
    for (size_t k = 0; k < n_open; k++) {
        ul_p2p_close(socks[k]);
    }
    if (watch >= 0) {
        ul_p2p_close(watch);
    }
    return rc;
}

/* ---- (c) catch-up of a new node ------------------------------------------------------------- */

/* Runs argv (the command that starts node i) and returns its exit status. */
static int run_cmd(char **argv)
{
    pid_t pid;
    int status;
    if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0) {
        perror("bench_testnet: posix_spawnp");
        return -1;
    }
    while (waitpid(pid, &status, 0) < 0) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The head block of a node at height h, to compare two nodes' chains. */
static ul_err block_hash(int sock, uint64_t h, uint8_t out32[UL_HASH_BYTES])
{
    ul_msg q, r;
    ul_span item;
    uint8_t *buf = NULL;
    ul_q_block_reply br;
    ul_q_block_req(&q, h, 0);
    ul_err e = ul_p2p_call(sock, &q, &r, &buf);
    if (e == UL_OK && (e = ul_q_block_reply_read(&r, &br)) == UL_OK) {
        e = ul_msg_list_next(&br.blocks.wire, &item) ? UL_OK : UL_E_PROTOCOL;
    }
    if (e == UL_OK) {
        ul_client_sha256(out32, item.ptr, item.len);
    }
    ul_p2p_free(buf);
    return e;
}

/* Starts node i with cmd (its data wiped by the caller: a new node) and times it from the start
 * until it holds validator 0's head of that moment: every block fetched by block sync,
 * re-executed and its commit checked. */
static int catchup(const char *dir, size_t i, char **cmd)
{
    testnet tn;
    bench_status v, s = {0};
    int vsock = -1, sock = -1, rc = 1;
    uint8_t ha[UL_HASH_BYTES], hb[UL_HASH_BYTES];
    if (testnet_load(&tn, dir) != 0 || i >= tn.n_nodes) {
        fprintf(stderr, "bench_testnet: no node %zu in %s\n", i, dir);
        return 1;
    }
    ul_err e = node_ready(&tn, 0, &vsock) ? UL_E_NET : bench_get_status(vsock, &v);
    if (e != UL_OK || (e = ul_p2p_connect(&sock, tn.rpc[i], 1000)) != UL_OK) {
        fail("catch-up: validator 0 status or connect", e);
        goto out;
    }
    double t0 = bench_now_s(), t_first = 0, t_end = 0;
    uint64_t h_first = 0;
    int st = run_cmd(cmd);
    if (st != 0) {
        fprintf(stderr, "bench_testnet: catch-up: %s exited %d\n", cmd[0], st);
        goto out;
    }
    printf("bench: testnet catch-up start command: %.2f s\n", bench_now_s() - t0);
    while (bench_now_s() - t0 < CATCHUP_WAIT_S) {
        if (bench_get_status(sock, &s) == UL_OK) {
            if (t_first == 0) {
                t_first = bench_now_s(), h_first = s.height;
            }
            if (s.height >= v.height) {
                t_end = bench_now_s();
                break;
            }
        }
        sleep_ns(CATCHUP_POLL_NS);
    }
    if (t_end == 0) {
        fprintf(stderr, "bench_testnet: catch-up: node %zu at height %llu of %llu after %.0f s\n",
                i, (unsigned long long)s.height, (unsigned long long)v.height, CATCHUP_WAIT_S);
        goto out;
    }
    if ((e = block_hash(sock, v.height, ha)) || (e = block_hash(vsock, v.height, hb)) ||
        memcmp(ha, hb, UL_HASH_BYTES) != 0) {
        fail("catch-up: the new node's block differs from validator 0's",
             e ? e : UL_E_HEADER_CONFLICT);
        goto out;
    }
    double dt = t_end - t0;
    printf("bench: testnet catch-up target: validator 0's head at the start, height %llu, "
           "%llu releases\n",
           (unsigned long long)v.height, (unsigned long long)v.log_size);
    printf("bench: testnet catch-up first answer: after %.2f s, at height %llu\n", t_first - t0,
           (unsigned long long)h_first);
    printf("bench: testnet catch-up time (start to head, blocks equal): %.2f s\n", dt);
    printf("bench: testnet catch-up blocks/s verified: %.0f /s\n",
           bench_rate((double)s.height, dt));
    printf("bench: testnet catch-up releases/s verified: %.0f /s\n",
           bench_rate((double)s.log_size, dt));
    rc = 0;
out:
    if (sock >= 0) {
        ul_p2p_close(sock);
    }
    if (vsock >= 0) {
        ul_p2p_close(vsock);
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (ul_client_init() != UL_OK) {
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 6 && strcmp(argv[1], "load") == 0) {
        size_t n = strtoul(argv[3], NULL, 10);
        double rate = strtod(argv[4], NULL), secs = strtod(argv[5], NULL);
        if (n > 0 && rate >= 1 && secs > 0) {
            return load(argv[2], n, rate, secs);
        }
    }
    if (argc >= 5 && strcmp(argv[1], "catchup") == 0) {
        return catchup(argv[2], strtoul(argv[3], NULL, 10), argv + 4);
    }
    fprintf(stderr, "usage: bench_testnet load DIR N RATE SECONDS\n"
                    "       bench_testnet catchup DIR I CMD [ARG...]\n");
    return 2;
}
