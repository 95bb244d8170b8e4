/*
 * The stored message: trace fields on top (Return-Path:, X-Original-To:,
 * Received:), the client's content through the Date:/Message-ID: fix-up,
 * and the commit that alone allows a 250.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "session-log.h"
#include "smtp-private.h"

#define FOLD_AT 78 /* RFC 5322 2.1.1: lines SHOULD stay within 78 */

static int
hf_emit(void *arg, const void *buf, size_t len)
{
	struct smtp_conn *c = arg;

	if (maildir_deliver_write(c->tx.tmp, buf, len) != 0)
		return -1;
	c->tx.stored += len;
	return 0;
}

/* Writes a formatted piece of the trace fields; -1 on a write error. */
static int trace_printf(struct smtp_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
trace_printf(struct smtp_conn *c, const char *fmt, ...)
{
	char	buf[2 * SMTP_ADDR_MAX + 512];
	va_list ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf) {
		errno = EOVERFLOW;
		return -1;
	}
	return hf_emit(c, buf, (size_t)n);
}

/* Every recipient, once, folded: one copy of the message serves them all. */
static int
write_original_to(struct smtp_conn *c)
{
	const struct smtp_tx *tx = &c->tx;
	size_t		      col = strlen("X-Original-To: ");

	if (trace_printf(c, "X-Original-To: ") < 0)
		return -1;
	for (size_t off = 0; off < tx->rcpts_len;) {
		const char *r = tx->rcpts + off;
		size_t	    len = strlen(r);
		bool	    first = off == 0;

		off += len + 1;
		if (!first && col + 2 + len > FOLD_AT) {
			if (trace_printf(c, ",\n\t") < 0)
				return -1;
			col = 8;
		} else if (!first) {
			if (trace_printf(c, ", ") < 0)
				return -1;
			col += 2;
		}
		if (trace_printf(c, "%s", r) < 0)
			return -1;
		col += len;
	}
	return trace_printf(c, "\n");
}

/* RFC 3848's "with" keyword: ESMTP, ESMTPA after AUTH, UTF8SMTP (RFC 6531)... */
static const char *
with_protocol(const struct smtp_conn *c)
{
	if (c->tx.smtputf8)
		return c->authed ? "UTF8SMTPA" : "UTF8SMTP";
	if (c->authed)
		return "ESMTPA";
	return c->esmtp ? "ESMTP" : "SMTP";
}

static int
write_trace(struct smtp_conn *c)
{
	const struct smtp_tx *tx = &c->tx;
	char		      date[HEADER_DATE_MAX];
	const char	     *peer = c->peer;
	bool		      bracket =
	    strspn(peer, "0123456789.") == strlen(peer) && peer[0] != '\0';

	header_date(time(NULL), date, sizeof date);
	if (trace_printf(c, "Return-Path: <%s>\n", tx->from) < 0 ||
	    write_original_to(c) < 0 ||
	    trace_printf(c, "Received: from %s (%s%s%s)\n",
		c->helo[0] != '\0' ? c->helo : "unknown", bracket ? "[" : "",
		peer, bracket ? "]" : "") < 0 ||
	    trace_printf(c, "\tby %s (BareMail) with %s id %s",
		c->cfg->hostname, with_protocol(c), tx->tmp->name) < 0)
		return -1;
	if (tx->nrcpts == 1)
		return trace_printf(c, "\n\tfor <%s>; %s\n", tx->rcpts, date);
	return trace_printf(c, ";\n\t%s\n", date);
}

/* Records a maildir failure once, with its context, and drops the tmp file. */
static void
tx_disk_error(struct smtp_conn *c, const char *what, int e)
{
	struct smtp_tx *tx = &c->tx;

	log_err("maildir %s: %s %s: %s", c->cfg->maildir, what,
	    tx->tmp->name[0] != '\0' ? tx->tmp->name : "(new file)",
	    strerror(e));
	if (tx->open) {
		maildir_deliver_abort(tx->tmp);
		tx->open = false;
	}
	tx->err = TX_ERR_DISK;
	tx->errnum = e;
}

int
smtp_tx_begin(struct smtp_conn *c)
{
	struct smtp_tx *tx = &c->tx;

	tx->err = TX_ERR_NONE;
	tx->stored = 0;
	tx->tmp->name[0] = '\0';
	if (maildir_deliver_begin(c->md, tx->tmp) != 0) {
		tx_disk_error(c, "cannot create a file in tmp/ for", errno);
		return -1;
	}
	tx->open = true;
	if (write_trace(c) != 0) {
		tx_disk_error(c, "cannot write", errno);
		return -1;
	}
	header_fix_init(&tx->hf, c->cfg->hostname, NULL, hf_emit, c);
	return 0;
}

int
smtp_tx_sink(void *arg, const char *buf, size_t len)
{
	struct smtp_conn *c = arg;
	struct smtp_tx	 *tx = &c->tx;

	if (tx->err != TX_ERR_NONE)
		return 0; /* draining to the end */
	if (tx->data.wire > c->cfg->max_message_size) {
		/* Keep reading to the end, else the rest is taken for commands. */
		log_info("message from %s over %zu bytes: draining, then 552",
		    c->peer, c->cfg->max_message_size);
		maildir_deliver_abort(tx->tmp);
		tx->open = false;
		tx->err = TX_ERR_SIZE;
		return 0;
	}
	if (header_fix_write(&tx->hf, buf, len) != 0)
		tx_disk_error(c, "cannot write", errno);
	return 0;
}

void
smtp_tx_err_reply(struct smtp_conn *c)
{
	switch (c->tx.err) {
	case TX_ERR_SIZE:
		smtp_reply(c, 552, "5.3.4",
		    "Error: message size exceeds fixed "
		    "maximum message size (%zu)",
		    c->cfg->max_message_size);
		break;
	case TX_ERR_DISK:
		/* The machine's trouble, not the client's: 4xx, it retries. */
		if (c->tx.errnum == ENOSPC || c->tx.errnum == EDQUOT)
			smtp_reply(c, 452, "4.3.1",
			    "Error: insufficient "
			    "system storage");
		else
			smtp_reply(c, 451, "4.3.0",
			    "Error: local error in "
			    "processing");
		break;
	case TX_ERR_NONE:
		smtp_reply(c, 451, "4.3.0", "Error: local error in processing");
		break;
	}
}

void
smtp_tx_end(struct smtp_conn *c)
{
	struct smtp_tx *tx = &c->tx;
	char		uniq[MAILDIR_NAME_MAX + 1], final[MAILDIR_NAME_MAX + 1];

	if (tx->err == TX_ERR_NONE && header_fix_finish(&tx->hf) != 0)
		tx_disk_error(c, "cannot write", errno);
	if (tx->err == TX_ERR_NONE) {
		memcpy(uniq, tx->tmp->name, sizeof uniq);
		uniq[sizeof uniq - 1] = '\0';
		/* On failure commit has removed the tmp file itself. */
		tx->open = false;
		if (maildir_deliver_commit(tx->tmp, final, sizeof final) != 0)
			tx_disk_error(c, "cannot deliver", errno);
	}
	if (tx->err != TX_ERR_NONE) {
		smtp_tx_err_reply(c);
		smtp_tx_reset(c);
		return;
	}
	c->messages++;
	c->bytes += tx->stored;
	/* 250 only after commit: the client deletes its copy when it sees it. */
	smtp_reply(c, 250, "2.0.0", "Ok: queued as %s", uniq);
	/*
	 * The client waits for this reply unless it pipelined more: let it
	 * have it before the log line, which may be slow (journal).
	 */
	if (!lr_pending(&c->in))
		out_flush(&c->out);
	{
		char	    file[MAILDIR_NAME_MAX + 32], size[40], peer[160];
		const char *fields[] = { file, size, peer, NULL };

		snprintf(file, sizeof file, "MESSAGE_FILE=%s", final);
		snprintf(size, sizeof size, "SIZE=%" PRIu64, tx->stored);
		snprintf(peer, sizeof peer, "PEER=%s", c->peer);
		log_fields(LOG_INFO, fields,
		    "stored new/%s from <%s> for %u "
		    "recipient(s), %" PRIu64 " bytes",
		    final, tx->from, tx->nrcpts, tx->stored);
	}
	smtp_tx_reset(c);
}
