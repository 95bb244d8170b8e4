/* What the files of libmaildir share and callers do not see. */
#ifndef MAILDIR_PRIVATE_H
#define MAILDIR_PRIVATE_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>

struct maildir_list;

/*
 * Moves fromfd/from to tofd/to, failing with EEXIST rather than replacing
 * a file: renameat2(RENAME_NOREPLACE), or link and unlink where the
 * filesystem lacks it.
 */
int maildir_move_noreplace(
    int fromfd, const char *from, int tofd, const char *to);

/* opendir() on a new descriptor for dirfd, leaving dirfd alone. */
DIR *maildir_opendir(int dirfd);

/* True for entries a listing ignores: dot files and non-files. */
bool maildir_dirent_skip(const struct dirent *de);

/*
 * Room for len bytes that live as long as l: where a renamed message's
 * longer name goes.  NULL with errno ENOMEM when none is left.
 */
char *maildir_list_spill(struct maildir_list *l, size_t len);

#endif
