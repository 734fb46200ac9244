/* log.c - log_* and fatal*: stderr or syslog, with a per-message rate limiter. */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static bool log_foreground = true;
static enum log_level log_level = LOG_LVL_INFO;

const char *const log_level_names[] = { "error", "warning", "info", "debug", NULL };

void
log_init(bool foreground, enum log_level level)
{
	log_foreground = foreground;
	log_level = level;
	if (!foreground)
		openlog("vtund-ng", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

enum log_level
log_get_level(void)
{
	return log_level;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

static void __attribute__((format(printf, 2, 0)))
log_vwrite(enum log_level lvl, const char *fmt, va_list ap, int errnum)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[1024];
	size_t n;

	if (lvl > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errnum != 0) {
		n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(errnum));
	}
	if (log_foreground)
		fprintf(stderr, "vtund-ng: %s\n", msg);
	else
		syslog(prio[lvl], "%s", msg);
}

void
log_warn(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_WARN, fmt, ap, e);
	va_end(ap);
	errno = e;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_WARN, fmt, ap, 0);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_INFO, fmt, ap, 0);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_DEBUG, fmt, ap, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_ERR, fmt, ap, e);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_ERR, fmt, ap, 0);
	va_end(ap);
	exit(1);
}

bool
log_ratelimit_ok(struct log_ratelimit *rl)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ts.tv_sec != rl->window) {
		if (rl->suppressed > 0)
			log_info("%d similar messages suppressed", rl->suppressed);
		rl->window = ts.tv_sec;
		rl->count = 0;
		rl->suppressed = 0;
	}
	if (rl->count < 5) {
		rl->count++;
		return true;
	}
	rl->suppressed++;
	return false;
}
