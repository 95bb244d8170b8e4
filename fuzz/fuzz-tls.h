/*
 * The TLS stand-in of the session targets (fuzz-tls.c): the real
 * tls_*() functions are replaced at link time (-Wl,--wrap=tls_...).
 */
#ifndef FUZZ_TLS_H
#define FUZZ_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "session-config.h"

/*
 * Chooses, from the input's size (so a finding reproduces from its
 * file), whether a certificate is there and whether the handshake
 * succeeds; returns the --tls mode to run the session with (implicit only
 * when it greets).
 */
enum tls_mode fuzz_tls_begin(size_t size);
/* Whether this input's session has a certificate. */
bool fuzz_tls_available(void);

#endif
