#include "criurun.h"
#include "criu.h"
#include "lxcrun.h"
#include "prestart.h"

#include <errno.h>
#include <fcntl.h>
#include <lxc/lxccontainer.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <linux/magic.h>
#include <sys/signalfd.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

static int decode_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	/* lxc reports a killed init as (N << 8) | 0x7f */
	if ((status & 0x7f) == 0x7f)
		return 128 + ((status >> 8) & 0x7f);
	return 255;
}

/* The cgroup2 mount: /sys/fs/cgroup/unified on a hybrid host, else
 * /sys/fs/cgroup itself (NULL if neither is cgroup2). */
static const char *cgroup2_root(void)
{
	struct statfs sf;
	if (statfs("/sys/fs/cgroup/unified", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
		return "/sys/fs/cgroup/unified";
	if (statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
		return "/sys/fs/cgroup";
	return NULL;
}

/* liblxc 5.0.2 gives CRIU no --cgroup-root for the cgroup2 hierarchy, so
 * CRIU puts the restored processes back into the cgroup2 path of the
 * SOURCE (checked: "0::/SOURCE-CGROUP-NAME/NAME" on the target), creating
 * it.  They must stay there: the container's cgroup namespace is rooted
 * there, and after a move into our own path the next dump fails ("invalid
 * cgroup configuration, /../../X is not a suffix of /X", checked).  So this
 * only returns that foreign directory, to be removed when the container is
 * gone (NULL if the path is ours or unknown). */
static char *foreign_cgroup2(pid_t init, const char *lxc_path, const char *name)
{
	const char *root = cgroup2_root();
	if (!root)
		return NULL;
	char *conf = xasprintf("%s/%s/config", lxc_path, name);
	char *text = read_file_limited(conf, 1 << 20, NULL);
	free(conf);
	char *want = NULL;
	const char *key = "\nlxc.cgroup.dir.container = ";
	char *k = text ? strstr(text, key) : NULL;
	if (k) {
		k += strlen(key);
		want = xstrndup(k, strcspn(k, "\n"));
	}
	free(text);
	char *cg = xasprintf("/proc/%d/cgroup", (int)init);
	char *lines = read_file_limited(cg, 1 << 16, NULL);
	free(cg);
	char *have = NULL;
	for (char *s = NULL, *l = lines ? strtok_r(lines, "\n", &s) : NULL; l; l = strtok_r(NULL, "\n", &s))
		if (!strncmp(l, "0::", 3))
			have = xstrdup(l + 3);
	free(lines);
	char *foreign = NULL;
	if (want && have && strcmp(have + (*have == '/'), want))
		foreign = xasprintf("%s%s", root, have);
	free(want);
	free(have);
	return foreign;
}

/* CRIU's own error lines of DIR/restore.log, without the harmless rlimit one */
static char *criu_errors(const char *dir)
{
	char *lp = xasprintf("%s/restore.log", dir);
	char *text = read_file_limited(lp, 1 << 20, NULL);
	free(lp);
	struct buf b = { 0 };
	if (text) {
		for (char *s = NULL, *l = strtok_r(text, "\n", &s); l; l = strtok_r(NULL, "\n", &s)) {
			if (!strstr(l, "Error") || strstr(l, "RLIMIT_NOFILE"))
				continue;
			while (*l == ' ' || (*l >= '0' && *l <= '9') || *l == ':')
				l++;
			if (b.len)
				buf_puts(&b, "; ");
			if (b.len < 2000)
				buf_puts(&b, l);
		}
		free(text);
	}
	char *r = xstrdup(b.len ? buf_str(&b) : "no error lines in restore.log");
	buf_free(&b);
	return r;
}

int restore_wait(const char *lxc_path, const char *name, const char *dir, const char *result,
		 const char *init_file, char **err)
{
	struct lxc_container *c = lxc_container_new(name, lxc_path);
	if (!c || !c->is_defined(c)) {
		*err = xasprintf("container %s has no config in %s", name, lxc_path);
		if (result) {
			char *t = xasprintf("error %s\n", *err);
			write_small_file(result, t);
			free(t);
		}
		if (c)
			lxc_container_put(c);
		return -1;
	}
	/* this host must have compiled the instance for CRIU too */
	if (!lxc_config_migratable(lxc_path, name)) {
		*err = xasprintf("%s is not migratable on this host (its lxc.conf %s/%s/config has no \"#lithos.migratable = 1\"); expected migratable: true in the sandbox config here",
				 name, lxc_path, name);
		if (result) {
			char *t = xasprintf("error %s\n", *err);
			write_small_file(result, t);
			free(t);
		}
		lxc_container_put(c);
		return -1;
	}
	/* LXC's log, as for a start (the config names none) */
	instance_log_attach(c, lxc_path, name);
	/* the state dir, resolv.conf and hosts that the container's bind
	 * mounts come from, as for a start (lxcrun.c) */
	struct hookcfg hc = { 0 };
	char *lconf = xasprintf("%s/%s/config", lxc_path, name);
	char *perr = NULL;
	int prc = hookcfg_read_file(lconf, &hc);
	free(lconf);
	if (prc < 0 || prestart_run(&hc, &perr)) {
		*err = prc < 0 ? xasprintf("cannot read the lithos settings of %s", name)
			       : xasprintf("%s: %s", name, perr);
		free(perr);
		perr = NULL;
		if (prc == 0 && poststop_run(&hc, &perr))
			free(perr);
		hookcfg_free(&hc);
		lxc_container_put(c);
		if (result) {
			char *t = xasprintf("error %s\n", *err);
			write_small_file(result, t);
			free(t);
		}
		return -1;
	}
	/* liblxc forks the container's monitor off us and the restored pid 1
	 * is the monitor's child; the monitor exits without reaping it, so as
	 * a subreaper we get pid 1 and its real exit status */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	sigset_t mask;
	sigemptyset(&mask);
	int fwd[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGQUIT };
	for (size_t i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++)
		sigaddset(&mask, fwd[i]);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);

	/* the stdio outside the container (criu_external_stdio): ours now,
	 * handed to criu at fds it inherits through liblxc */
	struct buf conf = { 0 };
	criu_base_config(&conf);
	char *mp = xasprintf("%s/lithos-checkpoint", dir);
	char *meta = read_file_limited(mp, 1 << 16, NULL);
	free(mp);
	int nul = open("/dev/null", O_RDWR);
	int nulfd = nul >= 0 ? fcntl(nul, F_DUPFD, 200) : -1;
	int logfd = fcntl(1, F_DUPFD, 200);
	if (nul >= 0)
		close(nul);
	for (char *s = NULL, *l = meta ? strtok_r(meta, "\n", &s) : NULL; l; l = strtok_r(NULL, "\n", &s)) {
		char kind[32], key[96];
		if (sscanf(l, "%31s %95s", kind, key) != 2)
			continue;
		if (!strcmp(kind, "stdio-null") && nulfd >= 0)
			buf_printf(&conf, "inherit-fd fd[%d]:%s\n", nulfd, key);
		else if (!strcmp(kind, "stdio-log") && logfd >= 0)
			buf_printf(&conf, "inherit-fd fd[%d]:%s\n", logfd, key);
	}
	free(meta);
	char *cpath = xasprintf("%s/criu-restore.conf", dir);
	criu_use_config(cpath, &conf);
	free(cpath);
	buf_free(&conf);

	struct migrate_opts mo;
	memset(&mo, 0, sizeof(mo));
	mo.directory = (char *)dir;
	mo.verbose = getenv("LITHOS_CRIU_VERBOSE") != NULL;
	c->want_daemonize(c, false);
	double t0 = mono_ms();
	int r = c->migrate(c, MIGRATE_RESTORE, &mo, sizeof(mo));
	double ms = mono_ms() - t0;
	pid_t init = r == 0 ? c->init_pid(c) : -1;
	lxc_container_put(c);
	if (nulfd >= 0)
		close(nulfd);
	if (logfd >= 0)
		close(logfd);
	if (r != 0 || init <= 1) {
		char *why = criu_errors(dir);
		*err = xasprintf("CRIU could not restore %s from %s: %s (see %s/restore.log and %s/%s/lxc.log)",
				 name, dir, why, dir, lxc_path, name);
		free(why);
		if (result) {
			char *t = xasprintf("error %s\n", *err);
			write_small_file(result, t);
			free(t);
		}
		/* reap what liblxc left */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (poststop_run(&hc, &perr))
			free(perr);
		hookcfg_free(&hc);
		return -1;
	}
	char *foreign_cg = foreign_cgroup2(init, lxc_path, name);
	if (init_file) {
		unsigned long long start = proc_starttime(init);
		char *t = xasprintf("%d %llu\n", (int)init, start);
		write_small_file(init_file, t);
		free(t);
	}
	if (result) {
		char *t = xasprintf("ok %d %.0f\n", (int)init, ms);
		write_small_file(result, t);
		free(t);
	}
	int code = -2;
	for (;;) {
		int st;
		pid_t p;
		bool children = true;
		while ((p = waitpid(-1, &st, WNOHANG)) != 0) {
			if (p < 0) {
				if (errno == EINTR)
					continue;
				children = false; /* ECHILD */
				break;
			}
			if (p == init)
				code = decode_status(st);
		}
		if (!children)
			break;
		struct signalfd_siginfo si;
		ssize_t n = read(sfd, &si, sizeof(si));
		if (n == (ssize_t)sizeof(si) && si.ssi_signo != SIGCHLD)
			kill(init, (int)si.ssi_signo);
	}
	close(sfd);
	if (foreign_cg) {
		/* the source's cgroup2 path CRIU made here, and its parent if
		 * that is empty now */
		rmdir(foreign_cg);
		char *slash = strrchr(foreign_cg, '/');
		if (slash) {
			*slash = 0;
			rmdir(foreign_cg);
		}
		free(foreign_cg);
	}
	if (poststop_run(&hc, &perr)) {
		fprintf(stderr, "lithos: %s: %s\n", name, perr);
		free(perr);
	}
	hookcfg_free(&hc);
	if (code == -2) {
		/* the monitor reaped pid 1 itself: the status is lost */
		code = 255;
	}
	return code;
}
