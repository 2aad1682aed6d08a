#include "criu.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <limits.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

double mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Run `criu ARGS...` from PATH with stdout+stderr captured (64 KiB, 60 s).
 * Returns the exit status (-1 when it could not run; 127 when not found). */
static int run_criu(char *const args[], char **output)
{
	int p[2];
	*output = NULL;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	pid_t pid;
	int r = posix_spawnp(&pid, "criu", &fa, NULL, args, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (r != 0) {
		close(p[0]);
		return r == ENOENT ? 127 : -1;
	}
	struct buf b = { 0 };
	char tmp[4096];
	ssize_t n;
	while ((n = read(p[0], tmp, sizeof(tmp))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && b.len < 65536)
			buf_add(&b, tmp, (size_t)n);
	close(p[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	*output = xstrdup(buf_str(&b));
	buf_free(&b);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* the last non-empty line of TEXT, for messages */
static char *last_line(const char *text)
{
	const char *end = text + strlen(text);
	while (end > text && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	const char *start = end;
	while (start > text && start[-1] != '\n')
		start--;
	return xstrndup(start, (size_t)(end - start));
}

/* the first DIR/criu of PATH that is executable, for messages */
static char *criu_on_path(void)
{
	const char *path = getenv("PATH");
	char *p = xstrdup(path ? path : ""), *found = NULL;
	for (char *s = NULL, *d = strtok_r(p, ":", &s); d && !found; d = strtok_r(NULL, ":", &s)) {
		char *c = xasprintf("%s/criu", d);
		if (access(c, X_OK) == 0)
			found = c;
		else
			free(c);
	}
	free(p);
	return found ? found : xstrdup("criu");
}

int criu_version_check(char **version, char **err)
{
	char *out = NULL;
	char *ver[] = { "criu", "--version", NULL };
	int rc = run_criu(ver, &out);
	if (rc == 127) {
		const char *path = getenv("PATH");
		*err = xasprintf("criu is not installed: no criu on PATH (%s); install it with scripts/install-criu.sh",
				 path ? path : "unset");
		free(out);
		return -1;
	}
	unsigned major = 0, minor = 0;
	const char *v = out ? strstr(out, "Version: ") : NULL;
	if (rc != 0 || !v || sscanf(v + 9, "%u.%u", &major, &minor) != 2) {
		char *l = last_line(out ? out : "");
		*err = xasprintf("`criu --version` failed (status %d): %s", rc, l);
		free(l);
		free(out);
		return -1;
	}
	char *found = xstrndup(v + 9, strcspn(v + 9, " \t\r\n"));
	free(out);
	if (major < CRIU_MIN_MAJOR || (major == CRIU_MIN_MAJOR && minor < CRIU_MIN_MINOR)) {
		char *where = criu_on_path();
		*err = xasprintf("criu %s is too old: lithos needs >= %d.%d (TCP sockets on Linux >= 6.16: older criu cannot dump any, criu issue #2718); it is %s on PATH, scripts/install-criu.sh installs a newer one",
				 found, CRIU_MIN_MAJOR, CRIU_MIN_MINOR, where);
		free(where);
		free(found);
		return -1;
	}
	if (version)
		*version = found;
	else
		free(found);
	return 0;
}

int criu_usable(bool need_predump, char **err)
{
	char *found = NULL, *out = NULL;
	if (criu_version_check(&found, err) < 0)
		return -1;
	char *chk[] = { "criu", "check", NULL };
	int rc = run_criu(chk, &out);
	if (rc != 0) {
		char *l = last_line(out ? out : "");
		*err = xasprintf("criu %s cannot work on this kernel: `criu check` failed: %s", found, l);
		free(l);
		free(out);
		free(found);
		return -1;
	}
	free(out);
	free(found);
	if (need_predump) {
		char *f[] = { "criu", "check", "--feature", "mem_dirty_track", NULL };
		rc = run_criu(f, &out);
		if (rc != 0) {
			char *l = last_line(out ? out : "");
			*err = xasprintf("pre-dumps need memory dirty tracking, which this kernel lacks (CONFIG_MEM_SOFT_DIRTY): %s; use a single final dump",
					 l);
			free(l);
			free(out);
			return -1;
		}
		free(out);
	}
	return 0;
}

char *lxc_config_lithos_value(const char *lxc_path, const char *lxc_name, const char *key)
{
	char *path = xasprintf("%s/%s/config", lxc_path, lxc_name);
	FILE *f = fopen(path, "re");
	free(path);
	if (!f)
		return NULL;
	char *want = xasprintf("#lithos.%s = ", key);
	size_t wl = strlen(want);
	char *line = NULL, *val = NULL;
	size_t cap = 0;
	ssize_t n;
	while (!val && (n = getline(&line, &cap, f)) > 0) {
		if (strncmp(line, want, wl))
			continue;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = 0;
		val = xstrdup(line + wl);
	}
	free(line);
	free(want);
	fclose(f);
	return val;
}

bool lxc_config_migratable(const char *lxc_path, const char *lxc_name)
{
	char *v = lxc_config_lithos_value(lxc_path, lxc_name, "migratable");
	bool yes = v && !strcmp(v, "1");
	free(v);
	return yes;
}

char *criu_marker(const char *runtime_dir, const char *lxc_name, const char *ext)
{
	return xasprintf("%s/knots/%s.%s", runtime_dir, lxc_name, ext);
}

int write_small_file(const char *path, const char *text)
{
	return write_file_atomic(path, ".tmp", text, strlen(text), 0644, false);
}

char *read_first_line(const char *path)
{
	char *t = read_file_limited(path, 1 << 16, NULL);
	if (!t)
		return NULL;
	t[strcspn(t, "\n")] = 0;
	if (!*t) {
		free(t);
		return NULL;
	}
	return t;
}

char *instance_to_lxc_name(const char *instance)
{
	const char *slash = strchr(instance, '/');
	const char *dot = strrchr(instance, '.');
	if (!slash || slash == instance || !dot || dot < slash + 2 || !dot[1] || strchr(slash + 1, '/'))
		return NULL;
	for (const char *p = dot + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return NULL;
	char *n = xstrdup(instance);
	n[slash - instance] = '.';
	return n;
}

void criu_base_config(struct buf *conf)
{
	char *text = NULL;
	const char *env = getenv("CRIU_CONFIG_FILE");
	if (env && *env) {
		text = read_file_limited(env, 1 << 16, NULL);
	} else {
		const char *path = getenv("PATH");
		char *p = xstrdup(path ? path : "");
		for (char *s = NULL, *d = strtok_r(p, ":", &s); d && !text; d = strtok_r(NULL, ":", &s)) {
			char *c = xasprintf("%s/criu", d);
			char real[PATH_MAX];
			if (access(c, X_OK) == 0 && realpath(c, real)) {
				/* PREFIX/bin/criu -> PREFIX/criu.conf */
				char *slash = strrchr(real, '/');
				if (slash) {
					*slash = 0;
					slash = strrchr(real, '/');
				}
				if (slash) {
					*slash = 0;
					char *cf = xasprintf("%s/criu.conf", real);
					text = read_file_limited(cf, 1 << 16, NULL);
					if (!text)
						text = xstrdup("");
					free(cf);
				}
			}
			free(c);
		}
		free(p);
	}
	if (text) {
		buf_puts(conf, text);
		if (conf->len && conf->p[conf->len - 1] != '\n')
			buf_puts(conf, "\n");
		free(text);
	}
}

/* mount ids of the mount namespace of pid */
static bool mnt_id_in(pid_t pid, int mnt_id)
{
	char *p = xasprintf("/proc/%d/mountinfo", (int)pid);
	FILE *f = fopen(p, "re");
	free(p);
	if (!f)
		return false;
	int id;
	bool found = false;
	char *line = NULL;
	size_t cap = 0;
	while (!found && getline(&line, &cap, f) > 0)
		found = sscanf(line, "%d", &id) == 1 && id == mnt_id;
	free(line);
	fclose(f);
	return found;
}

static int fd_mnt_id(pid_t pid, const char *fd)
{
	char *p = xasprintf("/proc/%d/fdinfo/%s", (int)pid, fd);
	FILE *f = fopen(p, "re");
	free(p);
	if (!f)
		return -1;
	int id = -1;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0)
		if (sscanf(line, "mnt_id: %d", &id) == 1)
			break;
	free(line);
	fclose(f);
	return id;
}

/* init and all its descendants (children of every thread), init first */
static size_t process_tree(pid_t init, pid_t **out)
{
	pid_t *todo = NULL;
	size_t n = 0, head = 0;
	VEC_PUSH(todo, n, init);
	while (head < n) {
		pid_t pid = todo[head++];
		char *tdir = xasprintf("/proc/%d/task", (int)pid);
		DIR *td = opendir(tdir);
		struct dirent *te;
		while (td && (te = readdir(td))) {
			if (te->d_name[0] == '.')
				continue;
			char *cp = xasprintf("%s/%s/children", tdir, te->d_name);
			char *kids = read_file_limited(cp, 1 << 16, NULL);
			free(cp);
			for (char *s = NULL, *k = kids ? strtok_r(kids, " \n", &s) : NULL; k;
			     k = strtok_r(NULL, " \n", &s)) {
				pid_t kid = (pid_t)atoi(k);
				VEC_PUSH(todo, n, kid);
			}
			free(kids);
		}
		if (td)
			closedir(td);
		free(tdir);
	}
	*out = todo;
	return n;
}

/* fn(pid, N, "/proc/PID/fd/N", arg) for each open fd N of each process
 * of pids, until it returns non-zero, which is returned */
typedef int fd_fn(pid_t pid, const char *fd, const char *path, void *arg);
static int each_fd(const pid_t *pids, size_t n, fd_fn *fn, void *arg)
{
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *fdir = xasprintf("/proc/%d/fd", (int)pids[i]);
		DIR *d = opendir(fdir);
		struct dirent *e;
		while (rc == 0 && d && (e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char *lp = xasprintf("%s/%s", fdir, e->d_name);
			rc = fn(pids[i], e->d_name, lp, arg);
			free(lp);
		}
		if (d)
			closedir(d);
		free(fdir);
	}
	return rc;
}

struct ext_stdio {
	pid_t init;
	bool have_log;
	struct stat logst;
	struct buf *conf, *meta;
	char **seen;
	size_t n_seen;
	char **err;
};

static int ext_stdio_fd(pid_t pid, const char *fd, const char *lp, void *arg)
{
	struct ext_stdio *x = arg;
	char target[PATH_MAX];
	ssize_t tl = readlink(lp, target, sizeof(target) - 1);
	struct stat st;
	if (tl <= 0 || stat(lp, &st) < 0)
		return 0;
	target[tl] = 0;
	if (target[0] != '/')
		return 0; /* pipe:, socket:, anon_inode: */
	int mnt = fd_mnt_id(pid, fd);
	if (mnt < 0 || mnt_id_in(x->init, mnt))
		return 0;
	char *key = xasprintf("file[%x:%llx]", (unsigned)mnt, (unsigned long long)st.st_ino);
	for (size_t i = 0; i < x->n_seen; i++) {
		if (!strcmp(x->seen[i], key)) {
			free(key);
			return 0;
		}
	}
	const char *kind = NULL;
	if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3)
		kind = "stdio-null";
	else if (x->have_log && S_ISREG(st.st_mode) && st.st_dev == x->logst.st_dev &&
		 st.st_ino == x->logst.st_ino)
		kind = "stdio-log";
	if (!kind) {
		*x->err = xasprintf("pid %d (host pid) has fd %s open on %s, a file of the host outside the container; CRIU can dump only the stdio log and /dev/null from outside (use a volume inside the container)",
				    (int)pid, fd, target);
		free(key);
		return -1;
	}
	buf_printf(x->conf, "external %s\n", key);
	buf_printf(x->meta, "%s %s\n", kind, key);
	VEC_PUSH(x->seen, x->n_seen, key);
	return 0;
}

int criu_external_stdio(pid_t init, const char *stdio_log, struct buf *conf, struct buf *meta,
			char **err)
{
	struct ext_stdio x = { .init = init, .conf = conf, .meta = meta, .err = err };
	x.have_log = stdio_log && stat(stdio_log, &x.logst) == 0;
	pid_t *todo = NULL;
	size_t n = process_tree(init, &todo);
	int rc = each_fd(todo, n, ext_stdio_fd, &x);
	for (size_t i = 0; i < x.n_seen; i++)
		free(x.seen[i]);
	free(x.seen);
	free(todo);
	return rc;
}

/* the inode of fd link target "socket:[INO]", else 0 */
static unsigned long long socket_inode(const char *fdpath)
{
	char target[64];
	ssize_t tl = readlink(fdpath, target, sizeof(target) - 1);
	unsigned long long ino = 0;
	if (tl <= 0)
		return 0;
	target[tl] = 0;
	if (sscanf(target, "socket:[%llu]", &ino) != 1)
		return 0;
	return ino;
}

/* A duplicate of fd `fd` of process `pid` (pidfd_getfd), or -1. */
static int steal_fd(pid_t pid, int fd)
{
	int pfd = (int)syscall(SYS_pidfd_open, (int)pid, 0);
	if (pfd < 0)
		return -1;
	int d = (int)syscall(SYS_pidfd_getfd, pfd, fd, 0);
	close(pfd);
	return d;
}

struct held_socks {
	unsigned long long *ino;
	size_t n;
	char **err;
};

static int held_sock_fd(pid_t pid, const char *fd, const char *lp, void *arg)
{
	(void)pid;
	(void)fd;
	struct held_socks *h = arg;
	unsigned long long ino = socket_inode(lp);
	if (ino)
		VEC_PUSH(h->ino, h->n, ino);
	return 0;
}

/* a process's fd on one of the tree's sockets: fine unless it is a TCP
 * listener without SO_REUSEPORT */
static int shared_listener_fd(pid_t pid, const char *fd, const char *lp, void *arg)
{
	struct held_socks *h = arg;
	unsigned long long ino = socket_inode(lp);
	bool shared = false;
	for (size_t k = 0; k < h->n && ino && !shared; k++)
		shared = h->ino[k] == ino;
	if (!shared)
		return 0;
	int d = steal_fd(pid, atoi(fd));
	int dom = 0, listening = 0, reuseport = 0;
	socklen_t l1 = sizeof(dom), l2 = sizeof(listening), l3 = sizeof(reuseport);
	bool known = d >= 0 && getsockopt(d, SOL_SOCKET, SO_DOMAIN, &dom, &l1) == 0 &&
		     getsockopt(d, SOL_SOCKET, SO_ACCEPTCONN, &listening, &l2) == 0 &&
		     getsockopt(d, SOL_SOCKET, SO_REUSEPORT, &reuseport, &l3) == 0;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char addr[INET6_ADDRSTRLEN + 8] = "?";
	if (known && getsockname(d, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			char ip[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
			snprintf(addr, sizeof(addr), "%s:%u", ip, ntohs(a->sin_port));
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			char ip[INET6_ADDRSTRLEN];
			inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
			snprintf(addr, sizeof(addr), "[%s]:%u", ip, ntohs(a->sin6_port));
		}
	}
	if (d >= 0)
		close(d);
	/* unknown (no pidfd_getfd): assume the worst */
	if (known && ((dom != AF_INET && dom != AF_INET6) || !listening || reuseport))
		return 0;
	*h->err = xasprintf("pid %d (host pid) has fd %s on the listening socket %s of lithos_tree (a tcp-ports entry without reuse-port: true): CRIU cannot hand it back on restore and would bind the port again, which fails while the tree holds it; expected `reuse-port: true` on the tcp-ports of a migratable daemon",
			    (int)pid, fd, addr);
	return -1;
}

int criu_shared_listeners(pid_t init, pid_t tree, char **err)
{
	struct held_socks h = { .err = err };
	if (tree > 0)
		each_fd(&tree, 1, held_sock_fd, &h);
	pid_t *pids = NULL;
	size_t n = h.n ? process_tree(init, &pids) : 0;
	int rc = each_fd(pids, n, shared_listener_fd, &h);
	free(pids);
	free(h.ino);
	return rc;
}

int criu_use_config(const char *path, const struct buf *conf)
{
	if (write_small_file(path, conf->len ? buf_str((struct buf *)conf) : "") < 0)
		return -1;
	setenv("CRIU_CONFIG_FILE", path, 1);
	return 0;
}

void stdio_drop_nofollow(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || !(fl & O_NOFOLLOW))
			continue;
		char p[32];
		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		int n = open(p, (fl & ~(O_NOFOLLOW | O_CREAT | O_TRUNC | O_EXCL)) | O_CLOEXEC);
		if (n >= 0) {
			dup2(n, fd);
			close(n);
		}
	}
}
