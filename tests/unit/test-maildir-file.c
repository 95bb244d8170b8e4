/*
 * Tests for libmaildir/maildir-file.c: files of our own in the maildir's
 * root, read, replaced whole, and locked.
 */
#include <poll.h>
#include <sys/uio.h>

#include "maildir.h"
#include "test-maildir-util.h"

/* Replaces dir/name with s, durably or not; the call's result. */
static int
replace(struct maildir *md, const char *name, const char *s, bool is_durable)
{
	struct iovec iov[2] = { { (void *)(uintptr_t)s, 1 },
		{ (void *)(uintptr_t)(s + 1), strlen(s) - 1 } };

	return maildir_file_replace(md, name, iov, 2, is_durable);
}

/* Whether fd, read from its start, holds exactly s. */
static bool
holds(int fd, const char *s)
{
	char	buf[256];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);

	return n == (ssize_t)strlen(s) && memcmp(buf, s, (size_t)n) == 0;
}

static void
test_open_replace(void)
{
	char	       dir[PATH_MAX], p[PATH_MAX], big[200000];
	struct maildir md;
	struct iovec   iov;
	char	      *got;
	size_t	       len;
	int	       old, fd;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	CHECK(maildir_file_open(&md, ".state") < 0 && errno == ENOENT);

	CHECK(replace(&md, ".state", "one\n", true) == 0);
	CHECK((old = maildir_file_open(&md, ".state")) >= 0);
	CHECK(holds(old, "one\n"));
	/* Replaced, not rewritten: who holds the old file still reads it. */
	CHECK(replace(&md, ".state", "two, longer\n", false) == 0);
	CHECK(holds(old, "one\n"));
	CHECK((fd = maildir_file_open(&md, ".state")) >= 0);
	CHECK(holds(fd, "two, longer\n"));
	close(fd);
	close(old);
	/* Nothing is left behind in tmp/, nor beside the file. */
	CHECK(tu_count(dir, "tmp", NULL, 0) == 0);
	CHECK(tu_count(dir, ".", NULL, 0) == 3); /* tmp new cur */

	/* Whatever the kernel's writes take at a time, all of it lands. */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	iov.iov_base = big;
	iov.iov_len = sizeof(big);
	CHECK(maildir_file_replace(&md, ".big", &iov, 1, true) == 0);
	got = tu_read(dir, ".", ".big", &len);
	CHECK(got != NULL && len == sizeof(big) &&
	    memcmp(got, big, sizeof(big)) == 0);
	free(got);
	CHECK(maildir_file_replace(
		  &md, ".big", &iov, MAILDIR_FILE_IOV + 1, false) < 0 &&
	    errno == EINVAL);

	/* Never through a symlink, to read or to replace. */
	tu_path(p, dir, ".", ".link");
	CHECK(symlink(".state", p) == 0);
	CHECK(maildir_file_open(&md, ".link") < 0 && errno == ELOOP);
	/* The link itself is replaced, never the file it points to. */
	CHECK(replace(&md, ".link", "three\n", true) == 0);
	CHECK(tu_count(dir, "tmp", NULL, 0) == 0);
	CHECK((fd = maildir_file_open(&md, ".link")) >= 0);
	CHECK(holds(fd, "three\n"));
	close(fd);
	CHECK((fd = maildir_file_open(&md, ".state")) >= 0);
	CHECK(holds(fd, "two, longer\n"));
	close(fd);

	/* A failed rename (a directory in the way) leaves nothing in tmp/. */
	tu_path(p, dir, ".", ".dir");
	CHECK(mkdir(p, 0700) == 0);
	CHECK(replace(&md, ".dir", "x\n", true) < 0 && errno == EISDIR);
	CHECK(tu_count(dir, "tmp", NULL, 0) == 0);
	maildir_close(&md);
	tu_rmrf(dir);
}

static void
test_lock(void)
{
	char	       dir[PATH_MAX], p[PATH_MAX], c;
	struct maildir md;
	struct flock   fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct pollfd  pfd;
	int	       fd, other, pipefd[2], st;
	pid_t	       pid;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	CHECK((fd = maildir_file_lock(&md, ".lock")) >= 0);
	CHECK(tu_exists(dir, ".", ".lock"));
	/* Another open file (another process, another host) cannot have it. */
	tu_path(p, dir, ".", ".lock");
	CHECK((other = open(p, O_RDWR)) >= 0);
	CHECK(fcntl(other, F_OFD_SETLK, &fl) < 0 && errno == EAGAIN);

	/* A second locker waits for the first, then has it. */
	CHECK(pipe(pipefd) == 0);
	if ((pid = fork()) == 0) {
		struct maildir md2;

		/* Not the parent's lock: it goes with the open file. */
		close(fd);
		close(pipefd[0]);
		alarm(20);
		if (maildir_open(&md2, dir) != 0 ||
		    maildir_file_lock(&md2, ".lock") < 0)
			_exit(1);
		_exit(write(pipefd[1], "L", 1) == 1 ? 0 : 1);
	}
	close(pipefd[1]);
	pfd.fd = pipefd[0];
	pfd.events = POLLIN;
	CHECK(poll(&pfd, 1, 300) == 0); /* still waiting */
	close(fd);
	CHECK(poll(&pfd, 1, 10000) == 1);
	CHECK(read(pipefd[0], &c, 1) == 1 && c == 'L');
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0);
	close(pipefd[0]);
	/* Released with its descriptor (here, the child's exit). */
	CHECK(fcntl(other, F_OFD_SETLK, &fl) == 0);
	close(other);

	/* Not through a symlink. */
	tu_path(p, dir, ".", ".lock-link");
	CHECK(symlink(".lock", p) == 0);
	CHECK(maildir_file_lock(&md, ".lock-link") < 0 && errno == ELOOP);
	maildir_close(&md);
	tu_rmrf(dir);
}

int
main(void)
{
	test_open_replace();
	test_lock();
	return CHECK_DONE();
}
