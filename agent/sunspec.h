/*
 * sunspec.h: SunSpec discovery, model-chain walk, block reads and point decoding.
 *
 * Owns: the model point tables (generated into agent/sunspec_models.inc by
 * agent/sunspec_gen.py from the official SunSpec JSON), the discovery of the
 * "SunS" marker at 40000, 0 and 50000, the chain walk with its guards, the
 * read plan (at most 125 registers per request, split on point boundaries,
 * a value and its scale factor in the same request whenever the model allows)
 * and the decoding of every SunSpec type with its "not implemented" sentinel.
 *
 * Called by: agent/probe.c (one-shot reads), the agent daemon's poller, the
 * simulator (tests/sim/, which lays out its registers with the same tables)
 * and the unit tests and fuzz harness (through a fake sunspec_io).
 *
 * Registers are 16-bit Modbus holding registers addressed 0-based as on the
 * wire (PDU address); "base 40000" means the marker sits at PDU address 40000.
 * Thread-safety: no shared state; a struct sunspec_dev or sunspec_block is
 * used by one thread at a time.
 */
#ifndef AGENT_SUNSPEC_H
#define AGENT_SUNSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peerwatt/error.h"

#define SUNSPEC_MAX_MODELS  64  /* chain guard: more models than this is an error */
#define SUNSPEC_MAX_READ    125 /* Modbus limit for one read of holding registers */
#define SUNSPEC_MAX_REPEATS 32  /* repeating groups decoded (e.g. 160 modules) */
#define SUNSPEC_BLOCK_MAX   (2 + 8 + SUNSPEC_MAX_REPEATS * 20 + 160) /* registers */

enum sunspec_type {
	SUNSPEC_T_INT16,
	SUNSPEC_T_UINT16,
	SUNSPEC_T_ACC16,
	SUNSPEC_T_ENUM16,
	SUNSPEC_T_BITFIELD16,
	SUNSPEC_T_SUNSSF,
	SUNSPEC_T_COUNT,
	SUNSPEC_T_PAD,
	SUNSPEC_T_INT32,
	SUNSPEC_T_UINT32,
	SUNSPEC_T_ACC32,
	SUNSPEC_T_ENUM32,
	SUNSPEC_T_BITFIELD32,
	SUNSPEC_T_IPADDR,
	SUNSPEC_T_FLOAT32,
	SUNSPEC_T_INT64,
	SUNSPEC_T_UINT64,
	SUNSPEC_T_ACC64,
	SUNSPEC_T_BITFIELD64,
	SUNSPEC_T_FLOAT64,
	SUNSPEC_T_STRING,
	SUNSPEC_T_IPV6ADDR,
	SUNSPEC_T_EUI48,
	SUNSPEC_T__COUNT
};

struct sunspec_symbol {
	uint32_t value;
	const char *name;
};

struct sunspec_point {
	const char *name;
	enum sunspec_type type;
	uint16_t offset; /* registers from the ID register (fixed) or the repetition start */
	uint16_t size;   /* registers */
	int16_t sf;      /* index of the scale-factor point in the fixed group, -1 none */
	const struct sunspec_symbol *syms;
	uint16_t nsyms;
};

struct sunspec_model_def {
	uint16_t id;
	const char *name;
	const struct sunspec_point *fixed; /* includes ID and L at offsets 0 and 1 */
	uint16_t nfixed;
	uint16_t fixed_len; /* registers after ID and L, as the model defines it */
	const struct sunspec_point *rep;
	uint16_t nrep;
	uint16_t rep_len;
};

/*
 * Register source.  read() fills regs[0..count) from PDU address addr and
 * returns PW_OK, or an error (PW_ERR_MODBUS_EXC for an exception reply,
 * PW_ERR_TIMEOUT, PW_ERR_MODBUS, PW_ERR_UNAVAILABLE ...) and then leaves regs
 * unspecified.  count is 1..125.  modbus_link provides one over libmodbus; the
 * tests provide register images.
 */
struct log_rate;

struct sunspec_io {
	pw_err (*read)(void *arg, uint16_t addr, uint16_t count, uint16_t *regs);
	void *arg;
	/* optional: discovery's warnings about a bad model chain go through it
	 * (a daemon retrying every poll logs one line per LOG_RATE_MS) */
	struct log_rate *rate;
};

struct sunspec_model_ref {
	uint16_t id;
	uint16_t len;  /* as reported by the device (registers after ID and L) */
	uint32_t addr; /* PDU address of the ID register */
};

struct sunspec_dev {
	uint16_t base; /* address of "SunS" */
	int nmodels;
	struct sunspec_model_ref models[SUNSPEC_MAX_MODELS];
	/* 0: the chain is complete; else a walk ended by a transport error
	 * (models[] holds what was found) resumes at this header's address
	 * (sunspec_walk_resume) */
	uint32_t walk_next;
};

/* One model as read in one poll: its registers from ID on. */
struct sunspec_block {
	const struct sunspec_model_def *def; /* NULL: model not decoded */
	struct sunspec_model_ref ref;
	uint16_t nregs; /* registers held in regs, 2 + min(len, what the def covers) */
	int nrepeats;   /* complete repetitions of the repeating group held */
	uint16_t regs[SUNSPEC_BLOCK_MAX];
};

/* The table entry of model `id`, or NULL when peerwatt does not decode it. */
const struct sunspec_model_def *sunspec_model_find(uint16_t id);
/* Every decoded model, for tests and the simulator: *n receives the count. */
const struct sunspec_model_def *sunspec_model_all(size_t *n);
/* The point called `name` in the fixed (rep=false) or repeating group; NULL if absent. */
const struct sunspec_point *sunspec_point_find(const struct sunspec_model_def *def,
                                               const char *name, bool rep);
const char *sunspec_type_name(enum sunspec_type t);

/*
 * Probe bases 40000, 0, 50000 for "SunS" and walk the chain.  On PW_OK dev
 * holds the base and every model header (including models peerwatt does not
 * decode).  Errors: PW_ERR_NOT_SUNSPEC when no base holds the marker (or every
 * base failed; *last_err, if not NULL, receives the transport error seen, so a
 * caller can tell "unreachable" from "not SunSpec"), PW_ERR_CORRUPT for a chain
 * that breaks a guard (model id 0, address overflow past 65535, more than
 * SUNSPEC_MAX_MODELS models, model 1 not 65/66 long), transport errors as is.
 */
pw_err sunspec_discover(const struct sunspec_io *io, struct sunspec_dev *dev, pw_err *last_err)
    __attribute__((warn_unused_result));
/* Walk the chain from a known base (after "SunS" has been seen there). */
pw_err sunspec_walk(const struct sunspec_io *io, uint16_t base, struct sunspec_dev *dev)
    __attribute__((warn_unused_result));

/*
 * Continue a walk that a transport error ended (dev->walk_next != 0) from
 * where it stopped, keeping the models found: a device that fails one
 * request in N is still discovered when its chain needs N requests or
 * more.  Results as sunspec_walk; a transport error again leaves dev
 * ready to resume.  PW_ERR_ARG when dev->walk_next is 0.
 */
pw_err sunspec_walk_resume(const struct sunspec_io *io, struct sunspec_dev *dev)
    __attribute__((warn_unused_result));

/* The first model in dev with an id in ids[0..n), or NULL. */
const struct sunspec_model_ref *sunspec_dev_find(const struct sunspec_dev *dev, const uint16_t *ids,
                                                 size_t n);

/*
 * Read one model into blk following the read plan (also re-reads the scale
 * factors, which live in the same block).  Checks that the ID and length at
 * ref->addr are still those of the walk (PW_ERR_STATE otherwise: rediscover).
 * PW_ERR_NOTFOUND for a model without a table.
 */
pw_err sunspec_read_block(const struct sunspec_io *io, const struct sunspec_model_ref *ref,
                          struct sunspec_block *blk) __attribute__((warn_unused_result));

/*
 * The read plan of a block of `nregs` registers (ID included) of `def` with
 * `nrep` repetitions: fills starts/counts (up to max entries), returns the
 * number of requests, or -1 when max is too small.  Exposed for the tests.
 */
int sunspec_plan(const struct sunspec_model_def *def, uint16_t nregs, int nrep, uint16_t *starts,
                 uint16_t *counts, int max);

/*
 * Load a block from a register image already in memory (ID register first);
 * used by sunspec_read_block, the fuzzer and the tests.  len is the reported
 * length; nregs_avail how many registers regs holds.
 */
pw_err sunspec_block_load(struct sunspec_block *blk, const struct sunspec_model_ref *ref,
                          const uint16_t *regs, size_t nregs_avail);

/*
 * Point access.  rep < 0 selects the fixed group, rep >= 0 that repetition.
 * All return PW_ERR_NOTFOUND when the model has no such point (or the device's
 * block is too short to hold it), PW_ERR_NOT_IMPL when the register holds the
 * type's "not implemented" sentinel (or the point's scale factor does), and
 * PW_ERR_FIELD when the scale factor is outside -10..10.
 *
 * sunspec_get_raw: integer types; *raw is the sign-extended or unsigned value
 *   (uint64 points above INT64_MAX give PW_ERR_RANGE), *sf the scale exponent
 *   (0 when the point has none).  value = raw * 10^sf.
 * sunspec_get_number: any numeric type, scaled, as double.
 * sunspec_get_string: string points, NUL-terminated, trailing NULs/spaces cut;
 *   PW_ERR_NOT_IMPL when all zero; PW_ERR_FULL when buf is too small.
 * sunspec_get_symbol: enum16/enum32 points: the symbol name (static) or NULL
 *   for a value without a symbol, with the raw value in *value.
 */
pw_err sunspec_get_raw(const struct sunspec_block *blk, const char *name, int rep, int64_t *raw,
                       int *sf);
pw_err sunspec_get_number(const struct sunspec_block *blk, const char *name, int rep, double *out);
pw_err sunspec_get_string(const struct sunspec_block *blk, const char *name, int rep, char *buf,
                          size_t bufsz);
pw_err sunspec_get_symbol(const struct sunspec_block *blk, const char *name, int rep,
                          uint32_t *value, const char **symbol);

/* Decode one point from its registers; what the getters build on. */
struct sunspec_value {
	enum sunspec_type type;
	bool impl;  /* false: the sentinel "not implemented" */
	int64_t i;  /* signed integer types */
	uint64_t u; /* unsigned, acc, enum, bitfield, count, ipaddr, eui48 */
	double f;   /* float32/float64 */
};
pw_err sunspec_decode(enum sunspec_type type, const uint16_t *regs, uint16_t size,
                      struct sunspec_value *v);
/* Write the "not implemented" value of a point of `type` into regs[0..size). */
void sunspec_sentinel(enum sunspec_type type, uint16_t size, uint16_t *regs);

/*
 * What the agent needs from a device, as read in one poll.  A field the device
 * does not implement has its has_ flag false: it is never reported as 0.
 */
struct sunspec_reading {
	bool has_common;
	char manufacturer[33], model[33], version[17], serial[33];
	bool has_inverter;
	uint16_t inverter_model;
	bool has_ac_power;
	double ac_power_w;
	bool has_ac_energy;
	int64_t ac_energy_wh; /* whole Wh, rounded down */
	bool has_status;
	uint32_t status;
	const char *status_name; /* NULL: value without a symbol */
	bool has_meter;
	uint16_t meter_model;
	bool has_meter_power;
	double meter_power_w; /* as the meter reports it (sign: see energy.h) */
	/* Accumulators as read: value = raw * 10^sf Wh; bits 32 wraps, 0 no wrap. */
	bool has_export, has_import;
	int64_t export_wh, import_wh; /* whole Wh, rounded down */
	uint64_t export_raw, import_raw;
	int export_sf, import_sf;
	int acc_bits;
};

/*
 * Read common, the first inverter (101-103, 111-113, else 701) and the first
 * meter (201-204, 211-214) of dev into r.  Transport errors abort (and are
 * returned); a model that reads but breaks its checks leaves its section out.
 */
pw_err sunspec_poll(const struct sunspec_io *io, const struct sunspec_dev *dev,
                    struct sunspec_reading *r) __attribute__((warn_unused_result));

/* Scale a raw accumulator to whole Wh (floor); PW_ERR_OVERFLOW if it does not fit. */
pw_err sunspec_scale_wh(int64_t raw, int sf, int64_t *wh);

#endif
