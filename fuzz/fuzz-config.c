/*
 * fuzz-config: config_load() on arbitrary file contents (the INI reader,
 * inih behind it, and every value parser).
 *
 * Checks, besides memory safety: it returns 0 or -1; on -1 the message
 * names the file and is terminated; on 0 every value is in its documented
 * range and every string that reaches a protocol reply or header (the host
 * name, the user) holds no CR, LF, NUL-cut or space.
 */
#include <sys/mman.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz-common.h"
#include "session-config.h"
#include "session-log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int		     fd = -1;
static char		     path[64];
static struct session_config defaults;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Nothing to the system log: the fuzzer makes millions of errors. */
	log_init("fuzz-config", -1);
	fd = memfd_create("fuzz-config", MFD_CLOEXEC);
	if (fd < 0)
		fuzz_fail("memfd_create");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	config_defaults(&defaults);
	return 0;
}

static void
check_string(const char *what, const char *s, size_t cap, const char *bad)
{
	size_t n = strnlen(s, cap);

	if (n == cap)
		fuzz_fail("%s is not terminated", what);
	if (strpbrk(s, bad) != NULL)
		fuzz_fail("%s holds one of %s: \"%s\"", what, bad, s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session_config cfg = defaults;
	char		      err[512];
	int		      rc;

	if (ftruncate(fd, 0) != 0 ||
	    (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
		fuzz_fail("memfd write");
	memset(err, 'X', sizeof(err));
	err[sizeof(err) - 1] = '\0';
	rc = config_load(&cfg, path, err, sizeof(err));
	if (rc != 0 && rc != -1)
		fuzz_fail("config_load returned %d", rc);
	if (rc == -1) {
		if (strncmp(err, path, strlen(path)) != 0)
			fuzz_fail("error does not name the file: %s", err);
		/* One line: it is printed as such (a CR from the file may stay). */
		check_string("error message", err, sizeof(err), "\n");
		return 0;
	}
	check_string(
	    "hostname", cfg.hostname, sizeof(cfg.hostname), " \t\r\n<>");
	check_string("user", cfg.user, sizeof(cfg.user), " \t\r\n/:");
	check_string("maildir", cfg.maildir, sizeof(cfg.maildir), "");
	check_string("sendmail smtp", cfg.sendmail_smtp,
	    sizeof(cfg.sendmail_smtp), " \t\r\n");
	if (cfg.smtp_timeout < 1 || cfg.smtp_timeout > 86400 ||
	    cfg.pop3_timeout < 1 || cfg.pop3_timeout > 86400)
		fuzz_fail("timeout out of range");
	if (cfg.max_message_size < 1024)
		fuzz_fail("max_message_size %zu", cfg.max_message_size);
	if (cfg.max_recipients < 1)
		fuzz_fail("max_recipients 0");
	if (cfg.log_level < LOG_EMERG || cfg.log_level > LOG_DEBUG)
		fuzz_fail("log level %d", cfg.log_level);
	return 0;
}
