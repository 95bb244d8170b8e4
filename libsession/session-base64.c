/*
 * Base64 (RFC 4648) for the SASL exchanges of both sessions: AUTH in SMTP
 * (RFC 4954) and in POP3 (RFC 5034).
 */
#include <string.h>

#include "session-base64.h"

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
base64_encode(const char *in, size_t len, char *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t		     i, o = 0;

	for (i = 0; i < len && o + 5 <= outlen; i += 3) {
		unsigned v = (unsigned)s[i] << 16;

		if (i + 1 < len)
			v |= (unsigned)s[i + 1] << 8;
		if (i + 2 < len)
			v |= s[i + 2];
		out[o++] = b64chars[(v >> 18) & 63];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = i + 1 < len ? b64chars[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? b64chars[v & 63] : '=';
	}
	if (outlen > 0)
		out[o] = '\0';
	return o;
}

static int
b64val(char ch)
{
	const char *p;

	if (ch == '\0' || (p = strchr(b64chars, ch)) == NULL)
		return -1;
	return (int)(p - b64chars);
}

ssize_t
base64_decode(const char *s, size_t len, char *out, size_t outlen)
{
	size_t	 i, o = 0, pad = 0;
	unsigned v = 0, nbits = 0;

	/* Padding is optional, but only at the end and at most two. */
	while (len > 0 && s[len - 1] == '=' && pad < 2) {
		len--;
		pad++;
	}
	if (len % 4 == 1 || (pad > 0 && (len + pad) % 4 != 0))
		return -1;
	/* Checked before the first write: a failure leaves out untouched. */
	if (len / 4 * 3 + (len % 4 * 6) / 8 >= outlen)
		return -1;
	for (i = 0; i < len; i++)
		if (b64val(s[i]) < 0)
			return -1;
	for (i = 0; i < len; i++) {
		v = (v << 6) | (unsigned)b64val(s[i]);
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			out[o++] = (char)((v >> nbits) & 0xff);
		}
	}
	if (outlen > 0)
		out[o] = '\0';
	return (ssize_t)o;
}
