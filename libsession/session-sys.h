/*
 * The process around a session: the peer, the socket, privileges, exit.
 */
#ifndef SESSION_SYS_H
#define SESSION_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>

/*
 * Describes the client: the address of the socket on fd (getpeername), else
 * $REMOTE_HOST / $REMOTE_ADDR (xinetd, tcpserver), else "local".  Writes at
 * most len bytes, e.g. "127.0.0.1" or "[::1]".  Returns true when fd is a
 * socket.
 */
bool session_peer(int fd, char *buf, size_t len);

/*
 * Milliseconds on the monotonic clock: what the line reader's and the TLS
 * layer's deadlines are counted in.
 */
long long session_now_ms(void);

/* Sets TCP_NODELAY when fd is a TCP socket; harmless otherwise. */
void session_nodelay(int fd);

#define SESSION_MAX_GROUPS 256

/* Root's ids, kept while it acts as another account for a while. */
struct session_ids {
	bool  switched;
	gid_t egid;
	int   ngroups;
	gid_t groups[SESSION_MAX_GROUPS];
};

/*
 * The one way ids change.  Becomes uid:gid, with the supplementary groups
 * of user (initgroups) or gid alone when user is NULL.  saved NULL: for
 * good (real, effective and saved ids), verified that root cannot come
 * back (on failure the caller must stop: some ids may have changed).
 * Else only the effective ids, until session_ids_restore(saved); on
 * failure the ids are as they were.  Returns 0, or -1 (errno).
 */
int session_switch_ids(
    uid_t uid, gid_t gid, const char *user, struct session_ids *saved);
/* Back to the ids saved by session_switch_ids(); aborts when it cannot. */
void session_ids_restore(struct session_ids *saved);

/*
 * When running as root: switches for good to user (setgid, initgroups,
 * setuid) and verifies that root cannot be regained.  Fails (-1, errno)
 * when user is empty or unknown, or a step fails.  Not root: does nothing,
 * returns 0.
 */
int session_drop_root(const char *user);

/*
 * The one root rule of every program that reads what a client sends:
 * that never happens as root.  Run as root, switches for good to user
 * ([user] name) when set, else to the owner of maildir when it exists and
 * is not root; else refuses.  conf names the configuration file for the
 * message.  Not root: does nothing.  Returns 0, or the exit status
 * (EX_CONFIG for an unknown user, else EX_NOPERM) with the reason in why.
 */
int session_leave_root(const char *user, const char *maildir, const char *conf,
    char *why, size_t whylen);

/*
 * The disk floor, [smtp] min_free: true when the file system holding the
 * maildir has less free space (maildir_space()) than config_min_free()
 * asks for.  A file system that cannot say is taken as not low (the write
 * itself will tell).
 */
struct session_config;
struct maildir;
bool session_disk_low(const struct session_config *cfg, struct maildir *md);

/*
 * Ends the process with status.  All die_*() helpers end here, so a fuzz
 * target can catch the end of a session instead of exiting (it installs a
 * hook that longjmp()s).
 */
_Noreturn void session_exit(int status);
/* hook must not return (C11 cannot say so in a parameter's type); NULL resets. */
void session_set_exit_hook(void (*hook)(int status));

#endif
