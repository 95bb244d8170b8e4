/*
 * Return-Path:, X-Original-To: and Received:'s "for", written once.
 */
#include <stdbool.h>
#include <string.h>

#include "session-trace.h"

static int
put(header_emit_fn emit, void *arg, const char *s)
{
	return emit(arg, s, strlen(s));
}

int
trace_write(header_emit_fn emit, void *arg, const char *sender,
    const char *rcpts, size_t rcpts_len)
{
	size_t col = strlen("X-Original-To: ");

	if (put(emit, arg, "Return-Path: <") < 0 ||
	    put(emit, arg, sender) < 0 || put(emit, arg, ">\n") < 0)
		return -1;
	if (rcpts_len == 0)
		return 0;
	if (put(emit, arg, "X-Original-To: ") < 0)
		return -1;
	for (size_t off = 0; off < rcpts_len;) {
		const char *r = rcpts + off;
		size_t	    len = strnlen(r, rcpts_len - off);
		bool	    first = off == 0;

		off += len + 1;
		if (!first && col + 2 + len > TRACE_FOLD_AT) {
			if (put(emit, arg, ",\n\t") < 0)
				return -1;
			col = 8;
		} else if (!first) {
			if (put(emit, arg, ", ") < 0)
				return -1;
			col += 2;
		}
		if (emit(arg, r, len) < 0)
			return -1;
		col += len;
	}
	return put(emit, arg, "\n");
}

const char *
trace_for(const char *rcpts, size_t rcpts_len)
{
	size_t len;

	if (rcpts_len == 0)
		return NULL;
	len = strnlen(rcpts, rcpts_len);
	/* More than one recipient: their list is X-Original-To:'s. */
	if (len + 1 != rcpts_len)
		return NULL;
	if (strpbrk(rcpts, "<>\r\n") != NULL)
		return NULL;
	return rcpts;
}
