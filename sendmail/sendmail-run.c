/*
 * What baremail-sendmail does, from the command line to the exit status.
 */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "maildir.h"
#include "sendmail.h"
#include "session-config.h"
#include "session-log.h"
#include "session-sys.h"
#include "smtp-session.h"

#ifndef BAREMAIL_VERSION
#define BAREMAIL_VERSION "unknown"
#endif

#define SM_IDENT      "baremail-sendmail"
#define SM_READ_CHUNK 65536

static const char sm_usage[] =
    "usage: baremail-sendmail [-t] [-i] [-f sender] [-F name] [-C config]\n"
    "                         [other sendmail options] [--] [recipient ...]\n"
    "       baremail-sendmail -bs | -bp | -q | -bi | -bv recipient ...\n"
    "Reads one message on stdin and stores it in BareMail's maildir (or\n"
    "submits it to [sendmail] smtp when the maildir is not writable).\n";

/*
 * Whether what the caller must see (warnings, failures) also needs writing
 * to stderr by us.  The session log leaves out a stderr shared with stdout,
 * which for a session is the client; for this command stdout is nobody's
 * protocol (except with -bs), and cron, mail(1) and scripts collect both.
 */
static bool sm_stderr_too;
static bool sm_verbose; /* -v: info lines too */

static void
sm_stderr_init(bool smtp_mode)
{
	struct stat st;

	sm_stderr_too = !smtp_mode && !log_stderr_usable() &&
	    fstat(STDERR_FILENO, &st) == 0 &&
	    (S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode) ||
		S_ISCHR(st.st_mode));
}

static void sm_say(int prio, const char *fmt, ...) LOG_FORMAT(2, 3);

/* Logs, and tells the caller on stderr when the log would not. */
static void
sm_say(int prio, const char *fmt, ...)
{
	char	msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_fields(prio, NULL, "%s", msg);
	if (sm_stderr_too && (prio <= LOG_WARNING || sm_verbose))
		fprintf(stderr, SM_IDENT ": %s\n", msg);
}

static void
sm_warn(void *arg, const char *msg)
{
	sm_say(LOG_WARNING, "%s", msg);
}

/* The caller, as Received: and a missing From: name it. */
struct sm_caller {
	unsigned long uid;
	char	      login[64];
	char	      gecos[128]; /* full name from passwd, or "" */
	char	      home[PATH_MAX];
};

static void
caller_identify(struct sm_caller *c)
{
	struct passwd *pw;
	const char    *home = getenv("HOME");

	memset(c, 0, sizeof(*c));
	c->uid = (unsigned long)getuid();
	pw = getpwuid(getuid());
	if (pw != NULL && pw->pw_name[0] != '\0' &&
	    strlen(pw->pw_name) < sizeof(c->login))
		snprintf(c->login, sizeof(c->login), "%s", pw->pw_name);
	else
		snprintf(c->login, sizeof(c->login), "uid%lu", c->uid);
	if (pw != NULL && pw->pw_gecos != NULL)
		snprintf(c->gecos, sizeof(c->gecos), "%.*s",
		    (int)strcspn(pw->pw_gecos, ","), pw->pw_gecos);
	if (home == NULL || home[0] == '\0')
		home = pw != NULL ? pw->pw_dir : "";
	snprintf(c->home, sizeof(c->home), "%s", home);
}

/* True for characters a display name may hold without quotes. */
static bool
is_phrase_char(unsigned char c)
{
	return c == ' ' || c >= 0x80 ||
	    (c > 0x20 && c < 0x7f && strchr("()<>[]:;@\\,.\"", c) == NULL);
}

/* From: "Full Name <addr>", quoting the name when it needs it. */
static int
from_value(struct sm_buf *b, const char *name, const char *addr)
{
	bool   plain = true;
	size_t len = strlen(name);

	/* Trim, and a name of blanks is no name. */
	while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t'))
		len--;
	while (len > 0 && (*name == ' ' || *name == '\t')) {
		name++;
		len--;
	}
	if (len == 0)
		return sm_buf_addstr(b, addr);
	for (size_t i = 0; i < len; i++)
		plain &= is_phrase_char((unsigned char)name[i]);
	if (!plain && sm_buf_add(b, "\"", 1) < 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		/* Never a line end in a header we write. */
		if ((unsigned char)c < 0x20 || c == 0x7f)
			c = ' ';
		if (!plain && (c == '"' || c == '\\') &&
		    sm_buf_add(b, "\\", 1) < 0)
			return -1;
		if (sm_buf_add(b, &c, 1) < 0)
			return -1;
	}
	if ((!plain && sm_buf_add(b, "\"", 1) < 0) ||
	    sm_buf_addstr(b, " <") < 0 || sm_buf_addstr(b, addr) < 0 ||
	    sm_buf_addstr(b, ">") < 0)
		return -1;
	return 0;
}

/* An address we may put in MAIL FROM or RCPT TO as it is. */
static bool
envelope_ok(const char *a)
{
	for (; *a != '\0'; a++)
		if ((unsigned char)*a <= 0x20 || *a == '<' || *a == '>' ||
		    *a == 0x7f)
			return false;
	return true;
}

/* Reads the message from stdin into in.  Returns 0, or -1 (errno set). */
static int
read_message(struct sendmail_input *in)
{
	char *buf = malloc(SM_READ_CHUNK);

	if (buf == NULL)
		return -1;
	while (!in->done) {
		ssize_t n = read(STDIN_FILENO, buf, SM_READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int saved = errno;
			free(buf);
			if (n < 0) {
				errno = saved;
				return -1;
			}
			return sendmail_input_finish(in);
		}
		if (sendmail_input_feed(in, buf, (size_t)n) < 0) {
			free(buf);
			return -1;
		}
	}
	free(buf);
	/* The lone dot ended it: the rest of stdin is not ours to read. */
	return sendmail_input_finish(in);
}

/*
 * -bs: the SMTP session, on stdin and stdout, in this process; for a
 * caller that may not write the maildir (a web application's account),
 * the session of [sendmail] smtp, relayed, as a message on stdin would
 * go there.  With neither, smtp_serve() says 421.
 */
static int
run_smtp(struct session_config *cfg, const char *conf)
{
	struct maildir md;
	char	       why[1024];
	int	       status, sock, e;

	/* The client is parsed as smtp-session would: never as root. */
	status =
	    session_leave_root(cfg->user, cfg->maildir, conf, why, sizeof(why));
	if (status != 0) {
		sm_say(LOG_ERR, "%s", why);
		return status;
	}
	if (maildir_open(&md, cfg->maildir) == 0) {
		maildir_close(&md);
		return smtp_serve(cfg, STDIN_FILENO, STDOUT_FILENO);
	}
	e = errno;
	sock = sendmail_smtp_connect(cfg->sendmail_smtp, why, sizeof(why));
	if (sock < 0) {
		log_debug("-bs: no SMTP service either: %s", why);
		return smtp_serve(cfg, STDIN_FILENO, STDOUT_FILENO);
	}
	sm_say(LOG_INFO, "-bs: maildir %s: %s: relaying the session to %s",
	    cfg->maildir, strerror(e), cfg->sendmail_smtp);
	status =
	    sendmail_relay(sock, STDIN_FILENO, STDOUT_FILENO, cfg->hostname);
	close(sock);
	return status;
}

/* Envelope addresses from the command line, qualified, commas split. */
static int
cmdline_rcpts(
    const struct sendmail_args *a, const char *host, struct sm_addrs *out)
{
	for (size_t i = 0; i < a->nrcpts; i++) {
		struct sm_buf ignored = { 0 };
		int	      r = sendmail_addr_rewrite(
			      a->rcpts[i], strlen(a->rcpts[i]), host, &ignored, out);
		sm_buf_free(&ignored);
		if (r < 0)
			return -1;
	}
	return 0;
}

static int
run_verify(const struct sendmail_args *a, const struct session_config *cfg)
{
	struct sm_addrs rcpts = { 0 };

	if (cmdline_rcpts(a, cfg->hostname, &rcpts) < 0)
		return EX_OSERR;
	if (rcpts.n == 0) {
		sm_say(LOG_ERR, "-bv: no recipient given");
		sm_addrs_free(&rcpts);
		return EX_USAGE;
	}
	/* Every address reaches the one maildir. */
	for (size_t i = 0; i < rcpts.n; i++)
		printf("%s... deliverable: maildir %s\n", rcpts.v[i],
		    cfg->maildir);
	sm_addrs_free(&rcpts);
	return fflush(stdout) == 0 ? 0 : EX_IOERR;
}

/* Appends the message to the caller's ~/dead.letter; 0 or -1 (errno). */
static int
save_dead_letter(
    const struct sendmail_delivery *d, const char *home, char *path, size_t len)
{
	if (home[0] == '\0') {
		snprintf(path, len, "~/dead.letter");
		errno = ENOENT;
		return -1;
	}
	if ((size_t)snprintf(path, len, "%s/dead.letter",
		strcmp(home, "/") == 0 ? "" : home) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return sendmail_dead_letter(d, path);
}

/* The envelope sender: -f/-r when usable, else self; "<>" is "". */
static void
envelope_sender(const struct sendmail_args *a, const char *host,
    const char *self, char *sender, size_t len)
{
	snprintf(sender, len, "%s", self);
	if (a->has_sender &&
	    (sendmail_addr_qualify(a->sender, host, sender, len) < 0 ||
		!envelope_ok(sender))) {
		sm_say(LOG_WARNING, "sender \"%s\" unusable: using %s",
		    a->sender, self);
		snprintf(sender, len, "%s", self);
	}
}

/* Whether addr is in l already. */
static bool
addrs_has(const struct sm_addrs *l, const char *addr)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], addr) == 0)
			return true;
	return false;
}

/*
 * The envelope recipients: the command line's, and with -t the header's,
 * each usable one once; none at all is root.  Returns 0 or -1 (ENOMEM).
 */
static int
envelope_rcpts(const struct sendmail_args *a, const char *host,
    const struct sm_addrs *cmd, const struct sm_addrs *hdr,
    struct sm_addrs *env)
{
	char root[300];

	for (size_t i = 0; i < cmd->n + hdr->n; i++) {
		const char *r = i < cmd->n ? cmd->v[i] : hdr->v[i - cmd->n];

		if (!envelope_ok(r)) {
			sm_say(LOG_WARNING,
			    "recipient \"%s\" unusable: left out", r);
			continue;
		}
		/* As smtp-session does with RCPT: one copy names each once. */
		if (!addrs_has(env, r) && sm_addrs_add(env, r, strlen(r)) < 0)
			return -1;
	}
	if (env->n > 0)
		return 0;
	/* One maildir holds everything: it still has a reader. */
	sm_say(LOG_WARNING, "no recipients%s: delivering anyway, as for root",
	    a->extract ? " in To:, Cc: or Bcc:" : "");
	snprintf(root, sizeof(root), "root@%s", host);
	return sm_addrs_add(env, root, strlen(root));
}

/*
 * The maildir, else SMTP, else ~/dead.letter.  Returns the exit status:
 * 0 when delivered, else EX_TEMPFAIL (EX_CONFIG when the configuration
 * was unusable), the message then kept in dead.letter if it could be.
 */
static int
deliver(struct sendmail_delivery *d, const struct sm_caller *who, bool cfg_ok)
{
	char dead[PATH_MAX + 16];
	bool delivered = false;

	if (!cfg_ok) {
		snprintf(d->why_maildir, sizeof(d->why_maildir),
		    "the configuration is unusable");
	} else if (sendmail_deliver_maildir(d) == 0) {
		delivered = true;
	} else {
		log_debug("maildir: %s: trying SMTP", d->why_maildir);
		delivered = sendmail_deliver_smtp(d) == 0;
	}
	if (delivered) {
		sm_say(LOG_INFO,
		    "%s: from <%s>, uid %lu, %zu bytes, %zu recipient%s",
		    d->where, d->sender, who->uid,
		    d->msg->head.len + d->msg->body_len, d->rcpts->n,
		    d->rcpts->n == 1 ? "" : "s");
		return 0;
	}
	/* Neither way works: keep the message where its sender can find it. */
	if (save_dead_letter(d, who->home, dead, sizeof(dead)) < 0)
		sm_say(LOG_ERR,
		    "cannot deliver the message (%s%s%s), nor save it in %s: %s",
		    d->why_maildir, d->why_smtp[0] != '\0' ? "; " : "",
		    d->why_smtp, dead, strerror(errno));
	else
		sm_say(LOG_ERR,
		    "cannot deliver the message now (%s%s%s): saved in %s",
		    d->why_maildir, d->why_smtp[0] != '\0' ? "; " : "",
		    d->why_smtp, dead);
	return cfg_ok ? EX_TEMPFAIL : EX_CONFIG;
}

/* The default mode: one message from stdin to wherever it can go. */
static int
run_deliver(const struct sendmail_args *a, const struct session_config *cfg,
    bool cfg_ok)
{
	struct sendmail_input	 in;
	struct sendmail_msg	 m = { 0 };
	struct sendmail_submit	 s = { 0 };
	struct sendmail_delivery d = { 0 };
	struct sm_addrs		 cmd = { 0 }, env = { 0 };
	struct sm_caller	 who;
	struct sm_buf		 from = { 0 };
	char			 sender[320], self[320];
	int			 status;

	caller_identify(&who);
	sendmail_input_init(&in, a->ignore_dots, cfg->max_message_size);
	if (read_message(&in) < 0) {
		if (errno == ENOMEM)
			goto oom;
		sm_say(LOG_ERR, "reading the message from stdin: %s",
		    strerror(errno));
		status = EX_IOERR;
		goto out;
	}
	if (in.too_big) {
		sm_say(LOG_ERR,
		    "message refused: larger than [smtp] max_message_size "
		    "(%zu bytes)",
		    cfg->max_message_size);
		status = EX_DATAERR;
		goto out;
	}
	snprintf(self, sizeof(self), "%s@%s", who.login, cfg->hostname);
	envelope_sender(a, cfg->hostname, self, sender, sizeof(sender));
	if (from_value(&from, a->fullname != NULL ? a->fullname : who.gecos,
		sender[0] != '\0' ? sender : self) < 0 ||
	    cmdline_rcpts(a, cfg->hostname, &cmd) < 0)
		goto oom;

	s.host = cfg->hostname;
	s.user = who.login;
	s.uid = who.uid;
	s.from = from.p;
	s.extract = a->extract;
	s.now = time(NULL);
	if (sendmail_msg_build(&m, in.msg.p, in.msg.len, &s, &cmd) < 0 ||
	    envelope_rcpts(a, cfg->hostname, &cmd, &m.rcpts, &env) < 0)
		goto oom;

	d.cfg = cfg;
	d.sender = sender;
	d.rcpts = &env;
	d.msg = &m;
	status = deliver(&d, &who, cfg_ok);
	goto out;
oom:
	sm_say(LOG_ERR, "out of memory");
	status = EX_OSERR;
out:
	sm_buf_free(&from);
	sm_addrs_free(&cmd);
	sm_addrs_free(&env);
	sendmail_msg_free(&m);
	sm_buf_free(&in.msg);
	return status;
}

int
sendmail_run(int argc, char **argv)
{
	struct sendmail_args  a = { .warn = sm_warn };
	struct session_config cfg;
	const char	     *path;
	char		      err[1024];
	bool		      cfg_ok = true;
	int		      status;

	/* A reader that went away is a write error, not a killed process. */
	signal(SIGPIPE, SIG_IGN);
	/* So is a message that reaches RLIMIT_FSIZE (EFBIG). */
	signal(SIGXFSZ, SIG_IGN);
	log_init(SM_IDENT, LOG_INFO);
	/*
	 * Where warnings go depends on -bs, known only after parsing: a
	 * silent first pass finds the mode, the second one warns.
	 */
	a.warn = NULL;
	(void)sendmail_args_parse(&a, argc, argv, err, sizeof(err));
	sm_stderr_init(a.mode == SM_MODE_SMTP);
	sendmail_args_free(&a);
	a.warn = sm_warn;
	if (sendmail_args_parse(&a, argc, argv, err, sizeof(err)) < 0) {
		sm_say(LOG_ERR, "%s", err);
		sendmail_args_free(&a);
		return EX_USAGE;
	}
	switch (a.mode) {
	case SM_MODE_HELP:
		fputs(sm_usage, stdout);
		sendmail_args_free(&a);
		return fflush(stdout) == 0 ? 0 : EX_IOERR;
	case SM_MODE_VERSION:
		printf("%s (BareMail) %s\n", SM_IDENT, BAREMAIL_VERSION);
		sendmail_args_free(&a);
		return fflush(stdout) == 0 ? 0 : EX_IOERR;
	case SM_MODE_QUEUE_LIST:
		/* Messages are delivered at once or not at all: no queue. */
		puts("Mail queue is empty");
		sendmail_args_free(&a);
		return fflush(stdout) == 0 ? 0 : EX_IOERR;
	case SM_MODE_QUEUE_RUN:
	case SM_MODE_ALIASES:
		sendmail_args_free(&a);
		return 0;
	default:
		break;
	}

	config_defaults(&cfg);
	path = a.config != NULL ? a.config : config_default_path();
	if (path != NULL && config_load(&cfg, path, err, sizeof(err)) < 0) {
		sm_say(LOG_ERR, "%s", err);
		cfg_ok = false;
	}
	sm_verbose = a.verbose;
	log_set_level(a.verbose ? LOG_DEBUG : cfg.log_level);

	switch (a.mode) {
	case SM_MODE_SMTP:
		status = cfg_ok
		    ? run_smtp(&cfg,
			  path != NULL ? path
				       : BAREMAIL_SYSCONFDIR "/baremail.conf")
		    : EX_CONFIG;
		break;
	case SM_MODE_VERIFY:
		status = cfg_ok ? run_verify(&a, &cfg) : EX_CONFIG;
		break;
	default:
		status = run_deliver(&a, &cfg, cfg_ok);
		break;
	}
	sendmail_args_free(&a);
	return status;
}
