#!/bin/bash
# t0307: lithos_cmd's semantics with real containers.
# - extra ARGS are appended to the config's arguments, as they are;
# - the exit code of the process is lithos_cmd's (0, 7, 42), a death by
#   signal N is 128+N (TERM 143, KILL 137);
# - SIGTERM and SIGINT sent to lithos_cmd reach the process (its traps run
#   and write to a !Persistent volume);
# - non-interactive: stdin is /dev/null, stdout and stderr go to the
#   sandbox's stdio log, appended;
# - interactive: stdin and stdout are the caller's (a pipe goes through);
#   on a terminal a shell works with job control: driven through a pty
#   (python3's pty module): commands, Ctrl-C of a foreground job, Ctrl-Z
#   and fg, background jobs, exit code;
# - the container ends with the process: a background child it leaves is
#   killed (lithos_init is pid 1, not lxc's init, which waited for it);
# - the sandbox's stdio log keeps its owner and mode on the host (LXC's
#   fix_stdio_permissions() never sees it), with and without a uid-map;
# - pid 1 is lithos_init, bound read-only at /dev/.lithos-init;
# - memfd_create refused for LXC's log (an LD_PRELOAD shim refuses it for
#   lithos_cmd only, and O_TMPFILE too when asked): the log goes to an
#   O_TMPFILE file in the runtime dir (a failed start still prints it,
#   nothing is left there); with both refused one warning line, and the
#   command runs (needs gcc; skipped without).
# TAP.  Needs root, LXC and busybox-static; /usr/bin/python3 for the pty.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/itest.sh"
itest_init t0307

itest_image
itest_master
mkdir -p "$T/data"
chmod 1777 "$T/data"
itest_sandbox s <<EOF
allow-users: [1000]
allow-groups: [1000]
writable-paths: {/data: $T/data}
EOF
itest_sandbox u <<EOF
allow-users: [1000]
allow-groups: [1000]
uid-map: [{inside: 0, outside: 100000, count: 65536}]
gid-map: [{inside: 0, outside: 100000, count: 65536}]
EOF
for sb in s u; do
	itest_command $sb pid1 <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
executable: /bin/sh
arguments:
  - -c
  - |
    echo "pid1 $(tr '\0' ' ' </proc/1/cmdline)"
    echo "init-mount $(awk '$5 == "/dev/.lithos-init" {print $6}' /proc/self/mountinfo)"
    ls /proc/1/fd >/dev/null 2>&1 && echo "init-fds readable" || echo "init-fds closed"
    for f in /proc/1/fd/*; do (echo forged >"$f") 2>/dev/null && echo "init-fd $f writable"; done
    echo "self-fds $(ls /proc/self/fd | wc -l)"
environ: {PATH: /bin}
EOF
done
itest_command s args <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
interactive: true
executable: /bin/sh
arguments: [-c, 'for a; do echo "[$a]"; done', sh, first, "second arg"]
environ: {PATH: /bin}
EOF
itest_command s exit <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
executable: /bin/sh
arguments: [-c, 'exit $1', sh]
environ: {PATH: /bin}
EOF
itest_command s suicide <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
executable: /bin/sh
arguments: [-c, 'kill -$1 $$; sleep 5; exit 99', sh]
environ: {PATH: /bin}
EOF
itest_command s traps <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
executable: /bin/sh
arguments:
  - -c
  - |
    trap 'echo TERM >/data/marker; kill $pid; exit 3' TERM
    trap 'echo INT >/data/marker; kill $pid; exit 4' INT
    sleep 30 &
    pid=$!
    echo ready >/data/ready
    wait $pid
    echo "no signal" >/data/marker
environ: {PATH: /bin}
volumes:
  /data: !Persistent /data
EOF
itest_command s orphan <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
executable: /bin/sh
arguments: [-c, '(sleep 2; echo survived >/data/orphan) & sleep 6 & exit 6']
environ: {PATH: /bin}
volumes:
  /data: !Persistent /data
EOF
itest_command s quiet <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
executable: /bin/sh
arguments:
  - -c
  - |
    echo "stdin $(stat -L -c '%F %t:%T' /proc/self/fd/0)"
    cat
    echo "cat done"
    flags=$(sed -n 's/^flags:[[:space:]]*//p' /proc/$$/fdinfo/1)
    [ $((0$flags & 02000)) -ne 0 ] && echo "stdout O_APPEND" || echo "stdout flags $flags"
    echo "to stderr" >&2
environ: {PATH: /bin}
EOF
itest_command s nope <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
executable: /bin/no-such-program
EOF
# a script without "#!": run by /bin/sh (glibc's execvp did it; lithos_init
# linked against musl does it by hand)
printf 'echo "noshebang: $0 $1"\nexit 4\n' >"$IMAGES/t/v1/bin/noshebang"
chmod 0755 "$IMAGES/t/v1/bin/noshebang"
itest_command s noshebang <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
executable: /bin/noshebang
arguments: [a1]
EOF
itest_command s nowd <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
work-dir: /no/such/dir
executable: /bin/true
EOF
itest_command s icat <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
interactive: true
executable: /bin/cat
EOF
itest_command s ishell <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
interactive: true
executable: /bin/sh
arguments: [-i]
environ: {PATH: /bin, PS1: 'PROMPT>', HOME: /tmp}
EOF

# ---- ARGS appended
run_cmd s args x "y z" ""
ok $rc "ARGS: exit 0" || diag_file "$T/err"
is "$out" "[first]
[second arg]
[x]
[y z]
[]" "ARGS are appended to the config's arguments, one argument each, spaces and empty ones kept"

# ---- exit codes
for code in 0 7 42; do
	run_cmd s exit $code
	is "$rc" "$code" "exit code $code of the process is lithos_cmd's"
done
run_cmd s suicide TERM
is "$rc" 143 "the process killing itself with SIGTERM: lithos_cmd exits 143"
run_cmd s suicide KILL
is "$rc" 137 "the process killing itself with SIGKILL: lithos_cmd exits 137"

# ---- SIGTERM and SIGINT to lithos_cmd
for sig in TERM INT; do
	rm -f "$T/data/ready" "$T/data/marker"
	# a background job of a script ignores SIGINT: give lithos_cmd the
	# default disposition, as it has when run from a terminal
	env --default-signal=INT "$LITHOS_CMD" --master "$MASTER" s traps </dev/null >"$T/bg.out" 2>"$T/bg.err" &
	CPID=$!
	ITEST_PIDS="$ITEST_PIDS $CPID"
	for i in $(seq 100); do
		[ -e "$T/data/ready" ] && break
		sleep 0.05
	done
	sleep 0.2 # the shell is in wait now
	stop_cmd $sig
	want=3
	[ $sig = INT ] && want=4
	is "$rc" "$want" "SIG$sig to lithos_cmd: the process's trap ran and its exit code $want came back"
	is "$(cat "$T/data/marker" 2>&1)" "$sig" "SIG$sig to lithos_cmd: the trap wrote $sig to the !Persistent volume"
done

# ---- the process exits, leaving a background child: lithos documents
# that the container ends with the process ("lithos_knot which is pid 1 in
# the container exits when process dies. Which means all other processes
# will die on KILL signal", restart-process-only, reference chapter 5)
rm -f "$T/data/orphan"
t0=$(date +%s)
run_cmd s orphan
t1=$(date +%s)
is "$rc" 6 "a process leaving a background child: its exit code 6 comes back"
[ $((t1 - t0)) -lt 4 ]
ok $? "a process leaving a background child: lithos_cmd returns when the process exits ($((t1 - t0))s, the child sleeps 6 s)"
sleep 3
[ ! -e "$T/data/orphan" ]
ok $? "a process leaving a background child: the child was killed with the container (it did not write /data/orphan 2 s later)"

# ---- non-interactive: /dev/null, the stdio log
echo "line before" >"$STDIO_LOG_DIR/s.log"
start=$(date +%s)
# stdin of lithos_cmd: a fifo with data in it, kept open by this script.
# Opened read-write and written before lithos_cmd starts: written after,
# through a write-only fd, the echo raced lithos_cmd's dup2(/dev/null, 0),
# and a fifo without a reader killed this script with SIGPIPE (exit 141
# after point 14, seen under load)
mkfifo "$T/stdin"
exec 7<>"$T/stdin"
echo leaked-stdin >&7
"$LITHOS_CMD" --master "$MASTER" s quiet <"$T/stdin" >"$T/out" 2>"$T/err" &
qpid=$!
ITEST_PIDS="$ITEST_PIDS $qpid"
for i in $(seq 100); do
	kill -0 $qpid 2>/dev/null || break
	sleep 0.1
done
elapsed=$(($(date +%s) - start))
kill -0 $qpid 2>/dev/null && kill -KILL $qpid
wait $qpid
rc=$?
exec 7>&-
is "$rc" 0 "non-interactive: exit 0"
[ "$elapsed" -lt 10 ]
ok $? "non-interactive: cat on stdin ends at once (${elapsed}s; the caller's stdin is not passed)"
is "$(cat "$T/out" "$T/err")" "" "non-interactive: nothing on lithos_cmd's stdout and stderr"
log=$(stdio_log s)
is "$(printf '%s\n' "$log" | head -1)" "line before" "non-interactive: the stdio log is appended to"
like "$log" '^stdin character special file 1:3$' "non-interactive: stdin is /dev/null (char 1:3)"
unlike "$log" 'leaked-stdin' "non-interactive: nothing of the caller's stdin gets in"
like "$log" '^cat done$' "non-interactive: stdout goes to the stdio log"
like "$log" '^stdout O_APPEND$' "non-interactive: the process's stdout is opened O_APPEND"
like "$log" '^to stderr$' "non-interactive: stderr goes to the stdio log"

# ---- an executable missing in the image: 127 and why, in the stdio log
run_cmd s nope
is "$rc" 127 "a missing executable: lithos_cmd exits 127"
like "$(stdio_log s)" '^lithos_init: cannot run /bin/no-such-program: No such file or directory$' "and lithos_init says why in the stdio log"

# ---- a script without "#!" in the image: /bin/sh runs it
run_cmd s noshebang
is "$rc" 4 "a script without #!: its exit code (run by /bin/sh)"
like "$(stdio_log s)" '^noshebang: /bin/noshebang a1$' "and its output, with its path and argument"

# ---- LXC itself fails the start (work-dir missing in the image): 122, and
# the end of LXC's log (kept in lithos_cmd's memory) on stderr
run_cmd s nowd
is "$rc" 122 "LXC fails the start (work-dir missing): lithos_cmd exits 122"
like "$err" "^lithos_cmd: LXC could not start container $(re "$RUN_LXCNAME")" "and says so on stderr"
like "$err" '^lithos_cmd: LXC log:$' "and prints LXC's log"
like "$err" 'no/such/dir' "which names the missing directory"
ok "$([ ! -e "$LXCPATH/$RUN_LXCNAME" ] && [ ! -e "/run/lxc/lock$LXCPATH/.$RUN_LXCNAME" ]; echo $?)" \
	"the failed start leaves neither its container dir nor liblxc's lock file"

# ---- the state dirs' parent (runtime-dir/state) is root's, 0755, reached
# without a symlink: a start checks it in two syscalls and fixes a different
# one on the old walk; a symlink in its place is never followed
SROOT=$T/run/state
run_cmd s exit 0
is "$(stat -c '%u:%g %a %F' "$SROOT")" "0:0 755 directory" "the state dirs' parent: root's, 0755"
chmod 0700 "$SROOT"
chown 1000:1000 "$SROOT"
run_cmd s exit 3
is "$rc" 3 "a start with the state dirs' parent 1000:1000 0700: runs"
is "$(stat -c '%u:%g %a' "$SROOT")" "0:0 755" "and the parent is made root's and 0755 again"
mkdir -p "$T/elsewhere"
rmdir "$SROOT"
ln -s "$T/elsewhere" "$SROOT"
run_cmd s exit 0
is "$rc" 122 "the state dirs' parent a symlink: the start fails (122)"
like "$err" "Cannot create $(re "$SROOT")" "and says which dir it cannot make"
is "$(ls -A "$T/elsewhere")" "" "nothing is made through the symlink"
ok "$([ ! -e "$LXCPATH/$RUN_LXCNAME" ] && [ ! -e "/run/lxc/lock$LXCPATH/.$RUN_LXCNAME" ]; echo $?)" \
	"the refused start leaves neither its container dir nor liblxc's lock file"
rm "$SROOT"
rmdir "$T/elsewhere"
mkdir -m 0755 "$SROOT"

# ---- memfd_create refused for LXC's log: an O_TMPFILE in the runtime dir,
# else a warning.  The shim refuses memfd_create("lxc.log", ...) and, with
# T0307_NO_TMPFILE=1, O_TMPFILE opens; it logs each refusal.
cat >"$T/nomemfd.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
static int no_tmpfile;
static const char *calls;
__attribute__((constructor)) static void init(void)
{
	no_tmpfile = getenv("T0307_NO_TMPFILE") != NULL;
	calls = getenv("T0307_SHIM_CALLS");
	if (calls)
		calls = strdup(calls);
}
static void note(const char *what)
{
	FILE *f = calls ? fopen(calls, "ae") : NULL;
	if (f) {
		fprintf(f, "%s\n", what);
		fclose(f);
	}
}
int memfd_create(const char *name, unsigned int flags)
{
	if (!strcmp(name, "lxc.log")) {
		note("memfd_create lxc.log refused");
		errno = ENOSYS;
		return -1;
	}
	int (*real)(const char *, unsigned int) = (int (*)(const char *, unsigned int))dlsym(RTLD_NEXT, "memfd_create");
	return real(name, flags);
}
static int shim_open(const char *sym, const char *path, int flags, mode_t mode)
{
	if (no_tmpfile && (flags & O_TMPFILE) == O_TMPFILE) {
		note("O_TMPFILE refused");
		errno = EOPNOTSUPP;
		return -1;
	}
	int (*real)(const char *, int, ...) = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, sym);
	return real(path, flags, mode);
}
int open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
	va_end(ap);
	return shim_open("open", path, flags, mode);
}
int open64(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
	va_end(ap);
	return shim_open("open64", path, flags, mode);
}
EOF
if ! command -v gcc >/dev/null 2>&1 || ! gcc -shared -fPIC -O2 -o "$T/nomemfd.so" "$T/nomemfd.c" -ldl >"$T/nomemfd.log" 2>&1; then
	diag_file "$T/nomemfd.log"
	for i in $(seq 9); do skip "memfd_create refused for LXC's log" "gcc cannot build the shim"; done
else
	SHIM_CALLS=$T/shim.calls
	runtime_before=$(find "$T/run" | sort)
	LD_PRELOAD=$T/nomemfd.so T0307_SHIM_CALLS=$SHIM_CALLS run_cmd s nowd
	is "$(cat "$SHIM_CALLS" 2>/dev/null)" "memfd_create lxc.log refused" "no memfd: the shim refused lithos_cmd's memfd_create"
	is "$rc" 122 "no memfd, LXC fails the start: exit 122"
	ok "$(printf '%s\n' "$err" | grep -q '^lithos_cmd: LXC log:$' && printf '%s\n' "$err" | grep -q 'no/such/dir'; echo $?)" \
		"no memfd: LXC's log (from an O_TMPFILE in the runtime dir) is printed, naming the missing directory" || diag "$err"
	unlike "$err" "warning" "no memfd: no warning (the fallback worked)"
	is "$(find "$T/run" | sort)" "$runtime_before" "no memfd: nothing is left in the runtime dir"
	rm -f "$SHIM_CALLS"

	LD_PRELOAD=$T/nomemfd.so T0307_SHIM_CALLS=$SHIM_CALLS T0307_NO_TMPFILE=1 run_cmd s nowd
	is "$(sort -u "$SHIM_CALLS" 2>/dev/null | tr '\n' ' ')" "O_TMPFILE refused memfd_create lxc.log refused " "neither memfd nor O_TMPFILE: the shim refused both"
	is "$rc:$(printf '%s\n' "$err" | grep -c '^lithos_cmd: warning: no LXC log for this start (memfd_create: Function not implemented; O_TMPFILE in .*: Operation not supported)')" "122:1" \
		"neither: exit 122 and one warning line naming both refusals" || diag "$err"
	ok "$(printf '%s\n' "$err" | grep -q "^lithos_cmd: LXC could not start container $(re "$RUN_LXCNAME")$"; echo $?)" \
		"neither: the failure is still said, without pointing at a log that does not exist" || diag "$err"
	rm -f "$SHIM_CALLS"
	LD_PRELOAD=$T/nomemfd.so T0307_NO_TMPFILE=1 run_cmd s exit 7
	is "$rc:$(printf '%s\n' "$err" | grep -c '^lithos_cmd: warning: no LXC log')" "7:1" "neither: the command still runs (exit 7) after the one warning"
fi

# ---- pid 1, and the stdio log's owner and mode on the host (LXC's
# fix_stdio_permissions() chowned and chmod-0700ed whatever were init's
# fds 0-2 to the init uid; now it only ever sees /dev/null)
for sb in s u; do
	f=$STDIO_LOG_DIR/$sb.log
	touch "$f"
	chown 0:0 "$f"
	chmod 0640 "$f"
	run_cmd $sb pid1
	is "$rc" 0 "$sb: exit 0" || diag_file "$T/err"
	is "$(stat -c '%u:%g %a' "$f")" "0:0 640" "$sb: the stdio log is still root's, mode 0640, after a start ($([ $sb = u ] && echo uid-map || echo no uid-map))"
	log=$(stdio_log $sb)
	like "$log" "^pid1 /dev/\\.lithos-init --stdio [0-9]+,[0-9]+,[0-9]+ -- /bin/sh -c " "$sb: pid 1 is lithos_init, running the process"
	like "$log" '^init-mount ro,nosuid' "$sb: /dev/.lithos-init is a read-only nosuid bind"
	like "$log" '^init-fds closed$' "$sb: pid 1 is not dumpable: the process (uid 1000) cannot list /proc/1/fd"
	unlike "$log" '^init-fd ' "$sb: and cannot write through any of pid 1's fds"
	like "$log" '^self-fds [1-9]' "$sb: while its own /proc/self/fd is readable (it is dumpable again after exec)"
done

# ---- interactive without a terminal: a pipe goes through
out=$(printf 'piped-data\nline 2\n' | "$LITHOS_CMD" --master "$MASTER" s icat 2>"$T/err")
rc=$?
is "$rc" 0 "interactive, piped: exit 0"
is "$out" "piped-data
line 2" "interactive, piped: the caller's stdin reaches the process, its stdout the caller"

# ---- interactive on a terminal: a shell through a pty
PY=/usr/bin/python3
if [ -x "$PY" ]; then
	cat >"$T/drive_pty.py" <<'EOF'
# drive_pty.py CMD...: run CMD on a new pty and drive an interactive shell
import os, pty, select, sys, time

pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])

buf = b""

def expect(pattern, timeout=5.0):
    """read until pattern appears after the current mark; True if it did"""
    global buf, mark
    end = time.time() + timeout
    while pattern not in buf[mark:]:
        left = end - time.time()
        if left <= 0:
            return False
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                return False
            if not data:
                return False
            buf += data
    mark = buf.index(pattern, mark) + len(pattern)
    return True

def send(data):
    os.write(fd, data)

def result(name, good):
    print("RESULT %s %s" % (name, "ok" if good else "fail"), flush=True)

def stat_fields(p):
    """the fields of /proc/P/stat after the command name, from state on"""
    with open("/proc/%d/stat" % p) as f:
        st = f.read()
    return st[st.rindex(")") + 2:].split()

def below(p, top):
    """p is top or one of its descendants (host pids)"""
    while p > 1:
        if p == top:
            return True
        try:
            p = int(stat_fields(p)[1])
        except (OSError, ValueError, IndexError):
            return False
    return False

def foreground(argv, timeout=10.0):
    """wait until a process with command line argv, below lithos_cmd, is
    the foreground job of its terminal and not stopped: a Ctrl-C or
    Ctrl-Z typed before (the shell had not read the line, forked or
    handed it the terminal yet) goes to the shell or is dropped with the
    unread input, and the job runs on"""
    want = b"\0".join(argv) + b"\0"
    end = time.time() + timeout
    while time.time() < end:
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    if f.read() != want:
                        continue
                st = stat_fields(int(d))
            except OSError:
                continue
            # state, ppid, pgrp, session, tty_nr, tpgid
            if st[0] not in "TtZX" and st[2] == st[5] and below(int(d), pid):
                return True
        time.sleep(0.02)
    return False

mark = 0
result("prompt", expect(b"PROMPT>", 10))
send(b"echo $((6*7)); [ -t 0 ] && echo IS-A-TTY\n")
result("command", expect(b"\n42") and expect(b"IS-A-TTY") and expect(b"PROMPT>"))
send(b"sleep 30 &\n")
expect(b"PROMPT>")
send(b"jobs\n")
result("bg-job", expect(b"Running") and expect(b"sleep 30") and expect(b"PROMPT>"))
send(b"kill %1\n")
expect(b"PROMPT>")
send(b"sleep 31\n")
fg = foreground([b"sleep", b"31"])
t = time.time()
send(b"\x03")
ok = expect(b"PROMPT>", 5) and time.time() - t < 5
result("ctrl-c", fg and ok)
send(b"sleep 32\n")
fg = foreground([b"sleep", b"32"])
send(b"\x1a")
ok = expect(b"Stopped", 5) and expect(b"PROMPT>")
result("ctrl-z", fg and ok)
send(b"fg\n")
fg = foreground([b"sleep", b"32"])
send(b"\x03")
ok = expect(b"PROMPT>", 5)
result("fg", fg and ok)
send(b"exit 5\n")
end = time.time() + 10
status = None
while time.time() < end:
    p, st = os.waitpid(pid, os.WNOHANG)
    if p:
        status = os.waitstatus_to_exitcode(st)
        break
    try:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            buf += os.read(fd, 4096)
    except OSError:
        time.sleep(0.1)
print("STATUS %s" % status, flush=True)
sys.stderr.write(buf.decode(errors="replace"))
EOF
	TERM=xterm timeout 60 "$PY" "$T/drive_pty.py" "$LITHOS_CMD" --master "$MASTER" s ishell >"$T/pty.out" 2>"$T/pty.log"
	res=$(cat "$T/pty.out")
	fails=0
	for name in prompt command bg-job ctrl-c ctrl-z fg; do
		case $name in
		prompt) what="the shell prints its prompt" ;;
		command) what="a typed command runs and its stdin is a terminal" ;;
		bg-job) what="job control: a background job shows in jobs" ;;
		ctrl-c) what="Ctrl-C interrupts the foreground sleep at once" ;;
		ctrl-z) what="Ctrl-Z stops the foreground job" ;;
		fg) what="fg resumes it and Ctrl-C ends it" ;;
		esac
		like "$res" "^RESULT $name ok\$" "pty: $what" || fails=1
	done
	like "$res" '^STATUS 5$' "pty: exit 5 in the shell is lithos_cmd's exit code"
	[ $fails -eq 0 ] || diag_file "$T/pty.log" "pty session"
else
	skip "pty: interactive shell with job control" "/usr/bin/python3 is missing"
fi

check_no_leftovers "t0307 runs"
done_testing
