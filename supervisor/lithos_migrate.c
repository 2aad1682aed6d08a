/* lithos_migrate: move a running Daemon instance to another lithos host,
 * the sequence of docs/migration.md in one command.
 *
 *   lithos_migrate [-C MASTER] --to HOST|local [options] SANDBOX/PROC.N
 *
 * 1. lithos_checkpoint on this host (the instance stops; nothing happened if
 *    this fails);
 * 2. the images to the target: `tar | ssh HOST 'tar -x'`, or nothing with
 *    --shared-dir (a directory both hosts see at the same path) or --to
 *    local (another lithos "host" on this machine);
 * 3. on the target: lithos_restore (its tree restores and supervises the
 *    instance), with lithos_switch of --target-processes while it waits;
 * 4. on success lithos_switch of --source-processes here (the entry leaves
 *    this host), and the images are removed unless --keep-images;
 *    on a failure in 2 or 3 the instance is restored here from the same
 *    images (lithos_restore) and the command says which step failed; the
 *    target's processes config from before --target-processes is put back
 *    (lithos_switch --save-previous kept it, or --remove when none).
 *
 * Commands on the target run through `SSH HOST sh -c '...'` (SSH from
 * --ssh, default "ssh"), or `sh -c` here with --to local.  Exit codes: 0
 * migrated, 1 failed and the instance runs here again, 2 usage, 3 and 4 as
 * lithos_checkpoint (nothing was done), 6 failed and the instance could
 * not be restored here either, or the target's restore did not report and
 * may still succeed (the images are kept; not restored here then). */
#include "config.h"
#include "criu.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_CRIU 3
#define EXIT_STUCK 6

static void usage(FILE *out)
{
	fputs("Usage: lithos_migrate [-C MASTER] --to HOST|local [--ssh COMMAND]\n"
	      "                      [--target-master FILE] [--target-bin DIR]\n"
	      "                      [--target-processes FILE] [--source-processes FILE]\n"
	      "                      [--shared-dir DIR | --dir DIR] [--target-dir DIR]\n"
	      "                      [--timeout SECS] [--keep-images] SANDBOX/PROC.N\n"
	      "\n"
	      "Move the running instance SANDBOX/PROC.N (a Daemon of a migratable\n"
	      "sandbox) to another lithos host: checkpoint here, copy the images,\n"
	      "restore there under that host's lithos_tree.  If the copy or the\n"
	      "restore fails, the instance is restored here again (docs/migration.md).\n"
	      "\n"
	      "Options:\n"
	      "  -C, --master, --config FILE\n"
	      "                          this host's master config (default /etc/lithos/master.yaml)\n"
	      "      --to HOST           the target, reached with SSH HOST; \"local\": this machine\n"
	      "      --ssh COMMAND       the ssh command, split by the shell (default \"ssh\")\n"
	      "      --target-master FILE  the target's master config (default: the same path)\n"
	      "      --target-bin DIR    where the lithos commands are on the target (default:\n"
	      "                          PATH there)\n"
	      "      --target-processes FILE  installed on the target with lithos_switch\n"
	      "                          while the restore waits (the config with the entry;\n"
	      "                          the previous one is put back if the restore fails)\n"
	      "      --source-processes FILE  installed here with lithos_switch after a\n"
	      "                          successful move (the config without the entry)\n"
	      "      --shared-dir DIR    put the images below DIR, which the target sees at\n"
	      "                          the same path: no copy\n"
	      "      --dir DIR           where the images go here (default RUNTIME/migrate)\n"
	      "      --target-dir DIR    where they go on the target (default: as here)\n"
	      "      --timeout SECS      for the restore on the target, and here after a\n"
	      "                          failure (default 60)\n"
	      "      --keep-images       do not remove the images afterwards\n"
	      "  -h, --help              show this help\n"
	      "\n"
	      "Exit status: 0 migrated, 1 failed and the instance runs here again (or\n"
	      "the checkpoint failed and it runs on), 2 usage, 3 criu missing or\n"
	      "unusable here, 4 not a running migratable instance, or lithos_checkpoint\n"
	      "refused it (nothing was done), 6 failed and the restore here failed too,\n"
	      "or the target's restore did not report in time and may still succeed\n"
	      "(not restored here; images kept).\n",
	      out);
}

/* 'S' for /bin/sh */
static void sh_quote(struct buf *b, const char *s)
{
	buf_puts(b, "'");
	for (; *s; s++) {
		if (*s == '\'')
			buf_puts(b, "'\\''");
		else
			buf_add(b, s, 1);
	}
	buf_puts(b, "'");
}

/* Run /bin/sh -c SCRIPT; its output goes to ours.  Returns its exit code. */
static int run_sh(const char *script)
{
	pid_t p = fork();
	if (p < 0)
		return -1;
	if (p == 0) {
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	int st;
	while (waitpid(p, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* the directory of this program: the other lithos commands are there */
static char *self_dir(void)
{
	char p[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", p, sizeof(p) - 1);
	if (n <= 0)
		return xstrdup(".");
	p[n] = 0;
	char *slash = strrchr(p, '/');
	if (slash)
		*slash = 0;
	return xstrdup(p);
}

/* a command line on the target: `SSH HOST sh -c 'SCRIPT'` or `sh -c` */
static char *on_target(const char *ssh, const char *to, const char *script)
{
	struct buf b = { 0 };
	if (!strcmp(to, "local")) {
		buf_puts(&b, "/bin/sh -c ");
		sh_quote(&b, script);
	} else {
		/* ssh joins its arguments with spaces for the remote shell */
		buf_printf(&b, "%s ", ssh);
		sh_quote(&b, to);
		buf_puts(&b, " ");
		struct buf inner = { 0 };
		buf_puts(&inner, "sh -c ");
		sh_quote(&inner, script);
		sh_quote(&b, buf_str(&inner));
		buf_free(&inner);
	}
	char *r = xstrdup(buf_str(&b));
	buf_free(&b);
	return r;
}

/* The images are no longer needed: here, and the target's copy (tdir,
 * NULL when the target read them from a shared directory). */
static void drop_images(const char *dir, const char *tdir, const char *ssh, const char *to)
{
	remove_tree(dir);
	if (!tdir)
		return;
	struct buf s = { 0 };
	buf_puts(&s, "rm -rf ");
	sh_quote(&s, tdir);
	char *cmd = on_target(ssh, to, buf_str(&s));
	buf_free(&s);
	run_sh(cmd);
	free(cmd);
}

static char *cmd_path(const char *dir, const char *name)
{
	return dir ? xasprintf("%s/%s", dir, name) : xstrdup(name);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "master", required_argument, NULL, 'C' },
		{ "config", required_argument, NULL, 'C' },
		{ "to", required_argument, NULL, 't' },
		{ "ssh", required_argument, NULL, 's' },
		{ "target-master", required_argument, NULL, 'M' },
		{ "target-bin", required_argument, NULL, 'B' },
		{ "target-processes", required_argument, NULL, 'P' },
		{ "source-processes", required_argument, NULL, 'S' },
		{ "shared-dir", required_argument, NULL, 'D' },
		{ "dir", required_argument, NULL, 'd' },
		{ "target-dir", required_argument, NULL, 'T' },
		{ "timeout", required_argument, NULL, 'o' },
		{ "keep-images", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *master = "/etc/lithos/master.yaml", *to = NULL, *ssh = "ssh";
	const char *tmaster = NULL, *tbin = NULL, *tprocs = NULL, *sprocs = NULL;
	const char *shared = NULL, *dir_opt = NULL, *tdir_opt = NULL, *timeout = "60";
	bool keep = false;
	int c;
	while ((c = getopt_long(argc, argv, "+C:h", opts, NULL)) != -1) {
		switch (c) {
		case 'C': master = optarg; break;
		case 't': to = optarg; break;
		case 's': ssh = optarg; break;
		case 'M': tmaster = optarg; break;
		case 'B': tbin = optarg; break;
		case 'P': tprocs = optarg; break;
		case 'S': sprocs = optarg; break;
		case 'D': shared = optarg; break;
		case 'd': dir_opt = optarg; break;
		case 'T': tdir_opt = optarg; break;
		case 'o': timeout = optarg; break;
		case 'k': keep = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (argc - optind != 1 || !to) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (shared && dir_opt) {
		fprintf(stderr, "lithos_migrate: --shared-dir and --dir exclude each other\n");
		return EXIT_USAGE;
	}
	char *end;
	double tmo = strtod(timeout, &end);
	if (*end || tmo <= 0) {
		fprintf(stderr, "lithos_migrate: --timeout %s: expected a positive number of seconds\n", timeout);
		return EXIT_USAGE;
	}
	const char *instance = argv[optind];
	char *lxc_name = instance_to_lxc_name(instance);
	if (!lxc_name) {
		fprintf(stderr, "lithos_migrate: \"%s\" is not an instance name; expected SANDBOX/PROCESS.N\n",
			instance);
		return EXIT_USAGE;
	}
	char *sandbox = xstrndup(instance, strcspn(instance, "/"));
	struct master_config m;
	struct diags d = { 0 };
	if (master_config_parse(&m, master, &d) < 0) {
		diags_print(stderr, &d);
		return EXIT_USAGE;
	}
	char amaster[PATH_MAX];
	if (!realpath(master, amaster)) {
		fprintf(stderr, "lithos_migrate: %s: %s\n", master, strerror(errno));
		return EXIT_USAGE;
	}
	if (!tmaster)
		tmaster = amaster;
	bool local = !strcmp(to, "local");
	bool copy = !shared && !local;

	/* a criu that is missing or too old fails here, before any directory
	 * is made (lithos_checkpoint runs `criu check`) */
	char *cerr = NULL;
	if (criu_version_check(NULL, &cerr) < 0) {
		fprintf(stderr, "lithos_migrate: %s: %s; nothing was done\n", instance, cerr);
		return EXIT_CRIU;
	}

	/* where the images go */
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	char *base = shared ? xstrdup(shared)
		     : dir_opt ? xstrdup(dir_opt) : xasprintf("%s/migrate", m.runtime_dir);
	if (mkdir_p(base, 0700) < 0) {
		fprintf(stderr, "lithos_migrate: cannot create %s: %s\n", base, strerror(errno));
		return EXIT_USAGE;
	}
	char abase[PATH_MAX];
	if (!realpath(base, abase)) {
		fprintf(stderr, "lithos_migrate: %s: %s\n", base, strerror(errno));
		return EXIT_USAGE;
	}
	char *dir = xasprintf("%s/%s.%lld.%d", abase, lxc_name, (long long)now.tv_sec, (int)getpid());
	char *tdir = copy ? xasprintf("%s/%s", tdir_opt ? tdir_opt : abase, strrchr(dir, '/') + 1)
			  : xstrdup(dir);

	char *bindir = self_dir();
	char *checkpoint = xasprintf("%s/lithos_checkpoint", bindir);
	char *restore = xasprintf("%s/lithos_restore", bindir);
	char *lswitch = xasprintf("%s/lithos_switch", bindir);
	const char *tb = tbin ? tbin : local ? bindir : NULL;
	char *trestore = cmd_path(tb, "lithos_restore");
	char *tswitch = cmd_path(tb, "lithos_switch");

	/* 1. checkpoint (stops the instance) */
	double t0 = mono_ms();
	struct buf b = { 0 };
	sh_quote(&b, checkpoint);
	buf_puts(&b, " -C ");
	sh_quote(&b, amaster);
	buf_puts(&b, " ");
	sh_quote(&b, instance);
	buf_puts(&b, " ");
	sh_quote(&b, dir);
	int rc = run_sh(buf_str(&b));
	buf_free(&b);
	double t1 = mono_ms();
	if (rc != 0) {
		fprintf(stderr, "lithos_migrate: %s: the checkpoint failed (exit %d); nothing was moved, the instance %s\n",
			instance, rc, rc == 1 || rc == 3 || rc == 4 ? "runs on here" : "state: see above");
		return rc == 3 || rc == 4 ? rc : EXIT_FAILED;
	}

	/* 2. the images to the target */
	const char *failed = NULL;
	if (copy) {
		struct buf s = { 0 };
		buf_puts(&s, "mkdir -p ");
		sh_quote(&s, tdir);
		buf_puts(&s, " && chmod 0700 ");
		sh_quote(&s, tdir);
		buf_puts(&s, " && tar -C ");
		sh_quote(&s, tdir);
		buf_puts(&s, " -xf -");
		char *remote = on_target(ssh, to, buf_str(&s));
		buf_free(&s);
		buf_puts(&b, "tar -C ");
		sh_quote(&b, dir);
		buf_printf(&b, " -cf - . | %s", remote);
		free(remote);
		/* the receiving tar's status: a cut stream fails it */
		rc = run_sh(buf_str(&b));
		buf_free(&b);
		if (rc != 0)
			failed = "copying the images to the target";
	}
	double t2 = mono_ms();

	/* 3. restore on the target (its tree), installing its config meanwhile */
	if (!failed) {
		struct buf s = { 0 };
		sh_quote(&s, trestore);
		buf_puts(&s, " -C ");
		sh_quote(&s, tmaster);
		buf_printf(&s, " --timeout %s ", timeout);
		sh_quote(&s, instance);
		buf_puts(&s, " ");
		sh_quote(&s, tdir);
		char *prev = xasprintf("%s/lithos-previous-processes.yaml", tdir);
		if (tprocs) {
			/* the target's config goes back when its restore failed
			 * (not when its result is unknown: exit 6 of lithos_restore) */
			buf_puts(&s, " & r=$!; sleep 0.3; ");
			sh_quote(&s, tswitch);
			buf_puts(&s, " --master ");
			sh_quote(&s, tmaster);
			buf_puts(&s, " --save-previous ");
			sh_quote(&s, prev);
			buf_puts(&s, " ");
			sh_quote(&s, sandbox);
			buf_puts(&s, " ");
			sh_quote(&s, tprocs);
			buf_puts(&s, " >/dev/null || { kill $r 2>/dev/null; wait $r; exit 7; }; wait $r; rc=$?; "
				     "if [ $rc -ne 0 ] && [ $rc -ne 6 ]; then if [ -e ");
			sh_quote(&s, prev);
			buf_puts(&s, " ]; then ");
			sh_quote(&s, tswitch);
			buf_puts(&s, " --master ");
			sh_quote(&s, tmaster);
			buf_puts(&s, " ");
			sh_quote(&s, sandbox);
			buf_puts(&s, " ");
			sh_quote(&s, prev);
			buf_puts(&s, "; else ");
			sh_quote(&s, tswitch);
			buf_puts(&s, " --master ");
			sh_quote(&s, tmaster);
			buf_puts(&s, " --remove ");
			sh_quote(&s, sandbox);
			buf_puts(&s, "; fi >/dev/null || exit 8; fi; exit $rc");
		}
		char *cmd = on_target(ssh, to, buf_str(&s));
		buf_free(&s);
		rc = run_sh(cmd);
		free(cmd);
		if (rc == 7) {
			failed = "installing --target-processes on the target (lithos_switch)";
		} else if (rc == 6) {
			/* the target's tree may still restore it: restoring here
			 * too could make the process run twice */
			fprintf(stderr, "lithos_migrate: %s: the target's tree took the restore request but reported no result within %s s + 10 s; its restore may still succeed, so the instance is NOT restored here (it runs nowhere now, or on %s later).  Check on %s: lithos_ps and its lithos_tree log (\"restored\" or \"restore ... failed\"); if it does not run there, remove the entry there (lithos_switch) and run here: lithos_restore -C %s %s %s.  The images stay in %s%s%s\n",
				instance, timeout, to, to, amaster, instance, dir, dir, copy ? " and on the target in " : "",
				copy ? tdir : "");
			return EXIT_STUCK;
		} else if (rc != 0) {
			failed = "the restore on the target";
			if (rc == 8)
				fprintf(stderr, "lithos_migrate: warning: the target's previous processes config could not be put back (lithos_switch there failed; the copy is %s there)\n",
					prev);
		}
		free(prev);
	}
	double t3 = mono_ms();

	if (failed) {
		fprintf(stderr, "lithos_migrate: %s: %s failed; restoring it here from %s\n", instance,
			failed, dir);
		sh_quote(&b, restore);
		buf_puts(&b, " -C ");
		sh_quote(&b, amaster);
		buf_printf(&b, " --timeout %s ", timeout);
		sh_quote(&b, instance);
		buf_puts(&b, " ");
		sh_quote(&b, dir);
		rc = run_sh(buf_str(&b));
		buf_free(&b);
		if (rc != 0) {
			fprintf(stderr, "lithos_migrate: %s: the restore here failed too (exit %d); the images stay in %s\n",
				instance, rc, dir);
			return EXIT_STUCK;
		}
		fprintf(stderr, "lithos_migrate: %s runs here again (restored from %s)\n", instance, dir);
		if (!keep)
			drop_images(dir, copy ? tdir : NULL, ssh, to);
		return EXIT_FAILED;
	}

	/* 4. the entry leaves this host; the images go */
	if (sprocs) {
		sh_quote(&b, lswitch);
		buf_puts(&b, " --master ");
		sh_quote(&b, amaster);
		buf_puts(&b, " ");
		sh_quote(&b, sandbox);
		buf_puts(&b, " ");
		sh_quote(&b, sprocs);
		buf_puts(&b, " >/dev/null");
		if (run_sh(buf_str(&b)) != 0)
			fprintf(stderr, "lithos_migrate: warning: lithos_switch of %s here failed; the instance stays marked checkpointed here\n",
				sprocs);
		buf_free(&b);
	}
	if (!keep)
		drop_images(dir, copy ? tdir : NULL, ssh, to);
	printf("migrated %s to %s: dump %.0f ms, transfer %.0f ms, restore %.0f ms, total %.0f ms\n",
	       instance, to, t1 - t0, t2 - t1, t3 - t2, t3 - t0);
	return 0;
}
