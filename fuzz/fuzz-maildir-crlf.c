/*
 * fuzz-maildir-crlf: the CRLF view of stored messages, which decides both
 * the W= size in every file name and the bytes RETR sends.  POP3 clients
 * trust LIST's size, so count and conversion must agree exactly.
 *
 * The input is a message; its first byte picks where to split it in two
 * (chunked conversion must equal one-shot conversion).  Checks: count ==
 * bytes converted; split == whole; no NUL in the output; every LF is
 * preceded by CR; a non-empty message ends with CRLF and contains an
 * empty line (TOP relies on it).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"
#include "maildir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *whole, *split;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct maildir_crlf a, b, c;
	const char	   *in;
	size_t		    len, cut, n1, n2, o;
	uint64_t	    counted;

	if (size == 0)
		return 0;
	in = (const char *)data + 1;
	len = size - 1;
	cut = len == 0 ? 0 : data[0] % (len + 1);
	free(whole);
	free(split);
	whole = malloc(2 * len + 8);
	split = malloc(2 * len + 8);
	if (whole == NULL || split == NULL)
		abort();

	maildir_crlf_init(&a);
	n1 = maildir_crlf_conv(&a, in, len, whole);
	n1 += maildir_crlf_finish(&a, whole + n1);

	maildir_crlf_init(&b);
	n2 = maildir_crlf_conv(&b, in, cut, split);
	n2 += maildir_crlf_conv(&b, in + cut, len - cut, split + n2);
	n2 += maildir_crlf_finish(&b, split + n2);

	maildir_crlf_init(&c);
	counted = maildir_crlf_count(&c, in, cut);
	counted += maildir_crlf_count(&c, in + cut, len - cut);
	{
		char trailer[8];

		counted += maildir_crlf_finish(&c, trailer);
	}

	if (n1 != n2 || memcmp(whole, split, n1) != 0)
		fuzz_fail("split at %zu converts differently", cut);
	if (counted != n1)
		fuzz_fail("count %llu != converted %zu",
		    (unsigned long long)counted, n1);
	if (memchr(whole, '\0', n1) != NULL)
		fuzz_fail("NUL in the CRLF view");
	for (o = 0; o < n1; o++)
		if (whole[o] == '\n' && (o == 0 || whole[o - 1] != '\r'))
			fuzz_fail("bare LF at %zu", o);
	if (n1 > 0) {
		if (n1 < 2 || whole[n1 - 2] != '\r' || whole[n1 - 1] != '\n')
			fuzz_fail("does not end with CRLF");
		if (!(n1 >= 2 && memcmp(whole, "\r\n", 2) == 0) &&
		    memmem(whole, n1, "\r\n\r\n", 4) == NULL)
			fuzz_fail("no empty line");
	}
	return 0;
}
