/* Tests of the nanomsg transport and query-message framing: round trips over loopback, the
 * size cap enforced before decoding, and bounded waits. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "p2p/ul_p2p.h"

static char endpoint[64];

/* A loopback port the kernel says is free right now (bound to port 0, then released). */
static const char *fresh_endpoint(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", ntohs(a.sin_port));
    return endpoint;
}

/* An echo server: replies {0: 0, 1: request length} to `count` requests. */
typedef struct {
    int sock;
    int count;
    size_t last_len;
} echo_server;

static void *echo(void *arg)
{
    echo_server *s = arg;
    for (int i = 0; i < s->count; i++) {
        uint8_t *req, out[32];
        size_t len, olen;
        ul_err e = UL_E_TIMEOUT;
        for (int tries = 0; tries < 20 && e == UL_E_TIMEOUT; tries++) { /* 1 s each */
            e = ul_p2p_recv(s->sock, &req, &len);
        }
        if (e != UL_OK) {
            continue;
        }
        s->last_len = len;
        ul_p2p_free(req);
        ul_msg m;
        ul_msg_init(&m);
        ul_msg_uint(&m, UL_QK_ERR, UL_OK);
        ul_msg_uint(&m, 1, len); /* the transport's test payload, not a query reply */
        assert_int_equal(ul_msg_encode(out, sizeof out, &olen, &m), UL_OK);
        ul_p2p_send(s->sock, out, olen);
    }
    return NULL;
}

static void test_round_trip(void **state)
{
    const char *ep = fresh_endpoint();
    echo_server s = {.count = 1};
    int req;
    assert_int_equal(ul_p2p_listen(&s.sock, ep), UL_OK);
    assert_int_equal(ul_p2p_connect(&req, ep, 5000), UL_OK);
    pthread_t t;
    pthread_create(&t, NULL, echo, &s);
    ul_msg q, r;
    uint8_t *buf;
    uint64_t v;
    ul_msg_init(&q);
    ul_msg_uint(&q, UL_QK_METHOD, UL_RPC_STATUS);
    ul_msg_text(&q, 1, ul_span_str("acme/router")); /* any payload: the echo counts bytes */
    assert_int_equal(ul_p2p_call(req, &q, &r, &buf), UL_OK);
    assert_int_equal(ul_msg_get_uint(&r, 1, &v), UL_OK);
    assert_int_equal(v, s.last_len);
    ul_p2p_free(buf);
    pthread_join(t, NULL);
    ul_p2p_close(req);
    ul_p2p_close(s.sock);
}

static void test_second_listener_refused(void **state)
{
    const char *ep = fresh_endpoint();
    int a, b;
    assert_int_equal(ul_p2p_listen(&a, ep), UL_OK);
    assert_int_equal(ul_p2p_listen(&b, ep), UL_E_EXISTS);
    ul_p2p_close(a);
    assert_int_equal(ul_p2p_listen(&b, "bogus://x"), UL_E_CONFIG);
}

static void test_timeout_without_server(void **state)
{
    int req;
    uint8_t *buf;
    ul_msg q, r;
    assert_int_equal(ul_p2p_connect(&req, fresh_endpoint(), 200), UL_OK);
    ul_q_status_req(&q);
    assert_int_equal(ul_p2p_call(req, &q, &r, &buf), UL_E_TIMEOUT);
    ul_p2p_free(buf);
    ul_p2p_close(req);
}

/* A socket made without timeouts gets one later: the call that would wait forever gives up
 * (the alarm turns a hang into a failure). An invalid socket is refused. */
static void test_set_timeout(void **state)
{
    int req;
    uint8_t *buf;
    ul_msg q, r;
    alarm(20);
    assert_int_equal(ul_p2p_connect(&req, fresh_endpoint(), -1), UL_OK);
    assert_int_equal(ul_p2p_set_timeout(req, 200), UL_OK);
    ul_q_status_req(&q);
    assert_int_equal(ul_p2p_call(req, &q, &r, &buf), UL_E_TIMEOUT);
    ul_p2p_free(buf);
    ul_p2p_close(req);
    assert_int_equal(ul_p2p_set_timeout(req, 200), UL_E_NET);
    assert_int_equal(ul_p2p_set_timeout(-1, 200), UL_E_NET);
    alarm(0);
}

static void test_wait_times_out(void **state)
{
    int s;
    assert_int_equal(ul_p2p_listen(&s, fresh_endpoint()), UL_OK);
    assert_int_equal(ul_p2p_wait(s, 50), UL_E_TIMEOUT);
    ul_p2p_close(s);
}

/* A message over UL_MAX_MSG_BYTES never reaches the receiver: nanomsg drops it. */
static void test_oversized_dropped(void **state)
{
    const char *ep = fresh_endpoint();
    int rep, req;
    assert_int_equal(ul_p2p_listen(&rep, ep), UL_OK);
    assert_int_equal(ul_p2p_connect(&req, ep, 2000), UL_OK);
    size_t big = (size_t)UL_MAX_MSG_BYTES + 1;
    uint8_t *p = calloc(1, big);
    assert_non_null(p);
    assert_int_equal(ul_p2p_send(req, p, big), UL_E_LIMIT); /* refused before sending */
    free(p);
    assert_int_equal(ul_p2p_wait(rep, 200), UL_E_TIMEOUT);
    ul_p2p_close(req);
    ul_p2p_close(rep);
}

/* The same at the bound: a message of exactly UL_MAX_MSG_BYTES is delivered. */
static void test_bound_delivered(void **state)
{
    const char *ep = fresh_endpoint();
    echo_server s = {.count = 1};
    int req;
    assert_int_equal(ul_p2p_listen(&s.sock, ep), UL_OK);
    assert_int_equal(ul_p2p_connect(&req, ep, 10000), UL_OK);
    pthread_t t;
    pthread_create(&t, NULL, echo, &s);
    uint8_t *p = calloc(1, UL_MAX_MSG_BYTES), *reply;
    size_t rlen;
    assert_non_null(p);
    assert_int_equal(ul_p2p_send(req, p, UL_MAX_MSG_BYTES), UL_OK);
    assert_int_equal(ul_p2p_recv(req, &reply, &rlen), UL_OK);
    ul_p2p_free(reply);
    pthread_join(t, NULL);
    assert_int_equal(s.last_len, UL_MAX_MSG_BYTES);
    free(p);
    ul_p2p_close(req);
    ul_p2p_close(s.sock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_second_listener_refused),
        cmocka_unit_test(test_timeout_without_server),
        cmocka_unit_test(test_set_timeout),
        cmocka_unit_test(test_wait_times_out),
        cmocka_unit_test(test_oversized_dropped),
        cmocka_unit_test(test_bound_delivered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
