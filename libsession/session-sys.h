/*
 * The process around a session: the peer, the socket, privileges, exit.
 */
#ifndef SESSION_SYS_H
#define SESSION_SYS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Describes the client: the address of the socket on fd (getpeername), else
 * $REMOTE_HOST / $REMOTE_ADDR (xinetd, tcpserver), else "local".  Writes at
 * most len bytes, e.g. "127.0.0.1" or "[::1]".  Returns true when fd is a
 * socket.
 */
bool session_peer(int fd, char *buf, size_t len);

/* Sets TCP_NODELAY when fd is a TCP socket; harmless otherwise. */
void session_nodelay(int fd);

/*
 * When running as root: switches to user (setgid, initgroups, setuid) and
 * verifies that root cannot be regained.  Fails (-1, errno) when user is
 * empty or unknown, or a step fails.  Not root: does nothing, returns 0.
 */
int session_drop_root(const char *user);

/*
 * Ends the process with status.  All die_*() helpers end here, so a fuzz
 * target can catch the end of a session instead of exiting (it installs a
 * hook that longjmp()s).
 */
_Noreturn void session_exit(int status);
/* hook must not return (C11 cannot say so in a parameter's type); NULL resets. */
void session_set_exit_hook(void (*hook)(int status));

#endif
