#!/bin/bash
# t0312: lithos_init on its own, as pid 1 of a new pid namespace made by
# unshare(1) (no LXC): the semantics lithos_cmd and lithos_tree rely on.
# - the exit code of the process is init's, 128+N for signal N;
# - when the process exits, what it left behind is killed at once;
# - --pid-env sets the exact pid (2 here) for the process;
# - --stdio puts the given fds at 0-2 of the process and not at 3+;
# - signals to init reach the process (its trap runs);
# - exec failure: 127 and a message; a bad --listen: 125;
# - --listen binds in init's network namespace, at the fd, with the backlog;
# - --restart-timeout: restarts in place, "exit CODE"/"start PID" events,
#   the timeout respected, SIGTERM ends it without a restart;
# - run outside a pid namespace it does not kill(-1) (it would reach every
#   process of the user).
# TAP.  Needs root (unshare --pid), python3 for the port check.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/lib/tap.sh"
INIT=$top_builddir/lithos_init
[ "$(id -u)" -eq 0 ] || { echo "1..0 # SKIP needs root (unshare --pid)"; exit 0; }
command -v unshare >/dev/null 2>&1 || { echo "1..0 # SKIP unshare (util-linux) is missing"; exit 0; }
[ -x "$INIT" ] || { echo "Bail out! $INIT was not built (make)"; exit 1; }
T=$(mktemp -d /tmp/lithos-t0312.XXXXXX)
trap 'rm -rf "$T"' EXIT

pid1() { # lithos_init as pid 1 of a new pid namespace (with its own /proc)
	unshare --pid --fork --kill-child --mount-proc -- "$INIT" "$@"
}

# ---- exit codes, orphans
pid1 -- /bin/sh -c 'exit 7'
is "$?" 7 "exit 7 of the process is init's exit code"
pid1 -- /bin/sh -c 'kill -TERM $$'
is "$?" 143 "death by SIGTERM: 143"
pid1 -- /bin/sh -c 'kill -KILL $$'
is "$?" 137 "death by SIGKILL: 137"
t0=${EPOCHREALTIME/./}
pid1 -- /bin/sh -c "(sleep 2; touch $T/orphan) & sleep 30 & exit 6"
rc=$?
t1=${EPOCHREALTIME/./}
is "$rc" 6 "a process leaving children: its exit code 6"
ok $([ $(((t1 - t0) / 1000)) -lt 1500 ] && echo 0 || echo 1) "init returned at once ($(((t1 - t0) / 1000)) ms), not after its children"
sleep 2.5
[ ! -e "$T/orphan" ]
ok $? "the children were killed (none wrote $T/orphan 2 s later)"

# ---- --pid-env, --stdio
out=$(pid1 --pid-env MY_PID --pid-env LISTEN_PID -- /bin/sh -c 'echo "$MY_PID $LISTEN_PID $$"')
is "$out" "2 2 2" "--pid-env: MY_PID and LISTEN_PID are the process's pid (2)"
echo "from-stdin" >"$T/in"
pid1 --stdio 5,6,7 -- /bin/sh -c 'read l; echo "out $l"; echo err >&2; ls /proc/self/fd | tr "\n" " "' \
	5<"$T/in" 6>"$T/out" 7>"$T/err" </dev/null >/dev/null 2>&1
is "$(head -1 "$T/out")" "out from-stdin" "--stdio: stdin and stdout are the given fds"
unlike "$(tail -1 "$T/out" | tr ' ' '\n')" '^[567]$' "--stdio: the fds 5, 6, 7 themselves are not passed on to the process"
is "$(cat "$T/err")" "err" "--stdio: stderr is the given fd"

# ---- signals
# SIGUSR1 once the shell has its trap ($T/ready; a fixed 0.5 s raced the
# start: a signal before the trap killed the shell, one before init ran
# went nowhere and the loop never ended); at most 30 s in all
rm -f "$T/ready"
out=$(timeout -s KILL 30 unshare --pid --fork --kill-child --mount-proc -- "$INIT" -- /bin/sh -c \
	"trap 'echo got-USR1; exit 9' USR1; echo ready; : >$T/ready; while :; do sleep 0.1; done" &
	for i in $(seq 200); do
		[ -e "$T/ready" ] && break
		sleep 0.05
	done
	kill -USR1 "$(pgrep -f -n "^$INIT -- /bin/sh -c trap")"
	wait $!)
rc=$?
is "$out" "ready
got-USR1" "SIGUSR1 to init reaches the process (its trap ran)"
is "$rc" 9 "and the trap's exit code 9 is init's"

# ---- failures of its own
out=$(pid1 -- /nonexistent 2>&1)
is "$?" 127 "a missing program: 127"
like "$out" "^lithos_init: cannot run /nonexistent: No such file or directory\$" "with a message"
out=$(pid1 --listen 3,999.1.1.1,80,5,a -- /bin/true 2>&1)
is "$?" 125 "a --listen that cannot be bound: 125"
like "$out" "^lithos_init: bad host 999\\.1\\.1\\.1" "with a message"
"$INIT" --bogus x -- /bin/true 2>/dev/null
is "$?" 2 "an unknown option: 2"

# ---- --listen (here: init's network namespace is the host's)
PORT=
for i in $(seq 50); do
	p=$((30000 + RANDOM % 8000))
	if [ -z "$(ss -ltnH "sport = :$p" 2>/dev/null)" ]; then PORT=$p; break; fi
done
out=$(pid1 --listen "4,127.0.0.1,$PORT,9,an" -- /bin/sh -c \
	'readlink /proc/self/fd/4; grep ^flags /proc/self/fdinfo/4; ss -ltnH "sport = :'"$PORT"'" 2>/dev/null | awk "{print \$3}"')
like "$out" '^socket:\[[0-9]+\]$' "--listen: the process has a socket at fd 4"
flags=$(printf '%s\n' "$out" | awk '/^flags:/ {print $2}')
ok $([ -n "$flags" ] && [ $((0$flags & 04000)) -ne 0 ] && echo 0 || echo 1) "--listen n: O_NONBLOCK (flags $flags)"
if command -v ss >/dev/null 2>&1; then
	like "$out" '^9$' "--listen: listening on 127.0.0.1:$PORT with backlog 9"
else
	skip "--listen backlog" "ss is missing"
fi

# ---- restart in place
: >"$T/events"
rm -f "$T/count"
pid1 --restart-timeout 0.5 --events-fd 9 --pid-env P -- /bin/sh -c \
	"n=\$(cat $T/count 2>/dev/null || echo 0); echo \$((n + 1)) >$T/count; echo \"\$(date +%s.%N) \$P\" >>$T/starts; exit 7" \
	9>>"$T/events" &
upid=$!
for i in $(seq 100); do
	[ "$(cat "$T/count" 2>/dev/null)" -ge 3 ] 2>/dev/null && break
	sleep 0.05
done
ipid=$(pgrep -n -f -- "^$INIT --restart-timeout 0\.5 --events-fd 9")
kill -TERM "$ipid"
wait "$upid"
rc=$?
ok $([ "$(cat "$T/count")" -ge 3 ] && echo 0 || echo 1) "--restart-timeout: the process was started again ($(cat "$T/count") runs)"
is "$rc" 7 "SIGTERM while waiting to restart: init exits with the last exit code (7)"
ev=$(head -4 "$T/events" | tr '\n' ' ')
like "$ev" '^exit 7 start [0-9]+ exit 7 start [0-9]+ $' "events: exit CODE / start PID for each restart"
gaps=$(awk 'NR > 1 { printf "%.2f\n", $1 - prev } { prev = $1 }' "$T/starts")
min=$(printf '%s\n' $gaps | sort -g | head -1)
ok $(awk -v m="${min:-0}" 'BEGIN { exit !(m >= 0.45) }' && echo 0 || echo 1) "restart-timeout 0.5 s respected (shortest gap ${min:-none} s)"
is "$(awk '{print $2}' "$T/starts" | head -3 | tr '\n' ' ')" "2 $(echo "$ev" | awk '{print $4 " " $8}') " \
	"--pid-env is exact at every restart (2, then the pids of the start events)"

# ---- outside a pid namespace: no kill(-1)
sleep 30 &
bystander=$!
"$INIT" -- /bin/sh -c 'exit 4'
is "$?" 4 "run as a plain process: the exit code"
kill -0 "$bystander" 2>/dev/null
ok $? "run as a plain process: other processes were not killed"
kill "$bystander"
wait "$bystander" 2>/dev/null

done_testing
