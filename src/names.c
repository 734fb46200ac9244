/* names.c - the name tables and the peer-name rule (names.h). */
#include "names.h"

const char *const names_devtype[VT_DEVTYPE_MAX + 1] = { "tun", "tap", NULL };
const char *const names_proto[VT_PROTO_MAX + 1] = { "udp", "tcp", NULL };
const char *const names_cipher[VT_CIPHER_MAX + 1] = { "aes-256-gcm", "chacha20-poly1305", NULL };
const char *const names_compress[VT_COMPRESS_MAX + 1] = { "none", "lz4", NULL };
const char *const names_offload[VT_OFFLOAD_MAX + 1] = { "auto", "off", NULL };
const char *const names_duplicate[VT_DUP_MAX + 1] = { "replace", "refuse", NULL };
const char *const names_drop[DROP_MAX + 1] = {
	[DROP_AUTH] = "auth",
	[DROP_REPLAY] = "replay",
	[DROP_MALFORMED] = "malformed",
	[DROP_NO_SESSION] = "no_session",
	[DROP_NO_KEY] = "no_key",
	[DROP_RATELIMIT] = "ratelimit",
	[DROP_MISMATCH] = "mismatch",
	[DROP_DEVICE] = "device",
	[DROP_ECN] = "ecn",
	[DROP_FILTER] = "filter",
	[DROP_RATE] = "rate",
	[DROP_DUPLICATE] = "duplicate",
	[DROP_MAX] = NULL,
};

const char *
names_get(const char *const *table, size_t n, int v)
{
	return v >= 0 && (size_t)v < n ? table[v] : "?";
}

static bool
letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool
names_valid_peer(const char *s, size_t len)
{
	if (len == 0 || len > NAMES_PEER_MAX || !letter(s[0]))
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = s[i];

		if (!(letter(c) || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}
