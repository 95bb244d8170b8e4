/*
 * Options and configuration shared by smtp-session, pop3-session and
 * baremail-sendmail.
 *
 * Where the configuration comes from, first match wins: -c FILE, then
 * $BAREMAIL_CONFIG, then <sysconfdir>/baremail.conf if it exists, else the
 * built-in defaults (so the programs run with no configuration at all).
 * The maildir: -m DIR, else [maildir] path, else $MAILDIR, else $HOME/Maildir.
 */
#ifndef SESSION_CONFIG_H
#define SESSION_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_DEFAULT_MAX_MESSAGE_SIZE (50UL * 1024 * 1024)
#define CONFIG_DEFAULT_MAX_RECIPIENTS	1000
#define CONFIG_DEFAULT_SMTP_TIMEOUT	300 /* RFC 5321 4.5.3.2.7 */
#define CONFIG_DEFAULT_POP3_TIMEOUT	600 /* RFC 1939's minimum */

/* --tls: what a listener does about TLS (session-tls.h). */
enum tls_mode {
	TLS_OFF,      /* plain text only, STARTTLS/STLS not offered */
	TLS_STARTTLS, /* plain text, STARTTLS/STLS offered when a cert is there */
	TLS_IMPLICIT, /* TLS from the first byte (ports 465, 995) */
};

struct session_config {
	char	 file[PATH_MAX]; /* the config file read, "" if none */
	char	 maildir[PATH_MAX];
	char	 hostname[256];	     /* [smtp] hostname, else gethostname() */
	size_t	 max_message_size;   /* [smtp] max_message_size, bytes */
	unsigned max_recipients;     /* [smtp] max_recipients */
	unsigned smtp_timeout;	     /* [smtp] timeout, seconds */
	unsigned pop3_timeout;	     /* [pop3] timeout, seconds */
	bool	 pop3_exclusive;     /* [pop3] exclusive */
	int	 log_level;	     /* [log] level, a syslog LOG_* priority */
	char	 user[64];	     /* [user] name, "" if none */
	char	 sendmail_smtp[300]; /* [sendmail] smtp, "host:port" */
	char	 tls_certificate[PATH_MAX]; /* [tls] certificate, PEM chain */
	char	 tls_key[PATH_MAX];	    /* [tls] key, PEM */
	enum tls_mode tls_mode;		    /* --tls, not in the file */
	char	      tls_names[200]; /* [tls] names, for baremail-tls only */
	uint64_t      min_free; /* [smtp] min_free, bytes, if has_min_free */
	bool	      has_min_free; /* else the larger of 1% and 100 MiB */
	uint64_t      max_age;	    /* [retention] max_age, seconds, 0: none */
	uint64_t      max_messages; /* [retention] max_messages, 0: none */
	uint64_t      max_size;	    /* [retention] max_size, bytes, 0: none */
	char	      notify_command[200]; /* [notify] command, "" if none */
};

/* The default disk floor under the maildir: 1% of the file system, at least 100 MiB. */
#define CONFIG_MIN_FREE_DEFAULT_FLOOR ((uint64_t)100 << 20)

/*
 * The free space [smtp] min_free asks for on a file system of fs_bytes:
 * the configured value, else the larger of 1% of fs_bytes and 100 MiB.
 */
uint64_t config_min_free(const struct session_config *cfg, uint64_t fs_bytes);

/* Fills cfg with the built-in defaults (maildir and hostname resolved too). */
void config_defaults(struct session_config *cfg);

/*
 * Reads an INI file into cfg.  An unknown section or key, or a bad value,
 * fails with a message "FILE:LINE: [section] key: why" in err.
 * Returns 0, or -1 (errno set when the file could not be read).
 */
int config_load(
    struct session_config *cfg, const char *path, char *err, size_t errlen);

/* Room for any value config_value() spells (the longest is a path). */
#define CONFIG_VALUE_MAX (PATH_MAX + 1)

/*
 * Spells the value of [section] key (names in any case) in cfg as the file
 * would, so that config_load() reads it back: "50M", "yes", "26w"; "" when
 * it is not set (no [user] name, [smtp] min_free left to its default).
 * Returns 0, or -1 when there is no such key.
 */
int config_value(const struct session_config *cfg, const char *section,
    const char *key, char *buf, size_t len);

/*
 * Writes every key with its value in cfg to fp as an INI file, in the
 * order of libsession's table of keys; a key not set as a comment
 * "# name =".  Returns 0, or -1 on a write error.
 */
int config_write(FILE *fp, const struct session_config *cfg);

/*
 * Splits "host:port" or "[address]:port" (as [sendmail] smtp holds it)
 * into host, without brackets, and port, 1..65535 in digits.  Returns 0,
 * or -1 when s is not of that form or a part does not fit.
 */
int config_hostport(
    const char *s, char *host, size_t hostlen, char *port, size_t portlen);

/* Which file to read: $BAREMAIL_CONFIG, else the installed one if it exists, else NULL. */
const char *config_default_path(void);

/*
 * What a session program's main() calls first: parses -c/--config,
 * -m/--maildir, --tls=off|starttls|implicit, -h/--help, -V/--version, loads the configuration, sets up
 * logging under ident, and when running as root switches to [user] name.
 * Exits on its own with EX_USAGE, EX_CONFIG or EX_NOPERM and a message on
 * stderr (nothing on stdout, which is the client); -h and -V print to
 * stdout and exit 0.  usage is the text -h prints.
 */
void session_start(int argc, char **argv, const char *ident, const char *usage,
    struct session_config *cfg);

/*
 * session_start() for a program that only reads the configuration
 * (baremail config): the same options, file and messages, but it never
 * leaves root nor touches the maildir.  cfg->maildir is the one a session
 * would use: -m, [maildir] path, else as root the default of [user] name's
 * account.
 */
void session_configure(int argc, char **argv, const char *ident,
    const char *usage, struct session_config *cfg);

#endif
