#include "treesignal.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

/* Process `pid` holds the exclusive flock on fd's file (/proc/locks: a
 * flock lock shows the pid that took it; lithos_tree takes its own, and
 * keeps its pid across the re-exec of a reload).  The file is matched by
 * its inode, and by its device where that agrees: /proc/locks prints the
 * superblock's s_dev, fstat the filesystem's getattr st_dev, and the two
 * differ on btrfs (st_dev is the subvolume's anonymous device, even for
 * the top-level one), where a device match would judge every running tree
 * a stale pid file.  So a WRITE lock of `pid` on an inode of that number
 * counts on any device: the pid is the one master.pid names (pinned by a
 * pidfd), and one that is reused would have to hold an exclusive flock on
 * another file with the same inode number to pass. */
static bool holds_flock(int fd, int pid)
{
	struct stat st;
	FILE *f = fstat(fd, &st) == 0 ? fopen("/proc/locks", "re") : NULL;
	if (!f)
		return false;
	char line[256];
	bool same_dev = false, other_dev = false;
	while (!same_dev && fgets(line, sizeof(line), f)) {
		char mode[16], type[16];
		int lpid;
		unsigned maj, min;
		unsigned long long ino;
		/* "1: FLOCK  ADVISORY  WRITE PID MAJ:MIN:INODE 0 EOF"; a
		 * waiter's line ("1: -> FLOCK ...") does not match */
		if (sscanf(line, "%*d: FLOCK %15s %15s %d %x:%x:%llu", mode, type, &lpid, &maj, &min,
			   &ino) != 6 ||
		    strcmp(type, "WRITE") || lpid != pid || ino != (unsigned long long)st.st_ino)
			continue;
		if (maj == major(st.st_dev) && min == minor(st.st_dev))
			same_dev = true;
		else
			other_dev = true;
	}
	fclose(f);
	return same_dev || other_dev;
}

int tree_signal(const char *runtime_dir, int sig, char **why)
{
	char *pidfile = xasprintf("%s/master.pid", runtime_dir);
	char *pidtext = read_file_limited(pidfile, 64, NULL);
	int pid = pidtext ? atoi(pidtext) : 0;
	free(pidtext);
	char *reason = NULL;
	if (pid <= 1) {
		reason = xstrdup("no pid");
	} else {
		int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
		bool no_pidfd = pfd < 0 && errno == ENOSYS;
		if (pfd < 0 && !no_pidfd) {
			reason = xasprintf("pid %d: %s", pid, strerror(errno));
		} else {
			int lfd = open(pidfile, O_RDONLY | O_CLOEXEC);
			bool tree = lfd >= 0 && holds_flock(lfd, pid);
			if (lfd >= 0)
				close(lfd);
			int r = !tree ? 0
				: no_pidfd ? kill(pid, sig)
					   : (int)syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0);
			if (!tree)
				reason = xasprintf("pid %d does not hold its lock: a stale pid file", pid);
			else if (r < 0)
				reason = xasprintf("pid %d: %s", pid, strerror(errno));
		}
		if (pfd >= 0)
			close(pfd);
	}
	free(pidfile);
	if (reason) {
		if (why)
			*why = reason;
		else
			free(reason);
		return 0;
	}
	return pid;
}
