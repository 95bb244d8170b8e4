/*
 * libmaildir: the one place that knows the maildir format.
 *
 * No configuration or logging lives here, and no protocol but one rule of
 * POP3's, which the format itself records (W=, below).  Every function that
 * can fail returns 0 (or a non-negative value) on success and -1 with errno
 * set on failure; nothing prints, logs or exits.  All file access is relative
 * to directory descriptors held in struct maildir (openat, renameat, ...):
 * there is no global state and no path is ever built from a message number
 * or from anything a client sent.
 *
 * Storage format: messages are stored with LF line ends.  A file that
 * BareMail delivers is named
 *
 *	<seconds>.M<usec>P<pid>R<rnd>Q<n>.<host>,S=<bytes on disk>,W=<pop3 octets>
 *
 * in new/, and gains ":2,<flags>" when a reader moves it to cur/.  The part
 * before the first ',' or ':' is the unique name; the part before ':' is the
 * base name, which never changes once delivered and is what POP3's UIDL is
 * derived from.  W= is the size of the message as maildir_crlf produces it
 * for POP3 (see below), so a listing never opens a message: LF becomes
 * CRLF, NUL bytes are dropped and a message without a blank line gets one
 * for TOP.  That is POP3's rule written into every file name BareMail
 * delivers.  Never change it: files already delivered keep the W= of the
 * version that wrote them, and a reader trusting a W= computed by another
 * rule would announce sizes (LIST, STAT) that RETR does not send.
 *
 * Several hosts may deliver into one maildir on a shared file system: the
 * host name keeps their names apart, and R (32 random bits drawn once per
 * process) keeps them apart even when two hosts share a name and a pid
 * (containers), where tmp/'s O_EXCL and new/'s no-replace move cannot
 * help: the same name may already have left for cur/.
 */
#ifndef MAILDIR_H
#define MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define MAILDIR_NAME_MAX  255 /* a file name, without NUL */
#define MAILDIR_UIDL_MAX  70  /* RFC 1939: 1 to 70 octets, 0x21..0x7E */
#define MAILDIR_STALE_TMP ((time_t)36 * 60 * 60) /* the maildir rule for tmp/ */

struct maildir {
	int  dirfd;	/* the maildir itself */
	int  tmpfd;	/* tmp/ */
	int  newfd;	/* new/ */
	int  curfd;	/* cur/ */
	char host[128]; /* host name, '/' ':' ',' escaped as \057 \072 \054 */
	int  lockfd;	/* MAILDIR_LOCK_FILE once locked, else -1 */
	uint32_t      rnd; /* R<random>: drawn by maildir_open() */
	unsigned long seq; /* Q<n>: deliveries by this process */
	bool atime_needed; /* O_NOATIME refused: not the messages' owner */
};

/*
 * Opens the maildir at path, creating path, the directories above it and
 * tmp/, new/ and cur/ with mode 0700 when they are missing.  Fails with ENOTDIR
 * when path or one of the three is not a directory, with EACCES when one of
 * them is not writable, and with whatever open/mkdir said otherwise.  The
 * caller owns *md and releases it with maildir_close().
 */
int  maildir_open(struct maildir *md, const char *path);
void maildir_close(struct maildir *md); /* safe twice */

/*
 * Makes path and every missing directory above it, mode 0700, each owned
 * by uid:gid ((uid_t)-1 and (gid_t)-1 leave the creator's), and fsyncs the
 * directory that names each one it makes.  Returns 1 when it made path
 * itself, 0 when path was there already (a file there fails later, when
 * it is opened as a directory), -1 on error.
 */
int maildir_mkpath(const char *path, uid_t uid, gid_t gid);

/* ---- files of our own in the maildir's root (maildir-file.c) ---- */

/*
 * Small files beside tmp/ new/ cur/ that keep a program's state (the size
 * cache, baremail notify's record), named with a leading dot so that
 * maildir readers pass over them.
 *
 * maildir_file_open() opens one read-only (O_NOFOLLOW, and O_NONBLOCK so
 * that a FIFO planted there cannot block us); the caller closes it.
 * Fails with ENOENT when there is none.
 */
int maildir_file_open(struct maildir *md, const char *name);

/*
 * Replaces the file name in the maildir's root with the iovcnt buffers of
 * iov (at most MAILDIR_FILE_IOV), atomically: they are written to a file
 * in tmp/ named by maildir_name_unique() and name, which is renamed over
 * name, so a reader sees the old file or the new one whole, and of two
 * writers at once the last rename wins.  With is_durable the new file is
 * fsynced before the rename and the root after it: once this returns 0 it
 * survives a crash.  Without it a crash may leave the file empty or torn
 * (fit for a cache that is checked when read).  A failure before the
 * rename leaves name as it was and nothing in tmp/; a crash may leave a
 * file there, which maildir_clean_tmp() ages out with the rest.
 */
#define MAILDIR_FILE_IOV 4
struct iovec;
int maildir_file_replace(struct maildir *md, const char *name,
    const struct iovec *iov, int iovcnt, bool is_durable);

/*
 * Takes a write lock on the file name in the maildir's root (made when
 * missing, mode 0600), waiting while another process holds it; the lock
 * is the kind maildir_lock() takes, which holds across hosts.  Returns
 * the descriptor that holds it: closing it (or exit) releases the lock.
 */
int maildir_file_lock(struct maildir *md, const char *name);

/*
 * Takes a lock on the whole maildir, for POP3's optional RFC 1939
 * exclusive access: a write lock on the file MAILDIR_LOCK_FILE in the
 * maildir (made when missing), which holds across hosts on GlusterFS and
 * NFS.  Fails with EWOULDBLOCK when another process holds it.  Released by
 * maildir_close() or process exit.
 */
#define MAILDIR_LOCK_FILE "baremail.lock"
int maildir_lock(struct maildir *md);

/* ---- what the directories say (maildir-stat.c) ---- */

/*
 * When new/ last changed (a delivery, or a message leaving it) into
 * *mtime_r, to the nanosecond where the file system keeps it.
 */
int maildir_new_mtime(struct maildir *md, struct timespec *mtime_r);

/*
 * The space of the file system holding the maildir, in bytes: what an
 * unprivileged writer may still use into *free_r (not the blocks kept for
 * root), its whole size into *size_r.  Either may be NULL.
 */
int maildir_space(struct maildir *md, uint64_t *free_r, uint64_t *size_r);

/* ---- names (maildir-name.c) ---- */

/*
 * Writes a new unique name "<sec>.M<usec>P<pid>R<rnd>Q<n>.<host>" into buf
 * (rnd as 8 hex digits).
 * Fails with ENAMETOOLONG when it does not fit in len.
 */
int maildir_name_unique(struct maildir *md, char *buf, size_t len);

/*
 * Escapes a host name the maildir way ('/' -> \057, ':' -> \072), and ','
 * (-> \054), which would start the name's S= and W= fields.
 */
void maildir_name_host(const char *host, char *buf, size_t len);

/* What a file name says about its message; filled by maildir_name_parse(). */
struct maildir_name_info {
	uint64_t    size;  /* from ,S= */
	uint64_t    wsize; /* from ,W= */
	bool	    has_size;
	bool	    has_wsize;
	int64_t	    sec;      /* leading seconds, for ordering */
	long	    usec;     /* from .M<usec>, or 0 */
	size_t	    base_len; /* length of the part before ':' */
	const char *flags;    /* after ":2,", or NULL */
};

/*
 * The flags of a name: what follows ":2," when the name's info (from its
 * first ':') is of that form, else NULL.
 */
const char *maildir_name_flags(const char *name);
/* True when the name's flags hold the letter flag (e.g. 'S' for seen). */
bool maildir_name_has_flag(const char *name, char flag);

/* Parses a name; never fails (missing parts are left unset). */
void maildir_name_parse(const char *name, struct maildir_name_info *info);

/*
 * Writes the message's UIDL for RFC 1939 into buf (at least
 * MAILDIR_UIDL_MAX + 1 bytes): the base name itself when it is 1..70
 * characters in 0x21..0x7E, else a stable digest of it ("H" and hex).
 */
void maildir_name_uidl(const char *name, size_t base_len, char *buf);

/* ---- CRLF view of a stored message (maildir-crlf.c) ---- */

/*
 * How a stored message is served over POP3, and so what W= counts:
 * every LF not already preceded by CR becomes CRLF, NUL bytes are dropped
 * (Outlook hangs on them), a last line without a line end gets one, and a
 * message without an empty line (headers only) gets one at the end, so TOP
 * always finds the header/body split.  An empty message stays empty (0
 * octets).  A line holding only CR counts as empty; a trailing CR is taken
 * as the start of the last line end (it gains only the LF).  Dot-stuffing
 * is the protocol's business and is not done here.
 */
struct maildir_crlf {
	bool prev_cr;	 /* last byte seen was CR */
	bool at_bol;	 /* at the start of a line */
	bool line_empty; /* this line so far is empty (maybe a CR) */
	bool seen_blank; /* an empty line has been seen */
	bool any;	 /* any byte seen */
};

void maildir_crlf_init(struct maildir_crlf *cx);
/* Converts len bytes into out, which holds at least 2 * len; returns bytes written. */
size_t maildir_crlf_conv(
    struct maildir_crlf *cx, const char *in, size_t len, char *out);
/* Counts what maildir_crlf_conv would write, without writing. */
uint64_t maildir_crlf_count(
    struct maildir_crlf *cx, const char *in, size_t len);
/* The trailer after the last byte (at most 4 bytes into out); returns its length. */
size_t maildir_crlf_finish(struct maildir_crlf *cx, char *out);

/* ---- delivery (maildir-deliver.c) ---- */

#define MAILDIR_WBUF 65536

struct maildir_tmp {
	struct maildir	   *md;
	int		    fd; /* in tmp/, -1 when closed */
	char		    name[MAILDIR_NAME_MAX + 1]; /* unique name */
	uint64_t	    size;  /* bytes written so far */
	uint64_t	    wsize; /* their CRLF size so far */
	struct maildir_crlf cx;
	int		    error; /* first write error, sticky; 0 if none */
	size_t		    buflen;
	char		    buf[MAILDIR_WBUF];
};

/*
 * Makes t safe to abort before any begin (no file, no name).  Does not
 * touch t->buf: zeroing 64 KiB would cost page faults a delivery.
 */
void maildir_tmp_init(struct maildir_tmp *t);

/*
 * Starts a delivery: a new file in tmp/ (O_EXCL, O_NOFOLLOW, mode 0600).
 * On success the caller must end it with commit or abort.
 */
int maildir_deliver_begin(struct maildir *md, struct maildir_tmp *t);

/*
 * Appends bytes (buffered; memory does not grow with the message).  When a
 * write fails (ENOSPC, EIO, EFBIG, ...) the tmp file is removed at once and
 * every later write and the commit fail with the same errno, so a caller
 * may keep draining its input and report once at the end.
 */
int maildir_deliver_write(struct maildir_tmp *t, const void *buf, size_t len);

/*
 * Makes the message durable: flush, fsync the file, move it to
 * new/<name>,S=<size>,W=<wsize> without ever replacing a file, fsync new/.
 * Only when this returns 0 may the message be reported delivered.  The
 * final file name (without directory) is copied into name_r if not NULL.
 * On failure the tmp file has been removed and nothing is in new/.
 */
int maildir_deliver_commit(struct maildir_tmp *t, char *name_r, size_t len);

/*
 * The same in steps, so that one fsync of new/ can make several messages
 * durable (SMTP's group commit): stage each (flush and fsync the file,
 * close it; it stays in tmp/ and t is free for the next delivery), then
 * publish each (move it into new/ under its final name, never replacing
 * a file), then sync once.  A message is delivered when the sync after
 * its publish returned 0, and not before.  A failed stage or publish
 * leaves nothing behind; after a failed sync, maildir_staged_remove()
 * each published message.
 */
struct maildir_staged {
	char	 name[MAILDIR_NAME_MAX + 1];  /* in tmp/ */
	char	 final[MAILDIR_NAME_MAX + 1]; /* in new/ once published */
	uint64_t size;
	uint64_t wsize;
};

int  maildir_deliver_stage(struct maildir_tmp *t, struct maildir_staged *s);
int  maildir_deliver_publish(struct maildir *md, struct maildir_staged *s);
int  maildir_deliver_sync(struct maildir *md); /* fsync of new/ */
void maildir_staged_remove(struct maildir *md, struct maildir_staged *s);

/* Abandons a delivery: closes and unlinks the tmp file; safe twice. */
void maildir_deliver_abort(struct maildir_tmp *t);

/* ---- listing (maildir-list.c) ---- */

/*
 * One message of a listing, kept to 32 bytes: a listing holds every
 * message of the maildir, so its memory is this times their number.
 */
struct maildir_msg {
	char	*name;		 /* file name, owned by the list */
	uint64_t wsize;		 /* CRLF size, if has_wsize */
	uint64_t order;		 /* sec * 10^6 + usec from the name */
	uint32_t size;		 /* bytes on disk, if has_size */
	uint8_t	 base_len;	 /* the part of name before ':' */
	bool	 has_size : 1;	 /* false from 4 GiB on, or not yet known */
	bool	 has_wsize : 1;	 /* from W=, the size cache or a count */
	bool	 in_new : 1;	 /* in new/ rather than cur/ */
	bool	 is_cached : 1;	 /* wsize (and size) from the size cache */
	bool	 is_counted : 1; /* wsize read from the file by this process */
	bool	 is_removed : 1; /* maildir_msg_remove() removed it */
};

struct maildir_spill; /* renamed names; see maildir-list.c */

struct maildir_list {
	struct maildir_msg   *msgs;
	size_t		      count;
	char		     *arena; /* the listed names, end to end */
	size_t		      arena_len;
	struct maildir_spill *spill; /* names longer than those they replaced */
	size_t sizes_loaded;	     /* entries of the size cache when listed */
	bool   sizes_bad;	     /* the size cache was there but unusable */
};

/*
 * Reads new/ and cur/ (readdir only: no stat for names that carry S=)
 * into l, oldest delivery first (by the time in the name, then the name;
 * times past the year 580 000 all count as one).
 * A message seen twice (renamed while the directories were read) is
 * listed once, from cur/.  A directory that changed while it was read (a
 * flag change by another process, which readdir() may miss under both
 * names) is read again, up to four times, and what each read saw is kept.
 * Entries starting with '.' are skipped.  A name without W= takes its
 * sizes from the size cache (is_cached) when the cache knows its base
 * name (and, with S=, that size); else W= is left unset, and so is the
 * size of a name without S= (has_size) unless the file had to be
 * stat()ed (no d_type): maildir_msg_open() learns it.
 * The caller frees the list with maildir_list_free().
 */
int  maildir_list(struct maildir *md, struct maildir_list *l);
void maildir_list_free(struct maildir_list *l);

/* ---- one message (maildir-msg.c) ---- */

/*
 * Moves every message in new/ to cur/, adding ":2," (a POP3 login does
 * this).  A message that another process moved first is not an error.
 */
int maildir_new_to_cur(struct maildir *md);

/*
 * Opens a message read-only (O_NOFOLLOW; O_NOATIME, so that reading
 * writes nothing, unless the kernel refuses it to a reader that does not
 * own the file) and sets m->size and has_size from the file itself.  When its file was renamed by
 * another process since it was listed (a flag change, new/ -> cur/), finds
 * it again by its base name and records the new name in m (in place when
 * it is no longer than the old one, else in memory l owns; with l NULL
 * only in place).  Fails with ENOENT when the message is gone, with ELOOP
 * when the name is now a symlink and with EINVAL when it is not a regular
 * file.  The descriptor keeps O_NONBLOCK (opening a FIFO must not block
 * us), which reads from a regular file ignore.  The caller closes it.
 */
int maildir_msg_open(
    struct maildir *md, struct maildir_list *l, struct maildir_msg *m);

/*
 * Sets and clears flags (letters A-Z, kept sorted, per the maildir spec);
 * a message in new/ moves to cur/.  ENOENT when it is gone.  m's name is
 * updated as maildir_msg_open() does it.
 */
int maildir_msg_flags(struct maildir *md, struct maildir_list *l,
    struct maildir_msg *m, const char *add, const char *del);

/* Deletes a message.  ENOENT when it was already gone. */
int maildir_msg_remove(
    struct maildir *md, struct maildir_list *l, struct maildir_msg *m);

/*
 * The time message m's file was last modified into *mtime_r (for a name
 * that carries no delivery time: another program's).  Looks only under
 * the name m was listed by; ENOENT when it is gone or was renamed since.
 */
int maildir_msg_mtime(
    struct maildir *md, const struct maildir_msg *m, time_t *mtime_r);

/*
 * Reads a message once to learn its CRLF size, for messages whose name
 * carries no W= (another program delivered them).  Sets m->wsize and
 * m->is_counted.
 */
int maildir_msg_wsize(
    struct maildir *md, struct maildir_list *l, struct maildir_msg *m);

/*
 * Counts the CRLF size of m's file, open as fd by maildir_msg_open(),
 * from its start into *wsize_r (pread: the file offset does not move).
 */
int maildir_msg_count(int fd, const struct maildir_msg *m, uint64_t *wsize_r);

/* ---- the size cache (maildir-sizes.c) ---- */

/*
 * The file in the maildir's root that remembers the POP3 size of messages
 * whose names lack W=, so that each is read once, not once per session.
 * maildir_list() reads it; it never overrides a name's W=, and a size
 * from it is a claim to check against the file before sending one.
 */
#define MAILDIR_SIZES_FILE ".baremail-sizes"

/*
 * Writes the size cache for the messages of l that lack W= and are still
 * there (not removed through l), when it would differ from the one the
 * listing read: sizes were counted, cached messages went, or the file
 * was unusable.  Returns 1 written, 0 nothing to do, -1 with errno.
 * Safe with concurrent sessions (the last complete file wins).
 */
int maildir_sizes_save(struct maildir *md, const struct maildir_list *l);

/* ---- tmp/ (maildir-clean.c) ---- */

/* One entry of tmp/, as maildir_tmp_walk() passes it on. */
struct maildir_tmp_file {
	const char *name;
	time_t	    age; /* seconds since it was last modified or read */
	bool	    is_regular;
};

/*
 * Calls fn(f, arg) for each entry of tmp/ but "." and "..", as of now: its
 * age is now less the later of its mtime and atime (a delivery still
 * writing keeps the one fresh, a reader the other), so an entry is stale
 * by the maildir rule when its age is MAILDIR_STALE_TMP or more.  An entry
 * gone before it could be looked at is passed over.  Returns 0, or -1 when
 * tmp/ could not be read (after the entries read so far).
 */
typedef void maildir_tmp_fn(const struct maildir_tmp_file *f, void *arg);

int maildir_tmp_walk(
    struct maildir *md, time_t now, maildir_tmp_fn *fn, void *arg);

/*
 * Removes the regular files in tmp/ that are stale (above) at now;
 * returns how many.
 */
int maildir_clean_tmp(struct maildir *md, time_t now);

#endif
