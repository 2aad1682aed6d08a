/* lithos_tree: the supervisor.  Keeps every configured Daemon instance
 * running in its own LXC container, each watched by a lithos_knot child.
 *
 *   SIGQUIT  reload: check the master config, then re-execute in place
 *            keeping the pid, the children, the listening sockets and each
 *            sandbox's last good configs; the new image reads every config
 *            once, a sandbox with problems keeps its last good configs
 *            (whole), unchanged instances run on untouched and are not
 *            compiled again (a broken master config refuses the reload)
 *   SIGTERM  stop every instance within its kill-timeout and exit
 *   SIGINT   the same (Ctrl-C in the foreground)
 *   SIGHUP   reopen the log file
 *   SIGUSR1  look at checkpoint/restore records again (lithos_restore)
 *
 * From the moment it runs it must not die on bad input: configs that fail
 * to load leave what runs alone, problems go to the log.
 */
#include "log.h"
#include "lxcrun.h"
#include "tree.h"
#include "tree_metrics.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#ifndef LITHOS_BUILDDIR
#define LITHOS_BUILDDIR "."
#endif

void ports_gc(struct tree *t);

static void usage(FILE *out)
{
	fputs("Usage: lithos_tree [-C MASTER] [--log-stderr] [--log-level LEVEL]\n"
	      "\n"
	      "Run every Daemon process of every sandbox in LXC containers and keep them\n"
	      "running. Signals: QUIT reloads the configs in place, TERM and INT stop\n"
	      "everything and exit, HUP reopens the log, USR1 looks at checkpoint and\n"
	      "restore requests (lithos_checkpoint, lithos_restore).\n"
	      "\n"
	      "Options:\n"
	      "  -C, --config MASTER master config (default /etc/lithos/master.yaml)\n"
	      "  --log-stderr        log to stderr instead of the master log\n"
	      "  --log-level LEVEL   error, warn, info, debug or trace (default: the\n"
	      "                      master config's log-level)\n"
	      "  -h, --help          show this help\n",
	      out);
}

static char *find_knot(void)
{
	const char *e = getenv("LITHOS_KNOT");
	if (e && *e)
		return xstrdup(e);
	if (access(LITHOS_BUILDDIR "/lithos_knot", X_OK) == 0)
		return xstrdup(LITHOS_BUILDDIR "/lithos_knot");
	return xstrdup(LITHOS_LIBEXEC_DIR "/lithos_knot");
}

static void log_diags(struct diags *d, const char *what)
{
	for (size_t i = 0; i < d->n; i++) {
		char *line = diag_format(&d->v[i]);
		log_error("%s: %s", what, line);
		free(line);
	}
}

static const struct sbsrc *find_old_sources(const struct tree *t, const char *name)
{
	for (size_t i = 0; name && i < t->n_old_srcs; i++)
		if (!strcmp(t->old_srcs[i].name, name))
			return &t->old_srcs[i];
	return NULL;
}

/* Load every config once; problems are logged as lithos_check prints them.
 * A sandbox with problems that has last good configs (from before this
 * reload) is loaded from those instead, whole: its instances run on
 * unchanged.  Without them (a cold start, a sandbox new in this reload)
 * its valid process entries run and the others are skipped. */
static void load_configs(struct tree *t)
{
	struct diags d = { 0 };
	struct setup_options so = { .master_path = t->master_path, .record_sources = true };
	setup_load(&t->setup, &so, &d);
	log_diags(&d, "Config");
	diags_free(&d);
	for (size_t i = 0; i < t->setup.n_sandboxes; i++) {
		struct loaded_sandbox *sb = &t->setup.sandboxes[i];
		if (!sb->n_problems)
			continue;
		/* a copy: reloading the sandbox frees its config */
		char *name = xstrdup(sb->cfg.name ? sb->cfg.name : "?");
		size_t n = sb->n_problems;
		const struct sbsrc *old = find_old_sources(t, name);
		if (old) {
			log_error("Sandbox %s: %zu problem%s (above); it keeps its last good configs and its instances run on unchanged",
				  name, n, n == 1 ? "" : "s");
			struct diags d2 = { 0 };
			if (setup_reload_sandbox(&t->setup, i, &old->set, &d2) < 0) {
				/* kept from a start or reload that ran its valid
				 * entries only: the same problems again */
				for (size_t k = 0; k < d2.n; k++) {
					char *line = diag_format(&d2.v[k]);
					log_warn("Last good config: %s", line);
					free(line);
				}
				log_warn("Sandbox %s: its last good configs have problems of their own (above): the process entries valid in them run, as before",
					 name);
			}
			diags_free(&d2);
		} else {
			size_t ok = 0;
			for (size_t j = 0; j < sb->n_entries; j++)
				ok += sb->entries[j].valid;
			if (!ok)
				log_error("Sandbox %s: %zu problem%s (above) and no last good configs: skipped, nothing of it runs",
					  name, n, n == 1 ? "" : "s");
			else
				log_error("Sandbox %s: %zu problem%s (above) and no last good configs: its %zu valid process entr%s run, the others are skipped",
					  name, n, n == 1 ? "" : "s", ok, ok == 1 ? "y" : "ies");
		}
		free(name);
	}
	t->have_setup = true;
	tree_apply_sources(t);
}

static void reap(struct tree *t)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			break;
		struct child *c = tree_find_pid(t, pid);
		if (!c)
			continue; /* an orphan reparented to us (subreaper) */
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		tree_child_died(t, c, code);
	}
}

/* An adopted knot (not our child) ended: its status file says how. */
static void adopted_died(struct tree *t, struct child *c)
{
	char *sf = knot_file(t, c->lxc_name, "status");
	int code = 255;
	FILE *f = fopen(sf, "re");
	if (f) {
		if (fscanf(f, "exit %d", &code) != 1)
			code = 255;
		fclose(f);
	}
	free(sf);
	tree_child_died(t, c, code);
}

/* After a reload: adopted knots that died while the tree re-executed (their
 * pidfd is readable, or the old state had no pidfd and the knot was gone)
 * end before the configs are applied to them.  Own children that died are
 * zombies: reap() finds them. */
static void carried_dead(struct tree *t)
{
	struct pollfd *pfds = xcalloc(t->n_children + 1, sizeof(*pfds));
	size_t n = 0;
	for (size_t i = 0; i < t->n_children; i++) {
		pfds[i].fd = t->children[i].state == CH_RUNNING ? t->children[i].pidfd : -1;
		pfds[i].events = POLLIN;
		n += pfds[i].fd >= 0;
	}
	if (n && poll(pfds, t->n_children, 0) < 0)
		memset(pfds, 0, t->n_children * sizeof(*pfds));
	for (size_t i = 0; i < t->n_children; i++) {
		struct child *c = &t->children[i];
		if (c->state == CH_RUNNING && (c->lost || (c->pidfd >= 0 && pfds[i].revents))) {
			c->lost = false;
			adopted_died(t, c);
		}
	}
	free(pfds);
}

static void reload(struct tree *t)
{
	log_warn("Reloading configs (SIGQUIT)");
	/* only the master config is checked here (a broken one would leave the
	 * new image without a runtime dir or log); the sandboxes are loaded
	 * once, by the new image, each falling back to its last good configs */
	struct master_config m;
	struct diags d = { 0 };
	if (master_config_parse(&m, t->master_path, &d) < 0) {
		log_diags(&d, "Config");
		log_error("Reload refused: the master config has problems (see above); everything keeps running on the old configs");
		diags_free(&d);
		master_config_free(&m);
		return;
	}
	diags_free(&d);
	master_config_free(&m);
	/* re-execute in place: same pid, children and sockets */
	char *state = xasprintf("%s/tree.state", t->runtime_dir);
	t->reloads++;
	if (tree_save_state(t, state) < 0) {
		log_error("Reload failed: cannot write %s: %m", state);
		free(state);
		return;
	}
	fcntl(t->lock_fd, F_SETFD, 0);
	/* ours go first, right after argv[0]: after a "--" in the command
	 * line they would be operands (a usage error, exit 2, in the new
	 * image) */
	struct strlist args = { 0 };
	struct pos p0 = { 0, 0 };
	char *lockarg = xasprintf("%d", t->lock_fd);
	strlist_push(&args, t->argv[0], p0);
	strlist_push(&args, "--reexec-state", p0);
	strlist_push(&args, state, p0);
	strlist_push(&args, "--lock-fd", p0);
	strlist_push(&args, lockarg, p0);
	bool skip = false;
	for (char **a = t->argv + 1; *a; a++) {
		if (skip) {
			skip = false;
			continue;
		}
		/* ours from an earlier reload: added again below */
		if (!strcmp(*a, "--reexec-state") || !strcmp(*a, "--lock-fd")) {
			skip = true;
			continue;
		}
		strlist_push(&args, *a, p0);
	}
	char **argv = xcalloc(args.n + 1, sizeof(*argv));
	memcpy(argv, args.v, args.n * sizeof(*argv));
	tree_metrics_close(t);
	/* signals stay blocked across the exec: a SIGQUIT (or TERM) that comes
	 * in meanwhile stays pending for the new image's signalfd instead of
	 * killing the tree with its default action */
	execv(t->self_exe, argv);
	log_error("Reload failed: cannot execute %s: %m", t->self_exe);
	tree_state_keep_fds(t, false);
	free(argv);
	strlist_free(&args);
	free(lockarg);
	free(state);
	/* still the old image: the signals stayed blocked for the signalfd */
	tree_metrics_open(t);
	tree_metric_setup(t);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'C' },
		{ "log-stderr", no_argument, NULL, 'e' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "reexec-state", required_argument, NULL, 'R' },
		{ "lock-fd", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct tree t = { 0 };
	t.master_path = "/etc/lithos/master.yaml";
	t.argv = argv;
	t.lock_fd = -1;
	bool log_stderr = false;
	const char *level_arg = NULL, *reexec = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "C:h", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			t.master_path = optarg;
			break;
		case 'e':
			log_stderr = true;
			break;
		case 'l':
			level_arg = optarg;
			if (log_level_parse(optarg) < 0) {
				fprintf(stderr, "lithos_tree: --log-level %s: expected error, warn, info, debug or trace\n",
					optarg);
				return 2;
			}
			break;
		case 'R':
			reexec = optarg;
			break;
		case 'K':
			t.lock_fd = atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		fprintf(stderr, "lithos_tree: cannot find own executable: %s\n", strerror(errno));
		return 1;
	}
	exe[n] = 0;
	t.self_exe = xstrdup(exe);

	/* the master config decides where the log and runtime dir are */
	struct master_config m;
	struct diags d = { 0 };
	if (master_config_parse(&m, t.master_path, &d) < 0) {
		diags_print(stderr, &d);
		if (!reexec)
			return 1;
	}
	diags_free(&d);
	int level = log_level_parse(level_arg ? level_arg : m.log_level);
	log_setup(log_stderr ? NULL : m.log_file, log_stderr ? NULL : m.syslog_facility,
		  m.syslog_name, level < 0 ? LOG_LVL_WARN : level);
	t.runtime_dir = xstrdup(m.runtime_dir);
	t.knots_dir = xasprintf("%s/knots", m.runtime_dir);
	master_config_free(&m);
	if (mkdir_p(t.knots_dir, 0755) < 0) {
		log_error("Cannot create %s: %m", t.knots_dir);
		return 1;
	}
	/* written by older trees beside status.json; nothing reads it now */
	char *old_tsv = xasprintf("%s/instances.tsv", t.runtime_dir);
	unlink(old_tsv);
	free(old_tsv);

	/* one tree per master config: the pid file is locked while we run */
	if (t.lock_fd < 0) {
		char *pidfile = xasprintf("%s/master.pid", t.runtime_dir);
		t.lock_fd = open(pidfile, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (t.lock_fd < 0 || flock(t.lock_fd, LOCK_EX | LOCK_NB) < 0) {
			char other[32] = "";
			if (t.lock_fd >= 0 && pread(t.lock_fd, other, sizeof(other) - 1, 0) > 0)
				other[strcspn(other, "\n")] = 0;
			fprintf(stderr, "lithos_tree: another lithos_tree runs with %s (pid %s); refusing to start a second one\n",
				pidfile, other[0] ? other : "?");
			log_error("Another lithos_tree runs (pid %s); not starting", other[0] ? other : "?");
			return 1;
		}
		if (ftruncate(t.lock_fd, 0) == 0)
			dprintf(t.lock_fd, "%d\n", (int)getpid());
		free(pidfile);
	} else {
		fcntl(t.lock_fd, F_SETFD, FD_CLOEXEC);
	}

	prctl(PR_SET_CHILD_SUBREAPER, 1);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGQUIT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	t.knot = find_knot();
	char *err = NULL;
	/* the state of the tree before the reload: children, sockets and the
	 * last good configs of each sandbox */
	if (reexec && tree_load_state(&t, reexec) < 0)
		log_error("Cannot read the state of the previous tree from %s: %m", reexec);
	if (!reexec)
		tree_load_good(&t); /* left by a tree that crashed */
	load_configs(&t);
	/* host facts come from the master config loaded with the setup */
	if (host_info_load(&t.host, &t.setup.master, &err) < 0) {
		log_error("Cannot run containers: %s", err);
		return 1;
	}

	tree_metrics_open(&t);
	if (reexec) {
		unlink(reexec);
		log_warn("Reloaded (pid %d); %zu instances carried over", (int)getpid(), t.n_children);
	} else {
		tree_adopt_orphans(&t);
		log_warn("Started (pid %d)", (int)getpid());
	}
	tree_compute_wants(&t);
	tree_metric_setup(&t);
	if (reexec) {
		tree_metric_restart(&t);
		carried_dead(&t);
	}
	tree_reconcile(&t);
	/* children that ended while we were re-executing (those not wanted
	 * any more go now, not in the status written next) */
	reap(&t);
	tree_remove_dead(&t);

	for (;;) {
		ports_gc(&t);
		if (t.dirty) {
			tree_write_status(&t);
			tree_metric_flush(&t);
			t.dirty = false;
		}
		if (t.stopping) {
			bool any = false;
			for (size_t i = 0; i < t.n_children; i++)
				any |= t.children[i].state == CH_RUNNING;
			if (!any)
				break;
		}
		/* poll the signalfd, the pidfds of adopted knots and the events
		 * of restart-process-only instances */
		size_t npfd = 1;
		struct pollfd *pfds = xcalloc(1 + 2 * t.n_children, sizeof(*pfds));
		struct child **owners = xcalloc(1 + 2 * t.n_children, sizeof(*owners));
		bool *is_ev = xcalloc(1 + 2 * t.n_children, sizeof(*is_ev));
		pfds[0].fd = sigfd;
		pfds[0].events = POLLIN;
		for (size_t i = 0; i < t.n_children; i++) {
			if (t.children[i].pidfd >= 0 && t.children[i].state == CH_RUNNING) {
				pfds[npfd].fd = t.children[i].pidfd;
				pfds[npfd].events = POLLIN;
				owners[npfd] = &t.children[i];
				npfd++;
			}
			if (t.children[i].ev_fd >= 0 && t.children[i].state == CH_RUNNING) {
				pfds[npfd].fd = t.children[i].ev_fd;
				pfds[npfd].events = POLLIN;
				owners[npfd] = &t.children[i];
				is_ev[npfd] = true;
				npfd++;
			}
		}
		double next = tree_next_deadline(&t);
		int timeout = -1;
		if (next >= 0) {
			double ms = (next - now_mono()) * 1000.0;
			timeout = ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms + 1;
		}
		int r = poll(pfds, npfd, timeout);
		if (r < 0 && errno != EINTR)
			log_error("poll: %m");
		for (size_t i = 1; r > 0 && i < npfd; i++)
			if (pfds[i].revents && is_ev[i])
				tree_events_read(&t, owners[i]);
		for (size_t i = 1; r > 0 && i < npfd; i++)
			if (pfds[i].revents && !is_ev[i] && owners[i]->state == CH_RUNNING)
				adopted_died(&t, owners[i]);
		free(pfds);
		free(owners);
		free(is_ev);
		struct signalfd_siginfo si;
		bool want_reload = false, want_restore = false;
		while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
			switch (si.ssi_signo) {
			case SIGCHLD:
				break;
			case SIGTERM:
			case SIGINT:
				if (!t.stopping)
					log_warn("Stopping everything (signal %u)", si.ssi_signo);
				t.stopping = true;
				for (size_t i = 0; i < t.n_children; i++) {
					struct child *ch = &t.children[i];
					ch->wanted = false;
					if (ch->state == CH_WAIT_RESTART) {
						/* dead, waiting for its restart: nothing
						 * to stop, but its LXC dir and records go */
						tree_cleanup_instance(&t, ch->lxc_name, true);
						ch->state = CH_STOPPED;
					} else {
						tree_stop(&t, ch);
					}
				}
				break;
			case SIGQUIT:
				want_reload = true;
				break;
			case SIGHUP:
				log_reopen();
				break;
			case SIGUSR1:
				want_restore = true;
				break;
			}
		}
		reap(&t);
		tree_tick(&t);
		if (want_restore && !t.stopping)
			tree_restore_requests(&t);
		if (want_reload && !t.stopping)
			reload(&t);
	}
	log_warn("Stopped");
	tree_forget_good(&t);
	for (size_t i = 0; i < t.n_ports; i++)
		close(t.ports[i].fd);
	tree_write_status(&t);
	tree_metrics_close(&t);
	char *pidfile = xasprintf("%s/master.pid", t.runtime_dir);
	unlink(pidfile);
	free(pidfile);
	tree_free_wants(&t);
	setup_free(&t.setup);
	host_info_free(&t.host);
	return 0;
}
