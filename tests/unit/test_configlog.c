/* The config log: records written by configlog_record and read back by
 * configlog_read (lithos_clean's history), rotation, repeats, lithos's own
 * line format, broken lines. */
#include "../tap.h"
#include "config.h"
#include "configlog.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[256];

static char *slurp(const char *path)
{
	size_t len;
	return read_file_limited(path, 64u << 20, &len);
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

static void entry_init(struct process_entry *e, const char *name, const char *image)
{
	memset(e, 0, sizeof(*e));
	e->name = (char *)name;
	e->kind = KIND_DAEMON;
	e->instances = 2;
	e->image = (char *)image;
	e->config = (char *)"/config/app.yaml";
}

static void rm_rf(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	free(cmd);
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "%s/test_configlog.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}

	/* ---- time ---- */
	char ts[32];
	time_t t0 = 1700000000; /* 2023-11-14T22:13:20Z */
	configlog_format_time(t0, ts);
	is_str(ts, "2023-11-14T22:13:20Z", "time formatted as ISO-8601 UTC");
	time_t back = 0;
	ok(configlog_parse_time(ts, &back) == 0 && back == t0, "time parsed back");
	ok(configlog_parse_time("2023-11-14T22:13:20.123456Z", &back) == 0 && back == t0,
	   "fractional seconds accepted");
	ok(configlog_parse_time("2023-11-14T22:13:20+00:00", &back) == 0 && back == t0,
	   "+00:00 accepted");
	ok(configlog_parse_time("2023-11-14T22:13:20", &back) < 0, "a time without zone is refused");
	ok(configlog_parse_time("2023-13-14T22:13:20Z", &back) < 0, "month 13 is refused");
	ok(configlog_parse_time("yesterday", &back) < 0, "words are refused");

	/* ---- writing ---- */
	struct master_config m = { 0 };
	struct sandbox_config s = { 0 };
	s.name = (char *)"web";
	struct process_entry e;
	entry_init(&e, "app", "app/v1");
	char *err = NULL;

	ok(configlog_record_at(&m, &s, &e, "web/app.0", t0, &err) == 0, "config-log-dir null: no-op");

	char *dir = xasprintf("%s/log/config", tmp);
	m.config_log_dir = dir;
	char *log = xasprintf("%s/web.log", dir);
	ok(configlog_record_at(&m, &s, &e, "web/app.0", t0, &err) == 0, "record written");
	struct stat st;
	ok(stat(dir, &st) == 0 && S_ISDIR(st.st_mode), "config-log-dir created with its parents");
	char *text = slurp(log);
	is_str(text,
	       "{\"time\":\"2023-11-14T22:13:20Z\",\"instance\":\"web/app.0\",\"process\":\"app\","
	       "\"kind\":\"Daemon\",\"image\":\"app/v1\",\"config\":\"/config/app.yaml\","
	       "\"instances\":2,\"variables\":{},\"ip-addresses\":[],\"extra-secrets-namespaces\":[]}\n",
	       "the record is one line of JSON");
	free(text);

	ok(configlog_record_at(&m, &s, &e, "web/app.0", t0 + 10, &err) == 0, "a repeat is fine");
	text = slurp(log);
	is_int(count_lines(text), 1, "an identical record within an hour is not written again");
	free(text);
	ok(configlog_record_at(&m, &s, &e, "web/app.1", t0 + 10, &err) == 0 &&
	   count_lines(text = slurp(log)) == 2, "another instance gets its own record");
	free(text);
	ok(configlog_record_at(&m, &s, &e, "web/app.0", t0 + CONFIGLOG_REPEAT_SECONDS, &err) == 0 &&
	   count_lines(text = slurp(log)) == 3, "the same record after an hour is written again");
	free(text);

	struct kv vars[] = {
		{ .key = (char *)"msg", .value = (char *)"say \"hi\"\\\n\tbye\x01" },
		{ .key = (char *)"port", .value = (char *)"8080" },
	};
	e.variables.v = vars;
	e.variables.n = 2;
	char *ips[] = { (char *)"10.0.0.1", (char *)"10.0.0.2" };
	e.ip_addresses.v = ips;
	e.ip_addresses.n = 2;
	e.image = (char *)"app/v2";
	e.kind = KIND_COMMAND;
	ok(configlog_record_at(&m, &s, &e, "web/app.0", t0 + 20, &err) == 0, "a changed record is written");
	text = slurp(log);
	const char *last = text ? strstr(text, "\"time\":\"2023-11-14T22:13:40Z\"") : NULL;
	ok(last && strstr(last, "\"variables\":{\"msg\":\"say \\\"hi\\\"\\\\\\n\\tbye\\u0001\",\"port\":\"8080\"}"),
	   "variables are escaped as JSON");
	ok(last && strstr(last, "\"ip-addresses\":[\"10.0.0.1\",\"10.0.0.2\"]"), "ip-addresses listed");
	ok(last && strstr(last, "\"kind\":\"Command\""), "kind recorded");
	is_int(count_lines(text), 4, "still one line per record");
	free(text);

	struct sandbox_config bad = { .name = (char *)"../x" };
	ok(configlog_record_at(&m, &bad, &e, "x/app.0", t0, &err) < 0 && err &&
	   strstr(err, "cannot name a log file"), "a sandbox name with / is refused");
	free(err);
	err = NULL;

	/* ---- reading back ---- */
	struct configlog_history h;
	ok(configlog_read(dir, "web", &h, &err) == 0, "history read");
	is_int(h.n, 4, "four records");
	is_int(h.broken, 0, "no broken lines");
	if (h.n == 4) {
		is_str(h.v[0].instance, "web/app.0", "instance read");
		is_str(h.v[0].process, "app", "process read");
		is_str(h.v[0].image, "app/v1", "image read");
		ok(h.v[0].time == t0, "time read");
		is_str(h.v[3].image, "app/v2", "last image read");
		ok(h.v[3].seq == 3, "records in order");
	}
	configlog_history_free(&h);

	ok(configlog_read(dir, "nothing", &h, &err) == 0 && h.n == 0 && h.files == 0,
	   "a missing log is an empty history");
	configlog_history_free(&h);
	char *nodir = xasprintf("%s/none", tmp);
	ok(configlog_read(nodir, "web", &h, &err) == 0 && h.n == 0, "a missing dir is an empty history");
	configlog_history_free(&h);
	free(nodir);

	/* process derived from the instance when "process" is absent */
	char *p2 = xasprintf("%s/old.log", dir);
	put(p2,
	    "{\"time\":\"2023-11-14T22:13:20Z\",\"instance\":\"old/worker.12\",\"image\":\"w/1\"}\n"
	    "\n"
	    "2018-01-31T12:00:00Z {\"a\":{\"kind\":\"Daemon\",\"instances\":1,\"image\":\"a/1\",\"config\":\"/c.yaml\",\"variables\":{}},\"b\":{\"image\":\"b/1\",\"config\":\"/c.yaml\"}}\n"
	    "2018-01-31T12:00:00Z {}\n");
	ok(configlog_read(dir, "old", &h, &err) == 0, "mixed formats read");
	is_int(h.n, 3, "one record and a snapshot of two processes");
	is_int(h.broken, 0, "blank lines and empty snapshots are fine");
	if (h.n == 3) {
		is_str(h.v[0].process, "worker", "process derived from the instance name");
		is_str(h.v[1].process, "a", "lithos's snapshot: process name");
		is_str(h.v[1].image, "a/1", "lithos's snapshot: image");
		ok(h.v[1].instance == NULL, "lithos's snapshot has no instance");
		is_str(h.v[2].image, "b/1", "lithos's snapshot: second process");
	}
	configlog_history_free(&h);

	put(p2,
	    "{\"time\":\"2023-11-14T22:13:20Z\",\"instance\":\"old/w.0\",\"image\":\"w/1\"}\n"
	    "{\"time\":\"2023-11-14T22:13:20Z\",\"instance\":\"old/w.0\",\"ima\n"
	    "{\"time\":\"then\",\"instance\":\"old/w.0\",\"image\":\"w/1\"}\n"
	    "{\"time\":\"2023-11-14T22:13:20Z\",\"instance\":\"old/w.0\"}\n"
	    "garbage\n"
	    "2018-01-31T12:00:00Z {\"a\":{\"config\":\"/c.yaml\"}}\n");
	ok(configlog_read(dir, "old", &h, &err) == 0, "broken lines are not an error by themselves");
	is_int(h.n, 1, "the good line is read");
	is_int(h.broken, 5, "every broken line counted");
	ok(h.first_broken && strstr(h.first_broken, "old.log:2: not JSON"), "the first broken line named");
	configlog_history_free(&h);
	free(p2);

	/* ---- rotation ---- */
	int fd = open(log, O_WRONLY);
	ok(fd >= 0 && ftruncate(fd, CONFIGLOG_MAX_SIZE) == 0, "log grown to the rotation size");
	if (fd >= 0)
		close(fd);
	char *l1 = xasprintf("%s.1", log), *l2 = xasprintf("%s.2", log);
	put(l1, "{\"time\":\"2023-11-14T22:00:00Z\",\"instance\":\"web/app.0\",\"image\":\"app/v0\"}\n");
	e.image = (char *)"app/v3";
	ok(configlog_record_at(&m, &s, &e, "web/app.0", t0 + 30, &err) == 0, "record written past the size");
	ok(stat(l2, &st) == 0 && st.st_size > 0, "web.log.1 moved to web.log.2");
	ok(stat(l1, &st) == 0 && st.st_size >= (off_t)CONFIGLOG_MAX_SIZE, "web.log moved to web.log.1");
	text = slurp(log);
	is_int(count_lines(text), 1, "a new web.log has the new record");
	free(text);
	/* the grown file is NUL bytes: make it a real log again for reading */
	put(l1, "{\"time\":\"2023-11-14T22:10:00Z\",\"instance\":\"web/app.0\",\"image\":\"app/v1\"}\n");
	ok(configlog_read(dir, "web", &h, &err) == 0 && h.files == 3, "all three files read");
	if (h.n == 3) {
		is_str(h.v[0].image, "app/v0", "the oldest rotation first");
		is_str(h.v[1].image, "app/v1", "then web.log.1");
		is_str(h.v[2].image, "app/v3", "web.log last");
	} else {
		ok(0, "three records (got %zu)", h.n);
	}
	configlog_history_free(&h);
	for (int i = 1; i <= CONFIGLOG_KEEP; i++) {
		char *li = xasprintf("%s.%d", log, i);
		char *line = xasprintf("{\"time\":\"2023-11-14T22:00:00Z\",\"instance\":\"web/app.0\",\"image\":\"app/r%d\"}\n", i);
		put(li, line);
		free(line);
		free(li);
	}
	fd = open(log, O_WRONLY);
	if (fd >= 0) {
		if (ftruncate(fd, CONFIGLOG_MAX_SIZE) != 0)
			fprintf(stderr, "ftruncate failed\n");
		close(fd);
	}
	char *beyond = xasprintf("%s.%d", log, CONFIGLOG_KEEP + 1);
	unlink(beyond);
	e.image = (char *)"app/v4";
	configlog_record_at(&m, &s, &e, "web/app.0", t0 + 50, &err);
	ok(stat(beyond, &st) < 0 && errno == ENOENT, "at most CONFIGLOG_KEEP rotations are kept");
	free(beyond);
	char *lk = xasprintf("%s.%d", log, CONFIGLOG_KEEP);
	char *want = xasprintf("\"app/r%d\"", CONFIGLOG_KEEP - 1);
	text = slurp(lk);
	ok(text && strstr(text, want), "the oldest rotation is dropped, the others move up");
	free(text);
	free(want);
	free(lk);
	text = slurp(log);
	ok(text && count_lines(text) == 1 && strstr(text, "app/v4"), "the new record starts web.log");
	free(text);

	/* a symlink as the log is not followed */
	char *target = xasprintf("%s/target", tmp);
	char *lnk = xasprintf("%s/lnk.log", dir);
	put(target, "");
	if (symlink(target, lnk) != 0)
		fprintf(stderr, "symlink failed\n");
	struct sandbox_config sl = { .name = (char *)"lnk" };
	ok(configlog_record_at(&m, &sl, &e, "lnk/app.0", t0, &err) < 0 && err,
	   "a symlink in place of the log is refused");
	free(err);
	err = NULL;
	text = slurp(target);
	is_str(text, "", "the symlink's target is untouched");
	free(text);
	free(target);
	free(lnk);

	free(l1);
	free(l2);
	free(log);
	free(dir);
	rm_rf(tmp);
	return done_testing();
}
