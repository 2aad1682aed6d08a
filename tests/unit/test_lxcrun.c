/* instance_dir_write for a command (a link dir): a config that cannot be
 * written (the file size limit, RLIMIT_FSIZE) is refused with its reason,
 * nothing is left behind, and no file descriptor stays open (the write's
 * fd leaked when write_all failed). */
#include "lxcrun.h"
#include "util.h"
#include "../tap.h"
#include "tmpdir.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
	if (tmpdir_init("test_lxcrun") < 0)
		return 1;
	const char *base = tmp;
	char *lxc_path = xasprintf("%s/lxc", base), *link_dir = xasprintf("%s/run", base);
	char conf[4096];
	memset(conf, '#', sizeof(conf));
	conf[sizeof(conf) - 1] = '\n';

	/* writes past 1 byte fail with EFBIG (SIGXFSZ ignored) */
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit old, small;
	getrlimit(RLIMIT_FSIZE, &old);
	small = old;
	small.rlim_cur = 1;
	int before = open_fds();
	setrlimit(RLIMIT_FSIZE, &small);
	char *err = NULL;
	int rc = instance_dir_write(lxc_path, "t.x.0", "t/x.0", link_dir, conf, sizeof(conf), &err);
	setrlimit(RLIMIT_FSIZE, &old);
	is_int(rc, -1, "a config past the file size limit: refused");
	ok(err && strstr(err, "cannot write ") && strstr(err, "File too large"),
	   "it says which file cannot be written and why: %s", err ? err : "(none)");
	is_int(open_fds(), before, "no file descriptor is left open");
	char *target = xasprintf("%s/t.x.0", link_dir), *dir = xasprintf("%s/t.x.0", lxc_path);
	struct stat st;
	ok(lstat(target, &st) < 0 && lstat(dir, &st) < 0, "nothing is left behind");

	/* the same config without the limit: written */
	free(err);
	err = NULL;
	rc = instance_dir_write(lxc_path, "t.x.0", "t/x.0", link_dir, conf, sizeof(conf), &err);
	is_int(rc, 0, "without the limit: written (%s)", err ? err : "no error");
	is_int(open_fds(), before, "no file descriptor is left open");
	remove_tree(base);
	return done_testing();
}
