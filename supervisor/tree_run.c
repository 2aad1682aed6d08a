/* Starting, stopping and restarting instances; reconciling what runs with
 * what the configs want. */
#include "tree.h"
#include "configlog.h"
#include "criu.h"
#include "criurun.h"
#include "log.h"
#include "lxcconf.h"
#include "lxcrun.h"
#include "prestart.h"
#include "iolog.h"
#include "tree_metrics.h"
#include "util.h"
#include "host.h"

#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <lxc/lxccontainer.h>
#include <signal.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void hash_want(struct want *w)
{
	unsigned char h[32];
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const unsigned char *)buf_str(&w->conf), w->conf.len);
	for (size_t i = 0; i < w->in.argv.n; i++)
		crypto_generichash_update(&st, (const unsigned char *)w->in.argv.v[i],
					  strlen(w->in.argv.v[i]) + 1);
	for (size_t i = 0; i < w->in.n_ports; i++) {
		char p[128];
		const struct tcp_port *o = w->in.ports[i].opts;
		int n = snprintf(p, sizeof(p), "%u %u %s %u %d %d %d %d", w->in.ports[i].port,
				 w->in.ports[i].fd, o->host, o->listen_backlog, o->reuse_addr,
				 o->reuse_port, o->set_non_block, o->external);
		crypto_generichash_update(&st, (const unsigned char *)p, (size_t)n);
	}
	const struct container_config *cc = w->in.cc;
	for (size_t i = 0; i < cc->n_secret_environ; i++)
		for (size_t j = 0; j < cc->secret_environ[i].values.n; j++)
			crypto_generichash_update(&st,
						  (const unsigned char *)cc->secret_environ[i].values.v[j],
						  strlen(cc->secret_environ[i].values.v[j]));
	crypto_generichash_final(&st, h, sizeof(h));
	for (int i = 0; i < 32; i++)
		snprintf(w->hash + 2 * i, 3, "%02x", h[i]);
}

void tree_free_wants(struct tree *t)
{
	for (size_t i = 0; i < t->n_wants; i++) {
		struct want *w = &t->wants[i];
		free(w->name);
		free(w->lxc_name);
		free(w->sandbox);
		free(w->proc);
		buf_free(&w->conf);
		instance_free(&w->in);
	}
	free(t->wants);
	t->wants = NULL;
	t->n_wants = 0;
}

static int compile_want(struct tree *t, struct want *w, struct diags *d)
{
	char *init = knot_file(t, w->in.lxc_name, "init");
	int r = compile_instance(&t->setup.master, &t->host, &w->in, NULL, init, &w->conf, d);
	free(init);
	return r;
}

static int recorded_init(struct tree *t, const char *lxc_name, pid_t *pid);

static int pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* A knot the tree adopted (after a crash) is not its child: between its
 * death and the poll of its pidfd that tells us, its pid may be reused by
 * anything, so it is signalled through that pidfd.  Our own children keep
 * kill(): a dead one stays a zombie until we reap it. */
static int signal_knot(struct child *c, int sig)
{
	if (c->pidfd >= 0)
		return pidfd_signal(c->pidfd, sig);
	return c->pid > 0 ? kill(c->pid, sig) : -1;
}

int tree_kill_container(struct lxc_container *lc, int sig)
{
	if (!lc->is_running(lc))
		return -1;
	/* from the monitor (the knot); with a pid instead, the init could
	 * die and its pid be reused between the question and the signal */
	int pfd = lc->init_pidfd(lc);
	if (pfd < 0) {
		pid_t init = lc->init_pid(lc);
		pfd = init > 1 ? (int)syscall(SYS_pidfd_open, init, 0) : -1;
	}
	if (pfd < 0)
		return -1;
	int r = pidfd_signal(pfd, sig);
	close(pfd);
	return r;
}

/* The container of a knot that died without stopping it (its monitor is
 * gone, LXC won't): kill its init, which takes the whole pid namespace. */
void kill_stale_init(struct tree *t, const char *lxc_name)
{
	pid_t pid;
	int pfd = recorded_init(t, lxc_name, &pid);
	char *f = knot_file(t, lxc_name, "init");
	unlink(f);
	free(f);
	if (pfd >= 0) {
		log_warn("Killing the container of %s (init pid %d): its knot is gone", lxc_name,
			 (int)pid);
		pidfd_signal(pfd, SIGKILL);
		/* wait (2 s at most) until the whole pid namespace is gone: the
		 * state dir the caller removes next may be bound writable into
		 * the container, and nothing in it may still be running then */
		struct pollfd p = { .fd = pfd, .events = POLLIN };
		while (poll(&p, 1, 2000) < 0 && errno == EINTR)
			;
		close(pfd);
	}
}

/* ---- what a compiled config comes from (inputs digests) ---- */

static void h_str(crypto_generichash_state *st, const char *s)
{
	/* with its terminating NUL, NULL apart from "" */
	static const unsigned char nul_mark[2] = { 0xff, 0 };
	if (!s)
		crypto_generichash_update(st, nul_mark, sizeof(nul_mark));
	else
		crypto_generichash_update(st, (const unsigned char *)s, strlen(s) + 1);
}

static void h_bytes(crypto_generichash_state *st, const void *p, size_t n)
{
	crypto_generichash_update(st, (const unsigned char *)&n, sizeof(n));
	if (n)
		crypto_generichash_update(st, p, n);
}

static void h_file(crypto_generichash_state *st, const struct srcset *s, const char *path)
{
	const struct srcfile *f = path ? srcset_find(s, path) : NULL;
	h_str(st, path);
	if (!f || f->absent)
		h_bytes(st, "", 0);
	else
		h_bytes(st, f->data, f->len);
}

static void h_final(crypto_generichash_state *st, char out[65])
{
	unsigned char h[32];
	crypto_generichash_final(st, h, sizeof(h));
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* Everything of the tree and host a compiled config depends on: this
 * program (a new binary may compile differently), the master config, the
 * host facts and templates, devfs-dir.  Keep in step with struct host_info
 * and compile_instance (supervisor/lxcrun.c): an input missing here is a
 * change a reload would not apply. */
static void global_inputs(struct tree *t, crypto_generichash_state *st)
{
	crypto_generichash_init(st, NULL, 0, 32);
	struct stat sb;
	memset(&sb, 0, sizeof(sb));
	stat(t->self_exe, &sb);
	h_str(st, t->self_exe);
	long long id[5] = { (long long)sb.st_dev, (long long)sb.st_ino, (long long)sb.st_size,
			    (long long)sb.st_mtim.tv_sec, (long long)sb.st_mtim.tv_nsec };
	h_bytes(st, id, sizeof(id));
	for (size_t i = 0; i < t->setup.master_sources.n; i++)
		h_file(st, &t->setup.master_sources, t->setup.master_sources.v[i].path);
	const struct host_info *h = &t->host;
	int facts[2] = { (int)h->cgroup, h->memsw };
	h_bytes(st, facts, sizeof(facts));
	h_str(st, h->lxc_path);
	h_str(st, h->hook);
	h_str(st, h->init);
	h_str(st, h->base_template);
	h_str(st, h->userns_template);
	h_str(st, h->devices_template);
	h_str(st, t->knots_dir);
	int dv = devfs_ready(t->setup.master.devfs_dir);
	h_bytes(st, &dv, sizeof(dv));
}

/* Every field of a process entry (keep in step with struct process_entry). */
static void h_entry(crypto_generichash_state *st, const struct process_entry *e)
{
	h_str(st, e->name);
	uint32_t nums[2] = { (uint32_t)e->kind, e->instances };
	h_bytes(st, nums, sizeof(nums));
	h_str(st, e->image);
	h_str(st, e->config);
	h_bytes(st, &e->ip_addresses.n, sizeof(e->ip_addresses.n));
	for (size_t i = 0; i < e->ip_addresses.n; i++)
		h_str(st, e->ip_addresses.v[i]);
	h_bytes(st, &e->variables.n, sizeof(e->variables.n));
	for (size_t i = 0; i < e->variables.n; i++) {
		h_str(st, e->variables.v[i].key);
		h_str(st, e->variables.v[i].value);
	}
	h_bytes(st, &e->extra_secrets_namespaces.n, sizeof(e->extra_secrets_namespaces.n));
	for (size_t i = 0; i < e->extra_secrets_namespaces.n; i++)
		h_str(st, e->extra_secrets_namespaces.v[i]);
}

/* What compile_instance looks at in an image, once per image. */
struct image_facts {
	const char *root;
	int resolv, hosts;
};

static const struct image_facts *facts_of(struct image_facts **v, size_t *n, const char *root)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*v)[i].root, root))
			return &(*v)[i];
	struct image_facts f = { root, (int)image_file_kind(root, "/etc/resolv.conf"),
				 (int)image_file_kind(root, "/etc/hosts") };
	VEC_PUSH(*v, *n, f);
	return &(*v)[*n - 1];
}

static const struct child *find_child(struct tree *t, const char *lxc_name)
{
	for (size_t i = 0; i < t->n_children; i++)
		if (!strcmp(t->children[i].lxc_name, lxc_name))
			return &t->children[i];
	return NULL;
}

static void log_instance_problems(struct diags *d, const char *sb, const char *proc, uint32_t k)
{
	for (size_t e = 0; e < d->n; e++) {
		char *line = diag_format(&d->v[e]);
		log_error("Instance %s/%s.%u not started: %s", sb, proc, k, line);
		free(line);
	}
}

/* The instances the configs want.  Each gets a digest of its inputs; one
 * whose child was started from the same inputs takes that child's hash
 * and is not compiled (compiled when it starts again, see tree_start). */
void tree_compute_wants(struct tree *t)
{
	tree_free_wants(t);
	crypto_generichash_state g;
	global_inputs(t, &g);
	struct image_facts *facts = NULL;
	size_t n_facts = 0;
	size_t n_compiled = 0;
	for (size_t i = 0; i < t->setup.n_sandboxes; i++) {
		const struct loaded_sandbox *sb = &t->setup.sandboxes[i];
		int sources_fd = i < t->n_srcs ? t->srcs[i].fd : -1;
		crypto_generichash_state gs = g;
		h_file(&gs, &sb->sources, sb->cfg.file);
		for (size_t j = 0; j < sb->n_entries; j++) {
			const struct loaded_entry *le = &sb->entries[j];
			if (!le->valid || le->entry->kind != KIND_DAEMON)
				continue;
			/* mount targets are checked per entry: the same for all
			 * its instances */
			struct diags md = { 0 };
			if (!check_mount_targets(le->cc, le->image_root, &md)) {
				for (uint32_t k = 0; k < le->entry->instances; k++)
					log_instance_problems(&md, sb->cfg.name, le->entry->name, k);
				diags_free(&md);
				continue;
			}
			diags_free(&md);
			const struct image_facts *f = facts_of(&facts, &n_facts, le->image_root);
			crypto_generichash_state ge = gs;
			h_entry(&ge, le->entry);
			h_file(&ge, &sb->sources, le->cc->file);
			h_str(&ge, le->image_root);
			int fk[2] = { f->resolv, f->hosts };
			h_bytes(&ge, fk, sizeof(fk));
			for (uint32_t k = 0; k < le->entry->instances; k++) {
				struct want w = { 0 };
				struct diags d = { 0 };
				w.sources_fd = sources_fd;
				if (instance_build(&w.in, &sb->cfg, le->entry, le->cc, le->image_root, k, 0,
						   NULL, 0, &d) < 0) {
					log_instance_problems(&d, sb->cfg.name, le->entry->name, k);
					diags_free(&d);
					instance_free(&w.in);
					continue;
				}
				crypto_generichash_state gi = ge;
				h_bytes(&gi, &k, sizeof(k));
				h_final(&gi, w.inputs);
				const struct child *c = find_child(t, w.in.lxc_name);
				if (c && c->hash[0] && !strcmp(c->inputs, w.inputs)) {
					memcpy(w.hash, c->hash, sizeof(w.hash));
				} else {
					if (compile_want(t, &w, &d) < 0) {
						log_instance_problems(&d, sb->cfg.name, le->entry->name, k);
						diags_free(&d);
						instance_free(&w.in);
						buf_free(&w.conf);
						continue;
					}
					w.compiled = true;
					n_compiled++;
					hash_want(&w);
				}
				diags_free(&d);
				w.name = xstrdup(w.in.name);
				w.lxc_name = xstrdup(w.in.lxc_name);
				w.sandbox = xstrdup(sb->cfg.name);
				w.proc = xstrdup(le->entry->name);
				w.index = k;
				w.sb = sb;
				w.le = le;
				w.restart_timeout = le->cc->restart_timeout;
				w.kill_timeout = le->cc->kill_timeout;
				VEC_PUSH(t->wants, t->n_wants, w);
			}
		}
	}
	free(facts);
	log_info("Configs want %zu instances; %zu compiled, %zu unchanged since they started",
		 t->n_wants, n_compiled, t->n_wants - n_compiled);
}

static struct want *find_want(struct tree *t, const char *lxc_name)
{
	for (size_t i = 0; i < t->n_wants; i++)
		if (!strcmp(t->wants[i].lxc_name, lxc_name))
			return &t->wants[i];
	return NULL;
}

struct child *tree_find_pid(struct tree *t, pid_t pid)
{
	for (size_t i = 0; i < t->n_children; i++)
		if (t->children[i].pid == pid && t->children[i].state == CH_RUNNING)
			return &t->children[i];
	return NULL;
}

/* Everything a dead instance may leave: state dir, veth, and the LXC
 * directory when it is not going to be started again. */
void tree_cleanup_instance(struct tree *t, const char *lxc_name, bool remove_dir)
{
	char *state = instance_state_dir(&t->setup.master, lxc_name), *serr = NULL;
	if (state_dir_remove(state, &serr) < 0) {
		log_warn("%s", serr);
		free(serr);
	}
	free(state);
	remove_stale_veth(lxc_name);
	if (cgroup_cleanup(t->setup.master.cgroup_name, lxc_name, false))
		log_warn("Cgroups of %s could not be removed yet", lxc_name);
	if (remove_dir) {
		instance_dir_remove(t->host.lxc_path, lxc_name);
		char *kf = knot_file(t, lxc_name, "pid");
		unlink(kf);
		free(kf);
		kf = knot_file(t, lxc_name, "status");
		unlink(kf);
		free(kf);
		kf = knot_file(t, lxc_name, "events");
		unlink(kf);
		free(kf);
		kf = knot_file(t, lxc_name, "main");
		unlink(kf);
		free(kf);
		if (t->stopping) {
			/* a restore result nobody read (lithos_restore gave
			 * up before a late restore): no one asks any more */
			kf = knot_file(t, lxc_name, "result");
			unlink(kf);
			free(kf);
		}
	}
}

/* restart-process-only: lithos_init (pid 1 of the container) restarts the
 * process in place and reports each death and start as a line on a fifo in
 * the knots dir: "exit CODE", "start PID".  The fifo outlives a reload or a
 * crash of the tree: the next tree opens it again by name. */
void tree_events_open(struct tree *t, struct child *c, bool create)
{
	char *f = knot_file(t, c->lxc_name, "events");
	if (create) {
		unlink(f);
		if (mkfifo(f, 0600) < 0)
			log_warn("Cannot create %s: %m", f);
	}
	c->ev_fd = open(f, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	free(f);
}

void tree_events_close(struct tree *t, struct child *c, bool remove)
{
	if (c->ev_fd >= 0)
		close(c->ev_fd);
	c->ev_fd = -1;
	if (remove) {
		char *f = knot_file(t, c->lxc_name, "events");
		unlink(f);
		free(f);
	}
}


static void process_died_in_place(struct tree *t, struct child *c, int code)
{
	bool failure = !c->term_sent;
	for (size_t i = 0; failure && i < c->n_normal_codes; i++)
		if ((int)c->normal_codes[i] == code)
			failure = false;
	c->deaths++;
	if (failure)
		c->failures++;
	c->last_exit = code;
	c->proc_down = true;
	tree_metric_died(t, c, failure);
	log_info("%s exited with %d after %.1fs%s; restarting it in its container", c->name, code,
		 now_mono() - c->started_at, failure ? " (failure)" : "");
	const struct want *w = find_want(t, c->lxc_name);
	if (w)
		stdio_log_line(&t->setup.master, &w->sb->cfg, "%s: exited with %d", c->name, code);
}

/* The pid lithos_init reported last, for lithos_ps: after a restart in
 * place the process is not always init's first child (what the process
 * left behind stays).  In knots/NAME.main for a tree adopting it after a
 * crash. */
static void set_main_pid(struct tree *t, struct child *c, int pid)
{
	c->main_pid = pid;
	char *f = knot_file(t, c->lxc_name, "main");
	if (pid <= 0) {
		unlink(f);
	} else {
		int fd = open(f, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd >= 0) {
			dprintf(fd, "%d\n", pid);
			close(fd);
		}
	}
	free(f);
}

void tree_main_pid_load(struct tree *t, struct child *c)
{
	char *f = knot_file(t, c->lxc_name, "main");
	char *s = read_file_limited(f, 64, NULL);
	int pid = s ? atoi(s) : 0;
	c->main_pid = pid > 0 ? pid : 0;
	free(s);
	free(f);
}

static void process_started_in_place(struct tree *t, struct child *c, int pid)
{
	set_main_pid(t, c, pid);
	c->starts++;
	c->proc_down = false;
	c->started_at = now_mono();
	tree_metric_started(t, c);
	log_info("Restarted %s in its container (pid %d inside)", c->name, pid);
	const struct want *w = find_want(t, c->lxc_name);
	if (w)
		stdio_log_line(&t->setup.master, &w->sb->cfg, "%s: starting %s", c->name,
			       w->in.argv.v[0]);
}

/* The fifo is written by lithos_init, which runs as the container's user:
 * the process in the container can open it too (/proc/1/fd) and write what
 * it likes.  So: at most a few reads per wake-up (a writer in a loop must
 * not keep the tree from its other children), exit codes 0-255 and pids
 * > 0 only, and no second exit without a start between (a start is always
 * taken: after a reload the tree does not know the process was down); the
 * rest is dropped with one warning per read. */
void tree_events_read(struct tree *t, struct child *c)
{
	char buf[4096];
	ssize_t n;
	for (int reads = 0; reads < 4 && c->ev_fd >= 0 && (n = read(c->ev_fd, buf, sizeof(buf) - 1)) > 0;
	     reads++) {
		buf[n] = 0;
		char *save = NULL;
		unsigned dropped = 0;
		/* lines are written whole (one write() of a few bytes each) */
		for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			int v;
			if (sscanf(line, "exit %d", &v) == 1 && !c->proc_down && v >= 0 && v < 256)
				process_died_in_place(t, c, v);
			else if (sscanf(line, "start %d", &v) == 1 && v > 0)
				process_started_in_place(t, c, v);
			else
				dropped++;
		}
		if (dropped)
			log_warn("%s: %u unexpected event line(s) from the container's init ignored", c->name,
				 dropped);
		t->dirty = true;
	}
}

static void set_child_from_want(struct child *c, const struct want *w)
{
	memcpy(c->hash, w->hash, sizeof(c->hash));
	memcpy(c->inputs, w->inputs, sizeof(c->inputs));
	c->restart_timeout = w->restart_timeout;
	c->kill_timeout = w->kill_timeout;
	free(c->normal_codes);
	c->n_normal_codes = w->in.cc->n_normal_exit_codes;
	c->normal_codes = xcalloc(c->n_normal_codes ? c->n_normal_codes : 1, sizeof(uint32_t));
	memcpy(c->normal_codes, w->in.cc->normal_exit_codes, c->n_normal_codes * sizeof(uint32_t));
}

int tree_start(struct tree *t, struct child *c, struct want *w)
{
	char *err = NULL;
	if (!w->compiled) {
		/* unchanged since its last start: compile it again now */
		struct diags d = { 0 };
		if (compile_want(t, w, &d) < 0) {
			log_instance_problems(&d, w->sandbox, w->proc, w->index);
			diags_free(&d);
			buf_free(&w->conf);
			c->state = CH_WAIT_RESTART;
			c->deadline = now_mono() + (c->restart_timeout > 1 ? c->restart_timeout : 1);
			return -1;
		}
		diags_free(&d);
		w->compiled = true;
		hash_want(w);
	}
	set_child_from_want(c, w);
	c->term_sent = false;
	c->replace = false;
	remove_stale_veth(w->lxc_name);
	if (instance_dir_write(t->host.lxc_path, w->lxc_name, w->name, NULL, w->conf.p, w->conf.len,
			       &err) < 0) {
		log_error("Cannot start %s: %s", w->name, err);
		free(err);
		c->state = CH_WAIT_RESTART;
		c->deadline = now_mono() + (c->restart_timeout > 1 ? c->restart_timeout : 1);
		return -1;
	}
	if (configlog_record(&t->setup.master, &w->sb->cfg, w->le->entry, w->name, &err) < 0) {
		log_warn("Cannot write config log for %s: %s", w->name, err);
		free(err);
		err = NULL;
	}
	int out = open_instance_output(&t->setup.master, &w->in, &err);
	if (out < 0) {
		log_error("Cannot start %s: %s", w->name, err);
		free(err);
		c->state = CH_WAIT_RESTART;
		c->deadline = now_mono() + (c->restart_timeout > 1 ? c->restart_timeout : 1);
		return -1;
	}
	int *fds = NULL;
	uint32_t *child_fds = NULL;
	size_t n_fds = 0;
	/* a restore request (lithos_restore) turns this start into a restore;
	 * taken (unlinked) only once the start goes ahead (below) */
	char *req = knot_file(t, w->lxc_name, "restore");
	char *rdir = read_first_line(req);
	if (ports_acquire(t, c, w, rdir != NULL, &fds, &child_fds, &n_fds) < 0) {
		free(rdir);
		free(req);
		close(out);
		c->state = CH_WAIT_RESTART;
		c->deadline = now_mono() + (c->restart_timeout > 1 ? c->restart_timeout : 1);
		return -1;
	}
	/* take the request: lithos_restore withdraws it (unlinks it) when
	 * it gives up waiting, and a withdrawn request must not be restored
	 * (lithos_migrate then restores on the source) */
	if (rdir && unlink(req) < 0) {
		/* nor started fresh: the images may be restored elsewhere now
		 * (as after a failed restore; lithos_restore --discard) */
		char *away = knot_file(t, w->lxc_name, "away");
		char *text = xasprintf("restore-withdrawn %s\n", rdir);
		write_small_file(away, text);
		log_warn("%s: the restore request from %s was withdrawn (lithos_restore gave up); not restoring it, nor starting it",
			 w->name, rdir);
		free(text);
		free(away);
		ports_release(t, c);
		free(fds);
		free(child_fds);
		free(rdir);
		free(req);
		close(out);
		tree_cleanup_instance(t, w->lxc_name, true);
		c->state = CH_STOPPED;
		t->dirty = true;
		return -1;
	}
	char *status = knot_file(t, w->lxc_name, "status");
	unlink(status);
	if (c->main_pid)
		set_main_pid(t, c, 0);
	/* restart-process-only: lithos_init's events, through the knot */
	tree_events_close(t, c, false);
	c->proc_down = false;
	int ev_w = -1;
	char ev_arg[16] = "";
	if (w->in.cc->restart_process_only) {
		tree_events_open(t, c, true);
		char *f = knot_file(t, w->lxc_name, "events");
		ev_w = c->ev_fd >= 0 ? open(f, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW) : -1;
		if (ev_w < 0)
			log_warn("%s: restart-process-only without events (%s: %m): in-container restarts will not be counted",
				 w->name, f);
		free(f);
		snprintf(ev_arg, sizeof(ev_arg), "%d", ev_w);
	}
	free(c->restore_dir);
	c->restore_dir = NULL;
	if (rdir)
		c->restore_dir = rdir;
	free(req);
	struct strlist args = { 0 };
	struct pos p0 = { 0, 0 };
	strlist_push(&args, t->knot, p0);
	strlist_push(&args, "--name", p0);
	strlist_push(&args, w->name, p0);
	strlist_push(&args, "--master", p0);
	strlist_push(&args, t->master_path, p0);
	strlist_push(&args, "--lxc-path", p0);
	strlist_push(&args, t->host.lxc_path, p0);
	strlist_push(&args, "--lxc-name", p0);
	strlist_push(&args, w->lxc_name, p0);
	strlist_push(&args, "--status", p0);
	strlist_push(&args, status, p0);
	for (size_t i = 0; i < n_fds; i++) {
		char *m = xasprintf("%u=%d", child_fds[i], fds[i]);
		strlist_push(&args, "--fd", p0);
		strlist_push(&args, m, p0);
		free(m);
	}
	if (w->sources_fd >= 0) {
		char *m = xasprintf("%d", w->sources_fd);
		strlist_push(&args, "--sources-fd", p0);
		strlist_push(&args, m, p0);
		free(m);
	}
	if (ev_w >= 0) {
		strlist_push(&args, "--events-fd", p0);
		strlist_push(&args, ev_arg, p0);
	}
	if (c->restore_dir) {
		char *res = knot_file(t, w->lxc_name, "result");
		char *init = knot_file(t, w->lxc_name, "init");
		strlist_push(&args, "--restore", p0);
		strlist_push(&args, c->restore_dir, p0);
		strlist_push(&args, "--result", p0);
		strlist_push(&args, res, p0);
		strlist_push(&args, "--init-file", p0);
		strlist_push(&args, init, p0);
		free(res);
		free(init);
	}
	/* the knot runs criu (restores) from the tree's PATH */
	const char *path = getenv("PATH");
	char *path_env = xasprintf("PATH=%s", path && *path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
	char **argv = xcalloc(args.n + 1, sizeof(*argv));
	memcpy(argv, args.v, args.n * sizeof(*argv));
	if (c->restore_dir)
		stdio_log_line(&t->setup.master, &w->sb->cfg, "%s: restoring from %s", w->name,
			       c->restore_dir);
	else
		stdio_log_line(&t->setup.master, &w->sb->cfg, "%s: starting %s", w->name,
			       w->in.argv.v[0]);
	pid_t pid = fork();
	if (pid == 0) {
		setsid();
		sigset_t all;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		for (int s = 1; s < NSIG; s++)
			signal(s, SIG_DFL);
		int nul = open("/dev/null", O_RDONLY);
		dup2(nul, 0);
		dup2(out, 1);
		dup2(out, 2);
		for (size_t i = 0; i < n_fds; i++) {
			int fl = fcntl(fds[i], F_GETFD);
			fcntl(fds[i], F_SETFD, fl & ~FD_CLOEXEC);
		}
		if (w->sources_fd >= 0)
			fcntl(w->sources_fd, F_SETFD, 0);
		if (ev_w >= 0)
			fcntl(ev_w, F_SETFD, 0);
		/* lxc's init is a fork of the knot: its environment is what
		 * the container's pid 1 shows, so give it nothing of ours */
		char *envp[] = { "container=lxc", path_env, NULL };
		execve(t->knot, argv, envp);
		dprintf(2, "[lithos] %s: cannot run %s: %s\n", w->name, t->knot, strerror(errno));
		_exit(122);
	}
	int fork_errno = errno;
	free(path_env);
	close(out);
	if (ev_w >= 0)
		close(ev_w);
	free(argv);
	strlist_free(&args);
	free(fds);
	free(child_fds);
	free(status);
	if (pid < 0) {
		log_error("Cannot fork for %s: %s", w->name, strerror(fork_errno));
		ports_release(t, c);
		c->state = CH_WAIT_RESTART;
		c->deadline = now_mono() + 1;
		return -1;
	}
	t->dirty = true;
	c->pid = pid;
	c->pidfd = -1;
	c->state = CH_RUNNING;
	c->started_at = now_mono();
	c->starts++;
	char *kf = knot_file(t, w->lxc_name, "pid");
	char *tmp = xasprintf("%s.tmp", kf);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		dprintf(fd, "%d %s %s\n", pid, w->hash, w->name);
		close(fd);
		rename(tmp, kf);
	}
	free(tmp);
	free(kf);
	tree_metric_started(t, c);
	if (c->restore_dir)
		log_info("Restoring %s from %s (knot pid %d)", w->name, c->restore_dir, pid);
	else
		log_info("Started %s (knot pid %d)", w->name, pid);
	return 0;
}

/* A pidfd of the container's init from the start-host hook's record (host
 * pid and start time), the start time checked after the pidfd is opened: it
 * is that process, whatever becomes of the pid.  -1 if unknown or gone. */
static int recorded_init(struct tree *t, const char *lxc_name, pid_t *pid_out)
{
	char *f = knot_file(t, lxc_name, "init");
	FILE *fh = fopen(f, "re");
	free(f);
	if (!fh)
		return -1;
	int pid = 0;
	unsigned long long start = 0;
	int n = fscanf(fh, "%d %llu", &pid, &start);
	fclose(fh);
	if (n != 2 || pid <= 1)
		return -1;
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd >= 0 && proc_starttime(pid) != start) {
		close(pfd);
		pfd = -1;
	}
	*pid_out = pid;
	return pfd;
}

static int term_payload(struct tree *t, const char *lxc_name)
{
	/* lithos_init forwards it to the process and, for
	 * restart-process-only, knows the death that follows is a stop */
	pid_t pid;
	int pfd = recorded_init(t, lxc_name, &pid);
	if (pfd < 0)
		return 0;
	int r = pidfd_signal(pfd, SIGTERM);
	close(pfd);
	return r == 0 ? 1 : 0;
}

void tree_stop(struct tree *t, struct child *c)
{
	if (c->state != CH_RUNNING)
		return;
	t->dirty = true;
	if (!c->term_sent) {
		/* SIGTERM once, to the container's init (lithos_init), which
		 * passes it to the process; after kill-timeout, SIGKILL */
		if (term_payload(t, c->lxc_name) <= 0)
			signal_knot(c, SIGTERM);
		c->term_sent = true;
		c->deadline = now_mono() + c->kill_timeout;
		log_info("Stopping %s (SIGTERM, kill-timeout %.1fs)", c->name, c->kill_timeout);
	}
}

static void kill_hard(struct tree *t, struct child *c)
{
	log_warn("Killing %s: still alive %.1fs after SIGTERM", c->name, c->kill_timeout);
	struct lxc_container *lc = lxc_container_new(c->lxc_name, t->host.lxc_path);
	if (lc) {
		tree_kill_container(lc, SIGKILL);
		lxc_container_put(lc);
	}
	signal_knot(c, SIGKILL);
	c->deadline = now_mono() + 5;
}

/* The instance ended because a checkpoint stopped it (or a restore of it
 * failed): not a death to count or restart; everything of it goes. */
static void child_went_away(struct tree *t, struct child *c, int code)
{
	char *away = knot_file(t, c->lxc_name, "away");
	char *where = read_first_line(away);
	if (!where) {
		/* a failed restore: keep it from starting fresh (the images
		 * may be restored elsewhere); lithos_restore --discard */
		char *text = xasprintf("restore-failed %s\n", c->restore_dir ? c->restore_dir : "?");
		write_small_file(away, text);
		free(text);
		log_error("%s: the restore from %s failed; not starting it (lithos_restore --discard %s starts it fresh)",
			  c->name, c->restore_dir ? c->restore_dir : "?", c->name);
	} else {
		log_info("%s was checkpointed to %s and stopped (exit %d); not restarting it", c->name,
			 where, code);
	}
	const struct want *w = find_want(t, c->lxc_name);
	if (w)
		stdio_log_line(&t->setup.master, &w->sb->cfg, "%s: %s", c->name,
			       where ? "stopped by a checkpoint" : "restore failed");
	free(where);
	free(away);
	t->dirty = true;
	ports_release(t, c);
	if (c->pidfd >= 0) {
		close(c->pidfd);
		c->pidfd = -1;
	}
	c->pid = 0;
	kill_stale_init(t, c->lxc_name);
	tree_cleanup_instance(t, c->lxc_name, true);
	free(c->restore_dir);
	c->restore_dir = NULL;
	c->state = CH_STOPPED;
}

bool tree_instance_away(struct tree *t, const char *lxc_name)
{
	char *away = knot_file(t, lxc_name, "away");
	bool yes = access(away, F_OK) == 0;
	free(away);
	return yes;
}

void tree_child_died(struct tree *t, struct child *c, int code)
{
	if (tree_instance_away(t, c->lxc_name) || (c->restore_dir && code == EXIT_RESTORE_FAILED)) {
		child_went_away(t, c, code);
		return;
	}
	free(c->restore_dir);
	c->restore_dir = NULL;
	t->dirty = true;
	tree_events_read(t, c); /* what lithos_init said before the end */
	bool failure = !c->term_sent;
	for (size_t i = 0; failure && i < c->n_normal_codes; i++)
		if ((int)c->normal_codes[i] == code)
			failure = false;
	if (c->proc_down) {
		/* restart-process-only, stopped while the process was down:
		 * its death was counted when lithos_init reported it */
		failure = false;
		code = c->last_exit;
	} else {
		c->deaths++;
		if (failure)
			c->failures++;
		c->last_exit = code;
		tree_metric_died(t, c, failure);
	}
	c->proc_down = false;
	tree_events_close(t, c, true);
	ports_release(t, c);
	double ran = now_mono() - c->started_at;
	log_info("%s exited with %d after %.1fs%s", c->name, code, ran, failure ? " (failure)" : "");
	const struct want *w = find_want(t, c->lxc_name);
	if (w)
		stdio_log_line(&t->setup.master, &w->sb->cfg, "%s: exited with %d", c->name, code);
	if (c->pidfd >= 0) {
		close(c->pidfd);
		c->pidfd = -1;
	}
	c->pid = 0;
	kill_stale_init(t, c->lxc_name);
	bool again = !t->stopping && c->wanted && w;
	tree_cleanup_instance(t, c->lxc_name, !again);
	if (!again) {
		c->state = CH_STOPPED;
		return;
	}
	c->state = CH_WAIT_RESTART;
	if (c->replace || ran >= c->restart_timeout)
		c->deadline = now_mono();
	else
		c->deadline = c->started_at + c->restart_timeout;
}

void tree_remove_dead(struct tree *t)
{
	size_t w = 0;
	for (size_t i = 0; i < t->n_children; i++) {
		struct child *c = &t->children[i];
		if (c->state == CH_STOPPED) {
			tree_metric_forget(t, c);
			if (c->ev_fd >= 0)
				close(c->ev_fd);
			free(c->name);
			free(c->lxc_name);
			free(c->sandbox);
			free(c->proc);
			free(c->normal_codes);
			free(c->own_socks);
			for (size_t k = 0; k < c->n_shared_keys; k++)
				free(c->shared_keys[k]);
			free(c->shared_keys);
			free(c->restore_dir);
			continue;
		}
		t->children[w++] = *c;
	}
	t->n_children = w;
}

void tree_tick(struct tree *t)
{
	double now = now_mono();
	for (size_t i = 0; i < t->n_children; i++) {
		struct child *c = &t->children[i];
		if (c->state == CH_RUNNING && c->term_sent && now >= c->deadline)
			kill_hard(t, c);
		else if (c->state == CH_WAIT_RESTART && now >= c->deadline && !t->stopping) {
			struct want *w = find_want(t, c->lxc_name);
			if (w && c->wanted)
				tree_start(t, c, w);
			else
				c->state = CH_STOPPED;
		}
	}
	tree_remove_dead(t);
}

/* SIGUSR1 (lithos_restore, lithos_checkpoint): restore requests of
 * instances waiting for their restart are served at once; instances no
 * longer away are started (or restored) by the reconcile. */
void tree_restore_requests(struct tree *t)
{
	for (size_t i = 0; i < t->n_children; i++) {
		struct child *c = &t->children[i];
		if (c->state != CH_WAIT_RESTART)
			continue;
		char *req = knot_file(t, c->lxc_name, "restore");
		if (access(req, F_OK) == 0)
			c->deadline = now_mono();
		free(req);
	}
	tree_reconcile(t);
}

double tree_next_deadline(struct tree *t)
{
	double next = -1;
	for (size_t i = 0; i < t->n_children; i++) {
		struct child *c = &t->children[i];
		bool has = (c->state == CH_RUNNING && c->term_sent) || c->state == CH_WAIT_RESTART;
		if (has && (next < 0 || c->deadline < next))
			next = c->deadline;
	}
	return next;
}

/* Checkpoint markers (and restore requests) of instances that are no
 * longer configured: the entry moved to another host. */
static void drop_unwanted_markers(struct tree *t)
{
	DIR *d = opendir(t->knots_dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 6 || strcmp(e->d_name + n - 5, ".away"))
			continue;
		char *name = xstrndup(e->d_name, n - 5);
		if (!find_want(t, name)) {
			char *p = xasprintf("%s/%s", t->knots_dir, e->d_name);
			unlink(p);
			free(p);
		}
		free(name);
	}
	if (d)
		closedir(d);
}

void tree_reconcile(struct tree *t)
{
	drop_unwanted_markers(t);
	/* what runs and is no longer wanted, or wanted differently */
	for (size_t i = 0; i < t->n_children; i++) {
		struct child *c = &t->children[i];
		const struct want *w = find_want(t, c->lxc_name);
		if (!w) {
			char *away = knot_file(t, c->lxc_name, "away");
			unlink(away);
			free(away);
			c->wanted = false;
			if (c->state == CH_RUNNING)
				tree_stop(t, c);
			else {
				tree_cleanup_instance(t, c->lxc_name, true);
				c->state = CH_STOPPED;
			}
			continue;
		}
		c->wanted = true;
		if (strcmp(c->hash, w->hash)) {
			if (c->state == CH_RUNNING) {
				c->replace = true;
				tree_stop(t, c);
			} else {
				set_child_from_want(c, w);
				c->deadline = now_mono();
			}
		} else {
			/* unchanged: keep it, take the new timeouts */
			c->restart_timeout = w->restart_timeout;
			c->kill_timeout = w->kill_timeout;
			memcpy(c->inputs, w->inputs, sizeof(c->inputs));
		}
	}
	tree_remove_dead(t);
	/* what is wanted and does not run */
	for (size_t i = 0; i < t->n_wants; i++) {
		struct want *w = &t->wants[i];
		bool found = false;
		for (size_t j = 0; j < t->n_children && !found; j++)
			found = !strcmp(t->children[j].lxc_name, w->lxc_name);
		if (found || tree_instance_away(t, w->lxc_name))
			continue;
		struct child c = { 0 };
		c.name = xstrdup(w->name);
		c.lxc_name = xstrdup(w->lxc_name);
		c.sandbox = xstrdup(w->sandbox);
		c.proc = xstrdup(w->proc);
		c.pidfd = -1;
		c.ev_fd = -1;
		c.wanted = true;
		VEC_PUSH(t->children, t->n_children, c);
		tree_start(t, &t->children[t->n_children - 1], w);
	}
	tree_metric_setup(t);
	t->dirty = true;
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* runtime-dir/status.json: what lithos_ps shows (its only source). */
void tree_write_status(struct tree *t)
{
	char *path = xasprintf("%s/status.json", t->runtime_dir);
	char *tmp = xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "we");
	if (!f) {
		free(path);
		free(tmp);
		return;
	}
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	double mono = now_mono();
	fprintf(f, "{\"tree_pid\":%d,\"lxc_path\":", (int)getpid());
	json_str(f, t->host.lxc_path);
	fprintf(f, ",\"master\":");
	json_str(f, t->master_path);
	fprintf(f, ",\"reloads\":%llu,\"instances\":[", (unsigned long long)t->reloads);
	for (size_t i = 0; i < t->n_children; i++) {
		const struct child *c = &t->children[i];
		static const char *const st[] = { "running", "restarting", "stopped" };
		fprintf(f, "%s{\"name\":", i ? "," : "");
		json_str(f, c->name);
		fprintf(f, ",\"lxc_name\":");
		json_str(f, c->lxc_name);
		fprintf(f, ",\"sandbox\":");
		json_str(f, c->sandbox);
		fprintf(f, ",\"process\":");
		json_str(f, c->proc);
		fprintf(f, ",\"state\":\"%s%s\",\"knot_pid\":%d,\"started\":%.3f,\"starts\":%llu,\"deaths\":%llu,\"failures\":%llu,\"last_exit\":%d,\"main_pid\":%d}",
			st[c->state], c->state == CH_RUNNING && c->term_sent ? "-stopping" : "",
			(int)c->pid, c->state == CH_RUNNING ? (double)rt.tv_sec - (mono - c->started_at) : 0.0,
			(unsigned long long)c->starts, (unsigned long long)c->deaths,
			(unsigned long long)c->failures, c->last_exit,
			c->state != CH_RUNNING ? 0 : c->proc_down ? -1 : c->main_pid);
	}
	/* configured instances a checkpoint stopped here (lithos_checkpoint):
	 * no child, listed so that lithos_ps shows where they are */
	bool any = t->n_children > 0;
	for (size_t i = 0; i < t->n_wants; i++) {
		const struct want *w = &t->wants[i];
		bool running = false;
		for (size_t j = 0; j < t->n_children && !running; j++)
			running = !strcmp(t->children[j].lxc_name, w->lxc_name);
		if (running || !tree_instance_away(t, w->lxc_name))
			continue;
		fprintf(f, "%s{\"name\":", any ? "," : "");
		any = true;
		json_str(f, w->name);
		fprintf(f, ",\"lxc_name\":");
		json_str(f, w->lxc_name);
		fprintf(f, ",\"sandbox\":");
		json_str(f, w->sandbox);
		fprintf(f, ",\"process\":");
		json_str(f, w->proc);
		fprintf(f, ",\"state\":\"checkpointed\",\"knot_pid\":0,\"started\":0.000,\"starts\":0,\"deaths\":0,\"failures\":0,\"last_exit\":0}");
	}
	fprintf(f, "]}\n");
	fclose(f);
	rename(tmp, path);
	free(path);
	free(tmp);
}
