/*
 * baremail: the administrator's command (status, list, show, expire,
 * notify, config), on libmaildir and libsession.  One file per subcommand; what
 * several of them need (reading a message's header, decoding RFC 2047,
 * times) is written once in admin-head.c and admin-util.c.
 */
#ifndef ADMIN_H
#define ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "maildir.h"
#include "session-config.h"

/* What every subcommand works on: the configuration and the maildir. */
struct admin {
	struct session_config cfg;
	struct maildir	      md;
	bool		      is_open; /* md is open */
};

/* Each subcommand: parses its own options, returns the exit status. */
int admin_status(struct admin *a, int argc, char **argv);
int admin_list(struct admin *a, int argc, char **argv);
int admin_show(struct admin *a, int argc, char **argv);
int admin_expire(struct admin *a, int argc, char **argv);
int admin_notify(struct admin *a, int argc, char **argv);
int admin_config(struct admin *a, int argc, char **argv);

/*
 * Opens the maildir without creating anything (status, list and show
 * never change it): fails with ENOENT or ENOTDIR when the maildir or one
 * of tmp/, new/, cur/ is missing, before maildir_open() would make them.
 */
int admin_open(struct admin *a);

/* ---- a message's header (admin-head.c) ---- */

#define ADMIN_HEAD_READ 16384 /* bytes of a message read for its header */

/* The fields list, status and notify show, unfolded and decoded to UTF-8. */
struct admin_head {
	char from[256];
	char to[256];
	char subject[512];
	char date[128];
};

/* Where the header section of buf ends (the body starts); len if it never does. */
size_t admin_head_end(const char *buf, size_t len);

/*
 * Copies the first field called name (case-insensitive, without ':') of
 * the header in buf[0..len), unfolded, RFC 2047 decoded to UTF-8, with
 * control characters as '?', into out.  Returns false when it is absent.
 */
bool admin_head_field(
    const char *buf, size_t len, const char *name, char *out, size_t outlen);

/* Raw value, unfolded but not decoded (for Content-Type and the like). */
bool admin_head_raw(
    const char *buf, size_t len, const char *name, char *out, size_t outlen);

/* Fills h from the header in buf (missing fields are ""). */
void admin_head_parse(const char *buf, size_t len, struct admin_head *h);

/*
 * Reads the first ADMIN_HEAD_READ bytes of message m and parses them; the
 * file's mtime goes to *mtime_r when not NULL.  -1 (errno) when it is gone.
 */
int admin_head_read(struct admin *a, struct maildir_list *l,
    struct maildir_msg *m, struct admin_head *h, time_t *mtime_r);

/*
 * Decodes RFC 2047 encoded words in a header value into UTF-8 (charsets
 * through iconv; an unknown one leaves the word as it was), replacing
 * control characters and malformed UTF-8 with '?'.
 */
void admin_decode_words(const char *in, size_t len, char *out, size_t outlen);

/*
 * Copies s (a file name: another program chose it) into out, fit for a
 * terminal: control characters and malformed UTF-8 become '?'.
 */
void admin_safe_copy(const char *s, char *out, size_t outlen);

/* A hex digit's value, -1 for any other character. */
int admin_hexval(int c);

/*
 * Decodes n bytes of base64 at in into out (room for n bytes; in and out
 * may be the same), skipping characters outside the alphabet and stopping
 * at '='.  Returns the decoded length.
 */
size_t admin_base64_decode(const char *in, size_t n, char *out);

/*
 * Converts len bytes in charset to UTF-8 fit for a terminal: control
 * characters other than LF and TAB, and malformed UTF-8, become '?';
 * CRLF becomes LF.  Writes to fp.
 */
void admin_put_text(FILE *fp, const char *charset, const char *buf, size_t len);

/* Prints message m for a reader: decoded fields, text parts, named parts (admin-mime.c). */
int admin_show_msg(
    struct admin *a, struct maildir_list *l, struct maildir_msg *m);

/*
 * The same for a message in memory, to stdout: what the fuzz target
 * drives.  Whatever buf holds, nothing but UTF-8 text, LF and TAB comes out.
 */
void admin_show_text(const char *buf, size_t len);

/* ---- utilities (admin-util.c) ---- */

/* The time a message was delivered, from its name (0: the name has none). */
time_t admin_msg_time(const struct maildir_msg *m);

/*
 * The same, else the file's mtime (another MTA's name), into *t_r;
 * false when neither is known (the file is gone), *t_r then 0.
 */
bool admin_msg_delivered(
    struct admin *a, const struct maildir_msg *m, time_t *t_r);

/*
 * The bytes message m takes on disk: from its name (S=) or the size cache
 * when they tell, else from the file itself (another MTA's name carries
 * no size; a message of 4 GiB or more has none in m).  0 when it is gone.
 */
uint64_t admin_msg_bytes(
    struct admin *a, struct maildir_list *l, struct maildir_msg *m);

/* "2026-11-30 07:00" in local time, or "-" for 0. */
void admin_fmt_time(time_t t, char *buf, size_t len);

/* "1.5 MiB", "312 B". */
void admin_fmt_bytes(uint64_t n, char *buf, size_t len);

/* Whether a message has been read (the S flag). */
bool admin_msg_seen(const struct maildir_msg *m);

/*
 * Finds message number n (1-based, POP3's numbering: the listing's order)
 * after listing l; NULL with a message on stderr when there is none.
 */
struct maildir_msg *admin_msg_number(struct maildir_list *l, const char *arg);

/* Writes s padded or cut to cols characters (UTF-8 aware). */
void admin_put_cols(FILE *fp, const char *s, int cols);

#endif
