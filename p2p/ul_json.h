/* Records as JSON (jansson): the objects `upledger ... --json` prints and upledgerd's HTTP API
 * serves (docs/openapi.yaml), written once for both. Every function returns a new reference, or
 * NULL when out of memory (the record ones also on a malformed record). */
#ifndef UL_JSON_H
#define UL_JSON_H

#include <stdint.h>

#include <jansson.h>

#include "../ledger/ul_ledger.h"

/* Unsigned 64-bit values in JSON, exactly: jansson's integers are signed, so a value above
 * INT64_MAX is held in a marked string that ul_json_dumps writes as a bare JSON number.
 * ul_json_u64_value reads either form back (0 for anything else). */
json_t *ul_json_u64(uint64_t v);
uint64_t ul_json_u64_value(const json_t *v);
/* json_dumps, with ul_json_u64's values written as numbers; free() the result. */
char *ul_json_dumps(const json_t *v, size_t flags);

/* Time: "2026-11-22T10:00:00Z" from unix seconds (the digits past year 9999). */
void ul_json_time_str(char out[32], uint64_t unix_s);
/* n bytes as a lower-case hex string. */
json_t *ul_json_hex(const uint8_t *p, size_t n);
const char *ul_json_kind_name(uint64_t kind);    /* update kind: security, feature, ... */
const char *ul_json_tx_kind_name(uint64_t kind); /* transaction kind: register, publish, ... */

/* A publish transaction's release record (id, namespace, version, image, signers, ...). */
json_t *ul_json_release(const uint8_t *tx, size_t len);
json_t *ul_json_header(const ul_header *h, const uint8_t hash32[UL_HASH_BYTES]);
/* A namespace's policy: owners, publishers, roles, require, hardware, revokers. */
json_t *ul_json_policy(const ul_policy *p);

#endif
