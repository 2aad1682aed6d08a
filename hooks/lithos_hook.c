/* lithos_hook: the program LXC runs at the hook points of a lithos instance.
 *
 * LXC calls it as `lithos_hook NAME lxc HOOKTYPE` with LXC_CONFIG_FILE (and,
 * for start-host, LXC_PID) in the environment.  What to do is read from the
 * `#lithos.KEY = VALUE` lines the translator wrote into the config:
 *
 *   start-host  run the sandbox's after-setup-command in the container's
 *               network namespace, as host root, with an almost empty
 *               environment, after the network is up
 *   mount       remount the writable volumes nosuid,nodev,noexec (LXC 5.0
 *               applies those flags to read-only bind mounts only); check
 *               that each volume below a sandbox's directory is the
 *               directory reached from there without leaving it (LXC
 *               follows symlinks in a mount source)
 *
 * pre-start (fresh state dir, statedir volumes, persistent mkdirs,
 * resolv.conf and hosts) and post-stop (remove the state dir) are not in
 * the configs lithos_tree and lithos_cmd write: lithos_cmd and lithos_knot
 * do that work in process (prestart.c).  They are in the standalone configs
 * (lithos_lxcconf --standalone, the lxc-create template) that lxc-start
 * runs with no lithos around, and serve to start any lithos config by hand.
 *
 *   destroy     (standalone only) remove the container's directory, which
 *               LXC keeps when it does not manage the rootfs
 *
 * Exit codes: 0 ok, 2 usage, 3 config unreadable, 4 state dir, 5 resolv.conf
 * or hosts, 6 after-setup-command failed, 7 volume directory, 8 remount,
 * 9 container directory not removed, 10 a volume's source leads out of the
 * sandbox's directory.
 */
#include "paths.h"
#include "prestart.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define EXIT_USAGE 2
#define EXIT_CONFIG 3
#define EXIT_AFTER_SETUP 6
#define EXIT_REMOUNT 8
#define EXIT_DESTROY 9
#define EXIT_VOLUME_SOURCE 10

/* what the lxc-create template (templates/lxc-lithos.in) puts into the
 * container directories it makes */
#define LITHOS_TEMPLATE_MARKER "lithos.template"

static const char *hook_name = "lithos_hook";

static void logmsg(const struct hookcfg *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void logmsg(const struct hookcfg *h, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s: %s\n", hook_name, h->name ? h->name : "?", msg);
	if (h->stdio_log) {
		int fd = open(h->stdio_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
		if (fd >= 0) {
			char ts[32];
			time_t t = time(NULL);
			struct tm tm;
			strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
			dprintf(fd, "[%s][lithos] %s: %s\n", ts, h->name ? h->name : "?", msg);
			close(fd);
		}
	}
	free(msg);
}

/* "PID STARTTIME" of the container's init, so the tree can kill the
 * container if its knot dies (a monitor-less container would run on). */
static void record_init(struct hookcfg *h, const char *pid)
{
	unsigned long long start = proc_starttime(atol(pid));
	if (!start)
		return;
	char *tmp = xasprintf("%s.tmp", h->init_file);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd >= 0) {
		dprintf(fd, "%s %llu\n", pid, start);
		close(fd);
		rename(tmp, h->init_file);
	}
	free(tmp);
}

static int start_host(struct hookcfg *h)
{
	const char *pid = getenv("LXC_PID");
	if (pid && h->init_file)
		record_init(h, pid);
	if (!h->n_after_setup)
		return 0;
	if (!pid) {
		logmsg(h, "LXC_PID is not set; cannot enter the container's network namespace");
		return EXIT_AFTER_SETUP;
	}
	char *ns = xasprintf("/proc/%s/ns/net", pid);
	int nsfd = open(ns, O_RDONLY | O_CLOEXEC);
	free(ns);
	if (nsfd < 0) {
		logmsg(h, "Cannot open network namespace of pid %s: %s", pid, strerror(errno));
		return EXIT_AFTER_SETUP;
	}
	char **argv = xcalloc(h->n_after_setup + 1, sizeof(*argv));
	for (size_t i = 0; i < h->n_after_setup; i++) {
		struct buf b = { 0 };
		const char *p = h->after_setup[i], *q;
		while ((q = strstr(p, "@{container_ip}"))) {
			buf_add(&b, p, (size_t)(q - p));
			buf_puts(&b, h->container_ip ? h->container_ip : "");
			p = q + 15;
		}
		buf_puts(&b, p);
		argv[i] = (char *)buf_str(&b);
	}
	int out[2];
	if (pipe2(out, O_CLOEXEC) < 0)
		return EXIT_AFTER_SETUP;
	pid_t child = fork();
	if (child < 0) {
		logmsg(h, "Cannot fork: %s", strerror(errno));
		return EXIT_AFTER_SETUP;
	}
	if (child == 0) {
		if (setns(nsfd, CLONE_NEWNET) < 0) {
			dprintf(out[1], "setns: %s\n", strerror(errno));
			_exit(126);
		}
		int nul = open("/dev/null", O_RDONLY);
		dup2(nul, 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		char *envp[] = { NULL };
		execve(argv[0], argv, envp);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(out[1]);
	struct buf output = { 0 };
	char tmp[4096];
	ssize_t n;
	while ((n = read(out[0], tmp, sizeof(tmp))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && output.len < (1 << 16))
			buf_add(&output, tmp, (size_t)n);
	close(out[0]);
	int status;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	int rc = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		logmsg(h, "after-setup-command %s failed (%s %d); output: %s", argv[0],
		       WIFEXITED(status) ? "exit code" : "signal",
		       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), buf_str(&output));
		rc = EXIT_AFTER_SETUP;
	}
	buf_free(&output);
	return rc;
}

static int mount_hook(struct hookcfg *h)
{
	const char *root = getenv("LXC_ROOTFS_MOUNT");
	if (!root) {
		logmsg(h, "LXC_ROOTFS_MOUNT is not set");
		return EXIT_REMOUNT;
	}
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		logmsg(h, "Cannot open %s: %s", root, strerror(errno));
		return EXIT_REMOUNT;
	}
	int rc = 0;
	for (size_t i = 0; i < h->n_remounts; i++) {
		/* the target was checked to have no symlink; open it without
		 * following any, in case the volume put one there */
		int fd = open_in_root(rootfd, h->remounts[i], O_PATH | O_NOFOLLOW);
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (fd < 0 || mount(NULL, proc, NULL,
				    MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
			logmsg(h, "Cannot remount /%s nosuid,nodev,noexec: %s", h->remounts[i],
			       strerror(errno));
			rc = EXIT_REMOUNT;
		}
		if (fd >= 0)
			close(fd);
	}
	/* volumes below the sandbox's directories: LXC bound what their
	 * host path led to, following any symlink; refuse the start unless
	 * that is the directory reached without leaving the sandbox's */
	for (size_t i = 0; i < h->n_sources; i++) {
		char *err = NULL;
		if (volume_source_check(rootfd, &h->sources[i], &err) < 0) {
			logmsg(h, "%s", err);
			free(err);
			rc = EXIT_VOLUME_SOURCE;
		}
	}
	/* the host's /sys bound into a user namespace: LXC's ro covers its
	 * top mount only; everything mounted below (cgroups, tracing, ...)
	 * becomes read-only too */
	for (size_t i = 0; i < h->n_ro_recursive; i++) {
		int fd = open_in_root(rootfd, h->ro_recursive[i], O_PATH | O_NOFOLLOW | O_DIRECTORY);
		struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
		if (fd < 0 || syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
				      sizeof(attr)) < 0) {
			logmsg(h, "Cannot make /%s read-only recursively: %s", h->ro_recursive[i],
			       strerror(errno));
			rc = EXIT_REMOUNT;
		}
		if (fd >= 0)
			close(fd);
	}
	close(rootfd);
	return rc;
}

/* pre-start and post-stop: lithos_cmd and lithos_knot do this work in
 * process; the hook types stay for running a lithos config by hand */
static int run_logged(struct hookcfg *h, int (*fn)(const struct hookcfg *, char **))
{
	char *err = NULL;
	int rc = fn(h, &err);
	if (rc) {
		logmsg(h, "%s", err);
		free(err);
	}
	return rc;
}

/* destroy (standalone containers only): LXC removes nothing of a container
 * whose rootfs it does not manage (lxc.rootfs.managed = 0, the image must
 * stay); lxc-destroy runs this hook, on the host, once the container is
 * stopped.  It removes the container's directory (the config's), never
 * crossing a mount point or following a symlink, and only when the
 * lxc-create template made it (its lithos.template marker). */
static int destroy_hook(struct hookcfg *h, const char *conf)
{
	char *dir = path_dirname(conf);
	char *marker = path_join(dir, LITHOS_TEMPLATE_MARKER);
	int rc = 0;
	struct stat st;
	if (lstat(marker, &st) < 0 || !S_ISREG(st.st_mode)) {
		logmsg(h, "%s has no %s marker (not made by lxc-create -t lithos); not removing it", dir,
		       LITHOS_TEMPLATE_MARKER);
		rc = EXIT_DESTROY;
	} else if (remove_tree(dir) < 0) {
		logmsg(h, "Cannot remove %s: %s", dir, strerror(errno));
		rc = EXIT_DESTROY;
	}
	free(marker);
	free(dir);
	return rc;
}

int main(int argc, char **argv)
{
	const char *type = getenv("LXC_HOOK_TYPE");
	if (argc >= 4)
		type = argv[3];
	const char *conf = getenv("LXC_CONFIG_FILE");
	if (!type || !conf) {
		fprintf(stderr, "Usage: %s NAME lxc HOOKTYPE (run by LXC, with LXC_CONFIG_FILE set)\n",
			argv[0]);
		return EXIT_USAGE;
	}
	struct hookcfg h = { 0 };
	if (hookcfg_read_file(conf, &h) < 0) {
		fprintf(stderr, "%s: cannot read lithos settings from %s\n", hook_name, conf);
		return EXIT_CONFIG;
	}
	if (!strcmp(type, "pre-start")) {
		/* LXC runs no post-stop after a failed pre-start: leave no half
		 * made state dir behind */
		int rc = run_logged(&h, prestart_run);
		char *err = NULL;
		if (rc && poststop_run(&h, &err))
			free(err);
		return rc;
	}
	if (!strcmp(type, "start-host"))
		return start_host(&h);
	if (!strcmp(type, "mount"))
		return mount_hook(&h);
	if (!strcmp(type, "destroy"))
		return destroy_hook(&h, conf);
	if (!strcmp(type, "post-stop"))
		return run_logged(&h, poststop_run);
	fprintf(stderr, "%s: unknown hook type %s\n", hook_name, type);
	return EXIT_USAGE;
}
