/* counterd: the stateful test daemon of the CRIU tests (issue 6).
 *
 * Built by the tests with `gcc -static` (tests/lib/criutest.sh,
 * ct_build_counterd) and copied into the busybox test image; it needs
 * nothing else.  Its whole point is state that lives only in its memory,
 * so a checkpoint/restore or a migration that restarted it instead of
 * restoring it is visible:
 *
 *   - a random 64-bit "token" chosen at start (same token = same process
 *     image, not a fresh start);
 *   - "ticks": incremented once per interval (--interval MS, default 100)
 *     while the process runs; a frozen or dumped process does not tick;
 *   - "requests": incremented once per TCP connection served, so a client
 *     knows the exact value the next answer must carry;
 *   - optionally N MiB of memory (--mem MIB), every page written at start,
 *     and a window of it re-written on every tick (--dirty PAGES per tick,
 *     walking round-robin through the buffer) so pre-dumps have something
 *     to do; a checksum of the first word of every page is kept up to date
 *     and recomputed on every request ("memok=1" when the memory is intact).
 *
 * Every connection gets one line and is closed:
 *   counterd token=HEX ticks=N requests=N pid=N mem_mib=N dirtied=N memok=1|0 maxgap_ms=N
 * (requests counts this connection; dirtied: pages re-written since start;
 * maxgap_ms: the longest time, by the wall clock, between two consecutive
 * wake-ups of the main loop since the start: a process frozen for a dump and
 * thawed after its restore, here or on another host of the same machine,
 * sees the whole freeze there, so the benchmark reads the freeze time of a
 * migration from the daemon itself; at --interval MS it is accurate to MS).
 * The daemon never reads from a connection, unless --hold 1: then the
 * connection stays open (at most 16 at once; more are answered and closed)
 * and every newline the client sends gets one more status line (each one
 * counts as a request), until the client closes it; a client holding an
 * established TCP connection across a checkpoint/restore sees the same
 * connection answer.  SIGTERM/SIGINT: exits 0 after printing the state
 * on stdout.  The socket is either inherited (--fd N: a lithos tcp-port fd,
 * already listening) or bound here (--port P [--host ADDR], default
 * 0.0.0.0, with SO_REUSEADDR; or --unix PATH, a stream socket at PATH).
 * (criu 4.1.1 cannot dump any AF_INET socket on Linux >= 6.16:
 * SO_PASSCRED/SO_PASSSEC are refused there, criu issue #2718; criu >= 4.2
 * can, and scripts/install-criu.sh installs 4.2.)  --ready FILE: written (the first answer
 * line) once the daemon listens and its memory is allocated and written.
 *
 * Exit codes: 0 on SIGTERM/SIGINT, 2 usage, 1 runtime error. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL

static volatile sig_atomic_t stop;
static uint64_t token, ticks, requests, dirtied, sum, gen, maxgap, lastwake;
static unsigned char *mem;
static size_t npages, cursor, dirty_per_tick;
static unsigned long mem_mib;

#define MAXHOLD 16
static int held[MAXHOLD]; /* --hold: open connections, -1 = free */

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* the word page i holds after generation g wrote it */
static uint64_t word(size_t i, uint64_t g)
{
	uint64_t x = token ^ ((uint64_t)i * 0x9e3779b97f4a7c15ULL) ^ (g << 1);
	x ^= x >> 31;
	return x * 0xbf58476d1ce4e5b9ULL;
}

static void write_page(size_t i, uint64_t g)
{
	uint64_t *p = (uint64_t *)(mem + i * PAGE), old = p[0];
	uint64_t w = word(i, g);
	/* the whole page is written, not just one word: it must be dirty and
	 * hold non-zero data (zero pages are cheap for CRIU) */
	for (size_t k = 0; k < PAGE / sizeof(uint64_t); k += 8)
		p[k] = w + k;
	sum = sum - old + w;
}

static void tick(void)
{
	ticks++;
	if (!npages || !dirty_per_tick)
		return;
	gen++;
	for (size_t n = 0; n < dirty_per_tick; n++) {
		write_page(cursor, gen);
		cursor = (cursor + 1) % npages;
		dirtied++;
	}
}

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* called on every wake-up of the main loop */
static void woke(void)
{
	uint64_t w = wall_ms();
	if (lastwake && w > lastwake && w - lastwake > maxgap)
		maxgap = w - lastwake;
	lastwake = w;
}

static int mem_ok(void)
{
	uint64_t s = 0;
	for (size_t i = 0; i < npages; i++)
		s += ((uint64_t *)(mem + i * PAGE))[0];
	return s == sum;
}

static int status_line(char *buf, size_t len)
{
	return snprintf(buf, len,
			"counterd token=%016llx ticks=%llu requests=%llu pid=%d mem_mib=%lu dirtied=%llu memok=%d maxgap_ms=%llu\n",
			(unsigned long long)token, (unsigned long long)ticks,
			(unsigned long long)requests, (int)getpid(), mem_mib,
			(unsigned long long)dirtied, mem_ok(), (unsigned long long)maxgap);
}

static int usage(void)
{
	fprintf(stderr, "usage: counterd (--fd N | --port P [--host ADDR] | --unix PATH) [--interval MS] "
			"[--mem MIB] [--dirty PAGES-PER-TICK] [--hold 0|1] [--ready FILE]\n");
	return 2;
}

static int parse_ul(const char *s, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long fd_arg = (unsigned long)-1, port = 0, interval = 100, dirty = 0, hold = 0, v;
	const char *host = "0.0.0.0", *ready = NULL, *upath = NULL;
	int lfd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	setvbuf(stderr, NULL, _IONBF, 0);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!val)
			return usage();
		if (!strcmp(a, "--host")) {
			host = val;
		} else if (!strcmp(a, "--ready")) {
			ready = val;
		} else if (!strcmp(a, "--unix")) {
			upath = val;
		} else if (parse_ul(val, &v) < 0) {
			fprintf(stderr, "counterd: %s: not a number: %s\n", a, val);
			return usage();
		} else if (!strcmp(a, "--fd")) {
			fd_arg = v;
		} else if (!strcmp(a, "--port")) {
			port = v;
		} else if (!strcmp(a, "--interval")) {
			interval = v ? v : 1;
		} else if (!strcmp(a, "--mem")) {
			mem_mib = v;
		} else if (!strcmp(a, "--dirty")) {
			dirty = v;
		} else if (!strcmp(a, "--hold")) {
			hold = v;
		} else {
			return usage();
		}
		i++;
	}
	if ((fd_arg != (unsigned long)-1) + (port != 0) + (upath != NULL) != 1 || port > 65535)
		return usage();

	int r = open("/dev/urandom", O_RDONLY);
	if (r < 0 || read(r, &token, sizeof(token)) != (ssize_t)sizeof(token)) {
		/* no /dev/urandom in the container: time and pid will do */
		token = now_ms() * 1000003ULL ^ (uint64_t)getpid() << 40;
	}
	if (r >= 0)
		close(r);

	if (fd_arg != (unsigned long)-1) {
		lfd = (int)fd_arg;
		int type;
		socklen_t tl = sizeof(type);
		if (getsockopt(lfd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0) {
			fprintf(stderr, "counterd: fd %d is not a socket: %s\n", lfd, strerror(errno));
			return 1;
		}
	} else if (upath) {
		struct sockaddr_un su = { .sun_family = AF_UNIX };
		if (strlen(upath) >= sizeof(su.sun_path)) {
			fprintf(stderr, "counterd: --unix %s: path too long\n", upath);
			return 2;
		}
		strcpy(su.sun_path, upath);
		unlink(upath);
		lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&su, sizeof(su)) < 0 || listen(lfd, 64) < 0) {
			fprintf(stderr, "counterd: listen on %s: %s\n", upath, strerror(errno));
			return 1;
		}
		chmod(upath, 0666);
	} else {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		int one = 1;
		if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
			fprintf(stderr, "counterd: --host %s: not an IPv4 address\n", host);
			return 2;
		}
		lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 64) < 0) {
			fprintf(stderr, "counterd: listen on %s:%lu: %s\n", host, port, strerror(errno));
			return 1;
		}
	}
	fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK);

	if (mem_mib) {
		size_t len = (size_t)mem_mib << 20;
		mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED) {
			fprintf(stderr, "counterd: mmap %lu MiB: %s\n", mem_mib, strerror(errno));
			return 1;
		}
		npages = len / PAGE;
		for (size_t i = 0; i < npages; i++)
			write_page(i, 0);
		dirty_per_tick = dirty > npages ? npages : dirty;
	}

	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	char line[256];
	int n = status_line(line, sizeof(line));
	fputs(line, stdout);
	if (ready) {
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s.tmp", ready);
		FILE *f = fopen(tmp, "w");
		if (!f || fputs(line, f) < 0 || fclose(f) != 0 || rename(tmp, ready) < 0) {
			fprintf(stderr, "counterd: --ready %s: %s\n", ready, strerror(errno));
			return 1;
		}
	}

	for (int k = 0; k < MAXHOLD; k++)
		held[k] = -1;
	uint64_t next = now_ms() + interval;
	while (!stop) {
		woke();
		uint64_t t = now_ms();
		if (t >= next) {
			tick();
			/* no catch-up: time spent frozen or dumped is not counted */
			next = now_ms() + interval;
			continue;
		}
		struct pollfd p[1 + MAXHOLD] = { { lfd, POLLIN, 0 } };
		for (int k = 0; k < MAXHOLD; k++)
			p[1 + k] = (struct pollfd){ held[k], POLLIN, 0 }; /* fd -1: ignored */
		int pr = poll(p, 1 + MAXHOLD, (int)(next - t));
		if (pr < 0 && errno != EINTR) {
			fprintf(stderr, "counterd: poll: %s\n", strerror(errno));
			return 1;
		}
		if (pr <= 0)
			continue;
		for (int k = 0; k < MAXHOLD; k++) {
			char in[512];
			ssize_t got;
			if (held[k] < 0 || !p[1 + k].revents)
				continue;
			got = read(held[k], in, sizeof(in));
			if (got < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (got <= 0) { /* closed by the client (or reset) */
				close(held[k]);
				held[k] = -1;
				continue;
			}
			for (ssize_t b = 0; b < got; b++) {
				if (in[b] != '\n')
					continue;
				requests++;
				n = status_line(line, sizeof(line));
				if (write(held[k], line, (size_t)n) < 0)
					fprintf(stderr, "counterd: write: %s\n", strerror(errno));
			}
		}
		if (!(p[0].revents & POLLIN))
			continue;
		for (;;) {
			int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (c < 0) {
				if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
				    errno != ECONNABORTED)
					fprintf(stderr, "counterd: accept: %s\n", strerror(errno));
				break;
			}
			requests++;
			n = status_line(line, sizeof(line));
			if (write(c, line, (size_t)n) < 0)
				fprintf(stderr, "counterd: write: %s\n", strerror(errno));
			int k = 0;
			while (hold && k < MAXHOLD && held[k] >= 0)
				k++;
			if (hold && k < MAXHOLD)
				held[k] = c;
			else
				close(c);
		}
	}
	status_line(line, sizeof(line));
	fputs(line, stdout);
	return 0;
}
