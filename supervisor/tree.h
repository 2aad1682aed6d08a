/* lithos_tree internals: the children (one knot per instance), what the
 * configs want, listening sockets, and the state carried across a reload
 * (re-exec) or found again after a crash. */
#ifndef LITHOS_TREE_H
#define LITHOS_TREE_H

#include "config.h"
#include "host.h"
#include "instance.h"
#include "setup.h"
#include "sources.h"

#include <stdint.h>
#include <sys/types.h>

struct metrics;

/* A listening socket held by the tree. */
struct port_sock {
	char *key;      /* "host:port" */
	int fd;
	unsigned refs;  /* instances using it */
	bool reuse_port; /* one socket per start: not shared */
};

/* What a sandbox was loaded from (its last good configs), kept across
 * reloads in a sealed memfd that each knot of the sandbox reads. */
struct sbsrc {
	char *name;
	int fd;
	struct srcset set;
};

/* What the configs want for one instance. */
struct want {
	char *name;      /* SANDBOX/PROC.N */
	char *lxc_name;
	char *sandbox, *proc;
	uint32_t index;
	char hash[65];   /* of the compiled config, argv, ports, secrets */
	char inputs[65]; /* of everything the compiled config comes from */
	bool compiled;   /* conf is filled (else the child's hash was reused) */
	int sources_fd;  /* the sandbox's sbsrc fd, -1 if none */
	struct buf conf;
	const struct loaded_sandbox *sb;
	const struct loaded_entry *le;
	struct instance in;
	double restart_timeout, kill_timeout;
};

enum child_state {
	CH_RUNNING,
	CH_WAIT_RESTART, /* dead, restart at deadline */
	CH_STOPPED,      /* dead and not wanted: to be removed */
};

struct child {
	char *name;
	char *lxc_name;
	char *sandbox, *proc;
	char hash[65];
	char inputs[65];    /* of the want it was started from ("" unknown) */
	enum child_state state;
	pid_t pid;          /* the knot */
	int pidfd;          /* adopted knot (not our child); -1 otherwise */
	bool term_sent;
	bool wanted;
	bool replace;       /* stop, then start with the new config */
	double started_at;  /* CLOCK_MONOTONIC seconds */
	double deadline;    /* kill (running, term_sent) or restart deadline */
	double restart_timeout, kill_timeout;
	uint32_t *normal_codes;
	size_t n_normal_codes;
	int *own_socks;     /* reuse-port sockets of this start */
	size_t n_own_socks;
	char **shared_keys; /* shared sockets this start holds a ref on */
	size_t n_shared_keys;
	uint64_t starts, deaths, failures;
	int last_exit;
	int ev_fd;          /* restart-process-only: lithos_init's events
			     * (knots/NAME.events fifo); -1 otherwise */
	bool proc_down;     /* restart-process-only: the process died and
			     * lithos_init restarts it in the container */
	char *restore_dir;  /* this start is a CRIU restore from there */
	bool lost;          /* adopted knot found dead at a reload */
	int main_pid;       /* restart-process-only: the process's pid in its
			     * container from lithos_init's last "start" (also
			     * in knots/NAME.main); 0: not restarted in place
			     * (status.json: -1 while the process is down) */
};

struct tree {
	const char *master_path;
	char *self_exe;
	char **argv;
	struct lithos_setup setup;
	bool have_setup;
	struct host_info host;
	char *knot;          /* path of lithos_knot */
	char *runtime_dir;
	char *knots_dir;     /* runtime-dir/knots */
	int lock_fd;
	struct child *children;
	size_t n_children;
	struct want *wants;
	size_t n_wants;
	struct port_sock *ports;
	size_t n_ports;
	struct sbsrc *srcs;      /* per sandbox of the setup */
	size_t n_srcs;
	struct sbsrc *old_srcs;  /* from before the reload */
	size_t n_old_srcs;
	struct metrics *metrics;
	bool stopping;
	bool dirty;          /* status and metric levels to write out */
	uint64_t reloads;
};

double now_mono(void);

/* tree_run.c */
void tree_compute_wants(struct tree *t);
void tree_free_wants(struct tree *t);
void tree_reconcile(struct tree *t);
int tree_start(struct tree *t, struct child *c, struct want *w);
void tree_stop(struct tree *t, struct child *c);
void tree_child_died(struct tree *t, struct child *c, int code);
void tree_tick(struct tree *t);
struct child *tree_find_pid(struct tree *t, pid_t pid);
void tree_cleanup_instance(struct tree *t, const char *lxc_name, bool remove_dir);
void tree_write_status(struct tree *t);
double tree_next_deadline(struct tree *t);
void tree_remove_dead(struct tree *t);
void kill_stale_init(struct tree *t, const char *lxc_name);
/* SIGNAL to the init of a running container through a pidfd (from its
 * monitor); -1 if it does not run or cannot be signalled */
struct lxc_container;
int tree_kill_container(struct lxc_container *lc, int sig);

/* restart-process-only: open (create) the events fifo of an instance;
 * read and apply what lithos_init reported; close it (remove the fifo). */
void tree_events_open(struct tree *t, struct child *c, bool create);
void tree_events_read(struct tree *t, struct child *c);
void tree_events_close(struct tree *t, struct child *c, bool remove);
void tree_main_pid_load(struct tree *t, struct child *c);

/* tree_ports.c; restoring: the start is a CRIU restore, whose process
 * brings its own sockets of `reuse-port: true` ports (none are bound) */
int ports_acquire(struct tree *t, struct child *c, const struct want *w, bool restoring,
		  int **fds_out, uint32_t **child_fds_out, size_t *n_out);
void ports_release(struct tree *t, struct child *c);

/* tree_state.c */
void tree_apply_sources(struct tree *t);
void tree_load_good(struct tree *t);
void tree_forget_good(struct tree *t);
int tree_save_state(struct tree *t, const char *path);
int tree_load_state(struct tree *t, const char *path);
void tree_state_keep_fds(struct tree *t, bool keep);
void tree_adopt_orphans(struct tree *t);
char *knot_file(struct tree *t, const char *lxc_name, const char *ext);

/* Checkpoint/restore (criu.h): the instance stopped by a checkpoint
 * (RUNTIME/knots/NAME.away) is not started; a restore request
 * (NAME.restore) turns its next start into a restore.  SIGUSR1 makes the
 * tree look at both again. */
bool tree_instance_away(struct tree *t, const char *lxc_name);
void tree_restore_requests(struct tree *t);

#endif
