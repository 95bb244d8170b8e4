/* Opening and closing a maildir. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "maildir.h"

/*
 * Opens (making it when missing) one of tmp/ new/ cur/ under dirfd; sets
 * *made_r when it made it.
 */
static int
open_sub(int dirfd, const char *sub, bool *made_r)
{
	int fd;

	fd = openat(dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		/* EEXIST: another process made it between our two calls. */
		if (mkdirat(dirfd, sub, 0700) == 0)
			*made_r = true;
		else if (errno != EEXIST)
			return -1;
		fd = openat(dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0)
		return -1;
	/*
	 * Fail now rather than at the first delivery.  AT_EACCESS: the
	 * effective ids are the ones that will write.
	 */
	if (faccessat(dirfd, sub, W_OK | X_OK, AT_EACCESS) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/*
 * Makes the one directory buf names (its parent exists), mode 0700, owned
 * by uid:gid, and fsyncs its parent so that the new entry is durable.
 * Returns 1 when it made it, 0 when it was there, -1 on error.
 */
static int
make_one(const char *buf, uid_t uid, gid_t gid)
{
	int fd, up, e;

	if (mkdir(buf, 0700) < 0)
		return errno == EEXIST ? 0 : -1;
	/* O_NOFOLLOW: chown what we made, never what replaced it. */
	fd = open(buf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) < 0)
		goto fail;
	up = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (up < 0)
		goto fail;
	if (fsync(up) < 0) {
		e = errno;
		close(up);
		errno = e;
		goto fail;
	}
	close(up);
	close(fd);
	return 1;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

int
maildir_mkpath(const char *path, uid_t uid, gid_t gid)
{
	char   buf[PATH_MAX];
	size_t len = strlen(path);
	int    r;

	if (len == 0) {
		errno = ENOENT;
		return -1;
	}
	if (len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* Usually the parent exists: one mkdir. */
	r = make_one(path, uid, gid);
	if (r >= 0 || errno != ENOENT)
		return r;
	/* Else every missing directory from the top down. */
	memcpy(buf, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		if (buf[i - 1] == '/')
			continue; /* "a//b" */
		buf[i] = '\0';
		r = make_one(buf, uid, gid);
		buf[i] = i < len ? '/' : '\0';
		if (r < 0)
			return -1;
	}
	return r;
}

/*
 * R of the unique names: random, so that two hosts of one name whose
 * processes share a pid still differ.  Should the kernel have no entropy
 * yet (early boot), the clock's nanoseconds will do.
 */
static uint32_t
draw_rnd(void)
{
	struct timespec ts;
	uint32_t	v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
		return v;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint32_t)ts.tv_nsec ^ ((uint32_t)ts.tv_sec << 7) ^
	    (uint32_t)getpid();
}

int
maildir_open(struct maildir *md, const char *path)
{
	bool made_sub = false;
	char host[256];
	int  e;

	memset(md, 0, sizeof(*md));
	md->dirfd = md->tmpfd = md->newfd = md->curfd = md->lockfd = -1;

	/* Usually it exists: one open, the mkdir only when it is missing. */
	md->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (md->dirfd < 0 && errno == ENOENT) {
		if (maildir_mkpath(path, (uid_t)-1, (gid_t)-1) < 0)
			return -1;
		md->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (md->dirfd < 0)
		goto fail;
	if ((md->tmpfd = open_sub(md->dirfd, "tmp", &made_sub)) < 0 ||
	    (md->newfd = open_sub(md->dirfd, "new", &made_sub)) < 0 ||
	    (md->curfd = open_sub(md->dirfd, "cur", &made_sub)) < 0)
		goto fail;
	/*
	 * A message made durable in a new new/ is lost with new/ itself
	 * unless the directories that name it reach the disk too.
	 */
	if (made_sub && fsync(md->dirfd) < 0)
		goto fail;

	if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	maildir_name_host(host, md->host, sizeof(md->host));
	md->rnd = draw_rnd();
	return 0;
fail:
	e = errno;
	maildir_close(md);
	errno = e;
	return -1;
}

void
maildir_close(struct maildir *md)
{
	int *fds[] = { &md->dirfd, &md->tmpfd, &md->newfd, &md->curfd,
		&md->lockfd };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}
