#include "validate.h"
#include "decode.h"
#include "paths.h"
#include "sources.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#define YAML_LIMIT YAML_MAX_FILE_SIZE

bool validate_image_name(const struct sandbox_config *s, const struct process_entry *e,
			 const char *pfile, struct diags *d)
{
	const char *img = e->image;
	if (!img)
		return false;
	const char *why = NULL;
	unsigned comps = 0;
	if (path_has_control_chars(img)) {
		/* it is written into the compiled lxc.conf (lxc.rootfs.path) */
		diag_add(d, pfile, e->image_pos.line, e->image_pos.col,
			 "image: the name has a control character (newline, tab, ...); expected %u relative component%s below image-dir of printable characters",
			 s->image_dir_levels, s->image_dir_levels == 1 ? "" : "s");
		return false;
	}
	if (img[0] == '/') {
		why = "it is an absolute path";
	} else if (!img[0]) {
		why = "it is empty";
	} else {
		const char *p = img;
		for (;;) {
			const char *q = strchrnul(p, '/');
			size_t n = (size_t)(q - p);
			comps++;
			if (n == 0) {
				why = "it has an empty component";
				break;
			}
			if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
				why = "it has a . or .. component";
				break;
			}
			if (!*q)
				break;
			p = q + 1;
		}
	}
	if (!why && comps != s->image_dir_levels) {
		diag_add(d, pfile, e->image_pos.line, e->image_pos.col,
			 "image \"%s\" has %u path component%s; expected exactly %u (image-dir-levels of sandbox %s)",
			 img, comps, comps == 1 ? "" : "s", s->image_dir_levels, s->name);
		return false;
	}
	if (why) {
		diag_add(d, pfile, e->image_pos.line, e->image_pos.col,
			 "image \"%s\" is not a valid image name: %s; expected %u relative component%s below image-dir",
			 img, why, s->image_dir_levels, s->image_dir_levels == 1 ? "" : "s");
		return false;
	}
	return true;
}

struct cc_cache_entry {
	char *path;
	char *data;
	size_t len;
	int rc;
	struct container_config cc;
	struct diags diags;
};

void cc_cache_free(struct cc_cache *c)
{
	for (size_t i = 0; i < c->n; i++) {
		struct cc_cache_entry *e = c->v[i];
		free(e->path);
		free(e->data);
		container_config_free(&e->cc);
		diags_free(&e->diags);
		free(e);
	}
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

static void copy_diags(struct diags *to, const struct diags *from)
{
	for (size_t i = 0; i < from->n; i++)
		diag_add(to, from->v[i].file, from->v[i].line, from->v[i].col, "%s", from->v[i].msg);
}

/* Parse into `cc`, or with a cache: once per path and content, the same
 * problems reported again for every entry that uses it. */
static int parse_cc(struct cc_cache *cache, struct container_config *cc,
		    const struct container_config **out, const char *shown, const char *buf,
		    size_t len, struct diags *d)
{
	if (!cache) {
		int r = container_config_parse_buffer(cc, shown, buf, len, d);
		if (out)
			*out = cc;
		return r;
	}
	for (size_t i = 0; i < cache->n; i++) {
		struct cc_cache_entry *e = cache->v[i];
		if (e->len == len && !strcmp(e->path, shown) && !memcmp(e->data, buf, len)) {
			copy_diags(d, &e->diags);
			*out = &e->cc;
			return e->rc;
		}
	}
	struct cc_cache_entry *e = xcalloc(1, sizeof(*e));
	e->path = xstrdup(shown);
	e->data = xmalloc(len + 1);
	memcpy(e->data, buf, len);
	e->data[len] = 0;
	e->len = len;
	e->rc = container_config_parse_buffer(&e->cc, shown, buf, len, &e->diags);
	copy_diags(d, &e->diags);
	VEC_PUSH(cache->v, cache->n, e);
	*out = &e->cc;
	return e->rc;
}

static int load_cc(const struct sandbox_config *s, const struct process_entry *e,
		   const char *pfile, struct cc_cache *cache, struct container_config *cc,
		   const struct container_config **out, char **image_root, struct diags *d)
{
	if (cc)
		memset(cc, 0, sizeof(*cc));
	bool image_ok = validate_image_name(s, e, pfile, d);
	if (!e->config || e->config[0] != '/') {
		diag_add(d, pfile, e->config_pos.line, e->config_pos.col,
			 "config \"%s\" is not an absolute path; expected the config's path inside the image, like /config/web.yaml",
			 e->config ? e->config : "");
		return -1;
	}
	if (path_has_control_chars(e->config)) {
		/* it is written into the compiled lxc.conf (LITHOS_CONFIG) */
		diag_add(d, pfile, e->config_pos.line, e->config_pos.col,
			 "config: the path has a control character (newline, tab, ...); expected the config's path inside the image of printable characters");
		return -1;
	}
	if (!image_ok)
		return -1;
	char *root = path_join(s->image_dir, e->image);
	char *shown = xasprintf("%s%s", root, e->config);
	const struct srcfile *kept = sources_lookup(shown);
	if (kept && !kept->absent) {
		/* the last good copy of it (see sources.h) */
		sources_note(shown, kept->data, kept->len);
		int r = parse_cc(cache, cc, out, shown, kept->data, kept->len, d);
		free(shown);
		if (r == 0 && image_root)
			*image_root = root;
		else
			free(root);
		return r;
	}
	if (kept) {
		diag_add(d, pfile, e->config_pos.line, e->config_pos.col,
			 "config %s: not among the kept configs of image %s; expected a container config file in the image",
			 e->config, root);
		free(root);
		free(shown);
		return -1;
	}
	/* the image's directory below image-dir with no symlink followed on
	 * the way (image-dir itself is the operator's and may be one): a
	 * symlink there, made by another sandbox's image sharing image-dir
	 * with fewer levels or left by a deploy tool, would run the container
	 * on whatever it points to, the host's / included */
	_cleanup_close_ int dirfd = open(s->image_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int rootfd =
		dirfd < 0 ? -1 : open_beneath(dirfd, e->image, O_PATH | O_DIRECTORY, false);
	if (rootfd < 0) {
		int err = errno;
		if (dirfd >= 0 && err == ELOOP)
			diag_add(d, pfile, e->image_pos.line, e->image_pos.col,
				 "image \"%s\": %s is reached through a symlink below image-dir %s; expected the image's own directory (symlinks below image-dir are not followed)",
				 e->image, root, s->image_dir);
		else
			diag_add(d, pfile, e->image_pos.line, e->image_pos.col,
				 "image \"%s\": cannot open %s: %s; expected an image directory below image-dir %s",
				 e->image, root, strerror(err), s->image_dir);
		free(root);
		free(shown);
		return -1;
	}
	int fd = open_in_root(rootfd, e->config, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		diag_add(d, pfile, e->config_pos.line, e->config_pos.col,
			 "config %s: cannot open it inside image %s: %s; expected a container config file in the image",
			 e->config, root, strerror(errno));
		free(root);
		free(shown);
		return -1;
	}
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		diag_add(d, pfile, e->config_pos.line, e->config_pos.col,
			 "config %s in image %s is not a regular file; expected a YAML file", e->config,
			 root);
	} else if (st.st_size > YAML_LIMIT) {
		diag_add(d, shown, 0, 0, "file is larger than %u bytes; expected a config of reasonable size",
			 YAML_LIMIT);
	} else {
		buf = xmalloc((size_t)st.st_size + 1);
		ssize_t r;
		while (len < (size_t)st.st_size &&
		       (r = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
			len += (size_t)r;
		buf[len] = 0;
	}
	close(fd);
	int ret = -1;
	if (buf) {
		sources_note(shown, buf, len);
		ret = parse_cc(cache, cc, out, shown, buf, len, d);
	}
	free(buf);
	free(shown);
	if (ret == 0 && image_root)
		*image_root = root;
	else
		free(root);
	return buf ? ret : -1;
}

int load_container_config(const struct sandbox_config *s, const struct process_entry *e,
			  const char *pfile, struct container_config *cc, char **image_root,
			  struct diags *d)
{
	return load_cc(s, e, pfile, NULL, cc, NULL, image_root, d);
}

int load_container_config_cached(const struct sandbox_config *s, const struct process_entry *e,
				 const char *pfile, struct cc_cache *cache,
				 const struct container_config **cc, char **image_root,
				 struct diags *d)
{
	*cc = NULL;
	return load_cc(s, e, pfile, cache, NULL, cc, image_root, d);
}

/* ---- variables ---- */

static const struct variable *find_var(const struct container_config *cc, const char *name,
				       size_t len)
{
	for (size_t i = 0; i < cc->n_variables; i++)
		if (strlen(cc->variables[i].name) == len && !strncmp(cc->variables[i].name, name, len))
			return &cc->variables[i];
	return NULL;
}

char *check_references(const char *s, const struct container_config *cc, bool env_value)
{
	const char *p = s;
	while ((p = strstr(p, "@{"))) {
		const char *e = strchr(p, '}');
		if (!e)
			return xasprintf("unterminated @{ in \"%s\"; expected @{name}", s);
		const char *name = p + 2;
		size_t n = (size_t)(e - name);
		if (n >= 7 && !strncmp(name, "lithos:", 7)) {
			const char *b = name + 7;
			size_t bn = n - 7;
			if (bn == 3 && !strncmp(b, "pid", 3)) {
				if (!env_value || p != s || e[1] != 0)
					return xasprintf("@{lithos:pid} in \"%s\"; expected it only as the whole value of an environ entry",
							 s);
			} else if (!((bn == 4 && !strncmp(b, "name", 4)) ||
				     (bn == 15 && !strncmp(b, "config_filename", 15)))) {
				return xasprintf("unknown built-in variable @{%.*s}; expected lithos:name, lithos:config_filename or lithos:pid",
						 (int)n, name);
			}
		} else if (!find_var(cc, name, n)) {
			return xasprintf("variable @{%.*s} is not declared; expected a name from the config's variables",
					 (int)n, name);
		}
		p = e + 1;
	}
	return NULL;
}

static bool valid_dotted_name(const char *v)
{
	/* dot-separated components of [A-Za-z0-9_-], no empty component, no
	 * component starting or ending with a dash */
	if (!*v || strlen(v) > 253)
		return false;
	const char *p = v;
	for (;;) {
		const char *q = strchrnul(p, '.');
		size_t n = (size_t)(q - p);
		if (n == 0 || n > 63 || p[0] == '-' || p[n - 1] == '-')
			return false;
		for (size_t i = 0; i < n; i++) {
			char ch = p[i];
			if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
				return false;
		}
		if (!*q)
			return true;
		p = q + 1;
	}
}

char *check_variable_value(const struct variable *var, const char *value,
			   const struct sandbox_config *s)
{
	switch (var->kind) {
	case VAR_TCP_PORT: {
		/* the value is substituted as written, so it must be a plain
		 * decimal number (no 0x, leading 0 octal, units or _) */
		uint64_t port;
		if (value[0] < '1' || value[0] > '9' || strspn(value, "0123456789") != strlen(value) ||
		    parse_uint(value, 65535, &port) || port == 0)
			return xasprintf("variable %s: \"%s\" is not a TCP port; expected a number from 1 to 65535",
					 var->name, value);
		if (s && !ranges_contain(&s->allow_tcp_ports, port)) {
			char *r = ranges_format(&s->allow_tcp_ports);
			char *m = xasprintf("variable %s: port %llu is not in allow-tcp-ports %s of sandbox %s; expected an allowed port",
					    var->name, (unsigned long long)port, r, s->name);
			free(r);
			return m;
		}
		return NULL;
	}
	case VAR_CHOICE:
		for (size_t i = 0; i < var->choices.n; i++)
			if (!strcmp(var->choices.v[i], value))
				return NULL;
		{
			struct buf b = { 0 };
			for (size_t i = 0; i < var->choices.n; i++)
				buf_printf(&b, "%s%s", i ? ", " : "", var->choices.v[i]);
			char *m = xasprintf("variable %s: \"%s\" is not one of the choices; expected one of: %s",
					    var->name, value, buf_str(&b));
			buf_free(&b);
			return m;
		}
	case VAR_NAME:
		if (valid_name(value))
			return NULL;
		return xasprintf("variable %s: \"%s\" is not a Name; expected letters, digits, _ and - only",
				 var->name, value);
	case VAR_DOTTED_NAME:
		if (valid_dotted_name(value))
			return NULL;
		return xasprintf("variable %s: \"%s\" is not a DottedName; expected dot-separated names of letters, digits, _ and - (no empty part, no part starting or ending with -)",
				 var->name, value);
	}
	return NULL;
}

/* ---- users and groups ---- */

static bool idmap_maps_inside(const struct idmap *m, uint32_t id)
{
	for (size_t i = 0; i < m->n; i++)
		if (id >= m->v[i].inside && (uint64_t)id < (uint64_t)m->v[i].inside + m->v[i].count)
			return true;
	return false;
}

static void check_id(const char *what, const char *allow_key, uint32_t id, struct pos idpos,
		     const char *idfile, const struct ranges *allow, const struct idmap *sandbox_map,
		     const struct idmap *container_map, const struct sandbox_config *s,
		     struct diags *d)
{
	if (container_map->set) {
		/* allow-users limits the outside ids of the container's map */
		for (size_t i = 0; i < container_map->n; i++) {
			const struct idmap_entry *m = &container_map->v[i];
			uint64_t lo = m->outside, hi = (uint64_t)m->outside + m->count - 1;
			bool inside = false;
			for (size_t r = 0; r < allow->n; r++)
				if (lo >= allow->v[r].lo && hi <= allow->v[r].hi)
					inside = true;
			if (!inside) {
				char *rs = ranges_format(allow);
				diag_add(d, idfile, m->pos.line, m->pos.col,
					 "%s-map: outside ids %llu-%llu are not within %s %s of sandbox %s; expected the map's outside ids inside %s",
					 what, (unsigned long long)lo, (unsigned long long)hi, allow_key, rs,
					 s->name, allow_key);
				free(rs);
			}
		}
		if (!idmap_maps_inside(container_map, id))
			diag_add(d, idfile, idpos.line, idpos.col,
				 "%s id %u is not mapped by the container's %s-map; expected an id inside the map",
				 what, id, what);
		return;
	}
	if (!ranges_contain(allow, id)) {
		char *rs = ranges_format(allow);
		diag_add(d, idfile, idpos.line, idpos.col,
			 "%s id %u is not in %s %s of sandbox %s; expected an allowed id",
			 what, id, allow_key, rs, s->name);
		free(rs);
	}
	if (sandbox_map->set && !idmap_maps_inside(sandbox_map, id))
		diag_add(d, idfile, idpos.line, idpos.col,
			 "%s id %u is not mapped by sandbox %s's %s-map; expected an id inside the map",
			 what, id, s->name, what);
}

/* The owner of a !Persistent (mkdir) or !Statedir volume: host root makes
 * the directory and chowns it to this id at start, so a container config
 * must not name an id its sandbox does not allow.  Checked like user-id:
 * against allow-users/allow-groups (container-side ids with a sandbox
 * uid-map), or, with a container uid-map, mapped by that map (whose outside
 * ids are checked against allow-users with user-id).  0, the default, is
 * always allowed: a root-owned directory grants the container's non-root
 * process nothing. */
static void check_volume_id(const struct volume *v, const char *what, const char *allow_key,
			    uint32_t id, struct pos idpos, const char *idfile,
			    const struct ranges *allow, const struct idmap *sandbox_map,
			    const struct idmap *container_map, const struct sandbox_config *s,
			    struct diags *d)
{
	const char *tag = v->kind == VOL_PERSISTENT ? "!Persistent" : "!Statedir";
	if (id == 0)
		return;
	if (container_map->set) {
		if (!idmap_maps_inside(container_map, id))
			diag_add(d, idfile, idpos.line, idpos.col,
				 "volume %s: %s %s %u is not mapped by the container's %s-map; expected an id inside the map, or 0 (root)",
				 v->mountpoint, tag, what, id, what);
		return;
	}
	if (!ranges_contain(allow, id)) {
		char *rs = ranges_format(allow);
		diag_add(d, idfile, idpos.line, idpos.col,
			 "volume %s: %s %s %u is not in %s %s of sandbox %s; expected an allowed id, or 0 (root)",
			 v->mountpoint, tag, what, id, allow_key, rs, s->name);
		free(rs);
	} else if (sandbox_map->set && !idmap_maps_inside(sandbox_map, id)) {
		diag_add(d, idfile, idpos.line, idpos.col,
			 "volume %s: %s %s %u is not mapped by sandbox %s's %s-map; expected an id inside the map, or 0 (root)",
			 v->mountpoint, tag, what, id, s->name, what);
	}
}

/* ---- volumes ---- */

/* Longest virtual path that is `path` or a parent of it. */
const struct kv *match_virtual(const struct kvlist *l, const char *path)
{
	const struct kv *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; i < l->n; i++) {
		const char *k = l->v[i].key;
		size_t n = strlen(k);
		while (n > 1 && k[n - 1] == '/')
			n--;
		if (strncmp(path, k, n) == 0 && (path[n] == 0 || path[n] == '/' || n == 1)) {
			if (!best || n > best_len) {
				best = &l->v[i];
				best_len = n;
			}
		}
	}
	return best;
}

static bool path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	return strncmp(path, dir, n) == 0 && (path[n] == 0 || path[n] == '/' || n == 1);
}

bool validate_entry(const struct sandbox_config *s, const struct process_entry *e,
		    const char *pfile, struct diags *d)
{
	size_t before = diags_count(d);
	const struct bridged_network *br = s->bridged_network;
	if (br) {
		if (e->kind == KIND_DAEMON && e->ip_addresses.n != e->instances) {
			struct pos p = e->ip_addresses.n ? e->ip_addresses_pos : e->pos;
			diag_add(d, pfile, p.line, p.col,
				 "process %s: %zu ip-addresses for %u instances; expected one address per instance (sandbox %s has bridged-network)",
				 e->name, e->ip_addresses.n, e->instances, s->name);
		}
		if (e->kind == KIND_COMMAND && e->ip_addresses.n > 1)
			diag_add(d, pfile, e->ip_addresses_pos.line, e->ip_addresses_pos.col,
				 "process %s: %zu ip-addresses for a command; expected at most one",
				 e->name, e->ip_addresses.n);
		for (size_t i = 0; i < e->ip_addresses.n; i++) {
			int fam;
			unsigned char a[16];
			if (ip_parse(e->ip_addresses.v[i], &fam, a) == 0 &&
			    !ipnet_contains(&br->net, fam, a))
				diag_add(d, pfile, e->ip_addresses.pos[i].line, e->ip_addresses.pos[i].col,
					 "ip-addresses: %s is outside network %s of sandbox %s; expected an address inside the network",
					 e->ip_addresses.v[i], br->network, s->name);
		}
	} else if (e->ip_addresses.n) {
		diag_add(d, pfile, e->ip_addresses_pos.line, e->ip_addresses_pos.col,
			 "process %s: ip-addresses given but sandbox %s has no bridged-network; expected no ip-addresses",
			 e->name, s->name);
	}
	for (size_t i = 0; i < e->extra_secrets_namespaces.n; i++) {
		/* format checked when parsed */
	}
	return diags_count(d) == before;
}

bool validate_container(const struct sandbox_config *s, const struct process_entry *e,
			const char *pfile, const struct container_config *cc, struct diags *d)
{
	size_t before = diags_count(d);
	const char *cf = cc->file;

	/* kind */
	if (e) {
		bool fits = cc->kind == KIND_COMMAND_OR_DAEMON || cc->kind == e->kind;
		if (!fits)
			diag_add(d, pfile, e->pos.line, e->pos.col,
				 "process %s is a %s but its container config %s is kind %s; expected kind %s or CommandOrDaemon",
				 e->name, proc_kind_name(e->kind), cf, proc_kind_name(cc->kind),
				 proc_kind_name(e->kind));
	}

	/* variable references */
	for (size_t i = 0; i < cc->arguments.n; i++) {
		char *m = check_references(cc->arguments.v[i], cc, false);
		if (m) {
			diag_add(d, cf, cc->arguments.pos[i].line, cc->arguments.pos[i].col,
				 "arguments: %s", m);
			free(m);
		}
	}
	for (size_t i = 0; i < cc->environ.n; i++) {
		char *m = check_references(cc->environ.v[i].value, cc, true);
		if (m) {
			diag_add(d, cf, cc->environ.v[i].vpos.line, cc->environ.v[i].vpos.col,
				 "environ: %s: %s", cc->environ.v[i].key, m);
			free(m);
		}
	}
	for (size_t i = 0; i < cc->n_tcp_ports; i++) {
		char *m = check_references(cc->tcp_ports[i].key, cc, false);
		if (!m && strstr(cc->tcp_ports[i].key, "@{lithos:"))
			m = xasprintf("built-in variables are not ports; expected a port number or a declared !TcpPort variable");
		if (m) {
			diag_add(d, cf, cc->tcp_ports[i].pos.line, cc->tcp_ports[i].pos.col,
				 "tcp-ports: %s", m);
			free(m);
		}
	}

	if (!s)
		goto done; /* a container config checked alone */

	/* uid-map in the sandbox or the container, never both */
	if (cc->uid_map.set && s->uid_map.set)
		diag_add(d, cf, cc->uid_map.pos.line, cc->uid_map.pos.col,
			 "uid-map is set both here and in sandbox %s (%s); expected it in only one of them",
			 s->name, s->file);
	if (cc->gid_map.set && s->gid_map.set)
		diag_add(d, cf, cc->gid_map.pos.line, cc->gid_map.pos.col,
			 "gid-map is set both here and in sandbox %s (%s); expected it in only one of them",
			 s->name, s->file);

	/* checkpoint/restore: see sandbox_check */
	if (s->migratable && (cc->uid_map.set || cc->gid_map.set)) {
		struct pos p = cc->uid_map.set ? cc->uid_map.pos : cc->gid_map.pos;
		diag_add(d, cf, p.line, p.col,
			 "%s: sandbox %s is migratable (%s:%u) and CRIU cannot restore containers with a user namespace here; expected no uid-map/gid-map in a migratable sandbox",
			 cc->uid_map.set ? "uid-map" : "gid-map", s->name, s->file, s->migratable_pos.line);
	}

	/* restart-process-only hands lithos_init a fifo of the host (the
	 * tree's events), which CRIU cannot dump */
	if (s->migratable && cc->restart_process_only && (!e || e->kind == KIND_DAEMON))
		diag_add(d, cf, cc->restart_process_only_pos.line, cc->restart_process_only_pos.col,
			 "restart-process-only: sandbox %s is migratable (%s:%u) and CRIU cannot dump the events fifo restart-process-only needs; expected restart-process-only: false in a migratable sandbox",
			 s->name, s->file, s->migratable_pos.line);

	/* user and group */
	if (cc->has_user_id)
		check_id("user", "allow-users", cc->user_id, cc->user_id_pos, cf, &s->allow_users,
			 &s->uid_map, &cc->uid_map, s, d);
	else if (s->has_default_user)
		check_id("user", "allow-users", s->default_user, s->default_user_pos, s->file,
			 &s->allow_users, &s->uid_map, &cc->uid_map, s, d);
	else
		diag_add(d, cf, 0, 0,
			 "user-id is not set and sandbox %s has no default-user; expected user-id in the container config",
			 s->name);
	if (cc->has_group_id) {
		check_id("group", "allow-groups", cc->group_id, cc->group_id_pos, cf,
			 &s->allow_groups, &s->gid_map, &cc->gid_map, s, d);
	} else {
		struct pos p = s->default_group_pos;
		const char *f = p.line ? s->file : cf;
		check_id("group", "allow-groups", s->default_group, p, f, &s->allow_groups,
			 &s->gid_map, &cc->gid_map, s, d);
	}

	/* volumes */
	for (size_t i = 0; i < cc->n_volumes; i++) {
		const struct volume *v = &cc->volumes[i];
		if (v->kind == VOL_READONLY && v->path) {
			if (!match_virtual(&s->readonly_paths, v->path) &&
			    !match_virtual(&s->writable_paths, v->path))
				diag_add(d, cf, v->vpos.line, v->vpos.col,
					 "volume %s: !Readonly %s is not a path the sandbox %s declares; expected a path under its readonly-paths or writable-paths",
					 v->mountpoint, v->path, s->name);
		} else if (v->kind == VOL_PERSISTENT && v->path) {
			if (!match_virtual(&s->writable_paths, v->path))
				diag_add(d, cf, v->vpos.line, v->vpos.col,
					 "volume %s: !Persistent %s is not a writable path of sandbox %s; expected a path under its writable-paths",
					 v->mountpoint, v->path, s->name);
		}
		/* a !Persistent without mkdir is bound as it is: its user
		 * and group do nothing, and are not checked */
		if ((v->kind == VOL_PERSISTENT && v->mkdir) || v->kind == VOL_STATEDIR) {
			check_volume_id(v, "user", "allow-users", v->user, v->user_pos, cf,
					&s->allow_users, &s->uid_map, &cc->uid_map, s, d);
			check_volume_id(v, "group", "allow-groups", v->group, v->group_pos, cf,
					&s->allow_groups, &s->gid_map, &cc->gid_map, s, d);
		}
	}

	/* stdout-stderr-file on a Persistent volume: lithos-lxc opens it from
	 * the host before the container exists, through the volume's host
	 * directory (a Tmpfs or Statedir does not exist yet then) */
	if (cc->stdout_stderr_file) {
		const struct volume *best = NULL;
		for (size_t i = 0; i < cc->n_volumes; i++)
			if (path_under(cc->stdout_stderr_file, cc->volumes[i].mountpoint) &&
			    strcmp(cc->stdout_stderr_file, cc->volumes[i].mountpoint) &&
			    (!best || strlen(cc->volumes[i].mountpoint) > strlen(best->mountpoint)))
				best = &cc->volumes[i];
		if (!best || best->kind != VOL_PERSISTENT)
			diag_add(d, cf, cc->stdout_stderr_file_pos.line, cc->stdout_stderr_file_pos.col,
				 "stdout-stderr-file %s is not on a !Persistent volume; expected a path under a !Persistent mount point (lithos-lxc opens it from the host)",
				 cc->stdout_stderr_file);
	}

	/* tcp-ports with literal port numbers */
	for (size_t i = 0; i < cc->n_tcp_ports; i++) {
		const struct tcp_port *t = &cc->tcp_ports[i];
		uint64_t port;
		if (strstr(t->key, "@{") || parse_uint(t->key, 65535, &port))
			continue;
		if (!ranges_contain(&s->allow_tcp_ports, port)) {
			char *r = ranges_format(&s->allow_tcp_ports);
			diag_add(d, cf, t->pos.line, t->pos.col,
				 "tcp-ports: port %llu is not in allow-tcp-ports %s of sandbox %s; expected an allowed port",
				 (unsigned long long)port, r, s->name);
			free(r);
		}
	}

	/* secrets */
	if ((cc->n_secret_environ || cc->secret_environ_file) && !s->secrets_private_key) {
		struct pos p = cc->n_secret_environ ? cc->secret_environ_pos : cc->secret_environ_file_pos;
		diag_add(d, cf, p.line, p.col,
			 "%s is set but sandbox %s has no secrets-private-key; expected the sandbox to name a key",
			 cc->n_secret_environ ? "secret-environ" : "secret-environ-file", s->name);
	}

	/* variables of the process entry */
	if (e) {
		for (size_t i = 0; i < cc->n_variables; i++) {
			const struct variable *var = &cc->variables[i];
			const struct kv *val = kvlist_get(&e->variables, var->name);
			if (!val) {
				diag_add(d, pfile, e->pos.line, e->pos.col,
					 "process %s: variable %s declared in %s has no value; expected it under variables",
					 e->name, var->name, cf);
				continue;
			}
			char *m = check_variable_value(var, val->value, s);
			if (m) {
				diag_add(d, pfile, val->vpos.line, val->vpos.col, "%s", m);
				free(m);
			}
		}
	}
done:
	return diags_count(d) == before;
}
