/* Tests libsession/session-sasl.c: the SASL responses of both sessions. */
#include <string.h>

#include "check.h"
#include "session-sasl.h"

static void
test_mech(void)
{
	CHECK(sasl_mech_parse("PLAIN") == SASL_PLAIN);
	CHECK(sasl_mech_parse("login") == SASL_LOGIN);
	CHECK(sasl_mech_parse("Cram-Md5") == SASL_CRAM_MD5);
	CHECK(sasl_mech_parse("GSSAPI") == SASL_UNKNOWN);
	CHECK(sasl_mech_parse("") == SASL_UNKNOWN);
	CHECK(sasl_mech_parse("?") == SASL_UNKNOWN);
	CHECK(strcmp(sasl_mech_name(SASL_CRAM_MD5), "CRAM-MD5") == 0);
}

/* Forgiving: what is not base64 is kept as it came, whole. */
static void
test_decode(void)
{
	char plain[] = "AHVzZXIAcGFzcw==", empty[] = "=", bad[] = "abcd!xyz";
	char odd[] = "dXNlcg";

	CHECK(
	    sasl_decode(plain) == 10 && memcmp(plain, "\0user\0pass", 11) == 0);
	CHECK(sasl_decode(empty) == 0 && empty[0] == '\0');
	CHECK(sasl_decode(bad) == 8 && strcmp(bad, "abcd!xyz") == 0);
	CHECK(sasl_decode(odd) == 4 && strcmp(odd, "user") == 0);
}

static void
test_user(void)
{
	const char *u;
	size_t	    n;

	n = sasl_user(SASL_PLAIN, "zid\0user\0pass", 13, &u);
	CHECK(n == 4 && memcmp(u, "user", 4) == 0);
	n = sasl_user(SASL_PLAIN, "\0user", 5, &u);
	CHECK(n == 4 && memcmp(u, "user", 4) == 0);
	/* No NUL at all: the whole response names the user. */
	n = sasl_user(SASL_PLAIN, "someone", 7, &u);
	CHECK(n == 7 && memcmp(u, "someone", 7) == 0);
	n = sasl_user(SASL_LOGIN, "me\0junk", 7, &u);
	CHECK(n == 2 && memcmp(u, "me", 2) == 0);
	/* The digest follows the last space: a user name may hold spaces. */
	n = sasl_user(SASL_CRAM_MD5, "jo doe 0123abcd", 15, &u);
	CHECK(n == 6 && memcmp(u, "jo doe", 6) == 0);
	n = sasl_user(SASL_CRAM_MD5, "nospace", 7, &u);
	CHECK(n == 7);
}

int
main(void)
{
	test_mech();
	test_decode();
	test_user();
	return CHECK_DONE();
}
