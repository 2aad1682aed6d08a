/* sandboxes/NAME.yaml: what a sandbox allows (reference chapter 3). */
#include "decode.h"
#include "paths.h"
#include "util.h"

#include <string.h>

#define S(obj) ((struct sandbox_config *)(obj))

static bool f_config_file(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_nullable_string(c, v, "config-file", &S(o)->config_file);
}
static bool f_image_dir(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_abs_path(c, v, "image-dir", &S(o)->image_dir);
}
static bool f_image_dir_levels(struct dctx *c, const struct ynode *v, void *o)
{
	uint64_t n;
	if (!dec_uint(c, v, "image-dir-levels", 64, &n))
		return false;
	if (n < 1) {
		derr(c, v, "image-dir-levels: 0 is not allowed; expected a number from 1 to 64");
		return false;
	}
	S(o)->image_dir_levels = (uint32_t)n;
	return true;
}
static bool f_log_file(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_string(c, v, "log-file", &S(o)->log_file);
}
static bool f_log_level(struct dctx *c, const struct ynode *v, void *o)
{
	if (!dec_string(c, v, "log-level", &S(o)->log_level))
		return false;
	if (!valid_log_level(S(o)->log_level)) {
		derr(c, v, "log-level: \"%s\" is not a log level; expected error, warn, info, debug or trace",
		     S(o)->log_level);
		return false;
	}
	return true;
}

/* virtual path -> host path, both absolute without `..` */
static bool dec_path_map(struct dctx *c, const struct ynode *v, const char *what,
			 struct kvlist *out)
{
	kvlist_free(out);
	/* check the entries that were read even if others were not strings */
	bool ok = dec_string_map(c, v, what, out);
	for (size_t i = 0; i < out->n; i++) {
		struct kv *e = &out->v[i];
		if (e->key[0] != '/' || path_has_dot_components(e->key)) {
			diag_add(c->d, c->file, e->pos.line, e->pos.col,
				 "%s: virtual path \"%s\" is not valid; expected an absolute path without . or .. components",
				 what, e->key);
			ok = false;
		}
		if (e->value[0] != '/' || path_has_dot_components(e->value)) {
			diag_add(c->d, c->file, e->vpos.line, e->vpos.col,
				 "%s: host path \"%s\" is not valid; expected an absolute path without . or .. components",
				 what, e->value);
			ok = false;
		}
	}
	return ok;
}
static bool f_readonly_paths(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_path_map(c, v, "readonly-paths", &S(o)->readonly_paths);
}
static bool f_writable_paths(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_path_map(c, v, "writable-paths", &S(o)->writable_paths);
}
static bool f_allow_users(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_ranges(c, v, "allow-users", UINT32_MAX, &S(o)->allow_users);
}
static bool f_allow_groups(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_ranges(c, v, "allow-groups", UINT32_MAX, &S(o)->allow_groups);
}
static bool f_allow_tcp_ports(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_ranges(c, v, "allow-tcp-ports", 65535, &S(o)->allow_tcp_ports);
}
static bool f_default_user(struct dctx *c, const struct ynode *v, void *o)
{
	S(o)->default_user_pos = node_pos(v);
	if (!dec_u32(c, v, "default-user", &S(o)->default_user))
		return false;
	S(o)->has_default_user = true;
	return true;
}
static bool f_default_group(struct dctx *c, const struct ynode *v, void *o)
{
	S(o)->default_group_pos = node_pos(v);
	return dec_u32(c, v, "default-group", &S(o)->default_group);
}
static bool f_additional_hosts(struct dctx *c, const struct ynode *v, void *o)
{
	struct kvlist *l = &S(o)->additional_hosts;
	kvlist_free(l);
	bool ok = dec_string_map(c, v, "additional-hosts", l);
	for (size_t i = 0; i < l->n; i++) {
		int fam;
		unsigned char a[16];
		if (ip_parse(l->v[i].value, &fam, a) < 0) {
			diag_add(c->d, c->file, l->v[i].vpos.line, l->v[i].vpos.col,
				 "additional-hosts: \"%s\" is not an IP address; expected an IPv4 or IPv6 address",
				 l->v[i].value);
			ok = false;
		}
		const char *h = l->v[i].key;
		bool hok = *h != 0;
		for (; *h; h++)
			if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') ||
			      (*h >= '0' && *h <= '9') || *h == '-' || *h == '.' || *h == '_'))
				hok = false;
		if (!hok) {
			diag_add(c->d, c->file, l->v[i].pos.line, l->v[i].pos.col,
				 "additional-hosts: \"%s\" is not a host name; expected letters, digits, dots and dashes",
				 l->v[i].key);
			ok = false;
		}
	}
	return ok;
}
static bool f_uid_map(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_idmap(c, v, "uid-map", &S(o)->uid_map);
}
static bool f_gid_map(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_idmap(c, v, "gid-map", &S(o)->gid_map);
}
static bool f_used_images_list(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_nullable_string(c, v, "used-images-list", &S(o)->used_images_list);
}
static bool f_auto_clean(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_bool(c, v, "auto-clean", &S(o)->auto_clean);
}
static bool f_resolv_conf(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_abs_path(c, v, "resolv-conf", &S(o)->resolv_conf);
}
static bool f_hosts_file(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_abs_path(c, v, "hosts-file", &S(o)->hosts_file);
}

#define B(obj) ((struct bridged_network *)(obj))
static bool f_bridge(struct dctx *c, const struct ynode *v, void *o)
{
	if (!dec_string(c, v, "bridged-network: bridge", &B(o)->bridge))
		return false;
	const char *s = B(o)->bridge;
	bool ok = *s && strlen(s) < 16;
	for (; *s && ok; s++)
		ok = *s != '/' && *s != ' ' && *s != ':' && (unsigned char)*s > 32;
	if (!ok) {
		derr(c, v, "bridged-network: bridge: \"%s\" is not an interface name; expected 1 to 15 characters without /, : or spaces",
		     B(o)->bridge);
		return false;
	}
	return true;
}
static bool f_network(struct dctx *c, const struct ynode *v, void *o)
{
	B(o)->network_pos = node_pos(v);
	if (!dec_string(c, v, "bridged-network: network", &B(o)->network))
		return false;
	if (ipnet_parse(B(o)->network, &B(o)->net) < 0) {
		derr(c, v, "bridged-network: network: \"%s\" is not a network; expected an address with a prefix length like 10.0.0.0/24",
		     B(o)->network);
		return false;
	}
	return true;
}
static bool f_default_gateway(struct dctx *c, const struct ynode *v, void *o)
{
	if (!dec_nullable_string(c, v, "bridged-network: default-gateway", &B(o)->default_gateway))
		return false;
	int fam;
	unsigned char a[16];
	if (B(o)->default_gateway && ip_parse(B(o)->default_gateway, &fam, a) < 0) {
		derr(c, v, "bridged-network: default-gateway: \"%s\" is not an IP address; expected an IPv4 or IPv6 address",
		     B(o)->default_gateway);
		return false;
	}
	return true;
}
static bool f_after_setup_command(struct dctx *c, const struct ynode *v, void *o)
{
	struct strlist *l = &B(o)->after_setup_command;
	if (!dec_string_list(c, v, "bridged-network: after-setup-command", l))
		return false;
	if (l->n == 0)
		return true;
	if (l->v[0][0] != '/') {
		diag_add(c->d, c->file, l->pos[0].line, l->pos[0].col,
			 "bridged-network: after-setup-command: \"%s\" is not an absolute path; expected the command's absolute path first",
			 l->v[0]);
		return false;
	}
	for (size_t i = 0; i < l->n; i++) {
		const char *s = l->v[i], *p;
		while ((p = strstr(s, "@{"))) {
			const char *e = strchr(p, '}');
			if (!e || strncmp(p, "@{container_ip}", 15) != 0) {
				diag_add(c->d, c->file, l->pos[i].line, l->pos[i].col,
					 "bridged-network: after-setup-command: unknown substitution in \"%s\"; expected only @{container_ip}",
					 l->v[i]);
				return false;
			}
			s = e + 1;
		}
	}
	return true;
}
static const struct field bridge_fields[] = {
	{ "bridge", f_bridge, F_REQUIRED, NULL },
	{ "network", f_network, F_REQUIRED, NULL },
	{ "default-gateway", f_default_gateway, 0, NULL },
	{ "after-setup-command", f_after_setup_command, 0, NULL },
};
static bool f_bridged_network(struct dctx *c, const struct ynode *v, void *o)
{
	if (ynode_is_null(v))
		return true;
	struct bridged_network *b = xcalloc(1, sizeof(*b));
	b->pos = node_pos(v);
	S(o)->bridged_network = b;
	if (!expect_map(c, v, "bridged-network"))
		return false;
	bool ok = dec_fields(c, v, bridge_fields, ARRAY_SIZE(bridge_fields), b, "bridged-network");
	if (ok && b->default_gateway) {
		int fam;
		unsigned char a[16];
		ip_parse(b->default_gateway, &fam, a);
		if (!ipnet_contains(&b->net, fam, a)) {
			/* point at the gateway's value */
			const struct ynode *gw = v;
			for (size_t i = 0; i < v->n_pairs; i++) {
				char *k = key_normalize(v->pairs[i].key->value);
				if (!strcmp(k, "default-gateway"))
					gw = v->pairs[i].value;
				free(k);
			}
			derr(c, gw, "bridged-network: default-gateway %s is outside network %s; expected an address inside the network",
			     b->default_gateway, b->network);
			ok = false;
		}
	}
	return ok;
}
static bool f_secrets_private_key(struct dctx *c, const struct ynode *v, void *o)
{
	if (ynode_is_null(v))
		return true;
	return dec_abs_path(c, v, "secrets-private-key", &S(o)->secrets_private_key);
}

bool valid_secret_namespace(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
			return false;
	return true;
}

bool dec_namespaces(struct dctx *c, const struct ynode *v, const char *what, struct strlist *out)
{
	struct strlist l = { 0 };
	bool ok = true;
	/* the empty string is a valid namespace, so nulls can't be items */
	if (v && v->kind == YN_SEQ) {
		for (size_t i = 0; i < v->n_items; i++) {
			const struct ynode *it = v->items[i];
			if (it->kind != YN_SCALAR || !expect_no_tag(c, it, what)) {
				if (it->kind != YN_SCALAR)
					derr(c, it, "%s: expected a string, got a %s", what,
					     ynode_kind_name(it));
				ok = false;
				continue;
			}
			if (!valid_secret_namespace(it->value)) {
				derr(c, it, "%s: \"%s\" is not a valid namespace; expected only letters, digits, _, . and -",
				     what, it->value);
				ok = false;
				continue;
			}
			strlist_push(&l, it->value, node_pos(it));
		}
	} else {
		derr(c, v, "%s: expected a list of namespaces, got a %s", what, ynode_kind_name(v));
		ok = false;
	}
	if (ok) {
		strlist_free(out);
		*out = l;
	} else {
		strlist_free(&l);
	}
	return ok;
}

static bool f_migratable(struct dctx *c, const struct ynode *v, void *o)
{
	S(o)->migratable_pos = node_pos(v);
	return dec_bool(c, v, "migratable", &S(o)->migratable);
}

static bool f_secrets_namespaces(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_namespaces(c, v, "secrets-namespaces", &S(o)->secrets_namespaces);
}

static const struct field sandbox_fields[] = {
	{ "config-file", f_config_file, 0, NULL },
	{ "image-dir", f_image_dir, F_REQUIRED, NULL },
	{ "image-dir-levels", f_image_dir_levels, 0, NULL },
	{ "log-file", f_log_file, 0, NULL },
	{ "log-level", f_log_level, 0, NULL },
	{ "readonly-paths", f_readonly_paths, 0, NULL },
	{ "writable-paths", f_writable_paths, 0, NULL },
	{ "allow-users", f_allow_users, 0, NULL },
	{ "default-user", f_default_user, 0, NULL },
	{ "allow-groups", f_allow_groups, 0, NULL },
	{ "default-group", f_default_group, 0, NULL },
	{ "allow-tcp-ports", f_allow_tcp_ports, 0, NULL },
	{ "additional-hosts", f_additional_hosts, 0, NULL },
	{ "uid-map", f_uid_map, 0, NULL },
	{ "gid-map", f_gid_map, 0, NULL },
	{ "used-images-list", f_used_images_list, 0, NULL },
	{ "auto-clean", f_auto_clean, 0, NULL },
	{ "resolv-conf", f_resolv_conf, 0, NULL },
	{ "hosts-file", f_hosts_file, 0, NULL },
	{ "bridged-network", f_bridged_network, 0, NULL },
	{ "secrets-private-key", f_secrets_private_key, 0, NULL },
	{ "secrets-namespaces", f_secrets_namespaces, 0, NULL },
	{ "migratable", f_migratable, 0, NULL },
};

static void sandbox_defaults(struct sandbox_config *s, const char *name, const char *path)
{
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name);
	s->file = xstrdup(path);
	s->image_dir_levels = 1;
	s->auto_clean = true;
	s->resolv_conf = xstrdup("/etc/resolv.conf");
	s->hosts_file = xstrdup("/etc/hosts");
	strlist_push(&s->secrets_namespaces, "", (struct pos){ 0, 0 });
}

static int str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Rules between keys of one sandbox file. */
static void sandbox_check(struct sandbox_config *s, struct dctx *c)
{
	if (s->has_default_user && !ranges_contain(&s->allow_users, s->default_user)) {
		char *r = ranges_format(&s->allow_users);
		diag_add(c->d, c->file, s->default_user_pos.line, s->default_user_pos.col,
			 "default-user %u is not in allow-users %s; expected a user id inside allow-users",
			 s->default_user, r);
		free(r);
	}
	if (s->default_group_pos.line && !ranges_contain(&s->allow_groups, s->default_group)) {
		char *r = ranges_format(&s->allow_groups);
		diag_add(c->d, c->file, s->default_group_pos.line, s->default_group_pos.col,
			 "default-group %u is not in allow-groups %s; expected a group id inside allow-groups",
			 s->default_group, r);
		free(r);
	}
	if (s->gid_map.set && !s->uid_map.set)
		diag_add(c->d, c->file, s->gid_map.pos.line, s->gid_map.pos.col,
			 "gid-map without uid-map; expected both uid-map and gid-map, or neither");
	if (s->uid_map.set && !s->gid_map.set)
		diag_add(c->d, c->file, s->uid_map.pos.line, s->uid_map.pos.col,
			 "uid-map without gid-map; expected both uid-map and gid-map, or neither");
	/* CRIU 4.1 through liblxc 5.0 restores no user-namespaced lithos
	 * container (docs/criu-notes.md): with the host network the recursive
	 * read-only bind of /sys cannot be re-created, with a bridge the veth
	 * cannot be created from inside the user namespace */
	if (s->migratable && s->uid_map.set)
		diag_add(c->d, c->file, s->migratable_pos.line, s->migratable_pos.col,
			 "migratable: true with uid-map (line %u): CRIU cannot restore containers with a user namespace here; expected migratable: false or no uid-map/gid-map",
			 s->uid_map.pos.line);
	/* sorted writable keys: a kvlist_get per readonly path was quadratic */
	const char **w = xcalloc(s->writable_paths.n, sizeof(*w));
	for (size_t i = 0; i < s->writable_paths.n; i++)
		w[i] = s->writable_paths.v[i].key;
	qsort(w, s->writable_paths.n, sizeof(*w), str_ptr_cmp);
	for (size_t i = 0; i < s->readonly_paths.n; i++) {
		const char *key = s->readonly_paths.v[i].key;
		if (s->writable_paths.n &&
		    bsearch(&key, w, s->writable_paths.n, sizeof(*w), str_ptr_cmp)) {
			const struct kv *e = &s->readonly_paths.v[i];
			diag_add(c->d, c->file, e->pos.line, e->pos.col,
				 "virtual path \"%s\" is in both readonly-paths and writable-paths; expected it in one of them",
				 e->key);
		}
	}
	free(w);
}

static int sandbox_parse_doc(struct sandbox_config *s, struct ydoc *doc, const char *path,
			     struct diags *d, size_t before)
{
	struct dctx c = { path, d };
	if (!doc->root)
		diag_add(d, path, 0, 0, "sandbox config: missing required key \"image-dir\"");
	else if (dec_fields(&c, doc->root, sandbox_fields, ARRAY_SIZE(sandbox_fields), s,
			    "sandbox config"))
		sandbox_check(s, &c);
	return diags_count(d) > before ? -1 : 0;
}

int sandbox_config_parse_buffer(struct sandbox_config *s, const char *sname, const char *name,
				const char *buf, size_t len, struct diags *d)
{
	size_t before = diags_count(d);
	sandbox_defaults(s, sname, name);
	struct ydoc doc;
	if (ydoc_load_buffer(&doc, name, buf, len, d) == 0)
		sandbox_parse_doc(s, &doc, name, d, before);
	ydoc_free(&doc);
	return diags_count(d) > before ? -1 : 0;
}

int sandbox_config_parse(struct sandbox_config *s, const char *name, const char *path,
			 struct diags *d)
{
	size_t before = diags_count(d);
	sandbox_defaults(s, name, path);
	struct ydoc doc;
	if (ydoc_load_file(&doc, path, d) == 0)
		sandbox_parse_doc(s, &doc, path, d, before);
	ydoc_free(&doc);
	return diags_count(d) > before ? -1 : 0;
}
