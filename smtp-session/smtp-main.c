/*
 * smtp-session: one ESMTP session on stdin/stdout, for a socket manager
 * (systemd Accept=yes, xinetd) or a pipe.  Everything is in libsmtp.
 */
#include "session-config.h"
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

int
main(int argc, char **argv)
{
	struct session_config cfg;

	session_start(argc, argv, "smtp-session", usage, &cfg);
	return smtp_serve(&cfg, 0, 1);
}
