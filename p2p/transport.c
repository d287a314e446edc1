/* nanomsg transport: REQ/REP sockets for the query endpoint. The only file that includes
 * nanomsg; it caps received message size so no decoder ever sees an oversized message. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>

#include "ul_p2p.h"

/* REQ resends an unanswered request after this long; the interval is far beyond any call
 * timeout so that a slow reply is never answered twice. (REQ still resends when a connection
 * drops and comes back; every transaction is replay-protected, and the CLI recognises its own
 * committed bytes, so a resent submit is harmless.) */
#define REQ_RESEND_IVL_MS (24 * 3600 * 1000)
#define PROTOCOL_HEADROOM 1024

static ul_err open_sock(int *sock, int proto, int timeout_ms)
{
    int s = nn_socket(AF_SP, proto);
    if (s < 0) {
        return UL_E_NET;
    }
    /* REQ/REP prepend a request id to each message on the wire, so the receive cap allows a
     * little headroom above the payload cap that ul_p2p_send enforces. */
    int max = UL_MAX_MSG_BYTES + PROTOCOL_HEADROOM, linger = 0;
    if (nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVMAXSIZE, &max, sizeof max) < 0 ||
        nn_setsockopt(s, NN_SOL_SOCKET, NN_LINGER, &linger, sizeof linger) < 0 ||
        (timeout_ms >= 0 &&
         (nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVTIMEO, &timeout_ms, sizeof timeout_ms) < 0 ||
          nn_setsockopt(s, NN_SOL_SOCKET, NN_SNDTIMEO, &timeout_ms, sizeof timeout_ms) < 0))) {
        nn_close(s);
        return UL_E_NET;
    }
    *sock = s;
    return UL_OK;
}

ul_err ul_p2p_listen(int *sock, const char *endpoint)
{
    int s;
    ul_err e = open_sock(&s, NN_REP, 1000);
    if (e != UL_OK) {
        return e;
    }
    if (nn_bind(s, endpoint) < 0) {
        nn_close(s);
        return errno == EADDRINUSE ? UL_E_EXISTS : UL_E_CONFIG;
    }
    *sock = s;
    return UL_OK;
}

ul_err ul_p2p_connect(int *sock, const char *endpoint, int timeout_ms)
{
    int s, ivl = REQ_RESEND_IVL_MS;
    ul_err e = open_sock(&s, NN_REQ, timeout_ms);
    if (e != UL_OK) {
        return e;
    }
    if (nn_setsockopt(s, NN_REQ, NN_REQ_RESEND_IVL, &ivl, sizeof ivl) < 0 ||
        nn_connect(s, endpoint) < 0) {
        nn_close(s);
        return UL_E_CONFIG;
    }
    *sock = s;
    return UL_OK;
}

ul_err ul_p2p_set_timeout(int sock, int timeout_ms)
{
    if (nn_setsockopt(sock, NN_SOL_SOCKET, NN_RCVTIMEO, &timeout_ms, sizeof timeout_ms) < 0 ||
        nn_setsockopt(sock, NN_SOL_SOCKET, NN_SNDTIMEO, &timeout_ms, sizeof timeout_ms) < 0) {
        return UL_E_NET;
    }
    return UL_OK;
}

void ul_p2p_close(int sock)
{
    if (sock >= 0) {
        nn_close(sock);
    }
}

ul_err ul_p2p_wait(int sock, int timeout_ms)
{
    struct nn_pollfd pfd = {.fd = sock, .events = NN_POLLIN};
    int r = nn_poll(&pfd, 1, timeout_ms);
    if (r < 0) {
        return UL_E_NET;
    }
    return r == 0 ? UL_E_TIMEOUT : UL_OK;
}

ul_err ul_p2p_recv(int sock, uint8_t **msg, size_t *len)
{
    void *buf = NULL;
    int n = nn_recv(sock, &buf, NN_MSG, 0);
    if (n < 0) {
        return (errno == ETIMEDOUT || errno == EAGAIN) ? UL_E_TIMEOUT : UL_E_NET;
    }
    *msg = buf;
    *len = (size_t)n;
    return UL_OK;
}

ul_err ul_p2p_send(int sock, const uint8_t *msg, size_t len)
{
    if (len > UL_MAX_MSG_BYTES) {
        return UL_E_LIMIT;
    }
    int n = nn_send(sock, msg, len, 0);
    if (n < 0) {
        return errno == ETIMEDOUT ? UL_E_TIMEOUT : UL_E_NET;
    }
    return UL_OK;
}

void ul_p2p_free(uint8_t *msg)
{
    if (msg) {
        nn_freemsg(msg);
    }
}

ul_err ul_p2p_call(int sock, const ul_msg *req, ul_msg *reply, uint8_t **buf)
{
    size_t cap = ul_msg_encoded_max(req), len, rlen;
    uint8_t *out = malloc(cap);
    *buf = NULL;
    if (!out) {
        return UL_E_NOMEM;
    }
    ul_err e = ul_msg_encode(out, cap, &len, req);
    if (e == UL_OK) {
        e = ul_p2p_send(sock, out, len);
    }
    free(out);
    if (e != UL_OK || (e = ul_p2p_recv(sock, buf, &rlen)) != UL_OK) {
        return e;
    }
    uint64_t status;
    if (ul_msg_decode(reply, *buf, rlen) != UL_OK ||
        ul_msg_get_uint(reply, UL_QK_ERR, &status) != UL_OK) {
        return UL_E_PROTOCOL;
    }
    return (ul_err)status;
}
