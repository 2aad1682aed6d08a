#include "paths.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

char *path_dirname(const char *p)
{
	const char *slash = strrchr(p, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == p)
		return xstrdup("/");
	return xstrndup(p, (size_t)(slash - p));
}

char *path_join(const char *a, const char *b)
{
	if (b[0] == '/')
		return xstrdup(b);
	while (b[0] == '.' && b[1] == '/')
		b += 2;
	if (!strcmp(b, "."))
		return xstrdup(a);
	size_t la = strlen(a);
	if (la && a[la - 1] == '/')
		return xasprintf("%s%s", a, b);
	return xasprintf("%s/%s", a, b);
}

bool path_has_dot_components(const char *p)
{
	const char *s = p;
	while (*s) {
		while (*s == '/')
			s++;
		const char *e = strchrnul(s, '/');
		size_t n = (size_t)(e - s);
		if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return true;
		s = e;
	}
	return false;
}

bool path_has_control_chars(const char *p)
{
	for (const unsigned char *s = (const unsigned char *)p; *s; s++)
		if (*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

char *path_normalize_abs(const char *p)
{
	struct buf b = { 0 };
	const char *s = p;
	while (*s) {
		while (*s == '/')
			s++;
		if (!*s)
			break;
		const char *e = strchrnul(s, '/');
		size_t n = (size_t)(e - s);
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			buf_free(&b);
			return NULL;
		}
		if (!(n == 1 && s[0] == '.')) {
			buf_puts(&b, "/");
			buf_add(&b, s, n);
		}
		s = e;
	}
	if (!b.len)
		buf_puts(&b, "/");
	return b.p;
}

int open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how;
	memset(&how, 0, sizeof(how));
	how.flags = (unsigned)flags | O_CLOEXEC;
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	long fd;
	do {
		fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	} while (fd < 0 && errno == EAGAIN);
	if (fd < 0 && errno == EXDEV) {
		/* a mount point inside the image: allow crossing it */
		how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
		do {
			fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
		} while (fd < 0 && errno == EAGAIN);
	}
	return (int)fd;
}

int open_beneath(int dirfd, const char *rel, int flags, bool follow)
{
	struct open_how how;
	memset(&how, 0, sizeof(how));
	how.flags = (unsigned)flags | O_CLOEXEC;
	how.resolve = RESOLVE_BENEATH | (follow ? RESOLVE_NO_MAGICLINKS : RESOLVE_NO_SYMLINKS);
	long fd;
	do {
		fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	} while (fd < 0 && errno == EAGAIN);
	return (int)fd;
}

int lstat_in_root(int rootfd, const char *path, unsigned *mode)
{
	char *norm = path_normalize_abs(path);
	if (!norm) {
		errno = EINVAL;
		return -1;
	}
	char *dir = path_dirname(norm);
	const char *base = strrchr(norm, '/') + 1;
	int r = -1;
	if (!*base) { /* the root itself */
		struct stat st;
		if (fstat(rootfd, &st) == 0) {
			*mode = st.st_mode & S_IFMT;
			r = 0;
		}
	} else {
		int dfd = open_in_root(rootfd, dir, O_PATH | O_DIRECTORY);
		if (dfd >= 0) {
			struct stat st;
			if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
				*mode = st.st_mode & S_IFMT;
				r = 0;
			}
			int e = errno;
			close(dfd);
			errno = e;
		}
	}
	free(dir);
	free(norm);
	return r;
}
