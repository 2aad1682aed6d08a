/* lxc_start_probe: proof of the liblxc start path lithos-lxc uses.
 *
 * Not built by make. Build by hand:
 *   gcc -O2 -Wall -o lxc_start_probe tests/lib/lxc_start_probe.c \
 *       $(pkg-config --cflags --libs lxc)
 *
 * It copies CONFIG to LXCPATH/NAME/config, makes the container object with
 * lxc_container_new(NAME, LXCPATH) and starts it NOT daemonized with lxc's
 * own init as PID 1 (lxc-execute semantics):
 *
 *   close_range(3, ~0U, CLOSE_RANGE_CLOEXEC); // no caller fd reaches the payload
 *   c->want_daemonize(c, false);
 *   ok = c->start(c, 1, argv);          // blocks until the container is gone
 *   status = c->error_num;              // wait status of the container's init
 *
 * PID 1 (lxc init) exits with the payload's exit code, or 128+N when the
 * payload died of signal N, so: exit code = WEXITSTATUS(status) if
 * WIFEXITED. When init itself is killed (lxc-stop -k, SIGKILL) liblxc
 * 5.0.2 reports (N << 8) | 0x7f (looks like WIFSTOPPED!): 128 + N too.
 *
 * The calling process IS the monitor while start() runs: liblxc blocks all
 * signals in it and forwards SIGINT/SIGTERM/SIGUSR1/... to the container's
 * init, which forwards them to the payload (SIGTERM: to every process, then
 * SIGKILL after 1 s); SIGHUP becomes SIGTERM for init.
 *
 * usage: lxc_start_probe [options] CONFIG -- CMD [ARG...]
 *   -n NAME    container name (default "probe-<pid>")
 *   -P LXCPATH lxcpath to use (default: a fresh 0755 mktemp -d dir in /tmp,
 *              removed afterwards unless -k)
 *   -k         keep LXCPATH/NAME afterwards
 *   -o FILE    stdin </dev/null, stdout and stderr >> FILE, opened
 *              O_WRONLY|O_CREAT|O_APPEND before start (no proxying)
 *              (default: stdin/stdout/stderr inherited: interactive mode)
 *   -L FILE    liblxc log file (lxc_log_init), -l LEVEL (default ERROR)
 *   -A         use c->want_close_all_fds(c, true) instead of marking fds
 *              CLOEXEC: liblxc then closes the CALLER's fds too (the probe
 *              loses its fd 100 copy of stderr: shown in the report)
 *   -F         neither: every non-CLOEXEC fd of the caller leaks into the
 *              payload (shows the leak)
 *   -T         print timings (lxc_container_new, start..exit) to stderr
 *
 * exit: the payload's exit code (128+N for signal N); 125 when liblxc could
 * not start the container; 126 usage/setup errors of the probe itself.
 *
 * Examples (CONFIG files: docs/lxc-notes.md section 2; image from
 * tests/lib/build-image.sh):
 *   lxc_start_probe c.conf -- /bin/sh -c 'exit 7'            -> 7
 *   lxc_start_probe c.conf -- /bin/sh -c 'kill -TERM $$'     -> 143
 *   lxc_start_probe -o /tmp/x.log c.conf -- /bin/sh -c 'echo hi; echo err >&2'
 *   lxc_start_probe -n live -P /tmp/lp c.conf -- sleep 5 &
 *     lxc-ls --fancy -P /tmp/lp; lxc-info -n live -P /tmp/lp
 *     lxc-attach -n live -P /tmp/lp -- id
 *   interactive (job control, Ctrl-C): a CONFIG without lxc.console.path,
 *   run from a terminal: lxc_start_probe i.conf -- /bin/sh -i
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/close_range.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lxc/lxccontainer.h>
#include <lxc/version.h>

#define EXIT_START_FAILED 125
#define EXIT_PROBE_ERROR 126

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static int copy_file(const char *src, const char *dst)
{
	char buf[65536];
	ssize_t n;
	int in, out, ret = -1;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0)
		goto out_in;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			goto out_out;
	if (n == 0)
		ret = 0;
out_out:
	if (close(out) < 0)
		ret = -1;
out_in:
	close(in);
	return ret;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

static int rm_rf(const char *path)
{
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void usage(void)
{
	fprintf(stderr, "usage: lxc_start_probe [-n NAME] [-P LXCPATH] [-k] "
			"[-o FILE] [-L LXCLOG] [-l LEVEL] [-A|-F] [-T] "
			"CONFIG -- CMD [ARG...]\n");
	exit(EXIT_PROBE_ERROR);
}

int main(int argc, char *argv[])
{
	const char *name = NULL, *lxcpath = NULL, *outfile = NULL;
	const char *lxclog = NULL, *level = "ERROR", *config;
	bool keep = false, timing = false, own_path = false;
	char fdmode = 'X'; /* X: CLOEXEC (default), A: close_all_fds, F: none */
	char namebuf[64], pathbuf[PATH_MAX], dir[PATH_MAX], cfg[PATH_MAX + 16];
	struct lxc_container *c;
	double t0, t1, t2;
	int opt, status, code;
	bool ok;

	while ((opt = getopt(argc, argv, "+n:P:ko:L:l:AFT")) != -1) {
		switch (opt) {
		case 'n': name = optarg; break;
		case 'P': lxcpath = optarg; break;
		case 'k': keep = true; break;
		case 'o': outfile = optarg; break;
		case 'L': lxclog = optarg; break;
		case 'l': level = optarg; break;
		case 'A': fdmode = 'A'; break;
		case 'F': fdmode = 'F'; break;
		case 'T': timing = true; break;
		default: usage();
		}
	}
	if (optind + 1 >= argc || strcmp(argv[optind + 1], "--") != 0)
		usage();
	config = argv[optind];
	char **cmd = &argv[optind + 2];
	if (!cmd[0])
		usage();

	if (!name) {
		snprintf(namebuf, sizeof(namebuf), "probe-%d", (int)getpid());
		name = namebuf;
	}
	if (!lxcpath) {
		strcpy(pathbuf, "/tmp/lxcprobe.XXXXXX");
		if (!mkdtemp(pathbuf)) {
			perror("mkdtemp");
			return EXIT_PROBE_ERROR;
		}
		/* mkdtemp makes 0700; lxc itself does not need more, but a
		 * user-namespaced container's hooks/attach may look here. */
		chmod(pathbuf, 0755);
		lxcpath = pathbuf;
		own_path = true;
	}
	snprintf(dir, sizeof(dir), "%s/%s", lxcpath, name);
	snprintf(cfg, sizeof(cfg), "%s/config", dir);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "mkdir %s: %m\n", dir);
		return EXIT_PROBE_ERROR;
	}
	if (copy_file(config, cfg) < 0) {
		fprintf(stderr, "copy %s -> %s: %m\n", config, cfg);
		return EXIT_PROBE_ERROR;
	}

	/* liblxc's own log: without lxc_log_init errors still go to stderr
	 * (as "lxc_start_probe: NAME: file.c: func: line msg"). */
	if (lxclog) {
		struct lxc_log log = {
			.name = name, .lxcpath = lxcpath, .file = lxclog,
			.level = level, .prefix = "lxc_start_probe",
			.quiet = false,
		};
		if (lxc_log_init(&log) < 0) {
			fprintf(stderr, "lxc_log_init failed\n");
			return EXIT_PROBE_ERROR;
		}
	}

	/* Non-interactive: the payload's stdout/stderr are the log file
	 * itself (O_APPEND so several writers never clobber each other), not
	 * a pipe through the monitor. Done before start: liblxc passes fds
	 * 0-2 through to init and the payload unchanged when
	 * lxc.console.path = none. */
	if (outfile) {
		int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int out = open(outfile, O_WRONLY | O_CREAT | O_APPEND |
				   O_CLOEXEC | O_NOCTTY, 0640);

		if (in < 0 || out < 0) {
			fprintf(stderr, "open %s: %m\n", in < 0 ? "/dev/null" : outfile);
			return EXIT_PROBE_ERROR;
		}
		/* keep a copy of the probe's stderr for our own report */
		int err = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
		if (err >= 0) {
			dup2(err, 100);
			close(err);
			fcntl(100, F_SETFD, FD_CLOEXEC);
		}
		dup2(in, STDIN_FILENO);
		dup2(out, STDOUT_FILENO);
		dup2(out, STDERR_FILENO);
		close(in);
		close(out);
	}

	t0 = now_ms();
	c = lxc_container_new(name, lxcpath);
	if (!c) {
		fprintf(stderr, "lxc_container_new(%s, %s) failed\n", name, lxcpath);
		return EXIT_PROBE_ERROR;
	}
	if (!c->is_defined(c)) {
		fprintf(stderr, "container %s not defined in %s\n", name, lxcpath);
		lxc_container_put(c);
		return EXIT_PROBE_ERROR;
	}
	t1 = now_ms();

	c->want_daemonize(c, false);
	/* Without one of these, every fd of the caller not marked O_CLOEXEC
	 * leaks into the payload (liblxc only logs "Inherited fd N").
	 * lxc init is a fork of this process (not an exec), but it closes
	 * fds > 2 itself after forking the payload, and the payload is
	 * exec'd, so O_CLOEXEC is enough and the monitor keeps its fds. */
	if (fdmode == 'X') {
		if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
			fprintf(stderr, "close_range: %m\n");
			return EXIT_PROBE_ERROR;
		}
	} else {
		c->want_close_all_fds(c, fdmode == 'A');
	}

	ok = c->start(c, 1, (char *const *)cmd);
	t2 = now_ms();
	status = c->error_num;

	int report = outfile ? 100 : STDERR_FILENO;
	/* With want_close_all_fds(true) liblxc also closes the CALLER's own
	 * inherited fds (here: fd 100, our copy of stderr) during start();
	 * fall back to the log file then. */
	if (outfile && fcntl(report, F_GETFD) < 0) {
		dprintf(STDERR_FILENO, "probe: fd %d was closed by liblxc during start()\n", report);
		report = STDERR_FILENO;
	}
	if (!ok) {
		dprintf(report, "probe: start failed: error_num=%d error_string=%s\n",
			status, c->error_string ? c->error_string : "(null)");
		code = EXIT_START_FAILED;
	} else if (WIFEXITED(status)) {
		code = WEXITSTATUS(status);
		dprintf(report, "probe: init exited, status=0x%x exit=%d\n",
			status, code);
	} else if (WIFSIGNALED(status)) {
		code = 128 + WTERMSIG(status);
		dprintf(report, "probe: init killed by signal %d (%s), status=0x%x\n",
			WTERMSIG(status), strsignal(WTERMSIG(status)), status);
	} else if ((status & 0xff) == 0x7f) {
		/* What liblxc 5.0.2 really reports when init itself is
		 * killed (lxc-stop -k, kill -9 of init, OOM of init):
		 * (signal << 8) | 0x7f, which glibc's macros read as
		 * WIFSTOPPED. Seen: 0x97f for SIGKILL. */
		int sig = (status >> 8) & 0x7f;
		code = 128 + sig;
		dprintf(report, "probe: init killed by signal %d (%s), status=0x%x\n",
			sig, strsignal(sig), status);
	} else {
		code = EXIT_START_FAILED;
		dprintf(report, "probe: unexpected status 0x%x\n", status);
	}
	if (timing)
		dprintf(report, "probe: timing new=%.2fms start..exit=%.2fms\n",
			t1 - t0, t2 - t1);

	lxc_container_put(c);
	if (!keep) {
		if (own_path)
			rm_rf(lxcpath);
		else
			rm_rf(dir);
	}
	return code;
}
