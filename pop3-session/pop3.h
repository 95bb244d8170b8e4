/*
 * pop3-session: one POP3 connection (RFC 1939, RFC 2449, RFC 5034) over
 * a pair of file descriptors, on one maildir.
 *
 * The whole session runs in process from pop3_session_run(), so a fuzzer
 * can drive it: everything a session allocates hangs off struct pop3_conn
 * and is released by pop3_conn_free(), even after a die_*() helper left
 * through session_exit() (which a fuzzer hooks with longjmp).  No state
 * survives a session.
 */
#ifndef POP3_H
#define POP3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maildir.h"
#include "session-config.h"
#include "session-io.h"

/*
 * Longest line read, without its CRLF.  RFC 2449 limits commands to 255
 * octets, but SASL responses (RFC 5034) may be longer, and a line that is
 * too long is drained and answered, never cut into an argument.
 */
#define POP3_LINE_MAX	8192
#define POP3_MAX_ERRORS 20    /* consecutive -ERR replies, then close */
#define POP3_CHUNK	32768 /* RETR reads a message this much at a time */
#define POP3_USER_MAX	64    /* user name kept for the log */

/* The RFC 1939 states, as bits so a command can be legal in several. */
enum pop3_state {
	POP3_ST_AUTH = 1 << 0,	 /* AUTHORIZATION */
	POP3_ST_TRANS = 1 << 1,	 /* TRANSACTION */
	POP3_ST_UPDATE = 1 << 2, /* UPDATE: after QUIT, nothing is read */
};

/* What this session did to a message of its snapshot (c->marks[i]). */
#define POP3_M_DELETED	 0x01 /* DELE: removed at QUIT */
#define POP3_M_RETRIEVED 0x02 /* RETR sent it all: S flag at QUIT */
#define POP3_M_GONE	 0x04 /* another process removed its file */
#define POP3_M_CHECKED	 0x08 /* its size from the cache matched the file */
#define POP3_M_GUESSED	 0x10 /* LIST could not read it: its size a guess */

struct pop3_conn {
	const struct session_config *cfg;
	struct maildir		    *md;
	struct sio_reader	     in;
	enum pop3_state		     state;
	bool			     have_list; /* the snapshot is taken */
	bool		    done;      /* the session ends after this command */
	bool		    is_locked; /* [pop3] exclusive lock held */
	int		    status;    /* exit status of the session */
	unsigned	    errors;    /* consecutive -ERR replies */
	const char	   *end;       /* why the session ended, for the log */
	struct maildir_list list;      /* the snapshot, oldest first */
	uint8_t		   *marks; /* POP3_M_* per message of the snapshot */
	char		   *rbuf;  /* RETR: POP3_CHUNK bytes read */
	char		   *cbuf;  /* RETR: their CRLF form */
	char		    peer[64];
	char		    user[POP3_USER_MAX + 1];
	char	      timestamp[320]; /* "<pid.sec@host>", APOP and CRAM-MD5 */
	unsigned long ncommands;
	unsigned long nretr;
	unsigned long ndele;  /* removed at QUIT */
	uint64_t      octets; /* message octets sent */
	struct sio_writer out;
	struct tls_conn	 *tls; /* after STLS or implicit TLS, else NULL */
};

/*
 * Prepares a session on maildir md (opened by the caller, who keeps owning
 * it), reading commands from in_fd and replying on out_fd, with the
 * timeouts and options of cfg.  Returns -1 (ENOMEM) when the line buffer
 * cannot be allocated.
 */
int pop3_conn_init(struct pop3_conn *c, const struct session_config *cfg,
    struct maildir *md, int in_fd, int out_fd);

/* Greets, runs commands until QUIT, EOF, a timeout or too many errors; returns the exit status. */
int pop3_session_run(struct pop3_conn *c);

/* Releases what the session allocated; safe twice and after session_exit(). */
void pop3_conn_free(struct pop3_conn *c);

/* ---- shared by the command files (pop3-session.c) ---- */

const char *pop3_state_name(enum pop3_state state);
void	    pop3_set_state(struct pop3_conn *c, enum pop3_state state);

/* "+OK text": resets the count of consecutive errors. */
void pop3_ok(struct pop3_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "-ERR text" for what the client sent: counts toward POP3_MAX_ERRORS. */
void pop3_err(struct pop3_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "-ERR [SYS/TEMP] text" for what the disk or the machine did. */
void pop3_err_sys(struct pop3_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Out of memory: "-ERR", flush, log, session_exit(EX_OSERR). */
_Noreturn void pop3_die_oom(struct pop3_conn *c);

/*
 * Enters TRANSACTION: the exclusive lock when configured, new/ -> cur/,
 * the snapshot.  On failure it has replied -ERR and returns -1.
 */
int pop3_login(struct pop3_conn *c, const char *how);

/* Reads one more line for a SASL exchange; <0 (session over) as sio_read_line(). */
ssize_t pop3_read_line(struct pop3_conn *c, char **line_r);

/* Splits off the next space-separated argument of *args, or NULL. */
char *pop3_next_arg(char **args);

/*
 * The size of message i as RETR sends it: from W= in its name, else read
 * once (the file of another program) and remembered in the snapshot.
 */
uint64_t pop3_msg_size(struct pop3_conn *c, size_t i);

/*
 * Parses a message number argument strictly (digits only, 1..N, not
 * deleted); on failure replies -ERR and returns -1, else the index.
 */
long pop3_msg_arg(struct pop3_conn *c, const char *arg);

/* ---- command handlers (pop3-auth.c, pop3-commands.c, pop3-retr.c) ---- */

void pop3_cmd_user(struct pop3_conn *c, char *args);
void pop3_cmd_pass(struct pop3_conn *c, char *args);
void pop3_cmd_apop(struct pop3_conn *c, char *args);
void pop3_cmd_auth(struct pop3_conn *c, char *args);
void pop3_cmd_capa(struct pop3_conn *c, char *args);
void pop3_cmd_stat(struct pop3_conn *c, char *args);
void pop3_cmd_list(struct pop3_conn *c, char *args);
void pop3_cmd_uidl(struct pop3_conn *c, char *args);
void pop3_cmd_dele(struct pop3_conn *c, char *args);
void pop3_cmd_rset(struct pop3_conn *c, char *args);
void pop3_cmd_noop(struct pop3_conn *c, char *args);
void pop3_cmd_quit(struct pop3_conn *c, char *args);
void pop3_cmd_retr(struct pop3_conn *c, char *args);
void pop3_cmd_top(struct pop3_conn *c, char *args);
void pop3_cmd_stls(struct pop3_conn *c, char *args);

/* ---- pop3-stls.c ---- */

/* CAPA's STLS line: on a --tls=starttls listener with a certificate, before TLS. */
bool pop3_tls_offered(const struct pop3_conn *c);
/*
 * Implicit TLS (--tls=implicit): the handshake before the greeting.
 * Returns 0, or -1 when the session must end now (logged; c->status is
 * EX_CONFIG without a usable certificate).
 */
int pop3_tls_implicit(struct pop3_conn *c);


#endif
