#!/bin/bash
# t0613: an established TCP connection to a bridged migratable daemon
# across lithos_checkpoint/lithos_restore on one host (criu >= 4.2).
# Host a in a network namespace (tests/lib/criutest.sh ct_net) with its
# bridge ctbr0; counterd listens on port 8080 in the container's own
# network namespace (ip-address 10.231.60.10) and keeps connections open
# (--hold 1); a client in a's netns holds one:
# - checkpoint (stop): the container and its veth are gone;
# - restore: eth0 has the same address, the held connection is answered by
#   the same process (token, counter continues), new connections too;
# - checkpoint --leave-running: the connection goes on;
# - nothing left: containers, veths, cgroups, netns.
# Network: only the namespace and bridge this test creates (no uplink).
# TAP.  Needs root, LXC, CRIU (scripts/install-criu.sh), busybox-static,
# python3, gcc -static, iproute2.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/criutest.sh"
ct_init t0613
ct_need_commands
ct_need_criu

IP=$CT_NET.10
ct_net
tt_config web <<YAML
kind: Daemon
user-id: 0
group-id: 0
executable: /bin/counterd
arguments: [--port, "8080", --hold, "1"]
restart-timeout: 0
YAML
ct_host a
ct_use a
ct_master
ct_sandbox s <<YAML
allow-users: [0]
allow-groups: [0]
bridged-network:
  bridge: $CT_BRIDGE
  network: $CT_NET.0/24
  default-gateway: $CT_BRIDGE_IP
migratable: true
YAML
N=s.web.0
printf 'web:\n  image: t/v1\n  config: /config/web.yaml\n  instances: 1\n  ip-addresses: [%s]\n' "$IP" | tt_processes s
tt_start_tree || bail_out "lithos_tree of a did not start"
tt_wait_running 1 20 '[ -n "$(tt_app_pid $N)" ]'
ok $? "a runs the bridged counterd" || diag_file "$T/a/tree.log"
eth0_ip() {
	local p
	p=$(tt_init_pid $N)
	[ -n "$p" ] && nsenter -t "$p" -n ip -4 -o addr show dev eth0 | awk '{print $4}'
}
VETH=$(veth_name $N)
tt_wait_for 10 "[ \"\$(ct_ask_tcp a $IP 8080 | cut -c1-8)\" = counterd ]"
w1=$(ct_ask_tcp a "$IP" 8080)
TOKEN=$(ct_field "$w1" token)
ok $([ -n "$TOKEN" ] && echo 0 || echo 1) "counterd answers on $IP:8080 from a's netns" || diag "$w1"
r1=$(ct_field "$w1" requests)
ct_hold_start a "$IP" 8080
is "$(ct_field "$held" token) $(ct_field "$held" requests)" "$TOKEN $((r1 + 1))" "a client holds a connection" || diag "$held"
ct_hold_ask
is "$(ct_field "$held" requests)" "$((r1 + 2))" "the held connection answers" || diag "$held"

ct_cmd lithos_checkpoint s/web.0 "$T/ck1"
is "$rc" 0 "lithos_checkpoint (stop) with an established connection: exit 0" || { diag "$err"; diag_file "$T/ck1/dump.log"; }
diag "$out"
tt_wait_running 0 10 "[ -z \"\$(tt_init_pid $N)\" ]"
ok $? "the container is gone"
is "$(ct_on a ip -o link show "$VETH" 2>/dev/null | wc -l)" 0 "its veth is gone"
ct_cmd lithos_restore s/web.0 "$T/ck1"
is "$rc" 0 "lithos_restore: exit 0" || { diag "$err"; diag_file "$T/ck1/restore.log"; }
diag "$out"
is "$(eth0_ip)" "$IP/24" "eth0 has $IP again"
ct_hold_ask
is "$(ct_field "$held" token) $(ct_field "$held" requests)" "$TOKEN $((r1 + 3))" \
	"the held connection survived: the same process answers on it" || diag "$held"
w2=$(ct_ask_tcp a "$IP" 8080)
is "$(ct_field "$w2" token) $(ct_field "$w2" requests)" "$TOKEN $((r1 + 4))" "new connections are accepted (same process)" || diag "$w2"

ct_cmd lithos_checkpoint --leave-running s/web.0 "$T/ck2"
is "$rc" 0 "lithos_checkpoint --leave-running: exit 0" || { diag "$err"; diag_file "$T/ck2/dump.log"; }
ct_hold_ask
is "$(ct_field "$held" token) $(ct_field "$held" requests)" "$TOKEN $((r1 + 5))" "the held connection goes on" || diag "$held"
ct_hold_stop
is "$(tt_ps s/web.0 state)" running "lithos_ps: running"

ct_stop_all
ct_net_teardown
ct_check_clean "host stopped, netns removed" $N
done_testing
