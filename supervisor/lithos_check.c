/* lithos_check: validate the lithos configs; exit 0 only if all are valid.
 *
 * Every problem is printed as one line FILE:LINE:COLUMN: what is wrong and
 * what was expected; all problems are reported, not only the first. */
#include "config.h"
#include "setup.h"
#include "util.h"
#include "validate.h"

#include <getopt.h>
#include <string.h>

static void usage(FILE *out)
{
	fputs("Usage: lithos_check [-C MASTER] [--sandbox NAME [--alternate-config PROCESSES]]\n"
	      "                    [--check-container FILE...] [-v]\n"
	      "\n"
	      "Validate lithos configs: the master config, every sandbox config, every\n"
	      "processes config and every container config a process entry points at.\n"
	      "Each problem is printed as FILE:LINE:COLUMN: message. Exit status is 0\n"
	      "only when everything is valid.\n"
	      "\n"
	      "Options:\n"
	      "  -C, --config MASTER       master config (default /etc/lithos/master.yaml)\n"
	      "  --sandbox NAME            check only this sandbox\n"
	      "  --alternate-config PROCESSES\n"
	      "                            with --sandbox: check PROCESSES as that sandbox's\n"
	      "                            processes config instead of the installed one\n"
	      "  --check-container FILE... check container configs alone (no lithos\n"
	      "                            installation needed), variables included\n"
	      "  -v, --verbose             print what was checked (on stderr)\n"
	      "  -h, --help                show this help\n",
	      out);
}

static int check_containers(char **files, int n, bool verbose)
{
	struct diags d = { 0 };
	for (int i = 0; i < n; i++) {
		struct container_config cc;
		if (container_config_parse(&cc, files[i], &d) == 0)
			validate_container(NULL, NULL, NULL, &cc, &d);
		if (verbose)
			fprintf(stderr, "checked %s\n", files[i]);
		container_config_free(&cc);
	}
	diags_print(stdout, &d);
	int bad = diags_count(&d) > 0;
	if (verbose)
		fprintf(stderr, "%d container config%s checked, %zu problem%s\n", n, n == 1 ? "" : "s",
			diags_count(&d), diags_count(&d) == 1 ? "" : "s");
	diags_free(&d);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	enum { OPT_SANDBOX = 256, OPT_ALT, OPT_CHECK_CONTAINER };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'C' },
		{ "sandbox", required_argument, NULL, OPT_SANDBOX },
		{ "alternate-config", required_argument, NULL, OPT_ALT },
		{ "check-container", no_argument, NULL, OPT_CHECK_CONTAINER },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct setup_options so = { 0 };
	bool verbose = false, containers = false;
	int c;
	while ((c = getopt_long(argc, argv, "+C:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			so.master_path = optarg;
			break;
		case OPT_SANDBOX:
			so.only_sandbox = optarg;
			break;
		case OPT_ALT:
			so.alternate_processes = optarg;
			break;
		case OPT_CHECK_CONTAINER:
			containers = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (containers) {
		if (optind >= argc) {
			fputs("lithos_check: --check-container needs at least one FILE\n", stderr);
			return 2;
		}
		return check_containers(argv + optind, argc - optind, verbose);
	}
	if (optind < argc) {
		fprintf(stderr, "lithos_check: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (so.alternate_processes && !so.only_sandbox) {
		fputs("lithos_check: --alternate-config needs --sandbox NAME\n", stderr);
		return 2;
	}

	struct diags d = { 0 };
	struct lithos_setup st;
	setup_load(&st, &so, &d);
	diags_print(stdout, &d);
	if (verbose) {
		size_t entries = 0;
		for (size_t i = 0; i < st.n_sandboxes; i++)
			entries += st.sandboxes[i].n_entries;
		fprintf(stderr, "checked %s: %zu sandbox%s, %zu process entr%s, %zu problem%s\n",
			so.master_path ? so.master_path : "/etc/lithos/master.yaml",
			st.n_sandboxes, st.n_sandboxes == 1 ? "" : "es", entries,
			entries == 1 ? "y" : "ies", diags_count(&d), diags_count(&d) == 1 ? "" : "s");
	}
	int rc = diags_count(&d) ? 1 : 0;
	diags_free(&d);
	setup_free(&st);
	return rc;
}
