/*
 * Reading the message a sendmail caller hands us on stdin: CRLF to LF,
 * the lone dot that may end it, the size limit.
 */
#include <string.h>

#include "sendmail.h"

void
sendmail_input_init(struct sendmail_input *in, bool ignore_dots, size_t max)
{
	memset(in, 0, sizeof(*in));
	in->ignore_dots = ignore_dots;
	in->max = max;
	in->state = SM_IN_BOL;
}

static int
in_put(struct sendmail_input *in, const char *p, size_t n)
{
	/* Past the limit, keep reading (the caller drains) but keep nothing. */
	if (in->too_big || n > in->max - in->msg.len) {
		in->too_big = true;
		return 0;
	}
	return sm_buf_add(&in->msg, p, n);
}

int
sendmail_input_feed(struct sendmail_input *in, const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len && !in->done) {
		char c = buf[i];

		switch (in->state) {
		case SM_IN_BOL:
			if (c == '.' && !in->ignore_dots) {
				in->state = SM_IN_DOT;
				i++;
				continue;
			}
			in->state = SM_IN_MID;
			continue;
		case SM_IN_DOT:
			if (c == '\n') {
				in->done = true;
				continue;
			}
			if (c == '\r') {
				in->state = SM_IN_DOTCR;
				in->crs = 1;
				i++;
				continue;
			}
			if (in_put(in, ".", 1) < 0)
				return -1;
			in->state = SM_IN_MID;
			continue;
		case SM_IN_DOTCR:
			/* CRs before a LF are all line end, here as below. */
			if (c == '\n') {
				in->done = true;
				continue;
			}
			if (c == '\r') {
				in->crs++;
				i++;
				continue;
			}
			/* ".\r" then something: the CRs were data after all. */
			if (in_put(in, ".", 1) < 0)
				return -1;
			in->state = SM_IN_CR;
			continue;
		case SM_IN_CR:
			if (c == '\r') {
				in->crs++;
				i++;
				continue;
			}
			if (c == '\n') {
				/* "\r\n", even "\r\r\n", is a line end. */
				if (in_put(in, "\n", 1) < 0)
					return -1;
				in->state = SM_IN_BOL;
				i++;
				continue;
			}
			for (; in->crs > 0; in->crs--)
				if (in_put(in, "\r", 1) < 0)
					return -1;
			in->state = SM_IN_MID;
			continue;
		case SM_IN_MID: {
			/* Pass the span up to the next CR or LF in one go. */
			size_t j = i;
			while (j < len && buf[j] != '\r' && buf[j] != '\n')
				j++;
			if (in_put(in, buf + i, j - i) < 0)
				return -1;
			i = j;
			if (i == len)
				break;
			if (buf[i] == '\r') {
				in->state = SM_IN_CR;
				in->crs = 1;
			} else {
				if (in_put(in, "\n", 1) < 0)
					return -1;
				in->state = SM_IN_BOL;
			}
			i++;
			continue;
		}
		}
	}
	return 0;
}

int
sendmail_input_finish(struct sendmail_input *in)
{
	/*
	 * A "." last line ends the message even without its line end, and
	 * CRs at the very end are a line end cut short: the LF below.
	 */
	if (in->state == SM_IN_DOT || in->state == SM_IN_DOTCR)
		in->done = true;
	in->state = SM_IN_BOL;
	in->crs = 0;
	if (in->msg.len > 0 && in->msg.p[in->msg.len - 1] != '\n')
		return in_put(in, "\n", 1);
	return 0;
}
