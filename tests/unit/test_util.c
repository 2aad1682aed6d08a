/* remove_tree (translator/util.c): rm -r relative to open directories,
 * never through a symlink, never into another filesystem; write_file_atomic:
 * a file replaced whole or not at all. */
#include "../tap.h"
#include "tmpdir.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static int rm(const char *rel)
{
	char *p = at(rel);
	int r = remove_tree(p);
	free(p);
	return r;
}

int main(void)
{
	if (tmpdir_init("test_util") < 0)
		return 1;

	/* ---- a tree with files, empty and nested dirs, a fifo ---- */
	mk("t");
	put("t/a", "a");
	mk("t/empty");
	mk("t/d1");
	mk("t/d1/d2");
	put("t/d1/d2/deep", "x");
	put("t/d1/.hidden", "h");
	char *fifo = at("t/d1/fifo");
	mkfifo(fifo, 0600);
	free(fifo);
	is_int(rm("t"), 0, "a tree with files, dirs and a fifo: removed");
	ok(!exists("t"), "nothing of it is left");

	/* ---- symlinks are removed, never followed ---- */
	mk("outside");
	put("outside/keep", "keep");
	mk("s");
	char *target = at("outside"), *link = at("s/link"), *flink = at("s/flink");
	ok(symlink(target, link) == 0, "a symlink to a dir outside the tree");
	char *keep = at("outside/keep");
	ok(symlink(keep, flink) == 0, "a symlink to a file outside the tree");
	is_int(rm("s"), 0, "the tree with the symlinks: removed");
	ok(!exists("s"), "the tree is gone");
	ok(exists("outside/keep"), "the dir a symlink pointed to keeps its file");
	ok(exists("outside"), "and is still there");
	/* the tree itself is a symlink: the link goes, not its target */
	char *top = at("toplink");
	ok(symlink(target, top) == 0, "a symlink named as the tree");
	is_int(rm("toplink"), 0, "remove_tree of a symlink: 0");
	ok(!exists("toplink"), "the symlink is gone");
	ok(exists("outside/keep"), "its target's file is untouched");
	free(target);
	free(link);
	free(flink);
	free(keep);
	free(top);

	/* ---- missing, a file ---- */
	is_int(rm("missing"), 0, "a missing dir is fine");
	put("plain", "p");
	is_int(rm("plain"), 0, "a file named as the tree is unlinked");
	ok(!exists("plain"), "the file is gone");

	/* ---- 3,000 levels deep, a file at the bottom (relative steps: no
	 * PATH_MAX; more levels than a process has fds by default) ---- */
	mk("deep");
	char *p = at("deep");
	int fd = open(p, O_RDONLY | O_DIRECTORY);
	free(p);
	for (int i = 0; i < 3000 && fd >= 0; i++) {
		mkdirat(fd, "0123456789abcdef0123456789abcdef", 0755);
		int next = openat(fd, "0123456789abcdef0123456789abcdef", O_RDONLY | O_DIRECTORY);
		close(fd);
		fd = next;
	}
	ok(fd >= 0, "a tree 3,000 levels deep (about 100,000 characters of path)");
	if (fd >= 0) {
		int f = openat(fd, "bottom", O_WRONLY | O_CREAT, 0644);
		if (f >= 0)
			close(f);
		close(fd);
	}
	is_int(rm("deep"), 0, "removed");
	ok(!exists("deep"), "nothing of it is left");

	/* ---- remove_tree_at: relative to an open directory ---- */
	mk("at");
	mk("at/sub");
	put("at/sub/f", "f");
	char *atp = at("at");
	int afd = open(atp, O_RDONLY | O_DIRECTORY);
	free(atp);
	is_int(remove_tree_at(afd, "sub"), 0, "remove_tree_at(dirfd, name): 0");
	ok(!exists("at/sub") && exists("at"), "the named tree is gone, its parent stays");
	is_int(remove_tree_at(afd, "missing"), 0, "remove_tree_at of a missing name: 0");
	close(afd);
	is_int(rm("at"), 0, "the parent removed");

	/* ---- a mount below: left, with its parents (root only) ---- */
	if (geteuid() != 0) {
		printf("ok %d # SKIP not root: no mount namespace for the mount case\n", ++tap_n);
	} else if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		printf("ok %d # SKIP no private mount namespace: %s\n", ++tap_n, strerror(errno));
	} else {
		mk("m");
		mk("m/sub");
		put("m/file", "f");
		char *mp = at("m/sub");
		ok(mount("tmpfs", mp, "tmpfs", 0, "size=64k") == 0, "a tmpfs mounted below the tree");
		put("m/sub/on-tmpfs", "t");
		errno = 0;
		ok(rm("m") < 0 && errno == EBUSY, "remove_tree: -1 EBUSY (a mount below)");
		ok(exists("m/sub/on-tmpfs"), "the other filesystem's file is untouched");
		ok(!exists("m/file"), "the tree's own file is removed");
		umount(mp);
		free(mp);
		is_int(rm("m"), 0, "after the umount: removed");
		/* a bind mount of the same filesystem: st_dev is the same, the
		 * mount is still another one */
		mk("bsrc");
		put("bsrc/victim", "v");
		mk("b");
		mk("b/mnt");
		char *src = at("bsrc"), *dst = at("b/mnt");
		ok(mount(src, dst, NULL, MS_BIND, NULL) == 0, "a bind mount of a dir of the same filesystem below the tree");
		errno = 0;
		ok(rm("b") < 0 && errno == EBUSY, "remove_tree: -1 EBUSY (the bind mount)");
		ok(exists("bsrc/victim"), "the bind-mounted dir's file is untouched");
		umount(dst);
		free(src);
		free(dst);
		is_int(rm("b"), 0, "after the umount: removed");
		is_int(rm("bsrc"), 0, "the bind source removed");
	}

	/* ---- write_file_atomic ---- */
	{
		mk("w");
		char *f = at("w/f"), *ftmp = at("w/f.tmp");
		put("w/f", "old\n");
		int before = open_fds();
		is_int(write_file_atomic(f, ".tmp", "new\n", 4, 0640, true), 0, "write_file_atomic: 0");
		char *got = read_file_limited(f, 100, NULL);
		is_str(got, "new\n", "the file has the new text");
		free(got);
		struct stat st;
		ok(stat(f, &st) == 0 && (st.st_mode & 07777) == 0640, "with the mode given (%o)", st.st_mode & 07777);
		ok(!exists("w/f.tmp"), "no temporary file is left");
		is_int(open_fds(), before, "no file descriptor is left open");

		/* a failed write (past the file size limit): the old file stays */
		signal(SIGXFSZ, SIG_IGN);
		struct rlimit old, small;
		getrlimit(RLIMIT_FSIZE, &old);
		small = old;
		small.rlim_cur = 2;
		setrlimit(RLIMIT_FSIZE, &small);
		errno = 0;
		int r = write_file_atomic(f, ".tmp", "longer\n", 7, 0640, true);
		int e = errno;
		setrlimit(RLIMIT_FSIZE, &old);
		ok(r < 0 && e == EFBIG, "a write past the file size limit: -1 EFBIG (%s)", strerror(e));
		got = read_file_limited(f, 100, NULL);
		is_str(got, "new\n", "the file keeps its text");
		free(got);
		ok(!exists("w/f.tmp"), "no temporary file is left");
		is_int(open_fds(), before, "no file descriptor is left open");

		/* a symlink where the temporary file goes is never followed */
		put("w/target", "target\n");
		char *tgt = at("w/target");
		ok(symlink(tgt, ftmp) == 0, "a symlink in the temporary file's place");
		errno = 0;
		r = write_file_atomic(f, ".tmp", "evil\n", 5, 0640, false);
		ok(r < 0 && errno == ELOOP, "write_file_atomic: -1 ELOOP (%s)", strerror(errno));
		got = read_file_limited(tgt, 100, NULL);
		is_str(got, "target\n", "the symlink's target is untouched");
		free(got);
		got = read_file_limited(f, 100, NULL);
		is_str(got, "new\n", "the file keeps its text");
		free(got);
		is_int(open_fds(), before, "no file descriptor is left open");
		unlink(ftmp);

		/* the rename fails (the target is a non-empty dir): nothing left */
		mk("w/dir");
		put("w/dir/x", "x");
		char *d = at("w/dir");
		errno = 0;
		r = write_file_atomic(d, ".tmp", "x", 1, 0640, false);
		ok(r < 0 && errno == EISDIR, "over a directory: -1 EISDIR (%s)", strerror(errno));
		ok(!exists("w/dir.tmp"), "no temporary file is left");
		free(d);
		free(tgt);
		free(f);
		free(ftmp);
		is_int(rm("w"), 0, "the scratch dir removed");
	}

	is_int(rm("outside"), 0, "the dir outside, kept above, removed now");
	ok(rmdir(tmp) == 0, "the test dir is empty and gone");
	return done_testing();
}
