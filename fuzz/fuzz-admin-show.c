/*
 * fuzz-admin-show: `baremail show` on arbitrary message bytes (anyone who
 * can connect can put anything in the maildir): the header decoding
 * (RFC 2047, charsets through iconv) and the MIME walk.
 *
 * Checks, besides memory safety: what reaches the terminal is valid UTF-8
 * without control characters other than LF and TAB (no escape sequence a
 * sender could use to steer the reader's terminal).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE  *saved = stdout, *mem;
	char  *out = NULL;
	size_t outlen = 0, i = 0;

	mem = open_memstream(&out, &outlen);
	if (mem == NULL)
		return 0;
	stdout = mem;
	admin_show_text((const char *)data, size);
	fclose(mem);
	stdout = saved;

	while (i < outlen) {
		unsigned char c = (unsigned char)out[i];
		size_t	      k = 1;

		if (c < 0x80) {
			if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
				fuzz_fail("control byte 0x%02x at %zu", c, i);
		} else {
			k = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
			if (k == 0 || i + k > outlen)
				fuzz_fail("malformed UTF-8 at %zu", i);
			for (size_t j = 1; j < k; j++)
				if (((unsigned char)out[i + j] & 0xc0) != 0x80)
					fuzz_fail("malformed UTF-8 at %zu", i);
			/* C1 controls, U+0080..U+009F (0xC2 0x80..0x9F). */
			if (c == 0xc2 && (unsigned char)out[i + 1] < 0xa0)
				fuzz_fail("C1 control at %zu", i);
		}
		i += k;
	}
	free(out);
	return 0;
}
