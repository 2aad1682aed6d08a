/* Running one instance through liblxc: compile its lxc.conf, write it into
 * the LXC path (marked as ours), start it without daemonizing so that the
 * caller learns how the process ended, and clean up afterwards. */
#ifndef LITHOS_LXCRUN_H
#define LITHOS_LXCRUN_H

#include "config.h"
#include "host.h"
#include "instance.h"

struct lxc_container;

/* How lithos marks the container directories it made in the LXC path:
 * an extended attribute (value: the instance's lithos name), or, where the
 * filesystem keeps none and in directories of older versions, a file. */
#define LITHOS_MARKER_XATTR "trusted.lithos.instance"
#define LITHOS_MARKER "lithos.instance"

/* Image facts, mount target checks and lxcconf_render in one step. */
int compile_instance(const struct master_config *m, const struct host_info *h,
		     const struct instance *in, const char *term,
		     const char *init_file, struct buf *conf, struct diags *d);

/* The same for a container lxc-start runs with no lithos around (the
 * lxc-create template, lithos_lxcconf --standalone): see lxc_facts. */
int compile_instance_standalone(const struct master_config *m, const struct host_info *h,
				const struct instance *in, struct buf *conf, struct diags *d);

/* The sandbox's stdio log path (stdio-log-dir/SANDBOX.log). */
char *sandbox_stdio_log(const struct master_config *m, const struct sandbox_config *s);

/* Write <lxc_path>/<name>/config, marking a new directory as lithos's.
 * link_dir (commands): the directory is <link_dir>/<name> and
 * <lxc_path>/<name> a symlink to it; NULL: a directory in the LXC path.  Refuses a
 * directory lithos did not create and a container that is running. */
int instance_dir_write(const char *lxc_path, const char *name, const char *lithos_name,
		       const char *link_dir, const char *conf, size_t len, char **err);
/* Whether the directory carries lithos's marker. */
bool instance_dir_is_ours(const char *dir);
/* Remove <lxc_path>/<name> (and liblxc's lock file of it) if it is ours. */
int instance_dir_remove(const char *lxc_path, const char *name);
/* Remove what instance_dir_write made for a command in this same run
 * (<lxc_path>/<name> -> <link_dir>/<name>): by name, without asking the
 * marks again (4 syscalls instead of 13; the names hold the caller's pid
 * and both directories are root's). */
void command_dir_remove(const char *lxc_path, const char *name, const char *link_dir);
/* LXC's log of a daemon instance, LXCPATH/NAME/lxc.log (level WARN), for
 * this container object only: opened here, without creating the
 * directory, and given to liblxc as /proc/self/fd/N.  The compiled config
 * names no log file: every reader of it (lxc-ls, lxc-info, lithos_ps)
 * would open it, and liblxc makes the file's directory first, so one
 * reading the config as the tree removed the directory made it again.
 * 0, or -1 (no log: the directory is gone, or liblxc refused it). */
int instance_log_attach(struct lxc_container *c, const char *lxc_path, const char *name);
/* Remove liblxc's lock file of a container of ours that is gone. */
void lxc_lock_file_remove(const char *lxc_path, const char *name);
/* Remove a host-side veth left by an earlier run of this instance. */
void remove_stale_veth(const char *lxc_name);

/* How the container's init (lithos_init) is started. */
struct start_opts {
	const int *pass_fds;  /* fds > 2 the process gets as they are (sockets) */
	size_t n_pass_fds;
	int events_fd;        /* lithos_init reports in-container restarts there; -1 */
	bool keep_tty;        /* interactive on a terminal: LXC's console, as is */
	int lxc_log_fd;       /* >= 0: LXC's log goes there (a command's
			       * memfd or O_TMPFILE) */
	bool lxc_log_file;    /* else LXC's log goes to LXCPATH/NAME/lxc.log
			       * (instance_log_attach; a daemon's) */
	const char *conf;     /* the config as written (NULL: read the file) */
	size_t conf_len;
};

/* Start the container with lithos_init as pid 1 running the instance's
 * argv, and wait for it.  `secret_env` ("NAME=value", may be NULL) is added
 * to the in-memory config only, never to the file.  Returns the process's
 * exit code (128+N for signal N) or -1 with *err when it could not start. */
int instance_start_wait(const char *lxc_path, const char *name, const struct instance *in,
			const struct strlist *secret_env, const struct start_opts *o, char **err);

#endif
