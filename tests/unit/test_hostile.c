/* Hostile input to the four config parsers: every case must end with an
 * error line FILE:LINE:COLUMN (or a valid result where that is right), never
 * crash, hang or eat memory, and finish fast.
 *
 * "Fast" is measured in CPU time of this process, so a loaded machine does
 * not make the test flaky; an alarm turns a hang (e.g. a fifo opened for
 * reading) into a failure.
 */
#include "config.h"
#include "util.h"
#include "yamltree.h"
#include "../tap.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* seconds of CPU time one parse may take (milliseconds to well under a
 * second at -O2, 8 MiB inputs included); HOSTILE_SLOWDOWN=N multiplies it
 * and the alarm for sanitizer or valgrind builds */
static double FAST = 3.0;
static unsigned slowdown = 1;

enum kind { MASTER, SANDBOX, PROCESSES, CONTAINER };
static const char *const kind_name[] = { "master", "sandbox", "processes", "container" };

static struct diags D;
static double last_cpu;

static double cpu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Parse a buffer (path == NULL) or a file as `kind`; problems go to D.
 * Returns the parser's result. */
static int parse(enum kind k, const char *name, const char *buf, size_t len, const char *path)
{
	diags_free(&D);
	double t0 = cpu_now();
	int r = -2;
	switch (k) {
	case MASTER: {
		struct master_config m;
		r = path ? master_config_parse(&m, path, &D)
			 : master_config_parse_buffer(&m, name, buf, len, &D);
		master_config_free(&m);
		break;
	}
	case SANDBOX: {
		struct sandbox_config s;
		r = path ? sandbox_config_parse(&s, "sb", path, &D)
			 : sandbox_config_parse_buffer(&s, "sb", name, buf, len, &D);
		sandbox_config_free(&s);
		break;
	}
	case PROCESSES: {
		struct processes_config p;
		r = path ? processes_config_parse(&p, path, &D)
			 : processes_config_parse_buffer(&p, name, buf, len, &D);
		processes_config_free(&p);
		break;
	}
	case CONTAINER: {
		struct container_config c;
		r = path ? container_config_parse(&c, path, &D)
			 : container_config_parse_buffer(&c, name, buf, len, &D);
		container_config_free(&c);
		break;
	}
	}
	last_cpu = cpu_now() - t0;
	return r;
}

static void dump_diags(void)
{
	for (size_t i = 0; i < D.n && i < 5; i++) {
		char *s = diag_format(&D.v[i]);
		printf("#   diag: %.300s\n", s);
		free(s);
	}
	if (diags_count(&D) > 5)
		printf("#   ... %zu problems in all\n", diags_count(&D));
}

/* The parse failed, fast, and its first problem is exactly at
 * file:line:col and contains `msg`. */
static void expect_error(int r, const char *what, const char *file, int line, int col,
			 const char *msg)
{
	bool pass = r == -1 && D.n > 0 && !strcmp(D.v[0].file, file) && D.v[0].line == line &&
		    D.v[0].col == col && strstr(D.v[0].msg, msg);
	if (!ok(pass, "%s: error %s:%d:%d: ...%s...", what, file, line, col, msg))
		dump_diags();
	ok(last_cpu < FAST, "%s: done in %.3fs CPU", what, last_cpu);
}

static void expect_valid(int r, const char *what)
{
	if (!ok(r == 0 && diags_count(&D) == 0, "%s: valid, no problems", what))
		dump_diags();
	ok(last_cpu < FAST, "%s: done in %.3fs CPU", what, last_cpu);
}

/* The same input as each of the four configs. */
static void expect_error_all(const char *what, const char *buf, size_t len, int line, int col,
			     const char *msg)
{
	for (int k = MASTER; k <= CONTAINER; k++) {
		char *w = xasprintf("%s (%s)", what, kind_name[k]);
		int r = parse((enum kind)k, "h.yaml", buf, len, NULL);
		expect_error(r, w, "h.yaml", line, col, msg);
		free(w);
	}
}

static char *repeat(const char *s, size_t times, size_t *len)
{
	size_t n = strlen(s);
	char *p = xmalloc(n * times + 1);
	for (size_t i = 0; i < times; i++)
		memcpy(p + i * n, s, n);
	p[n * times] = 0;
	if (len)
		*len = n * times;
	return p;
}

static void test_billion_laughs(void)
{
	/* 10 levels of 10 aliases: 10^9 nodes once expanded */
	struct buf b = { 0 };
	buf_puts(&b, "a0: &a0 [lol]\n");
	for (int i = 1; i < 10; i++) {
		buf_printf(&b, "a%d: &a%d [", i, i);
		for (int j = 0; j < 10; j++)
			buf_printf(&b, "%s*a%d", j ? ", " : "", i - 1);
		buf_puts(&b, "]\n");
	}
	/* a5 is 211111 nodes: the count passes 2000000 at the 9th *a5 */
	expect_error_all("billion laughs", b.p, b.len, 7, 50,
			 "document too large once aliases are expanded (more than 2000000 nodes)");
	buf_free(&b);

	/* the same with mappings and merge keys instead of lists */
	buf_puts(&b, "m0: &m0 {k0: v}\n");
	for (int i = 1; i < 8; i++) {
		buf_printf(&b, "m%d: &m%d {", i, i);
		for (int j = 0; j < 10; j++)
			buf_printf(&b, "%sk%d: *m%d", j ? ", " : "", j, i - 1);
		buf_puts(&b, "}\n");
	}
	int r = parse(CONTAINER, "h.yaml", b.p, b.len, NULL);
	expect_error(r, "billion laughs in mappings", "h.yaml", 7, 41,
		     "document too large once aliases are expanded");
	buf_free(&b);

	/* `<<: [*a, *a, ...]`: each merge copies the pairs before duplicates
	 * are dropped, so its cost is |a| x aliases */
	buf_puts(&b, "a: &a {");
	for (int i = 0; i < 3000; i++)
		buf_printf(&b, "%sk%d: 1", i ? ", " : "", i);
	buf_puts(&b, "}\n");
	for (int m = 0; m < 3; m++) {
		buf_printf(&b, "b%d: {<<: [", m);
		for (int i = 0; i < 300; i++)
			buf_printf(&b, "%s*a", i ? ", " : "");
		buf_puts(&b, "]}\n");
	}
	r = parse(CONTAINER, "h.yaml", b.p, b.len, NULL);
	expect_error(r, "merge key bomb", "h.yaml", 3, 139,
		     "document too large once aliases are expanded");
	buf_free(&b);

	/* aliases of a long string: few nodes, gigabytes of text */
	char *big = repeat("A", 1 << 20, NULL);
	buf_printf(&b, "x: &x \"%s\"\narguments: [", big);
	free(big);
	for (int i = 0; i < 10000; i++)
		buf_printf(&b, "%s*x", i ? ", " : "");
	buf_puts(&b, "]\n");
	r = parse(CONTAINER, "h.yaml", b.p, b.len, NULL);
	/* a 1 MiB scalar weighs 65537 nodes: the 30th alias is too many */
	expect_error(r, "alias bomb of a 1 MiB string", "h.yaml", 2, 129,
		     "document too large once aliases are expanded");
	buf_free(&b);
}

static void test_deep_nesting(void)
{
	size_t n1, n2;
	char *open = repeat("[", 10000, &n1), *close = repeat("]", 10000, &n2);
	char *y = xasprintf("%s%s\n", open, close);
	expect_error_all("10000-deep flow lists", y, n1 + n2 + 1, 1, 129,
			 "nesting deeper than 128 levels");
	free(y);
	free(open);
	free(close);

	open = repeat("{a: ", 10000, &n1);
	close = repeat("}", 10000, &n2);
	y = xasprintf("%sx%s\n", open, close);
	expect_error_all("10000-deep flow mappings", y, n1 + n2 + 2, 1, 513,
			 "nesting deeper than 128 levels");
	free(y);
	free(open);
	free(close);

	/* 8 MiB of `[` */
	y = repeat("[", YAML_MAX_FILE_SIZE, &n1);
	int r = parse(CONTAINER, "h.yaml", y, n1, NULL);
	expect_error(r, "8 MiB of [", "h.yaml", 1, 129, "nesting deeper than 128 levels");
	free(y);

	/* block nesting: each level indented one more space */
	struct buf b = { 0 };
	for (int i = 0; i < 300; i++)
		buf_printf(&b, "%*sk:\n", i, "");
	r = parse(MASTER, "h.yaml", b.p, b.len, NULL);
	expect_error(r, "300-deep block mappings", "h.yaml", 129, 129,
		     "nesting deeper than 128 levels");
	buf_free(&b);
}

static char tmpdir[64];

static char *write_tmp(const char *name, const char *data, size_t len)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		printf("# cannot write %s: %s\n", path, strerror(errno));
	return path;
}

static void test_huge_file(void)
{
	size_t big = 9u << 20;
	char *y = xmalloc(big);
	memset(y, '#', big);
	for (size_t i = 79; i < big; i += 80)
		y[i] = '\n';
	char *path = write_tmp("huge.yaml", y, big);
	char *msg = xasprintf("is larger than %u bytes", YAML_MAX_FILE_SIZE);
	for (int k = MASTER; k <= CONTAINER; k++) {
		char *w = xasprintf("9 MiB file (%s)", kind_name[k]);
		int r = parse((enum kind)k, NULL, NULL, 0, path);
		expect_error(r, w, path, 0, 0, msg);
		free(w);
	}
	free(msg);
	int r = parse(MASTER, "h.yaml", y, big, NULL);
	expect_error(r, "9 MiB buffer", "h.yaml", 0, 0,
		     "file is 9437184 bytes; expected a config of at most 8388608 bytes");
	unlink(path);
	free(path);

	/* exactly at the limit: parsed (all comments: an empty master config) */
	path = write_tmp("limit.yaml", y, YAML_MAX_FILE_SIZE);
	r = parse(MASTER, NULL, NULL, 0, path);
	expect_valid(r, "8 MiB of comments as master config");
	unlink(path);
	free(path);
	free(y);

	/* 8 MiB of small nodes stop at the node limit: {a, a, ...} */
	size_t n;
	y = repeat(",a", YAML_MAX_FILE_SIZE / 2, &n);
	y[0] = '{';
	y[n - 1] = '}';
	r = parse(PROCESSES, "h.yaml", y, n, NULL);
	/* the map, then a key and a null value per `a`: 2000001 nodes at
	 * the null value of the 1000000th key */
	expect_error(r, "8 MiB flow mapping of 4M keys", "h.yaml", 1, 2000001,
		     "document too large once aliases are expanded");
	free(y);

	/* one 8 MiB scalar is fine for the tree (and an error for its key) */
	y = repeat("x", YAML_MAX_FILE_SIZE, &n);
	memcpy(y, "executable: /", 13);
	r = parse(CONTAINER, "h.yaml", y, n, NULL);
	expect_valid(r, "8 MiB executable path");
	free(y);
}

static void test_bad_bytes(void)
{
	static const char latin1[] = "executable: /bin/caf\xe9\n";
	expect_error_all("Latin-1 byte", latin1, sizeof(latin1) - 1, 1, 21,
			 "invalid YAML: incomplete UTF-8 octet sequence");
	static const char cont[] = "a: b\nexecutable: /bin/\x80x\n";
	expect_error_all("stray UTF-8 continuation byte", cont, sizeof(cont) - 1, 2, 18,
			 "invalid YAML: invalid leading UTF-8 octet");
	static const char trunc[] = "executable: /bin/\xc3";
	expect_error_all("truncated UTF-8 sequence", trunc, sizeof(trunc) - 1, 1, 18,
			 "invalid YAML: incomplete UTF-8 octet sequence");
	static const char overlong[] = "executable: /bin/\xc0\xafx\n";
	expect_error_all("overlong UTF-8 encoding of /", overlong, sizeof(overlong) - 1, 1, 18,
			 "invalid YAML: invalid length of a UTF-8 sequence");
	static const char surrogate[] = "executable: /bin/\xed\xa0\x80\n";
	expect_error_all("UTF-8 encoded surrogate", surrogate, sizeof(surrogate) - 1, 1, 18,
			 "invalid YAML: invalid Unicode character");
	static const char ctl[] = "executable: /bin/\x01x\n";
	expect_error_all("control character", ctl, sizeof(ctl) - 1, 1, 18,
			 "invalid YAML: control characters are not allowed");

	/* NUL: in the file, and as an escape inside a quoted scalar */
	static const char nul[] = "executable: /bin/x\nuser-id: 1\0\n";
	expect_error_all("NUL byte", nul, sizeof(nul) - 1, 2, 11,
			 "NUL byte in file; expected UTF-8 YAML text");
	static const char nul_esc[] = "executable: \"/bin/sh\\0/../x\"\n";
	expect_error_all("\\0 escape in a quoted scalar", nul_esc, sizeof(nul_esc) - 1, 1, 13,
			 "NUL character (\\0) in a scalar; expected text without NUL");

	/* binary garbage: with NUL bytes, then without */
	size_t n = 65536;
	char *g = xmalloc(n);
	uint32_t x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		g[i] = (char)(x >> 23);
	}
	char *z = memchr(g, 0, n);
	int line = 1, col = 1;
	for (char *p = g; p < z; p++) {
		if (*p == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	expect_error_all("64 KiB of binary garbage", g, n, line, col, "NUL byte in file");
	for (size_t i = 0; i < n; i++)
		if (!g[i])
			g[i] = '\x7f';
	for (int k = MASTER; k <= CONTAINER; k++) {
		char *w = xasprintf("64 KiB of binary garbage without NUL (%s)", kind_name[k]);
		int r = parse((enum kind)k, "h.yaml", g, n, NULL);
		expect_error(r, w, "h.yaml", 1, 1, "invalid YAML");
		free(w);
	}
	free(g);

	/* UTF-16 is not what a config is written in */
	static const char utf16[] = "\xff\xfe" "e\0x\0:\0 \0/\0\n\0";
	expect_error_all("UTF-16 with BOM", utf16, sizeof(utf16) - 1, 1, 4,
			 "NUL byte in file");
	/* a UTF-8 BOM is fine */
	static const char bom[] = "\xef\xbb\xbf" "executable: /bin/x\n";
	int r = parse(CONTAINER, "h.yaml", bom, sizeof(bom) - 1, NULL);
	expect_valid(r, "UTF-8 BOM");
}

static void test_empty(void)
{
	int r = parse(MASTER, "m.yaml", "", 0, NULL);
	expect_valid(r, "empty master config");
	r = parse(MASTER, "m.yaml", "# just a comment\n", 17, NULL);
	expect_valid(r, "master config with only a comment");
	r = parse(MASTER, "m.yaml", "---\n...\n", 8, NULL);
	expect_valid(r, "master config with an empty document");
	r = parse(PROCESSES, "p.yaml", "", 0, NULL);
	expect_valid(r, "empty processes config");
	r = parse(SANDBOX, "s.yaml", "", 0, NULL);
	expect_error(r, "empty sandbox config", "s.yaml", 0, 0,
		     "sandbox config: missing required key \"image-dir\"");
	r = parse(CONTAINER, "c.yaml", "", 0, NULL);
	expect_error(r, "empty container config", "c.yaml", 0, 0,
		     "container config: missing required key \"executable\"");

	char *path = write_tmp("empty.yaml", "", 0);
	r = parse(MASTER, NULL, NULL, 0, path);
	expect_valid(r, "empty master.yaml file");
	unlink(path);
	free(path);
}

static void test_not_a_file(void)
{
	for (int k = MASTER; k <= CONTAINER; k++) {
		char *w = xasprintf("directory as config (%s)", kind_name[k]);
		int r = parse((enum kind)k, NULL, NULL, 0, tmpdir);
		expect_error(r, w, tmpdir, 0, 0, "is a directory; expected a YAML file");
		free(w);
	}

	char *fifo = xasprintf("%s/fifo.yaml", tmpdir);
	if (mkfifo(fifo, 0600) < 0) {
		ok(0, "mkfifo %s: %s", fifo, strerror(errno));
	} else {
		for (int k = MASTER; k <= CONTAINER; k++) {
			char *w = xasprintf("fifo as config (%s)", kind_name[k]);
			int r = parse((enum kind)k, NULL, NULL, 0, fifo);
			expect_error(r, w, fifo, 0, 0, "is not a regular file; expected a YAML file");
			free(w);
		}
		unlink(fifo);
	}
	free(fifo);

	int r = parse(CONTAINER, NULL, NULL, 0, "/dev/zero");
	expect_error(r, "/dev/zero as config", "/dev/zero", 0, 0,
		     "is not a regular file; expected a YAML file");
	char *missing = xasprintf("%s/missing.yaml", tmpdir);
	r = parse(CONTAINER, NULL, NULL, 0, missing);
	expect_error(r, "missing file", missing, 0, 0, "cannot read: No such file or directory");
	free(missing);
}

static void test_aliases_and_documents(void)
{
	static const char undef[] = "executable: *nope\n";
	expect_error_all("alias to an undefined anchor", undef, sizeof(undef) - 1, 1, 13,
			 "alias *nope refers to no anchor defined before it");
	static const char rec[] = "metadata: &a [1, *a]\n";
	expect_error_all("alias to the node being defined", rec, sizeof(rec) - 1, 1, 18,
			 "alias *a refers to no anchor defined before it");

	static const char docs[] = "executable: /bin/a\n---\nexecutable: /bin/b\n";
	expect_error_all("two documents", docs, sizeof(docs) - 1, 2, 1,
			 "expected a single YAML document, found a second one");
	static const char docs3[] = "--- a\n--- b\n--- c\n";
	expect_error_all("three scalar documents", docs3, sizeof(docs3) - 1, 2, 1,
			 "expected a single YAML document, found a second one");
	static const char empty2[] = "---\n---\n";
	expect_error_all("two empty documents", empty2, sizeof(empty2) - 1, 2, 1,
			 "expected a single YAML document, found a second one");

	/* many anchors and aliases: linear, not quadratic (metadata is not
	 * decoded, so this times the tree alone) */
	struct buf b = { 0 };
	buf_puts(&b, "executable: /bin/x\nmetadata:\n  anchors: [");
	for (int i = 0; i < 200000; i++)
		buf_printf(&b, "%s&a%d x", i ? ", " : "", i);
	buf_puts(&b, "]\n  aliases: [");
	for (int i = 0; i < 200000; i++)
		buf_printf(&b, "%s*a%d", i ? ", " : "", (i * 7919) % 200000);
	buf_puts(&b, "]\n");
	int r = parse(CONTAINER, "h.yaml", b.p, b.len, NULL);
	expect_valid(r, "200000 anchors and 200000 aliases");
	buf_free(&b);
}

/* Lists and maps whose checks used to compare every pair of items. */
static void test_big_collections(void)
{
	struct buf b = { 0 };
	buf_puts(&b, "p:\n  image: a/1\n  config: /c.yaml\n  ip-addresses: [");
	for (int i = 0; i < 300000; i++)
		buf_printf(&b, "%s10.%d.%d.%d", i ? ", " : "", i >> 16, (i >> 8) & 255, i & 255);
	buf_puts(&b, "]\n");
	int r = parse(PROCESSES, "h.yaml", b.p, b.len, NULL);
	expect_error(r, "300000 ip-addresses", "h.yaml", 4, 17,
		     "ip-addresses: 300000 addresses; expected at most 10000 (one per instance)");
	buf_free(&b);

	buf_puts(&b, "image-dir: /i\nreadonly-paths: {");
	for (int i = 0; i < 100000; i++)
		buf_printf(&b, "%s/r%d: /h", i ? ", " : "", i);
	buf_puts(&b, "}\nwritable-paths: {");
	for (int i = 0; i < 100000; i++)
		buf_printf(&b, "%s/w%d: /h", i ? ", " : "", i);
	buf_puts(&b, ", /r99999: /h}\n");
	r = parse(SANDBOX, "h.yaml", b.p, b.len, NULL);
	expect_error(r, "100000 readonly and writable paths", "h.yaml", 2, 1288895,
		     "virtual path \"/r99999\" is in both readonly-paths and writable-paths");
	buf_free(&b);

	buf_puts(&b, "executable: /bin/x\ntcp-ports: {");
	for (int i = 1; i < 60000; i++)
		buf_printf(&b, "%s%d: {fd: %d}", i > 1 ? ", " : "", i, i + 2);
	buf_puts(&b, ", 60000: {fd: 3}}\n");
	r = parse(CONTAINER, "h.yaml", b.p, b.len, NULL);
	expect_error(r, "60000 tcp-ports", "h.yaml", 2, 1177801,
		     "tcp-ports: 60000: fd 3 is already used by port 1");
	buf_free(&b);

	/* a long key is cut in the messages about everything under it */
	char *name = repeat("p", 1 << 20, NULL);
	buf_printf(&b, "? %s\n: {", name);
	free(name);
	for (int i = 0; i < 5000; i++)
		buf_printf(&b, "%su%d: 1", i ? ", " : "", i);
	buf_puts(&b, "}\n");
	r = parse(PROCESSES, "h.yaml", b.p, b.len, NULL);
	expect_error(r, "1 MiB process name", "h.yaml", 2, 4, "...\": unknown key \"u0\"");
	size_t longest = 0;
	for (size_t i = 0; i < D.n; i++)
		if (strlen(D.v[i].msg) > longest)
			longest = strlen(D.v[i].msg);
	ok(longest < 2000, "1 MiB process name: messages are short (longest %zu)", longest);
	buf_free(&b);
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "not ok - timed out (a parse hangs)\n";
	if (write(1, msg, sizeof(msg) - 1) < 0) {
		/* nothing to do */
	}
	_exit(1);
}

/* read_fd_limited on a stream (no size known up front): content across
 * several buffer growths comes back whole, one byte over the limit is
 * EFBIG, with and without wiping. */
static void test_read_fd_limited(void)
{
	for (int wipe = 0; wipe <= 1; wipe++) {
		for (size_t n = 0; n <= 20000; n += 10000) {
			int p[2];
			if (pipe(p) < 0) {
				ok(0, "pipe: %s", strerror(errno));
				return;
			}
			pid_t pid = fork();
			if (pid == 0) {
				close(p[0]);
				for (size_t i = 0; i < n; i++)
					if (write(p[1], &"0123456789"[i % 10], 1) != 1)
						_exit(1);
				_exit(0);
			}
			close(p[1]);
			size_t len = 7;
			char *s = read_fd_limited(p[0], 20000, &len, wipe);
			close(p[0]);
			waitpid(pid, NULL, 0);
			bool same = s && len == n && strlen(s) == n;
			for (size_t i = 0; same && i < n; i++)
				same = s[i] == "0123456789"[i % 10];
			ok(same, "read_fd_limited(wipe=%d) returns all %zu bytes of a pipe", wipe, n);
			free(s);
		}
		int p[2];
		if (pipe(p) < 0)
			return;
		char big[4097];
		memset(big, 'x', sizeof(big));
		if (write(p[1], big, sizeof(big)) != (ssize_t)sizeof(big))
			ok(0, "write");
		close(p[1]);
		errno = 0;
		char *s = read_fd_limited(p[0], 4096, NULL, wipe);
		ok(!s && errno == EFBIG, "read_fd_limited(wipe=%d): 4097 bytes with a limit of 4096 is EFBIG (errno %d)",
		   wipe, errno);
		close(p[0]);
		free(s);
	}
}

int main(void)
{
	const char *sd = getenv("HOSTILE_SLOWDOWN");
	if (sd && atoi(sd) > 1)
		slowdown = (unsigned)atoi(sd);
	FAST *= slowdown;
	signal(SIGALRM, on_alarm);
	alarm(120 * slowdown);
	strcpy(tmpdir, "/tmp/lithos-hostile.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}

	test_billion_laughs();
	test_deep_nesting();
	test_huge_file();
	test_bad_bytes();
	test_empty();
	test_not_a_file();
	test_aliases_and_documents();
	test_big_collections();
	test_read_fd_limited();

	diags_free(&D);
	rmdir(tmpdir);
	return done_testing();
}
