/*
 * The session's input for the session targets: the client's bytes served
 * by read() in chunks the input's first byte chooses, and poll() that
 * never waits (see fuzz-common.h).  Linked only into targets built with
 * -Wl,--wrap=read,--wrap=poll.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fuzz-common.h"

static int	      in_fd = -1;
static const uint8_t *in_data;
static size_t	      in_len, in_off;
static uint32_t	      in_rng;	/* 0: no chunking */
static bool	      in_stall; /* stall instead of EOF at the end */

/* The real calls, reached through the linker's --wrap. */
ssize_t __real_read(int fd, void *buf, size_t n);
int	__real_poll(struct pollfd *fds, nfds_t nfds, int timeout);
ssize_t __wrap_read(int fd, void *buf, size_t n);
int	__wrap_poll(struct pollfd *fds, nfds_t nfds, int timeout);
int	__real_clock_gettime(clockid_t clk, struct timespec *ts);
int	__wrap_clock_gettime(clockid_t clk, struct timespec *ts);

/* How far a stalled client has pushed the monotonic clock, in ms. */
static long long clock_skew_ms;

int
__wrap_clock_gettime(clockid_t clk, struct timespec *ts)
{
	int rc = __real_clock_gettime(clk, ts);

	if (rc == 0 && clk == CLOCK_MONOTONIC && clock_skew_ms > 0) {
		long long ns = ts->tv_nsec + (clock_skew_ms % 1000) * 1000000;

		ts->tv_sec += (time_t)(clock_skew_ms / 1000 + ns / 1000000000);
		ts->tv_nsec = (long)(ns % 1000000000);
	}
	return rc;
}

/* xorshift32: small, and the same chunks on every machine. */
static uint32_t
rng_next(void)
{
	in_rng ^= in_rng << 13;
	in_rng ^= in_rng >> 17;
	in_rng ^= in_rng << 5;
	return in_rng;
}

void
fuzz_input_set(const uint8_t *data, size_t size)
{
	uint8_t mode = size > 0 ? data[0] : 0;

	if (in_fd < 0 && (in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		fuzz_fail("/dev/null: %s", strerror(errno));
	in_data = size > 0 ? data + 1 : data;
	in_len = size > 0 ? size - 1 : 0;
	in_off = 0;
	in_stall = (mode & 0x80) != 0;
	/* Spread the seed so that nearby bytes give unrelated chunkings. */
	in_rng = (mode & 0x7f) == 0 ? 0 : 0x9e3779b9u * (mode & 0x7fu);
}

int
fuzz_input_fd(void)
{
	return in_fd;
}

ssize_t
__wrap_read(int fd, void *buf, size_t n)
{
	size_t left, take;

	if (fd != in_fd || in_fd < 0)
		return __real_read(fd, buf, n);
	left = in_len - in_off;
	take = n < left ? n : left;
	if (in_rng != 0 && take > 0) {
		uint32_t r = rng_next();
		size_t	 chunk = 1 + (r >> 8) % ((size_t)1 << (r % 10));

		if (chunk < take)
			take = chunk;
	}
	memcpy(buf, in_data + in_off, take);
	in_off += take;
	return (ssize_t)take;
}

int
__wrap_poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	if (nfds != 1 || in_fd < 0 || fds[0].fd != in_fd)
		return __real_poll(fds, nfds, timeout);
	/*
	 * A stalled client: the wait ends in a timeout at once, and the
	 * clock jumps by the time the caller meant to wait.
	 */
	if (in_off == in_len && in_stall && timeout >= 0) {
		clock_skew_ms += timeout;
		return 0;
	}
	/* (A wait without a timeout would never end: that client hangs up.) */
	fds[0].revents = (short)(fds[0].events & (POLLIN | POLLRDNORM));
	if (in_off == in_len)
		fds[0].revents |= POLLHUP;
	return 1;
}
