/*
 * Tests libsession/session-start.c: options, exit statuses, where messages
 * go, the configuration's sources and the switch from root.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "check.h"
#include "session-config.h"
#include "session-log.h"

#define USAGE	  "usage: test-prog [-c FILE] [-m DIR]\n"
#define TEST_USER "baremail-test"

static char dir[] = "/tmp/test-session-start-XXXXXX";
static char conf[300];

struct run {
	int  status;	/* exit status, or 128 + signal */
	char out[4096]; /* stdout */
	char err[4096]; /* stderr */
	char res[4096]; /* what the child saw after session_start() */
};

static void
slurp(int fd, char *buf, size_t len)
{
	size_t	got = 0;
	ssize_t n;

	while (got + 1 < len && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
}

/*
 * Runs session_start() in a child with the arguments given (NULL-ended).
 * on_socket: fds 0, 1 and 2 are one socket, as under xinetd; what arrives
 * on it is in out.  (An int, not a bool: va_start after a parameter that
 * promotes is undefined.)
 */
static void
run_start(struct run *r, int on_socket, ...)
{
	char	   *argv[16];
	int	    argc = 0, po[2] = { -1, -1 }, pe[2] = { -1, -1 };
	int	    pr[2] = { -1, -1 }, sv[2] = { -1, -1 };
	va_list	    ap;
	const char *a;
	pid_t	    pid;

	argv[argc++] = (char *)"test-prog";
	va_start(ap, on_socket);
	while ((a = va_arg(ap, const char *)) != NULL && argc < 15)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;

	CHECK(pipe(po) == 0 && pipe(pe) == 0 && pipe(pr) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		struct session_config cfg;
		struct sigaction      sa;
		int		      null = open("/dev/null", O_RDONLY);

		if (on_socket) {
			dup2(sv[0], 0);
			dup2(sv[0], 1);
			dup2(sv[0], 2);
		} else {
			dup2(null, 0);
			dup2(po[1], 1);
			dup2(pe[1], 2);
		}
		close(po[0]);
		close(pe[0]);
		close(pr[0]);
		close(sv[1]);
		session_start(argc, argv, "test-prog", USAGE, &cfg);
		sigaction(SIGPIPE, NULL, &sa);
		dprintf(pr[1],
		    "maildir=%s\nfile=%s\nuid=%d\ngid=%d\n"
		    "level=%d\ntimeout=%u\nsigpipe=%s\n",
		    cfg.maildir, cfg.file, (int)getuid(), (int)getgid(),
		    cfg.log_level, cfg.smtp_timeout,
		    sa.sa_handler == SIG_IGN ? "ignored" : "default");
		_exit(0);
	}
	close(po[1]);
	close(pe[1]);
	close(pr[1]);
	close(sv[0]);
	CHECK(waitpid(pid, &r->status, 0) == pid);
	r->status = WIFEXITED(r->status) ? WEXITSTATUS(r->status)
					 : 128 + WTERMSIG(r->status);
	if (on_socket) {
		ssize_t n =
		    recv(sv[1], r->out, sizeof(r->out) - 1, MSG_DONTWAIT);
		r->out[n > 0 ? n : 0] = '\0';
		close(po[0]);
	} else
		slurp(po[0], r->out, sizeof(r->out));
	slurp(pe[0], r->err, sizeof(r->err));
	slurp(pr[0], r->res, sizeof(r->res));
	close(sv[1]);
}

static void
write_conf(const char *text)
{
	FILE *fp = fopen(conf, "w");

	CHECK(fp != NULL);
	if (fp == NULL)
		return;
	fputs(text, fp);
	/* Started as root, the child needs [user] name to get anywhere. */
	if (geteuid() == 0 && strstr(text, "[user]") == NULL)
		fputs("[user]\nname = " TEST_USER "\n", fp);
	fclose(fp);
}

static bool
has(const char *hay, const char *needle)
{
	if (strstr(hay, needle) != NULL)
		return true;
	fprintf(stderr, "  \"%s\" not in:\n%s\n", needle, hay);
	return false;
}

/* Closed 0, 1 and 2 are held with /dev/null before anything is opened. */
static void
test_closed_fds(void)
{
	int   status, p[2] = { -1, -1 };
	pid_t pid;
	char  buf[64] = "";

	CHECK(pipe(p) == 0);
	pid = fork();
	if (pid == 0) {
		struct session_config cfg;
		char	   *argv[] = { (char *)"test-prog", (char *)"-c", conf,
			      NULL };
		struct stat st;

		write_conf("[smtp]\ntimeout = 4\n");
		if (p[1] <= 2)
			_exit(3);
		close(0);
		close(1);
		close(2);
		session_start(3, argv, "test-prog", USAGE, &cfg);
		for (int fd = 0; fd <= 2; fd++)
			if (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode))
				_exit(4);
		log_err("not to /dev/null's neighbours");
		dprintf(p[1], "timeout=%u", cfg.smtp_timeout);
		_exit(0);
	}
	close(p[1]);
	slurp(p[0], buf, sizeof(buf));
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(strcmp(buf, "timeout=4") == 0);
}

static void
test_help_version(void)
{
	struct run r;

	run_start(&r, false, "-V", NULL);
	CHECK(r.status == 0);
	CHECK(
	    strcmp(r.out, "test-prog (BareMail) " BAREMAIL_VERSION "\n") == 0);
	CHECK(r.err[0] == '\0' && r.res[0] == '\0');
	run_start(&r, false, "--version", NULL);
	CHECK(
	    r.status == 0 && strncmp(r.out, "test-prog (BareMail) ", 21) == 0);
	run_start(&r, false, "-h", NULL);
	CHECK(r.status == 0 && strcmp(r.out, USAGE) == 0);
	run_start(&r, false, "--help", NULL);
	CHECK(r.status == 0 && strcmp(r.out, USAGE) == 0);
	CHECK(r.err[0] == '\0');
}

static void
test_bad_options(void)
{
	struct run r;

	run_start(&r, false, "-x", NULL);
	CHECK(r.status == EX_USAGE);
	CHECK(r.out[0] == '\0' && r.res[0] == '\0');
	CHECK(has(r.err, "unknown option -x"));
	CHECK(has(r.err, USAGE));
	run_start(&r, false, "--bogus", NULL);
	CHECK(r.status == EX_USAGE && has(r.err, "unknown option --bogus"));
	run_start(&r, false, "-c", NULL);
	CHECK(r.status == EX_USAGE && has(r.err, "-c needs an argument"));
	run_start(&r, false, "--maildir", NULL);
	CHECK(
	    r.status == EX_USAGE && has(r.err, "--maildir needs an argument"));
	run_start(&r, false, "-m", "/tmp/x", "extra", NULL);
	CHECK(r.status == EX_USAGE &&
	    has(r.err, "unexpected argument \"extra\""));
	run_start(&r, false, "-m", "", NULL);
	CHECK(r.status == EX_USAGE);

	/* Under xinetd stderr is the client: not a byte of it goes there. */
	run_start(&r, true, "-x", NULL);
	CHECK(r.status == EX_USAGE);
	CHECK(r.out[0] == '\0');
}

static void
test_config_sources(void)
{
	struct run r;
	char	   missing[400], arg[400];

	snprintf(missing, sizeof(missing), "%s/missing.conf", dir);
	unsetenv("MAILDIR");
	setenv("BAREMAIL_CONFIG", "/nonexistent/should-not-be-read", 1);

	/* -c wins over $BAREMAIL_CONFIG, and a missing -c file is an error. */
	run_start(&r, false, "-c", missing, NULL);
	CHECK(r.status == EX_CONFIG);
	CHECK(has(r.err, missing) && has(r.err, "No such file"));
	CHECK(r.out[0] == '\0' && r.res[0] == '\0');
	/* A missing $BAREMAIL_CONFIG too. */
	run_start(&r, false, NULL);
	CHECK(r.status == EX_CONFIG && has(r.err, "/nonexistent/should-not"));

	write_conf("[maildir]\npath = /srv/box\n[smtp]\ntimeout = 9\n");
	run_start(&r, false, "-c", conf, NULL);
	CHECK(r.status == 0 && r.out[0] == '\0');
	CHECK(has(r.res, "maildir=/srv/box\n") && has(r.res, "timeout=9\n"));
	snprintf(arg, sizeof(arg), "file=%s\n", conf);
	CHECK(has(r.res, arg));
	CHECK(has(r.res, "sigpipe=ignored\n"));

	snprintf(arg, sizeof(arg), "--config=%s", conf);
	run_start(&r, false, arg, "--maildir=/other", NULL);
	CHECK(r.status == 0 && has(r.res, "maildir=/other\n"));

	setenv("BAREMAIL_CONFIG", conf, 1);
	run_start(&r, false, "-m", "rel/box", NULL);
	CHECK(r.status == 0 && has(r.res, "maildir=rel/box\n"));
	CHECK(has(r.res, "timeout=9\n"));

	/* A bad value: EX_CONFIG naming file, line and key, on stderr. */
	write_conf("[smtp]\n\ntimeout = never\n");
	run_start(&r, false, NULL);
	CHECK(r.status == EX_CONFIG && r.out[0] == '\0');
	snprintf(arg, sizeof(arg), "%s:3: [smtp] timeout: \"never\"", conf);
	CHECK(has(r.err, arg));
	CHECK(has(r.err, "test-prog["));

	/* [log] level applies: the debug line about the start shows. */
	write_conf("[log]\nlevel = debug\n[maildir]\npath = /srv/m\n");
	run_start(&r, false, NULL);
	CHECK(r.status == 0 && has(r.err, "debug: started: config "));
	CHECK(has(r.err, "maildir /srv/m"));
	write_conf("[log]\nlevel = info\n");
	run_start(&r, false, NULL);
	CHECK(r.status == 0 && r.err[0] == '\0');
	unsetenv("BAREMAIL_CONFIG");
}

static void
test_default_maildir(void)
{
	struct run r;

	setenv("BAREMAIL_CONFIG", conf, 1);
	write_conf("[smtp]\ntimeout = 5\n");
	setenv("MAILDIR", "/env/maildir", 1);
	run_start(&r, false, NULL);
	CHECK(r.status == 0 && has(r.res, "maildir=/env/maildir\n"));
	unsetenv("MAILDIR");
	if (geteuid() != 0) {
		setenv("HOME", "/home/tester", 1);
		run_start(&r, false, NULL);
		CHECK(r.status == 0 &&
		    has(r.res, "maildir=/home/tester/Maildir\n"));
	}
	unsetenv("BAREMAIL_CONFIG");
}

static void
test_root(void)
{
	struct run     r;
	struct passwd *pw;
	char	       want[400];

	if (geteuid() != 0) {
		struct run nr;
		printf("# skip root switch: not running as root\n");
		/* Not root: [user] name is not needed, and not acted on. */
		write_conf("[user]\nname = no-such-user-here\n");
		setenv("BAREMAIL_CONFIG", conf, 1);
		run_start(&nr, false, NULL);
		CHECK(nr.status == 0);
		unsetenv("BAREMAIL_CONFIG");
		return;
	}
	pw = getpwnam(TEST_USER);
	if (pw == NULL) {
		printf(
		    "# skip root switch: no account %s (test.sh creates it)\n",
		    TEST_USER);
		return;
	}
	setenv("BAREMAIL_CONFIG", conf, 1);

	/* Without [user] name: refused, before anything else happens. */
	write_conf("[user]\n");
	run_start(&r, false, NULL);
	CHECK(r.status == EX_NOPERM && r.res[0] == '\0' && r.out[0] == '\0');
	CHECK(has(r.err, "refusing to run as root"));
	CHECK(has(r.err, "[user] name"));

	/* An unknown account is a configuration error. */
	write_conf("[user]\nname = no-such-user-here\n");
	run_start(&r, false, NULL);
	CHECK(r.status == EX_CONFIG && has(r.err, "no such user"));

	/* With it: switched, and the default maildir is the account's. */
	setenv("HOME", "/root", 1);
	unsetenv("MAILDIR");
	write_conf("[user]\nname = " TEST_USER "\n");
	run_start(&r, false, NULL);
	CHECK(r.status == 0);
	snprintf(want, sizeof(want), "uid=%d\ngid=%d\n", (int)pw->pw_uid,
	    (int)pw->pw_gid);
	CHECK(has(r.res, want));
	snprintf(want, sizeof(want), "maildir=%s/Maildir\n", pw->pw_dir);
	CHECK(has(r.res, want));
	unsetenv("BAREMAIL_CONFIG");
}

int
main(void)
{
	CHECK(mkdtemp(dir) != NULL);
	chmod(dir, 0755);
	snprintf(conf, sizeof(conf), "%s/baremail.conf", dir);
	unsetenv("BAREMAIL_CONFIG");
	test_help_version();
	test_bad_options();
	test_closed_fds();
	test_config_sources();
	test_default_maildir();
	test_root();
	unlink(conf);
	rmdir(dir);
	return CHECK_DONE();
}
