/*
 * fuzz-maildir-name: maildir_name_parse(), maildir_name_uidl() and
 * maildir_name_host() on arbitrary file names (a maildir is shared with
 * other programs, so any name may be in it).
 *
 * Checks, besides memory safety: the parse stays inside the name; a UIDL
 * is always 1..70 characters in 0x21..0x7E (RFC 1939), is the base name
 * itself when that is already legal, and is the same when asked twice; an
 * escaped host name never holds '/' or ':' and always fits its buffer.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"
#include "maildir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[MAILDIR_NAME_MAX + 1], uidl[MAILDIR_UIDL_MAX + 1];
	char again[MAILDIR_UIDL_MAX + 1], host[64];
	struct maildir_name_info info;
	size_t			 len, ulen;
	bool			 plain;

	len = size < MAILDIR_NAME_MAX ? size : MAILDIR_NAME_MAX;
	memcpy(name, data, len);
	name[len] = '\0';
	len = strlen(name);

	maildir_name_parse(name, &info);
	if (info.base_len > len)
		fuzz_fail("base_len %zu > length %zu", info.base_len, len);
	if (info.flags != NULL &&
	    (info.flags < name || info.flags > name + len))
		fuzz_fail("flags point outside the name");
	if (info.usec < 0 || info.usec >= 1000000)
		fuzz_fail("usec %ld out of range", info.usec);

	maildir_name_uidl(name, info.base_len, uidl);
	ulen = strlen(uidl);
	if (ulen < 1 || ulen > MAILDIR_UIDL_MAX)
		fuzz_fail("UIDL length %zu", ulen);
	for (size_t i = 0; i < ulen; i++)
		if ((unsigned char)uidl[i] < 0x21 ||
		    (unsigned char)uidl[i] > 0x7e)
			fuzz_fail("UIDL byte 0x%02x", (unsigned char)uidl[i]);
	plain = info.base_len >= 1 && info.base_len <= MAILDIR_UIDL_MAX;
	for (size_t i = 0; plain && i < info.base_len; i++)
		if ((unsigned char)name[i] < 0x21 ||
		    (unsigned char)name[i] > 0x7e)
			plain = false;
	if (plain && (ulen != info.base_len || memcmp(uidl, name, ulen) != 0))
		fuzz_fail("a legal base name did not become its own UIDL");
	maildir_name_uidl(name, info.base_len, again);
	if (strcmp(uidl, again) != 0)
		fuzz_fail("UIDL not stable");

	/* Host escaping, into a buffer deliberately smaller than the input. */
	memset(host, 'X', sizeof(host));
	maildir_name_host(name, host, sizeof(host) - 8);
	if (memchr(host, '\0', sizeof(host) - 8) == NULL)
		fuzz_fail("escaped host not terminated within its buffer");
	if (memcmp(host + sizeof(host) - 8, "XXXXXXXX", 8) != 0)
		fuzz_fail("escaped host written past its buffer");
	if (strchr(host, '/') != NULL || strchr(host, ':') != NULL)
		fuzz_fail("escaped host holds '/' or ':': %s", host);
	return 0;
}
