/*
 * The configuration file: defaults, and an INI reader (inih) that checks
 * every key and value and names FILE:LINE: [section] key on an error.
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "session-config.h"
#include "session-log.h"

#ifndef BAREMAIL_SYSCONFDIR
#define BAREMAIL_SYSCONFDIR "/etc"
#endif

#define CONFIG_MAX_TIMEOUT    86400 /* a day */
#define CONFIG_MAX_RECIPIENTS 1000000
/* Large enough for anything sane, small enough that sums cannot overflow. */
#define CONFIG_MAX_MESSAGE_SIZE ((size_t)1 << 40)

/* What one config_load() call carries through inih's callbacks. */
struct config_parse {
	struct session_config *cfg;
	FILE		      *fp;
	const char	      *path;
	unsigned	       lineno;	 /* of the line inih is handling */
	unsigned	       err_line; /* first error, 0 if none */
	char		       why[512]; /* "[section] key: why" */
	char		      *line;	 /* getline() buffer */
	size_t		       linecap;
	const char	      *section; /* of the key being parsed */
	const char	      *key;
};

void
config_defaults(struct session_config *cfg)
{
	const char *env;

	memset(cfg, 0, sizeof(*cfg));
	cfg->max_message_size = CONFIG_DEFAULT_MAX_MESSAGE_SIZE;
	cfg->max_recipients = CONFIG_DEFAULT_MAX_RECIPIENTS;
	cfg->smtp_timeout = CONFIG_DEFAULT_SMTP_TIMEOUT;
	cfg->pop3_timeout = CONFIG_DEFAULT_POP3_TIMEOUT;
	cfg->pop3_exclusive = false;
	cfg->log_level = LOG_INFO;
	snprintf(
	    cfg->sendmail_smtp, sizeof(cfg->sendmail_smtp), "127.0.0.1:25");
	snprintf(cfg->tls_certificate, sizeof(cfg->tls_certificate),
	    "%s/baremail/tls/server.crt", BAREMAIL_SYSCONFDIR);
	snprintf(cfg->tls_key, sizeof(cfg->tls_key),
	    "%s/baremail/tls/server.key", BAREMAIL_SYSCONFDIR);
	cfg->tls_mode = TLS_OFF;

	if (gethostname(cfg->hostname, sizeof(cfg->hostname) - 1) != 0 ||
	    cfg->hostname[0] == '\0')
		snprintf(cfg->hostname, sizeof(cfg->hostname), "localhost");
	cfg->hostname[sizeof(cfg->hostname) - 1] = '\0';

	env = getenv("MAILDIR");
	if (env != NULL && env[0] != '\0' &&
	    strlen(env) < sizeof(cfg->maildir)) {
		snprintf(cfg->maildir, sizeof(cfg->maildir), "%s", env);
		return;
	}
	env = getenv("HOME");
	if (env == NULL || env[0] == '\0') {
		struct passwd *pw = getpwuid(getuid());
		env = pw != NULL ? pw->pw_dir : NULL;
	}
	/* No home at all: a relative "Maildir" beats refusing to start. */
	if (env == NULL || env[0] == '\0' ||
	    (size_t)snprintf(cfg->maildir, sizeof(cfg->maildir), "%s/Maildir",
		strcmp(env, "/") == 0 ? "" : env) >= sizeof(cfg->maildir))
		snprintf(cfg->maildir, sizeof(cfg->maildir), "Maildir");
}

const char *
config_default_path(void)
{
	static const char installed[] = BAREMAIL_SYSCONFDIR "/baremail.conf";
	const char	 *env = getenv("BAREMAIL_CONFIG");

	if (env != NULL && env[0] != '\0')
		return env;
	if (access(installed, F_OK) == 0)
		return installed;
	return NULL;
}

/* Records the first error only: later ones are often its consequences. */
static int parse_fail(struct config_parse *p, const char *section,
    const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
parse_fail(struct config_parse *p, const char *section, const char *key,
    const char *fmt, ...)
{
	va_list ap;
	int	n;

	if (p->err_line != 0)
		return 0;
	p->err_line = p->lineno;
	n = snprintf(p->why, sizeof(p->why), "[%s] %s: ", section, key);
	if (n < 0 || (size_t)n >= sizeof(p->why))
		return 0;
	va_start(ap, fmt);
	vsnprintf(p->why + n, sizeof(p->why) - (size_t)n, fmt, ap);
	va_end(ap);
	return 0;
}

/* Parses an unsigned decimal number with an optional k/M/G suffix. */
static int
parse_size(const char *s, uint64_t mult_allowed, uint64_t *val_r)
{
	uint64_t    v = 0, mult = 1;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (*p != '\0' && mult_allowed) {
		switch (*p++) {
		case 'k':
		case 'K':
			mult = (uint64_t)1 << 10;
			break;
		case 'm':
		case 'M':
			mult = (uint64_t)1 << 20;
			break;
		case 'g':
		case 'G':
			mult = (uint64_t)1 << 30;
			break;
		default:
			return -1;
		}
		/* Tolerate "50MB" / "50MiB" the way people write sizes. */
		if (*p == 'i')
			p++;
		if (*p == 'b' || *p == 'B')
			p++;
	}
	if (*p != '\0')
		return -1;
	if (v > UINT64_MAX / mult)
		return -1;
	*val_r = v * mult;
	return 0;
}

/* A host name or an address literal: goes into replies and headers as is. */
static bool
hostname_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253)
		return false;
	if (s[0] == '[')
		return n > 2 && s[n - 1] == ']' &&
		    strspn(s + 1, "0123456789abcdefABCDEF.:") == n - 2;
	return strspn(s,
		   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		   "0123456789.-_") == n &&
	    s[0] != '.' && s[0] != '-';
}

int
config_hostport(
    const char *s, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char   *colon = strrchr(s, ':');
	char	     *end;
	unsigned long n;
	char	      name[300];
	size_t	      len;

	if (colon == NULL || colon == s || (size_t)(colon - s) >= sizeof(name))
		return -1;
	len = (size_t)(colon - s);
	memcpy(name, s, len);
	name[len] = '\0';
	if (!hostname_ok(name) || !isdigit((unsigned char)colon[1]))
		return -1;
	errno = 0;
	n = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || n < 1 || n > 65535)
		return -1;
	/* An address literal's brackets are not part of the address. */
	if (name[0] == '[') {
		memmove(name, name + 1, len - 2);
		name[len - 2] = '\0';
	}
	if (strlen(name) >= hostlen || strlen(colon + 1) >= portlen)
		return -1;
	memcpy(host, name, strlen(name) + 1);
	memcpy(port, colon + 1, strlen(colon + 1) + 1);
	return 0;
}

/* "host:port", "[v6]:port"; port 1..65535. */
static bool
hostport_ok(const char *s)
{
	char host[300], port[8];

	return config_hostport(s, host, sizeof(host), port, sizeof(port)) == 0;
}

/* One key of the file: where it goes and what its value may be. */
struct config_key {
	const char *section;
	const char *name;
	/* Checks value and stores it in field; 1, or parse_fail()'s 0. */
	int (*parse)(struct config_parse *p, const struct config_key *k,
	    const char *value, void *field);
	/*
	 * Writes the value in field as the file spells it, so that parse
	 * reads it back; "" when it is not set (no [user] name).
	 */
	void (*print)(const struct session_config *cfg, const void *field,
	    char *buf, size_t len);
	size_t	 offset; /* of the field in struct session_config */
	size_t	 size;	 /* of the field */
	unsigned max;	 /* the largest number allowed */
};

/* parse_fail() for the key, named as the file spells it. */
#define KEY_FAIL(p, ...) parse_fail((p), (p)->section, (p)->key, __VA_ARGS__)

static int
key_string(struct config_parse *p, const struct config_key *k,
    const char *value, void *field)
{
	if (strlen(value) >= k->size)
		return KEY_FAIL(p, "too long (at most %zu bytes)", k->size - 1);
	memcpy(field, value, strlen(value) + 1);
	return 1;
}

static void
print_string(
    const struct session_config *cfg, const void *field, char *buf, size_t len)
{
	(void)cfg;
	snprintf(buf, len, "%s", (const char *)field);
}

static int
key_hostname(struct config_parse *p, const struct config_key *k,
    const char *value, void *field)
{
	if (!hostname_ok(value))
		return KEY_FAIL(
		    p, "\"%s\" is not a host name or [address]", value);
	return key_string(p, k, value, field);
}

static int
key_hostport(struct config_parse *p, const struct config_key *k,
    const char *value, void *field)
{
	if (!hostport_ok(value))
		return KEY_FAIL(p, "\"%s\" is not host:port", value);
	return key_string(p, k, value, field);
}

/*
 * "name, 192.0.2.7 fd00::7": host names and IPv4/IPv6 addresses (no
 * brackets) separated by commas or blanks, at least one.  baremail-tls
 * reads the same list and puts each into the server certificate.
 */
static bool
tls_names_ok(const char *s)
{
	const char *sep = ", \t";
	char	    one[254];
	size_t	    n, count = 0;

	for (s += strspn(s, sep); *s != '\0'; s += strspn(s, sep)) {
		n = strcspn(s, sep);
		if (n >= sizeof(one))
			return false;
		memcpy(one, s, n);
		one[n] = '\0';
		s += n;
		count++;
		if (strchr(one, ':') != NULL) {
			if (strspn(one, "0123456789abcdefABCDEF.:") != n)
				return false;
			continue;
		}
		/* A host name; an IPv4 address passes the same test. */
		if (one[0] == '[' || !hostname_ok(one) || strchr(one, '_'))
			return false;
	}
	return count > 0;
}

static int
key_tls_names(struct config_parse *p, const struct config_key *k,
    const char *value, void *field)
{
	if (!tls_names_ok(value))
		return KEY_FAIL(p,
		    "\"%s\" is not a list of host names and addresses", value);
	return key_string(p, k, value, field);
}

static int
key_user(struct config_parse *p, const struct config_key *k, const char *value,
    void *field)
{
	/* Portable user names, as useradd accepts them. */
	if (strspn(value,
		"abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(value) ||
	    value[0] == '-')
		return KEY_FAIL(p, "\"%s\" is not a user name", value);
	return key_string(p, k, value, field);
}

static int
key_size(struct config_parse *p, const struct config_key *k, const char *value,
    void *field)
{
	uint64_t size;

	if (parse_size(value, 1, &size) != 0)
		return KEY_FAIL(p,
		    "\"%s\" is not a size (a number with an optional k, M or G)",
		    value);
	if (size < 1024 || size > CONFIG_MAX_MESSAGE_SIZE)
		return KEY_FAIL(p, "%s is out of range (1k to 1024G)", value);
	*(size_t *)field = (size_t)size;
	return 1;
}

/* A byte count with the largest suffix that divides it: "50M", "1536k", "0". */
static void
print_suffixed(uint64_t v, char *buf, size_t len)
{
	static const char suffix[] = "GMk";
	int		  shift = 30;

	for (const char *c = suffix; *c != '\0'; c++, shift -= 10)
		if (v != 0 && v % ((uint64_t)1 << shift) == 0) {
			snprintf(buf, len, "%llu%c",
			    (unsigned long long)(v >> shift), *c);
			return;
		}
	snprintf(buf, len, "%llu", (unsigned long long)v);
}

static void
print_size(
    const struct session_config *cfg, const void *field, char *buf, size_t len)
{
	(void)cfg;
	print_suffixed(*(const size_t *)field, buf, len);
}

static int
key_uint(struct config_parse *p, const struct config_key *k, const char *value,
    void *field)
{
	uint64_t v;

	if (parse_size(value, 0, &v) != 0)
		return KEY_FAIL(p, "\"%s\" is not a whole number", value);
	if (v < 1 || v > k->max)
		return KEY_FAIL(
		    p, "%s is out of range (%u to %u)", value, 1u, k->max);
	*(unsigned *)field = (unsigned)v;
	return 1;
}

static void
print_uint(
    const struct session_config *cfg, const void *field, char *buf, size_t len)
{
	(void)cfg;
	snprintf(buf, len, "%u", *(const unsigned *)field);
}

static int
key_bool(struct config_parse *p, const struct config_key *k, const char *value,
    void *field)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*(bool *)field = true;
			return 1;
		}
		if (strcasecmp(value, no[i]) == 0) {
			*(bool *)field = false;
			return 1;
		}
	}
	return KEY_FAIL(p, "\"%s\" is not yes/no/true/false/on/off/1/0", value);
}

static void
print_bool(
    const struct session_config *cfg, const void *field, char *buf, size_t len)
{
	(void)cfg;
	snprintf(buf, len, "%s", *(const bool *)field ? "yes" : "no");
}

static int
key_level(struct config_parse *p, const struct config_key *k, const char *value,
    void *field)
{
	int level = log_level_parse(value);

	if (level < 0)
		return KEY_FAIL(p,
		    "\"%s\" is not one of error, warning, info, debug", value);
	*(int *)field = level;
	return 1;
}

static void
print_level(
    const struct session_config *cfg, const void *field, char *buf, size_t len)
{
	(void)cfg;
	snprintf(buf, len, "%s", log_level_name(*(const int *)field));
}

/* The units of a duration, "180d": s(econds), m(inutes), h(ours), d(ays), w(eeks). */
static const struct {
	char	 unit;
	uint64_t seconds;
} duration_units[] = {
	{ 's', 1 },
	{ 'm', 60 },
	{ 'h', 3600 },
	{ 'd', 86400 },
	{ 'w', 604800 },
};

#define DURATION_UNITS (sizeof(duration_units) / sizeof(duration_units[0]))

/* A whole number with one of duration_units. */
static int
parse_duration(const char *s, uint64_t *val_r)
{
	uint64_t    v = 0;
	const char *p = s;
	size_t	    i;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (*p == '\0' || p[1] != '\0')
		return -1;
	for (i = 0; i < DURATION_UNITS; i++)
		if (duration_units[i].unit == tolower((unsigned char)*p))
			break;
	if (i == DURATION_UNITS || v > UINT64_MAX / duration_units[i].seconds)
		return -1;
	*val_r = v * duration_units[i].seconds;
	return 0;
}

uint64_t
config_min_free(const struct session_config *cfg, uint64_t fs_bytes)
{
	if (cfg->has_min_free)
		return cfg->min_free;
	return fs_bytes / 100 > CONFIG_MIN_FREE_DEFAULT_FLOOR
	    ? fs_bytes / 100
	    : CONFIG_MIN_FREE_DEFAULT_FLOOR;
}

/* A byte count of any size, 0 included ([smtp] min_free, [retention] max_size). */
static int
key_bytes(struct config_parse *p, const struct config_key *k, const char *value,
    void *field)
{
	if (parse_size(value, 1, field) != 0)
		return KEY_FAIL(p,
		    "\"%s\" is not a size (a number with an optional k, M or G)",
		    value);
	/* Set, even to 0: the default floor no longer applies. */
	if (field == &p->cfg->min_free)
		p->cfg->has_min_free = true;
	return 1;
}

static void
print_bytes(
    const struct session_config *cfg, const void *field, char *buf, size_t len)
{
	/* Not set: the default floor, which depends on the file system. */
	if (field == &cfg->min_free && !cfg->has_min_free) {
		snprintf(buf, len, "%s", "");
		return;
	}
	print_suffixed(*(const uint64_t *)field, buf, len);
}

/* A count of any size ([retention] max_messages; 0 is no limit). */
static int
key_count(struct config_parse *p, const struct config_key *k, const char *value,
    void *field)
{
	if (parse_size(value, 0, field) != 0)
		return KEY_FAIL(p, "\"%s\" is not a whole number", value);
	return 1;
}

static void
print_count(
    const struct session_config *cfg, const void *field, char *buf, size_t len)
{
	(void)cfg;
	snprintf(
	    buf, len, "%llu", (unsigned long long)*(const uint64_t *)field);
}

static int
key_duration(struct config_parse *p, const struct config_key *k,
    const char *value, void *field)
{
	if (parse_duration(value, field) != 0)
		return KEY_FAIL(p,
		    "\"%s\" is not a duration (a number with s, m, h, d or w)",
		    value);
	return 1;
}

/* With the largest unit that divides it: "26w", "90m", "0s". */
static void
print_duration(
    const struct session_config *cfg, const void *field, char *buf, size_t len)
{
	uint64_t v = *(const uint64_t *)field;
	size_t	 i = DURATION_UNITS - 1;

	(void)cfg;
	while (i > 0 && (v == 0 || v % duration_units[i].seconds != 0))
		i--;
	snprintf(buf, len, "%llu%c",
	    (unsigned long long)(v / duration_units[i].seconds),
	    duration_units[i].unit);
}

#define FIELD(f)                            \
	offsetof(struct session_config, f), \
	    sizeof(((struct session_config *)NULL)->f)

/*
 * Every key there is; config_key() refuses the rest.  Each section's keys
 * together: config_write() prints them in this order.
 */
static const struct config_key config_keys[] = {
	{ "maildir", "path", key_string, print_string, FIELD(maildir), 0 },
	{ "smtp", "hostname", key_hostname, print_string, FIELD(hostname), 0 },
	{ "smtp", "max_message_size", key_size, print_size,
	    FIELD(max_message_size), 0 },
	{ "smtp", "max_recipients", key_uint, print_uint, FIELD(max_recipients),
	    CONFIG_MAX_RECIPIENTS },
	{ "smtp", "timeout", key_uint, print_uint, FIELD(smtp_timeout),
	    CONFIG_MAX_TIMEOUT },
	{ "smtp", "min_free", key_bytes, print_bytes, FIELD(min_free), 0 },
	{ "pop3", "timeout", key_uint, print_uint, FIELD(pop3_timeout),
	    CONFIG_MAX_TIMEOUT },
	{ "pop3", "exclusive", key_bool, print_bool, FIELD(pop3_exclusive), 0 },
	{ "sendmail", "smtp", key_hostport, print_string, FIELD(sendmail_smtp),
	    0 },
	{ "log", "level", key_level, print_level, FIELD(log_level), 0 },
	{ "user", "name", key_user, print_string, FIELD(user), 0 },
	{ "tls", "certificate", key_string, print_string,
	    FIELD(tls_certificate), 0 },
	{ "tls", "key", key_string, print_string, FIELD(tls_key), 0 },
	{ "tls", "names", key_tls_names, print_string, FIELD(tls_names), 0 },
	{ "retention", "max_age", key_duration, print_duration, FIELD(max_age),
	    0 },
	{ "retention", "max_messages", key_count, print_count,
	    FIELD(max_messages), 0 },
	{ "retention", "max_size", key_bytes, print_bytes, FIELD(max_size), 0 },
	{ "notify", "command", key_string, print_string, FIELD(notify_command),
	    0 },
};

#define CONFIG_KEYS (sizeof(config_keys) / sizeof(config_keys[0]))

int
config_value(const struct session_config *cfg, const char *section,
    const char *key, char *buf, size_t len)
{
	for (size_t i = 0; i < CONFIG_KEYS; i++) {
		const struct config_key *k = &config_keys[i];

		if (strcasecmp(section, k->section) == 0 &&
		    strcasecmp(key, k->name) == 0) {
			k->print(cfg, (const char *)cfg + k->offset, buf, len);
			return 0;
		}
	}
	return -1;
}

int
config_write(FILE *fp, const struct session_config *cfg)
{
	static char value[CONFIG_VALUE_MAX];

	for (size_t i = 0; i < CONFIG_KEYS; i++) {
		const struct config_key *k = &config_keys[i];

		if (i == 0 ||
		    strcmp(k->section, config_keys[i - 1].section) != 0)
			fprintf(fp, "%s[%s]\n", i == 0 ? "" : "\n", k->section);
		k->print(
		    cfg, (const char *)cfg + k->offset, value, sizeof(value));
		/* Not set: a comment, as config_load() refuses an empty value. */
		if (value[0] == '\0')
			fprintf(fp, "# %s =\n", k->name);
		else
			fprintf(fp, "%s = %s\n", k->name, value);
	}
	return ferror(fp) ? -1 : 0;
}

/* inih's callback: one key.  Returns 0 on an error, which inih counts. */
static int
config_key(void *user, const char *section, const char *key, const char *value)
{
	struct config_parse *p = user;
	bool		     known_section = false;

	p->section = section;
	p->key = key;
	if (section[0] == '\0')
		return KEY_FAIL(p, "key before any [section]");
	if (value[0] == '\0')
		return KEY_FAIL(
		    p, "empty value (comment the line out for the default)");
	for (size_t i = 0; i < CONFIG_KEYS; i++) {
		const struct config_key *k = &config_keys[i];

		if (strcasecmp(section, k->section) != 0)
			continue;
		known_section = true;
		if (strcasecmp(key, k->name) == 0)
			return k->parse(
			    p, k, value, (char *)p->cfg + k->offset);
	}
	return KEY_FAIL(p, known_section ? "unknown key" : "unknown section");
}

/*
 * inih's line reader, ours so that we know the line number in config_key()
 * and can refuse lines longer than inih's fixed buffer (it would split
 * them) and strip indentation (inih would take an indented line for the
 * continuation of the previous value).  The buffer holds num - 1 bytes of
 * a line, not counting its indentation or its LF or CRLF: 199 with inih's
 * default INI_MAX_LINE of 200, the figure the README gives.
 */
static char *
config_reader(char *str, int num, void *stream)
{
	struct config_parse *p = stream;
	ssize_t		     n;
	const char	    *s;

	n = getline(&p->line, &p->linecap, p->fp);
	if (n < 0)
		return NULL;
	p->lineno++;
	s = p->line;
	while (*s == ' ' || *s == '\t')
		s++;
	n -= s - p->line;
	/* Nor does the line end count: inih needs none. */
	if (n > 0 && s[n - 1] == '\n')
		n--;
	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (n >= num) {
		if (p->err_line == 0) {
			p->err_line = p->lineno;
			snprintf(p->why, sizeof(p->why),
			    "line too long (at most %d bytes)", num - 1);
		}
		/* An empty line for inih: the error is recorded. */
		n = 0;
	}
	memcpy(str, s, (size_t)n);
	str[n] = '\0';
	return str;
}

int
config_load(
    struct session_config *cfg, const char *path, char *err, size_t errlen)
{
	struct config_parse p;
	int		    rc, saved;

	if (errlen > 0)
		err[0] = '\0';
	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.path = path;
	p.fp = fopen(path, "re");
	if (p.fp == NULL) {
		saved = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
		errno = saved;
		return -1;
	}
	rc = ini_parse_stream(config_reader, &p, config_key, &p);
	saved = ferror(p.fp) ? errno : 0;
	fclose(p.fp);
	free(p.line);
	if (saved != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
		errno = saved;
		return -1;
	}
	if (rc > 0 && (p.err_line == 0 || (unsigned)rc < p.err_line)) {
		/* inih's own complaint: no '=' or an unclosed '['. */
		p.err_line = (unsigned)rc;
		snprintf(p.why, sizeof(p.why),
		    "syntax error (expected [section] or key = value)");
	}
	if (p.err_line != 0) {
		/* The value is quoted in it: keep the message one clean line. */
		log_printable(p.why, sizeof(p.why), p.why, sizeof(p.why));
		snprintf(err, errlen, "%s:%u: %s", path, p.err_line, p.why);
		errno = EINVAL;
		return -1;
	}
	if (rc != 0) {
		snprintf(err, errlen, "%s: cannot parse (%d)", path, rc);
		errno = rc == -2 ? ENOMEM : EINVAL;
		return -1;
	}
	if (strlen(path) < sizeof(cfg->file))
		snprintf(cfg->file, sizeof(cfg->file), "%s", path);
	return 0;
}
