/* Deterministic consensus simulator: n = 4 or 7 copies of the ledger/bft.c core in one process,
 * driven by a seeded discrete-event network with loss, delay, duplication, reordering, crashes,
 * partitions and Byzantine validators. Safety is checked at every step, liveness after healing. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/ul_bft.h"

#define MAXN 7
#define MAX_HEIGHT 256    /* heights a seed may reach */
#define QCAP (1 << 17)    /* pending events */
#define LOGCAP (1 << 16)  /* precommit log (hash set) */
#define OUTBOX 8          /* last messages a node re-sends each tick */
#define TICK_MS 200       /* re-send period: the p2p layer's "re-send current-round messages" */
#define LIVE_MS 60000     /* after healing, some height must commit within this (simulated) */
#define MAX_STEPS 3000000 /* events per seed */
#define COMMIT_MS 100     /* pause between a commit and the next height (block interval) */
#define BAD 0xBA          /* first byte of a value every honest application calls invalid */

typedef struct {
    uint8_t kind; /* 1 proposal, 2 vote */
    uint8_t from, vtype, nil;
    uint64_t height;
    uint32_t round;
    int32_t vr;
    uint8_t value[UL_HASH_BYTES];
} msg;

enum { EV_MSG, EV_TIMEOUT, EV_TICK, EV_CRASH, EV_RESTART, EV_START };

typedef struct {
    uint64_t time, seq;
    uint8_t kind, to;
    uint32_t tkind, epoch;
    msg m;
} event;

typedef struct {
    ul_bft core;
    ul_bft_actions acts;
    bool byz, crashable, up;
    uint32_t epoch;
    uint64_t committed; /* its store: chain[1..committed] */
    uint8_t chain[MAX_HEIGHT + 1][UL_HASH_BYTES];
    msg outbox[OUTBOX];
    size_t out_n, out_next;
} node;

typedef struct {
    uint64_t key;
    uint8_t used;
} logent;

static struct {
    uint64_t rng, now, seq, steps;
    int n, f, verbose;
    uint64_t target;
    node nodes[MAXN];
    ul_valset set;
    uint32_t drop_pct, dup_pct, delay_max;
    uint64_t heal, part_from, part_to;
    uint32_t part_mask;
    bool decided[MAX_HEIGHT + 1];
    uint8_t dvalue[MAX_HEIGHT + 1][UL_HASH_BYTES];
    uint64_t dsigners[MAX_HEIGHT + 1];
    event heap[QCAP];
    size_t hn;
    logent log[LOGCAP];
    uint64_t last_progress, min_height, base;
    bool based;
    uint64_t n_drop, n_dup, n_crash, n_evidence, n_garbage, n_sync, max_round;
    char fail[200];
} S;

/* ---- PRNG (splitmix64: a test's reproducible dice, not cryptography) ------------------------- */

static uint64_t rnd(void)
{
    uint64_t z = (S.rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
    return n == 0 ? 0 : rnd() % n;
}

static void failf(const char *what, uint64_t a, uint64_t b)
{
    if (S.fail[0] == '\0') {
        snprintf(S.fail, sizeof(S.fail), "%s (%" PRIu64 ", %" PRIu64 ") at t=%" PRIu64 "ms", what,
                 a, b, S.now);
    }
}

/* ---- event queue: a binary heap ordered by (time, seq), so ties replay identically ---------- */

static bool ev_less(const event *a, const event *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static bool push(event *e)
{
    size_t i;

    if (S.hn == QCAP) {
        return false;
    }
    e->seq = S.seq++;
    i = S.hn++;
    while (i > 0 && ev_less(e, &S.heap[(i - 1) / 2])) {
        S.heap[i] = S.heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    S.heap[i] = *e;
    return true;
}

static void pop(event *out)
{
    event last = S.heap[--S.hn];
    size_t i = 0;

    *out = S.heap[0];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= S.hn) {
            break;
        }
        if (c + 1 < S.hn && ev_less(&S.heap[c + 1], &S.heap[c])) {
            c++;
        }
        if (!ev_less(&S.heap[c], &last)) {
            break;
        }
        S.heap[i] = S.heap[c];
        i = c;
    }
    if (S.hn > 0) {
        S.heap[i] = last;
    }
}

/* ---- precommit log: every precommit ever sent, to check commit certificates ----------------- */

static uint64_t pc_key(uint64_t h, uint32_t r, uint32_t from, const uint8_t *v)
{
    uint64_t k = h * 0x100000001b3ULL ^ ((uint64_t)r << 20) ^ ((uint64_t)from << 8);
    for (int i = 0; i < 8; i++) {
        k = (k ^ v[i]) * 0x100000001b3ULL;
    }
    return k | 1;
}

static void pc_add(uint64_t h, uint32_t r, uint32_t from, const uint8_t *v)
{
    uint64_t k = pc_key(h, r, from, v);

    for (uint64_t i = 0, p = k % LOGCAP; i < LOGCAP; i++, p = (p + 1) % LOGCAP) {
        if (S.log[p].used && S.log[p].key == k) {
            return;
        }
        if (!S.log[p].used) {
            S.log[p].used = 1;
            S.log[p].key = k;
            return;
        }
    }
    failf("precommit log full", h, r);
}

static bool pc_has(uint64_t h, uint32_t r, uint32_t from, const uint8_t *v)
{
    uint64_t k = pc_key(h, r, from, v);

    for (uint64_t i = 0, p = k % LOGCAP; i < LOGCAP && S.log[p].used; i++, p = (p + 1) % LOGCAP) {
        if (S.log[p].key == k) {
            return true;
        }
    }
    return false;
}

/* ---- network ----------------------------------------------------------------------------- */

static bool linked(int a, int b)
{
    bool cut = S.now >= S.part_from && S.now < S.part_to &&
               (((S.part_mask >> a) & 1) != ((S.part_mask >> b) & 1));
    return !cut;
}

static void deliver_later(int from, int to, const msg *m)
{
    event e;
    int copies = 1;

    if (!linked(from, to) || below(100) < (S.now < S.heal ? S.drop_pct : S.drop_pct / 4)) {
        S.n_drop++;
        return;
    }
    if (below(100) < S.dup_pct) {
        copies = 2;
        S.n_dup++;
    }
    for (int c = 0; c < copies; c++) {
        memset(&e, 0, sizeof(e));
        e.kind = EV_MSG;
        e.to = (uint8_t)to;
        e.time = S.now + 1 + below(S.delay_max); /* independent delays reorder messages */
        e.m = *m;
        if (!push(&e)) {
            S.n_drop++;
        }
    }
}

/* A Byzantine sender tampers per recipient: another value (equivocation), an invalid value, or
 * its honest message. */
static void tamper(const node *nd, int to, msg *m)
{
    uint64_t d = below(4);

    if (!nd->byz || d == 0) {
        return;
    }
    if (m->kind == 2 && d == 1) {
        m->nil = (uint8_t)below(2);
        memset(m->value, 0, UL_HASH_BYTES);
        if (!m->nil) {
            m->value[0] = (uint8_t)(1 + below(200));
            m->value[1] = (uint8_t)to;
        }
    } else if (m->kind == 1 && d >= 1) {
        m->value[0] = BAD; /* invalid block, and a different one per peer */
        m->value[1] = (uint8_t)to;
    }
}

static void broadcast(int from, const msg *m, bool remember)
{
    node *nd = &S.nodes[from];

    if (remember) {
        nd->outbox[nd->out_next] = *m;
        nd->out_next = (nd->out_next + 1) % OUTBOX;
        nd->out_n += nd->out_n < OUTBOX;
    }
    for (int to = 0; to < S.n; to++) {
        msg c = *m;
        if (to == from) {
            continue;
        }
        if (c.from == from) {
            tamper(nd, to, &c); /* it can sign only its own messages, not relayed ones */
        }
        if (c.kind == 2 && c.vtype == UL_VOTE_PRECOMMIT) {
            static const uint8_t zero[UL_HASH_BYTES];
            pc_add(c.height, c.round, c.from, c.nil ? zero : c.value);
        }
        deliver_later(from, to, &c);
    }
}

/* Out-of-range heights, rounds, indexes and types, as a hostile or broken peer sends. */
static void garbage(int from)
{
    msg m;

    memset(&m, 0, sizeof(m));
    m.kind = (uint8_t)(1 + below(2));
    m.from = below(2) ? (uint8_t)from : (uint8_t)(S.n + below(200));
    m.vtype = (uint8_t)below(4);
    m.height = below(2) ? rnd() : S.nodes[from].committed + 1;
    m.round = below(2) ? (uint32_t)rnd() : (uint32_t)below(UL_BFT_MAX_ROUND + 2);
    m.vr = (int32_t)rnd();
    m.nil = (uint8_t)below(2);
    m.value[0] = (uint8_t)rnd();
    S.n_garbage++;
    for (int to = 0; to < S.n; to++) {
        if (to != from) {
            deliver_later(from, to, &m);
        }
    }
}

/* ---- nodes ------------------------------------------------------------------------------- */

static void node_value(int i, uint64_t h, uint8_t out[UL_HASH_BYTES])
{
    uint64_t x = h * 1000003 + (uint64_t)i;

    for (int k = 0; k < UL_HASH_BYTES; k++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        out[k] = (uint8_t)(x >> 56);
    }
    out[0] = out[0] == BAD ? 0 : out[0];
}

static void perform(int i);

/* (Re)starts node i's core at its next height, as a node does after applying a block or after
 * loading its store on restart. The rotation is replayed from genesis, as a store would hold it. */
static void node_start(int i)
{
    node *nd = &S.nodes[i];
    ul_bft_rotation rot;
    uint8_t v[UL_HASH_BYTES];

    ul_bft_rotation_init(&rot, &S.set);
    ul_bft_rotation_advance(&rot, &S.set, nd->committed, NULL);
    node_value(i, nd->committed + 1, v);
    nd->out_n = nd->out_next = 0;
    nd->acts.n = 0;
    if (ul_bft_start(&nd->core, &nd->acts, nd->committed + 1, &S.set, &rot, i, v) != UL_OK) {
        failf("start refused", (uint64_t)i, nd->committed + 1);
    }
    perform(i);
}

static void check_commit(int i, const ul_bft_action *a)
{
    node *nd = &S.nodes[i];
    uint64_t h = a->height;

    /* A Byzantine node's own certificate may name the honest vote it never sent. */
    if (!nd->byz && !ul_bft_quorum(&S.set, a->signers)) {
        failf("commit without > 2/3 power", h, a->signers);
    }
    for (int v = 0; v < S.n && !nd->byz; v++) {
        if ((a->signers >> v & 1) && !pc_has(h, a->round, (uint32_t)v, a->value)) {
            failf("commit names a precommit never sent", h, (uint64_t)v);
        }
    }
    if (h != nd->committed + 1 || h > MAX_HEIGHT) {
        failf("commit out of order", h, nd->committed);
        return;
    }
    if (!nd->byz) {
        if (S.decided[h] && memcmp(S.dvalue[h], a->value, UL_HASH_BYTES) != 0) {
            failf("SAFETY: two values committed at one height", h, (uint64_t)i);
        }
        if (a->value[0] == BAD) {
            failf("SAFETY: invalid value committed", h, (uint64_t)i);
        }
        if (!S.decided[h]) {
            S.decided[h] = true;
            memcpy(S.dvalue[h], a->value, UL_HASH_BYTES);
            S.dsigners[h] = a->signers;
        }
    }
    memcpy(nd->chain[h], a->value, UL_HASH_BYTES);
    nd->committed = h;
    S.max_round = a->round > S.max_round ? a->round : S.max_round;
}

static void act_one(int i, const ul_bft_action *a, bool *restart)
{
    node *nd = &S.nodes[i];
    msg m;
    event e;

    memset(&m, 0, sizeof(m));
    m.from = (uint8_t)i;
    m.height = a->height;
    m.round = a->round;
    memcpy(m.value, a->value, UL_HASH_BYTES);
    switch (a->kind) {
    case UL_BFT_ACT_PROPOSAL:
        m.kind = 1;
        m.vr = a->valid_round;
        broadcast(i, &m, true);
        break;
    case UL_BFT_ACT_VOTE:
        m.kind = 2;
        m.vtype = (uint8_t)a->vote_type;
        m.nil = a->nil;
        broadcast(i, &m, true);
        break;
    case UL_BFT_ACT_TIMEOUT:
        memset(&e, 0, sizeof(e));
        e.kind = EV_TIMEOUT;
        e.to = (uint8_t)i;
        e.time = S.now + a->duration_ms;
        e.tkind = a->timeout_kind;
        e.epoch = nd->epoch;
        e.m.height = a->height;
        e.m.round = a->round;
        if (!push(&e)) {
            failf("event queue full", S.now, 0);
        }
        break;
    case UL_BFT_ACT_COMMIT:
        check_commit(i, a);
        *restart = true;
        break;
    case UL_BFT_ACT_EVIDENCE:
        S.n_evidence++;
        if (!S.nodes[a->validator].byz && !S.nodes[a->validator].crashable) {
            failf("evidence against an honest validator", a->validator, a->height);
        }
        break;
    }
}

static void perform(int i)
{
    node *nd = &S.nodes[i];
    bool restart = false;

    for (size_t k = 0; k < nd->acts.n; k++) {
        if (S.verbose) {
            const ul_bft_action *a = &nd->acts.a[k];
            printf("  %" PRIu64 " n%d act %d h=%" PRIu64 " r=%u t=%u nil=%d v=%02x%02x\n", S.now, i,
                   a->kind, a->height, a->round, a->vote_type, a->nil, a->value[0], a->value[1]);
        }
        act_one(i, &nd->acts.a[k], &restart);
    }
    nd->acts.n = 0;
    if (restart && nd->committed < MAX_HEIGHT) {
        event e;
        memset(&e, 0, sizeof(e));
        e.kind = EV_START;
        e.to = (uint8_t)i;
        e.time = S.now + COMMIT_MS;
        e.epoch = nd->epoch;
        if (!push(&e)) {
            failf("event queue full", S.now, 2);
        }
    }
}

/* Block sync: a node that hears of a later height fetches the committed blocks it lacks from
 * the record of honest commits, checking each certificate, then starts after them. */
static void sync_to(int i, uint64_t height)
{
    node *nd = &S.nodes[i];
    bool moved = false;

    while (nd->committed + 1 < height && nd->committed < MAX_HEIGHT &&
           S.decided[nd->committed + 1]) {
        uint64_t h = nd->committed + 1;
        if (!ul_bft_quorum(&S.set, S.dsigners[h])) {
            failf("synced commit lacks quorum", h, 0);
        }
        memcpy(nd->chain[h], S.dvalue[h], UL_HASH_BYTES);
        nd->committed = h;
        moved = true;
    }
    if (moved) {
        S.n_sync++;
        node_start(i);
    }
}

static void on_msg(int i, const msg *m)
{
    node *nd = &S.nodes[i];

    if (m->height > nd->committed + 1 && m->height <= MAX_HEIGHT) {
        sync_to(i, m->height);
    }
    if (m->kind == 1) {
        (void)ul_bft_on_proposal(&nd->core, &nd->acts, m->from, m->height, m->round, m->value,
                                 m->vr, m->value[0] != BAD);
    } else {
        (void)ul_bft_on_vote(&nd->core, &nd->acts, m->from, m->vtype, m->height, m->round,
                             m->nil ? NULL : m->value);
    }
    perform(i);
}

/* Gossip of signed votes held (as CometBFT's vote gossip): the current round's and those of the
 * valid round, whose prevotes are the proof of lock that peers need for line 28. */
static void relay_votes(int i)
{
    node *nd = &S.nodes[i];
    int32_t vr = ul_bft_valid_round(&nd->core);
    uint32_t rounds[2] = {ul_bft_round_now(&nd->core), vr >= 0 ? (uint32_t)vr : UINT32_MAX};

    if (ul_bft_decided(&nd->core)) {
        return;
    }
    for (int k = 0; k < 2; k++) {
        for (uint32_t t = UL_VOTE_PREVOTE; t <= UL_VOTE_PRECOMMIT && rounds[k] != UINT32_MAX; t++) {
            for (int j = 0; j < 2 * S.n; j++) {
                int from = j / 2;
                msg m;
                bool nil;
                memset(&m, 0, sizeof(m));
                if (from == i || !ul_bft_vote_get(&nd->core, rounds[k], t, (uint32_t)from,
                                                  (uint32_t)(j % 2), &nil, m.value)) {
                    continue;
                }
                m.kind = 2;
                m.from = (uint8_t)from;
                m.vtype = (uint8_t)t;
                m.nil = nil;
                m.height = ul_bft_height(&nd->core);
                m.round = rounds[k];
                broadcast(i, &m, false);
            }
        }
    }
}

static void on_tick(int i)
{
    node *nd = &S.nodes[i];
    event e;

    for (size_t k = 0; k < nd->out_n; k++) {
        broadcast(i, &nd->outbox[k], false);
    }
    relay_votes(i);
    if (nd->byz && below(3) == 0) {
        garbage(i);
    }
    memset(&e, 0, sizeof(e));
    e.kind = EV_TICK;
    e.to = (uint8_t)i;
    e.time = S.now + TICK_MS;
    if (!push(&e)) {
        failf("event queue full", S.now, 1);
    }
}

/* ---- one seed ------------------------------------------------------------------------------ */

static void schedule_faults(void)
{
    event e;

    S.heal = 1000 + below(4000);
    if (below(2)) {
        S.part_from = below(S.heal / 2);
        S.part_to = S.part_from + below(S.heal - S.part_from);
        S.part_mask = (uint32_t)(1 + below((1u << S.n) - 2));
    }
    for (int i = 0; i < S.n; i++) {
        uint64_t t;
        if (!S.nodes[i].crashable) {
            continue;
        }
        t = below(S.heal / 2);
        memset(&e, 0, sizeof(e));
        e.kind = EV_CRASH;
        e.to = (uint8_t)i;
        e.time = t;
        push(&e);
        e.kind = EV_RESTART;
        e.time = t + 100 + below(S.heal / 2);
        push(&e);
    }
}

static void setup(uint64_t seed, int n, uint64_t heights)
{
    ul_bft_config cfg = {{300, 100, 100}, {50, 50, 50}};
    int faulty;

    memset(&S.nodes, 0, sizeof(S.nodes));
    memset(S.decided, 0, sizeof(S.decided));
    memset(S.log, 0, sizeof(S.log));
    S.rng = seed * 0x2545f4914f6cdd1dULL + 1;
    S.now = S.seq = S.steps = S.hn = 0;
    S.n_drop = S.n_dup = S.n_crash = S.n_evidence = S.n_garbage = S.n_sync = S.max_round = 0;
    S.part_from = S.part_to = 0;
    S.fail[0] = '\0';
    S.n = n;
    S.f = (n - 1) / 3;
    S.target = heights;
    S.drop_pct = (uint32_t)below(25);
    S.dup_pct = (uint32_t)below(20);
    S.delay_max = (uint32_t)(2 + below(60));
    memset(&S.set, 0, sizeof(S.set));
    S.set.n = (size_t)n;
    for (int i = 0; i < n; i++) {
        S.set.v[i].pubkey[0] = (uint8_t)(i + 1);
        S.set.v[i].power = 1; /* n = 3f+1 equal votes: f faulty is the most the model allows */
    }
    /* Byzantine and crashing (amnesiac: a restart forgets the round's locks) validators
     * together are at most f; which ones is up to the seed. */
    faulty = (int)below((uint64_t)S.f + 1);
    for (int k = 0; k < S.f; k++) {
        int i = (int)below((uint64_t)n);
        if (S.nodes[i].byz || S.nodes[i].crashable) {
            continue;
        }
        S.nodes[i].byz = k < faulty;
        S.nodes[i].crashable = k >= faulty;
    }
    schedule_faults();
    for (int i = 0; i < n; i++) {
        event e;
        node *nd = &S.nodes[i];
        if (ul_bft_init(&nd->core, &cfg) != UL_OK) {
            failf("init", 0, 0);
        }
        nd->up = true;
        memset(&e, 0, sizeof(e));
        e.kind = EV_TICK;
        e.to = (uint8_t)i;
        e.time = 1 + below(TICK_MS);
        push(&e);
        node_start(i);
    }
}

static void step(const event *e)
{
    node *nd = &S.nodes[e->to];

    switch (e->kind) {
    case EV_MSG:
        if (nd->up) {
            on_msg(e->to, &e->m);
        }
        break;
    case EV_TIMEOUT:
        if (nd->up && e->epoch == nd->epoch) {
            (void)ul_bft_on_timeout(&nd->core, &nd->acts, e->tkind, e->m.height, e->m.round);
            perform(e->to);
        }
        break;
    case EV_TICK:
        if (nd->up) {
            on_tick(e->to);
        } else {
            event t = *e;
            t.time = S.now + TICK_MS;
            push(&t);
        }
        break;
    case EV_START:
        /* Unless block sync already moved it on, the node begins its next height. */
        if (nd->up && e->epoch == nd->epoch && ul_bft_height(&nd->core) != nd->committed + 1) {
            node_start(e->to);
        }
        break;
    case EV_CRASH:
        nd->up = false;
        nd->epoch++; /* its pending timers die with the process */
        S.n_crash++;
        break;
    case EV_RESTART: {
        ul_bft_config cfg = nd->core.cfg;
        nd->up = true;
        (void)ul_bft_init(&nd->core, &cfg); /* the round state is lost; the store is not */
        node_start(e->to);
        break;
    }
    }
}

/* Safety after every step: each honest node's chain agrees with the agreed values. Returns
 * the lowest height committed by an honest node. */
static uint64_t check_state(void)
{
    uint64_t lo = UINT64_MAX;

    for (int i = 0; i < S.n; i++) {
        const node *nd = &S.nodes[i];
        if (nd->byz) {
            continue;
        }
        lo = nd->committed < lo ? nd->committed : lo;
        if (nd->committed > 0 &&
            memcmp(nd->chain[nd->committed], S.dvalue[nd->committed], UL_HASH_BYTES) != 0) {
            failf("SAFETY: chain differs from the agreed value", nd->committed, (uint64_t)i);
        }
    }
    return lo;
}

static bool run_seed(uint64_t seed, int n, uint64_t heights)
{
    event e;

    setup(seed, n, heights);
    S.last_progress = 0;
    S.min_height = 0;
    S.based = false;
    while (S.fail[0] == '\0' && S.hn > 0) {
        uint64_t lo;
        pop(&e);
        S.now = e.time;
        if (++S.steps > MAX_STEPS) {
            failf("step budget exhausted", S.steps, S.min_height);
            break;
        }
        if (S.verbose && e.kind != EV_MSG) {
            printf("%" PRIu64 " ev %d -> n%d\n", S.now, e.kind, e.to);
        }
        step(&e);
        lo = check_state();
        if (lo > S.min_height) {
            S.min_height = lo;
            S.last_progress = S.now;
        }
        if (!S.based && S.now >= S.heal) {
            S.based = true; /* liveness: `target` new heights after the faults heal */
            S.base = lo;
        }
        if (S.based && lo >= S.base + S.target) {
            return true;
        }
        if (lo >= MAX_HEIGHT) {
            failf("ran out of heights", lo, 0);
        }
        if (S.now > S.heal &&
            S.now - (S.last_progress > S.heal ? S.last_progress : S.heal) > LIVE_MS) {
            failf("LIVENESS: no height committed after healing", S.min_height, S.max_round);
        }
    }
    if (S.fail[0] == '\0') {
        failf("event queue ran dry", S.min_height, 0);
    }
    for (int i = 0; i < S.n && S.verbose; i++) {
        const node *nd = &S.nodes[i];
        printf("node %d byz=%d crash=%d up=%d committed=%" PRIu64 " core h=%" PRIu64
               " r=%u step=%d decided=%d locked=%d/%d valid=%d\n",
               i, nd->byz, nd->crashable, nd->up, nd->committed, nd->core.height, nd->core.round,
               nd->core.step, nd->core.decided, nd->core.locked, nd->core.locked_round,
               nd->core.valid_round);
    }
    return false;
}

/* ---- command line -------------------------------------------------------------------------- */

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (s == NULL || *s == '\0') {
        return false;
    }
    v = strtoull(s, &end, 10);
    if (*end != '\0') {
        return false;
    }
    *out = v;
    return true;
}

static int usage(void)
{
    fprintf(stderr, "usage: sim --seeds N [--first S] [--n 4|7] [--heights H]\n"
                    "       sim --seed S [--n 4|7] [--heights H] [-v]\n");
    return 2;
}

int main(int argc, char **argv)
{
    uint64_t seeds = 100, first = 1, n = 0, heights = 8, passed = 0;
    bool one = false;
    clock_t t0 = clock();

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true;
        if (strcmp(a, "-v") == 0) {
            S.verbose = 1;
            continue;
        }
        if (strcmp(a, "--seeds") == 0) {
            ok = parse_u64(v, &seeds);
        } else if (strcmp(a, "--first") == 0) {
            ok = parse_u64(v, &first);
        } else if (strcmp(a, "--seed") == 0) {
            ok = parse_u64(v, &first);
            seeds = 1;
            one = true;
        } else if (strcmp(a, "--n") == 0) {
            ok = parse_u64(v, &n) && (n == 4 || n == 7);
        } else if (strcmp(a, "--heights") == 0) {
            ok = parse_u64(v, &heights) && heights >= 1 && heights <= 64;
        } else {
            ok = false;
        }
        if (!ok) {
            return usage();
        }
        i++;
    }
    for (uint64_t s = first; s < first + seeds; s++) {
        /* Without --n, seeds alternate between 4 and 7 validators. */
        int nn = n != 0 ? (int)n : (s % 2 ? 4 : 7);
        if (run_seed(s, nn, heights)) {
            passed++;
        } else {
            printf("sim: seed %" PRIu64 " FAILED: n=%d %s\n", s, nn, S.fail);
        }
        if (one || S.verbose) {
            printf("sim: seed %" PRIu64 " n=%d f=%d t=%" PRIu64 "ms steps=%" PRIu64
                   " heights=%" PRIu64 " (at heal %" PRIu64 ") max_round=%" PRIu64
                   " drop=%u%% dup=%u%% delay<=%u heal=%" PRIu64 " drops=%" PRIu64 " dups=%" PRIu64
                   " crashes=%" PRIu64 " evidence=%" PRIu64 " garbage=%" PRIu64 " syncs=%" PRIu64
                   "\n",
                   s, nn, S.f, S.now, S.steps, S.min_height, S.base, S.max_round, S.drop_pct,
                   S.dup_pct, S.delay_max, S.heal, S.n_drop, S.n_dup, S.n_crash, S.n_evidence,
                   S.n_garbage, S.n_sync);
        }
    }
    printf("sim: %" PRIu64 " seeds, %" PRIu64 " passed, %" PRIu64 " failed (%.2fs cpu)\n", seeds,
           passed, seeds - passed, (double)(clock() - t0) / CLOCKS_PER_SEC);
    return passed == seeds ? 0 : 1;
}
