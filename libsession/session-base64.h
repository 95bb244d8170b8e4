/*
 * Base64 (RFC 4648), as SASL uses it.
 */
#ifndef SESSION_BASE64_H
#define SESSION_BASE64_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Encodes len bytes of in into out (NUL-terminated), as far as whole
 * groups fit in outlen; returns the length written.  4 * ceil(len / 3) + 1
 * bytes always suffice.
 */
size_t base64_encode(const char *in, size_t len, char *out, size_t outlen);

/*
 * Decodes len characters of s into out (NUL-terminated); returns the
 * length, or -1 when s is not base64 (padding may be left out, but not
 * misplaced) or the result does not fit in outlen, and then out is left
 * untouched.  out may be s itself.
 */
ssize_t base64_decode(const char *s, size_t len, char *out, size_t outlen);

#endif
