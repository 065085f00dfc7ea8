/*
 * keys.c: Ed25519 identities (see include/peerwatt/keys.h).
 *
 * Owns the key file format, key generation and loading, signing, the
 * Ed25519 -> X25519 conversion for CURVE, SHA-256 and hex.  Called by the
 * agent (keygen, its identity), the exchange (its signing key, the registry)
 * and the wire codec.  Every secret that passes through a local buffer is
 * wiped with sodium_memzero() before the function returns.
 */
#include "peerwatt/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "peerwatt/log.h"
#include "peerwatt/sha256.h"

#define KEYFILE_MAGIC     "peerwatt-secret-key-v1 "
#define KEYFILE_MAGIC_LEN (sizeof(KEYFILE_MAGIC) - 1)
/* magic + 64 hex + '\n' */
#define KEYFILE_LEN (KEYFILE_MAGIC_LEN + 2 * PW_SEED_LEN + 1)

pw_err
pw_crypto_init(void)
{
	/* 0: initialised now, 1: already initialised; -1: cannot start. */
	if (sodium_init() < 0)
		return PW_ERR_CRYPTO;
	return PW_OK;
}

pw_err
pw_key_generate(struct pw_keypair *kp)
{
	if (kp == NULL)
		return PW_ERR_ARG;
	if (crypto_sign_ed25519_keypair(kp->pk, kp->sk) != 0)
		return PW_ERR_CRYPTO;
	return PW_OK;
}

pw_err
pw_key_from_seed(struct pw_keypair *kp, const uint8_t seed[PW_SEED_LEN])
{
	if (kp == NULL || seed == NULL)
		return PW_ERR_ARG;
	if (crypto_sign_ed25519_seed_keypair(kp->pk, kp->sk, seed) != 0)
		return PW_ERR_CRYPTO;
	return PW_OK;
}

/* Full write(2) of `len` bytes, retrying on EINTR and short writes. */
static int
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsync the directory holding `path` so the new name survives a crash. */
static void
sync_parent_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;
	int fd;

	if (slash == NULL) {
		dir[0] = '.';
		dir[1] = '\0';
	} else {
		n = (size_t)(slash - path);
		if (n == 0)
			n = 1; /* "/file" -> "/" */
		if (n >= sizeof(dir))
			return;
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	(void)fsync(fd);
	(void)close(fd);
}

/*
 * Move the finished temporary file to `path` without ever replacing an
 * existing file: renameat2(RENAME_NOREPLACE), or on a file system that does
 * not support it, link(2) (which never replaces either) and unlink.
 */
static pw_err
install_noreplace(const char *tmp, const char *path)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
		return PW_OK;
	if (errno == EEXIST)
		return PW_ERR_EXISTS;
	if (errno != EINVAL && errno != ENOSYS)
		return PW_ERR_IO;
	if (link(tmp, path) != 0)
		return errno == EEXIST ? PW_ERR_EXISTS : PW_ERR_IO;
	return PW_OK;
}

/*
 * The key file is written to "PATH.tmp-XXXXXX" (mkstemp: O_EXCL, mode
 * 0600), fsynced, then moved to PATH without replacing anything, so a key is
 * never overwritten and PATH either does not exist or holds the whole key.
 */
pw_err
pw_key_save(const char *path, const struct pw_keypair *kp)
{
	char tmp[PATH_MAX];
	char line[KEYFILE_LEN + 1];
	struct stat st;
	pw_err rc = PW_OK;
	int fd, n;

	if (path == NULL || kp == NULL || path[0] == '\0')
		return PW_ERR_ARG;
	if (lstat(path, &st) == 0)
		return PW_ERR_EXISTS;
	n = snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return PW_ERR_ARG;

	memcpy(line, KEYFILE_MAGIC, KEYFILE_MAGIC_LEN);
	pw_hex_encode(kp->sk, PW_SEED_LEN, line + KEYFILE_MAGIC_LEN);
	line[KEYFILE_LEN - 1] = '\n';
	line[KEYFILE_LEN] = '\0';

	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		sodium_memzero(line, sizeof(line));
		errno = e;
		if (e == ENOENT || e == ENOTDIR)
			return PW_ERR_NOTFOUND;
		return e == EACCES || e == EPERM || e == EROFS ? PW_ERR_PERM : PW_ERR_IO;
	}
	/* mkstemp creates 0600 already; fchmod guards against odd umask-less libcs. */
	int e = 0;
	if (fchmod(fd, S_IRUSR | S_IWUSR) != 0 || write_all(fd, line, KEYFILE_LEN) != 0 ||
	    fsync(fd) != 0) {
		rc = PW_ERR_IO;
		e = errno;
	}
	sodium_memzero(line, sizeof(line));
	if (close(fd) != 0 && rc == PW_OK) {
		rc = PW_ERR_IO;
		e = errno;
	}
	if (rc == PW_OK && (rc = install_noreplace(tmp, path)) != PW_OK)
		e = errno;
	(void)unlink(tmp); /* gone after a rename; the spare name after link or an error */
	if (rc == PW_OK)
		sync_parent_dir(path);
	errno = e; /* the cause, for pw_key_save_message */
	return rc;
}

void
pw_key_save_message(const char *path, pw_err rc, int errnum, char *buf, size_t len)
{
	/* the directory part of `path`, where mkstemp failed */
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t dlen = slash == NULL ? 0 : slash == path ? 1 : (size_t)(slash - path);
	struct stat st;

	if (dlen == 0 || dlen >= sizeof(dir))
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)dlen, path);
	if (rc == PW_ERR_EXISTS) {
		snprintf(buf, len, "%s already exists (a key file is never overwritten)", path);
	} else if (rc == PW_ERR_NOTFOUND && stat(dir, &st) != 0 && errno == ENOENT) {
		/* checked again, for the message only: ENOENT can mean other things */
		snprintf(buf, len, "cannot create %s: directory %s does not exist", path, dir);
	} else if (rc == PW_ERR_NOTFOUND && stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
		snprintf(buf, len, "cannot create %s: %s is not a directory", path, dir);
	} else if (rc == PW_ERR_PERM) {
		snprintf(buf, len, "cannot create %s: directory %s: %s", path, dir,
		         strerror(errnum));
	} else if ((rc == PW_ERR_IO || rc == PW_ERR_NOTFOUND) && errnum != 0) {
		snprintf(buf, len, "cannot create %s: %s", path, strerror(errnum));
	} else {
		snprintf(buf, len, "cannot create %s: %s", path, pw_strerror(rc));
	}
}

pw_err
pw_key_load(const char *path, struct pw_keypair *kp)
{
	char buf[KEYFILE_LEN + 2]; /* one spare byte detects trailing data */
	uint8_t seed[PW_SEED_LEN];
	struct stat st;
	size_t got = 0;
	pw_err rc;
	int fd;

	if (path == NULL || kp == NULL)
		return PW_ERR_ARG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return PW_ERR_NOTFOUND;
		if (errno == EACCES || errno == ELOOP)
			return PW_ERR_PERM;
		return PW_ERR_IO;
	}
	if (fstat(fd, &st) != 0) {
		(void)close(fd);
		return PW_ERR_IO;
	}
	if (!S_ISREG(st.st_mode)) {
		(void)close(fd);
		log_warnx("%s: key file is not a regular file", path);
		return PW_ERR_PARSE;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		(void)close(fd);
		log_warnx("%s: key file is accessible by group or others (mode %04o); "
		          "run: chmod 600 %s",
		          path, (unsigned)(st.st_mode & 07777), path);
		return PW_ERR_PERM;
	}
	while (got < sizeof(buf)) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			(void)close(fd);
			sodium_memzero(buf, sizeof(buf));
			return PW_ERR_IO;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	(void)close(fd);

	rc = PW_ERR_PARSE;
	if (got == KEYFILE_LEN && memcmp(buf, KEYFILE_MAGIC, KEYFILE_MAGIC_LEN) == 0 &&
	    buf[KEYFILE_LEN - 1] == '\n') {
		buf[KEYFILE_LEN - 1] = '\0';
		if (pw_hex_decode(buf + KEYFILE_MAGIC_LEN, seed, PW_SEED_LEN) == PW_OK)
			rc = pw_key_from_seed(kp, seed);
	}
	if (rc == PW_ERR_PARSE)
		log_warnx("%s: not a peerwatt key file (expected one line \"%s<64 hex>\")", path,
		          KEYFILE_MAGIC);
	sodium_memzero(buf, sizeof(buf));
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

void
pw_key_wipe(struct pw_keypair *kp)
{
	if (kp != NULL)
		sodium_memzero(kp, sizeof(*kp));
}

void
pw_sign(const struct pw_keypair *kp, const uint8_t *msg, size_t len, uint8_t sig[PW_SIG_LEN])
{
	/* Cannot fail for a valid sk; the length output is always 64. */
	(void)crypto_sign_ed25519_detached(sig, NULL, msg, len, kp->sk);
}

pw_err
pw_verify(const uint8_t pk[PW_PK_LEN], const uint8_t *msg, size_t len,
          const uint8_t sig[PW_SIG_LEN])
{
	if (crypto_sign_ed25519_verify_detached(sig, msg, len, pk) != 0)
		return PW_ERR_BADSIG;
	return PW_OK;
}

pw_err
pw_key_curve_public(const uint8_t pk[PW_PK_LEN], uint8_t curve_pk[PW_CURVE_LEN])
{
	if (crypto_sign_ed25519_pk_to_curve25519(curve_pk, pk) != 0)
		return PW_ERR_CRYPTO;
	return PW_OK;
}

pw_err
pw_key_curve_secret(const struct pw_keypair *kp, uint8_t curve_sk[PW_CURVE_LEN])
{
	if (crypto_sign_ed25519_sk_to_curve25519(curve_sk, kp->sk) != 0)
		return PW_ERR_CRYPTO;
	return PW_OK;
}

void
pw_sha256(const uint8_t *data, size_t len, uint8_t out[PW_HASH_LEN])
{
	sha256_hash(data, len, out);
}

void
pw_hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

static int
hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

pw_err
pw_hex_decode(const char *hex, uint8_t *out, size_t len)
{
	if (hex == NULL || (out == NULL && len > 0))
		return PW_ERR_ARG;
	/* strnlen bounds the scan: a longer string is refused without reading past. */
	if (strnlen(hex, 2 * len + 1) != 2 * len)
		return PW_ERR_PARSE;
	for (size_t i = 0; i < len; i++) {
		int hi = hex_nibble(hex[2 * i]);
		int lo = hex_nibble(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return PW_ERR_PARSE;
		out[i] = (uint8_t)((hi << 4) | lo);
	}
	return PW_OK;
}
