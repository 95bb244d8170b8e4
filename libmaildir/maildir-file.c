/*
 * Files of our own in the maildir's root: read, replaced whole by rename,
 * locked (maildir_lock() for POP3's exclusive access among them).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "maildir.h"

int
maildir_file_open(struct maildir *md, const char *name)
{
	return openat(
	    md->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
}

/* Writes all of iov to fd, however the kernel splits it. */
static int
write_all(int fd, const struct iovec *iov, int iovcnt)
{
	struct iovec v[MAILDIR_FILE_IOV];
	int	     i = 0;

	if (iovcnt < 0 || iovcnt > MAILDIR_FILE_IOV) {
		errno = EINVAL;
		return -1;
	}
	memcpy(v, iov, (size_t)iovcnt * sizeof(*v));
	while (i < iovcnt) {
		ssize_t w;

		if (v[i].iov_len == 0) {
			i++;
			continue;
		}
		w = writev(fd, v + i, iovcnt - i);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		for (size_t n = (size_t)w; n > 0; i++) {
			if (n < v[i].iov_len) {
				v[i].iov_base = (char *)v[i].iov_base + n;
				v[i].iov_len -= n;
				break;
			}
			n -= v[i].iov_len;
			v[i].iov_len = 0;
		}
	}
	return 0;
}

int
maildir_file_replace(struct maildir *md, const char *name,
    const struct iovec *iov, int iovcnt, bool is_durable)
{
	char   tmp[MAILDIR_NAME_MAX + 1];
	size_t len = strlen(name);
	int    fd, e;

	/*
	 * A unique name in tmp/, not a fixed one beside name: two writers
	 * at once each rename a complete file of their own.  It ends in
	 * name, so that debris says what it was.
	 */
	if (len >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (maildir_name_unique(md, tmp, sizeof(tmp) - len) < 0)
		return -1;
	strcat(tmp, name);
	fd = openat(md->tmpfd, tmp,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write_all(fd, iov, iovcnt) < 0 || (is_durable && fsync(fd) < 0)) {
		e = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) < 0) {
		e = errno;
		goto fail;
	}
	if (renameat(md->tmpfd, tmp, md->dirfd, name) < 0) {
		e = errno;
		goto fail;
	}
	/* The rename is not durable until the root itself reaches the disk. */
	if (is_durable && fsync(md->dirfd) < 0)
		return -1;
	return 0;
fail:
	unlinkat(md->tmpfd, tmp, 0);
	errno = e;
	return -1;
}

/* Opens name in the root for a lock, making it when missing. */
static int
open_lock(struct maildir *md, const char *name)
{
	return openat(
	    md->dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
}

/*
 * A write lock on the whole of fd with cmd, F_OFD_SETLK or F_OFD_SETLKW.
 * An OFD lock (fcntl) on a file, not flock(): GlusterFS's FUSE client
 * keeps a flock() to the host that took it, and NFS has none for
 * directories, while both pass a file's lock on to the server, so one
 * process holds it across all the hosts that share the maildir.
 */
static int
take_lock(int fd, int cmd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int	     r;

	do
		r = fcntl(fd, cmd, &fl);
	while (r < 0 && errno == EINTR);
	return r;
}

int
maildir_file_lock(struct maildir *md, const char *name)
{
	int fd = open_lock(md, name), e;

	if (fd < 0 || take_lock(fd, F_OFD_SETLKW) == 0)
		return fd;
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

int
maildir_lock(struct maildir *md)
{
	int e;

	if (md->lockfd < 0 &&
	    (md->lockfd = open_lock(md, MAILDIR_LOCK_FILE)) < 0)
		return -1;
	if (take_lock(md->lockfd, F_OFD_SETLK) == 0)
		return 0;
	e = errno == EAGAIN || errno == EACCES ? EWOULDBLOCK : errno;
	close(md->lockfd);
	md->lockfd = -1;
	errno = e;
	return -1;
}
