/* Tests for libmaildir/maildir-stat.c: new/'s time and the space left. */
#include <sys/statvfs.h>

#include "maildir.h"
#include "test-maildir-util.h"

static void
test_new_mtime(void)
{
	char	       dir[PATH_MAX], p[PATH_MAX], name[MAILDIR_NAME_MAX + 1];
	struct maildir md;
	struct maildir_tmp t;
	struct timespec	   set[2] = { { .tv_sec = 1700000000, .tv_nsec = 5 },
		   { .tv_sec = 1700000001, .tv_nsec = 123456789 } },
			got;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	tu_path(p, dir, "new", ".");
	CHECK(utimensat(AT_FDCWD, p, set, 0) == 0);
	CHECK(maildir_new_mtime(&md, &got) == 0);
	/* The modification time (set[1]), to the nanosecond. */
	CHECK(got.tv_sec == set[1].tv_sec && got.tv_nsec == set[1].tv_nsec);
	/* A delivery changes it. */
	maildir_tmp_init(&t);
	CHECK(maildir_deliver_begin(&md, &t) == 0);
	CHECK(maildir_deliver_write(&t, "A: 1\n\nx\n", 8) == 0);
	CHECK(maildir_deliver_commit(&t, name, sizeof(name)) == 0);
	CHECK(maildir_new_mtime(&md, &got) == 0);
	CHECK(got.tv_sec > set[1].tv_sec);
	/* Not what tmp/ or cur/ did. */
	tu_path(p, dir, "cur", ".");
	CHECK(utimensat(AT_FDCWD, p, NULL, 0) == 0);
	tu_path(p, dir, "new", ".");
	CHECK(utimensat(AT_FDCWD, p, set, 0) == 0);
	CHECK(maildir_new_mtime(&md, &got) == 0);
	CHECK(got.tv_sec == set[1].tv_sec && got.tv_nsec == set[1].tv_nsec);
	maildir_close(&md);
	tu_rmrf(dir);
}

static void
test_space(void)
{
	char	       dir[PATH_MAX];
	struct maildir md;
	struct statvfs vfs;
	uint64_t       avail, size, want_avail, want_size, slack;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	CHECK(maildir_space(&md, &avail, &size) == 0);
	CHECK(statvfs(dir, &vfs) == 0);
	want_size = (uint64_t)vfs.f_blocks * vfs.f_frsize;
	want_avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	CHECK(size == want_size);
	CHECK(avail <= size);
	/* Others write on this file system meanwhile: 1% of it will do. */
	slack = size / 100;
	CHECK(avail + slack >= want_avail && avail <= want_avail + slack);
	/* Either half alone. */
	CHECK(maildir_space(&md, NULL, &size) == 0 && size == want_size);
	CHECK(maildir_space(&md, &avail, NULL) == 0 && avail <= want_size);
	maildir_close(&md);
	tu_rmrf(dir);
}

int
main(void)
{
	test_new_mtime();
	test_space();
	return CHECK_DONE();
}
