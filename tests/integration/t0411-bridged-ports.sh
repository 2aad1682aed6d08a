#!/bin/bash
# t0411: tcp-ports of a bridged sandbox under lithos_tree, real containers.
# - `external: false` (the default): the port is bound inside the
#   container's network namespace (by lithos_init, as the process's user,
#   even below 1024): a real client on the host reaches it at the
#   container's ip on the bridge; it is NOT bound in the host's network
#   namespace; the process has it at its fd, with the listen-backlog and
#   set-non-block, reuse-addr and reuse-port of the config; the host's ip_unprivileged_port_start is
#   left alone;
# - `external: true`: bound by the tree in the host's network namespace, as
#   before (a client on 127.0.0.1 reaches it);
# - nothing left behind after SIGTERM.
# Traffic: only between the host and the containers on the script's own
# bridge (no uplink, no NAT), and on 127.0.0.1.
# TAP.  Needs root, LXC, busybox-static, python3, gcc -static, iproute2.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/treetest.sh"
tt_init t0411
IP=$(command -v ip) || skip_all "ip (iproute2) is missing"
command -v ss >/dev/null 2>&1 || skip_all "ss (iproute2) is missing"
command -v nsenter >/dev/null 2>&1 || skip_all "nsenter (util-linux) is missing"
command -v gcc >/dev/null 2>&1 || skip_all "gcc is needed to build the test server"

# ---- our own bridge on a free 10.231.N.0/24
itest_bridge lp 10.231 20

itest_image
tt_build_server "$IMAGES/t/v1/bin/tt_srv" || skip_all "cannot build a static test server (gcc -static)"
EXT=
for i in $(seq 50); do
	p=$((21000 + RANDOM % 8000))
	if [ -z "$(ss -ltnH "sport = :$p")" ]; then EXT=$p; break; fi
done
[ -n "$EXT" ] || bail_out "no free port found"
IN=80
diag "bridge $BR $NET.0/24, internal port $IN, external port $EXT"
host_unpriv=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)

itest_master
itest_sandbox s <<EOF
allow-users: [1000]
allow-groups: [1000]
allow-tcp-ports: [$IN, $EXT]
bridged-network:
  bridge: $BR
  network: $NET.0/24
EOF
tt_config web <<EOF
kind: Daemon
user-id: 1000
group-id: 1000
executable: /bin/tt_srv
arguments: [accept, "3"]
tcp-ports:
  $IN: {fd: 3, listen-backlog: 7, set-non-block: true, reuse-addr: false, reuse-port: true}
EOF
tt_config ext <<EOF
kind: Daemon
user-id: 1000
group-id: 1000
executable: /bin/tt_srv
arguments: [accept, "3"]
tcp-ports:
  $EXT: {fd: 3, host: 127.0.0.1, external: true}
EOF
tt_processes s <<EOF
web:
  kind: Daemon
  image: t/v1
  config: /config/web.yaml
  ip-addresses: [$NET.10]
ext:
  kind: Daemon
  image: t/v1
  config: /config/ext.yaml
  ip-addresses: [$NET.11]
EOF

connect() { # HOST PORT: one answer line or "ERROR ..."
	"$PYTHON" - "$1" "$2" <<'PYEOF'
import socket, sys
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5) as s:
        s.settimeout(5)
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(512)
            if not chunk:
                break
            data += chunk
        print(data.decode().strip() or "ERROR empty answer")
except OSError as e:
    print("ERROR %s" % e)
PYEOF
}
# "INODE PROCESSES" of the listeners on PORT, in the netns of PID (host: "")
listeners() { # PORT [PID]
	if [ -n "${2:-}" ]; then
		nsenter -t "$2" -n ss -ltnepH "sport = :$1"
	else
		ss -ltnepH "sport = :$1"
	fi
}

tt_start_tree || bail_out "lithos_tree did not start"
tt_wait_for 15 '[ -n "$(tt_app_pid s.web.0)" ] && [ -n "$(tt_app_pid s.ext.0)" ]'
ok $? "both daemons run" || diag_file "$STDIO_LOG_DIR/s.log" "stdio log"
init=$(tt_init_pid s.web.0)
app=$(tt_app_pid s.web.0)

# ---- external: false
answer=
tt_wait_for 10 'answer=$(connect $NET.10 $IN); [ "${answer#ERROR}" = "$answer" ]'
like "$answer" "^s/web\\.0 pid=[0-9]+\$" "a client on the host reaches $NET.10:$IN on the bridge and the process answers"
inner=$(listeners $IN "$init")
like "$inner" "LISTEN" "the port is bound in the container's network namespace"
like "$inner" "tt_srv" "the process holds it"
is "$(printf '%s\n' "$inner" | awk '{print $3; exit}')" 7 "listen-backlog 7 (ss Send-Q of the listener)"
ino=$(readlink "/proc/$app/fd/3" 2>/dev/null | sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p')
like "$inner" "ino:$ino( |\$)" "the process has that socket at fd 3 (socket inode $ino)"
flags=$(awk '/^flags:/ {print $2}' "/proc/$app/fdinfo/3" 2>/dev/null)
ok $([ -n "$flags" ] && [ $((0$flags & 04000)) -ne 0 ] && echo 0 || echo 1) "set-non-block: fd 3 is O_NONBLOCK (flags $flags)"
o=$(tt_sockopts "$app" 3)
diag "fd 3: $o"
is "$(tt_field "$o" reuseaddr) $(tt_field "$o" reuseport)" "0 1" "reuse-addr: false, reuse-port: true: SO_REUSEADDR off, SO_REUSEPORT on"
is "$(listeners $IN)" "" "the port is NOT bound in the host's network namespace"
unlike "$(ss -ltnpH 2>/dev/null | grep -E 'lithos_tree|lithos_knot' | grep -E ":$IN\\b")" . "nor by the tree or a knot"
is "$(nsenter -t "$init" -n cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" $IN "in the container's netns unprivileged ports start at $IN (uid 1000 binds it)"
is "$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" "$host_unpriv" "the host's ip_unprivileged_port_start is unchanged ($host_unpriv)"

# ---- external: true
answer=$(connect 127.0.0.1 $EXT)
like "$answer" "^s/ext\\.0 pid=[0-9]+\$" "external: true: a client on 127.0.0.1:$EXT reaches the bridged process"
like "$(listeners $EXT)" 'lithos_tree' "external: true: the tree holds the port in the host's network namespace"
is "$(listeners $EXT "$(tt_init_pid s.ext.0)")" "" "external: true: not bound in the container's namespace"

tt_stop_tree
is "$rc" 0 "lithos_tree exits 0 on SIGTERM"
is "$(listeners $EXT)" "" "the external port is closed after the stop"
tt_check_clean "t0411" s.web.0 s.ext.0
done_testing
