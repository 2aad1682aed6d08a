#!/bin/bash
# t0309: stdout-stderr-file with real containers (lithos_cmd), without and
# with a uid-map:
# - the file is the declared path in the !Persistent volume as the process
#   sees it (/proc/self/fd/1 and 2 inside), created in the volume's host
#   directory with mode 0640 and owned by the container's root (host root
#   without a map, the mapped ids with one), as if lithos's knot had opened
#   it inside the container;
# - the process's stdout and stderr land there, not in the sandbox's stdio
#   log (which only gets lithos_cmd's own starting/exited lines);
# - O_APPEND: a second run appends after the first run's lines, the owner
#   stays;
# - a symlink planted at that path in the volume (to a host file outside,
#   dangling to an outside path, or as a directory on the path) is refused
#   with exit 122 and an error naming the file and the symlink; the file
#   outside is untouched or not created, nothing is started, nothing left;
# - a fifo planted there is refused at once (exit 122), not opened blocking.
# TAP.  Needs root, LXC and busybox-static.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/itest.sh"
itest_init t0309

itest_image
itest_master
mkdir -p "$IMAGES/t/v1/var/log/app" "$T/logs-plain" "$T/logs-mapped" "$T/outside"
itest_sandbox plain <<EOF
allow-users: [1000]
allow-groups: [1000]
writable-paths: {/logs: $T/logs-plain}
EOF
itest_sandbox mapped <<EOF
allow-users: [1000]
allow-groups: [1000]
uid-map: [{inside: 0, outside: 100000, count: 65536}]
gid-map: [{inside: 0, outside: 100000, count: 65536}]
writable-paths: {/logs: $T/logs-mapped}
EOF

# (LXC 5.0's fix_stdio_permissions() would fchown the container child's
# fds 0-2 to lxc.init.uid, mode 0700, were they not /dev/null: the output
# travels at a high fd that lithos_init makes the process's 1 and 2.)

# what the process reports, through its stdout and stderr: the run's name,
# where its fds 1 and 2 lead, their O_APPEND flag, the file's owner inside
for sb in plain mapped; do
	itest_command $sb out <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
executable: /bin/sh
arguments:
  - -c
  - |
    echo "$1 stdout"
    echo "$1 stderr" >&2
    f=/var/log/app/out.log
    echo "$1 fd1 $(stat -L -c '%d:%i' /proc/$$/fd/1) file $(stat -c '%d:%i' $f)"
    echo "$1 fd2 $(stat -L -c '%d:%i' /proc/$$/fd/2) file $(stat -c '%d:%i' $f)"
    flags=$(sed -n 's/^flags:[[:space:]]*//p' /proc/$$/fdinfo/1)
    [ $((0$flags & 02000)) -ne 0 ] && echo "$1 O_APPEND" || echo "$1 flags $flags"
    echo "$1 owner inside $(stat -c '%u:%g %a' /var/log/app/out.log)"
  - sh
environ: {PATH: /bin}
stdout-stderr-file: /var/log/app/out.log
volumes:
  /var/log/app: !Persistent /logs
EOF
done

# ---- output lands in the file, twice, appended
for sb in plain mapped; do
	case $sb in
	plain) owner=0:0 ;;
	mapped) owner=100000:100000 ;;
	esac
	f=$T/logs-$sb/out.log
	run_cmd $sb out run1
	is "$rc" 0 "$sb: first run: exit 0" || diag_file "$T/err"
	is "$(cat "$T/out" "$T/err")" "" "$sb: nothing on lithos_cmd's stdout and stderr"
	ok $([ -f "$f" ] && [ ! -L "$f" ]; echo $?) "$sb: the file was created in the volume's host directory"
	got=$(stat -c '%u:%g %a' "$f" 2>&1)
	is "$got" "$owner 640" "$sb: it is mode 0640 and owned by the container's root ($owner on the host)"
	content=$(cat "$f" 2>/dev/null)
	like "$content" '^run1 stdout$' "$sb: the process's stdout is in the file"
	like "$content" '^run1 stderr$' "$sb: the process's stderr is in the file"
	like "$content" '^run1 fd1 ([0-9]+:[0-9]+) file \1$' \
		"$sb: inside, stdout is the file at the declared path in the volume (same dev:inode)"
	like "$content" '^run1 fd2 ([0-9]+:[0-9]+) file \1$' \
		"$sb: inside, stderr is the file at the declared path in the volume (same dev:inode)"
	like "$content" '^run1 O_APPEND$' "$sb: the process's stdout is opened O_APPEND"
	like "$content" '^run1 owner inside 0:0 640$' "$sb: inside, the file belongs to root, mode 0640"
	log=$(stdio_log $sb)
	unlike "$log" '^run1 ' "$sb: nothing of the process's output in the sandbox's stdio log"
	like "$log" "\\]\\[lithos\\] $sb/cmd\\.out\\.[0-9]+: starting /bin/sh\$" \
		"$sb: the stdio log has lithos_cmd's starting line"
	like "$log" "\\]\\[lithos\\] $sb/cmd\\.out\\.[0-9]+: exited with 0\$" \
		"$sb: the stdio log has lithos_cmd's exit line"

	run_cmd $sb out run2
	is "$rc" 0 "$sb: second run: exit 0" || diag_file "$T/err"
	is "$(grep -E '^run[12] stdout$' "$f" | tr '\n' ' ')" "run1 stdout run2 stdout " \
		"$sb: the second run appended after the first run's output"
	is "$(head -n1 "$f")" "run1 stdout" "$sb: the first run's lines are still at the start"
	got2=$(stat -c '%u:%g %a' "$f" 2>&1)
	is "$got2" "$got" "$sb: owner and mode do not change on the second run"
	unlike "$(stdio_log $sb)" '^run2 ' "$sb: nothing of the second run in the stdio log"
done
check_no_leftovers "runs with stdout-stderr-file"

# ---- a symlink at the path in the volume: refused, nothing touched
echo "host secret" >"$T/outside/existing"
chmod 0600 "$T/outside/existing"
sum0=$(sha256sum <"$T/outside/existing")
refused() { # SANDBOX WHAT
	local sb=$1 what=$2
	run_cmd $sb out evil
	is "$rc" 122 "$what: refused with exit 122"
	like "$err" 'stdout-stderr-file /var/log/app/out\.log .*symlink' \
		"$what: the error names the file and says symlink" || diag "$err"
	unlike "$(stdio_log $sb)" 'evil' "$what: the process did not run"
	check_no_leftovers "$what"
}
for sb in plain mapped; do
	rm -f "$T/logs-$sb/out.log"
	ln -s "$T/outside/existing" "$T/logs-$sb/out.log"
	refused $sb "$sb: out.log -> a host file outside the volume"
	is "$(sha256sum <"$T/outside/existing")" "$sum0" "$sb: the host file behind the symlink is unchanged"
	is "$(stat -c '%u:%g %a' "$T/outside/existing")" "0:0 600" "$sb: ... and keeps its owner and mode"

	rm -f "$T/logs-$sb/out.log"
	ln -s "$T/outside/new-$sb" "$T/logs-$sb/out.log"
	refused $sb "$sb: out.log -> an outside path that does not exist"
	ok $([ ! -e "$T/outside/new-$sb" ]; echo $?) "$sb: nothing was created outside the volume"
done
# a fifo at the path (a container can make one in its volume): refused at
# once, not a start blocked opening it for writing with no reader
rm -f "$T/logs-plain/out.log"
mkfifo "$T/logs-plain/out.log"
timeout 30 "$LITHOS_CMD" --master "$MASTER" plain out fifo </dev/null >"$T/out" 2>"$T/err"
rc=$?
is "$rc" 122 "plain: out.log a fifo: refused with exit 122 (124: still blocked after 30 s)"
like "$(cat "$T/err")" 'stdout-stderr-file /var/log/app/out\.log .*not a regular file' \
	"plain: out.log a fifo: the error says it is not a regular file"
unlike "$(stdio_log plain)" 'fifo' "plain: out.log a fifo: the process did not run"
check_no_leftovers "plain: out.log a fifo"
rm -f "$T/logs-plain/out.log"

# a directory on the path: stdout-stderr-file /var/log/app/sub/out.log
IMAGE=t/v1 itest_command plain sub <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
executable: /bin/sh
arguments: [-c, 'echo evil']
environ: {PATH: /bin}
stdout-stderr-file: /var/log/app/sub/out.log
volumes:
  /var/log/app: !Persistent /logs
EOF
ln -s "$T/outside" "$T/logs-plain/sub"
run_cmd plain sub
is "$rc" 122 "plain: sub -> an outside directory: refused with exit 122"
like "$err" 'stdout-stderr-file /var/log/app/sub/out\.log .*symlink' \
	"plain: sub -> an outside directory: the error names the file and says symlink" || diag "$err"
ok $([ ! -e "$T/outside/out.log" ]; echo $?) "plain: sub -> an outside directory: nothing created there"
check_no_leftovers "plain: sub -> an outside directory"

check_no_leftovers "t0309 runs"
done_testing
