/*
 * baremail config [SECTION.KEY ...]: the configuration in effect, from
 * libsession's one table of keys: all of it as an INI file, or the values
 * asked for, one a line ("" for a key not set).  What baremail-tls reads.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "admin.h"

/* Splits "tls.names" at its first dot; false when there is none. */
static bool
split_key(const char *arg, char *section, size_t len, const char **key_r)
{
	const char *dot = strchr(arg, '.');

	if (dot == NULL || dot == arg || dot[1] == '\0' ||
	    (size_t)(dot - arg) >= len)
		return false;
	memcpy(section, arg, (size_t)(dot - arg));
	section[dot - arg] = '\0';
	*key_r = dot + 1;
	return true;
}

int
admin_config(struct admin *a, int argc, char **argv)
{
	static char value[CONFIG_VALUE_MAX];
	char	    section[64];
	const char *key;
	int	    i;

	if (argc == 1)
		return config_write(stdout, &a->cfg) == 0 ? 0 : EX_IOERR;
	/* All checked first: either every value or none. */
	for (i = 1; i < argc; i++)
		if (!split_key(argv[i], section, sizeof(section), &key) ||
		    config_value(&a->cfg, section, key, value, sizeof(value)) !=
			0) {
			fprintf(stderr,
			    "baremail: config: unknown key \"%s\" (want "
			    "SECTION.KEY, as tls.names; \"baremail config\" "
			    "lists them)\n",
			    argv[i]);
			return EX_USAGE;
		}
	for (i = 1; i < argc; i++) {
		split_key(argv[i], section, sizeof(section), &key);
		config_value(&a->cfg, section, key, value, sizeof(value));
		puts(value);
	}
	return 0;
}
