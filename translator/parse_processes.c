/* processes/NAME.yaml: what to run in a sandbox (reference chapter 4). */
#include "decode.h"
#include "util.h"

#include <string.h>

#define P(obj) ((struct process_entry *)(obj))

bool valid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	return true;
}

bool dec_kind(struct dctx *c, const struct ynode *v, const char *what, bool allow_both,
	      enum proc_kind *out)
{
	if (!v || v->kind != YN_SCALAR || ynode_is_null(v)) {
		derr(c, v, "%s: expected %s, got a %s", what,
		     allow_both ? "Daemon, Command or CommandOrDaemon" : "Daemon or Command",
		     ynode_kind_name(v));
		return false;
	}
	/* accept both `kind: Daemon` and `kind: !Daemon` */
	const char *s = v->tag && v->tag[0] == '!' && !v->value[0] ? v->tag + 1 : v->value;
	if (!strcmp(s, "Daemon"))
		*out = KIND_DAEMON;
	else if (!strcmp(s, "Command"))
		*out = KIND_COMMAND;
	else if (allow_both && !strcmp(s, "CommandOrDaemon"))
		*out = KIND_COMMAND_OR_DAEMON;
	else {
		derr(c, v, "%s: \"%s\" is not a kind; expected %s", what, s,
		     allow_both ? "Daemon, Command or CommandOrDaemon" : "Daemon or Command");
		return false;
	}
	return true;
}

static bool f_kind(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_kind(c, v, "kind", false, &P(o)->kind);
}
static bool f_instances(struct dctx *c, const struct ynode *v, void *o)
{
	uint64_t n;
	if (!dec_uint(c, v, "instances", 10000, &n))
		return false;
	P(o)->instances = (uint32_t)n;
	return true;
}
static bool f_image(struct dctx *c, const struct ynode *v, void *o)
{
	P(o)->image_pos = node_pos(v);
	return dec_string(c, v, "image", &P(o)->image);
}
static bool f_config(struct dctx *c, const struct ynode *v, void *o)
{
	P(o)->config_pos = node_pos(v);
	return dec_string(c, v, "config", &P(o)->config);
}
static bool f_ip_addresses(struct dctx *c, const struct ynode *v, void *o)
{
	struct strlist *l = &P(o)->ip_addresses;
	P(o)->ip_addresses_pos = node_pos(v);
	if (!dec_string_list(c, v, "ip-addresses", l))
		return false;
	if (l->n > 10000) {
		/* one per instance; also keeps the duplicate check below cheap */
		derr(c, v, "ip-addresses: %zu addresses; expected at most 10000 (one per instance)",
		     l->n);
		return false;
	}
	bool ok = true;
	for (size_t i = 0; i < l->n; i++) {
		int fam;
		unsigned char a[16];
		if (ip_parse(l->v[i], &fam, a) < 0) {
			diag_add(c->d, c->file, l->pos[i].line, l->pos[i].col,
				 "ip-addresses: \"%s\" is not an IP address; expected an IPv4 or IPv6 address",
				 l->v[i]);
			ok = false;
		}
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(l->v[i], l->v[j])) {
				diag_add(c->d, c->file, l->pos[i].line, l->pos[i].col,
					 "ip-addresses: %s is listed twice; expected one address per instance",
					 l->v[i]);
				ok = false;
				break;
			}
		}
	}
	return ok;
}
static bool f_variables(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_string_map(c, v, "variables", &P(o)->variables);
}
static bool f_extra_secrets_namespaces(struct dctx *c, const struct ynode *v, void *o)
{
	return dec_namespaces(c, v, "extra-secrets-namespaces", &P(o)->extra_secrets_namespaces);
}

static const struct field entry_fields[] = {
	{ "kind", f_kind, 0, NULL },
	{ "instances", f_instances, 0, NULL },
	{ "image", f_image, F_REQUIRED, NULL },
	{ "config", f_config, F_REQUIRED, NULL },
	{ "ip-addresses", f_ip_addresses, 0, NULL },
	{ "variables", f_variables, 0, NULL },
	{ "extra-secrets-namespaces", f_extra_secrets_namespaces, 0, NULL },
};

static void processes_parse_doc(struct processes_config *p, struct ydoc *doc, struct dctx *c)
{
	const struct ynode *root = doc->root;
	if (!root || ynode_is_null(root))
		return; /* no processes */
	if (!expect_map(c, root, "processes config") || !expect_no_tag(c, root, "processes config"))
		return;
	check_unique_keys(c, root, "processes config");
	for (size_t i = 0; i < root->n_pairs; i++) {
		const struct ynode *k = root->pairs[i].key, *v = root->pairs[i].value;
		if (k->kind != YN_SCALAR)
			continue;
		if (!valid_name(k->value)) {
			derr(c, k, "process name \"%s\" is not valid; expected letters, digits, _ and -",
			     k->value);
			continue;
		}
		struct process_entry e = { 0 };
		e.name = xstrdup(k->value);
		e.pos = node_pos(k);
		e.instances = 1;
		/* `what` starts every message about the entry: keep it short */
		char *what = xasprintf("process \"%.200s%s\"", k->value,
				       strlen(k->value) > 200 ? "..." : "");
		if (!v || v->kind != YN_MAP)
			derr(c, v, "%s: expected a mapping with image and config, got a %s", what,
			     ynode_kind_name(v));
		else
			dec_fields(c, v, entry_fields, ARRAY_SIZE(entry_fields), &e, what);
		free(what);
		VEC_PUSH(p->v, p->n, e);
	}
}

int processes_config_parse_buffer(struct processes_config *p, const char *name,
				  const char *buf, size_t len, struct diags *d)
{
	size_t before = diags_count(d);
	memset(p, 0, sizeof(*p));
	p->file = xstrdup(name);
	struct ydoc doc;
	struct dctx c = { name, d };
	if (ydoc_load_buffer(&doc, name, buf, len, d) == 0)
		processes_parse_doc(p, &doc, &c);
	ydoc_free(&doc);
	return diags_count(d) > before ? -1 : 0;
}

int processes_config_parse(struct processes_config *p, const char *path, struct diags *d)
{
	size_t before = diags_count(d);
	memset(p, 0, sizeof(*p));
	p->file = xstrdup(path);
	struct ydoc doc;
	struct dctx c = { path, d };
	if (ydoc_load_file(&doc, path, d) == 0)
		processes_parse_doc(p, &doc, &c);
	ydoc_free(&doc);
	return diags_count(d) > before ? -1 : 0;
}
