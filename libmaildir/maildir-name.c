/*
 * Maildir file names: making unique ones, escaping the host, reading what a
 * name says (time, S=, W=, flags), and POP3 UIDLs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "maildir.h"

int
maildir_name_unique(struct maildir *md, char *buf, size_t len)
{
	struct timespec ts;
	int		n;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return -1;
	md->seq++;
	n = snprintf(buf, len, "%lld.M%ldP%ldR%08" PRIx32 "Q%lu.%s",
	    (long long)ts.tv_sec, ts.tv_nsec / 1000, (long)getpid(), md->rnd,
	    md->seq, md->host);
	if (n < 0)
		return -1;
	if ((size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

void
maildir_name_host(const char *host, char *buf, size_t len)
{
	size_t o = 0;

	if (len == 0)
		return;
	for (; *host != '\0'; host++) {
		const char *esc = NULL;

		if (*host == '/')
			esc = "\\057";
		else if (*host == ':')
			esc = "\\072";
		else if (*host == ',')
			esc = "\\054";
		/* Stop at a whole character: never half an escape. */
		if (esc != NULL) {
			if (o + 4 >= len)
				break;
			memcpy(buf + o, esc, 4);
			o += 4;
		} else {
			if (o + 1 >= len)
				break;
			buf[o++] = *host;
		}
	}
	buf[o] = '\0';
}

/* Reads decimal digits from p up to end; false on none or on overflow. */
static bool
parse_u64(const char *p, const char *end, uint64_t *v_r)
{
	uint64_t v = 0;

	if (p >= end)
		return false;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return false;
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*v_r = v;
	return true;
}

const char *
maildir_name_flags(const char *name)
{
	const char *colon = strchr(name, ':');

	if (colon != NULL && strncmp(colon, ":2,", 3) == 0)
		return colon + 3;
	return NULL;
}

bool
maildir_name_has_flag(const char *name, char flag)
{
	const char *flags = maildir_name_flags(name);

	return flags != NULL && flag != '\0' && strchr(flags, flag) != NULL;
}

void
maildir_name_parse(const char *name, struct maildir_name_info *info)
{
	const char *colon, *end, *p, *q;
	uint64_t    v;

	memset(info, 0, sizeof(*info));
	colon = strchr(name, ':');
	end = colon != NULL ? colon : name + strlen(name);
	info->base_len = (size_t)(end - name);
	info->flags = maildir_name_flags(name);

	/* Leading seconds. */
	for (p = name; p < end && *p >= '0' && *p <= '9'; p++)
		;
	if (parse_u64(name, p, &v) && v <= INT64_MAX)
		info->sec = (int64_t)v;

	/* The second dot-part, e.g. "M123456P789Q1": the usec follow 'M'. */
	if (p < end && *p == '.') {
		const char *part = ++p;

		for (; p < end && *p != '.' && *p != ','; p++) {
			if (*p != 'M' ||
			    (p != part && (p[-1] < '0' || p[-1] > '9')))
				continue;
			for (q = p + 1; q < end && *q >= '0' && *q <= '9'; q++)
				;
			if (parse_u64(p + 1, q, &v) && v < 1000000)
				info->usec = (long)v;
			break;
		}
	}

	/* ",KEY=value" fields after the unique part, before ':'. */
	for (p = memchr(name, ',', info->base_len); p != NULL && p < end;
	     p = q) {
		p++;
		q = memchr(p, ',', (size_t)(end - p));
		if (q == NULL)
			q = end;
		if (q - p < 3 || p[1] != '=')
			continue;
		if (p[0] == 'S' && parse_u64(p + 2, q, &v)) {
			info->size = v;
			info->has_size = true;
		} else if (p[0] == 'W' && parse_u64(p + 2, q, &v)) {
			info->wsize = v;
			info->has_wsize = true;
		}
	}
}

/*
 * FNV-1a, 64 bits.  Twice with different starting values gives the 128 bits
 * of a UIDL digest; it only has to be stable and spread names apart, not
 * resist an attacker (whoever can name files in the maildir owns it).
 */
static uint64_t
fnv1a64(uint64_t h, const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

void
maildir_name_uidl(const char *name, size_t base_len, char *buf)
{
	const unsigned char *u = (const unsigned char *)name;
	bool	 plain = base_len >= 1 && base_len <= MAILDIR_UIDL_MAX;
	uint64_t h1, h2;

	for (size_t i = 0; plain && i < base_len; i++)
		if (u[i] < 0x21 || u[i] > 0x7e)
			plain = false;
	if (plain) {
		memcpy(buf, name, base_len);
		buf[base_len] = '\0';
		return;
	}
	/* Never change these: a UIDL must stay the same across versions. */
	h1 = fnv1a64(UINT64_C(0xcbf29ce484222325), u, base_len);
	h2 = fnv1a64(UINT64_C(0x84222325cbf29ce4) ^ base_len, u, base_len);
	h2 = fnv1a64(h2, (const unsigned char *)"\x5a\xa5", 2);
	snprintf(
	    buf, MAILDIR_UIDL_MAX + 1, "H%016" PRIx64 "%016" PRIx64, h1, h2);
}
