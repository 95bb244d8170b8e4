/*
 * baremail: the administrator's command.  The options before the
 * subcommand are every BareMail program's (-c, -m, -h, -V, read by
 * session_start(), which also applies the root rule, or for config by
 * session_configure()); each subcommand parses its own.
 */
#include <string.h>
#include <sysexits.h>

#include "admin.h"
#include "session-log.h"

static const char usage[] =
    "usage: baremail [-c FILE] [-m DIR] COMMAND [options]\n"
    "Looks after the BareMail maildir.\n"
    "  status [--prometheus]        what is in the maildir, and is it alive\n"
    "  list [--new] [--since WHEN]  one line per message, oldest first\n"
    "  show [--mark-seen] N         message N as text\n"
    "  expire [--dry-run]           delete what [retention] says is too old\n"
    "  notify                       run [notify] command for new mail\n"
    "  config [SECTION.KEY]...      the configuration in effect, or values\n"
    "  -c, --config=FILE   configuration (default $BAREMAIL_CONFIG, then\n"
    "                      " BAREMAIL_SYSCONFDIR "/baremail.conf)\n"
    "  -m, --maildir=DIR   the maildir\n"
    "  -h, --help          this text\n"
    "  -V, --version       the version\n";

static const struct admin_cmd {
	const char *name;
	int (*run)(struct admin *, int, char **);
} cmds[] = {
	{ "status", admin_status },
	{ "list", admin_list },
	{ "show", admin_show },
	{ "expire", admin_expire },
	{ "notify", admin_notify },
	{ "config", admin_config },
};

/* Where the subcommand is: the first argument that is no global option. */
static int
find_command(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "-m") == 0 ||
		    strcmp(argv[i], "--config") == 0 ||
		    strcmp(argv[i], "--maildir") == 0) {
			i++;
			continue;
		}
		if (argv[i][0] != '-')
			return i;
	}
	return argc;
}

int
main(int argc, char **argv)
{
	static struct admin a;
	int		    at = find_command(argc, argv), status;

	/*
	 * config only reads the file: it stays who it is (baremail-tls runs
	 * it as root, [user] name or not) and never opens the maildir.
	 */
	if (at < argc && strcmp(argv[at], "config") == 0)
		session_configure(at, argv, "baremail", usage, &a.cfg);
	else
		session_start(at, argv, "baremail", usage, &a.cfg);
	if (at >= argc) {
		fputs(usage, stderr);
		return EX_USAGE;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[at], cmds[i].name) != 0)
			continue;
		status = cmds[i].run(&a, argc - at, argv + at);
		if (a.is_open)
			maildir_close(&a.md);
		if (fflush(stdout) != 0 && status == 0)
			status = EX_IOERR;
		return status;
	}
	fprintf(
	    stderr, "baremail: unknown command \"%s\"\n%s", argv[at], usage);
	return EX_USAGE;
}
