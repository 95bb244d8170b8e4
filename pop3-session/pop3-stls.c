/*
 * TLS in a POP3 session: STLS (RFC 2595) and implicit TLS on port 995
 * (RFC 8314).  The TLS itself is libsession's (session-tls.c).
 */
#include <stdio.h>
#include <sysexits.h>

#include "pop3.h"
#include "session-log.h"
#include "session-tls.h"

bool
pop3_tls_offered(const struct pop3_conn *c)
{
	return tls_offered(c->cfg, c->tls != NULL);
}

void
pop3_cmd_stls(struct pop3_conn *c, char *args)
{
	struct tls_conn *t;
	char		 why[512];

	if (*args != '\0') {
		pop3_err(c, "STLS takes no arguments");
		return;
	}
	if (c->tls != NULL) {
		pop3_err(c, "TLS already active");
		return;
	}
	if (c->cfg->tls_mode != TLS_STARTTLS) {
		pop3_err(c, "STLS not offered on this port");
		return;
	}
	if (!tls_available(c->cfg)) {
		log_warn("%s: STLS: no readable certificate %s and key %s",
		    c->peer, c->cfg->tls_certificate, c->cfg->tls_key);
		pop3_err_sys(c, "TLS not available");
		return;
	}
	t = tls_new(c->cfg, why, sizeof(why));
	if (t == NULL) {
		log_err("%s: STLS: %s", c->peer, why);
		pop3_err_sys(c, "TLS not available");
		return;
	}
	pop3_ok(c, "begin TLS negotiation");
	if (sio_flush(&c->out) != 0) {
		tls_free(t);
		return;
	}
	if (tls_start(t, &c->in, &c->out, c->cfg->pop3_timeout, c->peer,
		"STLS") != 0) {
		c->end = "TLS handshake failed";
		c->done = true;
		return;
	}
	c->tls = t;
	/* RFC 2595 4: what the client said before TLS is forgotten. */
	c->user[0] = '\0';
	c->errors = 0;
}

int
pop3_tls_implicit(struct pop3_conn *c)
{
	struct tls_conn *t;
	char		 why[512];

	t = tls_new(c->cfg, why, sizeof(why));
	if (t == NULL) {
		/* No greeting: a TLS client could not read one in plain text. */
		log_err("%s: implicit TLS: %s; closing", c->peer, why);
		c->end = "no TLS";
		c->status = EX_CONFIG;
		return -1;
	}
	if (tls_start(
		t, &c->in, &c->out, c->cfg->pop3_timeout, c->peer, NULL) != 0) {
		c->end = "TLS handshake failed";
		return -1;
	}
	c->tls = t;
	return 0;
}
