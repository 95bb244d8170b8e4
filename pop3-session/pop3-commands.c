/*
 * The TRANSACTION commands other than RETR and TOP, CAPA, and QUIT with
 * its UPDATE state.
 */
#include <errno.h>
#include <string.h>

#include "pop3.h"
#include "session-log.h"

/* Replies -ERR and returns false when a command got arguments it takes none of. */
static bool
no_more_args(struct pop3_conn *c, char *args)
{
	if (pop3_next_arg(&args) == NULL)
		return true;
	pop3_err(c, "too many arguments");
	return false;
}

void
pop3_cmd_capa(struct pop3_conn *c, char *args)
{
	if (!no_more_args(c, args))
		return;
	pop3_ok(c, "capability list follows");
	/* RFC 2595 4: only before TLS, and only when it can start. */
	if (pop3_tls_offered(c))
		sio_printf(&c->out, "STLS\r\n");
	sio_printf(&c->out,
	    "TOP\r\n"
	    "UIDL\r\n"
	    "USER\r\n"
	    "SASL PLAIN LOGIN CRAM-MD5\r\n"
	    "RESP-CODES\r\n"
	    "AUTH-RESP-CODE\r\n"
	    "PIPELINING\r\n"
	    "EXPIRE NEVER\r\n"
	    "LOGIN-DELAY 0\r\n"
	    "IMPLEMENTATION BareMail-%s\r\n"
	    ".\r\n",
	    BAREMAIL_VERSION);
}

void
pop3_cmd_noop(struct pop3_conn *c, char *args)
{
	if (no_more_args(c, args))
		pop3_ok(c, "nothing to do");
}

void
pop3_cmd_stat(struct pop3_conn *c, char *args)
{
	uint64_t octets = 0;
	size_t	 i, n = 0;

	if (!no_more_args(c, args))
		return;
	for (i = 0; i < c->list.count; i++)
		if (!(c->marks[i] & POP3_M_DELETED)) {
			n++;
			octets += pop3_msg_size(c, i);
		}
	pop3_ok(c, "%zu %llu", n, (unsigned long long)octets);
}

/* Writes v in decimal to end at end; returns where it starts. */
static char *
decimal(char *end, uint64_t v)
{
	do
		*--end = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	return end;
}

/* One line of a LIST or UIDL listing, "n text", without printf. */
static void
listing_line(struct pop3_conn *c, size_t n, const char *text, size_t len)
{
	char  line[20 + 1 + MAILDIR_UIDL_MAX + 2];
	char *start = decimal(line + 20, n);

	line[20] = ' ';
	memcpy(line + 21, text, len);
	line[21 + len] = '\r';
	line[22 + len] = '\n';
	sio_write(&c->out, start, (size_t)(line + 23 + len - start));
}

void
pop3_cmd_list(struct pop3_conn *c, char *args)
{
	char *arg = pop3_next_arg(&args);
	long  i;

	if (arg != NULL) {
		if (!no_more_args(c, args) || (i = pop3_msg_arg(c, arg)) < 0)
			return;
		pop3_ok(c, "%ld %llu", i + 1,
		    (unsigned long long)pop3_msg_size(c, (size_t)i));
		return;
	}
	pop3_ok(c, "scan listing follows");
	for (size_t j = 0; j < c->list.count; j++) {
		char  num[20];
		char *size;

		if (c->marks[j] & POP3_M_DELETED)
			continue;
		size = decimal(num + sizeof(num), pop3_msg_size(c, j));
		listing_line(
		    c, j + 1, size, (size_t)(num + sizeof(num) - size));
	}
	sio_write(&c->out, ".\r\n", 3);
}

static void
uidl(struct pop3_conn *c, size_t i, char *buf)
{
	const struct maildir_msg *m = &c->list.msgs[i];

	maildir_name_uidl(m->name, m->base_len, buf);
}

void
pop3_cmd_uidl(struct pop3_conn *c, char *args)
{
	char  id[MAILDIR_UIDL_MAX + 1];
	char *arg = pop3_next_arg(&args);
	long  i;

	if (arg != NULL) {
		if (!no_more_args(c, args) || (i = pop3_msg_arg(c, arg)) < 0)
			return;
		uidl(c, (size_t)i, id);
		pop3_ok(c, "%ld %s", i + 1, id);
		return;
	}
	/* What Outlook sends: the whole list. */
	pop3_ok(c, "unique-id listing follows");
	for (size_t j = 0; j < c->list.count; j++) {
		/*
		 * The names lie in memory in the order readdir gave them,
		 * not in this one: asking for one a few lines ahead spares
		 * waiting for memory at each.
		 */
		if (j + 8 < c->list.count)
			__builtin_prefetch(c->list.msgs[j + 8].name);
		if (c->marks[j] & POP3_M_DELETED)
			continue;
		uidl(c, j, id);
		listing_line(c, j + 1, id, strlen(id));
	}
	sio_write(&c->out, ".\r\n", 3);
}

void
pop3_cmd_dele(struct pop3_conn *c, char *args)
{
	char *arg = pop3_next_arg(&args);
	long  i;

	if (!no_more_args(c, args) || (i = pop3_msg_arg(c, arg)) < 0)
		return;
	/* Only marked: the file goes at QUIT, in UPDATE. */
	c->marks[i] |= POP3_M_DELETED;
	pop3_ok(c, "message %ld deleted", i + 1);
}

void
pop3_cmd_rset(struct pop3_conn *c, char *args)
{
	size_t i, n = 0;

	if (!no_more_args(c, args))
		return;
	for (i = 0; i < c->list.count; i++) {
		c->marks[i] &= (uint8_t)~POP3_M_DELETED;
		if (!(c->marks[i] & POP3_M_GONE))
			n++;
	}
	pop3_ok(c, "maildrop has %zu messages", n);
}

/*
 * The UPDATE state: removes what DELE marked and flags what RETR sent
 * as seen.  A file that another session removed first is skipped
 * silently: the client's wish came true anyway.  Returns how many
 * removals failed.
 */
static size_t
update(struct pop3_conn *c)
{
	size_t i, failed = 0;

	for (i = 0; i < c->list.count; i++) {
		struct maildir_msg *m = &c->list.msgs[i];

		if (c->marks[i] & POP3_M_DELETED) {
			if (maildir_msg_remove(c->md, &c->list, m) == 0)
				c->ndele++;
			else if (errno != ENOENT) {
				log_err("%s: removing %s: %s", c->peer, m->name,
				    strerror(errno));
				failed++;
			}
		} else if ((c->marks[i] & POP3_M_RETRIEVED) &&
		    !maildir_name_has_flag(m->name, 'S') &&
		    /*
		     * No list: the longer name need not be kept (the
		     * session ends), which would cost memory per message.
		     */
		    maildir_msg_flags(c->md, NULL, m, "S", NULL) == -1 &&
		    errno != ENOENT) {
			log_warn("%s: flagging %s seen: %s", c->peer, m->name,
			    strerror(errno));
		}
	}
	return failed;
}

void
pop3_cmd_quit(struct pop3_conn *c, char *args)
{
	size_t failed;

	c->done = true;
	c->end = "quit";
	if (c->state != POP3_ST_TRANS) {
		pop3_ok(c, "BareMail POP3 signing off");
		return;
	}
	pop3_set_state(c, POP3_ST_UPDATE);
	failed = update(c);
	if (failed == 0)
		pop3_ok(c, "BareMail POP3 signing off (%lu messages deleted)",
		    c->ndele);
	else
		pop3_err_sys(c, "%zu messages could not be deleted", failed);
}
