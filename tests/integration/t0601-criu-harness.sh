#!/bin/bash
# t0601: the two-host harness of the CRIU tests (tests/lib/criutest.sh),
# checked with liblxc's own lxc-checkpoint on a plain LXC container (no
# lithos command involved, so the harness is known good before the lithos
# checkpoint/restore/migrate commands are tested with it):
# - two netns "hosts" a and b, each with its own bridge (same network) and a
#   link between them; sshd for b listens on b's link address only: ssh from
#   a reaches it, lands in b's netns with the test PATH, and the root netns
#   cannot reach it;
# - a bridged container (ip 10.231.60.10 on a's bridge) running counterd
#   (unix socket on a tmpfs /run, 10 MiB of memory) is checkpointed on a
#   (lxc-checkpoint -s), its images go to b over ssh (tar through ssh),
#   it is restored on b under b's lxc path: same token, the request counter
#   continues, the memory is intact, the address answers ping from b's
#   netns and not from a's, nothing runs on a;
# - back to a through a shared directory (checkpoint on b into it, restore
#   on a from it), same checks;
# - at the end nothing is left: containers, cgroups, mounts, netns, sshd.
# TAP.  Needs root, LXC, CRIU (scripts/install-criu.sh), busybox-static,
# python3, gcc -static, sshd (tests/lib/install-sshd.sh).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/criutest.sh"
ct_init t0601
ct_need_criu

ct_net
ct_host a
ct_use a # b is made while a is in use: its wrappers must not pick a's
ct_host b
ct_sshd b || bail_out "sshd for host b"
diag "netns ${CT_NS[a]} ${CT_NS[b]}, sshd of b on ${CT_ADDR[b]}:${CT_SSHD_PORT[b]}"

# ---- the harness itself
ct_use a
netino() { stat -L -c %i "/run/netns/$1"; }
got=$(ct_ssh b 'readlink /proc/self/ns/net; command -v criu; id -u; command -v lxc-info' 2>"$T/ssh.err")
is "$(printf '%s\n' "$got" | sed -n 1p)" "net:[$(netino "${CT_NS[b]}")]" "ssh from a lands in b's netns" ||
	diag_file "$T/ssh.err"
is "$(printf '%s\n' "$got" | sed -n 2p)" "$(command -v criu)" "ssh session: the criu of the tests"
is "$(printf '%s\n' "$got" | sed -n 4p)" "$T/b/bin/lxc-info" "ssh session: b's wrappers first on PATH"
is "$(grep -l "$T/a/" "$T"/b/bin/* 2>/dev/null)" "" "b's wrappers run the real tools, none of a's wrappers"
is "$(printf '%s\n' "$got" | sed -n 3p)" 0 "ssh session: root"
timeout 5 /usr/bin/ssh -F "$T/ssh/config" -o ConnectTimeout=2 ct-b true 2>/dev/null
isnt=$?
ok $([ $isnt -ne 0 ] && echo 0 || echo 1) "from the root netns b's sshd is not reachable (listens on b's link only)"
is "$(ct_on a ip -o link show "$CT_BRIDGE" | wc -l) $(ct_on b ip -o link show "$CT_BRIDGE" | wc -l) $(ip -o link show "$CT_BRIDGE" 2>/dev/null | wc -l)" \
	"1 1 0" "a bridge $CT_BRIDGE in a and in b, none in the root netns"

# ---- a plain LXC container, bridged, on host a
container_config() { # HOST
	mkdir -p "$T/$1/lxc/c1"
	cat >"$T/$1/lxc/c1/config" <<EOF
lxc.uts.name = c1
lxc.rootfs.path = dir:$IMAGES/t/v1
lxc.mount.auto = proc:mixed sys:ro
lxc.mount.entry = tmpfs run tmpfs rw,nosuid,nodev,size=1m 0 0
lxc.autodev = 1
lxc.tty.max = 0
lxc.pty.max = 0
lxc.console.path = none
lxc.net.0.type = veth
lxc.net.0.link = $CT_BRIDGE
lxc.net.0.flags = up
lxc.net.0.ipv4.address = $CT_NET.10/24
lxc.net.0.name = eth0
lxc.init.cmd = /bin/counterd --unix /run/c.sock --mem 10 --dirty 16
lxc.log.level = info
EOF
}
container_config a
container_config b
sed -i "1i lxc.cgroup.dir = $(ct_use a; echo "$CGNAME")/c1" "$T/a/lxc/c1/config"
sed -i "1i lxc.cgroup.dir = $(ct_use b; echo "$CGNAME")/c1" "$T/b/lxc/c1/config"

ct_on a lxc-start -P "$T/a/lxc" -n c1 -d -l info -o "$T/a/c1.log"
ok $? "lxc-start c1 on a" || diag_file "$T/a/c1.log"
init_pid() { ct_on "$1" lxc-info -P "$T/$1/lxc" -n c1 -p -H 2>/dev/null; }
ask() { # HOST
	local p
	p=$(init_pid "$1")
	[ -n "$p" ] || { echo "ERROR not running on $1"; return; }
	tt_wait_for 10 "[ -S /proc/$p/root/run/c.sock ]"
	ct_ask_unix "/proc/$p/root/run/c.sock"
}
pingable() { # HOST: the container's address answers from HOST's netns
	ct_on "$1" busybox ping -c 1 -W 2 "$CT_NET.10" >/dev/null 2>&1
}
a1=$(ask a)
a2=$(ask a)
diag "on a: $a2"
TOKEN=$(ct_field "$a1" token)
is "$(ct_field "$a2" requests)" 2 "counterd on a answers (2 requests)"
pingable a
ok $? "$CT_NET.10 answers ping on a"

# ---- a -> b over ssh
ct_on a lxc-checkpoint -P "$T/a/lxc" -n c1 -s -D "$T/a/ckpt" >"$T/ck1.out" 2>&1
ok $? "lxc-checkpoint -s on a" || { diag_file "$T/ck1.out"; diag_file "$T/a/ckpt/dump.log"; }
is "$(ct_on a lxc-info -P "$T/a/lxc" -n c1 -s -H)" STOPPED "c1 is stopped on a"
tar -C "$T/a/ckpt" -cf - . | ct_ssh b "mkdir -p $T/b/ckpt && tar -C $T/b/ckpt -xf -"
ok $? "images copied to b through ssh"
ct_on b lxc-checkpoint -P "$T/b/lxc" -n c1 -r -d -D "$T/b/ckpt" >"$T/r1.out" 2>&1
ok $? "lxc-checkpoint -r on b" || { diag_file "$T/r1.out"; diag_file "$T/b/ckpt/restore.log"; }
b1=$(ask b)
diag "on b: $b1"
is "$(ct_field "$b1" token)" "$TOKEN" "b: the same process (token)"
is "$(ct_field "$b1" requests)" 3 "b: the request counter continues (3)"
is "$(ct_field "$b1" memok)" 1 "b: memory intact"
ok $([ "$(ct_field "$b1" ticks)" -ge "$(ct_field "$a2" ticks)" ] && echo 0 || echo 1) "b: ticks continue"
is "$(ct_on b nsenter -t "$(init_pid b)" -n ip -4 -o addr show dev eth0 | awk '{print $4}')" "$CT_NET.10/24" \
	"b: the container keeps $CT_NET.10"
pingable b
ok $? "b: $CT_NET.10 answers ping from b's netns"
pingable a
ok $([ $? -ne 0 ] && echo 0 || echo 1) "a: $CT_NET.10 no longer answers in a's netns"
is "$(ct_on a lxc-ls -P "$T/a/lxc" --running -1)" "" "nothing runs on a"

# ---- b -> a through a shared directory
mkdir -p "$T/shared"
ct_on b lxc-checkpoint -P "$T/b/lxc" -n c1 -s -D "$T/shared/c1" >"$T/ck2.out" 2>&1
ok $? "lxc-checkpoint -s on b into the shared dir" || diag_file "$T/shared/c1/dump.log"
ct_on a lxc-checkpoint -P "$T/a/lxc" -n c1 -r -d -D "$T/shared/c1" >"$T/r2.out" 2>&1
ok $? "lxc-checkpoint -r on a from the shared dir" || diag_file "$T/shared/c1/restore.log"
a3=$(ask a)
diag "on a again: $a3"
is "$(ct_field "$a3" token) $(ct_field "$a3" requests) $(ct_field "$a3" memok)" "$TOKEN 4 1" \
	"a: same token, 4th request, memory intact"
pingable a
ok $? "a: $CT_NET.10 answers ping again"
is "$(ct_on b lxc-ls -P "$T/b/lxc" --running -1)" "" "nothing runs on b"

# ---- the end: nothing left
ct_on a lxc-stop -P "$T/a/lxc" -n c1 -k
rm -rf "$T/a/lxc/c1" "$T/b/lxc/c1"
# liblxc's lock files of this plain LXC container: liblxc never removes them
rm -f "/run/lxc/lock$T/a/lxc/.c1" "/run/lxc/lock$T/b/lxc/.c1"
# liblxc leaves the dirs of lxc.cgroup.dir (and its lxc.pivot) behind; they
# are this test's own, the harness checks only that they can go
for h in a b; do
	for d in /sys/fs/cgroup/*/"$(ct_use $h; echo "$CGNAME")"/c1; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
done
ct_stop_all
ct_net_teardown
ct_check_clean "containers, cgroups, mounts, netns, sshd"
done_testing
