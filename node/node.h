/* upledgerd internals: the request handlers and the node state they share with the loop. */
#ifndef UL_NODE_H
#define UL_NODE_H

#include <stdbool.h>

#include "../ledger/ul_ledger.h"
#include "../p2p/ul_p2p.h"

typedef struct {
    ul_chain *chain;
    ul_key *key;
    bool verbose;
    uint64_t first_pending_ms; /* when the oldest pending tx arrived (0: none) */
    /* Non-zero once this node's key cannot commit a block alone (UL_E_QUORUM: it holds no more
     * than 2/3 of the current set's power; UL_E_VALIDATOR: it left the set). Logged once; from
     * then on the node makes no blocks, refuses submissions with this code and serves queries. */
    ul_err stalled;
} ul_node;

/* Handles one request message and returns the reply (malloc'd) in *out. Never fails: a request
 * that cannot be served gets a reply carrying the error. */
void ul_node_handle(ul_node *n, const uint8_t *req, size_t len, uint8_t **out, size_t *out_len);
/* Commits the pending block (or a heartbeat when empty) and logs it. */
ul_err ul_node_produce(ul_node *n);
uint64_t ul_node_now_ms(void);

#endif
