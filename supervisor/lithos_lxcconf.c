/* lithos_lxcconf: print the lxc.conf compiled for one instance, so users
 * can read exactly what will run; with --standalone, the config of a
 * container lxc-start runs with no lithos around (templates/lxc-lithos). */
#include "cmdload.h"
#include "host.h"
#include "instance.h"
#include "lxcrun.h"
#include "util.h"

#include <getopt.h>
#include <string.h>

/* What LXC and the paths built from it (state dir, log, cgroup) take. */
static bool valid_container_name(const char *s)
{
	if (!*s || *s == '.' || strlen(s) > 200)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
			return false;
	return true;
}

static void usage(FILE *out)
{
	fputs("Usage: lithos_lxcconf [--master FILE] [--cgroup-version 1|2]\n"
	      "                      [--standalone [--container-name CT] [--lxc-path DIR]]\n"
	      "                      SANDBOX NAME [INDEX]\n"
	      "\n"
	      "Print the lxc.conf that lithos compiles for instance INDEX (default 0)\n"
	      "of process NAME in SANDBOX. For a Command entry the instance is the one\n"
	      "lithos_cmd would run (its name includes this command's pid).\n"
	      "\n"
	      "Options:\n"
	      "  --master FILE          master config (default /etc/lithos/master.yaml)\n"
	      "  --cgroup-version 1|2   emit cgroup v1 or v2 keys instead of the host's\n"
	      "  --standalone           a config lxc-start runs with no lithos around\n"
	      "                         (lxc.init.cmd, pre-start/post-stop/destroy hooks,\n"
	      "                         console logged); what the lxc-create template writes\n"
	      "  --container-name CT    standalone: the LXC container's name, without '.'\n"
	      "                         (lithos's own are SANDBOX.NAME.INDEX; default\n"
	      "                         SANDBOX-NAME-INDEX)\n"
	      "  --lxc-path DIR         standalone: the LXC path the container is in\n"
	      "                         (default the master's lxc-path or LXC's)\n"
	      "  -h, --help             show this help\n",
	      out);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "master", required_argument, NULL, 'm' },
		{ "cgroup-version", required_argument, NULL, 'g' },
		{ "standalone", no_argument, NULL, 's' },
		{ "container-name", required_argument, NULL, 'n' },
		{ "lxc-path", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *master = NULL, *ct_name = NULL, *lxc_path = NULL;
	bool standalone = false;
	int cgv = 0, c;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			master = optarg;
			break;
		case 'g':
			cgv = atoi(optarg);
			if (cgv != 1 && cgv != 2) {
				fprintf(stderr, "lithos_lxcconf: --cgroup-version must be 1 or 2\n");
				return 2;
			}
			break;
		case 's':
			standalone = true;
			break;
		case 'n':
			ct_name = optarg;
			break;
		case 'p':
			lxc_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind < 2 || argc - optind > 3) {
		usage(stderr);
		return 2;
	}
	if ((ct_name || lxc_path) && !standalone) {
		fprintf(stderr, "lithos_lxcconf: --container-name and --lxc-path go with --standalone\n");
		return 2;
	}
	if (ct_name && !valid_container_name(ct_name)) {
		fprintf(stderr, "lithos_lxcconf: container name \"%s\" is not valid; expected letters, digits, '.', '_' and '-', not starting with '.'\n",
			ct_name);
		return 2;
	}
	if (lxc_path && (lxc_path[0] != '/' || strpbrk(lxc_path, "\n\r"))) {
		fprintf(stderr, "lithos_lxcconf: --lxc-path %s is not an absolute path\n", lxc_path);
		return 2;
	}
	struct diags d = { 0 };
	struct entry_load el;
	if (entry_load(&el, master, argv[optind], argv[optind + 1], &d) < 0) {
		diags_print(stderr, &d);
		return 1;
	}
	unsigned long index = 0;
	if (argc - optind == 3) {
		char *end;
		index = strtoul(argv[optind + 2], &end, 10);
		if (*end || index >= el.entry->instances) {
			fprintf(stderr, "lithos_lxcconf: instance %s does not exist; expected 0 to %u\n",
				argv[optind + 2], el.entry->instances - 1);
			return 2;
		}
	}
	struct instance in;
	long cmd_pid = el.entry->kind == KIND_COMMAND ? (long)getpid() : 0;
	if (instance_build(&in, &el.sandbox, el.entry, &el.cc, el.image_root, (uint32_t)index,
			   cmd_pid, NULL, 0, &d) < 0) {
		diags_print(stderr, &d);
		return 1;
	}
	struct host_info h;
	char *err = NULL;
	if (host_info_load(&h, &el.master, &err) < 0) {
		fprintf(stderr, "lithos_lxcconf: %s\n", err);
		return 1;
	}
	if (lxc_path) {
		free(h.lxc_path);
		h.lxc_path = xstrdup(lxc_path);
	}
	if (standalone) {
		/* lithos's own containers are SANDBOX.PROC.N and SANDBOX.cmd.PROC.PID:
		 * a standalone container of such a name would share the state dir,
		 * cgroup and veth of the instance lithos runs under it */
		char *def = NULL;
		if (!ct_name) {
			def = xstrdup(in.lxc_name);
			for (char *p = def; *p; p++)
				if (*p == '.')
					*p = '-';
		}
		const char *name = ct_name ? ct_name : def;
		if (strchr(name, '.')) {
			fprintf(stderr, "lithos_lxcconf: container name \"%s\": a standalone container's name must not contain '.': lithos names its own containers SANDBOX.PROCESS.N (here %s), and one of the same name would share their state dir, cgroup and veth\n",
				name, in.lxc_name);
			free(def);
			return 2;
		}
		free(in.lxc_name);
		in.lxc_name = xstrdup(name);
		free(def);
	}
	if (cgv && (enum cgroup_version)cgv != h.cgroup) {
		/* the other version's device policy */
		h.cgroup = cgv == 2 ? CGROUP_V2 : CGROUP_V1;
		h.memsw = false;
		char *dev = xasprintf("%s/devices-v%d.conf", h.templates_dir, cgv);
		free(h.devices_template);
		h.devices_template = read_file_limited(dev, 1 << 20, NULL);
		free(dev);
	}
	struct buf conf = { 0 };
	int rc = 0;
	int crc = standalone ? compile_instance_standalone(&el.master, &h, &in, &conf, &d)
			     : compile_instance(&el.master, &h, &in,
						cmd_pid ? getenv("TERM") : NULL, NULL, &conf, &d);
	if (crc < 0) {
		diags_print(stderr, &d);
		rc = 1;
	} else {
		fwrite(conf.p, 1, conf.len, stdout);
	}
	buf_free(&conf);
	host_info_free(&h);
	instance_free(&in);
	entry_load_free(&el);
	diags_free(&d);
	return rc;
}
