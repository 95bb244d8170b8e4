/* Tests sendmail/sendmail-args.c: sendmail's command line. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "sendmail.h"

static char last_warning[300];

static void
record(void *arg, const char *msg)
{
	snprintf(last_warning, sizeof last_warning, "%s", msg);
}

/* Parses a NULL-terminated argv into a; returns the parser's result. */
static int
parse(struct sendmail_args *a, char **argv)
{
	char err[300];
	int  argc = 0;

	while (argv[argc] != NULL)
		argc++;
	memset(a, 0, sizeof *a);
	a->warn = record;
	last_warning[0] = '\0';
	return sendmail_args_parse(a, argc, argv, err, sizeof err);
}

#define ARGV(...) ((char *[]){ __VA_ARGS__, NULL })

static void
test_daemons(void)
{
	struct sendmail_args a;

	/* cronie */
	CHECK(parse(&a,
		  ARGV("sendmail", "-FCronDaemon", "-i", "-odi", "-oem", "-oi",
		      "-t", "-f", "user")) == 0);
	CHECK(a.mode == SM_MODE_DELIVER && a.extract && a.ignore_dots);
	CHECK(a.has_sender && strcmp(a.sender, "user") == 0);
	CHECK(strcmp(a.fullname, "CronDaemon") == 0);
	CHECK(a.nrcpts == 0 && a.nwarnings == 0);
	sendmail_args_free(&a);

	/* Debian cron */
	CHECK(parse(&a,
		  ARGV("sendmail", "-FCronDaemon", "-i", "-B8BITMIME", "-oem",
		      "root")) == 0);
	CHECK(a.nrcpts == 1 && strcmp(a.rcpts[0], "root") == 0);
	CHECK(!a.extract && a.ignore_dots && !a.has_sender);
	sendmail_args_free(&a);

	/* anacron: no -i, so a lone dot ends the message */
	CHECK(parse(&a, ARGV("sendmail", "-FAnacron", "-odi", "root")) == 0);
	CHECK(!a.ignore_dots && a.nrcpts == 1);
	sendmail_args_free(&a);

	/* mdadm */
	CHECK(parse(&a, ARGV("/usr/lib/sendmail", "-t", "-froot")) == 0);
	CHECK(a.extract && strcmp(a.sender, "root") == 0 && a.nrcpts == 0);
	sendmail_args_free(&a);

	/* Proxmox, both forms */
	CHECK(parse(&a,
		  ARGV("sendmail", "-B", "8BITMIME", "-f", "from", "--",
		      "rcpt")) == 0);
	CHECK(a.nrcpts == 1 && strcmp(a.rcpts[0], "rcpt") == 0);
	CHECK(strcmp(a.sender, "from") == 0 && a.nwarnings == 0);
	sendmail_args_free(&a);
	CHECK(parse(&a,
		  ARGV("sendmail", "-N", "never", "-f", "from", "--",
		      "rcpt")) == 0);
	CHECK(a.nrcpts == 1 && strcmp(a.rcpts[0], "rcpt") == 0);
	sendmail_args_free(&a);

	/* s-nail */
	CHECK(parse(&a, ARGV("sendmail", "-i", "--", "root")) == 0);
	CHECK(a.ignore_dots && a.nrcpts == 1);
	sendmail_args_free(&a);
}

static void
test_forms(void)
{
	struct sendmail_args a;

	CHECK(parse(&a, ARGV("sendmail", "-ti", "-v")) == 0);
	CHECK(a.extract && a.ignore_dots && a.verbose);
	sendmail_args_free(&a);

	/* -o's letter decides: d and e are not i. */
	CHECK(parse(&a, ARGV("sendmail", "-odi", "-oem", "-oee")) == 0);
	CHECK(!a.ignore_dots);
	sendmail_args_free(&a);
	CHECK(parse(&a, ARGV("sendmail", "-oi", "-oiFalse")) == 0);
	CHECK(!a.ignore_dots);
	sendmail_args_free(&a);
	CHECK(parse(&a, ARGV("sendmail", "-o", "i")) == 0);
	CHECK(a.ignore_dots && a.nrcpts == 0);
	sendmail_args_free(&a);
	CHECK(parse(&a, ARGV("sendmail", "-O", "IgnoreDots")) == 0);
	CHECK(a.ignore_dots);
	sendmail_args_free(&a);
	CHECK(parse(&a, ARGV("sendmail", "-i", "-OIgnoreDots=no")) == 0);
	CHECK(!a.ignore_dots);
	sendmail_args_free(&a);

	/* Glued-only values never take the next argument. */
	CHECK(parse(&a,
		  ARGV("sendmail", "-e", "root", "-em", "-d", "x", "-m")) == 0);
	CHECK(a.nrcpts == 2 && strcmp(a.rcpts[1], "x") == 0);
	sendmail_args_free(&a);

	CHECK(parse(&a,
		  ARGV("sendmail", "-f", "<>", "-r", "other", "-C",
		      "/etc/x.conf", "-F", "Full Name", "a,b")) == 0);
	CHECK(strcmp(a.sender, "other") == 0);
	CHECK(strcmp(a.config, "/etc/x.conf") == 0);
	CHECK(strcmp(a.fullname, "Full Name") == 0);
	CHECK(a.nrcpts == 1 && strcmp(a.rcpts[0], "a,b") == 0);
	sendmail_args_free(&a);
	CHECK(parse(&a, ARGV("sendmail", "-f<>")) == 0);
	CHECK(a.has_sender && strcmp(a.sender, "<>") == 0);
	sendmail_args_free(&a);

	/* Options after recipients, and "--" before one with a dash. */
	CHECK(parse(&a, ARGV("sendmail", "root", "-i", "--", "-t", "-x")) == 0);
	CHECK(a.ignore_dots && !a.extract && a.nrcpts == 3);
	CHECK(strcmp(a.rcpts[1], "-t") == 0);
	sendmail_args_free(&a);
}

static void
test_modes(void)
{
	struct sendmail_args a;
	char		     err[300];

	CHECK(
	    parse(&a, ARGV("sendmail", "-bs")) == 0 && a.mode == SM_MODE_SMTP);
	sendmail_args_free(&a);
	CHECK(parse(&a, ARGV("sendmail", "-b", "p")) == 0 &&
	    a.mode == SM_MODE_QUEUE_LIST);
	sendmail_args_free(&a);
	CHECK(parse(&a, ARGV("sendmail", "-q15m")) == 0 &&
	    a.mode == SM_MODE_QUEUE_RUN);
	sendmail_args_free(&a);
	CHECK(parse(&a, ARGV("sendmail", "-bi")) == 0 &&
	    a.mode == SM_MODE_ALIASES);
	sendmail_args_free(&a);
	CHECK(parse(&a, ARGV("sendmail", "-bv", "x")) == 0 &&
	    a.mode == SM_MODE_VERIFY);
	sendmail_args_free(&a);
	CHECK(parse(&a, ARGV("sendmail", "-bm", "--version")) == 0 &&
	    a.mode == SM_MODE_VERSION);
	sendmail_args_free(&a);
	CHECK(parse(&a, ARGV("/usr/bin/mailq")) == 0 &&
	    a.mode == SM_MODE_QUEUE_LIST);
	sendmail_args_free(&a);
	CHECK(parse(&a, ARGV("newaliases")) == 0 && a.mode == SM_MODE_ALIASES);
	sendmail_args_free(&a);

	/* An unknown mode warns and delivers. */
	CHECK(parse(&a, ARGV("sendmail", "-bZ", "root")) == 0);
	CHECK(a.mode == SM_MODE_DELIVER && a.nwarnings == 1 && a.nrcpts == 1);
	sendmail_args_free(&a);

	memset(&a, 0, sizeof a);
	CHECK(sendmail_args_parse(
		  &a, 2, ARGV("sendmail", "-bd"), err, sizeof err) < 0);
	CHECK(strstr(err, "daemon") != NULL);
	sendmail_args_free(&a);
	CHECK(strcmp(sendmail_mode_name(SM_MODE_SMTP), "smtp") == 0);
}

static void
test_unknown(void)
{
	struct sendmail_args a;

	/* Skipped with a warning; the next argument stays a recipient. */
	CHECK(parse(&a, ARGV("sendmail", "-Zq", "root")) == 0);
	CHECK(a.nwarnings == 1 && a.nrcpts == 1);
	CHECK(strcmp(last_warning, "unknown option -Zq ignored") == 0);
	CHECK(a.mode == SM_MODE_DELIVER);
	sendmail_args_free(&a);
	CHECK(parse(&a, ARGV("sendmail", "--long-thing", "-", "root")) == 0);
	CHECK(a.nwarnings == 2 && a.nrcpts == 1);
	sendmail_args_free(&a);
	CHECK(parse(&a, ARGV("sendmail", "root", "-f")) == 0);
	CHECK(a.nwarnings == 1 && !a.has_sender && a.nrcpts == 1);
	CHECK(strstr(last_warning, "-f needs a value") != NULL);
	sendmail_args_free(&a);
	/* No warning callback: counted only. */
	memset(&a, 0, sizeof a);
	CHECK(sendmail_args_parse(&a, 2, ARGV("sendmail", "-Y"), NULL, 0) == 0);
	CHECK(a.nwarnings == 1);
	sendmail_args_free(&a);
	CHECK(parse(&a, ARGV("sendmail")) == 0 && a.nrcpts == 0);
	sendmail_args_free(&a);
}

int
main(void)
{
	test_daemons();
	test_forms();
	test_modes();
	test_unknown();
	return CHECK_DONE();
}
