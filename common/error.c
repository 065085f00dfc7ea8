/* error.c: messages for the one error enum (see include/peerwatt/error.h). */
#include "peerwatt/error.h"

static const char *const messages[PW_ERR__COUNT] = {
	[PW_OK] = "success",
	[PW_ERR_NOMEM] = "out of memory",
	[PW_ERR_ARG] = "invalid argument",
	[PW_ERR_RANGE] = "value out of range",
	[PW_ERR_OVERFLOW] = "arithmetic overflow",
	[PW_ERR_IO] = "input/output error",
	[PW_ERR_EXISTS] = "already exists",
	[PW_ERR_NOTFOUND] = "not found",
	[PW_ERR_PERM] = "insecure or insufficient permissions",
	[PW_ERR_FULL] = "capacity exhausted",
	[PW_ERR_TIMEOUT] = "timed out",
	[PW_ERR_STATE] = "invalid in the current state",
	[PW_ERR_UNAVAILABLE] = "service unavailable",
	[PW_ERR_INTERNAL] = "internal error",
	[PW_ERR_CONFIG] = "configuration error",
	[PW_ERR_PARSE] = "malformed input",
	[PW_ERR_CRYPTO] = "cryptographic failure",
	[PW_ERR_BADSIG] = "bad signature",
	[PW_ERR_LENGTH] = "wrong length",
	[PW_ERR_VERSION] = "unsupported protocol version",
	[PW_ERR_TYPE] = "unknown or unexpected message type",
	[PW_ERR_FIELD] = "invalid field value",
	[PW_ERR_PROOF] = "proof does not verify",
	[PW_ERR_MODBUS] = "Modbus communication error",
	[PW_ERR_MODBUS_EXC] = "Modbus exception reply",
	[PW_ERR_NOT_SUNSPEC] = "no SunSpec device",
	[PW_ERR_NOT_IMPL] = "point not implemented by the device",
	[PW_ERR_IMPLAUSIBLE] = "implausible reading",
	[PW_ERR_CRC] = "checksum mismatch",
	[PW_ERR_DB] = "database error",
	[PW_ERR_CORRUPT] = "stored data is corrupt",
	[PW_ERR_ZMQ] = "messaging error",
	[PW_ERR_HTTP] = "HTTP server error",
	[PW_ERR_REJECTED] = "request rejected",
};

const char *
pw_strerror(pw_err err)
{
	if ((unsigned)err >= (unsigned)PW_ERR__COUNT || messages[err] == 0)
		return "unknown error";
	return messages[err];
}
