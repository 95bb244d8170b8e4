/*
 * baremail notify: runs [notify] command once for each message delivered
 * since the last run, the message on its stdin and BAREMAIL_* in its
 * environment.
 *
 * What "since the last run" means, in a small state file in the maildir
 * (.baremail-notify), replaced atomically after every command:
 *
 *	mark <t>		the time the last run listed the maildir
 *	seen <time> <base>	notified, delivered at most WINDOW before mark
 *	retry <time> <base>	its command failed: run it again next time
 *
 * A message is due when its delivery time (from its name) is within
 * WINDOW of mark and it is not seen, or it is to be retried.  The window
 * covers a delivery that began (and got its name) before the last listing
 * and ended after it: the maildir rule gives a delivery 36 hours.  The
 * entry is written only after the command succeeded, so a crash between
 * the two notifies a message twice, never zero times.  The key is the base
 * name, so a message a POP3 client moved to cur/ is still the same one.
 *
 * The first run (no state file) notifies nothing: it records what is
 * there, so a machine with years of mail does not send a push for each.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "admin.h"
#include "session-log.h"

#define NOTIFY_STATE   ".baremail-notify"
#define NOTIFY_LOCK    ".baremail-notify.lock"
#define NOTIFY_WINDOW  MAILDIR_STALE_TMP
#define NOTIFY_TIMEOUT 60 /* seconds a command may take, then it is killed */
#define NOTIFY_PASSES  10 /* re-listings while new mail keeps coming */

struct entry {
	time_t t;
	bool   is_retry;
	char  *base;
};

struct state {
	time_t	      mark;
	struct entry *e; /* sorted by base */
	size_t	      n, cap;
};

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(
	    ((const struct entry *)a)->base, ((const struct entry *)b)->base);
}

static struct entry *
state_find(struct state *s, const char *base)
{
	struct entry key = { 0, false, (char *)(uintptr_t)base };

	return s->n == 0 ? NULL
			 : bsearch(&key, s->e, s->n, sizeof(*s->e), entry_cmp);
}

/* Adds or updates an entry; -1 when out of memory. */
static int
state_put(struct state *s, const char *base, time_t t, bool is_retry)
{
	struct entry *e = state_find(s, base), *ne;
	size_t	      at;

	if (e != NULL) {
		e->t = t;
		e->is_retry = is_retry;
		return 0;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap == 0 ? 64 : s->cap * 2;

		ne = realloc(s->e, cap * sizeof(*ne));
		if (ne == NULL)
			return -1;
		s->e = ne;
		s->cap = cap;
	}
	for (at = s->n; at > 0 && strcmp(s->e[at - 1].base, base) > 0; at--)
		;
	memmove(s->e + at + 1, s->e + at, (s->n - at) * sizeof(*s->e));
	s->e[at].base = strdup(base);
	if (s->e[at].base == NULL) {
		memmove(s->e + at, s->e + at + 1, (s->n - at) * sizeof(*s->e));
		return -1;
	}
	s->e[at].t = t;
	s->e[at].is_retry = is_retry;
	s->n++;
	return 0;
}

static void
state_free(struct state *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->e[i].base);
	free(s->e);
	memset(s, 0, sizeof(*s));
}

/* A decimal time at s; *end_r after it.  -1 when there is none. */
static int
parse_time(char *s, time_t *t_r, char **end_r)
{
	long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, end_r, 10);
	if (errno != 0)
		return -1;
	*t_r = (time_t)v;
	return 0;
}

/* Reads the state; 1 when there is none (the first run), -1 on error. */
static int
state_load(struct admin *a, struct state *s)
{
	int    fd = maildir_file_open(&a->md, NOTIFY_STATE);
	FILE  *fp;
	char  *line = NULL, *end;
	size_t cap = 0;
	time_t t;
	int    rc = 0, kind;
	bool   has_mark = false;

	if (fd < 0)
		return errno == ENOENT ? 1 : -1;
	if ((fp = fdopen(fd, "r")) == NULL) {
		close(fd);
		return -1;
	}
	while (getline(&line, &cap, fp) > 0) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (strncmp(line, "mark ", 5) == 0 &&
		    parse_time(line + 5, &t, &end) == 0 && *end == '\0') {
			s->mark = t;
			has_mark = true;
			continue;
		}
		/* "seen <time> <base>" or "retry <time> <base>" */
		kind = strncmp(line, "seen ", 5) == 0 ? 0
		    : strncmp(line, "retry ", 6) == 0 ? 1
						      : -1;
		if (kind >= 0 &&
		    parse_time(line + (kind ? 6 : 5), &t, &end) == 0 &&
		    *end == ' ' && end[1] != '\0' &&
		    state_put(s, end + 1, t, kind == 1) == 0)
			continue;
		errno = EINVAL;
		rc = -1;
		break;
	}
	/* A read error is no end of file: never take half a record for all. */
	if (rc == 0 && ferror(fp))
		rc = -1;
	/*
	 * Every state written has its mark: without one (emptied by hand, cut
	 * short) it is no record of a run, and a mark of 0 would notify all.
	 */
	if (rc == 0 && !has_mark) {
		errno = EINVAL;
		rc = -1;
	}
	free(line);
	fclose(fp);
	return rc;
}

/* Replaces the state file, durably: the record of what was notified. */
static int
state_save(struct admin *a, const struct state *s)
{
	struct iovec iov;
	char	    *buf = NULL;
	size_t	     len = 0;
	FILE	    *fp = open_memstream(&buf, &len);
	int	     r, e;

	if (fp == NULL)
		return -1;
	fprintf(fp, "# baremail notify: what was notified (see baremail(8))\n");
	fprintf(fp, "mark %lld\n", (long long)s->mark);
	for (size_t i = 0; i < s->n; i++)
		fprintf(fp, "%s %lld %s\n", s->e[i].is_retry ? "retry" : "seen",
		    (long long)s->e[i].t, s->e[i].base);
	if (fclose(fp) != 0) {
		free(buf);
		return -1;
	}
	iov.iov_base = buf;
	iov.iov_len = len;
	r = maildir_file_replace(&a->md, NOTIFY_STATE, &iov, 1, true);
	e = errno;
	free(buf);
	errno = e;
	return r;
}

/* Forgets seen entries that fell out of the window. */
static void
state_prune(struct state *s)
{
	size_t w = 0;

	for (size_t i = 0; i < s->n; i++) {
		if (!s->e[i].is_retry && s->e[i].t < s->mark - NOTIFY_WINDOW) {
			free(s->e[i].base);
			continue;
		}
		s->e[w++] = s->e[i];
	}
	s->n = w;
}

#define RUN_OK	 0    /* the command exited 0 */
#define RUN_GONE 1    /* the message was deleted before we got to it */
#define RUN_FAIL (-1) /* the command failed, or could not be started */

/* Runs the command for one message: RUN_OK, RUN_GONE or RUN_FAIL. */
static int
run_command(struct admin *a, struct maildir_list *l, struct maildir_msg *m)
{
	struct admin_head h;
	char		  buf[ADMIN_HEAD_READ], path[PATH_MAX + 300], size[32];
	ssize_t		  n;
	pid_t		  pid;
	int		  fd, wstatus = 0;
	unsigned	  waited_ms = 0;

	if ((fd = maildir_msg_open(&a->md, l, m)) < 0) {
		if (errno == ENOENT)
			return RUN_GONE;
		log_warn("notify: %s: %s; retried next run", m->name,
		    strerror(errno));
		return RUN_FAIL;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	n = pread(fd, buf, sizeof(buf), 0);
	memset(&h, 0, sizeof(h));
	admin_head_parse(buf, n > 0 ? (size_t)n : 0, &h);
	snprintf(path, sizeof(path), "%s/%s/%s", a->cfg.maildir,
	    m->in_new ? "new" : "cur", m->name);
	snprintf(size, sizeof(size), "%u", m->size);

	pid = fork();
	if (pid < 0) {
		log_warn("notify: fork: %s; retried next run", strerror(errno));
		close(fd);
		return RUN_FAIL;
	}
	if (pid == 0) {
		/* Its own process group, so a timeout kills all it started. */
		setpgid(0, 0);
		/* What session_start() ignores, the command must not inherit. */
		signal(SIGPIPE, SIG_DFL);
		signal(SIGXFSZ, SIG_DFL);
		if (dup2(fd, 0) < 0)
			_exit(126);
		setenv("BAREMAIL_FROM", h.from, 1);
		setenv("BAREMAIL_TO", h.to, 1);
		setenv("BAREMAIL_SUBJECT", h.subject, 1);
		setenv("BAREMAIL_DATE", h.date, 1);
		setenv("BAREMAIL_FILE", path, 1);
		setenv("BAREMAIL_SIZE", size, 1);
		execl(
		    "/bin/sh", "sh", "-c", a->cfg.notify_command, (char *)NULL);
		_exit(127);
	}
	close(fd);
	for (;;) {
		pid_t r = waitpid(pid, &wstatus, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR))
			break;
		if (waited_ms >= NOTIFY_TIMEOUT * 1000) {
			log_warn("notify command for %s: no end after %d s, "
				 "killed",
			    m->name, NOTIFY_TIMEOUT);
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &wstatus, 0);
			return RUN_FAIL;
		}
		usleep(10000);
		waited_ms += 10;
	}
	if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)
		return RUN_OK;
	if (WIFEXITED(wstatus))
		log_warn("notify command for %s exited with %d; retried next "
			 "run",
		    m->name, WEXITSTATUS(wstatus));
	else
		log_warn("notify command for %s killed by signal %d; retried "
			 "next run",
		    m->name, WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0);
	return RUN_FAIL;
}

/* One pass: list, run what is due, save.  Counts failures in *failed. */
static int
pass(struct admin *a, struct state *s, bool first, unsigned *failed)
{
	struct maildir_list l;
	time_t		    t0 = time(NULL), old_mark = s->mark;
	char		    base[MAILDIR_NAME_MAX + 1];
	size_t		    due = 0, done = 0, listed;
	int		    rc;

	if (maildir_list(&a->md, &l) != 0) {
		log_err("maildir %s: %s", a->cfg.maildir, strerror(errno));
		return -1;
	}
	s->mark = t0;
	for (size_t i = 0; i < l.count; i++) {
		struct maildir_msg *m = &l.msgs[i];
		time_t		    t;
		struct entry	   *e;

		(void)admin_msg_delivered(a, m, &t); /* 0 when unknown */
		snprintf(base, sizeof(base), "%.*s", (int)m->base_len, m->name);
		e = state_find(s, base);
		if (first) {
			/* Recorded, not notified: mail that was already there. */
			if (t >= t0 - NOTIFY_WINDOW &&
			    state_put(s, base, t, false) != 0)
				goto nomem;
			continue;
		}
		if (e != NULL ? !e->is_retry : t < old_mark - NOTIFY_WINDOW)
			continue;
		due++;
		rc = run_command(a, &l, m);
		if (rc == RUN_GONE) {
			/* Deleted before we got to it: nothing left to tell. */
			due--;
			continue;
		}
		if (rc == RUN_OK) {
			done++;
			if (state_put(s, base, t, false) != 0)
				goto nomem;
		} else {
			(*failed)++;
			if (state_put(s, base, t, true) != 0)
				goto nomem;
		}
		if (state_save(a, s) != 0) {
			log_err("cannot save %s/" NOTIFY_STATE ": %s",
			    a->cfg.maildir, strerror(errno));
			maildir_list_free(&l);
			return -1;
		}
	}
	/* Retries whose message is gone: nothing left to tell. */
	for (size_t i = 0; i < s->n; i++) {
		bool found = false;

		if (!s->e[i].is_retry)
			continue;
		for (size_t j = 0; j < l.count && !found; j++)
			found = l.msgs[j].base_len == strlen(s->e[i].base) &&
			    strncmp(l.msgs[j].name, s->e[i].base,
				l.msgs[j].base_len) == 0;
		if (!found)
			s->e[i].is_retry = false;
	}
	listed = l.count;
	maildir_list_free(&l);
	state_prune(s);
	if (state_save(a, s) != 0) {
		log_err("cannot save %s/" NOTIFY_STATE ": %s", a->cfg.maildir,
		    strerror(errno));
		return -1;
	}
	if (first)
		log_info("notify: first run; %zu message(s) already in %s "
			 "are not notified",
		    listed, a->cfg.maildir);
	else if (due > 0)
		log_info("notify: %zu of %zu message(s) notified", done, due);
	return 0;
nomem:
	maildir_list_free(&l);
	log_err("out of memory");
	return -1;
}

int
admin_notify(struct admin *a, int argc, char **argv)
{
	struct state s;
	unsigned     failed = 0;
	int	     lockfd, first, rc = 0;

	if (argc > 1) {
		fprintf(stderr, "usage: baremail notify\n");
		return EX_USAGE;
	}
	/*
	 * Not configured is not an error: a distribution that enables every
	 * unit would otherwise fail baremail-notify.service at each delivery.
	 */
	if (a->cfg.notify_command[0] == '\0') {
		log_info("notify: no [notify] command in %s: nothing to do",
		    a->cfg.file[0] != '\0' ? a->cfg.file : "the configuration");
		return 0;
	}
	if (admin_open(a) != 0) {
		log_err("maildir %s: %s", a->cfg.maildir, strerror(errno));
		return EX_TEMPFAIL;
	}
	/* One notifier at a time; a second waits, then sees what is left. */
	if ((lockfd = maildir_file_lock(&a->md, NOTIFY_LOCK)) < 0) {
		log_err(
		    "%s/" NOTIFY_LOCK ": %s", a->cfg.maildir, strerror(errno));
		return EX_TEMPFAIL;
	}
	memset(&s, 0, sizeof(s));
	first = state_load(a, &s);
	if (first < 0) {
		log_err("%s/" NOTIFY_STATE ": %s (remove it to start afresh)",
		    a->cfg.maildir, strerror(errno));
		state_free(&s);
		return EX_DATAERR;
	}
	for (int i = 0; i < NOTIFY_PASSES && rc == 0; i++) {
		struct timespec before = { 0, 0 }, after;

		(void)maildir_new_mtime(&a->md, &before); /* else 0 */
		rc = pass(a, &s, first == 1, &failed);
		first = 0;
		/* Mail that came during the pass gets a pass of its own. */
		if (maildir_new_mtime(&a->md, &after) != 0 ||
		    (after.tv_sec == before.tv_sec &&
			after.tv_nsec == before.tv_nsec))
			break;
	}
	state_free(&s);
	close(lockfd);
	if (rc != 0)
		return EX_TEMPFAIL;
	return failed > 0 ? EX_TEMPFAIL : 0;
}
