/* Every bound upledger enforces, in one place, each with why it is what it is.
 *
 * Inputs that exceed a limit are rejected with UL_E_LIMIT; nothing is ever truncated.
 * Tests exercise each limit at the bound and one past it.
 */
#ifndef UL_LIMITS_H
#define UL_LIMITS_H

/* The public headers state their invariants with C11's _Static_assert; C++ spells it
 * static_assert (and g++ knows no _Static_assert), so a C++ program can include them too. */
#if defined(__cplusplus) && !defined(_Static_assert)
#define _Static_assert static_assert
#endif

/* Namespace "vendor/product": short enough to print on one line and key an index. */
#define UL_MAX_NS_LEN 128
/* Version strings, provider names, file names, hardware class ids, dependency constraints:
 * human labels, never free text. */
#define UL_MAX_LABEL_LEN 128
/* A mirror link is a hint (mirrors are untrusted); a long URL is still well under this. */
#define UL_MAX_LINK_LEN 512
/* Mirror hints per release: devices try a few, then any mirror they know. */
#define UL_MAX_LINKS 8
/* Hardware classes one release supports: a product line, not a catalogue. */
#define UL_MAX_HW 16
/* Dependencies per release (SUIT manifests rarely name more than a handful). */
#define UL_MAX_DEPS 16
/* Keys per role (owners, publishers) and signatures per transaction: small multi-party sets. */
#define UL_MAX_KEYS 8
#define UL_MAX_SIGS 8
/* Co-signer roles per namespace policy (certifier, enterprise, regulator, ...). */
#define UL_MAX_ROLES 8
/* Installable releases remembered per (namespace, hardware class), newest first: revoking the
 * newest falls back to the next without scanning history; 8 deep covers repeated revocations. */
#define UL_MAX_INSTALLABLE_KEPT 8
/* Namespaces one dependency-cycle check walks (ledger/exec.c): a release's dependencies, theirs
 * (each namespace's newest release), and so on. A device tracks at most UL_MAX_COMPONENTS (8)
 * namespaces, so no device could install a release needing more than this; the walk costs one
 * store read per namespace, so a publish stays cheap to validate. Past it: UL_E_LIMIT. */
#define UL_MAX_DEP_CLOSURE 64
/* Numeric parts of a version ("1.2.3.4") and comparators in a dependency constraint. */
#define UL_MAX_VERSION_PARTS 4
#define UL_MAX_CONSTRAINT_TERMS 4
/* Content keys wrapped per encrypted release: one per hardware class at most. */
#define UL_MAX_WRAPPED_KEYS UL_MAX_HW
/* A sealed content key: crypto_box_SEALBYTES (48) + a 32-byte key. */
#define UL_SEALED_KEY_BYTES 80

/* Canonical bytes of one release record body; real records are ~350 bytes. (A device reads the
 * record item by item as it streams, schema/leaf_walk.c, so this bound no longer sizes its
 * context; nodes and the CLI still hold records whole.) It is reached
 * before every list and label above is at its own maximum at once (~14 KB), so a record that
 * large is refused with UL_E_LIMIT even when each field is within its bound. */
#define UL_MAX_RECORD_BYTES 4096
/* One signed transaction: its body plus UL_MAX_SIGS (key, signature) pairs. */
#define UL_MAX_TX_BYTES (UL_MAX_RECORD_BYTES + 1024)
/* Transactions in one block: bounds block assembly, apply time and the block's tx tree. */
#define UL_MAX_BLOCK_TXS 2048
/* Canonical bytes of one block (header, txs). */
#define UL_MAX_BLOCK_BYTES (UL_MAX_BLOCK_TXS * UL_MAX_TX_BYTES + 4096)

/* Validators in a set: a consortium, not a public chain; a commit of this many signatures still
 * fits a device's bundle buffer. */
#define UL_MAX_VALIDATORS 64
/* Block header canonical bytes (fixed fields only). */
#define UL_MAX_HEADER_BYTES 512
/* A commit: height, round, hash and one (index, time, signature) per validator. */
#define UL_MAX_COMMIT_BYTES (64 + UL_MAX_VALIDATORS * 80)
/* A validator set: (key, power) per validator. */
#define UL_MAX_VALSET_BYTES (16 + UL_MAX_VALIDATORS * 48)
/* Total voting power: sums and 3x products must not overflow uint64. */
#define UL_MAX_TOTAL_POWER (1ULL << 60)

/* Merkle proof depth: a tree of size < 2^64 has at most 64 levels. */
#define UL_MAX_PROOF_DEPTH 64

/* ---- Device side (client/) ---- */

/* Validator-set changes one bundle may walk through from a device's anchor: a consortium changes
 * its set a few times a year; a device offline for years still fits. */
#define UL_MAX_VALSET_STEPS 64
/* One bundle section (a CBOR byte string wrapping one array): the largest is the release
 * record's (LEAF) section, the record plus a few heads. A device holds every other section
 * whole (UL_MAX_HELD_SECTION_BYTES) and reads the LEAF item by item. */
#define UL_MAX_SECTION_BYTES (UL_MAX_RECORD_BYTES + 64)
/* The largest bundle section a device holds whole. It reads the LEAF (the release record),
 * INCLUSION and SIBLINGS sections item by item, so it holds: a HEADER or CHECKPOINT section, a
 * header of at most UL_MAX_HEADER_BYTES and four heads (526 bytes); a STATE section (at most
 * 493: depth, bitmap, a 320-byte installable list, a class label); a VOTER (120); or one item
 * of a streamed section, the largest a mirror link (515). */
#define UL_MAX_HELD_SECTION_BYTES (UL_MAX_HEADER_BYTES + 32)
/* The device's one buffer (ul_update): a held section, or for an encrypted image one
 * ciphertext chunk (UL_MAX_ENC_CHUNK plus the 17-byte secretstream tag), whichever is larger; a
 * build without encrypted-image support (UL_CLIENT_NO_DECRYPT) needs only the first. */
#if defined(UL_CLIENT_NO_DECRYPT) && UL_CLIENT_NO_DECRYPT
#define UL_UPDATE_BUF_BYTES UL_MAX_HELD_SECTION_BYTES
#else
#define UL_UPDATE_BUF_BYTES                                                                        \
    (UL_MAX_ENC_CHUNK + 17 > UL_MAX_HELD_SECTION_BYTES ? UL_MAX_ENC_CHUNK + 17                     \
                                                       : UL_MAX_HELD_SECTION_BYTES)
#endif
/* Bytes of a hardware class's SHA-256 a streaming device keeps to find a class repeated in a
 * record, or a wrapped key's class not listed, after the labels are gone: 128 bits, so only a
 * publisher spending ~2^64 work on its own labels could make two collide (and the node, which
 * compares the labels themselves, refuses such a record before any bundle can prove it). */
#define UL_LEAF_HW_TAG 16
/* Sparse-Merkle siblings per bundle section: 64 x 34 bytes stay well inside one section. */
#define UL_MAX_SIBLINGS_PER_SECTION 64
/* The installable-list value a bundle proves: (sequence, release id) entries. */
#define UL_MAX_STATE_VALUE_BYTES (UL_MAX_INSTALLABLE_KEPT * 40)
/* A proof bundle file: the set-change steps, each a header and one voter section per validator,
 * then the release, its inclusion proof and two state proofs; mirrors and the CLI refuse more. */
#define UL_MAX_BUNDLE_BYTES                                                                        \
    ((UL_MAX_VALSET_STEPS + 1) * (UL_MAX_HEADER_BYTES + 32 + UL_MAX_VALIDATORS * 128) +            \
     UL_MAX_SECTION_BYTES + UL_MAX_SIGS * 112 + UL_MAX_PROOF_DEPTH * 34 + 64 +                     \
     2 * (UL_MAX_STATE_VALUE_BYTES + 256 + 5 * (UL_MAX_SIBLINGS_PER_SECTION * 34 + 8)))
/* Plaintext bytes per secretstream chunk of an encrypted image: the device decrypts one chunk at
 * a time inside its context, so this bounds that buffer. */
#define UL_MAX_ENC_CHUNK 4096
/* Components (namespaces) a device tracks, each with an A/B slot pair. ul_device_state holds
 * every one of them (528 bytes each on a Cortex-M4, most of it two version labels), so a device
 * build that runs fewer may say so (-DUL_MAX_COMPONENTS=n, 1..8; scripts/mcu.mk builds 2): a
 * state holding more is then refused (UL_E_LIMIT) and a new component past n too. */
#ifndef UL_MAX_COMPONENTS
#define UL_MAX_COMPONENTS 8
#endif
/* How far a header's time may be ahead of a device's clock (ms) before the device refuses it
 * (UL_E_FUTURE): validators' and devices' clocks drift (NTP-less devices by minutes a month), so
 * a few minutes pass honest chains; a header stamped hours ahead would look fresh to the
 * maximum-age check for that long after its mirror froze. */
#define UL_MAX_CLOCK_SKEW_MS (10ULL * 60 * 1000)
/* The device's verification context (ul_update): its fixed size, checked at compile time. */
#define UL_MAX_UPDATE_CTX_BYTES 8192

/* A state proof at its deepest: 256 siblings of 34 bytes, a 32-byte bitmap, a terminal leaf and
 * framing (8,829 bytes); device buffers are sized by this. */
#define UL_MAX_STATE_PROOF_BYTES 8832

/* ---- upledger-tracker (tracker/) ---- */
/* Reports kept per device as its history (the newest): enough to see an update's whole story
 * (start, trial, confirm or fallback, and a few scheduled reports) while a million-device fleet
 * keeps a bounded store. Older ones are deleted as new ones arrive. */
#define UL_MAX_TRACKER_HISTORY 16
/* Devices per page of a fleet list: one page is one bounded query and one JSON reply (~0.5 KB a
 * device), so a list answers in milliseconds at any fleet size; clients follow the cursor. */
#define UL_MAX_TRACKER_PAGE 1000
/* A group's silence interval when enrollment creates it (s): one day, the longest schedule a
 * reporting device is expected to keep; `upledger-tracker group` sets another. */
#define UL_TRACKER_DEFAULT_SILENCE_S (24ULL * 3600)
/* The longest silence interval (s): ten years, so interval x 1000 stays far inside int64 ms. */
#define UL_MAX_TRACKER_SILENCE_S (10ULL * 366 * 24 * 3600)
/* Lines of an enrollment file: a million devices enrolled in one transaction is seconds. */
#define UL_MAX_TRACKER_ENROLL_LINES (1000 * 1000)
/* Reports one group commit stores in one transaction: 16 already store ~5x faster than one
 * (bench_tracker); 64 keeps a batch's transaction, and the wait of its first report, to a few
 * milliseconds. */
#define UL_MAX_TRACKER_BATCH 64
/* Concurrent HTTP connections the tracker serves: each holds at most one report buffer, so this
 * bounds its memory; devices that find it full retry on their schedule. */
#define UL_MAX_TRACKER_CONNECTIONS 1024

/* Nesting depth of any CBOR record we accept: a register tx holding a policy is 7 deep. */
#define UL_MAX_CBOR_DEPTH 8
/* A block or bundle wraps records two levels deeper (each record still counts its own depth);
 * a query message carries those in a list: two more. */
#define UL_MAX_WIRE_DEPTH (UL_MAX_CBOR_DEPTH + 4)

/* A request or reply on the query endpoint: a whole block plus framing. nanomsg enforces it as
 * NN_RCVMAXSIZE so an oversized message never reaches a decoder. */
#define UL_MAX_MSG_BYTES (UL_MAX_BLOCK_BYTES + 65536)

/* ---- Peer transport between nodes (p2p/peer.c) ---- */
/* Payload of one signed peer message: the largest is a proposal, a whole block with the commit
 * of the block before it and a few small fields (round, lock round) around them. */
#define UL_MAX_PEER_PAYLOAD (UL_MAX_BLOCK_BYTES + UL_MAX_COMMIT_BYTES + 256)
/* A signed envelope around the largest payload (or payload and attachment together): map head,
 * keys, kind, 32-byte sender, payload and attachment heads and 64-byte signature take 117 bytes.
 * The peer socket's NN_RCVMAXSIZE: nanomsg drops a longer message (and its connection) before any
 * decoder sees it. */
#define UL_MAX_PEER_ENVELOPE_BYTES (UL_MAX_PEER_PAYLOAD + 128)
/* Peers a node sends to, one nanomsg PUSH socket each: the other members of the largest
 * validator set. Also the most senders a node accepts (ul_peer_allow). */
#define UL_MAX_PEERS 64
/* Kernel send buffer of each peer connection (NN_SNDBUF, SO_SNDBUF): votes (~200 bytes) and
 * transactions queue here while a peer is slow; when it is full the message is dropped (never
 * waited for), so a stalled peer costs at most this plus the one message nanomsg holds in flight
 * (a proposal up to UL_MAX_PEER_ENVELOPE_BYTES). Linux grants at most net.core.wmem_max. */
#define UL_PEER_SNDBUF (1024 * 1024)
/* Block sync trusts no peer's claimed head (p2p/claims.c): a claim steers sync only while the
 * claimer serves. Sync passes in a row that a claim above our head started and that gained no
 * verified block before the claim is set aside: a live peer ahead serves within one. */
#define UL_CLAIM_MAX_STRIKES 3
/* A claim not repeated for this long counts no more: a live validator repeats its head every
 * second (node/consensus.c STATUS_MS), so five seconds outlast a few lost messages. */
#define UL_CLAIM_TTL_MS 5000
/* How long a claimer's claims are set aside once it claimed and did not serve; then it is heard
 * again from scratch (it may have been partitioned, not lying). */
#define UL_CLAIM_IGNORE_MS 60000
/* Kernel receive buffer of each incoming peer connection (NN_RCVBUF, SO_RCVBUF); nanomsg reads
 * one message per connection ahead of ul_peer_recv, so a node holds at most this plus one
 * message per connected peer. Linux grants at most net.core.rmem_max. */
#define UL_PEER_RCVBUF (1024 * 1024)
/* Messages one ul_peer_recv call examines before it returns (the rest wait for the next call):
 * a flood of invalid messages cannot keep the node's loop from its timers. */
#define UL_PEER_RECV_BATCH 256
/* Envelopes waiting for one peer whose connection is busy (a proposal in flight, a peer slow to
 * read while it executes a block): sent in order as it drains, so a burst of gossip or a vote
 * right after a proposal is not lost. Past either bound the newest is dropped and counted; a peer
 * that is down costs at most this much memory. */
#define UL_PEER_QUEUE_MSGS 1024
#define UL_PEER_QUEUE_BYTES (3 * UL_MAX_PEER_ENVELOPE_BYTES)
/* Transactions in one gossip message (p2p/README.md): a node gathers what clients sent it since
 * its last gossip (every 200 ms) into messages of at most this many; one that carries more is
 * dropped whole. */
#define UL_MAX_GOSSIP_TXS 512
/* Transactions submitted in one request. */
#define UL_MAX_SUBMIT_TXS 1024
/* Waiting transactions: memory stays bounded under a flood; a full pool answers UL_E_BUSY. */
#define UL_MAX_MEMPOOL 65536
/* Leaf hashes of transactions whose signatures a node verified (ledger/sigcache.c), so a tx is
 * verified once although it runs at mempool admission, in the proposal and again at commit:
 * twice the pool holds a full pool plus the blocks it drains into. 40 bytes each (~5 MiB). */
#define UL_MAX_SIG_CACHE (2 * UL_MAX_MEMPOOL)
/* Parsed public keys a node keeps per verifying thread (ledger/keycache.c), direct-mapped: a
 * power of two, larger than the signers a consortium has at once (~100 B each, 24 KiB). */
#define UL_KEY_CACHE_SLOTS 256
/* Values a store keeps in front of its backend (ledger/store.c), direct-mapped by key: a
 * namespace's policy and the releases its dependencies name are read for every release
 * published, and each LevelDB read first walks a memtable of up to 32 MiB (~20 cache misses).
 * A power of two; keys and values larger than the bounds below are not kept (~700 KiB). */
#define UL_STORE_CACHE_SLOTS 1024
#define UL_STORE_CACHE_KEY_MAX 96
#define UL_STORE_CACHE_VAL_MAX 576
/* Blocks returned by one range query (audit over the wire, export). */
#define UL_MAX_BLOCK_RANGE 64
/* Releases listed by one history query: its page size. A namespace may hold millions; one
 * request reads at most a page (plus one key to know whether more follow), so its cost on the
 * node is bounded; a client pages with the cursor the reply gives. */
#define UL_MAX_HISTORY 1024

/* ---- The node's HTTP API (node/http*.c, docs/openapi.yaml) ---------------------------------- */
/* Connections served at once: a CDN or a few hundred pollers; each holds at most
 * UL_HTTP_CONN_MEMORY, so idle or hostile clients cost a bounded few MiB and never the node loop.
 */
#define UL_HTTP_MAX_CONNECTIONS 512
/* Per-connection buffer for the request line and headers (MHD's memory pool): well above any
 * browser's or proxy's headers, and anything larger is answered 431 rather than read. */
#define UL_HTTP_CONN_MEMORY (32 * 1024)
/* A connection idle this long is closed: a slow client cannot hold a slot. */
#define UL_HTTP_TIMEOUT_S 10
/* Request paths with their query string: the longest route (a per-height bundle URL: two labels,
 * a class, an id, a height) is far below; longer is 414 before any route is looked at. */
#define UL_HTTP_MAX_URL 1024
/* Server threads: requests that need the node wait for its loop, one at a time; a second
 * thread keeps cached and static answers flowing meanwhile. */
#define UL_HTTP_THREADS 2
/* How long a request waits for the node's loop before it answers 503 UL_E_TIMEOUT. */
#define UL_HTTP_NODE_TIMEOUT_MS 5000
/* Cached immutable answers (per-height bundles and blocks, genesis, head-keyed latest bundles):
 * direct-mapped slots, each at most UL_HTTP_CACHE_MAX_BODY bytes, so the cache stays below
 * slots x body (16 MiB at the most) however the URLs are chosen. */
#define UL_HTTP_CACHE_SLOTS 256
#define UL_HTTP_CACHE_MAX_BODY (64 * 1024)
/* Validator sets in one /v1/validators page: each is a node query, a page stays cheap. */
#define UL_HTTP_VALSET_PAGE 16
/* A static file of the explorer: its bundle is a few hundred KiB; more is not served. */
#define UL_HTTP_MAX_STATIC_BYTES (8 * 1024 * 1024)
/* Equivocation records listed by one evidence query: each is a validator caught once at one
 * (height, round, vote type); an equivocator is voted out long before this many. */
#define UL_MAX_EVIDENCE_LIST 4096
/* Releases listed by one search query (by image digest or signer key): its page size. A key
 * may sign millions of releases; one request reads at most a page plus one index key. 256
 * entries of 40 bytes (id, height) are a 10 KiB reply. */
#define UL_MAX_SEARCH 256

/* A release's time (unix seconds): 9999-12-31T23:59:59Z, the last second ISO 8601 writes with a
 * four-digit year, as manifests and every output show it; a later time is no real release (one
 * past 2^63 - 1 even read back as 1969 where time_t is signed). Nodes refuse more (UL_E_LIMIT). */
#define UL_MAX_RELEASE_TIME 253402300799ULL
/* JSON inputs (manifests, configs, keystores): far above any real one. */
#define UL_MAX_JSON_BYTES (256 * 1024)
/* Image file size the CLI will hash and publish, and the largest size a release may declare:
 * 64 GiB, more than any firmware or software image a device installs into one A/B slot. Nodes
 * refuse a larger size (UL_E_LIMIT); the sequence alone is a full uint64 (only its order counts).
 */
#define UL_MAX_IMAGE_BYTES (64ULL << 30)

/* ---- Consensus in the node (node/consensus.c) ---- */
/* Signed votes a validator holds for its current height: the core keeps UL_BFT_ROUND_SLOTS (12)
 * rounds x 2 vote types x UL_MAX_VALIDATORS x 2 values (an equivocator's second); the node keeps
 * the signed originals of exactly those, to relay them, build commits and prove equivocation. */
#define UL_MAX_HELD_VOTES (12 * 2 * UL_MAX_VALIDATORS * 2)
/* Proposals (block + last commit) held for the current height: one per kept round. */
#define UL_MAX_HELD_PROPOSALS 12
/* Messages for the next height that arrive before this node committed the current one (fast
 * peers): kept and replayed once it starts that height; more than this and it block-syncs. */
#define UL_MAX_FUTURE_MSGS 256
/* ... and at most this many bytes of them: two proposals of the largest block, so a flood of
 * next-height messages cannot make a node hold more. */
#define UL_MAX_FUTURE_BYTES (2 * UL_MAX_PEER_PAYLOAD)
/* Transactions refused after they were accepted into the pool (a later conflict), remembered
 * so that a client polling its transaction learns why. */
#define UL_MAX_REJECTED_KEPT 4096
/* A checkpoint record: height, hash, time and one (index, signature) per validator. */
#define UL_MAX_CHECKPOINT_BYTES (64 + UL_MAX_VALIDATORS * 72)
/* Bytes of an encoded vote (type, height, round, hash, time): well under this. */
#define UL_MAX_VOTE_BYTES 128
/* A validator's sign state file (ul_sign_state): a key, four integers and a lock hash come to
 * under 110 bytes; a file larger than this is not one, and is refused before it is decoded. */
#define UL_MAX_SIGN_STATE_BYTES 256
/* The sign state file's size: one disk sector. The file is rewritten in place before every
 * signature, and a device writes a 512-byte sector whole or not at all (PostgreSQL keeps its
 * control file within 512 bytes for the same reason); its checksum catches a device that does
 * not. Holds the record's length (2), the record and its SHA-256 (32). */
#define UL_SIGN_STATE_FILE_BYTES 512
_Static_assert(2 + UL_MAX_SIGN_STATE_BYTES + 32 <= UL_SIGN_STATE_FILE_BYTES,
               "a sign state record and its checksum fit in the file's sector");
/* A validator's lock record: the block it precommitted and that block's last commit, plus the
 * map's few fixed fields (node/signlog.c, schema/signstate.c). */
#define UL_MAX_LOCK_RECORD_BYTES (UL_MAX_BLOCK_BYTES + UL_MAX_COMMIT_BYTES + 64)
/* Entries of a memory store (ledger/store_mem.c, the simulator's disk): its capacity - a write
 * beyond it fails as a full disk does - so a runaway simulation stops instead of eating the
 * machine's memory (~300 MiB at 1 Mi entries of ~100 bytes, kept twice: readable and durable).
 * The store is a sorted array: 20,000 random keys insert in 0.2 s, 100,000 in 6 s. */
#define UL_MAX_MEMSTORE_ENTRIES (1u << 20)

/* upledgerd's log lines (node/log.c): a message is cut at UL_MAX_LOG_MSG bytes (the longest the
 * node writes, a path of 4096 with its words, stays whole in the first part an operator reads);
 * a line holds the message escaped as JSON (at most 6 bytes a byte) with its time and level. */
#define UL_MAX_LOG_MSG 1024
#define UL_MAX_LOG_LINE (6 * UL_MAX_LOG_MSG + 128)

/* upledgerd's metrics (node/metrics.c). HTTP routes counted (route template x status pairs): the
 * HTTP layer names a few dozen routes and a handful of statuses; past this the pair is counted
 * under route "other", so a scan of random URLs cannot grow the table or the page. */
#define UL_MAX_METRICS_ROUTES 128
/* Bytes of a route template kept (longer ones are counted as "other"). */
#define UL_MAX_METRICS_ROUTE_LEN 96
/* The rendered Prometheus page: about 6 KiB of fixed families plus UL_MAX_METRICS_ROUTES lines of
 * at most ~2 x UL_MAX_METRICS_ROUTE_LEN + 80 bytes (escaping doubles a label at worst). */
#define UL_MAX_METRICS_BYTES (64 * 1024)

/* ---- Device reports and tracker summaries (schema/report.c, docs/protocol.md "Device reports") */
/* A signed device report: 11 fixed fields (~360 bytes with a full hardware label) and one entry
 * per component (at most UL_MAX_COMPONENTS), each a namespace, two release ids, a sequence, a
 * state, a result and two times (~240 bytes at their bounds): 2,336 bytes at every bound at once.
 * A tracker refuses a longer body before decoding it. */
#define UL_MAX_REPORT_BYTES 2560
/* A tracker's signed reply to one report: a key, a counter, a flag, a namespace and a release id
 * (~310 bytes at the bounds). */
#define UL_MAX_REPLY_BYTES 512
/* The largest ul_err code a report may carry as an attempt's result: codes are appended, never
 * renumbered, and 65535 leaves room for every code upledger will ever have (85 today) while a
 * decoder still refuses nonsense. */
#define UL_MAX_REPORT_RESULT 65535
/* Counts one tracker summary carries, one per (namespace, hardware class, release, status) that
 * has devices: 4,096 covers a vendor's whole catalogue (e.g. 16 products x 8 classes x 8 live
 * releases x 4 statuses) in one message; a larger fleet is summarised by more trackers. */
#define UL_MAX_SUMMARY_ENTRIES 4096
/* A summary at that bound with every label at its longest: 4,096 x (1 + 131 + 131 + 34 + 1 + 9)
 * bytes plus the fixed fields: about 1.26 MB. */
#define UL_MAX_SUMMARY_BYTES (UL_MAX_SUMMARY_ENTRIES * 307 + 256)

/* Key files (keys/keys.c): the argon2id cost a file may ask for, at most 16 passes over 1 GiB
 * (libsodium's "sensitive" profile is 4 passes over 1 GiB). Anything above is a damaged or
 * hostile file: honouring it would pin the machine's memory or CPU for minutes. */
#define UL_MAX_KEY_OPSLIMIT 16ULL
#define UL_MAX_KEY_MEMLIMIT (1ULL << 30)

_Static_assert(UL_MAX_TX_BYTES > UL_MAX_RECORD_BYTES + UL_MAX_SIGS * 100,
               "a transaction holds a full record and all its signatures");
_Static_assert(UL_MAX_VALSET_BYTES + 16 <= UL_MAX_RECORD_BYTES &&
                   UL_MAX_VALSET_BYTES + 16 + UL_MAX_SIGS * 100 <= UL_MAX_TX_BYTES,
               "a validator-set change to the largest set fits a body and a signed tx");
_Static_assert(UL_MAX_MSG_BYTES > UL_MAX_BLOCK_BYTES, "a whole block fits in one message");
_Static_assert(UL_MAX_PEER_PAYLOAD >= UL_MAX_BLOCK_BYTES + UL_MAX_COMMIT_BYTES + 256,
               "a proposal carries a whole block and a commit");
_Static_assert(UL_MAX_PEER_ENVELOPE_BYTES >= UL_MAX_PEER_PAYLOAD + 117 &&
                   UL_MAX_PEER_ENVELOPE_BYTES <= UL_MAX_MSG_BYTES,
               "a signed envelope holds the largest payload and fits one message");
_Static_assert(UL_MAX_PEERS >= UL_MAX_VALIDATORS, "a node can reach and accept a whole set");
_Static_assert(UL_MAX_MSG_BYTES > UL_MAX_SUBMIT_TXS * UL_MAX_TX_BYTES,
               "a full submit batch fits in one message");
_Static_assert(UL_MAX_MEMPOOL >= UL_MAX_BLOCK_TXS, "the pool can fill a block");
_Static_assert(UL_MAX_MSG_BYTES > UL_MAX_HISTORY * (UL_MAX_TX_BYTES + 96) &&
                   UL_MAX_HISTORY <= UL_MAX_SUBMIT_TXS,
               "a history page with its records fits one reply (and the node's item table)");
_Static_assert(UL_MAX_METRICS_BYTES >
                       8192 + UL_MAX_METRICS_ROUTES * (2 * UL_MAX_METRICS_ROUTE_LEN + 96) &&
                   UL_MAX_METRICS_BYTES < UL_MAX_MSG_BYTES,
               "every metric fits the page, and the page fits one query reply");
_Static_assert(UL_MAX_MSG_BYTES > UL_MAX_SEARCH * 40 + 64, "a search page fits one reply");
_Static_assert(UL_MAX_TOTAL_POWER <= ~0ULL / 3, "3 x total power stays in uint64");
_Static_assert(UL_MAX_WRAPPED_KEYS <= UL_MAX_HW, "one wrapped key per hardware class at most");
_Static_assert(UL_MAX_SECTION_BYTES > UL_MAX_HEADER_BYTES + 64 &&
                   UL_MAX_SECTION_BYTES > UL_MAX_PROOF_DEPTH * 34 + 64 &&
                   UL_MAX_SECTION_BYTES > UL_MAX_SIBLINGS_PER_SECTION * 34 + 64 &&
                   UL_MAX_SECTION_BYTES > UL_MAX_STATE_VALUE_BYTES + 128,
               "every bundle section but the record's fits the record's buffer");
_Static_assert(UL_MAX_COMPONENTS >= 1 && UL_MAX_COMPONENTS <= 8,
               "a device tracks one to eight components (UL_MAX_DEP_CLOSURE assumes 8 at most)");
_Static_assert(UL_MAX_HELD_SECTION_BYTES >= UL_MAX_HEADER_BYTES + 1 + 1 + 9 + 3 &&
                   UL_MAX_HELD_SECTION_BYTES >=
                       1 + 1 + 1 + 3 + 34 + UL_MAX_STATE_VALUE_BYTES + 3 + UL_MAX_LABEL_LEN + 2 &&
                   UL_MAX_HELD_SECTION_BYTES >= UL_MAX_LINK_LEN + 3,
               "the device's buffer holds every section but the LEAF, and any one LEAF item");
_Static_assert(UL_MAX_SECTION_BYTES >= UL_MAX_ENC_CHUNK + 17 + 24,
               "a ciphertext chunk fits the section buffer the image phase reuses");

#endif
