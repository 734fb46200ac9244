/* log.h - one log API: stderr in the foreground, syslog (daemon, ident vtund-ng) otherwise. */
#ifndef VT_LOG_H
#define VT_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Start logging: to stderr if foreground, else to syslog. */
void log_init(bool foreground, enum log_level level);
enum log_level log_get_level(void);
/* Change the level (a reload). */
void log_set_level(enum log_level level);
/* "error", "warning", "info", "debug", indexed by enum log_level, NULL-terminated. */
extern const char *const log_level_names[];

/* Warning with strerror(errno) appended. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Warning without errno. */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Error with errno, then exit(1). Only at startup or on a broken invariant. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * Rate limit for messages that could repeat per packet: true if this message may be logged now.
 * Allows a burst of 5, then one per second per limiter.
 */
struct log_ratelimit {
	long long window;
	int count;
	int suppressed;
};
bool log_ratelimit_ok(struct log_ratelimit *rl);

#endif
