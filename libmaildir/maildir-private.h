/* What the files of libmaildir share and callers do not see. */
#ifndef MAILDIR_PRIVATE_H
#define MAILDIR_PRIVATE_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct maildir;
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

/* ---- the size cache (maildir-sizes.c) ---- */

/* One message lacking W=: fingerprint of its base name, its two sizes. */
struct maildir_sizes_entry {
	uint64_t hash;	/* maildir_sizes_hash() of the base name */
	uint32_t size;	/* bytes on disk */
	uint32_t wsize; /* CRLF size */
};

/* A size cache as read: entries ascending by hash. */
struct maildir_sizes {
	char				 *buf; /* the whole file */
	const struct maildir_sizes_entry *v;
	size_t				  count;
	bool is_bad; /* present but unusable: write a new one */
};

/*
 * FNV-1a, 64 bits.  Two base names of one maildir sharing a fingerprint
 * are left out of the cache; a name that collides with an entry of
 * another message gets a wrong size for LIST, which RETR's check catches.
 */
uint64_t maildir_sizes_hash(const void *buf, size_t len);

/* Reads the cache; never fails (a missing or bad one has no entries). */
void maildir_sizes_load(struct maildir *md, struct maildir_sizes *s);
const struct maildir_sizes_entry *maildir_sizes_find(
    const struct maildir_sizes *s, uint64_t hash);
void maildir_sizes_free(struct maildir_sizes *s);

#endif
