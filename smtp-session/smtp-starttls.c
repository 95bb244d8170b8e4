/*
 * TLS in an SMTP session: STARTTLS (RFC 3207) and implicit TLS (RFC 8314).
 * The TLS itself is libsession's (session-tls.c); this file holds what
 * SMTP says around it and what the session forgets.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "session-log.h"
#include "session-tls.h"
#include "smtp-private.h"

bool
smtp_tls_offered(const struct smtp_conn *c)
{
	return tls_offered(c->cfg, c->tls != NULL);
}

void
smtp_cmd_starttls(struct smtp_conn *c, char *args)
{
	struct tls_conn *t;
	char		 why[512];

	if (*args != '\0') {
		smtp_reply(c, 501, "5.5.4", "Syntax: STARTTLS (no parameters)");
		return;
	}
	if (c->tls != NULL) {
		smtp_reply(c, 503, "5.5.1", "Error: TLS already active");
		return;
	}
	if (c->cfg->tls_mode != TLS_STARTTLS) {
		smtp_reply(c, 502, "5.5.1",
		    "Error: STARTTLS not offered on this port");
		return;
	}
	if (!tls_available(c->cfg)) {
		log_warn("%s: STARTTLS: no readable certificate %s and key %s",
		    c->peer, c->cfg->tls_certificate, c->cfg->tls_key);
		smtp_reply(c, 454, "4.7.0", "TLS not available");
		return;
	}
	t = tls_new(c->cfg, why, sizeof why);
	if (t == NULL) {
		log_err("%s: STARTTLS: %s", c->peer, why);
		smtp_reply(c, 454, "4.7.0", "TLS not available");
		return;
	}
	smtp_reply(c, 220, "2.0.0", "Ready to start TLS");
	if (sio_flush(&c->out) != 0) {
		tls_free(t);
		return;
	}
	if (tls_start(t, &c->in, &c->out, smtp_cmd_timeout(c), c->peer,
		"STARTTLS") != 0) {
		/* No plain text may follow, and there is no TLS: the end. */
		c->result = "TLS handshake failed";
		c->done = true;
		return;
	}
	c->tls = t;
	/* RFC 3207 4.2: forget all we were told; the client says EHLO again. */
	smtp_tx_reset(c);
	c->helo[0] = '\0';
	c->esmtp = false;
	c->authed = false;
	c->auth_user[0] = '\0';
	c->errors = 0;
}

int
smtp_tls_implicit(struct smtp_conn *c, int *status_r)
{
	struct tls_conn *t;
	char		 why[512];

	t = tls_new(c->cfg, why, sizeof why);
	if (t == NULL) {
		/* No greeting: a TLS client could not read one in plain text. */
		log_err("%s: implicit TLS: %s; closing", c->peer, why);
		c->result = "no TLS";
		*status_r = EX_CONFIG;
		return -1;
	}
	if (tls_start(t, &c->in, &c->out, smtp_cmd_timeout(c), c->peer, NULL) !=
	    0) {
		c->result = "TLS handshake failed";
		*status_r = EX_OK;
		return -1;
	}
	c->tls = t;
	return 0;
}
