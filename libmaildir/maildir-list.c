/*
 * Listing new/ and cur/.  Built for 100 000 messages: readdir only (a stat
 * only for names without S=), every name in one arena, one sort.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maildir.h"
#include "maildir-private.h"

/*
 * Room kept after each name, so that ":2," and every flag letter fit when
 * a flag change renames the file and m->name is rewritten in place.
 */
#define NAME_SLACK	32

DIR *
maildir_opendir(int dirfd)
{
	/* A fresh descriptor: closedir() closes it, and it has its own offset. */
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;

	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (d == NULL) {
		int e = errno;

		close(fd);
		errno = e;
	}
	return d;
}

bool
maildir_dirent_skip(const struct dirent *de)
{
	/* Dot files, ".", ".." and anything known not to be a plain file. */
	if (de->d_name[0] == '.')
		return true;
	return de->d_type != DT_REG && de->d_type != DT_UNKNOWN;
}

static int
grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap != 0 ? *cap : 1024;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need) {
		if (n > SIZE_MAX / 2 / elem) {
			errno = ENOMEM;
			return -1;
		}
		n *= 2;
	}
	q = realloc(*p, n * elem);
	if (q == NULL)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

/* Appends the entries of one directory; names hold arena offsets for now. */
static int
read_dir(int dirfd, bool in_new, struct maildir_list *l)
{
	struct maildir_name_info info;
	struct dirent *de;
	DIR *d;
	int e;

	if ((d = maildir_opendir(dirfd)) == NULL)
		return -1;
	for (;;) {
		struct maildir_msg *m;
		size_t len, need;

		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0)
				goto fail;
			break;
		}
		if (maildir_dirent_skip(de))
			continue;
		maildir_name_parse(de->d_name, &info);
		/*
		 * A name with S= is trusted without a stat, even where the
		 * filesystem leaves d_type unknown: maildir_msg_open()
		 * checks that it opened a regular file.
		 */
		if (!info.has_size) {
			struct stat st;

			if (fstatat(dirfd, de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) < 0) {
				/* Moved or removed since readdir saw it. */
				if (errno == ENOENT)
					continue;
				goto fail;
			}
			if (!S_ISREG(st.st_mode))
				continue;
			info.size = (uint64_t)st.st_size;
			info.has_size = true;
		}

		len = strlen(de->d_name);
		need = len + 1 + NAME_SLACK;
		if (grow((void **)&l->msgs, &l->cap, l->count + 1,
		    sizeof(*l->msgs)) < 0 ||
		    grow((void **)&l->arena, &l->arena_cap, l->arena_len + need,
		    1) < 0)
			goto fail;
		memcpy(l->arena + l->arena_len, de->d_name, len + 1);
		m = &l->msgs[l->count++];
		/* An offset until the arena stops moving; see maildir_list(). */
		m->name = (char *)(uintptr_t)l->arena_len;
		m->name_cap = (uint32_t)need;
		l->arena_len += need;
		m->size = info.size;
		m->wsize = info.wsize;
		m->has_size = info.has_size;
		m->has_wsize = info.has_wsize;
		m->sec = info.sec;
		m->usec = info.usec;
		m->base_len = (uint32_t)info.base_len;
		m->in_new = in_new;
	}
	closedir(d);
	return 0;
fail:
	e = errno;
	closedir(d);
	errno = e;
	return -1;
}

/*
 * Sorting 16-byte keys that point back into the list is about twice as
 * quick as sorting the 64-byte entries: fewer bytes moved and compared in
 * cache, and the names are only read when two times are equal.
 */
struct sort_key {
	int64_t			 sec;
	int32_t			 usec;
	uint32_t		 idx;
};

/* What cmp_key() needs besides the keys: the entries they index. */
struct sort_ctx {
	const struct maildir_msg *msgs;
};

/* By base name, then whole name: one message's sightings end up together. */
static int
cmp_base(const struct maildir_msg *a, const struct maildir_msg *b)
{
	size_t n = a->base_len < b->base_len ? a->base_len : b->base_len;
	int c = memcmp(a->name, b->name, n);

	if (c != 0)
		return c;
	if (a->base_len != b->base_len)
		return a->base_len < b->base_len ? -1 : 1;
	return strcmp(a->name, b->name);
}

static int
cmp_key(const void *a, const void *b, void *arg)
{
	const struct sort_key *x = a, *y = b;
	const struct sort_ctx *ctx = arg;

	if (x->sec != y->sec)
		return x->sec < y->sec ? -1 : 1;
	if (x->usec != y->usec)
		return x->usec < y->usec ? -1 : 1;
	return cmp_base(&ctx->msgs[x->idx], &ctx->msgs[y->idx]);
}

/*
 * Drops second sightings of a message (same base name, now adjacent).  A
 * file renamed while we read the directories can be seen twice: in new/
 * and then in cur/, or in cur/ under its old and new flags.  POP3 must
 * not offer one message (one UIDL) twice.  The copy in cur/ is kept: a
 * move only ever goes from new/ to cur/.
 */
static void
drop_twice_seen(struct maildir_list *l)
{
	size_t o = 0;

	for (size_t i = 0; i < l->count; i++) {
		struct maildir_msg *prev = o > 0 ? &l->msgs[o - 1] : NULL;

		if (prev != NULL && prev->base_len == l->msgs[i].base_len &&
		    memcmp(prev->name, l->msgs[i].name, prev->base_len) == 0) {
			if (prev->in_new && !l->msgs[i].in_new)
				*prev = l->msgs[i];
			continue;
		}
		l->msgs[o++] = l->msgs[i];
	}
	l->count = o;
}

/* Puts the entries in delivery order: oldest first, then by name. */
static int
sort_list(struct maildir_list *l)
{
	struct sort_ctx ctx = { .msgs = l->msgs };
	struct maildir_msg *sorted;
	struct sort_key *keys;

	if (l->count < 2)
		return 0;
	if (l->count > UINT32_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	keys = malloc(l->count * sizeof(*keys));
	sorted = malloc(l->count * sizeof(*sorted));
	if (keys == NULL || sorted == NULL) {
		free(keys);
		free(sorted);
		return -1;
	}
	for (size_t i = 0; i < l->count; i++) {
		keys[i].sec = l->msgs[i].sec;
		keys[i].usec = (int32_t)l->msgs[i].usec;
		keys[i].idx = (uint32_t)i;
	}
	qsort_r(keys, l->count, sizeof(*keys), cmp_key, &ctx);
	for (size_t i = 0; i < l->count; i++)
		sorted[i] = l->msgs[keys[i].idx];
	free(keys);
	free(l->msgs);
	l->msgs = sorted;
	l->cap = l->count;
	drop_twice_seen(l);
	return 0;
}

int
maildir_list(struct maildir *md, struct maildir_list *l)
{
	int e;

	memset(l, 0, sizeof(*l));
	if (read_dir(md->newfd, true, l) < 0 ||
	    read_dir(md->curfd, false, l) < 0)
		goto fail;
	for (size_t i = 0; i < l->count; i++)
		l->msgs[i].name = l->arena + (uintptr_t)l->msgs[i].name;
	if (sort_list(l) < 0)
		goto fail;
	return 0;
fail:
	e = errno;

	maildir_list_free(l);
	errno = e;
	return -1;
}

void
maildir_list_free(struct maildir_list *l)
{
	free(l->msgs);
	free(l->arena);
	memset(l, 0, sizeof(*l));
}
