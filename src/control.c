/*
 * control.c - the status protocol: parse one request line, format sessions as text (like
 * `wg show`) or JSON (schema in doc/STATUS-JSON.md), and the client side of `vtund-ng status`.
 * Parsing and formatting are bounded and allocate nothing; only control_query does I/O.
 */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "names.h"


/* Parse `status [json|metrics] [PEER]` with single spaces and an optional final newline. */
int
control_parse_request(const char *line, size_t len, struct control_request *req)
{
	const char *tok[3], *end;
	size_t toklen[3];
	int ntok = 0, i;

	memset(req, 0, sizeof(*req));
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len == 0 || len > CONTROL_REQ_MAX || memchr(line, '\0', len) != NULL)
		return -1;
	end = line + len;
	while (line < end) {
		const char *sp = memchr(line, ' ', (size_t)(end - line));
		size_t l = sp != NULL ? (size_t)(sp - line) : (size_t)(end - line);

		if (ntok == 3 || l == 0)
			return -1; /* too many words, or a double, leading or trailing space */
		tok[ntok] = line;
		toklen[ntok++] = l;
		line += l;
		if (sp != NULL && ++line == end)
			return -1;
	}
	if (toklen[0] != 6 || memcmp(tok[0], "status", 6) != 0)
		return -1;
	i = 1;
	if (i < ntok && toklen[i] == 4 && memcmp(tok[i], "json", 4) == 0) {
		req->json = true;
		i++;
	} else if (i < ntok && toklen[i] == 7 && memcmp(tok[i], "metrics", 7) == 0) {
		req->metrics = true;
		i++;
	}
	if (i < ntok) {
		/* "status json" is the JSON form; a peer called json needs "status json json". */
		if (!names_valid_peer(tok[i], toklen[i]))
			return -1;
		memcpy(req->peer, tok[i], toklen[i]);
		req->peer[toklen[i]] = '\0';
		i++;
	}
	return i == ntok ? 0 : -1;
}

bool
control_is_reload(const char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\n')
		len--;
	return len == 6 && memcmp(line, "reload", 6) == 0;
}

/* A bounded output buffer: appends stop at cap, and the overflow is remembered. */
struct out {
	char *p;
	size_t cap, len;
	bool full;
};

static void __attribute__((format(printf, 2, 3)))
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len) {
		o->full = true;
		return;
	}
	o->len += (size_t)n;
}

/* Text: names come from the config, but no control character (C0, DEL or, on 8-bit terminals,
 * C1) may reach a terminal: anything but printable ASCII becomes '?'. */
static void
put_text(struct out *o, const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		put(o, "%c", (unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f ? '?' : *s);
}

/* The inside of a JSON string; bytes outside printable ASCII are escaped so the output is
 * always valid UTF-8 whatever the input. */
static void
put_json_chars(struct out *o, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			put(o, "\\%c", c);
		else if (c == '\n')
			put(o, "\\n");
		else if (c == '\t')
			put(o, "\\t");
		else if (c < 0x20 || c >= 0x7f)
			put(o, "\\u%04x", c);
		else
			put(o, "%c", c);
	}
}

/* A JSON string literal. */
static void
put_json_str(struct out *o, const char *s)
{
	put(o, "\"");
	put_json_chars(o, s);
	put(o, "\"");
}

/* "1d 2h 3m 4s", leading zero units left out. */
static void
put_duration(struct out *o, int64_t secs)
{
	int64_t d, h, m;

	if (secs < 0)
		secs = 0;
	d = secs / 86400;
	h = secs / 3600 % 24;
	m = secs / 60 % 60;
	secs %= 60;
	if (d > 0)
		put(o, "%" PRId64 "d %" PRId64 "h %" PRId64 "m %" PRId64 "s", d, h, m, secs);
	else if (h > 0)
		put(o, "%" PRId64 "h %" PRId64 "m %" PRId64 "s", h, m, secs);
	else if (m > 0)
		put(o, "%" PRId64 "m %" PRId64 "s", m, secs);
	else
		put(o, "%" PRId64 "s", secs);
}

/* Byte counts the way wg show prints them: B below 1 KiB, else two decimals of a binary unit. */
static void
put_bytes(struct out *o, uint64_t n)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)n;
	size_t u = 0;

	if (n < 1024) {
		put(o, "%" PRIu64 " B", n);
		return;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	put(o, "%.2f %s", v, units[u]);
}

/* out/in with two decimals, without printf's %f: the decimal point must not follow the locale
 * (JSON). Absurd ratios are capped rather than overflowing the conversion. */
static void
put_ratio(struct out *o, uint64_t in, uint64_t out)
{
	double r = (double)out / (double)in * 100.0 + 0.5;
	uint64_t h = r < 1e11 ? (uint64_t)r : UINT64_C(100000000000);

	put(o, "%" PRIu64 ".%02u", h / 100, (unsigned int)(h % 100));
}

static void
put_drops_text(struct out *o, const uint64_t drops[DROP_MAX])
{
	int i;

	for (i = 0; i < DROP_MAX; i++)
		put(o, "%s%s %" PRIu64, i == 0 ? "" : ", ", names_drop[i], drops[i]);
	put(o, "\n");
}

static void
put_drops_json(struct out *o, const uint64_t drops[DROP_MAX])
{
	int i;

	put(o, "{");
	for (i = 0; i < DROP_MAX; i++)
		put(o, "%s\"%s\":%" PRIu64, i == 0 ? "" : ",", names_drop[i], drops[i]);
	put(o, "}");
}

static bool
compressing(const struct control_status *s)
{
	return s->compress != NULL && strcmp(s->compress, "none") != 0;
}

static int64_t
uptime(const struct control_status *s)
{
	if (s->stats.up_since == 0 || s->now < s->stats.up_since)
		return 0;
	return s->now - s->stats.up_since;
}

/* A rate in bit/s in the largest unit that shows it whole: "10 Mbit/s", "2500 kbit/s". */
static void
put_rate(struct out *o, uint64_t bits)
{
	static const char *const unit[] = { "bit/s", "kbit/s", "Mbit/s", "Gbit/s" };
	int u = 0;

	while (u < 3 && bits >= 1000 && bits % 1000 == 0) {
		bits /= 1000;
		u++;
	}
	put(o, "%" PRIu64 " %s", bits, unit[u]);
}

/* One block of text for one session. */
static void
format_text(struct out *o, const struct control_status *s)
{
	const struct control_counters *st = &s->stats;
	int64_t ago;

	put(o, "peer: ");
	put_text(o, s->peer);
	put(o, "\n  role: ");
	put_text(o, s->role);
	put(o, "  device: ");
	put_text(o, s->device);
	put(o, "  type: ");
	put_text(o, s->type);
	put(o, "  proto: ");
	put_text(o, s->proto);
	put(o, "  cipher: ");
	put_text(o, s->cipher);
	put(o, "\n  endpoint: ");
	if (s->endpoint[0] != '\0')
		put_text(o, s->endpoint);
	else
		put(o, "(none)");
	if (s->remote[0] != '\0') {
		put(o, "  remote: ");
		put_text(o, s->remote);
	}
	put(o, "  offload: ");
	put_text(o, s->offload[0] != '\0' ? s->offload : "off");
	if (st->split > 0 || st->coalesced > 0)
		put(o, " (%" PRIu64 " split, %" PRIu64 " coalesced)", st->split, st->coalesced);
	if (s->threads > 1)
		put(o, "  threads: %d", s->threads);
	put(o, "\n  state: ");
	put_text(o, s->state);
	if (st->up_since != 0) {
		put(o, "  uptime: ");
		put_duration(o, uptime(s));
	}
	put(o, "\n  last handshake: ");
	if (st->last_handshake == 0) {
		put(o, "never");
	} else {
		ago = s->now > st->last_handshake ? s->now - st->last_handshake : 0;
		if (ago < 60)
			put(o, "%" PRId64 " second%s", ago, ago == 1 ? "" : "s");
		else
			put_duration(o, ago);
		put(o, " ago");
	}
	put(o, " (%" PRIu64 " total)", st->handshakes);
	put(o, "\n  transfer: ");
	put_bytes(o, st->rx_bytes);
	put(o, " received, ");
	put_bytes(o, st->tx_bytes);
	put(o, " sent (%" PRIu64 " / %" PRIu64 " packets)\n", st->rx_packets, st->tx_packets);
	if (compressing(s)) {
		put(o, "  compression: ");
		put_text(o, s->compress);
		put(o, ", ");
		put_bytes(o, st->comp_in);
		put(o, " -> ");
		put_bytes(o, st->comp_out);
		if (st->comp_in > 0) {
			put(o, " (ratio ");
			put_ratio(o, st->comp_in, st->comp_out);
			put(o, ")");
		} else {
			put(o, " (ratio -)");
		}
		put(o, ", %" PRIu64 " packets sent raw\n", st->comp_raw);
	}
	if (s->mtu > 0) {
		put(o, "  mtu: %d%s", s->mtu, s->mtu_auto ? " (auto)" : "");
		if (s->mss_clamp)
			put(o, ", mss-clamp: %" PRIu64 " SYN%s clamped", st->clamped,
			    st->clamped == 1 ? "" : "s");
		put(o, "\n");
	}
	if (s->rate_in != 0 || s->rate_out != 0) {
		put(o, "  rate: ");
		if (s->rate_in != 0) {
			put(o, "in ");
			put_rate(o, s->rate_in);
		}
		if (s->rate_out != 0) {
			put(o, "%sout ", s->rate_in != 0 ? ", " : "");
			put_rate(o, s->rate_out);
		}
		put(o, "\n");
	}
	put(o, "  drops: ");
	put_drops_text(o, st->drops);
}

/* One JSON object for one session. */
static void
format_json(struct out *o, const struct control_status *s)
{
	const struct control_counters *st = &s->stats;

	put(o, "{\"peer\":");
	put_json_str(o, s->peer);
	put(o, ",\"role\":");
	put_json_str(o, s->role);
	put(o, ",\"device\":");
	put_json_str(o, s->device);
	put(o, ",\"type\":");
	put_json_str(o, s->type);
	put(o, ",\"proto\":");
	put_json_str(o, s->proto);
	put(o, ",\"endpoint\":");
	put_json_str(o, s->endpoint);
	if (s->remote[0] != '\0') {
		put(o, ",\"remote\":");
		put_json_str(o, s->remote);
	}
	put(o, ",\"state\":");
	put_json_str(o, s->state);
	put(o, ",\"cipher\":");
	put_json_str(o, s->cipher);
	put(o, ",\"compress\":");
	put_json_str(o, s->compress);
	put(o, ",\"offload\":");
	put_json_str(o, s->offload[0] != '\0' ? s->offload : "off");
	put(o, ",\"split\":%" PRIu64 ",\"coalesced\":%" PRIu64, st->split, st->coalesced);
	put(o, ",\"threads\":%d", s->threads > 0 ? s->threads : 1);
	put(o, ",\"rate_in\":%" PRIu64 ",\"rate_out\":%" PRIu64, s->rate_in, s->rate_out);
	put(o, ",\"mtu\":%d,\"mtu_auto\":%s,\"mss_clamp\":%s,\"mss_clamped\":%" PRIu64, s->mtu,
	    s->mtu_auto ? "true" : "false", s->mss_clamp ? "true" : "false", st->clamped);
	put(o, ",\"uptime\":%" PRId64 ",\"last_handshake\":", uptime(s));
	if (st->last_handshake != 0)
		put(o, "%" PRId64, st->last_handshake);
	else
		put(o, "null");
	put(o,
	    ",\"rx_packets\":%" PRIu64 ",\"rx_bytes\":%" PRIu64 ",\"tx_packets\":%" PRIu64
	    ",\"tx_bytes\":%" PRIu64 ",\"handshakes\":%" PRIu64,
	    st->rx_packets, st->rx_bytes, st->tx_packets, st->tx_bytes, st->handshakes);
	put(o,
	    ",\"compression\":{\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64
	    ",\"raw_packets\":%" PRIu64 ",\"ratio\":",
	    st->comp_in, st->comp_out, st->comp_raw);
	if (st->comp_in > 0)
		put_ratio(o, st->comp_in, st->comp_out);
	else
		put(o, "null");
	put(o, "}");
	put(o, ",\"drops\":");
	put_drops_json(o, st->drops);
	put(o, "}");
}

static bool
selected(const struct control_request *req, const struct control_status *s)
{
	return req->peer[0] == '\0' || strcmp(req->peer, s->peer) == 0;
}

/* ---- metrics ----------------------------------------------------------------------------- */

/* The counters every session has, one metric family each. */
static const struct {
	const char *name, *help;
	size_t off; /* in struct control_counters */
} counters[] = {
	{ "rx_packets", "Frames received from the peer and written to its device.",
	    offsetof(struct control_counters, rx_packets) },
	{ "rx_bytes", "Bytes of those frames.", offsetof(struct control_counters, rx_bytes) },
	{ "tx_packets", "Frames read from the device and sent to the peer.",
	    offsetof(struct control_counters, tx_packets) },
	{ "tx_bytes", "Bytes of those frames.", offsetof(struct control_counters, tx_bytes) },
	{ "handshakes", "Handshakes completed.", offsetof(struct control_counters, handshakes) },
	{ "split", "Super-packets read from the device and cut into segments.",
	    offsetof(struct control_counters, split) },
	{ "coalesced", "Frames written to the device that merged several segments.",
	    offsetof(struct control_counters, coalesced) },
	{ "mss_clamped", "TCP SYNs whose MSS mss-clamp lowered.",
	    offsetof(struct control_counters, clamped) },
	{ "compress_in_bytes", "Bytes given to the compressor.",
	    offsetof(struct control_counters, comp_in) },
	{ "compress_out_bytes", "Those bytes after compression.",
	    offsetof(struct control_counters, comp_out) },
};

#define METRIC "vtund_ng_"

static void
family(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP " METRIC "%s %s\n# TYPE " METRIC "%s %s\n", name, help, name, type);
}

/* A label value: \, " and newline escaped (peer names need none; offload lists neither). */
static void
put_label(struct out *o, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			put(o, "\\%c", *v);
		else if (*v == '\n')
			put(o, "\\n");
		else
			put(o, "%c", *v);
	}
}

static void
sample(struct out *o, const char *name, const struct control_status *s, const char *lk,
    const char *lv, uint64_t v)
{
	put(o, METRIC "%s{peer=\"", name);
	put_label(o, s->peer);
	if (lk != NULL) {
		put(o, "\",%s=\"", lk);
		put_label(o, lv);
	}
	put(o, "\"} %" PRIu64 "\n", v);
}

/* Prometheus text, family by family: each family's samples together, one per session. */
static void
format_metrics(struct out *o, const struct control_request *req, const struct control_status *st,
    int n, const uint64_t no_session_drops[DROP_MAX])
{
	char name[64];
	int up = 0, shown = 0;

	for (size_t k = 0; k < sizeof(counters) / sizeof(counters[0]); k++) {
		snprintf(name, sizeof(name), "%s_total", counters[k].name);
		family(o, name, "counter", counters[k].help);
		for (int i = 0; i < n; i++) {
			uint64_t v;

			if (!selected(req, &st[i]))
				continue;
			memcpy(&v, (const char *)&st[i].stats + counters[k].off, sizeof(v));
			sample(o, name, &st[i], NULL, NULL, v);
		}
	}
	family(o, "drops_total", "counter", "Packets of the session dropped, by reason.");
	for (int i = 0; i < n; i++)
		for (int d = 0; d < DROP_MAX && selected(req, &st[i]); d++)
			sample(o, "drops_total", &st[i], "reason", names_drop[d], st[i].stats.drops[d]);
	family(o, "session_up", "gauge", "1 while the session is established, else 0.");
	for (int i = 0; i < n; i++) {
		bool is_up = st[i].state != NULL && strcmp(st[i].state, "established") == 0;

		if (!selected(req, &st[i]))
			continue;
		sample(o, "session_up", &st[i], NULL, NULL, is_up);
		up += is_up;
		shown++;
	}
	family(o, "session_state", "gauge", "The session's state (the label), always 1.");
	for (int i = 0; i < n; i++)
		if (selected(req, &st[i]))
			sample(o, "session_state", &st[i], "state", st[i].state != NULL ?
			    st[i].state : "", 1);
	family(o, "last_handshake_age_seconds", "gauge",
	    "Seconds since the last completed handshake (no sample before the first).");
	for (int i = 0; i < n; i++)
		if (selected(req, &st[i]) && st[i].stats.last_handshake != 0)
			sample(o, "last_handshake_age_seconds", &st[i], NULL, NULL,
			    st[i].now > st[i].stats.last_handshake ?
			    (uint64_t)(st[i].now - st[i].stats.last_handshake) : 0);
	family(o, "uptime_seconds", "gauge", "Seconds since the session came up; 0 while down.");
	for (int i = 0; i < n; i++)
		if (selected(req, &st[i]))
			sample(o, "uptime_seconds", &st[i], NULL, NULL, (uint64_t)uptime(&st[i]));
	family(o, "offload_info", "gauge", "The offloads the peer's traffic uses (the label), 1.");
	for (int i = 0; i < n; i++)
		if (selected(req, &st[i]))
			sample(o, "offload_info", &st[i], "offload", st[i].offload[0] != '\0' ?
			    st[i].offload : "off", 1);
	family(o, "mtu_bytes", "gauge", "The MTU of the peer's device.");
	for (int i = 0; i < n; i++)
		if (selected(req, &st[i]))
			sample(o, "mtu_bytes", &st[i], NULL, NULL, (uint64_t)(st[i].mtu > 0 ?
			    st[i].mtu : 0));
	family(o, "sessions", "gauge", "Sessions shown, and of those established.");
	put(o, METRIC "sessions{state=\"configured\"} %d\n" METRIC
	    "sessions{state=\"established\"} %d\n", shown, up);
	family(o, "drops_without_session_total", "counter",
	    "Packets dropped before they could be tied to a session, by reason.");
	for (int d = 0; d < DROP_MAX; d++)
		put(o, METRIC "drops_without_session_total{reason=\"%s\"} %" PRIu64 "\n",
		    names_drop[d], no_session_drops[d]);
	put(o, "# EOF\n");
}

/* Format the reply to req: the matching sessions, then the drops of no session. */
long
control_format(const struct control_request *req, const struct control_status *st, int n,
    const uint64_t no_session_drops[DROP_MAX], char *out, size_t cap)
{
	struct out o = { out, cap, 0, false };
	int i, shown = 0;

	if (cap == 0)
		return -1;
	out[0] = '\0';
	for (i = 0; i < n; i++)
		if (selected(req, &st[i]))
			shown++;
	if (req->peer[0] != '\0' && shown == 0) {
		if (req->json) {
			put(&o, "{\"error\":\"no such peer: ");
			put_json_chars(&o, req->peer);
			put(&o, "\"}\n");
		} else {
			put(&o, "error: no such peer: ");
			put_text(&o, req->peer);
			put(&o, "\n");
		}
		goto done;
	}

	if (req->metrics) {
		format_metrics(&o, req, st, n, no_session_drops);
	} else if (req->json) {
		/* Every snapshot is taken at the same moment; without one, the time is unknown. */
		put(&o, "{\"version\":1,\"time\":%" PRId64 ",\"sessions\":[",
		    n > 0 ? st[0].now : 0);
		shown = 0;
		for (i = 0; i < n; i++) {
			if (!selected(req, &st[i]))
				continue;
			if (shown++ > 0)
				put(&o, ",");
			format_json(&o, &st[i]);
		}
		put(&o, "],\"drops_without_session\":");
		put_drops_json(&o, no_session_drops);
		put(&o, "}\n");
	} else {
		for (i = 0; i < n; i++) {
			if (!selected(req, &st[i]))
				continue;
			format_text(&o, &st[i]);
			put(&o, "\n");
		}
		put(&o, "drops without a session: ");
		put_drops_text(&o, no_session_drops);
	}
done:
	if (o.full) {
		out[0] = '\0';
		return -1;
	}
	out[o.len] = '\0';
	return (long)o.len;
}

/* Write all of p, retrying short writes; no SIGPIPE if the daemon hung up early. */
static int
send_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = send(fd, p, len, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
report_errno(FILE *err, const char *path, const char *what, int timeout)
{
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		fprintf(err, "%s: %s: no answer from the daemon within %d seconds\n", path, what,
		    timeout);
	else
		fprintf(err, "%s: %s: %s\n", path, what, strerror(errno));
}

/* Send one request line to the daemon at path and copy its reply to out. */
int
control_query(const char *path, const char *request, int timeout, FILE *out, FILE *err)
{
	struct sockaddr_un sun;
	struct timeval tv = { timeout, 0 };
	char line[CONTROL_REQ_MAX + 2], buf[4096];
	size_t len;
	ssize_t n;
	int fd = -1, ret = -1;

	len = strlen(request);
	if (len > CONTROL_REQ_MAX || memchr(request, '\n', len) != NULL) {
		fprintf(err, "%s: request too long or not one line\n", path);
		return -1;
	}
	memcpy(line, request, len);
	line[len++] = '\n';

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(err, "%s: socket path too long\n", path);
		return -1;
	}
	strcpy(sun.sun_path, path);

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(err, "%s: socket: %s\n", path, strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1) {
		fprintf(err, "%s: setsockopt: %s\n", path, strerror(errno));
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		/* The two usual cases get a hint: no daemon, or not allowed to talk to it. */
		if (errno == ECONNREFUSED || errno == ENOENT)
			fprintf(err, "%s: no daemon listening (%s)\n", path, strerror(errno));
		else
			fprintf(err, "%s: %s\n", path, strerror(errno));
		goto out;
	}
	if (send_all(fd, line, len) == -1) {
		report_errno(err, path, "send", timeout);
		goto out;
	}
	(void)shutdown(fd, SHUT_WR); /* the daemon replies at end of request */
	for (;;) {
		if ((n = read(fd, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			report_errno(err, path, "read", timeout);
			goto out;
		}
		if (n == 0)
			break;
		if (fwrite(buf, 1, (size_t)n, out) != (size_t)n) {
			fprintf(err, "%s: writing the reply: %s\n", path, strerror(errno));
			goto out;
		}
	}
	if (fflush(out) == EOF) {
		fprintf(err, "%s: writing the reply: %s\n", path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	close(fd);
	return ret;
}
