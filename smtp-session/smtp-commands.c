/*
 * The envelope commands and the small ones: EHLO, HELO, MAIL, RCPT, RSET,
 * NOOP, QUIT, VRFY, EXPN, HELP.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "session-log.h"
#include "session-sys.h"
#include "smtp-private.h"

/* Bytes that may never reach a header or a log line. */
static bool
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* HELO and EHLO alike; false when the reply (501) is already out. */
static bool
greet(struct smtp_conn *c, char *args, bool esmtp)
{
	if (*args == '\0') {
		smtp_reply(c, 501, "5.5.4", "Syntax: %s hostname",
		    esmtp ? "EHLO" : "HELO");
		return false;
	}
	if (has_control(args)) {
		smtp_reply(c, 501, "5.5.4",
		    "Error: invalid characters in "
		    "hostname");
		return false;
	}
	/* A new greeting ends any transaction (RFC 5321 4.1.4). */
	smtp_tx_reset(c);
	snprintf(c->helo, sizeof c->helo, "%s", args);
	/* Only the name: the rest ("HELO host extra") is not ours to keep. */
	c->helo[strcspn(c->helo, " \t")] = '\0';
	c->esmtp = esmtp;
	return true;
}

void
smtp_cmd_ehlo(struct smtp_conn *c, char *args)
{
	if (!greet(c, args, true))
		return;
	/* No enhanced codes here: RFC 2034 exempts the EHLO response. */
	smtp_reply_more(c, 250, "%s", c->cfg->hostname);
	smtp_reply_more(c, 250, "PIPELINING");
	smtp_reply_more(c, 250, "SIZE %zu", c->cfg->max_message_size);
	smtp_reply_more(c, 250, "8BITMIME");
	smtp_reply_more(c, 250, "SMTPUTF8");
	smtp_reply_more(c, 250, "ENHANCEDSTATUSCODES");
	smtp_reply_more(c, 250, "CHUNKING");
	if (smtp_tls_offered(c))
		smtp_reply_more(c, 250, "STARTTLS");
	/*
	 * This order: Alertmanager takes the first it can use, Go's PLAIN
	 * refuses plain TCP except to localhost, Grafana and smtplib prefer
	 * CRAM-MD5 when listed.
	 */
	smtp_reply_more(c, 250, "AUTH LOGIN PLAIN CRAM-MD5");
	smtp_reply(c, 250, NULL, "HELP");
}

void
smtp_cmd_helo(struct smtp_conn *c, char *args)
{
	if (!greet(c, args, false))
		return;
	smtp_reply(c, 250, NULL, "%s", c->cfg->hostname);
}

/* Skips a quoted string starting at p ('"'); returns past it, or NULL. */
static char *
skip_quoted(char *p)
{
	for (p++; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

int
smtp_parse_path(char *args, const char *keyword, char *addr, char **params_r,
    const char **why_r)
{
	size_t klen = strlen(keyword);
	char  *p = args, *start, *end;

	if (strncasecmp(p, keyword, klen) != 0) {
		*why_r = "missing keyword";
		return -1;
	}
	p += klen;
	while (*p == ' ' || *p == '\t')
		p++;
	/* Forgiving: "FROM: <a>", and even "FROM <a>". */
	if (*p == ':')
		p++;
	else if (p == args + klen) {
		*why_r = "missing ':'";
		return -1;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '<') {
		start = ++p;
		while (*p != '\0' && *p != '>') {
			if (*p == '"') {
				p = skip_quoted(p);
				if (p == NULL) {
					*why_r = "unbalanced quote";
					return -1;
				}
			} else {
				p++;
			}
		}
		if (*p != '>') {
			*why_r = "missing '>'";
			return -1;
		}
		end = p++;
	} else {
		/* No angle brackets: the address runs to the first blank. */
		start = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		end = p;
		if (start == end) {
			*why_r = "missing address";
			return -1;
		}
	}
	/* A source route ("@a,@b:user@host") is ignored (RFC 5321 C). */
	if (start < end && *start == '@') {
		char *colon = memchr(start, ':', (size_t)(end - start));
		if (colon == NULL) {
			*why_r = "bad source route";
			return -1;
		}
		start = colon + 1;
	}
	if ((size_t)(end - start) > SMTP_ADDR_MAX) {
		*why_r = "address too long";
		return -1;
	}
	memcpy(addr, start, (size_t)(end - start));
	addr[end - start] = '\0';
	if (has_control(addr) || strchr(addr, '<') != NULL) {
		*why_r = "invalid characters in address";
		return -1;
	}
	if (*p != '\0' && *p != ' ' && *p != '\t') {
		*why_r = "garbage after address";
		return -1;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	*params_r = p;
	return 0;
}

/* Next "KEY[=VALUE]" of a parameter list; NULL at the end. */
static char *
next_param(char **p, char **value_r)
{
	char *s = *p, *e;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0')
		return NULL;
	e = s + strcspn(s, " \t");
	if (*e != '\0')
		*e++ = '\0';
	*p = e;
	*value_r = strchr(s, '=');
	if (*value_r != NULL)
		*(*value_r)++ = '\0';
	return s;
}

static int
parse_size(const char *s, uint64_t *size_r)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (UINT64_MAX - 9) / 10)
			v = UINT64_MAX; /* huge: over any limit */
		else
			v = v * 10 + (uint64_t)(*s - '0');
	}
	*size_r = v;
	return 0;
}

void
smtp_cmd_mail(struct smtp_conn *c, char *args)
{
	char	    addr[SMTP_ADDR_MAX + 1], *params, *key, *value;
	const char *why;
	bool	    utf8 = false;

	if (smtp_parse_path(args, "FROM", addr, &params, &why) != 0) {
		smtp_reply(
		    c, 501, "5.5.4", "Syntax: MAIL FROM:<address> (%s)", why);
		return;
	}
	while ((key = next_param(&params, &value)) != NULL) {
		if (strcasecmp(key, "SIZE") == 0) {
			uint64_t size;
			if (value == NULL || parse_size(value, &size) != 0) {
				smtp_reply(
				    c, 501, "5.5.4", "Syntax: SIZE=<bytes>");
				return;
			}
			if (size > c->cfg->max_message_size) {
				smtp_reply(c, 552, "5.3.4",
				    "Message size exceeds "
				    "fixed maximum message size (%zu)",
				    c->cfg->max_message_size);
				return;
			}
		} else if (strcasecmp(key, "SMTPUTF8") == 0) {
			utf8 = true;
		} else if (strcasecmp(key, "BODY") == 0 ||
		    strcasecmp(key, "AUTH") == 0 ||
		    strcasecmp(key, "RET") == 0 ||
		    strcasecmp(key, "ENVID") == 0) {
			/* Accepted; every body is stored as it came. */
		} else {
			/* Forgiving: an unknown parameter is not worth a lost message. */
			log_debug("MAIL: ignoring parameter %s", key);
		}
	}
	/* The disk floor: refused before a byte is written; the client retries. */
	c->disk_low = session_disk_low(c->cfg, c->md);
	if (c->disk_low) {
		log_warn(
		    "MAIL from %s refused: free space under [smtp] min_free",
		    c->peer);
		smtp_reply(c, 452, "4.3.1", "Insufficient system storage");
		return;
	}
	snprintf(c->tx.from, sizeof c->tx.from, "%s", addr);
	c->tx.smtputf8 = utf8;
	smtp_set_state(c, SMTP_ST_MAIL);
	smtp_reply(c, 250, "2.1.0", "Ok");
}

/* Adds addr to the recipients unless it is there already; -1 on ENOMEM. */
static int
add_rcpt(struct smtp_tx *tx, const char *addr)
{
	size_t len = strlen(addr) + 1;

	for (size_t off = 0; off < tx->rcpts_len;
	     off += strlen(tx->rcpts + off) + 1)
		if (strcmp(tx->rcpts + off, addr) == 0)
			return 0;
	if (tx->rcpts_len + len > tx->rcpts_cap) {
		size_t cap = tx->rcpts_cap ? tx->rcpts_cap * 2 : 1024;
		while (cap < tx->rcpts_len + len)
			cap *= 2;
		char *p = realloc(tx->rcpts, cap);
		if (p == NULL)
			return -1;
		tx->rcpts = p;
		tx->rcpts_cap = cap;
	}
	memcpy(tx->rcpts + tx->rcpts_len, addr, len);
	tx->rcpts_len += len;
	tx->nrcpts++;
	return 0;
}

void
smtp_cmd_rcpt(struct smtp_conn *c, char *args)
{
	char	    addr[SMTP_ADDR_MAX + 1], *params, *key, *value;
	const char *why;

	if (smtp_parse_path(args, "TO", addr, &params, &why) != 0) {
		smtp_reply(
		    c, 501, "5.5.4", "Syntax: RCPT TO:<address> (%s)", why);
		return;
	}
	if (addr[0] == '\0') {
		smtp_reply(c, 501, "5.1.3", "Error: empty recipient address");
		return;
	}
	while ((key = next_param(&params, &value)) != NULL)
		/* NOTIFY= and ORCPT= (DSN) are accepted and ignored. */
		if (strcasecmp(key, "NOTIFY") != 0 &&
		    strcasecmp(key, "ORCPT") != 0)
			log_debug("RCPT: ignoring parameter %s", key);
	if (c->tx.nrcpts >= c->cfg->max_recipients) {
		smtp_reply(c, 452, "4.5.3", "Error: too many recipients");
		return;
	}
	if (add_rcpt(&c->tx, addr) != 0)
		die_reply(c, EX_OSERR, 421, "4.3.0", "out of memory",
		    "out of memory");
	smtp_set_state(c, SMTP_ST_RCPT);
	smtp_reply(c, 250, "2.1.5", "Ok");
}

void
smtp_cmd_rset(struct smtp_conn *c, char *args)
{
	smtp_tx_reset(c);
	smtp_reply(c, 250, "2.0.0", "Ok");
}

void
smtp_cmd_noop(struct smtp_conn *c, char *args)
{
	smtp_reply(c, 250, "2.0.0", "Ok");
}

void
smtp_cmd_quit(struct smtp_conn *c, char *args)
{
	smtp_reply(c, 221, "2.0.0", "Bye");
	c->result = "quit";
	c->done = true;
}

void
smtp_cmd_vrfy(struct smtp_conn *c, char *args)
{
	if (*args == '\0') {
		smtp_reply(c, 501, "5.5.4", "Syntax: VRFY address");
		return;
	}
	smtp_reply(c, 252, "2.5.0",
	    "Cannot VRFY user, but will accept "
	    "message and attempt delivery");
}

void
smtp_cmd_expn(struct smtp_conn *c, char *args)
{
	smtp_reply(c, 502, "5.5.1", "Error: EXPN not implemented");
}

void
smtp_cmd_help(struct smtp_conn *c, char *args)
{
	smtp_reply(c, 214, "2.0.0",
	    "Commands: EHLO HELO MAIL RCPT DATA BDAT "
	    "RSET NOOP QUIT AUTH VRFY EXPN HELP%s",
	    smtp_tls_offered(c) ? " STARTTLS" : "");
}
