/* Opening, closing and locking a maildir. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maildir.h"

/* Opens (making it when missing) one of tmp/ new/ cur/ under dirfd. */
static int
open_sub(int dirfd, const char *sub)
{
	int fd;

	fd = openat(dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		/* EEXIST: another process made it between our two calls. */
		if (mkdirat(dirfd, sub, 0700) < 0 && errno != EEXIST)
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
	char host[256];
	int e;

	memset(md, 0, sizeof(*md));
	md->dirfd = md->tmpfd = md->newfd = md->curfd = -1;

	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -1;
	md->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (md->dirfd < 0)
		goto fail;
	if ((md->tmpfd = open_sub(md->dirfd, "tmp")) < 0 ||
	    (md->newfd = open_sub(md->dirfd, "new")) < 0 ||
	    (md->curfd = open_sub(md->dirfd, "cur")) < 0)
		goto fail;

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
