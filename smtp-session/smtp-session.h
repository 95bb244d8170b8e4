/*
 * libsmtp: one ESMTP session, drivable in-process.
 *
 * smtp-session's main() and baremail-sendmail -bs both run a session with
 * these three calls; a fuzz target does too.  Nothing here keeps global
 * state across sessions: everything lives in struct smtp_conn.
 *
 *	struct smtp_conn *c = smtp_conn_new(&cfg, &md, 0, 1);
 *	int status = smtp_session_run(c);	// greets, serves, returns
 *	smtp_conn_free(c);
 *
 * A session that must stop early (timeout, too many errors, out of memory)
 * replies 421, flushes and calls session_exit() (session-sys.h) with the
 * status; a fuzz target's exit hook may longjmp() out, after which
 * smtp_conn_free() is still safe and removes any half-written tmp file.
 */
#ifndef SMTP_SESSION_H
#define SMTP_SESSION_H

struct session_config;
struct maildir;
struct smtp_conn;

/*
 * Prepares a session reading commands from in_fd and replying on out_fd,
 * delivering into md (already open; the caller keeps owning it and cfg,
 * which must outlive the session).  The peer named in Received: is that
 * of in_fd (session_peer()).  Returns NULL when out of memory.
 */
struct smtp_conn *smtp_conn_new(const struct session_config *cfg,
    struct maildir *md, int in_fd, int out_fd);

/*
 * Greets and serves commands until QUIT, end of input or the client's
 * going away, and returns 0, the exit status of all of these (a clean EOF
 * even inside DATA, where nothing is stored).  A timeout or too many
 * errors (0) and running out of memory (EX_OSERR) end the session from
 * inside, through session_exit().  Logs one summary line (peer, messages,
 * bytes, result).
 */
int smtp_session_run(struct smtp_conn *c);

/* Aborts any open delivery and frees the session; safe with NULL. */
void smtp_conn_free(struct smtp_conn *c);

/*
 * The whole of a program that serves SMTP once root is left behind
 * (smtp-session, baremail-sendmail -bs): opens cfg->maildir, runs one
 * session on in_fd/out_fd and closes it again.  When the maildir cannot
 * be opened, or memory runs out, the client gets one 421 line instead of
 * a greeting, so it retries later.  Returns the exit status: the
 * session's, else EX_TEMPFAIL (maildir) or EX_OSERR (memory).
 */
int smtp_serve(const struct session_config *cfg, int in_fd, int out_fd);

#endif
