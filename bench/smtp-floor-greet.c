/*
 * bench/smtp-floor-greet: the spawn floor for bench/smtp.
 *
 * The least an SMTP program started per connection can do: greet, answer
 * every command with a canned reply, swallow DATA up to the final dot
 * (stored nowhere), say goodbye.  Built static, so its start costs only
 * fork and exec.  Not a server: it trusts its client completely.
 */
#include <string.h>
#include <unistd.h>

static char   buf[65536];
static size_t len, pos;

/* The next line (without CRLF) into *line_r; 0 at EOF. */
static size_t
next_line(char **line_r)
{
	for (;;) {
		char *lf = memchr(buf + pos, '\n', len - pos);
		if (lf != NULL) {
			size_t n = (size_t)(lf - (buf + pos));
			*line_r = buf + pos;
			pos += n + 1;
			if (n > 0 && (*line_r)[n - 1] == '\r')
				n--;
			return n + 1; /* +1: an empty line is not EOF */
		}
		if (pos > 0) {
			memmove(buf, buf + pos, len - pos);
			len -= pos;
			pos = 0;
		}
		if (len == sizeof buf)
			len = 0; /* an over-long line: dropped */
		ssize_t n = read(0, buf + len, sizeof buf - len);
		if (n <= 0)
			return 0;
		len += (size_t)n;
	}
}

static void
say(const char *s)
{
	if (write(1, s, strlen(s)) < 0)
		_exit(0);
}

int
main(void)
{
	char  *line;
	size_t n;

	say("220 floor ESMTP\r\n");
	while ((n = next_line(&line)) != 0) {
		n--;
		if (n >= 4 && strncmp(line, "QUIT", 4) == 0) {
			say("221 2.0.0 Bye\r\n");
			return 0;
		}
		if (n >= 4 && strncmp(line, "DATA", 4) == 0) {
			say("354 go ahead\r\n");
			while ((n = next_line(&line)) != 0)
				if (n == 2 && line[0] == '.')
					break;
			say("250 2.0.0 Ok\r\n");
			continue;
		}
		say("250 2.0.0 Ok\r\n");
	}
	return 0;
}
