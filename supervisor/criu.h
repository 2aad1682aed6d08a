/* CRIU through liblxc's migrate API: what lithos_checkpoint, lithos_restore,
 * lithos_knot and lithos_tree share (docs/criu-notes.md, docs/migration.md).
 *
 * Files in RUNTIME/knots/ (the tree's records), per LXC name:
 *   NAME.away     "DIR\n": the instance was stopped by a checkpoint into DIR;
 *                 the tree neither restarts it nor counts its end
 *   NAME.restore  "DIR\n": restore the instance from DIR instead of a fresh
 *                 start (lithos_restore writes it, the tree consumes it)
 *   NAME.result   "ok PID MS\n" or "error MESSAGE\n": what the knot's
 *                 restore did (lithos_restore waits for it) */
#ifndef LITHOS_CRIU_H
#define LITHOS_CRIU_H

#include "util.h"

#include <stdbool.h>
#include <sys/types.h>

/* Oldest CRIU accepted: 4.1.x cannot dump any TCP socket on Linux >= 6.16
 * (criu issue #2718, docs/criu-notes.md); scripts/install-criu.sh requires
 * the same (MIN_VERSION). */
#define CRIU_MIN_MAJOR 4
#define CRIU_MIN_MINOR 2

/* criu on PATH answers `criu --version` with CRIU_MIN_MAJOR.CRIU_MIN_MINOR
 * or newer: 0 (*version = what it said, if version is not NULL), or -1
 * with *err (missing, failing, or too old: naming the version found, the
 * minimum and why).  One spawn of criu, no `criu check`. */
int criu_version_check(char **version, char **err);
/* criu on PATH, recent enough, and `criu check` passes; with need_predump
 * also `criu check --feature mem_dirty_track`.  0, or -1 with *err. */
int criu_usable(bool need_predump, char **err);

/* The value of "#lithos.KEY = VALUE" in LXCPATH/NAME/config (NULL if
 * absent or unreadable). */
char *lxc_config_lithos_value(const char *lxc_path, const char *lxc_name, const char *key);
/* The instance's compiled config says migratable. */
bool lxc_config_migratable(const char *lxc_path, const char *lxc_name);

/* RUNTIME/knots/NAME.EXT */
char *criu_marker(const char *runtime_dir, const char *lxc_name, const char *ext);
/* Write TEXT to PATH atomically (PATH.tmp, rename). */
int write_small_file(const char *path, const char *text);
/* The file's first line without the newline (NULL if missing/empty). */
char *read_first_line(const char *path);

/* "SANDBOX/PROC.N" -> "SANDBOX.PROC.N"; NULL if not of that form. */
char *instance_to_lxc_name(const char *instance);

/* The CRIU options of the installation: the file named by $CRIU_CONFIG_FILE,
 * else criu.conf next to the directory of the criu on PATH (after symlinks:
 * /opt/lithos-criu/criu.conf for scripts/install-criu.sh's wrappers), else
 * nothing.  Appended to `conf`. */
void criu_base_config(struct buf *conf);

/* The files of the container's processes (pid 1 `init` and all its
 * descendants) that live outside the container's mount tree: the stdio
 * lithos_knot gives every instance, /dev/null and the sandbox's stdio log
 * `stdio_log`.  CRIU can only dump them as external files: for each one
 * "external file[MNT:INO]" goes into `conf` (a CRIU config) and
 * "stdio-null KEY" or "stdio-log KEY" into `meta` (DIR/lithos-checkpoint,
 * for the restore).  Any other such file: -1 with *err naming it. */
int criu_external_stdio(pid_t init, const char *stdio_log, struct buf *conf, struct buf *meta,
			char **err);

/* A listening TCP socket that the container's processes share with
 * lithos_tree `tree` (a tcp-ports entry without reuse-port: true): CRIU
 * dumps it, but on restore it binds the port again, which fails while the
 * tree holds it (and CRIU cannot inherit an inet socket).  -1 with *err
 * naming the first one; 0 when there is none (or no tree). */
int criu_shared_listeners(pid_t init, pid_t tree, char **err);

/* Write `conf` to PATH and point CRIU_CONFIG_FILE at it (liblxc passes no
 * option of ours to criu; the config file is the way in). */
int criu_use_config(const char *path, const struct buf *conf);

/* fds 0-2 opened with O_NOFOLLOW (the tree opens the stdio log so) are
 * reopened through /proc/self/fd without it: CRIU reopens an external file
 * at restore through /proc/PID/fd/N with the dumped flags, and O_NOFOLLOW
 * makes that fail with ELOOP. */
void stdio_drop_nofollow(void);

/* Milliseconds of CLOCK_MONOTONIC. */
double mono_ms(void);

#endif
