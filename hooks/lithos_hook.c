/* lithos_hook: the program LXC runs at the hook points of a lithos instance.
 *
 * LXC calls it as `lithos_hook NAME lxc HOOKTYPE` with LXC_CONFIG_FILE (and,
 * for start-host, LXC_PID) in the environment.  What to do is read from the
 * `#lithos.KEY = VALUE` lines the translator wrote into the config:
 *
 *   pre-start   create the instance's state dir fresh (statedir volumes,
 *               persistent mkdirs), generate resolv.conf and hosts in it
 *   start-host  run the sandbox's after-setup-command in the container's
 *               network namespace, as host root, with an almost empty
 *               environment, after the network is up
 *   mount       remount the writable volumes nosuid,nodev,noexec (LXC 5.0
 *               applies those flags to read-only bind mounts only)
 *   post-stop   remove the state dir
 *
 * Exit codes: 0 ok, 2 usage, 3 config unreadable, 4 state dir, 5 resolv.conf
 * or hosts, 6 after-setup-command failed, 7 volume directory, 8 remount.
 */
#include "paths.h"
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
#define EXIT_STATEDIR 4
#define EXIT_RESOLV 5
#define EXIT_AFTER_SETUP 6
#define EXIT_VOLUME 7
#define EXIT_REMOUNT 8

struct hookcfg {
	char *name;
	char *state_dir;
	char *stdio_log;
	char *resolv_conf; /* source file or "-" for an empty one */
	bool hosts_copy, hosts_localhost, hosts_public;
	char *hosts_file;
	char *container_ip;
	struct buf additional_hosts;
	char **statedir_volumes;
	size_t n_statedir_volumes;
	char **persistent_mkdirs;
	size_t n_persistent_mkdirs;
	char **after_setup;
	size_t n_after_setup;
	char **remounts;
	size_t n_remounts;
	char *init_file;
	char **ro_recursive;
	size_t n_ro_recursive;
};

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

static int read_config(const char *path, struct hookcfg *h)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = 0;
		if (strncmp(line, "#lithos.", 8))
			continue;
		char *eq = strstr(line, " = ");
		if (!eq)
			continue;
		*eq = 0;
		const char *k = line + 8, *v = eq + 3;
		if (!strcmp(k, "name"))
			h->name = xstrdup(v);
		else if (!strcmp(k, "state-dir"))
			h->state_dir = xstrdup(v);
		else if (!strcmp(k, "stdio-log"))
			h->stdio_log = xstrdup(v);
		else if (!strcmp(k, "resolv-conf"))
			h->resolv_conf = xstrdup(v);
		else if (!strcmp(k, "hosts")) {
			int c = 0, l = 0, p = 0;
			sscanf(v, "copy=%d localhost=%d public-hostname=%d", &c, &l, &p);
			h->hosts_copy = c;
			h->hosts_localhost = l;
			h->hosts_public = p;
		} else if (!strcmp(k, "hosts-file"))
			h->hosts_file = xstrdup(v);
		else if (!strcmp(k, "container-ip"))
			h->container_ip = xstrdup(v);
		else if (!strcmp(k, "additional-host"))
			buf_printf(&h->additional_hosts, "%s\n", v);
		else if (!strcmp(k, "statedir-volume")) {
			char *s = xstrdup(v);
			VEC_PUSH(h->statedir_volumes, h->n_statedir_volumes, s);
		} else if (!strcmp(k, "persistent-mkdir")) {
			char *s = xstrdup(v);
			VEC_PUSH(h->persistent_mkdirs, h->n_persistent_mkdirs, s);
		} else if (!strcmp(k, "readonly-recursive")) {
			char *s = xstrdup(v);
			VEC_PUSH(h->ro_recursive, h->n_ro_recursive, s);
		} else if (!strcmp(k, "init-file")) {
			h->init_file = xstrdup(v);
		} else if (!strcmp(k, "remount")) {
			char *s = xstrdup(v);
			VEC_PUSH(h->remounts, h->n_remounts, s);
		} else if (!strcmp(k, "after-setup-arg")) {
			char *s = xstrdup(v);
			VEC_PUSH(h->after_setup, h->n_after_setup, s);
		}
	}
	free(line);
	fclose(f);
	return h->state_dir ? 0 : -1;
}

/* mkdir -p of `rel` below the directory `base`, never through symlinks. */
static int mkdir_beneath(const char *base, const char *rel, mode_t mode, uid_t uid, gid_t gid)
{
	int dfd = open(base, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	char *copy = xstrdup(rel);
	char *save = NULL;
	int rc = 0;
	for (char *comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		if (!strcmp(comp, ".") || !strcmp(comp, "..")) {
			errno = EINVAL;
			rc = -1;
			break;
		}
		bool last = save == NULL || *save == 0;
		if (mkdirat(dfd, comp, last ? mode : 0755) < 0 && errno != EEXIST) {
			rc = -1;
			break;
		}
		int next = openat(dfd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			rc = -1;
			break;
		}
		close(dfd);
		dfd = next;
		if (last) {
			char proc[64];
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dfd);
			if (chown(proc, uid, gid) < 0 || chmod(proc, mode) < 0)
				rc = -1;
		}
	}
	int e = errno;
	close(dfd);
	free(copy);
	errno = e;
	return rc;
}

static int write_file(const char *dir, const char *name, const char *data, size_t len)
{
	char *p = xasprintf("%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	free(p);
	if (fd < 0)
		return -1;
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	fchmod(fd, 0644);
	return close(fd);
}

/* First address a hosts file gives `name`, or "" */
static void hosts_file_lookup(const char *file, const char *name, char *out, size_t len)
{
	out[0] = 0;
	FILE *f = file ? fopen(file, "re") : NULL;
	if (!f)
		return;
	char *line = NULL;
	size_t cap = 0;
	while (!out[0] && getline(&line, &cap, f) > 0) {
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		char *save = NULL, *ip = strtok_r(line, " \t\n", &save);
		if (!ip || !strcmp(ip, "127.0.0.1") || !strcmp(ip, "::1"))
			continue;
		for (char *n = strtok_r(NULL, " \t\n", &save); n; n = strtok_r(NULL, " \t\n", &save))
			if (!strcmp(n, name)) {
				snprintf(out, len, "%s", ip);
				break;
			}
	}
	free(line);
	fclose(f);
}

static int pre_start(struct hookcfg *h)
{
	if (remove_tree(h->state_dir) < 0) {
		logmsg(h, "Cannot remove stale state dir %s: %s", h->state_dir, strerror(errno));
		return EXIT_STATEDIR;
	}
	char *parent = path_dirname(h->state_dir);
	char *cmd_base = xstrdup("/");
	if (mkdir_beneath(cmd_base, parent + 1, 0755, 0, 0) < 0 && errno != EEXIST) {
		logmsg(h, "Cannot create %s: %s", parent, strerror(errno));
		free(parent);
		free(cmd_base);
		return EXIT_STATEDIR;
	}
	free(cmd_base);
	free(parent);
	/* 01777 as in lithos: `!Statedir {}` is the container's own small
	 * state, writable whatever its user (and its uid-map) */
	if (mkdir(h->state_dir, 0755) < 0 || chmod(h->state_dir, 01777) < 0) {
		logmsg(h, "Cannot create state dir %s: %s", h->state_dir, strerror(errno));
		return EXIT_STATEDIR;
	}
	for (size_t i = 0; i < h->n_statedir_volumes; i++) {
		char path[4096];
		unsigned mode, uid, gid;
		if (sscanf(h->statedir_volumes[i], "%4095s %o %u %u", path, &mode, &uid, &gid) != 4 ||
		    mkdir_beneath(h->state_dir, path, mode, uid, gid) < 0) {
			logmsg(h, "Cannot create state dir volume %s: %s", h->statedir_volumes[i],
			       strerror(errno));
			return EXIT_VOLUME;
		}
	}
	for (size_t i = 0; i < h->n_persistent_mkdirs; i++) {
		unsigned mode, uid, gid;
		int off = 0;
		const char *line = h->persistent_mkdirs[i];
		if (sscanf(line, "%o %u %u %n", &mode, &uid, &gid, &off) != 3 || !off) {
			logmsg(h, "Bad persistent-mkdir line %s", line);
			return EXIT_VOLUME;
		}
		const char *path = line + off;
		struct stat st;
		if (lstat(path, &st) == 0) {
			if (!S_ISDIR(st.st_mode)) {
				logmsg(h, "Persistent volume %s exists and is not a directory", path);
				return EXIT_VOLUME;
			}
			continue;
		}
		/* create the last component only; its parent must exist */
		char *dir = path_dirname(path);
		const char *base = strrchr(path, '/') + 1;
		int r = mkdir_beneath(dir, base, mode, uid, gid);
		int e = errno;
		free(dir);
		if (r < 0) {
			logmsg(h, "Cannot create persistent volume %s: %s", path, strerror(e));
			return EXIT_VOLUME;
		}
	}

	/* resolv.conf */
	struct buf rc = { 0 };
	if (h->resolv_conf && strcmp(h->resolv_conf, "-")) {
		size_t len;
		char *data = read_file_limited(h->resolv_conf, 1 << 20, &len);
		if (!data) {
			logmsg(h, "Cannot read resolv-conf %s: %s", h->resolv_conf, strerror(errno));
			return EXIT_RESOLV;
		}
		buf_add(&rc, data, len);
		free(data);
	}
	if (write_file(h->state_dir, "resolv.conf", buf_str(&rc), rc.len) < 0) {
		logmsg(h, "Cannot write resolv.conf: %s", strerror(errno));
		return EXIT_RESOLV;
	}
	buf_free(&rc);

	/* hosts */
	struct buf hosts = { 0 };
	if (h->hosts_copy && h->hosts_file) {
		size_t len;
		char *data = read_file_limited(h->hosts_file, 1 << 20, &len);
		if (!data) {
			logmsg(h, "Cannot read hosts-file %s: %s", h->hosts_file, strerror(errno));
			return EXIT_RESOLV;
		}
		buf_add(&hosts, data, len);
		if (len && data[len - 1] != '\n')
			buf_puts(&hosts, "\n");
		free(data);
	}
	if (h->hosts_localhost)
		buf_puts(&hosts, "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n");
	if (h->hosts_public) {
		char hn[256] = "";
		if (gethostname(hn, sizeof(hn) - 1) == 0 && hn[0]) {
			const char *ip = h->container_ip;
			char addr[64] = "";
			if (!ip) {
				/* the host's own address from its hosts file only: a
				 * DNS lookup here would stall every start while DNS
				 * is slow or down */
				hosts_file_lookup(h->hosts_file, hn, addr, sizeof(addr));
				ip = addr[0] ? addr : NULL;
			}
			if (ip)
				buf_printf(&hosts, "%s %s\n", ip, hn);
		}
	}
	if (h->additional_hosts.len)
		buf_add(&hosts, h->additional_hosts.p, h->additional_hosts.len);
	if (write_file(h->state_dir, "hosts", buf_str(&hosts), hosts.len) < 0) {
		logmsg(h, "Cannot write hosts: %s", strerror(errno));
		return EXIT_RESOLV;
	}
	buf_free(&hosts);
	return 0;
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

static int post_stop(struct hookcfg *h)
{
	if (remove_tree(h->state_dir) < 0) {
		logmsg(h, "Cannot remove state dir %s: %s", h->state_dir, strerror(errno));
		return EXIT_STATEDIR;
	}
	return 0;
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
	if (read_config(conf, &h) < 0) {
		fprintf(stderr, "%s: cannot read lithos settings from %s\n", hook_name, conf);
		return EXIT_CONFIG;
	}
	if (!strcmp(type, "pre-start"))
		return pre_start(&h);
	if (!strcmp(type, "start-host"))
		return start_host(&h);
	if (!strcmp(type, "mount"))
		return mount_hook(&h);
	if (!strcmp(type, "post-stop"))
		return post_stop(&h);
	fprintf(stderr, "%s: unknown hook type %s\n", hook_name, type);
	return EXIT_USAGE;
}
