/*
 * The process around a session: who the peer is, the socket's options,
 * the one root rule and the one way ids change, and the one exit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "maildir.h"
#include "session-config.h"
#include "session-sys.h"

/* Copies at most len-1 characters of an untrusted string, keeping only safe ones. */
static void
copy_safe(char *buf, size_t len, const char *s)
{
	size_t n = 0;

	for (; *s != '\0' && n + 1 < len; s++)
		if (strchr("0123456789abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ.:_-",
			*s) != NULL)
			buf[n++] = *s;
	buf[n] = '\0';
}

/* The client as the environment describes it: xinetd, tcpserver. */
static void
peer_from_env(char *buf, size_t len)
{
	static const char *const vars[] = {
		"REMOTE_HOST",
		"REMOTE_ADDR",
		"TCPREMOTEIP",
	};
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);
		if (v == NULL)
			continue;
		copy_safe(buf, len, v);
		if (buf[0] != '\0')
			return;
	}
	snprintf(buf, len, "local");
}

bool
session_peer(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t		sl = sizeof(ss);
	char			addr[INET6_ADDRSTRLEN];

	if (len == 0)
		return false;
	memset(&ss, 0, sizeof(ss));
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0) {
		if (errno == ENOTSOCK || errno == EBADF) {
			peer_from_env(buf, len);
			return false;
		}
		/* A socket without a peer (not connected, or gone). */
		snprintf(buf, len, "unknown");
		return true;
	}
	switch (ss.ss_family) {
	case AF_INET: {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
		snprintf(buf, len, "%s", addr);
		break;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *sin6 =
		    (const struct sockaddr_in6 *)&ss;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			/* A dual-stack listener's IPv4 client: show it as one. */
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], addr,
			    sizeof(addr));
			snprintf(buf, len, "%s", addr);
		} else {
			inet_ntop(
			    AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
			snprintf(buf, len, "[%s]", addr);
		}
		break;
	}
	case AF_UNIX:
		snprintf(buf, len, "local");
		break;
	default:
		snprintf(buf, len, "unknown");
		break;
	}
	return true;
}

long long
session_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
session_nodelay(int fd)
{
	struct sockaddr_storage ss;
	socklen_t		sl = sizeof(ss);
	int			type = 0, one = 1;
	socklen_t		tl = sizeof(type);

	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 ||
	    type != SOCK_STREAM)
		return;
	/* Replies are already batched by struct sio_writer: Nagle only adds delay. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Root cannot come back: every id is the new one and setuid(0) fails. */
static bool
switched_for_good(uid_t uid, gid_t gid)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;

	if (getresuid(&ruid, &euid, &suid) != 0 ||
	    getresgid(&rgid, &egid, &sgid) != 0)
		return false;
	if (ruid != uid || euid != uid || suid != uid || rgid != gid ||
	    egid != gid || sgid != gid)
		return false;
	return setuid(0) == -1 && seteuid(0) == -1 &&
	    (gid == 0 || setgid(0) == -1);
}

int
session_switch_ids(
    uid_t uid, gid_t gid, const char *user, struct session_ids *saved)
{
	int e;

	if (saved != NULL) {
		saved->switched = false;
		saved->egid = getegid();
		saved->ngroups = getgroups(SESSION_MAX_GROUPS, saved->groups);
		if (saved->ngroups < 0)
			return -1;
	}
	/* Groups first: once the uid changes we may no longer set them. */
	if ((user != NULL ? initgroups(user, gid) : setgroups(1, &gid)) != 0)
		goto undo;
	if (saved == NULL) {
		if (setresgid(gid, gid, gid) != 0 ||
		    setresuid(uid, uid, uid) != 0)
			goto undo;
		if (!switched_for_good(uid, gid)) {
			errno = EPERM;
			return -1; /* half-switched: the caller must stop */
		}
		errno = 0;
		return 0;
	}
	if (setegid(gid) != 0 || seteuid(uid) != 0)
		goto undo;
	saved->switched = true;
	return 0;
undo:
	e = errno;
	if (saved != NULL) {
		saved->switched = true;
		session_ids_restore(saved);
	}
	errno = e;
	return -1;
}

void
session_ids_restore(struct session_ids *saved)
{
	if (!saved->switched)
		return;
	if (seteuid(0) < 0 || setegid(saved->egid) < 0 ||
	    setgroups((size_t)saved->ngroups, saved->groups) < 0)
		abort(); /* half-switched ids are no state to go on in */
	saved->switched = false;
}

int
session_drop_root(const char *user)
{
	struct passwd *pw;

	if (getuid() != 0 && geteuid() != 0)
		return 0;
	if (user == NULL || user[0] == '\0') {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	pw = getpwnam(user);
	if (pw == NULL) {
		if (errno == 0)
			errno = ENOENT;
		return -1;
	}
	/* Switching to another root account would drop nothing. */
	if (pw->pw_uid == 0) {
		errno = EPERM;
		return -1;
	}
	return session_switch_ids(pw->pw_uid, pw->pw_gid, user, NULL);
}

int
session_leave_root(const char *user, const char *maildir, const char *conf,
    char *why, size_t whylen)
{
	struct stat st;
	int	    e;

	if (getuid() != 0 && geteuid() != 0)
		return 0;
	if (user != NULL && user[0] != '\0') {
		if (session_drop_root(user) == 0)
			return 0;
		e = errno;
		snprintf(why, whylen, "cannot switch from root to user %s: %s",
		    user, e == ENOENT ? "no such user" : strerror(e));
		return e == ENOENT ? EX_CONFIG : EX_NOPERM;
	}
	/* No [user] name: the account that owns the maildir serves it. */
	if (stat(maildir, &st) == 0 && st.st_uid != 0) {
		if (session_switch_ids(st.st_uid, st.st_gid, NULL, NULL) == 0)
			return 0;
		snprintf(why, whylen,
		    "cannot switch from root to the owner (uid %lu) of %s: %s",
		    (unsigned long)st.st_uid, maildir, strerror(errno));
		return EX_NOPERM;
	}
	snprintf(why, whylen,
	    "refusing to run as root: set [user] name in %s to the account "
	    "to switch to (or make that account the owner of the maildir %s)",
	    conf, maildir);
	return EX_NOPERM;
}

static void (*exit_hook)(int status);

void
session_set_exit_hook(void (*hook)(int status))
{
	exit_hook = hook;
}

_Noreturn void
session_exit(int status)
{
	if (exit_hook != NULL)
		exit_hook(status);
	exit(status);
}

bool
session_disk_low(const struct session_config *cfg, struct maildir *md)
{
	uint64_t avail, size;

	if (maildir_space(md, &avail, &size) != 0)
		return false;
	return avail < config_min_free(cfg, size);
}
