/*
 * keys.h: Ed25519 identities of households and of the exchange.
 *
 * A key file holds the 32-byte seed in hex on one line:
 *     "peerwatt-secret-key-v1 <64 hex digits>\n"
 * created mode 0600 with O_EXCL and renamed into place (never half-written);
 * loading refuses a file that group or others can read.  The same Ed25519 key
 * is converted to the household's CURVE (X25519) transport key.
 *
 * Secrets live only in struct pw_keypair; pw_key_wipe() zeroes it with
 * sodium_memzero().  All functions are thread-safe once sodium_init() ran
 * (pw_crypto_init() calls it; call that first in main()).
 */
#ifndef PEERWATT_KEYS_H
#define PEERWATT_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "peerwatt/error.h"

#define PW_PK_LEN      32
#define PW_SK_LEN      64
#define PW_SEED_LEN    32
#define PW_SIG_LEN     64
#define PW_HASH_LEN    32
#define PW_CURVE_LEN   32
#define PW_PK_HEX_LEN  64 /* hex digits, no NUL */
#define PW_Z85_KEY_LEN 40 /* Z85 text of a 32-byte key, no NUL */

struct pw_keypair {
	uint8_t pk[PW_PK_LEN];
	uint8_t sk[PW_SK_LEN]; /* libsodium layout: seed || pk */
};

/* sodium_init(); PW_ERR_CRYPTO when libsodium cannot start. */
pw_err pw_crypto_init(void) __attribute__((warn_unused_result));

pw_err pw_key_generate(struct pw_keypair *kp) __attribute__((warn_unused_result));
pw_err pw_key_from_seed(struct pw_keypair *kp, const uint8_t seed[PW_SEED_LEN])
    __attribute__((warn_unused_result));
/*
 * Writes a new key file; PW_ERR_EXISTS when `path` exists (never
 * overwrites), PW_ERR_NOTFOUND when its directory does not exist,
 * PW_ERR_PERM when the directory may not be written, PW_ERR_IO otherwise;
 * on those three errno holds the cause.
 */
pw_err pw_key_save(const char *path, const struct pw_keypair *kp)
    __attribute__((warn_unused_result));
/*
 * What went wrong in a pw_key_save that returned `rc` with errno `errnum`,
 * naming `path` (and its directory when that is the cause), for keygen's
 * message: "cannot create k/a.key: directory k does not exist".
 */
void pw_key_save_message(const char *path, pw_err rc, int errnum, char *buf, size_t len);
/* PW_ERR_PERM when group/other may read it, PW_ERR_PARSE when malformed. */
pw_err pw_key_load(const char *path, struct pw_keypair *kp) __attribute__((warn_unused_result));
void pw_key_wipe(struct pw_keypair *kp);

void pw_sign(const struct pw_keypair *kp, const uint8_t *msg, size_t len, uint8_t sig[PW_SIG_LEN]);
/* PW_OK or PW_ERR_BADSIG. */
pw_err pw_verify(const uint8_t pk[PW_PK_LEN], const uint8_t *msg, size_t len,
                 const uint8_t sig[PW_SIG_LEN]) __attribute__((warn_unused_result));

/* Ed25519 -> X25519 (CURVE) keys; PW_ERR_CRYPTO for a point that has none. */
pw_err pw_key_curve_public(const uint8_t pk[PW_PK_LEN], uint8_t curve_pk[PW_CURVE_LEN])
    __attribute__((warn_unused_result));
pw_err pw_key_curve_secret(const struct pw_keypair *kp, uint8_t curve_sk[PW_CURVE_LEN])
    __attribute__((warn_unused_result));

/* SHA-256 (the log's and the receipts' hash; sha256_hash() of peerwatt/sha256.h). */
void pw_sha256(const uint8_t *data, size_t len, uint8_t out[PW_HASH_LEN]);

/* Lower-case hex; `out` holds 2*len+1 bytes. */
void pw_hex_encode(const uint8_t *in, size_t len, char *out);
/* Exactly 2*len hex digits (either case) and nothing else, else PW_ERR_PARSE. */
pw_err pw_hex_decode(const char *hex, uint8_t *out, size_t len) __attribute__((warn_unused_result));

#endif
