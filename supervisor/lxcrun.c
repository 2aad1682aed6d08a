#include "lxcrun.h"
#include "lxcconf.h"
#include "paths.h"
#include "prestart.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <ftw.h>
#include <linux/close_range.h>
#include <lxc/lxccontainer.h>
#include <net/if.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <sys/wait.h>

static int compile(const struct master_config *m, const struct host_info *h,
		   const struct instance *in, const char *term,
		   const char *init_file, bool standalone, struct buf *conf, struct diags *d)
{
	size_t before = diags_count(d);
	check_mount_targets(in->cc, in->image_root, d);
	char *state = instance_state_dir(m, in->lxc_name);
	char *log = sandbox_stdio_log(m, in->sandbox);
	/* every input here is also in the tree's inputs digest
	 * (global_inputs and tree_compute_wants in tree_run.c) */
	struct lxc_facts f = {
		.cgroup = h->cgroup,
		.memsw = h->memsw,
		.lxc_path = h->lxc_path,
		.hook = h->hook,
		.init = h->init,
		.state_dir = state,
		.stdio_log = log,
		.init_file = init_file,
		.devfs_ready = devfs_ready(m->devfs_dir),
		.term = term,
		.image_resolv_conf = image_file_kind(in->image_root, "/etc/resolv.conf"),
		.image_hosts = image_file_kind(in->image_root, "/etc/hosts"),
		.base_template = h->base_template,
		.userns_template = h->userns_template,
		.devices_template = h->devices_template,
		.standalone = standalone,
	};
	lxcconf_render(in, m, &f, conf, d);
	free(state);
	free(log);
	return diags_count(d) > before ? -1 : 0;
}

int compile_instance(const struct master_config *m, const struct host_info *h,
		     const struct instance *in, const char *term,
		     const char *init_file, struct buf *conf, struct diags *d)
{
	return compile(m, h, in, term, init_file, false, conf, d);
}

int compile_instance_standalone(const struct master_config *m, const struct host_info *h,
				const struct instance *in, struct buf *conf, struct diags *d)
{
	return compile(m, h, in, NULL, NULL, true, conf, d);
}

char *sandbox_stdio_log(const struct master_config *m, const struct sandbox_config *s)
{
	return xasprintf("%s/%s.log", m->stdio_log_dir, s->name);
}

bool instance_dir_is_ours(const char *dir)
{
	char v[8];
	/* the link of a command's dir carries the mark too: a link left by a
	 * crashed lithos_cmd whose directory is gone is still known as ours */
	if (lgetxattr(dir, LITHOS_MARKER_XATTR, v, sizeof(v)) >= 0 || errno == ERANGE)
		return true;
	if (getxattr(dir, LITHOS_MARKER_XATTR, v, sizeof(v)) >= 0 || errno == ERANGE)
		return true;
	/* the marker file of lithos before 2026-12 (and of filesystems that
	 * keep no trusted.* attributes) */
	char *marker = xasprintf("%s/%s", dir, LITHOS_MARKER);
	bool ours = access(marker, F_OK) == 0;
	free(marker);
	return ours;
}

/* Mark dir as made by lithos: an extended attribute only root can set,
 * kept in the directory's inode (a marker file costs a file create and a
 * removal on the LXC path's filesystem: ~0.1 ms each on an ext4); a file
 * where the filesystem keeps no trusted.* attributes. */
static int instance_dir_mark(const char *dir, const char *lithos_name, char **err)
{
	if (setxattr(dir, LITHOS_MARKER_XATTR, lithos_name, strlen(lithos_name), 0) == 0)
		return 0;
	if (errno != ENOTSUP && errno != EPERM) {
		*err = xasprintf("cannot mark %s as lithos's (%s): %s", dir, LITHOS_MARKER_XATTR,
				 strerror(errno));
		return -1;
	}
	char *marker = xasprintf("%s/%s", dir, LITHOS_MARKER);
	int fd = open(marker, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	bool written = fd >= 0 && dprintf(fd, "%s\n", lithos_name) >= 0;
	int e = errno;
	if (fd >= 0 && close(fd) < 0 && written) {
		written = false;
		e = errno;
	}
	int rc = 0;
	if (!written) {
		*err = xasprintf("cannot write %s: %s", marker, strerror(e));
		rc = -1;
	}
	free(marker);
	return rc;
}

/* What lithos and LXC put into a container dir, removed by name (a walk
 * only for a real dir in the LXC path that holds anything else). */
static const char *const dir_files[] = { "config", "config.tmp", "lxc.log", LITHOS_MARKER };

static void unlink_dir_files(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	for (size_t i = 0; dfd >= 0 && i < sizeof(dir_files) / sizeof(dir_files[0]); i++)
		unlinkat(dfd, dir_files[i], 0);
	if (dfd >= 0)
		close(dfd);
}

static int write_all(int fd, const char *p, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, p + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/* The directory of a command: a directory of its own in link_dir (the
 * runtime dir, a tmpfs on a usual host) and a symlink to it in the LXC path,
 * so that a command's start and end touch the LXC path's filesystem with one
 * symlink and its removal (a file create and removal there cost 0.1-0.5 ms
 * each on the test host's ext4, and stall behind its journal commits). */
static int command_dir_write(const char *lxc_path, const char *name, const char *lithos_name,
			     const char *link_dir, const char *conf, size_t len, char **err)
{
	char *dir = xasprintf("%s/%s", lxc_path, name);
	char *target = xasprintf("%s/%s", link_dir, name);
	char *final = xasprintf("%s/config", target);
	int rc = -1, fd = -1;
	struct stat st;
	if (lstat(dir, &st) == 0) {
		/* a name holds lithos_cmd's pid: only a crashed run of an
		 * earlier process of that pid left it */
		bool ours = instance_dir_is_ours(dir);
		struct lxc_container *c = ours ? lxc_container_new(name, lxc_path) : NULL;
		bool running = c && c->is_running(c);
		if (c)
			lxc_container_put(c);
		if (!ours || running) {
			*err = running ? xasprintf("container %s is already running", name)
				       : xasprintf("%s exists and was not created by lithos; refusing to touch it", dir);
			goto out;
		}
		instance_dir_remove(lxc_path, name);
	}
	if (lstat(target, &st) == 0 && remove_tree(target) < 0) {
		*err = xasprintf("cannot remove the stale %s: %s", target, strerror(errno));
		goto out;
	}
	if ((mkdir(target, 0755) < 0 &&
	     (errno != ENOENT || mkdir_p(link_dir, 0755) < 0 || mkdir(target, 0755) < 0))) {
		*err = xasprintf("cannot create %s: %s", target, strerror(errno));
		goto out;
	}
	if (instance_dir_mark(target, lithos_name, err) < 0)
		goto fail;
	fd = open(final, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	bool written = fd >= 0 && write_all(fd, conf, len) == 0;
	int e = errno;
	/* closed whether the write worked or not (a failed close has closed
	 * it too) */
	if (fd >= 0 && close(fd) < 0 && written) {
		written = false;
		e = errno;
	}
	fd = -1;
	if (!written) {
		*err = xasprintf("cannot write %s: %s", final, strerror(e));
		goto fail;
	}
	if (symlink(target, dir) < 0 &&
	    (errno != ENOENT || mkdir_p(lxc_path, 0755) < 0 || symlink(target, dir) < 0)) {
		*err = xasprintf("cannot create %s: %s", dir, strerror(errno));
		goto fail;
	}
	/* best effort: where the filesystem keeps no attributes on links, the
	 * directory's mark is found through the link */
	lsetxattr(dir, LITHOS_MARKER_XATTR, lithos_name, strlen(lithos_name), 0);
	rc = 0;
	goto out;
fail:
	remove_tree(target);
out:
	free(dir);
	free(target);
	free(final);
	return rc;
}

int instance_dir_write(const char *lxc_path, const char *name, const char *lithos_name,
		       const char *link_dir, const char *conf, size_t len, char **err)
{
	if (link_dir)
		return command_dir_write(lxc_path, name, lithos_name, link_dir, conf, len, err);
	char *dir = xasprintf("%s/%s", lxc_path, name);
	char *tmp = xasprintf("%s/config.tmp", dir);
	char *final = xasprintf("%s/config", dir);
	int rc = -1;
	struct stat st;
	bool fresh = false, ours = false; /* ours: our config.tmp exists */
	if (lstat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode) || !instance_dir_is_ours(dir)) {
			*err = xasprintf("%s exists and was not created by lithos; refusing to touch it", dir);
			goto out;
		}
		struct lxc_container *c = lxc_container_new(name, lxc_path);
		bool running = c && c->is_running(c);
		if (c)
			lxc_container_put(c);
		if (running) {
			*err = xasprintf("container %s is already running", name);
			goto out;
		}
	} else if (mkdir(dir, 0755) < 0 &&
		   (errno != ENOENT || mkdir_p(lxc_path, 0755) < 0 || mkdir(dir, 0755) < 0)) {
		*err = xasprintf("cannot create %s: %s", dir, strerror(errno));
		goto out;
	} else {
		fresh = true;
		if (instance_dir_mark(dir, lithos_name, err) < 0) {
			rmdir(dir);
			goto out;
		}
	}
	/* a directory we just made has no reader yet: the config is written
	 * in place (a file create on the LXC path's filesystem costs ~0.5 ms
	 * on the test host's ext4); an existing one is replaced atomically */
	const char *target = fresh ? final : tmp;
	int fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | (fresh ? O_EXCL : 0),
		      0644);
	if (fd < 0) {
		*err = xasprintf("cannot write %s: %s", target, strerror(errno));
		goto out;
	}
	ours = true;
	if (write_all(fd, conf, len) < 0) {
		*err = xasprintf("cannot write %s: %s", target, strerror(errno));
		close(fd);
		goto out;
	}
	if (close(fd) < 0 || (!fresh && rename(tmp, final) < 0)) {
		*err = xasprintf("cannot write %s: %s", final, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (rc < 0 && fresh) {
		/* nothing half-written stays: a marked dir with an empty config */
		unlink_dir_files(dir);
		rmdir(dir);
	} else if (rc < 0 && ours) {
		unlink(tmp);
	}
	free(dir);
	free(tmp);
	free(final);
	return rc;
}

void lxc_lock_file_remove(const char *lxc_path, const char *name)
{
	/* liblxc's per-container lock (lxc_containerlock: RUNTIME_PATH
	 * "/lxc/lock/<lxcpath>/.<name>" for root), made by the first
	 * lxc_container_new() and never removed by liblxc; one per command
	 * run would pile up in /run */
	if (geteuid() != 0)
		return;
	char *p = xasprintf("/run/lxc/lock/%s/.%s", lxc_path, name);
	unlink(p);
	free(p);
}

/* A command's link LXCPATH/NAME -> runtime-dir/lxc/NAME: ours when the link
 * carries the mark, or its target is an absolute .../NAME that does; then
 * the link goes, and the target's files by name and the target itself
 * (never a walk below a link).  Returns whether it was ours. */
static bool command_link_remove(const char *link, const char *name)
{
	char v[8], target[PATH_MAX];
	bool own = lgetxattr(link, LITHOS_MARKER_XATTR, v, sizeof(v)) >= 0 || errno == ERANGE;
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	bool target_ours = false;
	if (n > 0) {
		target[n] = 0;
		const char *base = strrchr(target, '/');
		target_ours = target[0] == '/' && base && !strcmp(base + 1, name) &&
			      (getxattr(target, LITHOS_MARKER_XATTR, v, sizeof(v)) >= 0 || errno == ERANGE);
	}
	if (!own && !target_ours)
		return false;
	unlink(link);
	if (target_ours) {
		unlink_dir_files(target);
		rmdir(target);
	}
	return true;
}

int instance_dir_remove(const char *lxc_path, const char *name)
{
	char *dir = xasprintf("%s/%s", lxc_path, name);
	int rc = 0;
	struct stat st;
	if (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode)) {
		if (command_link_remove(dir, name))
			lxc_lock_file_remove(lxc_path, name);
	} else if (instance_dir_is_ours(dir)) {
		unlink_dir_files(dir);
		if (rmdir(dir) < 0 && errno != ENOENT)
			rc = remove_tree(dir);
		lxc_lock_file_remove(lxc_path, name);
	}
	free(dir);
	return rc;
}

void command_dir_remove(const char *lxc_path, const char *name, const char *link_dir)
{
	char *link = xasprintf("%s/%s", lxc_path, name);
	char *dir = xasprintf("%s/%s", link_dir, name);
	char *conf = xasprintf("%s/config", dir);
	/* a real directory there now would not be ours: unlink() leaves it */
	unlink(link);
	unlink(conf);
	if (rmdir(dir) < 0 && errno == ENOTEMPTY) {
		/* the marker file of a filesystem without xattrs */
		unlink_dir_files(dir);
		rmdir(dir);
	}
	lxc_lock_file_remove(lxc_path, name);
	free(conf);
	free(dir);
	free(link);
}

void remove_stale_veth(const char *lxc_name)
{
	char veth[16];
	lxcconf_veth_name(lxc_name, veth);
	if (if_nametoindex(veth) == 0)
		return;
	pid_t p = fork();
	if (p == 0) {
		int nul = open("/dev/null", O_RDWR);
		dup2(nul, 1);
		dup2(nul, 2);
		/* a fixed PATH: the start runs without one (see
		 * instance_start_wait) */
		char *const args[] = { "ip", "link", "delete", veth, NULL };
		char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
		execvpe("ip", args, envp);
		_exit(127);
	}
	if (p > 0)
		while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
			;
}

/* The start failed after the state dir was made: it goes again. */
static void prestart_undo(const struct hookcfg *hc)
{
	char *perr = NULL;
	if (poststop_run(hc, &perr))
		free(perr);
}

int instance_log_attach(struct lxc_container *c, const char *lxc_path, const char *name)
{
	char *lp = xasprintf("%s/%s/lxc.log", lxc_path, name);
	int fd = open(lp, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);
	free(lp);
	if (fd < 0)
		return -1;
	/* liblxc opens the path itself: the same file, by the open fd */
	char *p = xasprintf("/proc/self/fd/%d", fd);
	bool set = c->set_config_item(c, "lxc.log.file", p) &&
		   c->set_config_item(c, "lxc.log.level", "WARN");
	free(p);
	close(fd);
	if (!set)
		errno = EINVAL; /* liblxc refused it; its errno means nothing */
	return set ? 0 : -1;
}

static struct lxc_container *container_open(const char *lxc_path, const char *name,
					    const struct strlist *secret_env,
					    const struct start_opts *o, char **err)
{
	struct lxc_container *c = lxc_container_new(name, lxc_path);
	if (!c) {
		*err = xasprintf("liblxc cannot create container object %s in %s", name, lxc_path);
		return NULL;
	}
	if (!c->is_defined(c)) {
		*err = xasprintf("container %s has no config in %s", name, lxc_path);
		lxc_container_put(c);
		return NULL;
	}
	if (o->lxc_log_fd >= 0) {
		char *p = xasprintf("/proc/self/fd/%d", o->lxc_log_fd);
		bool set = c->set_config_item(c, "lxc.log.file", p) &&
			   c->set_config_item(c, "lxc.log.level", "WARN");
		free(p);
		if (!set) {
			*err = xasprintf("liblxc refused the in-memory log of %s", name);
			lxc_container_put(c);
			return NULL;
		}
	} else if (o->lxc_log_file && instance_log_attach(c, lxc_path, name) < 0) {
		/* the start goes on: LXC's messages are lost, not the instance */
		fprintf(stderr, "lithos: %s: LXC's log %s/%s/lxc.log cannot be used (%s): this start logs nothing of LXC's\n",
			name, lxc_path, name, strerror(errno));
	}
	for (size_t i = 0; secret_env && i < secret_env->n; i++) {
		if (!c->set_config_item(c, "lxc.environment", secret_env->v[i])) {
			*err = xasprintf("liblxc refused a secret environment variable for %s", name);
			lxc_container_put(c);
			return NULL;
		}
	}
	return c;
}

int instance_start_wait(const char *lxc_path, const char *name, const struct instance *in,
			const struct strlist *secret_env, const struct start_opts *o, char **err)
{
	struct lxc_container *c = container_open(lxc_path, name, secret_env, o, err);
	if (!c)
		return -1;
	/* the #lithos lines: from the config in memory when the caller has
	 * it, else from the file LXC just read */
	struct hookcfg hc = { 0 };
	int hrc;
	if (o->conf) {
		hrc = hookcfg_read_mem(o->conf, o->conf_len, &hc);
	} else {
		char *conf = xasprintf("%s/%s/config", lxc_path, name);
		hrc = hookcfg_read_file(conf, &hc);
		free(conf);
	}
	if (hrc < 0) {
		if (o->conf)
			*err = xasprintf("the config of %s has no lithos settings (#lithos.state-dir)", name);
		else
			*err = xasprintf("cannot read the lithos settings (#lithos.state-dir) from %s/%s/config",
					 lxc_path, name);
		hookcfg_free(&hc);
		lxc_container_put(c);
		return -1;
	}
	/* What the pre-start and post-stop hooks did, in process (LXC runs a
	 * hook through /bin/sh from a fork of its monitor: 3-5 ms each): the
	 * fresh state dir, resolv.conf and hosts, removed again after the
	 * start, failed preparations and starts included (see prestart.h).
	 * (Tried in a thread next to lxc_container_new: the two took 0.51
	 * ms instead of 0.41, median of 150 starts on this 2-CPU VM.) */
	char *perr = NULL;
	if (prestart_run(&hc, &perr)) {
		*err = xasprintf("%s: %s", hc.name ? hc.name : name, perr);
		free(perr);
		prestart_undo(&hc);
		hookcfg_free(&hc);
		lxc_container_put(c);
		return -1;
	}
	/* What the container's init inherits: every fd of ours is CLOEXEC but
	 * the sockets for the process, the events fd and (below) its stdio.
	 * liblxc then leaves our own fds alone (no want_close_all_fds). */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	for (size_t i = 0; i < o->n_pass_fds; i++)
		fcntl(o->pass_fds[i], F_SETFD, 0);
	if (o->events_fd >= 0)
		fcntl(o->events_fd, F_SETFD, 0);
	/* stdio travels at high fds that lithos_init makes the process's 0-2;
	 * LXC sees /dev/null, so its fix_stdio_permissions() does not chown
	 * and chmod 0700 the log file (or the caller's files) to the init
	 * uid.  An interactive command on a terminal keeps it: LXC gives the
	 * container a pty on it (job control), as before. */
	int stdio[3] = { -1, -1, -1 }, saved[3] = { -1, -1, -1 };
	if (!o->keep_tty) {
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		for (int k = 0; k < 3; k++) {
			stdio[k] = fcntl(k, F_DUPFD, 64);
			saved[k] = fcntl(k, F_DUPFD_CLOEXEC, 64);
			if (nul >= 0)
				dup2(nul, k);
		}
		if (nul >= 0)
			close(nul);
	}
	struct strlist args = { 0 };
	lxcconf_init_argv(in, o->keep_tty ? NULL : stdio, o->events_fd, &args);
	char **argv = xcalloc(args.n + 1, sizeof(*argv));
	memcpy(argv, args.v, args.n * sizeof(*argv));
	c->want_daemonize(c, false);
	c->want_close_all_fds(c, false);
	/* Without PATH liblxc finds no newuidmap/newgidmap and, as root,
	 * writes the container's uid_map and gid_map itself: 4 execs (two
	 * /bin/sh, newuidmap, newgidmap) less per start with a user
	 * namespace.  Nothing else of the start looks PATH up: the hooks are
	 * absolute paths run by /bin/sh, lithos_init is an absolute path, and
	 * LXC gives the container the configured environment only. */
	char *path = getenv("PATH") ? xstrdup(getenv("PATH")) : NULL;
	unsetenv("PATH");
	bool ok = c->start(c, 0, argv);
	if (path) {
		setenv("PATH", path, 1);
		free(path);
	}
	int status = c->error_num;
	lxc_container_put(c);
	free(argv);
	strlist_free(&args);
	for (int k = 0; k < 3; k++) {
		if (saved[k] >= 0) {
			dup2(saved[k], k);
			close(saved[k]);
		}
		if (stdio[k] >= 0)
			close(stdio[k]);
	}
	if (o->events_fd >= 0)
		fcntl(o->events_fd, F_SETFD, FD_CLOEXEC);
	if (poststop_run(&hc, &perr)) {
		/* the process ran: its status stands; the leftover is logged */
		fprintf(stderr, "lithos: %s: %s\n", hc.name ? hc.name : name, perr);
		free(perr);
	}
	hookcfg_free(&hc);
	if (!ok) {
		/* a command's log, if any, is lxc_log_fd */
		char *lp = xasprintf("%s/%s/lxc.log", lxc_path, name);
		if (!o->lxc_log_file || o->lxc_log_fd >= 0 || access(lp, F_OK) < 0)
			*err = xasprintf("LXC could not start container %s", name);
		else
			*err = xasprintf("LXC could not start container %s (see %s)", name, lp);
		free(lp);
		return -1;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	/* init itself killed: liblxc reports (N << 8) | 0x7f */
	if ((status & 0x7f) == 0x7f)
		return 128 + ((status >> 8) & 0x7f);
	return 255;
}
