#include "secret_env.h"
#include "decode.h"
#include "paths.h"
#include "secrets.h"
#include "util.h"
#include "yamltree.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>

/* The file named by secret-environ-file, read inside the image root:
 * absolute paths from the root, relative ones next to the config. */
static int load_secret_file(const struct instance *in, struct secret_env **vars, size_t *n,
			    char **shown_out, struct diags *d)
{
	const struct container_config *cc = in->cc;
	const char *f = cc->secret_environ_file;
	char *path;
	if (f[0] == '/') {
		path = xstrdup(f);
	} else {
		char *dir = path_dirname(in->config_path);
		path = path_join(dir, f);
		free(dir);
	}
	char *shown = xasprintf("%s%s", in->image_root, path);
	_cleanup_close_ int root = open(in->image_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd = root < 0 ? -1 : open_in_root(root, path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (1 << 20)) {
		diag_add(d, cc->file, cc->secret_environ_file_pos.line, cc->secret_environ_file_pos.col,
			 "secret-environ-file %s: cannot read it inside the image: %s; expected a YAML file in the image",
			 f, fd < 0 ? strerror(errno) : "not a regular file of at most 1 MiB");
		if (fd >= 0)
			close(fd);
		free(path);
		free(shown);
		return -1;
	}
	size_t len = 0;
	char *buf = read_fd_limited(fd, 1 << 20, &len, true);
	int read_errno = errno;
	close(fd);
	if (!buf) {
		diag_add(d, cc->file, cc->secret_environ_file_pos.line, cc->secret_environ_file_pos.col,
			 "secret-environ-file %s: cannot read it inside the image: %s; expected a YAML file in the image",
			 f, strerror(read_errno));
		free(path);
		free(shown);
		return -1;
	}
	struct ydoc doc;
	int rc = -1;
	if (ydoc_load_buffer(&doc, shown, buf, len, d) == 0) {
		struct dctx c = { shown, d };
		const struct ynode *root_node = doc.root;
		if (root_node && expect_map(&c, root_node, "secret-environ-file") &&
		    check_unique_keys(&c, root_node, "secret-environ-file")) {
			rc = 0;
			for (size_t i = 0; i < root_node->n_pairs; i++) {
				const struct ynode *k = root_node->pairs[i].key, *v = root_node->pairs[i].value;
				if (k->kind != YN_SCALAR)
					continue;
				struct secret_env se = { xstrdup(k->value), node_pos(k), { 0 } };
				/* as secret-environ: liblxc's setenv fails on these and
				 * logs "NAME=value" (the plaintext) to lxc.log */
				if (!se.name[0] || strchr(se.name, '=')) {
					derr(&c, k, "secret-environ-file: \"%s\" is not a valid variable name; expected a non-empty name without =",
					     se.name);
					rc = -1;
				}
				if (v->kind == YN_SCALAR && !ynode_is_null(v))
					strlist_push(&se.values, v->value, node_pos(v));
				else if (v->kind != YN_SEQ || !dec_string_list(&c, v, "secret-environ-file", &se.values)) {
					derr(&c, v, "secret-environ-file: %s: expected an encrypted value or a list of them",
					     se.name);
					rc = -1;
				}
				VEC_PUSH(*vars, *n, se);
			}
		} else if (!root_node) {
			rc = 0;
		}
	}
	ydoc_free(&doc);
	sodium_memzero(buf, len);
	free(buf);
	free(path);
	*shown_out = shown;
	return rc;
}

int secret_env_decrypt(const struct instance *in, struct strlist *env, struct diags *d)
{
	const struct container_config *cc = in->cc;
	const struct sandbox_config *s = in->sandbox;
	size_t before = diags_count(d);
	struct secret_env *file_vars = NULL;
	size_t n_file = 0;
	const struct secret_env *vars = cc->secret_environ;
	size_t n = cc->n_secret_environ;
	char *src = NULL;
	if (cc->secret_environ_file) {
		if (load_secret_file(in, &file_vars, &n_file, &src, d) < 0)
			goto out;
		vars = file_vars;
		n = n_file;
	}
	if (!n)
		goto out;
	if (!s->secrets_private_key) {
		diag_add(d, cc->file, cc->secret_environ_pos.line, cc->secret_environ_pos.col,
			 "secret-environ is set but sandbox %s has no secrets-private-key; expected the sandbox to name a key",
			 s->name);
		goto out;
	}
	char *err = NULL;
	struct secrets_keyset ks = { 0 };
	if (secrets_load_private_keys(s->secrets_private_key, SECRETS_LOAD_STRICT, &ks, &err) < 0) {
		diag_add(d, s->file, 0, 0, "secrets-private-key: %s", err);
		free(err);
		goto out;
	}
	/* allowed namespaces: the sandbox's plus the process's extra ones */
	size_t n_allowed = s->secrets_namespaces.n + in->entry->extra_secrets_namespaces.n;
	const char **allowed = xcalloc(n_allowed ? n_allowed : 1, sizeof(*allowed));
	size_t k = 0;
	for (size_t i = 0; i < s->secrets_namespaces.n; i++)
		allowed[k++] = s->secrets_namespaces.v[i];
	for (size_t i = 0; i < in->entry->extra_secrets_namespaces.n; i++)
		allowed[k++] = in->entry->extra_secrets_namespaces.v[i];
	for (size_t i = 0; i < n; i++) {
		const struct secret_env *se = &vars[i];
		char *last_err = NULL;
		bool done = false;
		for (size_t j = 0; j < se->values.n && !done; j++) {
			char *ns = NULL, *secret = NULL;
			free(last_err);
			last_err = NULL;
			if (secrets_decrypt(&ks, allowed, n_allowed, se->values.v[j], &ns, &secret,
					    &last_err) == 0) {
				char *kv = xasprintf("%s=%s", se->name, secret);
				strlist_push(env, kv, se->pos);
				sodium_memzero(kv, strlen(kv));
				free(kv);
				secrets_free_secret(secret);
				free(ns);
				done = true;
			}
		}
		if (!done) {
			diag_add(d, cc->secret_environ_file ? src : cc->file, se->pos.line, se->pos.col,
				 "secret-environ: %s: cannot decrypt %s: %s", se->name,
				 se->values.n > 1 ? "any of its values" : "its value",
				 last_err ? last_err : "no value");
		}
		free(last_err);
	}
	free(allowed);
	secrets_keyset_free(&ks);
out:
	for (size_t i = 0; i < n_file; i++) {
		free(file_vars[i].name);
		for (size_t j = 0; j < file_vars[i].values.n; j++)
			sodium_memzero(file_vars[i].values.v[j], strlen(file_vars[i].values.v[j]));
		strlist_free(&file_vars[i].values);
	}
	free(file_vars);
	free(src);
	if (diags_count(d) > before) {
		secret_env_free(env);
		return -1;
	}
	return 0;
}

void exact_env_append(const struct instance *in, struct strlist *env)
{
	for (size_t i = 0; i < in->env.n; i++) {
		const char *v = in->env.v[i].value;
		size_t n = strlen(v);
		if (!n || (v[n - 1] != ' ' && v[n - 1] != '\t'))
			continue;
		char *kv = xasprintf("%s=%s", in->env.v[i].key, v);
		strlist_push(env, kv, in->env.v[i].pos);
		free(kv);
	}
}

void secret_env_free(struct strlist *env)
{
	for (size_t i = 0; i < env->n; i++)
		sodium_memzero(env->v[i], strlen(env->v[i]));
	strlist_free(env);
}
