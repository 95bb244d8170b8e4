/*
 * smtp-session: one ESMTP session on stdin/stdout, for a socket manager
 * (systemd Accept=yes, xinetd) or a pipe.  Everything is in libsmtp.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "maildir.h"
#include "session-config.h"
#include "session-log.h"
#include "smtp-session.h"

static const char usage[] =
    "usage: smtp-session [-c FILE] [-m DIR] [--tls=MODE] [-h] [-V]\n"
    "Speaks SMTP on stdin/stdout and delivers every message to one maildir.\n"
    "  -c, --config=FILE   configuration (default $BAREMAIL_CONFIG, then\n"
    "                      " BAREMAIL_SYSCONFDIR "/baremail.conf)\n"
    "  -m, --maildir=DIR   the maildir (default [maildir] path, $MAILDIR,\n"
    "                      $HOME/Maildir)\n"
    "      --tls=MODE      off (default: plain text, no STARTTLS), starttls\n"
    "                      (offer STARTTLS, port 587) or implicit (TLS from\n"
    "                      the first byte, port 465)\n"
    "  -h, --help          this text\n"
    "  -V, --version       the version\n";

/* Before a session exists: one 421 line, so the client retries later. */
static int
refuse(const struct session_config *cfg, int status)
{
	char line[512];
	int  n = snprintf(line, sizeof line,
	     "421 4.3.0 %s service not "
	      "available, try again later\r\n",
	     cfg->hostname);

	if (n > 0 && (size_t)n < sizeof line && write(1, line, (size_t)n) < 0)
		log_debug("the client is gone: %s", strerror(errno));
	return status;
}

int
main(int argc, char **argv)
{
	struct session_config cfg;
	struct maildir	      md;
	struct smtp_conn     *c;
	int		      status;

	session_start(argc, argv, "smtp-session", usage, &cfg);
	if (maildir_open(&md, cfg.maildir) != 0) {
		log_err(
		    "cannot open maildir %s: %s", cfg.maildir, strerror(errno));
		return refuse(&cfg, EX_TEMPFAIL);
	}
	c = smtp_conn_new(&cfg, &md, 0, 1);
	if (c == NULL) {
		log_err("out of memory");
		maildir_close(&md);
		return refuse(&cfg, EX_OSERR);
	}
	status = smtp_session_run(c);
	smtp_conn_free(c);
	maildir_close(&md);
	return status;
}
