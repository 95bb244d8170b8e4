/*
 * session_start(): everything a session program does before its greeting.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "session-config.h"
#include "session-log.h"
#include "session-sys.h"

#ifndef BAREMAIL_VERSION
#define BAREMAIL_VERSION "unknown"
#endif
#ifndef BAREMAIL_SYSCONFDIR
#define BAREMAIL_SYSCONFDIR "/etc"
#endif

/* Logs msg (and says it on stderr when that is not the client), then exits. */
static _Noreturn void start_fail(int status, const char *usage, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static _Noreturn void
start_fail(int status, const char *usage, const char *fmt, ...)
{
	char	msg[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* log_err() writes stderr too when stderr is not the connection. */
	log_err("%s", msg);
	if (usage != NULL && log_stderr_usable())
		fputs(usage, stderr);
	session_exit(status);
}

/*
 * The maildir when neither -m nor [maildir] path says: $MAILDIR, else the
 * Maildir in the home of pw, the account the program runs as after a
 * switch from root (whose $HOME is still root's); NULL: no switch.
 */
static void
default_maildir(struct session_config *cfg, const struct passwd *pw)
{
	struct session_config defaults;
	const char	     *env = getenv("MAILDIR");

	if (pw != NULL && (env == NULL || env[0] == '\0')) {
		if (pw->pw_dir[0] != '\0' &&
		    (size_t)snprintf(cfg->maildir, sizeof(cfg->maildir),
			"%s/Maildir",
			strcmp(pw->pw_dir, "/") == 0 ? "" : pw->pw_dir) <
			sizeof(cfg->maildir))
			return;
	}
	config_defaults(&defaults);
	memcpy(cfg->maildir, defaults.maildir, sizeof(cfg->maildir));
}

/*
 * A closed 0, 1 or 2 would be reused by the next open(): a log line could
 * land in a message file.  Holds them with /dev/null.
 */
static void
hold_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) == -1 && errno == EBADF &&
		    open("/dev/null", O_RDWR) != fd)
			session_exit(EX_OSERR);
}

/* -c, -m, --tls, -h and -V; anything else ends the program (EX_USAGE). */
static void
parse_options(int argc, char **argv, const char *ident, const char *usage,
    const char **config_r, const char **maildir_r, enum tls_mode *tls_r)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "maildir", required_argument, NULL, 'm' },
		{ "tls", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	/* We report bad options ourselves: stderr may be the client. */
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:c:m:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			*config_r = optarg;
			break;
		case 'm':
			*maildir_r = optarg;
			break;
		case 'T':
			if (strcmp(optarg, "off") == 0)
				*tls_r = TLS_OFF;
			else if (strcmp(optarg, "starttls") == 0)
				*tls_r = TLS_STARTTLS;
			else if (strcmp(optarg, "implicit") == 0)
				*tls_r = TLS_IMPLICIT;
			else
				start_fail(EX_USAGE, usage,
				    "--tls: \"%s\" is not off, starttls or "
				    "implicit",
				    optarg);
			break;
		case 'h':
			fputs(usage, stdout);
			session_exit(fflush(stdout) == 0 ? 0 : EX_IOERR);
		case 'V':
			printf("%s (BareMail) %s\n", ident, BAREMAIL_VERSION);
			session_exit(fflush(stdout) == 0 ? 0 : EX_IOERR);
		case ':':
			start_fail(EX_USAGE, usage,
			    "option %s needs an argument", argv[optind - 1]);
		default:
			if (optopt != 0)
				start_fail(EX_USAGE, usage,
				    "unknown option -%c", optopt);
			start_fail(EX_USAGE, usage, "unknown option %s",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		start_fail(EX_USAGE, usage, "unexpected argument \"%s\"",
		    argv[optind]);
}

/*
 * The options and the configuration: session_start() up to the root rule.
 * Returns the file read, NULL if none.  cfg->maildir is "" unless -m or
 * [maildir] path set it.
 */
static const char *
start_config(int argc, char **argv, const char *ident, const char *usage,
    struct session_config *cfg)
{
	const char   *config = NULL, *maildir = NULL, *path;
	enum tls_mode tls = TLS_OFF;
	char	      err[1024];

	hold_std_fds();
	/* A client that hangs up must be a write error, not a killed process. */
	signal(SIGPIPE, SIG_IGN);
	/*
	 * So must a file that reaches RLIMIT_FSIZE (LimitFSIZE=, ulimit -f):
	 * write() fails with EFBIG, and the client gets its reply.
	 */
	signal(SIGXFSZ, SIG_IGN);
	log_init(ident, LOG_INFO);
	if (usage == NULL)
		usage = "usage: [-c FILE] [-m DIR] [-h] [-V]\n";
	parse_options(argc, argv, ident, usage, &config, &maildir, &tls);
	if (maildir != NULL &&
	    (maildir[0] == '\0' || strlen(maildir) >= sizeof(cfg->maildir)))
		start_fail(EX_USAGE, usage, "-m: bad maildir path");

	config_defaults(cfg);
	/* Resolved at the end: it may depend on the account we switch to. */
	cfg->maildir[0] = '\0';
	/* -c and $BAREMAIL_CONFIG must exist; the installed file need not. */
	path = config != NULL ? config : config_default_path();
	if (path != NULL && config_load(cfg, path, err, sizeof(err)) != 0)
		start_fail(EX_CONFIG, NULL, "%s", err);
	log_set_level(cfg->log_level);
	cfg->tls_mode = tls;
	if (maildir != NULL)
		snprintf(cfg->maildir, sizeof(cfg->maildir), "%s", maildir);
	return path;
}

void
session_configure(int argc, char **argv, const char *ident, const char *usage,
    struct session_config *cfg)
{
	const struct passwd *pw = NULL;

	start_config(argc, argv, ident, usage, cfg);
	/* Root: where the account the sessions switch to has its Maildir. */
	if ((getuid() == 0 || geteuid() == 0) && cfg->user[0] != '\0')
		pw = getpwnam(cfg->user);
	if (cfg->maildir[0] == '\0')
		default_maildir(cfg, pw);
}

void
session_start(int argc, char **argv, const char *ident, const char *usage,
    struct session_config *cfg)
{
	const char *path = start_config(argc, argv, ident, usage, cfg);
	bool	    switched = false;
	char	    err[1024];
	int	    status;

	/* Before anything touches the maildir, or reads the client. */
	if (getuid() == 0 || geteuid() == 0) {
		/* Without [user] name the maildir's owner decides. */
		if (cfg->user[0] == '\0' && cfg->maildir[0] == '\0')
			default_maildir(cfg, NULL);
		status = session_leave_root(cfg->user, cfg->maildir,
		    path != NULL ? path : BAREMAIL_SYSCONFDIR "/baremail.conf",
		    err, sizeof(err));
		if (status != 0)
			start_fail(status, NULL, "%s", err);
		switched = true;
	}
	if (cfg->maildir[0] == '\0')
		default_maildir(cfg, switched ? getpwuid(getuid()) : NULL);
	log_debug("started: config %s, maildir %s, uid %ld",
	    cfg->file[0] != '\0' ? cfg->file : "(built-in defaults)",
	    cfg->maildir, (long)getuid());
}
