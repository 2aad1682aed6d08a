/* lithos_restore: have lithos_tree restore a checkpointed instance.
 *
 *   lithos_restore [-C MASTER] [--timeout SECS] [--no-wait] SANDBOX/PROC.N DIR
 *   lithos_restore [-C MASTER] --discard SANDBOX/PROC.N
 *
 * The restore is done by the tree's own knot for the instance, so that the
 * restored container is supervised like any other: this command leaves the
 * request RUNTIME/knots/NAME.restore (DIR), sends SIGUSR1 to the tree and
 * waits for NAME.result.  The tree acts on the request when the instance is
 * in its processes config (at once, or when lithos_switch adds it).
 * --discard forgets a checkpoint that stopped the instance here (the tree
 * then starts it fresh, if configured).  Exit codes: 0 restored (or queued,
 * or discarded), 1 the restore failed, 2 usage, 3 CRIU missing or unusable,
 * 4 already running, not a checkpoint, or no tree, 5 timed out and the
 * request withdrawn (the tree will not act on it), 6 timed out after the
 * tree took the request (its restore may still succeed). */
#include "config.h"
#include "criu.h"
#include "host.h"
#include "treesignal.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <lxc/lxccontainer.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_CRIU 3
#define EXIT_INSTANCE 4
#define EXIT_TIMEOUT 5
#define EXIT_UNKNOWN 6

static void usage(FILE *out)
{
	fputs("Usage: lithos_restore [-C MASTER] [--timeout SECS] [--no-wait] SANDBOX/PROC.N DIR\n"
	      "       lithos_restore [-C MASTER] --discard SANDBOX/PROC.N\n"
	      "\n"
	      "Restore SANDBOX/PROC.N from DIR (made by lithos_checkpoint, here or on\n"
	      "another host with the same image and configs).  lithos_tree of MASTER\n"
	      "does the restore and supervises the restored instance; it acts as soon\n"
	      "as the instance is in its processes config (add it with lithos_switch).\n"
	      "\n"
	      "Options:\n"
	      "  -C, --master, --config FILE\n"
	      "                     master config (default /etc/lithos/master.yaml)\n"
	      "      --timeout SECS wait this long for the result (default 60)\n"
	      "      --no-wait      queue the request and exit\n"
	      "      --discard      forget the checkpoint that stopped the instance here;\n"
	      "                     the tree starts it fresh again (if configured)\n"
	      "  -h, --help         show this help\n"
	      "\n"
	      "Exit status: 0 restored (queued, discarded), 1 the restore failed,\n"
	      "2 usage, 3 criu missing or unusable, 4 already running, DIR is not a\n"
	      "checkpoint of the instance, or no lithos_tree runs, 5 no result in time\n"
	      "(the request is withdrawn: the tree will not restore it), 6 no result\n"
	      "in time although the tree took the request (it may still restore it).\n",
	      out);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "master", required_argument, NULL, 'C' },
		{ "config", required_argument, NULL, 'C' },
		{ "timeout", required_argument, NULL, 't' },
		{ "no-wait", no_argument, NULL, 'n' },
		{ "discard", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *master = "/etc/lithos/master.yaml";
	double timeout = 60;
	bool nowait = false, discard = false;
	int c;
	while ((c = getopt_long(argc, argv, "+C:h", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			master = optarg;
			break;
		case 't': {
			char *end;
			timeout = strtod(optarg, &end);
			if (*end || timeout <= 0) {
				fprintf(stderr, "lithos_restore: --timeout %s: expected a positive number of seconds\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		}
		case 'n':
			nowait = true;
			break;
		case 'd':
			discard = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != (discard ? 1 : 2)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *instance = argv[optind];
	char *lxc_name = instance_to_lxc_name(instance);
	if (!lxc_name) {
		fprintf(stderr, "lithos_restore: \"%s\" is not an instance name; expected SANDBOX/PROCESS.N\n",
			instance);
		return EXIT_USAGE;
	}
	struct master_config m;
	struct diags d = { 0 };
	if (master_config_parse(&m, master, &d) < 0) {
		diags_print(stderr, &d);
		return EXIT_USAGE;
	}
	/* a tree holding the lock on master.pid (tree_signal) */
	pid_t tree = tree_signal(m.runtime_dir, 0, NULL);
	char *away = criu_marker(m.runtime_dir, lxc_name, "away");
	char *req = criu_marker(m.runtime_dir, lxc_name, "restore");
	char *result = criu_marker(m.runtime_dir, lxc_name, "result");

	if (discard) {
		bool had = unlink(away) == 0;
		unlink(req);
		tree_signal(m.runtime_dir, SIGUSR1, NULL);
		printf("%s: %s\n", instance,
		       had ? "checkpoint forgotten; lithos_tree starts it fresh if it is configured"
			   : "no checkpoint stopped it here; nothing to forget");
		return 0;
	}

	const char *dir_arg = argv[optind + 1];
	char dir[PATH_MAX];
	if (!realpath(dir_arg, dir)) {
		fprintf(stderr, "lithos_restore: %s: %s\n", dir_arg, strerror(errno));
		return EXIT_INSTANCE;
	}
	char *inv = xasprintf("%s/inventory.img", dir);
	char *meta = xasprintf("%s/lithos-checkpoint", dir);
	char *mt = read_file_limited(meta, 4096, NULL);
	bool is_ckpt = access(inv, F_OK) == 0 && mt;
	char *want = xasprintf("instance %s\n", instance);
	if (!is_ckpt || strncmp(mt, want, strlen(want)) || strstr(mt, "kind pre-dump")) {
		fprintf(stderr, "lithos_restore: %s is not a final checkpoint of %s (expected inventory.img and a lithos-checkpoint file starting with \"instance %s\", as lithos_checkpoint writes)\n",
			dir, instance, instance);
		return EXIT_INSTANCE;
	}
	free(inv);
	free(meta);
	free(mt);
	free(want);
	if (!tree) {
		fprintf(stderr, "lithos_restore: no lithos_tree runs for %s (%s/master.pid); the restored instance needs one to supervise it\n",
			master, m.runtime_dir);
		return EXIT_INSTANCE;
	}
	struct host_info h = { .lxc_path = host_lxc_path(&m) };
	char *err = NULL;
	struct lxc_container *ct = lxc_container_new(lxc_name, h.lxc_path);
	if (ct && ct->is_running(ct)) {
		fprintf(stderr, "lithos_restore: %s is already running here (LXC container %s in %s)\n",
			instance, lxc_name, h.lxc_path);
		return EXIT_INSTANCE;
	}
	if (ct)
		lxc_container_put(ct);
	if (criu_usable(false, &err) < 0) {
		fprintf(stderr, "lithos_restore: %s: %s\n", instance, err);
		return EXIT_CRIU;
	}

	unlink(result);
	char *text = xasprintf("%s\n", dir);
	char *knots = xasprintf("%s/knots", m.runtime_dir);
	mkdir_p(knots, 0755);
	free(knots);
	if (write_small_file(req, text) < 0) {
		fprintf(stderr, "lithos_restore: cannot write %s: %s\n", req, strerror(errno));
		return EXIT_FAILED;
	}
	free(text);
	/* the request replaces a checkpoint marker of this host: removed
	 * before the signal, as the tree starts (and so restores) no
	 * instance that is away; kept to be put back if the signal fails */
	char *away_text = read_file_limited(away, 4096, NULL);
	unlink(away);
	/* checked again at the signal: the tree may have ended since, and its
	 * pid been reused */
	char *why = NULL;
	tree = tree_signal(m.runtime_dir, SIGUSR1, &why);
	if (!tree) {
		fprintf(stderr, "lithos_restore: cannot signal lithos_tree (%s/master.pid): %s\n",
			m.runtime_dir, why);
		free(why);
		/* as before the request: the marker back, then the request
		 * withdrawn; lost, the marker would let a later tree start
		 * the instance fresh while its checkpoint lives elsewhere.  A
		 * request already gone was taken by a tree that has just
		 * started (locked master.pid, its pid not yet written): it
		 * restores the instance, so no marker. */
		if (away_text && write_small_file(away, away_text) < 0)
			fprintf(stderr, "lithos_restore: cannot put back %s: %s\n", away, strerror(errno));
		if (unlink(req) < 0 && errno == ENOENT && away_text)
			unlink(away);
		free(away_text);
		return EXIT_INSTANCE;
	}
	if (nowait) {
		free(away_text);
		printf("queued restore of %s from %s (lithos_tree %d acts when the instance is configured)\n",
		       instance, dir, (int)tree);
		return 0;
	}
	double end = mono_ms() + timeout * 1000.0;
	char *res = NULL;
	while (!(res = read_first_line(result)) && mono_ms() < end) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (!res) {
		/* withdraw the request unless the tree took it meanwhile */
		bool taken = unlink(req) < 0 && errno == ENOENT;
		if (taken) {
			/* the tree is restoring right now: give it a few more seconds */
			double end2 = mono_ms() + 10000.0;
			while (!(res = read_first_line(result)) && mono_ms() < end2) {
				struct timespec ts = { 0, 20 * 1000 * 1000 };
				nanosleep(&ts, NULL);
			}
		}
		/* withdrawn before the tree read it: nothing of the request
		 * happened, so the marker comes back (a tree that read it and
		 * then finds it withdrawn writes one of its own) */
		if (!taken && away_text && write_small_file(away, away_text) < 0)
			fprintf(stderr, "lithos_restore: cannot put back %s: %s\n", away, strerror(errno));
		free(away_text);
		if (!res) {
			fprintf(stderr, "lithos_restore: %s: no result after %.0f s; %s\n", instance, timeout,
				taken ? "the tree took the request but did not report (10 s more): its restore may still succeed; see lithos_ps and the tree's log"
				      : "the request was withdrawn: is the instance in the processes config of this tree (lithos_switch)?");
			return taken ? EXIT_UNKNOWN : EXIT_TIMEOUT;
		}
	} else {
		free(away_text);
	}
	int rc;
	int pid = 0;
	double ms = 0;
	if (sscanf(res, "ok %d %lf", &pid, &ms) == 2) {
		printf("restored %s from %s in %.0f ms (init pid %d)\n", instance, dir, ms, pid);
		rc = 0;
	} else {
		fprintf(stderr, "lithos_restore: %s: %s\n", instance,
			!strncmp(res, "error ", 6) ? res + 6 : res);
		rc = EXIT_FAILED;
	}
	unlink(result);
	free(res);
	return rc;
}
