/*
 * DATA: the byte machine that undoes dot-stuffing, finds the end of the
 * data and turns line ends into LF for storage; BDAT reuses it without
 * the dots.
 *
 * The end of DATA is CRLF "." CRLF, and nothing else, with one exception
 * (Exim's): a client whose first line of data ends in a bare LF (a
 * "printf | nc" script) may also end with LF "." LF.  Every other mix
 * (LF "." CRLF, CRLF "." LF, CR "." CR, a NUL before the dot, ...) is
 * content: one DATA can never be read as two messages, which is what SMTP
 * smuggling (2023) needs.  Inside the content a bare LF is a line end and
 * is stored as LF, a bare CR is stored as it came, CRLF is stored as LF.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "session-log.h"
#include "smtp-private.h"

void
smtp_data_init(struct smtp_data *d, bool dot)
{
	d->state = dot ? SMTP_D_BOL : SMTP_D_TEXT;
	d->mode = SMTP_DM_UNKNOWN;
	d->dot = dot;
	d->wire = 0;
}

/* Output collected from one feed, handed to the sink in large pieces. */
struct dout {
	smtp_sink_fn	  sink;
	void		 *arg;
	struct smtp_data *d;
	int		  rc;
	size_t		  len;
	char		  buf[8192];
};

static void
dout_flush(struct dout *o)
{
	if (o->len > 0 && o->rc == 0) {
		o->d->wire += o->len;
		if (o->sink(o->arg, o->buf, o->len) != 0)
			o->rc = -1;
	}
	o->len = 0;
}

static void
dout_put(struct dout *o, const char *p, size_t n)
{
	while (n > 0) {
		size_t room = sizeof o->buf - o->len;
		size_t k = n < room ? n : room;
		memcpy(o->buf + o->len, p, k);
		o->len += k;
		p += k;
		n -= k;
		if (o->len == sizeof o->buf)
			dout_flush(o);
	}
}

static void
dout_byte(struct dout *o, char ch)
{
	dout_put(o, &ch, 1);
}

/* A line ended (the LF is written): what comes next. */
static void
line_end(struct smtp_data *d, bool crlf)
{
	if (d->mode == SMTP_DM_UNKNOWN)
		d->mode = crlf ? SMTP_DM_CRLF : SMTP_DM_LF;
	if (!d->dot)
		d->state = SMTP_D_TEXT;
	else
		d->state = crlf ? SMTP_D_BOL : SMTP_D_BOL_LF;
}

int
smtp_data_feed(struct smtp_data *d, const char *in, size_t len, size_t *used_r,
    smtp_sink_fn sink, void *arg)
{
	struct dout o = { .sink = sink, .arg = arg, .d = d };
	size_t	    i = 0;
	int	    ended = 0;

	while (i < len && !ended && o.rc == 0) {
		char ch = in[i];

		switch (d->state) {
		case SMTP_D_TEXT: {
			size_t j = i;
			while (j < len && in[j] != '\r' && in[j] != '\n')
				j++;
			dout_put(&o, in + i, j - i);
			i = j;
			if (i == len)
				break;
			if (in[i] == '\r') {
				d->state = SMTP_D_CR;
			} else {
				/*
				 * DATA's size counts a line end as CRLF
				 * (RFC 1870), as it is served; BDAT's counts
				 * the octets sent.
				 */
				if (d->dot)
					d->wire++;
				dout_byte(&o, '\n');
				line_end(d, false);
			}
			i++;
			break;
		}
		case SMTP_D_CR:
			if (ch == '\n') {
				/*
				 * The CR, counted though not stored: before
				 * the LF, whose byte may fill the buffer and
				 * have the piece checked against the limit.
				 */
				d->wire++;
				dout_byte(&o, '\n');
				line_end(d, true);
				i++;
			} else if (ch == '\r') {
				dout_byte(
				    &o, '\r'); /* the earlier CR was bare */
				i++;
			} else {
				dout_byte(&o, '\r');
				d->state = SMTP_D_TEXT;
			}
			break;
		case SMTP_D_BOL:
			if (ch == '.') {
				d->state = SMTP_D_DOT;
				i++;
			} else {
				d->state = SMTP_D_TEXT;
			}
			break;
		case SMTP_D_BOL_LF:
			/* In a CRLF message a bare LF does not start a protocol line. */
			if (ch == '.' && d->mode == SMTP_DM_LF) {
				d->state = SMTP_D_DOT_LF;
				i++;
			} else {
				d->state = SMTP_D_TEXT;
			}
			break;
		case SMTP_D_DOT:
			if (ch == '\r') {
				d->state = SMTP_D_DOT_CR;
				i++;
			} else if (ch == '\n' && d->mode == SMTP_DM_UNKNOWN) {
				/* "." LF as the very first line: bare-LF mode's end. */
				ended = 1;
				i++;
			} else if (ch == '\n') {
				/* CRLF "." LF is content; a lone dot is kept. */
				dout_byte(&o, '.');
				d->state = SMTP_D_TEXT;
			} else {
				/* The stuffed dot goes; ".." leaves one. */
				d->state = SMTP_D_TEXT;
			}
			break;
		case SMTP_D_DOT_CR:
			if (ch == '\n') {
				ended = 1;
				i++;
			} else {
				/* "." CR x: the dot was stuffing, the CR is bare. */
				d->state = SMTP_D_CR;
			}
			break;
		case SMTP_D_DOT_LF:
			if (ch == '\n') {
				ended = 1;
				i++;
			} else if (ch == '\r') {
				/* LF "." CR...: a mix, content; keep the dot. */
				dout_byte(&o, '.');
				d->state = SMTP_D_TEXT;
			} else {
				d->state = SMTP_D_TEXT;
			}
			break;
		}
	}
	dout_flush(&o);
	*used_r = i;
	if (o.rc != 0)
		return -1;
	return ended;
}

int
smtp_data_finish(struct smtp_data *d, smtp_sink_fn sink, void *arg)
{
	/* Only BDAT can end with a CR held back. */
	if (d->state == SMTP_D_CR) {
		d->state = SMTP_D_TEXT;
		d->wire++;
		return sink(arg, "\r", 1);
	}
	return 0;
}

ssize_t
smtp_data_read(struct smtp_conn *c, const char *verb, size_t max, char **buf_r)
{
	ssize_t n = sio_read(&c->in, smtp_data_timeout(c), max, buf_r);
	char	text[64], result[32];

	if (n == SIO_TIMEOUT) {
		snprintf(text, sizeof text, "timeout in %s, closing connection",
		    verb);
		snprintf(result, sizeof result, "timeout in %s", verb);
		die_reply(c, 0, 421, "4.4.2", text, result);
	}
	if (n > 0)
		return n;
	/* The client is gone mid-message: nothing is stored. */
	log_info(
	    "end of input inside %s from %s: message discarded", verb, c->peer);
	smtp_tx_reset(c);
	c->result = strcmp(verb, "DATA") == 0 ? "eof in DATA" : "eof in BDAT";
	c->done = true;
	return -1;
}

void
smtp_cmd_data(struct smtp_conn *c, char *args)
{
	char *buf;

	if (*args != '\0') {
		smtp_reply(c, 501, "5.5.4", "Syntax: DATA");
		return;
	}
	if (smtp_tx_begin(c) != 0) {
		smtp_tx_err_reply(c);
		/* The envelope stays: the client may try DATA again. */
		c->tx.err = TX_ERR_NONE;
		return;
	}
	smtp_data_init(&c->tx.data, true);
	smtp_reply(c, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	for (;;) {
		ssize_t n = smtp_data_read(c, "DATA", SMTP_READ_CHUNK, &buf);
		size_t	used;

		if (n < 0)
			return;
		/* The sink never fails: it records trouble in tx->err. */
		if (smtp_data_feed(&c->tx.data, buf, (size_t)n, &used,
			smtp_tx_sink, c) == 1) {
			/* What follows the dot is the next command. */
			if (sio_unread(&c->in, buf + used, (size_t)n - used) !=
			    0) {
				log_err("DATA: reader buffer moved, %zu bytes "
					"lost",
				    (size_t)n - used);
				die_reply(c, EX_SOFTWARE, 421, "4.3.0",
				    "internal error", "internal error");
			}
			break;
		}
	}
	smtp_tx_commit(c);
}
