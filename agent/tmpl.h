/*
 * tmpl.h: register-map templates for inverters and meters that do not speak
 * SunSpec (Eastron SDM, Huawei SUN2000, SMA's own map, ...).
 *
 * Owns: the template file format (one INI file per device, docs/metering.md
 * "Templates" is its reference), the loader with its bounds, the search of
 * the template folders, the decoding of a value from its registers (type,
 * word order, fixed or register scale, unit, "not available" sentinels), the
 * poll of a device through a template, and the identification check that
 * `probe --scan` runs.  The simulator encodes registers with tmpl_encode().
 *
 * A template names, per value the agent uses (pv_power, ac_energy,
 * grid_power or grid_power_import + grid_power_export, export_energy,
 * import_energy, serial, battery_soc, battery_power, battery_capacity,
 * battery_max_charge, battery_max_discharge, battery_soh), the function code
 * (3 holding, 4 input), the PDU address (0-based, as on the wire), the type,
 * the word order, the scale and the unit; and the device's quirks (port,
 * unit id, response timeout, quiet time after connect, one client only).
 *
 * Called by agent/device.c (the agent and probe), tests/sim/ (serving a
 * template's map), the unit tests and tests/fuzz/fuzz_tmpl.c.
 * Thread-safety: no shared state; a struct tmpl is read-only once loaded.
 */
#ifndef AGENT_TMPL_H
#define AGENT_TMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peerwatt/error.h"

#define TMPL_NAME_MAX   32  /* [a-z0-9-], not "sunspec" */
#define TMPL_TEXT_MAX   160 /* description, manual */
#define TMPL_ADDRS_MAX  8   /* registers summed into one power value */
#define TMPL_STR_REGS   16  /* longest string value, registers (32 characters) */
#define TMPL_EQUALS_MAX 8   /* accepted identification values */
#define TMPL_FILE_MAX   16384
#define TMPL_DIRS_MAX   8   /* folders in a search path */
#define TMPL_LIST_MAX   64  /* templates listed from the search path */
#define TMPL_MAX_READ   125 /* registers in one read (Modbus limit) */

enum tmpl_type { TMPL_U16, TMPL_S16, TMPL_U32, TMPL_S32, TMPL_U64, TMPL_F32, TMPL_STRING };
enum tmpl_unit {
	TMPL_UNIT_NONE,
	TMPL_UNIT_W,
	TMPL_UNIT_KW,
	TMPL_UNIT_WH,
	TMPL_UNIT_KWH,
	TMPL_UNIT_PCT
};

/* The values a template can describe; the order of the file's sections is free. */
enum tmpl_val {
	TMPL_V_PV_POWER,
	TMPL_V_AC_ENERGY,
	TMPL_V_GRID_POWER,
	TMPL_V_GRID_POWER_IMPORT,
	TMPL_V_GRID_POWER_EXPORT,
	TMPL_V_EXPORT_ENERGY,
	TMPL_V_IMPORT_ENERGY,
	TMPL_V_SERIAL,
	TMPL_V_BATTERY_SOC,
	TMPL_V_BATTERY_POWER,
	TMPL_V_BATTERY_CAPACITY,      /* usable capacity, Wh or kWh (not a counter) */
	TMPL_V_BATTERY_MAX_CHARGE,    /* power limits, W or kW */
	TMPL_V_BATTERY_MAX_DISCHARGE, /* */
	TMPL_V_BATTERY_SOH,           /* state of health, % */
	TMPL_V__COUNT
};

struct tmpl_value {
	bool present;
	uint8_t fc;  /* 3 or 4 */
	int unit_id; /* -1: the device's */
	enum tmpl_type type;
	bool little;   /* word order: least significant register first */
	uint8_t naddr; /* 1..TMPL_ADDRS_MAX (more than one: summed powers) */
	uint16_t addr[TMPL_ADDRS_MAX];
	uint16_t length; /* registers of a string */
	int8_t scale;    /* value = raw x 10^scale in `unit` (fixed scale) */
	bool scale_reg;  /* scale from an int16 exponent register instead */
	uint16_t scale_addr;
	enum tmpl_unit unit;
	bool export_positive; /* powers: > 0 feeds the grid / charges (normalised away) */
};

/* Identification: one register that must read and match. */
struct tmpl_ident {
	bool present;
	struct tmpl_value v;
	uint8_t nequals;
	int64_t equals[TMPL_EQUALS_MAX];
	bool has_range;
	int64_t min, max;
	char prefix[TMPL_STR_REGS * 2 + 1]; /* strings: required prefix, "" any non-empty */
};

enum tmpl_role { TMPL_ROLE_INVERTER = 1, TMPL_ROLE_METER = 2 };

struct tmpl {
	char name[TMPL_NAME_MAX + 1];
	char description[TMPL_TEXT_MAX + 1];
	char manufacturer[33], model[33];
	char manual[TMPL_TEXT_MAX + 1];
	unsigned roles;      /* TMPL_ROLE_* */
	uint16_t port;       /* 0: none stated */
	int unit_id;         /* default unit id */
	uint32_t timeout_ms; /* 0: the link's default */
	uint32_t quiet_ms;   /* pause after connecting */
	bool one_client;     /* documented: the device serves one client */
	bool sentinels;      /* 0x8000, 0xFFFF, 0x80000000 ... mean "not available" */
	bool little;         /* default word order */
	struct tmpl_ident ident;
	struct tmpl_value v[TMPL_V__COUNT];
};

/* The section name of value `v` ("pv_power" ...). */
const char *tmpl_val_name(enum tmpl_val v);
const char *tmpl_type_name(enum tmpl_type t);
/* Registers a type takes (strings: 0, see length). */
uint16_t tmpl_type_regs(enum tmpl_type t);
/* Registers a value spans (a string: its length). */
uint16_t tmpl_value_regs(const struct tmpl_value *v);
/* The value (enum tmpl_val) is a power (W) or an energy counter (Wh). */
bool tmpl_is_power(int v);
bool tmpl_is_energy(int v);

/*
 * Parse a template from memory.  `name` is used in messages ("NAME:LINE:
 * ...") and, when `expect_name` is not NULL, [template] name must equal it.
 * On error `err` says what and where and *t is unchanged.  PW_ERR_CONFIG.
 */
pw_err tmpl_parse(const char *name, const char *buf, size_t len, const char *expect_name,
                  struct tmpl *t, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Check a template name: 1..32 of [a-z0-9-], not starting with '-'. */
bool tmpl_name_ok(const char *name);

/*
 * Find NAME.tmpl in the colon-separated folders of `path` (first match wins)
 * and load it.  PW_ERR_NOTFOUND (err names the folders tried), PW_ERR_CONFIG
 * (a bad file: err says where), PW_ERR_ARG (a bad name or path).
 */
pw_err tmpl_load(const char *path, const char *name, struct tmpl *t, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * The names of the templates found in `path`, sorted, without duplicates
 * (an earlier folder hides a later one's file of the same name); at most
 * `max`.  Returns the count.
 */
size_t tmpl_list(const char *path, char names[][TMPL_NAME_MAX + 1], size_t max);

/* The default search path, written into buf (TMPL_PATH_MAX bytes) and
 * returned: the share folder of the installation the running program
 * belongs to, <bindir>/../share/peerwatt/templates found from
 * /proc/self/exe (so `make install PREFIX=...` compiles nothing in and a
 * build never depends on PREFIX), then ./templates (the repository's, for
 * tests).  Without /proc: /usr/local/share/peerwatt/templates. */
#define TMPL_PATH_MAX 4400
const char *tmpl_default_path(char *buf, size_t cap);

/* Register source: fc 3 or 4, unit -1 for the link's own; as struct sunspec_io. */
struct tmpl_io {
	pw_err (*read)(void *arg, int fc, int unit, uint16_t addr, uint16_t count, uint16_t *regs);
	void *arg;
};

/* One value as read. */
struct tmpl_reading {
	bool has[TMPL_V__COUNT];
	double num[TMPL_V__COUNT]; /* powers in W (grid: import positive), soc/soh in %,
	                            * battery capacity in Wh */
	/* energies: raw counts with value = raw x 10^sf Wh, whole Wh (floor) and the wrap */
	uint64_t raw[TMPL_V__COUNT];
	int sf[TMPL_V__COUNT];
	int64_t wh[TMPL_V__COUNT];
	int bits[TMPL_V__COUNT]; /* 16/32/64: an unsigned counter wraps there; 0 never */
	char serial[TMPL_STR_REGS * 2 + 1];
};

/*
 * Read every value of t in `mask` (bits 1 << enum tmpl_val).  Transport
 * errors abort and are returned (PW_ERR_TIMEOUT, PW_ERR_UNAVAILABLE,
 * PW_ERR_MODBUS); a value the device refuses (exception), marks "not
 * available" or gives out of range (a negative energy, a scale register
 * outside -10..10, a NaN) is left out (has false), never reported as 0.
 */
pw_err tmpl_poll(const struct tmpl *t, const struct tmpl_io *io, uint32_t mask,
                 struct tmpl_reading *r) __attribute__((warn_unused_result));

/*
 * Run the identification check: PW_OK when the register reads and matches,
 * PW_ERR_NOTFOUND when it reads but does not match (or the device answers
 * with an exception), PW_ERR_STATE when t has no [identify], a transport
 * error as it came.
 */
pw_err tmpl_identify(const struct tmpl *t, const struct tmpl_io *io)
    __attribute__((warn_unused_result));

/*
 * Decode one value from its registers (regs[0..] at v->addr[i]; for a
 * register scale, `scale_exp` is the exponent already read).  PW_ERR_NOT_IMPL
 * for a sentinel (when `sentinels`), PW_ERR_FIELD for a NaN or infinity.
 * *num is raw x 10^scale in the value's unit, *raw the integer as read.
 */
pw_err tmpl_decode(const struct tmpl_value *v, bool sentinels, const uint16_t *regs, int scale_exp,
                   double *num, int64_t *raw) __attribute__((warn_unused_result));

/*
 * The inverse, for the simulator and the tests: encode `num` (in the value's
 * unit, before scaling) as the registers of type/word order of v at scale
 * `scale_exp`.  regs needs tmpl_type_regs(v->type) entries (string: length;
 * `text` is used for strings).  PW_ERR_RANGE when it does not fit the type.
 */
pw_err tmpl_encode(const struct tmpl_value *v, double num, const char *text, int scale_exp,
                   uint16_t *regs) __attribute__((warn_unused_result));

#endif
