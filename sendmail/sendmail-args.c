/*
 * The sendmail command line.
 *
 * Daemons hard-code whatever their authors' sendmail accepted, so this
 * takes the union: every letter sendmail, Postfix and Exim document is
 * known, with whether it takes a value.  Only -t, -i, -f/-r, -F, -C, -v,
 * -b and the "i" of -o/-O change anything here; the rest (delivery modes,
 * DSN, body types, queue ids...) is accepted and ignored, because with one
 * maildir and no queue there is nothing for it to choose.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sendmail.h"

/* How an option letter takes its value. */
enum opt_arg {
	OPT_FLAG,  /* no value: "-t", and may be grouped: "-ti" */
	OPT_VALUE, /* a value, glued or the next argument: "-fx", "-f x" */
	OPT_GLUED, /* an optional value, glued only: "-q", "-q15m" */
};

struct sm_opt {
	char	     letter;
	enum opt_arg arg;
	void (*run)(struct sendmail_args *, const char *value);
};

/* Reports "<before><what><after>". */
static void
warnf(struct sendmail_args *a, const char *before, const char *what,
    const char *after)
{
	char msg[300];

	a->nwarnings++;
	if (a->warn == NULL)
		return;
	snprintf(msg, sizeof(msg), "%s%.200s%s", before, what, after);
	a->warn(a->warn_arg, msg);
}

/* sendmail's booleans: "", T, true, yes, y, on (case-insensitive) are true. */
static bool
bool_value(const char *v)
{
	return *v == '\0' || strchr("TtYy1", *v) != NULL ||
	    strcasecmp(v, "on") == 0;
}

static void
opt_extract(struct sendmail_args *a, const char *v)
{
	a->extract = true;
}

static void
opt_ignore_dots(struct sendmail_args *a, const char *v)
{
	a->ignore_dots = true;
}

static void
opt_verbose(struct sendmail_args *a, const char *v)
{
	a->verbose = true;
}

static void
opt_sender(struct sendmail_args *a, const char *v)
{
	a->has_sender = true;
	a->sender = v;
}

static void
opt_fullname(struct sendmail_args *a, const char *v)
{
	a->fullname = v;
}

static void
opt_config(struct sendmail_args *a, const char *v)
{
	a->config = v;
}

static void
opt_queue(struct sendmail_args *a, const char *v)
{
	a->mode = SM_MODE_QUEUE_RUN;
}

static void
opt_aliases(struct sendmail_args *a, const char *v)
{
	a->mode = SM_MODE_ALIASES;
}

/* -oXvalue: one letter names the option; only i (IgnoreDots) matters. */
static void
opt_o(struct sendmail_args *a, const char *v)
{
	if (v[0] == 'i')
		a->ignore_dots = bool_value(v + 1);
}

/* -O Name=value: the long form of -o. */
static void
opt_O(struct sendmail_args *a, const char *v)
{
	size_t n = strcspn(v, "=");

	if (n == strlen("IgnoreDots") && strncasecmp(v, "IgnoreDots", n) == 0)
		a->ignore_dots = v[n] == '\0' || bool_value(v + n + 1);
}

/* Set by -b; the mode letter's failure is reported by the parser. */
static const struct {
	char		   letter;
	enum sendmail_mode mode;
	const char	  *refusal; /* non-NULL: cannot be done */
} sm_modes[] = {
	{ 'm', SM_MODE_DELIVER, NULL },
	{ 's', SM_MODE_SMTP, NULL },
	{ 'p', SM_MODE_QUEUE_LIST, NULL },
	{ 'i', SM_MODE_ALIASES, NULL },
	{ 'v', SM_MODE_VERIFY, NULL },
	{ 'd', SM_MODE_DELIVER,
	    "-bd: baremail-sendmail never runs as "
	    "a daemon; the socket manager listens for smtp-session" },
	{ 'D', SM_MODE_DELIVER,
	    "-bD: baremail-sendmail never runs as "
	    "a daemon; the socket manager listens for smtp-session" },
	{ 't', SM_MODE_DELIVER,
	    "-bt: there are no rewriting rules "
	    "to test" },
};

static void opt_mode(struct sendmail_args *a, const char *v);

static const struct sm_opt sm_opts[] = {
	/* what changes something */
	{ 't', OPT_FLAG, opt_extract }, { 'i', OPT_FLAG, opt_ignore_dots },
	{ 'v', OPT_FLAG, opt_verbose }, { 'f', OPT_VALUE, opt_sender },
	{ 'r', OPT_VALUE, opt_sender }, /* the old name of -f */
	{ 'F', OPT_VALUE, opt_fullname }, { 'C', OPT_VALUE, opt_config },
	{ 'b', OPT_VALUE, opt_mode }, { 'o', OPT_VALUE, opt_o },
	{ 'O', OPT_VALUE, opt_O },
	{ 'q', OPT_GLUED, opt_queue },	/* -q, -q15m, -qR..., -qf */
	{ 'I', OPT_FLAG, opt_aliases }, /* newaliases */
	/* accepted, meaning nothing here */
	{ 'A', OPT_VALUE, NULL }, /* -Ac / -Am: which .cf */
	{ 'B', OPT_VALUE, NULL }, /* body type: 7BIT, 8BITMIME */
	{ 'h', OPT_VALUE, NULL }, /* hop count */
	{ 'L', OPT_VALUE, NULL }, /* syslog label */
	{ 'M', OPT_VALUE, NULL }, /* macro definition */
	{ 'N', OPT_VALUE, NULL }, /* DSN notify: never, ... */
	{ 'p', OPT_VALUE, NULL }, /* protocol[:host] */
	{ 'R', OPT_VALUE, NULL }, /* DSN return: full, hdrs */
	{ 'V', OPT_VALUE, NULL }, /* DSN envelope id */
	{ 'X', OPT_VALUE, NULL }, /* traffic log: never written */
	{ 'd', OPT_GLUED, NULL }, /* debug flags, glued: -d0.1 */
	{ 'e', OPT_GLUED, NULL }, /* error mode, glued: -em */
	{ 'c', OPT_FLAG, NULL },  /* hold expensive */
	{ 'G', OPT_FLAG, NULL },  /* relayed, not submitted */
	{ 'm', OPT_FLAG, NULL },  /* me too */
	{ 'n', OPT_FLAG, NULL },  /* no aliasing */
	{ 's', OPT_FLAG, NULL },  /* keep "From " lines */
	{ 'U', OPT_FLAG, NULL },  /* initial user submission */
	{ 'x', OPT_FLAG, NULL },  /* Postfix: errors to stderr */
};

static void
opt_mode(struct sendmail_args *a, const char *v)
{
	for (size_t i = 0; i < sizeof(sm_modes) / sizeof(sm_modes[0]); i++)
		if (v[0] == sm_modes[i].letter && v[1] == '\0') {
			a->mode = sm_modes[i].mode;
			return;
		}
	/* An unknown mode still delivers: a warning, not a lost message. */
	warnf(a, "unknown mode -b", v, " ignored: delivering the message");
	a->mode = SM_MODE_DELIVER;
}

static const char *
mode_refusal(const char *v)
{
	for (size_t i = 0; i < sizeof(sm_modes) / sizeof(sm_modes[0]); i++)
		if (v[0] == sm_modes[i].letter && v[1] == '\0')
			return sm_modes[i].refusal;
	return NULL;
}

static const struct sm_opt *
find_opt(char letter)
{
	for (size_t i = 0; i < sizeof(sm_opts) / sizeof(sm_opts[0]); i++)
		if (sm_opts[i].letter == letter)
			return &sm_opts[i];
	return NULL;
}

const char *
sendmail_mode_name(enum sendmail_mode mode)
{
	switch (mode) {
	case SM_MODE_DELIVER:
		return "deliver";
	case SM_MODE_SMTP:
		return "smtp";
	case SM_MODE_QUEUE_LIST:
		return "queue-list";
	case SM_MODE_QUEUE_RUN:
		return "queue-run";
	case SM_MODE_ALIASES:
		return "aliases";
	case SM_MODE_VERIFY:
		return "verify";
	case SM_MODE_HELP:
		return "help";
	case SM_MODE_VERSION:
		return "version";
	}
	return "?";
}

/*
 * One argument of grouped letters.  Returns how many following arguments
 * it consumed (0 or 1), or -1 with err set.
 */
static int
parse_group(struct sendmail_args *a, const char *arg, char *next, char *err,
    size_t errlen)
{
	for (const char *p = arg + 1; *p != '\0'; p++) {
		const struct sm_opt *o = find_opt(*p);
		char		     letter[3] = { '-', *p, '\0' };

		if (o == NULL) {
			/*
			 * We cannot know whether it takes a value: skip the
			 * rest of this argument (its likely value) but never
			 * the next one, which may be a recipient.
			 */
			warnf(a, "unknown option ", arg, " ignored");
			return 0;
		}
		if (o->arg == OPT_FLAG) {
			if (o->run != NULL)
				o->run(a, "");
			continue;
		}
		if (o->arg == OPT_GLUED) {
			if (o->run != NULL)
				o->run(a, p + 1);
			return 0;
		}
		/* OPT_VALUE: the rest of this argument, else the next one. */
		const char *v = p + 1;
		int	    used = 0;
		if (*v == '\0') {
			if (next == NULL) {
				warnf(a, "option ", letter,
				    " needs a value: ignored");
				return 0;
			}
			v = next;
			used = 1;
		}
		if (*p == 'b' && mode_refusal(v) != NULL) {
			snprintf(err, errlen, "%s", mode_refusal(v));
			return -1;
		}
		if (o->run != NULL)
			o->run(a, v);
		return used;
	}
	return 0;
}

int
sendmail_args_parse(
    struct sendmail_args *a, int argc, char **argv, char *err, size_t errlen)
{
	sendmail_warn_fn warn = a->warn;
	void		*warn_arg = a->warn_arg;
	const char	*base;
	bool		 options = true;

	memset(a, 0, sizeof(*a));
	a->warn = warn;
	a->warn_arg = warn_arg;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	a->rcpts = calloc(argc > 0 ? (size_t)argc : 1, sizeof(char *));
	if (a->rcpts == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}

	/* Installed as mailq or newaliases, sendmail acts as -bp or -bi. */
	base = argc > 0 && argv[0] != NULL ? argv[0] : "";
	if (strrchr(base, '/') != NULL)
		base = strrchr(base, '/') + 1;
	if (strcmp(base, "mailq") == 0)
		a->mode = SM_MODE_QUEUE_LIST;
	else if (strcmp(base, "newaliases") == 0)
		a->mode = SM_MODE_ALIASES;

	for (int i = 1; i < argc; i++) {
		char *arg = argv[i];

		if (!options || arg[0] != '-' || arg[1] == '\0') {
			if (arg[0] == '-' && arg[1] == '\0' && options) {
				warnf(a, "lone \"", arg, "\" ignored");
				continue;
			}
			/* Options may follow recipients, as with GNU getopt. */
			a->rcpts[a->nrcpts++] = arg;
			continue;
		}
		if (arg[1] == '-') {
			if (arg[2] == '\0')
				options = false;
			else if (strcmp(arg, "--help") == 0)
				a->mode = SM_MODE_HELP;
			else if (strcmp(arg, "--version") == 0)
				a->mode = SM_MODE_VERSION;
			else
				warnf(a, "unknown option ", arg, " ignored");
			continue;
		}
		char *next = i + 1 < argc ? argv[i + 1] : NULL;
		int   used = parse_group(a, arg, next, err, errlen);
		if (used < 0)
			return -1;
		i += used;
	}
	return 0;
}

void
sendmail_args_free(struct sendmail_args *a)
{
	free(a->rcpts);
	a->rcpts = NULL;
	a->nrcpts = 0;
}
