/*
 * baremail expire: retention.  Oldest delivery first, a message goes when
 * it is older than [retention] max_age, or while the maildir holds more
 * than max_messages or more than max_size bytes.  Nothing is set by
 * default, and then nothing is deleted: the mail is the user's.
 *
 * Safe beside sessions: the listing is a snapshot, so a message delivered
 * after it is never a candidate; deletion goes through libmaildir, which
 * finds a message a POP3 session renamed meanwhile and takes ENOENT (another
 * session deleted it) as done.  tmp/ loses only what the maildir rule
 * calls debris (36 hours untouched), never a delivery in progress.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#include "admin.h"
#include "session-log.h"

int
admin_expire(struct admin *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const struct session_config *cfg = &a->cfg;
	struct maildir_list	     l;
	bool			     dry = false;
	uint64_t		     count, bytes = 0, gone = 0, gone_bytes = 0;
	uint64_t		    *sizes;
	time_t			     now = time(NULL);
	int			     c, status = 0, cleaned;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+n", opts, NULL)) != -1) {
		if (c != 'n') {
			fprintf(stderr, "usage: baremail expire [--dry-run]\n");
			return EX_USAGE;
		}
		dry = true;
	}
	if (optind < argc) {
		fprintf(stderr, "usage: baremail expire [--dry-run]\n");
		return EX_USAGE;
	}
	/* expire may make tmp/ new/ cur/: the sessions would too. */
	if (maildir_open(&a->md, cfg->maildir) != 0) {
		log_err("maildir %s: %s", cfg->maildir, strerror(errno));
		return EX_TEMPFAIL;
	}
	a->is_open = true;
	if (maildir_list(&a->md, &l) != 0) {
		log_err("maildir %s: %s", cfg->maildir, strerror(errno));
		return EX_TEMPFAIL;
	}
	/* The sizes once, before any deletion: max_size weighs them all. */
	if ((sizes = calloc(l.count + 1, sizeof(*sizes))) == NULL) {
		log_err("out of memory");
		maildir_list_free(&l);
		return EX_TEMPFAIL;
	}
	count = l.count;
	for (size_t i = 0; i < l.count; i++)
		bytes += sizes[i] = admin_msg_bytes(a, &l, &l.msgs[i]);

	for (size_t i = 0; i < l.count; i++) {
		struct maildir_msg *m = &l.msgs[i];
		time_t		    t;
		const char	   *why = NULL;
		char		    ts[64], name[MAILDIR_NAME_MAX + 1];

		if (!admin_msg_delivered(a, m, &t))
			t = now; /* gone since the listing: not too old */
		if (cfg->max_age > 0 && t < now &&
		    (uint64_t)(now - t) > cfg->max_age)
			why = "older than max_age";
		else if (cfg->max_messages > 0 && count > cfg->max_messages)
			why = "over max_messages";
		else if (cfg->max_size > 0 && bytes > cfg->max_size)
			why = "over max_size";
		if (why == NULL)
			continue;
		admin_fmt_time(t, ts, sizeof(ts));
		if (dry) {
			/* Another program named it: nothing to steer a terminal. */
			admin_safe_copy(m->name, name, sizeof(name));
			printf("would delete %zu %s (%s, %llu bytes, %s)\n",
			    i + 1, name, ts, (unsigned long long)sizes[i], why);
		} else if (maildir_msg_remove(&a->md, &l, m) != 0) {
			if (errno != ENOENT) {
				log_err("cannot delete %s: %s", m->name,
				    strerror(errno));
				status = EX_TEMPFAIL;
				continue;
			}
			/* A POP3 client deleted it first: gone all the same. */
			log_debug("%s: already gone", m->name);
		} else {
			log_info("expired %s (delivered %s, %llu bytes, %s)",
			    m->name, ts, (unsigned long long)sizes[i], why);
		}
		count--;
		bytes -= sizes[i];
		gone++;
		gone_bytes += sizes[i];
	}
	free(sizes);
	maildir_list_free(&l);
	if (!dry) {
		cleaned = maildir_clean_tmp(&a->md, now);
		if (cleaned < 0) {
			log_err("cleaning %s/tmp: %s", cfg->maildir,
			    strerror(errno));
			status = EX_TEMPFAIL;
		} else if (cleaned > 0) {
			log_info("removed %d file(s) older than 36 hours "
				 "from tmp/",
			    cleaned);
		}
	}
	log_info("expire%s: %llu message(s), %llu bytes %s; %llu left",
	    dry ? " --dry-run" : "", (unsigned long long)gone,
	    (unsigned long long)gone_bytes, dry ? "would go" : "deleted",
	    (unsigned long long)count);
	return status;
}
