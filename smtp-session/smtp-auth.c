/*
 * AUTH (RFC 4954): LOGIN, PLAIN and CRAM-MD5, every credential accepted.
 * BareMail has no security by design; AUTH exists because many daemons
 * refuse to send without it.  It is never required.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "session-log.h"
#include "session-base64.h"
#include "session-sasl.h"
#include "smtp-private.h"

/*
 * Sends a 334 challenge and reads the answer.  Returns its length, or -1
 * when the exchange is over (cancelled, too long, or the client gone; the
 * reply is out).
 */
static ssize_t
challenge(struct smtp_conn *c, const char *b64, char **line_r)
{
	ssize_t n;

	smtp_reply(c, 334, NULL, "%s", b64);
	n = smtp_read_line(c, line_r);
	if (n == SIO_EOF || n == SIO_TIMEOUT) {
		c->result = "eof";
		c->done = true;
		return -1;
	}
	if (n == SIO_TOOLONG) {
		smtp_reply(c, 500, "5.5.6",
		    "Error: authentication exchange "
		    "line is too long");
		return -1;
	}
	if (strcmp(*line_r, "*") == 0) {
		smtp_reply(c, 501, "5.7.0", "Authentication cancelled");
		return -1;
	}
	return n;
}

/* Decodes a response and keeps the user it names, for the log. */
static void
note_user(struct smtp_conn *c, enum sasl_mech mech, char *resp)
{
	const char *user;
	size_t	    n = sasl_decode(resp);

	n = sasl_user(mech, resp, n, &user);
	log_printable(c->auth_user, sizeof c->auth_user, user, n);
}

static bool
auth_login(struct smtp_conn *c, char *initial)
{
	char *line;

	if (*initial != '\0') {
		note_user(c, SASL_LOGIN, initial);
	} else {
		if (challenge(c, "VXNlcm5hbWU6", &line) < 0) /* "Username:" */
			return false;
		note_user(c, SASL_LOGIN, line);
	}
	if (challenge(c, "UGFzc3dvcmQ6", &line) < 0) /* "Password:" */
		return false;
	return true;
}

static bool
auth_plain(struct smtp_conn *c, char *initial)
{
	char *resp = initial;

	if (*resp == '\0' && challenge(c, "", &resp) < 0)
		return false;
	note_user(c, SASL_PLAIN, resp);
	return true;
}

static bool
auth_cram_md5(struct smtp_conn *c, char *initial)
{
	char   id[HEADER_MSGID_MAX], b64[(HEADER_MSGID_MAX / 3 + 1) * 4 + 1];
	char  *line;
	size_t n;

	if (*initial != '\0') {
		/* CRAM-MD5 has no initial response (RFC 4954 4). */
		smtp_reply(c, 501, "5.5.4",
		    "Error: CRAM-MD5 takes no initial "
		    "response");
		return false;
	}
	/* RFC 2195's challenge is a msg-id; any digest is then accepted. */
	n = header_msgid(c->cfg->hostname, id, sizeof id);
	base64_encode(id, n, b64, sizeof b64);
	if (challenge(c, b64, &line) < 0)
		return false;
	note_user(c, SASL_CRAM_MD5, line);
	return true;
}

void
smtp_cmd_auth(struct smtp_conn *c, char *args)
{
	size_t mlen = strcspn(args, " \t");
	char  *initial = args + mlen;
	bool   ok;

	if (c->authed) {
		smtp_reply(c, 503, "5.5.1", "Error: already authenticated");
		return;
	}
	if (*initial != '\0')
		*initial++ = '\0';
	while (*initial == ' ' || *initial == '\t')
		initial++;
	/* args lives in the reader's buffer, which the exchange reuses. */
	enum sasl_mech mech = sasl_mech_parse(args);

	switch (mech) {
	case SASL_LOGIN:
		ok = auth_login(c, initial);
		break;
	case SASL_PLAIN:
		ok = auth_plain(c, initial);
		break;
	case SASL_CRAM_MD5:
		ok = auth_cram_md5(c, initial);
		break;
	case SASL_UNKNOWN:
	default:
		smtp_reply(c, 504, "5.5.4",
		    "Error: unsupported authentication "
		    "mechanism");
		return;
	}
	if (!ok)
		return;
	c->authed = true;
	log_info("AUTH %s accepted for \"%s\" from %s", sasl_mech_name(mech),
	    c->auth_user, c->peer);
	smtp_reply(c, 235, "2.7.0", "Authentication successful");
}
