/* Tests for libmaildir/maildir-open.c: open, create (mkpath), refuse, lock. */
#include "maildir.h"
#include "test-maildir-util.h"

static bool
is_dir_0700(const char *dir, const char *sub)
{
	char	    p[PATH_MAX];
	struct stat st;

	tu_path(p, dir, sub, ".");
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (st.st_mode & 07777) == 0700;
}

static void
test_create(void)
{
	char	       top[PATH_MAX], dir[PATH_MAX];
	struct maildir md;

	tu_mkdtemp(top, sizeof(top));
	tu_path(dir, top, "Maildir", "");
	/* Makes the maildir itself (one level) and its three directories. */
	CHECK(maildir_open(&md, dir) == 0);
	CHECK(is_dir_0700(dir, "."));
	CHECK(is_dir_0700(dir, "tmp") && is_dir_0700(dir, "new") &&
	    is_dir_0700(dir, "cur"));
	CHECK(md.dirfd >= 0 && md.tmpfd >= 0 && md.newfd >= 0 && md.curfd >= 0);
	CHECK(md.host[0] != '\0' && strchr(md.host, '/') == NULL &&
	    strchr(md.host, ':') == NULL);
	CHECK(md.seq == 0);
	maildir_close(&md);
	CHECK(md.dirfd == -1 && md.curfd == -1);
	maildir_close(&md); /* safe twice */

	/* An existing maildir opens as it is. */
	CHECK(maildir_open(&md, dir) == 0);
	maildir_close(&md);

	/* A missing cur/ is made again. */
	tu_path(dir, top, "Maildir", "cur");
	CHECK(rmdir(dir) == 0);
	tu_path(dir, top, "Maildir", "");
	CHECK(maildir_open(&md, dir) == 0);
	CHECK(is_dir_0700(dir, "cur"));
	maildir_close(&md);

	/* Missing directories above it are made too, each 0700. */
	tu_path(dir, top, "a/b", "Maildir");
	CHECK(maildir_open(&md, dir) == 0);
	maildir_close(&md);
	CHECK(is_dir_0700(dir, "cur"));
	tu_path(dir, top, "a", "b");
	CHECK(is_dir_0700(dir, "."));
	tu_path(dir, top, "a", "");
	CHECK(is_dir_0700(dir, "."));
	tu_rmrf(top);
}

static void
test_mkpath(void)
{
	char	    top[PATH_MAX], dir[PATH_MAX], cwd[PATH_MAX];
	struct stat st;
	mode_t	    old = umask(022);

	tu_mkdtemp(top, sizeof(top));
	/* 1: made (with its parents), 0: there already. */
	tu_path(dir, top, "x/y", "z");
	CHECK(maildir_mkpath(dir, (uid_t)-1, (gid_t)-1) == 1);
	CHECK(is_dir_0700(dir, "."));
	CHECK(maildir_mkpath(dir, (uid_t)-1, (gid_t)-1) == 0);
	/* Doubled and trailing slashes. */
	tu_path(dir, top, "p//q", "r/");
	CHECK(maildir_mkpath(dir, (uid_t)-1, (gid_t)-1) == 1);
	tu_path(dir, top, "p", "q");
	CHECK(is_dir_0700(dir, "r"));
	/* A relative path. */
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	CHECK(chdir(top) == 0);
	CHECK(maildir_mkpath("rel/a/b", (uid_t)-1, (gid_t)-1) == 1);
	CHECK(is_dir_0700("rel/a", "b"));
	CHECK(chdir(cwd) == 0);
	/* A file on the way. */
	CHECK(tu_write(top, ".", "file", "x", 1) == 0);
	tu_path(dir, top, "file", "sub/md");
	errno = 0;
	CHECK(maildir_mkpath(dir, (uid_t)-1, (gid_t)-1) == -1 &&
	    errno == ENOTDIR);
	errno = 0;
	CHECK(
	    maildir_mkpath("", (uid_t)-1, (gid_t)-1) == -1 && errno == ENOENT);
	/* As root: what it makes belongs to the account given, not what was there. */
	if (geteuid() == 0) {
		tu_path(dir, top, "own/a", "md");
		CHECK(maildir_mkpath(dir, NOBODY, NOBODY) == 1);
		CHECK(stat(dir, &st) == 0 && st.st_uid == NOBODY &&
		    st.st_gid == NOBODY && (st.st_mode & 07777) == 0700);
		tu_path(dir, top, "own", "a");
		CHECK(stat(dir, &st) == 0 && st.st_uid == NOBODY);
		CHECK(stat(top, &st) == 0 && st.st_uid == 0);
	}
	umask(old);
	tu_rmrf(top);
}

static void
test_not_a_dir(void)
{
	char	       top[PATH_MAX], dir[PATH_MAX];
	struct maildir md;

	tu_mkdtemp(top, sizeof(top));
	/* The path is a file. */
	CHECK(tu_write(top, ".", "file", "x", 1) == 0);
	tu_path(dir, top, "file", "");
	dir[strlen(dir) - 1] = '\0'; /* no trailing slash */
	errno = 0;
	CHECK(maildir_open(&md, dir) == -1 && errno == ENOTDIR);
	/* new/ is a file. */
	tu_path(dir, top, "md", "");
	CHECK(mkdir(dir, 0700) == 0);
	CHECK(tu_write(dir, ".", "new", "x", 1) == 0);
	errno = 0;
	CHECK(maildir_open(&md, dir) == -1 && errno == ENOTDIR);
	CHECK(md.dirfd == -1 && md.tmpfd == -1);
	tu_rmrf(top);
}

/* As an unprivileged user: a read-only cur/, or maildir, is EACCES. */
static void
unwritable(const char *dir)
{
	char	       p[PATH_MAX];
	struct maildir md;

	CHECK(maildir_open(&md, dir) == 0);
	maildir_close(&md);
	tu_path(p, dir, "cur", ".");
	CHECK(chmod(p, 0500) == 0);
	errno = 0;
	CHECK(maildir_open(&md, dir) == -1 && errno == EACCES);
	CHECK(chmod(p, 0700) == 0);
	/* A maildir that lacks tmp/ and may not be written to. */
	tu_path(p, dir, "tmp", "");
	CHECK(rmdir(p) == 0);
	CHECK(chmod(dir, 0500) == 0);
	errno = 0;
	CHECK(maildir_open(&md, dir) == -1 && errno == EACCES);
	CHECK(chmod(dir, 0700) == 0);
	CHECK(maildir_open(&md, dir) == 0);
	maildir_close(&md);
}

static void
test_unwritable(void)
{
	char top[PATH_MAX], dir[PATH_MAX];

	tu_mkdtemp(top, sizeof(top));
	CHECK(chmod(top, 0711) == 0);
	tu_path(dir, top, "md", "");
	CHECK(mkdir(dir, 0700) == 0);
	if (!tu_run_unprivileged(dir, unwritable))
		CHECK(!"could not run the unwritable-maildir test");
	tu_rmrf(top);
}

static void
test_lock(void)
{
	char	       dir[PATH_MAX];
	struct maildir a, b;

	tu_mkdtemp(dir, sizeof(dir));
	CHECK(maildir_open(&a, dir) == 0);
	CHECK(maildir_open(&b, dir) == 0);
	CHECK(maildir_lock(&a) == 0);
	errno = 0;
	CHECK(maildir_lock(&b) == -1 && errno == EWOULDBLOCK);
	/* A lock on a file, which NFS and GlusterFS pass to the server. */
	CHECK(faccessat(a.dirfd, MAILDIR_LOCK_FILE, F_OK, 0) == 0);
	errno = 0;
	CHECK(maildir_lock(&b) == -1 && errno == EWOULDBLOCK);
	/* Closing releases it. */
	maildir_close(&a);
	CHECK(maildir_lock(&b) == 0);
	maildir_close(&b);
	tu_rmrf(dir);
}

int
main(void)
{
	test_create();
	test_mkpath();
	test_not_a_dir();
	test_unwritable();
	test_lock();
	return CHECK_DONE();
}
