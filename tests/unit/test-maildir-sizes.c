/*
 * Tests for libmaildir/maildir-sizes.c: the size cache of names without
 * W=: written once, used by the next listing, ignored and rewritten when
 * missing, stale or damaged, never used for names that carry W=.
 */
#include "maildir.h"
#include "test-maildir-util.h"

/* Postfix, procmail, Courier (S= only), Dovecot and BareMail names. */
static const char *const names[] = {
	"1700000001.V803I1a2bM345678.postfix.lan",
	"1700000002.12345_1.procmail:2,S",
	"1700000003.M1P2V803I4_0.courier,S=12:2,S",
	"1700000004.M5P6.dovecot,S=12,W=14:2,S",
	"1700000005.M7P8Q1.bm,S=12,W=14",
};
#define NNAMES (sizeof(names) / sizeof(names[0]))

/* stat() of dir/name, failing the test when there is none. */
static void
tu_path_stat(const char *dir, const char *name, struct stat *st)
{
	char p[PATH_MAX];

	tu_path(p, dir, ".", name);
	memset(st, 0, sizeof(*st));
	CHECK(stat(p, st) == 0);
}

static void
fill(const char *dir)
{
	for (size_t i = 0; i < NNAMES; i++)
		CHECK(tu_write(dir, strchr(names[i], ':') ? "cur" : "new",
			  names[i], "A: b\n\nbody\n", 12) == 0);
}

/* Lists, sizes every message (as STAT does), checks the sizes. */
static void
list_sized(struct maildir *md, struct maildir_list *l, size_t want_cached)
{
	size_t cached = 0;

	CHECK(maildir_list(md, l) == 0);
	CHECK(l->count == NNAMES);
	for (size_t i = 0; i < l->count; i++) {
		struct maildir_msg *m = &l->msgs[i];

		cached += m->is_cached;
		if (!m->has_wsize)
			CHECK(maildir_msg_wsize(md, l, m) == 0);
		CHECK(m->has_wsize && m->wsize == 14);
		CHECK(m->has_size && m->size == 12);
	}
	CHECK(cached == want_cached);
}

static void
test_save_and_use(void)
{
	char		    dir[PATH_MAX];
	struct maildir_list l;
	struct maildir	    md;
	struct stat	    st;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	fill(dir);
	/* No cache yet: the three without W= are read and counted. */
	list_sized(&md, &l, 0);
	CHECK(maildir_sizes_save(&md, &l) == 1);
	maildir_list_free(&l);
	tu_path_stat(dir, MAILDIR_SIZES_FILE, &st);
	/* A header and three entries (W= names are never cached). */
	CHECK(st.st_size == 24 + 3 * 16 && (st.st_mode & 0777) == 0600);
	/* Nothing left behind in tmp/, and no new message either. */
	CHECK(tu_count(dir, "tmp", NULL, 0) == 0);

	/* The next listing has all three from the cache; nothing to write. */
	list_sized(&md, &l, 3);
	CHECK(maildir_sizes_save(&md, &l) == 0);
	maildir_list_free(&l);

	/* A message changed since: the listing still says the cached size. */
	{
		char p[PATH_MAX];

		tu_path(p, dir, "new", names[0]);
		CHECK(truncate(p, 0) == 0);
		CHECK(maildir_list(&md, &l) == 0);
		/* The listing trusts the cache: no stat, no read... */
		CHECK(l.msgs[0].is_cached && l.msgs[0].wsize == 14);
		/* ...and opening it tells the truth, as RETR's check needs. */
		{
			uint64_t w = 1;
			int	 fd = maildir_msg_open(&md, &l, &l.msgs[0]);

			CHECK(fd >= 0 && l.msgs[0].size == 0);
			CHECK(maildir_msg_count(fd, &l.msgs[0], &w) == 0);
			CHECK(w == 0);
			close(fd);
		}
		maildir_list_free(&l);
	}
	maildir_close(&md);
	tu_rmrf(dir);
}

static void
test_stale_and_removed(void)
{
	char		    dir[PATH_MAX], p[PATH_MAX];
	struct maildir_list l;
	struct maildir	    md;
	struct stat	    st;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	fill(dir);
	list_sized(&md, &l, 0);
	CHECK(maildir_sizes_save(&md, &l) == 1);
	maildir_list_free(&l);

	/* Removed through the list: gone from the cache written after. */
	list_sized(&md, &l, 3);
	CHECK(maildir_msg_remove(&md, &l, &l.msgs[1]) == 0);
	CHECK(l.msgs[1].is_removed);
	CHECK(maildir_sizes_save(&md, &l) == 1);
	maildir_list_free(&l);
	tu_path_stat(dir, MAILDIR_SIZES_FILE, &st);
	CHECK(st.st_size == 24 + 2 * 16);

	/* Removed by someone else: the cache has an entry nobody uses. */
	tu_path(p, dir, "new", names[0]);
	CHECK(unlink(p) == 0);
	CHECK(maildir_list(&md, &l) == 0);
	CHECK(l.count == NNAMES - 2 && l.sizes_loaded == 2);
	CHECK(maildir_sizes_save(&md, &l) == 1);
	maildir_list_free(&l);
	tu_path_stat(dir, MAILDIR_SIZES_FILE, &st);
	CHECK(st.st_size == 24 + 1 * 16);
	maildir_close(&md);
	tu_rmrf(dir);
}

/* Damages the cache file with f, then checks it is ignored and rewritten. */
static void
check_damage(void (*f)(const char *path))
{
	char		    dir[PATH_MAX], p[PATH_MAX];
	struct maildir_list l;
	struct maildir	    md;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	fill(dir);
	list_sized(&md, &l, 0);
	CHECK(maildir_sizes_save(&md, &l) == 1);
	maildir_list_free(&l);
	tu_path(p, dir, ".", MAILDIR_SIZES_FILE);
	f(p);
	/* Ignored: every size is counted again, and right. */
	list_sized(&md, &l, 0);
	CHECK(l.sizes_bad && l.sizes_loaded == 0);
	CHECK(maildir_sizes_save(&md, &l) == 1);
	maildir_list_free(&l);
	list_sized(&md, &l, 3);
	maildir_list_free(&l);
	maildir_close(&md);
	tu_rmrf(dir);
}

static void
flip_entry_byte(const char *path)
{
	int  fd = open(path, O_RDWR);
	char c = 0;

	/* The last entry's CRLF size: only the checksum can tell. */
	CHECK(fd >= 0 && pread(fd, &c, 1, 24 + 2 * 16 + 12) == 1);
	c ^= 1;
	CHECK(pwrite(fd, &c, 1, 24 + 2 * 16 + 12) == 1);
	close(fd);
}

static void
truncate_entry(const char *path)
{
	CHECK(truncate(path, 24 + 2 * 16 + 8) == 0);
}

static void
zero_length(const char *path)
{
	CHECK(truncate(path, 0) == 0);
}

static void
test_damaged(void)
{
	check_damage(flip_entry_byte);
	check_damage(truncate_entry);
	check_damage(zero_length);
}

static void
test_not_a_file(void)
{
	char		    dir[PATH_MAX], p[PATH_MAX];
	struct maildir_list l;
	struct maildir	    md;

	/* A directory in its place: ignored; the write fails, listing works. */
	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	fill(dir);
	tu_path(p, dir, ".", MAILDIR_SIZES_FILE);
	CHECK(mkdir(p, 0700) == 0);
	list_sized(&md, &l, 0);
	CHECK(maildir_sizes_save(&md, &l) == -1);
	CHECK(tu_count(dir, "tmp", NULL, 0) == 0);
	maildir_list_free(&l);
	maildir_close(&md);
	tu_rmrf(dir);
}

static void
test_size_mismatch(void)
{
	char		    dir[PATH_MAX], from[PATH_MAX], to[PATH_MAX];
	struct maildir_list l;
	struct maildir	    md;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	fill(dir);
	list_sized(&md, &l, 0);
	CHECK(maildir_sizes_save(&md, &l) == 1);
	maildir_list_free(&l);
	/* Same base name, another S=: the entry is not this file's. */
	tu_path(from, dir, "cur", names[2]);
	tu_path(to, dir, "cur", "1700000003.M1P2V803I4_0.courier,S=13:2,S");
	CHECK(rename(from, to) == 0);
	CHECK(maildir_list(&md, &l) == 0);
	for (size_t i = 0; i < l.count; i++)
		if (strncmp(l.msgs[i].name, "1700000003.", 11) == 0)
			CHECK(!l.msgs[i].is_cached && !l.msgs[i].has_wsize);
	maildir_list_free(&l);
	maildir_close(&md);
	tu_rmrf(dir);
}

static void
test_two_writers(void)
{
	char		    dir[PATH_MAX];
	struct maildir_list a, b;
	struct maildir	    md;

	/* Two sessions that both counted: each writes, the last one wins. */
	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	fill(dir);
	list_sized(&md, &a, 0);
	list_sized(&md, &b, 0);
	CHECK(maildir_sizes_save(&md, &a) == 1);
	CHECK(maildir_sizes_save(&md, &b) == 1);
	maildir_list_free(&a);
	maildir_list_free(&b);
	list_sized(&md, &a, 3);
	maildir_list_free(&a);
	CHECK(tu_count(dir, "tmp", NULL, 0) == 0);
	maildir_close(&md);
	tu_rmrf(dir);
}

int
main(void)
{
	test_save_and_use();
	test_stale_and_removed();
	test_damaged();
	test_not_a_file();
	test_size_mismatch();
	test_two_writers();
	return CHECK_DONE();
}
