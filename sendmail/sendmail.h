/*
 * baremail-sendmail: the sendmail-compatible command.
 *
 * Pieces, each testable (and fuzzable) without main():
 *   sendmail-args.c	the command line, sendmail's way
 *   sendmail-buf.c	the growing buffer and address list the others use
 *   sendmail-input.c	reading the message from stdin (a lone "." may end it)
 *   sendmail-addr.c	address qualification, -t recipients
 *   sendmail-headers.c	the header section: Received:, Bcc removal, the
 *			trace fields of the final delivery
 *   sendmail-deliver.c	maildir, else SMTP to [sendmail] smtp, else
 *			~/dead.letter
 *   sendmail-relay.c	-bs without the maildir: the session relayed to
 *			[sendmail] smtp
 *   sendmail-run.c	the program: mode, config, which of the above
 */
#ifndef SENDMAIL_H
#define SENDMAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "session-config.h"

/* ---- the command line (sendmail-args.c) ---- */

enum sendmail_mode {
	SM_MODE_DELIVER,    /* -bm, the default: a message on stdin */
	SM_MODE_SMTP,	    /* -bs: an SMTP session on stdin/stdout */
	SM_MODE_QUEUE_LIST, /* -bp, mailq: there is never a queue */
	SM_MODE_QUEUE_RUN,  /* -q[...]: nothing to run, successfully */
	SM_MODE_ALIASES,    /* -bi, -I, newaliases: no aliases to build */
	SM_MODE_VERIFY,	    /* -bv: says where each recipient would go */
	SM_MODE_HELP,	    /* --help */
	SM_MODE_VERSION,    /* --version (sendmail's -V is a DSN id) */
};

const char *sendmail_mode_name(enum sendmail_mode mode);

/* Called for each option that is accepted but not understood. */
typedef void (*sendmail_warn_fn)(void *arg, const char *msg);

struct sendmail_args {
	enum sendmail_mode mode;
	bool		   extract;	/* -t: recipients from To:/Cc:/Bcc: */
	bool		   ignore_dots; /* -i, -oi, -O IgnoreDots */
	bool		   verbose;	/* -v */
	bool		   has_sender;	/* -f or -r was given */
	const char	  *sender;	/* its value, brackets and all ("<>") */
	const char	  *fullname;	/* -F, or NULL */
	const char	  *config;	/* -C FILE, or NULL */
	char		 **rcpts;	/* arguments that are recipients */
	size_t		   nrcpts;
	unsigned	   nwarnings;
	sendmail_warn_fn   warn; /* may be NULL */
	void		  *warn_arg;
};

/*
 * Parses argv the way sendmail does: single-letter options, grouped
 * ("-ti") or not, values glued ("-FCronDaemon", "-oi") or in the next
 * argument ("-F Cron", "-N never"), "--" before recipients.  Options
 * other programs pass and that mean nothing here are accepted silently;
 * an unknown one is reported to a->warn and skipped, never consuming the
 * next argument (it may be a recipient).  The strings point into argv.
 * Returns 0, or -1 with a message in err for a mode that cannot be done
 * (-bd: BareMail never listens).  a->rcpts is allocated: free it with
 * sendmail_args_free().  a->warn and a->warn_arg are kept if set before.
 */
int sendmail_args_parse(
    struct sendmail_args *a, int argc, char **argv, char *err, size_t errlen);
void sendmail_args_free(struct sendmail_args *a);

/* ---- the message (sendmail-buf.c, -input.c, -addr.c, -headers.c) ---- */

/* A growing byte buffer. */
struct sm_buf {
	char  *p;
	size_t len;
	size_t cap;
};

int  sm_buf_add(struct sm_buf *b, const void *data, size_t len);
int  sm_buf_addstr(struct sm_buf *b, const char *s);
void sm_buf_free(struct sm_buf *b);

/* A list of addresses, each a NUL-terminated string. */
struct sm_addrs {
	char **v;
	size_t n;
	size_t cap;
};

int  sm_addrs_add(struct sm_addrs *l, const char *addr, size_t len);
void sm_addrs_free(struct sm_addrs *l);

/* States of the message reader (sendmail-headers.c). */
enum sm_in_state {
	SM_IN_BOL,   /* at the start of a line */
	SM_IN_DOT,   /* the line so far is "." (held back) */
	SM_IN_DOTCR, /* the line so far is ".\r" (held back) */
	SM_IN_MID,   /* inside a line */
	SM_IN_CR,    /* inside a line, after in->crs CRs (held back) */
};

/*
 * Reading the message: bytes from stdin go in through
 * sendmail_input_feed() in chunks of any size.  CRLF becomes LF (messages
 * are stored with LF).  Unless ignore_dots, a line holding only "." (or
 * ".\r") ends the message and the rest is not read; dots are not otherwise
 * touched (sendmail does not un-stuff outside SMTP); a "." on the last
 * line, without its line end, ends it too.  CRs before a LF belong to the
 * line end, so no CRLF is ever stored.  Past max bytes the rest is read
 * but dropped, and too_big is set.
 */
struct sendmail_input {
	struct sm_buf	 msg;
	size_t		 max;
	bool		 ignore_dots;
	bool		 done; /* the lone dot was seen */
	bool		 too_big;
	enum sm_in_state state;
	size_t		 crs; /* CRs held back in SM_IN_CR */
};

void sendmail_input_init(
    struct sendmail_input *in, bool ignore_dots, size_t max);
/* Returns 0, or -1 on ENOMEM.  Check in->done to stop reading early. */
int sendmail_input_feed(struct sendmail_input *in, const char *buf, size_t len);
/* Ends the input: adds the missing final line end.  Returns 0 or -1. */
int sendmail_input_finish(struct sendmail_input *in);

/* What the header pass needs to know about the submission. */
struct sendmail_submit {
	const char   *host;    /* qualifies bare addresses */
	const char   *user;    /* the calling user's login name */
	unsigned long uid;     /* and uid, for Received: */
	const char   *from;    /* a From: to add: "Name <a@h>" */
	bool	      extract; /* -t */
	time_t	      now;
};

/*
 * The finished message: head (Received:, the original header section
 * rewritten, the fields that were missing, the empty line) followed by the
 * body, which points into the input buffer.
 */
struct sendmail_msg {
	struct sm_buf	head;
	const char     *body;
	size_t		body_len;
	struct sm_addrs rcpts; /* from To:/Cc:/Bcc: when extract */
};

/*
 * Builds the message from what was read: prepends "Received:", qualifies
 * bare addresses in address fields (From:, To:, Cc:, Reply-To:, ...) with
 * s->host, with -t collects the recipients of To:, Cc: and Bcc: (qualified)
 * and drops Bcc:, and adds Date:, Message-ID: and From: when missing.
 * envelope_rcpts (may be NULL) is named in Received: when there is one.
 * Returns 0, or -1 (ENOMEM).  Free m with sendmail_msg_free().
 */
int  sendmail_msg_build(struct sendmail_msg *m, const char *raw, size_t len,
     const struct sendmail_submit *s, const struct sm_addrs *envelope_rcpts);
void sendmail_msg_free(struct sendmail_msg *m);

/*
 * The trace fields a final delivery puts on top, as smtp-session does:
 * "Return-Path: <sender>" and "X-Original-To:" naming every recipient
 * (folded).  Appends them to b.  Returns 0 or -1 (ENOMEM).
 */
int sendmail_trace(
    struct sm_buf *b, const char *sender, const struct sm_addrs *rcpts);

/*
 * Rewrites one address-list field value (without the name and colon):
 * every addr-spec that has no '@' gets "@host" (comments, quoted strings,
 * display names, groups and folding are kept), and when found is not NULL
 * each address, qualified and stripped of comments and blanks, is added to
 * it.  Appends the new value to out.  Returns 0 or -1 (ENOMEM).
 */
int sendmail_addr_rewrite(const char *val, size_t len, const char *host,
    struct sm_buf *out, struct sm_addrs *found);

/*
 * Turns a command-line address ("root", "<a@b>", "Name <a@b>", "a@b (x)")
 * into a bare addr-spec qualified with host, into buf.  "<>" and "" give
 * "".  Returns 0, or -1 when it does not fit.
 */
int sendmail_addr_qualify(
    const char *arg, const char *host, char *buf, size_t len);

/* ---- delivery (sendmail-deliver.c) ---- */

/* Where a message went. */
enum sendmail_via {
	SM_VIA_NONE,
	SM_VIA_MAILDIR,
	SM_VIA_SMTP,
	SM_VIA_DEAD_LETTER,
};

struct sendmail_delivery {
	const struct session_config *cfg;
	const char		    *sender; /* qualified sender, "" for <> */
	const struct sm_addrs	    *rcpts;  /* qualified envelope recipients */
	const struct sendmail_msg   *msg;
	enum sendmail_via	     via; /* result */
	bool smtp_permanent;		  /* the SMTP server said 5xx */
	char where[PATH_MAX + 512];	  /* file, or host:port */
	/* Why each way failed. */
	char why_maildir[PATH_MAX + 512];
	char why_smtp[1024];
};

/*
 * Stores the message in cfg->maildir.  Run as root, the delivery is done
 * with the effective ids of the maildir's owner, so the file belongs to
 * whoever serves it (pop3-session must be able to delete it) and root never
 * writes into a directory that someone else controls.  Returns 0, or -1
 * with d->why_maildir set.
 */
int sendmail_deliver_maildir(struct sendmail_delivery *d);

/*
 * Connects to the SMTP service at hostport ("host:port", "[v6]:port"),
 * with a timeout.  Returns the socket, or -1 with why set.
 */
int sendmail_smtp_connect(const char *hostport, char *why, size_t whylen);

/*
 * Submits the message over SMTP to cfg->sendmail_smtp ("host:port").
 * Returns 0, or -1 with d->why_smtp set (d->smtp_permanent for 5xx).
 */
int sendmail_deliver_smtp(struct sendmail_delivery *d);

/*
 * Appends the message to path (an mbox: a "From " line, ">From " quoting,
 * an empty line after it), creating it 0600.  Returns 0 or -1 (errno).
 */
int sendmail_dead_letter(const struct sendmail_delivery *d, const char *path);

/* ---- -bs without the maildir (sendmail-relay.c) ---- */

/*
 * Copies the client's bytes (in_fd) to the SMTP service on sock and the
 * service's to the client (out_fd) until the service closes: the session
 * is the service's.  The end of the client's input is passed on as a
 * half-close.  Returns 0; EX_TEMPFAIL when the service hung up without a
 * word (the client then gets a 421 naming hostname); EX_IOERR when the
 * connection failed.
 */
int sendmail_relay(int sock, int in_fd, int out_fd, const char *hostname);

/* ---- the program (sendmail-run.c) ---- */

/* Does everything main() does; returns the exit status (<sysexits.h>). */
int sendmail_run(int argc, char **argv);

#endif
