/* Compile one instance into an lxc.conf.
 *
 * Pure and deterministic: the instance, the master config and a few facts
 * about the host (cgroup version, whether memsw exists, where hooks and the
 * state dir are, what the image's /etc/resolv.conf and /etc/hosts are) go
 * in; the same bytes come out every time.
 */
#ifndef LITHOS_LXCCONF_H
#define LITHOS_LXCCONF_H

#include "config.h"
#include "instance.h"
#include "util.h"

enum cgroup_version {
	CGROUP_V1 = 1,
	CGROUP_V2 = 2,
};

/* What the image has at a path the hooks may mount over. */
enum image_file {
	IMAGE_FILE_MISSING = 0,
	IMAGE_FILE_REGULAR,
	IMAGE_FILE_SYMLINK,
	IMAGE_FILE_OTHER,
};

struct lxc_facts {
	enum cgroup_version cgroup;
	bool memsw;                 /* v1: memory.memsw.limit_in_bytes exists */
	const char *lxc_path;       /* where <name>/config is written */
	const char *hook;           /* path of the lithos_hook executable */
	const char *init;           /* path of lithos_init on the host */
	const char *state_dir;      /* this instance's state dir on the host */
	const char *stdio_log;      /* sandbox stdio log (for the hook's messages) */
	const char *init_file;      /* where the start-host hook records the
				     * container's init pid (NULL: nowhere) */
	bool devfs_ready;           /* devfs-dir was prepared by lithos_mkdev */
	const char *term;           /* TERM passed to commands, NULL for daemons */
	enum image_file image_resolv_conf; /* /etc/resolv.conf in the image */
	enum image_file image_hosts;       /* /etc/hosts in the image */
	const char *base_template;  /* text of templates/base.conf */
	const char *userns_template; /* text of templates/userns.conf */
	const char *devices_template; /* templates/devices-v1.conf or -v2.conf */
	bool standalone;            /* for lxc-start without lithos (the
				     * lxc-create template): lxc.init.cmd,
				     * pre-start/post-stop hooks, a console
				     * logged to LXCPATH/NAME/console.log,
				     * LXC's log in LXCPATH/NAME/lxc.log (the
				     * others name none: lithos_knot sets it) */
};

/* Render the config.  Returns 0, or -1 with problems in d (for instance a
 * value that lxc.conf cannot carry, or a mount rule that says true where the
 * image has no regular file). */
int lxcconf_render(const struct instance *in, const struct master_config *m,
		   const struct lxc_facts *f, struct buf *out, struct diags *d);

/* Where lithos_init is bound in every container (the autodev tmpfs). */
#define LITHOS_INIT_IN_CONTAINER "/dev/.lithos-init"

/* The argv LXC execs as the container's pid 1: lithos_init, its options
 * (stdio fds to give the process when `stdio` is not NULL, the variables
 * that get the process's pid, the tcp-ports it binds in the container's
 * network namespace, the events fd when >= 0, the restart timeout of
 * restart-process-only daemons), "--" and the process's argv. */
void lxcconf_init_argv(const struct instance *in, const int stdio[3], int events_fd,
		       struct strlist *out);

/* Standalone: the value of lxc.init.cmd.  LXC splits it at spaces with no
 * quoting, so lithos_init gets --unescape first and every later argument
 * percent-encoded (%XX for bytes <= 0x20, 0x7f and %; an empty argument is
 * %00).  Ports are bound by lithos_init: in the container's network
 * namespace, or the host's for a host-network sandbox. */
void lxcconf_standalone_init_cmd(const struct instance *in, struct buf *out);

/* A tcp-port bound inside the container's network namespace by lithos_init
 * (external: false in a bridged sandbox, Daemons) rather than by the tree. */
bool lxcconf_port_internal(const struct instance *in, const struct inst_port *p);

/* Host-side veth name for an instance: stable, at most 15 characters. */
void lxcconf_veth_name(const char *lxc_name, char out[16]);

/* Whether resolv.conf / hosts get mounted, by the documented rules. */
int lxcconf_mount_decision(enum tristate mount, bool copy_or_generate, enum image_file f,
			   const char *what, bool *out, char **err);

/* cgroup v2 weight from v1 shares (same formula as crun and systemd). */
uint64_t cpu_shares_to_weight(uint64_t shares);

/* Host id that an id inside the container maps to (identity without a
 * map, UINT32_MAX when the map does not cover it). */
uint32_t map_to_host(const struct idmap *m, uint32_t id);

#endif
