/* test_control.c - status requests, text and JSON replies, and the client over a unix socket. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "control.h"

#define NOW INT64_C(1767225600) /* 2026-01-01 00:00:00 UTC */

/* --- a strict JSON validator (RFC 8259 grammar, no extensions) --- */

struct json {
	const char *p, *end;
	int depth;
};

static bool json_value(struct json *j);

static void
json_ws(struct json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool
json_lit(struct json *j, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return false;
	j->p += n;
	return true;
}

static bool
json_string(struct json *j)
{
	int i;

	if (j->p >= j->end || *j->p != '"')
		return false;
	j->p++;
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p++;

		if (c < 0x20 || c >= 0x80) /* our output is pure ASCII */
			return false;
		if (c != '\\')
			continue;
		if (j->p >= j->end)
			return false;
		c = (unsigned char)*j->p++;
		if (c == 'u') {
			for (i = 0; i < 4; i++, j->p++)
				if (j->p >= j->end || *j->p == '\0' ||
				    strchr("0123456789abcdefABCDEF", *j->p) == NULL)
					return false;
		} else if (strchr("\"\\/bfnrt", c) == NULL || c == '\0') {
			return false;
		}
	}
	if (j->p >= j->end)
		return false;
	j->p++;
	return true;
}

static bool
json_digits(struct json *j)
{
	const char *s = j->p;

	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s;
}

static bool
json_number(struct json *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0') {
		j->p++;
	} else if (!json_digits(j)) {
		return false;
	}
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!json_digits(j))
			return false;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!json_digits(j))
			return false;
	}
	return true;
}

/* An object (close = '}') or array (']'), at its opening character. */
static bool
json_container(struct json *j, char close)
{
	if (++j->depth > 32)
		return false;
	j->p++;
	json_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return true;
	}
	for (;;) {
		json_ws(j);
		if (close == '}') {
			if (!json_string(j))
				return false;
			json_ws(j);
			if (j->p >= j->end || *j->p++ != ':')
				return false;
		}
		if (!json_value(j))
			return false;
		json_ws(j);
		if (j->p >= j->end)
			return false;
		if (*j->p == ',') {
			j->p++;
			continue;
		}
		if (*j->p++ != close)
			return false;
		j->depth--;
		return true;
	}
}

static bool
json_value(struct json *j)
{
	json_ws(j);
	if (j->p >= j->end)
		return false;
	switch (*j->p) {
	case '{':
		return json_container(j, '}');
	case '[':
		return json_container(j, ']');
	case '"':
		return json_string(j);
	case 't':
		return json_lit(j, "true");
	case 'f':
		return json_lit(j, "false");
	case 'n':
		return json_lit(j, "null");
	default:
		return json_number(j);
	}
}

/* True if s is exactly one JSON document (an object), optionally followed by whitespace. */
static bool
json_valid(const char *s)
{
	struct json j = { s, s + strlen(s), 0 };

	json_ws(&j);
	if (j.p >= j.end || *j.p != '{' || !json_value(&j))
		return false;
	json_ws(&j);
	return j.p == j.end;
}

static void
test_json_validator(void **state)
{
	static const char *const good[] = {
		"{}", "{\"a\":1}", "{\"a\":[1,2.5,-3,1e3,true,false,null,\"x\\n\\u00e9\"]}\n",
		"{\"a\":{\"b\":{}},\"c\":[]}", "{\"a\":0.49}",
	};
	static const char *const bad[] = {
		"", "{", "}", "{a:1}", "{\"a\":1,}", "{\"a\":01}", "{\"a\":1}{}", "{\"a\" 1}",
		"{\"a\":[1,]}", "{\"a\":\"\t\"}", "{\"a\":\"\\x\"}", "{\"a\":tru}", "[1]",
		"{\"a\":1.}", "{\"a\":\"unterminated}", "{\"a\":.5}", "{,}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(json_valid(good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (json_valid(bad[i]))
			fail_msg("accepted bad JSON: %s", bad[i]);
	}
}

/* --- request parsing --- */

static void
test_parse_valid(void **state)
{
	static const struct {
		const char *line;
		bool json;
		const char *peer;
	} ok[] = {
		{ "status", false, "" },
		{ "status\n", false, "" },
		{ "status json", true, "" },
		{ "status json\n", true, "" },
		{ "status alice", false, "alice" },
		{ "status alice\n", false, "alice" },
		{ "status json alice\n", true, "alice" },
		{ "status json json", true, "json" },
		{ "status site-a.b_2", false, "site-a.b_2" },
		{ "status abcdefghijklmnopqrstuvwxyz01234", false,
		    "abcdefghijklmnopqrstuvwxyz01234" },
	};
	struct control_request req;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		memset(&req, 0x55, sizeof(req));
		if (control_parse_request(ok[i].line, strlen(ok[i].line), &req) != 0)
			fail_msg("refused: \"%s\"", ok[i].line);
		assert_int_equal(req.json, ok[i].json);
		assert_false(req.metrics);
		assert_string_equal(req.peer, ok[i].peer);
	}
	assert_int_equal(control_parse_request("status metrics", 14, &req), 0);
	assert_true(req.metrics);
	assert_false(req.json);
	assert_int_equal(control_parse_request("status metrics bob\n", 19, &req), 0);
	assert_true(req.metrics);
	assert_string_equal(req.peer, "bob");
	assert_int_equal(control_parse_request("status metrics metrics", 22, &req), 0);
	assert_string_equal(req.peer, "metrics");
	assert_int_equal(control_parse_request("status json metrics x", 21, &req), -1);
	/* The length bounds the line: nothing after it is read. */
	assert_int_equal(control_parse_request("status json alice", 11, &req), 0);
	assert_true(req.json);
	assert_string_equal(req.peer, "");
}

static void
test_parse_invalid(void **state)
{
	static const char *const bad[] = {
		"", "\n", "stat", "status ", " status", "status  json", "status json ",
		"Status", "STATUS", "status\n\n", "status\r\n", "status\t", "statusjson",
		"status json alice bob", "status alice json", "status alice bob",
		"status abcdefghijklmnopqrstuvwxyz012345", /* 32 characters */
		"status al ice", "status al/ice", "status al\"ice", "status al\\ice",
		"status \xc3\xa9", "status json json json", "status json\nalice", "show",
		"status\x01", "help", "status 1peer", "status -a", "status .a", /* names_valid_peer */
	};
	struct control_request req;
	char longline[CONTROL_REQ_MAX + 2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (control_parse_request(bad[i], strlen(bad[i]), &req) != -1)
			fail_msg("accepted: \"%s\"", bad[i]);
	}
	/* An embedded NUL. */
	assert_int_equal(control_parse_request("status\0json", 11, &req), -1);
	/* Longer than CONTROL_REQ_MAX. */
	memset(longline, 'a', sizeof(longline));
	memcpy(longline, "status ", 7);
	assert_int_equal(control_parse_request(longline, sizeof(longline), &req), -1);
}

/* --- formatting --- */

static const uint64_t no_session[DROP_MAX] = { 7, 0, 4, 11, 0, 2, 0, 0 };

static void
fill(struct control_status st[2])
{
	memset(st, 0, 2 * sizeof(st[0]));
	strcpy(st[0].peer, "alice");
	st[0].role = "server";
	st[0].type = "tun";
	st[0].proto = "udp";
	strcpy(st[0].device, "vt-alice");
	strcpy(st[0].endpoint, "10.98.0.2:40001");
	st[0].state = "established";
	st[0].cipher = "aes-256-gcm";
	st[0].compress = "lz4";
	strcpy(st[0].offload, "csum tso gro udp-gso");
	st[0].stats.split = 5;
	st[0].stats.coalesced = 7;
	st[0].threads = 2;
	st[0].rate_out = 10000000;
	st[0].mtu = 1419;
	st[0].mtu_auto = true;
	st[0].mss_clamp = true;
	st[0].stats.clamped = 3;
	st[0].now = NOW;
	st[0].stats.rx_packets = 812;
	st[0].stats.rx_bytes = 1268777; /* 1.21 MiB */
	st[0].stats.tx_packets = 1533;
	st[0].stats.tx_bytes = 3565158; /* 3.40 MiB */
	st[0].stats.drops[DROP_REPLAY] = 3;
	st[0].stats.drops[DROP_NO_KEY] = 2;
	st[0].stats.comp_in = 2202009;  /* 2.10 MiB */
	st[0].stats.comp_out = 1079005; /* 1.03 MiB, ratio 0.49 */
	st[0].stats.comp_raw = 12;
	st[0].stats.handshakes = 4;
	st[0].stats.last_handshake = NOW - 12;
	st[0].stats.up_since = NOW - 3723;

	strcpy(st[1].peer, "bob");
	st[1].role = "client";
	st[1].type = "tap";
	st[1].proto = "tcp";
	strcpy(st[1].device, "vt-bob");
	strcpy(st[1].endpoint, "[2001:db8::1]:5000");
	st[1].state = "handshaking";
	st[1].cipher = "chacha20-poly1305";
	st[1].compress = "none";
	st[1].mtu = 1500;
	st[1].now = NOW;
	st[1].stats.tx_bytes = 100;
	st[1].stats.drops[DROP_DEVICE] = 9;
}

static void
must_contain(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("missing \"%s\" in:\n%s", needle, hay);
}

static void
must_not_contain(const char *hay, const char *needle)
{
	if (strstr(hay, needle) != NULL)
		fail_msg("unexpected \"%s\" in:\n%s", needle, hay);
}

static void
test_format_text(void **state)
{
	struct control_status st[2];
	struct control_request req = { false, false, "" };
	char out[4096];
	long n;

	(void)state;
	fill(st);
	n = control_format(&req, st, 2, no_session, out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(out));
	must_contain(out, "peer: alice\n");
	must_contain(out, "\n  role: server  device: vt-alice  type: tun  proto: udp");
	must_contain(out, "\n  endpoint: 10.98.0.2:40001  offload: csum tso gro udp-gso (5 split, "
	    "7 coalesced)  threads: 2\n");
	must_contain(out, "\n  state: established  uptime: 1h 2m 3s\n");
	must_contain(out, "\n  last handshake: 12 seconds ago");
	must_contain(out,
	    "\n  transfer: 1.21 MiB received, 3.40 MiB sent (812 / 1533 packets)\n");
	must_contain(out,
	    "\n  compression: lz4, 2.10 MiB -> 1.03 MiB (ratio 0.49), 12 packets sent raw\n");
	must_contain(out, "packets sent raw\n  mtu: 1419 (auto), mss-clamp: 3 SYNs clamped\n"
	    "  rate: out 10 Mbit/s\n  drops: auth 0");
	must_contain(out, "(0 / 0 packets)\n  mtu: 1500\n  drops:");
	must_contain(out, "\n  drops: auth 0, replay 3, malformed 0, no_session 0, no_key 2, "
	                  "ratelimit 0, mismatch 0, device 0, ecn 0, filter 0, rate 0, duplicate 0\n");

	must_contain(out, "peer: bob\n");
	must_contain(out, "\n  role: client  device: vt-bob  type: tap  proto: tcp");
	must_contain(out, "\n  endpoint: [2001:db8::1]:5000  offload: off\n");
	must_contain(out, "\n  state: handshaking\n"); /* down: no uptime */
	must_contain(out, "\n  last handshake: never");
	must_contain(out, "\n  transfer: 0 B received, 100 B sent (0 / 0 packets)\n");
	must_contain(out, "device 9, ecn 0, filter 0, rate 0, duplicate 0\n");
	/* alice first, then bob, then the daemon-wide line last. */
	assert_true(strstr(out, "peer: alice") < strstr(out, "peer: bob"));
	must_contain(out, "\ndrops without a session: auth 7, replay 0, malformed 4, "
	                  "no_session 11, no_key 0, ratelimit 2, mismatch 0, device 0, ecn 0, "
	                  "filter 0, rate 0, duplicate 0\n");
	assert_string_equal(strstr(out, "drops without a session"),
	    "drops without a session: auth 7, replay 0, malformed 4, no_session 11, no_key 0, "
	    "ratelimit 2, mismatch 0, device 0, ecn 0, filter 0, rate 0, duplicate 0\n");
	/* Only alice compresses. */
	assert_true(strstr(out, "compression:") < strstr(out, "peer: bob"));
	assert_null(strstr(strstr(out, "peer: bob"), "compression:"));
	assert_null(strstr(strstr(out, "peer: bob"), "rate:")); /* no limit: no line */
	/* rates in the largest unit that shows them whole */
	st[1].rate_in = 2500000;
	st[1].rate_out = 1000000000;
	assert_true(control_format(&req, st, 2, no_session, out, sizeof(out)) > 0);
	must_contain(out, "\n  rate: in 2500 kbit/s, out 1 Gbit/s\n");
	st[1].rate_in = 8001;
	st[1].rate_out = 0;
	assert_true(control_format(&req, st, 2, no_session, out, sizeof(out)) > 0);
	must_contain(out, "\n  rate: in 8001 bit/s\n");
	st[1].rate_in = 0;

	/* Durations and sizes in other ranges. */
	st[0].stats.up_since = NOW - (2 * 86400 + 5);
	st[0].stats.last_handshake = NOW - 1;
	st[0].stats.comp_in = 0;
	st[0].stats.comp_out = 0;
	st[0].stats.rx_bytes = 1023;
	st[0].stats.tx_bytes = UINT64_C(5) << 40;
	st[0].endpoint[0] = '\0';
	n = control_format(&req, st, 1, no_session, out, sizeof(out));
	assert_true(n > 0);
	must_contain(out, "uptime: 2d 0h 0m 5s\n");
	must_contain(out, "last handshake: 1 second ago");
	must_contain(out, "transfer: 1023 B received, 5.00 TiB sent");
	must_contain(out, "(ratio -)");
	st[0].stats.comp_in = 3;
	st[0].stats.comp_out = 5;
	n = control_format(&req, st, 1, no_session, out, sizeof(out));
	assert_true(n > 0);
	must_contain(out, "(ratio 1.67)");
	must_contain(out, "endpoint: (none)  offload: csum tso gro udp-gso (5 split, 7 coalesced)  "
	    "threads: 2\n");
	must_not_contain(out, "peer: bob");
	st[0].stats.last_handshake = NOW - 125;
	st[0].stats.up_since = NOW - 59;
	n = control_format(&req, st, 1, no_session, out, sizeof(out));
	assert_true(n > 0);
	must_contain(out, "last handshake: 2m 5s ago");
	must_contain(out, "uptime: 59s\n");

	/* No sessions at all: just the daemon-wide line. */
	n = control_format(&req, st, 0, no_session, out, sizeof(out));
	assert_true(n > 0);
	assert_string_equal(out, "drops without a session: auth 7, replay 0, malformed 4, "
	                         "no_session 11, no_key 0, ratelimit 2, mismatch 0, device 0, "
	                         "ecn 0, filter 0, rate 0, duplicate 0\n");
}

/* One line of Prometheus text: a HELP or TYPE comment, "# EOF", or NAME{L="V",...} VALUE. */
static bool
metric_line_ok(const char *l)
{
	const char *p = l;

	if (strncmp(l, "# HELP vtund_ng_", 16) == 0 || strncmp(l, "# TYPE vtund_ng_", 16) == 0)
		return true;
	if (strcmp(l, "# EOF") == 0)
		return true;
	if (strncmp(p, "vtund_ng_", 9) != 0)
		return false;
	while ((*p >= 'a' && *p <= 'z') || *p == '_')
		p++;
	if (*p == '{') {
		do {
			p++;
			while (*p >= 'a' && *p <= 'z')
				p++;
			if (*p++ != '=' || *p++ != '"')
				return false;
			while (*p != '"' && *p != '\0')
				p += *p == '\\' ? 2 : 1;
			if (*p++ != '"')
				return false;
		} while (*p == ',');
		if (*p++ != '}')
			return false;
	}
	if (*p++ != ' ' || *p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	return *p == '\0';
}

/* status metrics: every line well formed, every family's HELP and TYPE before its samples, no
 * series twice, the values those of the snapshot, "# EOF" last; a peer filter shows one. */
static void
test_format_metrics(void **state)
{
	struct control_status st[2];
	struct control_request req = { .metrics = true };
	char out[16384], copy[16384], *line, *save, seen[300][160], family[80] = "";
	int nseen = 0;
	long n;

	(void)state;
	fill(st);
	n = control_format(&req, st, 2, no_session, out, sizeof(out));
	assert_true(n > 0);
	memcpy(copy, out, (size_t)n + 1);
	for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (!metric_line_ok(line))
			fail_msg("bad line: %s", line);
		if (strncmp(line, "# TYPE ", 7) == 0) {
			snprintf(family, sizeof(family), "%.*s", (int)strcspn(line + 7, " "),
			    line + 7);
		} else if (line[0] != '#') {
			size_t nl = strcspn(line, "{ ");

			if (strlen(family) != nl || strncmp(line, family, nl) != 0)
				fail_msg("sample outside its family %s: %s", family, line);
			for (int i = 0; i < nseen; i++)
				if (strncmp(seen[i], line, strcspn(line, " ")) == 0 &&
				    seen[i][strcspn(line, " ")] == '\0')
					fail_msg("series twice: %s", line);
			assert_true(nseen < 300);
			snprintf(seen[nseen++], sizeof(seen[0]), "%.*s", (int)strcspn(line, " "),
			    line);
		}
	}
	assert_true(strcmp(out + n - 6, "# EOF\n") == 0);
	must_contain(out, "# TYPE vtund_ng_rx_bytes_total counter\n");
	must_contain(out, "\nvtund_ng_rx_bytes_total{peer=\"alice\"} 1268777\n");
	must_contain(out, "\nvtund_ng_tx_bytes_total{peer=\"bob\"} 100\n");
	must_contain(out, "\nvtund_ng_drops_total{peer=\"alice\",reason=\"replay\"} 3\n");
	must_contain(out, "\nvtund_ng_drops_total{peer=\"bob\",reason=\"device\"} 9\n");
	must_contain(out, "\nvtund_ng_handshakes_total{peer=\"alice\"} 4\n");
	must_contain(out, "\nvtund_ng_last_handshake_age_seconds{peer=\"alice\"} 12\n");
	must_not_contain(out, "vtund_ng_last_handshake_age_seconds{peer=\"bob\"}"); /* never */
	must_contain(out, "\nvtund_ng_session_up{peer=\"alice\"} 1\n");
	must_contain(out, "\nvtund_ng_session_up{peer=\"bob\"} 0\n");
	must_contain(out, "\nvtund_ng_session_state{peer=\"bob\",state=\"handshaking\"} 1\n");
	must_contain(out, "\nvtund_ng_offload_info{peer=\"alice\",offload=\"csum tso gro "
	    "udp-gso\"} 1\n");
	must_contain(out, "\nvtund_ng_mss_clamped_total{peer=\"alice\"} 3\n");
	must_contain(out, "\nvtund_ng_uptime_seconds{peer=\"alice\"} 3723\n");
	must_contain(out, "\nvtund_ng_sessions{state=\"established\"} 1\n");
	must_contain(out, "\nvtund_ng_drops_without_session_total{reason=\"no_session\"} 11\n");
	/* one peer */
	snprintf(req.peer, sizeof(req.peer), "bob");
	assert_true(control_format(&req, st, 2, no_session, out, sizeof(out)) > 0);
	must_not_contain(out, "peer=\"alice\"");
	must_contain(out, "\nvtund_ng_sessions{state=\"configured\"} 1\n");
	/* too small a buffer: -1, never a cut document */
	assert_int_equal(control_format(&req, st, 2, no_session, out, 100), -1);
}

static void
test_format_json(void **state)
{
	struct control_status st[2];
	struct control_request req = { true, false, "" };
	char out[4096];
	long n;

	(void)state;
	fill(st);
	n = control_format(&req, st, 2, no_session, out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(out));
	if (!json_valid(out))
		fail_msg("invalid JSON: %s", out);
	assert_int_equal(out[n - 1], '\n');
	must_contain(out, "{\"version\":1,\"time\":1767225600,\"sessions\":[{\"peer\":\"alice\",");
	must_contain(out, "{\"peer\":\"alice\",\"role\":\"server\",\"device\":\"vt-alice\","
	                  "\"type\":\"tun\",\"proto\":\"udp\",\"endpoint\":\"10.98.0.2:40001\","
	                  "\"state\":\"established\",\"cipher\":\"aes-256-gcm\","
	                  "\"compress\":\"lz4\",\"offload\":\"csum tso gro udp-gso\","
	                  "\"split\":5,\"coalesced\":7,\"threads\":2,\"rate_in\":0,"
	                  "\"rate_out\":10000000,\"mtu\":1419,\"mtu_auto\":true,"
	                  "\"mss_clamp\":true,\"mss_clamped\":3,\"uptime\":3723,"
	                  "\"last_handshake\":1767225588,"
	                  "\"rx_packets\":812,\"rx_bytes\":1268777,\"tx_packets\":1533,"
	                  "\"tx_bytes\":3565158,\"handshakes\":4,");
	must_contain(out, "\"compression\":{\"bytes_in\":2202009,\"bytes_out\":1079005,"
	                  "\"raw_packets\":12,\"ratio\":0.49}");
	must_contain(out, "\"drops\":{\"auth\":0,\"replay\":3,\"malformed\":0,\"no_session\":0,"
	                  "\"no_key\":2,\"ratelimit\":0,\"mismatch\":0,\"device\":0,\"ecn\":0,"
	                  "\"filter\":0,\"rate\":0,\"duplicate\":0}}");
	must_contain(out, "},{\"peer\":\"bob\",\"role\":\"client\",");
	must_contain(out, "\"endpoint\":\"[2001:db8::1]:5000\",\"state\":\"handshaking\","
	                  "\"cipher\":\"chacha20-poly1305\",\"compress\":\"none\",\"offload\":\"off\","
	                  "\"split\":0,\"coalesced\":0,\"threads\":1,\"rate_in\":0,"
	                  "\"rate_out\":0,\"mtu\":1500,\"mtu_auto\":false,\"mss_clamp\":false,"
	                  "\"mss_clamped\":0,\"uptime\":0,"
	                  "\"last_handshake\":null,");
	must_contain(out, "\"raw_packets\":0,\"ratio\":null}");
	assert_string_equal(strstr(out, "],\"drops_without_session\""),
	    "],\"drops_without_session\":{\"auth\":7,\"replay\":0,\"malformed\":4,"
	    "\"no_session\":11,\"no_key\":0,\"ratelimit\":2,\"mismatch\":0,\"device\":0,\"ecn\":0,"
	    "\"filter\":0,\"rate\":0,\"duplicate\":0}}\n");

	/* No sessions: an empty array, still valid. */
	n = control_format(&req, st, 0, no_session, out, sizeof(out));
	assert_true(n > 0);
	assert_true(json_valid(out));
	must_contain(out, "\"sessions\":[],");

	/* Extreme values stay valid JSON. */
	st[0].stats.rx_bytes = UINT64_MAX;
	st[0].stats.comp_in = 1;
	st[0].stats.comp_out = UINT64_MAX;
	st[0].stats.up_since = NOW + 10; /* a clock step: never a negative uptime */
	n = control_format(&req, st, 2, no_session, out, sizeof(out));
	assert_true(n > 0);
	if (!json_valid(out))
		fail_msg("invalid JSON: %s", out);
	must_contain(out, "\"rx_bytes\":18446744073709551615,");
	must_contain(out, "\"ratio\":1000000000.00}");
	must_contain(out, "\"uptime\":0,");
}

static void
test_format_escaping(void **state)
{
	struct control_status st[2];
	struct control_request req = { true, false, "" };
	char out[4096];
	long n;

	(void)state;
	fill(st);
	strcpy(st[0].peer, "a\"b\\c\x01\n\xe9");
	strcpy(st[0].device, "tab\there");
	st[0].state = NULL; /* a missing string is an empty one */
	n = control_format(&req, st, 2, no_session, out, sizeof(out));
	assert_true(n > 0);
	if (!json_valid(out))
		fail_msg("invalid JSON: %s", out);
	must_contain(out, "\"peer\":\"a\\\"b\\\\c\\u0001\\n\\u00e9\"");
	must_contain(out, "\"device\":\"tab\\there\"");
	must_contain(out, "\"state\":\"\"");

	/* Text output never passes control characters through. */
	req.json = false;
	n = control_format(&req, st, 2, no_session, out, sizeof(out));
	assert_true(n > 0);
	must_contain(out, "peer: a\"b\\c???\n");
	must_contain(out, "device: tab?here ");
}

static void
test_format_filter(void **state)
{
	struct control_status st[2];
	struct control_request req;
	char out[4096];
	long n;

	(void)state;
	fill(st);
	assert_int_equal(control_parse_request("status bob\n", 11, &req), 0);
	n = control_format(&req, st, 2, no_session, out, sizeof(out));
	assert_true(n > 0);
	must_contain(out, "peer: bob\n");
	must_not_contain(out, "alice");
	must_contain(out, "drops without a session: auth 7");

	assert_int_equal(control_parse_request("status json alice", 17, &req), 0);
	n = control_format(&req, st, 2, no_session, out, sizeof(out));
	assert_true(n > 0);
	assert_true(json_valid(out));
	must_contain(out, "\"sessions\":[{\"peer\":\"alice\"");
	must_not_contain(out, "bob");
	must_contain(out, "}],\"drops_without_session\":{");

	/* Unknown peer: an error, in the requested form. */
	assert_int_equal(control_parse_request("status carol", 12, &req), 0);
	n = control_format(&req, st, 2, no_session, out, sizeof(out));
	assert_string_equal(out, "error: no such peer: carol\n");
	assert_int_equal(n, (long)strlen(out));
	assert_int_equal(control_parse_request("status json carol", 17, &req), 0);
	n = control_format(&req, st, 2, no_session, out, sizeof(out));
	assert_string_equal(out, "{\"error\":\"no such peer: carol\"}\n");
	assert_int_equal(n, (long)strlen(out));
	assert_true(json_valid(out));
	/* A prefix of a name is not the name. */
	assert_int_equal(control_parse_request("status ali", 10, &req), 0);
	n = control_format(&req, st, 2, no_session, out, sizeof(out));
	assert_string_equal(out, "error: no such peer: ali\n");
}

static void
test_format_small_buffer(void **state)
{
	struct control_status st[2];
	struct control_request req = { false, false, "" };
	char out[4096];
	long full, n;
	size_t cap;
	int json;

	(void)state;
	fill(st);
	for (json = 0; json < 2; json++) {
		req.json = json;
		full = control_format(&req, st, 2, no_session, out, sizeof(out));
		assert_true(full > 0);
		/* Exactly enough (with the NUL) fits; one byte less does not, nor does any smaller
		 * size, and the output is left an empty string, never a truncated reply. */
		memset(out, 'x', sizeof(out));
		assert_int_equal(control_format(&req, st, 2, no_session, out, (size_t)full + 1),
		    full);
		assert_int_equal(out[full], '\0');
		for (cap = 1; cap <= (size_t)full; cap++) {
			memset(out, 'x', sizeof(out));
			n = control_format(&req, st, 2, no_session, out, cap);
			assert_int_equal(n, -1);
			assert_int_equal(out[0], '\0');
			assert_int_equal(out[cap], 'x'); /* nothing written past cap */
		}
		assert_int_equal(control_format(&req, st, 2, no_session, out, 0), -1);
	}
	/* The error reply too. */
	strcpy(req.peer, "carol");
	assert_int_equal(control_format(&req, st, 2, no_session, out, 10), -1);
}

/* --- the client against a real unix socket --- */

struct server {
	char dir[64];
	char path[128];
	pid_t pid;
};

enum serve_mode { SERVE_ECHO, SERVE_BIG, SERVE_SILENT };

#define BIG_REPLY (256 * 1024)

/* Fork a server that accepts one connection at s->path and answers by mode. */
static void
serve(struct server *s, enum serve_mode mode)
{
	struct sockaddr_un sun;
	int lfd, cfd;

	strcpy(s->dir, "/tmp/test_control.XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/ctl.sock", s->dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, s->path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		char req[512], reply[600];
		size_t len = 0;
		ssize_t n;

		alarm(20); /* never outlive a broken test */
		if ((cfd = accept(lfd, NULL, NULL)) == -1)
			_exit(1);
		if (mode == SERVE_SILENT) {
			sleep(8);
			_exit(0);
		}
		/* The client sends one line and then half-closes: read to EOF. */
		while ((n = read(cfd, req + len, sizeof(req) - 1 - len)) > 0)
			len += (size_t)n;
		req[len] = '\0';
		if (mode == SERVE_ECHO) {
			n = snprintf(reply, sizeof(reply), "got [%s]", req);
			if (write(cfd, reply, (size_t)n) != n)
				_exit(1);
		} else {
			static char big[BIG_REPLY];
			size_t i, off = 0;

			for (i = 0; i < sizeof(big); i++)
				big[i] = (char)('a' + i % 26);
			while (off < sizeof(big)) {
				if ((n = write(cfd, big + off, sizeof(big) - off)) <= 0)
					_exit(1);
				off += (size_t)n;
			}
		}
		close(cfd);
		_exit(0);
	}
	close(lfd);
}

static void
server_done(struct server *s, bool wait_ok)
{
	int status;

	if (!wait_ok)
		kill(s->pid, SIGKILL);
	assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
	if (wait_ok) {
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	unlink(s->path);
	rmdir(s->dir);
}

/* Run control_query and capture both streams. */
static int
query(const char *path, const char *request, char **out, size_t *outlen, char **err)
{
	size_t errlen;
	FILE *o = open_memstream(out, outlen), *e = open_memstream(err, &errlen);
	int ret;

	assert_non_null(o);
	assert_non_null(e);
	ret = control_query(path, request, CONTROL_QUERY_TIMEOUT, o, e);
	fclose(o);
	fclose(e);
	return ret;
}

static void
test_query_echo(void **state)
{
	struct server s;
	char *out, *err;
	size_t outlen;

	(void)state;
	serve(&s, SERVE_ECHO);
	assert_int_equal(query(s.path, "status json alice", &out, &outlen, &err), 0);
	assert_string_equal(out, "got [status json alice\n]");
	assert_string_equal(err, "");
	free(out);
	free(err);
	server_done(&s, true);
}

static void
test_query_big(void **state)
{
	struct server s;
	char *out, *err;
	size_t outlen, i;

	(void)state;
	serve(&s, SERVE_BIG);
	assert_int_equal(query(s.path, "status", &out, &outlen, &err), 0);
	assert_int_equal(outlen, BIG_REPLY);
	for (i = 0; i < outlen; i++)
		if (out[i] != (char)('a' + i % 26))
			fail_msg("reply differs at byte %zu", i);
	assert_string_equal(err, "");
	free(out);
	free(err);
	server_done(&s, true);
}

static void
test_query_no_daemon(void **state)
{
	struct sockaddr_un sun;
	char dir[] = "/tmp/test_control.XXXXXX", path[128];
	char *out, *err, want[256];
	size_t outlen;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);

	/* No socket file at all. */
	assert_int_equal(query(path, "status", &out, &outlen, &err), -1);
	snprintf(want, sizeof(want), "%s: no daemon listening (No such file or directory)\n",
	    path);
	assert_string_equal(err, want);
	assert_int_equal(outlen, 0);
	free(out);
	free(err);

	/* A stale socket file left by a daemon that died. */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	assert_int_equal(query(path, "status", &out, &outlen, &err), -1);
	snprintf(want, sizeof(want), "%s: no daemon listening (Connection refused)\n", path);
	assert_string_equal(err, want);
	free(out);
	free(err);
	unlink(path);

	/* A path that cannot be a unix socket address, and a request that is not one line. */
	{
		char longpath[200];

		memset(longpath, 'x', sizeof(longpath) - 1);
		longpath[0] = '/';
		longpath[sizeof(longpath) - 1] = '\0';
		assert_int_equal(query(longpath, "status", &out, &outlen, &err), -1);
		must_contain(err, "socket path too long");
		free(out);
		free(err);
	}
	assert_int_equal(query(path, "status\nstatus", &out, &outlen, &err), -1);
	must_contain(err, "not one line");
	free(out);
	free(err);
	rmdir(dir);
}

static void
test_query_permission(void **state)
{
	struct server s;
	char *out, *err, want[256];
	size_t outlen;
	int status;
	pid_t pid;

	(void)state;
	serve(&s, SERVE_ECHO);
	assert_int_equal(chmod(s.path, 0600), 0);
	assert_int_equal(chmod(s.dir, 0700), 0);
	/* root passes any permission check: ask as nobody then. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (geteuid() == 0) {
			if (setgid(65534) != 0 || setuid(65534) != 0)
				_exit(3);
		} else if (chmod(s.path, 0) != 0) {
			_exit(3);
		}
		if (query(s.path, "status", &out, &outlen, &err) != -1)
			_exit(1);
		snprintf(want, sizeof(want), "%s: Permission denied\n", s.path);
		_exit(strcmp(err, want) == 0 && outlen == 0 ? 0 : 2);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* The owner still gets through (and so the server exits cleanly). */
	if (geteuid() != 0)
		assert_int_equal(chmod(s.path, 0600), 0);
	assert_int_equal(query(s.path, "status", &out, &outlen, &err), 0);
	assert_string_equal(out, "got [status\n]");
	free(out);
	free(err);
	server_done(&s, true);
}

static void
test_query_timeout(void **state)
{
	struct server s;
	char *out, *err;
	size_t outlen;

	(void)state;
	serve(&s, SERVE_SILENT);
	assert_int_equal(query(s.path, "status", &out, &outlen, &err), -1);
	must_contain(err, s.path);
	must_contain(err, "no answer from the daemon within 5 seconds");
	free(out);
	free(err);
	server_done(&s, false);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_validator),
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_format_text),
		cmocka_unit_test(test_format_json),
		cmocka_unit_test(test_format_metrics),
		cmocka_unit_test(test_format_escaping),
		cmocka_unit_test(test_format_filter),
		cmocka_unit_test(test_format_small_buffer),
		cmocka_unit_test(test_query_echo),
		cmocka_unit_test(test_query_big),
		cmocka_unit_test(test_query_no_daemon),
		cmocka_unit_test(test_query_permission),
		cmocka_unit_test(test_query_timeout),
	};

	return cmocka_run_group_tests_name("control", tests, NULL, NULL);
}
