/* Tests for libmaildir/maildir-deliver.c: delivery and its failure paths. */
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <time.h>

#include "maildir.h"
#include "test-maildir-util.h"

static struct maildir_tmp t; /* 64 KiB: not on the stack */

/* The W= a name must carry for data: the CRLF view's length. */
static uint64_t
crlf_len(const char *data, size_t len)
{
	struct maildir_crlf cx;
	char		    tr[4];
	uint64_t	    n;

	maildir_crlf_init(&cx);
	n = maildir_crlf_count(&cx, data, len);
	return n + maildir_crlf_finish(&cx, tr);
}

/* Checks a delivered file: its name's form and sizes, and its content. */
static void
check_delivered(const char *dir, const char *name, const char *data, size_t len)
{
	struct maildir_name_info info;
	unsigned long long	 sec, s, w;
	long			 usec, pid;
	unsigned long		 q;
	unsigned int		 rnd;
	char			 host[128], *got;
	size_t			 glen = 0;
	struct stat		 st;
	char			 p[PATH_MAX];
	int			 n = -1;

	CHECK(sscanf(name, "%llu.M%ldP%ldR%8xQ%lu.%127[^,],S=%llu,W=%llu%n",
		  &sec, &usec, &pid, &rnd, &q, host, &s, &w, &n) == 8);
	CHECK(n > 0 && name[n] == '\0');
	CHECK(pid == (long)getpid());
	CHECK(s == len);
	CHECK(w == crlf_len(data, len));
	CHECK(strchr(host, '/') == NULL && strchr(host, ':') == NULL);
	maildir_name_parse(name, &info);
	CHECK(info.has_size && info.size == len);
	CHECK(info.has_wsize && info.wsize == w);
	got = tu_read(dir, "new", name, &glen);
	CHECK(got != NULL && glen == len && memcmp(got, data, len) == 0);
	free(got);
	tu_path(p, dir, "new", name);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0600);
}

static void
test_deliver(void)
{
	static const char msg[] = "Subject: hi\n\nline one\nline two\r\n\0x";
	char		  dir[PATH_MAX], name[MAILDIR_NAME_MAX + 1], seen[300];
	char		  name2[MAILDIR_NAME_MAX + 1];
	struct maildir	  md;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	CHECK(maildir_deliver_begin(&md, &t) == 0);
	CHECK(tu_count(dir, "tmp", NULL, 0) == 1);
	CHECK(tu_count(dir, "new", NULL, 0) == 0);
	/* Odd chunk sizes, including empty ones. */
	for (size_t i = 0; i < sizeof(msg) - 1; i += 3)
		CHECK(maildir_deliver_write(&t, msg + i,
			  i + 3 <= sizeof(msg) - 1 ? 3 : sizeof(msg) - 1 - i) ==
		    0);
	CHECK(maildir_deliver_write(&t, msg, 0) == 0);
	CHECK(maildir_deliver_commit(&t, name, sizeof(name)) == 0);
	CHECK(tu_count(dir, "tmp", NULL, 0) == 0);
	CHECK(tu_count(dir, "new", seen, sizeof(seen)) == 1);
	CHECK(strcmp(seen, name) == 0);
	check_delivered(dir, name, msg, sizeof(msg) - 1);
	/* Abort after commit does nothing (the caller may always call it). */
	maildir_deliver_abort(&t);
	CHECK(tu_count(dir, "new", NULL, 0) == 1);

	/* An empty message, no name wanted. */
	CHECK(maildir_deliver_begin(&md, &t) == 0);
	CHECK(maildir_deliver_commit(&t, NULL, 0) == 0);
	CHECK(tu_count(dir, "new", NULL, 0) == 2);

	/* A second message gets another name (Q counts up). */
	CHECK(maildir_deliver_begin(&md, &t) == 0);
	CHECK(maildir_deliver_write(&t, "x", 1) == 0);
	CHECK(maildir_deliver_commit(&t, name2, sizeof(name2)) == 0);
	CHECK(strcmp(name, name2) != 0);
	check_delivered(dir, name2, "x", 1);
	CHECK(strstr(name2, ",S=1,W=5") != NULL); /* x CRLF CRLF */

	/* Writing or committing without a delivery is EBADF. */
	errno = 0;
	CHECK(maildir_deliver_write(&t, "x", 1) == -1 && errno == EBADF);
	CHECK(maildir_deliver_commit(&t, NULL, 0) == -1 && errno == EBADF);
	maildir_close(&md);
	tu_rmrf(dir);
}

/* Megabytes in chunks around the buffer size: sizes and content hold. */
static void
test_deliver_large(void)
{
	static const size_t chunks[] = { 1, 7, 4096, 65535, 65536, 65537,
		200000, 13 };
	size_t		    len = 3 * 1024 * 1024, pos = 0, k = 0;
	char		    dir[PATH_MAX], name[MAILDIR_NAME_MAX + 1];
	struct maildir	    md;
	char		   *data = malloc(len);

	CHECK(data != NULL);
	if (data == NULL)
		return;
	for (size_t i = 0; i < len; i++) {
		unsigned long r = tu_rand() % 64;

		data[i] = r == 0 ? '\n'
		    : r == 1	 ? '\r'
		    : r == 2	 ? '\0'
				 : (char)('a' + r % 26);
	}
	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	CHECK(maildir_deliver_begin(&md, &t) == 0);
	while (pos < len) {
		size_t n = chunks[k++ % (sizeof(chunks) / sizeof(chunks[0]))];

		if (n > len - pos)
			n = len - pos;
		CHECK(maildir_deliver_write(&t, data + pos, n) == 0);
		pos += n;
	}
	CHECK(maildir_deliver_commit(&t, name, sizeof(name)) == 0);
	check_delivered(dir, name, data, len);
	maildir_close(&md);
	tu_rmrf(dir);
	free(data);
}

static void
test_abort(void)
{
	char	       dir[PATH_MAX];
	struct maildir md;

	/* Initialised, never begun: abort and write touch no file. */
	memset(&t, 0x5a, offsetof(struct maildir_tmp, buf));
	maildir_tmp_init(&t);
	CHECK(t.fd == -1 && t.name[0] == '\0' && t.md == NULL);
	maildir_deliver_abort(&t);
	errno = 0;
	CHECK(maildir_deliver_write(&t, "x", 1) == -1 && errno == EBADF);

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	CHECK(maildir_deliver_begin(&md, &t) == 0);
	CHECK(maildir_deliver_write(&t, "Subject: x\n\nbody\n", 17) == 0);
	maildir_deliver_abort(&t);
	CHECK(tu_count(dir, "tmp", NULL, 0) == 0);
	CHECK(tu_count(dir, "new", NULL, 0) == 0);
	maildir_deliver_abort(&t); /* safe twice */
	errno = 0;
	CHECK(maildir_deliver_write(&t, "x", 1) == -1 && errno == EBADF);
	maildir_close(&md);
	tu_rmrf(dir);
}

/* Run as an unprivileged user: new/ not writable when commit moves. */
static void
unwritable_new(const char *dir)
{
	char	       p[PATH_MAX];
	struct maildir md;

	CHECK(maildir_open(&md, dir) == 0);
	CHECK(maildir_deliver_begin(&md, &t) == 0);
	CHECK(maildir_deliver_write(&t, "Subject: x\n\nbody\n", 17) == 0);
	tu_path(p, dir, "new", ".");
	CHECK(chmod(p, 0500) == 0);
	errno = 0;
	CHECK(maildir_deliver_commit(&t, NULL, 0) == -1 && errno == EACCES);
	CHECK(tu_count(dir, "tmp", NULL, 0) == 0);
	CHECK(tu_count(dir, "new", NULL, 0) == 0);
	maildir_deliver_abort(&t); /* still safe */
	CHECK(chmod(p, 0700) == 0);

	/* tmp/ not writable: begin fails, leaving nothing behind. */
	tu_path(p, dir, "tmp", ".");
	CHECK(chmod(p, 0500) == 0);
	errno = 0;
	CHECK(maildir_deliver_begin(&md, &t) == -1 && errno == EACCES);
	maildir_deliver_abort(&t);
	CHECK(chmod(p, 0700) == 0);
	CHECK(tu_count(dir, "new", NULL, 0) == 0);
	maildir_close(&md);
}

static void
test_unwritable(void)
{
	char top[PATH_MAX], dir[PATH_MAX];

	tu_mkdtemp(top, sizeof(top));
	/* The unprivileged user must be able to reach the maildir. */
	CHECK(chmod(top, 0711) == 0);
	tu_path(dir, top, "md", "");
	CHECK(mkdir(dir, 0700) == 0);
	if (!tu_run_unprivileged(dir, unwritable_new))
		CHECK(!"could not run the unwritable-directory test");
	tu_rmrf(top);
}

/* Disk full: a 64 KiB tmpfs (root only). */
static void
test_disk_full(void)
{
	char	       dir[PATH_MAX], big[8192];
	struct maildir md;
	int	       r = 0;

	if (geteuid() != 0) {
		printf(
		    "SKIP disk-full test: mounting a small tmpfs needs root\n");
		return;
	}
	tu_mkdtemp(dir, sizeof(dir));
	if (mount("baremail-test", dir, "tmpfs", MS_NOSUID | MS_NODEV,
		"size=64k,mode=0700") < 0) {
		printf("SKIP disk-full test: mount -t tmpfs failed: %s\n",
		    strerror(errno));
		rmdir(dir);
		return;
	}
	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = '\n';
	CHECK(maildir_open(&md, dir) == 0);

	/* Too big to fit: a write (buffer flush) or the commit fails. */
	CHECK(maildir_deliver_begin(&md, &t) == 0);
	for (int i = 0; i < 32 && r == 0; i++)
		r = maildir_deliver_write(&t, big, sizeof(big));
	if (r == 0)
		r = maildir_deliver_commit(&t, NULL, 0);
	CHECK(r == -1 && errno == ENOSPC);
	maildir_deliver_abort(&t);
	CHECK(tu_count(dir, "tmp", NULL, 0) == 0);
	CHECK(tu_count(dir, "new", NULL, 0) == 0);

	/*
	 * Fill most of the disk, then a message small enough to sit in the
	 * buffer: only the commit's flush can find the disk full.
	 */
	CHECK(tu_write(dir, ".", "filler", big, sizeof(big)) == 0);
	for (int i = 0; i < 5; i++) {
		char fn[32];

		snprintf(fn, sizeof(fn), "filler%d", i);
		CHECK(tu_write(dir, ".", fn, big, sizeof(big)) == 0);
	}
	CHECK(maildir_deliver_begin(&md, &t) == 0);
	for (int i = 0; i < 4; i++)
		CHECK(maildir_deliver_write(&t, big, sizeof(big)) == 0);
	errno = 0;
	CHECK(maildir_deliver_commit(&t, NULL, 0) == -1 && errno == ENOSPC);
	CHECK(tu_count(dir, "tmp", NULL, 0) == 0);
	CHECK(tu_count(dir, "new", NULL, 0) == 0);

	/* Room again: delivery works on the same maildir. */
	for (int i = 0; i < 5; i++) {
		char fn[32], path[PATH_MAX];

		snprintf(fn, sizeof(fn), "filler%d", i);
		tu_path(path, dir, ".", fn);
		CHECK(unlink(path) == 0);
	}
	CHECK(maildir_deliver_begin(&md, &t) == 0);
	CHECK(maildir_deliver_write(&t, big, sizeof(big)) == 0);
	CHECK(maildir_deliver_commit(&t, NULL, 0) == 0);
	CHECK(tu_count(dir, "new", NULL, 0) == 1);
	maildir_close(&md);
	if (umount(dir) < 0)
		perror("umount");
	rmdir(dir);
}

/* A writer killed half way leaves debris in tmp/ and nothing in new/. */
static void
test_killed_writer(void)
{
	char	       dir[PATH_MAX], line[1000];
	struct maildir md;
	int	       pfd[2], st;
	pid_t	       pid;
	char	       c;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(pipe(pfd) == 0);
	memset(line, 'y', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (maildir_open(&md, dir) < 0 ||
		    maildir_deliver_begin(&md, &t) < 0)
			_exit(1);
		for (int i = 0; i < 300; i++)
			if (maildir_deliver_write(&t, line, sizeof(line)) < 0)
				_exit(1);
		/* Half way: tell the parent, then keep writing until killed. */
		if (write(pfd[1], "h", 1) != 1)
			_exit(1);
		for (;;) {
			if (maildir_deliver_write(&t, line, sizeof(line)) < 0)
				_exit(1);
			usleep(1000);
		}
	}
	close(pfd[1]);
	CHECK(read(pfd[0], &c, 1) == 1);
	CHECK(kill(pid, SIGKILL) == 0);
	CHECK(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st));
	close(pfd[0]);
	CHECK(tu_count(dir, "new", NULL, 0) == 0);
	CHECK(tu_count(dir, "cur", NULL, 0) == 0);
	CHECK(tu_count(dir, "tmp", NULL, 0) == 1);
	/* The debris goes with the 36-hour cleanup, not before. */
	CHECK(maildir_open(&md, dir) == 0);
	CHECK(maildir_clean_tmp(&md, time(NULL)) == 0);
	CHECK(maildir_clean_tmp(&md, time(NULL) + MAILDIR_STALE_TMP + 60) == 1);
	CHECK(tu_count(dir, "tmp", NULL, 0) == 0);
	maildir_close(&md);
	tu_rmrf(dir);
}

/*
 * A file size limit makes write() stop short, then fail with EFBIG: the
 * short write is carried on, the failure removes the tmp file at once, and
 * later calls repeat the error.  In a child: the limit is per process.
 */
static void
test_write_fails(void)
{
	char	       dir[PATH_MAX], buf[10000];
	struct maildir md;
	pid_t	       pid;
	int	       st;

	tu_mkdtemp(dir, sizeof(dir));
	memset(buf, 'w', sizeof(buf));
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = { .rlim_cur = 100000, .rlim_max = 100000 };
		int	      r = 0, i;

		signal(SIGXFSZ, SIG_IGN);
		CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
		CHECK(maildir_open(&md, dir) == 0);
		CHECK(maildir_deliver_begin(&md, &t) == 0);
		/* 15000 bytes a time, so no flush ends on the limit exactly. */
		for (i = 0; i < 40 && r == 0; i++)
			r = maildir_deliver_write(&t, buf, 7500) == 0
			    ? maildir_deliver_write(&t, buf, 7500)
			    : -1;
		CHECK(r == -1 && errno == EFBIG);
		CHECK(i > 5); /* the first flushes did fit */
		CHECK(tu_count(dir, "tmp", NULL, 0) == 0);
		errno = 0;
		CHECK(
		    maildir_deliver_write(&t, buf, 1) == -1 && errno == EFBIG);
		errno = 0;
		CHECK(maildir_deliver_commit(&t, NULL, 0) == -1 &&
		    errno == EFBIG);
		maildir_deliver_abort(&t);

		/* The same with one big unbuffered write. */
		CHECK(maildir_deliver_begin(&md, &t) == 0);
		{
			char *big = calloc(1, 300000);

			errno = 0;
			CHECK(big != NULL &&
			    maildir_deliver_write(&t, big, 300000) == -1 &&
			    errno == EFBIG);
			free(big);
		}
		CHECK(maildir_deliver_commit(&t, NULL, 0) == -1 &&
		    errno == EFBIG);
		CHECK(tu_count(dir, "tmp", NULL, 0) == 0);
		CHECK(tu_count(dir, "new", NULL, 0) == 0);

		/* Under the limit, delivery works; the error is not left over. */
		CHECK(maildir_deliver_begin(&md, &t) == 0);
		CHECK(maildir_deliver_write(&t, buf, sizeof(buf)) == 0);
		CHECK(maildir_deliver_commit(&t, NULL, 0) == 0);
		CHECK(tu_count(dir, "new", NULL, 0) == 1);
		maildir_close(&md);
		_exit(CHECK_DONE());
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0);
	tu_rmrf(dir);
}

/* A file already holding the final name is never replaced. */
static void
test_never_replace(void)
{
	char	       dir[PATH_MAX], taken[300], name[MAILDIR_NAME_MAX + 1];
	struct maildir md;
	size_t	       len = 0;
	char	      *got;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	CHECK(maildir_deliver_begin(&md, &t) == 0);
	CHECK(maildir_deliver_write(&t, "A: b\n\nc\n", 8) == 0);
	snprintf(taken, sizeof(taken), "%s,S=8,W=11", t.name);
	CHECK(tu_write(dir, "new", taken, "precious", 8) == 0);
	CHECK(maildir_deliver_commit(&t, name, sizeof(name)) == 0);
	CHECK(strcmp(name, taken) != 0);
	CHECK(tu_count(dir, "new", NULL, 0) == 2);
	CHECK(tu_count(dir, "tmp", NULL, 0) == 0);
	got = tu_read(dir, "new", taken, &len);
	CHECK(got != NULL && len == 8 && memcmp(got, "precious", 8) == 0);
	free(got);
	check_delivered(dir, name, "A: b\n\nc\n", 8);
	maildir_close(&md);
	tu_rmrf(dir);
}

int
main(void)
{
	test_deliver();
	test_deliver_large();
	test_abort();
	test_write_fails();
	test_never_replace();
	test_unwritable();
	test_disk_full();
	test_killed_writer();
	return CHECK_DONE();
}
