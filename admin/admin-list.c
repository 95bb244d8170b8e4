/*
 * baremail list: one line per message, numbered as POP3 numbers them
 * (oldest delivery first), newest last.  Never changes the maildir.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "admin.h"
#include "session-log.h"

static const char list_usage[] =
    "usage: baremail list [--new] [--since WHEN]\n"
    "  WHEN is a date (2026-11-30, 2026-11-30T08:00) or an age (3d, 12h)\n";

/* "2026-11-30[T| ]HH:MM[:SS]" in local time, or "<n><s|m|h|d|w>" ago. */
static int
parse_since(const char *s, time_t now, time_t *t_r)
{
	struct tm     tm;
	const char   *end;
	char	     *e;
	unsigned long v, unit;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%d", &tm)) != NULL) {
		if (*end == 'T' || *end == ' ') {
			const char *t = strptime(end + 1, "%H:%M", &tm);
			if (t == NULL)
				return -1;
			end = t;
			if (*end == ':' &&
			    (end = strptime(end + 1, "%S", &tm)) == NULL)
				return -1;
		}
		if (*end != '\0')
			return -1;
		tm.tm_isdst = -1;
		*t_r = mktime(&tm);
		return *t_r == (time_t)-1 ? -1 : 0;
	}
	errno = 0;
	v = strtoul(s, &e, 10);
	if (!isdigit((unsigned char)s[0]) || errno != 0 || e[0] == '\0' ||
	    e[1] != '\0')
		return -1;
	switch (*e) {
	case 's':
		unit = 1;
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	case 'w':
		unit = 604800;
		break;
	default:
		return -1;
	}
	/* An age no time_t holds is a mistake, not a wrapped-around one. */
	if ((unsigned long long)v >
	    ((unsigned long long)1 << (sizeof(time_t) * CHAR_BIT - 2)) / unit)
		return -1;
	*t_r = now - (time_t)(v * unit);
	return 0;
}

int
admin_list(struct admin *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "new", no_argument, NULL, 'n' },
		{ "since", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct maildir_list l;
	bool		    only_new = false;
	time_t		    since = 0;
	int		    c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+ns:", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			only_new = true;
			break;
		case 's':
			if (parse_since(optarg, time(NULL), &since) == 0)
				break;
			fprintf(stderr, "baremail list: bad --since \"%s\"\n",
			    optarg);
			/* FALLTHROUGH */
		default:
			fputs(list_usage, stderr);
			return EX_USAGE;
		}
	}
	if (optind < argc) {
		fputs(list_usage, stderr);
		return EX_USAGE;
	}
	if (admin_open(a) != 0 || maildir_list(&a->md, &l) != 0) {
		log_err("maildir %s: %s", a->cfg.maildir, strerror(errno));
		return EX_UNAVAILABLE;
	}
	for (size_t i = 0; i < l.count; i++) {
		struct maildir_msg *m = &l.msgs[i];
		struct admin_head   h;
		time_t		    t = admin_msg_time(m), mtime;
		char		    ts[64], sz[32];
		bool		    seen = admin_msg_seen(m);

		if ((only_new && seen) || (t > 0 && t < since))
			continue;
		if (admin_head_read(a, &l, m, &h, &mtime) != 0) {
			if (errno == ENOENT)
				continue; /* deleted since the listing */
			log_warn("%s: %s", m->name, strerror(errno));
			continue;
		}
		if (t <= 0) {
			t = mtime;
			if (t < since)
				continue;
		}
		admin_fmt_time(t, ts, sizeof(ts));
		admin_fmt_bytes(
		    m->has_wsize ? m->wsize : m->size, sz, sizeof(sz));
		printf("%5zu  %s  ", i + 1, ts);
		admin_put_cols(stdout, h.from[0] != '\0' ? h.from : "-", 28);
		printf("  ");
		admin_put_cols(stdout, h.subject, 40);
		printf("  %9s  %s\n", sz, seen ? "seen" : "new");
	}
	maildir_list_free(&l);
	return 0;
}

int
admin_show(struct admin *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mark-seen", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct maildir_list l;
	struct maildir_msg *m;
	bool		    mark = false;
	int		    c, status;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+s", opts, NULL)) != -1) {
		if (c != 's') {
			fprintf(
			    stderr, "usage: baremail show [--mark-seen] N\n");
			return EX_USAGE;
		}
		mark = true;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: baremail show [--mark-seen] N\n");
		return EX_USAGE;
	}
	if (admin_open(a) != 0 || maildir_list(&a->md, &l) != 0) {
		log_err("maildir %s: %s", a->cfg.maildir, strerror(errno));
		return EX_UNAVAILABLE;
	}
	if ((m = admin_msg_number(&l, argv[optind])) == NULL) {
		maildir_list_free(&l);
		return EX_DATAERR;
	}
	status = admin_show_msg(a, &l, m);
	if (status == 0 && mark &&
	    maildir_msg_flags(&a->md, &l, m, "S", "") != 0) {
		log_err(
		    "%s: cannot mark it seen: %s", m->name, strerror(errno));
		status = EX_TEMPFAIL;
	}
	maildir_list_free(&l);
	return status;
}
