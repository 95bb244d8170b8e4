/*
 * Listing new/ and cur/.  Built for 100 000 messages: readdir only (a stat
 * only for names without S=), every name end to end in one arena, 32 bytes
 * an entry, one sort in place.
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
 * Renamed names that no longer fit where the old one was go here: blocks
 * of about a page, each name packed after the last, freed with the list.
 */
#define SPILL_BLOCK 4096

struct maildir_spill {
	struct maildir_spill *next;
	size_t		      used;
	size_t		      cap;
	char		      buf[];
};

/* What the listing's memory is counted in (64-bit machines). */
_Static_assert(sizeof(void *) != 8 || sizeof(struct maildir_msg) == 32,
    "struct maildir_msg is meant to be 32 bytes");

/* A time too far off to multiply by 10^6 sorts as the last one there is. */
#define ORDER_SEC_MAX ((UINT64_MAX - 999999) / 1000000)

DIR *
maildir_opendir(int dirfd)
{
	/* A fresh descriptor: closedir() closes it, and it has its own offset. */
	int  fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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
	void  *q;

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

/*
 * Takes a name's sizes from the size cache when it lacks W= and the cache
 * knows its base name (with S=, at that size).
 */
static bool
from_cache(const struct maildir_sizes *sizes, const char *name,
    struct maildir_name_info *info)
{
	const struct maildir_sizes_entry *e;

	if (info->has_wsize || sizes->count == 0)
		return false;
	e = maildir_sizes_find(sizes, maildir_sizes_hash(name, info->base_len));
	if (e == NULL || (info->has_size && info->size != e->size))
		return false;
	info->size = e->size;
	info->has_size = true;
	info->wsize = e->wsize;
	info->has_wsize = true;
	return true;
}

/* Appends the entries of one directory; names hold arena offsets for now. */
static int
read_dir(int dirfd, bool in_new, const struct maildir_sizes *sizes,
    struct maildir_list *l, size_t *cap, size_t *arena_cap)
{
	struct maildir_name_info info;
	struct dirent		*de;
	DIR			*d;
	int			 e;

	if ((d = maildir_opendir(dirfd)) == NULL)
		return -1;
	for (;;) {
		struct maildir_msg *m;
		size_t		    len;
		bool		    is_cached;

		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0)
				goto fail;
			break;
		}
		if (maildir_dirent_skip(de))
			continue;
		maildir_name_parse(de->d_name, &info);
		is_cached = from_cache(sizes, de->d_name, &info);
		/*
		 * A name with S= is trusted without a stat, even where the
		 * filesystem leaves d_type unknown: maildir_msg_open()
		 * checks that it opened a regular file.  A file readdir
		 * calls regular is not stat()ed either: its size is learned
		 * when it is opened (to be counted, or sent).
		 */
		if (!info.has_size && de->d_type != DT_REG) {
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

		/* d_name holds at most NAME_MAX (255) bytes: base_len fits. */
		len = strlen(de->d_name);
		if (grow((void **)&l->msgs, cap, l->count + 1,
			sizeof(*l->msgs)) < 0 ||
		    grow((void **)&l->arena, arena_cap, l->arena_len + len + 1,
			1) < 0)
			goto fail;
		memcpy(l->arena + l->arena_len, de->d_name, len + 1);
		m = &l->msgs[l->count++];
		/* An offset until the arena stops moving; see maildir_list(). */
		m->name = (char *)(uintptr_t)l->arena_len;
		l->arena_len += len + 1;
		m->wsize = info.wsize;
		m->has_wsize = info.has_wsize;
		/* Sizes from 4 GiB on are unknown: a listing rarely meets one. */
		m->has_size = info.has_size && info.size <= UINT32_MAX;
		m->size = m->has_size ? (uint32_t)info.size : 0;
		m->order = (uint64_t)info.sec <= ORDER_SEC_MAX
		    ? (uint64_t)info.sec * 1000000 + (uint64_t)info.usec
		    : UINT64_MAX;
		m->base_len = (uint8_t)info.base_len;
		m->in_new = in_new;
		m->is_cached = is_cached;
		m->is_counted = false;
		m->is_removed = false;
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
 * Scans of a directory that another process changed while they ran, at
 * most: each one after the first adds what the others missed.
 */
#define LIST_SCANS 4

/* The directory's change times into st; false when fstat() fails. */
static bool
dir_stamp(int dirfd, struct stat *st)
{
	return fstat(dirfd, st) == 0;
}

static bool
same_stamp(const struct stat *a, const struct stat *b)
{
	return a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/*
 * read_dir() until one scan ran while the directory did not change.  A
 * readdir() that runs while another process renames an entry of the
 * same directory (a flag change: another POP3 session's QUIT, a mail
 * reader) may see it under neither name: the new name lands where the
 * scan has been, the old one goes from where it has not.  A message
 * missing from a listing is one a client that leaves mail on the server
 * forgets, and fetches again when it comes back.  Every scan's entries
 * are kept (a message seen twice is listed once, drop_twice_seen()), so
 * a message renamed during one scan is found by the next.  The rename
 * changes the directory's mtime and ctime (to the nanosecond since Linux
 * 6.13 when someone looked at them; to the clock tick before).
 */
static int
read_dir_whole(int dirfd, bool in_new, const struct maildir_sizes *sizes,
    struct maildir_list *l, size_t *cap, size_t *arena_cap)
{
	struct stat before, after;

	for (int i = 0; i < LIST_SCANS; i++) {
		bool is_stamped = dir_stamp(dirfd, &before);

		if (read_dir(dirfd, in_new, sizes, l, cap, arena_cap) < 0)
			return -1;
		if (!is_stamped || !dir_stamp(dirfd, &after) ||
		    same_stamp(&before, &after))
			return 0;
	}
	return 0;
}

/* By base name, then whole name: one message's sightings end up together. */
static int
cmp_base(const struct maildir_msg *a, const struct maildir_msg *b)
{
	size_t n = a->base_len < b->base_len ? a->base_len : b->base_len;
	int    c = memcmp(a->name, b->name, n);

	if (c != 0)
		return c;
	if (a->base_len != b->base_len)
		return a->base_len < b->base_len ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* Delivery order: the time in the name, then the name. */
static int
cmp_msg(const struct maildir_msg *a, const struct maildir_msg *b)
{
	if (a->order != b->order)
		return a->order < b->order ? -1 : 1;
	return cmp_base(a, b);
}

static void
swap_msg(struct maildir_msg *a, struct maildir_msg *b)
{
	struct maildir_msg t = *a;

	*a = *b;
	*b = t;
}

static void
sift_down(struct maildir_msg *v, size_t i, size_t n)
{
	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			return;
		if (c + 1 < n && cmp_msg(&v[c], &v[c + 1]) < 0)
			c++;
		if (cmp_msg(&v[i], &v[c]) >= 0)
			return;
		swap_msg(&v[i], &v[c]);
		i = c;
	}
}

static void
heap_sort(struct maildir_msg *v, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(v, i, n);
	for (size_t i = n; i-- > 1;) {
		swap_msg(&v[0], &v[i]);
		sift_down(v, 0, i);
	}
}

static void
insertion_sort(struct maildir_msg *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct maildir_msg t = v[i];
		size_t		   j = i;

		for (; j > 0 && cmp_msg(&t, &v[j - 1]) < 0; j--)
			v[j] = v[j - 1];
		v[j] = t;
	}
}

/*
 * Introsort, in place: qsort() would take a second copy of the entries
 * (glibc's merge sort), which is what this listing must not cost.  Names
 * crafted to defeat the median of three fall back to heap sort.
 */
static void
sort_msgs(struct maildir_msg *v, size_t n, unsigned depth)
{
	while (n > 16) {
		struct maildir_msg pivot;
		size_t		   i = 0, j = n - 1, mid = n / 2;

		if (depth-- == 0) {
			heap_sort(v, n);
			return;
		}
		if (cmp_msg(&v[mid], &v[0]) < 0)
			swap_msg(&v[mid], &v[0]);
		if (cmp_msg(&v[j], &v[0]) < 0)
			swap_msg(&v[j], &v[0]);
		if (cmp_msg(&v[j], &v[mid]) < 0)
			swap_msg(&v[j], &v[mid]);
		/* v[0] <= pivot <= v[n - 1]: both scans stop inside. */
		pivot = v[mid];
		for (;;) {
			while (cmp_msg(&v[++i], &pivot) < 0)
				;
			while (cmp_msg(&v[--j], &pivot) > 0)
				;
			if (i >= j)
				break;
			swap_msg(&v[i], &v[j]);
		}
		/* [0, j] <= pivot <= [j + 1, n): recurse into the smaller. */
		if (j + 1 < n - j - 1) {
			sort_msgs(v, j + 1, depth);
			v += j + 1;
			n -= j + 1;
		} else {
			sort_msgs(v + j + 1, n - j - 1, depth);
			n = j + 1;
		}
	}
	insertion_sort(v, n);
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

/* Gives back what geometric growth reserved beyond len elements. */
static void
shrink(void **p, size_t cap, size_t len, size_t elem)
{
	void *q;

	if (len == 0 || len == cap)
		return;
	/* A failed shrink leaves the larger block, which is still good. */
	if ((q = realloc(*p, len * elem)) != NULL)
		*p = q;
}

int
maildir_list(struct maildir *md, struct maildir_list *l)
{
	struct maildir_sizes sizes;
	size_t		     cap = 0, arena_cap = 0;
	unsigned	     depth = 0;
	int		     e;

	memset(l, 0, sizeof(*l));
	maildir_sizes_load(md, &sizes);
	l->sizes_loaded = sizes.count;
	l->sizes_bad = sizes.is_bad;
	if (read_dir_whole(md->newfd, true, &sizes, l, &cap, &arena_cap) < 0 ||
	    read_dir_whole(md->curfd, false, &sizes, l, &cap, &arena_cap) < 0) {
		maildir_sizes_free(&sizes);
		goto fail;
	}
	/* Freed before the sort: the cache's memory is not the listing's. */
	maildir_sizes_free(&sizes);
	/* Before the offsets become pointers: this realloc may move it. */
	shrink((void **)&l->arena, arena_cap, l->arena_len, 1);
	for (size_t i = 0; i < l->count; i++)
		l->msgs[i].name = l->arena + (uintptr_t)l->msgs[i].name;
	for (size_t n = l->count; n > 1; n /= 2)
		depth += 2;
	sort_msgs(l->msgs, l->count, depth);
	drop_twice_seen(l);
	shrink((void **)&l->msgs, cap, l->count, sizeof(*l->msgs));
	return 0;
fail:
	e = errno;
	maildir_list_free(l);
	errno = e;
	return -1;
}

char *
maildir_list_spill(struct maildir_list *l, size_t len)
{
	struct maildir_spill *s = l->spill;
	char		     *p;

	if (s == NULL || s->cap - s->used < len) {
		size_t cap = SPILL_BLOCK - sizeof(*s);

		if (cap < len)
			cap = len;
		if ((s = malloc(sizeof(*s) + cap)) == NULL)
			return NULL;
		s->next = l->spill;
		s->used = 0;
		s->cap = cap;
		l->spill = s;
	}
	p = s->buf + s->used;
	s->used += len;
	return p;
}

void
maildir_list_free(struct maildir_list *l)
{
	while (l->spill != NULL) {
		struct maildir_spill *next = l->spill->next;

		free(l->spill);
		l->spill = next;
	}
	free(l->msgs);
	free(l->arena);
	memset(l, 0, sizeof(*l));
}
