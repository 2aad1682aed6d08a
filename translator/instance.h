/* Instantiation: the final values of one instance of a process entry,
 * with variables substituted and systemd activation expanded.  This is what
 * the translator compiles into lxc.conf and what the supervisor starts. */
#ifndef LITHOS_INSTANCE_H
#define LITHOS_INSTANCE_H

#include "config.h"

struct inst_port {
	uint16_t port;
	uint32_t fd;
	const struct tcp_port *opts; /* host, backlog, reuse-*, external */
};

struct instance {
	char *name;          /* LITHOS_NAME: SANDBOX/PROC.N or SANDBOX/cmd.PROC.PID */
	char *lxc_name;      /* SANDBOX.PROC.N (a valid LXC container name) */
	uint32_t index;
	bool is_command;
	const struct sandbox_config *sandbox;
	const struct process_entry *entry;
	const struct container_config *cc;
	char *image_root;    /* host path of the image */
	char *config_path;   /* container config path inside the image */
	struct strlist argv; /* executable first */
	struct kvlist env;   /* sorted by name; @{lithos:pid} values are
			      * left as-is and filled in at start */
	struct strlist pid_env; /* names of variables whose value is the pid */
	struct inst_port *ports;
	size_t n_ports;
	uint32_t uid, gid;
	const char *ip;      /* NULL: host network or loopback only */
};

/* Build instance `index` (a Daemon instance) or, when `cmd_pid` is not 0,
 * the command instance run by lithos_cmd with process id `cmd_pid` and
 * extra arguments.  Returns 0 or -1 with problems in d. */
int instance_build(struct instance *in, const struct sandbox_config *s,
		   const struct process_entry *e, const struct container_config *cc,
		   const char *image_root, uint32_t index, long cmd_pid,
		   char *const *extra_args, size_t n_extra, struct diags *d);
void instance_free(struct instance *in);

/* Substitute @{...} in s.  vars: declared variable values; name/config:
 * built-ins.  Returns a new string or NULL with *err set (caller frees). */
char *substitute(const char *s, const struct kvlist *vars, const char *lithos_name,
		 const char *config_filename, char **err);

#endif
