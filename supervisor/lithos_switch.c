/* lithos_switch: validate a new processes config for a sandbox, put it in
 * place atomically and make the running tree apply it.  On an invalid file
 * it exits non-zero with the problems and changes nothing.
 * --save-previous FILE keeps a copy of the replaced config (lithos_migrate
 * puts it back after a failed restore); --remove takes the sandbox's
 * config away (what "no previous config" puts back). */
#include "config.h"
#include "paths.h"
#include "setup.h"
#include "treesignal.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fputs("Usage: lithos_switch [--master FILE] [--save-previous FILE] SANDBOX NEW_PROCESSES.yaml\n"
	      "       lithos_switch [--master FILE] --remove SANDBOX\n"
	      "\n"
	      "Check NEW_PROCESSES.yaml as the processes config of SANDBOX (with every\n"
	      "container config it points at), copy it next to the installed one and\n"
	      "rename it over it, then send SIGQUIT to lithos_tree so it applies it.\n"
	      "Nothing changes when the file is invalid (exit 1, problems printed as\n"
	      "FILE:LINE:COLUMN: lines).\n"
	      "\n"
	      "Exit status: 0 installed and signalled, 1 invalid or not installed,\n"
	      "2 usage, 3 installed but no running lithos_tree was signalled.\n"
	      "\n"
	      "Options:\n"
	      "  -C, --master, --config FILE\n"
	      "                     master config (default /etc/lithos/master.yaml)\n"
	      "      --save-previous FILE  first copy the installed config to FILE (mode\n"
	      "                     0600); FILE is removed when none is installed\n"
	      "      --remove       remove the installed config of SANDBOX (it then runs\n"
	      "                     nothing) and signal the tree\n"
	      "  -h, --help         show this help\n",
	      out);
}

/* PATH gets DATA through PATH.lithos_switch.tmp (synced, renamed over) */
static int replace_file(const char *path, const char *data, size_t len, mode_t mode)
{
	return write_file_atomic(path, ".lithos_switch.tmp", data, len, mode, true);
}

/* SIGQUIT to the running tree of RUNTIME (tree_signal: only the process
 * holding the lock on master.pid, through a pidfd); 0 or 3 (none to
 * signal) */
static int signal_tree(const char *runtime)
{
	char *why = NULL;
	int pid = tree_signal(runtime, SIGQUIT, &why);
	if (!pid) {
		fprintf(stderr, "lithos_switch: config installed, but no lithos_tree to signal (%s/master.pid): %s\n",
			runtime, why);
		free(why);
		return 3;
	}
	printf("sent SIGQUIT to lithos_tree (pid %d)\n", pid);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "master", required_argument, NULL, 'm' },
		{ "config", required_argument, NULL, 'm' },
		{ "save-previous", required_argument, NULL, 'p' },
		{ "remove", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *master = "/etc/lithos/master.yaml", *save = NULL;
	bool remove = false;
	int c;
	while ((c = getopt_long(argc, argv, "+C:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
		case 'C':
			master = optarg;
			break;
		case 'p':
			save = optarg;
			break;
		case 'r':
			remove = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != (remove ? 1 : 2) || (remove && save)) {
		usage(stderr);
		return 2;
	}
	const char *sandbox = argv[optind], *newfile = argv[optind + 1];
	struct diags d = { 0 };
	struct lithos_setup st;
	if (remove) {
		/* the installed file may be anything: only the sandbox counts */
		struct setup_options ro = { .master_path = master, .only_sandbox = sandbox };
		setup_load(&st, &ro, &d);
		const struct loaded_sandbox *sb = setup_find_sandbox(&st, sandbox);
		if (!sb || !sb->cfg_ok) {
			diags_print(stdout, &d);
			fprintf(stderr, "lithos_switch: no valid sandbox %s in %s; nothing changed\n", sandbox,
				master);
			return 1;
		}
		if (unlink(sb->processes_file) < 0 && errno != ENOENT) {
			fprintf(stderr, "lithos_switch: cannot remove %s: %s\n", sb->processes_file,
				strerror(errno));
			return 1;
		}
		printf("%s: removed (sandbox %s runs nothing)\n", sb->processes_file, sandbox);
		int rc = signal_tree(st.master.runtime_dir);
		setup_free(&st);
		diags_free(&d);
		return rc;
	}
	struct setup_options so = { .master_path = master, .only_sandbox = sandbox,
				    .alternate_processes = newfile };
	setup_load(&st, &so, &d);
	if (diags_count(&d)) {
		diags_print(stdout, &d);
		fprintf(stderr, "lithos_switch: %s is not valid for sandbox %s; nothing changed\n", newfile,
			sandbox);
		return 1;
	}
	const struct loaded_sandbox *sb = setup_find_sandbox(&st, sandbox);
	/* the installed path, not the alternate one */
	char *target = sb->cfg.config_file ? path_join(st.master.processes_dir, sb->cfg.config_file)
					   : xasprintf("%s/%s.yaml", st.master.processes_dir, sandbox);
	size_t len;
	char *data = read_file_limited(newfile, 8u << 20, &len);
	if (!data) {
		fprintf(stderr, "lithos_switch: cannot read %s: %s\n", newfile, strerror(errno));
		return 1;
	}
	if (save) {
		/* the config this one replaces, for putting it back */
		size_t plen;
		char *prev = read_file_limited(target, 8u << 20, &plen);
		if (prev ? replace_file(save, prev, plen, 0600) < 0
			 : errno != ENOENT || (unlink(save) < 0 && errno != ENOENT)) {
			fprintf(stderr, "lithos_switch: cannot save the installed %s as %s: %s; nothing changed\n",
				target, save, strerror(errno));
			return 1;
		}
		printf("%s: %s\n", save, prev ? "copy of the installed config" : "removed (no config was installed)");
		free(prev);
	}
	if (replace_file(target, data, len, 0644) < 0) {
		fprintf(stderr, "lithos_switch: cannot replace %s: %s\n", target, strerror(errno));
		return 1;
	}
	printf("%s: installed as %s\n", newfile, target);
	/* tell the tree */
	int rc = signal_tree(st.master.runtime_dir);
	free(target);
	free(data);
	setup_free(&st);
	diags_free(&d);
	return rc;
}
