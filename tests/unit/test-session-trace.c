/* Tests libsession/session-trace.c: the trace fields of both programs. */
#include <string.h>

#include "check.h"
#include "session-trace.h"

struct sink {
	char   buf[1024];
	size_t len;
	int    fail_at; /* the call that fails, 0 for none */
	int    calls;
};

static int
sink_emit(void *arg, const void *p, size_t n)
{
	struct sink *s = arg;

	if (++s->calls == s->fail_at || s->len + n >= sizeof(s->buf))
		return -1;
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return 0;
}

static void
test_write(void)
{
	struct sink s = { 0 };
	const char  one[] = "root@h";
	const char  many[] = "aaaaaaaaaaaaaaaaaaaa@example.org\0"
			     "bbbbbbbbbbbbbbbbbbbb@example.org\0"
			     "c@example.org";

	CHECK(trace_write(sink_emit, &s, "cron@h", one, sizeof(one)) == 0);
	CHECK(strcmp(s.buf, "Return-Path: <cron@h>\nX-Original-To: root@h\n") ==
	    0);
	/* Folded within 78 columns; the null sender stays empty. */
	memset(&s, 0, sizeof(s));
	CHECK(trace_write(sink_emit, &s, "", many, sizeof(many)) == 0);
	CHECK(strcmp(s.buf,
		  "Return-Path: <>\n"
		  "X-Original-To: aaaaaaaaaaaaaaaaaaaa@example.org,\n"
		  "\tbbbbbbbbbbbbbbbbbbbb@example.org, c@example.org\n") == 0);
	/* No recipient, no X-Original-To:. */
	memset(&s, 0, sizeof(s));
	CHECK(trace_write(sink_emit, &s, "a@b", NULL, 0) == 0);
	CHECK(strcmp(s.buf, "Return-Path: <a@b>\n") == 0);
	/* A failed write is reported. */
	for (int i = 1; i <= 6; i++) {
		memset(&s, 0, sizeof(s));
		s.fail_at = i;
		CHECK(
		    trace_write(sink_emit, &s, "a@b", one, sizeof(one)) == -1);
	}
}

static void
test_for(void)
{
	const char one[] = "root@h", two[] = "a@h\0b@h", bad[] = "a<b@h";

	CHECK(trace_for(one, sizeof(one)) == one);
	CHECK(trace_for(two, sizeof(two)) == NULL);
	CHECK(trace_for(bad, sizeof(bad)) == NULL);
	CHECK(trace_for(NULL, 0) == NULL);
	/* Not terminated within the length: not named. */
	CHECK(trace_for(one, 3) == NULL);
}

int
main(void)
{
	test_write();
	test_for();
	return CHECK_DONE();
}
