/* lithos_mkdev: prepare devfs-dir.
 *
 * lithos-lxc gives every container LXC's minimal /dev (null, zero, full,
 * random, urandom, tty, a private devpts); devfs-dir only adds what the
 * host wants to share into every container's /dev: its `log` socket, so a
 * syslog daemon on the host can listen at devfs-dir/log (rsyslog:
 * input(type="imuxsock" Socket="/var/lib/lithos/dev/log")) and containers
 * log to /dev/log.  This command creates the directory and marks it as
 * prepared; containers then get devfs-dir/log bound at /dev/log when it
 * exists.  devfs-dir: /dev (the FAQ's "not recommended" alternative) needs
 * no preparing: containers get the host's /dev/log, when it exists. */
#include "config.h"
#include "host.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *master = "/etc/lithos/master.yaml";
	int c;
	while ((c = getopt_long(argc, argv, "C:h", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			master = optarg;
			break;
		case 'h':
			fputs("Usage: lithos_mkdev [-C MASTER]\n\n"
			      "Create the master config's devfs-dir and mark it prepared, so that its\n"
			      "`log` socket (for a host syslog daemon) is bound at /dev/log in every\n"
			      "container. /dev itself stays LXC's minimal per-container /dev.\n"
			      "\n"
			      "Options:\n"
			      "  -C, --config MASTER  master config (default /etc/lithos/master.yaml)\n"
			      "  -h, --help           show this help\n",
			      stdout);
			return 0;
		default:
			return 2;
		}
	}
	/* a master config given without -C would otherwise prepare the
	 * default master's devfs-dir */
	if (optind < argc) {
		fprintf(stderr, "lithos_mkdev: unexpected argument \"%s\"; expected only [-C MASTER]\n",
			argv[optind]);
		return 2;
	}
	struct master_config m;
	struct diags d = { 0 };
	if (master_config_parse(&m, master, &d) < 0) {
		diags_print(stderr, &d);
		return 1;
	}
	if (!strcmp(m.devfs_dir, "/dev")) {
		printf("devfs-dir is /dev: nothing to prepare; containers get the host's /dev/log\n");
		return 0;
	}
	if (mkdir_p(m.devfs_dir, 0755) < 0) {
		fprintf(stderr, "lithos_mkdev: cannot create %s: %s\n", m.devfs_dir, strerror(errno));
		return 1;
	}
	char *marker = xasprintf("%s/" LITHOS_DEVFS_MARKER, m.devfs_dir);
	int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		fprintf(stderr, "lithos_mkdev: cannot create %s: %s\n", marker, strerror(errno));
		return 1;
	}
	close(fd);
	printf("%s prepared; point a syslog socket at %s/log to receive containers' /dev/log\n",
	       m.devfs_dir, m.devfs_dir);
	free(marker);
	master_config_free(&m);
	return 0;
}
