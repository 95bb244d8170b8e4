/* Tests libsession/session-base64.c: SASL's base64 for both sessions. */
#include <string.h>

#include "check.h"
#include "session-base64.h"

static void
test_roundtrip(void)
{
	char	    enc[64], dec[64];
	const char *in[] = { "", "a", "ab", "abc", "abcd", "\0user\0pass" };
	size_t	    lens[] = { 0, 1, 2, 3, 4, 10 };

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t n = base64_encode(in[i], lens[i], enc, sizeof(enc));

		CHECK(n == (lens[i] + 2) / 3 * 4);
		CHECK(base64_decode(enc, n, dec, sizeof(dec)) ==
		    (ssize_t)lens[i]);
		CHECK(memcmp(dec, in[i], lens[i]) == 0);
	}
	base64_encode("Username:", 9, enc, sizeof(enc));
	CHECK(strcmp(enc, "VXNlcm5hbWU6") == 0);
}

static void
test_decode_forms(void)
{
	char dec[64];

	/* Padding may be left out, but not put in the wrong place. */
	CHECK(base64_decode("YWI", 3, dec, sizeof(dec)) == 2);
	CHECK(memcmp(dec, "ab", 2) == 0);
	CHECK(base64_decode("YWI=", 4, dec, sizeof(dec)) == 2);
	CHECK(base64_decode("YQ==", 4, dec, sizeof(dec)) == 1);
	CHECK(base64_decode("YQ=", 3, dec, sizeof(dec)) == -1);
	CHECK(base64_decode("Y===", 4, dec, sizeof(dec)) == -1);
	CHECK(base64_decode("Y", 1, dec, sizeof(dec)) == -1);
	CHECK(base64_decode("YW=I", 4, dec, sizeof(dec)) == -1);
	CHECK(base64_decode("YW I", 4, dec, sizeof(dec)) == -1);
	CHECK(base64_decode("not base64!", 11, dec, sizeof(dec)) == -1);
	/* NUL inside the input is not a base64 character. */
	CHECK(base64_decode("YW\0I", 4, dec, sizeof(dec)) == -1);
	/* Output that does not fit is refused, not truncated. */
	CHECK(base64_decode("YWJjZA==", 8, dec, 4) == -1);
	CHECK(base64_decode("YWJjZA==", 8, dec, 5) == 4);
	/* A failure writes nothing, even in place (the SASL reader keeps it). */
	{
		char s[] = "YWJjZGVmZ!!!";

		CHECK(base64_decode(s, 12, s, sizeof(s)) == -1);
		CHECK(strcmp(s, "YWJjZGVmZ!!!") == 0);
		memcpy(dec, "xyz", 4);
		CHECK(base64_decode("YWJjZA==", 8, dec, 4) == -1);
		CHECK(strcmp(dec, "xyz") == 0);
	}
}

int
main(void)
{
	test_roundtrip();
	test_decode_forms();
	return CHECK_DONE();
}
