/* A scratch directory for the C unit tests that work on files: made by
 * tmpdir_init(NAME) (TMPDIR or /tmp), paths below it by at(), and small
 * helpers.  Static: each test program includes it once. */
#ifndef LITHOS_TEST_TMPDIR_H
#define LITHOS_TEST_TMPDIR_H

#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char tmp[256];

/* 0, or -1 after a TAP "Bail out!" line */
__attribute__((unused)) static int tmpdir_init(const char *name)
{
	snprintf(tmp, sizeof(tmp), "%s/%s.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", name);
	if (!mkdtemp(tmp)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

__attribute__((unused)) static char *at(const char *rel)
{
	return xasprintf("%s/%s", tmp, rel);
}

__attribute__((unused)) static void put(const char *rel, const char *text)
{
	char *p = at(rel);
	FILE *f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	free(p);
}

__attribute__((unused)) static void mk(const char *rel)
{
	char *p = at(rel);
	mkdir(p, 0755);
	free(p);
}

__attribute__((unused)) static bool exists(const char *rel)
{
	char *p = at(rel);
	struct stat st;
	bool e = lstat(p, &st) == 0;
	free(p);
	return e;
}

/* the number of open file descriptors (entries of /proc/self/fd, the
 * directory's own fd and . and .. included: compare counts, never values) */
__attribute__((unused)) static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

#endif
