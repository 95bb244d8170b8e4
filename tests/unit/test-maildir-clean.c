/* Tests for libmaildir/maildir-clean.c: walking tmp/, the 36-hour rule. */
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

/* Makes tmp/name a directory, untouched for age seconds. */
static void
make_aged_dir(const char *dir, const char *name, time_t now, time_t age)
{
	char		p[PATH_MAX];
	struct timespec ts[2] = { { .tv_sec = now - age },
		{ .tv_sec = now - age } };

	tu_path(p, dir, "tmp", name);
	CHECK(mkdir(p, 0700) == 0);
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
	make_aged_dir(dir, "olddir", now, 50 * h);
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

struct seen {
	char   names[8][32];
	time_t ages[8];
	bool   is_regular[8];
	int    n;
};

static void
note(const struct maildir_tmp_file *f, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8) {
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s", f->name);
		s->ages[s->n] = f->age;
		s->is_regular[s->n] = f->is_regular;
	}
	s->n++;
}

/* The entry called name in s, or -1. */
static int
find(const struct seen *s, const char *name)
{
	for (int i = 0; i < s->n && i < 8; i++)
		if (strcmp(s->names[i], name) == 0)
			return i;
	return -1;
}

static void
test_walk(void)
{
	const time_t   h = 3600, now = time(NULL);
	char	       dir[PATH_MAX];
	struct maildir md;
	struct seen    s;
	int	       i;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	memset(&s, 0, sizeof(s));
	CHECK(maildir_tmp_walk(&md, now, note, &s) == 0);
	CHECK(s.n == 0); /* neither "." nor ".." */

	/* The age counts from the later of the two times. */
	make_aged(dir, "read-lately", now, 2 * h, 40 * h);
	make_aged(dir, "written-lately", now, 40 * h, 3 * h);
	make_aged(dir, ".dot", now, 37 * h, 38 * h);
	make_aged_dir(dir, "adir", now, 50 * h);
	/* Nor is new/ walked. */
	CHECK(tu_write(dir, "new", "1.M1P1.h", "x", 1) == 0);
	CHECK(maildir_tmp_walk(&md, now, note, &s) == 0);
	CHECK(s.n == 4);
	CHECK((i = find(&s, "read-lately")) >= 0 && s.ages[i] == 2 * h &&
	    s.is_regular[i]);
	CHECK((i = find(&s, "written-lately")) >= 0 && s.ages[i] == 3 * h &&
	    s.is_regular[i]);
	CHECK((i = find(&s, ".dot")) >= 0 && s.ages[i] == 37 * h &&
	    s.is_regular[i]);
	CHECK((i = find(&s, "adir")) >= 0 && s.ages[i] == 50 * h &&
	    !s.is_regular[i]);
	/* Ages as of the now it is given. */
	memset(&s, 0, sizeof(s));
	CHECK(maildir_tmp_walk(&md, now + h, note, &s) == 0);
	CHECK((i = find(&s, ".dot")) >= 0 && s.ages[i] == 38 * h);
	maildir_close(&md);
	tu_rmrf(dir);
}

int
main(void)
{
	test_walk();
	test_clean();
	return CHECK_DONE();
}
