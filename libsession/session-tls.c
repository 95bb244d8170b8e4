/*
 * TLS with OpenSSL 3, loaded by dlopen() on the first handshake (see
 * session-tls.h).  The functions used are resolved into one table whose
 * members are declared from OpenSSL's own prototypes, so the compiler
 * checks every call as if the library were linked.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/opensslv.h>
#include <openssl/ssl.h>

#include "session-log.h"
#include "session-sys.h"
#include "session-tls.h"

_Static_assert(OPENSSL_VERSION_MAJOR == 3, "built for OpenSSL 3 (libssl.so.3)");
#define TLS_LIBRARY "libssl.so.3"

/*
 * TLS 1.2 suites when the client has no TLS 1.3: forward-secret AEAD
 * only, the cheap ones first (AES-128-GCM runs on AES-NI; ChaCha20 for
 * small CPUs without it).  TLS 1.3's suites are all of that kind already.
 */
#define TLS12_CIPHERS                                                \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384"
#define TLS13_SUITES                                           \
	"TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:" \
	"TLS_AES_256_GCM_SHA384"
/* Key exchange: elliptic curves only, the cheap X25519 first (no ffdhe). */
#define TLS_GROUPS "X25519:P-256:X448:P-384:P-521"

/* Every OpenSSL function used, resolved by name from libssl.so.3. */
#define TLS_FUNCTIONS(X)                      \
	X(OPENSSL_init_ssl)                   \
	X(TLS_server_method)                  \
	X(SSL_CTX_new)                        \
	X(SSL_CTX_free)                       \
	X(SSL_CTX_ctrl)                       \
	X(SSL_CTX_set_options)                \
	X(SSL_CTX_set_num_tickets)            \
	X(SSL_CTX_set_cipher_list)            \
	X(SSL_CTX_set_ciphersuites)           \
	X(SSL_CTX_set_default_passwd_cb)      \
	X(SSL_CTX_use_certificate_chain_file) \
	X(SSL_CTX_use_PrivateKey_file)        \
	X(SSL_CTX_check_private_key)          \
	X(SSL_new)                            \
	X(SSL_free)                           \
	X(SSL_set_rfd)                        \
	X(SSL_set_wfd)                        \
	X(SSL_accept)                         \
	X(SSL_read)                           \
	X(SSL_write)                          \
	X(SSL_pending)                        \
	X(SSL_shutdown)                       \
	X(SSL_get_error)                      \
	X(SSL_get_version)                    \
	X(SSL_get_current_cipher)             \
	X(SSL_CIPHER_get_name)                \
	X(ERR_get_error)                      \
	X(ERR_clear_error)                    \
	X(ERR_reason_error_string)

/* A member named f, of the type of a pointer to OpenSSL's f. */
#define TLS_DECLARE(f) \
	__typeof__(f) *f; /* NOLINT(bugprone-macro-parentheses) */
static struct {
	TLS_FUNCTIONS(TLS_DECLARE)
} ossl;
#define TLS_NAME(f) #f,
static const char *const tls_names[] = { TLS_FUNCTIONS(TLS_NAME) };

enum tls_lib_state {
	TLS_LIB_UNTRIED, /* no TLS asked for yet in this process */
	TLS_LIB_LOADED,
	TLS_LIB_MISSING, /* dlopen() or a symbol failed: why in tls_lib_why */
};
static enum tls_lib_state tls_lib;
static char		  tls_lib_why[256];

struct tls_conn {
	SSL_CTX		*ctx;
	SSL		*ssl;
	struct sio_layer layer;
	int		 rfd, wfd;
	unsigned	 timeout_s; /* a wait inside a read or a write */
	bool		 is_broken; /* a fatal error: no close_notify */
	char		 version[16];
	char		 cipher[64];
};

/* Loads libssl and fills ossl; 0, or -1 with the reason in tls_lib_why. */
static int
tls_load(void)
{
	void **slot = (void **)(void *)&ossl;
	void  *h;

	if (tls_lib == TLS_LIB_LOADED)
		return 0;
	if (tls_lib == TLS_LIB_MISSING)
		return -1;
	tls_lib = TLS_LIB_MISSING;
	/* RTLD_LOCAL: nothing else in the process sees OpenSSL's names. */
	h = dlopen(TLS_LIBRARY, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		snprintf(tls_lib_why, sizeof(tls_lib_why), "%s", dlerror());
		return -1;
	}
	_Static_assert(sizeof(ossl) ==
		sizeof(tls_names) / sizeof(tls_names[0]) * sizeof(void *),
	    "one pointer per name");
	for (size_t i = 0; i < sizeof(tls_names) / sizeof(tls_names[0]); i++) {
		/* POSIX lets a data pointer carry a function's address. */
		slot[i] = dlsym(h, tls_names[i]);
		if (slot[i] == NULL) {
			snprintf(tls_lib_why, sizeof(tls_lib_why), "%s: no %s",
			    TLS_LIBRARY, tls_names[i]);
			return -1;
		}
	}
	/*
	 * Not the system's openssl.cnf: this file sets its own protocol
	 * and cipher policy, and reading the file costs every connection.
	 * The error strings stay: OpenSSL ignores a request to load them
	 * after it was told not to (so not only when an error needs one),
	 * and "key values mismatch" in the log is worth their 0.2 MB.
	 */
	if (ossl.OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) != 1) {
		snprintf(tls_lib_why, sizeof(tls_lib_why),
		    "OPENSSL_init_ssl failed");
		return -1;
	}
	tls_lib = TLS_LIB_LOADED;
	return 0;
}

/* OpenSSL's reason for the last failure (its error queue), else dflt. */
static const char *
tls_reason(const char *dflt)
{
	unsigned long e = ossl.ERR_get_error();
	const char   *s;

	/* The first error is the cause; drain the rest. */
	while (ossl.ERR_get_error() != 0)
		;
	if (e == 0)
		return dflt;
	s = ossl.ERR_reason_error_string(e);
	return s != NULL ? s : dflt;
}

bool
tls_available(const struct session_config *cfg)
{
	return access(cfg->tls_certificate, R_OK) == 0 &&
	    access(cfg->tls_key, R_OK) == 0;
}

/* An encrypted key would make OpenSSL prompt on a terminal: refuse it. */
static int
no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	return 0;
}

struct tls_conn *
tls_new(const struct session_config *cfg, char *why, size_t whylen)
{
	struct tls_conn *t;
	const char	*step;

	if (tls_load() != 0) {
		snprintf(why, whylen, "cannot load %s: %s", TLS_LIBRARY,
		    tls_lib_why);
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	t->rfd = t->wfd = -1;
	ossl.ERR_clear_error();
	t->ctx = ossl.SSL_CTX_new(ossl.TLS_server_method());
	if (t->ctx == NULL) {
		step = "SSL_CTX_new";
		goto fail;
	}
	/* TLS 1.2 and 1.3 only; the maximum is the library's newest. */
	ossl.SSL_CTX_ctrl(
	    t->ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL);
	/*
	 * A hang-up without close_notify is an end of input like any
	 * other: SMTP and POP3 mark their own ends (the final dot, QUIT).
	 */
	ossl.SSL_CTX_set_options(t->ctx,
	    SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
		SSL_OP_IGNORE_UNEXPECTED_EOF);
	/*
	 * One connection per process: a session cache or a TLS 1.3 ticket
	 * could never be used again, and costs work at every handshake.
	 */
	ossl.SSL_CTX_ctrl(
	    t->ctx, SSL_CTRL_SET_SESS_CACHE_MODE, SSL_SESS_CACHE_OFF, NULL);
	ossl.SSL_CTX_set_num_tickets(t->ctx, 0);
	/*
	 * Partial writes behave like write(2), which the reply writer
	 * handles; idle buffers go back to the heap (smaller sessions).
	 */
	ossl.SSL_CTX_ctrl(t->ctx, SSL_CTRL_MODE,
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
		SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS,
	    NULL);
	if (ossl.SSL_CTX_set_cipher_list(t->ctx, TLS12_CIPHERS) != 1 ||
	    ossl.SSL_CTX_set_ciphersuites(t->ctx, TLS13_SUITES) != 1 ||
	    ossl.SSL_CTX_ctrl(
		t->ctx, SSL_CTRL_SET_GROUPS_LIST, 0, (void *)TLS_GROUPS) != 1) {
		step = "cipher configuration";
		goto fail;
	}
	ossl.SSL_CTX_set_default_passwd_cb(t->ctx, no_passphrase);
	if (ossl.SSL_CTX_use_certificate_chain_file(
		t->ctx, cfg->tls_certificate) != 1) {
		snprintf(why, whylen, "certificate %s: %s",
		    cfg->tls_certificate, tls_reason("cannot be read"));
		tls_free(t);
		return NULL;
	}
	if (ossl.SSL_CTX_use_PrivateKey_file(
		t->ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1) {
		snprintf(why, whylen, "key %s: %s", cfg->tls_key,
		    tls_reason("cannot be read"));
		tls_free(t);
		return NULL;
	}
	if (ossl.SSL_CTX_check_private_key(t->ctx) != 1) {
		snprintf(why, whylen, "key %s does not match certificate %s",
		    cfg->tls_key, cfg->tls_certificate);
		tls_free(t);
		return NULL;
	}
	t->ssl = ossl.SSL_new(t->ctx);
	if (t->ssl == NULL) {
		step = "SSL_new";
		goto fail;
	}
	return t;
fail:
	snprintf(why, whylen, "%s: %s", step, tls_reason("failed"));
	tls_free(t);
	return NULL;
}

/*
 * Waits until fd is ready for events or deadline (session_now_ms() time)
 * passes.  Returns 0 when ready, -1 on timeout (errno ETIMEDOUT) or error.
 */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	for (;;) {
		long long left = deadline - session_now_ms();
		int	  rc;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		rc = poll(&pfd, 1, left > 3600000 ? 3600000 : (int)left);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

static long long
deadline_in(unsigned timeout_s)
{
	return session_now_ms() +
	    (long long)(timeout_s == 0 ? 86400 : timeout_s) * 1000;
}

#define TLS_AGAIN (-2) /* tls_io_result(): call SSL_read/SSL_write again */

/*
 * What an SSL_read or SSL_write that returned rc <= 0 means, as read(2)
 * would say it: 0 (the end, read only), -1 with errno (EAGAIN: poll the
 * descriptor), or TLS_AGAIN after waiting for the other direction.
 */
static ssize_t
tls_io_result(struct tls_conn *t, int rc, bool is_read)
{
	const char *what = is_read ? "read" : "write";

	switch (ossl.SSL_get_error(t->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		if (is_read) {
			errno = EAGAIN;
			return -1;
		}
		/* A write that needs the peer's bytes first (a key update). */
		if (wait_fd(t->rfd, POLLIN, deadline_in(t->timeout_s)) == 0)
			return TLS_AGAIN;
		break;
	case SSL_ERROR_WANT_WRITE:
		if (!is_read) {
			errno = EAGAIN;
			return -1;
		}
		if (wait_fd(t->wfd, POLLOUT, deadline_in(t->timeout_s)) == 0)
			return TLS_AGAIN;
		break;
	case SSL_ERROR_ZERO_RETURN:
		/* close_notify, or a hang-up without it (IGNORE_UNEXPECTED_EOF). */
		return 0;
	case SSL_ERROR_SYSCALL:
		t->is_broken = true;
		if (errno == 0)
			errno = ECONNRESET;
		log_info("TLS %s: %s", what, strerror(errno));
		return -1;
	default: /* SSL_ERROR_SSL: an alert from the peer, a bad record */
		t->is_broken = true;
		log_info("TLS %s: %s", what, tls_reason("protocol error"));
		errno = EPROTO;
		return -1;
	}
	t->is_broken = true;
	log_info("TLS %s: %s", what,
	    errno == ETIMEDOUT ? "timed out" : strerror(errno));
	return -1;
}

static ssize_t
tls_read(void *arg, void *buf, size_t len)
{
	struct tls_conn *t = arg;
	ssize_t		 n;

	do {
		ossl.ERR_clear_error();
		n = ossl.SSL_read(
		    t->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
		if (n > 0)
			return n;
		n = tls_io_result(t, (int)n, true);
	} while (n == TLS_AGAIN);
	return n;
}

static ssize_t
tls_write(void *arg, const void *buf, size_t len)
{
	struct tls_conn *t = arg;
	ssize_t		 n;

	do {
		ossl.ERR_clear_error();
		n = ossl.SSL_write(
		    t->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
		if (n > 0)
			return n;
		n = tls_io_result(t, (int)n, false);
	} while (n == TLS_AGAIN);
	if (n == 0) {
		/* The peer's close_notify: nothing more may be written. */
		errno = EPIPE;
		n = -1;
	}
	return n;
}

static size_t
tls_pending(void *arg)
{
	struct tls_conn *t = arg;
	int		 n = ossl.SSL_pending(t->ssl);

	return n > 0 ? (size_t)n : 0;
}

/* Our close_notify; the peer's is not waited for (we hang up next). */
static void
tls_close(void *arg)
{
	struct tls_conn *t = arg;

	if (t->is_broken)
		return;
	ossl.ERR_clear_error();
	(void)ossl.SSL_shutdown(t->ssl);
}

unsigned
tls_handshake_timeout(unsigned session_s)
{
	return session_s != 0 && session_s < TLS_HANDSHAKE_TIMEOUT
	    ? session_s
	    : TLS_HANDSHAKE_TIMEOUT;
}

int
tls_handshake(struct tls_conn *t, struct sio_reader *in, struct sio_writer *out,
    unsigned timeout_s, char *why, size_t whylen)
{
	long long deadline = deadline_in(timeout_s);
	int	  rc;

	t->rfd = in->fd;
	t->wfd = out->fd;
	t->timeout_s = out->timeout_s;
	/* Every wait is a poll() with a deadline, never a blocking read. */
	for (int i = 0; i < 2; i++) {
		int fd = i == 0 ? t->rfd : t->wfd;
		int fl = fcntl(fd, F_GETFL);

		if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1) {
			snprintf(why, whylen, "fcntl: %s", strerror(errno));
			return -1;
		}
	}
	ossl.ERR_clear_error();
	if (ossl.SSL_set_rfd(t->ssl, t->rfd) != 1 ||
	    ossl.SSL_set_wfd(t->ssl, t->wfd) != 1) {
		snprintf(why, whylen, "SSL_set_fd: %s", tls_reason("failed"));
		return -1;
	}
	for (;;) {
		ossl.ERR_clear_error();
		rc = ossl.SSL_accept(t->ssl);
		if (rc == 1)
			break;
		switch (ossl.SSL_get_error(t->ssl, rc)) {
		case SSL_ERROR_WANT_READ:
			rc = wait_fd(t->rfd, POLLIN, deadline);
			break;
		case SSL_ERROR_WANT_WRITE:
			rc = wait_fd(t->wfd, POLLOUT, deadline);
			break;
		case SSL_ERROR_SYSCALL:
			t->is_broken = true;
			snprintf(why, whylen, "handshake: %s",
			    errno != 0 ? strerror(errno)
				       : "the client hung up");
			return -1;
		default:
			t->is_broken = true;
			snprintf(
			    why, whylen, "handshake: %s", tls_reason("failed"));
			return -1;
		}
		if (rc != 0) {
			t->is_broken = true;
			snprintf(why, whylen, "handshake: %s",
			    errno == ETIMEDOUT ? "timed out" : strerror(errno));
			return -1;
		}
	}
	snprintf(
	    t->version, sizeof(t->version), "%s", ossl.SSL_get_version(t->ssl));
	snprintf(t->cipher, sizeof(t->cipher), "%s",
	    ossl.SSL_CIPHER_get_name(ossl.SSL_get_current_cipher(t->ssl)));
	t->layer = (struct sio_layer){
		.read = tls_read,
		.write = tls_write,
		.pending = tls_pending,
		.close = tls_close,
		.arg = t,
	};
	sio_reader_set_layer(in, &t->layer);
	sio_writer_set_layer(out, &t->layer);
	return 0;
}

const char *
tls_version(const struct tls_conn *t)
{
	return t->version;
}

const char *
tls_cipher(const struct tls_conn *t)
{
	return t->cipher;
}

void
tls_free(struct tls_conn *t)
{
	if (t == NULL)
		return;
	if (t->ssl != NULL)
		ossl.SSL_free(t->ssl);
	if (t->ctx != NULL)
		ossl.SSL_CTX_free(t->ctx);
	free(t);
}
