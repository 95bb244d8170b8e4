/*
 * TLS under the line reader and the reply writer (session-io.h), for
 * STARTTLS, STLS and implicit TLS alike.
 *
 * OpenSSL 3 is loaded with dlopen() when the first TLS connection starts,
 * never before: a session that stays in plain text maps no TLS library,
 * and starts as fast as it did without TLS support.  Each connection is a
 * new process, so a certificate replaced on disk is used from the next
 * connection on.
 *
 *	struct tls_conn *t = tls_new(cfg, why, sizeof why);  // NULL: 454/-ERR
 *	...reply "ready", sio_flush(), sio_discard()...
 *	if (tls_handshake(t, &in, &out, timeout, why, sizeof why) != 0)
 *		end the session (the connection is unusable);
 *	...the session goes on, encrypted...
 *	tls_free(t);	// after sio_hangup(), which sends close_notify
 */
#ifndef SESSION_TLS_H
#define SESSION_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "session-config.h"
#include "session-io.h"

/* The longest a handshake may take, unless the session's timeout is shorter. */
#define TLS_HANDSHAKE_TIMEOUT 30

struct tls_conn;

/*
 * True when cfg's certificate and key files are readable by this
 * process: STARTTLS and STLS are offered only then.  Loads nothing.
 */
bool tls_available(const struct session_config *cfg);

/*
 * Whether a session on cfg offers STARTTLS or STLS: in starttls mode,
 * not yet under TLS (is_active false), with the files readable.
 */
bool tls_offered(const struct session_config *cfg, bool is_active);

/*
 * Loads the TLS library (once per process), the certificate and the key.
 * Returns the connection to hand to tls_handshake(), or NULL with the
 * reason in why (no library, unreadable or mismatched files, ENOMEM).
 */
struct tls_conn *tls_new(
    const struct session_config *cfg, char *why, size_t whylen);

/*
 * Runs the server side of the handshake on in's and out's descriptors
 * (made non-blocking), giving up after timeout_s seconds, then puts TLS
 * under in and out.  out must be flushed and in's plain-text input
 * discarded first.  Returns 0, or -1 with the reason in why: the
 * connection is then unusable and the session must end.
 */
int tls_handshake(struct tls_conn *t, struct sio_reader *in,
    struct sio_writer *out, unsigned timeout_s, char *why, size_t whylen);

/*
 * The protocol-neutral rest of STARTTLS and STLS, once the server's yes
 * has been flushed (verb names the command in logs), and of implicit TLS
 * (verb NULL): forgets the plain text the client sent behind its command,
 * runs the handshake within tls_handshake_timeout(session_s) and logs the
 * version and cipher, all with peer.  Returns 0; or -1 with the failure
 * logged and t freed: the session must end.
 */
int tls_start(struct tls_conn *t, struct sio_reader *in, struct sio_writer *out,
    unsigned session_s, const char *peer, const char *verb);

/* "TLSv1.3", and the cipher ("TLS_AES_128_GCM_SHA256"), once handshaken. */
const char *tls_version(const struct tls_conn *t);
const char *tls_cipher(const struct tls_conn *t);

/* Frees the connection (its layer must no longer be in use); NULL is fine. */
void tls_free(struct tls_conn *t);

/* The seconds a handshake may take in a session whose timeout is session_s. */
unsigned tls_handshake_timeout(unsigned session_s);

#endif
