/* admin/admin-head.c: header fields unfolded, RFC 2047 decoded, made safe. */
#include <string.h>

#include "admin.h"
#include "check.h"

static const char *
decode(const char *in)
{
	static char out[512];

	admin_decode_words(in, strlen(in), out, sizeof(out));
	return out;
}

static void
test_words(void)
{
	CHECK(strcmp(decode("plain text"), "plain text") == 0);
	CHECK(strcmp(decode("=?UTF-8?B?SsO8cmdlbg==?="), "Jürgen") == 0);
	CHECK(strcmp(decode("=?iso-8859-1?q?caf=E9_au_lait?="),
		  "café au lait") == 0);
	/* Blanks between two encoded words vanish (RFC 2047 6.2)... */
	CHECK(strcmp(decode("=?UTF-8?Q?a?= =?UTF-8?Q?b?="), "ab") == 0);
	/* ... but not between a word and plain text. */
	CHECK(strcmp(decode("=?UTF-8?Q?a?= b"), "a b") == 0);
	CHECK(strcmp(decode("x =?UTF-8?Q?a?="), "x a") == 0);
	/* RFC 2231's language tag is not part of the charset. */
	CHECK(strcmp(decode("=?UTF-8*en?Q?hi?="), "hi") == 0);
	/* An unknown charset leaves the word as it came. */
	CHECK(
	    strcmp(decode("=?x-nonsense?Q?hi?="), "=?x-nonsense?Q?hi?=") == 0);
	/* Not a word: no end, no encoding letter. */
	CHECK(strcmp(decode("=?UTF-8?Q?open"), "=?UTF-8?Q?open") == 0);
	CHECK(strcmp(decode("=?UTF-8?X?a?="), "=?UTF-8?X?a?=") == 0);
	/* Escape sequences, encoded or not, and broken UTF-8 become '?'. */
	CHECK(strcmp(decode("a\033[2Jb"), "a?[2Jb") == 0);
	CHECK(strcmp(decode("=?UTF-8?Q?=1B]0;t=07?="), "?]0;t?") == 0);
	CHECK(strcmp(decode("\xff\xc3("), "?\?(") == 0);
	/* C1 controls in UTF-8 (U+009B is a CSI) too. */
	CHECK(strcmp(decode("=?UTF-8?Q?=C2=9B2J?="), "??2J") == 0);
}

static void
test_small_buffer(void)
{
	char out[4];

	/* A character is never cut in half at the end of the buffer. */
	admin_decode_words("aaü", 4, out, sizeof(out));
	CHECK(strcmp(out, "aa") == 0);
}

static void
test_fields(void)
{
	static const char msg[] = "Received: from x\n\tby y\n"
				  "subject:  folded\n   line \n"
				  "From: =?UTF-8?Q?Ren=C3=A9?= <r@x>\r\n"
				  "\n"
				  "To: not a header, the body\n";
	char		  v[128];
	struct admin_head h;

	CHECK(admin_head_end(msg, sizeof(msg) - 1) ==
	    (size_t)(strstr(msg, "To: not") - msg));
	CHECK(admin_head_raw(msg, sizeof(msg) - 1, "Subject", v, sizeof(v)));
	CHECK(strcmp(v, "folded   line") == 0);
	CHECK(!admin_head_raw(msg, sizeof(msg) - 1, "To", v, sizeof(v)));
	admin_head_parse(msg, sizeof(msg) - 1, &h);
	CHECK(strcmp(h.from, "René <r@x>") == 0);
	CHECK(strcmp(h.subject, "folded   line") == 0);
	CHECK(h.to[0] == '\0');
}

int
main(void)
{
	test_words();
	test_small_buffer();
	test_fields();
	return CHECK_DONE();
}
