/* Unit tests of validation across configs (translator/validate.c): image
 * names, reading the container config inside the image root (symlinks stay
 * inside), users and groups against allow-users/allow-groups and id maps,
 * volumes against the sandbox's paths, tcp-ports, variables and their
 * values, bridged-network addresses and kinds.  Every error is checked with
 * its exact text and position.
 */
#include "config.h"
#include "setup.h"
#include "util.h"
#include "validate.h"
#include "../tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct diags D;
static char *T; /* temp dir */

static char *take_diags(void)
{
	struct buf b = { 0 };
	for (size_t i = 0; i < D.n; i++) {
		char *s = diag_format(&D.v[i]);
		buf_printf(&b, "%s%s", i ? "\n" : "", s);
		free(s);
	}
	diags_free(&D);
	return b.p ? b.p : xstrdup("");
}

#define NO_DIAGS(name) do { \
	char *_got = take_diags(); \
	is_str(_got, "", "%s", name); \
	free(_got); \
} while (0)

#define DIAGS_ARE(want, name) do { \
	char *_got = take_diags(); \
	is_str(_got, want, "%s", name); \
	free(_got); \
} while (0)

static struct sandbox_config S;
static struct processes_config P;
static struct container_config C;

/* Sandbox "app" from s.yaml; image-dir is T/images unless the text sets it. */
static void sandbox(const char *body)
{
	sandbox_config_free(&S);
	char *y = strstr(body, "image-dir:") ? xstrdup(body)
					     : xasprintf("image-dir: %s/images\n%s", T, body);
	if (sandbox_config_parse_buffer(&S, "app", "s.yaml", y, strlen(y), &D) < 0) {
		char *g = take_diags();
		printf("# sandbox does not parse: %s\n", g);
		free(g);
	}
	free(y);
}

static void processes(const char *body)
{
	processes_config_free(&P);
	if (processes_config_parse_buffer(&P, "p.yaml", body, strlen(body), &D) < 0) {
		char *g = take_diags();
		printf("# processes do not parse: %s\n", g);
		free(g);
	}
}

static void container(const char *body)
{
	container_config_free(&C);
	if (container_config_parse_buffer(&C, "c.yaml", body, strlen(body), &D) < 0) {
		char *g = take_diags();
		printf("# container does not parse: %s\n", g);
		free(g);
	}
}

/* Validate C against S and the first entry of P; the problems, one a line. */
static char *check(void)
{
	validate_entry(&S, &P.v[0], "p.yaml", &D);
	validate_container(&S, &P.v[0], "p.yaml", &C, &D);
	return take_diags();
}

#define CHECK(want, ...) do { \
	char *_got = check(); \
	is_str(_got, want, __VA_ARGS__); \
	free(_got); \
} while (0)

#define ENTRY "a: {image: app, config: /config/c.yaml}\n"
#define BASIC_SANDBOX "allow-users: [1-10]\nallow-groups: [1-10]\n"

/* ------------------------------------------------------------------ */

static void test_image_name(void)
{
	static const struct {
		unsigned levels;
		const char *image;
		const char *err;
	} cases[] = {
		{ 1, "app", NULL },
		{ 1, "app.v1-2_3", NULL },
		{ 2, "web/v1", NULL },
		{ 3, "a/b/c", NULL },
		{ 1, "web/v1", "p.yaml:1:12: image \"web/v1\" has 2 path components; expected exactly 1 (image-dir-levels of sandbox app)" },
		{ 2, "web", "p.yaml:1:12: image \"web\" has 1 path component; expected exactly 2 (image-dir-levels of sandbox app)" },
		{ 2, "a/b/c", "p.yaml:1:12: image \"a/b/c\" has 3 path components; expected exactly 2 (image-dir-levels of sandbox app)" },
		{ 1, "..", "p.yaml:1:12: image \"..\" is not a valid image name: it has a . or .. component; expected 1 relative component below image-dir" },
		{ 1, ".", "p.yaml:1:12: image \".\" is not a valid image name: it has a . or .. component; expected 1 relative component below image-dir" },
		{ 2, "../etc", "p.yaml:1:12: image \"../etc\" is not a valid image name: it has a . or .. component; expected 2 relative components below image-dir" },
		{ 2, "web/..", "p.yaml:1:12: image \"web/..\" is not a valid image name: it has a . or .. component; expected 2 relative components below image-dir" },
		{ 3, "a/../b", "p.yaml:1:12: image \"a/../b\" is not a valid image name: it has a . or .. component; expected 3 relative components below image-dir" },
		{ 1, "/etc", "p.yaml:1:12: image \"/etc\" is not a valid image name: it is an absolute path; expected 1 relative component below image-dir" },
		{ 2, "/a/b", "p.yaml:1:12: image \"/a/b\" is not a valid image name: it is an absolute path; expected 2 relative components below image-dir" },
		{ 1, "", "p.yaml:1:12: image \"\" is not a valid image name: it is empty; expected 1 relative component below image-dir" },
		{ 2, "a//b", "p.yaml:1:12: image \"a//b\" is not a valid image name: it has an empty component; expected 2 relative components below image-dir" },
		{ 1, "a/", "p.yaml:1:12: image \"a/\" is not a valid image name: it has an empty component; expected 1 relative component below image-dir" },
		{ 2, "a/", "p.yaml:1:12: image \"a/\" is not a valid image name: it has an empty component; expected 2 relative components below image-dir" },
		/* written into lxc.rootfs.path: a newline would start a line of its own */
		{ 2, "a/b\\nlxc.hook.start-host = /bin/evil", "p.yaml:1:12: image: the name has a control character (newline, tab, ...); expected 2 relative components below image-dir of printable characters" },
		{ 1, "a\\tb", "p.yaml:1:12: image: the name has a control character (newline, tab, ...); expected 1 relative component below image-dir of printable characters" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *sb = xasprintf("image-dir-levels: %u\n", cases[i].levels);
		sandbox(sb);
		free(sb);
		char *pr = xasprintf("a: {image: \"%s\", config: /config/c.yaml}\n", cases[i].image);
		processes(pr);
		free(pr);
		bool r = validate_image_name(&S, &P.v[0], "p.yaml", &D);
		ok(r == !cases[i].err, "image \"%s\" with %u levels: %s", cases[i].image, cases[i].levels,
		   cases[i].err ? "invalid" : "valid");
		DIAGS_ARE(cases[i].err ? cases[i].err : "", cases[i].image);
	}
}

/* ------------------------------------------------------------------ */

static void write_file(const char *rel, const char *text)
{
	char *p = xasprintf("%s/%s", T, rel);
	FILE *f = fopen(p, "w");
	if (!f) {
		perror(p);
		exit(99);
	}
	fputs(text, f);
	fclose(f);
	free(p);
}

static void make_dir(const char *rel)
{
	char *p = xasprintf("%s/%s", T, rel);
	if (mkdir(p, 0755) < 0 && errno != EEXIST) {
		perror(p);
		exit(99);
	}
	free(p);
}

static void make_link(const char *target, const char *rel)
{
	char *p = xasprintf("%s/%s", T, rel);
	if (symlink(target, p) < 0) {
		perror(p);
		exit(99);
	}
	free(p);
}

static void make_images(void)
{
	make_dir("images");
	make_dir("images/app");
	make_dir("images/app/config");
	make_dir("images/app/etc");
	make_dir("images/app/config/dir.yaml");
	write_file("images/app/config/c.yaml", "executable: /bin/app\nuser-id: 1\ngroup-id: 1\n");
	write_file("images/app/config/bad.yaml", "executable: rel\n");
	/* a file named like the host's passwd, inside the image */
	write_file("images/app/etc/passwd", "executable: /inside/the/image\n");
	make_link("/etc/passwd", "images/app/config/abs.yaml");
	make_link("../../../../../../../../etc/passwd", "images/app/config/rel.yaml");
	make_link("/etc", "images/app/config/etcdir");
	make_link("/config/c.yaml", "images/app/config/chain.yaml");
	make_link("loop.yaml", "images/app/config/loop.yaml");
	char *fifo = xasprintf("%s/images/app/config/fifo.yaml", T);
	if (mkfifo(fifo, 0644) < 0) {
		perror(fifo);
		exit(99);
	}
	free(fifo);
	char *big = xasprintf("%s/images/app/config/big.yaml", T);
	int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, 9 << 20) < 0) {
		perror(big);
		exit(99);
	}
	close(fd);
	free(big);
	/* an image without /etc/passwd: the host's must not be read */
	make_dir("images/bare");
	make_dir("images/bare/config");
	make_link("/etc/passwd", "images/bare/config/abs.yaml");
	make_link("../../../../../../../../etc/passwd", "images/bare/config/rel.yaml");
	make_link("/etc", "images/bare/config/etcdir");
	/* two levels */
	make_dir("images/web");
	make_dir("images/web/v1");
	make_dir("images/web/v1/config");
	write_file("images/web/v1/config/c.yaml", "executable: /bin/web\nuser-id: 1\ngroup-id: 1\n");
}

/* text with every @T replaced by the temp dir */
static char *with_tmp(const char *text)
{
	struct buf b = { 0 };
	for (const char *p = text, *at; *p; p = at + 2) {
		at = strstr(p, "@T");
		if (!at) {
			buf_printf(&b, "%s", p);
			break;
		}
		buf_printf(&b, "%.*s%s", (int)(at - p), p, T);
	}
	return b.p ? b.p : xstrdup("");
}

/* Load the container config of `config` in `image`; returns the problems. */
static char *load(const char *image, const char *config, int *ret, char **root)
{
	char *pr = xasprintf("a: {image: \"%s\", config: \"%s\"}\n", image, config);
	processes(pr);
	free(pr);
	container_config_free(&C);
	*ret = load_container_config(&S, &P.v[0], "p.yaml", &C, root, &D);
	return take_diags();
}

static void test_load_container_config(void)
{
	make_images();
	sandbox(BASIC_SANDBOX);
	int r;
	char *root = NULL;
	char *g = load("app", "/config/c.yaml", &r, &root);
	is_str(g, "", "load: a config inside the image");
	free(g);
	is_int(r, 0, "load: returns 0");
	is_str(C.executable, "/bin/app", "load: the image's config was read");
	char *want = xasprintf("%s/images/app", T);
	is_str(root, want, "load: image root");
	free(want);
	want = xasprintf("%s/images/app/config/c.yaml", T);
	is_str(C.file, want, "load: config file named by its host path");
	free(want);
	free(root);
	root = NULL;

	g = load("app", "/config/chain.yaml", &r, NULL);
	ok(r == 0 && !strcmp(C.executable, "/bin/app"), "load: an absolute symlink inside the image is followed inside it");
	free(g);
	g = load("app", "//config/./c.yaml", &r, NULL);
	ok(r == 0 && !strcmp(C.executable, "/bin/app"), "load: // and . in the config path");
	free(g);

	/* symlinks that point at the host's /etc/passwd resolve inside the image */
	g = load("app", "/config/abs.yaml", &r, NULL);
	is_str(g, "", "load: symlink to /etc/passwd");
	ok(r == 0 && C.executable && !strcmp(C.executable, "/inside/the/image"),
	   "load: symlink to /etc/passwd reads the image's /etc/passwd");
	free(g);
	g = load("app", "/config/rel.yaml", &r, NULL);
	ok(r == 0 && C.executable && !strcmp(C.executable, "/inside/the/image"),
	   "load: symlink to ../../../../etc/passwd stays in the image");
	free(g);
	g = load("app", "/config/etcdir/passwd", &r, NULL);
	ok(r == 0 && C.executable && !strcmp(C.executable, "/inside/the/image"),
	   "load: a directory symlink to /etc stays in the image");
	free(g);
	g = load("app", "/../../../../../etc/passwd", &r, NULL);
	ok(r == 0 && C.executable && !strcmp(C.executable, "/inside/the/image"),
	   "load: .. in the config path stays in the image");
	free(g);

	/* failures: the problem (@T is the temp dir) and -1 */
	static const struct {
		const char *image, *config, *want, *name, *fails;
	} bad[] = {
		{ "bare", "/config/abs.yaml",
		  "p.yaml:1:28: config /config/abs.yaml: cannot open it inside image @T/images/bare: No such file or directory; expected a container config file in the image",
		  "load: symlink to /etc/passwd in an image without one: not found, never the host's", "load: fails" },
		{ "bare", "/config/rel.yaml",
		  "p.yaml:1:28: config /config/rel.yaml: cannot open it inside image @T/images/bare: No such file or directory; expected a container config file in the image",
		  "load: symlink to ../../etc/passwd in an image without one: not found", NULL },
		{ "bare", "/config/etcdir/passwd",
		  "p.yaml:1:28: config /config/etcdir/passwd: cannot open it inside image @T/images/bare: No such file or directory; expected a container config file in the image",
		  "load: directory symlink to /etc in an image without one: not found", NULL },
		{ "app", "config/c.yaml",
		  "p.yaml:1:27: config \"config/c.yaml\" is not an absolute path; expected the config's path inside the image, like /config/web.yaml",
		  "load: relative config path", "load: relative config path fails" },
		{ "app", "/config/c.yaml\\nlxc.hook.start-host = /bin/evil",
		  "p.yaml:1:27: config: the path has a control character (newline, tab, ...); expected the config's path inside the image of printable characters",
		  "load: a newline in the config path (it would start an lxc.conf line of its own)", "load: a newline in the config path fails" },
		{ "app", "/config/missing.yaml",
		  "p.yaml:1:27: config /config/missing.yaml: cannot open it inside image @T/images/app: No such file or directory; expected a container config file in the image",
		  "load: missing config", NULL },
		{ "app", "/config/dir.yaml",
		  "p.yaml:1:27: config /config/dir.yaml in image @T/images/app is not a regular file; expected a YAML file",
		  "load: config is a directory", "load: directory fails" },
		{ "app", "/config/fifo.yaml",
		  "p.yaml:1:27: config /config/fifo.yaml in image @T/images/app is not a regular file; expected a YAML file",
		  "load: config is a fifo (and nothing hangs)", NULL },
		{ "app", "/config/big.yaml",
		  "@T/images/app/config/big.yaml: file is larger than 8388608 bytes; expected a config of reasonable size",
		  "load: config larger than 8 MiB", "load: big file fails" },
		{ "app", "/config/loop.yaml",
		  "p.yaml:1:27: config /config/loop.yaml: cannot open it inside image @T/images/app: Too many levels of symbolic links; expected a container config file in the image",
		  "load: symlink loop", NULL },
		{ "nope", "/config/c.yaml",
		  "p.yaml:1:12: image \"nope\": cannot open @T/images/nope: No such file or directory; expected an image directory below image-dir @T/images",
		  "load: missing image directory", NULL },
		{ "../images", "/app/config/c.yaml",
		  "p.yaml:1:12: image \"../images\" is not a valid image name: it has a . or .. component; expected 1 relative component below image-dir",
		  "load: bad image name is not opened", "load: bad image name fails" },
		{ "app", "/config/bad.yaml",
		  "@T/images/app/config/bad.yaml:1:13: executable: \"rel\" is not an absolute path; expected a path starting with /",
		  "load: problems of the config name its host path", "load: invalid config fails" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *problem = with_tmp(bad[i].want);
		g = load(bad[i].image, bad[i].config, &r, NULL);
		is_str(g, problem, "%s", bad[i].name);
		if (bad[i].fails)
			is_int(r, -1, "%s", bad[i].fails);
		else
			is_int(r, -1, "%s: returns -1", bad[i].name);
		free(g);
		free(problem);
	}

	sandbox("image-dir-levels: 2\n" BASIC_SANDBOX);
	g = load("web/v1", "/config/c.yaml", &r, NULL);
	ok(r == 0 && !strcmp(C.executable, "/bin/web"), "load: two-level image");
	free(g);
}

/* ------------------------------------------------------------------ */

static void test_users_groups(void)
{
	sandbox(BASIC_SANDBOX);
	processes(ENTRY);
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 10\n");
	CHECK("", "user-id and group-id allowed");
	container("executable: /bin/x\nuser-id: 0\ngroup-id: 11\n");
	CHECK("c.yaml:2:10: user id 0 is not in allow-users [1-10] of sandbox app; expected an allowed id\n"
	      "c.yaml:3:11: group id 11 is not in allow-groups [1-10] of sandbox app; expected an allowed id",
	      "user-id and group-id outside allow-users/allow-groups");

	sandbox("allow-users: [1, 99, 1000-2000]\nallow-groups: [0]\n");
	container("executable: /bin/x\nuser-id: 99\n");
	CHECK("", "user-id in a list of ranges; default group 0 allowed");
	container("executable: /bin/x\nuser-id: 2001\n");
	CHECK("c.yaml:2:10: user id 2001 is not in allow-users [1, 99, 1000-2000] of sandbox app; expected an allowed id",
	      "user-id past the end of a range");

	/* defaults */
	sandbox("allow-users: [1-10]\ndefault-user: 5\nallow-groups: [1-10]\ndefault-group: 6\n");
	container("executable: /bin/x\n");
	CHECK("", "default-user and default-group of the sandbox");
	sandbox("allow-users: [1-10]\nallow-groups: [1-10]\n");
	container("executable: /bin/x\ngroup-id: 1\n");
	CHECK("c.yaml: user-id is not set and sandbox app has no default-user; expected user-id in the container config",
	      "no user-id and no default-user");
	container("executable: /bin/x\nuser-id: 1\n");
	CHECK("c.yaml: group id 0 is not in allow-groups [1-10] of sandbox app; expected an allowed id",
	      "default group 0 not allowed");
	sandbox("allow-users: [1-10]\ndefault-user: 5\nallow-groups: [0-10]\n");
	container("executable: /bin/x\nuser-id: 11\n");
	CHECK("c.yaml:2:10: user id 11 is not in allow-users [1-10] of sandbox app; expected an allowed id",
	      "user-id overrides default-user and is checked");

	/* uid-map in the sandbox: allow-users are ids inside the namespace */
	sandbox("uid-map: [{outside: 100000, inside: 0, count: 65536}]\n"
		"gid-map: [{outside: 100000, inside: 0, count: 65536}]\n"
		"allow-users: [1-65535]\nallow-groups: [1-65535]\n");
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 1\n");
	CHECK("", "sandbox uid-map: user 1 inside");
	container("executable: /bin/x\nuser-id: 0\ngroup-id: 1\n");
	CHECK("c.yaml:2:10: user id 0 is not in allow-users [1-65535] of sandbox app; expected an allowed id",
	      "sandbox uid-map: root inside not allowed by allow-users [1-65535]");
	sandbox("uid-map: [{outside: 100000, inside: 0, count: 100}]\n"
		"gid-map: [{outside: 100000, inside: 0, count: 100}]\n"
		"allow-users: [1-65535]\nallow-groups: [1-65535]\n");
	container("executable: /bin/x\nuser-id: 100\ngroup-id: 200\n");
	CHECK("c.yaml:2:10: user id 100 is not mapped by sandbox app's user-map; expected an id inside the map\n"
	      "c.yaml:3:11: group id 200 is not mapped by sandbox app's group-map; expected an id inside the map",
	      "sandbox uid-map: allowed but unmapped ids");

	/* uid-map in both */
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 1\n"
		  "uid-map: [{inside: 0, outside: 100, count: 10}]\ngid-map: [{inside: 0, outside: 100, count: 10}]\n");
	CHECK("c.yaml:4:10: uid-map is set both here and in sandbox app (s.yaml); expected it in only one of them\n"
	      "c.yaml:5:10: gid-map is set both here and in sandbox app (s.yaml); expected it in only one of them",
	      "uid-map in the sandbox and the container");

	/* uid-map in the container: allow-users limit the outside ids */
	sandbox("allow-users: [100000-165535]\nallow-groups: [100000-165535]\n");
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 1\n"
		  "uid-map: [{inside: 0, outside: 100000, count: 65536}]\n"
		  "gid-map: [{inside: 0, outside: 100000, count: 65536}]\n");
	CHECK("", "container uid-map inside allow-users");
	container("executable: /bin/x\nuser-id: 0\ngroup-id: 0\n"
		  "uid-map: [{inside: 0, outside: 100000, count: 1}, {inside: 1, outside: 165535, count: 2}]\n"
		  "gid-map: [{inside: 0, outside: 99999, count: 1}]\n");
	CHECK("c.yaml:4:51: user-map: outside ids 165535-165536 are not within allow-users [100000-165535] of sandbox app; expected the map's outside ids inside allow-users\n"
	      "c.yaml:5:11: group-map: outside ids 99999-99999 are not within allow-groups [100000-165535] of sandbox app; expected the map's outside ids inside allow-groups",
	      "container uid-map: outside ids beyond allow-users");
	container("executable: /bin/x\nuser-id: 5\ngroup-id: 1\n"
		  "uid-map: [{inside: 0, outside: 100000, count: 2}]\n"
		  "gid-map: [{inside: 0, outside: 100000, count: 2}]\n");
	CHECK("c.yaml:2:10: user id 5 is not mapped by the container's user-map; expected an id inside the map",
	      "container uid-map: user-id must be mapped");
	sandbox("allow-users: [100000-100010, 100011-100020]\nallow-groups: [100000-100020]\n");
	container("executable: /bin/x\nuser-id: 0\ngroup-id: 0\n"
		  "uid-map: [{inside: 0, outside: 100005, count: 10}]\n"
		  "gid-map: [{inside: 0, outside: 100005, count: 10}]\n");
	CHECK("c.yaml:4:11: user-map: outside ids 100005-100014 are not within allow-users [100000-100010, 100011-100020] of sandbox app; expected the map's outside ids inside allow-users",
	      "container uid-map: a map spanning two adjacent ranges is rejected (each entry within one range)");
	/* default-user with a container map */
	sandbox("allow-users: [100000-165535]\ndefault-user: 100000\nallow-groups: [100000-165535]\ndefault-group: 100000\n");
	container("executable: /bin/x\n"
		  "uid-map: [{inside: 0, outside: 100000, count: 65536}]\n"
		  "gid-map: [{inside: 0, outside: 100000, count: 65536}]\n");
	CHECK("s.yaml:3:15: user id 100000 is not mapped by the container's user-map; expected an id inside the map\n"
	      "s.yaml:5:16: group id 100000 is not mapped by the container's group-map; expected an id inside the map",
	      "default-user with a container uid-map: must be mapped too");
}

/* ------------------------------------------------------------------ */

static void test_volumes(void)
{
	sandbox(BASIC_SANDBOX "readonly-paths:\n  /timezones: /usr/share/zoneinfo\n  /: /srv/ro\n"
		"writable-paths:\n  /db: /var/lib/db\n  /logs/: /var/log/app\n");
	processes(ENTRY);
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 1\nvolumes:\n"
		  "  /etc/timezones: !Readonly /timezones\n"
		  "  /tz2: !Readonly /timezones/Europe\n"
		  "  /ro-db: !Readonly /db\n"
		  "  /db: !Persistent /db\n"
		  "  /db2: !Persistent {path: /db/sub, mkdir: true}\n"
		  "  /logs: !Persistent /logs/app\n"
		  "  /tmp: !Tmpfs\n"
		  "  /state: !Statedir\n");
	CHECK("", "volumes naming declared virtual paths and paths below them");
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 1\nvolumes:\n  /x: !Readonly /anything\n");
	CHECK("", "!Readonly below a readonly virtual path /");

	sandbox(BASIC_SANDBOX "readonly-paths:\n  /timezones: /usr/share/zoneinfo\nwritable-paths:\n  /db: /var/lib/db\n");
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 1\nvolumes:\n"
		  "  /a: !Readonly /nope\n"
		  "  /b: !Persistent /timezones\n"
		  "  /c: !Persistent {path: /nope}\n"
		  "  /d: !Readonly /dbx\n"
		  "  /e: !Persistent /timezones/sub\n");
	CHECK("c.yaml:5:7: volume /a: !Readonly /nope is not a path the sandbox app declares; expected a path under its readonly-paths or writable-paths\n"
	      "c.yaml:6:7: volume /b: !Persistent /timezones is not a writable path of sandbox app; expected a path under its writable-paths\n"
	      "c.yaml:7:7: volume /c: !Persistent /nope is not a writable path of sandbox app; expected a path under its writable-paths\n"
	      "c.yaml:8:7: volume /d: !Readonly /dbx is not a path the sandbox app declares; expected a path under its readonly-paths or writable-paths\n"
	      "c.yaml:9:7: volume /e: !Persistent /timezones/sub is not a writable path of sandbox app; expected a path under its writable-paths",
	      "volumes naming undeclared paths, Persistent on a readonly path");
	sandbox(BASIC_SANDBOX);
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 1\nvolumes:\n  /a: !Readonly /timezones\n");
	CHECK("c.yaml:5:7: volume /a: !Readonly /timezones is not a path the sandbox app declares; expected a path under its readonly-paths or writable-paths",
	      "!Readonly with no readonly-paths at all");

	/* stdout-stderr-file must be on a !Persistent volume: lithos-lxc opens
	 * it from the host before the container (and its tmpfs) exists */
	sandbox(BASIC_SANDBOX "writable-paths: {/log: /var/log/app}\nreadonly-paths: {/ro: /srv}\n");
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 1\nstdout-stderr-file: /var/log/app/out.log\n"
		  "volumes: {/var/log/app: !Persistent /log}\n");
	CHECK("", "stdout-stderr-file on a !Persistent volume");
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 1\nstdout-stderr-file: /tmp/out.log\nvolumes: {/tmp: !Tmpfs }\n");
	CHECK("c.yaml:4:21: stdout-stderr-file /tmp/out.log is not on a !Persistent volume; expected a path under a !Persistent mount point (lithos-lxc opens it from the host)",
	      "stdout-stderr-file on a !Tmpfs volume");
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 1\nstdout-stderr-file: /state/out.log\nvolumes: {/state: !Statedir }\n");
	CHECK("c.yaml:4:21: stdout-stderr-file /state/out.log is not on a !Persistent volume; expected a path under a !Persistent mount point (lithos-lxc opens it from the host)",
	      "stdout-stderr-file on a !Statedir volume");
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 1\nstdout-stderr-file: /ro/out.log\nvolumes: {/ro: !Readonly /ro}\n");
	CHECK("c.yaml:4:21: stdout-stderr-file /ro/out.log is not on a !Persistent volume; expected a path under a !Persistent mount point (lithos-lxc opens it from the host)",
	      "stdout-stderr-file on a !Readonly volume");
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 1\nstdout-stderr-file: /tmpx/out.log\nvolumes: {/tmp: !Tmpfs }\n");
	CHECK("c.yaml:4:21: stdout-stderr-file /tmpx/out.log is not on a !Persistent volume; expected a path under a !Persistent mount point (lithos-lxc opens it from the host)",
	      "stdout-stderr-file next to, not under, a volume");
}

/* The owner of a !Persistent (mkdir) or !Statedir volume is chowned by host
 * root at start: a container config must not name ids its sandbox does not
 * allow (0, the default, stays allowed: root-owned grants nothing) */
static void test_volume_owners(void)
{
	sandbox("allow-users: [1000]\nallow-groups: [1000]\nwritable-paths: {/db: /var/lib/db}\n");
	processes(ENTRY);
	container("executable: /bin/x\nuser-id: 1000\ngroup-id: 1000\nvolumes:\n"
		  "  /a: !Persistent {path: /db/a, mkdir: true, user: 1000, group: 1000}\n"
		  "  /b: !Persistent {path: /db/b, mkdir: true, user: 0, group: 0}\n"
		  "  /c: !Persistent {path: /db/c, mkdir: true}\n"
		  "  /d: !Statedir {path: /d, user: 1000, group: 1000}\n"
		  "  /e: !Statedir {path: /e, user: 0, group: 0}\n"
		  "  /f: !Statedir\n");
	CHECK("", "volume owners: allowed ids, explicit 0 and the default 0 pass");
	container("executable: /bin/x\nuser-id: 1000\ngroup-id: 1000\nvolumes:\n"
		  "  /a: !Persistent {path: /db/a, mkdir: true, user: 2000}\n");
	CHECK("c.yaml:5:52: volume /a: !Persistent user 2000 is not in allow-users [1000] of sandbox app; expected an allowed id, or 0 (root)",
	      "!Persistent user outside allow-users refused at its position");
	container("executable: /bin/x\nuser-id: 1000\ngroup-id: 1000\nvolumes:\n"
		  "  /a: !Persistent {path: /db/a, mkdir: true, user: 1000, group: 2000}\n");
	CHECK("c.yaml:5:65: volume /a: !Persistent group 2000 is not in allow-groups [1000] of sandbox app; expected an allowed id, or 0 (root)",
	      "!Persistent group outside allow-groups refused at its position");
	container("executable: /bin/x\nuser-id: 1000\ngroup-id: 1000\nvolumes:\n"
		  "  /s: !Statedir {path: /s, user: 2000,\n     group: 3000}\n");
	CHECK("c.yaml:5:34: volume /s: !Statedir user 2000 is not in allow-users [1000] of sandbox app; expected an allowed id, or 0 (root)\n"
	      "c.yaml:6:13: volume /s: !Statedir group 3000 is not in allow-groups [1000] of sandbox app; expected an allowed id, or 0 (root)",
	      "!Statedir user and group outside allow-users/allow-groups refused");
	container("executable: /bin/x\nuser-id: 1000\ngroup-id: 1000\nvolumes:\n"
		  "  /a: !Persistent {path: /db/a, user: 2000}\n");
	CHECK("", "!Persistent without mkdir: nothing is made or chowned, the keys are not checked");

	/* sandbox uid-map: container-side ids, as user-id */
	sandbox("uid-map: [{outside: 100000, inside: 0, count: 2000}]\n"
		"gid-map: [{outside: 100000, inside: 0, count: 2000}]\n"
		"allow-users: [1000-3000]\nallow-groups: [1000-3000]\nwritable-paths: {/db: /var/lib/db}\n");
	container("executable: /bin/x\nuser-id: 1000\ngroup-id: 1000\nvolumes:\n"
		  "  /a: !Persistent {path: /db/a, mkdir: true, user: 1999, group: 0}\n");
	CHECK("", "sandbox uid-map: allowed mapped id and 0 pass");
	container("executable: /bin/x\nuser-id: 1000\ngroup-id: 1000\nvolumes:\n"
		  "  /a: !Persistent {path: /db/a, mkdir: true, user: 101000, group: 2500}\n");
	CHECK("c.yaml:5:52: volume /a: !Persistent user 101000 is not in allow-users [1000-3000] of sandbox app; expected an allowed id, or 0 (root)\n"
	      "c.yaml:5:67: volume /a: !Persistent group 2500 is not mapped by sandbox app's group-map; expected an id inside the map, or 0 (root)",
	      "sandbox uid-map: a host-side id is refused, an allowed id must be mapped");

	/* container uid-map: ids inside the map (its outside ids are checked
	 * against allow-users with user-id) */
	sandbox("allow-users: [100000-165535]\nallow-groups: [100000-165535]\nwritable-paths: {/db: /var/lib/db}\n");
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 1\n"
		  "uid-map: [{inside: 0, outside: 100000, count: 100}]\n"
		  "gid-map: [{inside: 0, outside: 100000, count: 100}]\nvolumes:\n"
		  "  /a: !Persistent {path: /db/a, mkdir: true, user: 99, group: 0}\n");
	CHECK("", "container uid-map: mapped id and 0 pass");
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 1\n"
		  "uid-map: [{inside: 0, outside: 100000, count: 100}]\n"
		  "gid-map: [{inside: 0, outside: 100000, count: 100}]\nvolumes:\n"
		  "  /a: !Statedir {path: /a, user: 100000, group: 100}\n");
	CHECK("c.yaml:7:34: volume /a: !Statedir user 100000 is not mapped by the container's user-map; expected an id inside the map, or 0 (root)\n"
	      "c.yaml:7:49: volume /a: !Statedir group 100 is not mapped by the container's group-map; expected an id inside the map, or 0 (root)",
	      "container uid-map: unmapped ids (even an allowed outside id) refused");
}

/* ------------------------------------------------------------------ */

static void test_tcp_ports(void)
{
	sandbox(BASIC_SANDBOX "allow-tcp-ports: [80, 8000-8080]\n");
	processes(ENTRY);
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 1\ntcp-ports: {80: {fd: 0}, 8080: {fd: 3}, 8000: {fd: 4}}\n");
	CHECK("", "tcp-ports allowed, fd 0 accepted");
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 1\ntcp-ports: {81: {fd: 3}, 8081: {fd: 4}, 0x50: {fd: 5}}\n");
	CHECK("c.yaml:4:13: tcp-ports: port 81 is not in allow-tcp-ports [80, 8000-8080] of sandbox app; expected an allowed port\n"
	      "c.yaml:4:26: tcp-ports: port 8081 is not in allow-tcp-ports [80, 8000-8080] of sandbox app; expected an allowed port",
	      "tcp-ports not allowed (0x50 is 80 and allowed)");
	sandbox(BASIC_SANDBOX);
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 1\ntcp-ports: {80: {fd: 3}}\n");
	CHECK("c.yaml:4:13: tcp-ports: port 80 is not in allow-tcp-ports [] of sandbox app; expected an allowed port",
	      "tcp-ports with no allow-tcp-ports");
	/* fd 1 and 2 are rejected when the config is parsed */
	container_config_free(&C);
	const char *y = "executable: /bin/x\ntcp-ports: {80: {fd: 1}, 81: {fd: 2}, 82: {fd: 0}}\n";
	container_config_parse_buffer(&C, "c.yaml", y, strlen(y), &D);
	DIAGS_ARE("c.yaml:2:22: tcp-ports: 80: fd 1 is stdout/stderr; expected fd 0 or 3 and above\n"
		  "c.yaml:2:35: tcp-ports: 81: fd 2 is stdout/stderr; expected fd 0 or 3 and above",
		  "fd 1 and 2 rejected, fd 0 accepted");
}

/* ------------------------------------------------------------------ */

static void test_secrets(void)
{
	sandbox(BASIC_SANDBOX);
	processes(ENTRY);
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 1\nsecret-environ: {A: v2:x}\n");
	CHECK("c.yaml:4:17: secret-environ is set but sandbox app has no secrets-private-key; expected the sandbox to name a key",
	      "secret-environ without secrets-private-key");
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 1\nsecret-environ-file: /s.yaml\n");
	CHECK("c.yaml:4:22: secret-environ-file is set but sandbox app has no secrets-private-key; expected the sandbox to name a key",
	      "secret-environ-file without secrets-private-key");
	sandbox(BASIC_SANDBOX "secrets-private-key: /etc/lithos/keys/main.key\n");
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 1\nsecret-environ: {A: v2:x}\n");
	CHECK("", "secret-environ with secrets-private-key");
}

/* ------------------------------------------------------------------ */

struct var_case {
	const char *decl;  /* variable declaration */
	const char *value; /* value in the process entry */
	const char *err;   /* NULL: valid */
};

static void test_variables(void)
{
	static const struct var_case cases[] = {
		{ "!TcpPort", "8080", NULL },
		{ "!TcpPort", "1", NULL },
		{ "!TcpPort", "65535", NULL },
		{ "!TcpPort", "0", "variable v: \"0\" is not a TCP port; expected a number from 1 to 65535" },
		{ "!TcpPort", "65536", "variable v: \"65536\" is not a TCP port; expected a number from 1 to 65535" },
		{ "!TcpPort", "http", "variable v: \"http\" is not a TCP port; expected a number from 1 to 65535" },
		{ "!TcpPort", "-1", "variable v: \"-1\" is not a TCP port; expected a number from 1 to 65535" },
		{ "!TcpPort", "\"\"", "variable v: \"\" is not a TCP port; expected a number from 1 to 65535" },
		/* the value is substituted as written: only plain decimal numbers */
		{ "!TcpPort", "0x1f90", "variable v: \"0x1f90\" is not a TCP port; expected a number from 1 to 65535" },
		{ "!TcpPort", "8k", "variable v: \"8k\" is not a TCP port; expected a number from 1 to 65535" },
		{ "!TcpPort", "08080", "variable v: \"08080\" is not a TCP port; expected a number from 1 to 65535" },
		{ "!TcpPort", "8_080", "variable v: \"8_080\" is not a TCP port; expected a number from 1 to 65535" },
		{ "!TcpPort", "80", "variable v: port 80 is not in allow-tcp-ports [1000-65535, 1] of sandbox app; expected an allowed port" },
		{ "!TcpPort {activation: systemd}", "8080", NULL },
		{ "!TcpPort {activation: systemd}", "80", "variable v: port 80 is not in allow-tcp-ports [1000-65535, 1] of sandbox app; expected an allowed port" },
		{ "!Choice [high-priority, low-priority]", "low-priority", NULL },
		{ "!Choice [high-priority, low-priority]", "medium", "variable v: \"medium\" is not one of the choices; expected one of: high-priority, low-priority" },
		{ "!Choice [a, b]", "A", "variable v: \"A\" is not one of the choices; expected one of: a, b" },
		{ "!Choice [\"\", b]", "\"\"", NULL },
		{ "!Name", "main-queue_2", NULL },
		{ "!Name", "Q", NULL },
		{ "!Name", "a.b", "variable v: \"a.b\" is not a Name; expected letters, digits, _ and - only" },
		{ "!Name", "a b", "variable v: \"a b\" is not a Name; expected letters, digits, _ and - only" },
		{ "!Name", "a/b", "variable v: \"a/b\" is not a Name; expected letters, digits, _ and - only" },
		{ "!Name", "\"\"", "variable v: \"\" is not a Name; expected letters, digits, _ and - only" },
		{ "!Name", "\"$(rm)\"", "variable v: \"$(rm)\" is not a Name; expected letters, digits, _ and - only" },
		{ "!DottedName", "example.com", NULL },
		{ "!DottedName", "a-b.c_d.E9", NULL },
		{ "!DottedName", "localhost", NULL },
		{ "!DottedName", "a..b", "variable v: \"a..b\" is not a DottedName; expected dot-separated names of letters, digits, _ and - (no empty part, no part starting or ending with -)" },
		{ "!DottedName", ".a", "variable v: \".a\" is not a DottedName; expected dot-separated names of letters, digits, _ and - (no empty part, no part starting or ending with -)" },
		{ "!DottedName", "a.", "variable v: \"a.\" is not a DottedName; expected dot-separated names of letters, digits, _ and - (no empty part, no part starting or ending with -)" },
		{ "!DottedName", "-a.b", "variable v: \"-a.b\" is not a DottedName; expected dot-separated names of letters, digits, _ and - (no empty part, no part starting or ending with -)" },
		{ "!DottedName", "a-.b", "variable v: \"a-.b\" is not a DottedName; expected dot-separated names of letters, digits, _ and - (no empty part, no part starting or ending with -)" },
		{ "!DottedName", "a.-b", "variable v: \"a.-b\" is not a DottedName; expected dot-separated names of letters, digits, _ and - (no empty part, no part starting or ending with -)" },
		{ "!DottedName", "a b.c", "variable v: \"a b.c\" is not a DottedName; expected dot-separated names of letters, digits, _ and - (no empty part, no part starting or ending with -)" },
		{ "!DottedName", "\"\"", "variable v: \"\" is not a DottedName; expected dot-separated names of letters, digits, _ and - (no empty part, no part starting or ending with -)" },
	};
	sandbox(BASIC_SANDBOX "allow-tcp-ports: [1000-65535, 1]\n");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *c = xasprintf("executable: /bin/x\nuser-id: 1\ngroup-id: 1\nvariables:\n  v: %s\n"
				    "arguments: [\"--v=@{v}\"]\n", cases[i].decl);
		container(c);
		free(c);
		char *p = xasprintf("a:\n  image: app\n  config: /config/c.yaml\n  variables:\n    v: %s\n",
				    cases[i].value);
		processes(p);
		free(p);
		char *want = cases[i].err ? xasprintf("p.yaml:5:8: %s", cases[i].err) : xstrdup("");
		CHECK(want, "variable %s = %s", cases[i].decl, cases[i].value);
		free(want);
	}

	/* missing value, extra values, positions */
	sandbox(BASIC_SANDBOX "allow-tcp-ports: [8080]\n");
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 1\nvariables:\n  port: !TcpPort\n  name: !Name\n");
	processes("a:\n  image: app\n  config: /config/c.yaml\n  variables: {port: \"8080\", extra: whatever}\n");
	CHECK("p.yaml:1:1: process a: variable name declared in c.yaml has no value; expected it under variables",
	      "declared variable without a value; an undeclared value is ignored");
	processes("a:\n  image: app\n  config: /config/c.yaml\n");
	CHECK("p.yaml:1:1: process a: variable port declared in c.yaml has no value; expected it under variables\n"
	      "p.yaml:1:1: process a: variable name declared in c.yaml has no value; expected it under variables",
	      "no variables at all");

	/* references */
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 1\nvariables: {port: !TcpPort , name: !Name }\n"
		  "arguments: [\"--port=@{port}\", \"@{name}@{name}-@{lithos:name}\", \"@{lithos:config_filename}\", \"@{undeclared}\", \"a@{lithos:pid}\"]\n"
		  "environ:\n  PID: \"@{lithos:pid}\"\n  MSG: \"pid is @{lithos:pid}\"\n  N: \"@{name} @{nope}\"\n  K: \"@{lithos:nope}\"\n  U: \"@{port\"\n"
		  "tcp-ports:\n  \"@{port}\": {fd: 3}\n  \"@{other}\": {fd: 4}\n  \"@{lithos:pid}\": {fd: 5}\n  \"@{lithos:name}\": {fd: 6}\n");
	processes("a:\n  image: app\n  config: /config/c.yaml\n  variables: {port: \"8080\", name: n}\n");
	CHECK("c.yaml:5:93: arguments: variable @{undeclared} is not declared; expected a name from the config's variables\n"
	      "c.yaml:5:110: arguments: @{lithos:pid} in \"a@{lithos:pid}\"; expected it only as the whole value of an environ entry\n"
	      "c.yaml:8:8: environ: MSG: @{lithos:pid} in \"pid is @{lithos:pid}\"; expected it only as the whole value of an environ entry\n"
	      "c.yaml:9:6: environ: N: variable @{nope} is not declared; expected a name from the config's variables\n"
	      "c.yaml:10:6: environ: K: unknown built-in variable @{lithos:nope}; expected lithos:name, lithos:config_filename or lithos:pid\n"
	      "c.yaml:11:6: environ: U: unterminated @{ in \"@{port\"; expected @{name}\n"
	      "c.yaml:14:3: tcp-ports: variable @{other} is not declared; expected a name from the config's variables\n"
	      "c.yaml:15:3: tcp-ports: @{lithos:pid} in \"@{lithos:pid}\"; expected it only as the whole value of an environ entry\n"
	      "c.yaml:16:3: tcp-ports: built-in variables are not ports; expected a port number or a declared !TcpPort variable",
	      "variable references");
	/* only arguments, environ values and tcp-ports keys are checked */
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 1\nworkdir: \"/@{x}\"\nenviron: {\"@{y}\": v}\n"
		  "volumes: {/a: !Tmpfs }\nmetadata: {m: \"@{z}\"}\n");
	processes(ENTRY);
	CHECK("", "@{...} elsewhere is not a reference");
	/* alone (--check-container): references are checked, values are not */
	container("executable: /bin/x\nvariables: {port: !TcpPort }\narguments: [\"@{port}\", \"@{x}\"]\n");
	ok(!validate_container(NULL, NULL, NULL, &C, &D), "container alone: undeclared reference fails");
	DIAGS_ARE("c.yaml:3:24: arguments: variable @{x} is not declared; expected a name from the config's variables",
		  "container alone: undeclared reference");
	container("executable: /bin/x\nuser-id: 0\nvariables: {port: !TcpPort }\narguments: [\"@{port}\"]\ntcp-ports: {80: {fd: 3}}\n");
	ok(validate_container(NULL, NULL, NULL, &C, &D), "container alone: no sandbox rules");
	NO_DIAGS("container alone: valid");
}

/* ------------------------------------------------------------------ */

static void test_bridged(void)
{
	const char *br = BASIC_SANDBOX "bridged-network: {bridge: br0, network: 10.64.0.0/16}\n";
	sandbox(br);
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 1\n");
	processes("a:\n  image: app\n  config: /config/c.yaml\n  instances: 2\n  ip-addresses: [10.64.0.10, 10.64.255.255]\n");
	CHECK("", "bridged: one address per instance, inside the network");
	processes("a:\n  image: app\n  config: /config/c.yaml\n  instances: 3\n  ip-addresses: [10.64.0.10, 10.64.0.11]\n");
	CHECK("p.yaml:5:17: process a: 2 ip-addresses for 3 instances; expected one address per instance (sandbox app has bridged-network)",
	      "bridged: fewer addresses than instances");
	processes("a:\n  image: app\n  config: /config/c.yaml\n  ip-addresses: [10.64.0.10, 10.64.0.11]\n");
	CHECK("p.yaml:4:17: process a: 2 ip-addresses for 1 instances; expected one address per instance (sandbox app has bridged-network)",
	      "bridged: more addresses than instances");
	processes("a:\n  image: app\n  config: /config/c.yaml\n");
	CHECK("p.yaml:1:1: process a: 0 ip-addresses for 1 instances; expected one address per instance (sandbox app has bridged-network)",
	      "bridged: no addresses");
	processes("a:\n  image: app\n  config: /config/c.yaml\n  instances: 0\n");
	CHECK("", "bridged: no instances, no addresses");
	processes("a:\n  image: app\n  config: /config/c.yaml\n  instances: 2\n  ip-addresses: [10.65.0.1, 10.64.0.1]\n");
	CHECK("p.yaml:5:18: ip-addresses: 10.65.0.1 is outside network 10.64.0.0/16 of sandbox app; expected an address inside the network",
	      "bridged: address outside the network");
	processes("a:\n  image: app\n  config: /config/c.yaml\n  ip-addresses: [\"fd00::1\"]\n");
	CHECK("p.yaml:4:18: ip-addresses: fd00::1 is outside network 10.64.0.0/16 of sandbox app; expected an address inside the network",
	      "bridged: IPv6 address in an IPv4 network");
	/* commands: at most one address, none is fine */
	container("kind: Command\nexecutable: /bin/x\nuser-id: 1\ngroup-id: 1\n");
	processes("a:\n  kind: Command\n  image: app\n  config: /config/c.yaml\n");
	CHECK("", "bridged: a command without an address");
	processes("a:\n  kind: Command\n  image: app\n  config: /config/c.yaml\n  ip-addresses: [10.64.0.1]\n");
	CHECK("", "bridged: a command with one address");
	processes("a:\n  kind: Command\n  image: app\n  config: /config/c.yaml\n  ip-addresses: [10.64.0.1, 10.64.0.2]\n");
	CHECK("p.yaml:5:17: process a: 2 ip-addresses for a command; expected at most one",
	      "bridged: a command with two addresses");
	/* no bridged network: no addresses */
	sandbox(BASIC_SANDBOX);
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 1\n");
	processes("a:\n  image: app\n  config: /config/c.yaml\n  ip-addresses: [10.64.0.1]\n");
	CHECK("p.yaml:4:17: process a: ip-addresses given but sandbox app has no bridged-network; expected no ip-addresses",
	      "ip-addresses without bridged-network");
}

/* ------------------------------------------------------------------ */

static void test_kinds(void)
{
	static const struct {
		const char *entry, *cc;
		bool fits;
	} cases[] = {
		{ "Daemon", "Daemon", true },
		{ "Command", "Command", true },
		{ "Daemon", "CommandOrDaemon", true },
		{ "Command", "CommandOrDaemon", true },
		{ "Daemon", "Command", false },
		{ "Command", "Daemon", false },
	};
	sandbox(BASIC_SANDBOX);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *c = xasprintf("kind: %s\nexecutable: /bin/x\nuser-id: 1\ngroup-id: 1\n", cases[i].cc);
		container(c);
		free(c);
		char *p = xasprintf("a:\n  kind: %s\n  image: app\n  config: /config/c.yaml\n", cases[i].entry);
		processes(p);
		free(p);
		char *want = cases[i].fits ? xstrdup("")
			: xasprintf("p.yaml:1:1: process a is a %s but its container config c.yaml is kind %s; expected kind %s or CommandOrDaemon",
				    cases[i].entry, cases[i].cc, cases[i].entry);
		CHECK(want, "entry kind %s, container kind %s", cases[i].entry, cases[i].cc);
		free(want);
	}
	/* the default kinds: a Daemon entry, a Daemon container */
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 1\n");
	processes(ENTRY);
	CHECK("", "default kinds match");
}

/* ------------------------------------------------------------------ */

/* All problems of one entry are reported, not only the first. */
static void test_all_problems(void)
{
	sandbox("allow-users: [1]\nallow-groups: [1]\nallow-tcp-ports: [80]\n");
	container("kind: Command\nexecutable: /bin/x\nuser-id: 2\ngroup-id: 2\nvariables: {p: !TcpPort }\n"
		  "tcp-ports: {81: {fd: 3}}\nvolumes: {/a: !Readonly /x}\n");
	processes("a:\n  image: app\n  config: /config/c.yaml\n  variables: {p: \"82\"}\n  ip-addresses: [10.0.0.1]\n");
	CHECK("p.yaml:5:17: process a: ip-addresses given but sandbox app has no bridged-network; expected no ip-addresses\n"
	      "p.yaml:1:1: process a is a Daemon but its container config c.yaml is kind Command; expected kind Daemon or CommandOrDaemon\n"
	      "c.yaml:3:10: user id 2 is not in allow-users [1] of sandbox app; expected an allowed id\n"
	      "c.yaml:4:11: group id 2 is not in allow-groups [1] of sandbox app; expected an allowed id\n"
	      "c.yaml:7:15: volume /a: !Readonly /x is not a path the sandbox app declares; expected a path under its readonly-paths or writable-paths\n"
	      "c.yaml:6:13: tcp-ports: port 81 is not in allow-tcp-ports [80] of sandbox app; expected an allowed port\n"
	      "p.yaml:4:18: variable p: port 82 is not in allow-tcp-ports [80] of sandbox app; expected an allowed port",
	      "every problem of an entry is reported");
}

/* setup_load over a small installation in T: positions in the right files */
static void test_setup(void)
{
	make_dir("inst");
	make_dir("inst/sandboxes");
	make_dir("inst/processes");
	write_file("inst/master.yaml", "");
	char *sb = xasprintf("image-dir: %s/images\nallow-users: [1]\nallow-groups: [1]\n", T);
	write_file("inst/sandboxes/app.yaml", sb);
	free(sb);
	write_file("inst/processes/app.yaml",
		   "a: {image: app, config: /config/c.yaml, instances: 2}\n"
		   "b: {image: app, config: /config/abs.yaml}\n"
		   "c: {image: bare, config: /config/abs.yaml}\n");
	struct lithos_setup st;
	char *master = xasprintf("%s/inst/master.yaml", T);
	struct setup_options opt = { .master_path = master };
	int r = setup_load(&st, &opt, &D);
	char *want = xasprintf("%s/images/app/config/abs.yaml: user-id is not set and sandbox app has no default-user; expected user-id in the container config\n"
			       "%s/images/app/config/abs.yaml: group id 0 is not in allow-groups [1] of sandbox app; expected an allowed id\n"
			       "%s/inst/processes/app.yaml:3:26: config /config/abs.yaml: cannot open it inside image %s/images/bare: No such file or directory; expected a container config file in the image",
			       T, T, T, T);
	DIAGS_ARE(want, "setup_load: problems of a whole installation");
	free(want);
	is_int(r, -1, "setup_load: fails");
	is_int(st.n_sandboxes, 1, "setup_load: one sandbox");
	ok(st.n_sandboxes == 1 && st.sandboxes[0].n_entries == 3, "setup_load: three entries");
	if (st.n_sandboxes == 1 && st.sandboxes[0].n_entries == 3) {
		const struct loaded_sandbox *lsb = setup_find_sandbox(&st, "app");
		ok(lsb == &st.sandboxes[0], "setup_find_sandbox");
		const struct loaded_entry *le = setup_find_entry(lsb, "a");
		ok(le && le->loaded && le->valid && !strcmp(le->cc->executable, "/bin/app"), "entry a valid");
		le = setup_find_entry(lsb, "b");
		ok(le && le->loaded && !le->valid && !strcmp(le->cc->executable, "/inside/the/image"),
		   "entry b read the image's /etc/passwd, not the host's");
		le = setup_find_entry(lsb, "c");
		ok(le && !le->loaded && !le->valid, "entry c not loaded");
		ok(!setup_find_entry(lsb, "d"), "setup_find_entry: no such entry");
	}
	setup_free(&st);
	free(master);
}

/* Recorded sources (the tree's last good configs) and the container config
 * cache: a sandbox loads again from what it was loaded from after its files
 * broke; a config shared by two entries is parsed once. */
static void test_setup_sources(void)
{
	make_dir("inst2");
	make_dir("inst2/sandboxes");
	make_dir("inst2/processes");
	write_file("inst2/master.yaml", "");
	char *sb = xasprintf("image-dir: %s/images\nallow-users: [1]\nallow-groups: [1]\n", T);
	write_file("inst2/sandboxes/web.yaml", sb);
	free(sb);
	write_file("images/app/config/k.yaml", "executable: /bin/kept\nuser-id: 1\ngroup-id: 1\n");
	write_file("inst2/processes/web.yaml",
		   "a: {image: app, config: /config/k.yaml, instances: 2}\n"
		   "b: {image: app, config: /config/k.yaml}\n");
	char *master = xasprintf("%s/inst2/master.yaml", T);
	struct setup_options opt = { .master_path = master, .record_sources = true };
	struct lithos_setup st;
	int r = setup_load(&st, &opt, &D);
	DIAGS_ARE("", "sources: a valid installation");
	is_int(r, 0, "sources: setup_load succeeds");
	is_int(st.ccs->n, 1, "cache: one container config parsed for two entries");
	ok(st.n_sandboxes == 1 && st.sandboxes[0].n_entries == 2 &&
	   st.sandboxes[0].entries[0].cc == st.sandboxes[0].entries[1].cc,
	   "cache: both entries share it");
	/* master, sandbox, processes file and the container config */
	is_int(st.n_sandboxes ? st.sandboxes[0].sources.n : 0, 4, "sources: four files recorded");
	struct srcset kept = { 0 };
	size_t len;
	char *ser = srcset_serialize(&st.sandboxes[0].sources, &len);
	is_int(srcset_parse(&kept, ser, len), 0, "sources: serialized and parsed back");
	free(ser);
	setup_free(&st);

	/* the files break: the processes file and the container config */
	write_file("inst2/processes/web.yaml", "a: {image: app, config: [unclosed\n");
	write_file("images/app/config/k.yaml", "executable: /bin/new\nbogus: 1\n");
	opt.record_sources = true;
	r = setup_load(&st, &opt, &D);
	ok(r < 0 && st.n_sandboxes == 1 && st.sandboxes[0].n_problems > 0, "sources: the broken files have problems");
	diags_free(&D);
	r = setup_reload_sandbox(&st, 0, &kept, &D);
	DIAGS_ARE("", "sources: the sandbox loads from its kept files without problems");
	is_int(r, 0, "setup_reload_sandbox succeeds");
	const struct loaded_entry *le = st.n_sandboxes ? setup_find_entry(&st.sandboxes[0], "a") : NULL;
	ok(le && le->valid && le->entry->instances == 2 && !strcmp(le->cc->executable, "/bin/kept"),
	   "sources: entry a as it was, with its kept container config");
	is_int(st.sandboxes[0].sources.n, 4, "sources: the reload recorded the same four files");

	/* a file that is not among the kept ones counts as missing */
	char *ccpath = xasprintf("%s/images/app/config/k.yaml", T);
	struct srcset partial = { 0 };
	for (size_t i = 0; i < kept.n; i++)
		if (strcmp(kept.v[i].path, ccpath))
			srcset_add(&partial, kept.v[i].path, kept.v[i].data, kept.v[i].len);
	r = setup_reload_sandbox(&st, 0, &partial, &D);
	is_int(r, -1, "sources: without the container config the kept sandbox has problems");
	char *g = take_diags();
	ok(strstr(g, "not among the kept configs") != NULL, "sources: and says the config is not kept");
	free(g);
	srcset_free(&partial);
	free(ccpath);
	srcset_free(&kept);
	setup_free(&st);
	free(master);
}

/* ------------------------------------------------------------------ */

/* The reference's examples, completed into sandbox + process + container
 * triples where the reference gives the parts, validate. */
static void test_reference_examples(void)
{
	/* chapter 1: sandbox, processes and container config of app1 */
	sandbox("image-dir: /opt/app1-images\nimage-dir-levels: 2\n"
		"allow-users: [100000-165535]\nallow-groups: [100000-165535]\n"
		"default-user: 100000\ndefault-group: 100000\n"
		"readonly-paths:\n   /timezones: /usr/share/timezones\nwritable-paths:\n   /db: /var/lib/app1-database\n");
	processes("web-worker:\n    kind: Daemon\n    image: web-wrk/d7399260\n    config: \"/config/web-worker.yaml\"\n    instances: 2\n\n"
		  "background-worker:\n    kind: Daemon\n    image: task-queue/d7399260\n    config: \"/config/task-queue.yaml\"\n    instances: 3\n");
	container("executable: /usr/bin/python3.6\narguments:\n- myapp.py\n- --port=8080\nvolumes:\n"
		  "   /etc/timezones: !Readonly /timezones\n   /var/lib/sqlite: !Persistent /db\n");
	ok(validate_image_name(&S, &P.v[0], "p.yaml", &D) && validate_image_name(&S, &P.v[1], "p.yaml", &D),
	   "reference 1: image names with image-dir-levels 2");
	CHECK("", "reference 1: app1 sandbox, web-worker, container with volumes");

	/* chapter 3: uid-map in the sandbox with allow-users [1-65535], and the
	 * minimal container config of chapter 5 */
	sandbox("uid-map: [{outside: 100000, inside: 0, count: 65536}]\n"
		"gid-map: [{outside: 100000, inside: 0, count: 65536}]\n"
		"allow-users: [1-65535]\nallow-groups: [0-65535]\n");
	processes("django:\n    image: django.v3.5.7\n    config: /config/worker_process.yaml\n    instances: 3\n");
	container("kind: Daemon\nuser-id: 1\nvolumes:\n   /tmp: !Tmpfs { size: 100m }\nexecutable: /bin/sleep\narguments: [60]\n");
	CHECK("", "reference 3 + 5: sandbox uid-map, allow-users [1-65535], minimal container");
	container("kind: Daemon\nuser-id: 0\nexecutable: /bin/sleep\n");
	CHECK("c.yaml:2:10: user id 0 is not in allow-users [1-65535] of sandbox app; expected an allowed id",
	      "reference 3: root inside is not allowed by allow-users [1-65535]");

	/* chapter 1 and 3: bridged network with the processes' addresses */
	sandbox(BASIC_SANDBOX "bridged-network:\n  bridge: br0\n  network: 10.64.0.0/16\n  default-gateway: 10.64.255.254\n"
		"  after-setup-command: [/usr/bin/arping, -U, -c1, '@{container_ip}']\n");
	processes("web-worker:\n   kind: Daemon\n   image: app\n   config: \"/config/web-worker.yaml\"\n   instances: 2\n"
		  "   ip_addresses:\n   - 10.64.0.10\n   - 10.64.0.11\n");
	container("executable: /bin/x\nuser-id: 1\ngroup-id: 1\n");
	CHECK("", "reference 1: bridged network with one address per instance");

	/* chapter 4 and 5: a variable */
	sandbox(BASIC_SANDBOX "allow-tcp-ports: [10001]\n");
	processes("django:\n    image: app\n    config: /config/worker_process.yaml\n    variables:\n        tcp_port: 10001\n    instances: 3\n");
	container("variables:\n   tcp_port: !TcpPort\nkind: Daemon\nuser-id: 1\ngroup-id: 1\nvolumes:\n   /tmp: !Tmpfs { size: 100m }\n"
		  "executable: /bin/some_program\narguments:\n   - \"--listen=localhost:@{tcp_port}\"\n");
	CHECK("", "reference 4 + 5.1: a TcpPort variable with its value");

	/* chapter 5: tcp-ports for nginx and the systemd-style config of chapter 8 */
	sandbox(BASIC_SANDBOX "allow-tcp-ports: [80, 8080]\n");
	processes(ENTRY);
	container("executable: /usr/sbin/nginx\nuser-id: 1\ngroup-id: 1\ntcp-ports:\n  80:\n    fd: 3\n    set-non-block: true\nenviron:\n  NGINX: \"3;\"\n");
	CHECK("", "reference 5.2: nginx with tcp-ports");
	container("executable: /bin/app\nuser-id: 1\ngroup-id: 1\nenviron:\n  LISTEN_FDS: 1\ntcp-ports:\n  8080:\n    fd: 3\n    host: 0.0.0.0\n"
		  "    listen-backlog: 128\n    reuse-addr: true\n");
	CHECK("", "reference 8.1: systemd-style socket with tcp-ports");
}

/* ------------------------------------------------------------------ */

static void rm_rf(const char *path)
{
	char *cmd = xasprintf("rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", path);
	free(cmd);
}

int main(void)
{
	char tmpl[] = "/tmp/lithos-test-validate.XXXXXX";
	const char *tmpdir = getenv("TMPDIR");
	char *t = tmpdir && *tmpdir ? xasprintf("%s/lithos-test-validate.XXXXXX", tmpdir) : xstrdup(tmpl);
	T = mkdtemp(t);
	if (!T) {
		perror("mkdtemp");
		return 99;
	}
	test_image_name();
	test_load_container_config();
	test_users_groups();
	test_volumes();
	test_volume_owners();
	test_tcp_ports();
	test_secrets();
	test_variables();
	test_bridged();
	test_kinds();
	test_all_problems();
	test_setup();
	test_setup_sources();
	test_reference_examples();
	sandbox_config_free(&S);
	processes_config_free(&P);
	container_config_free(&C);
	diags_free(&D);
	rm_rf(T);
	free(t);
	return done_testing();
}
