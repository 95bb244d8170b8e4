/*
 * AUTHORIZATION: USER/PASS, APOP and AUTH (RFC 5034) with PLAIN, LOGIN
 * and CRAM-MD5.  BareMail has no accounts: every credential is accepted,
 * and the user name is kept only for the log.  What is checked is the
 * protocol (arguments present, base64 well formed, "*" cancels).
 */
#include <string.h>
#include <strings.h>

#include "pop3.h"
#include "session-base64.h"
#include "session-log.h"
#include "session-sasl.h"

/* Remembers the user name for the log (printable characters, up to a NUL). */
static void
set_user(struct pop3_conn *c, const char *name, size_t len)
{
	log_printable(c->user, sizeof(c->user), name, len);
}

static void
login_ok(struct pop3_conn *c, const char *how)
{
	if (pop3_login(c, how) == 0)
		pop3_ok(c, "logged in, %zu messages", c->list.count);
}

void
pop3_cmd_user(struct pop3_conn *c, char *args)
{
	/* A user name may hold spaces: the whole argument is the name. */
	if (*args == '\0') {
		pop3_err(c, "missing user name");
		return;
	}
	set_user(c, args, strlen(args));
	pop3_ok(c, "any password will do");
}

void
pop3_cmd_pass(struct pop3_conn *c, char *args)
{
	/* Any password, even none, and even without USER first. */
	login_ok(c, "USER/PASS");
}

void
pop3_cmd_apop(struct pop3_conn *c, char *args)
{
	char *name = pop3_next_arg(&args);
	char *digest = pop3_next_arg(&args);

	if (name == NULL || digest == NULL) {
		pop3_err(c, "APOP needs a name and a digest");
		return;
	}
	if (pop3_next_arg(&args) != NULL) {
		pop3_err(c, "too many arguments");
		return;
	}
	set_user(c, name, strlen(name));
	login_ok(c, "APOP");
}

/*
 * Sends a SASL challenge ("+ " and base64) and reads the response, which
 * *resp_r then points at.  Returns false when the exchange ended: the
 * client cancelled with "*", the line was too long, or the session is
 * over; a reply has been sent where one is due.
 */
static bool
challenge(struct pop3_conn *c, const char *b64, char **resp_r)
{
	ssize_t n;

	sio_printf(&c->out, "+ %s\r\n", b64);
	n = pop3_read_line(c, resp_r);
	if (n == SIO_TOOLONG) {
		pop3_err(c, "SASL response too long");
		return false;
	}
	if (n < 0)
		return false;
	if (strcmp(*resp_r, "*") == 0) {
		pop3_err(c, "authentication cancelled");
		return false;
	}
	return true;
}

/* Decodes a response and keeps the user it names, for the log. */
static void
note_user(struct pop3_conn *c, enum sasl_mech mech, char *resp)
{
	const char *user;
	size_t	    n = sasl_decode(resp);

	n = sasl_user(mech, resp, n, &user);
	set_user(c, user, n);
}

static void
auth_plain(struct pop3_conn *c, char *ir)
{
	/* Thunderbird sends no initial response and waits for "+ ". */
	if (ir == NULL && !challenge(c, "", &ir))
		return;
	note_user(c, SASL_PLAIN, ir);
	login_ok(c, "AUTH PLAIN");
}

static void
auth_login(struct pop3_conn *c, char *ir)
{
	char *resp = ir;

	/* "Username:" and "Password:", the customary prompts. */
	if (resp == NULL && !challenge(c, "VXNlcm5hbWU6", &resp))
		return;
	note_user(c, SASL_LOGIN, resp);
	if (!challenge(c, "UGFzc3dvcmQ6", &resp))
		return;
	login_ok(c, "AUTH LOGIN");
}

static void
auth_cram_md5(struct pop3_conn *c, char *ir)
{
	char  b64[2 * sizeof(c->timestamp)];
	char *resp;

	if (ir != NULL) {
		pop3_err(c, "CRAM-MD5 takes no initial response");
		return;
	}
	base64_encode(c->timestamp, strlen(c->timestamp), b64, sizeof(b64));
	if (!challenge(c, b64, &resp))
		return;
	/* "user digest": the digest is not checked. */
	note_user(c, SASL_CRAM_MD5, resp);
	login_ok(c, "AUTH CRAM-MD5");
}

void
pop3_cmd_auth(struct pop3_conn *c, char *args)
{
	char *mech = pop3_next_arg(&args);
	char *ir = pop3_next_arg(&args);

	if (mech == NULL) {
		/* The pre-RFC 5034 form some clients still probe with. */
		pop3_ok(c, "SASL mechanisms follow");
		sio_printf(&c->out, "PLAIN\r\nLOGIN\r\nCRAM-MD5\r\n.\r\n");
		return;
	}
	if (pop3_next_arg(&args) != NULL) {
		pop3_err(c, "too many arguments");
		return;
	}
	switch (sasl_mech_parse(mech)) {
	case SASL_PLAIN:
		auth_plain(c, ir);
		break;
	case SASL_LOGIN:
		auth_login(c, ir);
		break;
	case SASL_CRAM_MD5:
		auth_cram_md5(c, ir);
		break;
	case SASL_UNKNOWN:
	default:
		pop3_err(c, "unsupported SASL mechanism");
		break;
	}
}
