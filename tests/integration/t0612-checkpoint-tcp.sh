#!/bin/bash
# t0612: TCP across lithos_checkpoint/lithos_restore on one host (criu >=
# 4.2: criu 4.1.1 cannot dump AF_INET sockets on Linux >= 6.16, criu issue
# #2718).  Host network, loopback only.
# - web: counterd with its own listener (--port, --hold 1).  A client holds
#   an established connection; checkpoint (stop), restore: the held
#   connection answers again (same process, counter continues), the
#   listener accepts new connections;
# - the same across a checkpoint --leave-running;
# - tp: counterd on a tree tcp-port with reuse-port: true (fd 3; its own
#   socket): checkpoint (stop), restore, it accepts again, and the port has
#   exactly one listener (the restored process's: the tree binds none for a
#   restore);
# - tps: counterd on a shared tree tcp-port (no reuse-port: the socket is
#   the tree's, CRIU could not bind the port again on restore):
#   lithos_checkpoint refuses (exit 4, naming the socket and reuse-port),
#   creates nothing, the instance runs on;
# - lithos_migrate of tps: exit 4 (lithos_checkpoint's refusal), it runs on;
# - lithos_migrate of web from host a to host b (two lithos hosts on this
#   machine's network, shared image dir) while a client holds a connection:
#   the connection answers from b (same process), the listener accepts
#   there, nothing runs on a;
# - at the end nothing is left behind.
# TAP.  Needs root, LXC, CRIU (scripts/install-criu.sh), busybox-static,
# python3, gcc -static.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/criutest.sh"
ct_init t0612
ct_need_commands
ct_need_criu
MIGRATE=$top_builddir/lithos_migrate
[ -x "$MIGRATE" ] || bail_out "$MIGRATE not built"

free_port() {
	local i p
	for i in $(seq 50); do
		p=$((21000 + RANDOM % 8000))
		if [ -z "$(ss -ltnH "sport = :$p")" ] && [ "$p" != "${PORT:-}" ]; then echo "$p"; return 0; fi
	done
	return 1
}
PORT=$(free_port) || bail_out "no free port found"
PORT2=$(free_port) || bail_out "no free port found"
PORT3=$(free_port) || bail_out "no free port found"
[ "$PORT3" != "$PORT2" ] || PORT3=$(free_port) || bail_out "no free port found"
diag "ports $PORT (own listener), $PORT2 (tree tcp-port, reuse-port), $PORT3 (shared tree tcp-port)"

for h in b a; do
	ct_host $h
	ct_use $h
	ct_master
	ct_sandbox s <<YAML
allow-users: [0]
allow-groups: [0]
allow-tcp-ports: [$PORT2, $PORT3]
migratable: true
YAML
done
tt_config web <<YAML
kind: Daemon
user-id: 0
group-id: 0
executable: /bin/counterd
arguments: [--port, "$PORT", --host, 127.0.0.1, --hold, "1"]
restart-timeout: 0
YAML
tt_config tp <<YAML
kind: Daemon
user-id: 0
group-id: 0
executable: /bin/counterd
arguments: [--fd, "3"]
tcp-ports:
  $PORT2: {fd: 3, host: 127.0.0.1, reuse-port: true}
restart-timeout: 0
YAML
tt_config tps <<YAML
kind: Daemon
user-id: 0
group-id: 0
executable: /bin/counterd
arguments: [--fd, "3"]
tcp-ports:
  $PORT3: {fd: 3, host: 127.0.0.1}
restart-timeout: 0
YAML
WEB_ENTRY=$T/web.yaml
OTHERS=$T/others.yaml
echo "web: {image: t/v1, config: /config/web.yaml, instances: 1}" >"$WEB_ENTRY"
{
	echo "tp: {image: t/v1, config: /config/tp.yaml, instances: 1}"
	echo "tps: {image: t/v1, config: /config/tps.yaml, instances: 1}"
} >"$OTHERS"
cat "$WEB_ENTRY" "$OTHERS" | tt_processes s
W=s.web.0
TP=s.tp.0
TPS=s.tps.0
tt_start_tree || bail_out "lithos_tree did not start"
tt_wait_running 3 20 '[ -n "$(tt_app_pid $W)" ] && [ -n "$(tt_app_pid $TP)" ] && [ -n "$(tt_app_pid $TPS)" ]'
ok $? "three counterds run (web: own listener; tp: tree tcp-port, reuse-port; tps: shared tree tcp-port)"

# ---- own listener + an established connection, checkpoint (stop) + restore
w1=$(tt_connect "$PORT")
TOKEN=$(ct_field "$w1" token)
is "$(ct_field "$w1" requests)" 1 "web answers on its own TCP listener" || diag "$w1"
ct_hold_start a 127.0.0.1 "$PORT"
is "$(ct_field "$held" token) $(ct_field "$held" requests)" "$TOKEN 2" "a client holds a connection (2nd request)" || diag "$held"
ct_hold_ask
is "$(ct_field "$held" requests)" 3 "the held connection answers (3rd request)" || diag "$held"

ct_cmd lithos_checkpoint s/web.0 "$T/ck1"
is "$rc" 0 "lithos_checkpoint (stop) of a daemon with a TCP listener and an established connection: exit 0" ||
	{ diag "$err"; diag_file "$T/ck1/dump.log"; }
like "$out" "^checkpointed s/web\.0 to $(re "$T/ck1") in [0-9]+ ms \(stopped\)" "it says the instance stopped" && diag "$out"
tt_wait_running 2 10 "[ -z \"\$(tt_init_pid $W)\" ]"
ok $? "the container is gone"
ct_cmd lithos_restore s/web.0 "$T/ck1"
is "$rc" 0 "lithos_restore: exit 0" || { diag "$err"; diag_file "$T/ck1/restore.log"; }
diag "$out"
ct_hold_ask
is "$(ct_field "$held" token) $(ct_field "$held" requests)" "$TOKEN 4" \
	"the held connection survived: the same process answers on it (4th request)" || diag "$held"
w2=$(tt_connect "$PORT")
is "$(ct_field "$w2" token) $(ct_field "$w2" requests)" "$TOKEN 5" "the restored listener accepts (same process, 5th request)" || diag "$w2"

# ---- checkpoint --leave-running: both go on
ct_cmd lithos_checkpoint --leave-running s/web.0 "$T/ck2"
is "$rc" 0 "lithos_checkpoint --leave-running of it: exit 0" || { diag "$err"; diag_file "$T/ck2/dump.log"; }
ct_hold_ask
is "$(ct_field "$held" token) $(ct_field "$held" requests)" "$TOKEN 6" "the held connection still answers (6th request)" || diag "$held"
w3=$(tt_connect "$PORT")
is "$(ct_field "$w3" token) $(ct_field "$w3" requests)" "$TOKEN 7" "the listener still accepts (7th request)" || diag "$w3"
ct_hold_stop

# ---- a tree tcp-port with reuse-port: true
listeners() { # the processes holding a listening socket on port $1, one line each
	ss -ltnpH "sport = :$1" | grep -o 'users:(.*)' | sort
}
t1=$(tt_connect "$PORT2")
TTOKEN=$(ct_field "$t1" token)
is "$(ct_field "$t1" requests)" 1 "tp answers on its tree tcp-port (reuse-port)" || diag "$t1"
ct_cmd lithos_checkpoint s/tp.0 "$T/ck3"
is "$rc" 0 "lithos_checkpoint (stop) of a daemon on a reuse-port tcp-port: exit 0" || { diag "$err"; diag_file "$T/ck3/dump.log"; }
tt_wait_running 2 10 "[ -z \"\$(tt_init_pid $TP)\" ]"
ok $? "the container is gone"
is "$(listeners "$PORT2")" "" "nothing listens on the port while it is checkpointed"
ct_cmd lithos_restore s/tp.0 "$T/ck3"
is "$rc" 0 "lithos_restore: exit 0" || { diag "$err"; diag_file "$T/ck3/restore.log"; }
diag "$out"
t2=$(tt_connect "$PORT2")
is "$(ct_field "$t2" token) $(ct_field "$t2" requests)" "$TTOKEN 2" "the restored process accepts on the port (same process, 2nd request)" || diag "$t2"
l=$(listeners "$PORT2")
diag "listeners: $l"
is "$(printf '%s\n' "$l" | grep -c .) $(printf '%s' "$l" | grep -c lithos_tree)" "1 0" \
	"one listener on the port, the restored counterd's (the tree bound none for the restore)"
tt_connect "$PORT2" 20 >"$T/c20"
is "$(grep -c "token=$TTOKEN" "$T/c20")" 20 "20 more connections, all answered by the restored process" || diag_file "$T/c20"

# ---- a shared tree tcp-port: refused before anything is done
s1=$(tt_connect "$PORT3")
STOKEN=$(ct_field "$s1" token)
is "$(ct_field "$s1" requests)" 1 "tps answers on its shared tree tcp-port" || diag "$s1"
ct_cmd lithos_checkpoint s/tps.0 "$T/ck4"
is "$rc" 4 "lithos_checkpoint of a daemon on a shared tree tcp-port: exit 4"
like "$err" "listening socket 127\.0\.0\.1:$PORT3 of lithos_tree.*reuse-port: true" "it names the socket and what to set" || diag "$err"
ok $([ ! -e "$T/ck4" ] && echo 0 || echo 1) "no image directory was created"
s2=$(tt_connect "$PORT3")
is "$(ct_field "$s2" token) $(ct_field "$s2" requests)" "$STOKEN 2" "the instance runs on (same process, 2nd request)" || diag "$s2"
ct_cmd lithos_checkpoint --leave-running s/tps.0 "$T/ck5"
is "$rc" 4 "also with --leave-running: exit 4 (the images could not be restored)"

# ---- lithos_migrate a -> b with a held connection
ct_use b
tt_processes s </dev/null
tt_start_tree || bail_out "tree of b"
ct_use a
out=$("$MIGRATE" -C "$T/a/etc/master.yaml" --to local --target-master "$T/b/etc/master.yaml" \
	--shared-dir "$T/shared" --target-processes "$OTHERS" --source-processes "$WEB_ENTRY" s/tps.0 2>&1)
is "$?" 4 "lithos_migrate of the daemon on the shared tcp-port: exit 4"
like "$out" "reuse-port: true" "it passes on lithos_checkpoint's reason" || diag "$out"
s3=$(tt_connect "$PORT3")
is "$(ct_field "$s3" token) $(ct_field "$s3" requests)" "$STOKEN 3" "it runs on here (same process, 3rd request)" || diag "$s3"
is "$(ct_on b tt_init_pid $TPS)" "" "nothing runs on b"
ct_hold_start a 127.0.0.1 "$PORT"
r0=$(ct_field "$held" requests)
is "$(ct_field "$held" token)" "$TOKEN" "a client holds a connection to web on a" || diag "$held"
out=$("$MIGRATE" -C "$T/a/etc/master.yaml" --to local --target-master "$T/b/etc/master.yaml" \
	--shared-dir "$T/shared" --target-processes "$WEB_ENTRY" --source-processes "$OTHERS" s/web.0 2>&1)
ok $? "lithos_migrate a -> b of a daemon with a TCP listener and an established connection" || diag "$out"
diag "$out"
ok $([ -n "$(ct_on b tt_app_pid $W)" ] && [ -z "$(ct_on a tt_init_pid $W)" ] && echo 0 || echo 1) "web runs on b, not on a"
ct_hold_ask
is "$(ct_field "$held" token) $(ct_field "$held" requests)" "$TOKEN $((r0 + 1))" \
	"the held connection survived the move: the same process answers on it from b" || diag "$held"
w4=$(tt_connect "$PORT")
is "$(ct_field "$w4" token) $(ct_field "$w4" requests)" "$TOKEN $((r0 + 2))" "the listener accepts on b (same process)" || diag "$w4"
ct_hold_stop
is "$(ct_on b tt_ps s/web.0 state)" running "lithos_ps on b: running"

# ---- the end
for h in a b; do
	ct_use $h
	tt_stop_tree TERM
	is "$rc" 0 "lithos_tree of $h exits 0 on SIGTERM"
done
ct_check_clean "after SIGTERM" $W $TP $TPS
done_testing
