/* The host-side work around one start of a lithos instance: what LXC's
 * pre-start and post-stop hooks did, now done in process by lithos_cmd and
 * lithos_knot before c->start() and after it returns (LXC runs a hook
 * through /bin/sh from a fork of its monitor: 3-5 ms per hook), and still
 * by lithos_hook for the hook types it keeps.
 *
 * What to do is read from the `#lithos.KEY = VALUE` lines the translator
 * writes into the instance's lxc.conf (lithos_lxcconf shows them). */
#ifndef LITHOS_PRESTART_H
#define LITHOS_PRESTART_H

#include "util.h"

#include <stdbool.h>
#include <stddef.h>

/* lithos_hook's exit codes for these failures (see lithos_hook(8)) */
#define PRESTART_ERR_STATEDIR 4
#define PRESTART_ERR_RESOLV 5
#define PRESTART_ERR_VOLUME 7

/* A bind-mounted volume whose host path goes below the sandbox's directory
 * (#lithos.volume-source = TARGET BASE REST): REST comes from the
 * container config and is resolved from BASE without leaving it. */
struct volume_source {
	char *target; /* mount point, relative to the rootfs */
	char *base;   /* the sandbox's host directory */
	char *rest;   /* the path below it, relative */
};

struct hookcfg {
	char *name;
	char *state_dir;
	char *stdio_log;
	char *resolv_conf; /* source file or "-" for an empty one */
	bool hosts_copy, hosts_localhost, hosts_public;
	char *hosts_file;
	char *container_ip;
	struct buf additional_hosts;
	char **statedir_volumes;
	size_t n_statedir_volumes;
	char **persistent_mkdirs;
	size_t n_persistent_mkdirs;
	struct volume_source *sources;
	size_t n_sources;
	char **after_setup;
	size_t n_after_setup;
	char **remounts;
	size_t n_remounts;
	char *init_file;
	char **ro_recursive;
	size_t n_ro_recursive;
};

/* Read the #lithos lines of a config file, or of a config in memory.
 * -1 when it cannot be read or has no #lithos.state-dir line (not ours). */
int hookcfg_read_file(const char *path, struct hookcfg *h);
int hookcfg_read_mem(const char *conf, size_t len, struct hookcfg *h);
void hookcfg_free(struct hookcfg *h);

/* Before the start: remove a stale state dir and create it fresh (its
 * parents as needed), the !Statedir volume directories in it, the
 * !Persistent volumes with mkdir: true, resolv.conf and hosts.  0, or one
 * of PRESTART_ERR_* with *err set (malloc'd). */
int prestart_run(const struct hookcfg *h, char **err);

/* Open (O_PATH) what REST names below BASE, never leaving BASE: a
 * symlink on the way is followed only while it stays below BASE (openat2
 * RESOLVE_BENEATH; an absolute one or one climbing out: EXDEV).  -1 with
 * errno. */
int volume_source_open(const struct volume_source *v);

/* The mount hook's check: the directory mounted at TARGET below the rootfs
 * `rootfd` is the one volume_source_open() reaches (same st_dev and
 * st_ino), so LXC, which resolves the source as a plain path, did not bind
 * a directory a symlink led it to.  0, or -1 with *err (malloc'd). */
int volume_source_check(int rootfd, const struct volume_source *v, char **err);

/* After the stop: remove the state dir.  0, or PRESTART_ERR_STATEDIR with
 * *err set. */
int poststop_run(const struct hookcfg *h, char **err);
/* Remove the state dir STATE_DIR relative to its parent, opened without a
 * symlink anywhere on its path (a symlink there: refused, nothing
 * removed); a missing one is fine.  0, or -1 with *err (malloc'd). */
int state_dir_remove(const char *state_dir, char **err);

#endif
