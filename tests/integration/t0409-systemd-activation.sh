#!/bin/bash
# t0409: `!TcpPort {activation: systemd}` with real socket-activated
# consumers under lithos_tree.
# What was chosen: the test image has no python3, so a second image t/py is
# the same busybox image plus the host's python3 binary, the libraries ldd
# lists for it and its standard library, hard-linked from the host (a
# !Readonly volume of the host's /usr cannot be used: lithos-lxc mounts
# volumes noexec).  python3 runs in the container as a small server that
# speaks the systemd protocol:
# LISTEN_PID must be its own pid, LISTEN_FDS sockets from fd 3, named by
# LISTEN_FDNAMES (two activation variables, admin and web: fds 3 and 4 in
# name order).  A second consumer, the static tt_srv of treetest.sh in
# systemd mode, runs in the plain busybox image.  When the host's python3
# cannot be put into an image that way, the python part is skipped.
# - both consumers accept the sockets and answer on the right ports, with
#   LISTEN_PID equal to their own pid (2 in the container), after the first
#   start and after a restart (process killed);
# - the ports stay bound by the tree across the restart and close when the
#   entries are removed; counts of running containers; nothing left behind.
# The activation sockets bind 0.0.0.0 (lithos's default for them); the test
# only connects to 127.0.0.1 (DESIGN.md, network rule for tests).
# TAP.  Needs root, LXC, busybox-static, python3 and gcc -static.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/treetest.sh"
tt_init t0409
command -v gcc >/dev/null 2>&1 || skip_all "gcc is needed to build the test server"
itest_image
tt_build_server "$IMAGES/t/v1/bin/tt_srv" || skip_all "cannot build a static test server (gcc -static)"

# the python image: the busybox image plus the host's python3 (Debian's
# /usr/bin/python3, whose socket and select modules are built in), the
# shared libraries ldd names and the standard library, hard-linked (copied
# across file systems) into it
PY=yes
PYIMG=$IMAGES/t/py
build_py_image() {
	local bin lib f
	bin=$(readlink -f /usr/bin/python3 2>/dev/null)
	[ -x "$bin" ] || return 1
	lib=/usr/lib/$(basename "$bin")
	[ -f "$lib/os.py" ] || return 1
	itest_image t/py
	link() { # SRC DEST
		mkdir -p "$(dirname "$2")"
		cp -l "$1" "$2" 2>/dev/null || cp "$1" "$2"
	}
	link "$bin" "$PYIMG/bin/python3" || return 1
	for f in $(ldd "$bin" | awk '$2 == "=>" { print $3 } $1 ~ /^\// { print $1 }'); do
		link "$(readlink -f "$f")" "$PYIMG$f" || return 1
	done
	mkdir -p "$PYIMG/usr/lib"
	cp -al "$lib" "$PYIMG$lib" 2>/dev/null || cp -a "$lib" "$PYIMG$lib" || return 1
	rm -rf "$PYIMG$lib/dist-packages" "$PYIMG$lib/site-packages" "$PYIMG$lib/test"
}
if [ -n "$PY" ] && ! build_py_image >"$T/py-image.log" 2>&1; then
	diag_file "$T/py-image.log" "python image"
	PY=
fi
if [ -n "$PY" ]; then
	cat >"$IMAGES/t/py/config/srv.py" <<'EOF'
# a socket-activated server as systemd documents it (sd_listen_fds)
import os, selectors, socket, sys

pid = os.getpid()
listen_pid = os.environ.pop("LISTEN_PID", None)
nfds = os.environ.pop("LISTEN_FDS", None)
names = os.environ.pop("LISTEN_FDNAMES", "").split(":")
if listen_pid is None or int(listen_pid) != pid or not nfds or int(nfds) < 1:
    print("srv.py: not socket-activated: LISTEN_PID=%s (we are %d) LISTEN_FDS=%s"
          % (listen_pid, pid, nfds), file=sys.stderr, flush=True)
    sys.exit(2)
sel = selectors.DefaultSelector()
for i in range(int(nfds)):
    s = socket.socket(fileno=3 + i)
    sel.register(s, selectors.EVENT_READ, names[i] if i < len(names) else "?")
print("srv.py: serving %s sockets: %s" % (nfds, ":".join(names)), flush=True)
while True:
    for key, _ in sel.select():
        c, _ = key.fileobj.accept()
        c.sendall(("%s fdname=%s pid=%d listen_pid=%s fds=%s\n"
                   % (os.environ.get("LITHOS_NAME"), key.data, pid, listen_pid, nfds)).encode())
        c.close()
EOF
fi

PORTS=
for i in $(seq 100); do
	p=$((21000 + RANDOM % 8000))
	case " $PORTS " in *" $p "*) continue ;; esac
	[ -z "$(ss -ltnH "sport = :$p")" ] && PORTS="$PORTS $p"
	[ "$(echo $PORTS | wc -w)" -eq 3 ] && break
done
set -- $PORTS
WEB=$1 ADMIN=$2 CPORT=$3
diag "ports: web $WEB, admin $ADMIN, static consumer $CPORT"

itest_master
itest_sandbox s <<EOF
allow-users: [1000]
allow-groups: [1000]
allow-tcp-ports: [$WEB, $ADMIN, $CPORT]
EOF
IMAGE=t/py tt_config py <<'EOF'
kind: Daemon
user-id: 1000
group-id: 1000
variables:
  web: !TcpPort {activation: systemd}
  admin: !TcpPort {activation: systemd}
executable: /usr/bin/python3
arguments: [-u, -B, /config/srv.py]
environ: {PATH: /usr/bin:/bin, PYTHONHOME: /usr}
restart-timeout: 0
EOF
tt_config csrv <<'EOF'
kind: Daemon
user-id: 1000
group-id: 1000
variables:
  port: !TcpPort {activation: systemd}
executable: /bin/tt_srv
arguments: [systemd]
restart-timeout: 0
EOF
procs() {
	[ -n "$PY" ] && printf 'py:\n  kind: Daemon\n  image: t/py\n  config: /config/py.yaml\n  variables: {web: %s, admin: %s}\n' "$WEB" "$ADMIN"
	printf 'csrv:\n  kind: Daemon\n  image: t/v1\n  config: /config/csrv.yaml\n  variables: {port: %s}\n' "$CPORT"
}
NAMES="s.py.0 s.csrv.0"
want=1
[ -n "$PY" ] && want=2
all_apps() { local n; for n in "$@"; do [ -n "$(tt_app_pid "$n")" ] || return 1; done; }
RUNS="s.csrv.0"
[ -n "$PY" ] && RUNS="s.py.0 s.csrv.0"
env_of() { tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | grep -E '^LISTEN_' | sort | tr '\n' ' '; }

procs | tt_processes s
tt_start_tree || bail_out "lithos_tree did not start"
tt_wait_running $want 20 "all_apps $RUNS"
ok $? "lxc-ls: $want containers run"
is "$(tt_ps_running)" $want "lithos_ps: $want running"

# ---- the static consumer
tt_wait_for 10 '[ "$(tt_connect "$CPORT" | grep -c "^s/csrv.0 ")" -eq 1 ]'
is "$(tt_connect "$CPORT")" "s/csrv.0 pid=2 listen_pid=2 fds=1 names=port" \
	"tt_srv: activated with LISTEN_PID = its pid, LISTEN_FDS=1, LISTEN_FDNAMES=port"
is "$(env_of "$(tt_app_pid s.csrv.0)")" "LISTEN_FDNAMES=port LISTEN_FDS=1 LISTEN_PID=2 " "its environment on the host view"

# ---- python3
if [ -n "$PY" ]; then
	tt_wait_for 15 'grep -q "srv.py: serving" "$STDIO_LOG_DIR/s.log"'
	ok $? "python3 server started: $(grep -h 'srv.py' "$STDIO_LOG_DIR/s.log" | tail -1)"
	is "$(tt_connect "$WEB")" "s/py.0 fdname=web pid=2 listen_pid=2 fds=2" "python3: web port answered on the fd named web"
	is "$(tt_connect "$ADMIN")" "s/py.0 fdname=admin pid=2 listen_pid=2 fds=2" "python3: admin port answered on the fd named admin"
	like "$(ss -ltnpH "sport = :$WEB")" "lithos_tree\",pid=$TREE," "ss: the web socket is held by lithos_tree"
else
	skip "python3 server" "the host's python3 could not be put into a test image"
fi

# ---- restart: LISTEN_PID right again
for n in $RUNS; do
	init=$(tt_init_pid $n)
	kill -KILL "$(tt_app_pid $n)"
	tt_wait_for 10 "[ -n \"\$(tt_app_pid $n)\" ] && [ \"\$(tt_init_pid $n)\" != \"$init\" ]"
	ok $? "$n killed and restarted"
done
tt_wait_running $want 10
ok $? "lxc-ls: $want containers run"
tt_wait_for 10 '[ "$(tt_connect "$CPORT" | grep -c "^s/csrv.0 ")" -eq 1 ]'
is "$(tt_connect "$CPORT")" "s/csrv.0 pid=2 listen_pid=2 fds=1 names=port" "tt_srv after the restart: still activated"
if [ -n "$PY" ]; then
	tt_wait_for 15 '[ "$(tt_connect "$WEB" | grep -c "^s/py.0 ")" -eq 1 ]'
	is "$(tt_connect "$WEB")" "s/py.0 fdname=web pid=2 listen_pid=2 fds=2" "python3 after the restart: web"
	is "$(tt_connect "$ADMIN")" "s/py.0 fdname=admin pid=2 listen_pid=2 fds=2" "python3 after the restart: admin"
fi
unlike "$(cat "$STDIO_LOG_DIR/s.log")" 'not socket-activated' "no consumer ever saw a wrong LISTEN_PID"

# ---- removed: ports close
: | tt_processes s
tt_quit
ok $? "reload without the entries"
tt_wait_running 0 10
ok $? "lxc-ls: nothing runs"
tt_wait_for 5 '[ -z "$(ss -ltnH "( sport = :$WEB or sport = :$ADMIN or sport = :$CPORT )")" ]'
ok $? "ss: the activation ports are closed"

tt_stop_tree TERM
is "$rc" 0 "lithos_tree exits 0 on SIGTERM"
tt_check_clean "after SIGTERM" $NAMES || {
	# what a leftover container dir holds, and what the tree did
	for d in "$LXCPATH"/*; do [ -e "$d" ] && ls -la --time-style=full-iso "$d" 2>&1 | diag; done
	diag_file "$TREE_LOG" "tree log"
}
done_testing
