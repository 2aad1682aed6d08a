#!/bin/bash
# t0313: the lxc-create template (templates/lxc-lithos): a standalone LXC
# container made from a lithos sandbox/process, run by LXC's own tools with
# no lithos around.
# - lxc-create -t TEMPLATE -- --master --sandbox --process [--instance]:
#   config compiled by lithos_lxcconf --standalone, lithos.template marker,
#   no rootfs dir of its own, nothing in the state dir before the start;
# - lxc-start -d: RUNNING in lxc-info; the state dir (resolv.conf, hosts)
#   made by the pre-start hook; lxc-attach sees the process with the
#   configured uid/gid, environment and exact argv (spaces, an empty
#   argument), its volumes and /etc/resolv.conf mounted, the rootfs
#   read-only; its output in console.log; lxc-stop: STOPPED, state dir gone;
# - lxc-start -F of the same container; a Command entry (exits by itself);
#   another instance (--instance 1) with its own LITHOS_NAME;
# - a bridged sandbox with a uid-map (own bridge, no uplink): eth0 with the
#   instance's address, the veth on the bridge, after-setup-command run,
#   the tcp-port bound by lithos_init in the container's namespace, the
#   user namespace; veth and state dir gone after the stop; a port with
#   external: true refused at create;
# - lithos_ps does not list the template's containers (foreign to lithos),
#   lithos_clean keeps their image even when no processes config names it;
# - lxc-destroy removes the container dir (destroy hook) and leaves the
#   image intact; without the marker the hook removes nothing;
# - failures (unknown sandbox, unknown process, invalid container config,
#   instance out of range, missing --sandbox) exit non-zero, name the
#   file/object, and leave nothing in the LXC path.
# Traffic: only between the host and the container on the script's bridge.
# TAP.  Needs root, LXC, busybox-static and iproute2.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/itest.sh"
itest_init t0313

TEMPLATE=$top_builddir/templates/lxc-lithos
[ -x "$TEMPLATE" ] || bail_out "$TEMPLATE was not built (make)"
command -v lxc-create >/dev/null 2>&1 || skip_all "lxc-create missing (apt-get install lxc)"
export LITHOS_LXCCONF
LITHOS_PS=$top_builddir/lithos_ps
IP=$(command -v ip) || skip_all "ip (iproute2) is missing"

# our own bridge on a free 10.232.N.0/24 (no uplink, no NAT)
itest_bridge lc 10.232 120

itest_image
itest_master
H=$T/host
mkdir -p "$H/rw"
chmod 1777 "$H/rw"
itest_sandbox s <<EOF
allow-users: [0-2000]
allow-groups: [0-2000]
writable-paths: {/rw: $H/rw}
EOF
cat >>"$ETC/processes/s.yaml" <<'EOF'
web:
  instances: 2
  image: t/v1
  config: /config/web.yaml
EOF
cat >"$IMAGES/t/v1/config/web.yaml" <<'EOF'
kind: Daemon
user-id: 1000
group-id: 1001
executable: /bin/sh
arguments: ["-c", "echo \"args [$1][$2][$3] $LITHOS_NAME\"; exec sleep 1000", "x", "a  b", ""]
environ: {PATH: /bin, FOO: "a  b"}
volumes:
  /data: !Persistent /rw
  /state: !Statedir {}
EOF
itest_command s once <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
executable: /bin/sh
arguments: ["-c", "echo once ran; id -u; exit 3"]
environ: {PATH: /bin}
EOF

cat >"$T/after.sh" <<EOF
#!/bin/sh
$IP -4 -o addr show >"$T/after.\$1" 2>&1
EOF
chmod 755 "$T/after.sh"
itest_sandbox br <<EOF
allow-users: [0]
allow-groups: [0]
allow-tcp-ports: [8080, 8081]
uid-map: [{inside: 0, outside: 100000, count: 65536}]
gid-map: [{inside: 0, outside: 100000, count: 65536}]
bridged-network:
  bridge: $BR
  network: $NET.0/24
  default-gateway: $NET.1
  after-setup-command: [$T/after.sh, '@{container_ip}']
EOF
cat >>"$ETC/processes/br.yaml" <<EOF
srv:
  image: t/v1
  config: /config/srv.yaml
  ip-addresses: [$NET.10]
ext:
  image: t/v1
  config: /config/ext.yaml
  ip-addresses: [$NET.11]
EOF
cat >"$IMAGES/t/v1/config/srv.yaml" <<'EOF'
kind: Daemon
user-id: 0
group-id: 0
executable: /bin/sleep
arguments: ["1000"]
tcp-ports:
  8080: {fd: 3}
EOF
cat >"$IMAGES/t/v1/config/ext.yaml" <<'EOF'
kind: Daemon
user-id: 0
group-id: 0
executable: /bin/sleep
arguments: ["1000"]
tcp-ports:
  8081: {fd: 3, external: true}
EOF

# a listing of the image (names, modes, sizes) to compare after destroy
image_listing() {
	(cd "$IMAGES/t/v1" && find . -printf '%p %m %s %U\n' | sort | md5sum)
}
IMAGE_BEFORE=$(image_listing)

create() { # NAME ARGS...: lxc-create with the template; $rc, $out
	local n=$1
	shift
	out=$(lxc-create -P "$LXCPATH" -n "$n" -t "$TEMPLATE" -- --master "$MASTER" "$@" 2>&1)
	rc=$?
}
state() { # NAME: lxc-info's state
	lxc-info -P "$LXCPATH" -n "$1" -s -H 2>/dev/null
}
wait_state() { # NAME STATE: at most 10 s
	local i
	for i in $(seq 100); do
		[ "$(state "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
# the container's main process: the child of its init running COMM
app_pid() { # NAME COMM
	local init c i
	for i in $(seq 100); do
		init=$(lxc-info -P "$LXCPATH" -n "$1" -p -H 2>/dev/null)
		for c in $(cat "/proc/$init/task/$init/children" 2>/dev/null); do
			if [ "$(cat "/proc/$c/comm" 2>/dev/null)" = "$2" ]; then
				echo "$c"
				return 0
			fi
		done
		sleep 0.1
	done
	return 1
}
attach() { # NAME CMD...: lxc-attach with a clean environment
	local n=$1
	shift
	lxc-attach -P "$LXCPATH" -n "$n" --clear-env -- "$@" 2>/dev/null
}

# ---- create
CT=web-standalone
create "$CT" --sandbox s --process web
is "$rc" 0 "lxc-create -t lxc-lithos: exit 0" || diag "$out"
CONF=$LXCPATH/$CT/config
like "$(cat "$CONF" 2>&1)" '^lxc\.init\.cmd = /dev/\.lithos-init --unescape -- /bin/sh -c .* x a%20%20b %00$' \
	"config: lxc.init.cmd runs lithos_init with the exact argv, encoded"
is "$(grep -cE '^lxc\.hook\.(pre-start|post-stop|destroy) = .*/lithos_hook$' "$CONF")" 3 \
	"config: pre-start, post-stop and destroy hooks run lithos_hook"
is "$(grep -E '^lxc\.(rootfs\.path|rootfs\.managed) ' "$CONF" | sort)" "lxc.rootfs.managed = 0
lxc.rootfs.path = dir:$IMAGES/t/v1" "config: the image is the rootfs, not managed by LXC"
is "$(grep -c '^lxc\.net\.0\.type = none$' "$CONF")" 1 \
	"config: the sandbox's network (host), not /etc/lxc/default.conf's"
is "$(grep -v '^#' "$LXCPATH/$CT/lithos.template" 2>&1)" "sandbox s
process web
instance 0
master $MASTER" "lithos.template marker names the sandbox, process, instance and master"
xattr=$(python3 -c 'import os, sys; print(os.listxattr(sys.argv[1]))' "$LXCPATH/$CT" 2>&1)
[ ! -e "$LXCPATH/$CT/lithos.instance" ] && [ "$xattr" = "[]" ] && [ ! -e "$LXCPATH/$CT/rootfs" ]
ok $? "not marked as lithos's (no trusted.lithos.instance: $xattr, no lithos.instance file) and no rootfs dir of its own"
is "$(state "$CT")" STOPPED "lxc-info: STOPPED after create"
is "$(ls -A "$STATE_DIR" 2>/dev/null)" "" "no state dir before the start"

# ---- lxc-start -d
lxc-start -P "$LXCPATH" -n "$CT" -d >"$T/start.out" 2>&1
ok $? "lxc-start -d: exit 0" || diag_file "$T/start.out"
wait_state "$CT" RUNNING
ok $? "lxc-info: RUNNING" || diag_file "$LXCPATH/$CT/lxc.log"
like "$(lxc-ls -P "$LXCPATH" --fancy 2>&1)" "^$(re "$CT") +RUNNING " "lxc-ls --fancy lists it RUNNING"
is "$(ls -A "$STATE_DIR/$CT" 2>&1 | tr '\n' ' ')" "hosts resolv.conf " \
	"pre-start hook made the state dir (hosts, resolv.conf; bound at /state too)"
if APP=$(app_pid "$CT" sleep); then
	is "$(grep -E '^(Uid|Gid):' "/proc/$APP/status" | tr -s '\t ' ' ' | sed 's/ $//')" \
		"Uid: 1000 1000 1000 1000
Gid: 1001 1001 1001 1001" "the process runs as user-id 1000, group-id 1001"
	CPID=$(attach "$CT" /bin/sh -c 'for p in /proc/[0-9]*; do [ "$(cat $p/comm)" = sleep ] && echo ${p#/proc/}; done')
	is "$(attach "$CT" /bin/cat "/proc/$CPID/cmdline" | tr '\0' '|')" "sleep|1000|" \
		"lxc-attach: sees the process (sleep 1000, pid $CPID inside)"
	env_in=$(attach "$CT" /bin/cat "/proc/$CPID/environ" | tr '\0' '\n' | sort)
	is "$(printf '%s\n' "$env_in" | grep -E '^(FOO|PATH|LITHOS_NAME|LITHOS_CONFIG)=')" \
		"FOO=a  b
LITHOS_CONFIG=/config/web.yaml
LITHOS_NAME=s/web.0
PATH=/bin" "lxc-attach: the process's environment is the config's (FOO with two spaces)"
	mi=$(attach "$CT" /bin/cat /proc/self/mountinfo)
	like "$(mount_line "$mi" /)" '^ro[,]' "lxc-attach: rootfs read-only"
	ml=$(mount_line "$mi" /data)
	has_opts rw,nosuid,nodev,noexec "${ml%% *}"
	ok $? "lxc-attach: /data (!Persistent) rw,nosuid,nodev,noexec ($ml)"
	is "$(attach "$CT" /bin/sh -c 'echo hi >/data/f && cat /data/f')" hi "lxc-attach: /data writable"
	is "$(cat "$H/rw/f" 2>&1)" hi "the write landed in the sandbox's /rw on the host"
	is "$(attach "$CT" /bin/ls /state | tr '\n' ' ')" "hosts resolv.conf " \
		"lxc-attach: /state (!Statedir) is the instance's state dir"
	like "$(printf '%s\n' "$mi" | awk '$5 == "/etc/resolv.conf" {print $4}')" "^/$(re "${STATE_DIR#/}/$CT")/resolv.conf\$|$(re "$CT")/resolv.conf\$" \
		"lxc-attach: /etc/resolv.conf is bound from the state dir"
	is "$(attach "$CT" /bin/cat /etc/resolv.conf)" "$(cat /etc/resolv.conf)" \
		"lxc-attach: /etc/resolv.conf is the host's copy"
else
	ok 1 "the process (sleep) runs in $CT"
	diag_file "$LXCPATH/$CT/lxc.log"
fi
like "$(cat "$LXCPATH/$CT/console.log" 2>&1)" '^args \[a  b\]\[\]\[\] s/web\.0' \
	"console.log has the process's output (exact arguments)"

lxc-stop -P "$LXCPATH" -n "$CT" -t 10 >"$T/stop.out" 2>&1
ok $? "lxc-stop: exit 0" || diag_file "$T/stop.out"
is "$(state "$CT")" STOPPED "lxc-info: STOPPED after lxc-stop"
[ ! -e "$STATE_DIR/$CT" ]
ok $? "post-stop hook removed the state dir"

# ---- lxc-start -F (foreground)
lxc-start -P "$LXCPATH" -n "$CT" -F </dev/null >"$T/fg.out" 2>&1 &
FG=$!
ITEST_PIDS="$ITEST_PIDS $FG"
wait_state "$CT" RUNNING
ok $? "lxc-start -F: RUNNING"
[ -d "$STATE_DIR/$CT" ]
ok $? "lxc-start -F: state dir made"
lxc-stop -P "$LXCPATH" -n "$CT" -t 10 >/dev/null 2>&1
wait "$FG"
ok $? "lxc-start -F: exit 0 after lxc-stop" || diag_file "$T/fg.out"
ITEST_PIDS=
[ ! -e "$STATE_DIR/$CT" ]
ok $? "lxc-start -F: state dir removed after the stop"

# ---- instance 1 and a Command entry
create web-1 --sandbox s --process web --instance 1
is "$rc" 0 "lxc-create --instance 1: exit 0" || diag "$out"
lxc-start -P "$LXCPATH" -n web-1 -d >/dev/null 2>&1
if wait_state web-1 RUNNING && APP=$(app_pid web-1 sleep); then
	like "$(tr '\0' '\n' <"/proc/$APP/environ")" '^LITHOS_NAME=s/web\.1$' "instance 1: LITHOS_NAME=s/web.1"
else
	ok 1 "instance 1 runs"
fi
lxc-stop -P "$LXCPATH" -n web-1 -t 10 >/dev/null 2>&1
is "$(state web-1)" STOPPED "instance 1: stopped"

create once --sandbox s --process once
is "$rc" 0 "lxc-create from a Command entry: exit 0" || diag "$out"
lxc-start -P "$LXCPATH" -n once -F </dev/null >"$T/once.out" 2>&1
ok $? "Command entry: lxc-start -F returns when the command exits"
is "$(tr -d '\r' <"$LXCPATH/once/console.log" 2>&1)" "once ran
1000" "Command entry: ran as user-id 1000 (console.log)"
is "$(state once)" STOPPED "Command entry: STOPPED after it exited"
[ ! -e "$STATE_DIR/once" ]
ok $? "Command entry: state dir removed"

# ---- bridged, with a user namespace
create srv --sandbox br --process srv
is "$rc" 0 "bridged: lxc-create: exit 0" || diag "$out"
VETH=$(veth_name srv)
lxc-start -P "$LXCPATH" -n srv -d >"$T/srv.out" 2>&1
ok $? "bridged: lxc-start -d: exit 0" || diag_file "$T/srv.out"
if wait_state srv RUNNING && app_pid srv sleep >/dev/null; then
	like "$(attach srv /bin/ip -4 -o addr show dev eth0)" "inet $(re "$NET.10")/24 " \
		"bridged: eth0 has the instance's address $NET.10/24"
	like "$(attach srv /bin/ip route)" "^default via $(re "$NET.1") " "bridged: default route via $NET.1"
	like "$("$IP" -o link show master "$BR" 2>&1)" "$(re "$VETH")" "bridged: host veth $VETH is on $BR"
	# the host has no ping of its own: the image's static busybox has one
	"$IMAGES/t/v1/bin/busybox" ping -c 1 -W 2 "$NET.10" >/dev/null 2>&1
	ok $? "bridged: the host reaches the container over the bridge"
	like "$(cat "$T/after.$NET.10" 2>&1)" "inet $(re "$NET.10")/24" \
		"bridged: after-setup-command ran in the container's network namespace with @{container_ip}"
	like "$(attach srv /bin/cat /proc/net/tcp)" '^ *[0-9]+: 00000000:1F90 00000000:0000 0A ' \
		"bridged: port 8080 listens in the container's namespace (bound by lithos_init)"
	is "$(attach srv /bin/sh -c 'tr -s " " </proc/self/uid_map' | sed 's/^ //')" "0 100000 65536" \
		"bridged: the container's user namespace (uid-map)"
else
	ok 1 "bridged: srv runs"
	diag_file "$LXCPATH/srv/lxc.log"
fi
lxc-stop -P "$LXCPATH" -n srv -t 10 >/dev/null 2>&1
is "$(state srv)" STOPPED "bridged: stopped"
"$IP" link show "$VETH" >/dev/null 2>&1
ok $((!$?)) "bridged: veth $VETH gone after the stop"
[ ! -e "$STATE_DIR/srv" ]
ok $? "bridged: state dir removed"
lxc-destroy -P "$LXCPATH" -n srv >/dev/null 2>&1
[ ! -e "$LXCPATH/srv" ]
ok $? "bridged: lxc-destroy removed the container dir"
create ext --sandbox br --process ext
ok $((rc == 0)) "bridged: a tcp-port with external: true is refused (exit $rc)"
like "$out" "$(re "$IMAGES/t/v1/config/ext.yaml"):7:[0-9]+: tcp-ports: port 8081 has external: true" \
	"bridged: the error names the container config, line and port" || diag "$out"
[ ! -e "$LXCPATH/ext" ]
ok $? "bridged: nothing left of the refused container"

# ---- lithos sees none of them as its own
ps_out=$("$LITHOS_PS" -C "$MASTER" 2>&1)
unlike "$ps_out" "$(re "$CT")|web-1|once" "lithos_ps does not list the template's containers"

# ---- lxc-destroy
lxc-destroy -P "$LXCPATH" -n "$CT" >"$T/destroy.out" 2>&1
ok $? "lxc-destroy: exit 0" || diag_file "$T/destroy.out"
[ ! -e "$LXCPATH/$CT" ]
ok $? "lxc-destroy removed $LXCPATH/$CT"
unlike "$(lxc-ls -P "$LXCPATH" 2>&1)" "^$(re "$CT")\$" "lxc-ls no longer lists it"
is "$(image_listing)" "$IMAGE_BEFORE" "the image is intact (same files, modes, sizes, owners)"
[ -x "$IMAGES/t/v1/bin/busybox" ] && [ -f "$IMAGES/t/v1/config/web.yaml" ]
ok $? "the image's busybox and config are still there"

rm -f "$LXCPATH/web-1/lithos.template"
lxc-destroy -P "$LXCPATH" -n web-1 >"$T/destroy1.out" 2>&1
isnt_rc=$?
[ "$isnt_rc" -ne 0 ] && [ -f "$LXCPATH/web-1/config" ]
ok $? "without the lithos.template marker the destroy hook removes nothing (lxc-destroy exit $isnt_rc)"
rm -rf "$LXCPATH/web-1"
lxc-destroy -P "$LXCPATH" -n once >/dev/null 2>&1
ok $? "lxc-destroy of the Command's container: exit 0"
is "$(ls -A "$LXCPATH")" "" "the LXC path is empty"

# ---- lithos_clean keeps the image of a template container
create keep --sandbox s --process web
is "$rc" 0 "lxc-create keep: exit 0" || diag "$out"
for f in "$ETC"/processes/*.yaml; do cp "$f" "$f.saved" && : >"$f"; done
"$top_builddir/lithos_clean" -C "$MASTER" --unused >"$T/clean.out" 2>"$T/clean.err"
is "$?:$(cat "$T/clean.out")" "0:" "lithos_clean --unused: with no entry naming it, the image stays used by the template container"
lxc-destroy -P "$LXCPATH" -n keep >/dev/null 2>&1
"$top_builddir/lithos_clean" -C "$MASTER" --unused >"$T/clean.out" 2>"$T/clean.err"
like "$(cat "$T/clean.out")" "$(re "$IMAGES/t/v1")\$|^t/v1\$" \
	"lithos_clean --unused: unused once the container is destroyed (the check above can fail)" ||
	diag_file "$T/clean.err"
for f in "$ETC"/processes/*.yaml; do mv "$f.saved" "$f"; done

# ---- failures leave nothing behind
fail_case() { # DESCRIPTION ERE ARGS...
	local what=$1 want=$2
	shift 2
	create bad "$@"
	ok $((rc == 0)) "$what: lxc-create fails (exit $rc)"
	like "$out" "$want" "$what: the error names it" || diag "$out"
	[ ! -e "$LXCPATH/bad" ]
	ok $? "$what: nothing left in the LXC path"
}
fail_case "unknown sandbox" "$(re "$ETC/sandboxes/nosuch.yaml")" --sandbox nosuch --process web
fail_case "unknown process" "$(re "$ETC/processes/s.yaml"):.*no process named nosuch" --sandbox s --process nosuch
fail_case "instance out of range" "instance 2 does not exist; expected 0 to 1" --sandbox s --process web --instance 2
fail_case "missing --sandbox" "--sandbox is missing" --process web
fail_case "not a number" "--instance x is not a number" --sandbox s --process web --instance x
cp "$IMAGES/t/v1/config/web.yaml" "$T/web.yaml.good"
printf 'kind: Daemon\nexecutable: /bin/sh\nuser-id: [\n' >"$IMAGES/t/v1/config/web.yaml"
fail_case "invalid container config" "$(re "$IMAGES/t/v1/config/web.yaml"):[0-9]+:[0-9]+: " --sandbox s --process web
cp "$T/web.yaml.good" "$IMAGES/t/v1/config/web.yaml"
printf 'kind: Daemon\nexecutable: /bin/true\nuser-id: 5000\n' >"$IMAGES/t/v1/config/web.yaml"
fail_case "user-id outside the sandbox" "$(re "$IMAGES/t/v1/config/web.yaml"):3:[0-9]+: .*5000" --sandbox s --process web
cp "$T/web.yaml.good" "$IMAGES/t/v1/config/web.yaml"
# a name lithos gives its own instance would share its state dir, cgroup, veth
create s.web.0 --sandbox s --process web
ok $((rc == 0)) "a container named like lithos's instance (s.web.0): lxc-create fails (exit $rc)"
like "$out" "must not contain '\.'.*state dir, cgroup and veth" "and says why" || diag "$out"
[ ! -e "$LXCPATH/s.web.0" ]
ok $? "and leaves nothing in the LXC path"

# the template run directly, as lxc-create runs it
mkdir -p "$T/direct"
out=$("$TEMPLATE" --name d --path "$T/direct" --rootfs "$T/direct/rootfs" --mapped-uid 0:100000:65536 \
	--sandbox s --process web 2>&1)
rc=$?
ok $((rc == 0)) "--mapped-uid (unprivileged lxc-create): refused (exit $rc)"
like "$out" "must run as root" "--mapped-uid: the error says why" || diag "$out"
out=$("$TEMPLATE" --name d --path "$T/direct" --sandbox s --process web --bogus 2>&1)
rc=$?
ok $((rc == 0)) "an unknown option: exit $rc"
is "$(ls -A "$T/direct")" "" "the refused runs wrote nothing into the container's directory"
out=$("$TEMPLATE" --help 2>&1)
rc=$?
is "$rc" 0 "--help: exit 0"
like "$out" "^Usage: lxc-create -n NAME -t lithos" "--help: prints the usage"

# liblxc's lock files (/run/lxc/lock/LXCPATH/.NAME): lxc-create and
# lxc-destroy leave them for every container, of any template; lithos
# removes only those of the containers it makes itself
for n in "$CT" web-1 once bad srv ext keep s.web.0; do rm -f "/run/lxc/lock$LXCPATH/.$n"; done
check_no_leftovers "after every case" "$CT" web-1 once bad srv ext keep s.web.0
done_testing
