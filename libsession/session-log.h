/*
 * Logging for programs whose stdout (and often stderr) is the client.
 *
 * Lines go to the systemd journal when one runs (libsystemd is dlopen()ed
 * on the first entry, never on the path to the greeting), to syslog
 * otherwise, and also to stderr when stderr is a terminal, pipe or file
 * that is not the connection.  Never to stdout.
 */
#ifndef SESSION_LOG_H
#define SESSION_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

#define LOG_FORMAT(a, b) __attribute__((format(printf, a, b)))

/* ident names the program; level is a LOG_* priority (LOG_INFO by default). */
void log_init(const char *ident, int level);
void log_set_level(int level);

/*
 * Whether log lines may go to stderr, decided from fds 0, 1 and 2 as they
 * are now (log_init() asks once): yes for a terminal, and for a pipe or a
 * regular file that is neither stdin nor stdout; never for a socket (under
 * xinetd fd 2 is the client).  session_start() follows it too.
 */
bool log_stderr_usable(void);

/*
 * Makes what a client sent fit for a one-line log: copies src up to len
 * bytes or its first NUL into dst (dstlen > 0 bytes, always terminated),
 * each control character (below 0x20, and 0x7F) as '?'.  dst may be src.
 * Returns dst.
 */
char *log_printable(char *dst, size_t dstlen, const char *src, size_t len);

/* Parses "error", "warning", "info", "debug" (and syslog's names); -1 if unknown. */
int log_level_parse(const char *name);

/* The name log_level_parse() reads back for a LOG_* priority ("info"). */
const char *log_level_name(int level);

void log_err(const char *fmt, ...) LOG_FORMAT(1, 2);
void log_warn(const char *fmt, ...) LOG_FORMAT(1, 2);
void log_info(const char *fmt, ...) LOG_FORMAT(1, 2);
void log_debug(const char *fmt, ...) LOG_FORMAT(1, 2);

/*
 * A log line with structured journal fields: fields is a NULL-terminated
 * list of "NAME=value" strings (PEER=, MESSAGE_FILE=, SIZE=, ...), sent as
 * journal fields and appended to the syslog/stderr line as name=value.
 */
void log_fields(int prio, const char *const *fields, const char *fmt, ...)
    LOG_FORMAT(3, 4);

#endif
