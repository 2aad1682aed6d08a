/* Helpers of the config model: lists, ranges, addresses, freeing. */
#include "config.h"
#include "util.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <string.h>
#include <sys/socket.h>

const char *proc_kind_name(enum proc_kind k)
{
	switch (k) {
	case KIND_DAEMON:
		return "Daemon";
	case KIND_COMMAND:
		return "Command";
	case KIND_COMMAND_OR_DAEMON:
		return "CommandOrDaemon";
	}
	return "?";
}

/* Room for one more item: grow by doubling, so that a long list is not
 * copied once per item (quadratic where realloc can't grow in place, as
 * under ASan, where the fuzzer timed out on a list of 30000 strings). */
static void *grow_one(void *p, size_t n, size_t size)
{
	if (p && malloc_usable_size(p) >= (n + 1) * size)
		return p;
	return xrealloc(p, 2 * (n + 1) * size);
}

void strlist_push(struct strlist *l, const char *s, struct pos pos)
{
	l->v = grow_one(l->v, l->n, sizeof(*l->v));
	l->pos = grow_one(l->pos, l->n, sizeof(*l->pos));
	l->v[l->n] = xstrdup(s);
	l->pos[l->n] = pos;
	l->n++;
}

void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	free(l->pos);
	memset(l, 0, sizeof(*l));
}

void kvlist_free(struct kvlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

const struct kv *kvlist_get(const struct kvlist *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].key, key))
			return &l->v[i];
	return NULL;
}

bool ranges_contain(const struct ranges *r, uint64_t v)
{
	for (size_t i = 0; i < r->n; i++)
		if (v >= r->v[i].lo && v <= r->v[i].hi)
			return true;
	return false;
}

char *ranges_format(const struct ranges *r)
{
	struct buf b = { 0 };
	buf_puts(&b, "[");
	for (size_t i = 0; i < r->n; i++) {
		if (i)
			buf_puts(&b, ", ");
		if (r->v[i].lo == r->v[i].hi)
			buf_printf(&b, "%llu", (unsigned long long)r->v[i].lo);
		else
			buf_printf(&b, "%llu-%llu", (unsigned long long)r->v[i].lo,
				   (unsigned long long)r->v[i].hi);
	}
	buf_puts(&b, "]");
	return b.p;
}

int ip_parse(const char *s, int *family, unsigned char addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

int ipnet_parse(const char *s, struct ipnet *out)
{
	const char *slash = strchr(s, '/');
	if (!slash || !slash[1])
		return -1;
	char *host = xstrndup(s, (size_t)(slash - s));
	int r = ip_parse(host, &out->family, out->addr);
	free(host);
	if (r < 0)
		return -1;
	unsigned max = out->family == AF_INET ? 32 : 128, p = 0;
	const char *q = slash + 1;
	if (strlen(q) > 3)
		return -1;
	for (; *q; q++) {
		if (*q < '0' || *q > '9')
			return -1;
		p = p * 10 + (unsigned)(*q - '0');
	}
	if (p > max)
		return -1;
	out->prefix = p;
	return 0;
}

bool ipnet_contains(const struct ipnet *net, int family, const unsigned char addr[16])
{
	if (family != net->family)
		return false;
	unsigned bits = net->prefix;
	for (unsigned i = 0; bits > 0; i++) {
		unsigned take = bits >= 8 ? 8 : bits;
		unsigned char mask = (unsigned char)(0xff << (8 - take));
		if ((addr[i] & mask) != (net->addr[i] & mask))
			return false;
		bits -= take;
	}
	return true;
}

void master_config_free(struct master_config *m)
{
	char **strs[] = { &m->file, &m->dir, &m->sandboxes_dir, &m->processes_dir,
			  &m->runtime_dir, &m->state_dir, &m->mount_dir, &m->devfs_dir,
			  &m->cgroup_name, &m->default_log_dir, &m->config_log_dir,
			  &m->stdio_log_dir, &m->log_file, &m->log_level, &m->syslog_facility,
			  &m->syslog_name, &m->lxc_path };
	for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
		free(*strs[i]);
	strlist_free(&m->cgroup_controllers);
	memset(m, 0, sizeof(*m));
}

void sandbox_config_free(struct sandbox_config *s)
{
	free(s->name);
	free(s->file);
	free(s->config_file);
	free(s->image_dir);
	free(s->log_file);
	free(s->log_level);
	kvlist_free(&s->readonly_paths);
	kvlist_free(&s->writable_paths);
	free(s->allow_users.v);
	free(s->allow_groups.v);
	free(s->allow_tcp_ports.v);
	kvlist_free(&s->additional_hosts);
	free(s->uid_map.v);
	free(s->gid_map.v);
	free(s->used_images_list);
	free(s->resolv_conf);
	free(s->hosts_file);
	if (s->bridged_network) {
		free(s->bridged_network->bridge);
		free(s->bridged_network->network);
		free(s->bridged_network->default_gateway);
		strlist_free(&s->bridged_network->after_setup_command);
		free(s->bridged_network);
	}
	free(s->secrets_private_key);
	strlist_free(&s->secrets_namespaces);
	memset(s, 0, sizeof(*s));
}

void processes_config_free(struct processes_config *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct process_entry *e = &p->v[i];
		free(e->name);
		free(e->image);
		free(e->config);
		strlist_free(&e->ip_addresses);
		kvlist_free(&e->variables);
		strlist_free(&e->extra_secrets_namespaces);
	}
	free(p->v);
	free(p->file);
	memset(p, 0, sizeof(*p));
}

void container_config_free(struct container_config *cc)
{
	free(cc->file);
	free(cc->executable);
	strlist_free(&cc->arguments);
	kvlist_free(&cc->environ);
	for (size_t i = 0; i < cc->n_secret_environ; i++) {
		free(cc->secret_environ[i].name);
		strlist_free(&cc->secret_environ[i].values);
	}
	free(cc->secret_environ);
	free(cc->secret_environ_file);
	free(cc->workdir);
	free(cc->uid_map.v);
	free(cc->gid_map.v);
	free(cc->stdout_stderr_file);
	for (size_t i = 0; i < cc->n_volumes; i++) {
		free(cc->volumes[i].mountpoint);
		free(cc->volumes[i].path);
	}
	free(cc->volumes);
	for (size_t i = 0; i < cc->n_tcp_ports; i++) {
		free(cc->tcp_ports[i].key);
		free(cc->tcp_ports[i].host);
	}
	free(cc->tcp_ports);
	free(cc->normal_exit_codes);
	for (size_t i = 0; i < cc->n_variables; i++) {
		free(cc->variables[i].name);
		strlist_free(&cc->variables[i].choices);
	}
	free(cc->variables);
	memset(cc, 0, sizeof(*cc));
}
