/*
 * The one reading of SASL responses for SMTP AUTH and POP3 AUTH.
 */
#include <string.h>
#include <sys/types.h>
#include <strings.h>

#include "session-base64.h"
#include "session-sasl.h"

static const char *const mech_names[] = {
	[SASL_UNKNOWN] = "?",
	[SASL_PLAIN] = "PLAIN",
	[SASL_LOGIN] = "LOGIN",
	[SASL_CRAM_MD5] = "CRAM-MD5",
};

enum sasl_mech
sasl_mech_parse(const char *name)
{
	for (size_t i = SASL_PLAIN;
	     i < sizeof(mech_names) / sizeof(mech_names[0]); i++)
		if (strcasecmp(name, mech_names[i]) == 0)
			return (enum sasl_mech)i;
	return SASL_UNKNOWN;
}

const char *
sasl_mech_name(enum sasl_mech mech)
{
	return mech_names[mech];
}

size_t
sasl_decode(char *resp)
{
	size_t	len = strlen(resp);
	ssize_t n;

	if (strcmp(resp, "=") == 0) { /* an empty initial response */
		resp[0] = '\0';
		return 0;
	}
	n = base64_decode(resp, len, resp, len + 1);
	/*
	 * base64_decode() writes only when the whole line decodes, so what
	 * is not base64 is still there, as the client sent it.
	 */
	return n < 0 ? len : (size_t)n;
}

size_t
sasl_user(
    enum sasl_mech mech, const char *resp, size_t len, const char **user_r)
{
	const char *p;

	*user_r = resp;
	switch (mech) {
	case SASL_PLAIN:
		p = memchr(resp, '\0', len);
		if (p == NULL)
			return len;
		*user_r = ++p;
		return strnlen(p, (size_t)(resp + len - p));
	case SASL_CRAM_MD5:
		p = memrchr(resp, ' ', len);
		return p != NULL ? (size_t)(p - resp) : len;
	case SASL_LOGIN:
	case SASL_UNKNOWN:
		break;
	}
	return strnlen(resp, len);
}
