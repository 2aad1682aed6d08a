#include "lxcconf.h"
#include "paths.h"
#include "validate.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

uint64_t cpu_shares_to_weight(uint64_t shares)
{
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

void lxcconf_veth_name(const char *lxc_name, char out[16])
{
	/* FNV-1a: stable across runs and hosts */
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)lxc_name; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	snprintf(out, 16, "lith%08x", h);
}

int lxcconf_mount_decision(enum tristate mount, bool have_content, enum image_file f,
			   const char *what, bool *out, char **err)
{
	*err = NULL;
	switch (mount) {
	case TRI_FALSE:
		*out = false;
		return 0;
	case TRI_TRUE:
		if (f != IMAGE_FILE_REGULAR) {
			*err = xasprintf("%s: mount is true but the image's %s is %s; expected a regular file to mount over",
					 what, what,
					 f == IMAGE_FILE_MISSING ? "missing" :
					 f == IMAGE_FILE_SYMLINK ? "a symlink" : "not a regular file");
			return -1;
		}
		*out = true;
		return 0;
	case TRI_AUTO:
		*out = have_content && f == IMAGE_FILE_REGULAR;
		return 0;
	}
	return 0;
}

/* fstab-style escaping for lxc.mount.entry fields */
static void put_fstab(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == ' ' || c == '\t' || c == '\n' || c == '\\')
			buf_printf(b, "\\%03o", c);
		else
			buf_add(b, s, 1);
	}
}

static bool has_newline(const char *s)
{
	return strchr(s, '\n') || strchr(s, '\r');
}

uint32_t map_to_host(const struct idmap *m, uint32_t id)
{
	if (!m || !m->set)
		return id;
	for (size_t i = 0; i < m->n; i++)
		if (id >= m->v[i].inside && (uint64_t)id < (uint64_t)m->v[i].inside + m->v[i].count)
			return m->v[i].outside + (id - m->v[i].inside);
	return UINT32_MAX;
}

/* The sandbox's host directory behind a virtual path (NULL: none) and the
 * rest of the path below it, relative ("" for the directory itself).  The
 * rest comes from the container config: resolved on the host, it must not
 * lead out of the directory through a symlink the container (or another
 * one sharing the directory) put there. */
static const char *virtual_split(const struct sandbox_config *s, const char *path,
				 bool writable_only, const char **rest_out)
{
	const struct kv *kv = match_virtual(&s->writable_paths, path);
	if (!kv && !writable_only)
		kv = match_virtual(&s->readonly_paths, path);
	if (!kv)
		return NULL;
	size_t n = strlen(kv->key);
	while (n > 1 && kv->key[n - 1] == '/')
		n--;
	const char *rest = path + (n == 1 ? 0 : n);
	while (*rest == '/')
		rest++;
	*rest_out = rest;
	return kv->value;
}

/* Host path behind a virtual path: the sandbox's directory + the rest. */
static char *virtual_to_host(const struct sandbox_config *s, const char *path, bool writable_only)
{
	const char *rest;
	const char *base = virtual_split(s, path, writable_only, &rest);
	if (!base)
		return NULL;
	if (!*rest)
		return xstrdup(base);
	return path_join(base, rest);
}

/* A bind-mounted volume whose host path has a part below the sandbox's
 * directory: the mount hook checks that LXC mounted the directory reached
 * from there without leaving it (#lithos.volume-source). */
static bool volume_has_rest(const struct sandbox_config *s, const struct volume *v)
{
	if (v->kind != VOL_READONLY && v->kind != VOL_PERSISTENT)
		return false;
	const char *rest;
	return virtual_split(s, v->path, v->kind == VOL_PERSISTENT, &rest) && *rest;
}

/* Whether LXC runs our mount hook (see lxcconf_render): for writable
 * volumes, and to make the host's /sys read-only all the way down when a
 * user namespace shares the host's network namespace. */
static bool has_mount_hook(const struct instance *in)
{
	const struct container_config *cc = in->cc;
	for (size_t i = 0; i < cc->n_volumes; i++)
		if (cc->volumes[i].kind == VOL_PERSISTENT || cc->volumes[i].kind == VOL_STATEDIR ||
		    volume_has_rest(in->sandbox, &cc->volumes[i]))
			return true;
	bool userns = cc->uid_map.set || in->sandbox->uid_map.set;
	return userns && !in->sandbox->bridged_network;
}

static bool controller_on(const struct master_config *m, const char *ctl)
{
	if (!m->cgroup_name)
		return false;
	for (size_t i = 0; i < m->cgroup_controllers.n; i++) {
		const char *c = m->cgroup_controllers.v[i];
		/* "cpu,cpuacct" style joined names count for each part */
		const char *p = c;
		while (*p) {
			const char *e = strchrnul(p, ',');
			if ((size_t)(e - p) == strlen(ctl) && !strncmp(p, ctl, (size_t)(e - p)))
				return true;
			p = *e ? e + 1 : e;
		}
	}
	return false;
}

static int vol_cmp(const void *a, const void *b)
{
	const struct volume *x = *(const struct volume *const *)a;
	const struct volume *y = *(const struct volume *const *)b;
	return strcmp(x->mountpoint, y->mountpoint);
}

/* One #lithos line.  They drive the host-side work of the start (lithos_cmd,
 * lithos_knot and lithos_hook read them back): a value that would end the
 * line and begin one of its own is never written (a diag instead; the
 * parsers refuse such paths first). */
static void hook_kv(struct buf *b, struct diags *d, const char *file, const char *key,
		    const char *value)
{
	if (has_newline(value)) {
		diag_add(d, file, 0, 0,
			 "the lxc.conf line #lithos.%s would hold a newline; expected single-line values",
			 key);
		return;
	}
	buf_printf(b, "#lithos.%s = %s\n", key, value);
}

int lxcconf_render(const struct instance *in, const struct master_config *m,
		   const struct lxc_facts *f, struct buf *out, struct diags *d)
{
	size_t before = diags_count(d);
	const struct sandbox_config *s = in->sandbox;
	const struct container_config *cc = in->cc;
	const char *cf = cc->file;
	const struct idmap *umap = cc->uid_map.set ? &cc->uid_map : s->uid_map.set ? &s->uid_map : NULL;
	const struct idmap *gmap = cc->gid_map.set ? &cc->gid_map : s->gid_map.set ? &s->gid_map : NULL;
	bool userns = umap != NULL;
	/* checkpoint/restore with CRIU (docs/criu-notes.md) */
	bool migratable = s->migratable && !in->is_command;

	/* every line below is one lxc.conf line: a newline in a value would
	 * start a key of its own (the parsers refuse them first) */
	if (has_newline(in->image_root) || has_newline(in->config_path) || has_newline(in->name)) {
		diag_add(d, cf, 0, 0,
			 "the image root, config path or name of %s has a newline; expected single-line values",
			 in->lxc_name);
		return -1;
	}
	buf_printf(out, "# lxc.conf compiled by lithos-lxc for %s\n", in->name);
	buf_printf(out, "# sandbox %s, process %s, instance %u, config %s\n", s->name,
		   in->entry->name, in->index, in->config_path);
	buf_puts(out, "# Generated file: edit the lithos configs, not this file.\n\n");

	if (f->base_template) {
		buf_puts(out, f->base_template);
		if (out->len && out->p[out->len - 1] != '\n')
			buf_puts(out, "\n");
		buf_puts(out, "\n");
	}

	if (f->devices_template) {
		buf_puts(out, f->devices_template);
		if (out->len && out->p[out->len - 1] != '\n')
			buf_puts(out, "\n");
		buf_puts(out, "\n");
	}

	/* only where lxc-start reads the config.  lithos_knot gives liblxc
	 * LXCPATH/NAME/lxc.log at the start instead (an open fd, while the
	 * directory is there): named here, every reader of the config
	 * (lxc-ls, lxc-info, lithos_ps) opens the file, and liblxc makes its
	 * directory first, so one that read the config as the tree removed
	 * the directory made it again, unmarked (the instance could not
	 * start again) and left behind.  lithos_cmd keeps a command's log in
	 * memory. */
	if (f->standalone) {
		buf_puts(out, "# LXC's own log for this container\n");
		buf_printf(out, "lxc.log.file = %s/%s/lxc.log\n", f->lxc_path, in->lxc_name);
		buf_puts(out, "lxc.log.level = WARN\n\n");
	}

	buf_puts(out, "# root filesystem: the image, read-only\n");
	buf_puts(out, "lxc.rootfs.path = dir:");
	buf_puts(out, in->image_root);
	buf_puts(out, "\nlxc.rootfs.options = ro\n\n");

	/* user namespace */
	if (userns) {
		buf_puts(out, "# user namespace\n");
		for (size_t i = 0; i < umap->n; i++)
			buf_printf(out, "lxc.idmap = u %u %u %u\n", umap->v[i].inside, umap->v[i].outside,
				   umap->v[i].count);
		for (size_t i = 0; gmap && i < gmap->n; i++)
			buf_printf(out, "lxc.idmap = g %u %u %u\n", gmap->v[i].inside, gmap->v[i].outside,
				   gmap->v[i].count);
		if (f->userns_template)
			buf_puts(out, f->userns_template);
		buf_puts(out, "\n");
	}

	/* /proc and /sys, read-only.  A user namespace that does not own the
	 * network namespace (host network) cannot mount a fresh sysfs: bind the
	 * host's /sys read-only instead. */
	buf_puts(out, "# /proc and /sys\n");
	if (userns && !s->bridged_network) {
		buf_puts(out, "lxc.mount.auto = proc:mixed\n");
		buf_puts(out, "lxc.mount.entry = /sys sys none rbind,ro,nosuid,nodev,noexec 0 0\n\n");
	} else {
		buf_puts(out, "lxc.mount.auto = proc:mixed sys:ro\n\n");
	}

	/* process */
	buf_puts(out, "# the process\n");
	if (f->standalone) {
		/* lxc-start runs it with no lithos around: LXC's console,
		 * logged, is its stdio (lxc-start -d would give it /dev/null) */
		buf_printf(out, "lxc.console.logfile = %s/%s/console.log\n", f->lxc_path, in->lxc_name);
		buf_puts(out, "lxc.init.cmd = ");
		lxcconf_standalone_init_cmd(in, out);
		buf_puts(out, "\n");
		if (cc->n_secret_environ || cc->secret_environ_file)
			diag_add(d, cf,
				 cc->n_secret_environ ? cc->secret_environ_pos.line : cc->secret_environ_file_pos.line,
				 cc->n_secret_environ ? cc->secret_environ_pos.col : cc->secret_environ_file_pos.col,
				 "secret-environ: lithos decrypts secrets at each start and gives them to LXC in memory; expected no secrets in a standalone container (lxc-create -t lithos), whose config is a file");
		if (cc->stdout_stderr_file)
			buf_printf(out, "# stdout-stderr-file is not used standalone: the output is in console.log\n");
		for (size_t i = 0; i < in->n_ports; i++) {
			const struct tcp_port *t = in->ports[i].opts;
			if (s->bridged_network && t->external)
				diag_add(d, cf, t->pos.line, t->pos.col,
					 "tcp-ports: port %u has external: true, which lithos_tree binds in the host's network namespace; expected external: false in a standalone container (lxc-create -t lithos)",
					 in->ports[i].port);
		}
	} else if (!(in->is_command && cc->interactive)) {
		buf_puts(out, "lxc.console.path = none\n");
	}
	buf_printf(out, "lxc.init.uid = %u\n", in->uid);
	buf_printf(out, "lxc.init.gid = %u\n", in->gid);
	if (has_newline(cc->workdir)) {
		diag_add(d, cf, cc->workdir_pos.line, cc->workdir_pos.col,
			 "workdir contains a newline; expected a plain path");
	} else {
		buf_printf(out, "lxc.init.cwd = %s\n", cc->workdir);
	}
	buf_printf(out, "lxc.prlimit.nofile = %llu\n", (unsigned long long)cc->fileno_limit);

	/* environment: what the config sets, plus LITHOS_NAME, LITHOS_CONFIG, TERM */
	struct kvlist env = { 0 };
	for (size_t i = 0; i < in->env.n; i++) {
		struct kv e = in->env.v[i];
		VEC_PUSH(env.v, env.n, e);
	}
	for (size_t i = 0; i < env.n; i++) {
		const char *k = env.v[i].key, *v = env.v[i].value;
		bool is_pid = false;
		for (size_t j = 0; j < in->pid_env.n; j++)
			is_pid |= !strcmp(in->pid_env.v[j], k);
		if (is_pid) {
			/* the process's pid is known only when lithos_init has
			 * forked it: lithos_init sets it (--pid-env), exactly,
			 * for every start */
			continue;
		}
		if (has_newline(k) || has_newline(v)) {
			diag_add(d, cf, env.v[i].pos.line, env.v[i].pos.col,
				 "environ: %s: value contains a newline; expected a single-line value", k);
			continue;
		}
		if (!strcmp(k, "LITHOS_NAME") || !strcmp(k, "LITHOS_CONFIG") ||
		    (f->term && !strcmp(k, "TERM")))
			continue; /* set below */
		buf_printf(out, "lxc.environment = %s=%s\n", k, v);
	}
	free(env.v);
	buf_printf(out, "lxc.environment = LITHOS_NAME=%s\n", in->name);
	buf_printf(out, "lxc.environment = LITHOS_CONFIG=%s\n", in->config_path);
	if (f->term && !has_newline(f->term))
		buf_printf(out, "lxc.environment = TERM=%s\n", f->term);
	buf_puts(out, "\n");

	/* mounts */
	buf_puts(out, "# volumes\n");
	/* LXC 5.0 applies nosuid/nodev/noexec to a bind mount only when it is
	 * read-only; the mount hook remounts the writable ones with them. */
	const char **remounts = NULL;
	size_t n_remounts = 0;
	const struct volume **vols = xcalloc(cc->n_volumes, sizeof(*vols));
	for (size_t i = 0; i < cc->n_volumes; i++)
		vols[i] = &cc->volumes[i];
	qsort(vols, cc->n_volumes, sizeof(*vols), vol_cmp);
	for (size_t i = 0; i < cc->n_volumes; i++) {
		const struct volume *v = vols[i];
		const char *target = v->mountpoint + 1; /* relative to the rootfs */
		char *src = NULL;
		const char *opts = NULL;
		char *tmpfs_opts = NULL;
		switch (v->kind) {
		case VOL_READONLY:
			src = virtual_to_host(s, v->path, false);
			opts = "bind,ro,nosuid,noexec,nodev";
			break;
		case VOL_PERSISTENT:
			src = virtual_to_host(s, v->path, true);
			opts = "bind,rw,nosuid,noexec,nodev";
			break;
		case VOL_STATEDIR:
			src = path_join(f->state_dir, v->path[1] ? v->path + 1 : ".");
			opts = "bind,rw,nosuid,noexec,nodev";
			break;
		case VOL_TMPFS:
			tmpfs_opts = xasprintf("size=%llu,mode=%04o,nosuid,nodev",
					       (unsigned long long)v->size, v->mode);
			break;
		}
		if (v->kind != VOL_TMPFS && !src) {
			diag_add(d, cf, v->vpos.line, v->vpos.col,
				 "volume %s: %s is not declared by sandbox %s; expected a path under its readonly-paths or writable-paths",
				 v->mountpoint, v->path, s->name);
			continue;
		}
		if (!*target) {
			diag_add(d, cf, v->pos.line, v->pos.col,
				 "volume /: mounting over the root is not supported; expected a mount point below /");
			free(src);
			free(tmpfs_opts);
			continue;
		}
		buf_puts(out, "lxc.mount.entry = ");
		if (v->kind == VOL_TMPFS) {
			buf_puts(out, "tmpfs ");
			put_fstab(out, target);
			buf_printf(out, " tmpfs %s 0 0\n", tmpfs_opts);
		} else {
			put_fstab(out, src);
			buf_puts(out, " ");
			put_fstab(out, target);
			buf_printf(out, " none %s 0 0\n", opts);
			if (v->kind != VOL_READONLY)
				VEC_PUSH(remounts, n_remounts, target);
		}
		free(src);
		free(tmpfs_opts);
	}
	free(vols);

	/* resolv.conf and hosts from the state dir */
	char *err = NULL;
	bool mount_resolv = false, mount_hosts = false;
	if (lxcconf_mount_decision(cc->resolv_conf.mount, cc->resolv_conf.copy_from_host,
				   f->image_resolv_conf, "/etc/resolv.conf", &mount_resolv, &err) < 0) {
		diag_add(d, cf, cc->resolv_conf.mount_pos.line, cc->resolv_conf.mount_pos.col,
			 "resolv-conf %s", err);
		free(err);
	}
	if (lxcconf_mount_decision(cc->hosts_file.mount, true, f->image_hosts, "/etc/hosts",
				   &mount_hosts, &err) < 0) {
		diag_add(d, cf, cc->hosts_file.mount_pos.line, cc->hosts_file.mount_pos.col,
			 "hosts-file %s", err);
		free(err);
	}
	if (mount_resolv) {
		buf_puts(out, "lxc.mount.entry = ");
		put_fstab(out, f->state_dir);
		buf_puts(out, "/resolv.conf etc/resolv.conf none bind,ro,nosuid,noexec,nodev 0 0\n");
	}
	if (mount_hosts) {
		buf_puts(out, "lxc.mount.entry = ");
		put_fstab(out, f->state_dir);
		buf_puts(out, "/hosts etc/hosts none bind,ro,nosuid,noexec,nodev 0 0\n");
	}
	buf_puts(out, "\n");

	/* /dev */
	buf_puts(out, "# pid 1: lithos_init, from the host, on the private /dev tmpfs (autodev)\n");
	buf_puts(out, "lxc.mount.entry = ");
	put_fstab(out, f->init ? f->init : "lithos_init");
	buf_printf(out, " %s none bind,ro,nosuid,create=file 0 0\n\n", LITHOS_INIT_IN_CONTAINER + 1);
	if (f->devfs_ready) {
		/* /dev stays LXC's minimal autodev (binding a whole devfs-dir
		 * would share one ptmx between containers); what devfs-dir adds
		 * is the syslog socket of the FAQ: devfs-dir/log at /dev/log
		 * (devfs-dir: /dev: the host's own /dev/log) */
		buf_puts(out, "# /dev/log from devfs-dir (prepared by lithos_mkdev, or /dev)\n");
		buf_puts(out, "lxc.mount.entry = ");
		put_fstab(out, m->devfs_dir);
		buf_puts(out, "/log dev/log none bind,create=file,optional 0 0\n\n");
	}

	/* cgroups */
	if (m->cgroup_name) {
		buf_puts(out, "# cgroup and limits\n");
		buf_printf(out, "lxc.cgroup.dir.container = %s/%s\n", m->cgroup_name, in->lxc_name);
		buf_printf(out, "lxc.cgroup.dir.monitor = %s/%s.monitor\n", m->cgroup_name,
			   in->lxc_name);
		if (cc->has_memory_limit && controller_on(m, "memory")) {
			if (f->cgroup == CGROUP_V2) {
				buf_printf(out, "lxc.cgroup2.memory.max = %llu\n",
					   (unsigned long long)cc->memory_limit);
			} else {
				buf_printf(out, "lxc.cgroup.memory.limit_in_bytes = %llu\n",
					   (unsigned long long)cc->memory_limit);
				if (f->memsw)
					buf_printf(out, "lxc.cgroup.memory.memsw.limit_in_bytes = %llu\n",
						   (unsigned long long)cc->memory_limit);
			}
		}
		if (controller_on(m, "cpu")) {
			if (f->cgroup == CGROUP_V2)
				buf_printf(out, "lxc.cgroup2.cpu.weight = %llu\n",
					   (unsigned long long)cpu_shares_to_weight(cc->cpu_shares));
			else
				buf_printf(out, "lxc.cgroup.cpu.shares = %llu\n",
					   (unsigned long long)cc->cpu_shares);
		}
		buf_puts(out, "\n");
	}

	/* network */
	buf_puts(out, "# network\n");
	const struct bridged_network *br = s->bridged_network;
	if (!br) {
		buf_puts(out, "lxc.net.0.type = none\n");
	} else if (!in->ip) {
		buf_puts(out, "lxc.net.0.type = empty\nlxc.net.0.flags = up\n");
	} else {
		char veth[16];
		lxcconf_veth_name(in->lxc_name, veth);
		int fam;
		unsigned char a[16];
		ip_parse(in->ip, &fam, a);
		const char *v = fam == AF_INET6 ? "ipv6" : "ipv4";
		buf_puts(out, "lxc.net.0.type = veth\n");
		buf_printf(out, "lxc.net.0.link = %s\n", br->bridge);
		buf_printf(out, "lxc.net.0.veth.pair = %s\n", veth);
		buf_puts(out, "lxc.net.0.name = eth0\n");
		buf_puts(out, "lxc.net.0.flags = up\n");
		if (fam == AF_INET) {
			/* LXC computes a wrong broadcast by itself: give it */
			uint32_t addr, mask = br->net.prefix ? ~0u << (32 - br->net.prefix) : 0;
			memcpy(&addr, a, 4);
			addr = ntohl(addr) | ~mask;
			addr = htonl(addr);
			char bcast[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &addr, bcast, sizeof(bcast));
			buf_printf(out, "lxc.net.0.ipv4.address = %s/%u %s\n", in->ip, br->net.prefix,
				   bcast);
		} else {
			buf_printf(out, "lxc.net.0.ipv6.address = %s/%u\n", in->ip, br->net.prefix);
		}
		if (br->default_gateway)
			buf_printf(out, "lxc.net.0.%s.gateway = %s\n", v, br->default_gateway);
	}
	/* tcp-ports bound by lithos_init in this network namespace run as the
	 * process's user: a non-root one may bind from the lowest of them up
	 * (in the container's own netns only; the host keeps its value) */
	uint32_t low = 0;
	for (size_t i = 0; i < in->n_ports; i++)
		if (lxcconf_port_internal(in, &in->ports[i]) && in->ports[i].port < 1024 &&
		    (!low || in->ports[i].port < low))
			low = in->ports[i].port;
	if (low && in->uid != 0)
		buf_printf(out, "lxc.sysctl.net.ipv4.ip_unprivileged_port_start = %u\n", low);
	buf_puts(out, "\n");

	if (migratable) {
		buf_puts(out, "# checkpoint/restore (sandbox migratable: true): CRIU dumps this\n");
		buf_puts(out, "# container (lithos_checkpoint, lithos_restore).  It has no console\n");
		buf_puts(out, "# and no ttys (lxc.console.path = none, lxc.tty.max = 0 above), no user\n");
		buf_puts(out, "# namespace, and its pid 1 is lithos_init, a file of its own mount\n");
		buf_puts(out, "# tree (the bind mount on /dev/.lithos-init).  lithos.migratable below\n");
		buf_puts(out, "# lets lithos_checkpoint dump it.\n\n");
	}

	/* hooks and what they need to know.  The state dir, resolv.conf and
	 * hosts are made by lithos_cmd / lithos_knot in process before the
	 * start and the state dir removed after it (from the #lithos lines
	 * below): no pre-start and post-stop hooks, LXC runs each hook through
	 * /bin/sh from a fork of its monitor (3-5 ms per hook) */
	if (f->standalone) {
		buf_puts(out, "# state dir, resolv.conf and hosts: made by lithos_hook before the start,\n");
		buf_puts(out, "# removed after the stop (standalone: no lithos runs this container)\n");
		buf_printf(out, "lxc.hook.pre-start = %s\n", f->hook);
		buf_printf(out, "lxc.hook.post-stop = %s\n", f->hook);
		buf_puts(out, "# lxc-destroy: LXC keeps the directory of a container whose rootfs it\n");
		buf_puts(out, "# does not manage (the image stays); the hook removes it\n");
		buf_printf(out, "lxc.hook.destroy = %s\n", f->hook);
	} else {
		buf_puts(out, "# state dir, resolv.conf and hosts: made by lithos before the start, removed after\n");
	}
	bool check_sources = false;
	for (size_t i = 0; i < cc->n_volumes; i++)
		check_sources |= volume_has_rest(s, &cc->volumes[i]);
	if (has_mount_hook(in)) {
		struct buf what = { 0 };
		if (n_remounts)
			buf_puts(&what, ", writable volumes nosuid,nodev,noexec");
		if (check_sources)
			buf_puts(&what, ", volumes below the sandbox's dirs checked for symlinks out");
		if (userns && !s->bridged_network)
			buf_puts(&what, ", /sys read-only recursively");
		/* each part starts with ", " */
		buf_printf(out, "# mount hook: %s\n", what.len ? buf_str(&what) + 2 : "");
		buf_free(&what);
		buf_printf(out, "lxc.hook.mount = %s\n", f->hook);
	}
	bool after_setup = br && in->ip && br->after_setup_command.n;
	if (after_setup || f->init_file) {
		buf_printf(out, "# start-host hook:%s%s\n", f->init_file ? " init pid for lithos_tree" : "",
			   after_setup ? " after-setup-command" : "");
		buf_printf(out, "lxc.hook.start-host = %s\n", f->hook);
	}
	hook_kv(out, d, cf, "name", in->name);
	for (size_t i = 0; i < n_remounts; i++)
		hook_kv(out, d, cf, "remount", remounts[i]);
	if (userns && !s->bridged_network)
		hook_kv(out, d, cf, "readonly-recursive", "sys");
	free(remounts);
	hook_kv(out, d, cf, "state-dir", f->state_dir);
	if (migratable)
		hook_kv(out, d, cf, "migratable", "1");
	if (f->stdio_log)
		hook_kv(out, d, cf, "stdio-log", f->stdio_log);
	if (f->init_file)
		hook_kv(out, d, cf, "init-file", f->init_file);
	for (size_t i = 0; i < cc->n_volumes; i++) {
		const struct volume *v = &cc->volumes[i];
		if (v->kind == VOL_STATEDIR && strcmp(v->path, "/")) {
			char *line = xasprintf("%s %04o %u %u", v->path, v->mode,
					       map_to_host(umap, v->user), map_to_host(gmap, v->group));
			hook_kv(out, d, cf, "statedir-volume", line);
			free(line);
		}
		if (volume_has_rest(s, v)) {
			/* TARGET BASE REST, each escaped as in lxc.mount.entry */
			const char *rest;
			const char *base = virtual_split(s, v->path, v->kind == VOL_PERSISTENT, &rest);
			struct buf line = { 0 };
			put_fstab(&line, v->mountpoint + 1);
			buf_puts(&line, " ");
			put_fstab(&line, base);
			buf_puts(&line, " ");
			put_fstab(&line, rest);
			hook_kv(out, d, cf, "volume-source", buf_str(&line));
			buf_free(&line);
		}
		if (v->kind == VOL_PERSISTENT && v->mkdir) {
			char *src = virtual_to_host(s, v->path, true);
			if (src) {
				char *line = xasprintf("%04o %u %u %s", v->mode,
						       map_to_host(umap, v->user),
						       map_to_host(gmap, v->group), src);
				hook_kv(out, d, cf, "persistent-mkdir", line);
				free(line);
				free(src);
			}
		}
	}
	if (mount_resolv || cc->resolv_conf.copy_from_host) {
		hook_kv(out, d, cf, "resolv-conf", cc->resolv_conf.copy_from_host ? s->resolv_conf : "-");
	}
	{
		bool copy = cc->hosts_file.copy_from_host;
		bool localhost = cc->hosts_file.localhost == TRI_AUTO ? !copy
				 : cc->hosts_file.localhost == TRI_TRUE;
		bool public = cc->hosts_file.public_hostname == TRI_AUTO ? !copy
			      : cc->hosts_file.public_hostname == TRI_TRUE;
		char *line = xasprintf("copy=%d localhost=%d public-hostname=%d", copy, localhost, public);
		hook_kv(out, d, cf, "hosts", line);
		free(line);
		hook_kv(out, d, cf, "hosts-file", s->hosts_file);
		for (size_t i = 0; i < s->additional_hosts.n; i++) {
			char *h = xasprintf("%s %s", s->additional_hosts.v[i].value,
					    s->additional_hosts.v[i].key);
			hook_kv(out, d, cf, "additional-host", h);
			free(h);
		}
		if (in->ip)
			hook_kv(out, d, cf, "container-ip", in->ip);
	}
	if (br && in->ip) {
		for (size_t i = 0; i < br->after_setup_command.n; i++) {
			if (has_newline(br->after_setup_command.v[i])) {
				diag_add(d, s->file, br->after_setup_command.pos[i].line,
					 br->after_setup_command.pos[i].col,
					 "after-setup-command: argument contains a newline; expected single-line arguments");
				continue;
			}
			hook_kv(out, d, cf, "after-setup-arg", br->after_setup_command.v[i]);
		}
	}
	return diags_count(d) > before ? -1 : 0;
}

bool lxcconf_port_internal(const struct instance *in, const struct inst_port *p)
{
	return !in->is_command && in->sandbox->bridged_network && !p->opts->external;
}

/* standalone: lithos_init binds every port but those lithos_tree binds in
 * the host's namespace for a bridged sandbox (refused by lxcconf_render) */
static bool port_in_init(const struct instance *in, const struct inst_port *p, bool standalone)
{
	if (standalone)
		return !(in->sandbox->bridged_network && p->opts->external);
	return lxcconf_port_internal(in, p);
}

static void init_argv(const struct instance *in, const int stdio[3], int events_fd,
		      bool standalone, struct strlist *out);

void lxcconf_init_argv(const struct instance *in, const int stdio[3], int events_fd,
		       struct strlist *out)
{
	init_argv(in, stdio, events_fd, false, out);
}

void lxcconf_standalone_init_cmd(const struct instance *in, struct buf *out)
{
	struct strlist args = { 0 };
	init_argv(in, NULL, -1, true, &args);
	buf_puts(out, args.v[0]);
	buf_puts(out, " --unescape");
	for (size_t i = 1; i < args.n; i++) {
		buf_puts(out, " ");
		const unsigned char *a = (const unsigned char *)args.v[i];
		if (!*a)
			buf_puts(out, "%00");
		for (; *a; a++) {
			if (*a <= 0x20 || *a == 0x7f || *a == '%')
				buf_printf(out, "%%%02X", *a);
			else
				buf_add(out, (const char *)a, 1);
		}
	}
	strlist_free(&args);
}

static void init_argv(const struct instance *in, const int stdio[3], int events_fd,
		      bool standalone, struct strlist *out)
{
	struct pos p0 = { 0, 0 };
	strlist_push(out, LITHOS_INIT_IN_CONTAINER, p0);
	if (stdio) {
		char *s = xasprintf("%d,%d,%d", stdio[0], stdio[1], stdio[2]);
		strlist_push(out, "--stdio", p0);
		strlist_push(out, s, p0);
		free(s);
	}
	for (size_t i = 0; i < in->pid_env.n; i++) {
		strlist_push(out, "--pid-env", p0);
		strlist_push(out, in->pid_env.v[i], p0);
	}
	/* tcp-ports with external: false of a bridged daemon: bound by
	 * lithos_init in the container's network namespace (the tree binds
	 * the others in the host's) */
	for (size_t i = 0; i < in->n_ports; i++) {
		const struct inst_port *ip = &in->ports[i];
		if (!port_in_init(in, ip, standalone))
			continue;
		const struct tcp_port *o = ip->opts;
		char flags[4], *fp = flags;
		if (o->reuse_addr)
			*fp++ = 'a';
		if (o->reuse_port)
			*fp++ = 'p';
		if (o->set_non_block)
			*fp++ = 'n';
		if (fp == flags)
			*fp++ = '-';
		*fp = 0;
		char *s = xasprintf("%u,%s,%u,%u,%s", ip->fd, o->host, ip->port,
				    o->listen_backlog ? o->listen_backlog : 128, flags);
		strlist_push(out, "--listen", p0);
		strlist_push(out, s, p0);
		free(s);
	}
	if (events_fd >= 0) {
		char *s = xasprintf("%d", events_fd);
		strlist_push(out, "--events-fd", p0);
		strlist_push(out, s, p0);
		free(s);
	}
	if (!in->is_command && in->cc->restart_process_only) {
		char *s = xasprintf("%g", in->cc->restart_timeout);
		strlist_push(out, "--restart-timeout", p0);
		strlist_push(out, s, p0);
		free(s);
	}
	strlist_push(out, "--", p0);
	for (size_t i = 0; i < in->argv.n; i++)
		strlist_push(out, in->argv.v[i], p0);
}
