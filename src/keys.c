/*
 * keys.c - key files and the key commands. The only place that reads keys from files or
 * streams; every buffer that held a secret is wiped before it goes out of scope.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "keys.h"

/* Room for a key line plus a little more, so that trailing junk is seen, not cut off. */
#define LINE_CAP (CRYPTO_B64_KEY_LEN + 8)

/*
 * Decode text of len bytes: 44 base64 characters, then at most one newline. Wipes nothing:
 * the caller owns text.
 */
static int
decode_line(uint8_t key[32], char *text, size_t len)
{
	if (len == CRYPTO_B64_KEY_LEN + 1 && text[CRYPTO_B64_KEY_LEN] == '\n')
		len--;
	if (len != CRYPTO_B64_KEY_LEN)
		return -1;
	text[len] = '\0';
	return crypto_key_from_base64(key, text);
}

/* Read a base64 key file into key; 0, or -1 with a message in err. */
int
keys_read_file(const char *path, bool must_be_private, uint8_t key[32], char *err,
    size_t errlen)
{
	char text[LINE_CAP + 1];
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd, ret = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* fstat on the open descriptor: the mode checked is that of the file read. */
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if (must_be_private && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, errlen, "%s: key file is accessible by group or others (chmod 600)",
		    path);
		goto out;
	}
	while (len < LINE_CAP) {
		n = read(fd, text + len, LINE_CAP - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (decode_line(key, text, len) == -1) {
		snprintf(err, errlen, "%s: not a key (expected one line of %d base64 characters)",
		    path, CRYPTO_B64_KEY_LEN);
		goto out;
	}
	ret = 0;
out:
	crypto_wipe(text, sizeof(text));
	close(fd);
	return ret;
}

/* Print a key in base64 plus a newline; 0 or -1 if the stream failed. */
static int
print_key(FILE *out, const uint8_t key[32])
{
	char b64[CRYPTO_B64_KEY_LEN + 1];
	int ret = 0;

	crypto_key_to_base64(b64, key);
	if (fprintf(out, "%s\n", b64) < 0 || fflush(out) == EOF)
		ret = -1;
	crypto_wipe(b64, sizeof(b64));
	return ret;
}

/* "vtund-ng genkey": write a new base64 private key and a newline to out; 0 or -1. */
int
keys_cmd_genkey(FILE *out)
{
	uint8_t priv[32], pub[32];
	int ret = -1;

	if (crypto_x25519_keygen(priv, pub) == 0)
		ret = print_key(out, priv);
	crypto_wipe(priv, sizeof(priv));
	return ret;
}

/* "vtund-ng pubkey": private key on in, public key on out; 0, or -1 with a message on err. */
int
keys_cmd_pubkey(FILE *in, FILE *out, FILE *err)
{
	char text[LINE_CAP + 1];
	uint8_t priv[32], pub[32];
	size_t len;
	int ret = -1;

	len = fread(text, 1, LINE_CAP, in);
	if (ferror(in)) {
		fprintf(err, "pubkey: cannot read the private key: %s\n", strerror(errno));
		goto out;
	}
	if (decode_line(priv, text, len) == -1) {
		fprintf(err, "pubkey: expected a private key: one line of %d base64 characters\n",
		    CRYPTO_B64_KEY_LEN);
		goto out;
	}
	if (crypto_x25519_public(priv, pub) == -1) {
		fprintf(err, "pubkey: cannot compute the public key\n");
		goto out;
	}
	if (print_key(out, pub) == -1) {
		fprintf(err, "pubkey: cannot write the public key\n");
		goto out;
	}
	ret = 0;
out:
	crypto_wipe(text, sizeof(text));
	crypto_wipe(priv, sizeof(priv));
	return ret;
}

/* "vtund-ng genpsk": write a new base64 pre-shared key and a newline to out; 0 or -1. */
int
keys_cmd_genpsk(FILE *out)
{
	uint8_t psk[32];
	int ret;

	crypto_random(psk, sizeof(psk));
	ret = print_key(out, psk);
	crypto_wipe(psk, sizeof(psk));
	return ret;
}
