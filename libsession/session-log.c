/*
 * Logging: the journal (libsystemd loaded on the first entry), else
 * syslog, plus stderr when stderr is someone's terminal or pipe and not the
 * connection.  Every line is one line: client input ends up in messages,
 * so control characters become '?'.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "session-log.h"

#define LOG_LINE_MAX   2048 /* a message; longer ones are cut */
#define LOG_FIELDS_MAX 16   /* structured fields per entry */
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

typedef int journal_sendv_fn(const struct iovec *iov, int n);

#ifdef HAVE_LIBSYSTEMD
/* Only to check the prototype we dlsym() against the real one. */
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>
_Static_assert(_Generic(&sd_journal_sendv, journal_sendv_fn * : 1, default : 0),
    "sd_journal_sendv() changed its prototype");
#endif

enum journal_state {
	JOURNAL_UNKNOWN, /* not looked for yet: the first entry does */
	JOURNAL_ON,
	JOURNAL_OFF, /* no journal, or no libsystemd: syslog */
};

static char		  log_ident[64] = "baremail";
static int		  log_level = LOG_INFO;
static bool		  log_stderr;
static bool		  log_syslog_open;
static enum journal_state log_journal;
static journal_sendv_fn	 *log_sendv;

/* True for the descriptor's file being the same as fd's. */
static bool
same_file(const struct stat *st, int fd)
{
	struct stat other;

	return fstat(fd, &other) == 0 && other.st_dev == st->st_dev &&
	    other.st_ino == st->st_ino;
}

bool
log_stderr_usable(void)
{
	struct stat st;

	if (fstat(STDERR_FILENO, &st) != 0)
		return false;
	/* A socket on fd 2 is the client (xinetd) or journald's stream. */
	if (S_ISSOCK(st.st_mode))
		return false;
	/* Someone at a terminal sees the protocol on it anyway. */
	if (isatty(STDERR_FILENO))
		return true;
	if (!S_ISFIFO(st.st_mode) && !S_ISREG(st.st_mode))
		return false;
	/* A pipe shared with stdin or stdout carries the protocol. */
	return !same_file(&st, STDIN_FILENO) && !same_file(&st, STDOUT_FILENO);
}

void
log_init(const char *ident, int level)
{
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
	log_level = level;
	log_stderr = log_stderr_usable();
	/* The journal is looked for by the first entry, not here. */
}

void
log_set_level(int level)
{
	log_level = level;
}

static const struct {
	const char *name;
	int	    level;
} log_levels[] = {
	{ "error", LOG_ERR },
	{ "warning", LOG_WARNING },
	{ "info", LOG_INFO },
	{ "debug", LOG_DEBUG },
	/* syslog's names */
	{ "emerg", LOG_EMERG },
	{ "alert", LOG_ALERT },
	{ "crit", LOG_CRIT },
	{ "err", LOG_ERR },
	{ "warn", LOG_WARNING },
	{ "notice", LOG_NOTICE },
};

int
log_level_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (strcasecmp(name, log_levels[i].name) == 0)
			return log_levels[i].level;
	if (name[0] >= '0' && name[0] <= '7' && name[1] == '\0')
		return name[0] - '0';
	return -1;
}

const char *
log_level_name(int prio)
{
	switch (prio) {
	case LOG_EMERG:
		return "emerg";
	case LOG_ALERT:
		return "alert";
	case LOG_CRIT:
		return "crit";
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
		return "notice";
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

char *
log_printable(char *dst, size_t dstlen, const char *src, size_t len)
{
	size_t i;

	for (i = 0; i < len && i + 1 < dstlen && src[i] != '\0'; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f
		    ? '?'
		    : src[i];
	dst[i] = '\0';
	return dst;
}

/* Control characters (client input) would break the one-line format. */
static void
sanitize(char *s)
{
	size_t len = strlen(s);

	log_printable(s, len + 1, s, len);
}

static void
journal_probe(void)
{
	void *h;

	log_journal = JOURNAL_OFF;
#ifdef HAVE_LIBSYSTEMD
	if (access(JOURNAL_SOCKET, F_OK) != 0)
		return;
	h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
	if (h == NULL)
		return;
	*(void **)&log_sendv = dlsym(h, "sd_journal_sendv");
	if (log_sendv == NULL) {
		dlclose(h);
		return;
	}
	log_journal = JOURNAL_ON;
#else
	(void)h;
#endif
}

/* Returns 0 when the journal took the entry. */
static int
journal_write(int prio, const char *msg, const char *const *fields)
{
	struct iovec iov[LOG_FIELDS_MAX + 4];
	char	     prio_field[16], ident_field[96], *message;
	size_t	     mlen = strlen(msg);
	int	     n = 0, rc;

	message = malloc(sizeof("MESSAGE=") + mlen);
	if (message == NULL)
		return -1;
	memcpy(message, "MESSAGE=", 8);
	memcpy(message + 8, msg, mlen + 1);
	snprintf(prio_field, sizeof(prio_field), "PRIORITY=%d", prio);
	snprintf(ident_field, sizeof(ident_field), "SYSLOG_IDENTIFIER=%s",
	    log_ident);
	iov[n++] = (struct iovec){ message, 8 + mlen };
	iov[n++] = (struct iovec){ prio_field, strlen(prio_field) };
	iov[n++] = (struct iovec){ ident_field, strlen(ident_field) };
	iov[n++] = (struct iovec){ (char *)"SYSLOG_FACILITY=2", 17 };
	for (size_t i = 0;
	     fields != NULL && fields[i] != NULL && i < LOG_FIELDS_MAX; i++) {
		/* "NAME=value" only: the journal refuses a whole entry for one. */
		if (fields[i][0] == '=' || strchr(fields[i], '=') == NULL)
			continue;
		iov[n++] =
		    (struct iovec){ (char *)fields[i], strlen(fields[i]) };
	}
	rc = log_sendv(iov, n);
	free(message);
	return rc < 0 ? -1 : 0;
}

static void log_vwrite(int prio, const char *const *fields, const char *fmt,
    va_list ap) LOG_FORMAT(3, 0);

static void
log_vwrite(int prio, const char *const *fields, const char *fmt, va_list ap)
{
	char   msg[LOG_LINE_MAX], line[LOG_LINE_MAX + 512];
	char   field[256];
	size_t len;
	int    saved = errno, n;

	if (prio > log_level)
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		snprintf(msg, sizeof(msg), "(bad log format: %s)", fmt);
	else if ((size_t)n >= sizeof(msg))
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	sanitize(msg);

	/* The syslog and stderr form: message, then name=value pairs. */
	len = (size_t)snprintf(line, sizeof(line), "%s", msg);
	for (size_t i = 0;
	     fields != NULL && fields[i] != NULL && i < LOG_FIELDS_MAX; i++) {
		const char *eq = strchr(fields[i], '=');
		size_t	    j;

		if (eq == NULL || eq == fields[i])
			continue;
		snprintf(field, sizeof(field), "%s", fields[i]);
		for (j = 0; j < (size_t)(eq - fields[i]) && field[j]; j++)
			if (field[j] >= 'A' && field[j] <= 'Z')
				field[j] = (char)(field[j] - 'A' + 'a');
		sanitize(field);
		if (len < sizeof(line))
			len += (size_t)snprintf(
			    line + len, sizeof(line) - len, " %s", field);
	}

	if (log_journal == JOURNAL_UNKNOWN)
		journal_probe();
	if (log_journal != JOURNAL_ON ||
	    journal_write(prio, msg, fields) != 0) {
		if (!log_syslog_open) {
			openlog(log_ident, LOG_PID, LOG_MAIL);
			log_syslog_open = true;
		}
		syslog(prio, "%s", line);
	}

	if (log_stderr) {
		char out[sizeof(line) + 128];
		int  m = snprintf(out, sizeof(out), "%s[%ld]: %s: %s\n",
		     log_ident, (long)getpid(), log_level_name(prio), line);

		if (m > 0) {
			if ((size_t)m >= sizeof(out)) {
				m = (int)sizeof(out) - 1;
				out[m - 1] = '\n';
			}
			/* One write: lines from several processes stay whole. */
			ssize_t w = write(STDERR_FILENO, out, (size_t)m);
			(void)w;
		}
	}
	errno = saved;
}

void
log_fields(int prio, const char *const *fields, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(prio, fields, fmt, ap);
	va_end(ap);
}

#define LOG_FN(name, prio)                       \
	void name(const char *fmt, ...)          \
	{                                        \
		va_list ap;                      \
                                                 \
		va_start(ap, fmt);               \
		log_vwrite(prio, NULL, fmt, ap); \
		va_end(ap);                      \
	}

LOG_FN(log_err, LOG_ERR)
LOG_FN(log_warn, LOG_WARNING)
LOG_FN(log_info, LOG_INFO)
LOG_FN(log_debug, LOG_DEBUG)
