/* The host-side work of a lithos instance's start and stop (what the
 * pre-start and post-stop hooks did): see prestart.h. */
#include "prestart.h"
#include "paths.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* one space-separated field of a #lithos line, \ooo escapes decoded (as
 * the translator's put_fstab writes them); advances *p past it */
static char *unescape_field(const char **p)
{
	struct buf b = { 0 };
	const char *s = *p;
	while (*s && *s != ' ') {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			char c = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			buf_add(&b, &c, 1);
			s += 4;
		} else {
			buf_add(&b, s, 1);
			s++;
		}
	}
	if (*s == ' ')
		s++;
	*p = s;
	char *r = xstrdup(buf_str(&b));
	buf_free(&b);
	return r;
}

static int read_lines(FILE *f, struct hookcfg *h)
{
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
		} else if (!strcmp(k, "volume-source")) {
			struct volume_source vs;
			const char *p = v;
			vs.target = unescape_field(&p);
			vs.base = unescape_field(&p);
			vs.rest = unescape_field(&p);
			VEC_PUSH(h->sources, h->n_sources, vs);
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

int hookcfg_read_file(const char *path, struct hookcfg *h)
{
	return read_lines(fopen(path, "re"), h);
}

int hookcfg_read_mem(const char *conf, size_t len, struct hookcfg *h)
{
	return read_lines(len ? fmemopen((void *)conf, len, "r") : NULL, h);
}

static void free_vec(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void hookcfg_free(struct hookcfg *h)
{
	free(h->name);
	free(h->state_dir);
	free(h->stdio_log);
	free(h->resolv_conf);
	free(h->hosts_file);
	free(h->container_ip);
	buf_free(&h->additional_hosts);
	free_vec(h->statedir_volumes, h->n_statedir_volumes);
	free_vec(h->persistent_mkdirs, h->n_persistent_mkdirs);
	for (size_t i = 0; i < h->n_sources; i++) {
		free(h->sources[i].target);
		free(h->sources[i].base);
		free(h->sources[i].rest);
	}
	free(h->sources);
	free_vec(h->after_setup, h->n_after_setup);
	free_vec(h->remounts, h->n_remounts);
	free(h->init_file);
	free_vec(h->ro_recursive, h->n_ro_recursive);
	memset(h, 0, sizeof(*h));
}

/* mkdir -p of `rel` below the directory basefd, never through symlinks;
 * the last component gets mode, uid and gid. */
static int mkdir_beneath_at(int basefd, const char *rel, mode_t mode, uid_t uid, gid_t gid)
{
	int dfd = openat(basefd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
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

/* the same below the directory `base` (its last component not a symlink) */
static int mkdir_beneath(const char *base, const char *rel, mode_t mode, uid_t uid, gid_t gid)
{
	int bfd = open(base, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (bfd < 0)
		return -1;
	int rc = mkdir_beneath_at(bfd, rel, mode, uid, gid);
	int e = errno;
	close(bfd);
	errno = e;
	return rc;
}

int volume_source_open(const struct volume_source *v)
{
	int bfd = open(v->base, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (bfd < 0)
		return -1;
	int fd = open_beneath(bfd, v->rest, O_PATH, true);
	int e = errno;
	close(bfd);
	errno = e;
	return fd;
}

static const char *beneath_strerror(int e)
{
	return e == EXDEV || e == ELOOP ? "a symlink on its path leads out of the sandbox's directory"
					: strerror(e);
}

int volume_source_check(int rootfd, const struct volume_source *v, char **err)
{
	int sfd = volume_source_open(v);
	if (sfd < 0) {
		*err = xasprintf("volume /%s: its source %s/%s: %s; refusing it", v->target, v->base,
				 v->rest, beneath_strerror(errno));
		return -1;
	}
	/* the target was checked to have no symlink; open it without
	 * following any (a directory, or a file bound onto a file) */
	int tfd = open_in_root(rootfd, v->target, O_PATH | O_NOFOLLOW);
	struct stat ss, ts;
	int rc = 0;
	if (tfd < 0 || fstat(tfd, &ts) < 0 || fstat(sfd, &ss) < 0) {
		*err = xasprintf("volume /%s: cannot check what is mounted there: %s", v->target,
				 strerror(errno));
		rc = -1;
	} else if (ss.st_dev != ts.st_dev || ss.st_ino != ts.st_ino) {
		*err = xasprintf("volume /%s: the directory mounted there is not %s/%s reached without leaving %s (a symlink was followed, or the path changed during the start); refusing it",
				 v->target, v->base, v->rest, v->base);
		rc = -1;
	}
	if (tfd >= 0)
		close(tfd);
	close(sfd);
	return rc;
}

static int write_file(int dirfd, const char *name, const char *data, size_t len)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
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

/* The state dirs' parent, opened (O_PATH) without a symlink anywhere on
 * its path: -1 with errno (ELOOP: a symlink on it; ENOENT: missing). */
static int state_root_open(const char *dir)
{
	struct open_how how;
	memset(&how, 0, sizeof(how));
	how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
	how.resolve = RESOLVE_NO_SYMLINKS;
	return (int)syscall(SYS_openat2, AT_FDCWD, dir, &how, sizeof(how));
}

/* ... as mkdir_beneath("/", ...) leaves it: a directory of root's, mode
 * 0755.  Checked in two syscalls at each start; only a missing or
 * different one is walked from / (3 syscalls per component, then chown
 * and chmod) and fixed.  Nothing below it is touched before it passed. */
static int state_root_prepare(const char *dir)
{
	int fd = state_root_open(dir);
	if (fd >= 0) {
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == 0 && st.st_gid == 0 &&
		    (st.st_mode & 07777) == 0755)
			return fd;
		close(fd);
	}
	if (mkdir_beneath("/", dir + 1, 0755, 0, 0) < 0 && errno != EEXIST)
		return -1;
	return state_root_open(dir);
}

/* A fresh, empty state dir (a stale one removed), its fd; -1 with *err. */
static int state_dir_make(const char *state_dir, char **err)
{
	char *parent = path_dirname(state_dir);
	const char *base = strrchr(state_dir, '/') + 1;
	int pfd = state_root_prepare(parent);
	if (pfd < 0) {
		*err = xasprintf("Cannot create %s: %s", parent, strerror(errno));
		free(parent);
		return -1;
	}
	free(parent);
	int sfd = -1;
	if (remove_tree_at(pfd, base) < 0) {
		*err = xasprintf("Cannot remove stale state dir %s: %s", state_dir, strerror(errno));
	} else if (mkdirat(pfd, base, 0755) < 0 ||
		   (sfd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
		   fchmod(sfd, 01777) < 0) {
		/* 01777 as in lithos: `!Statedir {}` is the container's own
		 * small state, writable whatever its user (and its uid-map) */
		*err = xasprintf("Cannot create state dir %s: %s", state_dir, strerror(errno));
		if (sfd >= 0)
			close(sfd);
		sfd = -1;
	}
	close(pfd);
	return sfd;
}

int state_dir_remove(const char *state_dir, char **err)
{
	char *parent = path_dirname(state_dir);
	const char *base = strrchr(state_dir, '/') + 1;
	int pfd = state_root_open(parent);
	int rc = 0;
	if (pfd < 0) {
		/* missing: nothing to remove; a symlink on the way: refused */
		if (errno != ENOENT) {
			*err = xasprintf("Cannot remove state dir %s: its parent %s: %s", state_dir, parent,
					 strerror(errno));
			rc = -1;
		}
	} else {
		if (remove_tree_at(pfd, base) < 0) {
			*err = xasprintf("Cannot remove state dir %s: %s", state_dir, strerror(errno));
			rc = -1;
		}
		close(pfd);
	}
	free(parent);
	return rc;
}

static int prestart_fill(const struct hookcfg *h, int sfd, char **err);

int prestart_run(const struct hookcfg *h, char **err)
{
	int sfd = state_dir_make(h->state_dir, err);
	if (sfd < 0)
		return PRESTART_ERR_STATEDIR;
	int rc = prestart_fill(h, sfd, err);
	close(sfd);
	return rc;
}

/* !Persistent {mkdir: true} at REST below the sandbox's directory BASE:
 * the last component is made in its parent, which is reached from BASE
 * without leaving it; an existing directory (reached so) is left as it is. */
static int persistent_mkdir_beneath(const struct volume_source *vs, const char *path,
				    unsigned mode, unsigned uid, unsigned gid, char **err)
{
	int fd = volume_source_open(vs);
	if (fd >= 0) {
		struct stat st;
		bool dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
		close(fd);
		if (dir)
			return 0;
		*err = xasprintf("Persistent volume %s exists and is not a directory", path);
		return -1;
	}
	if (errno != ENOENT) {
		if (errno == ENOTDIR)
			*err = xasprintf("Persistent volume %s exists and is not a directory", path);
		else
			*err = xasprintf("Cannot create persistent volume %s: %s", path,
					 beneath_strerror(errno));
		return -1;
	}
	char *parent = path_dirname(vs->rest);
	const char *last = strrchr(vs->rest, '/');
	last = last ? last + 1 : vs->rest;
	int bfd = open(vs->base, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int pfd = bfd < 0 ? -1 : open_beneath(bfd, parent, O_PATH | O_DIRECTORY, true);
	int rc = pfd < 0 ? -1 : mkdir_beneath_at(pfd, last, mode, uid, gid);
	int e = errno;
	if (rc < 0)
		*err = xasprintf("Cannot create persistent volume %s: %s", path, beneath_strerror(e));
	if (pfd >= 0)
		close(pfd);
	if (bfd >= 0)
		close(bfd);
	free(parent);
	return rc;
}

/* What goes into the fresh state dir sfd, and the persistent mkdirs. */
static int prestart_fill(const struct hookcfg *h, int sfd, char **err)
{
	for (size_t i = 0; i < h->n_statedir_volumes; i++) {
		char path[4096];
		unsigned mode, uid, gid;
		if (sscanf(h->statedir_volumes[i], "%4095s %o %u %u", path, &mode, &uid, &gid) != 4 ||
		    mkdir_beneath_at(sfd, path, mode, uid, gid) < 0) {
			*err = xasprintf("Cannot create state dir volume %s: %s",
					 h->statedir_volumes[i], strerror(errno));
			return PRESTART_ERR_VOLUME;
		}
	}
	for (size_t i = 0; i < h->n_persistent_mkdirs; i++) {
		unsigned mode, uid, gid;
		int off = 0;
		const char *line = h->persistent_mkdirs[i];
		if (sscanf(line, "%o %u %u %n", &mode, &uid, &gid, &off) != 3 || !off) {
			*err = xasprintf("Bad persistent-mkdir line %s", line);
			return PRESTART_ERR_VOLUME;
		}
		const char *path = line + off;
		/* below a sandbox's directory (a path the container config
		 * names): made there, never through a symlink leading out */
		const struct volume_source *vs = NULL;
		for (size_t j = 0; j < h->n_sources && !vs; j++) {
			char *p = path_join(h->sources[j].base, h->sources[j].rest);
			if (!strcmp(p, path))
				vs = &h->sources[j];
			free(p);
		}
		if (vs) {
			if (persistent_mkdir_beneath(vs, path, mode, uid, gid, err) < 0)
				return PRESTART_ERR_VOLUME;
			continue;
		}
		/* the sandbox's directory itself (root's config) */
		struct stat st;
		if (lstat(path, &st) == 0) {
			if (!S_ISDIR(st.st_mode)) {
				*err = xasprintf("Persistent volume %s exists and is not a directory", path);
				return PRESTART_ERR_VOLUME;
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
			*err = xasprintf("Cannot create persistent volume %s: %s", path, strerror(e));
			return PRESTART_ERR_VOLUME;
		}
	}

	/* resolv.conf */
	struct buf rc = { 0 };
	if (h->resolv_conf && strcmp(h->resolv_conf, "-")) {
		size_t len;
		char *data = read_file_limited(h->resolv_conf, 1 << 20, &len);
		if (!data) {
			*err = xasprintf("Cannot read resolv-conf %s: %s", h->resolv_conf, strerror(errno));
			return PRESTART_ERR_RESOLV;
		}
		buf_add(&rc, data, len);
		free(data);
	}
	if (write_file(sfd, "resolv.conf", buf_str(&rc), rc.len) < 0) {
		*err = xasprintf("Cannot write resolv.conf: %s", strerror(errno));
		buf_free(&rc);
		return PRESTART_ERR_RESOLV;
	}
	buf_free(&rc);

	/* hosts */
	struct buf hosts = { 0 };
	if (h->hosts_copy && h->hosts_file) {
		size_t len;
		char *data = read_file_limited(h->hosts_file, 1 << 20, &len);
		if (!data) {
			*err = xasprintf("Cannot read hosts-file %s: %s", h->hosts_file, strerror(errno));
			buf_free(&hosts);
			return PRESTART_ERR_RESOLV;
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
	if (write_file(sfd, "hosts", buf_str(&hosts), hosts.len) < 0) {
		*err = xasprintf("Cannot write hosts: %s", strerror(errno));
		buf_free(&hosts);
		return PRESTART_ERR_RESOLV;
	}
	buf_free(&hosts);
	return 0;
}

int poststop_run(const struct hookcfg *h, char **err)
{
	return state_dir_remove(h->state_dir, err) < 0 ? PRESTART_ERR_STATEDIR : 0;
}
