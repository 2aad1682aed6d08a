/* lithos_crypt: encrypt secrets for lithos (v2 format), check which key a
 * value is for, and decrypt for debugging with the private key. */
#include "secrets.h"
#include "util.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define PROG "lithos_crypt"

enum { EXIT_FAIL = 1, EXIT_USAGE = 2 };

static const char usage_main[] =
	"Usage: " PROG " COMMAND [OPTIONS]\n"
	"Encrypt secrets for lithos (secret-environ values, format v2).\n"
	"\n"
	"Commands:\n"
	"  encrypt    encrypt a secret with a public key\n"
	"  decrypt    decrypt a value with a private key (for debugging)\n"
	"  check-key  check that a value was encrypted for a public key\n"
	"\n"
	"Run '" PROG " COMMAND --help' for the options of a command.\n";

static const char usage_encrypt[] =
	"Usage: " PROG " encrypt -k KEY.pub [-n NAMESPACE] -d DATA\n"
	"Encrypt DATA and print the v2:... value for secret-environ.\n"
	"\n"
	"  -k, --key KEY.pub        OpenSSH ed25519 public key (alias --key-file)\n"
	"  -n, --namespace NS       secrets namespace, matching ^[a-zA-Z0-9_.-]*$\n"
	"                           (default: the empty namespace)\n"
	"  -d, --data DATA          the secret (UTF-8, no NUL)\n"
	"  -h, --help               show this help\n";

static const char usage_decrypt[] =
	"Usage: " PROG " decrypt -i PRIVATE_KEY -d VALUE\n"
	"Decrypt VALUE with any key of PRIVATE_KEY: writes \"NAMESPACE:\" to stderr\n"
	"and the secret to stdout (without a newline).\n"
	"\n"
	"  -i, --private-key FILE   OpenSSH ed25519 private key file, unencrypted;\n"
	"                           may hold several keys (alias --key-file)\n"
	"  -d, --data VALUE         the v2:... value\n"
	"  -h, --help               show this help\n";

static const char usage_check_key[] =
	"Usage: " PROG " check-key -k KEY.pub -d VALUE\n"
	"Exit 0 if VALUE was encrypted for KEY.pub, 1 if not.\n"
	"\n"
	"  -k, --key KEY.pub        OpenSSH ed25519 public key (alias --key-file)\n"
	"  -d, --data VALUE         the v2:... value\n"
	"  -h, --help               show this help\n";

struct cmd_opts {
	const char *key;
	const char *private_key;
	const char *ns;
	const char *data;
};

static int error(const char *cmd, const char *msg)
{
	fprintf(stderr, PROG " %s: %s\n", cmd, msg);
	return EXIT_FAIL;
}

static int usage_error(const char *cmd, const char *msg, const char *arg)
{
	fprintf(stderr, PROG " %s: %s%s%s (see '" PROG " %s --help')\n",
		cmd, msg, arg ? " " : "", arg ? arg : "", cmd);
	return EXIT_USAGE;
}

/* Names an unknown option without the value glued to it (it may be secret). */
static int unknown_option(const char *cmd, const char *arg)
{
	if (optopt) {
		char opt[3] = {'-', (char)optopt, 0};
		return usage_error(cmd, "unknown option", opt);
	}
	_cleanup_free_ char *name = xstrndup(arg, strcspn(arg, "="));
	return usage_error(cmd, "unknown option", name);
}

/* Parses the options of one command.  Returns -1 to go on, or an exit code. */
static int parse_opts(const char *cmd, const char *shortopts, const struct option *longopts,
		      const char *usage, int argc, char **argv, struct cmd_opts *o)
{
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case 'k': o->key = optarg; break;
		case 'i': o->private_key = optarg; break;
		case 'n': o->ns = optarg; break;
		case 'd': o->data = optarg; break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			return usage_error(cmd, "option needs an argument:", argv[optind - 1]);
		default:
			return unknown_option(cmd, argv[optind - 1]);
		}
	}
	/* Not printed: an unquoted secret with a space would end up here. */
	if (optind < argc)
		return usage_error(cmd, "unexpected extra argument (quote values with spaces)", NULL);
	return -1;
}

static int cmd_encrypt(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"key", required_argument, NULL, 'k'},
		{"key-file", required_argument, NULL, 'k'},
		{"namespace", required_argument, NULL, 'n'},
		{"data", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct cmd_opts o = {.ns = ""};
	int rc = parse_opts("encrypt", ":k:n:d:h", longopts, usage_encrypt, argc, argv, &o);
	if (rc >= 0)
		return rc;
	if (!o.key)
		return usage_error("encrypt", "missing -k KEY.pub", NULL);
	if (!o.data)
		return usage_error("encrypt", "missing -d DATA", NULL);
	if (!secrets_namespace_valid(o.ns))
		return error("encrypt", "invalid namespace: it must match ^[a-zA-Z0-9_.-]*$");

	struct secrets_pubkey key;
	_cleanup_free_ char *err = NULL;
	_cleanup_free_ char *value = NULL;
	if (secrets_load_public_key(o.key, &key, &err) < 0 ||
	    secrets_encrypt(&key, o.ns, o.data, strlen(o.data), &value, &err) < 0)
		return error("encrypt", err);
	if (printf("%s\n", value) < 0 || fflush(stdout) != 0)
		return error("encrypt", "cannot write to stdout");
	return 0;
}

static int cmd_decrypt(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"private-key", required_argument, NULL, 'i'},
		{"key-file", required_argument, NULL, 'i'},
		{"data", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct cmd_opts o = {0};
	int rc = parse_opts("decrypt", ":i:d:h", longopts, usage_decrypt, argc, argv, &o);
	if (rc >= 0)
		return rc;
	if (!o.private_key)
		return usage_error("decrypt", "missing -i PRIVATE_KEY", NULL);
	if (!o.data)
		return usage_error("decrypt", "missing -d VALUE", NULL);

	struct secrets_keyset ks = {0};
	_cleanup_free_ char *err = NULL;
	_cleanup_free_ char *ns = NULL;
	char *secret = NULL;
	if (secrets_load_private_keys(o.private_key, 0, &ks, &err) < 0)
		return error("decrypt", err);
	rc = secrets_decrypt(&ks, NULL, 0, o.data, &ns, &secret, &err);
	secrets_keyset_free(&ks);
	if (rc < 0)
		return error("decrypt", err);
	/* As lithos does: "NAMESPACE:" on stderr, the bare secret on stdout. */
	fprintf(stderr, "%s:", ns);
	fflush(stderr);
	bool written = fputs(secret, stdout) >= 0 && fflush(stdout) == 0;
	secrets_free_secret(secret);
	fputs("\n", stderr);
	if (!written)
		return error("decrypt", "cannot write to stdout");
	return 0;
}

static int cmd_check_key(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"key", required_argument, NULL, 'k'},
		{"key-file", required_argument, NULL, 'k'},
		{"data", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct cmd_opts o = {0};
	int rc = parse_opts("check-key", ":k:d:h", longopts, usage_check_key, argc, argv, &o);
	if (rc >= 0)
		return rc;
	if (!o.key)
		return usage_error("check-key", "missing -k KEY.pub", NULL);
	if (!o.data)
		return usage_error("check-key", "missing -d VALUE", NULL);

	struct secrets_pubkey key;
	_cleanup_free_ char *err = NULL;
	if (secrets_load_public_key(o.key, &key, &err) < 0 ||
	    secrets_check_key(&key, o.data, &err) < 0)
		return error("check-key", err);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(PROG ": missing command: encrypt, decrypt or check-key "
		      "(see '" PROG " --help')\n", stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage_main, stdout);
		return 0;
	}
	if (strcmp(cmd, "encrypt") == 0)
		return cmd_encrypt(argc - 1, argv + 1);
	if (strcmp(cmd, "decrypt") == 0)
		return cmd_decrypt(argc - 1, argv + 1);
	if (strcmp(cmd, "check-key") == 0)
		return cmd_check_key(argc - 1, argv + 1);
	fprintf(stderr, PROG ": unknown command \"%s\": expected encrypt, decrypt or "
		"check-key (see '" PROG " --help')\n", cmd);
	return EXIT_USAGE;
}
