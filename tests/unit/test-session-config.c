/* Tests libsession/session-config.c: defaults, every key, every error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "session-config.h"
#include "session-log.h"

static char dir[] = "/tmp/test-session-config-XXXXXX";
static char path[256];

/* Writes text as the config file and loads it over the defaults. */
static int
load(struct session_config *cfg, const char *text, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "w");

	CHECK(fp != NULL);
	fputs(text, fp);
	fclose(fp);
	config_defaults(cfg);
	err[0] = '\0';
	return config_load(cfg, path, err, errlen);
}

/* Loads text and checks that it fails with "PATH:LINE: what...". */
static void
expect_error(const char *text, unsigned line, const char *what)
{
	struct session_config cfg;
	char		      err[1024], want[1024];
	int		      rc = load(&cfg, text, err, sizeof(err));

	snprintf(want, sizeof(want), "%s:%u: %s", path, line, what);
	CHECK(rc == -1);
	if (strncmp(err, want, strlen(want)) != 0) {
		fprintf(stderr, "want \"%s...\"\n got \"%s\"\n", want, err);
		CHECK(!"error message");
	}
}

static void
test_defaults(void)
{
	struct session_config cfg;
	char		      host[256];

	setenv("MAILDIR", "/srv/md", 1);
	config_defaults(&cfg);
	CHECK(strcmp(cfg.maildir, "/srv/md") == 0);
	CHECK(cfg.max_message_size == 50UL * 1024 * 1024);
	CHECK(cfg.max_recipients == 1000);
	CHECK(cfg.smtp_timeout == 300);
	CHECK(cfg.pop3_timeout == 600);
	CHECK(!cfg.pop3_exclusive);
	CHECK(cfg.log_level == LOG_INFO);
	CHECK(cfg.user[0] == '\0');
	CHECK(cfg.file[0] == '\0');
	CHECK(strcmp(cfg.sendmail_smtp, "127.0.0.1:25") == 0);
	CHECK(gethostname(host, sizeof(host)) == 0);
	CHECK(strcmp(cfg.hostname, host) == 0);

	unsetenv("MAILDIR");
	setenv("HOME", "/home/someone", 1);
	config_defaults(&cfg);
	CHECK(strcmp(cfg.maildir, "/home/someone/Maildir") == 0);
	setenv("MAILDIR", "", 1); /* empty counts as unset */
	config_defaults(&cfg);
	CHECK(strcmp(cfg.maildir, "/home/someone/Maildir") == 0);
	unsetenv("MAILDIR");
	setenv("HOME", "/", 1);
	config_defaults(&cfg);
	CHECK(strcmp(cfg.maildir, "/Maildir") == 0);
}

static void
test_default_path(void)
{
	setenv("BAREMAIL_CONFIG", "/some/where.conf", 1);
	CHECK(strcmp(config_default_path(), "/some/where.conf") == 0);
	unsetenv("BAREMAIL_CONFIG");
	/* Without the variable: the installed file, only when it exists. */
	const char *p = config_default_path();
	CHECK(p == NULL || access(p, F_OK) == 0);
}

static void
test_every_key(void)
{
	struct session_config cfg;
	char		      err[1024];

	CHECK(load(&cfg,
		  "# a comment\n"
		  "; another\n"
		  "\n"
		  "[maildir]\n"
		  "path = /var/mail/box\n"
		  "[smtp]\n"
		  "hostname = mail.example.lan\n"
		  "max_message_size = 10M\n"
		  "max_recipients = 50\n"
		  "timeout = 120\n"
		  "[pop3]\n"
		  "timeout = 900\n"
		  "exclusive = yes\n"
		  "[sendmail]\n"
		  "smtp = [::1]:2025\n"
		  "[log]\n"
		  "level = debug\n"
		  "[user]\n"
		  "name = baremail\n"
		  "[tls]\n"
		  "names = mail.lan, 192.168.1.5 fd00::5\n"
		  "certificate = /srv/tls/fullchain.pem\n"
		  "key = /srv/tls/privkey.pem\n"
		  "[smtp]\n"
		  "min_free = 0\n"
		  "[retention]\n"
		  "max_age = 26w\n"
		  "max_messages = 20000\n"
		  "max_size = 2G\n"
		  "[notify]\n"
		  "command = echo \"$BAREMAIL_SUBJECT\"; true\n",
		  err, sizeof(err)) == 0);
	CHECK(err[0] == '\0');
	CHECK(strcmp(cfg.file, path) == 0);
	CHECK(strcmp(cfg.maildir, "/var/mail/box") == 0);
	CHECK(strcmp(cfg.hostname, "mail.example.lan") == 0);
	CHECK(cfg.max_message_size == 10UL * 1024 * 1024);
	CHECK(cfg.max_recipients == 50);
	CHECK(cfg.smtp_timeout == 120);
	CHECK(cfg.pop3_timeout == 900);
	CHECK(cfg.pop3_exclusive);
	CHECK(strcmp(cfg.sendmail_smtp, "[::1]:2025") == 0);
	CHECK(cfg.log_level == LOG_DEBUG);
	CHECK(strcmp(cfg.user, "baremail") == 0);
	CHECK(strcmp(cfg.tls_names, "mail.lan, 192.168.1.5 fd00::5") == 0);
	CHECK(strcmp(cfg.tls_certificate, "/srv/tls/fullchain.pem") == 0);
	CHECK(strcmp(cfg.tls_key, "/srv/tls/privkey.pem") == 0);
	/* min_free = 0 is set: no floor, not the default one. */
	CHECK(cfg.has_min_free && cfg.min_free == 0);
	CHECK(config_min_free(&cfg, (uint64_t)1 << 40) == 0);
	CHECK(cfg.max_age == 26ULL * 7 * 86400);
	CHECK(cfg.max_messages == 20000);
	CHECK(cfg.max_size == 2ULL << 30);
	CHECK(strcmp(cfg.notify_command, "echo \"$BAREMAIL_SUBJECT\"; true") ==
	    0);
	/* --tls is an option, never a key: the file leaves it off. */
	CHECK(cfg.tls_mode == TLS_OFF);
}

static void
test_tls_defaults(void)
{
	struct session_config cfg;

	config_defaults(&cfg);
	CHECK(strcmp(cfg.tls_certificate,
		  BAREMAIL_SYSCONFDIR "/baremail/tls/server.crt") == 0);
	CHECK(strcmp(cfg.tls_key,
		  BAREMAIL_SYSCONFDIR "/baremail/tls/server.key") == 0);
	CHECK(cfg.tls_mode == TLS_OFF);
}

static void
test_shipped_example(void)
{
	struct session_config cfg, def;
	char		      err[1024];
	const char	     *example = SOURCE_ROOT "/baremail.conf.example";

	config_defaults(&cfg);
	config_defaults(&def);
	/* Everything is commented out: loading it changes nothing. */
	err[0] = '\0';
	CHECK(config_load(&cfg, example, err, sizeof(err)) == 0);
	if (err[0] != '\0')
		fprintf(stderr, "%s\n", err);
	CHECK(cfg.max_message_size == def.max_message_size);
	CHECK(strcmp(cfg.maildir, def.maildir) == 0);
	CHECK(cfg.smtp_timeout == def.smtp_timeout);

	/* And with each documented default uncommented, still the same. */
	FILE *in = fopen(example, "r"), *out = fopen(path, "w");
	char  line[512];
	CHECK(in != NULL && out != NULL);
	while (in != NULL && out != NULL && fgets(line, sizeof(line), in)) {
		/* "#key = value" lines are defaults; "# text" is prose. */
		if (line[0] == '#' && line[1] != ' ' && line[1] != '\n' &&
		    strchr(line, '=') != NULL &&
		    strncmp(line, "#path", 5) != 0 &&
		    strncmp(line, "#hostname", 9) != 0 &&
		    strncmp(line, "#name", 5) != 0)
			fputs(line + 1, out);
		else
			fputs(line, out);
	}
	if (in != NULL)
		fclose(in);
	if (out != NULL)
		fclose(out);
	config_defaults(&cfg);
	CHECK(config_load(&cfg, path, err, sizeof(err)) == 0);
	CHECK(cfg.max_message_size == def.max_message_size);
	CHECK(cfg.max_recipients == def.max_recipients);
	CHECK(cfg.smtp_timeout == def.smtp_timeout);
	CHECK(cfg.pop3_timeout == def.pop3_timeout);
	CHECK(cfg.pop3_exclusive == def.pop3_exclusive);
	CHECK(cfg.log_level == def.log_level);
	CHECK(strcmp(cfg.sendmail_smtp, def.sendmail_smtp) == 0);
}

static void
test_retention_and_floor(void)
{
	struct session_config cfg;

	/* Defaults: no retention, no command, the floor of 1% or 100 MiB. */
	config_defaults(&cfg);
	CHECK(cfg.max_age == 0 && cfg.max_messages == 0 && cfg.max_size == 0);
	CHECK(cfg.notify_command[0] == '\0');
	CHECK(!cfg.has_min_free);
	CHECK(config_min_free(&cfg, 1000ULL << 20) == 100ULL << 20);
	CHECK(config_min_free(&cfg, 1ULL << 40) == (1ULL << 40) / 100);
	expect_error("[retention]\nmax_age = 180\n", 2,
	    "[retention] max_age: \"180\" is not a duration");
	expect_error("[retention]\nmax_age = 3y\n", 2,
	    "[retention] max_age: \"3y\" is not a duration");
	expect_error("[retention]\nmax_age = 99999999999999999999d\n", 2,
	    "[retention] max_age:");
	expect_error("[retention]\nmax_messages = 1k\n", 2,
	    "[retention] max_messages: \"1k\" is not a whole number");
	expect_error("[smtp]\nmin_free = lots\n", 2,
	    "[smtp] min_free: \"lots\" is not a size");
	expect_error(
	    "[notify]\ncolour = red\n", 2, "[notify] colour: unknown key");
}

static void
test_sizes(void)
{
	static const struct {
		const char *text;
		size_t	    bytes;
	} good[] = {
		{ "1024", 1024 },
		{ "1k", 1024 },
		{ "64K", 65536 },
		{ "50M", 50UL << 20 },
		{ "50MB", 50UL << 20 },
		{ "50MiB", 50UL << 20 },
		{ "2G", 2UL << 30 },
		{ "1024G", 1024UL << 30 },
	};
	static const char *const bad[] = {
		"5X",
		"-1",
		"1.5M",
		"M",
		" ",
		"99999999999999999999999",
		"18014398509481984G",
		"1025G",
		"512",
		"0",
		"10 M",
	};
	struct session_config cfg;
	char		      text[128], err[1024];
	size_t		      i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "[smtp]\nmax_message_size = %s\n",
		    good[i].text);
		CHECK(load(&cfg, text, err, sizeof(err)) == 0);
		CHECK(cfg.max_message_size == good[i].bytes);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[smtp]\nmax_message_size = %s\n",
		    bad[i]);
		expect_error(text, 2, "[smtp] max_message_size: ");
	}
}

static void
test_numbers(void)
{
	struct session_config cfg;
	char		      err[1024];

	CHECK(load(&cfg, "[smtp]\ntimeout = 1\n[pop3]\ntimeout = 86400\n", err,
		  sizeof(err)) == 0);
	CHECK(cfg.smtp_timeout == 1 && cfg.pop3_timeout == 86400);
	expect_error("[smtp]\ntimeout = 0\n", 2,
	    "[smtp] timeout: 0 is out of range (1 to 86400)");
	expect_error("[pop3]\n\ntimeout = 86401\n", 3,
	    "[pop3] timeout: 86401 is out of range");
	expect_error("[smtp]\ntimeout = 5m\n", 2,
	    "[smtp] timeout: \"5m\" is not a whole number");
	expect_error("[smtp]\ntimeout = -3\n", 2, "[smtp] timeout: ");
	expect_error("[smtp]\ntimeout = 4294967297\n", 2, "[smtp] timeout: ");
	expect_error("[smtp]\nmax_recipients = 0\n", 2,
	    "[smtp] max_recipients: 0 is out of range");
	CHECK(load(&cfg, "[smtp]\nmax_recipients = 1000000\n", err,
		  sizeof(err)) == 0);
	CHECK(cfg.max_recipients == 1000000);
}

static void
test_booleans(void)
{
	static const char *const yes[] = { "yes", "true", "on", "1", "YES",
		"True" };
	static const char *const no[] = { "no", "false", "off", "0", "No",
		"OFF" };
	struct session_config	 cfg;
	char			 text[128], err[1024];
	size_t			 i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		snprintf(
		    text, sizeof(text), "[pop3]\nexclusive = %s\n", yes[i]);
		CHECK(load(&cfg, text, err, sizeof(err)) == 0);
		CHECK(cfg.pop3_exclusive);
		snprintf(text, sizeof(text),
		    "[pop3]\nexclusive = yes\n"
		    "exclusive = %s\n",
		    no[i]);
		CHECK(load(&cfg, text, err, sizeof(err)) == 0);
		CHECK(!cfg.pop3_exclusive);
	}
	expect_error("[pop3]\nexclusive = maybe\n", 2,
	    "[pop3] exclusive: \"maybe\" is not yes/no");
	expect_error("[pop3]\nexclusive = 2\n", 2, "[pop3] exclusive: ");
}

static void
test_levels(void)
{
	struct session_config cfg;
	char		      err[1024];

	CHECK(log_level_parse("error") == LOG_ERR);
	CHECK(log_level_parse("warning") == LOG_WARNING);
	CHECK(log_level_parse("info") == LOG_INFO);
	CHECK(log_level_parse("debug") == LOG_DEBUG);
	CHECK(log_level_parse("err") == LOG_ERR);
	CHECK(log_level_parse("notice") == LOG_NOTICE);
	CHECK(log_level_parse("DEBUG") == LOG_DEBUG);
	CHECK(log_level_parse("3") == LOG_ERR);
	CHECK(log_level_parse("8") == -1);
	CHECK(log_level_parse("verbose") == -1);
	CHECK(log_level_parse("") == -1);
	CHECK(load(&cfg, "[log]\nlevel = warning\n", err, sizeof(err)) == 0);
	CHECK(cfg.log_level == LOG_WARNING);
	expect_error("[log]\nlevel = loud\n", 2,
	    "[log] level: \"loud\" is not one of error, warning, info, debug");
}

static void
test_strings(void)
{
	struct session_config cfg;
	char		      err[1024];

	CHECK(load(&cfg, "[smtp]\nhostname = [192.0.2.1]\n", err,
		  sizeof(err)) == 0);
	CHECK(strcmp(cfg.hostname, "[192.0.2.1]") == 0);
	expect_error("[smtp]\nhostname = two words\n", 2,
	    "[smtp] hostname: \"two words\" is not a host name");
	expect_error("[smtp]\nhostname = a<b>\n", 2, "[smtp] hostname: ");
	expect_error("[sendmail]\nsmtp = localhost\n", 2,
	    "[sendmail] smtp: \"localhost\" is not host:port");
	expect_error(
	    "[sendmail]\nsmtp = localhost:0\n", 2, "[sendmail] smtp: ");
	expect_error(
	    "[sendmail]\nsmtp = localhost:65536\n", 2, "[sendmail] smtp: ");
	expect_error("[sendmail]\nsmtp = :25\n", 2, "[sendmail] smtp: ");
	CHECK(load(&cfg, "[sendmail]\nsmtp = mail.lan:587\n", err,
		  sizeof(err)) == 0);
	CHECK(strcmp(cfg.sendmail_smtp, "mail.lan:587") == 0);
	expect_error("[user]\nname = ro ot\n", 2, "[user] name: ");
	expect_error("[user]\nname = -x\n", 2, "[user] name: ");
	expect_error("[user]\nname = abcdefghijabcdefghijabcdefghijabcdefghij"
		     "abcdefghijabcdefghijabcd\n",
	    2, "[user] name: too long (at most 63 bytes)");
	CHECK(load(&cfg, "[tls]\nnames = nas.lan,10.0.0.2\n", err,
		  sizeof(err)) == 0);
	CHECK(strcmp(cfg.tls_names, "nas.lan,10.0.0.2") == 0);
	expect_error("[tls]\nnames = a.lan b<c\n", 2,
	    "[tls] names: \"a.lan b<c\" is not a list of host names");
	expect_error("[tls]\nnames = [::1]\n", 2, "[tls] names: ");
	expect_error("[tls]\nnames = ,\n", 2, "[tls] names: ");
	expect_error("[tls]\nnames = -x.lan\n", 2, "[tls] names: ");
	expect_error("[tls]\nnames = a_b.lan\n", 2, "[tls] names: ");
	expect_error("[maildir]\npath =\n", 2, "[maildir] path: empty value");
	/* A relative path is kept as written: relative to the cwd. */
	CHECK(
	    load(&cfg, "[maildir]\npath = Mail/box\n", err, sizeof(err)) == 0);
	CHECK(strcmp(cfg.maildir, "Mail/box") == 0);
	/* inih ends a value at " ;" (an inline comment). */
	CHECK(load(&cfg, "[maildir]\npath = /m ; the box\n", err,
		  sizeof(err)) == 0);
	CHECK(strcmp(cfg.maildir, "/m") == 0);
}

/* The one reading of host:port, for the config check and for sendmail. */
static void
test_hostport(void)
{
	char host[16], port[8];

	CHECK(config_hostport(
		  "127.0.0.1:25", host, sizeof(host), port, sizeof(port)) == 0);
	CHECK(strcmp(host, "127.0.0.1") == 0 && strcmp(port, "25") == 0);
	CHECK(config_hostport(
		  "[::1]:2525", host, sizeof(host), port, sizeof(port)) == 0);
	CHECK(strcmp(host, "::1") == 0 && strcmp(port, "2525") == 0);
	CHECK(config_hostport("mail.lan:65535", host, sizeof(host), port,
		  sizeof(port)) == 0);
	CHECK(strcmp(host, "mail.lan") == 0);
	const char *bad[] = { "", "host", ":25", "host:", "host:0",
		"host:65536", "host:2x", "host:-1", "h st:25", "[::1:25",
		"[]:25", "a:b:c" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(config_hostport(bad[i], host, sizeof(host), port,
			  sizeof(port)) == -1);
	/* Too long for the caller's buffer: refused, not cut. */
	CHECK(config_hostport("a-rather-long-host-name:25", host, sizeof(host),
		  port, sizeof(port)) == -1);
}

static void
test_structure(void)
{
	struct session_config cfg;
	char		      err[1024];

	expect_error("[smtp]\nhostname = a\n\n[smpt]\ntimeout = 3\n", 5,
	    "[smpt] timeout: unknown section");
	expect_error("[smtp]\ntimeout = 3\ntimeuot = 4\n", 3,
	    "[smtp] timeuot: unknown key");
	expect_error(
	    "[pop3]\nhostname = x\n", 2, "[pop3] hostname: unknown key");
	expect_error(
	    "timeout = 3\n", 1, "[] timeout: key before any [section]");
	expect_error("[smtp]\ntimeout 3\n", 2, "syntax error");
	expect_error("[smtp\ntimeout = 3\n", 1, "syntax error");
	/* Control characters in a quoted value do not reach the message. */
	expect_error("[smtp]\ntimeout = 5\x1b[2J\r9\n", 2,
	    "[smtp] timeout: \"5?[2J?9\" is not a whole number");
	/* The first error is the one reported. */
	expect_error("[smtp]\ntimeout = x\nfoo = 1\n", 2, "[smtp] timeout: ");

	/* Indentation, CRLF line ends, no final LF, case: all fine. */
	CHECK(load(&cfg, "  [SMTP]\r\n\ttimeout = 7\r\n  Max_Recipients=9", err,
		  sizeof(err)) == 0);
	CHECK(cfg.smtp_timeout == 7 && cfg.max_recipients == 9);

	/* A line longer than inih's buffer is refused, not split. */
	char text[600];
	memset(text, 0, sizeof(text));
	strcpy(text, "[maildir]\npath = /");
	memset(text + strlen(text), 'a', 300);
	strcat(text, "\n");
	expect_error(text, 2, "line too long");
	/*
	 * The limit is 199 bytes (inih's 200-byte buffer, less its NUL),
	 * not counting indentation or the line end: 199 loads with LF, CRLF
	 * or none, 200 is refused with the figure.
	 */
	static const char *const ends[] = { "\n", "\r\n", "" };
	for (size_t e = 0; e < sizeof(ends) / sizeof(ends[0]); e++) {
		memset(text, 0, sizeof(text));
		strcpy(text, "[maildir]\n\t  path = /");
		memset(text + strlen(text), 'a', 199 - strlen("path = /"));
		strcat(text, ends[e]);
		CHECK(load(&cfg, text, err, sizeof(err)) == 0);
		CHECK(strlen(cfg.maildir) == 199 - strlen("path = "));
		memset(text, 0, sizeof(text));
		strcpy(text, "[maildir]\npath = /");
		memset(text + strlen(text), 'a', 200 - strlen("path = /"));
		strcat(text, ends[e]);
		expect_error(text, 2, "line too long (at most 199 bytes)");
	}
	/* An empty file is fine, and so is one with only sections. */
	CHECK(load(&cfg, "", err, sizeof(err)) == 0);
	CHECK(load(&cfg, "[smtp]\n[pop3]\n", err, sizeof(err)) == 0);
}

static void
test_unreadable(void)
{
	struct session_config cfg;
	char		      err[1024], missing[300];

	snprintf(missing, sizeof(missing), "%s/nope.conf", dir);
	config_defaults(&cfg);
	errno = 0;
	CHECK(config_load(&cfg, missing, err, sizeof(err)) == -1);
	CHECK(errno == ENOENT);
	CHECK(strstr(err, missing) == err);
	CHECK(strstr(err, "No such file") != NULL);
	CHECK(cfg.file[0] == '\0');
	/* A directory cannot be read as a file. */
	errno = 0;
	CHECK(config_load(&cfg, dir, err, sizeof(err)) == -1);
	CHECK(errno != 0);
	CHECK(strstr(err, dir) == err);
}

/* config_value() of [section] key in cfg equals want. */
static void
expect_value(const struct session_config *cfg, const char *section,
    const char *key, const char *want)
{
	char value[CONFIG_VALUE_MAX];

	memset(value, 'x', sizeof(value));
	CHECK(config_value(cfg, section, key, value, sizeof(value)) == 0);
	if (strcmp(value, want) != 0) {
		fprintf(stderr, "[%s] %s: want \"%s\" got \"%s\"\n", section,
		    key, want, value);
		CHECK(!"printed value");
	}
}

/* config_write(cfg) as a string in out. */
static void
write_string(const struct session_config *cfg, char *out, size_t len)
{
	FILE  *fp = fmemopen(out, len, "w");
	size_t n;

	CHECK(fp != NULL);
	CHECK(config_write(fp, cfg) == 0);
	n = (size_t)ftell(fp);
	fclose(fp);
	CHECK(n < len);
	out[n] = '\0';
}

/* Writes cfg, loads what was written over the defaults, writes again: the same. */
static void
expect_round_trip(const struct session_config *cfg)
{
	struct session_config again;
	static char	      first[16384], second[16384];
	char		      err[1024];

	write_string(cfg, first, sizeof(first));
	CHECK(load(&again, first, err, sizeof(err)) == 0);
	write_string(&again, second, sizeof(second));
	if (strcmp(first, second) != 0) {
		fprintf(stderr, "wrote:\n%s\nread back:\n%s\n", first, second);
		CHECK(!"round trip");
	}
}

static void
test_printers(void)
{
	struct session_config cfg;
	char		      err[1024], value[CONFIG_VALUE_MAX], out[16384];

	/* The defaults; a key not set prints as "". */
	setenv("MAILDIR", "/srv/md", 1);
	config_defaults(&cfg);
	expect_value(&cfg, "maildir", "path", "/srv/md");
	expect_value(&cfg, "smtp", "max_message_size", "50M");
	expect_value(&cfg, "smtp", "max_recipients", "1000");
	expect_value(&cfg, "smtp", "timeout", "300");
	expect_value(&cfg, "smtp", "min_free", "");
	expect_value(&cfg, "pop3", "timeout", "600");
	expect_value(&cfg, "pop3", "exclusive", "no");
	expect_value(&cfg, "sendmail", "smtp", "127.0.0.1:25");
	expect_value(&cfg, "log", "level", "info");
	expect_value(&cfg, "user", "name", "");
	expect_value(&cfg, "tls", "names", "");
	expect_value(&cfg, "retention", "max_age", "0s");
	expect_value(&cfg, "retention", "max_messages", "0");
	expect_value(&cfg, "retention", "max_size", "0");
	expect_value(&cfg, "notify", "command", "");
	/* Names in any case, as in the file; no other key. */
	expect_value(&cfg, "TLS", "Certificate", cfg.tls_certificate);
	CHECK(config_value(&cfg, "tls", "nmes", value, sizeof(value)) == -1);
	CHECK(config_value(&cfg, "tsl", "names", value, sizeof(value)) == -1);
	CHECK(config_value(&cfg, "", "", value, sizeof(value)) == -1);
	/* Every key, in the table's order, sections once; unset ones commented. */
	write_string(&cfg, out, sizeof(out));
	CHECK(strncmp(out, "[maildir]\npath = /srv/md\n\n[smtp]\n", 33) == 0);
	CHECK(strstr(out, "\n# min_free =\n") != NULL);
	CHECK(strstr(out, "\n[user]\n# name =\n") != NULL);
	CHECK(strstr(out,
		  "\n[retention]\nmax_age = 0s\nmax_messages = 0\n"
		  "max_size = 0\n\n[notify]\n# command =\n") != NULL);
	CHECK(strstr(strstr(out, "[smtp]") + 1, "[smtp]") == NULL);
	expect_round_trip(&cfg);

	/* Every key set: each printer spells what its parser read. */
	CHECK(load(&cfg,
		  "[maildir]\npath = /var/mail/box\n"
		  "[smtp]\nhostname = mail.example.lan\n"
		  "max_message_size = 10240k\nmax_recipients = 50\n"
		  "timeout = 120\nmin_free = 0\n"
		  "[pop3]\ntimeout = 900\nexclusive = on\n"
		  "[sendmail]\nsmtp = [::1]:2025\n"
		  "[log]\nlevel = 3\n"
		  "[user]\nname = baremail\n"
		  "[tls]\nnames = mail.lan, 192.168.1.5 fd00::5\n"
		  "certificate = /srv/tls/fullchain.pem\n"
		  "key = /srv/tls/privkey.pem\n"
		  "[retention]\nmax_age = 14d\nmax_messages = 20000\n"
		  "max_size = 2048M\n"
		  "[notify]\ncommand = echo \"$BAREMAIL_SUBJECT\"; true\n",
		  err, sizeof(err)) == 0);
	expect_value(&cfg, "maildir", "path", "/var/mail/box");
	expect_value(&cfg, "smtp", "hostname", "mail.example.lan");
	expect_value(&cfg, "smtp", "max_message_size", "10M");
	expect_value(&cfg, "smtp", "max_recipients", "50");
	expect_value(&cfg, "smtp", "timeout", "120");
	expect_value(&cfg, "smtp", "min_free", "0");
	expect_value(&cfg, "pop3", "timeout", "900");
	expect_value(&cfg, "pop3", "exclusive", "yes");
	expect_value(&cfg, "sendmail", "smtp", "[::1]:2025");
	expect_value(&cfg, "log", "level", "error");
	expect_value(&cfg, "user", "name", "baremail");
	expect_value(&cfg, "tls", "names", "mail.lan, 192.168.1.5 fd00::5");
	expect_value(&cfg, "tls", "certificate", "/srv/tls/fullchain.pem");
	expect_value(&cfg, "tls", "key", "/srv/tls/privkey.pem");
	expect_value(&cfg, "retention", "max_age", "2w");
	expect_value(&cfg, "retention", "max_messages", "20000");
	expect_value(&cfg, "retention", "max_size", "2G");
	expect_value(
	    &cfg, "notify", "command", "echo \"$BAREMAIL_SUBJECT\"; true");
	expect_round_trip(&cfg);

	/* Sizes and durations: the largest suffix or unit that divides. */
	CHECK(load(&cfg,
		  "[smtp]\nmax_message_size = 1025\nmin_free = 1536k\n"
		  "[retention]\nmax_age = 3600s\nmax_size = 3\n",
		  err, sizeof(err)) == 0);
	expect_value(&cfg, "smtp", "max_message_size", "1025");
	expect_value(&cfg, "smtp", "min_free", "1536k");
	expect_value(&cfg, "retention", "max_age", "1h");
	expect_value(&cfg, "retention", "max_size", "3");
	expect_round_trip(&cfg);
	CHECK(
	    load(&cfg, "[retention]\nmax_age = 90m\n", err, sizeof(err)) == 0);
	expect_value(&cfg, "retention", "max_age", "90m");
	CHECK(
	    load(&cfg, "[retention]\nmax_age = 61s\n", err, sizeof(err)) == 0);
	expect_value(&cfg, "retention", "max_age", "61s");
	CHECK(load(&cfg, "[retention]\nmax_age = 8d\n", err, sizeof(err)) == 0);
	expect_value(&cfg, "retention", "max_age", "8d");
	/* Every level's name reads back. */
	for (int level = LOG_EMERG; level <= LOG_DEBUG; level++) {
		cfg.log_level = level;
		CHECK(config_value(
			  &cfg, "log", "level", value, sizeof(value)) == 0);
		CHECK(log_level_parse(value) == level);
	}
	unsetenv("MAILDIR");
}

int
main(void)
{
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/baremail.conf", dir);
	test_defaults();
	test_default_path();
	test_every_key();
	test_tls_defaults();
	test_shipped_example();
	test_retention_and_floor();
	test_sizes();
	test_numbers();
	test_booleans();
	test_levels();
	test_strings();
	test_hostport();
	test_structure();
	test_unreadable();
	test_printers();
	unlink(path);
	rmdir(dir);
	return CHECK_DONE();
}
