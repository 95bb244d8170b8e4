/*
 * A stand-in for libsession's TLS (session-tls.c) in the session targets,
 * linked with -Wl,--wrap=tls_available,--wrap=tls_new,... : the fuzzer
 * drives the commands before and after STARTTLS/STLS, and a session in the
 * TLS-active state, without OpenSSL (the TLS library itself is not what
 * is fuzzed).  The "handshake" puts an identity layer under the reader
 * and the writer, so the client's bytes after STARTTLS are read through
 * the layer just as decrypted ones would be.  Whether a certificate is
 * there and whether the handshake succeeds follow from the input (see
 * fuzz_tls_begin()), so a finding reproduces from its file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz-common.h"
#include "fuzz-tls.h"
#include "session-tls.h"

/* Not session-tls.c's struct: the real functions never see this one. */
struct tls_conn {
	struct sio_layer layer;
	int		 fd_in, fd_out;
};

static bool stub_available, stub_handshake_ok;

bool		 __wrap_tls_available(const struct session_config *cfg);
struct tls_conn *__wrap_tls_new(
    const struct session_config *cfg, char *why, size_t whylen);
int	    __wrap_tls_handshake(struct tls_conn *t, struct sio_reader *in,
	    struct sio_writer *out, unsigned timeout_s, char *why, size_t whylen);
const char *__wrap_tls_version(const struct tls_conn *t);
const char *__wrap_tls_cipher(const struct tls_conn *t);
void	    __wrap_tls_free(struct tls_conn *t);

enum tls_mode
fuzz_tls_begin(size_t size)
{
	stub_available = size % 3 != 0;
	stub_handshake_ok = size % 7 != 0;
	/* Implicit TLS only where it greets: else there is nothing to check. */
	if (size % 5 == 0 && stub_available && stub_handshake_ok)
		return TLS_IMPLICIT;
	return TLS_STARTTLS;
}

bool
fuzz_tls_available(void)
{
	return stub_available;
}

bool
__wrap_tls_available(const struct session_config *cfg)
{
	(void)cfg;
	return stub_available;
}

struct tls_conn *
__wrap_tls_new(const struct session_config *cfg, char *why, size_t whylen)
{
	struct tls_conn *t;

	(void)cfg;
	if (!stub_available) {
		snprintf(why, whylen, "no certificate (fuzz)");
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		snprintf(why, whylen, "out of memory");
	return t;
}

static ssize_t
stub_read(void *arg, void *buf, size_t len)
{
	struct tls_conn *t = arg;

	/* The wrapped read(): the input's chunks, as fuzz-io.c serves them. */
	return read(t->fd_in, buf, len);
}

static ssize_t
stub_write(void *arg, const void *buf, size_t len)
{
	struct tls_conn *t = arg;

	return write(t->fd_out, buf, len);
}

static size_t
stub_pending(void *arg)
{
	(void)arg;
	return 0;
}

int
__wrap_tls_handshake(struct tls_conn *t, struct sio_reader *in,
    struct sio_writer *out, unsigned timeout_s, char *why, size_t whylen)
{
	(void)timeout_s;
	if (!stub_handshake_ok) {
		snprintf(why, whylen, "handshake: failed (fuzz)");
		return -1;
	}
	t->fd_in = in->fd;
	t->fd_out = out->fd;
	t->layer = (struct sio_layer){
		.read = stub_read,
		.write = stub_write,
		.pending = stub_pending,
		.close = NULL,
		.arg = t,
	};
	sio_reader_set_layer(in, &t->layer);
	sio_writer_set_layer(out, &t->layer);
	return 0;
}

const char *
__wrap_tls_version(const struct tls_conn *t)
{
	(void)t;
	return "TLSv1.3";
}

const char *
__wrap_tls_cipher(const struct tls_conn *t)
{
	(void)t;
	return "FUZZ_STUB";
}

void
__wrap_tls_free(struct tls_conn *t)
{
	free(t);
}
