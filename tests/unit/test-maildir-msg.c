/*
 * Tests for libmaildir/maildir-msg.c: new/ -> cur/, flags, remove, open,
 * mtime, and finding a message that someone renamed behind our back.
 */
#include <signal.h>

#include "maildir.h"
#include "test-maildir-util.h"

static struct maildir_tmp t;

static void
deliver(struct maildir *md, const char *body, char *name, size_t len)
{
	CHECK(maildir_deliver_begin(md, &t) == 0);
	CHECK(maildir_deliver_write(&t, body, strlen(body)) == 0);
	CHECK(maildir_deliver_commit(&t, name, len) == 0);
}

/* Renames dir/from_sub/from to dir/to_sub/to, as another program would. */
static void
rename_behind(const char *dir, const char *fsub, const char *from,
    const char *tsub, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];

	tu_path(a, dir, fsub, from);
	tu_path(b, dir, tsub, to);
	CHECK(rename(a, b) == 0);
}

static void
test_new_to_cur(void)
{
	char	       dir[PATH_MAX], p[PATH_MAX], n1[256], n2[256], want[300];
	struct maildir md;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	CHECK(maildir_new_to_cur(&md) == 0); /* nothing to do */
	deliver(&md, "A: 1\n\n1\n", n1, sizeof(n1));
	deliver(&md, "A: 2\n\n2\n", n2, sizeof(n2));
	/* Someone else's file that already carries flags keeps them. */
	CHECK(tu_write(dir, "new", "1.M1P1.other:2,RS", "x", 1) == 0);
	CHECK(tu_write(dir, "new", ".hidden", "x", 1) == 0);
	tu_path(p, dir, "new", "2.M1P1.subdir");
	CHECK(mkdir(p, 0700) == 0);
	CHECK(maildir_new_to_cur(&md) == 0);
	/* Directories are not messages either. */
	CHECK(tu_exists(dir, "new", "2.M1P1.subdir"));
	CHECK(rmdir(p) == 0);
	CHECK(tu_count(dir, "new", NULL, 0) == 0);
	CHECK(tu_count(dir, "cur", NULL, 0) == 3);
	snprintf(want, sizeof(want), "%s:2,", n1);
	CHECK(tu_exists(dir, "cur", want));
	snprintf(want, sizeof(want), "%s:2,", n2);
	CHECK(tu_exists(dir, "cur", want));
	CHECK(tu_exists(dir, "cur", "1.M1P1.other:2,RS"));
	/* Dot files are not messages: left where they are. */
	CHECK(tu_exists(dir, "new", ".hidden"));

	/* A taken target is never replaced: the message stays in new/. */
	deliver(&md, "A: 3\n\n3\n", n1, sizeof(n1));
	snprintf(want, sizeof(want), "%s:2,", n1);
	CHECK(tu_write(dir, "cur", want, "other", 5) == 0);
	CHECK(maildir_new_to_cur(&md) == 0);
	CHECK(tu_exists(dir, "new", n1));
	{
		size_t len = 0;
		char  *got = tu_read(dir, "cur", want, &len);

		CHECK(got != NULL && len == 5 && memcmp(got, "other", 5) == 0);
		free(got);
	}
	maildir_close(&md);
	tu_rmrf(dir);
}

/* Several sessions moving the same messages at once: each ends in cur/ once. */
static void
test_new_to_cur_race(void)
{
	const int      n = 2000, movers = 4;
	char	       dir[PATH_MAX];
	struct maildir md;
	pid_t	       pids[4];
	int	       st;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	for (int i = 0; i < n; i++) {
		char name[64];

		snprintf(name, sizeof(name), "%d.M%dP1Q%d.h,S=1,W=3", 1000 + i,
		    i, i);
		CHECK(tu_write(dir, "new", name, "x", 1) == 0);
	}
	for (int i = 0; i < movers; i++) {
		if ((pids[i] = fork()) == 0)
			_exit(maildir_new_to_cur(&md) == 0 ? 0 : 1);
		CHECK(pids[i] > 0);
	}
	for (int i = 0; i < movers; i++)
		CHECK(waitpid(pids[i], &st, 0) == pids[i] && WIFEXITED(st) &&
		    WEXITSTATUS(st) == 0);
	CHECK(tu_count(dir, "new", NULL, 0) == 0);
	CHECK(tu_count(dir, "cur", NULL, 0) == n);
	maildir_close(&md);
	tu_rmrf(dir);
}

/* The listed message whose base name starts with prefix, or NULL. */
static struct maildir_msg *
find(struct maildir_list *l, const char *base)
{
	for (size_t i = 0; i < l->count; i++)
		if (strncmp(l->msgs[i].name, base, strlen(base)) == 0)
			return &l->msgs[i];
	return NULL;
}

static void
test_flags(void)
{
	char		    dir[PATH_MAX], p[PATH_MAX], n1[256], want[300];
	struct maildir_list l;
	struct maildir_msg *m = NULL;
	struct maildir	    md;
	char		   *old;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	deliver(&md, "A: 1\n\n1\n", n1, sizeof(n1));
	CHECK(maildir_list(&md, &l) == 0);
	CHECK(l.count == 1 && (m = find(&l, n1)) != NULL);
	if (m == NULL)
		goto out;
	old = m->name;

	/* From new/ to cur/: a longer name, kept in the list's spill room. */
	CHECK(maildir_msg_flags(&md, &l, m, "S", NULL) == 0);
	snprintf(want, sizeof(want), "%s:2,S", n1);
	CHECK(strcmp(m->name, want) == 0 && m->name != old && !m->in_new);
	CHECK(strcmp(old, n1) == 0 && l.spill != NULL);
	old = m->name;
	CHECK(
	    tu_exists(dir, "cur", want) && tu_count(dir, "new", NULL, 0) == 0);

	/* Sorted and unique, whatever order they come in. */
	CHECK(maildir_msg_flags(&md, &l, m, "TFSRa", NULL) == 0);
	snprintf(want, sizeof(want), "%s:2,FRSTa", n1);
	CHECK(strcmp(m->name, want) == 0 && tu_exists(dir, "cur", want));
	CHECK(maildir_msg_flags(&md, &l, m, "D", "Ta") == 0);
	snprintf(want, sizeof(want), "%s:2,DFRS", n1);
	CHECK(strcmp(m->name, want) == 0 && tu_exists(dir, "cur", want));
	/* Nothing changes: still fine, still there. */
	CHECK(maildir_msg_flags(&md, &l, m, "S", "P") == 0);
	CHECK(strcmp(m->name, want) == 0 && tu_exists(dir, "cur", want));
	CHECK(tu_count(dir, "cur", NULL, 0) == 1);
	/* Every letter: longer again, then shorter, in place. */
	CHECK(maildir_msg_flags(
		  &md, &l, m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", NULL) == 0);
	CHECK(strstr(m->name, ":2,ABCDEFGHIJKLMNOPQRSTUVWXYZ") != NULL);
	CHECK(tu_exists(dir, "cur", m->name));
	old = m->name;
	CHECK(maildir_msg_flags(
		  &md, &l, m, NULL, "ABCDEFGHIJKLMNOPQRTUVWXYZ") == 0);
	snprintf(want, sizeof(want), "%s:2,S", n1);
	CHECK(strcmp(m->name, want) == 0 && tu_exists(dir, "cur", want));
	CHECK(m->name == old);
	/* Growing hundreds of times fills several spill blocks. */
	for (int i = 0; i < 300; i++) {
		CHECK(maildir_msg_flags(&md, &l, m, "A", NULL) == 0);
		CHECK(maildir_msg_flags(&md, &l, m, NULL, "A") == 0);
	}
	CHECK(strcmp(m->name, want) == 0 && tu_exists(dir, "cur", want));
	/* Without the list only an in-place update is possible. */
	CHECK(maildir_msg_flags(&md, NULL, m, "R", NULL) == 0);
	CHECK(strcmp(m->name, want) == 0);
	snprintf(want, sizeof(want), "%s:2,RS", n1);
	CHECK(tu_exists(dir, "cur", want));
	CHECK(maildir_msg_flags(&md, NULL, m, NULL, "R") == 0);
	snprintf(want, sizeof(want), "%s:2,S", n1);
	CHECK(tu_exists(dir, "cur", want) && strcmp(m->name, want) == 0);
	/* Not letters: refused, nothing renamed. */
	errno = 0;
	CHECK(
	    maildir_msg_flags(&md, &l, m, "1", NULL) == -1 && errno == EINVAL);
	CHECK(
	    maildir_msg_flags(&md, &l, m, NULL, ":") == -1 && errno == EINVAL);
	CHECK(tu_exists(dir, "cur", want));

	/* Gone: ENOENT. */
	tu_path(p, dir, "cur", m->name);
	CHECK(unlink(p) == 0);
	errno = 0;
	CHECK(
	    maildir_msg_flags(&md, &l, m, "T", NULL) == -1 && errno == ENOENT);
out:
	maildir_list_free(&l);
	maildir_close(&md);
	tu_rmrf(dir);
}

static void
test_remove(void)
{
	char		    dir[PATH_MAX], n1[256], n2[256];
	struct maildir_list l;
	struct maildir	    md;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	deliver(&md, "A: 1\n\n1\n", n1, sizeof(n1));
	deliver(&md, "A: 2\n\n2\n", n2, sizeof(n2));
	CHECK(maildir_list(&md, &l) == 0);
	CHECK(l.count == 2);
	if (l.count == 2) {
		CHECK(maildir_msg_flags(&md, &l, &l.msgs[1], "S", NULL) == 0);
		CHECK(maildir_msg_remove(&md, &l, &l.msgs[0]) == 0);
		CHECK(!tu_exists(dir, "new", n1));
		errno = 0;
		CHECK(maildir_msg_remove(&md, &l, &l.msgs[0]) == -1 &&
		    errno == ENOENT);
		errno = 0;
		CHECK(maildir_msg_open(&md, &l, &l.msgs[0]) == -1 &&
		    errno == ENOENT);
		CHECK(maildir_msg_remove(&md, &l, &l.msgs[1]) == 0);
		CHECK(tu_count(dir, "cur", NULL, 0) == 0);
	}
	CHECK(tu_count(dir, "new", NULL, 0) == 0);
	maildir_list_free(&l);
	maildir_close(&md);
	tu_rmrf(dir);
}

/* Sets dir/sub/name's mtime to when. */
static void
set_mtime(const char *dir, const char *sub, const char *name, time_t when)
{
	char		p[PATH_MAX];
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT },
		{ .tv_sec = when } };

	tu_path(p, dir, sub, name);
	CHECK(utimensat(AT_FDCWD, p, ts, 0) == 0);
}

static void
test_mtime(void)
{
	char		    dir[PATH_MAX];
	struct maildir_list l;
	struct maildir	    md;
	time_t		    mt;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	/* Another program's names, one in each directory. */
	CHECK(tu_write(dir, "new", "1.M1P1.other", "A: 1\n\n1\n", 8) == 0);
	CHECK(tu_write(dir, "cur", "2.M1P1.other:2,S", "A: 2\n\n2\n", 8) == 0);
	set_mtime(dir, "new", "1.M1P1.other", 1600000000);
	set_mtime(dir, "cur", "2.M1P1.other:2,S", 1600000100);
	CHECK(maildir_list(&md, &l) == 0);
	CHECK(l.count == 2);
	if (l.count == 2) {
		CHECK(l.msgs[0].in_new && !l.msgs[1].in_new);
		CHECK(maildir_msg_mtime(&md, &l.msgs[0], &mt) == 0 &&
		    mt == 1600000000);
		CHECK(maildir_msg_mtime(&md, &l.msgs[1], &mt) == 0 &&
		    mt == 1600000100);
		/* Renamed since the listing, or deleted: ENOENT. */
		rename_behind(
		    dir, "new", "1.M1P1.other", "cur", "1.M1P1.other:2,");
		errno = 0;
		CHECK(maildir_msg_mtime(&md, &l.msgs[0], &mt) < 0 &&
		    errno == ENOENT);
		CHECK(maildir_msg_remove(&md, &l, &l.msgs[1]) == 0);
		errno = 0;
		CHECK(maildir_msg_mtime(&md, &l.msgs[1], &mt) < 0 &&
		    errno == ENOENT);
	}
	maildir_list_free(&l);
	maildir_close(&md);
	tu_rmrf(dir);
}

/*
 * A move by link and unlink (the fallback on FUSE and NFS, where rename
 * cannot refuse to replace) killed between the two leaves the message
 * under two names: new/x and cur/x:2,.  A listing shows it once; deleting
 * it must delete both, or it comes back in the next session, twice read.
 */
static void
test_remove_half_moved(void)
{
	char		    dir[PATH_MAX], a[PATH_MAX], b[PATH_MAX], n1[256];
	char		    to[300];
	struct maildir_list l;
	struct maildir	    md;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	deliver(&md, "A: 1\n\n1\n", n1, sizeof(n1));
	snprintf(to, sizeof(to), "%s:2,", n1);
	tu_path(a, dir, "new", n1);
	tu_path(b, dir, "cur", to);
	CHECK(link(a, b) == 0);
	/* A listing shows it once, from cur/; deleting deletes both. */
	CHECK(maildir_list(&md, &l) == 0);
	CHECK(l.count == 1);
	if (l.count == 1) {
		CHECK(!l.msgs[0].in_new);
		CHECK(maildir_msg_remove(&md, &l, &l.msgs[0]) == 0);
	}
	maildir_list_free(&l);
	CHECK(tu_count(dir, "new", NULL, 0) == 0);
	CHECK(tu_count(dir, "cur", NULL, 0) == 0);

	/* The next login finishes such a move. */
	deliver(&md, "A: 3\n\n3\n", n1, sizeof(n1));
	snprintf(to, sizeof(to), "%s:2,", n1);
	tu_path(a, dir, "new", n1);
	tu_path(b, dir, "cur", to);
	CHECK(link(a, b) == 0);
	CHECK(maildir_new_to_cur(&md) == 0);
	CHECK(tu_count(dir, "new", NULL, 0) == 0);
	CHECK(tu_exists(dir, "cur", to));
	CHECK(unlink(b) == 0);

	/* A hard link elsewhere (tmp/, a backup) is not the message's. */
	deliver(&md, "A: 2\n\n2\n", n1, sizeof(n1));
	tu_path(a, dir, "new", n1);
	tu_path(b, dir, "tmp", "other");
	CHECK(link(a, b) == 0);
	CHECK(maildir_list(&md, &l) == 0);
	CHECK(l.count == 1);
	if (l.count == 1)
		CHECK(maildir_msg_remove(&md, &l, &l.msgs[0]) == 0);
	maildir_list_free(&l);
	CHECK(tu_count(dir, "new", NULL, 0) == 0);
	CHECK(tu_exists(dir, "tmp", "other"));
	maildir_close(&md);
	tu_rmrf(dir);
}

static bool
fd_holds(int fd, const char *want)
{
	char	buf[256];
	ssize_t n = read(fd, buf, sizeof(buf));

	close(fd);
	return n == (ssize_t)strlen(want) && memcmp(buf, want, (size_t)n) == 0;
}

/* Another session (or a mail reader) renames files between list and use. */
static void
test_renamed_behind(void)
{
	char		    dir[PATH_MAX], n[4][256], to[300];
	struct maildir_list l;
	struct maildir	    md;
	int		    fd;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	for (int i = 0; i < 4; i++) {
		char body[32];

		snprintf(body, sizeof(body), "A: %d\n\n%d\n", i, i);
		deliver(&md, body, n[i], sizeof(n[i]));
	}
	CHECK(maildir_list(&md, &l) == 0);
	CHECK(l.count == 4);
	if (l.count != 4)
		goto out;

	/* 0: moved to cur/ by another POP3 login, then opened. */
	snprintf(to, sizeof(to), "%s:2,", n[0]);
	rename_behind(dir, "new", n[0], "cur", to);
	fd = maildir_msg_open(&md, &l, &l.msgs[0]);
	CHECK(fd >= 0 && fd_holds(fd, "A: 0\n\n0\n"));
	CHECK(strcmp(l.msgs[0].name, to) == 0 && !l.msgs[0].in_new);

	/* 1: flagged by a mail reader, then flagged by us: both kept. */
	snprintf(to, sizeof(to), "%s:2,F", n[1]);
	rename_behind(dir, "new", n[1], "cur", to);
	CHECK(maildir_msg_flags(&md, &l, &l.msgs[1], "S", NULL) == 0);
	snprintf(to, sizeof(to), "%s:2,FS", n[1]);
	CHECK(strcmp(l.msgs[1].name, to) == 0 && tu_exists(dir, "cur", to));

	/* 2: moved and flagged, then removed by us. */
	snprintf(to, sizeof(to), "%s:2,RS", n[2]);
	rename_behind(dir, "new", n[2], "cur", to);
	CHECK(maildir_msg_remove(&md, &l, &l.msgs[2]) == 0);
	CHECK(!tu_exists(dir, "cur", to));
	CHECK(tu_count(dir, "cur", NULL, 0) == 2);

	/* 3: in cur/, then back in new/ under its old name, twice renamed. */
	CHECK(maildir_msg_flags(&md, &l, &l.msgs[3], "S", NULL) == 0);
	snprintf(to, sizeof(to), "%s:2,S", n[3]);
	rename_behind(dir, "cur", to, "new", n[3]);
	fd = maildir_msg_open(&md, &l, &l.msgs[3]);
	CHECK(fd >= 0 && fd_holds(fd, "A: 3\n\n3\n"));
	CHECK(strcmp(l.msgs[3].name, n[3]) == 0 && l.msgs[3].in_new);

	/* A name sharing a prefix is not the message. */
	snprintf(to, sizeof(to), "%sX:2,", n[3]);
	rename_behind(dir, "new", n[3], "cur", to);
	errno = 0;
	CHECK(maildir_msg_open(&md, &l, &l.msgs[3]) == -1 && errno == ENOENT);
	CHECK(maildir_msg_remove(&md, &l, &l.msgs[3]) == -1 && errno == ENOENT);
	CHECK(tu_exists(dir, "cur", to));
out:
	maildir_list_free(&l);
	maildir_close(&md);
	tu_rmrf(dir);
}

/* Opening never follows a symlink, nor opens something that is not a file. */
static void
test_open_safety(void)
{
	char		    dir[PATH_MAX], p[PATH_MAX];
	struct maildir_list l;
	struct maildir	    md;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	CHECK(tu_write(dir, "cur", "1.M1P1.h,S=1:2,", "x", 1) == 0);
	CHECK(tu_write(dir, "cur", "2.M1P1.h,S=1:2,", "x", 1) == 0);
	CHECK(maildir_list(&md, &l) == 0);
	CHECK(l.count == 2);
	if (l.count == 2) {
		/* Swapped for a symlink after the listing. */
		tu_path(p, dir, "cur", l.msgs[0].name);
		CHECK(unlink(p) == 0 && symlink("/etc/passwd", p) == 0);
		errno = 0;
		CHECK(maildir_msg_open(&md, &l, &l.msgs[0]) == -1 &&
		    errno == ELOOP);
		/* Swapped for a FIFO: refused without hanging. */
		tu_path(p, dir, "cur", l.msgs[1].name);
		CHECK(unlink(p) == 0 && mkfifo(p, 0600) == 0);
		alarm(10);
		errno = 0;
		CHECK(maildir_msg_open(&md, &l, &l.msgs[1]) == -1 &&
		    errno == EINVAL);
		alarm(0);
	}
	maildir_list_free(&l);
	maildir_close(&md);
	tu_rmrf(dir);
}

static void
test_wsize(void)
{
	char		    dir[PATH_MAX];
	struct maildir_list l;
	struct maildir	    md;
	char		    big[40000];

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	/* Delivered by another program: no W= in the name. */
	CHECK(tu_write(dir, "new", "1.M1P1.other", "A: b\n\nc\nd", 9) == 0);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = i % 10 == 9 ? '\n' : 'z';
	CHECK(tu_write(dir, "cur", "2.M1P1.other:2,S", big, sizeof(big)) == 0);
	CHECK(maildir_list(&md, &l) == 0);
	CHECK(l.count == 2);
	if (l.count == 2) {
		CHECK(!l.msgs[0].has_wsize && !l.msgs[0].has_size);
		CHECK(maildir_msg_wsize(&md, &l, &l.msgs[0]) == 0);
		CHECK(l.msgs[0].has_wsize && l.msgs[0].wsize == 14);
		CHECK(l.msgs[0].has_size && l.msgs[0].size == 9);
		CHECK(maildir_msg_wsize(&md, &l, &l.msgs[1]) == 0);
		/* 4000 lines, each one CR longer, plus the added empty line. */
		CHECK(l.msgs[1].wsize == sizeof(big) + 4000 + 2);
	}
	maildir_list_free(&l);
	maildir_close(&md);
	tu_rmrf(dir);
}

/*
 * Sessions setting different flags on one message at once: every flag
 * lands, on one file.  (Over link+unlink, two renames of one file can
 * both succeed and leave two copies: the fallback's known limit.)
 */
static void
test_flags_race(void)
{
	const char	    letters[] = "DFRST";
	char		    dir[PATH_MAX], n1[256], want[300];
	const int	    k = (int)sizeof(letters) - 1;
	struct maildir_list l;
	struct maildir	    md;
	pid_t		    pids[8];
	int		    st, round;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	for (round = 0; round < 20; round++) {
		CHECK(maildir_deliver_begin(&md, &t) == 0);
		CHECK(maildir_deliver_write(&t, "A: b\n\nc\n", 8) == 0);
		CHECK(maildir_deliver_commit(&t, n1, sizeof(n1)) == 0);
		/* Every session listed before any of them renamed. */
		CHECK(maildir_list(&md, &l) == 0 && l.count == 1);
		for (int i = 0; i < k; i++) {
			if ((pids[i] = fork()) == 0) {
				char add[2] = { letters[i], '\0' };
				int  r;

				r = maildir_msg_flags(
				    &md, &l, &l.msgs[0], add, NULL);
				if (r < 0)
					fprintf(stderr, "flag %s: %s\n", add,
					    strerror(errno));
				maildir_list_free(&l);
				_exit(r == 0 ? 0 : 1);
			}
			CHECK(pids[i] > 0);
		}
		for (int i = 0; i < k; i++)
			CHECK(waitpid(pids[i], &st, 0) == pids[i] &&
			    WIFEXITED(st) && WEXITSTATUS(st) == 0);
		maildir_list_free(&l);
		snprintf(want, sizeof(want), "%s:2,%s", n1, letters);
		CHECK(tu_count(dir, "new", NULL, 0) == 0);
#ifndef MAILDIR_NO_RENAMEAT2
		CHECK(tu_count(dir, "cur", NULL, 0) == 1);
		CHECK(tu_exists(dir, "cur", want));
#endif
		/* A fresh maildir for the next round (open makes it again). */
		maildir_close(&md);
		tu_rmrf(dir);
		CHECK(maildir_open(&md, dir) == 0);
	}
	maildir_close(&md);
	tu_rmrf(dir);
}

/*
 * In fn: the maildir's one message, opened by a reader that owns it (no
 * atime written) or not (refused O_NOATIME: opened without it).
 */
static void
open_as_reader(const char *dir)
{
	struct maildir_list l;
	struct maildir	    md;
	struct stat	    st;
	char		    p[PATH_MAX];
	int		    fd;

	CHECK(maildir_open(&md, dir) == 0);
	CHECK(maildir_list(&md, &l) == 0 && l.count == 1);
	if (l.count == 1) {
		tu_path(
		    p, dir, l.msgs[0].in_new ? "new" : "cur", l.msgs[0].name);
		CHECK(stat(p, &st) == 0);
		fd = maildir_msg_open(&md, &l, &l.msgs[0]);
		CHECK(fd >= 0 && fd_holds(fd, "A: 1\n\n1\n"));
		CHECK(md.atime_needed == (st.st_uid != geteuid()));
		/* Once refused, not asked again; the next open still works. */
		fd = maildir_msg_open(&md, &l, &l.msgs[0]);
		CHECK(fd >= 0 && fd_holds(fd, "A: 1\n\n1\n"));
		CHECK(md.atime_needed == (st.st_uid != geteuid()));
	}
	maildir_list_free(&l);
	maildir_close(&md);
}

/*
 * Reading a message writes nothing to its inode: an access time a day
 * old (relatime would update it) is still there after a read.
 */
static void
test_open_atime(void)
{
	const struct timespec old[2] = { { 86400, 0 }, { 0, UTIME_OMIT } };
	char		      dir[PATH_MAX], name[256], p[PATH_MAX];
	struct maildir	      md;
	struct stat	      st;
	static const char    *subs[] = { "tmp", "new", "cur" };

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&md, dir) == 0);
	deliver(&md, "A: 1\n\n1\n", name, sizeof(name));
	maildir_close(&md);
	tu_path(p, dir, "new", name);
	CHECK(utimensat(AT_FDCWD, p, old, 0) == 0);
	open_as_reader(dir);
	CHECK(stat(p, &st) == 0 && st.st_atime == 86400);
	/* A reader that does not own the file: root's file, nobody reads. */
	if (geteuid() == 0) {
		CHECK(chmod(p, 0644) == 0);
		for (size_t i = 0; i < 3; i++) {
			char sub[PATH_MAX];

			tu_path(sub, dir, subs[i], "");
			CHECK(chown(sub, NOBODY, NOBODY) == 0);
		}
		CHECK(tu_run_unprivileged(dir, open_as_reader));
	}
	tu_rmrf(dir);
}

int
main(void)
{
	test_new_to_cur();
	test_new_to_cur_race();
	test_flags();
	test_flags_race();
	test_remove();
	test_mtime();
	test_remove_half_moved();
	test_renamed_behind();
	test_open_safety();
	test_wsize();
	test_open_atime();
	return CHECK_DONE();
}
