/* Golden-file tests of the translator: each directory under tests/golden/
 * holds a sandbox, a processes file (entry "p"), a container config and,
 * optionally, a master config; the test compiles instance 0 (or the one
 * named in `index`) with fixed host facts and compares the result with
 * expected-v1.conf (cgroup v1 host, memsw present) and expected-v2.conf
 * (cgroup v2 host) byte for byte.  Rendering twice must give the same
 * bytes.  expected-init.txt holds the argv LXC execs as pid 1 (lithos_init
 * and its options, one argument per line) for stdio fds 70,71,72 and no
 * events fd.  A file `standalone` in a case renders the config lxc-start
 * runs with no lithos around (lxc_facts.standalone).  Set
 * LITHOS_UPDATE_GOLDEN=1 to rewrite the expected files (then review the
 * diff: they are the specification). */
#include "../tap.h"
#include "config.h"
#include "instance.h"
#include "lxcconf.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static char *slurp(const char *dir, const char *name, size_t *len)
{
	char *p = xasprintf("%s/%s", dir, name);
	char *s = read_file_limited(p, 1 << 20, len);
	free(p);
	return s;
}

/* extra_yaml: lines appended to the case's container.yaml (NULL: none) */
static int render_case(const char *dir, const char *case_name, enum cgroup_version cg,
		       bool force_standalone, const char *extra_yaml, struct buf *out,
		       struct buf *init_out, struct diags *d)
{
	size_t len;
	struct master_config m;
	char *mtext = slurp(dir, "master.yaml", &len);
	if (mtext)
		master_config_parse_buffer(&m, "/etc/lithos/master.yaml", mtext, len, d);
	else
		master_config_defaults(&m, "/etc/lithos/master.yaml");
	free(mtext);

	struct sandbox_config s;
	char *stext = slurp(dir, "sandbox.yaml", &len);
	sandbox_config_parse_buffer(&s, "demo", "/etc/lithos/sandboxes/demo.yaml", stext, len, d);
	free(stext);

	struct processes_config p;
	char *ptext = slurp(dir, "processes.yaml", &len);
	processes_config_parse_buffer(&p, "/etc/lithos/processes/demo.yaml", ptext, len, d);
	free(ptext);

	struct container_config cc;
	char *ctext = slurp(dir, "container.yaml", &len);
	struct buf ct = { 0 };
	buf_add(&ct, ctext ? ctext : "", ctext ? len : 0);
	if (extra_yaml)
		buf_puts(&ct, extra_yaml);
	container_config_parse_buffer(&cc, "/images/app/v1/config/app.yaml", buf_str(&ct), ct.len, d);
	buf_free(&ct);
	free(ctext);

	/* a file `standalone`: the config lxc-start runs with no lithos
	 * around (lithos_lxcconf --standalone, the lxc-create template) */
	char *sa = slurp(dir, "standalone", &len);
	bool standalone = sa != NULL;
	free(sa);

	unsigned index = 0;
	char *itext = slurp(dir, "index", &len);
	if (itext)
		index = (unsigned)atoi(itext);
	free(itext);

	int rc = -1;
	if (diags_count(d) == 0 && p.n == 1) {
		struct instance in;
		long cmd_pid = p.v[0].kind == KIND_COMMAND ? 4242 : 0;
		if (instance_build(&in, &s, &p.v[0], &cc, "/images/app/v1", index, cmd_pid, NULL, 0,
				   d) == 0) {
			char *state = xasprintf("%s/%s", m.state_dir, in.lxc_name);
			struct lxc_facts f = {
				.cgroup = cg,
				.memsw = cg == CGROUP_V1,
				.lxc_path = "/var/lib/lxc",
				.hook = "/usr/libexec/lithos-lxc/lithos_hook",
				.init = "/usr/libexec/lithos-lxc/lithos_init",
				.state_dir = state,
				.stdio_log = "/var/log/lithos/stderr/demo.log",
				.term = cmd_pid ? "xterm" : NULL,
				.image_resolv_conf = IMAGE_FILE_REGULAR,
				.image_hosts = IMAGE_FILE_REGULAR,
				.base_template = "# (templates/base.conf)\n",
				.userns_template = "# (templates/userns.conf)\n",
				.standalone = force_standalone || standalone,
			};
			rc = lxcconf_render(&in, &m, &f, out, d);
			if (init_out) {
				struct strlist argv = { 0 };
				const int stdio[3] = { 70, 71, 72 };
				lxcconf_init_argv(&in, stdio, -1, &argv);
				for (size_t a = 0; a < argv.n; a++)
					buf_printf(init_out, "%s\n", argv.v[a]);
				strlist_free(&argv);
			}
			free(state);
		}
		instance_free(&in);
	}
	(void)case_name;
	container_config_free(&cc);
	processes_config_free(&p);
	sandbox_config_free(&s);
	master_config_free(&m);
	return rc;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	const char *src = getenv("top_srcdir");
	char *root = xasprintf("%s/tests/golden", src ? src : ".");
	bool update = getenv("LITHOS_UPDATE_GOLDEN") != NULL;
	DIR *dh = opendir(root);
	ok(dh != NULL, "open %s", root);
	if (!dh)
		return done_testing();
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(dh)))
		if (de->d_name[0] != '.') {
			char *nm = xstrdup(de->d_name);
			VEC_PUSH(names, n, nm);
		}
	closedir(dh);
	qsort(names, n, sizeof(*names), cmp_name);
	ok(n >= 8, "at least 8 golden cases (found %zu)", n);
	for (size_t i = 0; i < n; i++) {
		char *dir = xasprintf("%s/%s", root, names[i]);
		for (int v = 1; v <= 2; v++) {
			struct diags d = { 0 };
			struct buf out = { 0 }, again = { 0 }, init = { 0 };
			int rc = render_case(dir, names[i], v == 2 ? CGROUP_V2 : CGROUP_V1, false, NULL, &out,
					     v == 1 ? &init : NULL, &d);
			if (!ok(rc == 0, "%s: renders for cgroup v%d", names[i], v))
				diags_print(stdout, &d);
			diags_free(&d);
			render_case(dir, names[i], v == 2 ? CGROUP_V2 : CGROUP_V1, false, NULL, &again, NULL, &d);
			diags_free(&d);
			ok(out.len == again.len && !memcmp(buf_str(&out), buf_str(&again), out.len),
			   "%s: v%d rendering is deterministic", names[i], v);
			char *fname = xasprintf("expected-v%d.conf", v);
			if (update) {
				char *path = xasprintf("%s/%s", dir, fname);
				FILE *f = fopen(path, "w");
				if (f) {
					fwrite(buf_str(&out), 1, out.len, f);
					fclose(f);
				}
				free(path);
			}
			size_t elen = 0;
			char *expected = slurp(dir, fname, &elen);
			bool same = expected && elen == out.len && !memcmp(expected, buf_str(&out), elen);
			if (!ok(same, "%s: matches %s", names[i], fname)) {
				printf("# --- got:\n");
				const char *p = buf_str(&out);
				while (*p) {
					const char *e = strchrnul(p, '\n');
					printf("# %.*s\n", (int)(e - p), p);
					p = *e ? e + 1 : e;
				}
			}
			free(expected);
			free(fname);
			if (v == 1) {
				if (update) {
					char *path = xasprintf("%s/expected-init.txt", dir);
					FILE *f = fopen(path, "w");
					if (f) {
						fwrite(buf_str(&init), 1, init.len, f);
						fclose(f);
					}
					free(path);
				}
				expected = slurp(dir, "expected-init.txt", &elen);
				same = expected && elen == init.len &&
				       !memcmp(expected, buf_str(&init), elen);
				if (!ok(same, "%s: pid 1's argv matches expected-init.txt", names[i]))
					printf("# --- got:\n# %s\n", buf_str(&init));
				free(expected);
			}
			buf_free(&init);
			buf_free(&out);
			buf_free(&again);
		}
		free(dir);
		free(names[i]);
	}
	free(names);

	/* standalone: a port lithos_tree would bind in the host's network
	 * namespace (external: true, bridged) cannot be had */
	{
		char *dir = xasprintf("%s/04-bridged-daemon", root);
		struct diags d = { 0 };
		struct buf out = { 0 };
		int rc = render_case(dir, "04-bridged-daemon", CGROUP_V2, true, NULL, &out, NULL, &d);
		struct buf msg = { 0 };
		for (size_t k = 0; k < d.n; k++)
			buf_printf(&msg, "%s\n", d.v[k].msg);
		ok(rc < 0 && d.n == 1 && strstr(buf_str(&msg), "tcp-ports: port 8081 has external: true") &&
			   strstr(buf_str(&msg), "standalone"),
		   "standalone: external: true port of a bridged sandbox refused (%s)", buf_str(&msg));
		ok(d.n == 1 && d.v[0].line == 5, "standalone: the problem is at container.yaml line 5");
		buf_free(&msg);
		buf_free(&out);
		diags_free(&d);
		free(dir);
	}
	/* standalone: secrets would have to be written into the config file */
	{
		static const char *const extra[] = {
			"secret-environ: {TOKEN: \"v2:AAAA\"}\n",
			"secret-environ-file: /config/secrets.yaml\n",
		};
		char *dir = xasprintf("%s/13-standalone", root);
		for (size_t k = 0; k < 2; k++) {
			struct diags d = { 0 };
			struct buf out = { 0 };
			int rc = render_case(dir, "13-standalone", CGROUP_V2, false, extra[k], &out, NULL,
					     &d);
			ok(rc < 0 && d.n == 1 && strstr(d.v[0].msg, "secret-environ:") &&
				   strstr(d.v[0].msg, "standalone") && d.v[0].line == 12,
			   "standalone: %.*s refused at line 12 (%s)", (int)strcspn(extra[k], ":"), extra[k],
			   d.n ? d.v[0].msg : "no problem");
			buf_free(&out);
			diags_free(&d);
		}
		free(dir);
	}
	free(root);
	return done_testing();
}
