/* Unit tests of instantiation (translator/instance.c): substitution of
 * declared variables in arguments, environ values and tcp-ports keys only,
 * the lithos: built-ins, systemd activation expanded into tcp-ports and
 * LISTEN_FDS/LISTEN_FDNAMES/LISTEN_PID, and instance names.
 */
#include "config.h"
#include "instance.h"
#include "util.h"
#include "validate.h"
#include "../tap.h"

#include <string.h>

static struct diags D;
static struct sandbox_config S;
static struct processes_config P;
static struct container_config C;
static struct instance I;

static char *take_diags(void)
{
	struct buf b = { 0 };
	for (size_t i = 0; i < D.n; i++) {
		char *s = diag_format(&D.v[i]);
		buf_printf(&b, "%s%s", i ? "\n" : "", s);
		free(s);
	}
	diags_free(&D);
	return b.p ? b.p : xstrdup("");
}

#define DIAGS_ARE(want, ...) do { \
	char *_got = take_diags(); \
	is_str(_got, want, __VA_ARGS__); \
	free(_got); \
} while (0)

static void setup(const char *sandbox, const char *processes, const char *container)
{
	sandbox_config_free(&S);
	processes_config_free(&P);
	container_config_free(&C);
	char *sb = xasprintf("image-dir: /images\n%s%s",
			     strstr(sandbox, "allow-users") ? "" : "allow-users: [1]\nallow-groups: [1]\n",
			     sandbox);
	sandbox_config_parse_buffer(&S, "app", "s.yaml", sb, strlen(sb), &D);
	free(sb);
	processes_config_parse_buffer(&P, "p.yaml", processes, strlen(processes), &D);
	char *cc = xasprintf("executable: /bin/x\nuser-id: 1\ngroup-id: 1\n%s", container);
	container_config_parse_buffer(&C, "c.yaml", cc, strlen(cc), &D);
	free(cc);
	DIAGS_ARE("", "configs parse");
}

/* Build instance `index` (or the command instance of pid `cmd`) of the
 * first entry; returns instance_build's result. */
static int build(uint32_t index, long cmd, char *const *extra, size_t n_extra)
{
	instance_free(&I);
	return instance_build(&I, &S, &P.v[0], &C, "/images/web", index, cmd, extra, n_extra, &D);
}

static const char *env(const char *name)
{
	const struct kv *kv = kvlist_get(&I.env, name);
	return kv ? kv->value : NULL;
}

static bool has_pid_env(const char *name)
{
	for (size_t i = 0; i < I.pid_env.n; i++)
		if (!strcmp(I.pid_env.v[i], name))
			return true;
	return false;
}

static const struct inst_port *port(uint16_t p)
{
	for (size_t i = 0; i < I.n_ports; i++)
		if (I.ports[i].port == p)
			return &I.ports[i];
	return NULL;
}

/* ------------------------------------------------------------------ */

static void test_substitute(void)
{
	struct kvlist vars = { 0 };
	struct kv v1 = { xstrdup("port"), xstrdup("8080"), { 0, 0 }, { 0, 0 } };
	struct kv v2 = { xstrdup("q"), xstrdup("main"), { 0, 0 }, { 0, 0 } };
	VEC_PUSH(vars.v, vars.n, v1);
	VEC_PUSH(vars.v, vars.n, v2);
	static const struct {
		const char *in, *out, *err;
	} cases[] = {
		{ "plain", "plain", NULL },
		{ "", "", NULL },
		{ "@{port}", "8080", NULL },
		{ "--listen=localhost:@{port}", "--listen=localhost:8080", NULL },
		{ "@{q}@{q}-@{port}!", "mainmain-8080!", NULL },
		{ "@{lithos:name}", "app/web.0", NULL },
		{ "@{lithos:config_filename}", "/config/web.yaml", NULL },
		{ "@{lithos:pid}", "@{lithos:pid}", NULL },
		{ "@ {port} @port {port}", "@ {port} @port {port}", NULL },
		{ "@{nope}", NULL, "variable @{nope} has no value" },
		{ "@{lithos:nope}", NULL, "variable @{lithos:nope} has no value" },
		{ "a@{port", NULL, "unterminated @{ in \"a@{port\"" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *err = NULL;
		char *r = substitute(cases[i].in, &vars, "app/web.0", "/config/web.yaml", &err);
		is_str(r, cases[i].out, "substitute(\"%s\")", cases[i].in);
		is_str(err, cases[i].err, "substitute(\"%s\") error", cases[i].in);
		free(r);
		free(err);
	}
	kvlist_free(&vars);
}

static void test_substitution_places(void)
{
	setup("allow-tcp-ports: [8080, 9000]\n",
	      "web:\n  image: web\n  config: /config/web.yaml\n  instances: 3\n"
	      "  variables: {port: \"8080\", queue: main, extra: \"x\"}\n",
	      "variables: {port: !TcpPort , queue: !Name }\n"
	      "workdir: \"/work/@{queue}\"\n"
	      "arguments: [\"--port=@{port}\", \"--queue=@{queue}\", \"@{lithos:name}\", \"@{lithos:config_filename}\", \"@@{queue}}\"]\n"
	      "environ:\n  QUEUE: \"q-@{queue}\"\n  \"@{queue}\": literal-key\n  NAME: \"@{lithos:name}\"\n  CONFIG: \"@{lithos:config_filename}\"\n"
	      "  PID: \"@{lithos:pid}\"\n  PLAIN: plain\n"
	      "tcp-ports:\n  \"@{port}\": {fd: 3}\n  9000: {fd: 4, host: 127.0.0.1}\n"
	      "volumes: {\"/v/@{queue}\": !Tmpfs }\n");
	ok(validate_container(&S, &P.v[0], "p.yaml", &C, &D), "configs validate");
	DIAGS_ARE("", "no validation problems");
	is_int(build(2, 0, NULL, 0), 0, "instance builds");
	DIAGS_ARE("", "no instance problems");
	is_str(I.name, "app/web.2", "daemon instance name SANDBOX/PROC.N");
	is_str(I.lxc_name, "app.web.2", "daemon LXC name SANDBOX.PROC.N");
	is_int(I.index, 2, "index");
	ok(!I.is_command, "not a command");
	is_str(I.image_root, "/images/web", "image root");
	is_str(I.config_path, "/config/web.yaml", "config path");
	is_int(I.uid, 1, "uid");
	is_int(I.gid, 1, "gid");
	ok(I.ip == NULL, "no ip without bridged-network");
	is_int(I.argv.n, 6, "argv: executable + 5 arguments");
	is_str(I.argv.v[0], "/bin/x", "argv[0] is the executable");
	is_str(I.argv.v[1], "--port=8080", "argument: declared TcpPort substituted");
	is_str(I.argv.v[2], "--queue=main", "argument: declared Name substituted");
	is_str(I.argv.v[3], "app/web.2", "argument: @{lithos:name}");
	is_str(I.argv.v[4], "/config/web.yaml", "argument: @{lithos:config_filename}");
	is_str(I.argv.v[5], "@main}", "argument: text around a reference kept");
	is_str(env("QUEUE"), "q-main", "environ value substituted");
	is_str(env("@{queue}"), "literal-key", "environ keys are not substituted");
	ok(env("main") == NULL, "no environ key made from a variable");
	is_str(env("NAME"), "app/web.2", "environ: @{lithos:name}");
	is_str(env("CONFIG"), "/config/web.yaml", "environ: @{lithos:config_filename}");
	is_str(env("PID"), "@{lithos:pid}", "environ: @{lithos:pid} kept for the start");
	ok(has_pid_env("PID"), "PID recorded in pid_env");
	is_int(I.pid_env.n, 1, "only PID in pid_env");
	is_str(env("PLAIN"), "plain", "plain environ value");
	ok(env("LISTEN_FDS") == NULL && env("LISTEN_PID") == NULL, "no LISTEN_* without activation");
	for (size_t i = 1; i < I.env.n; i++)
		ok(strcmp(I.env.v[i - 1].key, I.env.v[i].key) < 0, "environ sorted: %s < %s",
		   I.env.v[i - 1].key, I.env.v[i].key);
	is_int(I.n_ports, 2, "two ports");
	ok(port(8080) && port(8080)->fd == 3, "tcp-ports key substituted: 8080 at fd 3");
	ok(port(9000) && port(9000)->fd == 4 && !strcmp(port(9000)->opts->host, "127.0.0.1"),
	   "literal port 9000 at fd 4 with its options");
	/* no substitution elsewhere */
	is_str(C.workdir, "/work/@{queue}", "workdir is not substituted");
	is_str(C.volumes[0].mountpoint, "/v/@{queue}", "volume mount points are not substituted");

	/* another instance of the same entry */
	is_int(build(0, 0, NULL, 0), 0, "instance 0 builds");
	is_str(I.name, "app/web.0", "instance 0 name");
	is_str(I.argv.v[3], "app/web.0", "@{lithos:name} of instance 0");
}

static void test_only_declared(void)
{
	/* a value the container does not declare is not substituted */
	setup("", "web:\n  image: web\n  config: /config/web.yaml\n  variables: {extra: \"x\"}\n",
	      "arguments: [\"@{extra}\"]\nenviron: {E: \"@{extra}\"}\n");
	is_int(build(0, 0, NULL, 0), -1, "undeclared variable: instance fails");
	DIAGS_ARE("c.yaml:4:13: arguments: variable @{extra} has no value\n"
		  "c.yaml:5:14: environ: E: variable @{extra} has no value",
		  "undeclared variable is not substituted");
	/* a declared variable without a value */
	setup("", "web:\n  image: web\n  config: /config/web.yaml\n",
	      "variables: {q: !Name }\narguments: [\"@{q}\"]\n");
	is_int(build(0, 0, NULL, 0), -1, "declared variable without a value: instance fails");
	DIAGS_ARE("c.yaml:5:13: arguments: variable @{q} has no value", "declared variable without a value");
}

static void test_systemd_activation(void)
{
	setup("allow-tcp-ports: [8000-9000]\n",
	      "web:\n  image: web\n  config: /config/web.yaml\n  variables: {b_port: \"8002\", a_port: \"8001\", c: \"8003\"}\n",
	      "variables:\n  b_port: !TcpPort { activation: systemd }\n  c: !TcpPort\n  a_port: !TcpPort { activation: systemd }\n"
	      "environ: {LANG: C}\n"
	      "tcp-ports: {\"@{c}\": {fd: 7}}\n");
	ok(validate_container(&S, &P.v[0], "p.yaml", &C, &D), "activation config validates");
	DIAGS_ARE("", "no validation problems");
	is_int(build(0, 0, NULL, 0), 0, "activation instance builds");
	DIAGS_ARE("", "no instance problems");
	is_int(I.n_ports, 3, "three ports");
	ok(port(8001) && port(8001)->fd == 3, "a_port (first by name) at fd 3");
	ok(port(8002) && port(8002)->fd == 4, "b_port (second by name) at fd 4");
	ok(port(8003) && port(8003)->fd == 7, "the explicit tcp-port keeps its fd");
	const struct inst_port *p = port(8001);
	ok(p && !strcmp(p->opts->host, "0.0.0.0") && p->opts->listen_backlog == 128 && p->opts->reuse_addr &&
	   !p->opts->reuse_port && !p->opts->external && !p->opts->set_non_block,
	   "activation ports get the default socket options");
	is_str(env("LISTEN_FDS"), "2", "LISTEN_FDS=2");
	is_str(env("LISTEN_FDNAMES"), "a_port:b_port", "LISTEN_FDNAMES in variable-name order");
	is_str(env("LISTEN_PID"), "@{lithos:pid}", "LISTEN_PID=@{lithos:pid}");
	ok(has_pid_env("LISTEN_PID"), "LISTEN_PID recorded in pid_env");
	is_str(env("LANG"), "C", "other environ kept");
	for (size_t i = 1; i < I.env.n; i++)
		ok(strcmp(I.env.v[i - 1].key, I.env.v[i].key) < 0, "environ sorted: %s < %s",
		   I.env.v[i - 1].key, I.env.v[i].key);

	/* the reference's two-port example: port1 fd 3, port2 fd 4 */
	setup("allow-tcp-ports: [1000-2000]\n",
	      "web:\n  image: web\n  config: /config/web.yaml\n  variables: {port1: \"1001\", port2: \"1002\"}\n",
	      "variables:\n  port1: !TcpPort { activation: systemd }\n  port2: !TcpPort { activation: systemd }\n");
	is_int(build(0, 0, NULL, 0), 0, "two-port example builds");
	ok(port(1001) && port(1001)->fd == 3 && port(1002) && port(1002)->fd == 4, "port1 at fd 3, port2 at fd 4");
	is_str(env("LISTEN_FDNAMES"), "port1:port2", "LISTEN_FDNAMES=port1:port2");
	is_str(env("LISTEN_FDS"), "2", "LISTEN_FDS=2");

	/* one port */
	setup("allow-tcp-ports: [8080]\n", "web:\n  image: web\n  config: /config/web.yaml\n  variables: {http: \"8080\"}\n",
	      "variables: {http: !TcpPort {activation: systemd}}\n");
	is_int(build(0, 0, NULL, 0), 0, "one-port activation builds");
	ok(I.n_ports == 1 && port(8080) && port(8080)->fd == 3, "one port at fd 3");
	is_str(env("LISTEN_FDS"), "1", "LISTEN_FDS=1");
	is_str(env("LISTEN_FDNAMES"), "http", "LISTEN_FDNAMES=http");

	/* activation fds clash with explicit tcp-ports */
	setup("allow-tcp-ports: [8000-9000]\n",
	      "web:\n  image: web\n  config: /config/web.yaml\n  variables: {a: \"8001\", b: \"8002\"}\n",
	      "variables:\n  a: !TcpPort { activation: systemd }\n  b: !TcpPort { activation: systemd }\n"
	      "tcp-ports: {8500: {fd: 4}}\n");
	is_int(build(0, 0, NULL, 0), -1, "activation fd clash fails");
	DIAGS_ARE("c.yaml:6:3: variable b: systemd activation uses fd 4, which tcp-ports already uses for port 8500; expected tcp-ports to leave fds 3 to 4 free",
		  "activation fd clash");
}

static void test_ports_checked(void)
{
	setup("allow-tcp-ports: [8080]\n", "web:\n  image: web\n  config: /config/web.yaml\n  variables: {p: \"9090\"}\n",
	      "variables: {p: !TcpPort }\ntcp-ports: {\"@{p}\": {fd: 3}}\n");
	is_int(build(0, 0, NULL, 0), -1, "substituted port outside allow-tcp-ports fails");
	DIAGS_ARE("c.yaml:5:13: tcp-ports: port 9090 is not in allow-tcp-ports [8080] of sandbox app; expected an allowed port",
		  "substituted port checked against allow-tcp-ports");
	setup("allow-tcp-ports: [8080]\n", "web:\n  image: web\n  config: /config/web.yaml\n  variables: {p: web}\n",
	      "variables: {p: !Name }\ntcp-ports: {\"@{p}\": {fd: 3}}\n");
	is_int(build(0, 0, NULL, 0), -1, "substituted port that is not a number fails");
	DIAGS_ARE("c.yaml:5:13: tcp-ports: \"web\" is not a port; expected a number from 1 to 65535",
		  "substituted port must be a number");
}

static void test_commands(void)
{
	setup("", "manage:\n  kind: Command\n  image: web\n  config: /config/manage.yaml\n",
	      "kind: CommandOrDaemon\narguments: [manage.py, \"@{lithos:name}\"]\n");
	char *extra[] = { "syncdb", "@{lithos:name}" };
	is_int(build(0, 1234, extra, 2), 0, "command instance builds");
	DIAGS_ARE("", "no problems");
	ok(I.is_command, "is a command");
	is_str(I.name, "app/cmd.manage.1234", "command name SANDBOX/cmd.PROC.PID");
	is_str(I.lxc_name, "app.cmd.manage.1234", "command LXC name SANDBOX.cmd.PROC.PID");
	is_int(I.argv.n, 5, "argv: executable, 2 arguments, 2 extra");
	is_str(I.argv.v[2], "app/cmd.manage.1234", "@{lithos:name} of a command");
	is_str(I.argv.v[3], "syncdb", "extra arguments appended");
	is_str(I.argv.v[4], "@{lithos:name}", "extra arguments are not substituted");
	is_str(I.config_path, "/config/manage.yaml", "config path of the command");
}

static void test_ids_and_addresses(void)
{
	setup("allow-users: [1-10]\ndefault-user: 7\nallow-groups: [1-10]\ndefault-group: 8\n"
	      "bridged-network: {bridge: br0, network: 10.0.0.0/24}\n",
	      "web:\n  image: web\n  config: /config/web.yaml\n  instances: 2\n  ip-addresses: [10.0.0.10, 10.0.0.11]\n", "");
	/* the setup() container sets user-id and group-id 1 */
	is_int(build(1, 0, NULL, 0), 0, "bridged instance builds");
	is_int(I.uid, 1, "uid from the container");
	is_str(I.ip, "10.0.0.11", "instance 1 gets the second address");
	is_int(build(0, 0, NULL, 0), 0, "instance 0 builds");
	is_str(I.ip, "10.0.0.10", "instance 0 gets the first address");
	container_config_free(&C);
	const char *cc = "executable: /bin/x\n";
	container_config_parse_buffer(&C, "c.yaml", cc, strlen(cc), &D);
	is_int(build(0, 0, NULL, 0), 0, "instance with sandbox defaults builds");
	ok(I.uid == 7 && I.gid == 8, "uid and gid from default-user and default-group");
	DIAGS_ARE("", "no problems");
}

int main(void)
{
	test_substitute();
	test_substitution_places();
	test_only_declared();
	test_systemd_activation();
	test_ports_checked();
	test_commands();
	test_ids_and_addresses();
	instance_free(&I);
	sandbox_config_free(&S);
	processes_config_free(&P);
	container_config_free(&C);
	diags_free(&D);
	return done_testing();
}
