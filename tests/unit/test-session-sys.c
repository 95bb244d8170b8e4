/*
 * Tests libsession/session-sys.c: the peer, TCP_NODELAY, dropping root, exit,
 * the disk floor.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maildir.h"
#include "session-config.h"
#include "session-sys.h"
#include "test-maildir-util.h"

#define TEST_USER "baremail-test"

static void
test_peer_unix(void)
{
	int  sv[2];
	char buf[64];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(session_peer(sv[0], buf, sizeof(buf)));
	CHECK(strcmp(buf, "local") == 0);
	close(sv[0]);
	close(sv[1]);
}

/* Connects to a loopback listener of family af; returns the accepted fd. */
static int
tcp_pair(
    int af, const char *listen_addr, const char *connect_addr, int *client_r)
{
	struct sockaddr_storage ss;
	socklen_t		sl;
	int			l, c, a, zero = 0;

	memset(&ss, 0, sizeof(ss));
	l = socket(af, SOCK_STREAM, 0);
	if (l < 0)
		return -1;
	if (af == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, listen_addr, &s6->sin6_addr);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		inet_pton(AF_INET, listen_addr, &s4->sin_addr);
		sl = sizeof(*s4);
	}
	if (bind(l, (struct sockaddr *)&ss, sl) != 0 || listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&ss, &sl) != 0) {
		close(l);
		return -1;
	}
	/* Connect to the port we got, on connect_addr. */
	in_port_t		port = af == AF_INET6
			  ? ((struct sockaddr_in6 *)&ss)->sin6_port
			  : ((struct sockaddr_in *)&ss)->sin_port;
	struct sockaddr_storage to;
	memset(&to, 0, sizeof(to));
	if (strchr(connect_addr, ':') != NULL) {
		struct sockaddr_in6 *t6 = (struct sockaddr_in6 *)&to;
		t6->sin6_family = AF_INET6;
		t6->sin6_port = port;
		inet_pton(AF_INET6, connect_addr, &t6->sin6_addr);
		sl = sizeof(*t6);
	} else {
		struct sockaddr_in *t4 = (struct sockaddr_in *)&to;
		t4->sin_family = AF_INET;
		t4->sin_port = port;
		inet_pton(AF_INET, connect_addr, &t4->sin_addr);
		sl = sizeof(*t4);
	}
	c = socket(to.ss_family, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&to, sl) != 0) {
		close(l);
		if (c >= 0)
			close(c);
		return -1;
	}
	a = accept(l, NULL, NULL);
	close(l);
	*client_r = c;
	return a;
}

static void
test_peer_tcp(void)
{
	char	  buf[64];
	int	  a, c, on = 0;
	socklen_t ol = sizeof(on);

	a = tcp_pair(AF_INET, "127.0.0.1", "127.0.0.1", &c);
	CHECK(a >= 0);
	if (a < 0)
		return;
	CHECK(session_peer(a, buf, sizeof(buf)));
	CHECK(strcmp(buf, "127.0.0.1") == 0);
	/* Cut to the buffer, still terminated. */
	CHECK(session_peer(a, buf, 4));
	CHECK(strcmp(buf, "127") == 0);

	CHECK(
	    getsockopt(a, IPPROTO_TCP, TCP_NODELAY, &on, &ol) == 0 && on == 0);
	session_nodelay(a);
	CHECK(
	    getsockopt(a, IPPROTO_TCP, TCP_NODELAY, &on, &ol) == 0 && on == 1);
	close(a);
	close(c);

	/* IPv6, and IPv4 through a dual-stack listener (v4-mapped). */
	a = tcp_pair(AF_INET6, "::1", "::1", &c);
	if (a < 0) {
		printf("# skip IPv6 peer: no ::1 here (%s)\n", strerror(errno));
		return;
	}
	CHECK(session_peer(a, buf, sizeof(buf)));
	CHECK(strcmp(buf, "[::1]") == 0);
	session_nodelay(a);
	CHECK(
	    getsockopt(a, IPPROTO_TCP, TCP_NODELAY, &on, &ol) == 0 && on == 1);
	close(a);
	close(c);
	a = tcp_pair(AF_INET6, "::", "127.0.0.1", &c);
	if (a < 0) {
		printf("# skip v4-mapped peer: %s\n", strerror(errno));
		return;
	}
	CHECK(session_peer(a, buf, sizeof(buf)));
	CHECK(strcmp(buf, "127.0.0.1") == 0);
	close(a);
	close(c);
}

static void
test_peer_env(void)
{
	int  p[2];
	char buf[64];

	CHECK(pipe(p) == 0);
	unsetenv("REMOTE_HOST");
	unsetenv("REMOTE_ADDR");
	unsetenv("TCPREMOTEIP");
	CHECK(!session_peer(p[0], buf, sizeof(buf)));
	CHECK(strcmp(buf, "local") == 0);

	setenv("REMOTE_ADDR", "192.0.2.9", 1);
	CHECK(!session_peer(p[0], buf, sizeof(buf)));
	CHECK(strcmp(buf, "192.0.2.9") == 0);
	/* REMOTE_HOST (xinetd) first; hostile content is filtered. */
	setenv("REMOTE_HOST", "10.0.0.1\r\n; rm -rf /$(x)", 1);
	CHECK(!session_peer(p[0], buf, sizeof(buf)));
	CHECK(strcmp(buf, "10.0.0.1rm-rfx") == 0);
	/* Nothing left after filtering: the next variable. */
	setenv("REMOTE_HOST", "\x01 ;", 1);
	CHECK(!session_peer(p[0], buf, sizeof(buf)));
	CHECK(strcmp(buf, "192.0.2.9") == 0);
	unsetenv("REMOTE_ADDR");
	setenv("TCPREMOTEIP", "fe80::1", 1);
	CHECK(!session_peer(p[0], buf, sizeof(buf)));
	CHECK(strcmp(buf, "fe80::1") == 0);
	unsetenv("TCPREMOTEIP");
	CHECK(!session_peer(p[0], buf, sizeof(buf)));
	CHECK(strcmp(buf, "local") == 0);
	unsetenv("REMOTE_HOST");

	/* A socket ignores the environment. */
	int sv[2];
	setenv("REMOTE_HOST", "192.0.2.1", 1);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(session_peer(sv[0], buf, sizeof(buf)));
	CHECK(strcmp(buf, "local") == 0);
	unsetenv("REMOTE_HOST");
	/* Harmless on what is not TCP. */
	session_nodelay(sv[0]);
	session_nodelay(p[0]);
	close(sv[0]);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
}

/* Reads "Name:\tv1\tv2..." from /proc/self/status. */
static bool
status_line(const char *name, char *buf, size_t len)
{
	FILE  *fp = fopen("/proc/self/status", "r");
	char   line[512];
	size_t n = strlen(name);
	bool   found = false;

	if (fp == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			snprintf(buf, len, "%s", line + n + 1);
			found = true;
		}
	fclose(fp);
	return found;
}

static int
child_drop(void)
{
	struct passwd	  *pw = getpwnam(TEST_USER);
	char		   line[512], want[128], *end;
	unsigned long long cap = 1;

	if (pw == NULL)
		return 2;
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	CHECK(session_drop_root(TEST_USER) == 0);
	snprintf(want, sizeof(want), "\t%u\t%u\t%u\t%u\n", (unsigned)uid,
	    (unsigned)uid, (unsigned)uid, (unsigned)uid);
	CHECK(
	    status_line("Uid", line, sizeof(line)) && strcmp(line, want) == 0);
	snprintf(want, sizeof(want), "\t%u\t%u\t%u\t%u\n", (unsigned)gid,
	    (unsigned)gid, (unsigned)gid, (unsigned)gid);
	CHECK(
	    status_line("Gid", line, sizeof(line)) && strcmp(line, want) == 0);
	CHECK(status_line("CapEff", line, sizeof(line)));
	cap = strtoull(line, &end, 16);
	CHECK(end != line && *end == '\n' && cap == 0);
	CHECK(status_line("CapPrm", line, sizeof(line)));
	cap = strtoull(line, &end, 16);
	CHECK(end != line && *end == '\n' && cap == 0);
	/* Root's supplementary groups are gone. */
	gid_t groups[64];
	int   ng = getgroups(64, groups);
	CHECK(ng >= 0);
	for (int i = 0; i < ng; i++)
		CHECK(groups[i] != 0);
	errno = 0;
	CHECK(setuid(0) == -1 && errno == EPERM);
	CHECK(seteuid(0) == -1);
	CHECK(setgid(0) == -1);
	/* Not root any more: a second call does nothing and succeeds. */
	CHECK(session_drop_root("root") == 0);
	CHECK(getuid() == uid);
	return 0;
}

static void
run_child(int (*fn)(void))
{
	int   status;
	pid_t pid;

	fflush(stdout); /* the child must not print our buffer again */
	pid = fork();
	if (pid == 0) {
		int rc = fn();
		_exit(rc ? rc : check_failures ? 1 : 0);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void
test_drop_root(void)
{
	if (geteuid() != 0) {
		printf("# skip root switch: not running as root\n");
		/* Not root: nothing to drop, whatever the name. */
		CHECK(session_drop_root("") == 0);
		CHECK(session_drop_root("no-such-user-here") == 0);
		return;
	}
	if (getpwnam(TEST_USER) == NULL) {
		printf(
		    "# skip root switch: no account %s (test.sh creates it)\n",
		    TEST_USER);
		return;
	}
	run_child(child_drop);

	/* The failures leave us root. */
	errno = 0;
	CHECK(session_drop_root("") == -1 && errno == EINVAL);
	errno = 0;
	CHECK(session_drop_root("no-such-user-here") == -1 && errno == ENOENT);
	errno = 0;
	CHECK(session_drop_root("root") == -1 && errno == EPERM);
	CHECK(getuid() == 0 && geteuid() == 0);
}

/* Acting as another account for a while, and back (sendmail's delivery). */
static int
child_act_as(void)
{
	struct passwd	  *pw = getpwnam(TEST_USER);
	struct session_ids ids;
	gid_t		   groups[64];
	int		   ng;

	if (pw == NULL)
		return 2;
	CHECK(session_switch_ids(pw->pw_uid, pw->pw_gid, NULL, &ids) == 0);
	CHECK(ids.switched);
	CHECK(geteuid() == pw->pw_uid && getegid() == pw->pw_gid);
	CHECK(getuid() == 0);
	ng = getgroups(64, groups);
	CHECK(ng == 1 && groups[0] == pw->pw_gid);
	session_ids_restore(&ids);
	CHECK(!ids.switched && geteuid() == 0 && getegid() == 0);
	session_ids_restore(&ids); /* safe twice */
	CHECK(geteuid() == 0);
	return 0;
}

/* The root rule: which account, or why not. */
static int
child_leave_root(const char *dir, bool owned)
{
	struct passwd *pw = getpwnam(TEST_USER);
	char	       why[512];

	if (pw == NULL)
		return 2;
	if (!owned) {
		CHECK(session_leave_root(
			  "", dir, "/x.conf", why, sizeof(why)) == EX_NOPERM);
		CHECK(strstr(why, "set [user] name in /x.conf") != NULL);
		CHECK(session_leave_root("no-such-user-here", dir, "/x.conf",
			  why, sizeof(why)) == EX_CONFIG);
		CHECK(strstr(why, "no such user") != NULL);
		CHECK(geteuid() == 0);
		return 0;
	}
	CHECK(chown(dir, pw->pw_uid, pw->pw_gid) == 0);
	CHECK(session_leave_root("", dir, "/x.conf", why, sizeof(why)) == 0);
	CHECK(getuid() == pw->pw_uid && geteuid() == pw->pw_uid);
	CHECK(setuid(0) == -1);
	return 0;
}

static char leave_dir[64];

static int
child_leave_root_owned(void)
{
	return child_leave_root(leave_dir, true);
}

static int
child_leave_root_refused(void)
{
	return child_leave_root(leave_dir, false);
}

static void
test_ids(void)
{
	char why[64] = "";

	if (geteuid() != 0) {
		printf("# skip id switches: not running as root\n");
		CHECK(session_leave_root(
			  "", "/", "/x.conf", why, sizeof(why)) == 0);
		return;
	}
	if (getpwnam(TEST_USER) == NULL) {
		printf("# skip id switches: no account %s\n", TEST_USER);
		return;
	}
	run_child(child_act_as);
	snprintf(leave_dir, sizeof(leave_dir), "/tmp/test-session-sys.XXXXXX");
	CHECK(mkdtemp(leave_dir) != NULL);
	run_child(child_leave_root_refused);
	run_child(child_leave_root_owned);
	/* A maildir that does not exist is no owner either. */
	CHECK(rmdir(leave_dir) == 0);
	run_child(child_leave_root_refused);
	CHECK(geteuid() == 0);
}

static jmp_buf	    exit_jmp;
static volatile int exit_status = -1;

static _Noreturn void
catch_exit(int status)
{
	exit_status = status;
	longjmp(exit_jmp, 1);
}

static void
test_exit(void)
{
	int   status;
	pid_t pid;

	fflush(stdout); /* the child must not print our buffer again */
	pid = fork();

	if (pid == 0)
		session_exit(42);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 42);

	session_set_exit_hook(catch_exit);
	if (setjmp(exit_jmp) == 0)
		session_exit(7);
	CHECK(exit_status == 7);
	session_set_exit_hook(NULL);
}

static void
test_disk_low(void)
{
	struct session_config cfg;
	struct maildir	      md;
	char		      dir[PATH_MAX];
	uint64_t	      avail, size;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	CHECK(maildir_space(&md, &avail, &size) == 0);
	config_defaults(&cfg);
	cfg.has_min_free = true;
	cfg.min_free = 0; /* no floor */
	CHECK(!session_disk_low(&cfg, &md));
	cfg.min_free = size + 1; /* more than the file system holds */
	CHECK(session_disk_low(&cfg, &md));
	/* Half of what is free is still above the floor. */
	cfg.min_free = avail / 2;
	CHECK(!session_disk_low(&cfg, &md));
	maildir_close(&md);
	tu_rmrf(dir);
}

int
main(void)
{
	test_peer_unix();
	test_peer_tcp();
	test_peer_env();
	test_drop_root();
	test_ids();
	test_disk_low();
	test_exit();
	return CHECK_DONE();
}
