/* lithos_checkpoint: dump a running Daemon instance of a migratable sandbox
 * into a directory with CRIU, through liblxc's migrate API.
 *
 *   lithos_checkpoint [-C MASTER] [--leave-running] [--pre-dump] [--prev DIR]
 *                     SANDBOX/PROC.N DIR
 *
 * Default: a final dump that stops the instance (CRIU kills it once its
 * images are written).  Before that it leaves RUNTIME/knots/NAME.away, so
 * the tree neither restarts the instance nor counts its end; a failed dump
 * removes it again and the instance runs on (CRIU resumes it).  Exit codes:
 * 0 done, 1 CRIU failed (the instance still runs), 2 usage, 3 CRIU missing,
 * too old or impossible on this kernel, 4 not a running migratable
 * instance, or one holding what CRIU cannot dump or restore (a host file,
 * the tree's shared tcp-ports socket). */
#include "config.h"
#include "criu.h"
#include "host.h"
#include "lxcrun.h"
#include "treesignal.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <lxc/lxccontainer.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_CRIU 3
#define EXIT_INSTANCE 4

static void usage(FILE *out)
{
	fputs("Usage: lithos_checkpoint [-C MASTER] [--leave-running] [--pre-dump] [--prev DIR]\n"
	      "                         SANDBOX/PROC.N DIR\n"
	      "\n"
	      "Dump the running instance SANDBOX/PROC.N (a Daemon of a sandbox with\n"
	      "migratable: true) into DIR with CRIU.  By default the instance is stopped\n"
	      "by the dump and lithos_tree does not restart it (lithos_restore brings it\n"
	      "back, here or on another host).  If the dump fails, the instance runs on.\n"
	      "\n"
	      "Options:\n"
	      "  -C, --master, --config FILE\n"
	      "                     master config (default /etc/lithos/master.yaml)\n"
	      "      --leave-running  dump and let the instance run on\n"
	      "      --pre-dump     only a pre-dump of the memory (iterative migration;\n"
	      "                     needs the kernel's memory dirty tracking)\n"
	      "      --prev DIR     an earlier pre-dump to build on (a path relative to\n"
	      "                     DIR, as CRIU's --prev-images-dir wants, e.g. ../pre1)\n"
	      "  -h, --help         show this help\n"
	      "\n"
	      "Exit status: 0 done, 1 the dump failed (the instance still runs),\n"
	      "2 usage, 3 criu missing, too old or unusable on this kernel, 4 not a\n"
	      "running instance of a migratable sandbox, or it holds what cannot be\n"
	      "checkpointed (a host file, the tree's shared tcp-ports socket: use\n"
	      "reuse-port: true).\n",
	      out);
}

/* DIR must be new or empty; created 0700 (the images hold the memory) */
static int prepare_dir(const char *dir, char **err)
{
	struct stat st;
	if (lstat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			*err = xasprintf("%s exists and is not a directory; expected a new or empty directory", dir);
			return -1;
		}
		char *inv = xasprintf("%s/inventory.img", dir);
		bool used = access(inv, F_OK) == 0;
		free(inv);
		if (used) {
			*err = xasprintf("%s already holds a checkpoint (inventory.img); expected a new or empty directory", dir);
			return -1;
		}
		return 0;
	}
	if (mkdir_p(dir, 0700) < 0) {
		*err = xasprintf("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* SIGUSR1 to the tree, if one runs (tree_signal: never to a reused pid) */
static void poke_tree(const char *runtime_dir)
{
	tree_signal(runtime_dir, SIGUSR1, NULL);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "master", required_argument, NULL, 'C' },
		{ "config", required_argument, NULL, 'C' },
		{ "leave-running", no_argument, NULL, 'l' },
		{ "pre-dump", no_argument, NULL, 'p' },
		{ "prev", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *master = "/etc/lithos/master.yaml", *prev = NULL;
	bool leave = false, predump = false;
	int c;
	while ((c = getopt_long(argc, argv, "+C:h", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			master = optarg;
			break;
		case 'l':
			leave = true;
			break;
		case 'p':
			predump = true;
			break;
		case 'P':
			prev = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *instance = argv[optind], *dir = argv[optind + 1];
	char *lxc_name = instance_to_lxc_name(instance);
	if (!lxc_name) {
		fprintf(stderr, "lithos_checkpoint: \"%s\" is not an instance name; expected SANDBOX/PROCESS.N\n",
			instance);
		return EXIT_USAGE;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "lithos_checkpoint: must run as root (CRIU)\n");
		return EXIT_USAGE;
	}
	struct master_config m;
	struct diags d = { 0 };
	if (master_config_parse(&m, master, &d) < 0) {
		diags_print(stderr, &d);
		return EXIT_USAGE;
	}
	struct host_info h = { .lxc_path = host_lxc_path(&m) };
	char *err = NULL;

	struct lxc_container *ct = lxc_container_new(lxc_name, h.lxc_path);
	if (!ct || !ct->is_running(ct)) {
		fprintf(stderr, "lithos_checkpoint: %s is not running (no running LXC container %s in %s)\n",
			instance, lxc_name, h.lxc_path);
		return EXIT_INSTANCE;
	}
	if (!lxc_config_migratable(h.lxc_path, lxc_name)) {
		char *sb = xstrndup(instance, strcspn(instance, "/"));
		fprintf(stderr, "lithos_checkpoint: %s cannot be checkpointed: its sandbox %s is not migratable (its lxc.conf %s/%s/config has no \"#lithos.migratable = 1\"); expected migratable: true in the sandbox config and the instance restarted with it\n",
			instance, sb, h.lxc_path, lxc_name);
		free(sb);
		return EXIT_INSTANCE;
	}
	if (criu_usable(predump, &err) < 0) {
		fprintf(stderr, "lithos_checkpoint: %s: %s\n", instance, err);
		return EXIT_CRIU;
	}
	/* a tree's shared tcp-port could not be bound again by the restore */
	if (criu_shared_listeners(ct->init_pid(ct), tree_signal(m.runtime_dir, 0, NULL), &err) < 0) {
		fprintf(stderr, "lithos_checkpoint: %s cannot be checkpointed: %s\n", instance, err);
		return EXIT_INSTANCE;
	}
	if (prepare_dir(dir, &err) < 0) {
		fprintf(stderr, "lithos_checkpoint: %s\n", err);
		return EXIT_USAGE;
	}

	/* the stdio every lithos instance gets from its knot is outside the
	 * container's mount tree: CRIU dumps it as external files, named in
	 * DIR/lithos-checkpoint for the restore */
	struct buf conf = { 0 }, meta = { 0 };
	criu_base_config(&conf);
	char *stdio_log = lxc_config_lithos_value(h.lxc_path, lxc_name, "stdio-log");
	pid_t init = ct->init_pid(ct);
	if (criu_external_stdio(init, stdio_log, &conf, &meta, &err) < 0) {
		fprintf(stderr, "lithos_checkpoint: %s cannot be checkpointed: %s\n", instance, err);
		return EXIT_INSTANCE;
	}
	char *cpath = xasprintf("%s/criu-%s.conf", dir, predump ? "pre-dump" : "dump");
	if (criu_use_config(cpath, &conf) < 0) {
		fprintf(stderr, "lithos_checkpoint: cannot write %s: %s\n", cpath, strerror(errno));
		return EXIT_FAILED;
	}
	free(cpath);

	/* LXC's log of the instance, where a failed dump is told to look:
	 * only now, after every check, so a refused checkpoint touches
	 * nothing (it creates LXCPATH/NAME/lxc.log when missing) */
	instance_log_attach(ct, h.lxc_path, lxc_name);
	struct migrate_opts mo;
	memset(&mo, 0, sizeof(mo));
	mo.directory = (char *)dir;
	mo.predump_dir = (char *)prev;
	mo.stop = !leave && !predump;
	mo.verbose = getenv("LITHOS_CRIU_VERBOSE") != NULL;
	char *away = criu_marker(m.runtime_dir, lxc_name, "away");
	if (mo.stop) {
		char *text = xasprintf("%s\n", dir);
		mkdir_p(m.runtime_dir, 0755);
		char *knots = xasprintf("%s/knots", m.runtime_dir);
		mkdir_p(knots, 0755);
		free(knots);
		if (write_small_file(away, text) < 0) {
			fprintf(stderr, "lithos_checkpoint: cannot write %s: %s\n", away, strerror(errno));
			return EXIT_FAILED;
		}
		free(text);
	}
	double t0 = mono_ms();
	int r = ct->migrate(ct, predump ? MIGRATE_PRE_DUMP : MIGRATE_DUMP, &mo, sizeof(mo));
	double ms = mono_ms() - t0;
	const char *log = predump ? "pre-dump.log" : "dump.log";
	if (r != 0) {
		if (mo.stop)
			unlink(away);
		bool running = ct->is_running(ct);
		fprintf(stderr, "lithos_checkpoint: %s: CRIU %s failed (see %s/%s and %s/%s/lxc.log); the instance %s\n",
			instance, predump ? "pre-dump" : "dump", dir, log, h.lxc_path, lxc_name,
			running ? "is still running" : "is NOT running any more: lithos_tree starts it again");
		char *lp = xasprintf("%s/%s", dir, log);
		char *text = read_file_limited(lp, 1 << 20, NULL);
		free(lp);
		if (text) {
			/* CRIU's own errors, without the harmless rlimit one */
			for (char *s = NULL, *l = strtok_r(text, "\n", &s); l; l = strtok_r(NULL, "\n", &s))
				if (strstr(l, "Error") && !strstr(l, "RLIMIT_NOFILE"))
					fprintf(stderr, "  %s\n", l);
			free(text);
		}
		if (!running)
			poke_tree(m.runtime_dir);
		return EXIT_FAILED;
	}
	char *mpath = xasprintf("%s/lithos-checkpoint", dir);
	char *text = xasprintf("instance %s\nlxc-name %s\nkind %s\nstopped %d\n%s", instance, lxc_name,
			       predump ? "pre-dump" : "dump", mo.stop ? 1 : 0, buf_str(&meta));
	write_small_file(mpath, text);
	free(mpath);
	free(text);
	printf("%s %s to %s in %.0f ms (%s)\n", predump ? "pre-dumped" : "checkpointed", instance, dir,
	       ms, mo.stop ? "stopped" : "left running");
	lxc_container_put(ct);
	free(away);
	free(lxc_name);
	return 0;
}
