/* Small helpers shared by the libmaildir unit tests (static: one copy each). */
#ifndef TEST_MAILDIR_UTIL_H
#define TEST_MAILDIR_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

/* The account root's tests drop to, to meet permission checks. */
#define NOBODY 65534

/* A fresh directory under $TMPDIR or /tmp; dies when it cannot make one. */
static inline void
tu_mkdtemp(char *buf, size_t len)
{
	const char *t = getenv("TMPDIR");

	snprintf(buf, len, "%s/maildir-test-XXXXXX", t != NULL ? t : "/tmp");
	if (mkdtemp(buf) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
}

/* Joins dir/sub/name into p, which holds PATH_MAX bytes; dies when too long. */
static inline void
tu_path(char *p, const char *dir, const char *sub, const char *name)
{
	int n = snprintf(p, PATH_MAX, "%s/%s/%s", dir, sub, name);

	if (n < 0 || n >= PATH_MAX) {
		fprintf(stderr, "path too long: %s\n", dir);
		exit(1);
	}
}

static inline int
tu_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static inline void
tu_rmrf(const char *path)
{
	nftw(path, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Entries (not starting with '.') in dir/sub; the first one's name into first. */
static inline int
tu_count(const char *dir, const char *sub, char *first, size_t len)
{
	char	       p[PATH_MAX];
	struct dirent *de;
	int	       n = 0;
	DIR	      *d;

	tu_path(p, dir, sub, ".");
	if ((d = opendir(p)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n++ == 0 && first != NULL)
			snprintf(first, len, "%s", de->d_name);
	}
	closedir(d);
	return n;
}

static inline int
tu_write(const char *dir, const char *sub, const char *name, const void *data,
    size_t len)
{
	char	p[PATH_MAX];
	int	fd;
	ssize_t n;

	tu_path(p, dir, sub, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	n = write(fd, data, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

/* Reads dir/sub/name into a malloc()ed buffer; NULL on failure. */
static inline char *
tu_read(const char *dir, const char *sub, const char *name, size_t *len_r)
{
	char	    p[PATH_MAX];
	struct stat st;
	char	   *buf;
	int	    fd;

	tu_path(p, dir, sub, name);
	if ((fd = open(p, O_RDONLY)) < 0)
		return NULL;
	if (fstat(fd, &st) < 0 ||
	    (buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	if (read(fd, buf, (size_t)st.st_size) != st.st_size) {
		free(buf);
		close(fd);
		return NULL;
	}
	close(fd);
	*len_r = (size_t)st.st_size;
	return buf;
}

static inline bool
tu_exists(const char *dir, const char *sub, const char *name)
{
	char p[PATH_MAX];

	tu_path(p, dir, sub, name);
	return access(p, F_OK) == 0;
}

/*
 * Runs fn(arg) as an unprivileged user: in a child that drops to nobody
 * when we are root (root passes every permission check), else directly.
 * Returns false, after printing why, when it could not drop.
 */
static inline bool
tu_run_unprivileged(const char *dir, void (*fn)(const char *))
{
	pid_t pid;
	int   st;

	if (geteuid() != 0) {
		fn(dir);
		return true;
	}
	if (chown(dir, NOBODY, NOBODY) < 0) {
		perror("chown");
		return false;
	}
	if ((pid = fork()) < 0)
		return false;
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 ||
		    setuid(NOBODY) < 0 || geteuid() != NOBODY) {
			perror("dropping to nobody");
			_exit(2);
		}
		/* $TMPDIR under a private home: nobody cannot get there. */
		if (access(dir, R_OK | W_OK | X_OK) < 0)
			_exit(77);
		fn(dir);
		_exit(CHECK_DONE());
	}
	if (waitpid(pid, &st, 0) < 0)
		return false;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
		printf(
		    "SKIP permission test: uid %d cannot reach %s (set TMPDIR "
		    "to a world-searchable directory)\n",
		    NOBODY, dir);
		return true;
	}
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return true;
}

/* Simple deterministic random numbers: the same run every time. */
static unsigned long tu_rand_state = 12345;

static inline unsigned long
tu_rand(void)
{
	tu_rand_state =
	    tu_rand_state * 6364136223846793005UL + 1442695040888963407UL;
	return tu_rand_state >> 33;
}

#endif
