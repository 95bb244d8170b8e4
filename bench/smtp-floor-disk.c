/*
 * bench/smtp-floor-disk: the durability floor for bench/smtp.
 *
 * What any server that promises "250 means on disk" must do per message,
 * and nothing else: create a file in tmp/, write it, fsync it, rename it
 * into new/, fsync new/.  Prints messages per second.
 *
 * usage: smtp-floor-disk MAILDIR COUNT SIZE
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void
fail(const char *what)
{
	fprintf(stderr, "smtp-floor-disk: %s: %s\n", what, strerror(errno));
	exit(1);
}

int
main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: smtp-floor-disk MAILDIR COUNT SIZE\n");
		return 2;
	}
	const char     *md = argv[1];
	long		count = strtol(argv[2], NULL, 10);
	size_t		size = (size_t)strtoul(argv[3], NULL, 10);
	char		path[4096];
	char	       *buf = malloc(size);
	struct timespec t0, t1;

	if (buf == NULL)
		fail("malloc");
	for (size_t i = 0; i < size; i++)
		buf[i] = (i % 64 == 63) ? '\n' : (char)('a' + i % 26);
	snprintf(path, sizeof path, "%s/tmp", md);
	int tmpfd = open(path, O_RDONLY | O_DIRECTORY);
	snprintf(path, sizeof path, "%s/new", md);
	int newfd = open(path, O_RDONLY | O_DIRECTORY);
	if (tmpfd < 0 || newfd < 0)
		fail("open tmp/ or new/");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long n = 0; n < count; n++) {
		char name[64];
		snprintf(name, sizeof name, "%ld.floor%ld", (long)t0.tv_sec, n);
		int fd = openat(tmpfd, name, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd < 0)
			fail("create");
		if (write(fd, buf, size) != (ssize_t)size)
			fail("write");
		if (fsync(fd) != 0)
			fail("fsync");
		close(fd);
		if (renameat(tmpfd, name, newfd, name) != 0)
			fail("rename");
		if (fsync(newfd) != 0)
			fail("fsync new/");
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	free(buf);
	printf("%.1f\n", (double)count / s);
	return 0;
}
