/*
 * Tests libsession/session-log.c: where lines go (stderr only when it is
 * not the connection; the journal, loaded lazily; syslog otherwise) and
 * what they look like.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "session-log.h"

#define CHILD_SKIP 77

/* Runs fn in a child; returns its exit status (CHILD_SKIP: skipped). */
static int
in_child(int (*fn)(void *), void *arg)
{
	int   status;
	pid_t pid;

	fflush(stdout); /* else the child prints the parent's buffer again */
	pid = fork();
	if (pid == 0) {
		check_failures = 0; /* count the child's own */
		int rc = fn(arg);
		fflush(stdout);
		fflush(stderr);
		_exit(rc != CHILD_SKIP && check_failures ? 1 : rc);
	}
	CHECK(pid > 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void
put_fds(int in, int out, int err)
{
	/* Via high copies, so that putting one does not close another. */
	int a = fcntl(in, F_DUPFD, 20), b = fcntl(out, F_DUPFD, 20),
	    c = fcntl(err, F_DUPFD, 20);

	/* A closed one stays closed. */
	if (a < 0 || dup2(a, 0) < 0)
		close(0);
	if (b < 0 || dup2(b, 1) < 0)
		close(1);
	if (c < 0 || dup2(c, 2) < 0)
		close(2);
}

struct fds {
	const char *what;
	int	    in, out, err;
	bool	    want;
};

static int
child_usable(void *arg)
{
	const struct fds *f = arg;
	/* High, so that it cannot take the number of the "closed" case. */
	int  saved = fcntl(2, F_DUPFD, 30);
	bool got;

	put_fds(f->in, f->out, f->err);
	got = log_stderr_usable();
	dup2(saved, 2);
	if (got != f->want) {
		fprintf(stderr, "%s: log_stderr_usable() %d, want %d\n",
		    f->what, got, f->want);
		return 1;
	}
	return 0;
}

/* The one filter for client text in logs. */
static void
test_printable(void)
{
	char buf[8], in[] = "a\tb\x7f\x1b c";

	CHECK(strcmp(log_printable(buf, sizeof(buf), "ok user", 100),
		  "ok user") == 0);
	CHECK(strcmp(log_printable(buf, sizeof(buf), in, 3), "a?b") == 0);
	/* Cut to the buffer, stopped at a NUL, and in place. */
	CHECK(strcmp(log_printable(buf, sizeof(buf), "0123456789", 10),
		  "0123456") == 0);
	CHECK(strcmp(log_printable(buf, sizeof(buf), "ab\0cd", 5), "ab") == 0);
	CHECK(strcmp(log_printable(in, sizeof(in), in, sizeof(in)),
		  "a?b?? c") == 0);
	/* High bytes (UTF-8) are text. */
	CHECK(strcmp(log_printable(buf, sizeof(buf), "\xc3\xa9", 2),
		  "\xc3\xa9") == 0);
}

static void
test_stderr_decision(void)
{
	int  null = open("/dev/null", O_RDWR), file, closed;
	int  p[2] = { -1, -1 }, q[2] = { -1, -1 }, s[2] = { -1, -1 };
	char tmp[] = "/tmp/test-session-log-XXXXXX";

	CHECK(null >= 0);
	CHECK(pipe(p) == 0 && pipe(q) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0);
	file = mkstemp(tmp);
	CHECK(file >= 0);
	unlink(tmp);
	closed = open("/dev/null", O_RDONLY);
	close(closed); /* a descriptor number nobody holds */

	const struct fds cases[] = {
		{ "pipe of its own", null, null, p[1], true },
		{ "regular file", null, null, file, true },
		{ "stdin a pipe, stderr another", p[0], null, q[1], true },
		{ "stdout a socket, stderr a pipe", null, s[0], p[1], true },
		/* xinetd: 0, 1 and 2 are the client's socket. */
		{ "the connection's socket", s[0], s[0], s[0], false },
		{ "a socket only on fd 2", null, null, s[0], false },
		/* bats' run, 2>&1: stderr is the pipe that carries replies. */
		{ "the same pipe as stdout", null, p[1], p[1], false },
		{ "the same file as stdout", null, file, file, false },
		{ "/dev/null", null, null, null, false },
		{ "stderr closed", null, null, closed, false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(in_child(child_usable, (void *)&cases[i]) == 0);

	/* A terminal: yes, even when it is stdin and stdout too. */
	int ptm = posix_openpt(O_RDWR | O_NOCTTY);
	if (ptm >= 0 && grantpt(ptm) == 0 && unlockpt(ptm) == 0) {
		int pts = open(ptsname(ptm), O_RDWR | O_NOCTTY);
		CHECK(pts >= 0);
		struct fds tty = { "terminal", pts, pts, pts, true };
		CHECK(in_child(child_usable, &tty) == 0);
		close(pts);
	} else
		printf("# skip terminal case: no pseudo-terminal (%s)\n",
		    strerror(errno));
	if (ptm >= 0)
		close(ptm);
	close(null);
	close(file);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	close(s[0]);
	close(s[1]);
}

static int
child_format(void *arg)
{
	int			*p = arg;
	int			 null = open("/dev/null", O_RDWR);
	static const char *const fields[] = {
		"PEER=192.0.2.7",
		"SIZE=42",
		"MESSAGE_FILE=a b\nc",
		NULL,
	};
	char big[5000];

	put_fds(null, null, p[1]);
	close(p[0]);
	log_init("test-ident", LOG_INFO);
	log_info("hello\r\nworld\x01\x7f end");
	log_debug("hidden");
	log_fields(LOG_WARNING, fields, "delivered %s", "x");
	log_set_level(LOG_DEBUG);
	errno = EIO;
	log_debug("shown %d", 7);
	if (errno != EIO)
		return 2; /* logging must keep errno */
	log_set_level(LOG_ERR);
	log_warn("filtered");
	log_err("failed: %s", strerror(ENOSPC));
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_err("%s", big);
	return 0;
}

static void
test_stderr_format(void)
{
	int	p[2] = { -1, -1 };
	char	buf[16384], want[1024];
	ssize_t n;
	size_t	len = 0;

	CHECK(pipe(p) == 0);
	pid_t pid = fork();
	if (pid == 0)
		_exit(child_format(p));
	close(p[1]);
	while ((n = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(p[0]);
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	snprintf(want, sizeof(want),
	    "test-ident[%d]: info: hello??world?? end\n"
	    "test-ident[%d]: warning: delivered x peer=192.0.2.7 size=42 "
	    "message_file=a b?c\n"
	    "test-ident[%d]: debug: shown 7\n"
	    "test-ident[%d]: error: failed: %s\n"
	    "test-ident[%d]: error: bbbb",
	    (int)pid, (int)pid, (int)pid, (int)pid, strerror(ENOSPC), (int)pid);
	CHECK(strncmp(buf, want, strlen(want)) == 0);
	if (strncmp(buf, want, strlen(want)) != 0)
		fprintf(stderr, "want:\n%s\ngot:\n%s\n", want, buf);
	CHECK(strstr(buf, "hidden") == NULL);
	CHECK(strstr(buf, "filtered") == NULL);
	/* The long one is cut, marked, and still one line. */
	CHECK(len > 0 && buf[len - 1] == '\n');
	CHECK(len > 4 && memcmp(buf + len - 4, "...\n", 4) == 0);
	char *last = strstr(buf, "error: bbbb");
	CHECK(last != NULL && strchr(last, '\n') == buf + len - 1);
}

/* Nothing is written to a stderr that is the client's socket. */
static int
child_socket(void *arg)
{
	int *s = arg;

	put_fds(s[0], s[0], s[0]);
	log_init("t", LOG_DEBUG);
	log_err("secret");
	log_info("secret");
	return 0;
}

static void
test_not_to_connection(void)
{
	int  s[2] = { -1, -1 };
	char buf[64];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0);
	CHECK(in_child(child_socket, s) == 0);
	errno = 0;
	CHECK(recv(s[1], buf, sizeof(buf), MSG_DONTWAIT) == -1);
	CHECK(errno == EAGAIN);
	close(s[0]);
	close(s[1]);
}

static bool
libsystemd_mapped(void)
{
	FILE *fp = fopen("/proc/self/maps", "r");
	char  line[512];
	bool  found = false;

	if (fp == NULL)
		return false;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strstr(line, "libsystemd.so") != NULL)
			found = true;
	fclose(fp);
	return found;
}

/* A private /run (and /dev), so we can play journald and syslogd. */
static int
private_mounts(bool dev)
{
	if (geteuid() != 0) {
		printf("# skip: not root, cannot mount a private /run\n");
		return CHILD_SKIP;
	}
	if (unshare(CLONE_NEWNS) != 0 ||
	    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") != 0 ||
	    (dev && mount("tmpfs", "/dev", "tmpfs", 0, "mode=0755") != 0)) {
		printf(
		    "# skip: no mount namespace here (%s)\n", strerror(errno));
		return CHILD_SKIP;
	}
	return 0;
}

static int
listen_dgram(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int		   s = socket(AF_UNIX, SOCK_DGRAM, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (s < 0 || bind(s, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		return -1;
	return s;
}

static int
child_journal(void *arg)
{
	static const char *const fields[] = {
		"PEER=192.0.2.7",
		"MESSAGE_FILE=1.M2P3Q4.host",
		NULL,
	};
	char	buf[4096], want[128];
	ssize_t n;
	int	s, rc;

	if ((rc = private_mounts(false)) != 0)
		return rc;
	CHECK(mkdir("/run/systemd", 0755) == 0);
	CHECK(mkdir("/run/systemd/journal", 0755) == 0);
	s = listen_dgram("/run/systemd/journal/socket");
	CHECK(s >= 0);
	CHECK(!libsystemd_mapped());
	log_init("test-journal", LOG_INFO);
	/* Not at log_init, not for a filtered entry: only when one is written. */
	CHECK(!libsystemd_mapped());
	log_debug("filtered");
	CHECK(!libsystemd_mapped());
	log_fields(LOG_WARNING, fields, "delivered %d bytes\x1b[2J", 42);
#ifdef HAVE_LIBSYSTEMD
	CHECK(libsystemd_mapped());
	n = recv(s, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	CHECK(n > 0);
	buf[n > 0 ? n : 0] = '\0';
	CHECK(strstr(buf, "MESSAGE=delivered 42 bytes?[2J\n") != NULL);
	CHECK(strstr(buf, "PRIORITY=4\n") != NULL);
	CHECK(strstr(buf, "SYSLOG_IDENTIFIER=test-journal\n") != NULL);
	CHECK(strstr(buf, "SYSLOG_FACILITY=2\n") != NULL);
	CHECK(strstr(buf, "PEER=192.0.2.7\n") != NULL);
	CHECK(strstr(buf, "MESSAGE_FILE=1.M2P3Q4.host\n") != NULL);
	log_info("second");
	n = recv(s, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	CHECK(n > 0);
	buf[n > 0 ? n : 0] = '\0';
	CHECK(strstr(buf, "MESSAGE=second\n") != NULL);
	snprintf(want, sizeof(want), "PRIORITY=%d\n", LOG_INFO);
	CHECK(strstr(buf, want) != NULL);
#else
	/* Built without libsystemd: syslog only, nothing loaded. */
	(void)want;
	(void)n;
	CHECK(!libsystemd_mapped());
	CHECK(recv(s, buf, sizeof(buf), MSG_DONTWAIT) == -1);
#endif
	return 0;
}

/* No journal: syslog, LOG_MAIL, with the pid and the fields appended. */
static int
child_syslog(void *arg)
{
	const bool		*broken_journal = arg;
	static const char *const fields[] = { "PEER=192.0.2.7", NULL };
	char			 buf[4096], want[128];
	ssize_t			 n;
	int			 s, rc;

	if ((rc = private_mounts(true)) != 0)
		return rc;
	if (*broken_journal) {
		/* A socket file nobody listens on: sending fails. */
		CHECK(mkdir("/run/systemd", 0755) == 0);
		CHECK(mkdir("/run/systemd/journal", 0755) == 0);
		int dead = listen_dgram("/run/systemd/journal/socket");
		CHECK(dead >= 0);
		close(dead);
	}
	s = listen_dgram("/dev/log");
	CHECK(s >= 0);
	log_init("test-syslog", LOG_INFO);
	log_fields(LOG_WARNING, fields, "hello\nworld");
	n = recv(s, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	CHECK(n > 0);
	buf[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof(want), "<%d>", LOG_MAIL | LOG_WARNING);
	CHECK(strncmp(buf, want, strlen(want)) == 0);
	snprintf(want, sizeof(want),
	    "test-syslog[%d]: hello?world peer=192.0.2.7", (int)getpid());
	CHECK(strstr(buf, want) != NULL);
	if (check_failures)
		fprintf(stderr, "syslog got: %s\n", buf);
	return 0;
}

/*
 * Malformed fields are left out (the journal would refuse the whole
 * entry), and more fields than fit are dropped, not overrun.
 */
static int
child_journal_fields(void *arg)
{
	static const char *const odd[] = { "NOEQUALS", "=x", "GOOD=1", NULL };
	const char		*many[40];
	char			 buf[4096], names[40][16];
	ssize_t			 n;
	int			 j, s, rc;

	if ((rc = private_mounts(true)) != 0)
		return rc;
	CHECK(mkdir("/run/systemd", 0755) == 0);
	CHECK(mkdir("/run/systemd/journal", 0755) == 0);
	j = listen_dgram("/run/systemd/journal/socket");
	s = listen_dgram("/dev/log");
	CHECK(j >= 0 && s >= 0);
	log_init("test-fields", LOG_INFO);
	log_fields(LOG_INFO, odd, "odd fields");
#ifdef HAVE_LIBSYSTEMD
	n = recv(j, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	CHECK(n > 0);
	buf[n > 0 ? n : 0] = '\0';
	CHECK(strstr(buf, "MESSAGE=odd fields\n") != NULL);
	CHECK(strstr(buf, "GOOD=1\n") != NULL);
	CHECK(strstr(buf, "NOEQUALS") == NULL && strstr(buf, "\n=x") == NULL);
	CHECK(recv(s, buf, sizeof(buf), MSG_DONTWAIT) == -1); /* not twice */
#else
	n = recv(s, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	CHECK(n > 0);
	buf[n > 0 ? n : 0] = '\0';
	CHECK(strstr(buf, "odd fields good=1") != NULL);
#endif

	for (int i = 0; i < 39; i++) {
		snprintf(names[i], sizeof(names[i]), "F%d=%d", i, i);
		many[i] = names[i];
	}
	many[39] = NULL;
	log_fields(LOG_INFO, many, "many");
#ifdef HAVE_LIBSYSTEMD
	n = recv(j, buf, sizeof(buf) - 1, MSG_DONTWAIT);
#else
	n = recv(s, buf, sizeof(buf) - 1, MSG_DONTWAIT);
#endif
	CHECK(n > 0);
	buf[n > 0 ? n : 0] = '\0';
	CHECK(strstr(buf, "many") != NULL);
	CHECK(strstr(buf, "F15=15") != NULL || strstr(buf, "f15=15") != NULL);
	CHECK(strstr(buf, "F16=") == NULL && strstr(buf, "f16=") == NULL);
	return 0;
}

static void
report(const char *what, int rc)
{
	if (rc == CHILD_SKIP)
		printf("# %s: skipped (reason above)\n", what);
	else
		CHECK(rc == 0);
}

int
main(void)
{
	bool broken;

	test_printable();
	test_stderr_decision();
	test_stderr_format();
	test_not_to_connection();
	report("journal", in_child(child_journal, NULL));
	broken = false;
	report("syslog", in_child(child_syslog, &broken));
	broken = true;
	report(
	    "syslog when the journal fails", in_child(child_syslog, &broken));
	report("journal fields", in_child(child_journal_fields, NULL));
	return CHECK_DONE();
}
