/*
 * The size cache: the POP3 size of every message whose name lacks W= (a
 * message another program delivered), learned by reading it once and
 * kept for later sessions, so that a session does not read every such
 * message again to answer STAT and LIST.
 *
 * One file, MAILDIR_SIZES_FILE in the maildir's root (a dot file: maildir
 * readers look only in new/ and cur/ and skip dot files at the root, as
 * they skip Dovecot's dovecot-uidlist).  It is written whole in tmp/ and
 * renamed over the old one, so a reader sees one complete version or
 * another, never a mix; it is read with one read() and checked end to end
 * (length, order, checksum).  When it is missing, stale or damaged it is
 * ignored, the sizes are counted from the files and it is written anew.
 * It is a hint: a size from it is checked against the file before a
 * message is sent (pop3-retr.c).
 *
 * Layout, in the host's byte order (the byte-order mark makes a cache
 * written on another kind of host fail the check):
 *
 *	struct sizes_head	magic, version, byte-order mark, count, checksum
 *	struct sizes_entry[]	count entries, strictly ascending by hash
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "maildir.h"
#include "maildir-private.h"

#define SIZES_MAGIC   "BMSZ"
#define SIZES_VERSION 1
#define SIZES_BOM     0x01020304u
/* More entries than this is no cache we wrote: 64 MiB of them. */
#define SIZES_MAX (UINT32_C(1) << 22)

struct sizes_head {
	char	 magic[4]; /* SIZES_MAGIC, no NUL */
	uint32_t version;  /* SIZES_VERSION */
	uint32_t bom;	   /* SIZES_BOM as the writer stored it */
	uint32_t count;	   /* entries that follow */
	uint64_t sum;	   /* maildir_sizes_hash() of the entries' bytes */
};

_Static_assert(sizeof(struct sizes_head) == 24, "no padding in the header");
_Static_assert(sizeof(struct maildir_sizes_entry) == 16, "16-byte entries");

uint64_t
maildir_sizes_hash(const void *buf, size_t len)
{
	/* FNV-1a, 64 bits: a fingerprint, not a defence (see maildir.h). */
	const unsigned char *p = buf;
	uint64_t	     h = UINT64_C(14695981039346656037);

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

/* Whether buf (len bytes) is a whole cache; sets *count_r. */
static bool
is_valid(const char *buf, size_t len, size_t *count_r)
{
	const struct maildir_sizes_entry *v;
	struct sizes_head		  h;

	if (len < sizeof(h))
		return false;
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, SIZES_MAGIC, 4) != 0 ||
	    h.version != SIZES_VERSION || h.bom != SIZES_BOM ||
	    h.count > SIZES_MAX ||
	    len != sizeof(h) + (size_t)h.count * sizeof(*v))
		return false;
	if (maildir_sizes_hash(buf + sizeof(h), len - sizeof(h)) != h.sum)
		return false;
	v = (const void *)(buf + sizeof(h));
	for (size_t i = 1; i < h.count; i++)
		if (v[i - 1].hash >= v[i].hash)
			return false;
	*count_r = h.count;
	return true;
}

void
maildir_sizes_load(struct maildir *md, struct maildir_sizes *s)
{
	struct stat st;
	char	   *buf;
	ssize_t	    n;
	size_t	    count;
	int	    fd;

	memset(s, 0, sizeof(*s));
	fd = maildir_file_open(md, MAILDIR_SIZES_FILE);
	if (fd < 0) {
		/* Missing is the normal start; anything else, rewrite it. */
		s->is_bad = errno != ENOENT;
		return;
	}
	s->is_bad = true;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size < (off_t)sizeof(struct sizes_head) ||
	    (uint64_t)st.st_size > sizeof(struct sizes_head) +
		    (uint64_t)SIZES_MAX * sizeof(struct maildir_sizes_entry))
		goto out;
	/* Without memory the cache is only missing: sizes get counted. */
	if ((buf = malloc((size_t)st.st_size)) == NULL) {
		s->is_bad = false;
		goto out;
	}
	/* One read: the file is replaced by rename, never written in place. */
	n = read(fd, buf, (size_t)st.st_size);
	if (n != st.st_size || !is_valid(buf, (size_t)n, &count)) {
		free(buf);
		goto out;
	}
	/* The entries start 24 bytes in: aligned for their 8-byte hash. */
	s->buf = buf;
	s->v = (const void *)(buf + sizeof(struct sizes_head));
	s->count = count;
	s->is_bad = false;
out:
	close(fd);
}

const struct maildir_sizes_entry *
maildir_sizes_find(const struct maildir_sizes *s, uint64_t hash)
{
	size_t lo = 0, hi = s->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->v[mid].hash == hash)
			return &s->v[mid];
		if (s->v[mid].hash < hash)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void
maildir_sizes_free(struct maildir_sizes *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

/* A message whose size belongs in the cache, as it stands now. */
static bool
is_cacheable(const struct maildir_msg *m)
{
	return (m->is_counted || m->is_cached) && !m->is_removed &&
	    m->has_size && m->wsize <= UINT32_MAX;
}

static void
sift_down(struct maildir_sizes_entry *v, size_t i, size_t n)
{
	for (;;) {
		size_t			   c = 2 * i + 1;
		struct maildir_sizes_entry t;

		if (c >= n)
			return;
		if (c + 1 < n && v[c].hash < v[c + 1].hash)
			c++;
		if (v[i].hash >= v[c].hash)
			return;
		t = v[i];
		v[i] = v[c];
		v[c] = t;
		i = c;
	}
}

/* Heap sort by hash, in place: qsort() may take a second copy. */
static void
sort_entries(struct maildir_sizes_entry *v, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(v, i, n);
	for (size_t i = n; i-- > 1;) {
		struct maildir_sizes_entry t = v[0];

		v[0] = v[i];
		v[i] = t;
		sift_down(v, 0, i);
	}
}

/*
 * Drops every entry whose hash another entry shares: two names with one
 * fingerprint would look each other's size up, so neither is cached.
 */
static size_t
drop_shared(struct maildir_sizes_entry *v, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		size_t j = i + 1;

		while (j < n && v[j].hash == v[i].hash)
			j++;
		if (j == i + 1)
			v[o++] = v[i];
		i = j;
	}
	return o;
}

/* Writes the cache file for v[0..n) in tmp/, then renames it into place. */
static int
write_file(struct maildir *md, struct maildir_sizes_entry *v, size_t n)
{
	struct sizes_head h;
	struct iovec	  iov[2];

	memcpy(h.magic, SIZES_MAGIC, 4);
	h.version = SIZES_VERSION;
	h.bom = SIZES_BOM;
	h.count = (uint32_t)n;
	h.sum = maildir_sizes_hash(v, n * sizeof(*v));
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = v;
	iov[1].iov_len = n * sizeof(*v);
	/*
	 * No fsync: a cache lost or torn by a crash fails the check on the
	 * next read and is counted again; a message is never at stake.
	 */
	return maildir_file_replace(md, MAILDIR_SIZES_FILE, iov, 2, false);
}

int
maildir_sizes_save(struct maildir *md, const struct maildir_list *l)
{
	struct maildir_sizes_entry *v;
	size_t			    n = 0, cached = 0;
	bool			    is_new = false;
	int			    r, e;

	for (size_t i = 0; i < l->count; i++) {
		const struct maildir_msg *m = &l->msgs[i];

		if (!is_cacheable(m))
			continue;
		n++;
		if (m->is_counted)
			is_new = true;
		else
			cached++;
	}
	/* Unchanged: every entry of the file is still in use, none added. */
	if (!is_new && !l->sizes_bad && cached == l->sizes_loaded)
		return 0;
	if (n > SIZES_MAX)
		n = SIZES_MAX;
	if ((v = malloc(n > 0 ? n * sizeof(*v) : 1)) == NULL)
		return -1;
	n = 0;
	for (size_t i = 0; i < l->count && n < SIZES_MAX; i++) {
		const struct maildir_msg *m = &l->msgs[i];

		if (!is_cacheable(m))
			continue;
		v[n].hash = maildir_sizes_hash(m->name, m->base_len);
		v[n].size = m->size;
		v[n].wsize = (uint32_t)m->wsize;
		n++;
	}
	sort_entries(v, n);
	n = drop_shared(v, n);
	r = write_file(md, v, n);
	e = errno;
	free(v);
	errno = e;
	return r < 0 ? -1 : 1;
}
