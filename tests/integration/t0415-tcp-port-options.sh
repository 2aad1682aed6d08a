#!/bin/bash
# t0415: the socket options of tcp-ports bound by lithos_tree (host
# network), read from the process's own fds (pidfd_getfd) and ss:
# - listen-backlog 5, reuse-addr: false, set-non-block: true on one port;
# - the defaults on another: backlog 128, SO_REUSEADDR on, SO_REUSEPORT
#   off, blocking; host 127.0.0.1 is the bound address;
# - reuse-port: true: SO_REUSEPORT on, and each instance has a socket of
#   its own (the other ports are one socket shared by both instances);
# - fd: 0 (allowed since lithos 0.15.4): the socket is the process's stdin;
# - a reload with a new listen-backlog restarts both instances on the same
#   socket with the old backlog (reference: the parameters but fd do not
#   change once the socket is bound).
# Nothing left behind.
# Network: loopback only.
# TAP.  Needs root, LXC, busybox-static and python3 (pidfd_getfd, Linux >= 5.6).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/treetest.sh"
tt_init t0415
itest_image

PORTS=()
for i in $(seq 200); do
	p=$((21000 + RANDOM % 8000))
	[ -z "$(ss -ltnH "sport = :$p")" ] && PORTS+=("$p")
	[ ${#PORTS[@]} -ge 4 ] && break
done
[ ${#PORTS[@]} -ge 4 ] || bail_out "no 4 free ports found"
P1=${PORTS[0]} P2=${PORTS[1]} P3=${PORTS[2]} P4=${PORTS[3]}
diag "ports $P1 $P2 $P3 $P4"

itest_master
itest_sandbox s <<YAML
allow-users: [1000]
allow-groups: [1000]
allow-tcp-ports: [$P1, $P2, $P3, $P4]
YAML
tt_config opts <<YAML
kind: Daemon
user-id: 1000
group-id: 1000
executable: /bin/sleep
arguments: ["1000"]
tcp-ports:
  $P1: {fd: 3, host: 127.0.0.1, listen-backlog: 5, reuse-addr: false, set-non-block: true}
  $P2: {fd: 4, host: 127.0.0.1}
  $P3: {fd: 5, host: 127.0.0.1, reuse-port: true}
  $P4: {fd: 0, host: 127.0.0.1}
YAML
tt_processes s <<'YAML'
opts:
  kind: Daemon
  image: t/v1
  config: /config/opts.yaml
  instances: 2
YAML

backlogs() { ss -ltnH "sport = :$1" | awk '{print $3}' | sort -u | tr '\n' ' '; }

tt_start_tree || bail_out "lithos_tree did not start"
tt_wait_running 2 15 '[ -n "$(tt_app_pid s.opts.0)" ] && [ -n "$(tt_app_pid s.opts.1)" ]'
ok $? "both instances run" || diag_file "$STDIO_LOG_DIR/s.log" "stdio log"
a0=$(tt_app_pid s.opts.0)
a1=$(tt_app_pid s.opts.1)

# ---- listen-backlog 5, reuse-addr: false, set-non-block: true
o=$(tt_sockopts "$a0" 3)
diag "fd 3: $o"
is "$(tt_field "$o" addr)" "127.0.0.1:$P1" "fd 3 is the socket of 127.0.0.1:$P1"
is "$(tt_field "$o" listening)" 1 "fd 3 listens"
is "$(tt_field "$o" reuseaddr)" 0 "reuse-addr: false: SO_REUSEADDR off"
is "$(tt_field "$o" reuseport)" 0 "fd 3: SO_REUSEPORT off (default)"
is "$(tt_field "$o" nonblock)" 1 "set-non-block: true: O_NONBLOCK"
is "$(backlogs "$P1")" "5 " "listen-backlog 5 (ss Send-Q of the listener)"

# ---- the defaults
o=$(tt_sockopts "$a0" 4)
diag "fd 4: $o"
is "$(tt_field "$o" addr)" "127.0.0.1:$P2" "fd 4 is the socket of 127.0.0.1:$P2"
is "$(tt_field "$o" reuseaddr)" 1 "reuse-addr defaults to true: SO_REUSEADDR on"
is "$(tt_field "$o" reuseport)" 0 "reuse-port defaults to false: SO_REUSEPORT off"
is "$(tt_field "$o" nonblock)" 0 "set-non-block defaults to false: blocking"
is "$(backlogs "$P2")" "128 " "listen-backlog defaults to 128"

# ---- one shared socket per port, but reuse-port: one per instance
is "$(tt_field "$(tt_sockopts "$a1" 3)" ino)" "$(tt_field "$(tt_sockopts "$a0" 3)" ino)" "the two instances share one socket of $P1"
is "$(tt_field "$(tt_sockopts "$a1" 4)" ino)" "$(tt_field "$(tt_sockopts "$a0" 4)" ino)" "the two instances share one socket of $P2"
o0=$(tt_sockopts "$a0" 5)
o1=$(tt_sockopts "$a1" 5)
diag "fd 5: $o0 / $o1"
is "$(tt_field "$o0" reuseport) $(tt_field "$o1" reuseport)" "1 1" "reuse-port: true: SO_REUSEPORT on"
is "$(tt_field "$o0" addr) $(tt_field "$o1" addr)" "127.0.0.1:$P3 127.0.0.1:$P3" "both instances' fd 5 are sockets of 127.0.0.1:$P3"
ok $([ -n "$(tt_field "$o0" ino)" ] && [ "$(tt_field "$o0" ino)" != "$(tt_field "$o1" ino)" ] && echo 0 || echo 1) \
	"reuse-port: true: each instance has a socket of its own"
is "$(ss -ltnH "sport = :$P3" | wc -l)" 2 "two listeners on $P3"

# ---- fd: 0
o=$(tt_sockopts "$a0" 0)
diag "fd 0: $o"
is "$(tt_field "$o" addr) $(tt_field "$o" listening)" "127.0.0.1:$P4 1" "fd: 0: the process's stdin is the listening socket of 127.0.0.1:$P4"

# ---- a changed listen-backlog: same socket, parameters kept
ino2=$(tt_field "$(tt_sockopts "$a0" 4)" ino)
sed -i "s/^  $P2: {fd: 4, host: 127.0.0.1}\$/  $P2: {fd: 4, host: 127.0.0.1, listen-backlog: 64}/" "$IMAGES/t/v1/config/opts.yaml"
grep -q "listen-backlog: 64" "$IMAGES/t/v1/config/opts.yaml" || bail_out "the config edit did not apply"
tt_quit
ok $? "reload with listen-backlog 64 for $P2"
tt_wait_for 20 'n0=$(tt_app_pid s.opts.0) && n1=$(tt_app_pid s.opts.1) && [ "$n0" != "$a0" ] && [ "$n1" != "$a1" ]'
ok $? "both instances restarted with the new config"
a0=$(tt_app_pid s.opts.0)
is "$(tt_field "$(tt_sockopts "$a0" 4)" ino)" "$ino2" "the restarted instance has the same socket of $P2"
is "$(backlogs "$P2")" "128 " "its listen-backlog is still 128: the parameters do not change once bound"

tt_stop_tree TERM
is "$rc" 0 "lithos_tree exits 0 on SIGTERM"
is "$(ss -ltnH "( sport = :$P1 or sport = :$P2 or sport = :$P3 or sport = :$P4 )")" "" "no port left bound"
tt_check_clean "after SIGTERM" s.opts.0 s.opts.1
done_testing
