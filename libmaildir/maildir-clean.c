/* The maildir rule for tmp/: what nobody touched for 36 hours is debris. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maildir.h"
#include "maildir-private.h"

int
maildir_clean_tmp(struct maildir *md, time_t now)
{
	struct dirent *de;
	int	       removed = 0, first_err = 0;
	DIR	      *d;

	if ((d = maildir_opendir(md->tmpfd)) == NULL)
		return -1;
	for (;;) {
		struct stat st;

		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0)
				first_err = errno;
			break;
		}
		if (de->d_name[0] == '.' &&
		    (de->d_name[1] == '\0' ||
			(de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		if (fstatat(md->tmpfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) <
		    0)
			continue; /* gone already */
		if (!S_ISREG(st.st_mode))
			continue;
		/* Both times: a slow delivery still writing keeps mtime fresh. */
		if (now - st.st_mtime < MAILDIR_STALE_TMP ||
		    now - st.st_atime < MAILDIR_STALE_TMP)
			continue;
		if (unlinkat(md->tmpfd, de->d_name, 0) == 0)
			removed++;
		else if (errno != ENOENT && first_err == 0)
			first_err = errno;
	}
	closedir(d);
	if (first_err != 0) {
		errno = first_err;
		return -1;
	}
	return removed;
}
