/* What one request costs the process that answers it, by transport, in figures:
 *
 *   bench_transport [SECONDS]
 *
 * A child process answers paced requests from this one over loopback TCP and reports the CPU
 * time and context switches of all its threads, per request, after a warm-up:
 *   - through the query endpoint's own transport (p2p/ul_p2p.h: a nanomsg REP socket waited on
 *     with ul_p2p_pollset_wait, as upledgerd's loop does, then ul_p2p_recv and ul_p2p_send);
 *   - through a kernel TCP socket read and written by one blocking thread, the least any
 *     transport can cost.
 * Requests are 1,200 bytes (a submit of two or three releases), replies 32, at 100 and 1,000
 * requests a second for SECONDS each (default 2), under SCHED_BATCH as upledgerd runs and under
 * the normal policy. At 1,000 releases/s offered, bench_testnet's clients make about 100 submit
 * calls a second to each validator, so the first row, times 400, is what the calls' transport
 * costs per 1,000 releases. Prints "bench: <name>: <value> <unit>"; figures only.
 * tests/bench/run.sh runs it. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "p2p/ul_p2p.h"

#define REQ_BYTES 1200
#define REPLY_BYTES 32
#define WARMUP 20            /* requests answered before the child starts its clocks */
#define CALL_TIMEOUT_MS 5000 /* a request not answered within this fails the run */

typedef struct {
    double cpu_us, switches; /* per request, over every thread of the answering process */
} cost;

static double rusage_us(const struct rusage *r)
{
    return (double)(r->ru_utime.tv_sec + r->ru_stime.tv_sec) * 1e6 +
           (double)(r->ru_utime.tv_usec + r->ru_stime.tv_usec);
}

/* The answering end: a nanomsg REP socket and the pollset upledgerd's loop would wait on, or
 * an accepted kernel TCP socket. */
typedef struct {
    int s;
    ul_p2p_pollset ps;
} server;

/* The answering process's CPU time and context switches per request, from after the warm-up to
 * the last of n replies; false if one request failed. */
static bool meter(bool (*answer)(const server *), const server *sv, size_t n, cost *out)
{
    struct rusage r0 = {0}, r1;
    for (size_t i = 0; i < n; i++) {
        if (i == WARMUP) {
            getrusage(RUSAGE_SELF, &r0);
        }
        if (!answer(sv)) {
            return false;
        }
    }
    getrusage(RUSAGE_SELF, &r1);
    double k = (double)(n - WARMUP);
    *out = (cost){(rusage_us(&r1) - rusage_us(&r0)) / k,
                  (double)(r1.ru_nvcsw - r0.ru_nvcsw + r1.ru_nivcsw - r0.ru_nivcsw) / k};
    return true;
}

/* One request on the query transport, waited for as upledgerd's loop waits. */
static bool answer_p2p(const server *sv)
{
    static const uint8_t reply[REPLY_BYTES];
    bool ready = false;
    uint8_t *req;
    size_t len;
    if (ul_p2p_pollset_wait(&sv->ps, 1, CALL_TIMEOUT_MS, &ready) != UL_OK || !ready ||
        ul_p2p_recv(sv->s, &req, &len) != UL_OK) {
        return false;
    }
    ul_p2p_free(req);
    return ul_p2p_send(sv->s, reply, sizeof reply) == UL_OK;
}

/* One request on a kernel TCP socket, read by this one blocking thread. */
static bool answer_tcp(const server *sv)
{
    uint8_t buf[REQ_BYTES];
    return recv(sv->s, buf, sizeof buf, MSG_WAITALL) == (ssize_t)sizeof buf &&
           send(sv->s, buf, REPLY_BYTES, 0) == REPLY_BYTES;
}

/* The answering process (this program run again with "serve", so that nothing of nanomsg is
 * inherited from the asking one): answers n requests on nanomsg endpoint ep, or on the kernel
 * TCP listener ls, under SCHED_BATCH as upledgerd runs by default (node/main.c) or under the
 * normal policy, then writes its cost to fd. Returns its exit status. */
static int serve(bool p2p, bool batch, const char *ep, int ls, size_t n, int fd)
{
    struct sched_param sp = {0};
    server sv = {.s = -1};
    int one = 1;
    cost c;
    bool ok = sched_setscheduler(0, batch ? SCHED_BATCH : SCHED_OTHER, &sp) == 0;
    ok = ok &&
         (p2p ? ul_p2p_listen(&sv.s, ep) == UL_OK && ul_p2p_pollset_init(&sv.ps, &sv.s, 1) == UL_OK
              : (sv.s = accept(ls, NULL, NULL)) >= 0 &&
                    setsockopt(sv.s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0);
    ok = ok && meter(p2p ? answer_p2p : answer_tcp, &sv, n, &c) &&
         write(fd, &c, sizeof c) == (ssize_t)sizeof c;
    return ok ? 0 : 1;
}

/* Sleeps until request i's time: t0 + i / rate. */
static void pace(double t0, size_t i, double rate)
{
    double left = t0 + (double)i / rate - bench_now_s();
    if (left > 0) {
        struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

static bool call_p2p(const char *ep, size_t n, double rate)
{
    int s;
    uint8_t req[REQ_BYTES];
    memset(req, 0xa5, sizeof req);
    if (ul_p2p_connect(&s, ep, CALL_TIMEOUT_MS) != UL_OK) {
        return false;
    }
    bool ok = true;
    double t0 = bench_now_s();
    for (size_t i = 0; ok && i < n; i++) {
        uint8_t *reply;
        size_t len;
        ok = ul_p2p_send(s, req, sizeof req) == UL_OK && ul_p2p_recv(s, &reply, &len) == UL_OK;
        if (ok) {
            ul_p2p_free(reply);
            pace(t0, i + 1, rate);
        }
    }
    ul_p2p_close(s);
    return ok;
}

static bool call_tcp(uint16_t port, size_t n, double rate)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    uint8_t req[REQ_BYTES], reply[REPLY_BYTES];
    memset(req, 0xa5, sizeof req);
    struct timeval tv = {CALL_TIMEOUT_MS / 1000, 0};
    int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);
    bool ok = s >= 0 && setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 &&
              setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0 &&
              connect(s, (struct sockaddr *)&a, sizeof a) == 0;
    double t0 = bench_now_s();
    for (size_t i = 0; ok && i < n; i++) {
        ok = send(s, req, sizeof req, 0) == (ssize_t)sizeof req &&
             recv(s, reply, sizeof reply, MSG_WAITALL) == (ssize_t)sizeof reply;
        pace(t0, i + 1, rate);
    }
    if (s >= 0) {
        close(s);
    }
    return ok;
}

/* A listening kernel TCP socket on a free loopback port (*port). */
static int listen_any(uint16_t *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 1) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &al) != 0) {
        if (s >= 0) {
            close(s);
        }
        return -1;
    }
    *port = ntohs(a.sin_port);
    return s;
}

/* Runs one transport at one rate under one policy: a child answers, this process asks. */
static bool run(const char *self, bool p2p, bool batch, double rate, double secs, cost *out)
{
    size_t n = WARMUP + (size_t)(rate * secs);
    uint16_t port;
    int pfd[2], ls = listen_any(&port); /* for nanomsg: a free port, closed before it binds */
    if (ls < 0 || pipe(pfd) != 0) {
        return false;
    }
    char ep[64], a_ls[16], a_n[24], a_fd[16];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%u", (unsigned)port);
    snprintf(a_ls, sizeof a_ls, "%d", ls);
    snprintf(a_n, sizeof a_n, "%zu", n);
    snprintf(a_fd, sizeof a_fd, "%d", pfd[1]);
    if (p2p) {
        close(ls);
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        execl(self, self, "serve", p2p ? "p2p" : "tcp", batch ? "batch" : "normal", ep, a_ls, a_n,
              a_fd, (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    if (!p2p) {
        close(ls);
    }
    bool ok = pid > 0 && (p2p ? call_p2p(ep, n, rate) : call_tcp(port, n, rate));
    ok = ok && read(pfd[0], out, sizeof *out) == (ssize_t)sizeof *out;
    close(pfd[0]);
    int st = 0;
    if (pid > 0) {
        if (!ok) {
            kill(pid, SIGKILL);
        }
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
    }
    return ok && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(int argc, char **argv)
{
    if (argc == 8 && strcmp(argv[1], "serve") == 0) { /* run() starts it: see serve() */
        return serve(strcmp(argv[2], "p2p") == 0, strcmp(argv[3], "batch") == 0, argv[4],
                     (int)strtol(argv[5], NULL, 10), strtoul(argv[6], NULL, 10),
                     (int)strtol(argv[7], NULL, 10));
    }
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    if (argc > 2 || !(secs >= 0.5 && secs <= 60)) { /* at least 50 requests timed at 100/s */
        fprintf(stderr, "usage: bench_transport [SECONDS (0.5-60, default 2)]\n");
        return 2;
    }
    static const double rates[] = {100, 1000};
    cost batch100 = {0};
    for (int batch = 1; batch >= 0; batch--) {
        for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
            for (int p2p = 1; p2p >= 0; p2p--) {
                cost c;
                const char *name = p2p ? "p2p REQ/REP (nanomsg)" : "kernel TCP";
                const char *pol = batch ? "SCHED_BATCH" : "SCHED_OTHER";
                if (!run("/proc/self/exe", p2p, batch, rates[r], secs, &c)) {
                    fprintf(stderr, "bench_transport: %s at %.0f/s under %s failed\n", name,
                            rates[r], pol);
                    return 1;
                }
                if (p2p && batch && r == 0) {
                    batch100 = c;
                }
                printf("bench: transport %s CPU per request at %.0f/s, %s: %.1f us (%.1f "
                       "context switches)\n",
                       name, rates[r], pol, c.cpu_us, c.switches);
            }
        }
    }
    printf("bench: transport 4 validators x 100 calls/s, per release at 1000/s: %.1f us\n",
           batch100.cpu_us * 400 / 1000);
    return 0;
}
