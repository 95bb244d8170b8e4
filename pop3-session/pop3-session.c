/*
 * The session: connection state, the command table and its dispatcher,
 * replies, the snapshot taken at login and the UPDATE state at QUIT.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "pop3.h"
#include "session-log.h"
#include "session-sys.h"
#include "session-tls.h"

struct pop3_cmd {
	const char *verb;	   /* compared case-insensitively */
	unsigned    legal_in;	   /* mask of POP3_ST_* */
	bool	    needs_mailbox; /* logs in implicitly from AUTHORIZATION */
	void (*run)(struct pop3_conn *, char *args);
};

#define AUTH  POP3_ST_AUTH
#define TRANS POP3_ST_TRANS

/*
 * A client that skips authorization and sends STAT, LIST, RETR ... is
 * served as if it had logged in: those commands are legal in both states
 * and take the snapshot first.
 */
/* A table reads best in columns. */
/* clang-format off */
static const struct pop3_cmd pop3_cmds[] = {
	{ "USER", AUTH,		false,	pop3_cmd_user },
	{ "PASS", AUTH,		false,	pop3_cmd_pass },
	{ "APOP", AUTH,		false,	pop3_cmd_apop },
	{ "AUTH", AUTH,		false,	pop3_cmd_auth },
	{ "CAPA", AUTH | TRANS,	false,	pop3_cmd_capa },
	{ "NOOP", AUTH | TRANS,	false,	pop3_cmd_noop },
	{ "QUIT", AUTH | TRANS,	false,	pop3_cmd_quit },
	{ "STAT", AUTH | TRANS,	true,	pop3_cmd_stat },
	{ "LIST", AUTH | TRANS,	true,	pop3_cmd_list },
	{ "UIDL", AUTH | TRANS,	true,	pop3_cmd_uidl },
	{ "RETR", AUTH | TRANS,	true,	pop3_cmd_retr },
	{ "TOP", AUTH | TRANS,	true,	pop3_cmd_top },
	{ "DELE", AUTH | TRANS,	true,	pop3_cmd_dele },
	{ "RSET", AUTH | TRANS,	true,	pop3_cmd_rset },
	{ "STLS", AUTH,		false,	pop3_cmd_stls },
};
/* clang-format on */

const char *
pop3_state_name(enum pop3_state state)
{
	switch (state) {
	case POP3_ST_AUTH:
		return "AUTHORIZATION";
	case POP3_ST_TRANS:
		return "TRANSACTION";
	case POP3_ST_UPDATE:
		return "UPDATE";
	}
	return "?";
}

void
pop3_set_state(struct pop3_conn *c, enum pop3_state state)
{
	log_debug("state %s -> %s", pop3_state_name(c->state),
	    pop3_state_name(state));
	c->state = state;
}

int
pop3_conn_init(struct pop3_conn *c, const struct session_config *cfg,
    struct maildir *md, int in_fd, int out_fd)
{
	char host[256];

	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->md = md;
	c->state = POP3_ST_AUTH;
	c->status = EX_OK;
	c->end = "eof";
	sio_writer_init(&c->out, out_fd);
	/* A client that stops reading a long RETR is gone after the same time. */
	sio_set_timeout(&c->out, cfg->pop3_timeout);
	if (sio_reader_init(&c->in, in_fd, &c->out, POP3_LINE_MAX) == -1)
		return -1;
	session_peer(in_fd, c->peer, sizeof(c->peer));
	/* RFC 1939's APOP timestamp: unique per session, in msg-id form. */
	log_printable(host, sizeof(host),
	    cfg->hostname[0] != '\0' ? cfg->hostname : "localhost", SIZE_MAX);
	for (char *p = host; *p != '\0'; p++)
		if (*p == '<' || *p == '>' || *p == ' ')
			*p = '?';
	snprintf(c->timestamp, sizeof(c->timestamp), "<%ld.%lld@%s>",
	    (long)getpid(), (long long)time(NULL), host);
	return 0;
}

void
pop3_conn_free(struct pop3_conn *c)
{
	if (c->have_list) {
		maildir_list_free(&c->list);
		c->have_list = false;
	}
	free(c->marks);
	c->marks = NULL;
	free(c->rbuf);
	c->rbuf = NULL;
	free(c->cbuf);
	c->cbuf = NULL;
	sio_reader_free(&c->in);
	tls_free(c->tls);
	c->tls = NULL;
}

static void reply(struct pop3_conn *c, const char *status, const char *code,
    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

static void
reply(struct pop3_conn *c, const char *status, const char *code,
    const char *fmt, va_list ap)
{
	char text[512];

	/* A truncated reply text is still a correct reply. */
	vsnprintf(text, sizeof(text), fmt, ap);
	sio_printf(&c->out, "%s%s%s\r\n", status, code, text);
}

void
pop3_ok(struct pop3_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply(c, "+OK ", "", fmt, ap);
	va_end(ap);
	c->errors = 0;
}

void
pop3_err(struct pop3_conn *c, const char *fmt, ...)
{
	char	text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (++c->errors < POP3_MAX_ERRORS) {
		sio_printf(&c->out, "-ERR %s\r\n", text);
		return;
	}
	sio_printf(&c->out, "-ERR %s (%d errors in a row, closing)\r\n", text,
	    POP3_MAX_ERRORS);
	log_warn("%s: %d errors in a row, closing", c->peer, POP3_MAX_ERRORS);
	c->end = "too many errors";
	c->done = true;
}

void
pop3_err_sys(struct pop3_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply(c, "-ERR ", "[SYS/TEMP] ", fmt, ap);
	va_end(ap);
}

static void
log_summary(struct pop3_conn *c)
{
	char	    peer[80], user[80], tls[100], tls_text[100] = "";
	const char *fields[] = { peer, user, NULL, NULL };

	snprintf(peer, sizeof(peer), "PEER=%s", c->peer);
	snprintf(user, sizeof(user), "POP3_USER=%s",
	    c->user[0] != '\0' ? c->user : "-");
	if (c->tls != NULL) {
		snprintf(tls, sizeof(tls), "TLS=%s %s", tls_version(c->tls),
		    tls_cipher(c->tls));
		snprintf(tls_text, sizeof(tls_text), ", %s %s",
		    tls_version(c->tls), tls_cipher(c->tls));
		fields[2] = tls;
	}
	log_fields(LOG_INFO, fields,
	    "session end (%s): %zu messages, %lu retrieved, %lu deleted, "
	    "%llu octets sent%s",
	    c->end, c->have_list ? c->list.count : 0, c->nretr, c->ndele,
	    (unsigned long long)c->octets, tls_text);
}

_Noreturn void
pop3_die_oom(struct pop3_conn *c)
{
	sio_printf(&c->out, "-ERR [SYS/TEMP] out of memory\r\n");
	sio_flush(&c->out);
	log_err("%s: out of memory", c->peer);
	c->end = "out of memory";
	log_summary(c);
	session_exit(EX_OSERR);
}

char *
pop3_next_arg(char **args)
{
	char *p = *args, *start;

	while (*p == ' ')
		p++;
	if (*p == '\0') {
		*args = p;
		return NULL;
	}
	start = p;
	while (*p != '\0' && *p != ' ')
		p++;
	if (*p != '\0')
		*p++ = '\0';
	*args = p;
	return start;
}

long
pop3_msg_arg(struct pop3_conn *c, const char *arg)
{
	size_t	    n = 0;
	const char *p;
	bool	    is_big = false;

	if (arg == NULL) {
		pop3_err(c, "missing message number");
		return -1;
	}
	for (p = arg; *p != '\0'; p++) {
		if (*p < '0' || *p > '9') {
			pop3_err(c, "invalid message number");
			return -1;
		}
		/* Past the count is as good as past SIZE_MAX: no overflow. */
		if (n > c->list.count)
			is_big = true;
		else
			n = n * 10 + (size_t)(*p - '0');
	}
	if (is_big || n == 0 || n > c->list.count) {
		pop3_err(c, "no such message");
		return -1;
	}
	if (c->marks[n - 1] & POP3_M_DELETED) {
		pop3_err(c, "message %zu already deleted", n);
		return -1;
	}
	return (long)(n - 1);
}

uint64_t
pop3_msg_size(struct pop3_conn *c, size_t i)
{
	struct maildir_msg *m = &c->list.msgs[i];

	if (m->has_wsize)
		return m->wsize;
	if (maildir_msg_wsize(c->md, &c->list, m) == -1) {
		/*
		 * The listing must go on: a vanished file gets 0 (RETR will
		 * say it is gone); an unreadable one its size on disk.  Either
		 * is a guess that RETR checks, should the file come back or
		 * become readable.
		 */
		c->marks[i] |= POP3_M_GUESSED;
		if (errno == ENOENT) {
			c->marks[i] |= POP3_M_GONE;
			m->wsize = 0;
		} else {
			log_warn("%s: cannot read %s: %s", c->peer, m->name,
			    strerror(errno));
			m->wsize = m->has_size ? m->size : 0;
		}
	}
	m->has_wsize = true;
	return m->wsize;
}

int
pop3_login(struct pop3_conn *c, const char *how)
{
	if (c->cfg->pop3_exclusive && !c->is_locked) {
		if (maildir_lock(c->md) == -1) {
			if (errno == EWOULDBLOCK) {
				log_info(
				    "%s: maildir in use by another session",
				    c->peer);
				pop3_err(c,
				    "[IN-USE] maildir in use by "
				    "another session, try again later");
			} else {
				log_err("%s: lock %s: %s", c->peer,
				    c->cfg->maildir, strerror(errno));
				pop3_err_sys(c, "cannot lock the maildir");
			}
			return -1;
		}
		c->is_locked = true;
	}
	/* Stale tmp/ files are cheap to clean while we are here. */
	if (maildir_clean_tmp(c->md, time(NULL)) == -1)
		log_warn("%s: cleaning tmp/: %s", c->peer, strerror(errno));
	if (maildir_new_to_cur(c->md) == -1)
		log_warn(
		    "%s: moving new/ to cur/: %s", c->peer, strerror(errno));
	if (maildir_list(c->md, &c->list) == -1) {
		if (errno == ENOMEM)
			pop3_die_oom(c);
		log_err("%s: listing %s: %s", c->peer, c->cfg->maildir,
		    strerror(errno));
		pop3_err_sys(c, "cannot read the maildir");
		return -1;
	}
	c->have_list = true;
	c->marks = calloc(c->list.count + 1, 1);
	if (c->marks == NULL)
		pop3_die_oom(c);
	log_info("%s: login (%s) user=%s, %zu messages", c->peer, how,
	    c->user[0] != '\0' ? c->user : "-", c->list.count);
	pop3_set_state(c, POP3_ST_TRANS);
	return 0;
}

ssize_t
pop3_read_line(struct pop3_conn *c, char **line_r)
{
	ssize_t n = sio_read_line(&c->in, c->cfg->pop3_timeout, line_r);

	if (n == SIO_TIMEOUT) {
		log_info("%s: idle timeout", c->peer);
		c->end = "timeout";
		c->done = true;
	} else if (n == SIO_EOF) {
		c->end = "eof";
		c->done = true;
	}
	return n;
}

static void
dispatch(struct pop3_conn *c, char *line, size_t len)
{
	const struct pop3_cmd *cmd = NULL;
	char		      *args, *verb;
	size_t		       i;

	c->ncommands++;
	if (strlen(line) != len) {
		pop3_err(c, "NUL byte in command");
		return;
	}
	/* Trailing blanks are a common client slip, not an argument. */
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		line[--len] = '\0';
	args = line;
	verb = pop3_next_arg(&args);
	if (verb == NULL) {
		pop3_err(c, "empty command");
		return;
	}
	for (i = 0; i < sizeof(pop3_cmds) / sizeof(pop3_cmds[0]); i++)
		if (strcasecmp(verb, pop3_cmds[i].verb) == 0) {
			cmd = &pop3_cmds[i];
			break;
		}
	if (cmd == NULL) {
		char shown[16];

		log_printable(shown, sizeof(shown), verb, SIZE_MAX);
		log_debug("%s: unknown command %s", c->peer, shown);
		pop3_err(c, "unknown command");
		return;
	}
	if (!(cmd->legal_in & (unsigned)c->state)) {
		pop3_err(c, "%s not allowed in the %s state", cmd->verb,
		    pop3_state_name(c->state));
		return;
	}
	if (cmd->needs_mailbox && c->state == POP3_ST_AUTH &&
	    pop3_login(c, "implicit") == -1)
		return;
	while (*args == ' ')
		args++;
	cmd->run(c, args);
}

int
pop3_session_run(struct pop3_conn *c)
{
	char   *line;
	ssize_t n;

	if (c->cfg->tls_mode == TLS_IMPLICIT && pop3_tls_implicit(c) != 0) {
		sio_hangup(&c->out);
		log_summary(c);
		return c->status;
	}
	pop3_ok(c, "BareMail POP3 ready %s", c->timestamp);
	while (!c->done) {
		n = sio_read_line(&c->in, c->cfg->pop3_timeout, &line);
		if (n == SIO_TOOLONG) {
			/* The reader has skipped to the next LF. */
			c->ncommands++;
			pop3_err(c, "line too long");
			continue;
		}
		if (n == SIO_TIMEOUT) {
			/* RFC 1939: close without entering UPDATE. */
			log_info("%s: idle timeout", c->peer);
			c->end = "timeout";
			break;
		}
		if (n < 0) {
			c->end = "eof";
			break; /* the client is gone: deletes nothing */
		}
		dispatch(c, line, (size_t)n);
		if (sio_failed(&c->out)) {
			c->end = "client gone";
			break;
		}
	}
	sio_hangup(&c->out);
	/*
	 * After the client has its last reply: sizes this session had to
	 * count are remembered for the next one.  QUIT's deletions are done
	 * (and dropped from the cache); a hang-up keeps every message.
	 */
	if (c->have_list && maildir_sizes_save(c->md, &c->list) == -1)
		log_info("%s: cannot write the size cache %s: %s", c->peer,
		    MAILDIR_SIZES_FILE, strerror(errno));
	log_summary(c);
	return c->status;
}
