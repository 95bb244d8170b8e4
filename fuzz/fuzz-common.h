/*
 * What the libFuzzer targets share: a scratch maildir on tmpfs, session
 * input served in chunks of fuzzer-chosen sizes, reply bytes collected in
 * a memfd, and a way back from session_exit().
 *
 * Input format of the session targets (fuzz-smtp, fuzz-pop3): the first
 * byte chooses how the client's bytes arrive, the rest are those bytes.
 *   0x00		one read() returns everything that fits
 *   0x01..0x7f	read() returns chunks of pseudo-random sizes (1 to 512,
 *			mostly small) drawn from a generator seeded with the byte
 *   0x80..0xff	the same chunks, and when they run out the client stalls:
 *			poll() reports a timeout instead of EOF
 * read() and poll() on the session's input descriptor are replaced at
 * link time (-Wl,--wrap=read,--wrap=poll) so this is deterministic: a
 * crash found once reproduces from its file.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where a session ends when it calls session_exit(); see fuzz_run_begin(). */
extern jmp_buf fuzz_exit_jmp;
extern int     fuzz_exit_status;

/*
 * Makes a fresh directory for this process under /dev/shm (else $TMPDIR,
 * else /tmp), removed at exit; returns its path.
 */
const char *fuzz_scratch_dir(void);

/* Removes every entry of the directory fd (not recursive); returns how many. */
size_t fuzz_clear_dir(int dirfd);

/* Counts the entries of the directory fd, '.' and '..' aside. */
size_t fuzz_count_dir(int dirfd);

/*
 * Serves data (the client's bytes after the mode byte) on the descriptor
 * fuzz_input_fd() returns, as the mode byte says.  Call once per input.
 */
void fuzz_input_set(const uint8_t *data, size_t size);
int  fuzz_input_fd(void);

/* A memfd for the session's replies: emptied by fuzz_output_reset(). */
int  fuzz_output_fd(void);
void fuzz_output_reset(void);
/* Everything written since the reset; valid until the next reset. */
const char *fuzz_output(size_t *len_r);

/*
 * Descriptors: fuzz_fds_snapshot() notes which of 0..63 are open;
 * fuzz_fds_check() then returns the first one opened since (-1 if none),
 * closing all of them when close_them is set (a session that left through
 * session_exit() would have ended its process there).
 */
void fuzz_fds_snapshot(void);
int  fuzz_fds_check(bool close_them, char *what, size_t whatlen);

/* Installs the session_exit() hook that longjmps to fuzz_exit_jmp. */
void fuzz_hook_exit(void);

/* Aborts with a message: an invariant of the program under test failed. */
_Noreturn void fuzz_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif
