/*
 * SASL responses (RFC 4954 for SMTP, RFC 5034 for POP3), read the same
 * forgiving way by both: every credential is accepted, so a response is
 * only ever decoded to name the user in the log.
 */
#ifndef SESSION_SASL_H
#define SESSION_SASL_H

#include <stddef.h>

enum sasl_mech {
	SASL_UNKNOWN,
	SASL_PLAIN,    /* RFC 4616: authzid NUL authcid NUL password */
	SASL_LOGIN,    /* user name, then password, each a response */
	SASL_CRAM_MD5, /* RFC 2195: "user digest" */
};

/* The mechanism a client named (case-insensitively); SASL_UNKNOWN if none. */
enum sasl_mech sasl_mech_parse(const char *name);
/* "PLAIN", "LOGIN", "CRAM-MD5" (for the log); "?" for SASL_UNKNOWN. */
const char *sasl_mech_name(enum sasl_mech mech);

/*
 * Decodes a response line in place and returns its length: "=" is the
 * empty response, base64 is decoded (NUL-terminated, it may hold NULs),
 * and a line that is not base64 is kept as it came (forgiving: it is still
 * a credential we accept).
 */
size_t sasl_decode(char *resp);

/*
 * The user a decoded response names: PLAIN's authcid (the whole response
 * when it holds no NUL), LOGIN's first response up to a NUL, CRAM-MD5's
 * part before the last space.  Points *user_r into resp; returns its length.
 */
size_t sasl_user(
    enum sasl_mech mech, const char *resp, size_t len, const char **user_r);

#endif
