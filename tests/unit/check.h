/* The whole unit-test framework: CHECK() prints where it failed and counts. */
#ifndef CHECK_H
#define CHECK_H
#include <stdio.h>
static int check_failures;
#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			check_failures++;                                      \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, \
			    __LINE__, #cond);                                  \
		}                                                              \
	} while (0)
#define CHECK_DONE()                                                           \
	(check_failures                                                        \
		? (fprintf(stderr, "%d check(s) failed\n", check_failures), 1) \
		: 0)
#endif
