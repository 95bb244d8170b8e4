/* What several subcommands need: times, sizes, numbers, columns. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin.h"

int
admin_open(struct admin *a)
{
	static const char *const subs[] = { "", "/tmp", "/new", "/cur" };
	char			 path[PATH_MAX + 8];
	struct stat		 st;

	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s%s", a->cfg.maildir,
			subs[i]) >= sizeof(path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (stat(path, &st) != 0)
			return -1;
		if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			return -1;
		}
	}
	if (maildir_open(&a->md, a->cfg.maildir) != 0)
		return -1;
	a->is_open = true;
	return 0;
}

time_t
admin_msg_time(const struct maildir_msg *m)
{
	return (time_t)(m->order / 1000000);
}

bool
admin_msg_delivered(struct admin *a, const struct maildir_msg *m, time_t *t_r)
{
	*t_r = admin_msg_time(m);
	if (*t_r > 0)
		return true;
	if (maildir_msg_mtime(&a->md, m, t_r) != 0) {
		*t_r = 0;
		return false;
	}
	return true;
}

uint64_t
admin_msg_bytes(struct admin *a, struct maildir_list *l, struct maildir_msg *m)
{
	struct stat st;
	int	    fd;

	if (m->has_size)
		return m->size;
	if ((fd = maildir_msg_open(&a->md, l, m)) < 0)
		return 0;
	if (fstat(fd, &st) != 0)
		st.st_size = 0;
	close(fd);
	return (uint64_t)st.st_size;
}

void
admin_fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t <= 0 || localtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(buf, len, "-");
}

void
admin_fmt_bytes(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double			 v = (double)n / 1024;
	size_t			 u = 0;

	if (n < 1024) {
		snprintf(buf, len, "%llu B", (unsigned long long)n);
		return;
	}
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, units[u]);
}

bool
admin_msg_seen(const struct maildir_msg *m)
{
	return !m->in_new && maildir_name_has_flag(m->name, 'S');
}

struct maildir_msg *
admin_msg_number(struct maildir_list *l, const char *arg)
{
	char	     *end;
	unsigned long n;

	errno = 0;
	n = strtoul(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || errno != 0 ||
	    n == 0 || n > l->count) {
		fprintf(stderr, "baremail: no message %s (there are %zu)\n",
		    arg, l->count);
		return NULL;
	}
	return &l->msgs[n - 1];
}

void
admin_put_cols(FILE *fp, const char *s, int cols)
{
	int    used = 0;
	size_t i = 0;

	/* One column per character: continuation bytes take none. */
	while (s[i] != '\0' && used < cols) {
		size_t k = 1;

		while ((s[i + k] & 0xc0) == 0x80)
			k++;
		fwrite(s + i, 1, k, fp);
		i += k;
		used++;
	}
	for (; used < cols; used++)
		putc(' ', fp);
}
