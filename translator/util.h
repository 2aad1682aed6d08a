/* Small helpers shared by every part: allocation that aborts on ENOMEM,
 * string building, and cleanup attributes (after crun's utils.h). */
#ifndef LITHOS_UTIL_H
#define LITHOS_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <malloc.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Growable byte buffer. */
struct buf {
	char *p;
	size_t len;
	size_t cap;
};
void buf_add(struct buf *b, const char *s, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* NUL-terminated contents; the buffer keeps ownership. */
const char *buf_str(struct buf *b);
void buf_free(struct buf *b);

static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd) { if (*fd >= 0) close(*fd); }
static inline void fclosep(FILE **f) { if (*f) fclose(*f); }
#define _cleanup_free_ __attribute__((cleanup(freep)))
#define _cleanup_close_ __attribute__((cleanup(closep)))
#define _cleanup_fclose_ __attribute__((cleanup(fclosep)))

/* Hand ownership over: return the pointer and clear the variable. */
#define move_ptr(p) ({ __typeof__(p) _tmp = (p); (p) = NULL; _tmp; })
#define move_fd(fd) ({ int _tmp = (fd); (fd) = -1; _tmp; })

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Append one element to a malloc'd dynamic array (v, n), growing it by
 * doubling (malloc_usable_size tells the capacity, so callers keep only n). */
#define VEC_PUSH(v, n, item) do { \
	if (!(v) || malloc_usable_size(v) < ((n) + 1) * sizeof(*(v))) \
		(v) = xrealloc((v), 2 * ((n) + 1) * sizeof(*(v))); \
	(v)[(n)++] = (item); \
} while (0)

bool str_has_prefix(const char *s, const char *prefix);
/* Start time of a process (field 22 of /proc/PID/stat, clock ticks since
 * boot): with the pid it names one process even after pid reuse.  0 if
 * the process is gone. */
unsigned long long proc_starttime(long pid);
/* mkdir -p; 0 or -1 with errno. */
int mkdir_p(const char *path, unsigned mode);
/* rm -r that never follows symlinks nor enters a mount (a mount point
 * below, a bind mount of the same filesystem too, is left with its
 * parents: -1 EBUSY), each step relative to an open directory, of any
 * depth; a missing dir is fine, a file or symlink named `dir` is unlinked
 * (the symlink, never its target).  0 or -1 with errno. */
int remove_tree(const char *dir);
/* remove_tree of `name` relative to the directory dirfd (AT_FDCWD: the
 * cwd): nothing of the path to dirfd is resolved again. */
int remove_tree_at(int dirfd, const char *name);
/* Read a whole regular file (at most max bytes); NULL + errno on failure.
 * EFBIG when larger than max, EISDIR/EINVAL when not a regular file. */
char *read_file_limited(const char *path, size_t max, size_t *len_out);
/* Read an open fd to its end (at most max bytes, else EFBIG); with wipe,
 * every buffer dropped on the way (growth, errors) is zeroed first, for
 * key material.  NUL-terminated; NULL + errno on failure. */
char *read_fd_limited(int fd, size_t max, size_t *len_out, bool wipe);
/* Replace `path` whole: write PATH+suffix (O_NOFOLLOW, mode), fsync it
 * when `sync`, close it (always), rename it over `path`; on any failure
 * the temporary file is removed and `path` is untouched.  0 or -1 with
 * the errno of the first step that failed. */
int write_file_atomic(const char *path, const char *suffix, const void *data, size_t len,
		      unsigned mode, bool sync);

#endif
