/* The container config inside the image (reference chapters 5 and 7). */
#include "decode.h"
#include "paths.h"
#include "util.h"

#include <string.h>

#define C(obj) ((struct container_config *)(obj))

static bool f_kind(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_kind(c, v, "kind", true, &C(o)->kind);
}
static bool f_user_id(struct dctx *c, const struct ynode *v, void *o)
{
	C(o)->user_id_pos = node_pos(v);
	if (!dec_u32(c, v, "user-id", &C(o)->user_id))
		return false;
	C(o)->has_user_id = true;
	return true;
}
static bool f_group_id(struct dctx *c, const struct ynode *v, void *o)
{
	C(o)->group_id_pos = node_pos(v);
	if (!dec_u32(c, v, "group-id", &C(o)->group_id))
		return false;
	C(o)->has_group_id = true;
	return true;
}
static bool f_memory_limit(struct dctx *c, const struct ynode *v, void *o)
{
	if (!dec_uint(c, v, "memory-limit", INT64_MAX, &C(o)->memory_limit))
		return false;
	if (C(o)->memory_limit < 4096) {
		derr(c, v, "memory-limit: %llu bytes is too small; expected at least 4096 (units like 100Mi work)",
		     (unsigned long long)C(o)->memory_limit);
		return false;
	}
	C(o)->has_memory_limit = true;
	return true;
}
static bool f_cpu_shares(struct dctx *c, const struct ynode *v, void *o)
{
	if (!dec_uint(c, v, "cpu-shares", 262144, &C(o)->cpu_shares))
		return false;
	if (C(o)->cpu_shares < 2) {
		derr(c, v, "cpu-shares: %llu is too small; expected a number from 2 to 262144",
		     (unsigned long long)C(o)->cpu_shares);
		return false;
	}
	return true;
}
static bool f_fileno_limit(struct dctx *c, const struct ynode *v, void *o)
{
	if (!dec_uint(c, v, "fileno-limit", 1u << 30, &C(o)->fileno_limit))
		return false;
	if (C(o)->fileno_limit < 1) {
		derr(c, v, "fileno-limit: 0 is not allowed; expected at least 1");
		return false;
	}
	return true;
}
static bool f_restart_timeout(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_seconds(c, v, "restart-timeout", &C(o)->restart_timeout);
}
static bool f_kill_timeout(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_seconds(c, v, "kill-timeout", &C(o)->kill_timeout);
}
static bool f_executable(struct dctx *c, const struct ynode *v, void *o)
{
	C(o)->executable_pos = node_pos(v);
	return dec_abs_path(c, v, "executable", &C(o)->executable);
}
static bool f_arguments(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_string_list(c, v, "arguments", &C(o)->arguments);
}
static bool f_environ(struct dctx *c, const struct ynode *v, void *o)
{
	struct kvlist *l = &C(o)->environ;
	if (!dec_string_map(c, v, "environ", l))
		return false;
	bool ok = true;
	for (size_t i = 0; i < l->n; i++) {
		if (!l->v[i].key[0] || strchr(l->v[i].key, '=')) {
			diag_add(c->d, c->file, l->v[i].pos.line, l->v[i].pos.col,
				 "environ: \"%s\" is not a valid variable name; expected a non-empty name without =",
				 l->v[i].key);
			ok = false;
		}
	}
	return ok;
}
static bool f_secret_environ(struct dctx *c, const struct ynode *v, void *o)
{
	C(o)->secret_environ_pos = node_pos(v);
	if (ynode_is_null(v))
		return true;
	if (!expect_map(c, v, "secret-environ") || !check_unique_keys(c, v, "secret-environ"))
		return false;
	bool ok = true;
	for (size_t i = 0; i < v->n_pairs; i++) {
		const struct ynode *k = v->pairs[i].key, *val = v->pairs[i].value;
		if (k->kind != YN_SCALAR)
			continue;
		struct secret_env se = { xstrdup(k->value), node_pos(k), { 0 } };
		if (!se.name[0] || strchr(se.name, '=')) {
			derr(c, k, "secret-environ: \"%s\" is not a valid variable name; expected a non-empty name without =",
			     se.name);
			ok = false;
		}
		if (val->kind == YN_SCALAR && !ynode_is_null(val)) {
			strlist_push(&se.values, val->value, node_pos(val));
		} else if (val->kind == YN_SEQ && val->n_items > 0) {
			if (!dec_string_list(c, val, "secret-environ", &se.values))
				ok = false;
		} else {
			derr(c, val, "secret-environ: value of \"%s\": expected an encrypted value or a list of them, got a %s",
			     se.name, ynode_kind_name(val));
			ok = false;
		}
		VEC_PUSH(C(o)->secret_environ, C(o)->n_secret_environ, se);
	}
	return ok;
}
static bool f_secret_environ_file(struct dctx *c, const struct ynode *v, void *o)
{
	C(o)->secret_environ_file_pos = node_pos(v);
	return dec_string(c, v, "secret-environ-file", &C(o)->secret_environ_file);
}
static bool f_workdir(struct dctx *c, const struct ynode *v, void *o)
{
	C(o)->workdir_pos = node_pos(v);
	return dec_abs_path(c, v, "workdir", &C(o)->workdir);
}

#define RC(obj) ((struct resolv_conf_opts *)(obj))
static bool f_rc_copy(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_bool(c, v, "resolv-conf: copy-from-host", &RC(o)->copy_from_host);
}
static bool f_rc_mount(struct dctx *c, const struct ynode *v, void *o)
{
	RC(o)->mount_pos = node_pos(v);
	return dec_tristate(c, v, "resolv-conf: mount", &RC(o)->mount);
}
static const struct field resolv_fields[] = {
	{ "copy-from-host", f_rc_copy, 0, NULL },
	{ "mount", f_rc_mount, 0, NULL },
};
static bool f_resolv_conf(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_fields(c, v, resolv_fields, ARRAY_SIZE(resolv_fields), &C(o)->resolv_conf,
			  "resolv-conf");
}

#define HF(obj) ((struct hosts_file_opts *)(obj))
static bool f_hf_copy(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_bool(c, v, "hosts-file: copy-from-host", &HF(o)->copy_from_host);
}
static bool f_hf_mount(struct dctx *c, const struct ynode *v, void *o)
{
	HF(o)->mount_pos = node_pos(v);
	return dec_tristate(c, v, "hosts-file: mount", &HF(o)->mount);
}
static bool f_hf_localhost(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_tristate(c, v, "hosts-file: localhost", &HF(o)->localhost);
}
static bool f_hf_public(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_tristate(c, v, "hosts-file: public-hostname", &HF(o)->public_hostname);
}
static const struct field hosts_fields[] = {
	{ "mount", f_hf_mount, 0, NULL },
	{ "localhost", f_hf_localhost, 0, NULL },
	{ "public-hostname", f_hf_public, 0, NULL },
	{ "copy-from-host", f_hf_copy, 0, NULL },
};
static bool f_hosts_file(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_fields(c, v, hosts_fields, ARRAY_SIZE(hosts_fields), &C(o)->hosts_file,
			  "hosts-file");
}
static bool f_uid_map(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_idmap(c, v, "uid-map", &C(o)->uid_map);
}
static bool f_gid_map(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_idmap(c, v, "gid-map", &C(o)->gid_map);
}
static bool f_stdout_stderr_file(struct dctx *c, const struct ynode *v, void *o)
{
	C(o)->stdout_stderr_file_pos = node_pos(v);
	return dec_abs_path(c, v, "stdout-stderr-file", &C(o)->stdout_stderr_file);
}
static bool f_interactive(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_bool(c, v, "interactive", &C(o)->interactive);
}
static bool f_restart_process_only(struct dctx *c, const struct ynode *v, void *o)
{
	C(o)->restart_process_only_pos = node_pos(v);
	return dec_bool(c, v, "restart-process-only", &C(o)->restart_process_only);
}

/* ---- volumes ---- */

#define V(obj) ((struct volume *)(obj))
static bool f_v_path(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_abs_path(c, v, "volume: path", &V(o)->path);
}
static bool f_v_mkdir(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_bool(c, v, "volume: mkdir", &V(o)->mkdir);
}
static bool f_v_mode(struct dctx *c, const struct ynode *v, void *o)
{
	uint64_t m;
	if (!dec_uint(c, v, "volume: mode", 07777, &m))
		return false;
	V(o)->mode = (uint32_t)m;
	return true;
}
static bool f_v_user(struct dctx *c, const struct ynode *v, void *o)
{
	V(o)->user_pos = node_pos(v);
	return dec_u32(c, v, "volume: user", &V(o)->user);
}
static bool f_v_group(struct dctx *c, const struct ynode *v, void *o)
{
	V(o)->group_pos = node_pos(v);
	return dec_u32(c, v, "volume: group", &V(o)->group);
}
static bool f_v_size(struct dctx *c, const struct ynode *v, void *o)
{
	if (!dec_uint(c, v, "volume: size", INT64_MAX, &V(o)->size))
		return false;
	if (V(o)->size < 4096) {
		derr(c, v, "volume: size %llu bytes is too small; expected at least 4096 (units like 100Mi work)",
		     (unsigned long long)V(o)->size);
		return false;
	}
	return true;
}
static const struct field persistent_fields[] = {
	{ "path", f_v_path, F_REQUIRED, NULL },
	{ "mkdir", f_v_mkdir, 0, NULL },
	{ "mode", f_v_mode, 0, NULL },
	{ "user", f_v_user, 0, NULL },
	{ "group", f_v_group, 0, NULL },
};
static const struct field statedir_fields[] = {
	{ "path", f_v_path, 0, NULL },
	{ "mode", f_v_mode, 0, NULL },
	{ "user", f_v_user, 0, NULL },
	{ "group", f_v_group, 0, NULL },
};
static const struct field tmpfs_fields[] = {
	{ "size", f_v_size, 0, NULL },
	{ "mode", f_v_mode, 0, NULL },
};

static bool dec_volume(struct dctx *c, const struct ynode *tagged, struct volume *vol)
{
	const char *tag = tagged->tag ? tagged->tag : "";
	struct ynode untagged = *tagged;
	untagged.tag = NULL;
	const struct ynode *v = &untagged;
	bool scalar = v->kind == YN_SCALAR;
	bool empty = scalar && v->value[0] == 0;
	if (!strcmp(tag, "!Readonly")) {
		vol->kind = VOL_READONLY;
		if (!scalar || empty) {
			derr(c, v, "volume %s: !Readonly: expected a virtual path such as !Readonly /timezones, got a %s",
			     vol->mountpoint, ynode_kind_name(v));
			return false;
		}
		return dec_abs_path(c, v, "volume: !Readonly", &vol->path);
	}
	if (!strcmp(tag, "!Persistent")) {
		vol->kind = VOL_PERSISTENT;
		vol->mode = 0700;
		if (scalar && !empty)
			return dec_abs_path(c, v, "volume: !Persistent", &vol->path);
		if (v->kind != YN_MAP) {
			derr(c, v, "volume %s: !Persistent: expected a virtual path or {path, mkdir, mode, user, group}, got a %s",
			     vol->mountpoint, ynode_kind_name(v));
			return false;
		}
		return dec_fields(c, v, persistent_fields, ARRAY_SIZE(persistent_fields), vol,
				  "volume !Persistent");
	}
	if (!strcmp(tag, "!Statedir")) {
		vol->kind = VOL_STATEDIR;
		vol->mode = 0700;
		if (empty) {
			vol->path = xstrdup("/");
			return true;
		}
		if (scalar)
			return dec_abs_path(c, v, "volume: !Statedir", &vol->path);
		if (v->kind != YN_MAP) {
			derr(c, v, "volume %s: !Statedir: expected {path, mode, user, group}, got a %s",
			     vol->mountpoint, ynode_kind_name(v));
			return false;
		}
		bool ok = dec_fields(c, v, statedir_fields, ARRAY_SIZE(statedir_fields), vol,
				     "volume !Statedir");
		if (!vol->path)
			vol->path = xstrdup("/");
		return ok;
	}
	if (!strcmp(tag, "!Tmpfs")) {
		vol->kind = VOL_TMPFS;
		vol->size = 100ULL << 20;
		vol->mode = 0766;
		if (empty)
			return true;
		if (v->kind != YN_MAP) {
			derr(c, v, "volume %s: !Tmpfs: expected {size, mode}, got a %s",
			     vol->mountpoint, ynode_kind_name(v));
			return false;
		}
		return dec_fields(c, v, tmpfs_fields, ARRAY_SIZE(tmpfs_fields), vol,
				  "volume !Tmpfs");
	}
	if (tagged->tag)
		derr(c, v, "volume %s: unknown volume type %s; expected !Readonly, !Persistent, !Statedir or !Tmpfs",
		     vol->mountpoint, tagged->tag);
	else
		derr(c, v, "volume %s: missing volume type; expected a tagged value: !Readonly, !Persistent, !Statedir or !Tmpfs",
		     vol->mountpoint);
	return false;
}

static bool f_volumes(struct dctx *c, const struct ynode *v, void *o)
{
	if (ynode_is_null(v))
		return true;
	if (!expect_map(c, v, "volumes") || !expect_no_tag(c, v, "volumes"))
		return false;
	bool ok = check_unique_keys(c, v, "volumes");
	for (size_t i = 0; i < v->n_pairs; i++) {
		const struct ynode *k = v->pairs[i].key, *val = v->pairs[i].value;
		if (k->kind != YN_SCALAR)
			continue;
		struct volume vol = { 0 };
		vol.mountpoint = xstrdup(k->value);
		vol.pos = node_pos(k);
		vol.vpos = node_pos(val);
		if (path_has_control_chars(k->value)) {
			derr(c, k, "volumes: a mount point has a control character (newline, tab, ...); expected a path of printable characters");
			ok = false;
		} else if (k->value[0] != '/' || path_has_dot_components(k->value)) {
			derr(c, k, "volumes: mount point \"%s\" is not valid; expected an absolute path without . or .. components",
			     k->value);
			ok = false;
		}
		if (!dec_volume(c, val, &vol))
			ok = false;
		if (vol.path && path_has_control_chars(vol.path)) {
			derr(c, val, "volume: its path has a control character (newline, tab, ...); expected a path of printable characters");
			ok = false;
		} else if (vol.path && path_has_dot_components(vol.path)) {
			derr(c, val, "volume %s: path \"%s\" has . or .. components; expected a plain absolute path",
			     vol.mountpoint, vol.path);
			ok = false;
		}
		VEC_PUSH(C(o)->volumes, C(o)->n_volumes, vol);
	}
	return ok;
}

/* ---- tcp-ports ---- */

#define T(obj) ((struct tcp_port *)(obj))
static bool f_t_fd(struct dctx *c, const struct ynode *v, void *o)
{
	T(o)->fd_pos = node_pos(v);
	uint64_t fd;
	if (!dec_uint(c, v, "tcp-ports: fd", 65535, &fd))
		return false;
	T(o)->fd = (uint32_t)fd;
	return true;
}
static bool f_t_host(struct dctx *c, const struct ynode *v, void *o)
{
	if (!dec_string(c, v, "tcp-ports: host", &T(o)->host))
		return false;
	int fam;
	unsigned char a[16];
	if (ip_parse(T(o)->host, &fam, a) < 0) {
		derr(c, v, "tcp-ports: host: \"%s\" is not an IP address; expected an address such as 0.0.0.0 (host names are not supported)",
		     T(o)->host);
		return false;
	}
	return true;
}
static bool f_t_backlog(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_u32(c, v, "tcp-ports: listen-backlog", &T(o)->listen_backlog);
}
static bool f_t_reuse_addr(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_bool(c, v, "tcp-ports: reuse-addr", &T(o)->reuse_addr);
}
static bool f_t_reuse_port(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_bool(c, v, "tcp-ports: reuse-port", &T(o)->reuse_port);
}
static bool f_t_nonblock(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_bool(c, v, "tcp-ports: set-non-block", &T(o)->set_non_block);
}
static bool f_t_external(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_bool(c, v, "tcp-ports: external", &T(o)->external);
}
static const struct field tcp_fields[] = {
	{ "fd", f_t_fd, F_REQUIRED, NULL },
	{ "host", f_t_host, 0, NULL },
	{ "listen-backlog", f_t_backlog, 0, NULL },
	{ "reuse-addr", f_t_reuse_addr, 0, NULL },
	{ "reuse-port", f_t_reuse_port, 0, NULL },
	{ "set-non-block", f_t_nonblock, 0, NULL },
	{ "external", f_t_external, 0, NULL },
};
static bool f_tcp_ports(struct dctx *c, const struct ynode *v, void *o)
{
	if (ynode_is_null(v))
		return true;
	if (!expect_map(c, v, "tcp-ports") || !expect_no_tag(c, v, "tcp-ports"))
		return false;
	bool ok = check_unique_keys(c, v, "tcp-ports");
	for (size_t i = 0; i < v->n_pairs; i++) {
		const struct ynode *k = v->pairs[i].key, *val = v->pairs[i].value;
		if (k->kind != YN_SCALAR)
			continue;
		struct tcp_port t = { 0 };
		t.key = xstrdup(k->value);
		t.pos = node_pos(k);
		t.host = xstrdup("0.0.0.0");
		t.listen_backlog = 128;
		t.reuse_addr = true;
		if (!strstr(k->value, "@{")) {
			uint64_t port;
			const char *err = parse_uint(k->value, 65535, &port);
			if (err || port == 0) {
				derr(c, k, "tcp-ports: \"%s\" is not a port; expected a number from 1 to 65535 or a @{variable}",
				     k->value);
				ok = false;
			}
		}
		/* `what` starts every message about the port: keep it short */
		char *what = xasprintf("tcp-ports: %.200s%s", k->value,
				       strlen(k->value) > 200 ? "..." : "");
		if (!val || val->kind != YN_MAP) {
			derr(c, val, "%s: expected a mapping with at least fd, got a %s", what,
			     ynode_kind_name(val));
			ok = false;
		} else if (!dec_fields(c, val, tcp_fields, ARRAY_SIZE(tcp_fields), &t, what)) {
			ok = false;
		}
		free(what);
		VEC_PUSH(C(o)->tcp_ports, C(o)->n_tcp_ports, t);
	}
	return ok;
}

static bool f_metadata(struct dctx *c, const struct ynode *v, void *o)
{
	return true; /* not used and not validated, as documented */
}

static bool f_normal_exit_codes(struct dctx *c, const struct ynode *v, void *o)
{
	if (!v || v->kind != YN_SEQ) {
		derr(c, v, "normal-exit-codes: expected a list of exit codes, got a %s",
		     ynode_kind_name(v));
		return false;
	}
	bool ok = true;
	for (size_t i = 0; i < v->n_items; i++) {
		uint64_t code;
		if (!dec_uint(c, v->items[i], "normal-exit-codes", 255, &code)) {
			ok = false;
			continue;
		}
		uint32_t c32 = (uint32_t)code;
		VEC_PUSH(C(o)->normal_exit_codes, C(o)->n_normal_exit_codes, c32);
	}
	return ok;
}

/* ---- variables ---- */

static bool valid_var_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	return true;
}

#define VAR(obj) ((struct variable *)(obj))
static bool f_var_activation(struct dctx *c, const struct ynode *v, void *o)
{
	if (v->kind != YN_SCALAR || strcmp(v->value, "systemd") != 0) {
		derr(c, v, "!TcpPort: activation: expected systemd, got \"%s\"",
		     v->kind == YN_SCALAR ? v->value : ynode_kind_name(v));
		return false;
	}
	VAR(o)->activation_systemd = true;
	return true;
}
static const struct field tcpport_fields[] = {
	{ "activation", f_var_activation, 0, NULL },
};

static bool dec_variable(struct dctx *c, const struct ynode *v, struct variable *var)
{
	const char *tag = v->tag ? v->tag : "";
	bool empty = v->kind == YN_SCALAR && v->value[0] == 0;
	if (!strcmp(tag, "!TcpPort")) {
		var->kind = VAR_TCP_PORT;
		if (empty)
			return true;
		if (v->kind != YN_MAP) {
			derr(c, v, "variable %s: !TcpPort: expected nothing or {activation: systemd}, got a %s",
			     var->name, ynode_kind_name(v));
			return false;
		}
		struct ynode untagged = *v;
		untagged.tag = NULL;
		return dec_fields(c, &untagged, tcpport_fields, ARRAY_SIZE(tcpport_fields), var,
				  "variable !TcpPort");
	}
	if (!strcmp(tag, "!Choice")) {
		var->kind = VAR_CHOICE;
		if (v->kind != YN_SEQ || v->n_items == 0) {
			derr(c, v, "variable %s: !Choice: expected a non-empty list of choices such as !Choice [a, b], got a %s",
			     var->name, ynode_kind_name(v));
			return false;
		}
		struct ynode untagged = *v;
		untagged.tag = NULL;
		return dec_string_list(c, &untagged, "!Choice", &var->choices);
	}
	if (!strcmp(tag, "!Name") || !strcmp(tag, "!DottedName")) {
		var->kind = !strcmp(tag, "!Name") ? VAR_NAME : VAR_DOTTED_NAME;
		if (!empty) {
			derr(c, v, "variable %s: %s takes no value; expected just %s", var->name, tag, tag);
			return false;
		}
		return true;
	}
	if (v->tag)
		derr(c, v, "variable %s: unknown variable type %s; expected !TcpPort, !Choice, !Name or !DottedName",
		     var->name, v->tag);
	else
		derr(c, v, "variable %s: missing type; expected !TcpPort, !Choice, !Name or !DottedName",
		     var->name);
	return false;
}

static bool f_variables(struct dctx *c, const struct ynode *v, void *o)
{
	if (ynode_is_null(v))
		return true;
	if (!expect_map(c, v, "variables") || !expect_no_tag(c, v, "variables"))
		return false;
	bool ok = check_unique_keys(c, v, "variables");
	for (size_t i = 0; i < v->n_pairs; i++) {
		const struct ynode *k = v->pairs[i].key, *val = v->pairs[i].value;
		if (k->kind != YN_SCALAR)
			continue;
		if (!valid_var_name(k->value)) {
			derr(c, k, "variables: \"%s\" is not a valid variable name; expected letters, digits, _ and -",
			     k->value);
			ok = false;
			continue;
		}
		struct variable var = { 0 };
		var.name = xstrdup(k->value);
		var.pos = node_pos(k);
		if (!dec_variable(c, val, &var))
			ok = false;
		VEC_PUSH(C(o)->variables, C(o)->n_variables, var);
	}
	return ok;
}

static const struct field container_fields[] = {
	{ "kind", f_kind, 0, NULL },
	{ "user-id", f_user_id, 0, NULL },
	{ "group-id", f_group_id, 0, NULL },
	{ "memory-limit", f_memory_limit, 0, NULL },
	{ "cpu-shares", f_cpu_shares, 0, NULL },
	{ "fileno-limit", f_fileno_limit, 0, NULL },
	{ "restart-timeout", f_restart_timeout, 0, NULL },
	{ "kill-timeout", f_kill_timeout, 0, NULL },
	{ "executable", f_executable, F_REQUIRED, NULL },
	{ "arguments", f_arguments, 0, NULL },
	{ "environ", f_environ, 0, NULL },
	{ "secret-environ", f_secret_environ, 0, NULL },
	{ "secret-environ-file", f_secret_environ_file, 0, NULL },
	{ "workdir", f_workdir, 0, "work-dir" },
	{ "resolv-conf", f_resolv_conf, 0, NULL },
	{ "hosts-file", f_hosts_file, 0, NULL },
	{ "uid-map", f_uid_map, 0, NULL },
	{ "gid-map", f_gid_map, 0, NULL },
	{ "stdout-stderr-file", f_stdout_stderr_file, 0, NULL },
	{ "interactive", f_interactive, 0, NULL },
	{ "restart-process-only", f_restart_process_only, 0, NULL },
	{ "volumes", f_volumes, 0, NULL },
	{ "tcp-ports", f_tcp_ports, 0, NULL },
	{ "metadata", f_metadata, 0, NULL },
	{ "normal-exit-codes", f_normal_exit_codes, 0, NULL },
	{ "variables", f_variables, 0, NULL },
};

static void container_defaults(struct container_config *cc, const char *path)
{
	memset(cc, 0, sizeof(*cc));
	cc->file = xstrdup(path);
	cc->cpu_shares = 1024;
	cc->fileno_limit = 1024;
	cc->restart_timeout = 1;
	cc->kill_timeout = 5;
	cc->workdir = xstrdup("/");
	cc->resolv_conf.copy_from_host = true;
	cc->resolv_conf.mount = TRI_AUTO;
	/* the reference's text and lithos since 0.11: copied by default */
	cc->hosts_file.copy_from_host = true;
}

/* Rules between keys of one container config. */
static void container_check(struct container_config *cc, struct dctx *c)
{
	if (cc->secret_environ_file && cc->n_secret_environ) {
		diag_add(c->d, c->file, cc->secret_environ_file_pos.line,
			 cc->secret_environ_file_pos.col,
			 "secret-environ-file conflicts with secret-environ (line %d); expected only one of them",
			 cc->secret_environ_pos.line);
	}
	if (cc->uid_map.set != cc->gid_map.set) {
		struct pos p = cc->uid_map.set ? cc->uid_map.pos : cc->gid_map.pos;
		diag_add(c->d, c->file, p.line, p.col,
			 "%s without %s; expected both uid-map and gid-map, or neither",
			 cc->uid_map.set ? "uid-map" : "gid-map", cc->uid_map.set ? "gid-map" : "uid-map");
	}
	/* first port using each fd (fd <= 65535 once decoded), index + 1:
	 * comparing every pair of ports was quadratic */
	uint32_t *first = cc->n_tcp_ports > 1 ? xcalloc(65536, sizeof(*first)) : NULL;
	for (size_t i = 0; i < cc->n_tcp_ports; i++) {
		const struct tcp_port *t = &cc->tcp_ports[i];
		if (t->fd == 1 || t->fd == 2) {
			diag_add(c->d, c->file, t->fd_pos.line, t->fd_pos.col,
				 "tcp-ports: %s: fd %u is stdout/stderr; expected fd 0 or 3 and above",
				 t->key, t->fd);
		}
		if (!first || t->fd > 65535)
			continue;
		if (first[t->fd] && t->fd_pos.line) {
			diag_add(c->d, c->file, t->fd_pos.line, t->fd_pos.col,
				 "tcp-ports: %s: fd %u is already used by port %.200s; expected a distinct fd per port",
				 t->key, t->fd, cc->tcp_ports[first[t->fd] - 1].key);
		}
		if (!first[t->fd])
			first[t->fd] = (uint32_t)(i + 1);
	}
	free(first);
	/* systemd activation: fds 3.. and LISTEN_* must not be set by hand */
	bool systemd = false;
	for (size_t i = 0; i < cc->n_variables; i++)
		systemd |= cc->variables[i].activation_systemd;
	if (systemd) {
		static const char *const names[] = { "LISTEN_FDS", "LISTEN_FDNAMES", "LISTEN_PID" };
		for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
			const struct kv *e = kvlist_get(&cc->environ, names[i]);
			if (e)
				diag_add(c->d, c->file, e->pos.line, e->pos.col,
					 "environ: %s is set by !TcpPort {activation: systemd}; expected it absent from environ",
					 names[i]);
		}
	}
}

static void container_parse_doc(struct container_config *cc, struct ydoc *doc, struct dctx *c)
{
	if (!doc->root) {
		diag_add(c->d, c->file, 0, 0, "container config: missing required key \"executable\"");
		return;
	}
	if (dec_fields(c, doc->root, container_fields, ARRAY_SIZE(container_fields), cc,
		       "container config"))
		container_check(cc, c);
}

int container_config_parse_buffer(struct container_config *cc, const char *name,
				  const char *buf, size_t len, struct diags *d)
{
	size_t before = diags_count(d);
	container_defaults(cc, name);
	struct ydoc doc;
	struct dctx c = { name, d };
	if (ydoc_load_buffer(&doc, name, buf, len, d) == 0)
		container_parse_doc(cc, &doc, &c);
	ydoc_free(&doc);
	return diags_count(d) > before ? -1 : 0;
}

int container_config_parse(struct container_config *cc, const char *path, struct diags *d)
{
	size_t before = diags_count(d);
	container_defaults(cc, path);
	struct ydoc doc;
	struct dctx c = { path, d };
	if (ydoc_load_file(&doc, path, d) == 0)
		container_parse_doc(cc, &doc, &c);
	ydoc_free(&doc);
	return diags_count(d) > before ? -1 : 0;
}
