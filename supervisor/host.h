/* Facts about this host and the files the runtime needs: cgroup version,
 * LXC's path, where the hook and the templates are, and what an image holds
 * at the paths lithos mounts over. */
#ifndef LITHOS_HOST_H
#define LITHOS_HOST_H

#include "config.h"
#include "lxcconf.h"

/* A new field that compile_instance uses must also go into the tree's
 * inputs digest (global_inputs in tree_run.c). */
struct host_info {
	enum cgroup_version cgroup;
	bool memsw;
	char *lxc_path;
	char *hook;
	char *init;          /* lithos_init on the host (bound into /dev) */
	char *templates_dir;
	char *base_template;
	char *userns_template;
	char *devices_template;
};

/* Returns 0 or -1 with a message in *err (caller frees). */
int host_info_load(struct host_info *h, const struct master_config *m, char **err);
/* The master's lxc-path, or LXC's own lxc.lxcpath (malloc'ed). */
char *host_lxc_path(const struct master_config *m);
void host_info_free(struct host_info *h);

/* Kind of the file at `path` inside the image (no symlink followed). */
enum image_file image_file_kind(const char *image_root, const char *path);

/* Every volume's mount point must exist in the image (lithos never creates
 * mount points) as a directory or file reached without any symlink; a mount
 * point inside another volume is checked when that volume is mounted. */
bool check_mount_targets(const struct container_config *cc, const char *image_root,
			 struct diags *d);

/* Remove the cgroups LXC made for an instance (container and monitor) in
 * every hierarchy, when a dead monitor could not.  Retries briefly while
 * the killed processes are still leaving.  Returns how many remain.
 * after_clean_stop: LXC's own teardown ran (c->start() returned): look in
 * one hierarchy first, and in all only when something is left there. */
int cgroup_cleanup(const char *cgroup_name, const char *lxc_name, bool after_clean_stop);

/* Whether containers get devfs-dir/log at /dev/log: devfs-dir is /dev
 * (the host's own /dev/log, as the lithos FAQ suggests for syslog), or was
 * prepared by lithos_mkdev (its .lithos-devfs marker). */
/* the marker lithos_mkdev leaves in a prepared devfs-dir */
#define LITHOS_DEVFS_MARKER ".lithos-devfs"
bool devfs_ready(const char *devfs_dir);

/* The state dir of an instance on the host. */
char *instance_state_dir(const struct master_config *m, const char *lxc_name);

#endif
