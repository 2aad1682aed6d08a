#!/bin/bash
# t0604: a bridged migratable daemon keeps its ip-address when it moves.
# Two hosts in network namespaces (tests/lib/criutest.sh ct_net), each with
# its own bridge ctbr0 on the same network 10.231.60.0/24 and a link
# between them; each runs its own lithos_tree there; sshd of b listens on
# b's link address only.  The counter (ip-address 10.231.60.10) moves a -> b
# over ssh (ct_migrate, as docs/migration.md says):
# - on b: same process (token, counter continues, memory intact), eth0 has
#   10.231.60.10, the address answers ping in b's netns and not in a's;
#   a has no container, no veth of it;
# - killed on b, b's tree restarts it, again with 10.231.60.10;
# - back to a with lithos_migrate (one command, over ssh from b's netns,
#   sshd of a on a's link address): same process, 10.231.60.10 on a again,
#   b has nothing left;
# - nothing left: containers, veths, cgroups, netns, sshd.
# Network: only the namespaces and bridges this test creates (no uplink).
# TAP.  Needs root, LXC, CRIU (scripts/install-criu.sh), busybox-static,
# python3, gcc -static, iproute2, sshd (tests/lib/install-sshd.sh).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/criutest.sh"
ct_init t0604
ct_need_commands
ct_need_criu

IP=$CT_NET.10
ct_net
ct_counter_config counter 10
for h in a b; do
	ct_host $h
	ct_use $h
	ct_master
	ct_sandbox s <<EOF
allow-users: [0]
allow-groups: [0]
bridged-network:
  bridge: $CT_BRIDGE
  network: $CT_NET.0/24
  default-gateway: $CT_BRIDGE_IP
migratable: true
EOF
done
ct_sshd b || bail_out "sshd for host b"
ct_sshd a || bail_out "sshd for host a"
N=s.counter.0
ENTRY=$T/with-counter.yaml
EMPTY=$T/empty.yaml
printf 'counter:\n  image: t/v1\n  config: /config/counter.yaml\n  instances: 1\n  ip-addresses: [%s]\n' "$IP" >"$ENTRY"
: >"$EMPTY"

ct_use a
tt_processes s <"$ENTRY"
tt_start_tree || bail_out "lithos_tree of a did not start"
ct_use b
tt_start_tree || bail_out "lithos_tree of b did not start"
ct_use a
tt_wait_running 1 20 '[ -n "$(tt_app_pid $N)" ]'
ok $? "a runs the bridged counter" || diag_file "$T/a/tree.log"
pingable() { ct_on "$1" busybox ping -c 1 -W 2 "$IP" >/dev/null 2>&1; }
eth0_ip() { # HOST
	local p
	p=$(ct_on "$1" tt_init_pid $N)
	[ -n "$p" ] && nsenter -t "$p" -n ip -4 -o addr show dev eth0 | awk '{print $4}'
}
is "$(eth0_ip a)" "$IP/24" "on a: eth0 has $IP"
pingable a
ok $? "on a: $IP answers ping"
s1=$(ct_ask a $N)
TOKEN=$(ct_field "$s1" token)
VETH=$(veth_name $N)

ct_migrate a b s/counter.0 ssh "$EMPTY" "$ENTRY"
is "$MIG_RC" 0 "migrate a -> b over ssh" || diag "$MIG_OUT"
s2=$(ct_ask b $N)
diag "on b: $s2"
is "$(ct_field "$s2" token) $(ct_field "$s2" requests) $(ct_field "$s2" memok)" "$TOKEN 2 1" \
	"b runs the same process, counter continues, memory intact"
is "$(eth0_ip b)" "$IP/24" "on b: eth0 keeps $IP"
pingable b
ok $? "on b: $IP answers ping in b's netns"
pingable a
ok $([ $? -ne 0 ] && echo 0 || echo 1) "on a: $IP no longer answers"
is "$(ct_on a tt_running)" "" "a: no container left"
is "$(ct_on a ip -o link show "$VETH" 2>/dev/null | wc -l)" 0 "a: its veth is gone"
is "$(ct_on b ip -o link show master "$CT_BRIDGE" | grep -c "$VETH")" 1 "b: its veth is on b's bridge"
is "$(ct_on b tt_ps s/counter.0 state)" running "b's lithos_ps: running"

ct_use b
init=$(tt_init_pid $N)
kill -KILL "$(tt_app_pid $N)"
tt_wait_for 15 "[ -n \"\$(tt_app_pid $N)\" ] && [ \"\$(tt_init_pid $N)\" != \"$init\" ]"
ok $? "killed on b, b's tree restarts it"
is "$(eth0_ip b)" "$IP/24" "restarted with $IP"
tt_wait_for 5 pingable b
ok $? "and $IP answers ping"

# ---- back b -> a in one command: lithos_migrate over ssh, from b's netns
s3=$(ct_ask b $N)
T2=$(ct_field "$s3" token)
ct_on b "$top_builddir/lithos_migrate" -C "$T/b/etc/master.yaml" --to ct-a --ssh "/usr/bin/ssh -F $T/ssh/config" \
	--target-master "$T/a/etc/master.yaml" --target-bin "$top_builddir" \
	--target-processes "$ENTRY" --source-processes "$EMPTY" s/counter.0 >"$T/lm.out" 2>&1
is "$?" 0 "lithos_migrate b -> a over ssh: exit 0" || { diag_file "$T/lm.out"; diag_file "$T/a/tree.log"; }
diag_file "$T/lm.out" "lithos_migrate said"
s4=$(ct_ask a $N)
is "$(ct_field "$s4" token) $(ct_field "$s4" requests) $(ct_field "$s4" memok)" "$T2 2 1" "a runs the same process again, counter continues, memory intact"
is "$(eth0_ip a)" "$IP/24" "on a: eth0 has $IP again"
pingable a
ok $? "on a: $IP answers ping"
pingable b
ok $([ $? -ne 0 ] && echo 0 || echo 1) "on b: $IP no longer answers"
is "$(ct_on b tt_running)" "" "b: no container left"
is "$(ct_on b ip -o link show "$VETH" 2>/dev/null | wc -l)" 0 "b: its veth is gone"

ct_stop_all
ct_net_teardown
ct_check_clean "both hosts stopped, netns removed" $N
done_testing
