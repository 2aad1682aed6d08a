# tests/lib/criutest.sh: two lithos "hosts" on one machine for the CRIU
# checkpoint/restore/migration tests (issue 6, tests/integration/t06NN-*.sh),
# on top of tests/lib/treetest.sh (TAP, scratch dir $T, tree helpers).
# Sourced by bash scripts:
#
#   . "$top_srcdir/tests/lib/criutest.sh"
#   ct_init t0601-harness           # tt_init + criu for tests + counterd built
#   ct_net                          # (bridged tests) netns hosts, see below
#   ct_host a; ct_host b            # two hosts, in the netns when ct_net ran
#   ct_use a                        # tt_*/itest_* functions now act on host a
#   ct_master; ct_sandbox s <<EOF   # host a's master.yaml and sandbox s
#   ct_migratable_hosts a b         # both: hosts, master.yaml, migratable s
#   tt_start_tree                   # host a's lithos_tree ($TREE)
#   ct_on b CMD...                  # CMD in host b's context (env, netns)
#   ct_sshd b                       # sshd for host b; `ct_ssh b CMD` works,
#                                   # "ssh ct-b" through $CT_SSH_BIN/ssh too
#   ct_ask_unix PATH / ct_ask_tcp HOST IP PORT: one counterd status line
#   ct_hold_start HOST IP PORT; ct_hold_ask; ct_hold_stop: a client holding
#                                   # one TCP connection to counterd --hold 1
#   ct_check_clean "what"           # nothing left on any host (ok/not ok)
#
# A host NAME has its own master.yaml ($T/NAME/etc), runtime dir
# ($T/NAME/run, state dirs below), log dir, lxc path ($T/NAME/lxc), cgroup
# name (lithos-it.SCRIPT.PID.NAME) and lithos_tree.  The image dir
# $T/images is shared by the hosts (a migration needs the same image on both
# sides).  Switching hosts (ct_use) switches the globals the itest/treetest
# helpers use: ETC MASTER RUNDIR LXCPATH CGNAME STATE_DIR STDIO_LOG_DIR
# TREE TREE_LOG, and PATH/LITHOS_* so that commands run in the host's netns.
#
# ct_net makes two network namespaces acting as hosts a and b (names
# lithos-ct-PID-a/-b): each has its own bridge $CT_BRIDGE with the same
# address $CT_BRIDGE_IP/24 (network $CT_NET.0/24), so a bridged instance
# keeps its ip-address on either; a veth pair links them (a: $CT_LINK_A,
# b: $CT_LINK_B, /30).  No uplink, no NAT; the test reaches both through
# tests/lib/ct-nsexec (ct_on).  A host in a netns runs its tree, knots, LXC
# tools and lithos commands there: $T/NAME/bin has ct-nsexec wrappers for
# them and is first on PATH while the host is in use (ct-nsexec, not `ip
# netns exec`: see there).
#
# ct_sshd NAME starts Debian's sshd (tests/lib/install-sshd.sh) for host
# NAME on a private port, listening on 127.0.0.1 (no netns) or on the link
# address of that netns only, with a throwaway host key and a throwaway
# user key in $T/ssh; sessions get the test PATH (the host's wrappers, this
# build's binaries, the criu test wrapper) and the exported LITHOS_*
# variables of the test (sshd_config SetEnv).  Killed at the
# end.  $T/ssh/config names the hosts ct-NAME; $CT_SSH_BIN/ssh is an ssh
# that uses that config (put it first on PATH for commands that run ssh).
#
# The EXIT trap (itest_cleanup + tt_cleanup + ct_cleanup) stops every tree,
# knot, container and sshd, removes cgroups, netns and the scratch dir, also
# on failure.

top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
. "$top_srcdir/tests/lib/treetest.sh"
. "$top_srcdir/tests/lib/criu.sh"

COUNTERD_SRC=$top_srcdir/tests/lib/counterd.c
INSTALL_SSHD=$top_srcdir/tests/lib/install-sshd.sh
CT_NSEXEC=$top_srcdir/tests/lib/ct-nsexec
CT_CRIU_TEST_BIN=${LITHOS_CRIU_PREFIX:-/opt/lithos-criu}/test-bin

declare -A CT_NS=() CT_TREE=() CT_SSHD=() CT_SSHD_PORT=() CT_ADDR=()
CT_HOSTS=
CT_CUR=
CT_NETNS=
CT_NET=10.231.60
CT_BRIDGE=ctbr0
CT_BRIDGE_IP=$CT_NET.1
CT_LINK_A=10.231.61.1
CT_LINK_B=10.231.61.2
CT_SSH_BIN=
CT_RUNSSHD_CREATED=

# ct_init NAME: tt_init, CRIU for tests on PATH, counterd in image t/v1
ct_init() {
	tt_init "$1"
	command -v gcc >/dev/null 2>&1 || skip_all "gcc is needed to build the test daemon"
	CT_PATH0=$PATH
	MASTER=${MASTER:-$ETC/master.yaml}
	ITEST_EXTRA_CLEANUP="ct_cleanup; $ITEST_EXTRA_CLEANUP"
	itest_image
	ct_build_counterd "$IMAGES/t/v1/bin/counterd" || skip_all "cannot build counterd (gcc -static)"
}

# ct_need_criu: criu_test_env (tests/lib/criu.sh: the test wrapper of
# scripts/install-criu.sh first on PATH, or skip); every host gets it
ct_need_criu() {
	criu_test_env
	CT_CRIU_TEST_BIN=$CRIU_TEST_BIN
	CT_PATH0=$CT_CRIU_TEST_BIN:$CT_PATH0
}

# ct_build_counterd DEST: tests/lib/counterd.c, static
ct_build_counterd() {
	if ! gcc -static -O2 -Wall -Wextra -o "$1" "$COUNTERD_SRC" >"$T/counterd-gcc.log" 2>&1; then
		diag "gcc -static counterd.c failed:"
		diag_file "$T/counterd-gcc.log"
		return 1
	fi
	chmod 0755 "$1"
}

# ---------------------------------------------------------------- network
# ct_net: two netns "hosts" with a bridge each and a link between them
ct_net() {
	command -v ip >/dev/null 2>&1 || skip_all "ip (iproute2) is needed"
	local h ns
	CT_NETNS="lithos-ct-$$"
	mkdir -p "$T/.sysfs"
	for h in a b; do
		ns=$CT_NETNS-$h
		ip netns add "$ns" || bail_out "ip netns add $ns failed"
		CT_NS[$h]=$ns
		ip -n "$ns" link set lo up
		ip -n "$ns" link add "$CT_BRIDGE" type bridge || bail_out "bridge in $ns"
		ip -n "$ns" addr add "$CT_BRIDGE_IP/24" dev "$CT_BRIDGE"
		ip -n "$ns" link set "$CT_BRIDGE" up
	done
	ip -n "${CT_NS[a]}" link add cta type veth peer name ctb netns "${CT_NS[b]}" ||
		bail_out "veth between the netns hosts"
	ip -n "${CT_NS[a]}" addr add "$CT_LINK_A/30" dev cta
	ip -n "${CT_NS[b]}" addr add "$CT_LINK_B/30" dev ctb
	ip -n "${CT_NS[a]}" link set cta up
	ip -n "${CT_NS[b]}" link set ctb up
	CT_ADDR[a]=$CT_LINK_A
	CT_ADDR[b]=$CT_LINK_B
}

# ct_net_teardown: deletes the netns (their bridges and veths go with them)
ct_net_teardown() {
	local h
	for h in "${!CT_NS[@]}"; do
		ip netns delete "${CT_NS[$h]}" 2>/dev/null
		unset "CT_NS[$h]"
	done
}

# ---------------------------------------------------------------- hosts
# ct_host NAME: the dirs of host NAME (in netns CT_NS[NAME] when ct_net ran)
ct_host() {
	local h=$1 d=$T/$1 p
	mkdir -p "$d/etc/sandboxes" "$d/etc/processes" "$d/bin" "$d/run" "$d/log"
	CT_HOSTS="$CT_HOSTS $h"
	CT_TREE[$h]=
	[ -n "${CT_ADDR[$h]:-}" ] || CT_ADDR[$h]=127.0.0.1
	if [ -n "${CT_NS[$h]:-}" ]; then
		# these run in the host's netns: the tree (and so its knots, their
		# containers' veths and bridge), LXC's tools (their command socket
		# is abstract, i.e. per netns), the lithos commands
		for p in lithos_tree lithos_ps lithos_switch lithos_cmd lithos_knot lithos_lxcconf lithos_check \
			lithos_checkpoint lithos_restore lithos_migrate lithos_clean; do
			ct_wrap "$d/bin/$p" "${CT_NS[$h]}" "$top_builddir/$p"
		done
		for p in lxc-info lxc-ls lxc-stop lxc-attach lxc-checkpoint lxc-start lxc-wait; do
			# the real tool, not another host's wrapper on the current PATH
			ct_wrap "$d/bin/$p" "${CT_NS[$h]}" "$(PATH=$CT_PATH0; command -v "$p" || echo "/usr/bin/$p")"
		done
	fi
}
ct_wrap() { # FILE NETNS PROGRAM
	printf '#!/bin/sh\nexec %s %s %s %s "$@"\n' "$CT_NSEXEC" "$2" "$T/.sysfs" "$3" >"$1"
	chmod 0755 "$1"
}

# ct_use NAME: the itest/treetest globals now describe host NAME
ct_use() {
	[ -n "$CT_CUR" ] && CT_TREE[$CT_CUR]=$TREE
	CT_CUR=$1
	local d=$T/$1
	ETC=$d/etc
	MASTER=$ETC/master.yaml
	RUNDIR=$d/run
	STATE_DIR=$RUNDIR/state
	STDIO_LOG_DIR=$d/log/stderr
	LXCPATH=$d/lxc
	CGNAME=lithos-it.$ITEST_NAME.$$.$1
	TREE_LOG=$d/tree.log
	TREE=${CT_TREE[$1]}
	if [ -n "${CT_NS[$1]:-}" ]; then
		export PATH=$d/bin:$CT_PATH0
		LITHOS_TREE=$d/bin/lithos_tree
		LITHOS_PS=$d/bin/lithos_ps
		LITHOS_SWITCH=$d/bin/lithos_switch
		LITHOS_CMD=$d/bin/lithos_cmd
	else
		export PATH=$CT_PATH0
		LITHOS_TREE=$top_builddir/lithos_tree
		LITHOS_PS=$top_builddir/lithos_ps
		LITHOS_SWITCH=$top_builddir/lithos_switch
		LITHOS_CMD=$top_builddir/lithos_cmd
	fi
}

# ct_on NAME CMD...: CMD (a function or program) with host NAME in use, in
# its netns; the current host is unchanged afterwards
ct_on() {
	local h=$1
	shift
	(
		ct_use "$h"
		if [ -n "${CT_NS[$h]:-}" ] && ! declare -F "$1" >/dev/null; then
			exec "$CT_NSEXEC" "${CT_NS[$h]}" "$T/.sysfs" "$@"
		fi
		"$@"
	)
}

# ct_master [YAML-LINES]: master.yaml of the current host
ct_master() {
	local d=$T/$CT_CUR
	{
		echo "sandboxes-dir: ./sandboxes"
		echo "processes-dir: ./processes"
		echo "runtime-dir: $d/run"
		echo "default-log-dir: $d/log"
		echo "devfs-dir: $T/no-devfs"
		echo "lxc-path: $d/lxc"
		echo "cgroup-name: $CGNAME"
		echo "cgroup-controllers: [name, cpu, cpuacct, memory]"
		[ $# -gt 0 ] && printf '%s\n' "$@"
	} >"$MASTER"
}
# ct_sandbox NAME <<YAML: sandbox NAME of the current host (image-dir $IMAGES)
ct_sandbox() {
	itest_sandbox "$@"
}
# ct_migratable_hosts HOST...: each HOST (ct_host) with its master.yaml and
# a migratable sandbox s for root; the last one stays in use
ct_migratable_hosts() {
	local h
	for h in "$@"; do
		ct_host "$h"
		ct_use "$h"
		ct_master
		printf 'allow-users: [0]\nallow-groups: [0]\nmigratable: true\n' | ct_sandbox s
	done
}

# ---------------------------------------------------------------- ssh
# ct_sshd NAME: sshd for host NAME (see the header); sets CT_SSH_BIN
ct_sshd() {
	local h=$1 s=$T/ssh sshd port i addr
	sshd=$("$INSTALL_SSHD" --print 2>/dev/null) || skip_all "no sshd: run tests/lib/install-sshd.sh (scripts/install-deps.sh does)"
	getent passwd sshd >/dev/null || skip_all "no system user sshd (tests/lib/install-sshd.sh adds it)"
	command -v ssh >/dev/null && command -v ssh-keygen >/dev/null || skip_all "openssh-client is needed"
	mkdir -p "$s/bin"
	chmod 0700 "$s"
	if [ ! -e "$s/id_ed25519" ]; then
		ssh-keygen -q -t ed25519 -N '' -C "lithos-ct-user" -f "$s/id_ed25519" || bail_out "ssh-keygen (user)"
		ssh-keygen -q -t ed25519 -N '' -C "lithos-ct-host" -f "$s/host_ed25519" || bail_out "ssh-keygen (host)"
		cp "$s/id_ed25519.pub" "$s/authorized_keys"
		{
			echo "Host ct-*"
			echo "  User root"
			echo "  IdentityFile $s/id_ed25519"
			echo "  IdentitiesOnly yes"
			echo "  UserKnownHostsFile $s/known_hosts"
			echo "  GlobalKnownHostsFile /dev/null"
			echo "  StrictHostKeyChecking yes"
			echo "  BatchMode yes"
			echo "  ConnectTimeout 10"
			echo "  LogLevel ERROR"
		} >"$s/config"
		printf '#!/bin/sh\nexec /usr/bin/ssh -F %s "$@"\n' "$s/config" >"$s/bin/ssh"
		printf '#!/bin/sh\nexec /usr/bin/scp -F %s "$@"\n' "$s/config" >"$s/bin/scp"
		chmod 0755 "$s/bin/ssh" "$s/bin/scp"
		CT_SSH_BIN=$s/bin
	fi
	# sshd's privilege separation chroots into /run/sshd
	if [ ! -d /run/sshd ]; then
		mkdir -m 0755 /run/sshd && CT_RUNSSHD_CREATED=1
	fi
	addr=${CT_ADDR[$h]}
	for i in $(seq 50); do
		port=$((30000 + RANDOM % 9000))
		ct_on "$h" ss -ltnH "sport = :$port" | grep -q . || break
	done
	cat >"$s/sshd_config.$h" <<EOF
Port $port
ListenAddress $addr
HostKey $s/host_ed25519
PidFile none
AuthorizedKeysFile $s/authorized_keys
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowUsers root
AllowTcpForwarding no
X11Forwarding no
PermitTTY no
PermitUserEnvironment no
Subsystem sftp internal-sftp
SetEnv PATH=$T/$h/bin:$top_builddir:$CT_PATH0 $(env | grep -E '^LITHOS_[A-Z_]+=[^ ]*$' | sort | tr '\n' ' ')
LogLevel VERBOSE
EOF
	if [ -n "${CT_NS[$h]:-}" ]; then
		"$CT_NSEXEC" "${CT_NS[$h]}" "$T/.sysfs" "$sshd" -D -e -f "$s/sshd_config.$h" </dev/null >>"$s/sshd.$h.log" 2>&1 &
	else
		"$sshd" -D -e -f "$s/sshd_config.$h" </dev/null >>"$s/sshd.$h.log" 2>&1 &
	fi
	CT_SSHD[$h]=$!
	CT_SSHD_PORT[$h]=$port
	{
		echo "Host ct-$h"
		echo "  HostName $addr"
		echo "  Port $port"
	} >>"$s/config"
	echo "[$addr]:$port $(cut -d' ' -f1,2 "$s/host_ed25519.pub")" >>"$s/known_hosts"
	for i in $(seq 100); do
		kill -0 "${CT_SSHD[$h]}" 2>/dev/null || break
		ct_on "$h" ss -ltnH "sport = :$port" | grep -q . && return 0
		sleep 0.05
	done
	diag "sshd for host $h did not start"
	diag_file "$s/sshd.$h.log"
	return 1
}

# ct_ssh NAME CMD...: runs CMD on host NAME over ssh (from the current host's
# netns, as a migration would)
ct_ssh() {
	local h=$1
	shift
	if [ -n "$CT_CUR" ] && [ -n "${CT_NS[$CT_CUR]:-}" ]; then
		"$CT_NSEXEC" "${CT_NS[$CT_CUR]}" "$T/.sysfs" /usr/bin/ssh -F "$T/ssh/config" "ct-$h" "$@"
	else
		/usr/bin/ssh -F "$T/ssh/config" "ct-$h" "$@"
	fi
}

# ct_stop_sshd NAME
ct_stop_sshd() {
	local p=${CT_SSHD[$1]:-}
	[ -n "$p" ] || return 0
	kill -TERM "$p" 2>/dev/null
	tt_wait_gone 5 "$p" || kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	unset "CT_SSHD[$1]"
}

# ---------------------------------------------------------------- counterd
# ct_ask_unix PATH: one status line from counterd's unix socket (host path,
# e.g. /proc/INITPID/root/run/c.sock), or "ERROR ..."
ct_ask_unix() {
	"$PYTHON" - "$1" <<'PYEOF'
import socket, sys
try:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(sys.argv[1])
        d = b""
        while not d.endswith(b"\n"):
            c = s.recv(512)
            if not c:
                break
            d += c
        print(d.decode().strip() or "ERROR empty")
except OSError as e:
    print("ERROR %s" % e)
PYEOF
}
# ct_ask_tcp HOST ADDR PORT: one status line over TCP, connecting from host
# HOST's netns
ct_ask_tcp() {
	ct_on "$1" "$PYTHON" - "$2" "$3" <<'PYEOF'
import socket, sys
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5) as s:
        s.settimeout(5)
        d = b""
        while not d.endswith(b"\n"):
            c = s.recv(512)
            if not c:
                break
            d += c
        print(d.decode().strip() or "ERROR empty")
except OSError as e:
    print("ERROR %s" % e)
PYEOF
}
# ct_field LINE NAME: a NAME=VALUE field of a counterd status line
ct_field() {
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# ---------------------------------------------------------------- held TCP
# ct_hold_start HOST ADDR PORT: a client in HOST's netns opens one TCP
# connection to counterd --hold 1 at ADDR:PORT and holds it; its first
# answer is in $held ("ERROR ..." if none within 10 s)
# ct_hold_ask: one more request on that connection; the answer in $held
# (waits 25 s: a checkpointed peer answers after its restore)
# ct_hold_stop: the client closes the connection and exits
CT_HOLD_PID=
CT_HOLD_N=0
ct_hold_start() {
	local d=$T/hold
	[ -s "$T/hold.py" ] || cat >"$T/hold.py" <<'PYEOF'
import os, socket, sys, time
addr, port, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def put(n, text):
    with open("%s/%d.tmp" % (d, n), "w") as f:
        f.write(text + "\n")
    os.rename("%s/%d.tmp" % (d, n), "%s/%d" % (d, n))
try:
    s = socket.create_connection((addr, port), timeout=5)
except OSError as e:
    put(1, "ERROR %s" % e)
    sys.exit(1)
s.settimeout(20)
def answer():
    b = b""
    while not b.endswith(b"\n"):
        c = s.recv(512)
        if not c:
            return "ERROR closed after %r" % b
        b += c
    return b.decode().strip()
put(1, answer())
n, end = 2, time.time() + 300
while time.time() < end:
    g = "%s/go.%d" % (d, n)
    if not os.path.exists(g):
        time.sleep(0.02)
        continue
    if open(g).read().strip() == "quit":
        break
    try:
        s.sendall(b"\n")
        put(n, answer())
    except OSError as e:
        put(n, "ERROR %s" % e)
    n += 1
PYEOF
	rm -rf "$d"
	mkdir -p "$d"
	CT_HOLD_N=1
	ct_on "$1" "$PYTHON" "$T/hold.py" "$2" "$3" "$d" 2>"$T/hold.err" &
	CT_HOLD_PID=$!
	tt_wait_for 10 "[ -s $d/1 ]"
	held=$(cat "$d/1" 2>/dev/null || echo "ERROR no answer: $(cat "$T/hold.err")")
}
ct_hold_ask() {
	local d=$T/hold
	CT_HOLD_N=$((CT_HOLD_N + 1))
	# whole or not at all: hold.py polls for the file and reads it at once
	echo go >"$d/go.tmp" && mv "$d/go.tmp" "$d/go.$CT_HOLD_N"
	tt_wait_for 25 "[ -s $d/$CT_HOLD_N ]"
	held=$(cat "$d/$CT_HOLD_N" 2>/dev/null || echo "ERROR no answer: $(cat "$T/hold.err")")
}
ct_hold_stop() {
	[ -n "$CT_HOLD_PID" ] || return 0
	# written whole: a "go.N" seen empty was taken for a request, and hold.py
	# then waited 300 s for a go.N+1 that never came
	echo quit >"$T/hold/go.tmp" && mv "$T/hold/go.tmp" "$T/hold/go.$((CT_HOLD_N + 1))"
	wait "$CT_HOLD_PID"
	CT_HOLD_PID=
}

# ---------------------------------------------------------------- cleanup
# ct_leftovers: what any host left behind (tt_leftovers on every host) plus
# sshd processes of this script, its netns and /run/netns entries
ct_leftovers() {
	local h p
	for h in $CT_HOSTS; do
		ct_on "$h" tt_leftovers "$@" | sed "s|^|host $h: |"
	done
	for h in "${!CT_SSHD[@]}"; do
		kill -0 "${CT_SSHD[$h]}" 2>/dev/null && echo "sshd of host $h: ${CT_SSHD[$h]}"
	done
	ps -eo pid=,args= | grep -F -- "-f $T/ssh/sshd_config" | grep -v grep | sed 's|^|process: |'
	[ -n "$CT_NETNS" ] && ip netns list 2>/dev/null | awk '{print $1}' | grep -F -- "$CT_NETNS" | sed 's|^|netns: |'
	return 0
}
ct_check_clean() { # DESCRIPTION LXCNAME...
	local what=$1
	shift
	is "$(ct_leftovers "$@")" "" "nothing left behind: $what"
}
# ct_check_clean_known DESCRIPTION KNOWN-ERE REASON LXCNAME...: as
# ct_check_clean for everything but the lines matching KNOWN-ERE (a known
# product bug), which are a TODO point of their own (XPASS once fixed)
ct_check_clean_known() {
	local what=$1 known=$2 why=$3 l
	shift 3
	l=$(ct_leftovers "$@")
	is "$(printf '%s\n' "$l" | grep -vE -- "$known" | grep .)" "" "nothing left behind: $what (known leftovers aside)"
	if printf '%s\n' "$l" | grep -qE -- "$known"; then
		todo 1 "no known leftovers: $what" "$why"
		printf '%s\n' "$l" | grep -E -- "$known" | diag
	else
		todo 0 "no known leftovers: $what" "$why"
	fi
}

# ct_stop_all: stops every tree (SIGTERM), sshd, then netns; used by tests
# at their end (before ct_check_clean) and by the EXIT trap
ct_stop_all() {
	local h
	for h in "${!CT_SSHD[@]}"; do
		ct_stop_sshd "$h"
	done
	for h in $CT_HOSTS; do
		ct_use "$h"
		[ -n "$TREE" ] && tt_stop_tree TERM
		CT_TREE[$h]=
	done
}

ct_cleanup() {
	local h
	[ -n "$CT_HOLD_PID" ] && kill "$CT_HOLD_PID" 2>/dev/null
	for h in "${!CT_SSHD[@]}"; do
		ct_stop_sshd "$h"
	done
	for h in $CT_HOSTS; do
		ct_use "$h"
		tt_cleanup
		[ -d "$LXCPATH" ] && for n in $(lxc-ls -P "$LXCPATH" -1 2>/dev/null); do
			lxc-stop -P "$LXCPATH" -n "$n" -k >/dev/null 2>&1
		done
		local d
		for d in /sys/fs/cgroup/*/"$CGNAME" /sys/fs/cgroup/"$CGNAME"; do
			[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
		done
	done
	ct_net_teardown
	if [ -n "$CT_RUNSSHD_CREATED" ] && ! pgrep -x sshd >/dev/null 2>&1; then
		rmdir /run/sshd 2>/dev/null
	fi
	# itest_cleanup removes the cgroup of the last host in use and $T
	return 0
}

# ---------------------------------------------------------------- lithos
LITHOS_CHECKPOINT=$top_builddir/lithos_checkpoint
LITHOS_RESTORE=$top_builddir/lithos_restore

# ct_need_commands: lithos_checkpoint and lithos_restore were built, or skip
ct_need_commands() {
	local p
	for p in "$LITHOS_CHECKPOINT" "$LITHOS_RESTORE"; do
		[ -x "$p" ] || skip_all "${p##*/} is not built in this tree"
	done
}

# ct_counter_config NAME [MIB]: /config/NAME.yaml in image t/v1: counterd as a
# Daemon serving its unix socket /run/c.sock on a tmpfs /run, MIB MiB (1).
# It runs as uid 0 (sandboxes: allow-users: [0], allow-groups: [0]): root on
# the test VMs has no CAP_SYS_RESOURCE, and without it CRIU cannot dump a
# process of another uid (prlimit on it: "Can't get rlimit 0: Operation not
# permitted"); real hosts do not have this limit.
ct_counter_config() {
	tt_config "$1" <<YAML
kind: Daemon
user-id: 0
group-id: 0
executable: /bin/counterd
arguments: [--unix, /run/c.sock, --mem, "${2:-1}", --dirty, "4"]
volumes:
  /run: !Tmpfs {size: 1Mi, mode: 0o1777}
restart-timeout: 0
YAML
}

# ct_ask HOST LXCNAME: counterd's status line from the instance on HOST
# (through /proc/INIT/root/run/c.sock; waits 10 s for lxc-info to show it
# running and 10 s for the socket; says on stderr when lxc-info was late)
ct_ask() {
	local p i
	for i in $(seq 100); do
		p=$(ct_on "$1" tt_init_pid "$2")
		[ -n "$p" ] && break
		sleep 0.1
	done
	[ -n "$p" ] || { echo "ERROR $2 is not running on host $1 (lxc-info, 10 s)"; return; }
	[ "$i" -gt 1 ] && echo "ct_ask: lxc-info saw $2 running on host $1 only after $i tries" >&2
	tt_wait_for 10 "[ -S /proc/$p/root/run/c.sock ]" || { echo "ERROR no socket in $2 on host $1"; return; }
	ct_ask_unix "/proc/$p/root/run/c.sock"
}

# ct_cmd NAME ARGS...: runs a lithos command of the current host (its
# netns), -C $MASTER first; output in $T/out and $out, $T/err and $err,
# exit code in $rc
ct_cmd() {
	local prog=$1
	shift
	if [ -n "${CT_NS[$CT_CUR]:-}" ]; then
		"$T/$CT_CUR/bin/$prog" -C "$MASTER" "$@" >"$T/out" 2>"$T/err" </dev/null
	else
		"$top_builddir/$prog" -C "$MASTER" "$@" >"$T/out" 2>"$T/err" </dev/null
	fi
	rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}

# ct_switch HOST SANDBOX FILE: the processes config of SANDBOX on HOST
# becomes FILE's content, through lithos_switch of that host (ssh for a
# remote host is the caller's business: this runs locally in HOST's netns)
ct_switch() {
	ct_on "$1" "$top_builddir/lithos_switch" --master "$T/$1/etc/master.yaml" "$2" "$3"
}

# ct_target_script HOST INSTANCE DIR [PROCESSES]: the shell commands that
# restore INSTANCE on HOST (run there): lithos_restore in the background
# (queued until the entry is in HOST's processes config); unless it already
# gave up within 0.5 s (refused), lithos_switch to PROCESSES; wait for the
# restore; when it failed, the processes config goes back to what it was.
ct_target_script() {
	local h=$1 inst=$2 dir=$3 procs=${4:-} m=$T/$1/etc/master.yaml sb=${2%%/*}
	local cur=$T/$1/etc/processes/$sb.yaml
	cat <<EOF
PATH=$T/$h/bin:$top_builddir:\$PATH
cp $cur $T/$h/processes.before 2>/dev/null || : >$T/$h/processes.before
lithos_restore -C $m $inst $dir & r=\$!
sleep 0.5
switched=
if [ -n "$procs" ] && kill -0 \$r 2>/dev/null; then
	lithos_switch --master $m $sb $procs && switched=1
fi
wait \$r
rc=\$?
if [ \$rc -ne 0 ] && [ -n "\$switched" ]; then
	lithos_switch --master $m $sb $T/$h/processes.before
fi
exit \$rc
EOF
}

# ct_migrate SRC DST INSTANCE MODE [SRC-PROCESSES DST-PROCESSES]: the operator's
# migration of INSTANCE (SANDBOX/PROC.N) from host SRC to host DST, as
# docs/migration.md describes it:
#   1. on SRC: lithos_checkpoint INSTANCE DIR (final dump; the instance stops
#      and SRC's tree leaves it alone)
#   2. the images go to DST: MODE ssh: tar through ssh into DST's dir;
#      MODE shared: DIR is in a directory both hosts see ($T/shared)
#   3. on DST (over ssh in ssh mode): lithos_restore INSTANCE DIR (queued
#      until the entry is there, then waits for the result) while
#      lithos_switch gives DST's tree the entry (DST-PROCESSES file); see
#      ct_target_script
#   4. on SRC: lithos_switch without the entry (SRC-PROCESSES file)
# Sets MIG_RC (0 ok, else the step that failed: 1 checkpoint, 2 transfer,
# 3 restore), MIG_OUT (what the commands said), MIG_SRC_DIR (the images on
# SRC, to restore there after a failure), MIG_DIR (DST's image dir).
# CT_MIG_TRANSFER, when set, replaces the transfer command of MODE ssh
# (reads the tar stream on stdin), e.g. to make it fail midway.
ct_migrate() {
	local src=$1 dst=$2 inst=$3 mode=$4 srcp=${5:-} dstp=${6:-} sb dir
	sb=${inst%%/*}
	MIG_OUT=
	if [ "$mode" = shared ]; then
		mkdir -p "$T/shared"
		dir=$T/shared/ckpt.$RANDOM
	else
		dir=$T/$src/ckpt.$RANDOM
	fi
	MIG_SRC_DIR=$dir
	ct_on "$src" "$LITHOS_CHECKPOINT" -C "$T/$src/etc/master.yaml" "$inst" "$dir" >"$T/mig.out" 2>&1
	local r=$?
	MIG_OUT=$(cat "$T/mig.out")
	[ $r -eq 0 ] || { MIG_RC=1; return 1; }
	if [ "$mode" = ssh ]; then
		MIG_DIR=$T/$dst/ckpt.in.$RANDOM
		if [ -n "${CT_MIG_TRANSFER:-}" ]; then
			tar -C "$dir" -cf - . | eval "$CT_MIG_TRANSFER" >>"$T/mig.out" 2>&1
		else
			tar -C "$dir" -cf - . | ct_ssh "$dst" "mkdir -p $MIG_DIR && tar -C $MIG_DIR -xf -" >>"$T/mig.out" 2>&1
		fi
		r=$?
		MIG_OUT=$(cat "$T/mig.out")
		[ $r -eq 0 ] || { MIG_RC=2; return 1; }
		[ -n "$dstp" ] && ct_ssh "$dst" "cat >$T/$dst/new-processes.yaml" <"$dstp"
		ct_ssh "$dst" "$(ct_target_script "$dst" "$inst" "$MIG_DIR" "${dstp:+$T/$dst/new-processes.yaml}")" \
			>>"$T/mig.out" 2>&1
		r=$?
	else
		MIG_DIR=$dir
		ct_on "$dst" /bin/sh -c "$(ct_target_script "$dst" "$inst" "$MIG_DIR" "$dstp")" >>"$T/mig.out" 2>&1
		r=$?
	fi
	MIG_OUT=$(cat "$T/mig.out")
	[ $r -eq 0 ] || { MIG_RC=3; return 1; }
	[ -n "$srcp" ] && ct_switch "$src" "$sb" "$srcp" >>"$T/mig.out" 2>&1
	MIG_OUT=$(cat "$T/mig.out")
	MIG_RC=0
}
