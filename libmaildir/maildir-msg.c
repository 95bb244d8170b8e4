/*
 * One message at a time: open, flag, remove, mtime, new/ -> cur/.  Another
 * session (or a mail reader) may rename a message at any moment; a name that no
 * longer exists is looked up again by its base name before anyone is told
 * the message is gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maildir.h"
#include "maildir-private.h"

/*
 * Lookups per call: each one means someone renamed the file under us
 * between our lookup and our rename, so a few are plenty.
 */
#define MSG_TRIES 8

#define MSG_READ_BUF 16384

/*
 * Finds the file whose base name is m's (cur/ first: that is where files
 * go).  Writes its name into buf and says which directory holds it.
 */
static int
find_once(struct maildir *md, const struct maildir_msg *m, char *buf,
    size_t len, bool *in_new_r)
{
	const int      fds[] = { md->curfd, md->newfd };
	struct dirent *de;

	for (int i = 0; i < 2; i++) {
		DIR *d = maildir_opendir(fds[i]);

		if (d == NULL)
			return -1;
		for (;;) {
			const char *n;

			errno = 0;
			if ((de = readdir(d)) == NULL)
				break;
			n = de->d_name;
			if (maildir_dirent_skip(de) ||
			    strncmp(n, m->name, m->base_len) != 0 ||
			    (n[m->base_len] != ':' && n[m->base_len] != '\0'))
				continue;
			snprintf(buf, len, "%s", n);
			*in_new_r = i == 1;
			closedir(d);
			return 0;
		}
		if (errno != 0) {
			int e = errno;

			closedir(d);
			errno = e;
			return -1;
		}
		closedir(d);
	}
	errno = ENOENT;
	return -1;
}

/*
 * A readdir() that runs while another process renames an entry of the
 * same directory may see it under neither name (the new name lands where
 * the scan has been, the old one goes from where it has not).  Flag
 * changes from two sessions do exactly that, so a message is gone only
 * when a few scans in a row miss it.
 */
#define FIND_SCANS 3

static int
find_again(struct maildir *md, const struct maildir_msg *m, char *buf,
    size_t len, bool *in_new_r)
{
	for (int i = 0; i < FIND_SCANS; i++) {
		if (find_once(md, m, buf, len, in_new_r) == 0)
			return 0;
		if (errno != ENOENT)
			return -1;
	}
	return -1; /* errno is ENOENT */
}

/*
 * Records a message's current name: in place when it is no longer than
 * the old one (the list packs names end to end, with no room to spare),
 * else in room the list owns.  When neither works m keeps its old name
 * and the next call looks again.
 */
static void
adopt(struct maildir_list *l, struct maildir_msg *m, const char *name,
    bool in_new)
{
	size_t len = strlen(name);
	char  *p = m->name;

	if (len > strlen(m->name) &&
	    (l == NULL || (p = maildir_list_spill(l, len + 1)) == NULL))
		return;
	memmove(p, name, len + 1);
	m->name = p;
	m->in_new = in_new;
}

static int
msg_dirfd(struct maildir *md, bool in_new)
{
	return in_new ? md->newfd : md->curfd;
}

/*
 * What maildir_msg_open(), _flags() and _remove() do to the file called
 * name in new/ (in_new) or cur/: returns >= 0, or -1 with errno set.
 */
typedef int msg_op(struct maildir *md, struct maildir_list *l,
    struct maildir_msg *m, const char *name, bool in_new, void *arg);

/*
 * Runs op on m's file; when it is not under its listed name any more
 * (another session renamed it: new/ -> cur/, a flag change), finds it
 * again by its base name and runs op once more.  ENOENT when it is gone.
 */
static int
msg_retry(struct maildir *md, struct maildir_list *l, struct maildir_msg *m,
    msg_op *op, void *arg)
{
	char	    found[MAILDIR_NAME_MAX + 1];
	const char *name = m->name;
	bool	    in_new = m->in_new;

	for (int i = 0; i < MSG_TRIES; i++) {
		int r = op(md, l, m, name, in_new, arg);

		if (r >= 0)
			return r;
		if (errno != ENOENT)
			return -1;
		if (find_again(md, m, found, sizeof(found), &in_new) < 0)
			return -1;
		name = found;
		adopt(l, m, found, in_new);
	}
	errno = ENOENT;
	return -1;
}

/* Opens the file read-only; what fstat() said of it goes into arg. */
static int
op_open(struct maildir *md, struct maildir_list *l, struct maildir_msg *m,
    const char *name, bool in_new, void *arg)
{
	struct stat *st = arg;
	int	     fd;

	/*
	 * O_NONBLOCK: a FIFO planted in the maildir must not hang the
	 * open.  It stays set: regular files ignore it, and anything else
	 * is refused right here.
	 */
	fd = openat(msg_dirfd(md, in_new), name,
	    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
		(md->atime_needed ? 0 : O_NOATIME));
	/*
	 * O_NOATIME: reading a message is no reason to write its inode
	 * (relatime still writes it once after every rename, which is
	 * every flag change), a tenth of a cold session's time.  Only the
	 * file's owner (or CAP_FOWNER) may ask: anyone else reads with
	 * atime, from then on without asking again.
	 */
	if (fd < 0 && errno == EPERM && !md->atime_needed) {
		md->atime_needed = true;
		fd = openat(msg_dirfd(md, in_new), name,
		    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	}
	if (fd < 0)
		return -1;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	/* The file's own size, whatever the name or the size cache said. */
	m->has_size = (uint64_t)st->st_size <= UINT32_MAX;
	m->size = m->has_size ? (uint32_t)st->st_size : 0;
	return fd;
}

int
maildir_msg_open(
    struct maildir *md, struct maildir_list *l, struct maildir_msg *m)
{
	struct stat st;

	return msg_retry(md, l, m, op_open, &st);
}

/* Only letters are flags a caller may set or clear. */
static bool
valid_flags(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
			return false;
	return true;
}

/* Writes name's base, ":2," and its flags changed by add and del into buf. */
static int
flagged_name(
    const char *name, const char *add, const char *del, char *buf, size_t len)
{
	struct maildir_name_info info;
	bool			 set[128] = { false };
	size_t			 o;
	const char		*p;

	maildir_name_parse(name, &info);
	/* Keep what others set (Dovecot's keyword letters too), sorted. */
	for (p = info.flags; p != NULL && *p != '\0'; p++)
		if (*p > 0x20 && *p < 0x7f)
			set[(unsigned char)*p] = true;
	for (p = add; p != NULL && *p != '\0'; p++)
		set[(unsigned char)*p] = true;
	for (p = del; p != NULL && *p != '\0'; p++)
		set[(unsigned char)*p] = false;

	if (info.base_len + 4 > len)
		goto toolong;
	memcpy(buf, name, info.base_len);
	memcpy(buf + info.base_len, ":2,", 3);
	o = info.base_len + 3;
	for (int c = 0x21; c < 0x7f; c++) {
		if (!set[c])
			continue;
		if (o + 2 > len)
			goto toolong;
		buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return 0;
toolong:
	errno = ENAMETOOLONG;
	return -1;
}

struct flag_change {
	const char *add;
	const char *del;
};

/* Renames the file into cur/ with its flags changed. */
static int
op_flags(struct maildir *md, struct maildir_list *l, struct maildir_msg *m,
    const char *name, bool in_new, void *arg)
{
	const struct flag_change *fc = arg;
	char			  target[MAILDIR_NAME_MAX + 1];
	struct stat		  st;
	int			  r;

	if (flagged_name(name, fc->add, fc->del, target, sizeof(target)) < 0)
		return -1;
	if (!in_new && strcmp(name, target) == 0) {
		/* Nothing to rename, but say ENOENT if it is gone. */
		r = fstatat(md->curfd, name, &st, AT_SYMLINK_NOFOLLOW);
	} else {
		r = maildir_move_noreplace(
		    msg_dirfd(md, in_new), name, md->curfd, target);
	}
	if (r == 0)
		adopt(l, m, target, false);
	return r;
}

int
maildir_msg_flags(struct maildir *md, struct maildir_list *l,
    struct maildir_msg *m, const char *add, const char *del)
{
	struct flag_change fc = { add, del };

	if (!valid_flags(add) || !valid_flags(del)) {
		errno = EINVAL;
		return -1;
	}
	return msg_retry(md, l, m, op_flags, &fc);
}

/*
 * A move by link and unlink (maildir_move_noreplace() where rename cannot
 * refuse to replace: FUSE, NFS) that was killed between the two leaves
 * the message under two names, new/x and cur/x:2, (links to one file).
 * The listing shows it once; once one name is deleted, the others with
 * its base name that are links to the same file go too, or the message
 * would come back in the next session.
 */
static void
remove_other_links(
    struct maildir *md, const struct maildir_msg *m, const struct stat *st)
{
	char name[MAILDIR_NAME_MAX + 1];
	bool in_new;

	for (nlink_t left = st->st_nlink - 1; left > 0; left--) {
		struct stat other;
		int	    dfd;

		if (find_once(md, m, name, sizeof(name), &in_new) < 0)
			return;
		dfd = msg_dirfd(md, in_new);
		if (fstatat(dfd, name, &other, AT_SYMLINK_NOFOLLOW) < 0 ||
		    other.st_dev != st->st_dev || other.st_ino != st->st_ino ||
		    unlinkat(dfd, name, 0) < 0)
			return;
	}
}

static int
op_remove(struct maildir *md, struct maildir_list *l, struct maildir_msg *m,
    const char *name, bool in_new, void *arg)
{
	struct stat st;
	int	    dfd = msg_dirfd(md, in_new);

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    unlinkat(dfd, name, 0) < 0)
		return -1;
	if (st.st_nlink > 1)
		remove_other_links(md, m, &st);
	return 0;
}

int
maildir_msg_remove(
    struct maildir *md, struct maildir_list *l, struct maildir_msg *m)
{
	if (msg_retry(md, l, m, op_remove, NULL) < 0)
		return -1;
	m->is_removed = true;
	return 0;
}

int
maildir_msg_mtime(
    struct maildir *md, const struct maildir_msg *m, time_t *mtime_r)
{
	struct stat st;

	if (fstatat(m->in_new ? md->newfd : md->curfd, m->name, &st,
		AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	*mtime_r = st.st_mtime;
	return 0;
}

int
maildir_msg_count(int fd, const struct maildir_msg *m, uint64_t *wsize_r)
{
	struct maildir_crlf cx;
	char		    buf[MSG_READ_BUF], trailer[4];
	uint64_t	    n = 0, off = 0;

	maildir_crlf_init(&cx);
	for (;;) {
		ssize_t r = pread(fd, buf, sizeof(buf), (off_t)off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		n += maildir_crlf_count(&cx, buf, (size_t)r);
		off += (uint64_t)r;
		/*
		 * A short read that reaches the size the open found is the end:
		 * this spares the read() that would return 0, one system
		 * call in five when a session sizes small messages.
		 */
		if ((size_t)r < sizeof(buf) && m->has_size && off == m->size)
			break;
	}
	*wsize_r = n + maildir_crlf_finish(&cx, trailer);
	return 0;
}

int
maildir_msg_wsize(
    struct maildir *md, struct maildir_list *l, struct maildir_msg *m)
{
	uint64_t w;
	int	 fd, r, e;

	if ((fd = maildir_msg_open(md, l, m)) < 0)
		return -1;
	r = maildir_msg_count(fd, m, &w);
	e = errno;
	close(fd);
	if (r < 0) {
		errno = e;
		return -1;
	}
	m->wsize = w;
	m->has_wsize = true;
	m->is_counted = true;
	m->is_cached = false;
	return 0;
}

/* True when new/name and cur/target are links to one file. */
static bool
same_file(struct maildir *md, const char *name, const char *target)
{
	struct stat a, b;

	return fstatat(md->newfd, name, &a, AT_SYMLINK_NOFOLLOW) == 0 &&
	    fstatat(md->curfd, target, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int
maildir_new_to_cur(struct maildir *md)
{
	char	       target[MAILDIR_NAME_MAX + 1];
	struct dirent *de;
	int	       first_err = 0;
	DIR	      *d;

	if ((d = maildir_opendir(md->newfd)) == NULL)
		return -1;
	for (;;) {
		const char *n;
		int	    len;

		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0 && first_err == 0)
				first_err = errno;
			break;
		}
		if (maildir_dirent_skip(de))
			continue;
		n = de->d_name;
		/* Without d_type, make sure it is no directory we would move. */
		if (de->d_type == DT_UNKNOWN) {
			struct stat st;

			if (fstatat(md->newfd, n, &st, AT_SYMLINK_NOFOLLOW) <
				0 ||
			    !S_ISREG(st.st_mode))
				continue;
		}
		/* A name that already has ":2," keeps it, and its flags. */
		if (maildir_name_flags(n) != NULL)
			len = snprintf(target, sizeof(target), "%s", n);
		else
			len = snprintf(target, sizeof(target), "%.*s:2,",
			    (int)strcspn(n, ":"), n);
		if (len < 0 || (size_t)len >= sizeof(target)) {
			if (first_err == 0)
				first_err = ENAMETOOLONG;
			continue;
		}
		if (maildir_move_noreplace(md->newfd, n, md->curfd, target) ==
		    0)
			continue;
		/*
		 * ENOENT: another session moved it first.  EEXIST: its target
		 * is taken, by the same file when a move by link and unlink
		 * is (or was killed) half way: that move is finished here.
		 * Another file stays in new/, where a listing still finds it.
		 */
		if (errno == EEXIST && same_file(md, n, target))
			unlinkat(md->newfd, n, 0);
		else if (errno != ENOENT && errno != EEXIST && first_err == 0)
			first_err = errno;
	}
	closedir(d);
	if (first_err != 0) {
		errno = first_err;
		return -1;
	}
	return 0;
}
