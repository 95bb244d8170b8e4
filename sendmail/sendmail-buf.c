/*
 * The growing byte buffer and the address list the sendmail pieces share.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sendmail.h"

int
sm_buf_add(struct sm_buf *b, const void *data, size_t len)
{
	if (len > SIZE_MAX - b->len - 1) {
		errno = ENOMEM;
		return -1;
	}
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap != 0 ? b->cap : 256;
		while (cap < b->len + len + 1)
			cap = cap > SIZE_MAX / 2 ? b->len + len + 1 : cap * 2;
		char *p = realloc(b->p, cap);
		if (p == NULL)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	if (len > 0)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0'; /* for the reader's convenience, not counted */
	return 0;
}

int
sm_buf_addstr(struct sm_buf *b, const char *s)
{
	return sm_buf_add(b, s, strlen(s));
}

void
sm_buf_free(struct sm_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

int
sm_addrs_add(struct sm_addrs *l, const char *addr, size_t len)
{
	if (l->n == l->cap) {
		size_t cap = l->cap != 0 ? l->cap * 2 : 8;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	char *s = malloc(len + 1);
	if (s == NULL)
		return -1;
	memcpy(s, addr, len);
	s[len] = '\0';
	l->v[l->n++] = s;
	return 0;
}

void
sm_addrs_free(struct sm_addrs *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}
