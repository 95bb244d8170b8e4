/*
 * baremail show: one message as text.  The header's usual fields are
 * decoded; the body is walked as MIME: text/plain parts are printed
 * (transfer encoding undone, charset converted to UTF-8), every other part
 * is named with its type, file name and size but never dumped.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "admin.h"
#include "session-log.h"

#define MIME_DEPTH_MAX 16 /* nested multiparts followed; deeper are named */

/* The value of parameter name in a Content-Type or -Disposition value. */
static bool
param(const char *v, const char *name, char *out, size_t outlen)
{
	size_t	    nlen = strlen(name), o = 0;
	const char *p = v;

	while ((p = strchr(p, ';')) != NULL) {
		p++;
		p += strspn(p, " \t");
		if (strncasecmp(p, name, nlen) != 0)
			continue;
		p += nlen;
		p += strspn(p, " \t");
		if (*p != '=')
			continue;
		p++;
		p += strspn(p, " \t");
		if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				if (o + 1 < outlen)
					out[o++] = *p;
			}
		} else {
			for (;
			     *p != '\0' && *p != ';' && *p != ' ' && *p != '\t';
			     p++)
				if (o + 1 < outlen)
					out[o++] = *p;
		}
		out[o] = '\0';
		return true;
	}
	if (outlen > 0)
		out[0] = '\0';
	return false;
}

/* Undoes a Content-Transfer-Encoding into a new buffer (caller frees). */
static char *
undo_cte(const char *cte, const char *in, size_t len, size_t *len_r)
{
	char  *out = malloc(len + 1);
	size_t o = 0;

	if (out == NULL)
		return NULL;
	if (strcasecmp(cte, "base64") == 0) {
		o = admin_base64_decode(in, len, out);
	} else if (strcasecmp(cte, "quoted-printable") == 0) {
		for (size_t i = 0; i < len; i++) {
			if (in[i] != '=') {
				out[o++] = in[i];
			} else if (i + 2 < len &&
			    admin_hexval(in[i + 1]) >= 0 &&
			    admin_hexval(in[i + 2]) >= 0) {
				out[o++] = (char)(admin_hexval(in[i + 1]) * 16 +
				    admin_hexval(in[i + 2]));
				i += 2;
			} else if (i + 1 < len && in[i + 1] == '\n') {
				i++; /* a soft line break */
			} else if (i + 2 < len && in[i + 1] == '\r' &&
			    in[i + 2] == '\n') {
				i += 2;
			} else {
				out[o++] = in[i];
			}
		}
	} else {
		memcpy(out, in, len);
		o = len;
	}
	*len_r = o;
	return out;
}

/* Where the line starting "--boundary" begins at or after from; len if none. */
static size_t
next_boundary(
    const char *buf, size_t len, size_t from, const char *b, size_t blen)
{
	size_t i = from;

	while (i + 2 + blen <= len) {
		const char *nl;

		if (buf[i] == '-' && buf[i + 1] == '-' &&
		    memcmp(buf + i + 2, b, blen) == 0)
			return i;
		nl = memchr(buf + i, '\n', len - i);
		if (nl == NULL)
			break;
		i = (size_t)(nl - buf) + 1;
	}
	return len;
}

static void render(const char *buf, size_t len, const char *partno, int depth);

static void
render_multipart(const char *body, size_t len, const char *boundary,
    const char *partno, int depth)
{
	size_t blen = strlen(boundary), at, n = 0;

	at = next_boundary(body, len, 0, boundary, blen);
	while (at < len) {
		size_t start, end;
		char   sub[64];

		/* "--boundary--" closes the multipart. */
		if (at + 4 + blen <= len && body[at + 2 + blen] == '-' &&
		    body[at + 3 + blen] == '-')
			break;
		{
			const char *nl = memchr(body + at, '\n', len - at);
			if (nl == NULL)
				break;
			start = (size_t)(nl - body) + 1;
		}
		end = next_boundary(body, len, start, boundary, blen);
		n++;
		snprintf(sub, sizeof(sub), "%s%s%zu", partno,
		    partno[0] != '\0' ? "." : "", n);
		/* The line end before the boundary belongs to it. */
		{
			size_t e = end;
			if (e > start && body[e - 1] == '\n')
				e--;
			if (e > start && body[e - 1] == '\r')
				e--;
			render(body + start, e - start, sub, depth + 1);
		}
		at = end;
	}
}

static void
render(const char *buf, size_t len, const char *partno, int depth)
{
	size_t hend = admin_head_end(buf, len), dlen = 0;
	char   ct[1024], type[128], cte[64], disp[512], cs[64], name[512],
	    bnd[256], dname[512];
	char *data;
	bool  attach;

	if (!admin_head_raw(buf, hend, "Content-Type", ct, sizeof(ct)))
		snprintf(ct, sizeof(ct), "text/plain");
	snprintf(type, sizeof(type), "%.*s", (int)strcspn(ct, "; \t"), ct);
	for (char *p = type; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!admin_head_raw(
		buf, hend, "Content-Transfer-Encoding", cte, sizeof(cte)))
		cte[0] = '\0';
	if (!admin_head_raw(
		buf, hend, "Content-Disposition", disp, sizeof(disp)))
		disp[0] = '\0';
	attach = strncasecmp(disp, "attachment", 10) == 0;
	param(ct, "charset", cs, sizeof(cs));

	if (strncmp(type, "multipart/", 10) == 0 && depth < MIME_DEPTH_MAX &&
	    param(ct, "boundary", bnd, sizeof(bnd)) && bnd[0] != '\0') {
		render_multipart(buf + hend, len - hend, bnd, partno, depth);
		return;
	}
	data = undo_cte(cte, buf + hend, len - hend, &dlen);
	if (data == NULL) {
		printf("[part %s: out of memory]\n", partno);
		return;
	}
	if (!attach && strcmp(type, "text/plain") == 0) {
		admin_put_text(stdout, cs, data, dlen);
		if (dlen > 0 && data[dlen - 1] != '\n')
			putchar('\n');
	} else {
		/* Named, not dumped: type, file name (decoded) and size. */
		if (!param(disp, "filename", name, sizeof(name)))
			param(ct, "name", name, sizeof(name));
		admin_decode_words(name, strlen(name), dname, sizeof(dname));
		printf("[part %s: ", partno[0] != '\0' ? partno : "1");
		admin_put_text(stdout, "", type, strlen(type));
		if (dname[0] != '\0')
			printf(", \"%s\"", dname);
		printf(", %zu bytes]\n", dlen);
	}
	free(data);
}

/* Reads all of an open file into a new buffer (caller frees). */
static char *
slurp(int fd, size_t *len_r)
{
	size_t	cap = 65536, len = 0;
	char   *buf = malloc(cap), *nb;
	ssize_t n;

	while (buf != NULL) {
		if (len == cap) {
			nb = realloc(buf, cap * 2);
			if (nb == NULL) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*len_r = len;
	return buf;
}

void
admin_show_text(const char *buf, size_t len)
{
	static const char *const fields[] = { "Date", "From", "To", "Cc",
		"Subject" };
	char			 v[2048];
	size_t			 hend = admin_head_end(buf, len);

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (admin_head_field(buf, hend, fields[i], v, sizeof(v)))
			printf("%s: %s\n", fields[i], v);
	printf("\n");
	render(buf, len, "", 0);
}

int
admin_show_msg(struct admin *a, struct maildir_list *l, struct maildir_msg *m)
{
	size_t len;
	char  *buf;
	int    fd = maildir_msg_open(&a->md, l, m);

	if (fd < 0) {
		log_err("%s: %s", m->name, strerror(errno));
		return errno == ENOENT ? EX_DATAERR : EX_TEMPFAIL;
	}
	buf = slurp(fd, &len);
	close(fd);
	if (buf == NULL) {
		log_err("%s: %s", m->name, strerror(errno));
		return EX_OSERR;
	}
	admin_show_text(buf, len);
	free(buf);
	return 0;
}
