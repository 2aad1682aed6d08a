/* The state dir of an instance (hooks/prestart.c): made fresh, removed
 * after the stop, both relative to the state dirs' parent opened without a
 * symlink anywhere on its path: a symlink there is refused before anything
 * below it is removed or made. */
#include "../tap.h"
#include "prestart.h"
#include "tmpdir.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int read_cfg(struct hookcfg *h, const char *root)
{
	char *conf = xasprintf("#lithos.name = s/x.0\n#lithos.state-dir = %s/%s/s.x.0\n#lithos.resolv-conf = -\n",
			       tmp, root);
	int r = hookcfg_read_mem(conf, strlen(conf), h);
	free(conf);
	return r;
}

int main(void)
{
	if (tmpdir_init("test_statedir") < 0)
		return 1;
	chmod(tmp, 0755);

	/* ---- the state dirs' parent a symlink to elsewhere, where a dir of
	 * the instance's name holds a file ---- */
	char *p = at("elsewhere");
	mkdir(p, 0755);
	free(p);
	p = at("elsewhere/s.x.0");
	mkdir(p, 0755);
	free(p);
	put("elsewhere/s.x.0/victim", "v");
	char *target = at("elsewhere"), *link = at("state");
	ok(symlink(target, link) == 0, "the state dirs' parent is a symlink to another dir");
	free(target);
	free(link);
	struct hookcfg h = { 0 };
	is_int(read_cfg(&h, "state"), 0, "the #lithos lines read");
	char *err = NULL;
	ok(prestart_run(&h, &err) == PRESTART_ERR_STATEDIR, "prestart_run refuses it");
	ok(err && strstr(err, "Cannot create") != NULL, "saying it cannot make the parent: %s", err ? err : "(none)");
	free(err);
	err = NULL;
	ok(exists("elsewhere/s.x.0/victim"), "the file in the symlink's target is untouched by prestart_run");
	ok(poststop_run(&h, &err) == PRESTART_ERR_STATEDIR, "poststop_run refuses it");
	ok(err && strstr(err, "its parent") != NULL, "naming the parent: %s", err ? err : "(none)");
	free(err);
	err = NULL;
	ok(exists("elsewhere/s.x.0/victim"), "and leaves the file too");
	char *sd = at("state/s.x.0");
	ok(state_dir_remove(sd, &err) < 0 && exists("elsewhere/s.x.0/victim"), "state_dir_remove: refused, nothing removed");
	free(err);
	err = NULL;
	free(sd);
	hookcfg_free(&h);

	/* ---- a missing parent: nothing to remove ---- */
	sd = at("nothing/s.x.0");
	is_int(state_dir_remove(sd, &err), 0, "state_dir_remove of a missing parent: 0");
	free(sd);

	/* ---- a real parent (root only: the walk makes it root's 0755) ---- */
	if (geteuid() != 0) {
		printf("ok %d # SKIP not root: the state dirs' parent is made root's\n", ++tap_n);
	} else {
		struct hookcfg r = { 0 };
		is_int(read_cfg(&r, "real"), 0, "the #lithos lines read (a real parent)");
		p = at("real");
		mkdir(p, 0700);
		free(p);
		p = at("real/s.x.0");
		mkdir(p, 0755);
		free(p);
		put("real/s.x.0/stale", "s");
		is_int(prestart_run(&r, &err), 0, "prestart_run: 0");
		free(err);
		err = NULL;
		struct stat st;
		p = at("real");
		ok(stat(p, &st) == 0 && (st.st_mode & 07777) == 0755 && st.st_uid == 0, "the parent is root's 0755 now");
		free(p);
		p = at("real/s.x.0");
		ok(stat(p, &st) == 0 && (st.st_mode & 07777) == 01777, "the state dir is 01777");
		free(p);
		ok(!exists("real/s.x.0/stale"), "a stale state dir's content is gone");
		ok(exists("real/s.x.0/resolv.conf") && exists("real/s.x.0/hosts"), "resolv.conf and hosts are made");
		is_int(poststop_run(&r, &err), 0, "poststop_run: 0");
		ok(!exists("real/s.x.0") && exists("real"), "the state dir is gone, its parent stays");
		hookcfg_free(&r);
		p = at("real");
		rmdir(p);
		free(p);
	}

	p = at("elsewhere/s.x.0/victim");
	unlink(p);
	free(p);
	p = at("elsewhere/s.x.0");
	rmdir(p);
	free(p);
	p = at("elsewhere");
	rmdir(p);
	free(p);
	p = at("state");
	unlink(p);
	free(p);
	ok(rmdir(tmp) == 0, "the test dir is empty and gone");
	return done_testing();
}
