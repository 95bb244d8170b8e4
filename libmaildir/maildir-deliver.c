/*
 * Delivery: write into tmp/, make it durable, then move it into new/ under
 * a name that carries its sizes.  A message is in new/ only once complete
 * and on disk; on any failure it is nowhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maildir.h"
#include "maildir-private.h"

/* How many fresh names to try when one is taken (a clock stepped back). */
#define DELIVER_TRIES 5

void
maildir_tmp_init(struct maildir_tmp *t)
{
	t->md = NULL;
	t->fd = -1;
	t->name[0] = '\0';
	t->size = t->wsize = 0;
	t->buflen = 0;
	t->error = 0;
	maildir_crlf_init(&t->cx);
}

int
maildir_deliver_begin(struct maildir *md, struct maildir_tmp *t)
{
	maildir_tmp_init(t);
	t->md = md;

	for (int i = 0; i < DELIVER_TRIES; i++) {
		if (maildir_name_unique(md, t->name, sizeof(t->name)) < 0)
			break;
		/* O_EXCL although names are unique: a clock stepped back can repeat one. */
		t->fd = openat(md->tmpfd, t->name,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (t->fd >= 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	t->name[0] = '\0';
	return -1;
}

/* Writes all of buf, through short writes and signals. */
static int
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			/* write() never returns 0 for len > 0 on a file; be safe. */
			errno = EIO;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
flush_buf(struct maildir_tmp *t)
{
	if (t->buflen == 0)
		return 0;
	if (write_all(t->fd, t->buf, t->buflen) < 0)
		return -1;
	t->buflen = 0;
	return 0;
}

/*
 * True when a delivery is open and no write has failed; else false with
 * errno the delivery's first error, or EBADF when none is open.
 */
static bool
is_usable(const struct maildir_tmp *t)
{
	if (t->error != 0) {
		errno = t->error;
		return false;
	}
	if (t->fd < 0) {
		errno = EBADF;
		return false;
	}
	return true;
}

/*
 * A write failed: part of the data may be on disk, so the file can never
 * be completed.  Remove it now (a full disk gets its room back) and keep
 * the errno for the calls still to come.
 */
static int
write_failed(struct maildir_tmp *t)
{
	t->error = errno != 0 ? errno : EIO;
	maildir_deliver_abort(t);
	errno = t->error;
	return -1;
}

int
maildir_deliver_write(struct maildir_tmp *t, const void *buf, size_t len)
{
	const char *p = buf;

	if (!is_usable(t))
		return -1;
	t->wsize += maildir_crlf_count(&t->cx, p, len);
	t->size += len;
	if (len > sizeof(t->buf) - t->buflen) {
		if (flush_buf(t) < 0)
			return write_failed(t);
		/* A chunk at least as big as the buffer skips the copy. */
		if (len >= sizeof(t->buf)) {
			if (write_all(t->fd, p, len) < 0)
				return write_failed(t);
			return 0;
		}
	}
	memcpy(t->buf + t->buflen, p, len);
	t->buflen += len;
	return 0;
}

int
maildir_move_noreplace(int fromfd, const char *from, int tofd, const char *to)
{
	/* MAILDIR_NO_RENAMEAT2: the unit tests' way to run the fallback. */
#if defined(RENAME_NOREPLACE) && !defined(MAILDIR_NO_RENAMEAT2)
	if (renameat2(fromfd, from, tofd, to, RENAME_NOREPLACE) == 0)
		return 0;
	/* Filesystems without RENAME_NOREPLACE: a hard link never replaces either. */
	if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
		return -1;
#endif
	if (linkat(fromfd, from, tofd, to, 0) < 0)
		return -1;
	if (unlinkat(fromfd, from, 0) < 0 && errno != ENOENT) {
		int e = errno;

		unlinkat(tofd, to, 0);
		errno = e;
		return -1;
	}
	return 0;
}

static int
fsync_retry(int fd)
{
	int r;

	do
		r = fsync(fd);
	while (r < 0 && errno == EINTR);
	return r;
}

int
maildir_deliver_stage(struct maildir_tmp *t, struct maildir_staged *s)
{
	struct maildir_crlf cx = t->cx;
	char		    trailer[4];
	int		    e, r;

	if (!is_usable(t))
		return -1;
	s->wsize = t->wsize + maildir_crlf_finish(&cx, trailer);
	s->size = t->size;
	if (flush_buf(t) < 0 || fsync_retry(t->fd) < 0)
		goto fail;
	/* close() can report a late write error on some filesystems (NFS). */
	r = close(t->fd);
	t->fd = -1;
	if (r < 0 && errno != EINTR)
		goto fail;
	/* The file is s's now: t may begin the next delivery. */
	memcpy(s->name, t->name, sizeof(s->name));
	s->final[0] = '\0';
	t->name[0] = '\0';
	return 0;
fail:
	e = errno;
	maildir_deliver_abort(t);
	errno = e;
	return -1;
}

int
maildir_deliver_publish(struct maildir *md, struct maildir_staged *s)
{
	int e, n, r = -1;

	for (int i = 0; i < DELIVER_TRIES; i++) {
		char uniq[MAILDIR_NAME_MAX + 1];

		/* The first try keeps the tmp name; later ones need a new one. */
		if (i == 0)
			snprintf(uniq, sizeof(uniq), "%s", s->name);
		else if (maildir_name_unique(md, uniq, sizeof(uniq)) < 0)
			goto fail;
		n = snprintf(s->final, sizeof(s->final),
		    "%s,S=%" PRIu64 ",W=%" PRIu64, uniq, s->size, s->wsize);
		if (n < 0 || (size_t)n >= sizeof(s->final)) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		r = maildir_move_noreplace(
		    md->tmpfd, s->name, md->newfd, s->final);
		if (r == 0 || errno != EEXIST)
			break;
	}
	if (r < 0)
		goto fail;
	return 0;
fail:
	e = errno;
	s->final[0] = '\0';
	unlinkat(md->tmpfd, s->name, 0);
	errno = e;
	return -1;
}

int
maildir_deliver_sync(struct maildir *md)
{
	return fsync_retry(md->newfd);
}

void
maildir_staged_remove(struct maildir *md, struct maildir_staged *s)
{
	int e = errno;

	if (s->final[0] != '\0')
		unlinkat(md->newfd, s->final, 0);
	else if (s->name[0] != '\0')
		unlinkat(md->tmpfd, s->name, 0);
	s->final[0] = s->name[0] = '\0';
	errno = e;
}

int
maildir_deliver_commit(struct maildir_tmp *t, char *name_r, size_t len)
{
	struct maildir_staged s;
	struct maildir	     *md = t->md;

	if (maildir_deliver_stage(t, &s) < 0 ||
	    maildir_deliver_publish(md, &s) < 0)
		return -1;
	/* The rename is not durable until new/ itself reaches the disk. */
	if (maildir_deliver_sync(md) < 0) {
		maildir_staged_remove(md, &s);
		return -1;
	}
	if (name_r != NULL && len > 0)
		snprintf(name_r, len, "%s", s.final);
	return 0;
}

void
maildir_deliver_abort(struct maildir_tmp *t)
{
	int e = errno;

	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	if (t->name[0] != '\0' && t->md != NULL)
		unlinkat(t->md->tmpfd, t->name, 0);
	t->name[0] = '\0';
	t->buflen = 0;
	errno = e;
}
