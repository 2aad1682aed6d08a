/* Volumes below a sandbox's directory (hooks/prestart.c): the path below
 * it comes from the container config and must never lead out of it, even
 * through a symlink a container planted in a writable volume:
 * - #lithos.volume-source lines (TARGET BASE REST, escaped as in
 *   lxc.mount.entry) are read back;
 * - volume_source_check (the mount hook's) accepts the directory reached
 *   from BASE without leaving it (a file too), a relative symlink staying
 *   inside too,
 *   and refuses an absolute symlink, one climbing out, and a directory
 *   mounted at TARGET that is not the one reached so;
 * - !Persistent {mkdir: true} (prestart_run, root only) makes nothing
 *   behind a symlink leading out (also two levels below it), and still
 *   makes the directory inside. */
#include "../tap.h"
#include "paths.h"
#include "prestart.h"
#include "tmpdir.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void link_at(const char *target, const char *rel)
{
	char *p = at(rel);
	if (symlink(target, p) < 0)
		printf("# symlink %s: %s\n", p, strerror(errno));
	free(p);
}

/* volume_source_check with BASE = tmp/base, the rootfs = tmp/base too (so
 * TARGET names a directory below BASE as a mount of it would) */
static int check(const char *target, const char *rest, char **err)
{
	char *base = at("base");
	struct volume_source v = { .target = (char *)target, .base = base, .rest = (char *)rest };
	int rootfd = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int r = volume_source_check(rootfd, &v, err);
	close(rootfd);
	free(base);
	return r;
}

int main(void)
{
	if (tmpdir_init("test_volsource") < 0)
		return 1;
	chmod(tmp, 0755);

	/* ---- reading the lines back ---- */
	const char *conf = "#lithos.name = s/x.0\n#lithos.state-dir = /run/x/s.x.0\n"
			   "#lithos.volume-source = var/lib/a\\040b /srv/shared\\040etc sub/dir\\134x\n"
			   "#lithos.volume-source = data /rw link\n";
	struct hookcfg h = { 0 };
	is_int(hookcfg_read_mem(conf, strlen(conf), &h), 0, "the #lithos lines read");
	is_int((long)h.n_sources, 2, "two volume sources");
	if (h.n_sources == 2) {
		is_str(h.sources[0].target, "var/lib/a b", "target unescaped");
		is_str(h.sources[0].base, "/srv/shared etc", "base unescaped");
		is_str(h.sources[0].rest, "sub/dir\\x", "rest unescaped");
		is_str(h.sources[1].rest, "link", "a plain rest");
	}
	hookcfg_free(&h);

	/* ---- the mount hook's check ---- */
	mk("base");
	mk("base/vol");
	mk("base/d");
	mk("outside");
	mk("outside/sub");
	put("outside/secret", "host secret");
	char *out = at("outside");
	link_at(out, "base/abs");             /* absolute: out of base */
	link_at("../outside", "base/climb");   /* relative, climbing out */
	link_at("vol", "base/rel");            /* relative, staying inside */
	free(out);
	out = at("outside/sub");
	link_at(out, "base/d/deep");           /* below a real directory */
	free(out);

	char *err = NULL;
	is_int(check("vol", "vol", &err), 0, "the directory itself: accepted");
	free(err);
	err = NULL;
	is_int(check("vol", "rel", &err), 0, "a relative symlink staying inside: accepted");
	free(err);
	err = NULL;
	ok(check("vol", "abs", &err) < 0, "an absolute symlink to a host dir: refused");
	ok(err && strstr(err, "leads out of the sandbox's directory"), "saying it leads out: %s",
	   err ? err : "(none)");
	free(err);
	err = NULL;
	ok(check("vol", "climb", &err) < 0, "a relative symlink climbing out: refused");
	free(err);
	err = NULL;
	ok(check("vol", "d/deep", &err) < 0, "a symlink below a real directory: refused");
	free(err);
	err = NULL;
	put("base/file", "f");
	put("base/file2", "f");
	is_int(check("file", "file", &err), 0, "a file (bound onto a file): accepted");
	free(err);
	err = NULL;
	ok(check("file2", "file", &err) < 0, "another file at the target: refused");
	free(err);
	err = NULL;
	ok(check("d", "vol", &err) < 0, "another directory mounted at the target: refused");
	ok(err && strstr(err, "is not"), "saying it is not the one reached: %s", err ? err : "(none)");
	free(err);
	err = NULL;

	/* ---- !Persistent {mkdir: true} below the sandbox's directory ---- */
	if (geteuid() != 0) {
		printf("ok %d # SKIP not root: prestart_run makes a root-owned state dir\n", ++tap_n);
	} else {
		char *b = at("base");
		char *c = xasprintf("#lithos.name = s/x.0\n#lithos.state-dir = %s/state/s.x.0\n"
				    "#lithos.resolv-conf = -\n"
				    "#lithos.volume-source = data %s abs/made\n"
				    "#lithos.persistent-mkdir = 0750 1000 1000 %s/abs/made\n",
				    tmp, b, b);
		struct hookcfg m = { 0 };
		hookcfg_read_mem(c, strlen(c), &m);
		ok(prestart_run(&m, &err) == PRESTART_ERR_VOLUME, "mkdir below an absolute symlink: refused");
		ok(err && strstr(err, "leads out"), "saying it leads out: %s", err ? err : "(none)");
		free(err);
		err = NULL;
		ok(!exists("outside/made"), "nothing made behind the symlink");
		poststop_run(&m, &err);
		hookcfg_free(&m);
		free(c);

		c = xasprintf("#lithos.name = s/x.0\n#lithos.state-dir = %s/state/s.x.0\n"
			      "#lithos.resolv-conf = -\n"
			      "#lithos.volume-source = data %s abs/sub/made\n"
			      "#lithos.persistent-mkdir = 0750 1000 1000 %s/abs/sub/made\n",
			      tmp, b, b);
		hookcfg_read_mem(c, strlen(c), &m);
		ok(prestart_run(&m, &err) == PRESTART_ERR_VOLUME,
		   "mkdir two levels below an absolute symlink: refused");
		free(err);
		err = NULL;
		ok(!exists("outside/sub/made"), "nothing made behind it");
		poststop_run(&m, &err);
		hookcfg_free(&m);
		free(c);

		c = xasprintf("#lithos.name = s/x.0\n#lithos.state-dir = %s/state/s.x.0\n"
			      "#lithos.resolv-conf = -\n"
			      "#lithos.volume-source = data %s rel/made\n"
			      "#lithos.persistent-mkdir = 0750 1000 1000 %s/rel/made\n",
			      tmp, b, b);
		hookcfg_read_mem(c, strlen(c), &m);
		is_int(prestart_run(&m, &err), 0, "mkdir through a relative symlink staying inside: 0");
		free(err);
		err = NULL;
		struct stat st;
		char *made = at("base/vol/made");
		ok(stat(made, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0750 &&
			   st.st_uid == 1000 && st.st_gid == 1000,
		   "made inside, mode 0750, owned 1000:1000");
		free(made);
		put("base/vol/file", "f");
		poststop_run(&m, &err);
		hookcfg_free(&m);
		free(c);

		c = xasprintf("#lithos.name = s/x.0\n#lithos.state-dir = %s/state/s.x.0\n"
			      "#lithos.resolv-conf = -\n"
			      "#lithos.volume-source = data %s vol/file\n"
			      "#lithos.persistent-mkdir = 0750 1000 1000 %s/vol/file\n",
			      tmp, b, b);
		hookcfg_read_mem(c, strlen(c), &m);
		ok(prestart_run(&m, &err) == PRESTART_ERR_VOLUME, "mkdir on a file: refused");
		ok(err && strstr(err, "exists and is not a directory"), "saying so: %s", err ? err : "(none)");
		free(err);
		err = NULL;
		poststop_run(&m, &err);
		hookcfg_free(&m);
		free(c);
		free(b);
	}
	is_str(read_file_limited(at("outside/secret"), 100, NULL), "host secret",
	       "the host file behind the symlinks is untouched");
	ok(remove_tree(tmp) == 0, "the test dir is removed");
	return done_testing();
}
