/*
 * BDAT (RFC 3030 CHUNKING): "BDAT <size> [LAST]" followed by exactly size
 * bytes, no dot-stuffing.  The chunk follows the command whatever we think
 * of the command, so even a BDAT out of sequence has its chunk read (and
 * dropped) before the 503: otherwise its bytes would be taken for commands.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "session-log.h"
#include "smtp-private.h"

/* Parses "<size> [LAST]"; -1 when it is not that. */
static int
parse_bdat(const char *args, uint64_t *size_r, bool *last_r)
{
	uint64_t    v = 0;
	const char *p = args;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	while (*p == ' ' || *p == '\t')
		p++;
	*last_r = false;
	if (strncasecmp(p, "LAST", 4) == 0) {
		*last_r = true;
		p += 4;
		while (*p == ' ' || *p == '\t')
			p++;
	}
	if (*p != '\0')
		return -1;
	*size_r = v;
	return 0;
}

/*
 * Reads size bytes of chunk, through the BDAT machine into the
 * transaction when feed, else into nothing.  Returns false when the
 * client hung up (the session is over).
 */
static bool
read_chunk(struct smtp_conn *c, uint64_t size, bool feed)
{
	while (size > 0) {
		size_t want =
		    size < SMTP_READ_CHUNK ? (size_t)size : SMTP_READ_CHUNK;
		char   *buf;
		ssize_t n = smtp_data_read(c, "BDAT", want, &buf);
		size_t	used;

		if (n < 0)
			return false;
		if (feed)
			smtp_data_feed(&c->tx.data, buf, (size_t)n, &used,
			    smtp_tx_sink, c);
		size -= (uint64_t)n;
	}
	return true;
}

void
smtp_cmd_bdat_drain(struct smtp_conn *c, char *args)
{
	uint64_t size;
	bool	 last;

	if (parse_bdat(args, &size, &last) == 0)
		read_chunk(c, size, false);
}

void
smtp_cmd_bdat(struct smtp_conn *c, char *args)
{
	uint64_t size;
	bool	 last;

	if (parse_bdat(args, &size, &last) != 0) {
		/* We cannot know how much to skip; the error limit guards us. */
		smtp_reply(c, 501, "5.5.4", "Syntax: BDAT size [LAST]");
		return;
	}
	if (c->state == SMTP_ST_RCPT) {
		/* The first chunk: the message starts. */
		smtp_data_init(&c->tx.data, false);
		smtp_set_state(c, SMTP_ST_BDAT);
		/* On failure tx->err is set: chunks are drained until LAST. */
		smtp_tx_begin(c);
	}
	if (!read_chunk(c, size, c->tx.err == TX_ERR_NONE))
		return;
	if (!last) {
		if (c->tx.err != TX_ERR_NONE)
			smtp_tx_err_reply(c);
		else
			smtp_reply(c, 250, "2.0.0", "%llu octets received",
			    (unsigned long long)size);
		return;
	}
	if (c->tx.err == TX_ERR_NONE)
		smtp_data_finish(&c->tx.data, smtp_tx_sink, c);
	smtp_tx_commit(c);
}
