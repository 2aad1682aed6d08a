/* master.yaml: global settings of the lithos daemon (reference chapter 2). */
#include "decode.h"
#include "paths.h"
#include "util.h"

#include <string.h>

#define M(obj) ((struct master_config *)(obj))

static bool f_sandboxes_dir(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_string(c, v, "sandboxes-dir", &M(o)->sandboxes_dir);
}
static bool f_processes_dir(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_string(c, v, "processes-dir", &M(o)->processes_dir);
}
static bool f_runtime_dir(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_abs_path(c, v, "runtime-dir", &M(o)->runtime_dir);
}
static bool f_state_dir(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_string(c, v, "state-dir", &M(o)->state_dir);
}
static bool f_mount_dir(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_string(c, v, "mount-dir", &M(o)->mount_dir);
}
static bool f_devfs_dir(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_abs_path(c, v, "devfs-dir", &M(o)->devfs_dir);
}
static bool f_cgroup_name(struct dctx *c, const struct ynode *v, void *o)
{
	if (!dec_nullable_string(c, v, "cgroup-name", &M(o)->cgroup_name))
		return false;
	const char *s = M(o)->cgroup_name;
	if (s && (!*s || strstr(s, "..") || s[0] == '/')) {
		derr(c, v, "cgroup-name: \"%s\" is not a valid cgroup name; expected a relative name such as lithos.slice, or null",
		     s);
		return false;
	}
	return true;
}
static bool f_cgroup_controllers(struct dctx *c, const struct ynode *v, void *o)
{
	struct strlist l = { 0 };
	if (!dec_string_list(c, v, "cgroup-controllers", &l)) {
		strlist_free(&l);
		return false;
	}
	if (l.n == 0) { /* the empty list is treated as the default */
		strlist_free(&l);
		return true;
	}
	strlist_free(&M(o)->cgroup_controllers);
	M(o)->cgroup_controllers = l;
	return true;
}
static bool f_default_log_dir(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_abs_path(c, v, "default-log-dir", &M(o)->default_log_dir);
}
static bool f_config_log_dir(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_nullable_string(c, v, "config-log-dir", &M(o)->config_log_dir);
}
static bool f_stdio_log_dir(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_string(c, v, "stdio-log-dir", &M(o)->stdio_log_dir);
}
static bool f_log_file(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_string(c, v, "log-file", &M(o)->log_file);
}

bool valid_log_level(const char *s)
{
	static const char *const levels[] = { "error", "warn", "info", "debug", "trace" };
	for (size_t i = 0; i < ARRAY_SIZE(levels); i++)
		if (!strcmp(s, levels[i]))
			return true;
	return false;
}

static bool f_log_level(struct dctx *c, const struct ynode *v, void *o)
{
	if (!dec_string(c, v, "log-level", &M(o)->log_level))
		return false;
	if (!valid_log_level(M(o)->log_level)) {
		derr(c, v, "log-level: \"%s\" is not a log level; expected error, warn, info, debug or trace",
		     M(o)->log_level);
		return false;
	}
	return true;
}
static bool f_syslog_facility(struct dctx *c, const struct ynode *v, void *o)
{
	static const char *const fac[] = { "kern", "user", "mail", "daemon", "auth", "syslog",
					   "lpr", "news", "uucp", "cron", "authpriv", "ftp",
					   "local0", "local1", "local2", "local3", "local4",
					   "local5", "local6", "local7" };
	if (!dec_nullable_string(c, v, "syslog-facility", &M(o)->syslog_facility))
		return false;
	if (!M(o)->syslog_facility)
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(fac); i++)
		if (!strcmp(M(o)->syslog_facility, fac[i]))
			return true;
	derr(c, v, "syslog-facility: \"%s\" is not a syslog facility; expected one of daemon, user, local0 ... local7 and the like",
	     M(o)->syslog_facility);
	return false;
}
static bool f_syslog_name(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_string(c, v, "syslog-name", &M(o)->syslog_name);
}
static bool f_lxc_path(struct dctx *c, const struct ynode *v, void *o)
{
	char *s = NULL;
	if (!dec_nullable_string(c, v, "lxc-path", &s))
		return false;
	if (s && s[0] != '/') {
		derr(c, v, "lxc-path: \"%s\" is not an absolute path; expected a path starting with / or null (LXC's own lxc.lxcpath)",
		     s);
		free(s);
		return false;
	}
	free(M(o)->lxc_path);
	M(o)->lxc_path = s;
	return true;
}

static const struct field master_fields[] = {
	{ "sandboxes-dir", f_sandboxes_dir, 0, NULL },
	{ "processes-dir", f_processes_dir, 0, NULL },
	{ "runtime-dir", f_runtime_dir, 0, NULL },
	{ "state-dir", f_state_dir, 0, NULL },
	{ "mount-dir", f_mount_dir, 0, NULL },
	{ "devfs-dir", f_devfs_dir, 0, NULL },
	{ "cgroup-name", f_cgroup_name, 0, NULL },
	{ "cgroup-controllers", f_cgroup_controllers, 0, NULL },
	{ "default-log-dir", f_default_log_dir, 0, NULL },
	{ "config-log-dir", f_config_log_dir, 0, NULL },
	{ "stdio-log-dir", f_stdio_log_dir, 0, NULL },
	{ "log-file", f_log_file, 0, NULL },
	{ "log-level", f_log_level, 0, NULL },
	{ "syslog-facility", f_syslog_facility, 0, NULL },
	{ "syslog-name", f_syslog_name, 0, NULL },
	{ "lxc-path", f_lxc_path, 0, NULL },
};

static void defaults(struct master_config *m, const char *path)
{
	memset(m, 0, sizeof(*m));
	m->file = path ? xstrdup(path) : NULL;
	m->dir = path_dirname(path ? path : "/etc/lithos/master.yaml");
	m->sandboxes_dir = xstrdup("./sandboxes");
	m->processes_dir = xstrdup("./processes");
	m->runtime_dir = xstrdup("/run/lithos");
	m->state_dir = xstrdup("state");
	m->mount_dir = xstrdup("mnt");
	m->devfs_dir = xstrdup("/var/lib/lithos/dev");
	m->cgroup_name = xstrdup("lithos.slice");
	static const char *const ctl[] = { "name", "cpu", "cpuacct", "memory", "blkio" };
	for (size_t i = 0; i < ARRAY_SIZE(ctl); i++)
		strlist_push(&m->cgroup_controllers, ctl[i], (struct pos){ 0, 0 });
	m->default_log_dir = xstrdup("/var/log/lithos");
	m->config_log_dir = xstrdup("config"); /* relative to default-log-dir */
	m->stdio_log_dir = xstrdup("stderr"); /* relative to default-log-dir */
	m->log_file = xstrdup("master.log");
	m->log_level = xstrdup("warn");
	m->syslog_name = xstrdup("lithos");
}

/* Make relative paths absolute, as the reference says for each key. */
static void resolve(char **p, const char *base)
{
	if (*p && (*p)[0] != '/') {
		char *r = path_join(base, *p);
		free(*p);
		*p = r;
	}
}

static void master_resolve(struct master_config *m)
{
	resolve(&m->sandboxes_dir, m->dir);
	resolve(&m->processes_dir, m->dir);
	resolve(&m->state_dir, m->runtime_dir);
	resolve(&m->mount_dir, m->runtime_dir);
	resolve(&m->log_file, m->default_log_dir);
	resolve(&m->stdio_log_dir, m->default_log_dir);
	resolve(&m->config_log_dir, m->default_log_dir);
}

void master_config_defaults(struct master_config *m, const char *path)
{
	defaults(m, path);
	master_resolve(m);
}

int master_config_parse_buffer(struct master_config *m, const char *name,
			       const char *buf, size_t len, struct diags *d)
{
	defaults(m, name);
	struct ydoc doc;
	size_t before = diags_count(d);
	if (ydoc_load_buffer(&doc, name, buf, len, d) == 0) {
		struct dctx c = { name, d };
		dec_fields(&c, doc.root, master_fields, ARRAY_SIZE(master_fields), m, "master config");
	}
	ydoc_free(&doc);
	master_resolve(m);
	return diags_count(d) > before ? -1 : 0;
}

int master_config_parse(struct master_config *m, const char *path, struct diags *d)
{
	struct ydoc doc;
	size_t before = diags_count(d);
	defaults(m, path);
	if (ydoc_load_file(&doc, path, d) == 0) {
		struct dctx c = { path, d };
		dec_fields(&c, doc.root, master_fields, ARRAY_SIZE(master_fields), m, "master config");
	}
	ydoc_free(&doc);
	master_resolve(m);
	return diags_count(d) > before ? -1 : 0;
}
