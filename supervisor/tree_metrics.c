#include "tree_metrics.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#include <string.h>
#include <sys/stat.h>

struct group_ptrs {
	char *group;
	uint64_t *started, *deaths, *failures;
	int64_t *running;
};

static struct {
	uint64_t *restarts;
	int64_t *sandboxes, *containers, *queue;
	uint64_t *c_started, *c_deaths, *c_failures;
	int64_t *c_running, *c_unknown;
	struct group_ptrs *groups;
	size_t n_groups;
	bool ok;
} M;

static uint64_t dummy_u;
static int64_t dummy_i;

int tree_metrics_open(struct tree *t)
{
	const char *env = getenv("CANTAL_PATH");
	char *base = env && *env ? xstrdup(env) : xasprintf("%s/metrics/lithos", t->runtime_dir);
	char *dir = xstrdup(base);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		mkdir(dir, 0755);
	}
	const char *penv = getenv("LITHOS_PROMETHEUS_FILE");
	char *prom = penv && *penv ? xstrdup(penv) : xasprintf("%s/metrics/lithos.prom", t->runtime_dir);
	char *err = NULL;
	t->metrics = metrics_new(base, prom, &err);
	if (!t->metrics) {
		log_error("Metrics are off: %s", err);
		free(err);
	}
	free(dir);
	free(base);
	free(prom);
	return t->metrics ? 0 : -1;
}

static struct group_ptrs *find_group(const char *sandbox, const char *proc)
{
	char *g = xasprintf("processes.%s.%s", sandbox, proc);
	struct group_ptrs *r = NULL;
	for (size_t i = 0; i < M.n_groups; i++)
		if (!strcmp(M.groups[i].group, g))
			r = &M.groups[i];
	free(g);
	return r;
}

void tree_metric_setup(struct tree *t)
{
	for (size_t i = 0; i < M.n_groups; i++)
		free(M.groups[i].group);
	free(M.groups);
	M.groups = NULL;
	M.n_groups = 0;
	M.ok = false;
	if (!t->metrics)
		return;
	struct metrics *m = t->metrics;
	M.restarts = metrics_counter(m, "master", "restarts");
	M.sandboxes = metrics_level(m, "master", "sandboxes");
	M.containers = metrics_level(m, "master", "containers");
	M.queue = metrics_level(m, "master", "queue");
	M.c_started = metrics_counter(m, "containers", "started");
	M.c_deaths = metrics_counter(m, "containers", "deaths");
	M.c_failures = metrics_counter(m, "containers", "failures");
	M.c_running = metrics_level(m, "containers", "running");
	M.c_unknown = metrics_level(m, "containers", "unknown");
	/* one group per process entry that is wanted or still running */
	for (size_t pass = 0; pass < 2; pass++) {
		size_t n = pass ? t->n_children : t->n_wants;
		for (size_t i = 0; i < n; i++) {
			const char *sb = pass ? t->children[i].sandbox : t->wants[i].sandbox;
			const char *pr = pass ? t->children[i].proc : t->wants[i].proc;
			if (find_group(sb, pr))
				continue;
			struct group_ptrs g = { xasprintf("processes.%s.%s", sb, pr), NULL, NULL, NULL, NULL };
			g.started = metrics_counter(m, g.group, "started");
			g.deaths = metrics_counter(m, g.group, "deaths");
			g.failures = metrics_counter(m, g.group, "failures");
			g.running = metrics_level(m, g.group, "running");
			VEC_PUSH(M.groups, M.n_groups, g);
		}
	}
	char *err = NULL;
	if (metrics_commit(m, &err) < 0) {
		log_error("Cannot write metrics: %s", err);
		free(err);
		return;
	}
	M.ok = true;
	tree_metric_flush(t);
}

static uint64_t *cu(uint64_t *p)
{
	return M.ok && p ? p : &dummy_u;
}

static int64_t *li(int64_t *p)
{
	return M.ok && p ? p : &dummy_i;
}

void tree_metric_started(struct tree *t, const struct child *c)
{
	struct group_ptrs *g = find_group(c->sandbox, c->proc);
	(*cu(M.c_started))++;
	if (g)
		(*cu(g->started))++;
	(void)t; /* levels and the Prometheus file: once per loop (tree_metric_flush) */
}

void tree_metric_died(struct tree *t, const struct child *c, bool failure)
{
	struct group_ptrs *g = find_group(c->sandbox, c->proc);
	(*cu(M.c_deaths))++;
	if (failure)
		(*cu(M.c_failures))++;
	if (g) {
		(*cu(g->deaths))++;
		if (failure)
			(*cu(g->failures))++;
	}
	(void)t;
}

void tree_metric_forget(struct tree *t, const struct child *c)
{
	(void)t;
	(void)c;
}

void tree_metric_restart(struct tree *t)
{
	(*cu(M.restarts))++;
	tree_metric_flush(t);
}

void tree_metric_flush(struct tree *t)
{
	if (!M.ok)
		return;
	int64_t running = 0, queue = 0, unknown = 0;
	for (size_t i = 0; i < M.n_groups; i++)
		*li(M.groups[i].running) = 0;
	for (size_t i = 0; i < t->n_children; i++) {
		const struct child *c = &t->children[i];
		if (c->state == CH_RUNNING && !c->wanted) {
			/* its entry is gone from the configs: being killed
			 * (chapter 6: containers.unknown, and in the queue) */
			unknown++;
			queue++;
		} else if (c->state == CH_RUNNING && c->proc_down) {
			queue++; /* restart-process-only: waiting to restart in place */
		} else if (c->state == CH_RUNNING) {
			running++;
			struct group_ptrs *g = find_group(c->sandbox, c->proc);
			if (g)
				(*li(g->running))++;
			if (c->term_sent)
				queue++;
		} else if (c->state == CH_WAIT_RESTART) {
			queue++;
		}
	}
	*li(M.c_running) = running;
	*li(M.c_unknown) = unknown;
	*li(M.queue) = queue;
	*li(M.containers) = (int64_t)t->n_wants;
	*li(M.sandboxes) = (int64_t)t->setup.n_sandboxes;
	char *err = NULL;
	if (metrics_write_prometheus(t->metrics, &err) < 0) {
		log_warn("Cannot write the Prometheus file: %s", err);
		free(err);
	}
}

void tree_metrics_close(struct tree *t)
{
	if (t->metrics)
		metrics_free(t->metrics);
	t->metrics = NULL;
	M.ok = false;
}
