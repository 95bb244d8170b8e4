/* Tests for libmaildir/maildir-name.c: unique names, parsing, UIDLs. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "maildir.h"

static void
test_host(void)
{
	char buf[64];

	maildir_name_host("mail.example.org", buf, sizeof(buf));
	CHECK(strcmp(buf, "mail.example.org") == 0);
	maildir_name_host("a/b:c", buf, sizeof(buf));
	CHECK(strcmp(buf, "a\\057b\\072c") == 0);
	/* ',' would start a field: "x,S=1" must not claim a size. */
	maildir_name_host("x,S=1", buf, sizeof(buf));
	CHECK(strcmp(buf, "x\\054S=1") == 0);
	/* Truncation never leaves half an escape. */
	maildir_name_host("ab/cd", buf, 5);
	CHECK(strcmp(buf, "ab") == 0);
	maildir_name_host("ab/cd", buf, 7);
	CHECK(strcmp(buf, "ab\\057") == 0);
	maildir_name_host("", buf, sizeof(buf));
	CHECK(buf[0] == '\0');
}

static void
test_unique(void)
{
	struct maildir		 md = { .dirfd = -1,
			  .tmpfd = -1,
			  .newfd = -1,
			  .curfd = -1,
			  .host = "h\\057x",
			  .rnd = 0xc0ffee,
			  .seq = 0 };
	struct maildir_name_info info;
	char	  a[MAILDIR_NAME_MAX + 1], b[MAILDIR_NAME_MAX + 1], want[64];
	long long sec;
	long	  usec, pid;
	unsigned long q;
	unsigned int  rnd;
	int	      n = -1;

	CHECK(maildir_name_unique(&md, a, sizeof(a)) == 0);
	CHECK(maildir_name_unique(&md, b, sizeof(b)) == 0);
	CHECK(strcmp(a, b) != 0);
	CHECK(sscanf(b, "%lld.M%ldP%ldR%8xQ%lu.%n", &sec, &usec, &pid, &rnd, &q,
		  &n) == 5);
	CHECK(n > 0 && strcmp(b + n, "h\\057x") == 0);
	CHECK(pid == (long)getpid());
	CHECK(rnd == 0xc0ffee && strstr(b, "R00c0ffeeQ2.") != NULL);
	CHECK(q == 2 && md.seq == 2);
	CHECK(usec >= 0 && usec < 1000000);
	CHECK(sec > 1600000000);
	snprintf(want, sizeof(want), ".M%ldP", usec);
	CHECK(strstr(b, want) != NULL);
	maildir_name_parse(b, &info);
	CHECK(info.sec == sec && info.usec == usec);
	CHECK(!info.has_size && !info.has_wsize && info.flags == NULL);
	CHECK(info.base_len == strlen(b));

	errno = 0;
	CHECK(maildir_name_unique(&md, a, 10) == -1 && errno == ENAMETOOLONG);
}

/*
 * Two hosts with one name whose processes have one pid (containers) make
 * the same names but for R, which maildir_open() draws at random.
 */
static void
test_unique_same_host(void)
{
	const char    *subs[] = { "tmp", "new", "cur" };
	char	       dir[] = "/tmp/maildir-name-XXXXXX";
	char	       a[MAILDIR_NAME_MAX + 1], b[MAILDIR_NAME_MAX + 1];
	struct maildir md1, md2;
	const char    *ra, *rb;

	CHECK(mkdtemp(dir) != NULL);
	CHECK(maildir_open(&md1, dir) == 0);
	CHECK(maildir_open(&md2, dir) == 0);
	CHECK(strcmp(md1.host, md2.host) == 0 && md1.seq == md2.seq);
	CHECK(md1.rnd != md2.rnd);
	CHECK(maildir_name_unique(&md1, a, sizeof(a)) == 0);
	CHECK(maildir_name_unique(&md2, b, sizeof(b)) == 0);
	ra = strchr(a, 'R');
	rb = strchr(b, 'R');
	CHECK(ra != NULL && rb != NULL && strncmp(ra, rb, 9) != 0);
	CHECK(ra != NULL && rb != NULL && strcmp(ra + 9, rb + 9) == 0);
	maildir_close(&md1);
	maildir_close(&md2);
	for (int i = 0; i < 3; i++) {
		char p[64];

		snprintf(p, sizeof(p), "%s/%s", dir, subs[i]);
		CHECK(rmdir(p) == 0);
	}
	CHECK(rmdir(dir) == 0);
}

static void
test_parse(void)
{
	struct maildir_name_info i;

	maildir_name_parse(
	    "1700000000.M123456P42Q7.host,S=1234,W=1260:2,FS", &i);
	CHECK(i.sec == 1700000000 && i.usec == 123456);
	CHECK(i.has_size && i.size == 1234);
	CHECK(i.has_wsize && i.wsize == 1260);
	CHECK(
	    i.base_len == strlen("1700000000.M123456P42Q7.host,S=1234,W=1260"));
	CHECK(i.flags != NULL && strcmp(i.flags, "FS") == 0);

	/* Other programs' names: order of fields, no M, no sizes. */
	maildir_name_parse("1700000001.4242_3.other,W=9,S=8", &i);
	CHECK(i.sec == 1700000001 && i.usec == 0);
	CHECK(i.has_size && i.size == 8 && i.has_wsize && i.wsize == 9);
	CHECK(i.flags == NULL &&
	    i.base_len == strlen("1700000001.4242_3.other,W=9,S=8"));
	maildir_name_parse("1700000002.M5P1V000I1.host:2,", &i);
	CHECK(i.sec == 1700000002 && i.usec == 5);
	CHECK(!i.has_size && !i.has_wsize);
	CHECK(i.flags != NULL && i.flags[0] == '\0');
	CHECK(i.base_len == strlen("1700000002.M5P1V000I1.host"));
	/* M counts only as a field of its own; bad sizes are ignored. */
	maildir_name_parse("17.xM2.h,S=x5,W=,Z=3", &i);
	CHECK(i.sec == 17 && i.usec == 0 && !i.has_size && !i.has_wsize);
	maildir_name_parse("17.P1M2.hM3", &i);
	CHECK(i.usec == 2);
	maildir_name_parse("17.P1.M2", &i);
	CHECK(i.usec == 0);
	/* Experimental ":1," info carries no flags; sizes after ':' do not count. */
	maildir_name_parse("5.x.h:1,S=3", &i);
	CHECK(i.flags == NULL && !i.has_size && i.base_len == 5);
	/* Overflowing numbers are ignored, not wrapped. */
	maildir_name_parse(
	    "99999999999999999999999.M1.h,S=99999999999999999999999", &i);
	CHECK(i.sec == 0 && !i.has_size);
	maildir_name_parse("1.M1.h,S=18446744073709551615", &i);
	CHECK(i.has_size && i.size == UINT64_MAX);
	/* usec is at most 999999. */
	maildir_name_parse("1.M1000000P1.h", &i);
	CHECK(i.usec == 0);
	maildir_name_parse("garbage", &i);
	CHECK(i.sec == 0 && i.usec == 0 && i.base_len == 7 && !i.has_size);
	maildir_name_parse("", &i);
	CHECK(i.base_len == 0 && i.flags == NULL);
}

static void
test_flags(void)
{
	CHECK(strcmp(maildir_name_flags("1.M2P3.h,S=5:2,FS"), "FS") == 0);
	CHECK(strcmp(maildir_name_flags("1.M2P3.h:2,"), "") == 0);
	CHECK(maildir_name_flags("1.M2P3.h,S=5") == NULL);
	/* The info starts at the first ':'; ":1," carries no flags. */
	CHECK(maildir_name_flags("1.M2P3.h:1,x:2,S") == NULL);
	CHECK(maildir_name_has_flag("1.M2P3.h:2,FS", 'S'));
	CHECK(maildir_name_has_flag("1.M2P3.h:2,FS", 'F'));
	CHECK(!maildir_name_has_flag("1.M2P3.h:2,F", 'S'));
	CHECK(!maildir_name_has_flag("1.M2P3.hS", 'S'));
	CHECK(!maildir_name_has_flag("1.M2P3.h:1,S", 'S'));
	CHECK(!maildir_name_has_flag("1.M2P3.h:2,S", '\0'));
}

static void
test_uidl(void)
{
	char	    buf[MAILDIR_UIDL_MAX + 1], again[MAILDIR_UIDL_MAX + 1];
	char	    name[200];
	const char *n = "1700000000.M1P2Q3.host,S=10,W=11:2,S";

	/* The base name itself, without the flags. */
	maildir_name_uidl(n, strcspn(n, ":"), buf);
	CHECK(strcmp(buf, "1700000000.M1P2Q3.host,S=10,W=11") == 0);

	/* 70 characters: still itself; 71: a digest. */
	memset(name, 'a', 71);
	name[71] = '\0';
	maildir_name_uidl(name, 70, buf);
	CHECK(strlen(buf) == 70 && strncmp(buf, name, 70) == 0);
	maildir_name_uidl(name, 71, buf);
	CHECK(strlen(buf) == 33 && buf[0] == 'H');
	for (size_t i = 1; i < 33; i++)
		CHECK(strchr("0123456789abcdef", buf[i]) != NULL);
	maildir_name_uidl(name, 71, again);
	CHECK(strcmp(buf, again) == 0);
	/*
	 * Pinned (worked out apart from the library, from the FNV-1a
	 * definition): a UIDL must never change between versions.
	 */
	CHECK(strcmp(buf,
		  "Hf39b401dc15e64de"
		  "1275b1e15530ce89") == 0);

	/* One character different: a different digest. */
	name[70] = 'b';
	maildir_name_uidl(name, 71, again);
	CHECK(strcmp(buf, again) != 0);

	/* Characters outside 0x21..0x7E, or an empty name: a digest. */
	maildir_name_uidl("a b", 3, buf);
	CHECK(buf[0] == 'H' && strlen(buf) == 33);
	maildir_name_uidl("a\x7f", 2, buf);
	CHECK(buf[0] == 'H' && strlen(buf) == 33);
	maildir_name_uidl("\xc3\xa9t\xc3\xa9", 6, buf);
	CHECK(buf[0] == 'H' && strlen(buf) == 33);
	maildir_name_uidl("", 0, buf);
	CHECK(buf[0] == 'H' && strlen(buf) == 33);
	/* The digest covers base_len bytes only. */
	maildir_name_uidl("a b:2,S", 3, buf);
	maildir_name_uidl("a b:2,", 3, again);
	CHECK(strcmp(buf, again) == 0);
	maildir_name_uidl("!~", 2, buf);
	CHECK(strcmp(buf, "!~") == 0);
}

int
main(void)
{
	test_host();
	test_unique();
	test_unique_same_host();
	test_parse();
	test_flags();
	test_uidl();
	return CHECK_DONE();
}
