/*
 * fuzz-pop3: a whole POP3 session, in process, over a small maildir that
 * is put back as it was before every input.  The input is a mode byte and
 * the client's bytes (see fuzz-common.h).
 *
 * Checks, besides memory safety and leaks: the greeting is +OK; nothing
 * sent holds a NUL or a bare LF (message bodies are served as CRLF); no
 * file appears in tmp/ or anywhere new (the size cache aside: a regular
 * file, removed before every input); a session that did not reach the
 * UPDATE state deleted nothing; a normal return closes every descriptor
 * the session opened; CAPA lists STLS only with a certificate.  TLS is
 * fuzz-tls.c's stand-in: STLS and implicit TLS succeed or fail as the
 * input's size says, and after them the bytes go on unchanged.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz-common.h"
#include "fuzz-tls.h"
#include "maildir.h"
#include "pop3.h"
#include "session-config.h"
#include "session-log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The maildir every input starts from: odd names and odd contents. */
static const struct seed {
	bool	    in_new;
	const char *name;
	const char *body;
	size_t	    len; /* 0: strlen(body) */
} seeds[] = {
	{ false, "1700000000.M1P1Q1.fuzz,S=42,W=45:2,S",
	    "Subject: one\n\nline\n.dot line\n..two dots\n", 0 },
	{ false, "1700000001.M2P1Q2.fuzz,S=25,W=27:2,",
	    "Subject: two\r\n\r\nCRLF\r\n", 0 },
	{ true, "1700000002.M3P1Q3.fuzz",
	    "Subject: no sizes in the name\n\nbody", 0 },
#define NUL_BODY "X-Nul: a\0b\nno blank line, a NUL above"
	{ false, "1700000003.other-mda:2,RS", NUL_BODY, sizeof(NUL_BODY) - 1 },
	{ true, "1700000004.M5P1Q5.fuzz,S=999999,W=1",
	    "Subject: lying sizes\n\n\r\r\n.\n", 0 },
	{ false, "not-a-maildir-name:2,T", "", 0 },
};
#define NSEEDS (sizeof(seeds) / sizeof(seeds[0]))

static struct session_config cfg;
static struct maildir	     md;

/* True when new/ and cur/ hold exactly the seeds, under their names. */
static bool
seeds_intact(void)
{
	size_t in_new = 0;

	for (size_t i = 0; i < NSEEDS; i++) {
		in_new += seeds[i].in_new;
		if (faccessat(seeds[i].in_new ? md.newfd : md.curfd,
			seeds[i].name, F_OK, AT_SYMLINK_NOFOLLOW) != 0)
			return false;
	}
	return fuzz_count_dir(md.newfd) == in_new &&
	    fuzz_count_dir(md.curfd) == NSEEDS - in_new &&
	    fuzz_count_dir(md.tmpfd) == 0;
}

static void
seeds_restore(void)
{
	/* A session that listed may leave a size cache: every input starts
	 * without one, so its run depends on its bytes alone. */
	if (unlinkat(md.dirfd, MAILDIR_SIZES_FILE, 0) != 0 && errno != ENOENT)
		fuzz_fail("unlink %s: %s", MAILDIR_SIZES_FILE, strerror(errno));
	/* Most inputs never log in: then there is nothing to put back. */
	if (seeds_intact())
		return;
	fuzz_clear_dir(md.newfd);
	fuzz_clear_dir(md.curfd);
	fuzz_clear_dir(md.tmpfd);
	for (size_t i = 0; i < NSEEDS; i++) {
		const struct seed *s = &seeds[i];
		size_t		   len = s->len != 0 ? s->len : strlen(s->body);
		int fd = openat(s->in_new ? md.newfd : md.curfd, s->name,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

		if (fd < 0 || write(fd, s->body, len) != (ssize_t)len)
			fuzz_fail("seed %s: %s", s->name, strerror(errno));
		close(fd);
	}
}

/* True when a file whose base name (before ':') is base's is in new/ or cur/. */
static bool
present(const char *name)
{
	size_t blen = strcspn(name, ":");
	int    dirs[2] = { md.newfd, md.curfd };
	bool   found = false;

	for (int i = 0; i < 2 && !found; i++) {
		int	       fd = dup(dirs[i]);
		DIR	      *d = fd < 0 ? NULL : fdopendir(fd);
		struct dirent *e;

		if (d == NULL)
			fuzz_fail("fdopendir: %s", strerror(errno));
		rewinddir(d);
		while ((e = readdir(d)) != NULL)
			if (strncmp(e->d_name, name, blen) == 0 &&
			    (e->d_name[blen] == '\0' || e->d_name[blen] == ':'))
				found = true;
		closedir(d);
	}
	return found;
}

/* 1 when the maildir holds a size cache, a regular file; 0 when none. */
static size_t
size_cache(void)
{
	struct stat st;
	int r = fstatat(md.dirfd, MAILDIR_SIZES_FILE, &st, AT_SYMLINK_NOFOLLOW);

	if (r != 0)
		return 0;
	if (!S_ISREG(st.st_mode))
		fuzz_fail("%s is not a regular file", MAILDIR_SIZES_FILE);
	return 1;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[512];

	(void)argc;
	(void)argv;
	log_init("fuzz-pop3", -1);
	config_defaults(&cfg);
	snprintf(cfg.hostname, sizeof(cfg.hostname), "fuzz.example");
	cfg.pop3_timeout = 600;
	snprintf(path, sizeof(path), "%s/Maildir", fuzz_scratch_dir());
	snprintf(cfg.maildir, sizeof(cfg.maildir), "%s", path);
	if (maildir_open(&md, path) != 0)
		fuzz_fail("maildir_open %s: %s", path, strerror(errno));
	fuzz_input_set(NULL, 0);
	fuzz_output_fd();
	fuzz_hook_exit();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pop3_conn c;
	volatile bool		exited = false;
	const char	       *out;
	size_t			len, n;
	char			what[256];
	int			fd;

	seeds_restore();
	fuzz_input_set(data, size);
	fuzz_output_reset();
	fuzz_fds_snapshot();
	cfg.tls_mode = fuzz_tls_begin(size);
	if (pop3_conn_init(&c, &cfg, &md, fuzz_input_fd(), fuzz_output_fd()) !=
	    0)
		fuzz_fail("pop3_conn_init: %s", strerror(errno));
	if (setjmp(fuzz_exit_jmp) == 0)
		pop3_session_run(&c);
	else
		exited = true;
	pop3_conn_free(&c);

	/* Left through session_exit(), the process would have ended here. */
	fd = fuzz_fds_check(exited, what, sizeof(what));
	if (fd != -1 && !exited)
		fuzz_fail("descriptor %d leaked (%s)", fd, what);

	out = fuzz_output(&len);
	if (len < 4 || memcmp(out, "+OK ", 4) != 0)
		fuzz_fail("no +OK greeting");
	if (memchr(out, '\0', len) != NULL)
		fuzz_fail("a NUL byte was sent");
	for (size_t i = 0; i < len; i++)
		if (out[i] == '\n' && (i == 0 || out[i - 1] != '\r'))
			fuzz_fail("bare LF sent at offset %zu", i);
	if (out[len - 1] != '\n')
		fuzz_fail("output does not end with a line end");
	if (!fuzz_tls_available() && memmem(out, len, "\r\nSTLS\r\n", 8))
		fuzz_fail("STLS offered without a certificate");

	if ((n = fuzz_count_dir(md.tmpfd)) != 0)
		fuzz_fail("%zu files left in tmp/", n);
	if (fuzz_count_dir(md.newfd) + fuzz_count_dir(md.curfd) > NSEEDS)
		fuzz_fail("a file appeared in new/ or cur/");
	if (fuzz_count_dir(md.dirfd) != 3 + size_cache())
		fuzz_fail("something besides tmp/ new/ cur/ and the size cache "
			  "in the maildir");
	if (c.state != POP3_ST_UPDATE)
		for (size_t i = 0; i < NSEEDS; i++)
			if (!present(seeds[i].name))
				fuzz_fail("%s deleted without QUIT (state %s)",
				    seeds[i].name, pop3_state_name(c.state));
	return 0;
}
