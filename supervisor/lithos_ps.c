/* lithos_ps: what the tree runs: sandboxes, processes, instances with their
 * pids, state, uptime, restarts, failures, memory and cpu from the cgroup,
 * and the lxc-attach line that enters each; containers in the LXC path that
 * lithos made but no tree supervises are flagged. */
#include "config.h"
#include "host.h"
#include "lxcrun.h"
#include "treesignal.h"
#include "util.h"
#include "yamltree.h"

#include <dirent.h>
#include <getopt.h>
#include <lxc/lxccontainer.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct row {
	char *f[11];
	pid_t init;
	int main_pid; /* status.json's main_pid (optional): > 0 the process's
		       * pid in the container, -1 down, 0 init's first child */
	long long mem;
	double cpu;
	bool unknown;
};

/* The instances of runtime-dir/status.json (JSON, read with the YAML
 * parser: JSON is YAML), in the order of struct row's fields. */
static void read_status(const char *path, struct row **rows, size_t *n)
{
	static const char *const keys[11] = { "name",	 "lxc_name", "sandbox", "process",
					      "state",	 "knot_pid", "started", "starts",
					      "deaths", "failures", "last_exit" };
	struct ydoc doc;
	struct diags d = { 0 };
	if (ydoc_load_file(&doc, path, &d) < 0 || !doc.root || doc.root->kind != YN_MAP) {
		diags_free(&d);
		ydoc_free(&doc);
		return;
	}
	diags_free(&d);
	const struct ynode *list = NULL;
	for (size_t i = 0; i < doc.root->n_pairs; i++)
		if (doc.root->pairs[i].key->kind == YN_SCALAR &&
		    !strcmp(doc.root->pairs[i].key->value, "instances"))
			list = doc.root->pairs[i].value;
	for (size_t i = 0; list && list->kind == YN_SEQ && i < list->n_items; i++) {
		const struct ynode *in = list->items[i];
		if (in->kind != YN_MAP)
			continue;
		struct row r = { 0 };
		for (size_t p = 0; p < in->n_pairs; p++) {
			const struct ynode *k = in->pairs[p].key, *v = in->pairs[p].value;
			if (k->kind != YN_SCALAR || v->kind != YN_SCALAR)
				continue;
			for (int f = 0; f < 11; f++)
				if (!r.f[f] && !strcmp(k->value, keys[f]))
					r.f[f] = xstrdup(v->value);
			if (!strcmp(k->value, "main_pid"))
				r.main_pid = atoi(v->value);
		}
		bool complete = true;
		for (int f = 0; f < 11; f++)
			complete &= r.f[f] != NULL;
		if (!complete) {
			for (int f = 0; f < 11; f++)
				free(r.f[f]);
			continue;
		}
		VEC_PUSH(*rows, *n, r);
	}
	ydoc_free(&doc);
}

static long long read_ll(const char *path)
{
	char *s = read_file_limited(path, 4096, NULL);
	long long v = s ? strtoll(s, NULL, 10) : -1;
	free(s);
	return v;
}

static void cgroup_stats(const struct master_config *m, enum cgroup_version v, const char *lxc,
			 struct row *r)
{
	r->mem = -1;
	r->cpu = -1;
	if (!m->cgroup_name)
		return;
	char *p;
	if (v == CGROUP_V2) {
		p = xasprintf("/sys/fs/cgroup/%s/%s/memory.current", m->cgroup_name, lxc);
		r->mem = read_ll(p);
		free(p);
		p = xasprintf("/sys/fs/cgroup/%s/%s/cpu.stat", m->cgroup_name, lxc);
		char *s = read_file_limited(p, 4096, NULL);
		char *u = s ? strstr(s, "usage_usec ") : NULL;
		if (u)
			r->cpu = strtod(u + 11, NULL) / 1e6;
		free(s);
		free(p);
		return;
	}
	p = xasprintf("/sys/fs/cgroup/memory/%s/%s/memory.usage_in_bytes", m->cgroup_name, lxc);
	r->mem = read_ll(p);
	free(p);
	p = xasprintf("/sys/fs/cgroup/cpuacct/%s/%s/cpuacct.usage", m->cgroup_name, lxc);
	long long ns = read_ll(p);
	free(p);
	r->cpu = ns >= 0 ? (double)ns / 1e9 : -1;
}

/* A process as its own pid namespace numbers it: the last field of NSpid. */
static int ns_pid(int pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	char *st = read_file_limited(path, 1 << 16, NULL);
	char *ns = st ? strstr(st, "NSpid:") : NULL;
	int inside = 0;
	if (ns) {
		char *end = strchrnul(ns, '\n');
		char *last = end;
		while (last > ns && (last[-1] == ' ' || last[-1] == '\t'))
			last--;
		while (last > ns && last[-1] != ' ' && last[-1] != '\t')
			last--;
		inside = atoi(last);
	}
	free(st);
	return inside;
}

/* The process in its container's pid namespace.  After a restart in place
 * the tree has its pid from lithos_init (main_pid > 0): it is taken if it
 * is a child of the container's init (what earlier runs left behind are
 * children too, listed first; and the number comes through a fifo the
 * process could write to), else 0.  Without a restart in place the
 * process is the first thing init started: its first child.  0 when the
 * process is down. */
static int pid_inside(pid_t init, int main_pid)
{
	if (init <= 0 || main_pid < 0)
		return 0;
	char path[96];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)init, (int)init);
	char *kids = read_file_limited(path, 1 << 16, NULL);
	int found = 0;
	for (char *p = kids, *end; p && *p && !found; p = end) {
		long child = strtol(p, &end, 10);
		if (end == p)
			break;
		if (child <= 0)
			continue;
		int inside = ns_pid((int)child);
		if (!main_pid || inside == main_pid)
			found = inside;
		if (!main_pid)
			break;
	}
	free(kids);
	return found;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *master = "/etc/lithos/master.yaml";
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "C:h", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			master = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs("Usage: lithos_ps [-C MASTER] [--json]\n\n"
			      "Show the instances lithos_tree supervises: sandbox, process, instance,\n"
			      "state, knot pid, container init pid on the host (--json also gives the\n"
			      "process's pid inside), uptime, restarts, failures, memory and cpu from the\n"
			      "cgroup, and the lxc-attach command that enters it.  Containers lithos\n"
			      "created that no tree supervises are listed as unknown.\n"
			      "\n"
			      "Options:\n"
			      "  -C, --config MASTER  master config (default /etc/lithos/master.yaml)\n"
			      "  --json               one JSON object instead of the table\n"
			      "  -h, --help           show this help\n",
			      stdout);
			return 0;
		default:
			return 2;
		}
	}
	struct master_config m;
	struct diags d = { 0 };
	if (master_config_parse(&m, master, &d) < 0) {
		diags_print(stderr, &d);
		return 1;
	}
	struct host_info h;
	char *err = NULL;
	host_info_load(&h, &m, &err);
	free(err);
	char *pidfile = xasprintf("%s/master.pid", m.runtime_dir);
	char *pidtext = read_file_limited(pidfile, 64, NULL);
	int tree = pidtext ? atoi(pidtext) : 0;
	/* alive: the pid holds the lock on master.pid (a stale file's pid may
	 * be any process's by now) */
	bool tree_alive = tree > 1 && tree_signal(m.runtime_dir, 0, NULL) == tree;
	free(pidtext);
	free(pidfile);

	struct row *rows = NULL;
	size_t n = 0;
	char *status_path = xasprintf("%s/status.json", m.runtime_dir);
	if (tree_alive)
		read_status(status_path, &rows, &n);
	free(status_path);
	/* containers of ours that nobody lists */
	DIR *dh = h.lxc_path ? opendir(h.lxc_path) : NULL;
	struct dirent *de;
	while (dh && (de = readdir(dh))) {
		if (de->d_name[0] == '.')
			continue;
		char *dir = xasprintf("%s/%s", h.lxc_path, de->d_name);
		bool ours = instance_dir_is_ours(dir);
		free(dir);
		if (!ours)
			continue;
		bool listed = false;
		for (size_t i = 0; i < n; i++)
			listed |= !strcmp(rows[i].f[1], de->d_name);
		if (listed || strstr(de->d_name, ".cmd."))
			continue;
		struct row r = { 0 };
		r.f[0] = xstrdup("?");
		r.f[1] = xstrdup(de->d_name);
		r.f[2] = xstrdup("?");
		r.f[3] = xstrdup("?");
		r.f[4] = xstrdup("unknown");
		for (int i = 5; i < 11; i++)
			r.f[i] = xstrdup("0");
		r.unknown = true;
		VEC_PUSH(rows, n, r);
	}
	if (dh)
		closedir(dh);
	time_t now = time(NULL);
	for (size_t i = 0; i < n; i++) {
		struct lxc_container *lc = lxc_container_new(rows[i].f[1], h.lxc_path);
		rows[i].init = lc && lc->is_running(lc) ? lc->init_pid(lc) : 0;
		if (lc)
			lxc_container_put(lc);
		cgroup_stats(&m, h.cgroup, rows[i].f[1], &rows[i]);
	}
	if (json) {
		printf("{\"tree_pid\":%d,\"tree_running\":%s,\"instances\":[", tree, tree_alive ? "true" : "false");
		for (size_t i = 0; i < n; i++) {
			struct row *r = &rows[i];
			printf("%s{\"name\":", i ? "," : "");
			json_str(r->f[0]);
			printf(",\"container\":");
			json_str(r->f[1]);
			printf(",\"sandbox\":");
			json_str(r->f[2]);
			printf(",\"process\":");
			json_str(r->f[3]);
			printf(",\"state\":");
			json_str(r->f[4]);
			double started = strtod(r->f[6], NULL);
			printf(",\"knot_pid\":%s,\"init_pid\":%d,\"pid_in_container\":%d,\"uptime\":%.0f,\"starts\":%s,\"restarts\":%llu,\"failures\":%s,\"memory\":%lld,\"cpu_seconds\":%.3f,\"attach\":",
			       r->f[5], (int)r->init, pid_inside(r->init, r->main_pid),
			       started > 0 ? (double)now - started : 0.0, r->f[7],
			       strtoull(r->f[7], NULL, 10) ? strtoull(r->f[7], NULL, 10) - 1 : 0ULL,
			       r->f[9], r->mem, r->cpu);
			char *attach = xasprintf("lxc-attach -P %s -n %s", h.lxc_path, r->f[1]);
			json_str(attach);
			free(attach);
			printf("}");
		}
		printf("]}\n");
	} else {
		if (!tree_alive)
			printf("lithos_tree is not running (pid file %s/master.pid)\n", m.runtime_dir);
		printf("%-28s %-12s %7s %7s %8s %8s %8s %10s %9s  %s\n", "INSTANCE", "STATE", "KNOT",
		       "INIT", "UPTIME", "RESTARTS", "FAILURES", "MEMORY", "CPU(s)", "ENTER");
		for (size_t i = 0; i < n; i++) {
			struct row *r = &rows[i];
			double started = strtod(r->f[6], NULL);
			char mem[32] = "-", cpu[32] = "-", up[32] = "-";
			if (r->mem >= 0)
				snprintf(mem, sizeof(mem), "%.1fMi", (double)r->mem / 1048576.0);
			if (r->cpu >= 0)
				snprintf(cpu, sizeof(cpu), "%.2f", r->cpu);
			if (started > 0)
				snprintf(up, sizeof(up), "%.0fs", (double)now - started);
			unsigned long long starts = strtoull(r->f[7], NULL, 10);
			printf("%-28s %-12s %7s %7d %8s %8llu %8s %10s %9s  lxc-attach -P %s -n %s\n",
			       r->f[0], r->f[4], r->f[5], (int)r->init, up, starts ? starts - 1 : 0,
			       r->f[9], mem, cpu, h.lxc_path, r->f[1]);
		}
	}
	return 0;
}
