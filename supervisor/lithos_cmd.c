/* lithos_cmd: run a Command entry of a sandbox in a real LXC container,
 * with lxc-execute semantics: attached to the caller, not daemonized, the
 * process's exit code is lithos_cmd's exit code (128+N for signal N). */
#include "cmdload.h"
#include "host.h"
#include "instance.h"
#include "iolog.h"
#include "lxcrun.h"
#include "paths.h"
#include "secret_env.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define EXIT_CONFIG 121 /* configs invalid, nothing started */
#define EXIT_SETUP 122  /* could not prepare or start the container */

static void usage(FILE *out)
{
	fputs("Usage: lithos_cmd [--master FILE] SANDBOX NAME [ARGS...]\n"
	      "\n"
	      "Run the Command entry NAME of SANDBOX's processes config in a fresh LXC\n"
	      "container. ARGS are appended to the config's arguments. With\n"
	      "`interactive: true` the terminal and stdin are kept; otherwise stdin is\n"
	      "/dev/null and output goes to the sandbox's stdio log. Exit status is the\n"
	      "process's (128+N when killed by signal N); 121 means the configs are\n"
	      "invalid, 122 that the container could not be set up or started.\n"
	      "\n"
	      "Options:\n"
	      "  --master FILE   master config (default /etc/lithos/master.yaml)\n"
	      "  -h, --help      show this help\n",
	      out);
}

/* The end of LXC's log of this start (kept in a memfd: see lxcconf.h;
 * else in lxc_log_fallback's file). */
static void print_lxc_log(int fd)
{
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= 0)
		return;
	off_t off = st.st_size > 4000 ? st.st_size - 4000 : 0;
	char buf[4001];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, off);
	if (n > 0) {
		buf[n] = 0;
		fprintf(stderr, "lithos_cmd: LXC log:\n%s", buf);
		if (buf[n - 1] != '\n')
			fputc('\n', stderr);
	}
}

/* Where memfd_create is refused (a seccomp filter, no memory): LXC's log
 * goes to an unnamed file in the runtime dir (gone with its last fd); if
 * that fails too, one warning on `errf` (the caller's stderr) and the start
 * goes on without it.  Returns the fd or -1. */
static int lxc_log_fallback(const char *runtime_dir, FILE *errf)
{
	int memfd_err = errno;
	int fd = open(runtime_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(errf, "lithos_cmd: warning: no LXC log for this start (memfd_create: %s; O_TMPFILE in %s: %s): if LXC fails it, its reasons are not shown\n",
			strerror(memfd_err), runtime_dir, strerror(errno));
		fflush(errf);
	}
	return fd;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "master", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *master = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			master = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind < 2) {
		usage(stderr);
		return 2;
	}
	const char *sandbox = argv[optind], *name = argv[optind + 1];
	char *const *extra = argv + optind + 2;
	size_t n_extra = (size_t)(argc - optind - 2);

	struct diags d = { 0 };
	struct entry_load el;
	if (entry_load(&el, master, sandbox, name, &d) < 0) {
		diags_print(stderr, &d);
		return EXIT_CONFIG;
	}
	if (el.entry->kind != KIND_COMMAND) {
		fprintf(stderr, "lithos_cmd: %s:%d:%d: process %s is a %s; expected kind: Command (daemons are run by lithos_tree)\n",
			el.processes_file, el.entry->pos.line, el.entry->pos.col, name,
			proc_kind_name(el.entry->kind));
		return EXIT_CONFIG;
	}

	struct instance in;
	if (instance_build(&in, &el.sandbox, el.entry, &el.cc, el.image_root, 0, (long)getpid(),
			   extra, n_extra, &d) < 0) {
		diags_print(stderr, &d);
		return EXIT_CONFIG;
	}
	struct strlist secrets = { 0 };
	if (secret_env_decrypt(&in, &secrets, &d) < 0) {
		diags_print(stderr, &d);
		return EXIT_CONFIG;
	}
	exact_env_append(&in, &secrets);
	struct host_info h;
	char *err = NULL;
	if (host_info_load(&h, &el.master, &err) < 0) {
		fprintf(stderr, "lithos_cmd: %s\n", err);
		return EXIT_SETUP;
	}
	struct buf conf = { 0 };
	const char *term = getenv("TERM");
	if (compile_instance(&el.master, &h, &in, term, NULL, &conf, &d) < 0) {
		diags_print(stderr, &d);
		return EXIT_CONFIG;
	}

	/* output: the terminal for interactive commands, else the log */
	int saved_err = dup(2);
	fcntl(saved_err, F_SETFD, FD_CLOEXEC);
	FILE *errf = fdopen(saved_err, "w");
	if (!el.cc.interactive) {
		int out = open_instance_output(&el.master, &in, &err);
		if (out < 0) {
			fprintf(stderr, "lithos_cmd: %s\n", err);
			return EXIT_SETUP;
		}
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
		dup2(nul, 0);
		dup2(out, 1);
		dup2(out, 2);
		close(nul);
		close(out);
	}

	int rc = EXIT_SETUP;
	if (in.sandbox->bridged_network)
		remove_stale_veth(in.lxc_name);
	/* the container dir in the runtime dir, linked from the LXC path */
	char *link_dir = xasprintf("%s/lxc", el.master.runtime_dir);
	int wrc = instance_dir_write(h.lxc_path, in.lxc_name, in.name, link_dir, conf.p, conf.len, &err);
	if (wrc < 0) {
		free(link_dir);
		fprintf(errf, "lithos_cmd: %s\n", err);
		fflush(errf);
		return EXIT_SETUP;
	}
	stdio_log_line(&el.master, &el.sandbox, "%s: starting %s", in.name, in.argv.v[0]);
	/* lxc's init is a fork of this process: its environment is what the
	 * container's pid 1 shows, so keep nothing of the caller's (TERM
	 * reaches the process through the config) */
	clearenv();
	setenv("container", "lxc", 1);
	setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
	int lxc_log = memfd_create("lxc.log", MFD_CLOEXEC);
	if (lxc_log < 0)
		lxc_log = lxc_log_fallback(el.master.runtime_dir, errf);
	struct start_opts so = { .events_fd = -1,
				 .keep_tty = el.cc.interactive && isatty(0),
				 .lxc_log_fd = lxc_log,
				 .conf = conf.p,
				 .conf_len = conf.len };
	int code = instance_start_wait(h.lxc_path, in.lxc_name, &in, &secrets, &so, &err);
	secret_env_free(&secrets);
	if (code < 0) {
		fprintf(errf, "lithos_cmd: %s\n", err);
		fflush(errf);
		int keep = dup(2);
		dup2(saved_err, 2);
		print_lxc_log(lxc_log);
		dup2(keep, 2);
		close(keep);
		stdio_log_line(&el.master, &el.sandbox, "%s: failed to start: %s", in.name, err);
	} else {
		rc = code;
		stdio_log_line(&el.master, &el.sandbox, "%s: exited with %d", in.name, code);
	}

	if (lxc_log >= 0)
		close(lxc_log);
	/* nothing left behind: lxc dir (and liblxc's lock file), veth (the
	 * state dir went in instance_start_wait, whatever its outcome) */
	command_dir_remove(h.lxc_path, in.lxc_name, link_dir);
	free(link_dir);
	if (in.sandbox->bridged_network)
		remove_stale_veth(in.lxc_name);
	cgroup_cleanup(el.master.cgroup_name, in.lxc_name, code >= 0);

	buf_free(&conf);
	host_info_free(&h);
	instance_free(&in);
	entry_load_free(&el);
	diags_free(&d);
	fclose(errf);
	return rc;
}
