/*
 * Inside libsmtp: the connection, the open transaction, and what the
 * command files share.  Not for other programs (they use smtp-session.h).
 */
#ifndef SMTP_PRIVATE_H
#define SMTP_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maildir.h"
#include "session-config.h"
#include "session-header.h"
#include "session-io.h"
#include "smtp-session.h"

#define SMTP_LINE_MAX	4096 /* command line, without CRLF (RFC 5321: >= 512) */
#define SMTP_ADDR_MAX	512  /* an address between < and > */
#define SMTP_HELO_MAX	255  /* what we keep of the HELO/EHLO name */
#define SMTP_MAX_ERRORS 20   /* consecutive protocol errors before 421 */
#define SMTP_READ_CHUNK 65536 /* DATA/BDAT bytes handled per step */

/* Session states: a command's legal_in is a mask of these. */
enum smtp_state {
	SMTP_ST_READY = 1 << 0, /* no transaction (before or after HELO) */
	SMTP_ST_MAIL = 1 << 1,	/* MAIL accepted, no recipient yet */
	SMTP_ST_RCPT = 1 << 2,	/* at least one recipient accepted */
	SMTP_ST_BDAT = 1 << 3,	/* inside a BDAT sequence, LAST not yet seen */
};
#define SMTP_ST_ANY (SMTP_ST_READY | SMTP_ST_MAIL | SMTP_ST_RCPT | SMTP_ST_BDAT)

/* Why the open transaction can no longer succeed. */
enum tx_err {
	TX_ERR_NONE,
	TX_ERR_SIZE, /* over max_message_size: drain, then 552 */
	TX_ERR_DISK, /* the maildir failed: 451 (452 when full), tx->errnum */
};

/* States of the DATA/BDAT byte machine (smtp-data.c). */
enum smtp_data_state {
	SMTP_D_TEXT,   /* inside a line */
	SMTP_D_CR,     /* inside a line, after a CR not yet written */
	SMTP_D_BOL,    /* at the start of the data, or after CRLF */
	SMTP_D_BOL_LF, /* after a bare LF */
	SMTP_D_DOT,    /* after (start or CRLF) "." */
	SMTP_D_DOT_CR, /* after (start or CRLF) "." CR */
	SMTP_D_DOT_LF, /* after bare LF "." (bare-LF mode only) */
};

/* The line ends of the data, known once its first line has ended. */
enum smtp_data_mode {
	SMTP_DM_UNKNOWN, /* the first line has not ended yet */
	SMTP_DM_CRLF,	 /* the first line ended in CRLF */
	SMTP_DM_LF,	 /* the first line ended in a bare LF */
};

/*
 * The DATA/BDAT byte machine: undoes dot-stuffing (DATA only), finds the
 * end of DATA, and turns CRLF into LF for storage (see smtp-data.c).
 */
struct smtp_data {
	enum smtp_data_state state;
	enum smtp_data_mode  mode;
	bool		     dot;  /* DATA (dot-stuffed) rather than BDAT */
	uint64_t	     wire; /* content size with CRLF counted as 2 */
};

/* What smtp_data_feed() hands its output to; returns 0 or -1. */
typedef int (*smtp_sink_fn)(void *arg, const char *buf, size_t len);

void smtp_data_init(struct smtp_data *d, bool dot);
/*
 * Runs len bytes through the machine, passing content to sink.  Sets
 * *used_r to the bytes consumed; returns 1 when the end of DATA was seen
 * (the bytes after it are not consumed), 0 when more is needed, -1 when
 * sink failed.
 */
int smtp_data_feed(struct smtp_data *d, const char *in, size_t len,
    size_t *used_r, smtp_sink_fn sink, void *arg);
/* Emits what the machine still holds (a CR at the end of BDAT content). */
int smtp_data_finish(struct smtp_data *d, smtp_sink_fn sink, void *arg);

/*
 * Group commit: messages of a pipelining client, staged (file fsynced,
 * still in tmp/) with their 250 already buffered, made durable together
 * (moved into new/, one fsync of new/) before any of those replies is
 * written to the client (smtp-tx.c).
 */
#define SMTP_GROUP_MAX 32
#define SMTP_REPLY_MAX 1100 /* a reply line: smtp_reply()'s 1024 and more */

struct smtp_group_msg {
	struct maildir_staged staged;
	size_t		      reply_off; /* its 250 in c->out's buffer */
	size_t		      reply_len;
	uint64_t	      stored;
	unsigned	      nrcpts;
	char		      from[SMTP_ADDR_MAX + 1];
};

struct smtp_group {
	struct maildir	     *md;
	size_t		      n;
	struct smtp_group_msg v[SMTP_GROUP_MAX];
};

/* The open transaction: reset in one place, smtp_tx_reset(). */
struct smtp_tx {
	char		  from[SMTP_ADDR_MAX + 1]; /* "" for the null sender */
	char		 *rcpts; /* NUL-separated recipients */
	size_t		  rcpts_len;
	size_t		  rcpts_cap;
	unsigned	  nrcpts;
	bool		  smtputf8; /* MAIL ... SMTPUTF8 */
	bool		  open;	    /* a maildir delivery is under way */
	enum tx_err	  err;
	int		  errnum; /* errno of TX_ERR_DISK */
	uint64_t	  stored; /* bytes handed to the maildir */
	struct smtp_data  data;
	struct header_fix hf;
	struct maildir_tmp *tmp;   /* allocated once per session */
	struct smtp_group  *group; /* allocated on the first pipelined one */
};

struct smtp_conn {
	const struct session_config *cfg;
	struct maildir		    *md;
	enum smtp_state		     state;
	unsigned		     errors; /* consecutive protocol errors */
	bool			     esmtp;  /* greeted with EHLO */
	bool			     authed; /* AUTH succeeded */
	bool		  done;	    /* QUIT or end of input: leave the loop */
	bool		  disk_low; /* last MAIL under [smtp] min_free */
	const char	 *result; /* for the summary line: "quit", "eof", ... */
	char		  helo[SMTP_HELO_MAX + 1];
	char		  peer[128];
	char		  auth_user[128];
	unsigned long	  messages; /* delivered in this session */
	uint64_t	  bytes;
	struct smtp_tx	  tx;
	struct sio_reader in;
	struct sio_writer out;
	struct tls_conn	 *tls; /* after STARTTLS or implicit TLS, else NULL */
};

/* ---- smtp-session.c ---- */

/* Writes a reply line: "code enh text".  Counts 5xx syntax/sequence errors. */
void smtp_reply(struct smtp_conn *c, int code, const char *enh, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));
/* The non-final line of a multi-line reply, without enhanced code (EHLO). */
void smtp_reply_more(struct smtp_conn *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Replies, flushes, logs the summary, removes a tmp file and ends. */
_Noreturn void die_reply(struct smtp_conn *c, int status, int code,
    const char *enh, const char *text, const char *result);
void	       smtp_set_state(struct smtp_conn *c, enum smtp_state state);
const char    *smtp_state_name(enum smtp_state state);
/* Seconds to wait for a command, and for the next piece of DATA/BDAT. */
unsigned smtp_cmd_timeout(const struct smtp_conn *c);
unsigned smtp_data_timeout(const struct smtp_conn *c);
/*
 * Reads a line inside a command (AUTH's exchange).  Handles a timeout
 * (421, exit) itself; returns the length, SIO_EOF, or SIO_TOOLONG.
 */
ssize_t smtp_read_line(struct smtp_conn *c, char **line_r);

/* ---- smtp-commands.c ---- */

void smtp_cmd_ehlo(struct smtp_conn *c, char *args);
void smtp_cmd_helo(struct smtp_conn *c, char *args);
void smtp_cmd_mail(struct smtp_conn *c, char *args);
void smtp_cmd_rcpt(struct smtp_conn *c, char *args);
void smtp_cmd_rset(struct smtp_conn *c, char *args);
void smtp_cmd_noop(struct smtp_conn *c, char *args);
void smtp_cmd_quit(struct smtp_conn *c, char *args);
void smtp_cmd_vrfy(struct smtp_conn *c, char *args);
void smtp_cmd_expn(struct smtp_conn *c, char *args);
void smtp_cmd_help(struct smtp_conn *c, char *args);
/*
 * Parses "<addr> PARAMS" after MAIL FROM:/RCPT TO: (forgiving: space
 * after the colon, no angle brackets, a source route).  The address,
 * route dropped, goes to addr (SMTP_ADDR_MAX + 1); *params_r points at
 * the rest.  Returns 0, or -1 with a reason in *why_r.
 */
int smtp_parse_path(char *args, const char *keyword, char *addr,
    char **params_r, const char **why_r);

/* ---- smtp-data.c ---- */

void smtp_cmd_data(struct smtp_conn *c, char *args);

/*
 * Reads the next piece of DATA or BDAT content, at most max bytes, with
 * the data timeout (421 and exit when it runs out).  At the end of input
 * the transaction is dropped and the session marked done.  verb ("DATA"
 * or "BDAT") names the command in the log.  Returns the length (> 0), or
 * -1 when the session is over.
 */
ssize_t smtp_data_read(
    struct smtp_conn *c, const char *verb, size_t max, char **buf_r);

/* ---- smtp-bdat.c ---- */

void smtp_cmd_bdat(struct smtp_conn *c, char *args);
/* BDAT out of sequence: the chunk still follows and must be read. */
void smtp_cmd_bdat_drain(struct smtp_conn *c, char *args);

/* ---- smtp-auth.c ---- */

void smtp_cmd_auth(struct smtp_conn *c, char *args);

/* ---- smtp-starttls.c ---- */

void smtp_cmd_starttls(struct smtp_conn *c, char *args);
/* EHLO's STARTTLS line: on a --tls=starttls listener with a certificate, before TLS. */
bool smtp_tls_offered(const struct smtp_conn *c);
/*
 * Implicit TLS (--tls=implicit): the handshake before the greeting.
 * Returns 0, or -1 when the session must end now (logged) with the exit
 * status in *status_r: EX_CONFIG without a usable certificate.
 */
int smtp_tls_implicit(struct smtp_conn *c, int *status_r);

/* ---- smtp-trace.c ---- */

/*
 * Writes Return-Path:, X-Original-To: and Received: for the open
 * transaction through smtp_tx_write(); -1 on a write error.
 */
int smtp_trace_write(struct smtp_conn *c);

/* ---- smtp-tx.c ---- */

/*
 * Makes the staged messages of the group durable; the barrier of c->out,
 * so it runs before their 250s are written.  A message that fails is
 * removed and its buffered 250 becomes a 451 (452 on a full disk), as if
 * it had been committed alone.
 */
void smtp_tx_group_commit(void *arg);

/* Allocates the tmp file's struct once per session; -1 when out of memory. */
int smtp_tx_init(struct smtp_tx *tx);
/* Aborts an open delivery and frees what smtp_tx_init() allocated. */
void smtp_tx_free(struct smtp_tx *tx);
/*
 * Starts the delivery of the transaction's message: a tmp file, then the
 * trace fields, then the header fix-up.  Returns 0, or -1 with tx->err
 * set (nothing left behind).
 */
int smtp_tx_begin(struct smtp_conn *c);
/* Writes to the open tmp file and counts the bytes stored; 0 or -1. */
int smtp_tx_write(void *arg, const void *buf, size_t len);
/* smtp_sink_fn for the message content: size limit, fix-up, maildir. */
int smtp_tx_sink(void *arg, const char *buf, size_t len);
/*
 * Ends the content: the reply to the final dot or BDAT LAST.  Commits
 * when all went well (250 only then), else 552/451/452; resets the tx.
 */
void smtp_tx_commit(struct smtp_conn *c);
/* The reply for a transaction that already failed (tx->err), without ending it. */
void smtp_tx_err_reply(struct smtp_conn *c);
/* Ends the transaction: aborts an open delivery, forgets the envelope. */
void smtp_tx_reset(struct smtp_conn *c);

#endif
