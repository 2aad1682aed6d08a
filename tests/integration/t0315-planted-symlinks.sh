#!/bin/bash
# t0315: symlinks a container plants in its writable volume never lead a
# later start out of the sandbox.  LXC resolves a bind mount's source as a
# plain host path, following symlinks; the part below the sandbox's
# directory comes from the container config:
# - a !Persistent or !Readonly volume whose path goes through such a
#   symlink (absolute, or below a real directory) is refused at the start
#   (the mount hook: exit 122, the reason in the stdio log), the host
#   directory behind it never reached by the process;
# - !Persistent {mkdir: true} below such a symlink (two levels down too)
#   makes nothing behind it;
# - a relative symlink staying inside the sandbox's directory still works,
#   and so does a file bound onto a file;
# - a nested volume's mount point planted as a symlink in the outer volume
#   is refused (LXC opens mount targets without following symlinks);
# - the same with a user namespace (the mount hook runs as mapped root).
# TAP.  Needs root, LXC and busybox-static.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/itest.sh"
itest_init t0315

H=$T/host
mkdir -p "$H/rw" "$H/outside/sub"
echo "host secret" >"$H/outside/secret"
chown 1000:1000 "$H/rw"
itest_image
itest_master
# /ro: the same directory, read-only (as another sandbox's writable dir
# would be)
itest_sandbox s <<EOF
allow-users: [1000]
allow-groups: [1000]
writable-paths: {/rw: $H/rw}
readonly-paths: {/ro: $H/rw}
EOF

# vcmd SANDBOX NAME VOLUMES-YAML SCRIPT: an interactive Command running
# SCRIPT as 1000:1000 with those volumes
vcmd() {
	itest_command "$1" "$2" <<EOF
kind: Command
user-id: 1000
group-id: 1000
interactive: true
executable: /bin/sh
arguments: [-c, '$4']
environ: {PATH: /bin}
volumes:
$3
EOF
}
cmd() { vcmd s "$@"; }
# refused NAME WHAT: the start fails, the host dir not reached, nothing left
refused() {
	rm -f "$STDIO_LOG_DIR/s.log"
	run_cmd s "$1"
	ok $((rc == 0)) "$2: the start fails (exit $rc)"
	unlike "$out" 'host secret|payload-ran' "$2: the process never ran, the host file not reached"
	check_no_leftovers "$2" "$RUN_LXCNAME"
}

# the container plants symlinks in its writable volume (absolute targets:
# resolved on the host they lead out of the sandbox)
cmd plant "  /data: !Persistent /rw" "ln -s $H/outside /data/link && mkdir /data/d /data/real && ln -s $H/outside /data/d/link2 && ln -s real /data/alias && ln -s $H/outside /data/nest && echo planted"
run_cmd s plant
is "$rc $out" "0 planted" "the container planted its symlinks"

cmd persist "  /data: !Persistent /rw/link" "cat /data/secret; echo payload-ran"
refused persist "!Persistent through a planted symlink"
like "$(stdio_log s)" 'volume /data: its source .*/rw/link: a symlink on its path leads out of the sandbox.s directory' \
	"!Persistent through a planted symlink: the stdio log says why"

cmd persist2 "  /data: !Persistent /rw/d/link2" "cat /data/secret; echo payload-ran"
refused persist2 "!Persistent through a planted symlink below a real dir"

cmd ro "  /data: !Readonly /ro/link" "cat /data/secret; echo payload-ran"
refused ro "!Readonly through a planted symlink"

cmd mk "  /data: !Persistent {path: /rw/link/made, mkdir: true, user: 1000, group: 1000}" "ls -ld /data; echo payload-ran"
refused mk "!Persistent mkdir below a planted symlink"
cmd mk2 "  /data: !Persistent {path: /rw/link/sub/made, mkdir: true, user: 1000, group: 1000}" "ls -ld /data; echo payload-ran"
refused mk2 "!Persistent mkdir two levels below a planted symlink"
like "$err" 'Cannot create persistent volume .*/rw/link/sub/made: a symlink on its path leads out' \
	"!Persistent mkdir two levels below a planted symlink: lithos_cmd says why"
is "$(cd "$H/outside" && find . | sort | tr '\n' ' ')" ". ./secret ./sub " \
	"the host dir behind the symlinks is untouched: nothing made there"

# nested: the outer volume is the container's writable dir, the inner
# volume's mount point there a symlink it planted
cmd nested "  /data: !Persistent /rw
  /data/nest: !Tmpfs {size: 1Mi}" "echo payload-ran"
refused nested "a nested mount point planted as a symlink"
is "$(ls -A "$H/outside" | tr '\n' ' ')" "secret sub " "nothing mounted or made behind the nested mount point"

# a relative symlink staying inside the sandbox's directory: followed
cmd alias "  /data: !Persistent {path: /rw/alias/made, mkdir: true, user: 1000, group: 1000}
  /srv: !Readonly /ro/alias" 'echo inside > /data/f && cat /srv/made/f && echo ok-ran'
run_cmd s alias
is "$rc $out" "0 inside
ok-ran" "a relative symlink staying inside: the volumes work"
is "$(stat -c '%u:%g %a' "$H/rw/real/made" 2>&1)" "1000:1000 700" \
	"a relative symlink staying inside: mkdir made the dir there, its owner and mode"
# a file below the sandbox's dir bound onto a file of the image
cmd fileb "  /etc/group: !Readonly /ro/real/made/f" 'cat /etc/group'
run_cmd s fileb
is "$rc $out" "0 inside" "a file below the sandbox's dir bound onto an image file works"

# ---- the same with a user namespace (the mount hook runs as the mapped
# root): refused when it leads out, working when it stays inside
mkdir -p "$H/rwm"
chown 101000:101000 "$H/rwm"
itest_sandbox m <<EOF
allow-users: [1000]
allow-groups: [1000]
uid-map: [{inside: 0, outside: 100000, count: 65536}]
gid-map: [{inside: 0, outside: 100000, count: 65536}]
writable-paths: {/rw: $H/rwm}
EOF
mcmd() { vcmd m "$@"; }
mcmd plant "  /data: !Persistent /rw" "ln -s $H/outside /data/link && mkdir /data/real && ln -s real /data/alias && echo planted"
run_cmd m plant
is "$rc $out" "0 planted" "user namespace: the container planted its symlinks"
mcmd persist "  /data: !Persistent /rw/link" "cat /data/secret; echo payload-ran"
rm -f "$STDIO_LOG_DIR/m.log"
run_cmd m persist
ok $((rc == 0)) "user namespace: !Persistent through a planted symlink: the start fails (exit $rc)"
unlike "$out" 'host secret|payload-ran' "user namespace: the process never ran, the host file not reached"
like "$err" 'Script exited with status 10' \
	"user namespace: LXC's log shows the mount hook's exit 10 (a volume's source leads out; its message cannot reach the stdio log as mapped root)"
mcmd alias "  /data: !Persistent /rw/alias" 'echo inside > /data/f && echo ok-ran'
run_cmd m alias
is "$rc $out $(cat "$H/rwm/real/f" 2>&1)" "0 ok-ran inside" \
	"user namespace: a relative symlink staying inside works"
check_no_leftovers "t0315 runs"
done_testing
