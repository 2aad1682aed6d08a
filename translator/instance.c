#include "instance.h"
#include "decode.h"
#include "util.h"
#include "validate.h"

#include <string.h>

char *substitute(const char *s, const struct kvlist *vars, const char *lithos_name,
		 const char *config_filename, char **err)
{
	struct buf b = { 0 };
	const char *p = s;
	for (;;) {
		const char *q = strstr(p, "@{");
		if (!q) {
			buf_puts(&b, p);
			break;
		}
		buf_add(&b, p, (size_t)(q - p));
		const char *e = strchr(q, '}');
		if (!e) {
			*err = xasprintf("unterminated @{ in \"%s\"", s);
			buf_free(&b);
			return NULL;
		}
		char *name = xstrndup(q + 2, (size_t)(e - q - 2));
		const char *val = NULL;
		if (!strcmp(name, "lithos:name"))
			val = lithos_name;
		else if (!strcmp(name, "lithos:config_filename"))
			val = config_filename;
		else if (!strcmp(name, "lithos:pid"))
			val = "@{lithos:pid}"; /* filled in at start */
		else {
			const struct kv *kv = kvlist_get(vars, name);
			val = kv ? kv->value : NULL;
		}
		if (!val) {
			*err = xasprintf("variable @{%s} has no value", name);
			free(name);
			buf_free(&b);
			return NULL;
		}
		free(name);
		buf_puts(&b, val);
		p = e + 1;
	}
	return b.p ? b.p : xstrdup("");
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

static int var_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct variable *const *)a)->name,
		      (*(const struct variable *const *)b)->name);
}

static void env_set(struct kvlist *env, const char *k, const char *v)
{
	for (size_t i = 0; i < env->n; i++) {
		if (!strcmp(env->v[i].key, k)) {
			free(env->v[i].value);
			env->v[i].value = xstrdup(v);
			return;
		}
	}
	struct kv item = { xstrdup(k), xstrdup(v), { 0, 0 }, { 0, 0 } };
	VEC_PUSH(env->v, env->n, item);
}

int instance_build(struct instance *in, const struct sandbox_config *s,
		   const struct process_entry *e, const struct container_config *cc,
		   const char *image_root, uint32_t index, long cmd_pid,
		   char *const *extra_args, size_t n_extra, struct diags *d)
{
	memset(in, 0, sizeof(*in));
	size_t before = diags_count(d);
	in->sandbox = s;
	in->entry = e;
	in->cc = cc;
	in->index = index;
	in->is_command = cmd_pid != 0;
	in->image_root = xstrdup(image_root);
	in->config_path = xstrdup(e->config);
	if (in->is_command) {
		in->name = xasprintf("%s/cmd.%s.%ld", s->name, e->name, cmd_pid);
		in->lxc_name = xasprintf("%s.cmd.%s.%ld", s->name, e->name, cmd_pid);
	} else {
		in->name = xasprintf("%s/%s.%u", s->name, e->name, index);
		in->lxc_name = xasprintf("%s.%s.%u", s->name, e->name, index);
	}
	in->uid = cc->has_user_id ? cc->user_id : s->default_user;
	in->gid = cc->has_group_id ? cc->group_id : s->default_group;
	if (s->bridged_network && index < e->ip_addresses.n)
		in->ip = e->ip_addresses.v[index];

	/* only declared variables substitute */
	struct kvlist vars = { 0 };
	for (size_t i = 0; i < cc->n_variables; i++) {
		const struct kv *kv = kvlist_get(&e->variables, cc->variables[i].name);
		if (kv)
			env_set(&vars, kv->key, kv->value);
	}

	char *err = NULL;
	strlist_push(&in->argv, cc->executable, cc->executable_pos);
	for (size_t i = 0; i < cc->arguments.n; i++) {
		char *v = substitute(cc->arguments.v[i], &vars, in->name, e->config, &err);
		if (!v) {
			diag_add(d, cc->file, cc->arguments.pos[i].line, cc->arguments.pos[i].col,
				 "arguments: %s", err);
			free(err);
			continue;
		}
		strlist_push(&in->argv, v, cc->arguments.pos[i]);
		free(v);
	}
	for (size_t i = 0; i < n_extra; i++)
		strlist_push(&in->argv, extra_args[i], (struct pos){ 0, 0 });

	for (size_t i = 0; i < cc->environ.n; i++) {
		const struct kv *kv = &cc->environ.v[i];
		char *v = substitute(kv->value, &vars, in->name, e->config, &err);
		if (!v) {
			diag_add(d, cc->file, kv->vpos.line, kv->vpos.col, "environ: %s: %s", kv->key, err);
			free(err);
			continue;
		}
		if (!strcmp(kv->value, "@{lithos:pid}"))
			strlist_push(&in->pid_env, kv->key, kv->vpos);
		env_set(&in->env, kv->key, v);
		free(v);
	}

	/* explicit tcp-ports */
	for (size_t i = 0; i < cc->n_tcp_ports; i++) {
		const struct tcp_port *t = &cc->tcp_ports[i];
		char *k = substitute(t->key, &vars, in->name, e->config, &err);
		if (!k) {
			diag_add(d, cc->file, t->pos.line, t->pos.col, "tcp-ports: %s", err);
			free(err);
			continue;
		}
		uint64_t port;
		if (parse_uint(k, 65535, &port) || port == 0) {
			diag_add(d, cc->file, t->pos.line, t->pos.col,
				 "tcp-ports: \"%s\" is not a port; expected a number from 1 to 65535", k);
		} else if (!ranges_contain(&s->allow_tcp_ports, port)) {
			char *r = ranges_format(&s->allow_tcp_ports);
			diag_add(d, cc->file, t->pos.line, t->pos.col,
				 "tcp-ports: port %llu is not in allow-tcp-ports %s of sandbox %s; expected an allowed port",
				 (unsigned long long)port, r, s->name);
			free(r);
		} else {
			struct inst_port ip = { (uint16_t)port, t->fd, t };
			VEC_PUSH(in->ports, in->n_ports, ip);
		}
		free(k);
	}

	/* systemd activation: ports in variable-name order at fds 3, 4, ... */
	const struct variable **act = NULL;
	size_t n_act = 0;
	for (size_t i = 0; i < cc->n_variables; i++)
		if (cc->variables[i].activation_systemd) {
			const struct variable *vp = &cc->variables[i];
			VEC_PUSH(act, n_act, vp);
		}
	if (n_act) {
		qsort(act, n_act, sizeof(*act), var_cmp);
		static struct tcp_port systemd_defaults = {
			.host = "0.0.0.0", .listen_backlog = 128, .reuse_addr = true,
		};
		struct buf names = { 0 };
		for (size_t i = 0; i < n_act; i++) {
			const struct kv *kv = kvlist_get(&vars, act[i]->name);
			uint64_t port;
			uint32_t fd = 3 + (uint32_t)i;
			buf_printf(&names, "%s%s", i ? ":" : "", act[i]->name);
			if (!kv || parse_uint(kv->value, 65535, &port) || port == 0)
				continue; /* reported by validation */
			for (size_t j = 0; j < in->n_ports; j++)
				if (in->ports[j].fd == fd)
					diag_add(d, cc->file, act[i]->pos.line, act[i]->pos.col,
						 "variable %s: systemd activation uses fd %u, which tcp-ports already uses for port %u; expected tcp-ports to leave fds 3 to %zu free",
						 act[i]->name, fd, in->ports[j].port, 2 + n_act);
			struct inst_port ip = { (uint16_t)port, fd, &systemd_defaults };
			VEC_PUSH(in->ports, in->n_ports, ip);
		}
		char *nfds = xasprintf("%zu", n_act);
		env_set(&in->env, "LISTEN_FDS", nfds);
		free(nfds);
		env_set(&in->env, "LISTEN_FDNAMES", buf_str(&names));
		env_set(&in->env, "LISTEN_PID", "@{lithos:pid}");
		strlist_push(&in->pid_env, "LISTEN_PID", (struct pos){ 0, 0 });
		buf_free(&names);
	}
	free(act);
	kvlist_free(&vars);

	if (in->env.n > 1)
		qsort(in->env.v, in->env.n, sizeof(*in->env.v), kv_cmp);
	return diags_count(d) > before ? -1 : 0;
}

void instance_free(struct instance *in)
{
	free(in->name);
	free(in->lxc_name);
	free(in->image_root);
	free(in->config_path);
	strlist_free(&in->argv);
	kvlist_free(&in->env);
	strlist_free(&in->pid_env);
	free(in->ports);
	memset(in, 0, sizeof(*in));
}
