/* lithos_clean: show used and unused images and delete the unused ones.
 *
 * An image is a directory exactly image-dir-levels below a sandbox's
 * image-dir.  It is used when
 *   - a process entry of a sandbox sharing that image-dir names it (every
 *     entry of the current processes config, Daemon or Command),
 *   - a used-images-list of a sandbox sharing that image-dir lists it,
 *   - the config log (config-log-dir) has it among the recent images of a
 *     process of such a sandbox (see recency below), or
 *   - a container in the LXC path (lithos's instances, or any other) has
 *     its root file system in it.
 * Image dirs shared by sandboxes are cleaned only when all of them have
 * auto-clean true; mixed values skip the dir with a warning (lithos 0.14.2).
 *
 * Recency: for each process (sandbox + process name) the log gives the
 * images it was started with.  Its distinct images are ranked by their last
 * record, newest first.  An image is kept when its rank is within
 * --versions-min, or within --versions-max and, if --history-days is given,
 * it was in use during the last DAYS days: in use until the process's next
 * record with another image; the newest image of a process still in the
 * processes config is in use now; the newest image of a removed process was
 * in use until its last record.
 *
 * Deleting: the image is renamed to a hidden name next to it (so nothing
 * can start from a half-deleted image), the LXC path is checked again, then
 * the tree is removed with openat/unlinkat: no symlink is ever followed, no
 * mount point is entered, nothing outside the image is touched. */
#include "config.h"
#include "configlog.h"
#include "paths.h"
#include "setup.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <lxc/lxccontainer.h>
#include <string.h>
#include <sys/stat.h>

#define PROG "lithos_clean"
#define LIST_MAX_SIZE (16u << 20)
#define RM_MAX_DEPTH 512

enum mode { MODE_USED, MODE_UNUSED, MODE_DELETE };

struct options {
	enum mode mode;
	const char *master;
	long days;             /* -1: not given */
	unsigned long vmin, vmax;
	bool verbose;
};

struct used {
	char *name;            /* relative to the image dir, normalized */
	bool prefix;           /* keeps everything below `name` */
	char *why;
};

struct image {
	char *rel;
	bool other_fs;         /* a mount point: never deleted */
	const struct used *used;
};

struct group {
	char *dir;             /* image-dir as its first sandbox writes it */
	char *real;            /* realpath, NULL when missing */
	dev_t dev;
	ino_t ino;
	int fd;
	uint32_t levels;
	bool levels_mixed;
	struct strlist spell;  /* every sandbox's spelling of the dir */
	struct strlist auto_on, auto_off; /* sandbox names */
	char *unsafe;          /* why nothing may be deleted here */
	struct used *used;
	size_t n_used;
	struct image *images;
	size_t n_images;
};

struct clean {
	struct options o;
	time_t now;
	struct lithos_setup st;
	struct group *groups;
	size_t n_groups;
	char *global_unsafe;   /* nothing may be deleted anywhere */
	struct strlist lxc_paths;
	int status;
};

/* ---------------- small helpers ---------------- */

__attribute__((format(printf, 2, 3))) static void warn(struct clean *c, const char *fmt, ...)
{
	va_list ap;
	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	(void)c;
}

__attribute__((format(printf, 2, 3))) static void note(struct clean *c, const char *fmt, ...)
{
	if (!c->o.verbose)
		return;
	va_list ap;
	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void set_reason(char **slot, char *why)
{
	if (*slot)
		free(why);
	else
		*slot = why;
}

/* A path on one line: control characters as \ooo. */
static void print_path(FILE *f, const char *dir, const char *rel)
{
	char *p = xasprintf("%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", rel);
	for (const unsigned char *s = (const unsigned char *)p; *s; s++) {
		if (*s < 0x20 || *s == 0x7f)
			fprintf(f, "\\%03o", *s);
		else
			fputc(*s, f);
	}
	fputc('\n', f);
	free(p);
}

/* Normalize a relative image name: drop empty and "." components; NULL if
 * it has a ".." component or nothing is left. */
static char *normalize_rel(const char *s, unsigned *comps)
{
	struct buf b = { 0 };
	*comps = 0;
	while (*s) {
		const char *e = strchrnul(s, '/');
		size_t n = (size_t)(e - s);
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			buf_free(&b);
			return NULL;
		}
		if (n && !(n == 1 && s[0] == '.')) {
			if (b.len)
				buf_puts(&b, "/");
			buf_add(&b, s, n);
			(*comps)++;
		}
		s = *e ? e + 1 : e;
	}
	if (!b.len) {
		buf_free(&b);
		return NULL;
	}
	buf_str(&b);
	return b.p;
}

/* The first n components of a normalized name. */
static char *first_comps(const char *s, unsigned n)
{
	const char *p = s;
	for (unsigned i = 0; i < n; i++) {
		p = strchrnul(p, '/');
		if (i + 1 < n && *p)
			p++;
	}
	return xstrndup(s, (size_t)(p - s));
}

/* Mark `name` (relative to the group's dir) used: exactly an image when it
 * has image-dir-levels components, the image containing it when it has
 * more, everything below it when it has fewer. */
__attribute__((format(printf, 3, 4))) static void add_used(struct group *g, const char *name,
							    const char *fmt, ...)
{
	unsigned comps;
	char *norm = normalize_rel(name, &comps);
	if (!norm)
		return;
	struct used u = { 0 };
	if (comps >= g->levels) {
		u.name = first_comps(norm, g->levels);
		free(norm);
	} else {
		u.name = norm;
		u.prefix = true;
	}
	va_list ap;
	va_start(ap, fmt);
	u.why = xvasprintf(fmt, ap);
	va_end(ap);
	VEC_PUSH(g->used, g->n_used, u);
}

/* `path` absolute: if it lies in the group's dir, the part below it. */
static const char *below_dir(const struct group *g, const char *path)
{
	for (size_t i = 0; i <= g->spell.n; i++) {
		const char *d = i < g->spell.n ? g->spell.v[i] : g->real;
		if (!d)
			continue;
		size_t n = strlen(d);
		while (n > 1 && d[n - 1] == '/')
			n--;
		if (!strncmp(path, d, n) && path[n] == '/')
			return path + n + 1;
	}
	return NULL;
}

/* ---------------- image dirs ---------------- */

static struct group *group_for(struct clean *c, const struct sandbox_config *s)
{
	struct stat st;
	int serr = stat(s->image_dir, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
	for (size_t i = 0; i < c->n_groups; i++) {
		struct group *g = &c->groups[i];
		bool same = !serr ? g->fd >= 0 && g->dev == st.st_dev && g->ino == st.st_ino
				  : g->fd < 0 && !strcmp(g->dir, s->image_dir);
		if (same) {
			if (g->levels != s->image_dir_levels)
				g->levels_mixed = true;
			strlist_push(&g->spell, s->image_dir, (struct pos){ 0, 0 });
			return g;
		}
	}
	struct group g = { .fd = -1, .levels = s->image_dir_levels };
	g.dir = xstrdup(s->image_dir);
	strlist_push(&g.spell, s->image_dir, (struct pos){ 0, 0 });
	if (!serr) {
		g.dev = st.st_dev;
		g.ino = st.st_ino;
		g.fd = open(s->image_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		g.real = realpath(s->image_dir, NULL);
		if (g.fd < 0)
			g.unsafe = xasprintf("cannot open %s: %s", s->image_dir, strerror(errno));
	} else if (serr != ENOENT) {
		g.unsafe = xasprintf("cannot read %s: %s", s->image_dir, strerror(serr));
	}
	VEC_PUSH(c->groups, c->n_groups, g);
	return &c->groups[c->n_groups - 1];
}

static bool in_current_config(const struct loaded_sandbox *sb, const char *process)
{
	for (size_t i = 0; i < sb->procs.n; i++)
		if (sb->procs.v[i].name && !strcmp(sb->procs.v[i].name, process))
			return true;
	return false;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct configlog_entry *x = *(const struct configlog_entry *const *)a;
	const struct configlog_entry *y = *(const struct configlog_entry *const *)b;
	int r = strcmp(x->process, y->process);
	return r ? r : x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The recency rule (see the top of the file) over one sandbox's history. */
static void history_used(struct clean *c, struct group *g, const struct loaded_sandbox *sb,
			 const struct configlog_history *h)
{
	if (!h->n)
		return;
	const struct configlog_entry **v = xcalloc(h->n, sizeof(*v));
	for (size_t i = 0; i < h->n; i++)
		v[i] = &h->v[i];
	qsort(v, h->n, sizeof(*v), entry_cmp);
	time_t limit = c->o.days >= 0 ? c->now - (time_t)c->o.days * 86400 : 0;
	const char **seen = NULL;
	size_t n_seen = 0;
	for (size_t start = 0; start < h->n;) {
		size_t end = start;
		while (end < h->n && !strcmp(v[end]->process, v[start]->process))
			end++;
		const char *proc = v[start]->process;
		bool current = in_current_config(sb, proc);
		n_seen = 0;
		/* newest first: the first time an image is met is its last record */
		for (size_t k = end; k-- > start;) {
			const struct configlog_entry *e = v[k];
			bool dup = false;
			for (size_t j = 0; j < n_seen && !dup; j++)
				dup = !strcmp(seen[j], e->image);
			if (dup)
				continue;
			size_t rank = n_seen;
			VEC_PUSH(seen, n_seen, e->image);
			time_t until = k + 1 < end ? v[k + 1]->time : current ? c->now : e->time;
			char ts[32];
			configlog_format_time(e->time, ts);
			if (rank < c->o.vmin)
				add_used(g, e->image,
					 "config log of sandbox %s: process %s, one of its %lu newest images (last started %s)",
					 sb->cfg.name, proc, c->o.vmin, ts);
			else if (rank < c->o.vmax && (c->o.days < 0 || until >= limit))
				add_used(g, e->image, "config log of sandbox %s: process %s, started %s%s",
					 sb->cfg.name, proc, ts,
					 c->o.days < 0 ? "" : ", in use within --history-days");
		}
		start = end;
	}
	free(seen);
	free(v);
}

static void used_list(struct clean *c, struct group *g, const struct sandbox_config *s)
{
	char *path = s->used_images_list[0] == '/' ? xstrdup(s->used_images_list) : NULL;
	if (!path) {
		char *dir = path_dirname(s->file);
		path = path_join(dir, s->used_images_list);
		free(dir);
	}
	size_t len;
	char *text = read_file_limited(path, LIST_MAX_SIZE, &len);
	if (!text) {
		set_reason(&g->unsafe, xasprintf("used-images-list %s of sandbox %s cannot be read: %s",
						 path, s->name, strerror(errno)));
		free(path);
		return;
	}
	size_t n = 0;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		line += strspn(line, " \t\r");
		size_t l = strlen(line);
		while (l && strchr(" \t\r", line[l - 1]))
			line[--l] = 0;
		if (!l || line[0] == '#')
			continue;
		const char *rel = line;
		if (line[0] == '/' && !(rel = below_dir(g, line))) {
			note(c, "%s: %s is not below image-dir %s, ignored", path, line, g->dir);
			continue;
		}
		add_used(g, rel, "used-images-list %s of sandbox %s", path, s->name);
		n++;
	}
	note(c, "%s: %zu image%s listed", path, n, n == 1 ? "" : "s");
	free(text);
	free(path);
}

/* ---------------- containers in the LXC path ---------------- */

/* Root file systems of every container in the LXC paths (any container:
 * lithos's instances and standalone ones made from a lithos image). */
static void rootfs_paths(struct clean *c, struct strlist *out, bool report)
{
	for (size_t i = 0; i < c->lxc_paths.n; i++) {
		const char *lp = c->lxc_paths.v[i];
		DIR *dh = opendir(lp);
		if (!dh) {
			if (errno != ENOENT && report)
				warn(c, "cannot read the LXC path %s: %s; running containers are not checked, the processes configs are the source of truth",
				     lp, strerror(errno));
			continue;
		}
		struct dirent *de;
		while ((de = readdir(dh))) {
			if (de->d_name[0] == '.')
				continue;
			char *cf = xasprintf("%s/%s/config", lp, de->d_name);
			size_t len;
			char *text = read_file_limited(cf, 1u << 20, &len);
			if (!text) {
				if (errno != ENOENT && errno != ENOTDIR && report)
					warn(c, "cannot read %s: %s", cf, strerror(errno));
				free(cf);
				continue;
			}
			for (char *line = text, *next; line && *line; line = next) {
				next = strchr(line, '\n');
				if (next)
					*next++ = 0;
				line += strspn(line, " \t");
				const char *val = NULL;
				if (str_has_prefix(line, "lxc.rootfs.path"))
					val = line + strlen("lxc.rootfs.path");
				else if (str_has_prefix(line, "lxc.rootfs") &&
					 strchr(" \t=", line[strlen("lxc.rootfs")]))
					val = line + strlen("lxc.rootfs");
				if (!val)
					continue;
				val += strspn(val, " \t");
				if (*val != '=')
					continue;
				val++;
				val += strspn(val, " \t");
				char *v = xstrdup(val);
				size_t l = strlen(v);
				while (l && strchr(" \t\r", v[l - 1]))
					v[--l] = 0;
				/* dir:/path, overlay:/lower:/upper, /path */
				if (v[0] == '/')
					strlist_push(out, v, (struct pos){ 0, 0 });
				for (char *tok = v, *colon; tok; tok = colon) {
					colon = strchr(tok, ':');
					if (colon)
						*colon++ = 0;
					if (tok[0] == '/')
						strlist_push(out, tok, (struct pos){ 0, 0 });
				}
				free(v);
			}
			free(text);
			free(cf);
		}
		closedir(dh);
	}
	/* the resolved form too, in case a container names the dir otherwise */
	size_t n = out->n;
	for (size_t i = 0; i < n; i++) {
		char *r = realpath(out->v[i], NULL);
		if (r && strcmp(r, out->v[i]))
			strlist_push(out, r, (struct pos){ 0, 0 });
		free(r);
	}
}

static void runtime_used(struct clean *c)
{
	struct strlist roots = { 0 };
	rootfs_paths(c, &roots, true);
	for (size_t i = 0; i < roots.n; i++) {
		for (size_t j = 0; j < c->n_groups; j++) {
			const char *rel = below_dir(&c->groups[j], roots.v[i]);
			if (rel)
				add_used(&c->groups[j], rel, "root file system of a container in the LXC path: %s",
					 roots.v[i]);
		}
	}
	strlist_free(&roots);
}

/* Is the image `rel` of g a container's root file system right now? */
static bool used_by_container(struct clean *c, const struct group *g, const char *rel)
{
	struct strlist roots = { 0 };
	rootfs_paths(c, &roots, false);
	bool used = false;
	size_t n = strlen(rel);
	for (size_t i = 0; i < roots.n && !used; i++) {
		const char *r = below_dir(g, roots.v[i]);
		used = r && !strncmp(r, rel, n) && (r[n] == 0 || r[n] == '/');
	}
	strlist_free(&roots);
	return used;
}

/* ---------------- scanning and classifying ---------------- */

static int used_cmp(const void *a, const void *b)
{
	const struct used *x = a, *y = b;
	int r = strcmp(x->name, y->name);
	return r ? r : (int)x->prefix - (int)y->prefix;
}

static int image_cmp(const void *a, const void *b)
{
	return strcmp(((const struct image *)a)->rel, ((const struct image *)b)->rel);
}

static void scan(struct clean *c, struct group *g, int dfd, const char *prefix, unsigned depth)
{
	int dupfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dh = dupfd >= 0 ? fdopendir(dupfd) : NULL;
	if (!dh) {
		set_reason(&g->unsafe, xasprintf("cannot read %s%s%s: %s", g->dir, *prefix ? "/" : "",
						 prefix, strerror(errno)));
		if (dupfd >= 0)
			close(dupfd);
		return;
	}
	struct stat dst;
	fstat(dfd, &dst);
	struct dirent *de;
	while ((de = readdir(dh))) {
		if (de->d_name[0] == '.') /* ., .., uploads in progress, our own leftovers */
			continue;
		struct stat st;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
			continue; /* files and symlinks are not images */
		char *rel = *prefix ? xasprintf("%s/%s", prefix, de->d_name) : xstrdup(de->d_name);
		if (depth + 1 == g->levels) {
			struct image im = { .rel = rel, .other_fs = st.st_dev != dst.st_dev };
			VEC_PUSH(g->images, g->n_images, im);
			continue;
		}
		int sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			set_reason(&g->unsafe, xasprintf("cannot open %s/%s: %s", g->dir, rel,
							 strerror(errno)));
		} else {
			scan(c, g, sub, rel, depth + 1);
			close(sub);
		}
		free(rel);
	}
	closedir(dh);
}

static void classify(struct group *g)
{
	if (g->n_used)
		qsort(g->used, g->n_used, sizeof(*g->used), used_cmp);
	if (g->n_images)
		qsort(g->images, g->n_images, sizeof(*g->images), image_cmp);
	for (size_t i = 0; i < g->n_images; i++) {
		struct image *im = &g->images[i];
		struct used key = { .name = im->rel, .prefix = false };
		im->used = bsearch(&key, g->used, g->n_used, sizeof(*g->used), used_cmp);
		size_t n;
		for (size_t j = 0; j < g->n_used && !im->used; j++) {
			const struct used *u = &g->used[j];
			n = strlen(u->name);
			if (u->prefix && !strncmp(im->rel, u->name, n) && im->rel[n] == '/')
				im->used = u;
		}
	}
}

/* ---------------- deleting ---------------- */

struct rm_state {
	dev_t dev;
	char *err;             /* the first problem */
	size_t problems;
};

__attribute__((format(printf, 2, 3))) static void rm_problem(struct rm_state *s, const char *fmt,
							      ...)
{
	s->problems++;
	if (s->err)
		return;
	va_list ap;
	va_start(ap, fmt);
	s->err = xvasprintf(fmt, ap);
	va_end(ap);
}

/* Remove `name` in pfd and everything below it: never follows a symlink
 * (they are unlinked themselves), never enters another file system. */
static void rm_tree_at(struct rm_state *s, int pfd, const char *name, const char *shown,
		       int depth)
{
	struct stat st;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			rm_problem(s, "%s: %s", shown, strerror(errno));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(pfd, name, 0) < 0 && errno != ENOENT)
			rm_problem(s, "cannot remove %s: %s", shown, strerror(errno));
		return;
	}
	if (st.st_dev != s->dev) {
		rm_problem(s, "%s is a mount point; left alone", shown);
		return;
	}
	if (depth > RM_MAX_DEPTH) {
		rm_problem(s, "%s is nested deeper than %d directories; left alone", shown,
			   RM_MAX_DEPTH);
		return;
	}
	int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat fst;
	if (fd < 0 || fstat(fd, &fst) < 0 || fst.st_dev != st.st_dev || fst.st_ino != st.st_ino) {
		rm_problem(s, "cannot open %s: %s", shown, fd < 0 ? strerror(errno) : "it changed");
		if (fd >= 0)
			close(fd);
		return;
	}
	DIR *dh = fdopendir(fd);
	if (!dh) {
		rm_problem(s, "cannot read %s: %s", shown, strerror(errno));
		close(fd);
		return;
	}
	/* read the names first, then remove */
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(dh))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			VEC_PUSH(names, n, xstrdup(de->d_name));
	}
	for (size_t i = 0; i < n; i++) {
		char *sub = xasprintf("%s/%s", shown, names[i]);
		rm_tree_at(s, fd, names[i], sub, depth + 1);
		free(sub);
		free(names[i]);
	}
	free(names);
	closedir(dh);
	if (unlinkat(pfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && !s->problems)
		rm_problem(s, "cannot remove %s: %s", shown, strerror(errno));
}

/* Open the directory that holds image `rel`, component by component,
 * without following symlinks.  Returns an fd or -1 with *err. */
static int open_parent(const struct group *g, const char *rel, const char **base, char **err)
{
	int fd = openat(g->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	const char *p = rel;
	for (;;) {
		const char *slash = strchr(p, '/');
		if (!slash)
			break;
		char *comp = xstrndup(p, (size_t)(slash - p));
		int sub = fd < 0 ? -1 : openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		free(comp);
		if (fd >= 0)
			close(fd);
		fd = sub;
		if (fd < 0) {
			*err = xasprintf("cannot open the directory of %s/%s: %s", g->dir, rel, strerror(e));
			return -1;
		}
		p = slash + 1;
	}
	if (fd < 0)
		*err = xasprintf("cannot open %s: %s", g->dir, strerror(errno));
	*base = p;
	return fd;
}

static int delete_image(struct clean *c, struct group *g, const struct image *im)
{
	static unsigned counter;
	char *err = NULL;
	const char *base;
	char *shown = xasprintf("%s/%s", g->dir, im->rel);
	int parent = open_parent(g, im->rel, &base, &err);
	int rc = -1;
	char *hidden = NULL;
	if (parent < 0)
		goto out;
	struct stat pst, st;
	if (fstat(parent, &pst) < 0 || fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		err = xasprintf("%s: %s", shown, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode) || st.st_dev != pst.st_dev) {
		err = xasprintf("%s is no longer a directory on the image dir's file system; left alone",
				shown);
		goto out;
	}
	hidden = xasprintf(".lithos-clean.%ld.%u", (long)getpid(), counter++);
	if (renameat(parent, base, parent, hidden) < 0) {
		err = xasprintf("cannot rename %s before deleting it: %s", shown, strerror(errno));
		goto out;
	}
	if (used_by_container(c, g, im->rel)) {
		if (renameat(parent, hidden, parent, base) < 0)
			err = xasprintf("%s became a container's root file system while it was being deleted, and cannot be renamed back from %s: %s",
					shown, hidden, strerror(errno));
		else
			warn(c, "%s became a container's root file system; not deleted", shown);
		rc = err ? -1 : 1;
		goto out;
	}
	struct rm_state s = { .dev = st.st_dev };
	char *in = xstrndup(shown, strlen(shown) - strlen(base)); /* ends with / */
	char *hshown = xasprintf("%s%s", in, hidden);
	rm_tree_at(&s, parent, hidden, hshown, 0);
	if (s.problems)
		err = xasprintf("%s was not deleted completely, what is left is %s: %s (%zu problem%s)",
				shown, hshown, s.err, s.problems, s.problems == 1 ? "" : "s");
	free(s.err);
	free(in);
	free(hshown);
	if (err)
		goto out;
	rc = 0;
out:
	if (parent >= 0)
		close(parent);
	if (err) {
		warn(c, "%s", err);
		free(err);
	}
	free(hidden);
	free(shown);
	return rc;
}

/* ---------------- main ---------------- */

static void usage(FILE *out)
{
	fputs("Usage: lithos_clean [-C MASTER] [--used | --unused | --delete-unused]\n"
	      "                    [-D DAYS] [--versions-min N] [--versions-max N] [-v]\n"
	      "\n"
	      "Show the images in the sandboxes' image dirs that are used (--used, the\n"
	      "default) or unused (--unused), or delete the unused ones (--delete-unused,\n"
	      "the only mode that deletes). One image path per line; --delete-unused\n"
	      "puts the time before each deleted path.\n"
	      "\n"
	      "Options:\n"
	      "  -C, --config FILE        master config (default /etc/lithos/master.yaml)\n"
	      "  --used                   print used images (default)\n"
	      "  --unused                 print the unused images --delete-unused would delete\n"
	      "  --delete-unused          delete unused images\n"
	      "  -D, --history-days DAYS  keep images from the config log that were in use\n"
	      "                           during the last DAYS days (default: keep all of\n"
	      "                           the config log, up to --versions-max)\n"
	      "  --versions-min, --vmin N, --keep-recent N\n"
	      "                           keep the N newest images of each process in the\n"
	      "                           config log, however old (default 0)\n"
	      "  --versions-max, --vmax N keep at most the N newest images of each process\n"
	      "                           from the config log (default 1000)\n"
	      "  -v, --verbose            say why each image is used, and what is skipped\n"
	      "  -h, --help               show this help\n",
	      out);
}

static bool parse_count(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > max)
		return false;
	*out = v;
	return true;
}

static int parse_args(struct options *o, int argc, char **argv)
{
	enum { OPT_USED = 256, OPT_UNUSED, OPT_DELETE, OPT_VMIN, OPT_VMAX };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'C' },
		{ "used", no_argument, NULL, OPT_USED },
		{ "unused", no_argument, NULL, OPT_UNUSED },
		{ "delete-unused", no_argument, NULL, OPT_DELETE },
		{ "history-days", required_argument, NULL, 'D' },
		{ "versions-min", required_argument, NULL, OPT_VMIN },
		{ "vmin", required_argument, NULL, OPT_VMIN },
		{ "keep-recent", required_argument, NULL, OPT_VMIN },
		{ "versions-max", required_argument, NULL, OPT_VMAX },
		{ "vmax", required_argument, NULL, OPT_VMAX },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	*o = (struct options){ .mode = MODE_USED, .days = -1, .vmin = 0, .vmax = 1000 };
	int modes = 0, ch;
	unsigned long v;
	while ((ch = getopt_long(argc, argv, "+C:D:vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'C':
			o->master = optarg;
			break;
		case OPT_USED:
			o->mode = MODE_USED;
			modes++;
			break;
		case OPT_UNUSED:
			o->mode = MODE_UNUSED;
			modes++;
			break;
		case OPT_DELETE:
			o->mode = MODE_DELETE;
			modes++;
			break;
		case 'D':
			if (!parse_count(optarg, 1000000, &v)) {
				fprintf(stderr, PROG ": --history-days: \"%s\" is not a number of days\n",
					optarg);
				return -1;
			}
			o->days = (long)v;
			break;
		case OPT_VMIN:
		case OPT_VMAX:
			if (!parse_count(optarg, 1000000000, &v)) {
				fprintf(stderr, PROG ": %s: \"%s\" is not a count\n",
					ch == OPT_VMIN ? "--versions-min" : "--versions-max", optarg);
				return -1;
			}
			*(ch == OPT_VMIN ? &o->vmin : &o->vmax) = v;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return -1;
	}
	if (modes > 1) {
		fputs(PROG ": give one of --used, --unused and --delete-unused\n", stderr);
		return -1;
	}
	return 0;
}

/* Which sandbox a problem of the setup belongs to; NULL: none. */
static struct loaded_sandbox *diag_owner(struct clean *c, const struct diag *dg)
{
	for (size_t i = 0; i < c->st.n_sandboxes; i++) {
		struct loaded_sandbox *sb = &c->st.sandboxes[i];
		char *sfile = xasprintf("%s/%s.yaml", c->st.master.sandboxes_dir, sb->cfg.name);
		bool mine = (sb->cfg.file && !strcmp(dg->file, sb->cfg.file)) ||
			    !strcmp(dg->file, sfile) ||
			    (sb->processes_file && !strcmp(dg->file, sb->processes_file));
		free(sfile);
		if (mine)
			return sb;
	}
	return NULL;
}

static void collect(struct clean *c, struct diags *d)
{
	/* problems in the configs: the sandbox they belong to is not safe */
	bool *bad = xcalloc(c->st.n_sandboxes + 1, sizeof(*bad));
	for (size_t i = 0; i < d->n; i++) {
		struct loaded_sandbox *sb = diag_owner(c, &d->v[i]);
		if (sb)
			bad[sb - c->st.sandboxes] = true;
		else
			set_reason(&c->global_unsafe,
				   xasprintf("the configs have problems outside any sandbox (%s)",
					     d->v[i].file));
	}
	if (d->dropped)
		set_reason(&c->global_unsafe, xstrdup("the configs have too many problems"));

	for (size_t i = 0; i < c->st.n_sandboxes; i++) {
		struct loaded_sandbox *sb = &c->st.sandboxes[i];
		const struct sandbox_config *s = &sb->cfg;
		if (!s->image_dir) {
			set_reason(&c->global_unsafe,
				   xasprintf("the image-dir of sandbox %s is unknown", s->name));
			continue;
		}
		struct group *g = group_for(c, s);
		strlist_push(s->auto_clean ? &g->auto_on : &g->auto_off, s->name, (struct pos){ 0, 0 });
		if (bad[i])
			set_reason(&g->unsafe,
				   xasprintf("the configs of sandbox %s have problems (see above)", s->name));
		for (size_t j = 0; j < sb->procs.n; j++) {
			const struct process_entry *e = &sb->procs.v[j];
			if (e->image)
				add_used(g, e->image, "processes config of sandbox %s: process %s",
					 s->name, e->name);
		}
		if (s->used_images_list)
			used_list(c, g, s);
		if (c->st.master.config_log_dir) {
			struct configlog_history h;
			char *err = NULL;
			if (configlog_read(c->st.master.config_log_dir, s->name, &h, &err) < 0) {
				set_reason(&g->unsafe, xasprintf("config log of sandbox %s: %s", s->name, err));
				free(err);
			} else {
				note(c, "config log of sandbox %s: %zu record%s in %zu file%s", s->name, h.n,
				     h.n == 1 ? "" : "s", h.files, h.files == 1 ? "" : "s");
				if (h.broken)
					set_reason(&g->unsafe,
						   xasprintf("config log of sandbox %s has %zu line%s that cannot be read, first %s",
							     s->name, h.broken, h.broken == 1 ? "" : "s",
							     h.first_broken));
				history_used(c, g, sb, &h);
			}
			configlog_history_free(&h);
		}
	}
	free(bad);

	runtime_used(c);

	/* an image dir inside another one keeps its part of that one */
	for (size_t i = 0; i < c->n_groups; i++) {
		for (size_t j = 0; j < c->n_groups; j++) {
			if (i == j || !c->groups[j].real)
				continue;
			const char *rel = below_dir(&c->groups[i], c->groups[j].real);
			if (rel)
				add_used(&c->groups[i], rel, "holds the image-dir %s", c->groups[j].dir);
		}
	}
}

static int group_dir_cmp(const void *a, const void *b)
{
	return strcmp(((const struct group *)a)->dir, ((const struct group *)b)->dir);
}

static char *join_names(const struct strlist *l)
{
	struct buf b = { 0 };
	for (size_t i = 0; i < l->n; i++)
		buf_printf(&b, "%s%s", i ? ", " : "", l->v[i]);
	buf_str(&b);
	return b.p;
}

/* Whether unused images of g may be listed and deleted; says why not. */
static bool cleanable(struct clean *c, struct group *g)
{
	if (g->levels_mixed) {
		warn(c, "warning: image-dir %s has different image-dir-levels in its sandboxes; not cleaning it",
		     g->dir);
		return false;
	}
	if (g->auto_on.n && g->auto_off.n) {
		char *on = join_names(&g->auto_on), *off = join_names(&g->auto_off);
		warn(c, "warning: image-dir %s is shared by sandboxes with auto-clean true (%s) and false (%s); not cleaning it",
		     g->dir, on, off);
		free(on);
		free(off);
		return false;
	}
	if (!g->auto_on.n) {
		note(c, "%s: auto-clean is false; not cleaning it", g->dir);
		return false;
	}
	if (c->global_unsafe || g->unsafe) {
		warn(c, "not cleaning %s: %s", g->dir, g->unsafe ? g->unsafe : c->global_unsafe);
		c->status = 1;
		return false;
	}
	if (g->fd < 0) {
		note(c, "%s does not exist", g->dir);
		return false;
	}
	return true;
}

static void run(struct clean *c)
{
	if (c->n_groups)
		qsort(c->groups, c->n_groups, sizeof(*c->groups), group_dir_cmp);
	for (size_t i = 0; i < c->n_groups; i++) {
		struct group *g = &c->groups[i];
		if (g->fd >= 0 && !g->levels_mixed)
			scan(c, g, g->fd, "", 0);
		classify(g);
		if (c->o.mode == MODE_USED) {
			if (g->levels_mixed)
				warn(c, "warning: image-dir %s has different image-dir-levels in its sandboxes; its images are not listed",
				     g->dir);
			if (g->unsafe || c->global_unsafe) {
				warn(c, "warning: the images used in %s may be more than listed: %s", g->dir,
				     g->unsafe ? g->unsafe : c->global_unsafe);
				c->status = 1;
			}
			for (size_t k = 0; k < g->n_images; k++) {
				const struct image *im = &g->images[k];
				if (!im->used)
					continue;
				print_path(stdout, g->dir, im->rel);
				note(c, "%s/%s: %s", g->dir, im->rel, im->used->why);
			}
			continue;
		}
		if (!cleanable(c, g))
			continue;
		for (size_t k = 0; k < g->n_images; k++) {
			const struct image *im = &g->images[k];
			if (im->used) {
				note(c, "%s/%s: used: %s", g->dir, im->rel, im->used->why);
				continue;
			}
			if (im->other_fs) {
				warn(c, "%s/%s is a mount point; not %s", g->dir, im->rel,
				     c->o.mode == MODE_DELETE ? "deleting it" : "listing it");
				continue;
			}
			if (c->o.mode == MODE_UNUSED) {
				print_path(stdout, g->dir, im->rel);
				continue;
			}
			int r = delete_image(c, g, im);
			if (r == 0) {
				char ts[32];
				configlog_format_time(time(NULL), ts);
				fputs(ts, stdout);
				fputc(' ', stdout);
				print_path(stdout, g->dir, im->rel);
				fflush(stdout);
			} else if (r < 0) {
				c->status = 1;
			}
		}
	}
}

static void clean_free(struct clean *c)
{
	for (size_t i = 0; i < c->n_groups; i++) {
		struct group *g = &c->groups[i];
		for (size_t k = 0; k < g->n_used; k++) {
			free(g->used[k].name);
			free(g->used[k].why);
		}
		free(g->used);
		for (size_t k = 0; k < g->n_images; k++)
			free(g->images[k].rel);
		free(g->images);
		if (g->fd >= 0)
			close(g->fd);
		free(g->dir);
		free(g->real);
		free(g->unsafe);
		strlist_free(&g->spell);
		strlist_free(&g->auto_on);
		strlist_free(&g->auto_off);
	}
	free(c->groups);
	free(c->global_unsafe);
	strlist_free(&c->lxc_paths);
	setup_free(&c->st);
}

int main(int argc, char **argv)
{
	struct clean c = { 0 };
	if (parse_args(&c.o, argc, argv) < 0)
		return 2;
	c.now = time(NULL);

	struct setup_options so = { .master_path = c.o.master, .skip_containers = true };
	struct diags d = { 0 };
	setup_load(&c.st, &so, &d);
	diags_print(stderr, &d);
	const char *mp = c.o.master ? c.o.master : "/etc/lithos/master.yaml";
	for (size_t i = 0; i < d.n; i++) {
		if (!strcmp(d.v[i].file, mp) || (c.st.master.file && !strcmp(d.v[i].file, c.st.master.file))) {
			fprintf(stderr, PROG ": the master config has problems; nothing done\n");
			diags_free(&d);
			setup_free(&c.st);
			return 1;
		}
	}

	if (c.st.master.lxc_path)
		strlist_push(&c.lxc_paths, c.st.master.lxc_path, (struct pos){ 0, 0 });
	const char *lxc_default = lxc_get_global_config_item("lxc.lxcpath");
	if (lxc_default && (!c.st.master.lxc_path || strcmp(lxc_default, c.st.master.lxc_path)))
		strlist_push(&c.lxc_paths, lxc_default, (struct pos){ 0, 0 });

	collect(&c, &d);
	diags_free(&d);
	if (c.global_unsafe) {
		warn(&c, "nothing is deleted: %s", c.global_unsafe);
		c.status = 1;
	}
	run(&c);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, PROG ": cannot write the output: %s\n", strerror(errno));
		c.status = 1;
	}
	int status = c.status;
	clean_free(&c);
	return status;
}
