/* lithos_init: pid 1 of every lithos container.
 *
 *   /dev/.lithos-init [--unescape] [--stdio IN,OUT,ERR] [--pid-env NAME]...
 *                     [--listen FD,HOST,PORT,BACKLOG,FLAGS]... [--events-fd FD]
 *                     [--restart-timeout SECS] -- PROGRAM ARGS...
 *
 * LXC execs it as the container's init (c->start(c, 0, argv)); it is a
 * small static binary bind-mounted read-only from the host onto the
 * container's private /dev tmpfs, so nothing is written into the image.
 * It runs as the process's user (lxc.init.uid/gid), in its workdir, with the
 * environment LXC built from the config.
 *
 * It forks PROGRAM (the "main process"), forwards every signal it receives
 * to it and reaps orphans.  When the main process dies, every other process
 * in the container is killed (SIGKILL) and lithos_init exits with the main
 * process's exit code, or 128+N when it died of signal N: lithos's
 * semantics, not lxc init's (which waited for every orphan).
 *
 *   --stdio IN,OUT,ERR  fds (inherited from the monitor) that become the
 *                       process's 0, 1, 2; -1 keeps init's own.  LXC itself
 *                       sees /dev/null as 0-2 then, so it does not fchown()
 *                       or fchmod() the log files (fix_stdio_permissions)
 *   --pid-env NAME      set NAME to the process's pid (as seen in the
 *                       container) in its environment: @{lithos:pid},
 *                       LISTEN_PID; exact for every start
 *   --events-fd FD      write "start PID\n" and "exit CODE\n" lines there
 *                       for each in-container restart (to lithos_tree)
 *   --listen FD,HOST,PORT,BACKLOG,FLAGS
 *                       tcp-ports with `external: false` of a bridged
 *                       sandbox: bind HOST:PORT in the container's network
 *                       namespace (FLAGS: a = reuse-addr, p = reuse-port,
 *                       n = set-non-block, - = none), listen(BACKLOG) and
 *                       put the socket at FD for the process; bound once,
 *                       before the first start, kept across restarts
 *   --restart-timeout S restart-process-only: when the main process dies,
 *                       start it again in the same container, at least S
 *                       seconds after its previous start; only SIGTERM,
 *                       SIGINT, SIGHUP or SIGPWR (a stop) end the container
 *
 *   --unescape          (first, from lxc.init.cmd of a standalone container,
 *                       which LXC splits at spaces) every later argument
 *                       is percent-encoded: %XX is the byte XX, %00 alone
 *                       an empty argument
 *
 * fds above 2 that are not named above (tcp-ports' sockets) are passed to
 * the process as they are.  Messages of its own go to the process's stderr.
 * Exit codes of its own: 127 the program cannot be executed (126: not
 * executable), 125 a --listen socket cannot be bound, 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_PID_ENV 16
#define MAX_LISTEN 64

static int stdio_fd[3] = { -1, -1, -1 };
static const char *pid_env[MAX_PID_ENV];
static int n_pid_env;
static int events_fd = -1;
static double restart_timeout = -1; /* < 0: not restart-process-only */
static char **prog;
static const char *listen_spec[MAX_LISTEN];
static int n_listen;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(msg) - 2)
		n = (int)sizeof(msg) - 2;
	msg[n++] = '\n';
	int fd = stdio_fd[2] >= 0 ? stdio_fd[2] : 2;
	if (write(fd, "lithos_init: ", 13) > 0 && write(fd, msg, (size_t)n) < 0)
		return;
}

static void event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void event(const char *fmt, ...)
{
	if (events_fd < 0)
		return;
	char line[64];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* one short line per write(): atomic on a pipe; a full or readerless
	 * pipe loses the event, never blocks or kills init */
	if (n > 0 && n < (int)sizeof(line) && write(events_fd, line, (size_t)n) < 0)
		return;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_int(const char *s, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < -1 || v > 1 << 20)
		return -1;
	*out = (int)v;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* --unescape: %XX to the byte, in place (%00 ends the string: an empty
 * argument).  -1 on a malformed escape. */
static int unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r != '%') {
			*w++ = *r;
			continue;
		}
		int hi = hexval(r[1]), lo = hi < 0 ? -1 : hexval(r[2]);
		if (lo < 0)
			return -1;
		*w++ = (char)(hi * 16 + lo);
		if (!w[-1])
			return 0;
		r += 2;
	}
	*w = 0;
	return 0;
}

static int parse_args(int argc, char **argv)
{
	int i = 1;
	if (i < argc && !strcmp(argv[i], "--unescape")) {
		for (int k = ++i; k < argc; k++)
			if (unescape(argv[k]) < 0)
				return -1;
	}
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (i + 1 >= argc)
			return -1;
		const char *v = argv[++i];
		if (!strcmp(a, "--stdio")) {
			char buf[64];
			snprintf(buf, sizeof(buf), "%s", v);
			char *save = NULL;
			int k = 0;
			for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				if (k >= 3 || parse_int(t, &stdio_fd[k]) < 0)
					return -1;
				k++;
			}
			if (k != 3)
				return -1;
		} else if (!strcmp(a, "--pid-env")) {
			if (n_pid_env >= MAX_PID_ENV)
				return -1;
			pid_env[n_pid_env++] = v;
		} else if (!strcmp(a, "--listen")) {
			if (n_listen >= MAX_LISTEN)
				return -1;
			listen_spec[n_listen++] = v;
		} else if (!strcmp(a, "--events-fd")) {
			if (parse_int(v, &events_fd) < 0)
				return -1;
		} else if (!strcmp(a, "--restart-timeout")) {
			char *end;
			restart_timeout = strtod(v, &end);
			if (end == v || *end || restart_timeout < 0)
				return -1;
		} else {
			return -1;
		}
	}
	if (i >= argc)
		return -1;
	prog = argv + i;
	return 0;
}

/* An fd of ours sits where a socket must go: move it out of the way. */
static void move_away(int target)
{
	for (int k = 0; k < 3; k++)
		if (stdio_fd[k] == target) {
			int fd = fcntl(target, F_DUPFD_CLOEXEC, 100);
			for (int j = 0; j < 3; j++)
				if (stdio_fd[j] == target)
					stdio_fd[j] = fd;
		}
	if (events_fd == target)
		events_fd = fcntl(target, F_DUPFD_CLOEXEC, 100);
}

/* FD,HOST,PORT,BACKLOG,FLAGS: bind in our (the container's) netns */
static int bind_listen(const char *spec)
{
	char buf[128], host[64];
	int fd_at, port, backlog;
	char flags[8];
	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *p = buf; *p; p++)
		if (*p == ',')
			*p = ' ';
	if (sscanf(buf, "%d %63s %d %d %7s", &fd_at, host, &port, &backlog, flags) != 5 ||
	    fd_at < 0 || port < 1 || port > 65535) {
		say("bad --listen %s", spec);
		return -1;
	}
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		len = sizeof(*s6);
	} else {
		say("bad host %s in --listen %s", host, spec);
		return -1;
	}
	int sock = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		say("socket: %s", strerror(errno));
		return -1;
	}
	int one = 1;
	if (strchr(flags, 'a'))
		setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (strchr(flags, 'p'))
		setsockopt(sock, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(sock, (struct sockaddr *)&ss, len) < 0 ||
	    listen(sock, backlog > 0 ? backlog : 128) < 0) {
		say("cannot listen on %s:%d in the container: %s", host, port, strerror(errno));
		close(sock);
		return -1;
	}
	if (strchr(flags, 'n'))
		fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);
	if (sock != fd_at) {
		move_away(fd_at);
		if (dup2(sock, fd_at) < 0) {
			say("cannot put the socket of %s:%d at fd %d: %s", host, port, fd_at,
			    strerror(errno));
			close(sock);
			return -1;
		}
		close(sock);
	} else {
		fcntl(fd_at, F_SETFD, 0);
	}
	return 0;
}

static pid_t start_main(const sigset_t *orig)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	/* the process: its own session (and the terminal, if there is one),
	 * default signals, its stdio, the pid variables */
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	sigprocmask(SIG_SETMASK, orig, NULL);
	setsid();
	for (int k = 0; k < 3; k++)
		if (stdio_fd[k] >= 0 && dup2(stdio_fd[k], k) < 0) {
			say("cannot set up fd %d: %s", k, strerror(errno));
			_exit(127);
		}
	if (isatty(0))
		ioctl(0, TIOCSCTTY, 0);
	char num[16];
	snprintf(num, sizeof(num), "%d", (int)getpid());
	for (int k = 0; k < n_pid_env; k++)
		setenv(pid_env[k], num, 1);
	execvp(prog[0], prog);
	int e = errno;
	if (e == ENOEXEC) {
		/* a script without "#!": run by /bin/sh, as glibc's execvp
		 * does (musl's, which lithos_init may be linked with, does
		 * not) */
		size_t n = 0;
		while (prog[n])
			n++;
		char **sh = calloc(n + 2, sizeof(*sh));
		if (sh) {
			sh[0] = "/bin/sh";
			for (size_t k = 0; k < n; k++)
				sh[k + 1] = prog[k];
			execv("/bin/sh", sh);
		}
		errno = e;
	}
	say("cannot run %s: %s", prog[0], strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

/* Everything else in the container.  Only as pid 1 of a pid namespace:
 * run by hand on the host, kill(-1) would reach every process the user
 * may signal. */
static void kill_rest(void)
{
	if (getpid() == 1)
		kill(-1, SIGKILL);
}

static bool is_stop(int sig)
{
	return sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGPWR;
}

int main(int argc, char **argv)
{
	if (parse_args(argc, argv) < 0) {
		fprintf(stderr, "Usage: lithos_init [--unescape] [--stdio IN,OUT,ERR] [--pid-env NAME]... [--listen FD,HOST,PORT,BACKLOG,FLAGS]... [--events-fd FD] [--restart-timeout SECS] -- PROGRAM [ARGS...]\n"
				"(pid 1 of lithos containers, started by lithos_cmd and lithos_knot through LXC)\n");
		return 2;
	}
	/* Not dumpable: /proc/1/fd (the events fifo, the stdio log) and
	 * /proc/1/mem are then closed to the process and whatever else runs
	 * with the same uid in the container (an exec makes the process
	 * dumpable again, as usual); a process with CAP_SYS_PTRACE in the
	 * container's user namespace (its root) still gets in. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* our own fds are not the process's */
	for (int k = 0; k < 3; k++)
		if (stdio_fd[k] > 2)
			fcntl(stdio_fd[k], F_SETFD, FD_CLOEXEC);
	if (events_fd >= 0)
		fcntl(events_fd, F_SETFD, FD_CLOEXEC);
	if (events_fd >= 0)
		fcntl(events_fd, F_SETFL, fcntl(events_fd, F_GETFL) | O_NONBLOCK);
	for (int i = 0; i < n_listen; i++)
		if (bind_listen(listen_spec[i]) < 0)
			return 125;
	/* a terminal (interactive commands): the process's session takes it */
	if (isatty(0) && tcgetsid(0) == getpid())
		ioctl(0, TIOCNOTTY);

	sigset_t all, orig;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &orig);
	signal(SIGPIPE, SIG_IGN);

	double started = now();
	pid_t main_pid = start_main(&orig);
	if (main_pid < 0) {
		say("cannot fork: %s", strerror(errno));
		return 127;
	}
	bool stopping = false;
	int last = 0;
	double restart_at = -1; /* >= 0: the main process is dead, restart then */
	for (;;) {
		siginfo_t si;
		int sig;
		if (restart_at >= 0) {
			double left = restart_at - now();
			if (left <= 0) {
				started = now();
				main_pid = start_main(&orig);
				if (main_pid < 0) {
					say("cannot fork: %s", strerror(errno));
					return 127;
				}
				restart_at = -1;
				event("start %d\n", (int)main_pid);
				continue;
			}
			struct timespec ts = { (time_t)left, (long)((left - (double)(time_t)left) * 1e9) };
			sig = sigtimedwait(&all, &si, &ts);
		} else {
			sig = sigwaitinfo(&all, &si);
		}
		if (sig < 0)
			continue;
		if (sig == SIGCHLD) {
			int status;
			pid_t p;
			while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
				if (p != main_pid || restart_at >= 0)
					continue; /* an orphan */
				last = exit_code(status);
				if (restart_timeout >= 0 && !stopping) {
					event("exit %d\n", last);
					double at = started + restart_timeout;
					restart_at = at > now() ? at : now();
					main_pid = 0;
					continue;
				}
				/* the container ends with its process */
				kill_rest();
				return last;
			}
			continue;
		}
		if (is_stop(sig)) {
			stopping = true;
			if (restart_at >= 0) {
				/* the process is down, waiting for its restart: done */
				kill_rest();
				return last;
			}
			if (sig == SIGPWR)
				sig = SIGTERM; /* lxc-stop's default halt signal */
		}
		if (main_pid > 0)
			kill(main_pid, sig);
	}
}
