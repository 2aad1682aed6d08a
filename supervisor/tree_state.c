/* State carried across a reload (the tree re-executes itself and keeps its
 * children and sockets) and found again after a crash (knots are adopted
 * through pidfds). */
#include "tree.h"
#include "decode.h"
#include "log.h"
#include "lxcrun.h"
#include "tree_metrics.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <lxc/lxccontainer.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>

char *knot_file(struct tree *t, const char *lxc_name, const char *ext)
{
	return xasprintf("%s/%s.%s", t->knots_dir, lxc_name, ext);
}

static void free_srcs(struct sbsrc **v, size_t *n, bool close_fds)
{
	for (size_t i = 0; i < *n; i++) {
		if (close_fds && (*v)[i].fd >= 0)
			close((*v)[i].fd);
		free((*v)[i].name);
		srcset_free(&(*v)[i].set);
	}
	free(*v);
	*v = NULL;
	*n = 0;
}

/* runtime-dir/good/SANDBOX.sources: a copy of each memfd for the next tree
 * after a crash (removed when the tree stops cleanly). */
static char *good_file(struct tree *t, const char *name)
{
	return xasprintf("%s/good/%s.sources", t->runtime_dir, name);
}

static void write_good(struct tree *t, const char *name, const struct srcset *set)
{
	char *dir = xasprintf("%s/good", t->runtime_dir);
	char *path = good_file(t, name);
	size_t len;
	char *data = srcset_serialize(set, &len);
	if (mkdir_p(dir, 0700) < 0 || write_file_atomic(path, ".tmp", data, len, 0600, false) < 0)
		log_warn("Sandbox %s: cannot keep its configs in %s for a restart after a crash: %m", name, path);
	free(data);
	free(path);
	free(dir);
}

/* At a start that is not a reload: the last good configs a crashed tree
 * left in runtime-dir/good become the ones from before. */
void tree_load_good(struct tree *t)
{
	char *dir = xasprintf("%s/good", t->runtime_dir);
	DIR *dh = opendir(dir);
	struct dirent *de;
	while (dh && (de = readdir(dh))) {
		size_t len = strlen(de->d_name);
		if (len <= 8 || strcmp(de->d_name + len - 8, ".sources"))
			continue;
		char *path = xasprintf("%s/%s", dir, de->d_name);
		size_t n = 0;
		char *data = read_file_limited(path, 64u << 20, &n);
		struct sbsrc o = { xstrndup(de->d_name, len - 8), -1, { 0 } };
		if (!valid_name(o.name) || !data || srcset_parse(&o.set, data, n) < 0) {
			log_warn("Ignoring %s: cannot read it", path);
			free(o.name);
		} else {
			log_warn("Sandbox %s: the last good configs of the previous tree are kept for it", o.name);
			VEC_PUSH(t->old_srcs, t->n_old_srcs, o);
		}
		free(data);
		free(path);
	}
	if (dh)
		closedir(dh);
	free(dir);
}

/* A clean stop: the next start is a cold one. */
void tree_forget_good(struct tree *t)
{
	char *dir = xasprintf("%s/good", t->runtime_dir);
	remove_tree(dir);
	free(dir);
}

/* After a load: one sealed memfd per sandbox with what it was loaded from
 * (the one from before the reload when nothing changed), for the knots and
 * the next reload.  Those of sandboxes that are gone are closed. */
void tree_apply_sources(struct tree *t)
{
	struct sbsrc *v = xcalloc(t->setup.n_sandboxes + 1, sizeof(*v));
	for (size_t i = 0; i < t->setup.n_sandboxes; i++) {
		const struct loaded_sandbox *sb = &t->setup.sandboxes[i];
		v[i].name = xstrdup(sb->cfg.name ? sb->cfg.name : "?");
		v[i].fd = -1;
		if (!valid_name(v[i].name))
			continue; /* such a sandbox runs nothing */
		size_t len;
		char *data = srcset_serialize(&sb->sources, &len);
		for (size_t k = 0; k < t->n_old_srcs; k++) {
			struct sbsrc *o = &t->old_srcs[k];
			if (o->fd < 0 || strcmp(o->name, v[i].name))
				continue;
			size_t olen;
			char *odata = srcset_serialize(&o->set, &olen);
			if (olen == len && !memcmp(odata, data, len)) {
				v[i].fd = o->fd;
				o->fd = -1;
			}
			free(odata);
		}
		free(data);
		if (v[i].fd < 0) {
			write_good(t, v[i].name, &sb->sources);
			char *mname = xasprintf("lithos-sources-%s", v[i].name);
			v[i].fd = srcset_memfd(&sb->sources, mname);
			free(mname);
			if (v[i].fd < 0)
				log_warn("Sandbox %s: cannot keep its configs in a memfd (%m); its knots read the files",
					 v[i].name);
		}
	}
	/* sandboxes that are gone: their copies go too */
	for (size_t k = 0; k < t->n_old_srcs; k++) {
		bool present = false;
		for (size_t i = 0; i < t->setup.n_sandboxes && !present; i++)
			present = !strcmp(v[i].name, t->old_srcs[k].name);
		if (!present && valid_name(t->old_srcs[k].name)) {
			char *gf = good_file(t, t->old_srcs[k].name);
			unlink(gf);
			free(gf);
		}
	}
	free_srcs(&t->old_srcs, &t->n_old_srcs, true);
	free_srcs(&t->srcs, &t->n_srcs, true);
	t->srcs = v;
	t->n_srcs = t->setup.n_sandboxes;
}

int tree_save_state(struct tree *t, const char *path)
{
	char *tmp = xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "we");
	if (!f) {
		free(tmp);
		return -1;
	}
	/* 2: each child line ends with "fds PIDFD EVFD main PID" (older trees
	 * stop reading a child line after its inputs) */
	fprintf(f, "lithos-tree-state 2\n");
	fprintf(f, "reloads %llu\n", (unsigned long long)t->reloads);
	for (size_t k = 0; k < t->n_ports; k++)
		fprintf(f, "port %s %d\n", t->ports[k].key, t->ports[k].fd);
	for (size_t k = 0; k < t->n_srcs; k++)
		if (t->srcs[k].fd >= 0)
			fprintf(f, "sources %s %d\n", t->srcs[k].name, t->srcs[k].fd);
	for (size_t i = 0; i < t->n_children; i++) {
		const struct child *c = &t->children[i];
		if (c->state == CH_STOPPED)
			continue;
		fprintf(f, "child %s %s %s %s %s %d %d %d %.6f %.6f %.6f %.6f %llu %llu %llu %d %zu",
			c->lxc_name, c->name, c->sandbox, c->proc, c->hash[0] ? c->hash : "-",
			(int)c->state, (int)c->pid, c->term_sent, c->started_at, c->deadline,
			c->restart_timeout, c->kill_timeout, (unsigned long long)c->starts,
			(unsigned long long)c->deaths, (unsigned long long)c->failures, c->last_exit,
			c->n_own_socks);
		for (size_t k = 0; k < c->n_own_socks; k++)
			fprintf(f, " %d", c->own_socks[k]);
		fprintf(f, " %zu", c->n_shared_keys);
		for (size_t k = 0; k < c->n_shared_keys; k++)
			fprintf(f, " %s", c->shared_keys[k]);
		fprintf(f, " inputs %s", c->inputs[0] ? c->inputs : "-");
		/* the adopted knot's pidfd and the events fifo stay open
		 * across the exec: the next image takes them as they are
		 * instead of probing every knot (-1: an own child, no fifo) */
		bool run = c->state == CH_RUNNING;
		fprintf(f, " fds %d %d main %d\n", run ? c->pidfd : -1, run ? c->ev_fd : -1, c->main_pid);
	}
	int bad = ferror(f);
	if (fclose(f) != 0 || bad || rename(tmp, path) < 0) {
		free(tmp);
		return -1;
	}
	free(tmp);
	tree_state_keep_fds(t, true);
	return 0;
}

/* Sockets, kept configs, pidfds of adopted knots and events fifos survive
 * the exec (keep); close-on-exec again when the exec failed. */
void tree_state_keep_fds(struct tree *t, bool keep)
{
	int fl = keep ? 0 : FD_CLOEXEC;
	for (size_t k = 0; k < t->n_ports; k++)
		fcntl(t->ports[k].fd, F_SETFD, fl);
	for (size_t k = 0; k < t->n_srcs; k++)
		if (t->srcs[k].fd >= 0)
			fcntl(t->srcs[k].fd, F_SETFD, fl);
	for (size_t i = 0; i < t->n_children; i++) {
		const struct child *c = &t->children[i];
		for (size_t k = 0; k < c->n_own_socks; k++)
			fcntl(c->own_socks[k], F_SETFD, fl);
		if (c->state != CH_RUNNING)
			continue;
		if (c->pidfd >= 0)
			fcntl(c->pidfd, F_SETFD, fl);
		if (c->ev_fd >= 0)
			fcntl(c->ev_fd, F_SETFD, fl);
	}
}

static bool knot_alive(pid_t pid, const char *name)
{
	char path[64];
	/* a knot runs in the tree's pid namespace; a process in a container
	 * can take any command line, but never that */
	struct stat own, other;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	if (stat("/proc/self/ns/pid", &own) < 0 || stat(path, &other) < 0 ||
	    own.st_ino != other.st_ino || own.st_dev != other.st_dev)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	size_t len;
	char *cmd = read_file_limited(path, 1 << 16, &len);
	bool ok = false;
	if (cmd) {
		/* argv is NUL-separated: look for "--name\0NAME\0" after lithos_knot */
		bool is_knot = strstr(cmd, "lithos_knot") != NULL;
		for (size_t i = 0; is_knot && i + 7 < len; i++) {
			if (!memcmp(cmd + i, "--name", 7) && !strcmp(cmd + i + 7, name)) {
				ok = true;
				break;
			}
		}
		free(cmd);
	}
	return ok;
}

static pid_t proc_ppid(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	char *st = read_file_limited(path, 4096, NULL);
	char *close_paren = st ? strrchr(st, ')') : NULL;
	int ppid = 0;
	if (close_paren)
		sscanf(close_paren + 1, " %*c %d", &ppid);
	free(st);
	return ppid;
}

static bool fd_is_open(int fd)
{
	return fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) == 0;
}

/* A running child of the tree before the exec.  pidfd and ev_fd are what
 * the old image recorded (-1: none; -2: not recorded, a state file of an
 * older tree).  The pid is the same process as before the exec when it is
 * our child (a dead one stays a zombie until we reap it, the pid cannot be
 * reused meanwhile) or when we hold its pidfd (the pidfd follows the
 * process, not the pid: a knot dead meanwhile makes it readable).  Only
 * without a record: our child?  (its parent in /proc/PID/stat); if not, a
 * pidfd and the knot's command line checked after opening it, since the
 * knot may have died and its pid been reused.  A knot found dead is marked
 * lost: the tree handles its death before it looks at the configs. */
static void take_knot(struct tree *t, struct child *c, int pidfd, int ev_fd)
{
	if (pidfd >= -1 && ev_fd >= -1 && (pidfd < 0 || fd_is_open(pidfd)) &&
	    (ev_fd < 0 || fd_is_open(ev_fd))) {
		c->pidfd = pidfd;
		c->ev_fd = ev_fd;
		return;
	}
	if (pidfd >= 0)
		close(pidfd); /* recorded, but the event fd is not open */
	/* an inherited events fd whose pidfd did not come along: at least it
	 * must not reach what the tree execs (knots, and through them the
	 * containers); setting CLOEXEC is harmless should the number be one
	 * of ours by now */
	if (ev_fd >= 0 && fd_is_open(ev_fd))
		fcntl(ev_fd, F_SETFD, FD_CLOEXEC);
	/* restart-process-only: its fifo, if it has one */
	tree_events_open(t, c, false);
	if (c->ev_fd >= 0)
		tree_main_pid_load(t, c);
	if (c->pid <= 0 || proc_ppid(c->pid) == getpid())
		return;
	/* a knot adopted by an earlier tree is not our child: waitpid()
	 * never reports it, its pidfd does */
	c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	if (c->pidfd >= 0 && !knot_alive(c->pid, c->name)) {
		close(c->pidfd);
		c->pidfd = -1;
	}
	if (c->pidfd < 0) {
		log_warn("%s: its knot (pid %d) is gone", c->name, (int)c->pid);
		c->lost = true;
	}
}

int tree_load_state(struct tree *t, const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = 0;
		char *save = NULL;
		char *kind = strtok_r(line, " ", &save);
		if (!kind)
			continue;
		if (!strcmp(kind, "reloads")) {
			t->reloads = strtoull(strtok_r(NULL, " ", &save), NULL, 10);
		} else if (!strcmp(kind, "port")) {
			char *key = strtok_r(NULL, " ", &save), *fd = strtok_r(NULL, " ", &save);
			if (!key || !fd)
				continue;
			struct port_sock ps = { xstrdup(key), atoi(fd), 0, false };
			fcntl(ps.fd, F_SETFD, FD_CLOEXEC);
			VEC_PUSH(t->ports, t->n_ports, ps);
		} else if (!strcmp(kind, "sources")) {
			char *name = strtok_r(NULL, " ", &save), *fd = strtok_r(NULL, " ", &save);
			if (!name || !fd)
				continue;
			struct sbsrc o = { xstrdup(name), atoi(fd), { 0 } };
			fcntl(o.fd, F_SETFD, FD_CLOEXEC);
			if (srcset_read_fd(&o.set, o.fd) < 0) {
				log_error("Sandbox %s: cannot read its last good configs from fd %d", name, o.fd);
				close(o.fd);
				free(o.name);
				continue;
			}
			VEC_PUSH(t->old_srcs, t->n_old_srcs, o);
		} else if (!strcmp(kind, "child")) {
			struct child c = { 0 };
			char *f_[20];
			int k = 0;
			for (; k < 17; k++)
				if (!(f_[k] = strtok_r(NULL, " ", &save)))
					break;
			if (k < 17)
				continue;
			c.lxc_name = xstrdup(f_[0]);
			c.name = xstrdup(f_[1]);
			c.sandbox = xstrdup(f_[2]);
			c.proc = xstrdup(f_[3]);
			if (strcmp(f_[4], "-"))
				snprintf(c.hash, sizeof(c.hash), "%s", f_[4]);
			c.state = (enum child_state)atoi(f_[5]);
			c.pid = atoi(f_[6]);
			c.term_sent = atoi(f_[7]);
			c.started_at = strtod(f_[8], NULL);
			c.deadline = strtod(f_[9], NULL);
			c.restart_timeout = strtod(f_[10], NULL);
			c.kill_timeout = strtod(f_[11], NULL);
			c.starts = strtoull(f_[12], NULL, 10);
			c.deaths = strtoull(f_[13], NULL, 10);
			c.failures = strtoull(f_[14], NULL, 10);
			c.last_exit = atoi(f_[15]);
			size_t n_own = strtoul(f_[16], NULL, 10);
			for (size_t j = 0; j < n_own; j++) {
				char *s = strtok_r(NULL, " ", &save);
				if (!s)
					break;
				int fd = atoi(s);
				fcntl(fd, F_SETFD, FD_CLOEXEC);
				VEC_PUSH(c.own_socks, c.n_own_socks, fd);
			}
			char *ns = strtok_r(NULL, " ", &save);
			size_t n_sh = ns ? strtoul(ns, NULL, 10) : 0;
			for (size_t j = 0; j < n_sh; j++) {
				char *s = strtok_r(NULL, " ", &save);
				if (!s)
					break;
				char *key = xstrdup(s);
				VEC_PUSH(c.shared_keys, c.n_shared_keys, key);
				for (size_t p = 0; p < t->n_ports; p++)
					if (!strcmp(t->ports[p].key, key))
						t->ports[p].refs++;
			}
			char *tag = strtok_r(NULL, " ", &save), *inputs = strtok_r(NULL, " ", &save);
			if (tag && inputs && !strcmp(tag, "inputs") && strcmp(inputs, "-"))
				snprintf(c.inputs, sizeof(c.inputs), "%s", inputs);
			char *ftag = strtok_r(NULL, " ", &save), *pfd = strtok_r(NULL, " ", &save),
			     *efd = strtok_r(NULL, " ", &save);
			bool have_fds = ftag && pfd && efd && !strcmp(ftag, "fds");
			char *mtag = strtok_r(NULL, " ", &save), *mpid = strtok_r(NULL, " ", &save);
			if (mtag && mpid && !strcmp(mtag, "main") && atoi(mpid) > 0)
				c.main_pid = atoi(mpid);
			c.pidfd = -1;
			c.ev_fd = -1;
			c.wanted = true;
			if (c.state == CH_RUNNING)
				take_knot(t, &c, have_fds ? atoi(pfd) : -2, have_fds ? atoi(efd) : -2);
			VEC_PUSH(t->children, t->n_children, c);
		}
	}
	free(line);
	fclose(f);
	return 0;
}

/* After a crash: knots of this tree (they have a pid file in our runtime
 * dir) that still run are adopted; leftovers of dead ones are cleaned. */
void tree_adopt_orphans(struct tree *t)
{
	DIR *dh = opendir(t->knots_dir);
	if (!dh)
		return;
	struct dirent *de;
	while ((de = readdir(dh))) {
		size_t len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".pid"))
			continue;
		char *lxc_name = xstrndup(de->d_name, len - 4);
		char *pf = xasprintf("%s/%s", t->knots_dir, de->d_name);
		FILE *f = fopen(pf, "re");
		int pid = 0;
		char hash[65] = "", name[512] = "";
		if (f) {
			if (fscanf(f, "%d %64s %511s", &pid, hash, name) != 3)
				pid = 0;
			fclose(f);
		}
		/* the pidfd first, then the command line: the pidfd is of the
		 * knot checked, even if the pid is reused later */
		int pfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
		if (pfd >= 0 && !knot_alive(pid, name)) {
			close(pfd);
			pfd = -1;
		}
		if (pfd >= 0) {
			struct child c = { 0 };
			c.lxc_name = xstrdup(lxc_name);
			c.name = xstrdup(name);
			const char *slash = strchr(name, '/'), *dot = strrchr(name, '.');
			c.sandbox = slash ? xstrndup(name, (size_t)(slash - name)) : xstrdup("?");
			c.proc = slash && dot > slash ? xstrndup(slash + 1, (size_t)(dot - slash - 1))
						      : xstrdup("?");
			snprintf(c.hash, sizeof(c.hash), "%s", hash);
			c.state = CH_RUNNING;
			c.pid = pid;
			c.pidfd = pfd;
			c.ev_fd = -1;
			tree_events_open(t, &c, false);
			if (c.ev_fd >= 0)
				tree_main_pid_load(t, &c);
			c.started_at = now_mono();
			c.restart_timeout = 1;
			c.kill_timeout = 5;
			c.wanted = true;
			VEC_PUSH(t->children, t->n_children, c);
			log_warn("Adopted %s (knot pid %d) left running by an earlier tree", name, pid);
		} else {
			/* a container of ours without its knot must not run on */
			kill_stale_init(t, lxc_name);
			struct lxc_container *lc = lxc_container_new(lxc_name, t->host.lxc_path);
			if (lc) {
				if (lc->is_running(lc)) {
					log_warn("Killing %s: its knot is gone", lxc_name);
					tree_kill_container(lc, SIGKILL);
				}
				lxc_container_put(lc);
			}
			tree_cleanup_instance(t, lxc_name, true);
		}
		free(pf);
		free(lxc_name);
	}
	closedir(dh);
}
