/*
 * One SMTP session: the connection, the command table, the dispatcher and
 * the states.  The commands themselves live in smtp-commands.c,
 * smtp-data.c, smtp-bdat.c and smtp-auth.c.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "session-log.h"
#include "session-sys.h"
#include "session-tls.h"
#include "smtp-private.h"

#define SMTP_DATA_TIMEOUT_MIN 600 /* RFC 5321 4.5.3.2.6: 10 minutes */

struct smtp_cmd {
	const char *verb;     /* compared case-insensitively */
	unsigned    legal_in; /* mask of SMTP_ST_* */
	void (*run)(struct smtp_conn *, char *args);
	/* Called instead of run when not legal: BDAT's chunk must be read. */
	void (*drain)(struct smtp_conn *, char *args);
};

static const struct smtp_cmd smtp_cmds[] = {
	{ "EHLO", SMTP_ST_ANY, smtp_cmd_ehlo, NULL },
	{ "HELO", SMTP_ST_ANY, smtp_cmd_helo, NULL },
	{ "MAIL", SMTP_ST_READY, smtp_cmd_mail, NULL },
	{ "RCPT", SMTP_ST_MAIL | SMTP_ST_RCPT, smtp_cmd_rcpt, NULL },
	{ "DATA", SMTP_ST_RCPT, smtp_cmd_data, NULL },
	{ "BDAT", SMTP_ST_RCPT | SMTP_ST_BDAT, smtp_cmd_bdat,
	    smtp_cmd_bdat_drain },
	{ "RSET", SMTP_ST_ANY, smtp_cmd_rset, NULL },
	{ "NOOP", SMTP_ST_ANY, smtp_cmd_noop, NULL },
	{ "QUIT", SMTP_ST_ANY, smtp_cmd_quit, NULL },
	{ "AUTH", SMTP_ST_READY, smtp_cmd_auth, NULL },
	{ "VRFY", SMTP_ST_ANY & ~SMTP_ST_BDAT, smtp_cmd_vrfy, NULL },
	{ "EXPN", SMTP_ST_ANY & ~SMTP_ST_BDAT, smtp_cmd_expn, NULL },
	{ "HELP", SMTP_ST_ANY, smtp_cmd_help, NULL },
	/* Not inside a transaction: RFC 3207 resets the state it would lose. */
	{ "STARTTLS", SMTP_ST_READY, smtp_cmd_starttls, NULL },
};

const char *
smtp_state_name(enum smtp_state state)
{
	switch (state) {
	case SMTP_ST_READY:
		return "READY";
	case SMTP_ST_MAIL:
		return "MAIL";
	case SMTP_ST_RCPT:
		return "RCPT";
	case SMTP_ST_BDAT:
		return "BDAT";
	default:
		return "?";
	}
}

void
smtp_set_state(struct smtp_conn *c, enum smtp_state state)
{
	if (c->state != state)
		log_debug("state %s -> %s", smtp_state_name(c->state),
		    smtp_state_name(state));
	c->state = state;
}

unsigned
smtp_cmd_timeout(const struct smtp_conn *c)
{
	return c->cfg->smtp_timeout;
}

unsigned
smtp_data_timeout(const struct smtp_conn *c)
{
	/*
	 * Ten minutes by default; a deliberately short [smtp] timeout
	 * (tests, a LAN of fast daemons) shortens it in proportion.
	 */
	unsigned t = c->cfg->smtp_timeout;

	if (t == 0)
		return 0;
	if (t >= CONFIG_DEFAULT_SMTP_TIMEOUT)
		return t > SMTP_DATA_TIMEOUT_MIN ? t : SMTP_DATA_TIMEOUT_MIN;
	return 2 * t;
}

/* Writes one reply line; text is the formatted text, made one line here. */
static void
reply_line(struct smtp_conn *c, int code, char sep, const char *enh, char *text)
{
	/* A reply is one line whatever a client put into its text. */
	for (char *p = text; *p != '\0'; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	if (enh != NULL)
		sio_printf(&c->out, "%d%c%s %s\r\n", code, sep, enh, text);
	else
		sio_printf(&c->out, "%d%c%s\r\n", code, sep, text);
}

void
smtp_reply(struct smtp_conn *c, int code, const char *enh, const char *fmt, ...)
{
	char	text[1024];
	va_list ap;

	/*
	 * Only what the client got wrong counts towards the limit (syntax,
	 * order, unknown commands): a full disk or a size limit is not a
	 * flood.
	 */
	if (code >= 500 && code <= 504)
		c->errors++;
	else if (code < 400)
		c->errors = 0;
	va_start(ap, fmt);
	if (vsnprintf(text, sizeof text, fmt, ap) < 0)
		text[0] = '\0';
	va_end(ap);
	reply_line(c, code, ' ', enh, text);
}

void
smtp_reply_more(struct smtp_conn *c, int code, const char *fmt, ...)
{
	char	text[1024];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(text, sizeof text, fmt, ap) < 0)
		text[0] = '\0';
	va_end(ap);
	reply_line(c, code, '-', NULL, text);
}

static void
log_summary(struct smtp_conn *c)
{
	char	    peer[160], msgs[40], bytes[40], result[40], tls[100];
	char	    tls_text[100] = "";
	const char *fields[] = { peer, msgs, bytes, result, NULL, NULL };

	snprintf(peer, sizeof peer, "PEER=%s", c->peer);
	snprintf(msgs, sizeof msgs, "MESSAGES=%lu", c->messages);
	snprintf(bytes, sizeof bytes, "BYTES=%" PRIu64, c->bytes);
	snprintf(result, sizeof result, "RESULT=%s", c->result);
	if (c->tls != NULL) {
		snprintf(tls, sizeof tls, "TLS=%s %s", tls_version(c->tls),
		    tls_cipher(c->tls));
		snprintf(tls_text, sizeof tls_text, ", %s %s",
		    tls_version(c->tls), tls_cipher(c->tls));
		fields[4] = tls;
	}
	log_fields(LOG_INFO, fields,
	    "session from %s: %lu message(s), %" PRIu64 " bytes, %s%s", c->peer,
	    c->messages, c->bytes, c->result, tls_text);
}

_Noreturn void
die_reply(struct smtp_conn *c, int status, int code, const char *enh,
    const char *text, const char *result)
{
	smtp_reply(c, code, enh, "%s %s", c->cfg->hostname, text);
	sio_hangup(&c->out);
	smtp_tx_reset(c);
	c->result = result;
	log_summary(c);
	session_exit(status);
}

ssize_t
smtp_read_line(struct smtp_conn *c, char **line_r)
{
	ssize_t n = sio_read_line(&c->in, smtp_cmd_timeout(c), line_r);

	if (n == SIO_TIMEOUT)
		die_reply(c, 0, 421, "4.4.2", "timeout, closing connection",
		    "timeout");
	return n;
}

struct smtp_conn *
smtp_conn_new(
    const struct session_config *cfg, struct maildir *md, int in_fd, int out_fd)
{
	struct smtp_conn *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	if (smtp_tx_init(&c->tx) != 0) {
		free(c);
		return NULL;
	}
	c->cfg = cfg;
	c->md = md;
	c->state = SMTP_ST_READY;
	c->result = "eof";
	sio_writer_init(&c->out, out_fd);
	sio_set_barrier(&c->out, smtp_tx_group_commit, c);
	if (sio_reader_init(&c->in, in_fd, &c->out, SMTP_LINE_MAX) != 0) {
		smtp_tx_free(&c->tx);
		free(c);
		return NULL;
	}
	session_peer(in_fd, c->peer, sizeof c->peer);
	/* A pipelining client would otherwise wait on Nagle for each batch. */
	session_nodelay(out_fd);
	return c;
}

void
smtp_conn_free(struct smtp_conn *c)
{
	if (c == NULL)
		return;
	smtp_tx_free(&c->tx);
	sio_reader_free(&c->in);
	tls_free(c->tls);
	free(c);
}

static const struct smtp_cmd *
find_cmd(const char *verb, size_t len)
{
	for (size_t i = 0; i < sizeof smtp_cmds / sizeof smtp_cmds[0]; i++)
		if (strlen(smtp_cmds[i].verb) == len &&
		    strncasecmp(smtp_cmds[i].verb, verb, len) == 0)
			return &smtp_cmds[i];
	return NULL;
}

static void
smtp_dispatch(struct smtp_conn *c, char *line, size_t len)
{
	const struct smtp_cmd *cmd;
	size_t		       vlen = 0;
	char		      *args;

	if (memchr(line, '\0', len) != NULL) {
		smtp_reply(c, 500, "5.5.2", "Error: NUL byte in command");
		return;
	}
	while (vlen < len && line[vlen] != ' ' && line[vlen] != '\t')
		vlen++;
	args = line + vlen;
	while (*args == ' ' || *args == '\t')
		args++;
	/* Trailing blanks are noise some clients add. */
	for (char *e = line + len; e > args && (e[-1] == ' ' || e[-1] == '\t');)
		*--e = '\0';
	cmd = find_cmd(line, vlen);
	if (cmd == NULL) {
		if (vlen == 0)
			smtp_reply(c, 500, "5.5.2", "Error: empty command");
		else
			smtp_reply(
			    c, 500, "5.5.2", "Error: command not recognized");
		log_debug("unknown command from %s", c->peer);
		return;
	}
	if (!(cmd->legal_in & (unsigned)c->state)) {
		if (cmd->drain != NULL)
			cmd->drain(c, args);
		if (c->done)
			return;
		/* The content of a transaction refused for disk space. */
		if (c->disk_low &&
		    (cmd->run == smtp_cmd_data || cmd->run == smtp_cmd_bdat)) {
			smtp_reply(
			    c, 452, "4.3.1", "Insufficient system storage");
			return;
		}
		smtp_reply(c, 503, "5.5.1",
		    "Error: bad sequence of commands"
		    " (%s not allowed in state %s)",
		    cmd->verb, smtp_state_name(c->state));
		return;
	}
	cmd->run(c, args);
}

int
smtp_session_run(struct smtp_conn *c)
{
	char *line;
	int   status;

	if (c->cfg->tls_mode == TLS_IMPLICIT &&
	    smtp_tls_implicit(c, &status) != 0) {
		sio_hangup(&c->out);
		log_summary(c);
		return status;
	}
	smtp_reply(c, 220, NULL, "%s ESMTP BareMail", c->cfg->hostname);
	while (!c->done) {
		ssize_t n = sio_read_line(&c->in, smtp_cmd_timeout(c), &line);

		if (n == SIO_TOOLONG) {
			/* The reader has skipped to the next LF: back in step. */
			smtp_reply(c, 500, "5.5.2", "Error: line too long");
		} else if (n == SIO_TIMEOUT) {
			die_reply(c, 0, 421, "4.4.2",
			    "timeout, closing connection", "timeout");
		} else if (n < 0) {
			/* EOF or read error: the client is gone, not our failure. */
			c->result = "eof";
			break;
		} else {
			smtp_dispatch(c, line, (size_t)n);
		}
		if (sio_failed(&c->out)) {
			c->result = "client gone";
			break;
		}
		if (c->errors >= SMTP_MAX_ERRORS)
			die_reply(c, 0, 421, "4.7.0",
			    "too many errors, closing connection",
			    "too many errors");
	}
	sio_hangup(&c->out);
	smtp_tx_reset(c);
	log_summary(c);
	return 0;
}

/* Before a session exists: one 421 line, so the client retries later. */
static int
refuse(const struct session_config *cfg, int out_fd, int status)
{
	char line[512];
	int  n = snprintf(line, sizeof line,
	     "421 4.3.0 %s service not available, try again later\r\n",
	     cfg->hostname);

	if (n > 0 && (size_t)n < sizeof line &&
	    write(out_fd, line, (size_t)n) < 0)
		log_debug("the client is gone: %s", strerror(errno));
	return status;
}

int
smtp_serve(const struct session_config *cfg, int in_fd, int out_fd)
{
	struct maildir	  md;
	struct smtp_conn *c;
	int		  status;

	if (maildir_open(&md, cfg->maildir) != 0) {
		log_err("cannot open maildir %s: %s", cfg->maildir,
		    strerror(errno));
		return refuse(cfg, out_fd, EX_TEMPFAIL);
	}
	c = smtp_conn_new(cfg, &md, in_fd, out_fd);
	if (c == NULL) {
		log_err("out of memory");
		maildir_close(&md);
		return refuse(cfg, out_fd, EX_OSERR);
	}
	status = smtp_session_run(c);
	smtp_conn_free(c);
	maildir_close(&md);
	return status;
}
