/*
 * error.h: the one error enum of peerwatt and its messages.
 *
 * Every function that can fail returns a pw_err; PW_OK is 0 so callers write
 * `if ((rc = f()) != PW_OK) return rc;`.  Codes are grouped by concern; new
 * codes go at the end of their group's block (the numbers are not on the
 * wire, so renumbering is harmless, but keep pw_strerror() in step).
 * Thread-safe: pw_strerror() returns static strings.
 */
#ifndef PEERWATT_ERROR_H
#define PEERWATT_ERROR_H

typedef enum pw_err {
	PW_OK = 0,
	/* generic */
	PW_ERR_NOMEM,       /* allocation failed */
	PW_ERR_ARG,         /* invalid argument from the caller */
	PW_ERR_RANGE,       /* value outside its allowed range */
	PW_ERR_OVERFLOW,    /* integer arithmetic would overflow */
	PW_ERR_IO,          /* file or socket I/O failed (see errno) */
	PW_ERR_EXISTS,      /* the file or entry exists already */
	PW_ERR_NOTFOUND,    /* no such file, key or entry */
	PW_ERR_PERM,        /* insecure or insufficient permissions */
	PW_ERR_FULL,        /* a bounded buffer, table or queue is full */
	PW_ERR_TIMEOUT,     /* no answer in time */
	PW_ERR_STATE,       /* operation not valid in the current state */
	PW_ERR_UNAVAILABLE, /* a peer or service cannot be reached */
	PW_ERR_INTERNAL,    /* a broken invariant: a bug */
	/* configuration and text input */
	PW_ERR_CONFIG, /* bad configuration (message says file:line) */
	PW_ERR_PARSE,  /* malformed text (hex, number, URL, ...) */
	/* cryptography and the wire */
	PW_ERR_CRYPTO,  /* libsodium failed */
	PW_ERR_BADSIG,  /* signature does not verify */
	PW_ERR_LENGTH,  /* wrong length: truncated or trailing bytes */
	PW_ERR_VERSION, /* unknown protocol version */
	PW_ERR_TYPE,    /* unknown or unexpected message type */
	PW_ERR_FIELD,   /* a field holds a value the protocol forbids */
	PW_ERR_PROOF,   /* a Merkle proof does not verify */
	/* metering */
	PW_ERR_MODBUS,      /* Modbus transport error */
	PW_ERR_MODBUS_EXC,  /* the device answered with a Modbus exception */
	PW_ERR_NOT_SUNSPEC, /* no SunSpec marker found */
	PW_ERR_NOT_IMPL,    /* the device does not implement this point */
	PW_ERR_IMPLAUSIBLE, /* a reading fails a plausibility check */
	PW_ERR_CRC,         /* a meter telegram's checksum does not match */
	/* storage and messaging */
	PW_ERR_DB,       /* SQLite failed */
	PW_ERR_CORRUPT,  /* stored data is inconsistent */
	PW_ERR_ZMQ,      /* ZeroMQ failed */
	PW_ERR_HTTP,     /* HTTP server failed */
	PW_ERR_REJECTED, /* the peer refused the request (see reason) */
	PW_ERR__COUNT
} pw_err;

/* A short English message for `err`; never NULL, static storage. */
const char *pw_strerror(pw_err err);

#endif
