/* Cross-file internals of client/ (allocation-free like the rest of the module). */
#ifndef UL_CLIENT_INTERNAL_H
#define UL_CLIENT_INTERNAL_H

#include "ul_client.h"

/* SHA256(prefix || a32 || b32): the shape of every tree node and SMT leaf hash. out32 may alias
 * a32 or b32 (both are absorbed before out32 is written). */
void ul_client_hash_pair(uint8_t out32[UL_HASH_BYTES], uint8_t prefix,
                         const uint8_t a32[UL_HASH_BYTES], const uint8_t b32[UL_HASH_BYTES]);

#endif
