/*
 * tmp/: walking it with each entry's age, and the maildir rule that what
 * nobody touched for 36 hours is debris.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maildir.h"
#include "maildir-private.h"

int
maildir_tmp_walk(struct maildir *md, time_t now, maildir_tmp_fn *fn, void *arg)
{
	struct dirent *de;
	int	       e = 0;
	DIR	      *d;

	if ((d = maildir_opendir(md->tmpfd)) == NULL)
		return -1;
	for (;;) {
		struct maildir_tmp_file f;
		struct stat		st;

		errno = 0;
		if ((de = readdir(d)) == NULL) {
			e = errno;
			break;
		}
		if (de->d_name[0] == '.' &&
		    (de->d_name[1] == '\0' ||
			(de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		if (fstatat(md->tmpfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) <
		    0)
			continue; /* gone already */
		f.name = de->d_name;
		/* The later time: a delivery still writing keeps mtime fresh. */
		f.age = now -
		    (st.st_mtime > st.st_atime ? st.st_mtime : st.st_atime);
		f.is_regular = S_ISREG(st.st_mode);
		fn(&f, arg);
	}
	closedir(d);
	if (e != 0) {
		errno = e;
		return -1;
	}
	return 0;
}

struct clean {
	struct maildir *md;
	int		removed;
	int		first_err;
};

static void
clean_one(const struct maildir_tmp_file *f, void *arg)
{
	struct clean *c = arg;

	if (!f->is_regular || f->age < MAILDIR_STALE_TMP)
		return;
	if (unlinkat(c->md->tmpfd, f->name, 0) == 0)
		c->removed++;
	else if (errno != ENOENT && c->first_err == 0)
		c->first_err = errno;
}

int
maildir_clean_tmp(struct maildir *md, time_t now)
{
	struct clean c = { md, 0, 0 };

	if (maildir_tmp_walk(md, now, clean_one, &c) < 0 && c.first_err == 0)
		c.first_err = errno;
	if (c.first_err != 0) {
		errno = c.first_err;
		return -1;
	}
	return c.removed;
}
