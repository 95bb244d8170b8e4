/* Tests for libmaildir/maildir-list.c: what a listing holds, its order, speed. */
#include <signal.h>
#include <time.h>

#include "maildir.h"
#include "test-maildir-util.h"

static struct maildir_tmp t;

static void
test_list(void)
{
	static const char *const want[] = {
		"1699999999.1234_5.other",
		"1700000001.M000010P1Q1.h,S=5:2,S",
		"1700000001.M999999P1Q1.h",
		"1700000002.M000005P1Q0.h,S=7,W=9:2,",
		"1700000002.M000005P1Q1.h,S=10,W=12",
	};
	char		    dir[PATH_MAX], p[PATH_MAX];
	struct maildir_list l;
	struct maildir	    md;
	size_t		    packed = 0;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	/* The name's S= wins over the file: no stat when the name says. */
	CHECK(tu_write(dir, "new", want[4], "abc", 3) == 0);
	CHECK(tu_write(dir, "new", want[2], "abcd", 4) == 0);
	CHECK(tu_write(dir, "cur", want[1], "", 0) == 0);
	CHECK(tu_write(dir, "cur", want[3], "", 0) == 0);
	CHECK(tu_write(dir, "cur", want[0], "123456", 6) == 0);
	/* Not messages: dot files, directories, symlinks, tmp/. */
	CHECK(tu_write(dir, "cur", ".hidden", "x", 1) == 0);
	CHECK(tu_write(dir, "tmp", "1.M1P1Q1.h", "x", 1) == 0);
	tu_path(p, dir, "cur", "1.M1P1Q2.h,S=1");
	CHECK(mkdir(p, 0700) == 0);
	tu_path(p, dir, "new", "1.M1P1Q3.h");
	CHECK(symlink("/etc/passwd", p) == 0);

	CHECK(maildir_list(&md, &l) == 0);
	CHECK(l.count == 5);
	for (size_t i = 0; i < l.count && i < 5; i++) {
		struct maildir_msg *m = &l.msgs[i];

		CHECK(strcmp(m->name, want[i]) == 0);
		CHECK(m->base_len == strcspn(want[i], ":"));
		CHECK(m->name >= l.arena && m->name < l.arena + l.arena_len);
		packed += strlen(want[i]) + 1;
	}
	/* Names end to end in the arena, no room kept between them. */
	CHECK(l.arena_len == packed);
	if (l.count == 5) {
		int fd;

		/* Without S= a regular file is not stat()ed: open says. */
		CHECK(!l.msgs[0].has_size && !l.msgs[2].has_size);
		fd = maildir_msg_open(&md, &l, &l.msgs[0]);
		CHECK(fd >= 0 && l.msgs[0].has_size && l.msgs[0].size == 6);
		close(fd);
		fd = maildir_msg_open(&md, &l, &l.msgs[2]);
		CHECK(fd >= 0 && l.msgs[2].has_size && l.msgs[2].size == 4);
		close(fd);
		CHECK(!l.msgs[0].has_wsize && !l.msgs[0].in_new);
		CHECK(l.msgs[0].order == UINT64_C(1699999999000000));
		CHECK(l.msgs[1].has_size && l.msgs[1].size == 5);
		CHECK(!l.msgs[1].has_wsize && !l.msgs[1].in_new);
		CHECK(l.msgs[1].order == UINT64_C(1700000001000010));
		CHECK(!l.msgs[2].has_wsize && l.msgs[2].in_new);
		CHECK(l.msgs[3].size == 7 && l.msgs[3].wsize == 9);
		CHECK(l.msgs[3].has_wsize && !l.msgs[3].in_new);
		CHECK(l.msgs[4].size == 10 && l.msgs[4].wsize == 12);
		CHECK(l.msgs[4].in_new &&
		    l.msgs[4].order == UINT64_C(1700000002000005));
	}
	maildir_list_free(&l);
	CHECK(l.msgs == NULL && l.count == 0);
	maildir_list_free(&l); /* safe twice */
	maildir_close(&md);
	tu_rmrf(dir);
}

static void
test_list_delivered(void)
{
	char			 dir[PATH_MAX], names[3][MAILDIR_NAME_MAX + 1];
	static const char *const body[] = { "A: 1\n\nx\n", "A: 2\n", "" };
	struct maildir_list	 l;
	struct maildir		 md;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	CHECK(maildir_list(&md, &l) == 0);
	CHECK(l.count == 0);
	maildir_list_free(&l);
	for (int i = 0; i < 3; i++) {
		CHECK(maildir_deliver_begin(&md, &t) == 0);
		CHECK(maildir_deliver_write(&t, body[i], strlen(body[i])) == 0);
		CHECK(maildir_deliver_commit(&t, names[i], sizeof(names[i])) ==
		    0);
	}
	CHECK(maildir_list(&md, &l) == 0);
	CHECK(l.count == 3);
	for (size_t i = 0; i < l.count && i < 3; i++) {
		/* Delivery order, even within one microsecond (Q counts). */
		CHECK(strcmp(l.msgs[i].name, names[i]) == 0);
		CHECK(l.msgs[i].has_size && l.msgs[i].size == strlen(body[i]));
		CHECK(l.msgs[i].has_wsize && l.msgs[i].in_new);
	}
	if (l.count == 3) {
		CHECK(l.msgs[0].wsize == 11 && l.msgs[1].wsize == 8);
		CHECK(l.msgs[2].wsize == 0);
	}
	maildir_list_free(&l);
	maildir_close(&md);
	tu_rmrf(dir);
}

/* A message renamed while the listing ran is seen twice but listed once. */
static void
test_list_twice_seen(void)
{
	char		    dir[PATH_MAX];
	struct maildir_list l;
	struct maildir	    md;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	/* In new/ and cur/: the cur/ one counts. */
	CHECK(tu_write(dir, "new", "5.M1P1Q1.h,S=1,W=3", "x", 1) == 0);
	CHECK(tu_write(dir, "cur", "5.M1P1Q1.h,S=1,W=3:2,S", "x", 1) == 0);
	/* Twice in cur/ under two sets of flags. */
	CHECK(tu_write(dir, "cur", "5.M1P1Q2.h:2,FS", "x", 1) == 0);
	CHECK(tu_write(dir, "cur", "5.M1P1Q2.h:2,S", "x", 1) == 0);
	/* Not the same: a longer base that sorts between them by strcmp. */
	CHECK(tu_write(dir, "new", "5.M1P1Q2.h0", "x", 1) == 0);
	CHECK(tu_write(dir, "cur", "5.M1P1Q2.h,S=1", "y", 1) == 0);
	CHECK(maildir_list(&md, &l) == 0);
	CHECK(l.count == 4);
	if (l.count == 4) {
		CHECK(strcmp(l.msgs[0].name, "5.M1P1Q1.h,S=1,W=3:2,S") == 0);
		CHECK(!l.msgs[0].in_new);
		CHECK(strncmp(l.msgs[1].name, "5.M1P1Q2.h:2,", 13) == 0);
		CHECK(strcmp(l.msgs[2].name, "5.M1P1Q2.h,S=1") == 0);
		CHECK(strcmp(l.msgs[3].name, "5.M1P1Q2.h0") == 0);
	}
	maildir_list_free(&l);
	maildir_close(&md);
	tu_rmrf(dir);
}

static double
since(clockid_t clk, const struct timespec *a)
{
	struct timespec b;

	clock_gettime(clk, &b);
	return (double)(b.tv_sec - a->tv_sec) * 1e3 +
	    (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

/* Times and sizes past what an entry holds: last, and size unknown. */
static void
test_list_far(void)
{
	char		    dir[PATH_MAX];
	struct maildir_list l;
	struct maildir	    md;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	CHECK(tu_write(dir, "cur", "99999999999999999.M2P1Q1.h,S=1", "x", 1) ==
	    0);
	CHECK(tu_write(dir, "cur", "99999999999999999.M1P1Q1.h,S=1", "x", 1) ==
	    0);
	CHECK(tu_write(dir, "cur", "18446744073708.M999999P1.h,S=1", "x", 1) ==
	    0);
	CHECK(tu_write(dir, "new", "5.M1P1Q1.h,S=4294967296,W=4294967300", "",
		  0) == 0);
	CHECK(tu_write(dir, "new", "5.M1P1Q2.h,S=4294967295", "", 0) == 0);
	CHECK(maildir_list(&md, &l) == 0);
	CHECK(l.count == 5);
	if (l.count == 5) {
		CHECK(!l.msgs[0].has_size && l.msgs[0].has_wsize &&
		    l.msgs[0].wsize == UINT64_C(4294967300));
		CHECK(l.msgs[1].has_size && l.msgs[1].size == UINT32_MAX);
		/* The largest time that still multiplies, then the rest by name. */
		CHECK(l.msgs[2].order == UINT64_C(18446744073708999999));
		CHECK(strcmp(l.msgs[3].name,
			  "99999999999999999.M1P1Q1.h,S=1") == 0);
		CHECK(l.msgs[3].order == UINT64_MAX &&
		    l.msgs[4].order == UINT64_MAX);
	}
	maildir_list_free(&l);
	maildir_close(&md);
	tu_rmrf(dir);
}

/* Many messages of one microsecond: ordered by name alone. */
static void
test_list_same_time(void)
{
	const size_t	    n = 3000;
	char		    dir[PATH_MAX];
	struct maildir_list l;
	struct maildir	    md;
	bool		    sorted = true;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	CHECK(tu_write(dir, "tmp", "seed", "", 0) == 0);
	for (size_t i = 0; i < n; i++) {
		char name[64];

		/* A few names repeat across new/ and cur/: listed once. */
		snprintf(name, sizeof(name), "7.M5P%luQ%zu.h,S=0%s",
		    tu_rand() % (n / 2), i % 3, i % 2 ? ":2,S" : "");
		if (linkat(md.tmpfd, "seed", i % 2 ? md.curfd : md.newfd, name,
			0) < 0 &&
		    errno != EEXIST)
			CHECK(!"linkat");
	}
	CHECK(maildir_list(&md, &l) == 0);
	CHECK(l.count > n / 4 && l.count <= n);
	for (size_t i = 1; i < l.count; i++) {
		const struct maildir_msg *a = &l.msgs[i - 1], *b = &l.msgs[i];
		size_t la = strcspn(a->name, ":"), lb = strcspn(b->name, ":");
		int    c = memcmp(a->name, b->name, la < lb ? la : lb);

		/* Strictly increasing bases: sorted and no base twice. */
		if (c > 0 || (c == 0 && la >= lb))
			sorted = false;
		if (a->order != 7000005)
			sorted = false;
	}
	CHECK(sorted);
	maildir_list_free(&l);
	maildir_close(&md);
	tu_rmrf(dir);
}

/* 100 000 messages, half in new/, named in random order. */
static void
test_list_many(void)
{
	const size_t	    n = 100000;
	char		    dir[PATH_MAX];
	struct maildir_list l;
	struct maildir	    md;
	struct timespec	    t0, c0;
	double		    ms;
	bool		    sorted = true;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	/*
	 * Hard links to one file: ten times quicker to make than 100 000
	 * files, and the same to a listing, which never looks at inodes.
	 */
	for (size_t i = 0; i < n; i++) {
		char name[128], seed[32];

		/* A new file every 50 000 links: ext4 allows 65 000 a file. */
		snprintf(seed, sizeof(seed), "seed%zu", i / 50000);
		if (i % 50000 == 0)
			CHECK(tu_write(dir, "tmp", seed, "", 0) == 0);

		snprintf(name, sizeof(name),
		    "%lu.M%06luP%luQ%zu.host.example,S=%zu,W=%zu%s",
		    1700000000 + tu_rand() % 100000, tu_rand() % 1000000,
		    tu_rand() % 32768, i, i, i + 2, i % 2 ? ":2,S" : "");
		if (linkat(md.tmpfd, seed, i % 2 ? md.curfd : md.newfd, name,
			0) < 0) {
			CHECK(!"linkat");
			break;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(maildir_list(&md, &l) == 0);
	ms = since(CLOCK_MONOTONIC, &t0);
	CHECK(l.count == n);
	for (size_t i = 1; i < l.count; i++) {
		const struct maildir_msg *a = &l.msgs[i - 1], *b = &l.msgs[i];

		if (a->order > b->order ||
		    (a->order == b->order && strcmp(a->name, b->name) > 0))
			sorted = false;
		if (!b->has_size || !b->has_wsize || b->wsize != b->size + 2)
			sorted = false;
	}
	CHECK(sorted);
	maildir_list_free(&l);
	/* CPU time too: on a busy machine it says more than the clock. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	CHECK(maildir_list(&md, &l) == 0);
	printf("maildir_list of %zu messages: %.1f ms, again %.1f ms "
	       "(%.1f ms CPU)\n",
	    n, ms, since(CLOCK_MONOTONIC, &t0),
	    since(CLOCK_PROCESS_CPUTIME_ID, &c0));
	maildir_list_free(&l);
	maildir_close(&md);
	tu_rmrf(dir);
}

/*
 * A listing while another process changes flags (renames in cur/, as
 * another session's QUIT does): every message is listed, once.  readdir()
 * alone missed a few in most listings of 2 000 (15 of 40 sessions).
 */
static void
test_list_while_renamed(void)
{
	enum {
		N = 2000,
		LISTINGS = 40
	};
	char		    dir[PATH_MAX], name[64];
	struct maildir	    md;
	struct maildir_list l;
	unsigned	    short_lists = 0;
	pid_t		    pid;
	int		    status;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "%d.M%dP1Q%d.h,S=1,W=3:2,",
		    1700000000 + i, i, i);
		CHECK(tu_write(dir, "cur", name, "x", 1) == 0);
	}
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* Flips the S flag of every third message, until killed. */
		char from[80], to[80];

		for (unsigned pass = 0;; pass++)
			for (int i = (int)(pass % 3); i < N; i += 3) {
				bool seen = pass / 3 % 2 == 1;

				snprintf(from, sizeof(from),
				    "%d.M%dP1Q%d.h,S=1,W=3:2,%s",
				    1700000000 + i, i, i, seen ? "S" : "");
				snprintf(to, sizeof(to),
				    "%d.M%dP1Q%d.h,S=1,W=3:2,%s",
				    1700000000 + i, i, i, seen ? "" : "S");
				(void)renameat(md.curfd, from, md.curfd, to);
			}
	}
	for (int k = 0; k < LISTINGS; k++) {
		CHECK(maildir_list(&md, &l) == 0);
		if (l.count != N)
			short_lists++;
		for (size_t i = 1; i < l.count; i++)
			CHECK(l.msgs[i - 1].order < l.msgs[i].order);
		maildir_list_free(&l);
	}
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(short_lists == 0);
	maildir_close(&md);
	tu_rmrf(dir);
}

int
main(void)
{
	test_list();
	test_list_far();
	test_list_same_time();
	test_list_delivered();
	test_list_twice_seen();
	test_list_many();
	test_list_while_renamed();
	return CHECK_DONE();
}
