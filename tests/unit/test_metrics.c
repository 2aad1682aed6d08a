/* Unit test of supervisor/metrics.c (no root): the cantal files checked byte
 * by byte in C and through the independent reader
 * tests/integration/cantal_reader.py (run with /usr/bin/python3, those
 * points skipped without it), counters carried over to a new metrics object,
 * re-commits with other groups, the Prometheus file.
 *
 * Also the writer used by tests/integration/t0400-metrics-reader.sh:
 *   test_metrics --write DIR 1|2|live   (see write_mode() below)
 */
#include "../tap.h"
#include "metrics.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PYTHON
#define PYTHON "/usr/bin/python3"
#endif
#define READER LITHOS_SRCDIR "/tests/integration/cantal_reader.py"

static char *dir;

static void skip(int count, const char *why)
{
	for (int i = 0; i < count; i++)
		printf("ok %d # SKIP %s\n", ++tap_n, why);
	fflush(stdout);
}

static char *path_in(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static char *slurp(const char *name, size_t *len)
{
	_cleanup_free_ char *p = path_in(name);
	size_t l = 0;
	char *s = read_file_limited(p, 64 << 20, &l);
	if (len)
		*len = l;
	return s;
}

static bool exists(const char *name)
{
	_cleanup_free_ char *p = path_in(name);
	struct stat st;
	return lstat(p, &st) == 0;
}

static ino_t inode_of(const char *name)
{
	_cleanup_free_ char *p = path_in(name);
	struct stat st;
	return stat(p, &st) == 0 ? st.st_ino : 0;
}

static void rm(const char *name)
{
	_cleanup_free_ char *p = path_in(name);
	unlink(p);
}

/* Any file ending in .tmp in dir? */
static bool tmp_left(void)
{
	_cleanup_free_ char *cmd = xasprintf("ls -a '%s' | grep -q '\\.tmp$'", dir);
	return system(cmd) == 0;
}

static uint64_t value_at(const char *values, size_t i)
{
	uint64_t v;
	memcpy(&v, values + 8 * i, 8);
	return v;
}

static bool have_python(void)
{
	return access(PYTHON, X_OK) == 0;
}

/* Run the reader with args; its stdout in *out; exit status (-1: not run). */
static int reader(char **out, const char *a1, const char *a2, const char *a3)
{
	int pfd[2];
	*out = NULL;
	if (pipe(pfd) < 0)
		return -1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execl(PYTHON, PYTHON, READER, a1, a2, a3, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	struct buf b = {0};
	char chunk[4096];
	ssize_t r;
	while ((r = read(pfd[0], chunk, sizeof(chunk))) > 0 || (r < 0 && errno == EINTR))
		if (r > 0)
			buf_add(&b, chunk, (size_t)r);
	close(pfd[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	*out = xstrdup(buf_str(&b));
	buf_free(&b);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The reader's view of base must be exactly want (3 points). */
static void reader_is(const char *base_name, const char *want, const char *what)
{
	if (!have_python()) {
		skip(3, PYTHON " not found, independent reader not run");
		return;
	}
	_cleanup_free_ char *base = path_in(base_name);
	_cleanup_free_ char *out = NULL, *out2 = NULL;
	is_int(reader(&out, base, NULL, NULL), 0, "reader accepts the files (%s)", what);
	is_str(out, want, "reader: names, kinds, values in file order (%s)", what);
	is_int(reader(&out2, "--strict", base, NULL), 0, "reader --strict: zero padding, no duplicates (%s)", what);
}

struct ch6 {
	uint64_t *restarts;
	int64_t *sandboxes, *containers, *queue;
	uint64_t *started, *deaths, *failures;
	int64_t *running, *unknown;
};

struct proc {
	uint64_t *started, *deaths, *failures;
	int64_t *running;
};

static void reg_ch6(struct metrics *m, struct ch6 *c)
{
	c->restarts = metrics_counter(m, "master", "restarts");
	c->sandboxes = metrics_level(m, "master", "sandboxes");
	c->containers = metrics_level(m, "master", "containers");
	c->queue = metrics_level(m, "master", "queue");
	c->started = metrics_counter(m, "containers", "started");
	c->deaths = metrics_counter(m, "containers", "deaths");
	c->failures = metrics_counter(m, "containers", "failures");
	c->running = metrics_level(m, "containers", "running");
	c->unknown = metrics_level(m, "containers", "unknown");
}

static void reg_proc(struct metrics *m, const char *sandbox, const char *name, struct proc *p)
{
	_cleanup_free_ char *g = xasprintf("processes.%s.%s", sandbox, name);
	p->started = metrics_counter(m, g, "started");
	p->deaths = metrics_counter(m, g, "deaths");
	p->failures = metrics_counter(m, g, "failures");
	p->running = metrics_level(m, g, "running");
}

static const char *ch6_meta =
	"counter 8: {\"group\":\"master\",\"metric\":\"restarts\"}\n"
	"level 8 signed: {\"group\":\"master\",\"metric\":\"sandboxes\"}\n"
	"level 8 signed: {\"group\":\"master\",\"metric\":\"containers\"}\n"
	"level 8 signed: {\"group\":\"master\",\"metric\":\"queue\"}\n"
	"counter 8: {\"group\":\"containers\",\"metric\":\"started\"}\n"
	"counter 8: {\"group\":\"containers\",\"metric\":\"deaths\"}\n"
	"counter 8: {\"group\":\"containers\",\"metric\":\"failures\"}\n"
	"level 8 signed: {\"group\":\"containers\",\"metric\":\"running\"}\n"
	"level 8 signed: {\"group\":\"containers\",\"metric\":\"unknown\"}\n";

static char *proc_meta(const char *sandbox, const char *name)
{
	return xasprintf(
		"counter 8: {\"group\":\"processes.%1$s.%2$s\",\"metric\":\"started\"}\n"
		"counter 8: {\"group\":\"processes.%1$s.%2$s\",\"metric\":\"deaths\"}\n"
		"counter 8: {\"group\":\"processes.%1$s.%2$s\",\"metric\":\"failures\"}\n"
		"level 8 signed: {\"group\":\"processes.%1$s.%2$s\",\"metric\":\"running\"}\n",
		sandbox, name);
}

/* ---------------------------------------------------------------- */

static void test_args(void)
{
	char *err = NULL;
	ok(!metrics_new(NULL, NULL, &err) && err, "NULL cantal path refused");
	free(err);
	err = NULL;
	ok(!metrics_new("", NULL, &err) && err, "empty cantal path refused");
	free(err);
	err = NULL;
	ok(!metrics_new("/run/cantal/", NULL, &err) && err && strstr(err, "DIR/NAME"),
	   "a directory as cantal path refused: %s", err ? err : "");
	free(err);
}

static void test_first_commit(void)
{
	char *err = NULL;
	_cleanup_free_ char *base = path_in("lithos");
	_cleanup_free_ char *prom = path_in("lithos.prom");
	struct metrics *m = metrics_new(base, prom, &err);
	ok(m != NULL, "metrics_new on an empty directory");

	struct ch6 c;
	struct proc app, worker;
	reg_ch6(m, &c);
	reg_proc(m, "web", "app", &app);
	reg_proc(m, "web", "worker", &worker);
	ok(!exists("lithos.values") && !exists("lithos.meta") && !exists("lithos.tmp"),
	   "no file before the first commit");
	ok(c.restarts && c.sandboxes && c.containers && c.queue && c.started && c.deaths &&
	   c.failures && c.running && c.unknown && app.started && app.running &&
	   worker.started && worker.running, "all 17 registrations give a pointer");
	ok(metrics_counter(m, "master", "restarts") == c.restarts,
	   "registering a name again gives the same pointer");
	ok(metrics_level(m, "master", "restarts") == NULL, "the same name as the other kind: NULL");
	ok(metrics_counter(m, "", "x") == NULL && metrics_level(m, "x", "") == NULL,
	   "empty group or metric: NULL");
	ok(*c.restarts == 0 && *c.queue == 0 && *worker.running == 0, "values start at 0");

	/* layout: value i at base + 8*i, 8-aligned */
	char *p0 = (char *)c.restarts;
	ok(((uintptr_t)p0 & 7) == 0, "pointers 8-byte aligned");
	ok((char *)c.queue - p0 == 8 * 3 && (char *)c.unknown - p0 == 8 * 8 &&
	   (char *)app.started - p0 == 8 * 9 && (char *)app.running - p0 == 8 * 12 &&
	   (char *)worker.running - p0 == 8 * 16,
	   "pointers in registration order, 8 bytes apart");

	*c.queue = 7;	/* set before commit: kept */
	is_int(metrics_commit(m, &err), 0, "first commit: %s", err ? err : "ok");
	ok(p0 == (char *)c.restarts, "pointers unchanged by the commit");
	ok(!exists("lithos.tmp"), "no lithos.tmp left after commit");

	size_t vlen, mlen;
	_cleanup_free_ char *values = slurp("lithos.values", &vlen);
	_cleanup_free_ char *meta = slurp("lithos.meta", &mlen);
	is_int(vlen, 4096, "values file: one 4096 block for 17 values");
	is_int(value_at(values, 3), 7, "value set before the commit is in the file");
	_cleanup_free_ char *pa = proc_meta("web", "app"), *pw = proc_meta("web", "worker");
	_cleanup_free_ char *want_meta = xasprintf("%s%s%s", ch6_meta, pa, pw);
	is_str(meta, want_meta, "meta: one line per value, exact format, registration order");

	/* increments are in the file at once (MAP_SHARED) */
	_cleanup_free_ char *vpath = path_in("lithos.values");
	int fd = open(vpath, O_RDONLY);
	const char *view = fd >= 0 ? mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
	ok(view != MAP_FAILED, "a reader maps the values file");
	*c.restarts += 1;
	*c.sandboxes = 1;
	*c.containers = 2;
	*c.queue = 0;
	*c.started += 5;
	*c.deaths += 3;
	*c.failures += 1;
	*c.running = 2;
	*c.unknown = -1;	/* levels are signed */
	*app.started += 3;
	*app.deaths += 2;
	*app.failures += 1;
	*app.running = 1;
	*worker.started += 2;
	*worker.deaths += 1;
	*worker.running = 1;
	*c.started = UINT64_MAX - 1;	/* the full u64 range */
	*c.started += 1;
	if (view != MAP_FAILED) {
		is_int(value_at(view, 0), 1, "reader's mapping sees the increment of master.restarts");
		int64_t u;
		memcpy(&u, view + 8 * 8, 8);
		is_int(u, -1, "negative level as i64 in host order");
		ok(value_at(view, 4) == UINT64_MAX, "u64 counter at its maximum");
		munmap((void *)view, 4096);
	} else {
		skip(3, "no mapping");
	}
	if (fd >= 0)
		close(fd);
	*c.started = 5;

	free(values);
	values = slurp("lithos.values", &vlen);
	static const uint64_t want[17] = { 1, 1, 2, 0, 5, 3, 1, 2, (uint64_t)-1,
					   3, 2, 1, 1, 2, 1, 0, 1 };
	bool same = vlen == 4096;
	for (size_t i = 0; same && i < 17; i++)
		same = value_at(values, i) == want[i];
	ok(same, "read(2) of the values file: all 17 values in order");
	bool zero = true;
	for (size_t i = 17 * 8; i < vlen; i++)
		zero = zero && values[i] == 0;
	ok(zero, "zero padding after the last value");

	reader_is("lithos",
		  "counter\tmaster\trestarts\t1\n"
		  "level\tmaster\tsandboxes\t1\n"
		  "level\tmaster\tcontainers\t2\n"
		  "level\tmaster\tqueue\t0\n"
		  "counter\tcontainers\tstarted\t5\n"
		  "counter\tcontainers\tdeaths\t3\n"
		  "counter\tcontainers\tfailures\t1\n"
		  "level\tcontainers\trunning\t2\n"
		  "level\tcontainers\tunknown\t-1\n"
		  "counter\tprocesses.web.app\tstarted\t3\n"
		  "counter\tprocesses.web.app\tdeaths\t2\n"
		  "counter\tprocesses.web.app\tfailures\t1\n"
		  "level\tprocesses.web.app\trunning\t1\n"
		  "counter\tprocesses.web.worker\tstarted\t2\n"
		  "counter\tprocesses.web.worker\tdeaths\t1\n"
		  "counter\tprocesses.web.worker\tfailures\t0\n"
		  "level\tprocesses.web.worker\trunning\t1\n",
		  "first commit");

	/* Prometheus */
	ok(!exists("lithos.prom"), "no Prometheus file before metrics_write_prometheus");
	is_int(metrics_write_prometheus(m, &err), 0, "write the Prometheus file: %s", err ? err : "ok");
	_cleanup_free_ char *promtext = slurp("lithos.prom", NULL);
	static const char *want_prom =
		"# TYPE lithos_containers_deaths_total counter\n"
		"lithos_containers_deaths_total{} 3\n"
		"# TYPE lithos_containers_failures_total counter\n"
		"lithos_containers_failures_total{} 1\n"
		"# TYPE lithos_containers_running gauge\n"
		"lithos_containers_running{} 2\n"
		"# TYPE lithos_containers_started_total counter\n"
		"lithos_containers_started_total{} 5\n"
		"# TYPE lithos_containers_unknown gauge\n"
		"lithos_containers_unknown{} -1\n"
		"# TYPE lithos_master_containers gauge\n"
		"lithos_master_containers{} 2\n"
		"# TYPE lithos_master_queue gauge\n"
		"lithos_master_queue{} 0\n"
		"# TYPE lithos_master_restarts_total counter\n"
		"lithos_master_restarts_total{} 1\n"
		"# TYPE lithos_master_sandboxes gauge\n"
		"lithos_master_sandboxes{} 1\n"
		"# TYPE lithos_processes_deaths_total counter\n"
		"lithos_processes_deaths_total{sandbox=\"web\",process=\"app\"} 2\n"
		"lithos_processes_deaths_total{sandbox=\"web\",process=\"worker\"} 1\n"
		"# TYPE lithos_processes_failures_total counter\n"
		"lithos_processes_failures_total{sandbox=\"web\",process=\"app\"} 1\n"
		"lithos_processes_failures_total{sandbox=\"web\",process=\"worker\"} 0\n"
		"# TYPE lithos_processes_running gauge\n"
		"lithos_processes_running{sandbox=\"web\",process=\"app\"} 1\n"
		"lithos_processes_running{sandbox=\"web\",process=\"worker\"} 1\n"
		"# TYPE lithos_processes_started_total counter\n"
		"lithos_processes_started_total{sandbox=\"web\",process=\"app\"} 3\n"
		"lithos_processes_started_total{sandbox=\"web\",process=\"worker\"} 2\n";
	is_str(promtext, want_prom, "Prometheus text: _total and TYPE counter, TYPE gauge, labels");
	ok(!tmp_left(), "no .tmp file left after writing the Prometheus file");
	if (have_python()) {
		_cleanup_free_ char *out = NULL;
		is_int(reader(&out, "--prom", prom, NULL), 0,
		       "independent reader accepts the Prometheus file");
		ok(out && strstr(out, "counter\tlithos_processes_started_total\t"
				      "{\"process\":\"worker\",\"sandbox\":\"web\"}\t2\n"),
		   "reader sees processes_started_total for web/worker");
	} else {
		skip(2, PYTHON " not found");
	}

	/* atomic replacement: a reader holding the old file keeps whole old text */
	_cleanup_free_ char *ppath = path_in("lithos.prom");
	int old = open(ppath, O_RDONLY);
	ino_t ino = inode_of("lithos.prom");
	*c.started += 1;
	is_int(metrics_write_prometheus(m, &err), 0, "rewrite the Prometheus file");
	ok(ino != inode_of("lithos.prom"), "Prometheus file replaced by rename, not rewritten in place");
	char oldtext[4096] = {0};
	ssize_t r = old >= 0 ? read(old, oldtext, sizeof(oldtext) - 1) : -1;
	is_str(r > 0 ? oldtext : NULL, want_prom, "the old file's content is untouched");
	if (old >= 0)
		close(old);
	free(promtext);
	promtext = slurp("lithos.prom", NULL);
	ok(promtext && strstr(promtext, "\nlithos_containers_started_total{} 6\n"),
	   "the new file has the new value");

	metrics_free(m);
	ok(exists("lithos.values") && exists("lithos.meta") && exists("lithos.prom"),
	   "metrics_free keeps the files");
	free(err);
}

/* A new object on the same base (a re-exec of the tree): counters back,
 * levels from 0, a changed set of groups. */
static void test_carry_over(void)
{
	char *err = NULL;
	_cleanup_free_ char *base = path_in("lithos");
	struct metrics *m = metrics_new(base, NULL, &err);
	ok(m != NULL, "metrics_new on existing files");
	ok(exists("lithos.values") && exists("lithos.meta"), "metrics_new touches no file");

	/* other order, worker gone, cron new, queue now registered as a counter */
	struct proc cron, app;
	struct ch6 c;
	reg_proc(m, "web", "cron", &cron);
	reg_ch6(m, &c);
	reg_proc(m, "web", "app", &app);
	uint64_t *q_as_counter = metrics_counter(m, "master", "queue");
	ok(q_as_counter == NULL, "kind clash in the same set refused");
	uint64_t *odd = metrics_counter(m, "master", "queue2");

	is_int(*c.restarts, 1, "master.restarts carried over before commit");
	is_int(*c.started, 6, "containers.started carried over");
	is_int(*app.started, 3, "processes.web.app.started carried over");
	is_int(*app.deaths, 2, "processes.web.app.deaths carried over");
	is_int(*cron.started, 0, "new processes.web.cron.started starts at 0");
	is_int(*c.running, 0, "level containers.running starts at 0 (not carried)");
	is_int(*c.sandboxes, 0, "level master.sandboxes starts at 0");
	is_int(*odd, 0, "an unknown name starts at 0");

	*c.restarts += 1;
	*c.running = 1;
	*app.running = 1;
	is_int(metrics_commit(m, &err), 0, "commit after re-exec: %s", err ? err : "ok");
	size_t vlen;
	_cleanup_free_ char *values = slurp("lithos.values", &vlen);
	_cleanup_free_ char *meta = slurp("lithos.meta", NULL);
	_cleanup_free_ char *pc = proc_meta("web", "cron"), *pa = proc_meta("web", "app");
	_cleanup_free_ char *want_meta = xasprintf(
		"%s%s%s"
		"counter 8: {\"group\":\"master\",\"metric\":\"queue2\"}\n", pc, ch6_meta, pa);
	is_str(meta, want_meta, "meta of the new set: worker dropped, cron first");
	ok(values && value_at(values, 4) == 2 && value_at(values, 8) == 6 &&
	   value_at(values, 13) == 3 && value_at(values, 14) == 2,
	   "carried counters at their new offsets");
	reader_is("lithos",
		  "counter\tprocesses.web.cron\tstarted\t0\n"
		  "counter\tprocesses.web.cron\tdeaths\t0\n"
		  "counter\tprocesses.web.cron\tfailures\t0\n"
		  "level\tprocesses.web.cron\trunning\t0\n"
		  "counter\tmaster\trestarts\t2\n"
		  "level\tmaster\tsandboxes\t0\n"
		  "level\tmaster\tcontainers\t0\n"
		  "level\tmaster\tqueue\t0\n"
		  "counter\tcontainers\tstarted\t6\n"
		  "counter\tcontainers\tdeaths\t3\n"
		  "counter\tcontainers\tfailures\t1\n"
		  "level\tcontainers\trunning\t1\n"
		  "level\tcontainers\tunknown\t0\n"
		  "counter\tprocesses.web.app\tstarted\t3\n"
		  "counter\tprocesses.web.app\tdeaths\t2\n"
		  "counter\tprocesses.web.app\tfailures\t1\n"
		  "level\tprocesses.web.app\trunning\t1\n"
		  "counter\tmaster\tqueue2\t0\n",
		  "after re-exec");
	is_int(metrics_write_prometheus(m, &err), 0, "no Prometheus path: a no-op returning 0");

	/* ---- re-commit in the same process (config reload) ---- */
	ino_t ino = inode_of("lithos.values");
	*cron.started += 4;
	struct ch6 c2;
	struct proc app2, db;
	reg_ch6(m, &c2);
	reg_proc(m, "web", "app", &app2);
	reg_proc(m, "db", "pg", &db);
	ok(c2.restarts != c.restarts, "a new set gets new pointers");
	is_int(*c2.restarts, 2, "a kept counter starts from its current value");
	is_int(*c2.running, 1, "a kept level starts from its current value");
	*app.started += 10;	/* old pointer, between registration and commit */
	*c.running = 5;		/* old pointer sets a level */
	*app2.started += 1;	/* new pointer before commit */
	*db.running = 3;
	ok(exists("lithos.values") && ino == inode_of("lithos.values"),
	   "registering touches no file");
	is_int(metrics_commit(m, &err), 0, "re-commit with changed groups: %s", err ? err : "ok");
	ok(ino != inode_of("lithos.values"), "values file replaced by rename");
	ok(!exists("lithos.tmp"), "no lithos.tmp left after re-commit");
	is_int(*app2.started, 14, "increments through both old and new pointers kept");
	is_int(*c2.running, 5, "level set through the old pointer kept");
	is_int(*db.running, 3, "value set before commit kept");
	*c2.restarts += 1;
	free(values);
	values = slurp("lithos.values", &vlen);
	ok(values && value_at(values, 0) == 3, "new pointers write the new file");
	free(meta);
	meta = slurp("lithos.meta", NULL);
	ok(meta && !strstr(meta, "cron") && !strstr(meta, "queue2"),
	   "dropped groups and metrics are gone from meta");
	reader_is("lithos",
		  "counter\tmaster\trestarts\t3\n"
		  "level\tmaster\tsandboxes\t0\n"
		  "level\tmaster\tcontainers\t0\n"
		  "level\tmaster\tqueue\t0\n"
		  "counter\tcontainers\tstarted\t6\n"
		  "counter\tcontainers\tdeaths\t3\n"
		  "counter\tcontainers\tfailures\t1\n"
		  "level\tcontainers\trunning\t5\n"
		  "level\tcontainers\tunknown\t0\n"
		  "counter\tprocesses.web.app\tstarted\t14\n"
		  "counter\tprocesses.web.app\tdeaths\t2\n"
		  "counter\tprocesses.web.app\tfailures\t1\n"
		  "level\tprocesses.web.app\trunning\t1\n"
		  "counter\tprocesses.db.pg\tstarted\t0\n"
		  "counter\tprocesses.db.pg\tdeaths\t0\n"
		  "counter\tprocesses.db.pg\tfailures\t0\n"
		  "level\tprocesses.db.pg\trunning\t3\n",
		  "after re-commit");

	/* ---- a group dropped and re-added later starts again from 0 ---- */
	struct ch6 c3;
	struct proc cron3;
	reg_ch6(m, &c3);
	reg_proc(m, "web", "cron", &cron3);
	is_int(*cron3.started, 0, "a group dropped by an earlier commit is not resurrected");
	is_int(metrics_commit(m, &err), 0, "third commit");

	/* ---- commit without registrations: files rewritten, pointers kept ---- */
	*c3.restarts += 1;
	rm("lithos.values");
	rm("lithos.meta");
	is_int(metrics_commit(m, &err), 0, "commit with nothing new: %s", err ? err : "ok");
	ok(exists("lithos.values") && exists("lithos.meta"), "files re-created");
	*c3.restarts += 1;	/* still valid */
	free(values);
	values = slurp("lithos.values", &vlen);
	ok(values && value_at(values, 0) == 5 && vlen == 4096,
	   "pointers still live after a commit without registrations");

	metrics_free(m);
	free(err);
}

/* Commit into a missing directory fails, pointers stay usable, a retry works. */
static void test_failure(void)
{
	char *err = NULL;
	_cleanup_free_ char *sub = path_in("later");
	_cleanup_free_ char *base = path_in("later/lithos");
	struct metrics *m = metrics_new(base, NULL, &err);
	uint64_t *x = metrics_counter(m, "master", "restarts");
	is_int(metrics_commit(m, &err), -1, "commit into a missing directory fails");
	ok(err && strstr(err, "later/lithos.tmp"), "error names the file: %s", err ? err : "");
	free(err);
	err = NULL;
	*x += 41;
	*x += 1;
	mkdir(sub, 0755);
	is_int(metrics_commit(m, &err), 0, "retry succeeds once the directory exists");
	size_t vlen;
	_cleanup_free_ char *values = slurp("later/lithos.values", &vlen);
	ok(values && vlen == 4096 && value_at(values, 0) == 42, "value written meanwhile published");
	*x += 1;
	free(values);
	values = slurp("later/lithos.values", &vlen);
	ok(values && value_at(values, 0) == 43, "pointer is live after the retried commit");
	metrics_free(m);

	/* a failed re-commit keeps the new set usable and publishes on retry */
	m = metrics_new(base, NULL, &err);
	uint64_t *y = metrics_counter(m, "master", "restarts");
	is_int(*y, 43, "carried over");
	is_int(metrics_commit(m, &err), 0, "commit");
	uint64_t *y2 = metrics_counter(m, "master", "restarts");
	uint64_t *z = metrics_counter(m, "containers", "started");
	chmod(sub, 0555);
	bool ro = access(sub, W_OK) < 0;	/* root writes anyway */
	int r = metrics_commit(m, &err);
	if (ro) {
		is_int(r, -1, "re-commit into a read-only directory fails");
		free(err);
		err = NULL;
		*y2 += 1;
		*z += 2;
		chmod(sub, 0755);
		is_int(metrics_commit(m, &err), 0, "retried re-commit succeeds");
	} else {
		skip(2, "running as root: directory permissions not enforced");
		chmod(sub, 0755);
		*y2 += 1;
		*z += 2;
	}
	free(values);
	values = slurp("later/lithos.values", &vlen);
	ok(values && value_at(values, 0) == 44 && value_at(values, 1) == 2,
	   "values written between the failure and the retry are published");
	metrics_free(m);
	free(err);
}

static void test_empty_and_big(void)
{
	char *err = NULL;
	_cleanup_free_ char *base = path_in("empty");
	struct metrics *m = metrics_new(base, NULL, &err);
	is_int(metrics_commit(m, &err), 0, "commit with no metric at all");
	size_t vlen, mlen;
	_cleanup_free_ char *values = slurp("empty.values", &vlen);
	_cleanup_free_ char *meta = slurp("empty.meta", &mlen);
	ok(values && vlen == 4096 && meta && mlen == 0, "one zero block and an empty meta");
	reader_is("empty", "", "no metric");
	metrics_free(m);

	/* 3000 values span several pages of the reservation and the file */
	_cleanup_free_ char *base2 = path_in("big");
	m = metrics_new(base2, NULL, &err);
	uint64_t *first = NULL, *last = NULL;
	bool contiguous = true;
	for (int i = 0; i < 3000; i++) {
		char g[64];
		snprintf(g, sizeof(g), "processes.s%d.p", i / 4);
		uint64_t *p = metrics_counter(m, g, i % 4 == 0 ? "started" : i % 4 == 1 ? "deaths" :
						   i % 4 == 2 ? "failures" : "restarts");
		if (!first)
			first = p;
		contiguous = contiguous && p == first + i;
		*p = (uint64_t)i * 1000;
		last = p;
	}
	ok(contiguous, "3000 registrations: contiguous pointers");
	is_int(metrics_commit(m, &err), 0, "commit 3000 values");
	free(values);
	values = slurp("big.values", &vlen);
	is_int(vlen, 24576, "values file rounded up to a multiple of 4096 (24000 -> 24576)");
	ok(values && value_at(values, 2999) == 2999000 && value_at(values, 1234) == 1234000,
	   "values across pages");
	*last += 1;
	free(values);
	values = slurp("big.values", &vlen);
	ok(values && value_at(values, 2999) == 2999001, "the last value is live");
	if (have_python()) {
		_cleanup_free_ char *out = NULL;
		is_int(reader(&out, "--strict", base2, NULL), 0, "reader --strict on 3000 values");
		int lines = 0;
		for (char *s = out; s && *s; s++)
			lines += *s == '\n';
		is_int(lines, 3000, "reader reports 3000 values");
		ok(out && strstr(out, "counter\tprocesses.s749.p\trestarts\t2999001\n"),
		   "reader sees the last value");
	} else {
		skip(3, PYTHON " not found");
	}
	metrics_free(m);
	free(err);
}

static void test_escaping(void)
{
	char *err = NULL;
	_cleanup_free_ char *base = path_in("esc");
	_cleanup_free_ char *prom = path_in("esc.prom");
	struct metrics *m = metrics_new(base, prom, &err);
	int64_t *a = metrics_level(m, "g\"q\\b\n\t\x01/\xc3\xa9", "m");
	uint64_t *b = metrics_counter(m, "bad\xff" "utf", "m.x-y");
	uint64_t *c = metrics_counter(m, "processes.s\"b.p\\q", "started");
	ok(a && b && c, "odd names registered");
	*a = -5;
	*c = 9;
	is_int(metrics_commit(m, &err), 0, "commit odd names");
	_cleanup_free_ char *meta = slurp("esc.meta", NULL);
	is_str(meta,
	       "level 8 signed: {\"group\":\"g\\\"q\\\\b\\n\\t\\u0001/\xc3\xa9\",\"metric\":\"m\"}\n"
	       "counter 8: {\"group\":\"bad\xef\xbf\xbdutf\",\"metric\":\"m.x-y\"}\n"
	       "counter 8: {\"group\":\"processes.s\\\"b.p\\\\q\",\"metric\":\"started\"}\n",
	       "JSON escapes (serde_json style), invalid UTF-8 replaced");
	if (have_python()) {
		_cleanup_free_ char *out = NULL;
		is_int(reader(&out, "--json", base, NULL), 0, "reader parses the escaped names");
		ok(out && strstr(out, "\"group\": \"g\\\"q\\\\b\\n\\t\\u0001/\\u00e9\"") &&
		   strstr(out, "\"value\": -5"), "reader decodes them back");
	} else {
		skip(2, PYTHON " not found");
	}
	is_int(metrics_write_prometheus(m, &err), 0, "Prometheus with odd names");
	_cleanup_free_ char *pt = slurp("esc.prom", NULL);
	is_str(pt,
	       "# TYPE lithos_bad_utf_m_x_y_total counter\n"
	       "lithos_bad_utf_m_x_y_total{} 0\n"
	       "# TYPE lithos_g_q_b_______m gauge\n"
	       "lithos_g_q_b_______m{} -5\n"
	       "# TYPE lithos_processes_started_total counter\n"
	       "lithos_processes_started_total{sandbox=\"s\\\"b\",process=\"p\\\\q\"} 9\n",
	       "Prometheus names sanitized, label values escaped");
	if (have_python()) {
		_cleanup_free_ char *out = NULL;
		is_int(reader(&out, "--prom", prom, NULL), 0, "reader accepts it");
	} else {
		skip(1, PYTHON " not found");
	}
	metrics_free(m);

	/* carried over under the same escaped name */
	m = metrics_new(base, NULL, &err);
	uint64_t *c2 = metrics_counter(m, "processes.s\"b.p\\q", "started");
	ok(c2 && *c2 == 9, "escaped name carried over");
	metrics_free(m);
	free(err);
}

/* The Prometheus file follows re-commits. */
static void test_prom_recommit(void)
{
	char *err = NULL;
	_cleanup_free_ char *base = path_in("pr");
	_cleanup_free_ char *prom = path_in("pr.prom");
	struct metrics *m = metrics_new(base, prom, &err);
	*metrics_counter(m, "processes.a.x", "started") = 1;
	*metrics_counter(m, "processes.a.y", "started") = 2;
	metrics_commit(m, &err);
	is_int(metrics_write_prometheus(m, &err), 0, "Prometheus file of set 1");
	_cleanup_free_ char *t1 = slurp("pr.prom", NULL);
	is_str(t1, "# TYPE lithos_processes_started_total counter\n"
		   "lithos_processes_started_total{sandbox=\"a\",process=\"x\"} 1\n"
		   "lithos_processes_started_total{sandbox=\"a\",process=\"y\"} 2\n", "set 1");
	uint64_t *y = metrics_counter(m, "processes.a.y", "started");
	int64_t *q = metrics_level(m, "master", "queue");
	*q = -2;
	is_int(metrics_write_prometheus(m, &err), 0, "Prometheus file before the re-commit");
	_cleanup_free_ char *t2 = slurp("pr.prom", NULL);
	is_str(t2, t1, "registrations not committed yet do not show");
	metrics_commit(m, &err);
	*y += 1;
	is_int(metrics_write_prometheus(m, &err), 0, "Prometheus file of set 2");
	_cleanup_free_ char *t3 = slurp("pr.prom", NULL);
	is_str(t3, "# TYPE lithos_master_queue gauge\n"
		   "lithos_master_queue{} -2\n"
		   "# TYPE lithos_processes_started_total counter\n"
		   "lithos_processes_started_total{sandbox=\"a\",process=\"y\"} 3\n",
	       "set 2: x dropped, queue added");
	metrics_free(m);
	free(err);
}

static void write_raw(const char *name, const void *data, size_t len)
{
	_cleanup_free_ char *p = path_in(name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, data, len) != (ssize_t)len)
			perror(p);
		close(fd);
	}
}

/* Old files that do not fit: ignored as far as needed, never fatal. */
static void test_bad_old_files(void)
{
	char *err = NULL;
	_cleanup_free_ char *base = path_in("old");
	char vals[4096] = {0};
	uint64_t v = 11;
	memcpy(vals, &v, 8);
	v = 22;
	memcpy(vals + 8, &v, 8);
	v = 33;
	memcpy(vals + 16, &v, 8);
	v = 44;
	memcpy(vals + 24, &v, 8);
	write_raw("old.values", vals, sizeof(vals));
	const char *meta =
		"counter 8: {\"group\":\"a\",\"metric\":\"one\"}\n"
		"level 8 signed: {\"group\":\"a\",\"metric\":\"lvl\"}\n"
		"counter 8: {\"group\":\"a\",\"metric\":\"three\"}\n"
		"counter 8: {\"group\":\"a\",\"metric\":\"four\"}";	/* no newline */
	write_raw("old.meta", meta, strlen(meta));
	struct metrics *m = metrics_new(base, NULL, &err);
	uint64_t *one = metrics_counter(m, "a", "one");
	int64_t *lvl = metrics_level(m, "a", "lvl");
	uint64_t *three = metrics_counter(m, "a", "three");
	uint64_t *four = metrics_counter(m, "a", "four");
	ok(*one == 11 && *three == 33, "counters found at their offsets (a level in between)");
	ok(*lvl == 0, "levels not carried");
	ok(*four == 0, "an unterminated last line is ignored");
	metrics_free(m);

	/* values shorter than meta says */
	write_raw("old.values", vals, 16);
	m = metrics_new(base, NULL, &err);
	one = metrics_counter(m, "a", "one");
	three = metrics_counter(m, "a", "three");
	ok(*one == 11 && *three == 0, "values beyond the end of a short file not carried");
	metrics_free(m);

	write_raw("old.values", vals, sizeof(vals));
	write_raw("old.meta", "garbage\n\x01\x02\n", 11);
	m = metrics_new(base, NULL, &err);
	ok(m && *metrics_counter(m, "a", "one") == 0, "garbage meta: nothing carried, no error");
	metrics_free(m);

	rm("old.values");
	write_raw("old.meta", meta, strlen(meta));
	m = metrics_new(base, NULL, &err);
	ok(m && *metrics_counter(m, "a", "one") == 0, "meta without values: nothing carried");
	metrics_free(m);
	free(err);
}

/* ---- writer for t0400-metrics-reader.sh ---- */

/* 1: a fresh tree: chapter-6 names for sandbox web, processes app and
 *    worker, known values, the Prometheus file.
 * 2: the tree re-executed after a reload: worker removed, cron added,
 *    restarts + 1, app started + 1, levels set anew.
 * live: like 1 on a fresh base, then "ready" on stdout; for each line read
 *    from stdin one more containers.started and "done"; exits at EOF. */
static int write_mode(const char *d, const char *phase)
{
	char *err = NULL;
	_cleanup_free_ char *base = xasprintf("%s/lithos", d);
	_cleanup_free_ char *prom = xasprintf("%s/lithos.prom", d);
	struct metrics *m = metrics_new(base, prom, &err);
	if (!m) {
		fprintf(stderr, "test_metrics: %s\n", err);
		return 1;
	}
	struct ch6 c;
	struct proc app, worker, cron;
	reg_ch6(m, &c);
	reg_proc(m, "web", "app", &app);
	if (strcmp(phase, "2") == 0)
		reg_proc(m, "web", "cron", &cron);
	else
		reg_proc(m, "web", "worker", &worker);
	if (metrics_commit(m, &err) < 0) {
		fprintf(stderr, "test_metrics: %s\n", err);
		return 1;
	}
	*c.restarts += 1;
	if (strcmp(phase, "2") == 0) {
		*c.sandboxes = 1;
		*c.containers = 2;
		*c.queue = 1;
		*c.started += 1;
		*c.running = 1;
		*app.started += 1;
		*app.running = 1;
		*cron.started += 1;
		*cron.deaths += 1;
		*cron.failures += 1;
	} else {
		*c.sandboxes = 1;
		*c.containers = 2;
		*c.started += 5;
		*c.deaths += 3;
		*c.failures += 1;
		*c.running = 2;
		*c.unknown = 1;
		*app.started += 3;
		*app.deaths += 2;
		*app.failures += 1;
		*app.running = 1;
		*worker.started += 2;
		*worker.deaths += 1;
		*worker.running = 1;
	}
	if (metrics_write_prometheus(m, &err) < 0) {
		fprintf(stderr, "test_metrics: %s\n", err);
		return 1;
	}
	if (strcmp(phase, "live") == 0) {
		char line[64];
		printf("ready\n");
		fflush(stdout);
		while (fgets(line, sizeof(line), stdin)) {
			*c.started += 1;
			printf("done\n");
			fflush(stdout);
		}
	}
	metrics_free(m);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--write") == 0)
		return write_mode(argv[2], argv[3]);

	char tmpl[] = "/tmp/test_metrics.XXXXXX";
	_cleanup_free_ char *t = xasprintf("%s/test_metrics.XXXXXX",
					   getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	dir = mkdtemp(t);
	if (!dir)
		dir = mkdtemp(tmpl);
	if (!dir) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	if (!have_python())
		printf("# %s not found: the independent reader's checks are skipped\n", PYTHON);

	test_args();
	test_first_commit();
	test_carry_over();
	test_failure();
	test_empty_and_big();
	test_escaping();
	test_prom_recommit();
	test_bad_old_files();

	int rc = done_testing();
	if (rc == 0 && !getenv("TEST_METRICS_KEEP")) {
		_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", dir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dir);
	} else {
		printf("# files kept in %s\n", dir);
	}
	return rc;
}
