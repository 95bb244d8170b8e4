/* Tests for libmaildir/maildir-clean.c: the 36-hour rule for tmp/. */
#include <time.h>

#include "maildir.h"
#include "test-maildir-util.h"

/* Makes tmp/name with the given ages in seconds (atime, mtime). */
static void
make_aged(
    const char *dir, const char *name, time_t now, time_t aage, time_t mage)
{
	char		p[PATH_MAX];
	struct timespec ts[2] = { { .tv_sec = now - aage },
		{ .tv_sec = now - mage } };

	CHECK(tu_write(dir, "tmp", name, "x", 1) == 0);
	tu_path(p, dir, "tmp", name);
	CHECK(utimensat(AT_FDCWD, p, ts, 0) == 0);
}

static void
test_clean(void)
{
	const time_t   h = 3600, now = time(NULL);
	char	       dir[PATH_MAX], p[PATH_MAX];
	struct maildir md;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	make_aged(dir, "old", now, 37 * h, 37 * h);
	make_aged(dir, "older", now, 400 * h, 400 * h);
	make_aged(dir, "fresh", now, 0, 0);
	make_aged(dir, "read-lately", now, 1 * h, 37 * h);
	make_aged(dir, "written-lately", now, 37 * h, 34 * h);
	make_aged(dir, "just-under", now, 36 * h - 10, 36 * h - 10);
	make_aged(dir, ".dot-old", now, 37 * h, 37 * h);
	/* A directory, however old, is not ours to remove. */
	tu_path(p, dir, "tmp", "olddir");
	CHECK(mkdir(p, 0700) == 0);
	CHECK(utimensat(AT_FDCWD, p,
		  (struct timespec[2]){
		      { .tv_sec = now - 50 * h }, { .tv_sec = now - 50 * h } },
		  0) == 0);
	/* Nor a file in new/. */
	CHECK(tu_write(dir, "new", "1.M1P1.h", "x", 1) == 0);
	tu_path(p, dir, "new", "1.M1P1.h");
	CHECK(utimensat(AT_FDCWD, p,
		  (struct timespec[2]){
		      { .tv_sec = now - 50 * h }, { .tv_sec = now - 50 * h } },
		  0) == 0);

	CHECK(maildir_clean_tmp(&md, now) == 3);
	CHECK(!tu_exists(dir, "tmp", "old") && !tu_exists(dir, "tmp", "older"));
	CHECK(!tu_exists(dir, "tmp", ".dot-old"));
	CHECK(tu_exists(dir, "tmp", "fresh"));
	CHECK(tu_exists(dir, "tmp", "read-lately"));
	CHECK(tu_exists(dir, "tmp", "written-lately"));
	CHECK(tu_exists(dir, "tmp", "just-under"));
	CHECK(tu_exists(dir, "tmp", "olddir"));
	CHECK(tu_exists(dir, "new", "1.M1P1.h"));
	/* Nothing left to do. */
	CHECK(maildir_clean_tmp(&md, now) == 0);
	/* An hour later, "just-under" has aged out. */
	CHECK(maildir_clean_tmp(&md, now + h) == 1);
	CHECK(!tu_exists(dir, "tmp", "just-under"));
	maildir_close(&md);
	tu_rmrf(dir);
}

int
main(void)
{
	test_clean();
	return CHECK_DONE();
}
