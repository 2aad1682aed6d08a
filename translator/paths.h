/* Path helpers.  Pure string functions, plus resolution of a path inside an
 * image root that never lets a symlink lead outside it. */
#ifndef LITHOS_PATHS_H
#define LITHOS_PATHS_H

#include <stdbool.h>

char *path_dirname(const char *p);
char *path_join(const char *a, const char *b);
/* Lexically normalize an absolute path ("//a/./b/" -> "/a/b"); returns NULL
 * if it contains a ".." component. */
char *path_normalize_abs(const char *p);
/* True if `p` contains a "." or ".." component or an empty one in the middle. */
bool path_has_dot_components(const char *p);
/* True if `p` has a control character (newline, tab, ... 0x01-0x1f, 0x7f):
 * such a path would end a line of the compiled lxc.conf (its #lithos lines
 * drive the host-side work of the start) and start a line of its own. */
bool path_has_control_chars(const char *p);

/* Open `path` (absolute, as seen in the container) below the directory fd
 * `rootfd`, resolving every symlink as if `rootfd` were `/` (openat2 with
 * RESOLVE_IN_ROOT and no magic links), so nothing outside the root can be
 * reached.  Returns an fd or -1 with errno. */
int open_in_root(int rootfd, const char *path, int flags);
/* Open `rel` (relative) below the directory fd `dirfd`, never leaving it
 * (openat2 RESOLVE_BENEATH: EXDEV for a .. or an absolute symlink out, no
 * magic links).  With follow, symlinks that stay below are followed; without,
 * none is, the last component included (ELOOP).  An fd or -1 with errno. */
int open_beneath(int dirfd, const char *rel, int flags, bool follow);
/* lstat-like check of the final component of `path` inside the root:
 * returns 0 and fills *mode (S_IFMT bits) or -1 with errno. */
int lstat_in_root(int rootfd, const char *path, unsigned *mode);

bool valid_log_level(const char *s);

#endif
