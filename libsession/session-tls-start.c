/*
 * The protocol-neutral steps of STARTTLS, STLS and implicit TLS (see
 * session-tls.h).  A file of their own: their calls into session-tls.c
 * cross objects, so the fuzz build's link-time stand-ins for the TLS
 * layer (fuzz/fuzz-tls.c, ld --wrap) replace them here too.
 */
#include <stdbool.h>
#include <stddef.h>

#include "session-config.h"
#include "session-io.h"
#include "session-log.h"
#include "session-tls.h"

bool
tls_offered(const struct session_config *cfg, bool is_active)
{
	return cfg->tls_mode == TLS_STARTTLS && !is_active &&
	    tls_available(cfg);
}

int
tls_start(struct tls_conn *t, struct sio_reader *in, struct sio_writer *out,
    unsigned session_s, const char *peer, const char *verb)
{
	char why[512];

	if (verb != NULL) {
		/*
		 * Whatever came behind the command in plain text was sent
		 * before the client could know we agreed: an attacker's
		 * injection (Postfix's CVE-2011-0411), never executed as if
		 * it came over TLS.
		 */
		size_t dropped = sio_discard(in);

		if (dropped > 0)
			log_warn("%s: discarded %zu plain-text bytes sent "
				 "after %s",
			    peer, dropped, verb);
	}
	if (tls_handshake(t, in, out, tls_handshake_timeout(session_s), why,
		sizeof(why)) != 0) {
		log_info("%s: %s: %s", peer,
		    verb != NULL ? verb : "implicit TLS", why);
		tls_free(t);
		return -1;
	}
	log_info("%s: %s: %s, %s", peer, verb != NULL ? verb : "TLS",
	    tls_version(t), tls_cipher(t));
	return 0;
}
