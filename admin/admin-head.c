/*
 * A message's header for a terminal: fields unfolded, RFC 2047 encoded
 * words decoded to UTF-8, and nothing that could steer a terminal (escape
 * sequences, other control characters) let through.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin.h"

size_t
admin_head_end(const char *buf, size_t len)
{
	size_t i = 0;

	/* Line by line: an empty line (LF or CRLF) ends the header. */
	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);

		if (buf[i] == '\n')
			return i + 1;
		if (buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (nl == NULL)
			return len;
		i = (size_t)(nl - buf) + 1;
	}
	return len;
}

bool
admin_head_raw(
    const char *buf, size_t len, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name), end = admin_head_end(buf, len), i = 0;

	if (outlen == 0)
		return false;
	out[0] = '\0';
	while (i < end) {
		const char *nl = memchr(buf + i, '\n', end - i);
		size_t	    eol = nl != NULL ? (size_t)(nl - buf) : end, o = 0;

		if (eol - i > nlen && buf[i + nlen] == ':' &&
		    strncasecmp(buf + i, name, nlen) == 0) {
			size_t j = i + nlen + 1;

			/* The value and its continuation lines, joined. */
			for (;;) {
				for (; j < eol && o + 1 < outlen; j++)
					if (buf[j] != '\r')
						out[o++] = buf[j];
				j = eol + 1;
				if (j >= end ||
				    (buf[j] != ' ' && buf[j] != '\t'))
					break;
				nl = memchr(buf + j, '\n', end - j);
				eol = nl != NULL ? (size_t)(nl - buf) : end;
			}
			out[o] = '\0';
			/* Trim the blanks around the value. */
			while (
			    o > 0 && (out[o - 1] == ' ' || out[o - 1] == '\t'))
				out[--o] = '\0';
			o = strspn(out, " \t");
			memmove(out, out + o, strlen(out + o) + 1);
			return true;
		}
		i = eol + 1;
	}
	return false;
}

/* Appends c to out (NUL-terminated, capacity outlen) when room is left. */
static void
put(char *out, size_t outlen, size_t *o, char c)
{
	if (*o + 1 < outlen) {
		out[(*o)++] = c;
		out[*o] = '\0';
	}
}

/* Length of a valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t	 len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates, past U+10FFFF; C1 controls too. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff ||
	    (cp >= 0x80 && cp < 0xa0))
		return 0;
	return len;
}

/*
 * Appends UTF-8 text, safe for a terminal: controls other than those in
 * keep become '?', and so does each byte of malformed UTF-8.
 */
static void
put_safe(char *out, size_t outlen, size_t *o, const char *s, size_t n,
    const char *keep)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t	      k = utf8_len((const unsigned char *)s + i, n - i);

		if (k == 0 ||
		    ((c < 0x20 || c == 0x7f) && strchr(keep, c) == NULL) ||
		    c == '\0') {
			put(out, outlen, o, '?');
			i++;
			continue;
		}
		if (*o + k >= outlen)
			return; /* never cut a character in half */
		memcpy(out + *o, s + i, k);
		*o += k;
		out[*o] = '\0';
		i += k;
	}
}

void
admin_safe_copy(const char *s, char *out, size_t outlen)
{
	size_t o = 0;

	out[0] = '\0';
	put_safe(out, outlen, &o, s, strlen(s), "");
}

/* Converts n bytes from charset to UTF-8 into a buffer; returns its length or -1. */
static ssize_t
to_utf8(const char *charset, const char *in, size_t n, char *buf, size_t len)
{
	iconv_t cd;
	char   *ip = (char *)(uintptr_t)in, *op = buf;
	size_t	il = n, ol = len;

	if (charset[0] == '\0' || strcasecmp(charset, "utf-8") == 0 ||
	    strcasecmp(charset, "us-ascii") == 0 ||
	    strcasecmp(charset, "utf8") == 0) {
		if (n > len)
			n = len;
		memcpy(buf, in, n);
		return (ssize_t)n;
	}
	cd = iconv_open("UTF-8", charset);
	if (cd == (iconv_t)-1)
		return -1;
	while (il > 0) {
		if (iconv(cd, &ip, &il, &op, &ol) != (size_t)-1)
			break;
		if (errno == E2BIG || ol == 0)
			break;
		/* A byte the charset lacks: show '?' and go on. */
		*op++ = '?';
		ol--;
		ip++;
		il--;
	}
	iconv_close(cd);
	return op - buf;
}

int
admin_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower((unsigned char)c); /* callers pass a plain char */
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

size_t
admin_base64_decode(const char *in, size_t n, char *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t acc = 0;
	int	 bits = 0;
	size_t	 o = 0, i;

	for (i = 0; i < n; i++) {
		const char *p;

		if (in[i] == '=')
			break;
		if (in[i] == '\0' || (p = strchr(tab, in[i])) == NULL)
			continue;
		acc = acc << 6 | (uint32_t)(p - tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)(acc >> bits & 0xff);
		}
	}
	return o;
}

/*
 * One encoded word at s: "=?charset[*lang]?B|Q?text?=".  Writes its bytes
 * (still in charset) to raw and the charset to cs; returns the word's
 * length, or 0 when s is not one.
 */
static size_t
encoded_word(
    const char *s, size_t n, char *cs, size_t cslen, char *raw, size_t *rawlen)
{
	const char *q1, *q2, *end;
	size_t	    i, o = 0;
	char	    enc;

	if (n < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	q1 = memchr(s + 2, '?', n - 2);
	if (q1 == NULL || q1 - (s + 2) == 0 ||
	    (size_t)(q1 - (s + 2)) >= cslen || (size_t)(q1 - s) + 3 > n ||
	    q1[2] != '?')
		return 0;
	enc = (char)toupper((unsigned char)q1[1]);
	if (enc != 'B' && enc != 'Q')
		return 0;
	q2 = q1 + 3;
	end = NULL;
	for (i = (size_t)(q2 - s); i + 1 < n; i++)
		if (s[i] == '?' && s[i + 1] == '=') {
			end = s + i;
			break;
		}
	if (end == NULL)
		return 0;
	for (i = 0; i < (size_t)(q1 - (s + 2)); i++) {
		/* RFC 2231's "*language" is not part of the charset. */
		if (s[2 + i] == '*')
			break;
		cs[i] = s[2 + i];
	}
	cs[i] = '\0';
	if (enc == 'B') {
		o = admin_base64_decode(q2, (size_t)(end - q2), raw);
	} else {
		for (const char *p = q2; p < end; p++) {
			if (*p == '_')
				raw[o++] = ' ';
			else if (*p == '=' && end - p > 2 &&
			    admin_hexval(p[1]) >= 0 &&
			    admin_hexval(p[2]) >= 0) {
				raw[o++] = (char)(admin_hexval(p[1]) << 4 |
				    admin_hexval(p[2]));
				p += 2;
			} else
				raw[o++] = *p;
		}
	}
	*rawlen = o;
	return (size_t)(end - s) + 2;
}

void
admin_decode_words(const char *in, size_t len, char *out, size_t outlen)
{
	size_t i = 0, o = 0, pending_ws = 0;
	bool   after_word = false;
	char   cs[64], raw[1024], conv[4096];

	if (outlen == 0)
		return;
	out[0] = '\0';
	while (i < len) {
		size_t rawlen = 0, wl = 0;

		if (len - i < sizeof(raw))
			wl = encoded_word(
			    in + i, len - i, cs, sizeof(cs), raw, &rawlen);
		else
			wl = encoded_word(
			    in + i, sizeof(raw), cs, sizeof(cs), raw, &rawlen);
		if (wl > 0) {
			ssize_t n =
			    to_utf8(cs, raw, rawlen, conv, sizeof(conv));

			if (n >= 0) {
				/* Blanks between two encoded words vanish. */
				if (!after_word)
					put_safe(out, outlen, &o,
					    in + i - pending_ws, pending_ws,
					    "");
				put_safe(out, outlen, &o, conv, (size_t)n, "");
				pending_ws = 0;
				after_word = true;
				i += wl;
				continue;
			}
		}
		if (in[i] == ' ' || in[i] == '\t') {
			pending_ws++;
			i++;
			continue;
		}
		if (pending_ws > 0) {
			put_safe(out, outlen, &o, in + i - pending_ws,
			    pending_ws, "");
			pending_ws = 0;
		}
		after_word = false;
		/* One character of plain text (a UTF-8 sequence whole). */
		{
			size_t k =
			    utf8_len((const unsigned char *)in + i, len - i);
			put_safe(out, outlen, &o, in + i, k == 0 ? 1 : k, "");
			i += k == 0 ? 1 : k;
		}
	}
	if (pending_ws > 0)
		put_safe(
		    out, outlen, &o, in + len - pending_ws, pending_ws, "");
	/* Tabs were allowed through nowhere: header values are one line. */
}

bool
admin_head_field(
    const char *buf, size_t len, const char *name, char *out, size_t outlen)
{
	char raw[2048];

	if (!admin_head_raw(buf, len, name, raw, sizeof(raw))) {
		if (outlen > 0)
			out[0] = '\0';
		return false;
	}
	admin_decode_words(raw, strlen(raw), out, outlen);
	return true;
}

void
admin_head_parse(const char *buf, size_t len, struct admin_head *h)
{
	admin_head_field(buf, len, "From", h->from, sizeof(h->from));
	admin_head_field(buf, len, "To", h->to, sizeof(h->to));
	admin_head_field(buf, len, "Subject", h->subject, sizeof(h->subject));
	admin_head_field(buf, len, "Date", h->date, sizeof(h->date));
	/* A message without From: still came from its envelope sender. */
	if (h->from[0] == '\0')
		admin_head_field(
		    buf, len, "Return-Path", h->from, sizeof(h->from));
	if (h->to[0] == '\0')
		admin_head_field(
		    buf, len, "X-Original-To", h->to, sizeof(h->to));
}

int
admin_head_read(struct admin *a, struct maildir_list *l, struct maildir_msg *m,
    struct admin_head *h, time_t *mtime_r)
{
	char	    buf[ADMIN_HEAD_READ];
	ssize_t	    n;
	size_t	    got = 0;
	struct stat st;
	int	    fd = maildir_msg_open(&a->md, l, m);

	memset(h, 0, sizeof(*h));
	if (fd < 0)
		return -1;
	while (got < sizeof(buf)) {
		n = read(fd, buf + got, sizeof(buf) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		/* Most headers fit the first read: stop at the blank line. */
		if (admin_head_end(buf, got) < got)
			break;
	}
	if (mtime_r != NULL)
		*mtime_r = fstat(fd, &st) == 0 ? st.st_mtime : 0;
	close(fd);
	admin_head_parse(buf, got, h);
	return 0;
}

void
admin_put_text(FILE *fp, const char *charset, const char *buf, size_t len)
{
	char   conv[16384], safe[16384 + 1];
	size_t i = 0;

	/* In pieces, cut at line ends so no character is split between two. */
	while (i < len) {
		size_t	    n = len - i > 4096 ? 4096 : len - i, o = 0;
		const char *nl;
		ssize_t	    c;

		if (n < len - i && (nl = memrchr(buf + i, '\n', n)) != NULL)
			n = (size_t)(nl - (buf + i)) + 1;
		c = to_utf8(charset, buf + i, n, conv, sizeof(conv));
		if (c < 0)
			c = to_utf8("", buf + i, n, conv, sizeof(conv));
		/* CRLF is a line end; a lone CR is a control like any other. */
		{
			size_t w = 0;
			for (ssize_t k = 0; k < c; k++)
				if (!(conv[k] == '\r' && k + 1 < c &&
					conv[k + 1] == '\n'))
					conv[w++] = conv[k];
			c = (ssize_t)w;
		}
		put_safe(safe, sizeof(safe), &o, conv, (size_t)c, "\n\t");
		fwrite(safe, 1, o, fp);
		i += n;
	}
}
