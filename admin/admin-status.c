/*
 * baremail status: what an administrator asks first, for a person or (with
 * --prometheus) for node_exporter's textfile collector.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "admin.h"
#include "session-log.h"

extern char **environ;

/* The socket units, asked of systemd only where it runs. */
static const char *const socket_units[] = { "baremail-smtp.socket",
	"baremail-pop3.socket" };
#define N_SOCKETS (sizeof(socket_units) / sizeof(socket_units[0]))

struct status {
	bool		  usable;
	const char	 *why; /* when not usable */
	size_t		  n_new, n_cur;
	uint64_t	  bytes;
	struct admin_head oldest, newest;
	time_t		  oldest_t, newest_t, last_delivery;
	uint64_t	  fs_free, fs_size, min_free;
	bool		  has_fs;
	unsigned	  tmp_files, tmp_stale;
	int		  socket_active[N_SOCKETS]; /* 1, 0, or -1: unknown */
};

/*
 * Asks "systemctl is-active" once for both units: about as cheap as it
 * gets without linking libsystemd.  Unknown where systemd does not run.
 */
static void
ask_sockets(struct status *s)
{
	char			  *argv[] = { "systemctl", "is-active", "--",
				     (char *)socket_units[0], (char *)socket_units[1], NULL };
	posix_spawn_file_actions_t fa;
	int			   pipefd[2], wstatus;
	pid_t			   pid;
	char			   out[256];
	size_t			   got = 0;
	ssize_t			   n;

	for (size_t i = 0; i < N_SOCKETS; i++)
		s->socket_active[i] = -1;
	if (access("/run/systemd/system", F_OK) != 0 ||
	    pipe2(pipefd, O_CLOEXEC) != 0)
		return;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (posix_spawnp(&pid, "systemctl", &fa, NULL, argv, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	while (pid > 0 && got < sizeof(out) - 1 &&
	    ((n = read(pipefd[0], out + got, sizeof(out) - 1 - got)) > 0 ||
		(n < 0 && errno == EINTR)))
		if (n > 0)
			got += (size_t)n;
	close(pipefd[0]);
	if (pid <= 0 || waitpid(pid, &wstatus, 0) != pid)
		return;
	out[got] = '\0';
	/* One line per unit, in order: "active", "inactive", ... */
	{
		char *line, *save = NULL;

		for (size_t i = 0; i < N_SOCKETS; i++) {
			line = strtok_r(i == 0 ? out : NULL, "\n", &save);
			if (line == NULL)
				break;
			s->socket_active[i] = strcmp(line, "active") == 0;
		}
	}
}

static void
count_tmp(const struct maildir_tmp_file *f, void *arg)
{
	struct status *s = arg;

	s->tmp_files++;
	if (f->age >= MAILDIR_STALE_TMP)
		s->tmp_stale++;
}

static void
gather(struct admin *a, struct status *s)
{
	struct maildir_list l;
	struct timespec	    new_mtime;

	if (admin_open(a) != 0) {
		s->why = strerror(errno);
		return;
	}
	if (maildir_list(&a->md, &l) != 0) {
		s->why = strerror(errno);
		return;
	}
	s->usable = true;
	for (size_t i = 0; i < l.count; i++) {
		if (l.msgs[i].in_new)
			s->n_new++;
		else
			s->n_cur++;
		s->bytes += admin_msg_bytes(a, &l, &l.msgs[i]);
	}
	if (l.count > 0) {
		admin_head_read(a, &l, &l.msgs[0], &s->oldest, &s->oldest_t);
		admin_head_read(
		    a, &l, &l.msgs[l.count - 1], &s->newest, &s->newest_t);
		/* The time in the name is the delivery's; mtime for others. */
		if (admin_msg_time(&l.msgs[0]) > 0)
			s->oldest_t = admin_msg_time(&l.msgs[0]);
		if (admin_msg_time(&l.msgs[l.count - 1]) > 0)
			s->newest_t = admin_msg_time(&l.msgs[l.count - 1]);
		s->last_delivery = s->newest_t;
	} else if (maildir_new_mtime(&a->md, &new_mtime) == 0) {
		/* Nothing kept: new/ changed last when mail last came or left. */
		s->last_delivery = new_mtime.tv_sec;
	}
	maildir_list_free(&l);
	if (maildir_space(&a->md, &s->fs_free, &s->fs_size) == 0) {
		s->has_fs = true;
		s->min_free = config_min_free(&a->cfg, s->fs_size);
	}
	(void)maildir_tmp_walk(&a->md, time(NULL), count_tmp, s);
}

static void
print_human(const struct admin *a, const struct status *s)
{
	char t[64], b1[32], b2[32], b3[32];

	printf("maildir:        %s\n", a->cfg.maildir);
	if (!s->usable) {
		printf("state:          UNUSABLE: %s\n", s->why);
		return;
	}
	admin_fmt_bytes(s->bytes, b1, sizeof(b1));
	printf("messages:       %zu (%zu in new/, %zu in cur/), %s\n",
	    s->n_new + s->n_cur, s->n_new, s->n_cur, b1);
	if (s->n_new + s->n_cur > 0) {
		admin_fmt_time(s->oldest_t, t, sizeof(t));
		printf("oldest:         %s  %s  %s\n", t, s->oldest.from,
		    s->oldest.subject);
		admin_fmt_time(s->newest_t, t, sizeof(t));
		printf("newest:         %s  %s  %s\n", t, s->newest.from,
		    s->newest.subject);
	}
	admin_fmt_time(s->last_delivery, t, sizeof(t));
	printf("last delivery:  %s\n", t);
	if (s->has_fs) {
		admin_fmt_bytes(s->fs_free, b1, sizeof(b1));
		admin_fmt_bytes(s->fs_size, b2, sizeof(b2));
		admin_fmt_bytes(s->min_free, b3, sizeof(b3));
		printf(
		    "free space:     %s of %s (SMTP refuses mail below %s)%s\n",
		    b1, b2, b3, s->fs_free < s->min_free ? "  LOW" : "");
	}
	printf("tmp/:           %u file(s), %u older than 36 hours\n",
	    s->tmp_files, s->tmp_stale);
	printf("sockets:       ");
	for (size_t i = 0; i < N_SOCKETS; i++)
		printf(" %s %s", socket_units[i],
		    s->socket_active[i] < 0   ? "unknown"
			: s->socket_active[i] ? "active"
					      : "inactive");
	printf("\n");
}

/* One metric: its help, type and value lines. */
static void
metric(const char *name, const char *help, const char *labels, double v)
{
	printf("# HELP %s %s\n# TYPE %s gauge\n%s%s %.0f\n", name, help, name,
	    name, labels, v);
}

static void
print_prometheus(const struct status *s)
{
	metric("baremail_maildir_usable",
	    "Whether the maildir can be listed (1) or not (0).", "", s->usable);
	if (!s->usable)
		return;
	printf("# HELP baremail_messages Messages in the maildir.\n"
	       "# TYPE baremail_messages gauge\n"
	       "baremail_messages{dir=\"new\"} %zu\n"
	       "baremail_messages{dir=\"cur\"} %zu\n",
	    s->n_new, s->n_cur);
	metric(
	    "baremail_bytes", "Bytes the messages take.", "", (double)s->bytes);
	if (s->oldest_t > 0)
		metric("baremail_oldest_message_timestamp_seconds",
		    "When the oldest message was delivered.", "",
		    (double)s->oldest_t);
	if (s->last_delivery > 0)
		metric("baremail_last_delivery_timestamp_seconds",
		    "When the newest message was delivered.", "",
		    (double)s->last_delivery);
	if (s->has_fs) {
		metric("baremail_filesystem_free_bytes",
		    "Free bytes on the maildir's file system.", "",
		    (double)s->fs_free);
		metric("baremail_filesystem_size_bytes",
		    "Size of the maildir's file system.", "",
		    (double)s->fs_size);
		metric("baremail_min_free_bytes",
		    "Below this SMTP refuses mail ([smtp] min_free).", "",
		    (double)s->min_free);
	}
	metric(
	    "baremail_tmp_files", "Files in tmp/.", "", (double)s->tmp_files);
	metric("baremail_tmp_stale_files",
	    "Files in tmp/ untouched for 36 hours.", "", (double)s->tmp_stale);
	printf("# HELP baremail_socket_active Whether a socket unit is "
	       "active.\n# TYPE baremail_socket_active gauge\n");
	for (size_t i = 0; i < N_SOCKETS; i++)
		if (s->socket_active[i] >= 0)
			printf("baremail_socket_active{unit=\"%s\"} %d\n",
			    socket_units[i], s->socket_active[i]);
}

int
admin_status(struct admin *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "prometheus", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct status s;
	bool	      prom = false;
	int	      c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+p", opts, NULL)) != -1) {
		if (c != 'p') {
			fprintf(
			    stderr, "usage: baremail status [--prometheus]\n");
			return EX_USAGE;
		}
		prom = true;
	}
	if (optind < argc) {
		fprintf(stderr, "usage: baremail status [--prometheus]\n");
		return EX_USAGE;
	}
	memset(&s, 0, sizeof(s));
	gather(a, &s);
	if (s.usable)
		ask_sockets(&s);
	else
		log_err("maildir %s is unusable: %s", a->cfg.maildir, s.why);
	if (prom)
		print_prometheus(&s);
	else
		print_human(a, &s);
	return s.usable ? 0 : EX_UNAVAILABLE;
}
