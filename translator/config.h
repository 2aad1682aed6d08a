/* The lithos config model: master, sandbox, process and container configs
 * as C structures, with every key of the lithos 0.18 reference.
 *
 * Positions (`struct pos`) are kept for the values that validation may
 * complain about, so that every error names FILE:LINE:COLUMN.
 */
#ifndef LITHOS_CONFIG_H
#define LITHOS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

struct pos {
	int line, col;
};

struct strlist {
	char **v;
	struct pos *pos;
	size_t n;
};

struct kv {
	char *key;
	char *value;
	struct pos pos;  /* of the key */
	struct pos vpos; /* of the value */
};

struct kvlist {
	struct kv *v;
	size_t n;
};

struct range {
	uint64_t lo, hi;
};

struct ranges {
	struct range *v;
	size_t n;
	struct pos pos;
};

struct idmap_entry {
	uint32_t inside, outside, count;
	struct pos pos;
};

struct idmap {
	struct idmap_entry *v;
	size_t n;
	bool set;
	struct pos pos;
};

enum tristate {
	TRI_AUTO = 0,
	TRI_TRUE,
	TRI_FALSE,
};

enum proc_kind {
	KIND_DAEMON = 0,
	KIND_COMMAND,
	KIND_COMMAND_OR_DAEMON,
};
const char *proc_kind_name(enum proc_kind k);

/* ---------------- master.yaml ---------------- */

struct master_config {
	char *file;            /* path it was read from, NULL for defaults */
	char *dir;             /* directory of the file, for relative paths */
	char *sandboxes_dir;   /* resolved */
	char *processes_dir;   /* resolved */
	char *runtime_dir;
	char *state_dir;       /* resolved against runtime_dir */
	char *mount_dir;       /* resolved against runtime_dir */
	char *devfs_dir;
	char *cgroup_name;     /* NULL: cgroups off */
	struct strlist cgroup_controllers;
	char *default_log_dir;
	char *config_log_dir;  /* NULL: off */
	char *stdio_log_dir;
	char *log_file;        /* resolved against default_log_dir */
	char *log_level;
	char *syslog_facility; /* NULL: log to file */
	char *syslog_name;
	char *lxc_path;        /* NULL: LXC's own lxc.lxcpath */
};

/* ---------------- sandboxes/NAME.yaml ---------------- */

struct ipnet {
	int family;            /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;
};

struct bridged_network {
	char *bridge;
	char *network;         /* as written, e.g. 10.0.0.0/24 */
	struct ipnet net;
	char *default_gateway; /* NULL if absent */
	struct strlist after_setup_command;
	struct pos pos;
	struct pos network_pos;
};

struct sandbox_config {
	char *name;
	char *file;
	char *config_file;     /* processes config; NULL: processes-dir/NAME.yaml */
	char *image_dir;
	uint32_t image_dir_levels;
	char *log_file;
	char *log_level;
	struct kvlist readonly_paths;  /* virtual -> host */
	struct kvlist writable_paths;
	struct ranges allow_users;
	struct ranges allow_groups;
	struct ranges allow_tcp_ports;
	bool has_default_user;
	uint32_t default_user;
	struct pos default_user_pos;
	uint32_t default_group;
	struct pos default_group_pos;
	struct kvlist additional_hosts; /* hostname -> ip */
	struct idmap uid_map, gid_map;
	char *used_images_list;
	bool auto_clean;
	char *resolv_conf;
	char *hosts_file;
	struct bridged_network *bridged_network;
	char *secrets_private_key;
	struct strlist secrets_namespaces; /* default [""] */
	bool migratable;        /* daemons can be checkpointed with CRIU */
	struct pos migratable_pos;
};

/* ---------------- processes/NAME.yaml ---------------- */

struct process_entry {
	char *name;
	struct pos pos;
	enum proc_kind kind;
	uint32_t instances;
	char *image;
	struct pos image_pos;
	char *config;
	struct pos config_pos;
	struct strlist ip_addresses;
	struct pos ip_addresses_pos;
	struct kvlist variables;
	struct strlist extra_secrets_namespaces;
};

struct processes_config {
	char *file;
	struct process_entry *v;
	size_t n;
};

/* ---------------- container config (inside the image) ---------------- */

enum volume_kind {
	VOL_READONLY,
	VOL_PERSISTENT,
	VOL_STATEDIR,
	VOL_TMPFS,
};

struct volume {
	char *mountpoint;
	struct pos pos;        /* of the mount point key */
	struct pos vpos;       /* of the volume value */
	enum volume_kind kind;
	char *path;            /* Readonly/Persistent: virtual path; Statedir: subdir */
	bool mkdir;
	uint32_t mode;         /* Persistent/Statedir default 0700, Tmpfs 0766 */
	uint32_t user, group;  /* Persistent/Statedir owner; default 0 (root) */
	struct pos user_pos, group_pos; /* line 0: not written */
	uint64_t size;         /* Tmpfs; default 100 MiB */
};

enum var_kind {
	VAR_TCP_PORT,
	VAR_CHOICE,
	VAR_NAME,
	VAR_DOTTED_NAME,
};

struct variable {
	char *name;
	struct pos pos;
	enum var_kind kind;
	bool activation_systemd; /* TcpPort {activation: systemd} */
	struct strlist choices;
};

struct tcp_port {
	char *key;             /* as written: a number or "@{var}" */
	struct pos pos;
	uint32_t fd;
	struct pos fd_pos;
	char *host;            /* default 0.0.0.0 */
	uint32_t listen_backlog; /* default 128 */
	bool reuse_addr;       /* default true */
	bool reuse_port;
	bool set_non_block;
	bool external;
};

struct secret_env {
	char *name;
	struct pos pos;
	struct strlist values; /* alternatives */
};

struct resolv_conf_opts {
	bool copy_from_host;   /* default true */
	enum tristate mount;
	struct pos mount_pos;  /* of the mount value, when given */
};

struct hosts_file_opts {
	enum tristate mount;
	struct pos mount_pos;          /* of the mount value, when given */
	enum tristate localhost;       /* auto: !copy_from_host */
	enum tristate public_hostname; /* auto: !copy_from_host */
	bool copy_from_host;           /* default true */
};

struct container_config {
	char *file;            /* where it was read from (host path) */
	enum proc_kind kind;
	bool has_user_id;
	uint32_t user_id;
	struct pos user_id_pos;
	bool has_group_id;
	uint32_t group_id;
	struct pos group_id_pos;
	bool has_memory_limit;
	uint64_t memory_limit;
	uint64_t cpu_shares;   /* default 1024 */
	uint64_t fileno_limit; /* default 1024 */
	double restart_timeout; /* default 1 */
	double kill_timeout;   /* default 5 */
	char *executable;
	struct pos executable_pos;
	struct strlist arguments;
	struct kvlist environ;
	struct secret_env *secret_environ;
	size_t n_secret_environ;
	struct pos secret_environ_pos;
	char *secret_environ_file;
	struct pos secret_environ_file_pos;
	char *workdir;         /* default / */
	struct pos workdir_pos;
	struct resolv_conf_opts resolv_conf;
	struct hosts_file_opts hosts_file;
	struct idmap uid_map, gid_map;
	char *stdout_stderr_file;
	struct pos stdout_stderr_file_pos;
	bool interactive;
	bool restart_process_only;
	struct pos restart_process_only_pos;
	struct volume *volumes;
	size_t n_volumes;
	struct tcp_port *tcp_ports;
	size_t n_tcp_ports;
	uint32_t *normal_exit_codes;
	size_t n_normal_exit_codes;
	struct variable *variables;
	size_t n_variables;
};

/* ---------------- parsing (translator/parse_*.c) ---------------- */

/* Each parser fills a zeroed struct with defaults first, then the file's
 * values.  Return 0 when valid, -1 when problems were added to d (the
 * struct is still safe to free). */
int master_config_parse(struct master_config *m, const char *path, struct diags *d);
/* Defaults as for an empty master.yaml at `path` (only its directory matters). */
void master_config_defaults(struct master_config *m, const char *path);
int sandbox_config_parse(struct sandbox_config *s, const char *name, const char *path,
			 struct diags *d);
int processes_config_parse(struct processes_config *p, const char *path, struct diags *d);
int container_config_parse(struct container_config *cc, const char *path, struct diags *d);
/* From a buffer (for tests and the fuzzer). */
int container_config_parse_buffer(struct container_config *cc, const char *name,
				  const char *buf, size_t len, struct diags *d);
int sandbox_config_parse_buffer(struct sandbox_config *s, const char *sname, const char *name,
				const char *buf, size_t len, struct diags *d);
int processes_config_parse_buffer(struct processes_config *p, const char *name,
				  const char *buf, size_t len, struct diags *d);
int master_config_parse_buffer(struct master_config *m, const char *name,
			       const char *buf, size_t len, struct diags *d);

void master_config_free(struct master_config *m);
void sandbox_config_free(struct sandbox_config *s);
void processes_config_free(struct processes_config *p);
void container_config_free(struct container_config *cc);

/* helpers for the model */
void strlist_free(struct strlist *l);
void strlist_push(struct strlist *l, const char *s, struct pos pos);
void kvlist_free(struct kvlist *l);
const struct kv *kvlist_get(const struct kvlist *l, const char *key);
bool ranges_contain(const struct ranges *r, uint64_t v);
/* Format ranges as "[1, 99, 1000-2000]"; caller frees. */
char *ranges_format(const struct ranges *r);
int ipnet_parse(const char *s, struct ipnet *out);  /* "10.0.0.0/24" */
int ip_parse(const char *s, int *family, unsigned char addr[16]);
bool ipnet_contains(const struct ipnet *net, int family, const unsigned char addr[16]);

#endif
