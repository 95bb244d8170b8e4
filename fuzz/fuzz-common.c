/*
 * The harness shared by the fuzz targets; see fuzz-common.h.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz-common.h"
#include "session-sys.h"

jmp_buf fuzz_exit_jmp;
int	fuzz_exit_status;

static char   scratch[256];
static int    out_fd = -1;
static char  *out_copy;
static size_t out_cap;


void
fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("fuzz: invariant broken: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void
scratch_remove(void)
{
	if (scratch[0] != '\0')
		nftw(scratch, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *
fuzz_scratch_dir(void)
{
	const char *base = getenv("TMPDIR");
	struct stat st;

	if (scratch[0] != '\0')
		return scratch;
	/* tmpfs: fsync costs nothing there, and the fuzzer runs millions. */
	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
	    access("/dev/shm", W_OK) == 0)
		base = "/dev/shm";
	else if (base == NULL || base[0] == '\0')
		base = "/tmp";
	if ((size_t)snprintf(scratch, sizeof(scratch),
		"%s/baremail-fuzz-XXXXXX", base) >= sizeof(scratch))
		fuzz_fail("scratch path too long");
	if (mkdtemp(scratch) == NULL)
		fuzz_fail("mkdtemp %s: %s", scratch, strerror(errno));
	atexit(scratch_remove);
	return scratch;
}

size_t
fuzz_clear_dir(int dirfd)
{
	int	       fd = dup(dirfd);
	DIR	      *d;
	struct dirent *e;
	size_t	       n = 0;

	if (fd < 0 || (d = fdopendir(fd)) == NULL)
		fuzz_fail("fdopendir: %s", strerror(errno));
	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd, e->d_name, 0) != 0 &&
		    unlinkat(dirfd, e->d_name, AT_REMOVEDIR) != 0)
			fuzz_fail("unlink %s: %s", e->d_name, strerror(errno));
		n++;
	}
	closedir(d);
	return n;
}

size_t
fuzz_count_dir(int dirfd)
{
	int	       fd = dup(dirfd);
	DIR	      *d;
	struct dirent *e;
	size_t	       n = 0;

	if (fd < 0 || (d = fdopendir(fd)) == NULL)
		fuzz_fail("fdopendir: %s", strerror(errno));
	rewinddir(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

int
fuzz_output_fd(void)
{
	if (out_fd < 0 && (out_fd = memfd_create("fuzz-out", MFD_CLOEXEC)) < 0)
		fuzz_fail("memfd_create: %s", strerror(errno));
	return out_fd;
}

void
fuzz_output_reset(void)
{
	int fd = fuzz_output_fd();

	if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
		fuzz_fail("memfd reset: %s", strerror(errno));
}

const char *
fuzz_output(size_t *len_r)
{
	int    fd = fuzz_output_fd();
	off_t  end = lseek(fd, 0, SEEK_END);
	size_t len, got = 0;

	if (end < 0)
		fuzz_fail("memfd seek: %s", strerror(errno));
	len = (size_t)end;
	if (len + 1 > out_cap) {
		free(out_copy);
		out_cap = len + 1 + 4096;
		if ((out_copy = malloc(out_cap)) == NULL)
			fuzz_fail("out of memory");
	}
	while (got < len) {
		ssize_t r = pread(fd, out_copy + got, len - got, (off_t)got);

		if (r <= 0)
			fuzz_fail("memfd read: %s", strerror(errno));
		got += (size_t)r;
	}
	out_copy[len] = '\0';
	*len_r = len;
	return out_copy;
}

static uint64_t fds_before;

static uint64_t
fds_open(void)
{
	uint64_t set = 0;

	for (int fd = 0; fd < 64; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			set |= (uint64_t)1 << fd;
	return set;
}

/* The lowest free descriptor number. */
static int
lowest_free(void)
{
	int fd = dup(0);

	if (fd >= 0)
		close(fd);
	return fd;
}

static int fds_lowest = -1;

void
fuzz_fds_snapshot(void)
{
	int low = lowest_free();

	/*
	 * A full scan costs 64 system calls: redo it only when the set
	 * changed between runs (libFuzzer starting its symbolizer, say),
	 * which moves the lowest free number, since new descriptors take it.
	 */
	if (low != fds_lowest) {
		fds_before = fds_open();
		fds_lowest = low;
	}
}

int
fuzz_fds_check(bool close_them, char *what, size_t whatlen)
{
	uint64_t added;
	int	 first = -1;

	/* The common case: nothing left open, the lowest free is as before. */
	if (!close_them && lowest_free() == fds_lowest)
		return -1;
	added = fds_open() & ~fds_before;

	for (int fd = 0; fd < 64; fd++) {
		if ((added & ((uint64_t)1 << fd)) == 0)
			continue;
		if (first == -1) {
			char	link[64];
			ssize_t r;

			first = fd;
			snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
			r = readlink(link, what, whatlen - 1);
			what[r > 0 ? r : 0] = '\0';
		}
		if (close_them)
			close(fd);
	}
	return first;
}

static void
exit_hook(int status)
{
	fuzz_exit_status = status;
	longjmp(fuzz_exit_jmp, 1);
}

void
fuzz_hook_exit(void)
{
	session_set_exit_hook(exit_hook);
}
