#!/bin/bash
# t0306: LXC's own tools on a running lithos instance.
# While a command started by lithos_cmd sleeps: lxc-ls --fancy lists it
# RUNNING, lxc-info shows its state and init pid, lxc-attach runs commands
# inside it (its rootfs, its user namespace), lxc-stop stops it (lithos_cmd
# then exits 143 and cleans up).  Once with the master's lxc-path, once
# with LXC's default lxcpath (no lxc-path in master.yaml), where the bare
# commands without -P see it.
# TAP.  Needs root, LXC and busybox-static.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/itest.sh"
itest_init t0306

itest_image
itest_master
# SB: this script's own sandbox name, so that instance names are unique in
# LXC's shared default lxcpath too
SB=it$$
for sb in s "$SB"; do
	itest_sandbox "$sb" <<'EOF'
allow-users: [1000]
allow-groups: [1000]
uid-map: [{inside: 0, outside: 100000, count: 65536}]
gid-map: [{inside: 0, outside: 100000, count: 65536}]
EOF
	itest_command "$sb" sleeper <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
executable: /bin/sleep
arguments: ["30"]
environ: {PATH: /bin}
EOF
done

# ---- lxc-path of the master
start_cmd s sleeper
if wait_app sleep; then
	like "$(lxc-ls --fancy -P "$LXCPATH" 2>&1)" "^$(re "$LXCNAME") +RUNNING " "lxc-ls --fancy -P LXCPATH lists $LXCNAME RUNNING"
	info=$(lxc-info -n "$LXCNAME" -P "$LXCPATH" 2>&1)
	like "$info" '^State: +RUNNING$' "lxc-info -n NAME -P LXCPATH: State RUNNING"
	like "$info" "^PID: +$INITPID\$" "lxc-info: PID is the container's init ($INITPID)"
	a=$(lxc-attach -n "$LXCNAME" -P "$LXCPATH" -- /bin/id 2>&1)
	ok $? "lxc-attach -- id: exit 0"
	like "$a" '^uid=[0-9]+' "lxc-attach -- id: runs inside ($a)"
	is "$(lxc-attach -n "$LXCNAME" -P "$LXCPATH" -- /bin/cat /etc/lithos-test-image 2>&1)" \
		"$(cat "$IMAGES/t/v1/etc/lithos-test-image")" "lxc-attach: sees the image as its root filesystem"
	is "$(lxc-attach -n "$LXCNAME" -P "$LXCPATH" -- /bin/sh -c 'tr -s " " </proc/self/uid_map' 2>&1 | sed 's/^ //')" \
		"0 100000 65536" "lxc-attach: enters the container's user namespace"
	is "$(lxc-attach -n "$LXCNAME" -P "$LXCPATH" -- /bin/sh -c 'exit 7' 2>&1; echo "rc $?")" "rc 7" \
		"lxc-attach: passes the exit code of the attached command"
	# a command's container dir: in the runtime dir, linked from the LXC path
	is "$(readlink "$LXCPATH/$LXCNAME")" "$T/run/lxc/$LXCNAME" \
		"the command's entry in the LXC path is a symlink to its dir in the runtime dir"
	is "$(python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "trusted.lithos.instance", follow_symlinks=False).decode())' \
		"$LXCPATH/$LXCNAME" 2>&1)" "${LXCNAME/./\/}" "the link itself carries trusted.lithos.instance (a link left by a crash stays known as lithos's)"
	# lithos's mark on the directory: an attribute only root can set, no file
	is "$(python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "trusted.lithos.instance").decode())' \
		"$LXCPATH/$LXCNAME" 2>&1)" "${LXCNAME/./\/}" "the container dir carries trusted.lithos.instance = the lithos name"
	is "$(ls -A "$LXCPATH/$LXCNAME")" "config" \
		"a command's container dir holds only its config (no marker file; LXC's log is in lithos_cmd's memory)"
	ok "$([ -e "/run/lxc/lock$LXCPATH/.$LXCNAME" ]; echo $?)" "liblxc's lock file of the running command exists"
	lxc-stop -n "$LXCNAME" -P "$LXCPATH" -t 10 >"$T/stop.out" 2>&1
	ok $? "lxc-stop -n NAME -P LXCPATH: exit 0" || diag_file "$T/stop.out"
	wait_cmd
	is "$rc" 143 "after lxc-stop lithos_cmd exits 143 (SIGTERM, lxc.signal.halt)"
	ok "$([ ! -e "/run/lxc/lock$LXCPATH/.$LXCNAME" ]; echo $?)" "and lithos_cmd removed liblxc's lock file of it"
else
	ok 1 "sleeper started"
	stop_cmd KILL
fi
unlike "$(lxc-ls -P "$LXCPATH" 2>&1)" "$(re "$LXCNAME")" "lxc-ls no longer lists $LXCNAME"
check_no_leftovers "lxc-path run" "$LXCNAME"

# ---- LXC's default lxcpath
DEFPATH=$(lxc-config lxc.lxcpath 2>/dev/null)
[ -n "$DEFPATH" ] || DEFPATH=/var/lib/lxc
ITEST_LXC_PATH=default itest_master
# whatever happens, remove our instance's directory from the shared lxcpath
ITEST_EXTRA_CLEANUP='rm -rf --one-file-system "$DEFPATH/$SB".cmd.*'

start_cmd "$SB" sleeper
if wait_app sleep "$DEFPATH"; then
	ok 0 "default lxcpath: the instance runs in $DEFPATH"
	is "$(cat "$DEFPATH/$LXCNAME/config" 2>/dev/null | grep -c '^lxc.rootfs.path')" 1 \
		"default lxcpath: its config is $DEFPATH/$LXCNAME/config"
	like "$(lxc-ls --fancy 2>&1)" "^$(re "$LXCNAME") +RUNNING " "plain lxc-ls --fancy lists $LXCNAME RUNNING"
	like "$(lxc-info -n "$LXCNAME" 2>&1)" '^State: +RUNNING$' "plain lxc-info -n NAME: State RUNNING"
	a=$(lxc-attach -n "$LXCNAME" -- /bin/id 2>&1)
	ok $? "plain lxc-attach -n NAME -- id: exit 0 ($a)"
else
	ok 1 "default lxcpath: the instance runs in $DEFPATH"
fi
stop_cmd TERM
is "$rc" 143 "default lxcpath: SIGTERM to lithos_cmd ends it with 143"
[ ! -e "$DEFPATH/$LXCNAME" ]
ok $? "default lxcpath: $DEFPATH/$LXCNAME is removed afterwards"
unlike "$(lxc-ls 2>&1)" "$(re "$LXCNAME")" "default lxcpath: lxc-ls no longer lists it"
check_no_leftovers "default lxcpath run" "$LXCNAME"

done_testing
