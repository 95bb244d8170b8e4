/* pop3-session: serves the maildir to one POP3 client on stdin/stdout. */
#include <errno.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "pop3.h"
#include "session-log.h"
#include "session-sys.h"

static const char usage[] =
    "usage: pop3-session [-c FILE] [-m DIR] [--tls=MODE]\n"
    "Serves the maildir to one POP3 client on stdin/stdout.\n"
    "  -c, --config=FILE   configuration file\n"
    "  -m, --maildir=DIR   the maildir to serve\n"
    "      --tls=MODE      off (default: plain text, no STLS), starttls\n"
    "                      (offer STLS, port 110) or implicit (TLS from\n"
    "                      the first byte, port 995)\n"
    "  -h, --help          this text\n"
    "  -V, --version       the version\n";

int
main(int argc, char **argv)
{
	static const char unavailable[] =
	    "-ERR [SYS/TEMP] mailbox unavailable\r\n";
	static struct pop3_conn c; /* 30 KB: not on the stack */
	struct session_config	cfg;
	struct maildir		md;
	int			status;

	session_start(argc, argv, "pop3-session", usage, &cfg);
	session_nodelay(STDOUT_FILENO);
	if (maildir_open(&md, cfg.maildir) == -1) {
		log_err("maildir %s: %s", cfg.maildir, strerror(errno));
		(void)!write(
		    STDOUT_FILENO, unavailable, sizeof(unavailable) - 1);
		return EX_TEMPFAIL;
	}
	if (pop3_conn_init(&c, &cfg, &md, STDIN_FILENO, STDOUT_FILENO) == -1) {
		log_err("out of memory");
		return EX_OSERR;
	}
	status = pop3_session_run(&c);
	pop3_conn_free(&c);
	maildir_close(&md);
	return status;
}
