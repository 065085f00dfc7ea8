/*
 * wire.h: the peerwatt wire protocol, version 2 (docs/protocol.md is the
 * byte-by-byte reference; tests/vectors/ holds test vectors).
 *
 * Every message is one ZeroMQ frame:
 *
 *     u8  version (=2) | u8 type | author public key [32] | body | signature [64]
 *
 * Integers are big-endian, fixed width (signed ones two's complement: every
 * price is i32, fees u32); every type has a fixed body layout
 * (RESULT, PROOF, DEPTH and MARKET end in a counted array, the count
 * bounded).  The
 * signature is Ed25519 by `author` over
 *
 *     "peerwatt/2/" TYPE_NAME 0x00 || market_id (u64 BE) || frame[0 .. len-64)
 *
 * so a message never verifies in another market or as another type, and the
 * signed bytes are the stored and logged bytes: nothing is re-encoded before
 * verifying.  Decoding is strict, and encoding applies the same rules:
 *   PW_ERR_LENGTH   truncated, trailing bytes, count not matching the length
 *   PW_ERR_VERSION  version != 2 (the *_stored variants also take 1)
 *   PW_ERR_TYPE     unknown type
 *   PW_ERR_FIELD    side/kind/time_status/proof kind outside its enum, a count
 *                   above its bound, a serial/origin that is not 1..32
 *                   printable ASCII bytes then NUL padding, a QUERY field its
 *                   kind does not use != 0, COSIGN tree_size 0, MARKET name not 1..31 such bytes,
 *                   currency not 3 of A-Z, interval_s 0, gate_s >= interval_s,
 *                   retail below feed-in, n_fees > 64, fees not in canonical order (zone_a
 *                   <= zone_b, pairs strictly ascending), a registry token
 *                   (id, name, zone) not 1..31 of [A-Za-z0-9_.-] then NUL
 *                   padding, REGISTRY revoked > 1, ACK n_hashes not the
 *                   inclusion path length of (log_index, tree_size), its
 *                   head not a version-2 CHECKPOINT by the ACK's author,
 *                   REJECT reason 0 or unknown or log_index !=
 *                   UINT64_MAX, RESULT part/parts/counts inconsistent,
 *                   STATEMENT unknown flag bits or fee_u < 0, HEARTBEAT
 *                   period_ms or interval_s 0
 *   PW_ERR_BADSIG   (verify/open) signature does not verify
 * A zero ORDER quantity decodes: the exchange answers it with bad_quantity.
 *
 * Version 1 (tag "peerwatt/1/", the version-1 ACK layout) exists only in
 * stored logs and databases: pw_wire_decode_stored()/pw_wire_open_stored()
 * read both versions (m->version tells which), the network functions only 2.
 * An ACK (version 2) carries no signature of its own: it embeds the batch's
 * signed CHECKPOINT (its last 64 bytes are the head's signature), and
 * pw_wire_ack_check() ties it to the request it answers.
 *
 * Ownership: decode never allocates; array fields of a decoded RESULT point
 * into the caller's buffer, which must outlive the struct.  Thread-safe.
 */
#ifndef PEERWATT_WIRE_H
#define PEERWATT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "peerwatt/error.h"
#include "peerwatt/keys.h"

#define PW_PROTO_VERSION     2
#define PW_PROTO_VERSION_V1  1 /* stored frames only */
#define PW_WIRE_HEADER_LEN   (2 + PW_PK_LEN)
#define PW_SERIAL_LEN        32   /* meter serial, ASCII, NUL padded */
#define PW_ORIGIN_LEN        32   /* checkpoint origin, ASCII, NUL padded */
#define PW_RESULT_MAX_TRADES 8192 /* per RESULT part */
#define PW_PROOF_MAX_HASHES  64
#define PW_DEPTH_MAX_LEVELS  64
#define PW_TOKEN_LEN         32 /* registry token (id, name, zone): 1..31 chars, NUL padded */
#define PW_CURRENCY_LEN      3  /* ISO 4217 code, 3 uppercase letters, no NUL */
#define PW_MARKET_MAX_FEES   64
#define PW_WIRE_MAX_LEN      (1u << 20) /* no message is longer */
#define PW_WIRE_MAX_REQUEST  256        /* no household -> exchange message is longer */

enum pw_msg_type {
	/* household -> exchange */
	PW_MSG_ORDER = 1,
	PW_MSG_CANCEL = 2,
	PW_MSG_METER = 3,
	PW_MSG_QUERY = 4,
	PW_MSG_COSIGN = 5, /* a household witnesses a CHECKPOINT (cosignature) */
	/* exchange -> household / market data */
	PW_MSG_ACK = 16,
	PW_MSG_REJECT = 17,
	PW_MSG_RESULT = 18,
	PW_MSG_STATEMENT = 19,
	PW_MSG_CHECKPOINT = 20,
	PW_MSG_PROOF = 21,
	PW_MSG_DEPTH = 22,
	PW_MSG_HEARTBEAT = 23,
	/* exchange-authored log entries (also served to households) */
	PW_MSG_MARKET = 24,   /* the market's rules from an interval on */
	PW_MSG_REGISTRY = 25, /* one household's registry entry */
};

enum pw_side { PW_SIDE_BUY = 1, PW_SIDE_SELL = 2 };

/* Reason codes of REJECT (and 0 in ACK).  On the wire as u16. */
enum pw_reason {
	PW_REASON_OK = 0,
	PW_REASON_MALFORMED = 1, /* does not decode */
	PW_REASON_BAD_SIGNATURE = 2,
	PW_REASON_UNKNOWN_KEY = 3,    /* author not in the registry */
	PW_REASON_WRONG_IDENTITY = 4, /* author is not the connection's household */
	PW_REASON_REPLAY = 5,         /* sequence not above the last accepted */
	PW_REASON_EXPIRED = 6,
	PW_REASON_GATE_CLOSED = 7,   /* interval at or past gate closure */
	PW_REASON_TOO_FAR_AHEAD = 8, /* interval more than 24 h ahead */
	PW_REASON_PRICE_BOUNDS = 9,  /* outside [feed-in, retail] */
	PW_REASON_CAPACITY = 10,     /* above registered export/import for the interval */
	PW_REASON_SELF_TRADE = 11,   /* other side already open in this interval */
	PW_REASON_OVERSIZE = 12,
	PW_REASON_BAD_QUANTITY = 13,  /* zero quantity */
	PW_REASON_UNKNOWN_ORDER = 14, /* CANCEL of no open order */
	PW_REASON_RATE_LIMITED = 15,
	PW_REASON_METER_SERIAL = 16,      /* serial not the registered meter */
	PW_REASON_METER_GAP = 17,         /* reading sequence skips */
	PW_REASON_METER_CONTINUITY = 18,  /* start registers != previous end */
	PW_REASON_METER_BACKWARDS = 19,   /* a register went back */
	PW_REASON_METER_IMPLAUSIBLE = 20, /* delta above max power x L */
	PW_REASON_METER_TOO_EARLY = 21,   /* interval not ended yet */
	PW_REASON_METER_DUPLICATE = 22,   /* interval already has a reading */
	PW_REASON_WRONG_TYPE = 23,        /* not a request type */
	PW_REASON_UNAVAILABLE = 24,       /* exchange cannot store now (disk full ...) */
	PW_REASON_BAD_QUERY = 25,
	PW_REASON_REVOKED = 26,      /* household removed from the registry */
	PW_REASON_BAD_VERSION = 27,  /* the request's protocol version is not 2 */
	PW_REASON_UNKNOWN_HEAD = 28, /* COSIGN of a checkpoint the exchange never issued */
	PW_REASON__COUNT
};

enum pw_query_kind {
	PW_QUERY_STATEMENT = 1,   /* a = interval */
	PW_QUERY_INCLUSION = 2,   /* a = leaf index, b = tree size */
	PW_QUERY_CONSISTENCY = 3, /* a = old size, b = new size */
	PW_QUERY_CHECKPOINT = 4,  /* latest checkpoint */
	PW_QUERY_RESULT = 5,      /* a = interval */
	/* a = interval, b = tree size (0: the latest checkpoint's); answered
	 * by a PROOF of kind inclusion whose a is the leaf index of the
	 * author's STATEMENT of that interval */
	PW_QUERY_STATEMENT_PROOF = 6,
	/* a = 0, b = tree size (0: the latest checkpoint's), key = the
	 * household asked about (all zero: the author); answered by that
	 * household's latest REGISTRY entry among the first b log entries, the
	 * exact logged frame */
	PW_QUERY_REGISTRY = 7,
	/* a = 0, b and key as for REGISTRY; answered by a PROOF of kind
	 * inclusion of that same entry (a = its leaf index, b = the tree size) */
	PW_QUERY_REGISTRY_PROOF = 8,
	/* a = interval, b = tree size (0: the latest checkpoint's); answered by
	 * the MARKET entry governing interval a among the first b log entries,
	 * the exact logged frame */
	PW_QUERY_MARKET = 9,
	/* a, b as for MARKET; answered by a PROOF of kind inclusion of that
	 * same entry (a = its leaf index, b = the tree size) */
	PW_QUERY_MARKET_PROOF = 10,
	/* a = tree size (0: the largest size with a cosignature), b = 0;
	 * answered by one message: the CHECKPOINT of that size, then every
	 * logged COSIGN frame for it (at most PW_COSIGNED_MAX) */
	PW_QUERY_COSIGNED = 11,
	/* a = first interval, b = 0; answered by one message: the MARKET
	 * entries (exact logged frames) that govern the intervals from a on,
	 * as the log stands now, one per change of rules, in ascending
	 * effective_interval, the first governing a; at most PW_SCHEDULE_MAX
	 * frames covering at least PW_SCHEDULE_SPAN_S seconds where known */
	PW_QUERY_SCHEDULE = 12,
};
#define PW_COSIGNED_MAX    1024
#define PW_SCHEDULE_MAX    512
#define PW_SCHEDULE_SPAN_S (48u * 3600u)

/* 1 when a QUERY of `kind` uses its key field (REGISTRY, REGISTRY_PROOF). */
int pw_query_uses_key(unsigned kind);

enum pw_time_status {
	PW_TIME_SYNCED = 0,   /* clock synchronised (NTP) */
	PW_TIME_UNSYNCED = 1, /* clock not known to be synchronised */
	PW_TIME_ESTIMATED = 2 /* boundary registers estimated (reading late) */
};

enum pw_proof_kind { PW_PROOF_INCLUSION = 1, PW_PROOF_CONSISTENCY = 2 };

/* Statement flags. */
#define PW_STMT_READING_MISSING 0x1u /* settled conservatively, no reading */
#define PW_STMT_READING_LATE    0x2u

struct pw_order {
	uint64_t seq;           /* per-key, strictly increasing (shared with CANCEL) */
	uint64_t interval;      /* delivery interval index */
	uint64_t expiry_s;      /* Unix seconds; refused at or after */
	uint32_t qty_wh;        /* > 0 (0 decodes; the exchange rejects it) */
	int32_t price_uper_kwh; /* limit; i32, may be negative */
	uint8_t side;           /* enum pw_side */
};

struct pw_cancel {
	uint64_t seq;
	uint64_t interval;
	uint64_t order_seq; /* the ORDER being cancelled */
};

struct pw_meter {
	uint64_t seq; /* reading sequence: 1, 2, 3 ... without gaps */
	uint64_t interval;
	char serial[PW_SERIAL_LEN]; /* NUL padded; not NUL terminated when 32 long */
	uint64_t export_start_wh, export_end_wh;
	uint64_t import_start_wh, import_end_wh;
	uint8_t time_status; /* enum pw_time_status */
};

struct pw_query {
	uint64_t nonce; /* echoed in the answer */
	uint8_t kind;   /* enum pw_query_kind */
	uint64_t a, b;  /* a field the kind does not use must be 0 */
	/* the household asked about (REGISTRY, REGISTRY_PROOF; all zero: the
	 * author); all zero for every other kind */
	uint8_t key[PW_PK_LEN];
};

/* COSIGN (household -> exchange, logged): the author has checked that the
 * exchange's CHECKPOINT (origin, tree_size, root) extends every checkpoint
 * it cosigned before (docs/protocol.md "COSIGN"). */
struct pw_cosign {
	char origin[PW_ORIGIN_LEN]; /* the checkpoint's origin, NUL padded */
	uint64_t tree_size;         /* >= 1 */
	uint8_t root[PW_HASH_LEN];
	uint64_t time_s; /* the cosigned CHECKPOINT's time_s */
};

struct pw_checkpoint {
	char origin[PW_ORIGIN_LEN]; /* market name, NUL padded */
	uint64_t interval;          /* last interval settled into it */
	uint64_t tree_size;
	uint8_t root[PW_HASH_LEN];
	uint64_t time_s;
};

/* Length of a CHECKPOINT frame (the head an ACK embeds). */
#define PW_CHECKPOINT_FRAME_LEN                                                                    \
	(PW_WIRE_HEADER_LEN + PW_ORIGIN_LEN + 8 + 8 + PW_HASH_LEN + 8 + PW_SIG_LEN)
/* Length of an ACK with n path hashes, and the longest receipt. */
#define PW_ACK_LEN(n)      (270 + 32 * (size_t)(n))
#define PW_RECEIPT_MAX_LEN PW_ACK_LEN(PW_PROOF_MAX_HASHES)

/*
 * ACK and REJECT share this struct.  REJECT (and a version-1 ACK) carry
 * ref_hash, ref_type, ref_seq, reason, log_index and time_s.  A version-2
 * ACK carries ref_*, log_index, the inclusion path and the head (a signed
 * CHECKPOINT by the same author); decode sets reason 0 and time_s =
 * head.time_s, and head_sig (= the frame's last 64 bytes) and m->sig.
 */
struct pw_receipt {
	uint8_t ref_hash[PW_HASH_LEN]; /* SHA-256 of the frame answered, as received */
	uint8_t ref_type;              /* its type byte (0 if it had none) */
	uint64_t ref_seq;              /* its seq or nonce (0 if unknown) */
	uint16_t reason;               /* enum pw_reason; 0 in ACK, never 0 in REJECT */
	uint64_t log_index;            /* ACK: index of its log entry; REJECT: UINT64_MAX */
	uint64_t time_s;               /* exchange clock (ACK v2: the head's) */
	/* ACK version 2 only */
	uint8_t n_hashes; /* the RFC 6962 path length for (log_index, head.tree_size) */
	uint8_t path[PW_PROOF_MAX_HASHES][PW_HASH_LEN];
	struct pw_checkpoint head;    /* the batch's tree head */
	uint8_t head_sig[PW_SIG_LEN]; /* its signature */
};

struct pw_trade {
	uint8_t buyer[PW_PK_LEN];
	uint8_t seller[PW_PK_LEN];
	uint64_t buy_seq;
	uint64_t sell_seq;
	uint32_t qty_wh;
};
#define PW_TRADE_WIRE_LEN (2 * PW_PK_LEN + 8 + 8 + 4)

struct pw_result {
	uint64_t interval;
	int32_t price_uper_kwh; /* uniform clearing price, i32; 0 when no volume */
	uint64_t volume_wh;
	uint32_t n_trades_total; /* over all parts */
	uint16_t part;           /* 0 .. parts-1 */
	uint16_t parts;          /* >= 1 */
	uint16_t n_trades;       /* in this part, <= PW_RESULT_MAX_TRADES */
	/* encode: the caller's array of n_trades; decode: NULL */
	const struct pw_trade *trades;
	/* decode: n_trades * PW_TRADE_WIRE_LEN bytes inside the decoded buffer */
	const uint8_t *trades_wire;
};

struct pw_statement {
	uint8_t household[PW_PK_LEN];
	uint64_t interval;
	uint32_t flags;         /* PW_STMT_* */
	int32_t price_uper_kwh; /* the interval's clearing price, i32 */
	uint64_t bought_wh, sold_wh;
	uint64_t export_wh, import_wh; /* metered in the interval */
	uint64_t shortfall_wh;         /* seller: sold but not exported, bought at retail */
	uint64_t excess_wh;            /* seller: exported beyond sold, paid at feed-in */
	uint64_t extra_import_wh;      /* buyer: imported beyond bought, at retail */
	uint64_t unused_wh;            /* buyer: bought but not imported, credited at feed-in */
	int64_t peer_u;                /* + received from / - paid to peers */
	int64_t grid_u;                /* + received from / - paid to the grid */
	int64_t fee_u;                 /* grid fees paid (>= 0) */
	int64_t net_u;                 /* peer_u + grid_u - fee_u */
	int64_t baseline_u;            /* net money had the household used the grid only */
	int64_t saving_u;              /* net_u - baseline_u */
};

struct pw_proof {
	uint64_t nonce;   /* the QUERY's */
	uint8_t kind;     /* enum pw_proof_kind */
	uint64_t a, b;    /* inclusion: leaf index, tree size; consistency: old, new size */
	uint8_t n_hashes; /* <= PW_PROOF_MAX_HASHES */
	uint8_t hashes[PW_PROOF_MAX_HASHES][PW_HASH_LEN];
};

struct pw_depth_level {
	uint8_t side;
	int32_t price_uper_kwh; /* i32 */
	uint64_t qty_wh;
};

struct pw_depth {
	uint64_t interval;
	uint8_t n_levels; /* <= PW_DEPTH_MAX_LEVELS */
	struct pw_depth_level levels[PW_DEPTH_MAX_LEVELS];
};

/* Published every period_ms on PUB (topic "HEARTBEAT"): the exchange is
 * alive, its clock, and the market's parameters, so that an agent notices a
 * stopped, hung or cut-off exchange, a skewed clock and a config that
 * disagrees with the market's (docs/protocol.md "HEARTBEAT"). */
struct pw_heartbeat {
	uint64_t time_ms;        /* exchange clock, Unix ms, when signed */
	uint32_t period_ms;      /* the next one follows within this, > 0 */
	uint32_t interval_s;     /* L, > 0 */
	uint32_t gate_s;         /* G */
	int32_t feedin_uper_kwh; /* price floor, i32 (may be negative) */
	int32_t retail_uper_kwh; /* price ceiling, i32 */
};

/* One grid fee of a MARKET entry: the fee between two zones (either
 * direction).  Canonical: zone_a <= zone_b (strcmp); entries sorted. */
struct pw_market_fee {
	char zone_a[PW_TOKEN_LEN]; /* token, NUL padded */
	char zone_b[PW_TOKEN_LEN];
	uint32_t fee_uper_kwh;
};
#define PW_MARKET_FEE_WIRE_LEN (2 * PW_TOKEN_LEN + 4)

/* MARKET (log entry, exchange-signed): the rules governing intervals >=
 * effective_interval (docs/protocol.md "MARKET"). */
struct pw_market {
	uint64_t time_s;                /* exchange clock when signed */
	uint64_t effective_interval;    /* first interval governed (genesis: 0) */
	char name[PW_TOKEN_LEN];        /* market name = checkpoint origin, 1..31 chars */
	char currency[PW_CURRENCY_LEN]; /* "EUR"; not NUL terminated */
	uint32_t interval_s;            /* L, > 0 */
	uint32_t gate_s;                /* G < L */
	uint32_t grace_s;
	uint32_t max_ahead_s;
	int32_t feedin_uper_kwh; /* price floor, i32 (may be negative) */
	int32_t retail_uper_kwh; /* price ceiling, i32, >= floor */
	uint32_t fee_same_zone_uper_kwh;
	uint32_t fee_default_uper_kwh;
	uint16_t n_fees; /* <= PW_MARKET_MAX_FEES */
	struct pw_market_fee fees[PW_MARKET_MAX_FEES];
};

/* REGISTRY (log entry, exchange-signed): one household's registry entry,
 * in force from its log position on (docs/protocol.md "REGISTRY"). */
struct pw_registry {
	uint64_t time_s;              /* exchange clock when signed */
	uint8_t household[PW_PK_LEN]; /* its Ed25519 key */
	char id[PW_TOKEN_LEN];        /* token, NUL padded */
	char name[PW_TOKEN_LEN];      /* token */
	char serial[PW_SERIAL_LEN];   /* as in METER */
	char zone[PW_TOKEN_LEN];      /* token */
	uint32_t max_export_w;
	uint32_t max_import_w;
	uint8_t revoked; /* 0 or 1 */
};

struct pw_msg {
	uint8_t version;
	uint8_t type; /* enum pw_msg_type */
	uint8_t author[PW_PK_LEN];
	union {
		struct pw_order order;
		struct pw_cancel cancel;
		struct pw_meter meter;
		struct pw_query query;
		struct pw_cosign cosign;
		struct pw_receipt receipt; /* ACK, REJECT */
		struct pw_result result;
		struct pw_statement statement;
		struct pw_checkpoint checkpoint;
		struct pw_proof proof;
		struct pw_depth depth;
		struct pw_heartbeat heartbeat;
		struct pw_market market;
		struct pw_registry registry;
	} u;
	uint8_t sig[PW_SIG_LEN];
};

/* Encoded length of `m` (signature included); 0 when m->type is unknown or a
 * count is over its bound.  Version 2 layouts. */
size_t pw_wire_size(const struct pw_msg *m);

/*
 * Encode and sign `m` (version 2): sets m->version, m->author (= kp->pk)
 * and m->sig, and writes the frame to `out`.  PW_ERR_FULL when `cap` is too
 * small, PW_ERR_FIELD when a field is not encodable (side, kind, count,
 * ...).  An ACK signs its head (m->u.receipt.head, time_s from it) here;
 * pw_wire_encode_ack() embeds a head signed once for many ACKs instead.
 */
pw_err pw_wire_encode(struct pw_msg *m, uint64_t market_id, const struct pw_keypair *kp,
                      uint8_t *out, size_t cap, size_t *len) __attribute__((warn_unused_result));

/*
 * A version-2 ACK around a head signed already: `r` gives ref_*, log_index,
 * n_hashes and path; `head` is a CHECKPOINT frame (PW_CHECKPOINT_FRAME_LEN
 * bytes, version 2, signed by the ACK's author) copied as is.  No signing:
 * cheap enough for every ACK of a batch.  PW_ERR_FIELD when the head does
 * not decode or the path length does not fit (log_index, tree_size).
 */
pw_err pw_wire_encode_ack(const struct pw_receipt *r, const uint8_t *head, size_t head_len,
                          uint8_t *out, size_t cap, size_t *len)
    __attribute__((warn_unused_result));

/* Strict decode (version 2 only) without checking the signature. */
pw_err pw_wire_decode(const uint8_t *buf, size_t len, struct pw_msg *m)
    __attribute__((warn_unused_result));

/* Strict decode of a stored frame: version 2, or version 1 with its own
 * layout (m->version = 1; a u32 price above INT32_MAX is a field error). */
pw_err pw_wire_decode_stored(const uint8_t *buf, size_t len, struct pw_msg *m)
    __attribute__((warn_unused_result));

/* A NUL-padded text field of `len` bytes (a serial, a token, an origin) as a
 * C string in out[cap] (cap >= 1): up to the first NUL, cut to cap - 1. */
void pw_wire_text(char *out, size_t cap, const char *field, size_t len);

/* Check the signature of a frame by the author named in it (decodes only
 * the header; an ACK: its embedded head's): PW_OK, PW_ERR_BADSIG, or a
 * decode error.  Version 2 only. */
pw_err pw_wire_verify(const uint8_t *buf, size_t len, uint64_t market_id)
    __attribute__((warn_unused_result));

/* pw_wire_decode() then pw_wire_verify(). */
pw_err pw_wire_open(const uint8_t *buf, size_t len, uint64_t market_id, struct pw_msg *m)
    __attribute__((warn_unused_result));

/* The same for stored frames: version 1 verifies under "peerwatt/1/". */
pw_err pw_wire_verify_stored(const uint8_t *buf, size_t len, uint64_t market_id)
    __attribute__((warn_unused_result));
pw_err pw_wire_open_stored(const uint8_t *buf, size_t len, uint64_t market_id, struct pw_msg *m)
    __attribute__((warn_unused_result));

/*
 * A decoded version-2 ACK `ack` against the request frame it answers (as
 * sent): SHA-256(req) == ref_hash, the request's type byte == ref_type, and
 * the leaf hash SHA-256(0x00 || req) with the path at log_index gives the
 * head's root.  PW_OK, PW_ERR_FIELD (not an ACK v2, or another request),
 * PW_ERR_PROOF (the path does not lead to the head's root).  The head's
 * signature is pw_wire_verify()'s job.
 */
pw_err pw_wire_ack_check(const struct pw_msg *ack, const uint8_t *req, size_t req_len)
    __attribute__((warn_unused_result));

/* Trade i of a decoded (or encoded) RESULT. */
pw_err pw_wire_result_trade(const struct pw_result *r, uint16_t i, struct pw_trade *out)
    __attribute__((warn_unused_result));

/* "ORDER", "ACK", ...; "UNKNOWN" for other values. */
const char *pw_msg_type_name(unsigned type);
/* "gate_closed", ...; "unknown" for other values. */
const char *pw_reason_name(unsigned reason);

#endif
