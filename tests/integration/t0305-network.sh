#!/bin/bash
# t0305: the network of a real container started by lithos_cmd.
# - no bridged-network: the host's network namespace (host interfaces);
# - bridged-network, on a bridge of this script's own (no uplink, no NAT,
#   10.231.N.0/24, deleted at the end): a command with an ip-address gets
#   eth0 with that address/prefix and the default-gateway route, the host
#   veth is on the bridge while it runs and gone afterwards, the container
#   and the host reach each other over the bridge; a command without an ip
#   gets loopback only;
# - after-setup-command runs before the process, as host root, in the
#   container's network namespace (sees the container's ip) and the host's
#   mount namespace, with @{container_ip} substituted and an almost empty
#   environment; a failing one fails the start (exit 122) with its output in
#   the stdio log and leaves nothing behind.
# Traffic: only between the host and the containers on the script's bridge.
# TAP.  Needs root, LXC, busybox-static and iproute2.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/itest.sh"
itest_init t0305
IP=$(command -v ip) || skip_all "ip (iproute2) is missing"

# ---- our own bridge on a free 10.231.N.0/24
itest_bridge lt 10.231 120

itest_image
itest_master

# the after-setup-command: a host script recording where it ran
cat >"$T/after.sh" <<EOF
#!/bin/sh
out=$T/after.\$1
{
	echo "args: \$*"
	echo "uid: \$(id -u)"
	echo "netns: \$(readlink /proc/self/ns/net)"
	echo "mntns: \$(readlink /proc/self/ns/mnt)"
	echo "pidns: \$(readlink /proc/self/ns/pid)"
	/usr/bin/env | sed 's/^/env: /'
	$IP -4 -o addr show | sed 's/^/addr: /'
} >"\$out.tmp" 2>&1
mv "\$out.tmp" "\$out"
EOF
chmod 755 "$T/after.sh"

itest_sandbox br <<EOF
allow-users: [0]
allow-groups: [0]
bridged-network:
  bridge: $BR
  network: $NET.0/24
  default-gateway: $NET.1
  after-setup-command: [$T/after.sh, '@{container_ip}', literal]
EOF
itest_sandbox badafter <<EOF
allow-users: [0]
allow-groups: [0]
bridged-network:
  bridge: $BR
  network: $NET.0/24
  after-setup-command: [/bin/sh, -c, 'echo after-setup-boom for @{container_ip}; exit 3']
EOF
itest_sandbox host <<EOF
allow-users: [0]
allow-groups: [0]
EOF

NETPROBE='echo "netns $(readlink /proc/self/ns/net)"
ip -o link | sed "s/^/link /"
ip -4 -o addr | sed "s/^/addr /"
ip route | sed "s/^/route /"'
for sb in br host; do
	entry=
	[ $sb = br ] && entry="ip-addresses: [$NET.10]"
	itest_command $sb net "$entry" <<EOF
kind: Command
user-id: 0
group-id: 0
interactive: true
executable: /bin/sh
arguments:
  - -c
  - |
$(printf '%s\n' "$NETPROBE" | sed 's/^/    /')
    ping -c 1 -W 2 $NET.1 >/dev/null 2>&1 && echo "ping gateway ok" || echo "ping gateway failed"
    if [ "\$1" = wait ]; then exec sleep 30; fi
  - sh
environ: {PATH: /bin}
EOF
done
itest_command br noip <<EOF
kind: Command
user-id: 0
group-id: 0
interactive: true
executable: /bin/sh
arguments:
  - -c
  - |
$(printf '%s\n' "$NETPROBE" | sed 's/^/    /')
environ: {PATH: /bin}
EOF
itest_command badafter fail "ip-addresses: [$NET.11]" <<'EOF'
kind: Command
user-id: 0
group-id: 0
executable: /bin/sh
arguments: [-c, 'echo payload-ran']
environ: {PATH: /bin}
EOF

HOST_NETNS=$(readlink /proc/self/ns/net)
HOST_MNTNS=$(readlink /proc/self/ns/mnt)
HOST_PIDNS=$(readlink /proc/self/ns/pid)

# ---- host network by default
run_cmd host net
ok $rc "host network: exit 0" || diag_file "$T/err"
like "$out" "^netns $(re "$HOST_NETNS")\$" "host network: the process is in the host's network namespace"
hostif=$("$IP" -o link show up | awk -F': ' '$2 != "lo" {sub(/@.*/, "", $2); print $2; exit}')
if [ -n "$hostif" ]; then
	like "$out" "^link [0-9]+: $hostif[:@]" "host network: the host's interface $hostif is visible inside"
else
	skip "host network: a host interface is visible inside" "the host has no interface up but lo"
fi

# ---- bridged, with an ip-address
start_cmd br net wait
if wait_app sleep; then
	veth=$(veth_name "$LXCNAME")
	like "$("$IP" -o link show master "$BR" 2>&1)" "^[0-9]+: $veth@" "bridged: the host veth $veth is on bridge $BR while the command runs"
	# the host has no ping of its own: the image's static busybox has one
	if "$IMAGES/t/v1/bin/busybox" ping -c 1 -W 2 "$NET.10" >/dev/null 2>&1; then
		ok 0 "bridged: the host reaches the container at $NET.10 over $BR"
	else
		ok 1 "bridged: the host reaches the container at $NET.10 over $BR"
	fi
	cnetns=$(readlink "/proc/$APPPID/ns/net")
else
	ok 1 "bridged: the command started"
	veth=$(veth_name "$LXCNAME") cnetns=none
fi
stop_cmd TERM
out=$(cat "$T/bg.out")
unlike "$out" "^netns $(re "$HOST_NETNS")\$" "bridged: the process has its own network namespace"
like "$out" "^addr [0-9]+: eth0 +inet $NET\\.10/24 brd $NET\\.255 " "bridged: eth0 has $NET.10/24 (broadcast $NET.255)"
like "$out" "^route default via $NET\\.1 dev eth0" "bridged: the default route goes via the default-gateway $NET.1"
like "$out" "^addr [0-9]+: lo +inet 127\\.0\\.0\\.1/8" "bridged: loopback is up with 127.0.0.1"
like "$out" '^ping gateway ok$' "bridged: the container reaches the gateway $NET.1 on the bridge"
"$IP" link show "$veth" >/dev/null 2>&1
ok $((!$?)) "bridged: the host veth $veth is gone after the command exited"
is "$("$IP" -o link show master "$BR")" "" "bridged: nothing is left on bridge $BR"

# the after-setup-command ran for that instance
after=$(cat "$T/after.$NET.10" 2>&1)
like "$after" "^args: $NET\\.10 literal\$" "after-setup-command: @{container_ip} substituted, other arguments as written"
like "$after" '^uid: 0$' "after-setup-command: runs as host root"
like "$after" "^netns: $(re "$cnetns")\$" "after-setup-command: runs in the container's network namespace"
like "$after" "^addr: [0-9]+: eth0 +inet $NET\\.10/24" "after-setup-command: sees the container's eth0 with $NET.10"
like "$after" "^mntns: $(re "$HOST_MNTNS")\$" "after-setup-command: in the host's mount namespace"
like "$after" "^pidns: $(re "$HOST_PIDNS")\$" "after-setup-command: in the host's pid namespace"
unlike "$after" '^env: (LXC_|LITHOS|container=|TERM=|HOME=)' "after-setup-command: nothing of LXC's or the caller's environment"

# ---- bridged, without an ip-address: loopback only
run_cmd br noip
ok $rc "no ip: exit 0" || diag_file "$T/err"
is "$(printf '%s\n' "$out" | sed -n 's/^link [0-9]*: \([^:@]*\).*/\1/p')" lo "no ip: the only interface is lo"
like "$out" '^link [0-9]+: lo: <[^>]*\bUP\b' "no ip: lo is up"
is "$(printf '%s\n' "$out" | grep -c '^addr ')" 1 "no ip: the only IPv4 address is loopback's"
unlike "$out" "^netns $(re "$HOST_NETNS")\$" "no ip: its own network namespace"
is "$(ls "$T" | grep '^after\.[0-9]')" "after.$NET.10" "no ip: no after-setup-command ran (there is no ip to set up)"

# ---- a failing after-setup-command
: >"$STDIO_LOG_DIR/badafter.log"
run_cmd badafter fail
is "$rc" 122 "failing after-setup-command: lithos_cmd exits 122"
log=$(stdio_log badafter)
like "$log" "after-setup-command.*after-setup-boom for $NET\\.11" "failing after-setup-command: its output is in the stdio log"
unlike "$log" 'payload-ran' "failing after-setup-command: the process did not run"
check_no_leftovers "failing after-setup-command" "$RUN_LXCNAME"

check_no_leftovers "t0305 runs" "$LXCNAME"
done_testing
