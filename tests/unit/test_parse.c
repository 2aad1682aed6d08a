/* Unit tests of the four config parsers: every key of every config with its
 * default, a valid value and the exact text of an invalid value's error;
 * number forms, units, bools, dash/underscore spellings, unknown and
 * duplicate keys, merge keys, anchors, tags, ranges, id maps, nulls, the
 * master's relative paths, and the examples of the lithos 0.18 reference.
 *
 * Error checks compare the whole list of problems, one per line, exactly as
 * lithos_check prints them.
 */
#include "config.h"
#include "decode.h"
#include "../tap.h"
#include "util.h"
#include "validate.h"

#include <arpa/inet.h>
#include <math.h>
#include <string.h>
#include <sys/socket.h>

static struct diags D;

/* All collected problems, one per line; clears them. */
static char *take_diags(void)
{
	struct buf b = { 0 };
	for (size_t i = 0; i < D.n; i++) {
		char *s = diag_format(&D.v[i]);
		buf_printf(&b, "%s%s", i ? "\n" : "", s);
		free(s);
	}
	if (D.dropped)
		buf_printf(&b, "\n(%zu more)", D.dropped);
	diags_free(&D);
	return b.p ? b.p : xstrdup("");
}

static struct container_config C;
static struct sandbox_config S;
static struct processes_config P;
static struct master_config M;

#define CPRE "executable: /bin/x\n"
#define SPRE "image-dir: /images\n"
#define MASTER "/etc/lithos/master.yaml"

/* Parse one config of the given kind into C, S, P or M.
 *   c: container config, "executable: /bin/x" prepended (c.yaml)
 *   C: container config as is
 *   s: sandbox config, "image-dir: /images" prepended (s.yaml, sandbox sb)
 *   S: sandbox config as is
 *   p: processes config (p.yaml)
 *   m: master config (/etc/lithos/master.yaml)
 * Returns the problems (caller frees; "" when valid). */
static char *run(char kind, const char *body)
{
	char *y = NULL;
	switch (kind) {
	case 'c':
		y = xasprintf(CPRE "%s", body);
		/* fallthrough */
	case 'C':
		container_config_free(&C);
		container_config_parse_buffer(&C, "c.yaml", y ? y : body, strlen(y ? y : body), &D);
		break;
	case 's':
		y = xasprintf(SPRE "%s", body);
		/* fallthrough */
	case 'S':
		sandbox_config_free(&S);
		sandbox_config_parse_buffer(&S, "sb", "s.yaml", y ? y : body, strlen(y ? y : body), &D);
		break;
	case 'p':
		processes_config_free(&P);
		processes_config_parse_buffer(&P, "p.yaml", body, strlen(body), &D);
		break;
	case 'm':
		master_config_free(&M);
		master_config_parse_buffer(&M, MASTER, body, strlen(body), &D);
		break;
	default:
		abort();
	}
	free(y);
	return take_diags();
}

/* The config must produce exactly these problems ("" = valid). */
#define ERR(kind, body, want) do { \
	char *_got = run(kind, body); \
	is_str(_got, want, "%c: %s", kind, body); \
	free(_got); \
} while (0)

/* The config must be valid; the struct is then checked by the caller. */
#define VALID(kind, body) ERR(kind, body, "")

/* A table of configs and the problems each must produce: ERR for each. */
struct err_case {
	char kind;
	const char *body, *want;
};
#define ERRS(cases) do { \
	for (size_t _i = 0; _i < ARRAY_SIZE(cases); _i++) \
		ERR((cases)[_i].kind, (cases)[_i].body, (cases)[_i].want); \
} while (0)

/* ------------------------------------------------------------------ */

static void test_numbers(void)
{
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {
		{ "0", 0 },
		{ "7", 7 },
		{ "+7", 7 },
		{ "0x10", 16 },
		{ "0X1f", 31 },
		{ "0xFF", 255 },
		{ "0o17", 15 },
		{ "0O17", 15 },
		{ "0b101", 5 },
		{ "0B11", 3 },
		{ "0755", 0755 },           /* YAML 1.1 octal, as in mode: 0755 */
		{ "00700", 0700 },
		{ "1_000", 1000 },
		{ "1_000_000", 1000000 },
		{ "0x_ff", 0 },             /* not a number: see bad[] */
		{ "0xff_ff", 0xffff },
		{ "0b1111_0000", 0xf0 },
		{ "1k", 1000 },
		{ "1K", 1000 },
		{ "1ki", 1024 },
		{ "1Ki", 1024 },
		{ "2M", 2000000 },
		{ "2m", 2000000 },
		{ "2Mi", 2ULL << 20 },
		{ "3G", 3000000000ULL },
		{ "3g", 3000000000ULL },
		{ "3Gi", 3ULL << 30 },
		{ "1T", 1000000000000ULL },
		{ "1Ti", 1ULL << 40 },
		{ "1P", 1000000000000000ULL },
		{ "1Pi", 1ULL << 50 },
		{ "1E", 1000000000000000000ULL },
		{ "1Ei", 1ULL << 60 },
		{ "100 Mi", 100ULL << 20 },  /* with a space */
		{ "1 k", 1000 },
		{ "1 ki", 1024 },
		{ "0x10k", 16000 },
		{ "1_0Mi", 10ULL << 20 },
		{ "18446744073709551615", UINT64_MAX },
		{ "0xffffffffffffffff", UINT64_MAX },
		{ "15Ei", 15ULL << 60 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		uint64_t v = 12345;
		const char *err = parse_uint(good[i].s, UINT64_MAX, &v);
		if (!strcmp(good[i].s, "0x_ff")) {
			is_str(err, "not a number", "parse_uint(\"0x_ff\"): a separator needs a digit before it");
			continue;
		}
		is_str(err, NULL, "parse_uint(\"%s\") parses", good[i].s);
		is_int(v, good[i].v, "parse_uint(\"%s\") == %llu", good[i].s,
		       (unsigned long long)good[i].v);
	}

	static const struct {
		const char *s;
		uint64_t max;
		const char *err;
	} bad[] = {
		{ "", UINT64_MAX, "not a number" },
		{ "abc", UINT64_MAX, "not a number" },
		{ "k", UINT64_MAX, "not a number" },
		{ "0x", UINT64_MAX, "not a number" },
		{ "0xg", UINT64_MAX, "not a number" },
		{ "_1", UINT64_MAX, "not a number" },
		{ " 1", UINT64_MAX, "not a number" },
		{ "-1", UINT64_MAX, "negative numbers are not allowed" },
		{ "08", UINT64_MAX, "digit out of range for an octal number" },
		{ "0o8", UINT64_MAX, "digit out of range for an octal number" },
		{ "0b2", UINT64_MAX, "digit out of range for a binary number" },
		{ "1.5", UINT64_MAX, "unknown unit; expected k, ki, M, Mi, G, Gi, T, Ti, P, Pi, E or Ei" },
		{ "1Q", UINT64_MAX, "unknown unit; expected k, ki, M, Mi, G, Gi, T, Ti, P, Pi, E or Ei" },
		{ "1kk", UINT64_MAX, "unknown unit; expected k, ki, M, Mi, G, Gi, T, Ti, P, Pi, E or Ei" },
		{ "1KI", UINT64_MAX, "unknown unit; expected k, ki, M, Mi, G, Gi, T, Ti, P, Pi, E or Ei" },
		{ "1  k", UINT64_MAX, "unknown unit; expected k, ki, M, Mi, G, Gi, T, Ti, P, Pi, E or Ei" },
		{ "1 k ", UINT64_MAX, "unknown unit; expected k, ki, M, Mi, G, Gi, T, Ti, P, Pi, E or Ei" },
		{ "18446744073709551616", UINT64_MAX, "number too large" },
		{ "0x10000000000000000", UINT64_MAX, "number too large" },
		{ "16Ei", UINT64_MAX, "number too large" },
		{ "19E", UINT64_MAX, "number too large" },
		{ "99999999999999999999999999", UINT64_MAX, "number too large" },
		{ "256", 255, "number too large" },
		{ "1ki", 1023, "number too large" },
		{ "4294967296", UINT32_MAX, "number too large" },
		{ "4Gi", UINT32_MAX, "number too large" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		uint64_t v = 777;
		const char *err = parse_uint(bad[i].s, bad[i].max, &v);
		is_str(err, bad[i].err, "parse_uint(\"%s\", max %llu) fails", bad[i].s,
		       (unsigned long long)bad[i].max);
		is_int(v, 777, "parse_uint(\"%s\") leaves the output alone", bad[i].s);
	}
	uint64_t v;
	ok(parse_uint("4294967295", UINT32_MAX, &v) == NULL && v == UINT32_MAX,
	   "parse_uint: the maximum itself is allowed");

	/* the same forms through a key */
	VALID('c', "memory-limit: 1_000_000\ncpu-shares: 0x200\nfileno-limit: 0o2000\n");
	is_int(C.memory_limit, 1000000, "memory-limit 1_000_000");
	is_int(C.cpu_shares, 512, "cpu-shares 0x200");
	is_int(C.fileno_limit, 1024, "fileno-limit 0o2000");
	VALID('c', "memory-limit: 1 Gi\nfileno-limit: 0b1000000000000\n");
	is_int(C.memory_limit, 1ULL << 30, "memory-limit '1 Gi' (space before the unit)");
	is_int(C.fileno_limit, 4096, "fileno-limit 0b1000000000000");
	VALID('c', "memory-limit: 100Mi\nfileno-limit: 1k\n");
	is_int(C.memory_limit, 100ULL << 20, "memory-limit 100Mi");
	is_int(C.fileno_limit, 1000, "fileno-limit 1k");
	VALID('c', "memory-limit: 5G\n");
	is_int(C.memory_limit, 5000000000ULL, "memory-limit 5G");
	VALID('c', "memory-limit: 512ki\n");
	is_int(C.memory_limit, 512 * 1024, "memory-limit 512ki");
	/* a quoted number is a number too (YAML type is not what decides) */
	VALID('c', "memory-limit: \"8Mi\"\n");
	is_int(C.memory_limit, 8ULL << 20, "memory-limit \"8Mi\" quoted");

	static const struct err_case errs[] = {
		{ 'c', "memory-limit: 99999999999999999999\n", "c.yaml:2:15: memory-limit: \"99999999999999999999\" is too large; expected a number up to 9223372036854775807" },
		{ 'c', "memory-limit: 8Ei\n", "c.yaml:2:15: memory-limit: \"8Ei\" is too large; expected a number up to 9223372036854775807" },
		{ 'c', "memory-limit: 1Q\n", "c.yaml:2:15: memory-limit: \"1Q\": unknown unit; expected k, ki, M, Mi, G, Gi, T, Ti, P, Pi, E or Ei; expected a non-negative integer (0x, 0o, 0b prefixes and k, Mi, Gi style units allowed)" },
		{ 'c', "memory-limit: 0x\n", "c.yaml:2:15: memory-limit: \"0x\": not a number; expected a non-negative integer (0x, 0o, 0b prefixes and k, Mi, Gi style units allowed)" },
		{ 'c', "memory-limit: 0b102\n", "c.yaml:2:15: memory-limit: \"0b102\": digit out of range for a binary number; expected a non-negative integer (0x, 0o, 0b prefixes and k, Mi, Gi style units allowed)" },
		{ 'c', "volumes:\n  /tmp: !Tmpfs {mode: 0789}\n", "c.yaml:3:23: volume: mode: \"0789\": digit out of range for an octal number; expected a non-negative integer (0x, 0o, 0b prefixes and k, Mi, Gi style units allowed)" },
		{ 'c', "user-id: -1\n", "c.yaml:2:10: user-id: \"-1\": negative numbers are not allowed; expected a non-negative integer (0x, 0o, 0b prefixes and k, Mi, Gi style units allowed)" },
		{ 'c', "user-id: [1]\n", "c.yaml:2:10: user-id: expected a number, got a list" },
		{ 'c', "user-id: !foo 1\n", "c.yaml:2:10: user-id: unexpected tag !foo; expected a plain value" },
		{ 'c', "user-id:\n", "c.yaml:2:9: user-id: \"\": not a number; expected a non-negative integer (0x, 0o, 0b prefixes and k, Mi, Gi style units allowed)" },
	};
	ERRS(errs);
}

static void test_bools(void)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF" };
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		char *y = xasprintf("interactive: %s\nrestart-process-only: %s\n", yes[i], no[i]);
		VALID('c', y);
		ok(C.interactive && !C.restart_process_only, "bool %s / %s", yes[i], no[i]);
		free(y);
	}
	static const struct err_case errs[] = {
		{ 'c', "interactive: 1\n", "c.yaml:2:14: interactive: \"1\" is not a boolean; expected true or false" },
		{ 'c', "interactive: y\n", "c.yaml:2:14: interactive: \"y\" is not a boolean; expected true or false" },
		{ 'c', "interactive: tru\n", "c.yaml:2:14: interactive: \"tru\" is not a boolean; expected true or false" },
		{ 'c', "interactive: [true]\n", "c.yaml:2:14: interactive: expected true or false, got a list" },
		{ 'c', "interactive: ~\n", "c.yaml:2:14: interactive: \"~\" is not a boolean; expected true or false" },
	};
	ERRS(errs);
	/* tristates: null is "auto" */
	VALID('c', "resolv-conf: {mount: ~}\nhosts-file: {mount: true, localhost: false, public-hostname: null}\n");
	is_int(C.resolv_conf.mount, TRI_AUTO, "resolv-conf mount: ~ is auto");
	is_int(C.hosts_file.mount, TRI_TRUE, "hosts-file mount: true");
	is_int(C.hosts_file.localhost, TRI_FALSE, "hosts-file localhost: false");
	is_int(C.hosts_file.public_hostname, TRI_AUTO, "hosts-file public-hostname: null is auto");
	VALID('c', "hosts-file: {mount: nil, localhost: NULL}\n");
	ok(C.hosts_file.mount == TRI_AUTO && C.hosts_file.localhost == TRI_AUTO, "tristate: nil and NULL are auto");
	ERR('c', "hosts-file: {mount: \"nil\"}\n", "c.yaml:2:21: hosts-file: mount: \"nil\" is not a boolean; expected true, false or null (auto)");
	ERR('c', "interactive: nil\n", "c.yaml:2:14: interactive: \"nil\" is not a boolean; expected true or false");
}

/* ------------------------------------------------------------------ */

static void test_container_defaults(void)
{
	VALID('C', "executable: /bin/x\n");
	is_int(C.kind, KIND_DAEMON, "default kind Daemon");
	ok(!C.has_user_id && !C.has_group_id, "no default user-id/group-id");
	ok(!C.has_memory_limit, "no default memory-limit");
	is_int(C.cpu_shares, 1024, "default cpu-shares 1024");
	is_int(C.fileno_limit, 1024, "default fileno-limit 1024");
	ok(C.restart_timeout == 1.0, "default restart-timeout 1");
	ok(C.kill_timeout == 5.0, "default kill-timeout 5");
	is_str(C.executable, "/bin/x", "executable");
	is_int(C.arguments.n, 0, "no arguments");
	is_int(C.environ.n, 0, "no environ");
	is_int(C.n_secret_environ, 0, "no secret-environ");
	is_str(C.secret_environ_file, NULL, "no secret-environ-file");
	is_str(C.workdir, "/", "default workdir /");
	ok(C.resolv_conf.copy_from_host, "default resolv-conf copy-from-host true");
	is_int(C.resolv_conf.mount, TRI_AUTO, "default resolv-conf mount auto");
	is_int(C.hosts_file.mount, TRI_AUTO, "default hosts-file mount auto");
	is_int(C.hosts_file.localhost, TRI_AUTO, "default hosts-file localhost auto");
	is_int(C.hosts_file.public_hostname, TRI_AUTO, "default hosts-file public-hostname auto");
	ok(C.hosts_file.copy_from_host, "default hosts-file copy-from-host true (lithos since 0.11)");
	ok(!C.uid_map.set && !C.gid_map.set, "no default uid-map/gid-map");
	is_str(C.stdout_stderr_file, NULL, "no default stdout-stderr-file");
	ok(!C.interactive, "default interactive false");
	ok(!C.restart_process_only, "default restart-process-only false");
	is_int(C.n_volumes, 0, "no volumes");
	is_int(C.n_tcp_ports, 0, "no tcp-ports");
	is_int(C.n_normal_exit_codes, 0, "no normal-exit-codes");
	is_int(C.n_variables, 0, "no variables");

	static const struct err_case errs[] = {
		{ 'C', "", "c.yaml: container config: missing required key \"executable\"" },
		{ 'C', "# just a comment\n", "c.yaml: container config: missing required key \"executable\"" },
		{ 'C', "user-id: 1\n", "c.yaml:1:1: container config: missing required key \"executable\"" },
		{ 'C', "[]\n", "c.yaml:1:1: container config: expected a mapping, got a list" },
		{ 'C', "executable\n", "c.yaml:1:1: container config: expected a mapping, got a scalar" },
		{ 'C', "!Foo {executable: /bin/x}\n", "c.yaml:1:1: container config: unexpected tag !Foo; expected a plain value" },
	};
	ERRS(errs);
}

static void test_container_keys(void)
{
	/* kind */
	VALID('c', "kind: Command\n");
	is_int(C.kind, KIND_COMMAND, "kind Command");
	VALID('c', "kind: CommandOrDaemon\n");
	is_int(C.kind, KIND_COMMAND_OR_DAEMON, "kind CommandOrDaemon");
	VALID('c', "kind: Daemon\n");
	is_int(C.kind, KIND_DAEMON, "kind Daemon");
	VALID('c', "kind: !Command\n");
	is_int(C.kind, KIND_COMMAND, "kind !Command (tag form)");
	static const struct err_case errs[] = {
		{ 'c', "kind: Foo\n", "c.yaml:2:7: kind: \"Foo\" is not a kind; expected Daemon, Command or CommandOrDaemon" },
		{ 'c', "kind: daemon\n", "c.yaml:2:7: kind: \"daemon\" is not a kind; expected Daemon, Command or CommandOrDaemon" },
		{ 'c', "kind: [Daemon]\n", "c.yaml:2:7: kind: expected Daemon, Command or CommandOrDaemon, got a list" },
		{ 'c', "kind: ~\n", "c.yaml:2:7: kind: expected Daemon, Command or CommandOrDaemon, got a null" },
	};
	ERRS(errs);

	/* user-id, group-id */
	VALID('c', "user-id: 1000\ngroup-id: 0\n");
	ok(C.has_user_id && C.user_id == 1000, "user-id 1000");
	ok(C.has_group_id && C.group_id == 0, "group-id 0");
	is_int(C.user_id_pos.line, 2, "user-id position line");
	is_int(C.user_id_pos.col, 10, "user-id position column");
	VALID('c', "user-id: 4294967295\n");
	is_int(C.user_id, 4294967295u, "user-id up to 2^32-1");
	ERR('c', "user-id: 4294967296\n", "c.yaml:2:10: user-id: \"4294967296\" is too large; expected a number up to 4294967295");
	ERR('c', "user-id: abc\n", "c.yaml:2:10: user-id: \"abc\": not a number; expected a non-negative integer (0x, 0o, 0b prefixes and k, Mi, Gi style units allowed)");
	ERR('c', "group-id: 1.5\n", "c.yaml:2:11: group-id: \"1.5\": unknown unit; expected k, ki, M, Mi, G, Gi, T, Ti, P, Pi, E or Ei; expected a non-negative integer (0x, 0o, 0b prefixes and k, Mi, Gi style units allowed)");

	/* memory-limit, cpu-shares, fileno-limit */
	VALID('c', "memory-limit: 4096\n");
	ok(C.has_memory_limit && C.memory_limit == 4096, "memory-limit minimum 4096");
	ERR('c', "memory-limit: 100\n", "c.yaml:2:15: memory-limit: 100 bytes is too small; expected at least 4096 (units like 100Mi work)");
	ERR('c', "memory-limit: 4095\n", "c.yaml:2:15: memory-limit: 4095 bytes is too small; expected at least 4096 (units like 100Mi work)");
	VALID('c', "cpu-shares: 2\n");
	is_int(C.cpu_shares, 2, "cpu-shares 2");
	VALID('c', "cpu-shares: 262144\n");
	is_int(C.cpu_shares, 262144, "cpu-shares 262144");
	ERR('c', "cpu-shares: 1\n", "c.yaml:2:13: cpu-shares: 1 is too small; expected a number from 2 to 262144");
	ERR('c', "cpu-shares: 262145\n", "c.yaml:2:13: cpu-shares: \"262145\" is too large; expected a number up to 262144");
	VALID('c', "fileno-limit: 1\n");
	is_int(C.fileno_limit, 1, "fileno-limit 1");
	ERR('c', "fileno-limit: 0\n", "c.yaml:2:15: fileno-limit: 0 is not allowed; expected at least 1");
	ERR('c', "fileno-limit: 2Gi\n", "c.yaml:2:15: fileno-limit: \"2Gi\" is too large; expected a number up to 1073741824");

	/* restart-timeout, kill-timeout */
	VALID('c', "restart-timeout: 0.5\nkill-timeout: 10\n");
	ok(C.restart_timeout == 0.5, "restart-timeout 0.5");
	ok(C.kill_timeout == 10.0, "kill-timeout 10");
	VALID('c', "restart-timeout: 0\nkill-timeout: .25\n");
	ok(C.restart_timeout == 0.0, "restart-timeout 0");
	ok(C.kill_timeout == 0.25, "kill-timeout .25");
	VALID('c', "kill-timeout: 1e3\n");
	ok(C.kill_timeout == 1000.0, "kill-timeout 1e3");
	static const struct err_case errs2[] = {
		{ 'c', "restart-timeout: -1\n", "c.yaml:2:18: restart-timeout: \"-1\" is not a valid duration; expected a non-negative number of seconds such as 1 or 0.5" },
		{ 'c', "restart-timeout: abc\n", "c.yaml:2:18: restart-timeout: \"abc\" is not a valid duration; expected a non-negative number of seconds such as 1 or 0.5" },
		{ 'c', "kill-timeout: 1e10\n", "c.yaml:2:15: kill-timeout: \"1e10\" is not a valid duration; expected a non-negative number of seconds such as 1 or 0.5" },
		{ 'c', "kill-timeout: nan\n", "c.yaml:2:15: kill-timeout: \"nan\" is not a valid duration; expected a non-negative number of seconds such as 1 or 0.5" },
		{ 'c', "kill-timeout: inf\n", "c.yaml:2:15: kill-timeout: \"inf\" is not a valid duration; expected a non-negative number of seconds such as 1 or 0.5" },
		{ 'c', "kill-timeout: 5s\n", "c.yaml:2:15: kill-timeout: \"5s\" is not a valid duration; expected a non-negative number of seconds such as 1 or 0.5" },
		{ 'c', "kill-timeout: {}\n", "c.yaml:2:15: kill-timeout: expected a number of seconds, got a mapping" },
	};
	ERRS(errs2);

	/* executable */
	VALID('C', "executable: /usr/bin/python3.6\n");
	is_str(C.executable, "/usr/bin/python3.6", "executable absolute");
	ERR('C', "executable: python\n", "c.yaml:1:13: executable: \"python\" is not an absolute path; expected a path starting with /");
	ERR('C', "executable: ~\n", "c.yaml:1:13: executable: \"~\" is not an absolute path; expected a path starting with /");
	ERR('C', "executable: [/bin/sh]\n", "c.yaml:1:13: executable: expected an absolute path, got a list");

	/* arguments */
	VALID('c', "arguments: [myapp.py, --port=8080, 60, \"\"]\n");
	is_int(C.arguments.n, 4, "arguments: 4 items");
	is_str(C.arguments.v[0], "myapp.py", "arguments[0]");
	is_str(C.arguments.v[2], "60", "arguments: a number is a string");
	is_str(C.arguments.v[3], "", "arguments: quoted empty string");
	is_int(C.arguments.pos[1].col, 23, "arguments[1] column");
	VALID('c', "arguments: []\n");
	is_int(C.arguments.n, 0, "arguments: empty list");
	static const struct err_case errs3[] = {
		{ 'c', "arguments: a\n", "c.yaml:2:12: arguments: expected a list of strings, got a scalar" },
		{ 'c', "arguments: [a, [b]]\n", "c.yaml:2:16: arguments: item 2: expected a string, got a list" },
		{ 'c', "arguments: [a, ~]\n", "c.yaml:2:16: arguments: item 2: expected a string, got a null" },
		{ 'c', "arguments: [a, {b: c}, ~]\n",
		  "c.yaml:2:16: arguments: item 2: expected a string, got a mapping\n"
		  "c.yaml:2:24: arguments: item 3: expected a string, got a null" },
	};
	ERRS(errs3);

	/* environ */
	VALID('c', "environ:\n  LANG: en_US.utf-8\n  N: 1\n  E: \"\"\n");
	is_int(C.environ.n, 3, "environ: 3 entries");
	is_str(kvlist_get(&C.environ, "LANG")->value, "en_US.utf-8", "environ LANG");
	is_str(kvlist_get(&C.environ, "N")->value, "1", "environ number value is a string");
	is_str(kvlist_get(&C.environ, "E")->value, "", "environ empty value");
	is_int(kvlist_get(&C.environ, "N")->pos.line, 4, "environ key position");
	is_int(kvlist_get(&C.environ, "N")->vpos.col, 6, "environ value position");
	static const struct err_case errs4[] = {
		{ 'c', "environ: [a]\n", "c.yaml:2:10: environ: expected a mapping, got a list" },
		{ 'c', "environ: {A: [1]}\n", "c.yaml:2:14: environ: value of \"A\": expected a string, got a list" },
		{ 'c', "environ: {A: ~}\n", "c.yaml:2:14: environ: value of \"A\": expected a string, got a null" },
		{ 'c', "environ: {\"A=B\": 1}\n", "c.yaml:2:11: environ: \"A=B\" is not a valid variable name; expected a non-empty name without =" },
		{ 'c', "environ: {\"\": 1}\n", "c.yaml:2:11: environ: \"\" is not a valid variable name; expected a non-empty name without =" },
		{ 'c', "environ: {A: 1, A: 2}\n", "c.yaml:2:17: environ: duplicate key \"A\" (first at line 2); expected each key once" },
	};
	ERRS(errs4);

	/* secret-environ, secret-environ-file */
	VALID('c', "secret-environ:\n  A: v2:x\n  B: [v2:y, v2:z]\n");
	is_int(C.n_secret_environ, 2, "secret-environ: 2 entries");
	is_str(C.secret_environ[0].name, "A", "secret-environ A");
	is_int(C.secret_environ[0].values.n, 1, "secret-environ scalar: one value");
	is_int(C.secret_environ[1].values.n, 2, "secret-environ list: two values");
	is_str(C.secret_environ[1].values.v[1], "v2:z", "secret-environ list value");
	static const struct err_case errs5[] = {
		{ 'c', "secret-environ: {A: []}\n", "c.yaml:2:21: secret-environ: value of \"A\": expected an encrypted value or a list of them, got a list" },
		{ 'c', "secret-environ: {A: ~}\n", "c.yaml:2:21: secret-environ: value of \"A\": expected an encrypted value or a list of them, got a null" },
		{ 'c', "secret-environ: {A: x, A: y}\n", "c.yaml:2:24: secret-environ: duplicate key \"A\" (first at line 2); expected each key once" },
		{ 'c', "secret-environ: [x]\n", "c.yaml:2:17: secret-environ: expected a mapping, got a list" },
	};
	ERRS(errs5);
	VALID('c', "secret-environ-file: /config/secrets.yaml\n");
	is_str(C.secret_environ_file, "/config/secrets.yaml", "secret-environ-file");
	VALID('c', "secret-environ-file: secrets.yaml\n");
	is_str(C.secret_environ_file, "secrets.yaml", "secret-environ-file may be relative to the config");
	ERR('c', "secret-environ-file: ~\n", "c.yaml:2:22: secret-environ-file: expected a string, got null");
	ERR('c', "secret-environ: {A: x}\nsecret-environ-file: /s.yaml\n",
	    "c.yaml:3:22: secret-environ-file conflicts with secret-environ (line 2); expected only one of them");

	/* workdir / work-dir */
	VALID('c', "workdir: /app\n");
	is_str(C.workdir, "/app", "workdir");
	VALID('c', "work-dir: /app2\n");
	is_str(C.workdir, "/app2", "work-dir is workdir");
	VALID('c', "work_dir: /app3\n");
	is_str(C.workdir, "/app3", "work_dir is workdir");
	static const struct err_case errs6[] = {
		{ 'c', "workdir: rel\n", "c.yaml:2:10: workdir: \"rel\" is not an absolute path; expected a path starting with /" },
		{ 'c', "work-dir: rel\n", "c.yaml:2:11: workdir: \"rel\" is not an absolute path; expected a path starting with /" },
		{ 'c', "work-dir: /a\nworkdir: /b\n", "c.yaml:3:1: container config: duplicate key \"workdir\" (first at line 2); expected each key once" },
		{ 'c', "workdir: /a\nwork_dir: /b\n", "c.yaml:3:1: container config: duplicate key \"work_dir\" (first at line 2); expected each key once" },
	};
	ERRS(errs6);

	/* resolv-conf */
	VALID('c', "resolv-conf: {copy-from-host: false, mount: true}\n");
	ok(!C.resolv_conf.copy_from_host, "resolv-conf copy-from-host false");
	is_int(C.resolv_conf.mount, TRI_TRUE, "resolv-conf mount true");
	VALID('c', "resolv-conf:\n");
	ok(C.resolv_conf.copy_from_host, "resolv-conf: null keeps the defaults");
	VALID('c', "resolv_conf: {copy_from_host: no, mount: off}\n");
	ok(!C.resolv_conf.copy_from_host && C.resolv_conf.mount == TRI_FALSE, "resolv_conf with underscores");
	static const struct err_case errs7[] = {
		{ 'c', "resolv-conf: {mount: maybe}\n", "c.yaml:2:22: resolv-conf: mount: \"maybe\" is not a boolean; expected true, false or null (auto)" },
		{ 'c', "resolv-conf: {copy-from-host: 1}\n", "c.yaml:2:31: resolv-conf: copy-from-host: \"1\" is not a boolean; expected true or false" },
		{ 'c', "resolv-conf: {x: 1}\n", "c.yaml:2:15: resolv-conf: unknown key \"x\"; expected one of: copy-from-host, mount" },
		{ 'c', "resolv-conf: true\n", "c.yaml:2:14: resolv-conf: expected a mapping, got a scalar" },
	};
	ERRS(errs7);

	/* hosts-file */
	VALID('c', "hosts-file: {mount: false, localhost: true, public-hostname: false, copy-from-host: true}\n");
	ok(C.hosts_file.mount == TRI_FALSE && C.hosts_file.localhost == TRI_TRUE &&
	   C.hosts_file.public_hostname == TRI_FALSE && C.hosts_file.copy_from_host,
	   "hosts-file: every key");
	static const struct err_case errs8[] = {
		{ 'c', "hosts-file: {localhost: x}\n", "c.yaml:2:25: hosts-file: localhost: \"x\" is not a boolean; expected true, false or null (auto)" },
		{ 'c', "hosts-file: {public_hostname: 2}\n", "c.yaml:2:31: hosts-file: public-hostname: \"2\" is not a boolean; expected true, false or null (auto)" },
		{ 'c', "hosts-file: {copy-from-host: ~}\n", "c.yaml:2:30: hosts-file: copy-from-host: \"~\" is not a boolean; expected true or false" },
		{ 'c', "hosts-file: {hostname: x}\n", "c.yaml:2:14: hosts-file: unknown key \"hostname\"; expected one of: mount, localhost, public-hostname, copy-from-host" },
		{ 'c', "hosts-file: []\n", "c.yaml:2:13: hosts-file: expected a mapping, got a list" },
	};
	ERRS(errs8);

	/* uid-map, gid-map */
	VALID('c', "uid-map: [{inside: 0, outside: 1000, count: 1}, {inside: 1, outside: 1, count: 1}]\n"
		   "gid-map:\n- {inside: 0, outside: 100, count: 1}\n");
	ok(C.uid_map.set && C.uid_map.n == 2, "uid-map: two entries");
	ok(C.uid_map.v[0].inside == 0 && C.uid_map.v[0].outside == 1000 && C.uid_map.v[0].count == 1,
	   "uid-map entry 0");
	ok(C.uid_map.v[1].inside == 1 && C.uid_map.v[1].outside == 1, "uid-map entry 1");
	ok(C.gid_map.set && C.gid_map.n == 1 && C.gid_map.v[0].outside == 100, "gid-map");
	is_int(C.gid_map.v[0].pos.line, 4, "gid-map entry position");
	VALID('c', "uid-map: []\ngid-map: []\n");
	ok(C.uid_map.set && C.uid_map.n == 0, "uid-map: [] is set but empty");
	VALID('c', "uid_map: [{inside: 0, outside: 0x10000, count: 64ki}]\ngid_map: [{inside: 0, outside: 65536, count: 65536}]\n");
	ok(C.uid_map.v[0].outside == 65536 && C.uid_map.v[0].count == 65536, "uid_map with number forms");
	VALID('c', "uid-map: [{inside: 0, outside: 4294967295, count: 1}]\ngid-map: [{inside: 4294967295, outside: 0, count: 1}]\n");
	ok(C.uid_map.v[0].outside == 4294967295u, "uid-map up to the last 32-bit id");
	static const struct err_case errs9[] = {
		{ 'c', "uid-map: [{inside: 0, outside: 1000, count: 1}]\ngid-map: [{inside: 0, outside: 1000, count: 0}]\n", "c.yaml:3:45: gid-map: count is 0; expected at least 1" },
		{ 'c', "uid-map: [{inside: 0, outside: 1000}]\ngid-map: {}\n",
		  "c.yaml:2:11: uid-map: missing count; expected inside, outside and count\n"
		  "c.yaml:3:10: gid-map: expected a list of {inside, outside, count} mappings, got a mapping" },
		{ 'c', "uid-map: [{outside: 1000, count: 1}]\ngid-map: [{inside: 0, count: 1}]\n",
		  "c.yaml:2:11: uid-map: missing inside; expected inside, outside and count\n"
		  "c.yaml:3:11: gid-map: missing outside; expected inside, outside and count" },
		{ 'c', "uid-map: [{inside: 0, outside: 4294967295, count: 2}]\ngid-map: [[1]]\n",
		  "c.yaml:2:11: uid-map: range exceeds 32-bit ids; expected inside+count and outside+count within 4294967296\n"
		  "c.yaml:3:11: gid-map: expected a mapping {inside: N, outside: N, count: N}, got a list" },
		{ 'c', "uid-map: [{inside: 0, outside: 1, count: 1, extra: 1}]\ngid-map: [{inside: 0, inside: 1, outside: 1, count: 1}]\n",
		  "c.yaml:2:45: uid-map: unknown key \"extra\"; expected inside, outside and count\n"
		  "c.yaml:3:23: gid-map: duplicate key \"inside\" (first at line 3); expected each key once" },
		{ 'c', "uid-map: [{inside: x, outside: 1, count: 1}]\ngid-map: [{inside: 0, outside: 4294967296, count: 1}]\n",
		  "c.yaml:2:20: uid-map: inside: \"x\": not a number; expected a non-negative integer (0x, 0o, 0b prefixes and k, Mi, Gi style units allowed)\n"
		  "c.yaml:3:32: gid-map: outside: \"4294967296\" is too large; expected a number up to 4294967295" },
		{ 'c', "uid-map: [{inside: 0, outside: 1000, count: 1}]\n", "c.yaml:2:10: uid-map without gid-map; expected both uid-map and gid-map, or neither" },
		{ 'c', "gid-map: [{inside: 0, outside: 1000, count: 1}]\n", "c.yaml:2:10: gid-map without uid-map; expected both uid-map and gid-map, or neither" },
		{ 'c', "uid-map: 1\ngid-map: ~\n",
		  "c.yaml:2:10: uid-map: expected a list of {inside, outside, count} mappings, got a scalar\n"
		  "c.yaml:3:10: gid-map: expected a list of {inside, outside, count} mappings, got a null" },
	};
	ERRS(errs9);

	/* stdout-stderr-file */
	VALID('c', "stdout-stderr-file: /log/out.log\n");
	is_str(C.stdout_stderr_file, "/log/out.log", "stdout-stderr-file");
	is_int(C.stdout_stderr_file_pos.col, 21, "stdout-stderr-file position");
	ERR('c', "stdout-stderr-file: x\n", "c.yaml:2:21: stdout-stderr-file: \"x\" is not an absolute path; expected a path starting with /");

	/* interactive, restart-process-only */
	VALID('c', "interactive: true\nrestart-process-only: yes\n");
	ok(C.interactive && C.restart_process_only, "interactive, restart-process-only true");
	ERR('c', "interactive: maybe\n", "c.yaml:2:14: interactive: \"maybe\" is not a boolean; expected true or false");
	ERR('c', "restart-process-only: 2\n", "c.yaml:2:23: restart-process-only: \"2\" is not a boolean; expected true or false");

	/* metadata: anything, not validated */
	VALID('c', "metadata: {anything: [1, 2, {x: y}], deploy: !Whatever {a: b}, dup: 1}\n");
	VALID('c', "metadata: 1\n");
	VALID('c', "metadata:\n");

	/* normal-exit-codes */
	VALID('c', "normal-exit-codes: [8, 120, 0, 255]\n");
	is_int(C.n_normal_exit_codes, 4, "normal-exit-codes: 4 codes");
	is_int(C.normal_exit_codes[1], 120, "normal-exit-codes[1]");
	is_int(C.normal_exit_codes[3], 255, "normal-exit-codes up to 255");
	VALID('c', "normal-exit-codes: []\n");
	ERR('c', "normal-exit-codes: [1, 256, x]\n",
	    "c.yaml:2:24: normal-exit-codes: \"256\" is too large; expected a number up to 255\n"
	    "c.yaml:2:29: normal-exit-codes: \"x\": not a number; expected a non-negative integer (0x, 0o, 0b prefixes and k, Mi, Gi style units allowed)");
	ERR('c', "normal-exit-codes: 1\n", "c.yaml:2:20: normal-exit-codes: expected a list of exit codes, got a scalar");
}

static void test_container_volumes(void)
{
	VALID('c', "volumes:\n"
		   "  /etc/timezones: !Readonly /timezones\n"
		   "  /var/lib/sqlite: !Persistent /db\n"
		   "  /data: !Persistent { path: /path/to/dir, mkdir: true, mode: 0o1777, user: 1, group: 2 }\n"
		   "  /state: !Statedir\n"
		   "  /state2: !Statedir { path: /sub, mode: 0755, user: 3, group: 4 }\n"
		   "  /state3: !Statedir /other\n"
		   "  /tmp: !Tmpfs\n"
		   "  /dev/shm: !Tmpfs { size: 1Gi, mode: 0o1777 }\n"
		   "  /run: !Tmpfs {}\n");
	is_int(C.n_volumes, 9, "volumes: 9");
	const struct volume *v = C.volumes;
	is_str(v[0].mountpoint, "/etc/timezones", "volume 0 mount point");
	is_int(v[0].kind, VOL_READONLY, "!Readonly");
	is_str(v[0].path, "/timezones", "!Readonly path");
	is_int(v[0].pos.line, 3, "volume key position line");
	is_int(v[0].pos.col, 3, "volume key position column");
	is_int(v[0].vpos.col, 19, "volume value position column");
	is_int(v[1].kind, VOL_PERSISTENT, "!Persistent scalar");
	is_str(v[1].path, "/db", "!Persistent scalar path");
	ok(!v[1].mkdir, "!Persistent default mkdir false");
	is_int(v[1].mode, 0700, "!Persistent default mode 0700");
	ok(v[1].user == 0 && v[1].group == 0, "!Persistent default user/group 0");
	is_int(v[2].kind, VOL_PERSISTENT, "!Persistent map");
	is_str(v[2].path, "/path/to/dir", "!Persistent map path");
	ok(v[2].mkdir, "!Persistent mkdir true");
	is_int(v[2].mode, 01777, "!Persistent mode 0o1777");
	ok(v[2].user == 1 && v[2].group == 2, "!Persistent user/group");
	is_int(v[3].kind, VOL_STATEDIR, "!Statedir empty");
	is_str(v[3].path, "/", "!Statedir default path /");
	is_int(v[3].mode, 0700, "!Statedir default mode 0700");
	is_str(v[4].path, "/sub", "!Statedir map path");
	is_int(v[4].mode, 0755, "!Statedir mode 0755");
	ok(v[4].user == 3 && v[4].group == 4, "!Statedir user/group");
	is_str(v[5].path, "/other", "!Statedir scalar path");
	is_int(v[6].kind, VOL_TMPFS, "!Tmpfs empty");
	is_int(v[6].size, 100ULL << 20, "!Tmpfs default size 100Mi");
	is_int(v[6].mode, 0766, "!Tmpfs default mode 0766");
	is_int(v[7].size, 1ULL << 30, "!Tmpfs size 1Gi");
	is_int(v[7].mode, 01777, "!Tmpfs mode 0o1777");
	is_int(v[8].size, 100ULL << 20, "!Tmpfs {} default size");
	VALID('c', "volumes: {}\n");
	VALID('c', "volumes:\n");
	is_int(C.n_volumes, 0, "volumes: null is no volumes");
	VALID('c', "volumes: {/a: !Persistent {path: /x, mode: 07777}}\n");
	is_int(C.volumes[0].mode, 07777, "volume mode up to 07777");

	static const struct err_case errs[] = {
		{ 'c', "volumes: {rel: !Tmpfs }\n", "c.yaml:2:11: volumes: mount point \"rel\" is not valid; expected an absolute path without . or .. components" },
		{ 'c', "volumes: {/a/../b: !Tmpfs }\n", "c.yaml:2:11: volumes: mount point \"/a/../b\" is not valid; expected an absolute path without . or .. components" },
		{ 'c', "volumes: {/a/./b: !Tmpfs }\n", "c.yaml:2:11: volumes: mount point \"/a/./b\" is not valid; expected an absolute path without . or .. components" },
		{ 'c', "volumes: {/a: !Readonly }\n", "c.yaml:2:15: volume /a: !Readonly: expected a virtual path such as !Readonly /timezones, got a null" },
		{ 'c', "volumes: {/a: !Readonly rel}\n", "c.yaml:2:15: volume: !Readonly: \"rel\" is not an absolute path; expected a path starting with /" },
		{ 'c', "volumes: {/a: !Readonly {path: /x}}\n", "c.yaml:2:15: volume /a: !Readonly: expected a virtual path such as !Readonly /timezones, got a mapping" },
		{ 'c', "volumes: {/a: !Readonly /x/../y}\n", "c.yaml:2:15: volume /a: path \"/x/../y\" has . or .. components; expected a plain absolute path" },
		{ 'c', "volumes: {/a: !Persistent {mkdir: true}}\n", "c.yaml:2:15: volume !Persistent: missing required key \"path\"" },
		{ 'c', "volumes: {/a: !Persistent }\n", "c.yaml:2:15: volume /a: !Persistent: expected a virtual path or {path, mkdir, mode, user, group}, got a null" },
		{ 'c', "volumes: {/a: !Persistent {path: /x, mode: 010000}}\n", "c.yaml:2:44: volume: mode: \"010000\" is too large; expected a number up to 4095" },
		{ 'c', "volumes: {/a: !Persistent {path: /x, foo: 1}}\n", "c.yaml:2:38: volume !Persistent: unknown key \"foo\"; expected one of: path, mkdir, mode, user, group" },
		{ 'c', "volumes: {/a: !Persistent {path: /x, mkdir: 1}}\n", "c.yaml:2:45: volume: mkdir: \"1\" is not a boolean; expected true or false" },
		{ 'c', "volumes: {/a: !Persistent {path: /x, user: -1, group: x}}\n",
		  "c.yaml:2:44: volume: user: \"-1\": negative numbers are not allowed; expected a non-negative integer (0x, 0o, 0b prefixes and k, Mi, Gi style units allowed)\n"
		  "c.yaml:2:55: volume: group: \"x\": not a number; expected a non-negative integer (0x, 0o, 0b prefixes and k, Mi, Gi style units allowed)" },
		{ 'c', "volumes: {/a: !Persistent [1]}\n", "c.yaml:2:15: volume /a: !Persistent: expected a virtual path or {path, mkdir, mode, user, group}, got a list" },
		{ 'c', "volumes: {/a: !Persistent /x/../y}\n", "c.yaml:2:15: volume /a: path \"/x/../y\" has . or .. components; expected a plain absolute path" },
		/* a newline would start a #lithos line of its own in the lxc.conf */
		{ 'c', "volumes: {\"/a\\n#lithos.persistent-mkdir = 0777 0 0 /etc/x\": !Tmpfs }\n", "c.yaml:2:11: volumes: a mount point has a control character (newline, tab, ...); expected a path of printable characters" },
		{ 'c', "volumes: {\"/a\\tb\": !Tmpfs }\n", "c.yaml:2:11: volumes: a mount point has a control character (newline, tab, ...); expected a path of printable characters" },
		{ 'c', "volumes: {/a: !Persistent {path: \"/x\\n#lithos.persistent-mkdir = 0777 0 0 /etc/x\", mkdir: true}}\n", "c.yaml:2:15: volume: its path has a control character (newline, tab, ...); expected a path of printable characters" },
		{ 'c', "volumes: {/a: !Readonly \"/x\\r\"}\n", "c.yaml:2:15: volume: its path has a control character (newline, tab, ...); expected a path of printable characters" },
		{ 'c', "volumes: {/a: !Statedir {path: \"/x\\n#lithos.resolv-conf = /etc/shadow\"}}\n", "c.yaml:2:15: volume: its path has a control character (newline, tab, ...); expected a path of printable characters" },
		{ 'c', "volumes: {/a: !Persistent {path: /x, path: /y}}\n", "c.yaml:2:38: volume !Persistent: duplicate key \"path\" (first at line 2); expected each key once" },
		{ 'c', "volumes: {/a: !Statedir [1]}\n", "c.yaml:2:15: volume /a: !Statedir: expected {path, mode, user, group}, got a list" },
		{ 'c', "volumes: {/a: !Statedir {path: rel}}\n", "c.yaml:2:32: volume: path: \"rel\" is not an absolute path; expected a path starting with /" },
		{ 'c', "volumes: {/a: !Statedir {mkdir: true}}\n", "c.yaml:2:26: volume !Statedir: unknown key \"mkdir\"; expected one of: path, mode, user, group" },
		{ 'c', "volumes: {/a: !Tmpfs /x}\n", "c.yaml:2:15: volume /a: !Tmpfs: expected {size, mode}, got a scalar" },
		{ 'c', "volumes: {/a: !Tmpfs {size: 1Zi}}\n", "c.yaml:2:29: volume: size: \"1Zi\": unknown unit; expected k, ki, M, Mi, G, Gi, T, Ti, P, Pi, E or Ei; expected a non-negative integer (0x, 0o, 0b prefixes and k, Mi, Gi style units allowed)" },
		{ 'c', "volumes: {/a: !Tmpfs {size: 1}}\n", "c.yaml:2:29: volume: size 1 bytes is too small; expected at least 4096 (units like 100Mi work)" },
		{ 'c', "volumes: {/a: !Tmpfs {size: 1M, user: 1}}\n", "c.yaml:2:33: volume !Tmpfs: unknown key \"user\"; expected one of: size, mode" },
		{ 'c', "volumes: {/a: !Foo /x}\n", "c.yaml:2:15: volume /a: unknown volume type !Foo; expected !Readonly, !Persistent, !Statedir or !Tmpfs" },
		{ 'c', "volumes: {/a: !readonly /x}\n", "c.yaml:2:15: volume /a: unknown volume type !readonly; expected !Readonly, !Persistent, !Statedir or !Tmpfs" },
		{ 'c', "volumes: {/a: /x}\n", "c.yaml:2:15: volume /a: missing volume type; expected a tagged value: !Readonly, !Persistent, !Statedir or !Tmpfs" },
		{ 'c', "volumes: {/a: !Tmpfs , /a: !Tmpfs }\n", "c.yaml:2:24: volumes: duplicate key \"/a\" (first at line 2); expected each key once" },
		{ 'c', "volumes: [1]\n", "c.yaml:2:10: volumes: expected a mapping, got a list" },
		{ 'c', "volumes: !Tmpfs {}\n", "c.yaml:2:10: volumes: unexpected tag !Tmpfs; expected a plain value" },
	};
	ERRS(errs);
}

static void test_container_tcp_ports(void)
{
	VALID('c', "tcp-ports:\n"
		   "  7777:\n"
		   "    fd: 3\n"
		   "    host: 0.0.0.0\n"
		   "    listen-backlog: 128\n"
		   "    reuse-addr: true\n"
		   "    reuse-port: false\n"
		   "  80: {fd: 0}\n"
		   "  8080: {fd: 4, host: \"::1\", listen_backlog: 1k, reuse_addr: false, reuse_port: true, set_non_block: true, external: true}\n");
	is_int(C.n_tcp_ports, 3, "tcp-ports: 3");
	const struct tcp_port *t = C.tcp_ports;
	is_str(t[0].key, "7777", "tcp-ports key as written");
	is_int(t[0].fd, 3, "fd 3");
	is_str(t[0].host, "0.0.0.0", "host 0.0.0.0");
	is_int(t[0].listen_backlog, 128, "listen-backlog 128");
	ok(t[0].reuse_addr && !t[0].reuse_port && !t[0].set_non_block && !t[0].external, "flags of 7777");
	is_int(t[0].pos.line, 3, "port key position line");
	is_int(t[0].fd_pos.line, 4, "fd position line");
	is_int(t[0].fd_pos.col, 9, "fd position column");
	is_int(t[1].fd, 0, "fd 0 is allowed");
	is_str(t[1].host, "0.0.0.0", "default host 0.0.0.0");
	is_int(t[1].listen_backlog, 128, "default listen-backlog 128");
	ok(t[1].reuse_addr, "default reuse-addr true");
	ok(!t[1].reuse_port && !t[1].set_non_block && !t[1].external, "default reuse-port, set-non-block, external false");
	is_str(t[2].host, "::1", "host IPv6");
	is_int(t[2].listen_backlog, 1000, "listen_backlog 1k");
	ok(!t[2].reuse_addr && t[2].reuse_port && t[2].set_non_block && t[2].external, "flags with underscores");
	VALID('c', "tcp-ports: {0x50: {fd: 3}, 65535: {fd: 4}}\n");
	is_str(C.tcp_ports[0].key, "0x50", "port key with a prefix is kept as written");
	VALID('c', "variables: {p: !TcpPort }\ntcp-ports: {\"@{p}\": {fd: 3}}\n");
	is_str(C.n_tcp_ports ? C.tcp_ports[0].key : NULL, "@{p}", "port key from a variable");

	static const struct err_case errs[] = {
		{ 'c', "tcp-ports: {0: {fd: 3}}\n", "c.yaml:2:13: tcp-ports: \"0\" is not a port; expected a number from 1 to 65535 or a @{variable}" },
		{ 'c', "tcp-ports: {65536: {fd: 3}}\n", "c.yaml:2:13: tcp-ports: \"65536\" is not a port; expected a number from 1 to 65535 or a @{variable}" },
		{ 'c', "tcp-ports: {abc: {fd: 3}}\n", "c.yaml:2:13: tcp-ports: \"abc\" is not a port; expected a number from 1 to 65535 or a @{variable}" },
		{ 'c', "tcp-ports: {80: {}}\n", "c.yaml:2:17: tcp-ports: 80: missing required key \"fd\"" },
		{ 'c', "tcp-ports: {80: 3}\n", "c.yaml:2:17: tcp-ports: 80: expected a mapping with at least fd, got a scalar" },
		{ 'c', "tcp-ports: {80: }\n", "c.yaml:2:17: tcp-ports: 80: expected a mapping with at least fd, got a null" },
		{ 'c', "tcp-ports: {80: {fd: 1}, 81: {fd: 2}, 82: {fd: 0}, 83: {fd: 0}}\n",
		  "c.yaml:2:22: tcp-ports: 80: fd 1 is stdout/stderr; expected fd 0 or 3 and above\n"
		  "c.yaml:2:35: tcp-ports: 81: fd 2 is stdout/stderr; expected fd 0 or 3 and above\n"
		  "c.yaml:2:61: tcp-ports: 83: fd 0 is already used by port 82; expected a distinct fd per port" },
		{ 'c', "tcp-ports: {80: {fd: 65536}}\n", "c.yaml:2:22: tcp-ports: fd: \"65536\" is too large; expected a number up to 65535" },
		{ 'c', "tcp-ports: {80: {fd: 3, host: localhost}}\n", "c.yaml:2:31: tcp-ports: host: \"localhost\" is not an IP address; expected an address such as 0.0.0.0 (host names are not supported)" },
		{ 'c', "tcp-ports: {80: {fd: 3, listen-backlog: x, reuse-addr: x, reuse-port: x, set-non-block: x, external: x}}\n",
		  "c.yaml:2:41: tcp-ports: listen-backlog: \"x\": not a number; expected a non-negative integer (0x, 0o, 0b prefixes and k, Mi, Gi style units allowed)\n"
		  "c.yaml:2:56: tcp-ports: reuse-addr: \"x\" is not a boolean; expected true or false\n"
		  "c.yaml:2:71: tcp-ports: reuse-port: \"x\" is not a boolean; expected true or false\n"
		  "c.yaml:2:89: tcp-ports: set-non-block: \"x\" is not a boolean; expected true or false\n"
		  "c.yaml:2:102: tcp-ports: external: \"x\" is not a boolean; expected true or false" },
		{ 'c', "tcp-ports: {80: {fd: 3, bind: x}}\n", "c.yaml:2:25: tcp-ports: 80: unknown key \"bind\"; expected one of: fd, host, listen-backlog, reuse-addr, reuse-port, set-non-block, external" },
		{ 'c', "tcp-ports: {80: {fd: 3}, 80: {fd: 4}}\n", "c.yaml:2:26: tcp-ports: duplicate key \"80\" (first at line 2); expected each key once" },
		{ 'c', "tcp-ports: [80]\n", "c.yaml:2:12: tcp-ports: expected a mapping, got a list" },
	};
	ERRS(errs);
}

static void test_container_variables(void)
{
	VALID('c', "variables:\n"
		   "  tcp_port: !TcpPort\n"
		   "  port1: !TcpPort { activation: systemd }\n"
		   "  prio: !Choice [\"high-priority\", \"low-priority\"]\n"
		   "  queue: !Name\n"
		   "  host: !DottedName\n"
		   "  p2: !TcpPort {}\n");
	is_int(C.n_variables, 6, "variables: 6");
	const struct variable *v = C.variables;
	is_str(v[0].name, "tcp_port", "variable name");
	is_int(v[0].kind, VAR_TCP_PORT, "!TcpPort");
	ok(!v[0].activation_systemd, "!TcpPort without activation");
	is_int(v[0].pos.line, 3, "variable position");
	is_int(v[1].kind, VAR_TCP_PORT, "!TcpPort {activation: systemd}");
	ok(v[1].activation_systemd, "activation systemd");
	is_int(v[2].kind, VAR_CHOICE, "!Choice");
	is_int(v[2].choices.n, 2, "!Choice: 2 choices");
	is_str(v[2].choices.v[1], "low-priority", "!Choice second choice");
	is_int(v[3].kind, VAR_NAME, "!Name");
	is_int(v[4].kind, VAR_DOTTED_NAME, "!DottedName");
	ok(v[5].kind == VAR_TCP_PORT && !v[5].activation_systemd, "!TcpPort {} has no activation");
	VALID('c', "variables:\n");
	is_int(C.n_variables, 0, "variables: null");

	static const struct err_case errs[] = {
		{ 'c', "variables: {p: !TcpPort {activation: inetd}}\n", "c.yaml:2:38: !TcpPort: activation: expected systemd, got \"inetd\"" },
		{ 'c', "variables: {p: !TcpPort {foo: systemd}}\n", "c.yaml:2:26: variable !TcpPort: unknown key \"foo\"; expected one of: activation" },
		{ 'c', "variables: {p: !TcpPort 1}\n", "c.yaml:2:16: variable p: !TcpPort: expected nothing or {activation: systemd}, got a scalar" },
		{ 'c', "variables: {p: !Choice []}\n", "c.yaml:2:16: variable p: !Choice: expected a non-empty list of choices such as !Choice [a, b], got a list" },
		{ 'c', "variables: {p: !Choice a}\n", "c.yaml:2:16: variable p: !Choice: expected a non-empty list of choices such as !Choice [a, b], got a scalar" },
		{ 'c', "variables: {p: !Choice [a, [b]]}\n", "c.yaml:2:28: !Choice: item 2: expected a string, got a list" },
		{ 'c', "variables: {p: !Name x}\n", "c.yaml:2:16: variable p: !Name takes no value; expected just !Name" },
		{ 'c', "variables: {p: !DottedName [x]}\n", "c.yaml:2:16: variable p: !DottedName takes no value; expected just !DottedName" },
		{ 'c', "variables: {p: !Foo }\n", "c.yaml:2:16: variable p: unknown variable type !Foo; expected !TcpPort, !Choice, !Name or !DottedName" },
		{ 'c', "variables: {p: x}\n", "c.yaml:2:16: variable p: missing type; expected !TcpPort, !Choice, !Name or !DottedName" },
		{ 'c', "variables: {\"a b\": !Name }\n", "c.yaml:2:13: variables: \"a b\" is not a valid variable name; expected letters, digits, _ and -" },
		{ 'c', "variables: {p: !Name , p: !Name }\n", "c.yaml:2:24: variables: duplicate key \"p\" (first at line 2); expected each key once" },
		{ 'c', "variables: [p]\n", "c.yaml:2:12: variables: expected a mapping, got a list" },
		{ 'c', "variables: {p: !TcpPort {activation: systemd}}\nenviron: {LISTEN_FDS: \"1\", LISTEN_PID: x, LISTEN_FDNAMES: p}\n",
		  "c.yaml:3:11: environ: LISTEN_FDS is set by !TcpPort {activation: systemd}; expected it absent from environ\n"
		  "c.yaml:3:43: environ: LISTEN_FDNAMES is set by !TcpPort {activation: systemd}; expected it absent from environ\n"
		  "c.yaml:3:28: environ: LISTEN_PID is set by !TcpPort {activation: systemd}; expected it absent from environ" },
	};
	ERRS(errs);
	/* without activation LISTEN_* are ordinary variables */
	VALID('c', "variables: {p: !TcpPort }\nenviron: {LISTEN_FDS: \"1\"}\n");
}

/* Every key of every table is known to these tests: the unknown-key message
 * lists the table, so a key added without tests fails here. */
static void test_unknown_keys(void)
{
	static const struct err_case errs[] = {
		{ 'c', "bogus: 1\n", "c.yaml:2:1: container config: unknown key \"bogus\"; expected one of: kind, user-id, group-id, memory-limit, cpu-shares, fileno-limit, restart-timeout, kill-timeout, executable, arguments, environ, secret-environ, secret-environ-file, workdir, resolv-conf, hosts-file, uid-map, gid-map, stdout-stderr-file, interactive, restart-process-only, volumes, tcp-ports, metadata, normal-exit-codes, variables" },
		{ 'c', "userid: 1\nuser-id: 2\n", "c.yaml:2:1: container config: unknown key \"userid\"; expected one of: kind, user-id, group-id, memory-limit, cpu-shares, fileno-limit, restart-timeout, kill-timeout, executable, arguments, environ, secret-environ, secret-environ-file, workdir, resolv-conf, hosts-file, uid-map, gid-map, stdout-stderr-file, interactive, restart-process-only, volumes, tcp-ports, metadata, normal-exit-codes, variables" },
		{ 'c', "User-Id: 1\n", "c.yaml:2:1: container config: unknown key \"User-Id\"; expected one of: kind, user-id, group-id, memory-limit, cpu-shares, fileno-limit, restart-timeout, kill-timeout, executable, arguments, environ, secret-environ, secret-environ-file, workdir, resolv-conf, hosts-file, uid-map, gid-map, stdout-stderr-file, interactive, restart-process-only, volumes, tcp-ports, metadata, normal-exit-codes, variables" },
		{ 's', "foo: 1\n", "s.yaml:2:1: sandbox config: unknown key \"foo\"; expected one of: config-file, image-dir, image-dir-levels, log-file, log-level, readonly-paths, writable-paths, allow-users, default-user, allow-groups, default-group, allow-tcp-ports, additional-hosts, uid-map, gid-map, used-images-list, auto-clean, resolv-conf, hosts-file, bridged-network, secrets-private-key, secrets-namespaces, migratable" },
		{ 'p', "a: {image: x, config: /c, foo: 1}\n", "p.yaml:1:27: process \"a\": unknown key \"foo\"; expected one of: kind, instances, image, config, ip-addresses, variables, extra-secrets-namespaces" },
		{ 'm', "foo: bar\n", "/etc/lithos/master.yaml:1:1: master config: unknown key \"foo\"; expected one of: sandboxes-dir, processes-dir, runtime-dir, state-dir, mount-dir, devfs-dir, cgroup-name, cgroup-controllers, default-log-dir, config-log-dir, stdio-log-dir, log-file, log-level, syslog-facility, syslog-name, lxc-path" },
	};
	ERRS(errs);
	/* several unknown keys: every one reported */
	ERR('m', "a: 1\nb: 2\n",
	    "/etc/lithos/master.yaml:1:1: master config: unknown key \"a\"; expected one of: sandboxes-dir, processes-dir, runtime-dir, state-dir, mount-dir, devfs-dir, cgroup-name, cgroup-controllers, default-log-dir, config-log-dir, stdio-log-dir, log-file, log-level, syslog-facility, syslog-name, lxc-path\n"
	    "/etc/lithos/master.yaml:2:1: master config: unknown key \"b\"; expected one of: sandboxes-dir, processes-dir, runtime-dir, state-dir, mount-dir, devfs-dir, cgroup-name, cgroup-controllers, default-log-dir, config-log-dir, stdio-log-dir, log-file, log-level, syslog-facility, syslog-name, lxc-path");
}

static void test_dash_underscore(void)
{
	VALID('c', "user_id: 5\ngroup_id: 6\nmemory_limit: 1Mi\ncpu_shares: 3\nfileno_limit: 7\n"
		   "restart_timeout: 2\nkill_timeout: 3\nsecret_environ_file: /s\nstdout_stderr_file: /log/x\n"
		   "restart_process_only: true\nnormal_exit_codes: [3]\ntcp_ports: {80: {fd: 3}}\n"
		   "hosts_file: {copy_from_host: true}\n");
	ok(C.user_id == 5 && C.group_id == 6 && C.memory_limit == 1 << 20 && C.cpu_shares == 3 &&
	   C.fileno_limit == 7 && C.restart_timeout == 2 && C.kill_timeout == 3 &&
	   C.restart_process_only && C.n_normal_exit_codes == 1 && C.n_tcp_ports == 1 &&
	   C.hosts_file.copy_from_host && !strcmp(C.stdout_stderr_file, "/log/x"),
	   "container keys with underscores");
	/* both spellings in one mapping: a duplicate */
	static const struct err_case errs[] = {
		{ 'c', "user-id: 1\nuser_id: 2\n", "c.yaml:3:1: container config: duplicate key \"user_id\" (first at line 2); expected each key once" },
		{ 'c', "user_id: 1\nuser-id: 2\n", "c.yaml:3:1: container config: duplicate key \"user-id\" (first at line 2); expected each key once" },
		{ 'c', "user-id: 1\nuser-id: 2\n", "c.yaml:3:1: container config: duplicate key \"user-id\" (first at line 2); expected each key once" },
		{ 'c', "tcp-ports: {80: {fd: 3, reuse-addr: true, reuse_addr: false}}\n", "c.yaml:2:43: tcp-ports: 80: duplicate key \"reuse_addr\" (first at line 2); expected each key once" },
		{ 'c', "hosts-file: {copy-from-host: true, copy_from_host: false}\n", "c.yaml:2:36: hosts-file: duplicate key \"copy_from_host\" (first at line 2); expected each key once" },
		{ 'c', "executable: /bin/y\n", "c.yaml:2:1: container config: duplicate key \"executable\" (first at line 1); expected each key once" },
	};
	ERRS(errs);
	/* user-defined keys are not normalized: two different variables */
	VALID('c', "environ: {A_B: 1, A-B: 2}\n");
	is_int(C.environ.n, 2, "environ keys are taken as written");

	VALID('S', "image_dir: /i\nimage_dir_levels: 2\nallow_users: [1]\ndefault_user: 1\nallow_groups: [2]\n"
		   "default_group: 2\nallow_tcp_ports: [80]\nreadonly_paths: {/a: /b}\nwritable_paths: {/c: /d}\n"
		   "additional_hosts: {h: 1.2.3.4}\nused_images_list: /u\nauto_clean: false\n"
		   "resolv_conf: /r\nhosts_file: /h\nconfig_file: x.yaml\nlog_file: /l\nlog_level: info\n"
		   "secrets_private_key: /k\nsecrets_namespaces: [a]\n"
		   "bridged_network: {bridge: br0, network: 10.0.0.0/8, default_gateway: 10.0.0.1, after_setup_command: [/bin/true]}\n");
	ok(!strcmp(S.image_dir, "/i") && S.image_dir_levels == 2 && S.default_user == 1 &&
	   S.default_group == 2 && !S.auto_clean && !strcmp(S.log_level, "info") &&
	   S.bridged_network && !strcmp(S.bridged_network->default_gateway, "10.0.0.1") &&
	   S.bridged_network->after_setup_command.n == 1,
	   "sandbox keys with underscores");
	ERR('s', "image_dir: /x\n",
	    "s.yaml:2:1: sandbox config: duplicate key \"image_dir\" (first at line 1); expected each key once");

	VALID('p', "a: {image: x, config: /c, ip_addresses: [10.0.0.1], extra_secrets_namespaces: [n]}\n");
	ok(P.v[0].ip_addresses.n == 1 && P.v[0].extra_secrets_namespaces.n == 1, "process keys with underscores");
	ERR('p', "a: {image: x, config: /c, ip-addresses: [], ip_addresses: []}\n",
	    "p.yaml:1:45: process \"a\": duplicate key \"ip_addresses\" (first at line 1); expected each key once");

	VALID('m', "sandboxes_dir: /s\nprocesses_dir: /p\nruntime_dir: /r\nstate_dir: st\nmount_dir: mn\n"
		   "devfs_dir: /d\ncgroup_name: x\ncgroup_controllers: [cpu]\ndefault_log_dir: /l\n"
		   "config_log_dir: c\nstdio_log_dir: e\nlog_file: f\nlog_level: debug\n"
		   "syslog_facility: daemon\nsyslog_name: n\nlxc_path: /lxc\n");
	ok(!strcmp(M.sandboxes_dir, "/s") && !strcmp(M.state_dir, "/r/st") &&
	   !strcmp(M.config_log_dir, "/l/c") && !strcmp(M.syslog_facility, "daemon") &&
	   !strcmp(M.lxc_path, "/lxc"),
	   "master keys with underscores");
	ERR('m', "sandboxes_dir: a\nsandboxes-dir: b\n",
	    "/etc/lithos/master.yaml:2:1: master config: duplicate key \"sandboxes-dir\" (first at line 1); expected each key once");
}

static void test_yaml_features(void)
{
	/* merge keys: explicit keys win, wherever they are */
	VALID('C', "metadata: {defaults: &d {user-id: 5, group-id: 7, cpu-shares: 10}}\n"
		   "<<: *d\n"
		   "executable: /bin/x\n"
		   "user-id: 1\n");
	ok(C.user_id == 1, "merge: explicit key after << wins");
	ok(C.group_id == 7 && C.cpu_shares == 10, "merge: merged keys apply");
	VALID('C', "metadata: {defaults: &d {user-id: 5, group-id: 7}}\n"
		   "user-id: 1\n"
		   "<<: *d\n"
		   "executable: /bin/x\n");
	ok(C.user_id == 1 && C.group_id == 7, "merge: explicit key before << wins");
	/* merged user_id against explicit user-id: same key, explicit wins, no duplicate */
	VALID('C', "metadata: {defaults: &d {user_id: 5}}\n"
		   "<<: *d\nexecutable: /bin/x\nuser-id: 1\n");
	is_int(C.user_id, 1, "merge: explicit user-id wins over merged user_id");
	/* a list of merges: the earlier one wins */
	VALID('C', "metadata: [&a {user-id: 1}, &b {user-id: 2, group-id: 3}]\n"
		   "<<: [*a, *b]\nexecutable: /bin/x\n");
	ok(C.user_id == 1 && C.group_id == 3, "merge list: earlier mapping wins");
	/* merges in nested maps and in processes configs */
	VALID('c', "metadata: {t: &t {fd: 3, host: 127.0.0.1}}\n"
		   "tcp-ports: {80: {<<: *t}, 81: {<<: *t, fd: 4}}\n");
	ok(C.tcp_ports[0].fd == 3 && C.tcp_ports[1].fd == 4 && !strcmp(C.tcp_ports[1].host, "127.0.0.1"),
	   "merge in tcp-ports entries");
	VALID('p', "web: &web\n  image: web/1\n  config: /config/web.yaml\n  instances: 2\n"
		   "web2:\n  <<: *web\n  instances: 3\n");
	ok(P.n == 2 && P.v[1].instances == 3 && !strcmp(P.v[1].image, "web/1") &&
	   !strcmp(P.v[1].config, "/config/web.yaml"),
	   "merge in a processes config");
	ERR('c', "<<: 1\n", "c.yaml:2:5: merge key `<<`: expected a mapping or a list of mappings, got a scalar");
	ERR('c', "<<: [1]\n", "c.yaml:2:6: merge key `<<`: expected a mapping to merge, got a scalar");
	/* a quoted "<<" is an ordinary key */
	ERR('c', "\"<<\": {user-id: 1}\n",
	    "c.yaml:2:1: container config: unknown key \"<<\"; expected one of: kind, user-id, group-id, memory-limit, cpu-shares, fileno-limit, restart-timeout, kill-timeout, executable, arguments, environ, secret-environ, secret-environ-file, workdir, resolv-conf, hosts-file, uid-map, gid-map, stdout-stderr-file, interactive, restart-process-only, volumes, tcp-ports, metadata, normal-exit-codes, variables");

	/* anchors and aliases */
	VALID('C', "executable: &exe /bin/sh\narguments: [*exe, -c, &cmd \"echo hi\"]\nenviron: {CMD: *cmd}\n");
	ok(C.arguments.n == 3 && !strcmp(C.arguments.v[0], "/bin/sh") && !strcmp(C.arguments.v[2], "echo hi"),
	   "alias of a scalar in a list");
	is_str(kvlist_get(&C.environ, "CMD")->value, "echo hi", "alias of a scalar in a mapping");
	VALID('c', "environ: &env {A: 1}\nmetadata: *env\n");
	ERR('c', "user-id: *nope\n", "c.yaml:2:10: alias *nope refers to no anchor defined before it");
	ERR('c', "metadata: &a [*a]\n", "c.yaml:2:15: alias *a refers to no anchor defined before it");
	ERR('c', "user-id: *later\ngroup-id: &later 1\n", "c.yaml:2:10: alias *later refers to no anchor defined before it");

	/* documents and syntax */
	static const struct err_case errs[] = {
		{ 'c', "---\nuser-id: 1\n", "c.yaml:2:1: expected a single YAML document, found a second one" },
		{ 'C', "---\nexecutable: /bin/x\n...\n", "" },
		{ 'C', "executable: /bin/x\n---\nexecutable: /bin/y\n", "c.yaml:2:1: expected a single YAML document, found a second one" },
		{ 'c', "arguments: [a\n", "c.yaml:3:1: invalid YAML: did not find expected ',' or ']' while parsing a flow sequence (line 2, column 12); expected valid YAML" },
		{ 'c', "  user-id: 1\n", "c.yaml:2:10: invalid YAML: mapping values are not allowed in this context; expected valid YAML" },
		{ 'c', "\tuser-id: 1\n", "c.yaml:2:1: invalid YAML: found a tab character that violates indentation while scanning a plain scalar (line 1, column 13); expected valid YAML" },
		{ 'c', "user-id: \"1\n", "c.yaml:3:1: invalid YAML: found unexpected end of stream while scanning a quoted scalar (line 2, column 10); expected valid YAML" },
		{ 'c', "? [a, b]\n: 1\n", "c.yaml:2:3: expected a scalar as mapping key, got a list" },
	};
	ERRS(errs);
	{
		static const char nul[] = "executable: /bin/x\nuser-id: 1\0\n";
		container_config_free(&C);
		container_config_parse_buffer(&C, "c.yaml", nul, sizeof(nul) - 1, &D);
		char *got = take_diags();
		is_str(got, "c.yaml:2:11: NUL byte in file; expected UTF-8 YAML text", "NUL byte");
		free(got);
	}
	/* tags: !!str and other standard tags are plain values */
	VALID('c', "user-id: !!int 5\narguments: [!!str 1]\n");
	is_int(C.user_id, 5, "!!int is a plain number");
}

static void test_ranges(void)
{
	VALID('s', "allow-users: [1, 99, 1000-2000]\n");
	is_int(S.allow_users.n, 3, "ranges: 3 items");
	ok(S.allow_users.v[0].lo == 1 && S.allow_users.v[0].hi == 1, "range 1");
	ok(S.allow_users.v[1].lo == 99 && S.allow_users.v[1].hi == 99, "range 99");
	ok(S.allow_users.v[2].lo == 1000 && S.allow_users.v[2].hi == 2000, "range 1000-2000");
	is_int(S.allow_users.pos.line, 2, "ranges position");
	ok(ranges_contain(&S.allow_users, 1) && ranges_contain(&S.allow_users, 99) &&
	   ranges_contain(&S.allow_users, 1000) && ranges_contain(&S.allow_users, 1500) &&
	   ranges_contain(&S.allow_users, 2000),
	   "ranges_contain: inside");
	ok(!ranges_contain(&S.allow_users, 0) && !ranges_contain(&S.allow_users, 2) &&
	   !ranges_contain(&S.allow_users, 999) && !ranges_contain(&S.allow_users, 2001),
	   "ranges_contain: outside");
	char *f = ranges_format(&S.allow_users);
	is_str(f, "[1, 99, 1000-2000]", "ranges_format");
	free(f);
	VALID('s', "allow-users: [0x10-0x20, 1k-2k, 5-5, 0-4294967295]\n");
	ok(S.allow_users.v[0].lo == 16 && S.allow_users.v[0].hi == 32, "range with 0x numbers");
	ok(S.allow_users.v[1].lo == 1000 && S.allow_users.v[1].hi == 2000, "range with units");
	ok(S.allow_users.v[2].lo == 5 && S.allow_users.v[2].hi == 5, "range 5-5");
	ok(S.allow_users.v[3].hi == 4294967295u, "range up to 2^32-1");
	f = ranges_format(&S.allow_users);
	is_str(f, "[16-32, 1000-2000, 5, 0-4294967295]", "ranges_format of single-id range");
	free(f);
	VALID('s', "allow-users: []\n");
	ok(S.allow_users.n == 0 && !ranges_contain(&S.allow_users, 0), "empty ranges contain nothing");
	f = ranges_format(&S.allow_users);
	is_str(f, "[]", "ranges_format of []");
	free(f);
	VALID('s', "allow-users:\n- 1\n- 100-200\n");
	is_int(S.allow_users.n, 2, "ranges as a block list");
	VALID('s', "allow-tcp-ports: [80, 8000-8080, 65535]\n");
	ok(ranges_contain(&S.allow_tcp_ports, 8080) && ranges_contain(&S.allow_tcp_ports, 65535), "tcp port ranges");

	static const struct err_case errs[] = {
		{ 's', "allow-users: [1, 2-1, x, 4294967296, [1], 5-, -5, 1-2-3]\n",
		  "s.yaml:2:18: allow-users: \"2-1\": start of range is after its end; expected a number or a range like 1000-2000 (up to 4294967295)\n"
		  "s.yaml:2:23: allow-users: \"x\": not a number; expected a number or a range like 1000-2000 (up to 4294967295)\n"
		  "s.yaml:2:26: allow-users: \"4294967296\": number too large; expected a number or a range like 1000-2000 (up to 4294967295)\n"
		  "s.yaml:2:38: allow-users: expected a number or a range like 1000-2000, got a list\n"
		  "s.yaml:2:43: allow-users: \"5-\": not a number; expected a number or a range like 1000-2000 (up to 4294967295)\n"
		  "s.yaml:2:47: allow-users: \"-5\": negative numbers are not allowed; expected a number or a range like 1000-2000 (up to 4294967295)\n"
		  "s.yaml:2:51: allow-users: \"1-2-3\": unknown unit; expected k, ki, M, Mi, G, Gi, T, Ti, P, Pi, E or Ei; expected a number or a range like 1000-2000 (up to 4294967295)" },
		{ 's', "allow-users: 1\n", "s.yaml:2:14: allow-users: expected a list of numbers or ranges like [1, 99, 1000-2000], got a scalar" },
		{ 's', "allow-users: 1-10\n", "s.yaml:2:14: allow-users: expected a list of numbers or ranges like [1, 99, 1000-2000], got a scalar" },
		{ 's', "allow-groups: [~]\n", "s.yaml:2:16: allow-groups: expected a number or a range like 1000-2000, got a null" },
		{ 's', "allow-groups: [!x 1]\n", "s.yaml:2:16: allow-groups: unexpected tag !x; expected a plain value" },
		{ 's', "allow-tcp-ports: [65536, 0-65535]\n", "s.yaml:2:19: allow-tcp-ports: \"65536\": number too large; expected a number or a range like 1000-2000 (up to 65535)" },
		{ 's', "allow-tcp-ports: [80-65536]\n", "s.yaml:2:19: allow-tcp-ports: \"80-65536\": number too large; expected a number or a range like 1000-2000 (up to 65535)" },
	};
	ERRS(errs);
}

/* ------------------------------------------------------------------ */

static void test_sandbox(void)
{
	VALID('S', "image-dir: /opt/app1-images\n");
	is_str(S.name, "sb", "sandbox name");
	is_str(S.file, "s.yaml", "sandbox file");
	is_str(S.config_file, NULL, "default config-file null");
	is_str(S.image_dir, "/opt/app1-images", "image-dir");
	is_int(S.image_dir_levels, 1, "default image-dir-levels 1");
	is_str(S.log_file, NULL, "no default log-file");
	is_str(S.log_level, NULL, "no default log-level");
	is_int(S.readonly_paths.n, 0, "no readonly-paths");
	is_int(S.writable_paths.n, 0, "no writable-paths");
	ok(S.allow_users.n == 0 && S.allow_groups.n == 0 && S.allow_tcp_ports.n == 0, "no allowed ids and ports by default");
	ok(!S.has_default_user, "no default default-user");
	is_int(S.default_group, 0, "default default-group 0");
	is_int(S.additional_hosts.n, 0, "no additional-hosts");
	ok(!S.uid_map.set && !S.gid_map.set, "no uid-map/gid-map");
	is_str(S.used_images_list, NULL, "no used-images-list");
	ok(S.auto_clean, "default auto-clean true");
	is_str(S.resolv_conf, "/etc/resolv.conf", "default resolv-conf");
	is_str(S.hosts_file, "/etc/hosts", "default hosts-file");
	ok(S.bridged_network == NULL, "no bridged-network");
	is_str(S.secrets_private_key, NULL, "no secrets-private-key");
	ok(S.secrets_namespaces.n == 1 && !strcmp(S.secrets_namespaces.v[0], ""), "default secrets-namespaces [\"\"]");

	static const struct err_case errs[] = {
		{ 'S', "", "s.yaml: sandbox config: missing required key \"image-dir\"" },
		{ 'S', "log-file: x\n", "s.yaml:1:1: sandbox config: missing required key \"image-dir\"" },
		{ 'S', "image-dir: rel\n", "s.yaml:1:12: image-dir: \"rel\" is not an absolute path; expected a path starting with /" },
		{ 'S', "image-dir: ~\n", "s.yaml:1:12: image-dir: \"~\" is not an absolute path; expected a path starting with /" },
		{ 'S', "[]\n", "s.yaml:1:1: sandbox config: expected a mapping, got a list" },
	};
	ERRS(errs);

	VALID('s', "config-file: other.yaml\n");
	is_str(S.config_file, "other.yaml", "config-file");
	VALID('s', "config-file: ~\n");
	is_str(S.config_file, NULL, "config-file: null");
	ERR('s', "config-file: [x]\n", "s.yaml:2:14: config-file: expected a string or null, got a list");

	VALID('s', "image-dir-levels: 2\n");
	is_int(S.image_dir_levels, 2, "image-dir-levels 2");
	VALID('s', "image-dir-levels: 64\n");
	ERR('s', "image-dir-levels: 0\n", "s.yaml:2:19: image-dir-levels: 0 is not allowed; expected a number from 1 to 64");
	ERR('s', "image-dir-levels: 65\n", "s.yaml:2:19: image-dir-levels: \"65\" is too large; expected a number up to 64");

	VALID('s', "log-file: /var/log/lithos/app.log\nlog-level: debug\n");
	is_str(S.log_file, "/var/log/lithos/app.log", "log-file");
	is_str(S.log_level, "debug", "log-level");
	static const char *const levels[] = { "error", "warn", "info", "debug", "trace" };
	for (size_t i = 0; i < ARRAY_SIZE(levels); i++) {
		char *y = xasprintf("log-level: %s\n", levels[i]);
		VALID('s', y);
		free(y);
	}
	ERR('s', "log-level: loud\n", "s.yaml:2:12: log-level: \"loud\" is not a log level; expected error, warn, info, debug or trace");
	ERR('s', "log-level: WARN\n", "s.yaml:2:12: log-level: \"WARN\" is not a log level; expected error, warn, info, debug or trace");
	ERR('s', "log-file: ~\n", "s.yaml:2:11: log-file: expected a string, got null");

	VALID('s', "readonly-paths:\n  /timezones: /usr/share/timezones\nwritable-paths:\n  /db: /var/lib/app1-database\n  /logs: /var/log/app1\n");
	ok(S.readonly_paths.n == 1 && !strcmp(S.readonly_paths.v[0].key, "/timezones") &&
	   !strcmp(S.readonly_paths.v[0].value, "/usr/share/timezones"), "readonly-paths");
	ok(S.writable_paths.n == 2 && !strcmp(kvlist_get(&S.writable_paths, "/logs")->value, "/var/log/app1"),
	   "writable-paths");
	VALID('s', "readonly-paths: ~\nwritable-paths: {}\n");
	ERR('s', "readonly-paths: {rel: /x, /a: rel, /b/../c: /x}\n",
	    "s.yaml:2:18: readonly-paths: virtual path \"rel\" is not valid; expected an absolute path without . or .. components\n"
	    "s.yaml:2:31: readonly-paths: host path \"rel\" is not valid; expected an absolute path without . or .. components\n"
	    "s.yaml:2:36: readonly-paths: virtual path \"/b/../c\" is not valid; expected an absolute path without . or .. components");
	ERR('s', "writable-paths: {/a: /x/../etc}\n",
	    "s.yaml:2:22: writable-paths: host path \"/x/../etc\" is not valid; expected an absolute path without . or .. components");
	/* every problem is reported, also next to a value of the wrong type */
	static const struct err_case errs2[] = {
		{ 's', "readonly-paths: {rel: /x, /d: ~}\n",
		  "s.yaml:2:31: readonly-paths: value of \"/d\": expected a string, got a null\n"
		  "s.yaml:2:18: readonly-paths: virtual path \"rel\" is not valid; expected an absolute path without . or .. components" },
		{ 's', "writable-paths: [a]\n", "s.yaml:2:17: writable-paths: expected a mapping, got a list" },
		{ 's', "writable-paths: {/a: /x, /a: /y}\n", "s.yaml:2:26: writable-paths: duplicate key \"/a\" (first at line 2); expected each key once" },
		{ 's', "readonly-paths: {/a: /x}\nwritable-paths: {/a: /y}\n", "s.yaml:2:18: virtual path \"/a\" is in both readonly-paths and writable-paths; expected it in one of them" },
	};
	ERRS(errs2);

	VALID('s', "allow-users: [1-10]\ndefault-user: 10\nallow-groups: [0, 5]\ndefault-group: 5\n");
	ok(S.has_default_user && S.default_user == 10 && S.default_group == 5, "default-user, default-group");
	is_int(S.default_user_pos.line, 3, "default-user position");
	static const struct err_case errs3[] = {
		{ 's', "allow-users: [1-10]\ndefault-user: 11\n", "s.yaml:3:15: default-user 11 is not in allow-users [1-10]; expected a user id inside allow-users" },
		{ 's', "default-user: 5\n", "s.yaml:2:15: default-user 5 is not in allow-users []; expected a user id inside allow-users" },
		{ 's', "allow-groups: [1-10]\ndefault-group: 0\n", "s.yaml:3:16: default-group 0 is not in allow-groups [1-10]; expected a group id inside allow-groups" },
		{ 's', "default-user: x\n", "s.yaml:2:15: default-user: \"x\": not a number; expected a non-negative integer (0x, 0o, 0b prefixes and k, Mi, Gi style units allowed)" },
		{ 's', "default-group: 4294967296\n", "s.yaml:2:16: default-group: \"4294967296\" is too large; expected a number up to 4294967295" },
	};
	ERRS(errs3);

	VALID('s', "additional-hosts:\n  db.local: 10.0.0.5\n  v6_host: \"fd00::1\"\n");
	ok(S.additional_hosts.n == 2 && !strcmp(kvlist_get(&S.additional_hosts, "db.local")->value, "10.0.0.5"),
	   "additional-hosts");
	ERR('s', "additional-hosts: {\"bad host\": 1.2.3.4, good: x.y}\n",
	    "s.yaml:2:20: additional-hosts: \"bad host\" is not a host name; expected letters, digits, dots and dashes\n"
	    "s.yaml:2:47: additional-hosts: \"x.y\" is not an IP address; expected an IPv4 or IPv6 address");
	ERR('s', "additional-hosts: {a: [1], b: x}\n",
	    "s.yaml:2:23: additional-hosts: value of \"a\": expected a string, got a list\n"
	    "s.yaml:2:31: additional-hosts: \"x\" is not an IP address; expected an IPv4 or IPv6 address");
	ERR('s', "additional-hosts: [a]\n", "s.yaml:2:19: additional-hosts: expected a mapping, got a list");

	VALID('s', "uid-map: [{inside: 0, outside: 100000, count: 65536}]\ngid-map: [{inside: 0, outside: 100000, count: 65536}]\n");
	ok(S.uid_map.set && S.uid_map.n == 1 && S.uid_map.v[0].outside == 100000 && S.uid_map.v[0].count == 65536,
	   "sandbox uid-map");
	ERR('s', "uid-map: [{inside: 0, outside: 1, count: 1}]\n",
	    "s.yaml:2:10: uid-map without gid-map; expected both uid-map and gid-map, or neither");
	ERR('s', "gid-map: [{inside: 0, outside: 1, count: 1}]\n",
	    "s.yaml:2:10: gid-map without uid-map; expected both uid-map and gid-map, or neither");
	ERR('s', "uid-map: [{inside: 0, outside: 1, count: 0}]\ngid-map: [{inside: 0, outside: 1, count: 1}]\n",
	    "s.yaml:2:42: uid-map: count is 0; expected at least 1");

	VALID('s', "used-images-list: /var/lib/lithos/app.images\nauto-clean: false\n");
	is_str(S.used_images_list, "/var/lib/lithos/app.images", "used-images-list");
	ok(!S.auto_clean, "auto-clean false");
	VALID('s', "used-images-list: ~\n");
	ERR('s', "used-images-list: [x]\n", "s.yaml:2:19: used-images-list: expected a string or null, got a list");
	ERR('s', "auto-clean: x\n", "s.yaml:2:13: auto-clean: \"x\" is not a boolean; expected true or false");

	VALID('s', "resolv-conf: /etc/lithos/resolv.conf\nhosts-file: /etc/lithos/hosts\n");
	is_str(S.resolv_conf, "/etc/lithos/resolv.conf", "resolv-conf");
	is_str(S.hosts_file, "/etc/lithos/hosts", "hosts-file");
	ERR('s', "resolv-conf: rel\n", "s.yaml:2:14: resolv-conf: \"rel\" is not an absolute path; expected a path starting with /");
	ERR('s', "hosts-file: ~\n", "s.yaml:2:13: hosts-file: \"~\" is not an absolute path; expected a path starting with /");

	VALID('s', "secrets-private-key: /etc/lithos/keys/main.key\nsecrets-namespaces: [myapp, project1.web, \"\", a_b-c]\n");
	is_str(S.secrets_private_key, "/etc/lithos/keys/main.key", "secrets-private-key");
	ok(S.secrets_namespaces.n == 4 && !strcmp(S.secrets_namespaces.v[1], "project1.web") &&
	   !strcmp(S.secrets_namespaces.v[2], ""), "secrets-namespaces");
	VALID('s', "secrets-private-key: ~\nsecrets-namespaces: []\n");
	ok(!S.secrets_private_key && S.secrets_namespaces.n == 0, "secrets-private-key null, secrets-namespaces []");
	VALID('s', "migratable: true\n");
	ok(S.migratable, "migratable: true");
	VALID('s', "allow-users: [1]\n");
	ok(!S.migratable, "migratable defaults to false");
	static const struct err_case errs4[] = {
		{ 's', "migratable: 2\n", "s.yaml:2:13: migratable: \"2\" is not a boolean; expected true or false" },
		{ 's', "uid-map: [{inside: 0, outside: 100000, count: 65536}]\n"
		  "gid-map: [{inside: 0, outside: 100000, count: 65536}]\nmigratable: true\n",
		  "s.yaml:4:13: migratable: true with uid-map (line 2): CRIU cannot restore containers with a user namespace here; expected migratable: false or no uid-map/gid-map" },
		{ 's', "secrets-private-key: rel\n", "s.yaml:2:22: secrets-private-key: \"rel\" is not an absolute path; expected a path starting with /" },
		{ 's', "secrets-namespaces: [a, \"b c\", [d]]\n",
		  "s.yaml:2:25: secrets-namespaces: \"b c\" is not a valid namespace; expected only letters, digits, _, . and -\n"
		  "s.yaml:2:32: secrets-namespaces: expected a string, got a list" },
		{ 's', "secrets-namespaces: x\n", "s.yaml:2:21: secrets-namespaces: expected a list of namespaces, got a scalar" },
	};
	ERRS(errs4);
}

static void test_bridged_network(void)
{
	VALID('s', "bridged-network:\n  bridge: br0\n  network: 10.64.0.0/16\n  default-gateway: 10.64.255.254\n"
		   "  after-setup-command: [/usr/bin/arping, -U, -c1, '@{container_ip}']\n");
	const struct bridged_network *b = S.bridged_network;
	ok(b != NULL, "bridged-network");
	if (!b)
		return;
	is_str(b->bridge, "br0", "bridge");
	is_str(b->network, "10.64.0.0/16", "network as written");
	is_int(b->net.family, AF_INET, "network family");
	is_int(b->net.prefix, 16, "network prefix");
	is_str(b->default_gateway, "10.64.255.254", "default-gateway");
	is_int(b->after_setup_command.n, 4, "after-setup-command");
	is_str(b->after_setup_command.v[3], "@{container_ip}", "after-setup-command keeps @{container_ip}");
	is_int(b->pos.line, 3, "bridged-network position");
	is_int(b->network_pos.line, 4, "network position");
	VALID('s', "bridged-network: {bridge: br1, network: 10.0.0.0/24}\n");
	ok(S.bridged_network && S.bridged_network->default_gateway == NULL &&
	   S.bridged_network->after_setup_command.n == 0, "default-gateway and after-setup-command optional");
	VALID('s', "bridged-network: {bridge: br1, network: \"fd00::/64\", default-gateway: \"fd00::1\"}\n");
	ok(S.bridged_network && S.bridged_network->net.family == AF_INET6 && S.bridged_network->net.prefix == 64,
	   "IPv6 network");
	VALID('s', "bridged-network: ~\n");
	ok(S.bridged_network == NULL, "bridged-network: null is absent");
	VALID('s', "bridged-network: {bridge: br0, network: 10.0.0.0/24, after-setup-command: []}\n");

	static const struct err_case errs[] = {
		{ 's', "bridged-network: {bridge: br0}\n", "s.yaml:2:18: bridged-network: missing required key \"network\"" },
		{ 's', "bridged-network: {network: 10.0.0.0/24}\n", "s.yaml:2:18: bridged-network: missing required key \"bridge\"" },
		{ 's', "bridged-network: {}\n",
		  "s.yaml:2:18: bridged-network: missing required key \"bridge\"\n"
		  "s.yaml:2:18: bridged-network: missing required key \"network\"" },
		{ 's', "bridged-network: {bridge: \"br/0\", network: 10.0.0.0/33}\n",
		  "s.yaml:2:27: bridged-network: bridge: \"br/0\" is not an interface name; expected 1 to 15 characters without /, : or spaces\n"
		  "s.yaml:2:44: bridged-network: network: \"10.0.0.0/33\" is not a network; expected an address with a prefix length like 10.0.0.0/24" },
		{ 's', "bridged-network: {bridge: abcdefghijklmnop, network: 10.0.0.0}\n",
		  "s.yaml:2:27: bridged-network: bridge: \"abcdefghijklmnop\" is not an interface name; expected 1 to 15 characters without /, : or spaces\n"
		  "s.yaml:2:54: bridged-network: network: \"10.0.0.0\" is not a network; expected an address with a prefix length like 10.0.0.0/24" },
		{ 's', "bridged-network: {bridge: br0, network: 10.0.0.300/8}\n", "s.yaml:2:41: bridged-network: network: \"10.0.0.300/8\" is not a network; expected an address with a prefix length like 10.0.0.0/24" },
		{ 's', "bridged-network: {bridge: br0, network: \"fd00::/129\"}\n", "s.yaml:2:41: bridged-network: network: \"fd00::/129\" is not a network; expected an address with a prefix length like 10.0.0.0/24" },
		{ 's', "bridged-network: {bridge: br0, network: 10.0.0.0/x}\n", "s.yaml:2:41: bridged-network: network: \"10.0.0.0/x\" is not a network; expected an address with a prefix length like 10.0.0.0/24" },
		{ 's', "bridged-network: {bridge: br0, network: 10.0.0.0/24, default-gateway: 10.0.1.1}\n", "s.yaml:2:71: bridged-network: default-gateway 10.0.1.1 is outside network 10.0.0.0/24; expected an address inside the network" },
		{ 's', "bridged-network: {bridge: br0, network: 10.0.0.0/24, default-gateway: \"fd00::1\"}\n", "s.yaml:2:71: bridged-network: default-gateway fd00::1 is outside network 10.0.0.0/24; expected an address inside the network" },
		{ 's', "bridged-network: {bridge: br0, network: 10.0.0.0/24, default_gateway: x}\n", "s.yaml:2:71: bridged-network: default-gateway: \"x\" is not an IP address; expected an IPv4 or IPv6 address" },
		{ 's', "bridged-network: {bridge: br0, network: 10.0.0.0/24, after-setup-command: [arping, \"@{x}\"]}\n", "s.yaml:2:76: bridged-network: after-setup-command: \"arping\" is not an absolute path; expected the command's absolute path first" },
		{ 's', "bridged-network: {bridge: br0, network: 10.0.0.0/24, after-setup-command: [/arping, \"@{x}\"]}\n", "s.yaml:2:85: bridged-network: after-setup-command: unknown substitution in \"@{x}\"; expected only @{container_ip}" },
		{ 's', "bridged-network: {bridge: br0, network: 10.0.0.0/24, after-setup-command: /bin/true}\n", "s.yaml:2:75: bridged-network: after-setup-command: expected a list of strings, got a scalar" },
		{ 's', "bridged-network: {bridge: br0, network: 10.0.0.0/24, mtu: 1}\n", "s.yaml:2:54: bridged-network: unknown key \"mtu\"; expected one of: bridge, network, default-gateway, after-setup-command" },
		{ 's', "bridged-network: []\n", "s.yaml:2:18: bridged-network: expected a mapping, got a list" },
	};
	ERRS(errs);

	/* ipnet helpers */
	struct ipnet n;
	int fam;
	unsigned char a[16];
	ok(ipnet_parse("10.0.0.0/24", &n) == 0 && n.prefix == 24, "ipnet_parse 10.0.0.0/24");
	ok(ip_parse("10.0.0.255", &fam, a) == 0 && ipnet_contains(&n, fam, a), "10.0.0.255 in 10.0.0.0/24");
	ok(ip_parse("10.0.1.0", &fam, a) == 0 && !ipnet_contains(&n, fam, a), "10.0.1.0 not in 10.0.0.0/24");
	ok(ipnet_parse("10.64.0.0/10", &n) == 0, "ipnet_parse /10");
	ok(ip_parse("10.127.255.255", &fam, a) == 0 && ipnet_contains(&n, fam, a), "10.127.255.255 in 10.64.0.0/10");
	ok(ip_parse("10.128.0.0", &fam, a) == 0 && !ipnet_contains(&n, fam, a), "10.128.0.0 not in 10.64.0.0/10");
	ok(ipnet_parse("0.0.0.0/0", &n) == 0 && ip_parse("1.2.3.4", &fam, a) == 0 && ipnet_contains(&n, fam, a),
	   "everything in 0.0.0.0/0");
	ok(ipnet_parse("fd00::/8", &n) == 0 && ip_parse("fdff::1", &fam, a) == 0 && ipnet_contains(&n, fam, a),
	   "fdff::1 in fd00::/8");
	ok(ip_parse("10.0.0.1", &fam, a) == 0 && !ipnet_contains(&n, fam, a), "IPv4 address not in an IPv6 net");
	ok(ipnet_parse("10.0.0.0/", &n) < 0 && ipnet_parse("/8", &n) < 0 && ipnet_parse("10.0.0.0/0008", &n) < 0,
	   "ipnet_parse rejects bad prefixes");
}

/* ------------------------------------------------------------------ */

static void test_processes(void)
{
	VALID('p', "");
	is_int(P.n, 0, "empty processes config: no processes");
	VALID('p', "~\n");
	is_int(P.n, 0, "null processes config: no processes");
	VALID('p', "{}\n");

	VALID('p', "django:\n    image: django.v3.5.7\n    config: /config/worker_process.yaml\n    instances: 3\n\n"
		   "redis:\n    image: redix.v1\n    config: /config/redis.yaml\n    instances: 1\n");
	is_int(P.n, 2, "two entries");
	const struct process_entry *e = &P.v[0];
	is_str(e->name, "django", "entry name");
	is_int(e->pos.line, 1, "entry position");
	is_int(e->kind, KIND_DAEMON, "default kind Daemon");
	is_str(e->image, "django.v3.5.7", "image");
	is_int(e->image_pos.line, 2, "image position line");
	is_int(e->image_pos.col, 12, "image position column");
	is_str(e->config, "/config/worker_process.yaml", "config");
	is_int(e->instances, 3, "instances");
	ok(e->ip_addresses.n == 0 && e->variables.n == 0 && e->extra_secrets_namespaces.n == 0,
	   "entry defaults: no ip-addresses, variables, extra-secrets-namespaces");
	VALID('p', "a: {image: x, config: /c}\n");
	is_int(P.v[0].instances, 1, "default instances 1");
	VALID('p', "a: {image: x, config: /c, instances: 0}\n");
	is_int(P.v[0].instances, 0, "instances 0");
	VALID('p', "manage:\n    kind: Command\n    image: django.v3.5.7\n    config: /config/manage_py.yaml\n");
	is_int(P.v[0].kind, KIND_COMMAND, "kind Command");
	VALID('p', "a: {kind: Daemon, image: x, config: /c}\nb: {kind: !Command , image: x, config: /c}\n");
	ok(P.v[0].kind == KIND_DAEMON && P.v[1].kind == KIND_COMMAND, "kind Daemon, kind !Command");
	VALID('p', "a: {image: 123, config: /c, variables: {tcp_port: 10001, q: \"main-queue\"}}\n");
	is_str(P.v[0].image, "123", "image: a number is a string");
	ok(P.v[0].variables.n == 2 && !strcmp(kvlist_get(&P.v[0].variables, "tcp_port")->value, "10001"),
	   "variables");
	is_int(kvlist_get(&P.v[0].variables, "tcp_port")->vpos.col, 51, "variable value position");
	VALID('p', "a: {image: x, config: /c, ip-addresses: [10.64.0.10, 10.64.0.11, \"fd00::1\"]}\n");
	ok(P.v[0].ip_addresses.n == 3 && !strcmp(P.v[0].ip_addresses.v[1], "10.64.0.11"), "ip-addresses");
	is_int(P.v[0].ip_addresses_pos.col, 41, "ip-addresses position");
	VALID('p', "a: {image: x, config: /c, extra-secrets-namespaces: [a.b, c]}\n");
	ok(P.v[0].extra_secrets_namespaces.n == 2, "extra-secrets-namespaces");

	static const struct err_case errs[] = {
		{ 'p', "a: {image: x, config: /c.yaml, kind: Foo}\n", "p.yaml:1:38: kind: \"Foo\" is not a kind; expected Daemon or Command" },
		{ 'p', "a: {image: x, config: /c, kind: CommandOrDaemon}\n", "p.yaml:1:33: kind: \"CommandOrDaemon\" is not a kind; expected Daemon or Command" },
		{ 'p', "a: {image: x, config: /c, kind: [x]}\n", "p.yaml:1:33: kind: expected Daemon or Command, got a list" },
		{ 'p', "a: {image: x}\n", "p.yaml:1:4: process \"a\": missing required key \"config\"" },
		{ 'p', "a: {config: /x}\n", "p.yaml:1:4: process \"a\": missing required key \"image\"" },
		{ 'p', "a: {}\n",
		  "p.yaml:1:4: process \"a\": missing required key \"image\"\n"
		  "p.yaml:1:4: process \"a\": missing required key \"config\"" },
		{ 'p', "a b: {image: x, config: /c}\n", "p.yaml:1:1: process name \"a b\" is not valid; expected letters, digits, _ and -" },
		{ 'p', "a.b: {image: x, config: /c}\n", "p.yaml:1:1: process name \"a.b\" is not valid; expected letters, digits, _ and -" },
		{ 'p', "\"\": {image: x, config: /c}\n", "p.yaml:1:1: process name \"\" is not valid; expected letters, digits, _ and -" },
		{ 'p', "a: {image: x, config: /c, instances: 10001}\n", "p.yaml:1:38: instances: \"10001\" is too large; expected a number up to 10000" },
		{ 'p', "a: {image: x, config: /c, instances: -1}\n", "p.yaml:1:38: instances: \"-1\": negative numbers are not allowed; expected a non-negative integer (0x, 0o, 0b prefixes and k, Mi, Gi style units allowed)" },
		{ 'p', "a: {image: x, config: /c, ip-addresses: [1.2.3.4, 1.2.3.4, x]}\n",
		  "p.yaml:1:51: ip-addresses: 1.2.3.4 is listed twice; expected one address per instance\n"
		  "p.yaml:1:60: ip-addresses: \"x\" is not an IP address; expected an IPv4 or IPv6 address" },
		{ 'p', "a: {image: x, config: /c, ip-addresses: [10.0.0.1/24]}\n", "p.yaml:1:42: ip-addresses: \"10.0.0.1/24\" is not an IP address; expected an IPv4 or IPv6 address" },
		{ 'p', "a: {image: x, config: /c, ip_addresses: 1.2.3.4}\n", "p.yaml:1:41: ip-addresses: expected a list of strings, got a scalar" },
		{ 'p', "a: {image: x, config: /c, variables: {x: [1]}}\n", "p.yaml:1:42: variables: value of \"x\": expected a string, got a list" },
		{ 'p', "a: {image: x, config: /c, variables: [x]}\n", "p.yaml:1:38: variables: expected a mapping, got a list" },
		{ 'p', "a: {image: x, config: /c, variables: {x: 1, x: 2}}\n", "p.yaml:1:45: variables: duplicate key \"x\" (first at line 1); expected each key once" },
		{ 'p', "a: {image: x, config: /c, extra-secrets-namespaces: [\"a b\"]}\n", "p.yaml:1:54: extra-secrets-namespaces: \"a b\" is not a valid namespace; expected only letters, digits, _, . and -" },
		{ 'p', "a: 1\n", "p.yaml:1:4: process \"a\": expected a mapping with image and config, got a scalar" },
		{ 'p', "a:\n", "p.yaml:1:3: process \"a\": expected a mapping with image and config, got a null" },
		{ 'p', "a: {image: x, config: /c}\na: {image: y, config: /c}\n", "p.yaml:2:1: processes config: duplicate key \"a\" (first at line 1); expected each key once" },
		{ 'p', "[a]\n", "p.yaml:1:1: processes config: expected a mapping, got a list" },
		{ 'p', "a: {image: [x], config: 1}\n", "p.yaml:1:12: image: expected a string, got a list" },
		{ 'p', "a: {image: ~, config: ~}\n",
		  "p.yaml:1:12: image: expected a string, got null\n"
		  "p.yaml:1:23: config: expected a string, got null" },
	};
	ERRS(errs);
}

/* ------------------------------------------------------------------ */

static void test_master(void)
{
	VALID('m', "");
	is_str(M.file, MASTER, "master file");
	is_str(M.sandboxes_dir, "/etc/lithos/sandboxes", "default sandboxes-dir next to the master file");
	is_str(M.processes_dir, "/etc/lithos/processes", "default processes-dir next to the master file");
	is_str(M.runtime_dir, "/run/lithos", "default runtime-dir");
	is_str(M.state_dir, "/run/lithos/state", "default state-dir");
	is_str(M.mount_dir, "/run/lithos/mnt", "default mount-dir");
	is_str(M.devfs_dir, "/var/lib/lithos/dev", "default devfs-dir");
	is_str(M.cgroup_name, "lithos.slice", "default cgroup-name");
	ok(M.cgroup_controllers.n == 5 && !strcmp(M.cgroup_controllers.v[0], "name") &&
	   !strcmp(M.cgroup_controllers.v[1], "cpu") && !strcmp(M.cgroup_controllers.v[2], "cpuacct") &&
	   !strcmp(M.cgroup_controllers.v[3], "memory") && !strcmp(M.cgroup_controllers.v[4], "blkio"),
	   "default cgroup-controllers [name, cpu, cpuacct, memory, blkio]");
	is_str(M.default_log_dir, "/var/log/lithos", "default default-log-dir");
	is_str(M.config_log_dir, "/var/log/lithos/config", "default config-log-dir");
	is_str(M.stdio_log_dir, "/var/log/lithos/stderr", "default stdio-log-dir");
	is_str(M.log_file, "/var/log/lithos/master.log", "default log-file master.log in default-log-dir");
	is_str(M.log_level, "warn", "default log-level warn");
	is_str(M.syslog_facility, NULL, "no default syslog-facility");
	is_str(M.syslog_name, "lithos", "default syslog-name lithos");
	is_str(M.lxc_path, NULL, "default lxc-path null");
	VALID('m', "# comments only\n");
	VALID('m', "~\n");
	VALID('m', "{}\n");

	master_config_free(&M);
	master_config_defaults(&M, "/srv/conf/master.yaml");
	is_str(M.sandboxes_dir, "/srv/conf/sandboxes", "master_config_defaults: sandboxes-dir next to the master file");

	/* relative paths */
	VALID('m', "sandboxes-dir: sb\nprocesses-dir: ./procs\nruntime-dir: /run/x\nstate-dir: st\nmount-dir: /m\n"
		   "default-log-dir: /logs\nlog-file: l.log\nstdio-log-dir: err\nconfig-log-dir: cfg\n");
	is_str(M.sandboxes_dir, "/etc/lithos/sb", "relative sandboxes-dir is relative to the master file's dir");
	is_str(M.processes_dir, "/etc/lithos/procs", "./procs relative to the master file's dir");
	is_str(M.runtime_dir, "/run/x", "runtime-dir");
	is_str(M.state_dir, "/run/x/st", "relative state-dir is relative to runtime-dir");
	is_str(M.mount_dir, "/m", "absolute mount-dir");
	is_str(M.log_file, "/logs/l.log", "relative log-file is relative to default-log-dir");
	is_str(M.stdio_log_dir, "/logs/err", "relative stdio-log-dir is relative to default-log-dir");
	is_str(M.config_log_dir, "/logs/cfg", "relative config-log-dir is relative to default-log-dir");
	VALID('m', "sandboxes-dir: /abs/sb\nprocesses-dir: /abs/p\nruntime-dir: /r\nlog-file: /l/master.log\n");
	is_str(M.sandboxes_dir, "/abs/sb", "absolute sandboxes-dir");
	is_str(M.processes_dir, "/abs/p", "absolute processes-dir");
	is_str(M.state_dir, "/r/state", "default state-dir follows runtime-dir");
	is_str(M.mount_dir, "/r/mnt", "default mount-dir follows runtime-dir");
	is_str(M.log_file, "/l/master.log", "absolute log-file");
	master_config_free(&M);
	master_config_parse_buffer(&M, "conf/master.yaml", "", 0, &D);
	is_str(M.sandboxes_dir, "conf/sandboxes", "master file given by a relative path");
	master_config_free(&M);
	master_config_parse_buffer(&M, "master.yaml", "processes-dir: p\n", 17, &D);
	is_str(M.processes_dir, "./p", "master file in the current directory");
	char *g = take_diags();
	is_str(g, "", "no problems");
	free(g);

	/* nulls */
	VALID('m', "cgroup-name: null\nconfig-log-dir: null\nsyslog-facility: ~\nlxc-path: ~\n");
	is_str(M.cgroup_name, NULL, "cgroup-name: null turns cgroups off");
	is_str(M.config_log_dir, NULL, "config-log-dir: null turns config logging off");
	is_str(M.syslog_facility, NULL, "syslog-facility: null");
	is_str(M.lxc_path, NULL, "lxc-path: null");
	static const char *const nulls[] = { "~", "null", "Null", "NULL", "" };
	for (size_t i = 0; i < ARRAY_SIZE(nulls); i++) {
		char *y = xasprintf("cgroup-name: %s\nconfig-log-dir: %s\n", nulls[i], nulls[i]);
		VALID('m', y);
		ok(!M.cgroup_name && !M.config_log_dir, "'%s' is null", nulls[i]);
		free(y);
	}
	VALID('m', "cgroup-name: \"null\"\n");
	is_str(M.cgroup_name, "null", "quoted \"null\" is a string");
	VALID('m', "cgroup-name: !!null null\n");
	is_str(M.cgroup_name, NULL, "!!null null");

	/* each key */
	VALID('m', "cgroup-name: lithos2.slice\ncgroup-controllers: [name, cpu, memory]\ndevfs-dir: /dev\n"
		   "log-level: debug\nsyslog-facility: local3\nsyslog-name: lithos-x\nlxc-path: /var/lib/lithos/lxc\n");
	is_str(M.cgroup_name, "lithos2.slice", "cgroup-name");
	ok(M.cgroup_controllers.n == 3 && !strcmp(M.cgroup_controllers.v[2], "memory"), "cgroup-controllers");
	is_str(M.devfs_dir, "/dev", "devfs-dir");
	is_str(M.log_level, "debug", "log-level");
	is_str(M.syslog_facility, "local3", "syslog-facility");
	is_str(M.syslog_name, "lithos-x", "syslog-name");
	is_str(M.lxc_path, "/var/lib/lithos/lxc", "lxc-path");
	VALID('m', "cgroup-controllers: []\n");
	is_int(M.cgroup_controllers.n, 5, "cgroup-controllers: [] is the default");
	VALID('m', "cgroup-controllers: [name]\n");
	is_int(M.cgroup_controllers.n, 1, "cgroup-controllers: [name]");

	static const struct err_case errs[] = {
		{ 'm', "runtime-dir: rel\n", "/etc/lithos/master.yaml:1:14: runtime-dir: \"rel\" is not an absolute path; expected a path starting with /" },
		{ 'm', "devfs-dir: rel\n", "/etc/lithos/master.yaml:1:12: devfs-dir: \"rel\" is not an absolute path; expected a path starting with /" },
		{ 'm', "sandboxes-dir: ~\n", "/etc/lithos/master.yaml:1:16: sandboxes-dir: expected a string, got null" },
		{ 'm', "processes-dir: [a]\n", "/etc/lithos/master.yaml:1:16: processes-dir: expected a string, got a list" },
		{ 'm', "state-dir: ~\n", "/etc/lithos/master.yaml:1:12: state-dir: expected a string, got null" },
		{ 'm', "mount-dir: {}\n", "/etc/lithos/master.yaml:1:12: mount-dir: expected a string, got a mapping" },
		{ 'm', "cgroup-name: /abs\n", "/etc/lithos/master.yaml:1:14: cgroup-name: \"/abs\" is not a valid cgroup name; expected a relative name such as lithos.slice, or null" },
		{ 'm', "cgroup-name: a/../b\n", "/etc/lithos/master.yaml:1:14: cgroup-name: \"a/../b\" is not a valid cgroup name; expected a relative name such as lithos.slice, or null" },
		{ 'm', "cgroup-name: \"\"\n", "/etc/lithos/master.yaml:1:14: cgroup-name: \"\" is not a valid cgroup name; expected a relative name such as lithos.slice, or null" },
		{ 'm', "cgroup-controllers: x\n", "/etc/lithos/master.yaml:1:21: cgroup-controllers: expected a list of strings, got a scalar" },
		{ 'm', "default-log-dir: rel\n", "/etc/lithos/master.yaml:1:18: default-log-dir: \"rel\" is not an absolute path; expected a path starting with /" },
		{ 'm', "config-log-dir: [x]\n", "/etc/lithos/master.yaml:1:17: config-log-dir: expected a string or null, got a list" },
		{ 'm', "stdio-log-dir: ~\n", "/etc/lithos/master.yaml:1:16: stdio-log-dir: expected a string, got null" },
		{ 'm', "log-file: ~\n", "/etc/lithos/master.yaml:1:11: log-file: expected a string, got null" },
		{ 'm', "log-level: x\n", "/etc/lithos/master.yaml:1:12: log-level: \"x\" is not a log level; expected error, warn, info, debug or trace" },
		{ 'm', "syslog-facility: x\n", "/etc/lithos/master.yaml:1:18: syslog-facility: \"x\" is not a syslog facility; expected one of daemon, user, local0 ... local7 and the like" },
		{ 'm', "syslog-name: [x]\n", "/etc/lithos/master.yaml:1:14: syslog-name: expected a string, got a list" },
		{ 'm', "lxc-path: rel\n", "/etc/lithos/master.yaml:1:11: lxc-path: \"rel\" is not an absolute path; expected a path starting with / or null (LXC's own lxc.lxcpath)" },
		{ 'm', "[]\n", "/etc/lithos/master.yaml:1:1: master config: expected a mapping, got a list" },
		{ 'm', "\"just a string\"\n", "/etc/lithos/master.yaml:1:1: master config: expected a mapping, got a scalar" },
	};
	ERRS(errs);
}

/* ------------------------------------------------------------------ */

/* The examples of the lithos 0.18 reference, as printed there. */
static void test_reference_examples(void)
{
	/* chapter 1 */
	VALID('C', "executable: /usr/bin/python3.6\narguments:\n- myapp.py\n- --port=8080\n\n"
		   "work-dir: /app\nenviron:\n   LANG: en_US.utf-8\n\nmemory-limit: 100Mi\nfileno-limit: 1k\n");
	ok(!strcmp(C.workdir, "/app") && C.memory_limit == 100ULL << 20 && C.fileno_limit == 1000,
	   "reference 1.1.1: container config");
	VALID('C', "executable: /usr/bin/python3.6\narguments:\n- myapp.py\n- --port=8080\n\n"
		   "work-dir: /app\nenviron:\n   LANG: en_US.utf-8\nvolumes:\n   /var/lib/sqlite: !Persistent /db\n\n"
		   "memory-limit: 100Mi\nfileno-limit: 1k\n");
	ok(C.n_volumes == 1 && C.volumes[0].kind == VOL_PERSISTENT, "reference 1.1.1: container config with a disk");
	VALID('S', "image-dir: /opt/app1-images\nallow-users: [100000-165535]\nallow-groups: [100000-165535]\n"
		   "default-user: 100000\ndefault-group: 100000\n");
	ok(S.default_user == 100000 && ranges_contain(&S.allow_groups, 165535), "reference 1.1.2: sandbox");
	VALID('S', "image-dir: /opt/app1-images\nimage-dir-levels: 1 # default value\n");
	VALID('S', "image-dir: /opt/app2-images\nimage-dir-levels: 2\n");
	VALID('s', "readonly-paths:\n   /timezones: /usr/share/timezones\nwritable-paths:\n   /db: /var/lib/app1-database\n");
	VALID('C', "executable: /usr/bin/python3.6\narguments:\n- myapp.py\n- --port=8080\nvolumes:\n"
		   "   /etc/timezones: !Readonly /timezones\n   /var/lib/sqlite: !Persistent /db\n");
	VALID('s', "bridged-network:\n  bridge: br0\n  network: 10.64.0.0/16\n  default-gateway: 10.64.255.254\n"
		   "  after-setup-command: [/usr/bin/arping, -U, -c1, '@{container_ip}']\n");
	VALID('m', "cgroup-controllers: [name,cpu,memory]\n");
	is_int(M.cgroup_controllers.n, 3, "reference 1.1.2: master cgroup-controllers");
	VALID('m', "cgroup-controllers: [name,cpu,memory]\nconfig-log-dir: null\n");
	is_str(M.config_log_dir, NULL, "reference 1.1.2: config-log-dir: null");
	VALID('p', "web-worker:\n    kind: Daemon\n    image: web-wrk/d7399260\n    config: \"/config/web-worker.yaml\"\n    instances: 2\n\n"
		   "background-worker:\n    kind: Daemon\n    image: task-queue/d7399260\n    config: \"/config/task-queue.yaml\"\n    instances: 3\n");
	ok(P.n == 2 && P.v[1].instances == 3, "reference 1.1.3: processes");
	VALID('p', "web-worker:\n   kind: Daemon\n   image: web-wrk/d7399260\n   config: \"/config/web-worker.yaml\"\n   instances: 2\n"
		   "   ip_addresses:\n   - 10.64.0.10\n   - 10.64.0.11\n");
	is_int(P.v[0].ip_addresses.n, 2, "reference 1.1.3: ip_addresses");
	VALID('p', "background-worker:\n  kind: Daemon\n  image: task-queue/d7399260\n  config: \"/config/task-queue.yaml\"\n"
		   "  instances: 3\n  variables:\n    queue_name: \"main-queue\"\n");
	/* chapter 3 */
	VALID('s', "allow-users: [1, 99, 1000-2000]\n");
	VALID('s', "uid-map: [{outside: 100000, inside: 0, count: 65536}]\ngid-map: [{outside: 100000, inside: 0, count: 65536}]\n"
		   "allow-users: [1-65535]\n");
	ok(!ranges_contain(&S.allow_users, 0) && ranges_contain(&S.allow_users, 65535), "reference 3.1: uid-map with allow-users [1-65535]");
	VALID('s', "uid-map:\n    - {inside: 0, outside: 1000, count: 1}\n    - {inside: 1, outside: 1, count: 1}\n"
		   "gid-map:\n    - {inside: 0, outside: 100, count: 1}\n");
	is_int(S.uid_map.n, 2, "reference 3.1: uid-map example");
	VALID('s', "bridged-network:\n  bridge: br0\n  network: 10.0.0.0/24\n  default_gateway: 10.0.0.1\n"
		   "  after-setup-command: [/usr/bin/arping, -U, -c1, '@{container_ip}']\n");
	VALID('s', "bridged-network: {bridge: br0, network: 10.0.0.0/24, after-setup-command: [/usr/bin/arping, -c1, '10.0.0.1']}\n");
	VALID('s', "bridged-network: {bridge: br0, network: 10.0.0.0/24, after-setup-command: [/usr/bin/ping, -c1, '10.0.0.1']}\n");
	VALID('s', "secrets-private-key: /etc/lithos/keys/main.key\nsecrets-namespaces: [myapp]\n");
	VALID('s', "secrets-namespaces:\n- project1.web\n- project1.celery\n");
	/* chapter 4 */
	VALID('p', "django:\n    image: django.v3.5.7\n    config: /config/worker_process.yaml\n    instances: 3\n\n"
		   "redis:\n    image: redix.v1\n    config: /config/redis.yaml\n    instances: 1\n");
	VALID('p', "manage:\n    kind: Command\n    image: django.v3.5.7\n    config: /config/manage_py.yaml\n");
	VALID('p', "django:\n    image: django.v3.5.7\n    config: /config/worker_process.yaml\n    variables:\n"
		   "        tcp_port: 10001\n    instances: 3\n");
	/* chapter 5 */
	VALID('C', "kind: Daemon\nuser-id: 1\nvolumes:\n   /tmp: !Tmpfs { size: 100m }\nexecutable: /bin/sleep\narguments: [60]\n");
	ok(C.volumes[0].kind == VOL_TMPFS && C.volumes[0].size == 100000000ULL, "reference 5: !Tmpfs { size: 100m }");
	VALID('C', "variables:\n   tcp_port: !TcpPort\nkind: Daemon\nuser-id: 1\nvolumes:\n   /tmp: !Tmpfs { size: 100m }\n"
		   "executable: /bin/some_program\narguments:\n   - \"--listen=localhost:@{tcp_port}\"\n");
	ok(C.n_variables == 1, "reference 5.1: variables");
	ok(validate_container(NULL, NULL, NULL, &C, &D), "reference 5.1: variable references check out");
	VALID('c', "variables:\n  port1: !TcpPort { activation: systemd }\n  port2: !TcpPort { activation: systemd }\n");
	VALID('c', "variables:\n   port1: !TcpPort\n   port2: !TcpPort\ntcp-ports:\n   \"@{port1}\":\n     fd: 3\n   \"@{port2}\":\n     fd: 4\n"
		   "environ:\n   LISTEN_FDS: 1\n   LISTEN_FDNAMES: \"port1:port2\"\n   LISTEN_PID: \"@{lithos:pid}\"\n");
	ok(validate_container(NULL, NULL, NULL, &C, &D), "reference 5.1: the expanded form checks out");
	VALID('c', "variables: {prio: !Choice [\"high-priority\", \"low-priority\"]}\n");
	VALID('c', "secret-environ:\n  DB_PASSWORD:\n    v2:ROit92I5:82HdsExJ:Gd3ocJsr:Hp3pngQZUos5b8ioKVUx40kegM1uDsYWwsWqC1cJ1/HKmQPQQWJZe86xgl1EOIxbuLj6PUlBH8yz5qCnWp//Ofbc\n");
	VALID('c', "resolv-conf:\n   mount: nil # which basically means \"auto\"\n   copy-from-host: true\n");
	is_int(C.resolv_conf.mount, TRI_AUTO, "reference 5.2: mount: nil is auto");
	VALID('c', "hosts-file:\n    mount: nil # which basically means \"auto\"\n    localhost: true\n    public-hostname: true\n    copy-from-host: false\n");
	VALID('c', "uid-map:\n- {inside: 0, outside: 1000, count: 1}\n- {inside: 1, outside: 1, count: 1}\ngid-map:\n- {inside: 0, outside: 100, count: 1}\n");
	VALID('c', "tcp-ports:\n  7777:\n    fd: 3\n    host: 0.0.0.0\n    listen-backlog: 128\n    reuse-addr: true\n    reuse-port: false\n");
	VALID('c', "tcp-ports:\n  80:\n    fd: 3\n    set-non-block: true\nenviron:\n  NGINX: \"3;\"\n");
	VALID('c', "tcp-ports:\n  80:\n    fd: 3\nenviron:\n  GUNICORN_FD: \"3\"\n");
	/* chapter 7 */
	VALID('c', "volumes:\n  /a: !Readonly \"/path/to/dir\"\n"
		   "  /b: !Persistent { path: /path/to/dir, mkdir: false, mode: 0o700, user: 0, group: 0 }\n"
		   "  /c: !Statedir { path: /, mode: 0o700, user: 0, group: 0 }\n"
		   "  /d: !Tmpfs { size: 100Mi, mode: 0o766 }\n");
	ok(C.n_volumes == 4 && C.volumes[1].mode == 0700 && C.volumes[3].mode == 0766 &&
	   C.volumes[3].size == 100ULL << 20, "reference 7: volume examples");
	/* chapter 8 */
	VALID('c', "environ:\n  LISTEN_FDS: 1  # application receives single file descriptor\n"
		   "tcp-ports:\n  8080: # port number\n    fd: 3  # SD_LISTEN_FDS_START, first fd number systemd passes\n"
		   "    host: 0.0.0.0\n    listen-backlog: 128  # application may change this on its own\n    reuse-addr: true\n");
	VALID('c', "environ:\n    WERKZEUG_SERVER_FD: 3\ntcp-ports:\n  8080:\n    fd: 3\n    host: 0.0.0.0\n"
		   "    listen-backlog: 128\n    reuse-addr: true\n");
	VALID('m', "devfs-dir: /dev\n");
	char *g = take_diags();
	is_str(g, "", "reference examples: no problems");
	free(g);
}

int main(void)
{
	test_numbers();
	test_bools();
	test_container_defaults();
	test_container_keys();
	test_container_volumes();
	test_container_tcp_ports();
	test_container_variables();
	test_unknown_keys();
	test_dash_underscore();
	test_yaml_features();
	test_ranges();
	test_sandbox();
	test_bridged_network();
	test_processes();
	test_master();
	test_reference_examples();
	container_config_free(&C);
	sandbox_config_free(&S);
	processes_config_free(&P);
	master_config_free(&M);
	diags_free(&D);
	return done_testing();
}
