#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void oom(void)
{
	fputs("lithos: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		oom();
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *s;
	if (vasprintf(&s, fmt, ap) < 0)
		oom();
	return s;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

void buf_puts(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	buf_puts(b, s);
	free(s);
}

const char *buf_str(struct buf *b)
{
	if (!b->p)
		buf_add(b, "", 0);
	return b->p;
}

void buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

unsigned long long proc_starttime(long pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	char *stat = read_file_limited(path, 4096, NULL);
	if (!stat)
		return 0;
	/* the command name in field 2 may hold spaces: count after its ")" */
	char *p = strrchr(stat, ')');
	for (int field = 2; p && *p && field < 22; p++)
		if (*p == ' ')
			field++;
	unsigned long long start = p ? strtoull(p, NULL, 10) : 0;
	free(stat);
	return start;
}

int mkdir_p(const char *path, unsigned mode)
{
	char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s == '/') {
			*s = 0;
			if (mkdir(p, mode) < 0 && errno != EEXIST) {
				int e = errno;
				free(p);
				errno = e;
				return -1;
			}
			*s = '/';
		}
	}
	int r = mkdir(p, mode) < 0 && errno != EEXIST ? -1 : 0;
	int e = errno;
	free(p);
	errno = e;
	return r;
}

/* The entries of the directory `dfd` (its own fd is left open), "." and
 * ".." left out, each followed by its d_type byte: read whole before
 * anything is removed, so no directory stream stays open below. */
static char *dir_names(int dfd, size_t *n_out)
{
	*n_out = 0;
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	size_t len = 0, cap = 256;
	char *names = xmalloc(cap);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		size_t l = strlen(e->d_name);
		while (len + l + 2 > cap)
			names = xrealloc(names, cap *= 2);
		names[len++] = (char)e->d_type;
		memcpy(names + len, e->d_name, l + 1);
		len += l + 1;
		(*n_out)++;
	}
	closedir(d);
	return names;
}

/* A subdirectory of dfd: never through a symlink, never onto another
 * mount (EXDEV: a mount point, a bind mount of the same filesystem too). */
static int open_subdir(int dfd, const char *name)
{
	struct open_how how;
	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV;
	return (int)syscall(SYS_openat2, dfd, name, &how, sizeof(how));
}

/* At most this many directories open at once: a deeper subdirectory is
 * renamed up into the top directory and removed in a later pass, so a
 * tree of any depth goes (a container's state dir is the container's to
 * fill) without running out of fds. */
#define RM_MAX_DEPTH 256

/* Empty the directory `dfd` depth first, every step relative to an open
 * directory: no path is resolved twice, no symlink followed, no other mount
 * entered (one below is left, and so are the directories holding it:
 * EBUSY).  `top` is the directory being removed, `moved` counts what was
 * renamed into it.  Returns 0 or the first errno. */
static int rm_children(int dfd, int top, unsigned depth, unsigned *moved)
{
	static unsigned serial;
	size_t n;
	char *names = dir_names(dfd, &n);
	if (!names)
		return errno;
	int err = 0;
	const char *p = names;
	for (size_t i = 0; i < n; i++, p += strlen(p) + 1) {
		unsigned char type = (unsigned char)*p++;
		if (type != DT_DIR && type != DT_UNKNOWN) {
			if (unlinkat(dfd, p, 0) < 0 && errno != ENOENT && !err)
				err = errno;
			continue;
		}
		if (depth >= RM_MAX_DEPTH) {
			int r = EEXIST;
			for (int k = 0; k < 100 && r == EEXIST; k++) {
				char tmp[32];
				snprintf(tmp, sizeof(tmp), ".lithos-rm.%u.%u", (unsigned)getpid(), serial++);
				r = renameat(dfd, p, top, tmp) == 0 ? 0 : errno;
			}
			if (!r)
				(*moved)++;
			else if (r != ENOENT && !err)
				err = r;
			continue;
		}
		int sub = open_subdir(dfd, p);
		if (sub < 0) {
			int e = errno;
			/* DT_UNKNOWN and not a directory (or a symlink) */
			if ((e == ENOTDIR || e == ELOOP) && unlinkat(dfd, p, 0) == 0)
				continue;
			if (e == EXDEV)
				e = EBUSY;
			if (e != ENOENT && !err)
				err = e;
			continue;
		}
		int r = rm_children(sub, top, depth + 1, moved);
		close(sub);
		if (!r && unlinkat(dfd, p, AT_REMOVEDIR) < 0 && errno != ENOENT)
			r = errno;
		if (r && !err)
			err = r;
	}
	free(names);
	return err;
}

int remove_tree_at(int dirfd, const char *name)
{
	int fd = (int)syscall(SYS_openat2, dirfd, name,
			      &(struct open_how){ .flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC },
			      sizeof(struct open_how));
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		/* a file or a symlink (never followed) in its place */
		if (errno == ENOTDIR || errno == ELOOP)
			return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -1 : 0;
		return -1;
	}
	int err;
	unsigned moved;
	do {
		moved = 0;
		err = rm_children(fd, fd, 0, &moved);
	} while (!err && moved);
	close(fd);
	if (!err && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		err = errno;
	errno = err;
	return err ? -1 : 0;
}

int remove_tree(const char *dir)
{
	return remove_tree_at(AT_FDCWD, dir);
}

bool str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Drop a buffer that may hold key material: zero it first when asked. */
static void drop_buf(char *p, size_t cap, bool wipe)
{
	if (wipe)
		explicit_bzero(p, cap);
	free(p);
}

char *read_fd_limited(int fd, size_t max, size_t *len_out, bool wipe)
{
	size_t cap = 4096, len = 0;
	char *p = xmalloc(cap);
	for (;;) {
		if (len + 1 >= cap) {
			if (cap > max + 1) {
				drop_buf(p, cap, wipe);
				errno = EFBIG;
				return NULL;
			}
			/* a fresh buffer instead of realloc: realloc may leave
			 * a copy of the old contents in freed memory */
			char *q = xmalloc(cap * 2);
			memcpy(q, p, len);
			drop_buf(p, cap, wipe);
			p = q;
			cap *= 2;
		}
		ssize_t r = read(fd, p + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			drop_buf(p, cap, wipe);
			errno = e;
			return NULL;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > max) {
		drop_buf(p, cap, wipe);
		errno = EFBIG;
		return NULL;
	}
	p[len] = 0;
	if (len_out)
		*len_out = len;
	return p;
}

char *read_file_limited(const char *path, size_t max, size_t *len_out)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return NULL;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return NULL;
	}
	if ((size_t)st.st_size > max) {
		errno = EFBIG;
		return NULL;
	}
	return read_fd_limited(fd, max, len_out, false);
}

int write_file_atomic(const char *path, const char *suffix, const void *data, size_t len,
		      unsigned mode, bool sync)
{
	char *tmp = xasprintf("%s%s", path, suffix);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, (mode_t)mode);
	int err = fd < 0 ? errno : 0;
	for (size_t off = 0; !err && off < len;) {
		ssize_t w = write(fd, (const char *)data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			err = w < 0 ? errno : EIO;
		else
			off += (size_t)w;
	}
	if (!err && sync && fsync(fd) < 0)
		err = errno;
	if (fd >= 0 && close(fd) < 0 && !err)
		err = errno;
	if (!err && rename(tmp, path) < 0)
		err = errno;
	if (err && fd >= 0)
		unlink(tmp);
	free(tmp);
	errno = err;
	return err ? -1 : 0;
}
