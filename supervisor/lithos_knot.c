/* lithos_knot: the monitor of one lithos instance, a child of lithos_tree.
 *
 *   lithos_knot --name SANDBOX/PROC.N --master FILE --lxc-path DIR
 *               --lxc-name NAME --status FILE [--fd CHILD=OURS]...
 *               [--sources-fd FD]
 *               [--events-fd FD]
 *               [--restore DIR --result FILE --init-file FILE]
 *
 * Its command line names the instance, so `pgrep -f 'lithos_knot --name
 * SANDBOX/PROC.0'` finds it as with lithos.  It decrypts the instance's
 * secrets, puts the tree's listening sockets at the fds the config asks for,
 * and starts the container (whose lxc.conf the tree wrote) through liblxc
 * without daemonizing: liblxc makes this process the container's monitor,
 * forwards SIGTERM/SIGINT to the container's init, and the container dies
 * with it.  When the container is gone it writes "exit CODE" to the status
 * file (for a tree that adopted it and so cannot wait for it) and exits with
 * the process's exit code (128+N for signal N).
 *
 * With --sources-fd the configs are read from the tree's copy of what it
 * loaded the sandbox from (a memfd, see translator/sources.h), not from the
 * disk: a restart runs what the tree compiled even when the files changed
 * since or a reload kept the sandbox on its last good configs.
 * --events-fd (restart-process-only): the write end of the tree's events
 * fifo, handed to lithos_init, which reports in-container restarts there.
 * With --restore the container is restored from CRIU's images in DIR
 * instead of started
 * (criurun.c): liblxc's monitor is then a child of ours, we forward signals
 * to the restored pid 1 and learn its exit status as its subreaper.
 *
 * stdin, stdout and stderr are set up by the tree (stdin /dev/null, the
 * others the sandbox's log).  Exit codes of its own: 121 configs invalid,
 * 122 container could not start, 123 restore failed.
 */
#include "criu.h"
#include "criurun.h"
#include "cmdload.h"
#include "instance.h"
#include "lxcrun.h"
#include "secret_env.h"
#include "sources.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#define EXIT_CONFIG 121
#define EXIT_SETUP 122

struct fdmap {
	int child, ours;
};

static void write_status(const char *path, int code)
{
	if (!path)
		return;
	char *tmp = xasprintf("%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd >= 0) {
		dprintf(fd, "exit %d\n", code);
		close(fd);
		rename(tmp, path);
	}
	free(tmp);
}

/* Move the sockets to the fds the process expects, and close every other
 * fd above stderr so nothing of ours leaks into the container. */
static int place_fds(struct fdmap *map, size_t n, int keep)
{
	int top = 3;
	for (size_t i = 0; i < n; i++) {
		if (map[i].ours >= top)
			top = map[i].ours + 1;
		if (map[i].child >= top)
			top = map[i].child + 1;
	}
	/* first move every source above all targets, then into place */
	int base = top + 16;
	for (size_t i = 0; i < n; i++) {
		int fd = fcntl(map[i].ours, F_DUPFD, base);
		if (fd < 0)
			return -1;
		map[i].ours = fd;
	}
	for (size_t i = 0; i < n; i++) {
		if (dup2(map[i].ours, map[i].child) < 0)
			return -1;
		int fl = fcntl(map[i].child, F_GETFD);
		fcntl(map[i].child, F_SETFD, fl & ~FD_CLOEXEC);
	}
	/* close everything from 3 up that is not a target: close_range over
	 * the gaps between the targets, not one close() per possible fd */
	int *targets = xcalloc(n + 1, sizeof(int));
	for (size_t i = 0; i < n; i++)
		targets[i] = map[i].child;
	if (keep >= 0)
		targets[n++] = keep;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && targets[j - 1] > targets[j]; j--) {
			int tmp = targets[j];
			targets[j] = targets[j - 1];
			targets[j - 1] = tmp;
		}
	unsigned lo = 3;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned)targets[i] < lo)
			continue;
		if ((unsigned)targets[i] > lo)
			close_range(lo, (unsigned)targets[i] - 1, 0);
		lo = (unsigned)targets[i] + 1;
	}
	close_range(lo, ~0U, 0);
	free(targets);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "master", required_argument, NULL, 'm' },
		{ "lxc-path", required_argument, NULL, 'P' },
		{ "lxc-name", required_argument, NULL, 'L' },
		{ "status", required_argument, NULL, 's' },
		{ "fd", required_argument, NULL, 'f' },
		{ "sources-fd", required_argument, NULL, 'S' },
		{ "events-fd", required_argument, NULL, 'E' },
		{ "restore", required_argument, NULL, 'r' },
		{ "result", required_argument, NULL, 'R' },
		{ "init-file", required_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = NULL, *master = NULL, *lxc_path = NULL, *lxc_name = NULL;
	const char *status = NULL, *restore = NULL, *result = NULL, *init_file = NULL;
	int sources_fd = -1;
	struct fdmap *map = NULL;
	size_t n_map = 0;
	int events_fd = -1;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			name = optarg;
			break;
		case 'm':
			master = optarg;
			break;
		case 'P':
			lxc_path = optarg;
			break;
		case 'L':
			lxc_name = optarg;
			break;
		case 'S':
			sources_fd = atoi(optarg);
			break;
		case 's':
			status = optarg;
			break;
		case 'r':
			restore = optarg;
			break;
		case 'R':
			result = optarg;
			break;
		case 'I':
			init_file = optarg;
			break;
		case 'f': {
			struct fdmap fm;
			if (sscanf(optarg, "%d=%d", &fm.child, &fm.ours) != 2 || fm.child < 0 ||
			    fm.ours < 0) {
				fprintf(stderr, "lithos_knot: bad --fd %s; expected CHILD=OURS\n", optarg);
				return 2;
			}
			VEC_PUSH(map, n_map, fm);
			break;
		}
		case 'E':
			events_fd = atoi(optarg);
			if (events_fd < 3 || fcntl(events_fd, F_GETFD) < 0) {
				fprintf(stderr, "lithos_knot: bad --events-fd %s; expected an open fd above 2\n",
					optarg);
				return 2;
			}
			break;
		default:
			return 2;
		}
	}
	if (!name || !master || !lxc_path || !lxc_name) {
		fprintf(stderr, "lithos_knot: run by lithos_tree: --name, --master, --lxc-path and --lxc-name are required\n");
		return 2;
	}
	/* the tree's death must not leave us behind unsupervised: the tree
	 * adopts running knots after a restart, so don't die with it */
	signal(SIGPIPE, SIG_IGN);

	/* SANDBOX/PROC.N */
	const char *slash = strchr(name, '/'), *dot = strrchr(name, '.');
	if (!slash || !dot || dot < slash) {
		fprintf(stderr, "lithos_knot: bad instance name %s\n", name);
		return 2;
	}
	char *sandbox = xstrndup(name, (size_t)(slash - name));
	char *proc = xstrndup(slash + 1, (size_t)(dot - slash - 1));
	uint32_t index = (uint32_t)strtoul(dot + 1, NULL, 10);

	struct diags d = { 0 };
	struct entry_load el;
	struct instance in;
	struct strlist secrets = { 0 };
	struct srcset kept = { 0 };
	if (sources_fd >= 0) {
		if (srcset_read_fd(&kept, sources_fd) < 0) {
			fprintf(stderr, "[lithos_knot] %s: cannot read the configs from fd %d\n", name,
				sources_fd);
			write_status(status, EXIT_CONFIG);
			return EXIT_CONFIG;
		}
		close(sources_fd);
		sources_use(&kept, NULL);
	}
	int loaded = entry_load(&el, master, sandbox, proc, &d);
	sources_use(NULL, NULL);
	srcset_free(&kept);
	if (loaded < 0 ||
	    instance_build(&in, &el.sandbox, el.entry, &el.cc, el.image_root, index, 0, NULL, 0,
			   &d) < 0 ||
	    secret_env_decrypt(&in, &secrets, &d) < 0 || (exact_env_append(&in, &secrets), false)) {
		fprintf(stderr, "[lithos_knot] %s: not starting:\n", name);
		diags_print(stderr, &d);
		write_status(status, EXIT_CONFIG);
		return EXIT_CONFIG;
	}
	/* the events fd out of the way of the sockets' target fds */
	if (events_fd >= 0) {
		int top = 3;
		for (size_t i = 0; i < n_map; i++) {
			if (map[i].ours >= top)
				top = map[i].ours + 1;
			if (map[i].child >= top)
				top = map[i].child + 1;
		}
		int moved = fcntl(events_fd, F_DUPFD_CLOEXEC, top + 32);
		close(events_fd);
		events_fd = moved;
	}
	if (lxc_config_migratable(lxc_path, lxc_name))
		stdio_drop_nofollow();
	if (restore) {
		/* the process, its memory, fds and sockets come from the images */
		secret_env_free(&secrets);
		place_fds(map, 0, -1);
		char *err = NULL;
		int code = restore_wait(lxc_path, lxc_name, restore, result, init_file, &err);
		if (code < 0) {
			fprintf(stderr, "[lithos_knot] %s: %s\n", name, err);
			write_status(status, EXIT_RESTORE_FAILED);
			return EXIT_RESTORE_FAILED;
		}
		write_status(status, code);
		return code;
	}
	if (place_fds(map, n_map, events_fd) < 0) {
		fprintf(stderr, "[lithos_knot] %s: cannot place sockets: %s\n", name, strerror(errno));
		write_status(status, EXIT_SETUP);
		return EXIT_SETUP;
	}
	int *pass = xcalloc(n_map ? n_map : 1, sizeof(int));
	for (size_t i = 0; i < n_map; i++)
		pass[i] = map[i].child;
	struct start_opts so = {
		.pass_fds = pass, .n_pass_fds = n_map, .events_fd = events_fd, .lxc_log_fd = -1,
		.lxc_log_file = true
	};
	char *err = NULL;
	int code = instance_start_wait(lxc_path, lxc_name, &in, &secrets, &so, &err);
	free(pass);
	secret_env_free(&secrets);
	if (code < 0) {
		fprintf(stderr, "[lithos_knot] %s: %s\n", name, err);
		write_status(status, EXIT_SETUP);
		return EXIT_SETUP;
	}
	write_status(status, code);
	return code;
}
