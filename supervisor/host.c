#include "host.h"
#include "paths.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <lxc/lxccontainer.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#ifndef LITHOS_BUILDDIR
#define LITHOS_BUILDDIR "."
#endif
#ifndef LITHOS_SRCDIR
#define LITHOS_SRCDIR "."
#endif

static char *first_existing(const char *env, const char *a, const char *b, int mode)
{
	const char *e = getenv(env);
	if (e && *e)
		return xstrdup(e);
	if (access(a, mode) == 0)
		return xstrdup(a);
	if (access(b, mode) == 0)
		return xstrdup(b);
	return NULL;
}

char *host_lxc_path(const struct master_config *m)
{
	if (m->lxc_path)
		return xstrdup(m->lxc_path);
	const char *p = lxc_get_global_config_item("lxc.lxcpath");
	return xstrdup(p ? p : "/var/lib/lxc");
}

int host_info_load(struct host_info *h, const struct master_config *m, char **err)
{
	memset(h, 0, sizeof(*h));
	struct statfs sf;
	if (statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
		h->cgroup = CGROUP_V2;
	else
		h->cgroup = CGROUP_V1;
	h->memsw = h->cgroup == CGROUP_V1 &&
		   access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0;
	h->lxc_path = host_lxc_path(m);
	h->hook = first_existing("LITHOS_HOOK", LITHOS_BUILDDIR "/lithos_hook",
				 LITHOS_LIBEXEC_DIR "/lithos_hook", X_OK);
	if (!h->hook) {
		*err = xasprintf("cannot find the lithos_hook program (looked in %s and %s)",
				 LITHOS_BUILDDIR, LITHOS_LIBEXEC_DIR);
		return -1;
	}
	h->init = first_existing("LITHOS_INIT", LITHOS_BUILDDIR "/lithos_init",
				 LITHOS_LIBEXEC_DIR "/lithos_init", X_OK);
	if (!h->init) {
		*err = xasprintf("cannot find the lithos_init program (looked in %s and %s)",
				 LITHOS_BUILDDIR, LITHOS_LIBEXEC_DIR);
		return -1;
	}
	h->templates_dir = first_existing("LITHOS_TEMPLATES_DIR", LITHOS_SRCDIR "/templates",
					  LITHOS_TEMPLATES_DIR, R_OK);
	if (!h->templates_dir) {
		*err = xasprintf("cannot find the templates directory (looked in %s/templates and %s)",
				 LITHOS_SRCDIR, LITHOS_TEMPLATES_DIR);
		return -1;
	}
	char *base = xasprintf("%s/base.conf", h->templates_dir);
	char *userns = xasprintf("%s/userns.conf", h->templates_dir);
	h->base_template = read_file_limited(base, 1 << 20, NULL);
	if (!h->base_template)
		*err = xasprintf("cannot read template %s: %s", base, strerror(errno));
	if (h->base_template) {
		/* base.conf names files next to it (the seccomp profile) */
		struct buf b = { 0 };
		const char *p = h->base_template, *q;
		while ((q = strstr(p, "@TEMPLATES_DIR@"))) {
			buf_add(&b, p, (size_t)(q - p));
			buf_puts(&b, h->templates_dir);
			p = q + strlen("@TEMPLATES_DIR@");
		}
		buf_puts(&b, p);
		free(h->base_template);
		h->base_template = xstrdup(buf_str(&b));
		buf_free(&b);
	}
	h->userns_template = read_file_limited(userns, 1 << 20, NULL);
	if (!h->userns_template && h->base_template)
		*err = xasprintf("cannot read template %s: %s", userns, strerror(errno));
	char *dev = xasprintf("%s/devices-v%d.conf", h->templates_dir, h->cgroup == CGROUP_V2 ? 2 : 1);
	h->devices_template = read_file_limited(dev, 1 << 20, NULL);
	if (!h->devices_template && h->base_template && h->userns_template)
		*err = xasprintf("cannot read template %s: %s", dev, strerror(errno));
	free(dev);
	free(base);
	free(userns);
	return h->base_template && h->userns_template && h->devices_template ? 0 : -1;
}

void host_info_free(struct host_info *h)
{
	free(h->lxc_path);
	free(h->hook);
	free(h->init);
	free(h->templates_dir);
	free(h->base_template);
	free(h->userns_template);
	free(h->devices_template);
	memset(h, 0, sizeof(*h));
}

enum image_file image_file_kind(const char *image_root, const char *path)
{
	_cleanup_close_ int root = open(image_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return IMAGE_FILE_MISSING;
	/* every parent must be a real directory too */
	char *dir = path_dirname(path);
	int dfd = open_in_root(root, dir, O_PATH | O_DIRECTORY | O_NOFOLLOW);
	free(dir);
	if (dfd < 0)
		return IMAGE_FILE_MISSING;
	struct stat st;
	const char *base = strrchr(path, '/') + 1;
	int r = fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW);
	close(dfd);
	if (r < 0)
		return IMAGE_FILE_MISSING;
	if (S_ISLNK(st.st_mode))
		return IMAGE_FILE_SYMLINK;
	return S_ISREG(st.st_mode) ? IMAGE_FILE_REGULAR : IMAGE_FILE_OTHER;
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

bool check_mount_targets(const struct container_config *cc, const char *image_root,
			 struct diags *d)
{
	size_t before = diags_count(d);
	_cleanup_close_ int root = open(image_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		diag_add(d, image_root, 0, 0, "cannot open image: %s", strerror(errno));
		return false;
	}
	for (size_t i = 0; i < cc->n_volumes; i++) {
		const struct volume *v = &cc->volumes[i];
		bool nested = false;
		for (size_t j = 0; j < cc->n_volumes; j++)
			if (j != i && under(v->mountpoint, cc->volumes[j].mountpoint))
				nested = true;
		if (nested)
			continue;
		/* walk component by component, refusing symlinks */
		int dfd = dup(root);
		char *copy = xstrdup(v->mountpoint);
		char *save = NULL;
		struct buf walked = { 0 };
		for (char *c = strtok_r(copy, "/", &save); c && dfd >= 0; c = strtok_r(NULL, "/", &save)) {
			buf_printf(&walked, "/%s", c);
			struct stat st;
			if (fstatat(dfd, c, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				diag_add(d, cc->file, v->pos.line, v->pos.col,
					 "volume %s: mount point %s does not exist in the image %s; expected the image to have it (lithos never creates mount points)",
					 v->mountpoint, buf_str(&walked), image_root);
				close(dfd);
				dfd = -1;
				break;
			}
			if (S_ISLNK(st.st_mode)) {
				diag_add(d, cc->file, v->pos.line, v->pos.col,
					 "volume %s: %s is a symlink in the image; expected a real directory (a mount point must not lead anywhere else)",
					 v->mountpoint, buf_str(&walked));
				close(dfd);
				dfd = -1;
				break;
			}
			int next = openat(dfd, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
			close(dfd);
			dfd = next;
		}
		if (dfd >= 0)
			close(dfd);
		buf_free(&walked);
		free(copy);
	}
	return diags_count(d) == before;
}

static int rmdir_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(p);
	return 0;
}

int cgroup_cleanup(const char *cgroup_name, const char *lxc_name, bool after_clean_stop)
{
	if (!cgroup_name)
		return 0;
	DIR *dh = opendir("/sys/fs/cgroup");
	if (!dh)
		return 0;
	struct buf dirs = { 0 };
	struct dirent *de;
	/* v2 (the root itself) and every v1 hierarchy below it; a symlink
	 * (cpu -> cpu,cpuacct) is a hierarchy listed under its own name too */
	buf_puts(&dirs, "/sys/fs/cgroup\n");
	while ((de = readdir(dh)))
		if (de->d_name[0] != '.' && de->d_type != DT_LNK)
			buf_printf(&dirs, "/sys/fs/cgroup/%s\n", de->d_name);
	closedir(dh);
	int remaining = 0;
	if (after_clean_stop) {
		/* LXC removed its cgroups in every hierarchy in one pass; what
		 * keeps one (a process still in it) keeps it in all of them.
		 * Look in one (each lookup of a missing cgroup is a slow kernfs
		 * lookup: ~15 us, 22 of them on a v1 host) and in the v2 root. */
		char *save = NULL, *copy = xstrdup(buf_str(&dirs));
		bool seen = false;
		int looked = 0;
		for (char *base = strtok_r(copy, "\n", &save); base && looked < 2 && !seen;
		     base = strtok_r(NULL, "\n", &save)) {
			char *slice = xasprintf("%s/%s", base, cgroup_name);
			struct stat st;
			if (stat(slice, &st) == 0) {
				looked++;
				for (int mon = 0; mon < 2 && !seen; mon++) {
					char *p = xasprintf("%s/%s%s", slice, lxc_name, mon ? ".monitor" : "");
					seen = lstat(p, &st) == 0;
					free(p);
				}
			}
			free(slice);
		}
		free(copy);
		if (!seen) {
			buf_free(&dirs);
			return 0;
		}
	}
	for (int attempt = 0; attempt < 50; attempt++) {
		remaining = 0;
		char *save = NULL, *copy = xstrdup(buf_str(&dirs));
		for (char *base = strtok_r(copy, "\n", &save); base; base = strtok_r(NULL, "\n", &save)) {
			for (int mon = 0; mon < 2; mon++) {
				char *p = xasprintf("%s/%s/%s%s", base, cgroup_name, lxc_name,
						    mon ? ".monitor" : "");
				struct stat st;
				if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
					nftw(p, rmdir_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
					if (lstat(p, &st) == 0)
						remaining++;
				}
				free(p);
			}
		}
		free(copy);
		if (!remaining)
			break;
		usleep(20000);
	}
	buf_free(&dirs);
	return remaining;
}

bool devfs_ready(const char *devfs_dir)
{
	if (!devfs_dir)
		return false;
	if (!strcmp(devfs_dir, "/dev"))
		return true;
	char *mk = xasprintf("%s/" LITHOS_DEVFS_MARKER, devfs_dir);
	bool ok = access(mk, F_OK) == 0;
	free(mk);
	return ok;
}

char *instance_state_dir(const struct master_config *m, const char *lxc_name)
{
	return xasprintf("%s/%s", m->state_dir, lxc_name);
}
