#!/bin/bash
# t0600: the stateful test daemon of the CRIU tests (tests/lib/counterd.c),
# standalone on the host, without containers or root:
# - bad arguments: exit 2 and a usage line;
# - --port: answers one line per connection; "requests" counts exactly,
#   "ticks" advance with time, the token stays the same;
# - a stopped daemon (SIGSTOP) does not tick, and does not catch up after
#   SIGCONT (a checkpointed daemon must not look as if it ran meanwhile);
# - --mem 10: the memory is resident (VmRSS), --dirty re-writes pages on
#   every tick ("dirtied" grows) and memok=1; a word of the buffer changed
#   behind its back (through /proc/PID/mem, root only) gives memok=0;
# - maxgap_ms: the 1 s SIGSTOP shows as a gap of 1-2 s;
# - --fd 3: serves an inherited listening socket (a lithos tcp-port);
# - --unix PATH: serves a unix socket;
# - --hold 1: a connection stays open and answers one line per newline the
#   client sends, 16 at once, the 17th is answered and closed; without
#   --hold the connection is closed after the first line;
# - --ready FILE holds the first status line; SIGTERM: exit 0.
# Network: loopback only.  TAP.  Needs gcc -static and python3.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/tap.sh"

command -v gcc >/dev/null 2>&1 || skip_all "gcc is needed to build counterd"
PYTHON=
for p in /usr/bin/python3 python3; do
	"$p" -c 'import socket' >/dev/null 2>&1 && { PYTHON=$p; break; }
done
[ -n "$PYTHON" ] || skip_all "python3 is needed"

T=$(mktemp -d /tmp/lithos-t0600.XXXXXX) || bail_out "mktemp failed"
PIDS=
cleanup() {
	local rc=$? p
	for p in $PIDS; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$T"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

gcc -static -O2 -Wall -Wextra -Werror -o "$T/counterd" "$top_srcdir/tests/lib/counterd.c" >"$T/gcc.log" 2>&1
ok $? "counterd builds with gcc -static, -Wall -Wextra clean" || { diag_file "$T/gcc.log"; bail_out "no counterd"; }
file "$T/counterd" 2>/dev/null | grep -q 'statically linked' || ldd "$T/counterd" 2>&1 | grep -q 'not a dynamic'
ok $? "counterd is statically linked (runs in the busybox image)"

free_port() {
	local p i
	for i in $(seq 50); do
		p=$((21000 + RANDOM % 8000))
		[ -z "$(ss -ltnH "sport = :$p")" ] && { echo "$p"; return 0; }
	done
	return 1
}
# ask PORT: one answer line (or ERROR ...)
ask() {
	"$PYTHON" - "$1" <<'EOF'
import socket, sys
try:
    with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5) as s:
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
EOF
}
field() { # LINE NAME
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}
wait_file() { # FILE SECONDS
	local i
	for i in $(seq $(($2 * 20))); do
		[ -s "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# ---- usage
for args in "" "--port" "--port 0" "--port 1 --hold x" "--port 70000" "--port 1 --fd 3" "--port x" "--port 1 --bogus 1" \
	"--unix /x --port 1" "--unix /x --fd 3"; do
	# shellcheck disable=SC2086
	"$T/counterd" $args >"$T/out" 2>"$T/err"
	r=$?
	is "$r" 2 "counterd $args: exit 2" && like "$(cat "$T/err")" '^usage: counterd' "counterd $args: says how to call it"
done
"$T/counterd" --port 1 --host nope >"$T/out" 2>"$T/err"
is "$?" 2 "--host nope: exit 2"
like "$(cat "$T/err")" 'not an IPv4 address' "--host nope: says why"

# ---- --port, counters
PORT=$(free_port) || bail_out "no free port"
"$T/counterd" --port "$PORT" --host 127.0.0.1 --interval 50 --mem 10 --dirty 32 --ready "$T/ready" \
	>"$T/d1.out" 2>"$T/d1.err" &
D1=$!
PIDS="$PIDS $D1"
wait_file "$T/ready" 10
ok $? "--ready file written" || diag_file "$T/d1.err"
first=$(cat "$T/ready")
like "$first" '^counterd token=[0-9a-f]{16} ticks=0 requests=0 pid=[0-9]+ mem_mib=10 dirtied=0 memok=1 maxgap_ms=0$' "ready line: initial state"
is "$(field "$first" pid)" "$D1" "ready line: our pid"
TOKEN=$(field "$first" token)
a1=$(ask "$PORT")
sleep 0.5
a2=$(ask "$PORT")
a3=$(ask "$PORT")
diag "$a1" "$a3"
is "$(field "$a1" requests) $(field "$a2" requests) $(field "$a3" requests)" "1 2 3" "requests count every connection exactly"
is "$(field "$a3" token)" "$TOKEN" "the token stays the same"
t1=$(field "$a1" ticks) t2=$(field "$a2" ticks)
ok $([ $((t2 - t1)) -ge 4 ] && [ $((t2 - t1)) -le 20 ] && echo 0 || echo 1) "ticks advance with time (0.5 s at 50 ms: $t1 -> $t2)"
d1=$(field "$a1" dirtied) d2=$(field "$a2" dirtied)
is "$((d2 - d1))" "$(((t2 - t1) * 32))" "32 pages re-written per tick"
is "$(field "$a3" memok)" 1 "memok=1"
rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$D1/status")
ok $([ "$rss" -ge 10240 ] && echo 0 || echo 1) "10 MiB resident (VmRSS ${rss} kB)"

# ---- frozen: no ticks, no catch-up
kill -STOP "$D1"
sleep 1
kill -CONT "$D1"
a4=$(ask "$PORT")
sleep 0.3
a5=$(ask "$PORT")
t3=$(field "$a3" ticks) t4=$(field "$a4" ticks) t5=$(field "$a5" ticks)
diag "ticks before SIGSTOP $t3, after 1 s stopped $t4, 0.3 s later $t5"
# a catch-up would add the 20 ticks of the stopped second at once; the few
# ticks around SIGSTOP/SIGCONT and the request depend on the machine's load
ok $([ $((t4 - t3)) -le 10 ] && echo 0 || echo 1) "1 s stopped: no catch-up ($t3 -> $t4, +20 would be a catch-up)"
ok $([ "$t5" -gt "$t4" ] && echo 0 || echo 1) "ticks again after SIGCONT ($t4 -> $t5)"
is "$(field "$a4" requests)" 4 "the connection made while stopped was served after SIGCONT"
g0=$(field "$a3" maxgap_ms) g=$(field "$a4" maxgap_ms)
diag "maxgap_ms before SIGSTOP $g0, after $g"
ok $([ "$g0" -lt 500 ] && [ "$g" -ge 1000 ] && [ "$g" -lt 2000 ] && echo 0 || echo 1) "maxgap_ms: the 1 s stop is seen ($g0 -> $g)"

# ---- memory changed behind its back
if [ "$(id -u)" -eq 0 ]; then
	"$PYTHON" - "$D1" <<'EOF'
import sys
pid = sys.argv[1]
for line in open("/proc/%s/maps" % pid):
    f = line.split()
    lo, hi = (int(x, 16) for x in f[0].split("-"))
    if hi - lo == 10 << 20 and len(f) == 5:
        with open("/proc/%s/mem" % pid, "r+b", buffering=0) as m:
            # the first word of the last page: not re-written soon
            m.seek(hi - 4096)
            w = m.read(8)
            m.seek(hi - 4096)
            m.write(bytes(b ^ 0xff for b in w))
        break
else:
    sys.exit("no 10 MiB mapping in /proc/%s/maps" % pid)
EOF
	ok $? "a word of the buffer flipped through /proc/PID/mem"
	is "$(field "$(ask "$PORT")" memok)" 0 "memok=0 after the change: the check can fail"
else
	skip "memok=0 after the memory changed" "needs root to write /proc/PID/mem"
fi

kill -TERM "$D1"
wait "$D1"
is "$?" 0 "SIGTERM: exit 0"
like "$(tail -n 1 "$T/d1.out")" "^counterd token=$TOKEN .*requests=6 " "the last state on stdout"
PIDS=

# ---- --fd 3: an inherited listening socket, no memory
PORT2=$(free_port) || bail_out "no free port"
"$PYTHON" - "$PORT2" "$T/counterd" "$T/ready2" >"$T/d2.out" 2>"$T/d2.err" <<'EOF' &
import os, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.execv(sys.argv[2], [sys.argv[2], "--fd", "3", "--ready", sys.argv[3]])
EOF
D2=$!
PIDS="$PIDS $D2"
wait_file "$T/ready2" 10
ok $? "--fd 3: ready" || diag_file "$T/d2.err"
b1=$(ask "$PORT2")
like "$b1" "^counterd token=[0-9a-f]{16} ticks=[0-9]+ requests=1 pid=$D2 mem_mib=0 dirtied=0 memok=1 maxgap_ms=[0-9]+\$" "--fd 3: answers on the inherited socket"
"$T/counterd" --fd 7 >"$T/out" 2>"$T/err" 7</dev/null
is "$?" 1 "--fd 7 on a file: exit 1"
like "$(cat "$T/err")" 'fd 7 is not a socket' "--fd 7 on a file: says why"
kill -TERM "$D2"
wait "$D2"
is "$?" 0 "--fd 3: SIGTERM, exit 0"
PIDS=

# ---- --hold 1: connections kept open, one answer per newline
PORT4=$(free_port) || bail_out "no free port"
"$T/counterd" --port "$PORT4" --host 127.0.0.1 --hold 1 --ready "$T/ready4" >"$T/d4.out" 2>"$T/d4.err" &
D4=$!
PIDS="$PIDS $D4"
wait_file "$T/ready4" 10
ok $? "--hold 1: ready" || diag_file "$T/d4.err"
h=$("$PYTHON" - "$PORT4" <<'EOF'
import socket, sys
port = int(sys.argv[1])
def line(s):
    d = b""
    while not d.endswith(b"\n"):
        c = s.recv(512)
        if not c:
            return "EOF"
        d += c
    return d.decode().split()[3]  # requests=N
out = []
conns = []
for _ in range(17):
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    c.settimeout(5)
    out.append(line(c))  # each gets its first line at once
    conns.append(c)
out = [" ".join(out)]
conns[0].sendall(b"\n\n")  # two more on the first
out.append(line(conns[0]) + " " + line(conns[0]))
conns[5].sendall(b"x\n")
out.append(line(conns[5]))
out.append(line(conns[16]))  # the 17th was closed
conns[0].close()  # a slot frees up
c = socket.create_connection(("127.0.0.1", port), timeout=5)
c.settimeout(5)
out.append(line(c))
c.sendall(b"\n")
out.append(line(c))
print("|".join(out))
EOF
)
want="$(seq 1 17 | sed 's/^/requests=/' | tr '\n' ' ' | sed 's/ $//')|requests=18 requests=19|requests=20|EOF|requests=21|requests=22"
is "$h" "$want" "--hold 1: 16 connections held (the 17th answered and closed), one answer per newline, a closed one frees its slot"
like "$(ask "$PORT4")" "requests=23 " "--hold 1: a plain client still gets its line (and closes)"
kill -TERM "$D4"
wait "$D4"
is "$?" 0 "--hold 1: SIGTERM, exit 0"
PIDS=

# ---- --unix PATH
"$T/counterd" --unix "$T/c.sock" --mem 1 --dirty 1 --ready "$T/ready3" >"$T/d3.out" 2>"$T/d3.err" &
D3=$!
PIDS="$PIDS $D3"
wait_file "$T/ready3" 10
ok $? "--unix: ready" || diag_file "$T/d3.err"
u=$("$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
print(s.recv(512).decode().strip())' "$T/c.sock" 2>&1)
like "$u" "^counterd token=[0-9a-f]{16} ticks=[0-9]+ requests=1 pid=$D3 mem_mib=1 dirtied=[0-9]+ memok=1 maxgap_ms=[0-9]+\$" "--unix: answers on the unix socket"
kill -TERM "$D3"
wait "$D3"
is "$?" 0 "--unix: SIGTERM, exit 0"
PIDS=
done_testing
