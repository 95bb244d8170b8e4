/*
 * The SMTP transaction's life: begin (a tmp file and the trace fields),
 * the content through the Date:/Message-ID: fix-up, the commit that alone
 * allows a 250, and the reset that forgets the envelope.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session-log.h"
#include "smtp-private.h"

int
smtp_tx_init(struct smtp_tx *tx)
{
	/* Not calloc: zeroing its 64 KB buffer costs page faults per session. */
	tx->tmp = malloc(sizeof *tx->tmp);
	if (tx->tmp == NULL)
		return -1;
	maildir_tmp_init(tx->tmp);
	return 0;
}

/* Removes what the group staged or moved: none of it was acknowledged. */
static void
group_remove(struct smtp_group *g)
{
	for (size_t i = 0; i < g->n; i++)
		maildir_staged_remove(g->md, &g->v[i].staged);
	g->n = 0;
}

void
smtp_tx_free(struct smtp_tx *tx)
{
	if (tx->open)
		maildir_deliver_abort(tx->tmp);
	tx->open = false;
	if (tx->group != NULL)
		group_remove(tx->group);
	free(tx->group);
	tx->group = NULL;
	free(tx->rcpts);
	free(tx->tmp);
	tx->rcpts = NULL;
	tx->tmp = NULL;
}

void
smtp_tx_reset(struct smtp_conn *c)
{
	struct smtp_tx *tx = &c->tx;

	if (tx->open) {
		maildir_deliver_abort(tx->tmp);
		tx->open = false;
	}
	tx->from[0] = '\0';
	tx->rcpts_len = 0;
	tx->nrcpts = 0;
	tx->smtputf8 = false;
	tx->err = TX_ERR_NONE;
	tx->errnum = 0;
	tx->stored = 0;
	smtp_set_state(c, SMTP_ST_READY);
}

int
smtp_tx_write(void *arg, const void *buf, size_t len)
{
	struct smtp_conn *c = arg;

	if (maildir_deliver_write(c->tx.tmp, buf, len) != 0)
		return -1;
	c->tx.stored += len;
	return 0;
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
	if (maildir_deliver_begin(c->md, tx->tmp) != 0) {
		tx_disk_error(c, "cannot create a file in tmp/ for", errno);
		return -1;
	}
	tx->open = true;
	if (smtp_trace_write(c) != 0) {
		tx_disk_error(c, "cannot write", errno);
		return -1;
	}
	header_fix_init(&tx->hf, c->cfg->hostname, NULL, smtp_tx_write, c);
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

/* The log line of a message now in new/ under final. */
static void
log_stored(struct smtp_conn *c, const char *final, const char *from,
    unsigned nrcpts, uint64_t stored)
{
	char	    file[MAILDIR_NAME_MAX + 32], size[40], peer[160];
	const char *fields[] = { file, size, peer, NULL };

	snprintf(file, sizeof file, "MESSAGE_FILE=%s", final);
	snprintf(size, sizeof size, "SIZE=%" PRIu64, stored);
	snprintf(peer, sizeof peer, "PEER=%s", c->peer);
	log_fields(LOG_INFO, fields,
	    "stored new/%s from <%s> for %u recipient(s), %" PRIu64 " bytes",
	    final, from, nrcpts, stored);
}

/* Takes back message i's buffered 250: removed, it gets the 4xx. */
static void
group_refuse(struct smtp_conn *c, struct smtp_group_msg *gm, int e)
{
	char text[128];
	int  n;

	maildir_staged_remove(c->tx.group->md, &gm->staged);
	if (e == ENOSPC || e == EDQUOT)
		n = snprintf(text, sizeof text,
		    "452 4.3.1 Error: insufficient system storage\r\n");
	else
		n = snprintf(text, sizeof text,
		    "451 4.3.0 Error: local error in processing\r\n");
	/* Shorter than the 250 it replaces, which is still buffered. */
	if (n < 0 ||
	    sio_replace(
		&c->out, gm->reply_off, gm->reply_len, text, (size_t)n) != 0)
		abort();
	c->messages--;
	c->bytes -= gm->stored;
}

void
smtp_tx_group_commit(void *arg)
{
	struct smtp_conn  *c = arg;
	struct smtp_group *g = c->tx.group;
	int		   errs[SMTP_GROUP_MAX] = { 0 };
	size_t		   published = 0;

	if (g == NULL || g->n == 0)
		return;
	if (sio_failed(&c->out)) {
		/* The 250s can no longer reach the client: it will retry. */
		log_info("client %s gone before %zu message(s) were "
			 "acknowledged: removed",
		    c->peer, g->n);
		for (size_t i = 0; i < g->n; i++) {
			c->messages--;
			c->bytes -= g->v[i].stored;
		}
		group_remove(g);
		return;
	}
	for (size_t i = 0; i < g->n; i++) {
		if (maildir_deliver_publish(g->md, &g->v[i].staged) == 0) {
			published++;
			continue;
		}
		errs[i] = errno;
		log_err("maildir %s: cannot deliver %s: %s", c->cfg->maildir,
		    g->v[i].staged.name, strerror(errno));
	}
	/* One fsync of new/ for the whole group: the point of it. */
	if (published > 0 && maildir_deliver_sync(g->md) != 0) {
		log_err("maildir %s: cannot fsync new/: %s; %zu message(s) "
			"not delivered",
		    c->cfg->maildir, strerror(errno), published);
		for (size_t i = 0; i < g->n; i++)
			if (errs[i] == 0)
				errs[i] = errno;
	}
	/* From the last: a replaced reply moves those after it. */
	for (size_t i = g->n; i-- > 0;) {
		if (errs[i] != 0)
			group_refuse(c, &g->v[i], errs[i]);
		else
			log_stored(c, g->v[i].staged.final, g->v[i].from,
			    g->v[i].nrcpts, g->v[i].stored);
	}
	g->n = 0;
}

/*
 * Stages the transaction's message in the group, 250 buffered, when the
 * client has already sent more: its durability waits for the group's.
 * Returns 0 when it did (or failed with tx->err set), -1 when the
 * message should be committed alone.
 */
static int
group_add(struct smtp_conn *c, const char *uniq)
{
	struct smtp_tx	      *tx = &c->tx;
	struct smtp_group     *g = tx->group;
	struct smtp_group_msg *gm;

	if ((g == NULL || g->n == 0) && !sio_ready(&c->in))
		return -1;
	if (g == NULL) {
		/* Without memory for it, the message goes alone. */
		if ((g = tx->group = malloc(sizeof *g)) == NULL)
			return -1;
		g->n = 0;
	}
	g->md = c->md;
	/*
	 * The 250 must land in the buffer whole and stay where it landed:
	 * make room first (the barrier commits the group so far).
	 */
	if (SIO_OUT_BUFSIZE - sio_mark(&c->out) < SMTP_REPLY_MAX)
		sio_flush(&c->out);
	gm = &g->v[g->n];
	tx->open = false;
	if (maildir_deliver_stage(tx->tmp, &gm->staged) != 0) {
		tx_disk_error(c, "cannot deliver", errno);
		return 0;
	}
	gm->stored = tx->stored;
	gm->nrcpts = tx->nrcpts;
	memcpy(gm->from, tx->from, sizeof gm->from);
	c->messages++;
	c->bytes += tx->stored;
	/* Written now, in order; the barrier holds it until durable. */
	gm->reply_off = sio_mark(&c->out);
	smtp_reply(c, 250, "2.0.0", "Ok: queued as %s", uniq);
	gm->reply_len = sio_mark(&c->out) - gm->reply_off;
	g->n++;
	if (g->n == SMTP_GROUP_MAX)
		smtp_tx_group_commit(c);
	return 0;
}

void
smtp_tx_commit(struct smtp_conn *c)
{
	struct smtp_tx *tx = &c->tx;
	char		uniq[MAILDIR_NAME_MAX + 1], final[MAILDIR_NAME_MAX + 1];

	if (tx->err == TX_ERR_NONE && header_fix_finish(&tx->hf) != 0)
		tx_disk_error(c, "cannot write", errno);
	if (tx->err == TX_ERR_NONE) {
		memcpy(uniq, tx->tmp->name, sizeof uniq);
		uniq[sizeof uniq - 1] = '\0';
		if (group_add(c, uniq) == 0) {
			if (tx->err != TX_ERR_NONE)
				smtp_tx_err_reply(c);
			smtp_tx_reset(c);
			return;
		}
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
	if (!sio_pending(&c->in))
		sio_flush(&c->out);
	log_stored(c, final, tx->from, tx->nrcpts, tx->stored);
	smtp_tx_reset(c);
}
