/* Opening, closing and locking a maildir. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
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

int
maildir_open(struct maildir *md, const char *path)
{
	bool made_top = false, made_sub = false;
	char host[256];
	int  e;

	memset(md, 0, sizeof(*md));
	md->dirfd = md->tmpfd = md->newfd = md->curfd = -1;

	if (mkdir(path, 0700) == 0)
		made_top = true;
	else if (errno != EEXIST)
		return -1;
	md->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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
	if (made_top) {
		int up =
		    openat(md->dirfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (up < 0 || fsync(up) < 0) {
			e = errno;
			if (up >= 0)
				close(up);
			errno = e;
			goto fail;
		}
		close(up);
	}

	if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	maildir_name_host(host, md->host, sizeof(md->host));
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
	int *fds[] = { &md->dirfd, &md->tmpfd, &md->newfd, &md->curfd };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

int
maildir_lock(struct maildir *md)
{
	int r;

	do
		r = flock(md->dirfd, LOCK_EX | LOCK_NB);
	while (r < 0 && errno == EINTR);
	return r;
}
