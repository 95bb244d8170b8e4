/* What the maildir's directories say about it: new/'s time, the space left. */
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "maildir.h"

int
maildir_new_mtime(struct maildir *md, struct timespec *mtime_r)
{
	struct stat st;

	if (fstat(md->newfd, &st) < 0)
		return -1;
	*mtime_r = st.st_mtim;
	return 0;
}

int
maildir_space(struct maildir *md, uint64_t *free_r, uint64_t *size_r)
{
	struct statvfs vfs;

	if (fstatvfs(md->dirfd, &vfs) < 0)
		return -1;
	/* What an unprivileged writer may use: f_bavail, not f_bfree. */
	if (free_r != NULL)
		*free_r = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (size_r != NULL)
		*size_r = (uint64_t)vfs.f_blocks * vfs.f_frsize;
	return 0;
}
