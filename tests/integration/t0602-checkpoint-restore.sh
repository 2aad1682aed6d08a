#!/bin/bash
# t0602: lithos_checkpoint and lithos_restore on one host, with lithos_tree
# supervising a migratable daemon (counterd: in-memory token and counters,
# 10 MiB of memory re-dirtied, served on a unix socket):
# - checkpoint --leave-running: exit 0, the one-line report, the images and
#   DIR/lithos-checkpoint; the daemon runs on, same process;
# - checkpoint (stop): the container is gone and the tree neither restarts
#   it nor counts a failure (lithos_ps, tree log);
# - restore from DIR: exit 0 and its report; the same process runs again
#   (token), its request counter continues, its memory is intact;
# - the restored instance is supervised like any other: killed, the tree
#   restarts it (fresh: new token);
# - a criu older than 4.2 (a stand-in on PATH that answers only
#   `criu --version` with 4.1.1): lithos_checkpoint, lithos_restore and
#   lithos_migrate exit 3 naming 4.1.1, the minimum 4.2 and why, before
#   criu is run for anything else or anything is changed;
# - failure paths leave the instance running and say why: criu missing
#   (exit 3), an instance of a sandbox that is not migratable (exit 4), an
#   unknown instance (exit 4), a restore from a directory without images
#   (exit 4) or while the instance runs (exit 4), a usage error (exit 2);
# - a daemon holding a listening TCP socket: checkpoint --leave-running
#   works (criu >= 4.2; 4.1.1 could not dump TCP sockets on Linux >= 6.16)
#   and it keeps running and answering (more TCP cases: t0612);
# - at the end nothing is left behind.
# TAP.  Needs root, LXC, CRIU (scripts/install-criu.sh), busybox-static,
# python3, gcc -static.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/criutest.sh"
ct_init t0602
ct_need_commands
ct_need_criu

ct_host a
ct_use a
ct_master
ct_sandbox s <<EOF
allow-users: [0]
allow-groups: [0]
migratable: true
EOF
ct_sandbox plain <<EOF
allow-users: [0]
allow-groups: [0]
EOF
ct_counter_config counter 10
PORT=
for i in $(seq 50); do
	p=$((21000 + RANDOM % 8000))
	if [ -z "$(ss -ltnH "sport = :$p")" ]; then PORT=$p; break; fi
done
[ -n "$PORT" ] || bail_out "no free port found"
tt_config web <<EOF
kind: Daemon
user-id: 0
group-id: 0
executable: /bin/counterd
arguments: [--port, "$PORT", --host, 127.0.0.1]
restart-timeout: 0
EOF
tt_processes s <<EOF
counter: {image: t/v1, config: /config/counter.yaml, instances: 1}
web: {image: t/v1, config: /config/web.yaml, instances: 1}
EOF
tt_processes plain <<EOF
counter: {image: t/v1, config: /config/counter.yaml, instances: 1}
EOF
N=s.counter.0
P=plain.counter.0
tt_start_tree || bail_out "lithos_tree did not start"
W=s.web.0
tt_wait_running 3 20 '[ -n "$(tt_app_pid $N)" ] && [ -n "$(tt_app_pid $W)" ]'
ok $? "three counters run (migratable s: counter, web on TCP; not migratable plain)"
s1=$(ct_ask a $N)
s2=$(ct_ask a $N)
diag "before: $s2"
TOKEN=$(ct_field "$s1" token)
is "$(ct_field "$s2" requests) $(ct_field "$s2" memok)" "2 1" "counterd answers"

# ---- checkpoint, leaving it running
ct_cmd lithos_checkpoint --leave-running s/counter.0 "$T/ck1"
is "$rc" 0 "lithos_checkpoint --leave-running: exit 0" || diag "$err"
like "$out" "^checkpointed s/counter\.0 to $(re "$T/ck1") in [0-9]+ ms" "it says what it did"
ok $([ -n "$(find "$T/ck1" -name 'pages-*.img' -size +1M 2>/dev/null)" ] && echo 0 || echo 1) "CRIU's page images are in the directory"
like "$(cat "$T/ck1/lithos-checkpoint" 2>/dev/null)" '^instance s/counter\.0$' "DIR/lithos-checkpoint names the instance"
s3=$(ct_ask a $N)
is "$(ct_field "$s3" token) $(ct_field "$s3" requests)" "$TOKEN 3" "still running: same process, 3rd request"

# ---- checkpoint, stopping it
tt_log_mark stop-checkpoint
INIT0=$(tt_init_pid $N)
ct_cmd lithos_checkpoint s/counter.0 "$T/ck2"
is "$rc" 0 "lithos_checkpoint (stop): exit 0" || diag "$err"
like "$out" "^checkpointed s/counter\.0 to $(re "$T/ck2") in [0-9]+ ms \(stopped\)" "it says the instance stopped"
tt_wait_running 2 10 "[ -z \"\$(tt_init_pid $N)\" ]"
ok $? "the container is gone"
sleep 2
is "$(tt_running | tr '\n' ' ')" "$P $W " "2 s later the tree has not restarted it"
unlike "$(tt_log_since stop-checkpoint | grep -v 'not restarting')" "(fail|restart)" "the tree log shows no failure or restart" ||
	tt_log_since stop-checkpoint | tail -n 20 | diag

# ---- a criu older than 4.2: refused before anything is touched.  The
# stand-in answers `criu --version` only and logs every call.
oldcriu=$T/oldcriu
mkdir -p "$oldcriu"
cat >"$oldcriu/criu" <<EOF
#!/bin/sh
echo "\$*" >>"$T/oldcriu.calls"
[ "\$1" = --version ] && { echo "Version: 4.1.1"; exit 0; }
echo "stand-in criu 4.1.1: only --version is answered" >&2
exit 99
EOF
chmod +x "$oldcriu/criu"
# old_criu_refused WHAT: $rc 3, the message, criu run only for --version
old_criu_refused() {
	is "$rc" 3 "$1 with criu 4.1.1: exit 3"
	like "$err" "criu 4\.1\.1 is too old: lithos needs >= 4\.2 \(TCP sockets on Linux >= 6\.16" \
		"$1: the message names 4.1.1, the minimum 4.2 and why" || diag "$err"
	is "$(sort -u "$T/oldcriu.calls" 2>/dev/null)" "--version" "$1: criu was only asked its version"
	rm -f "$T/oldcriu.calls"
}
PATH_SAVE=$PATH
PATH=$oldcriu:$PATH ct_cmd lithos_restore s/counter.0 "$T/ck2"
PATH=$PATH_SAVE
old_criu_refused lithos_restore
ok $([ ! -e "$T/a/run/knots/$N.restore" ] && [ -e "$T/a/run/knots/$N.away" ] && echo 0 || echo 1) \
	"lithos_restore: no restore request written, the checkpoint marker kept"
is "$(tt_running | tr '\n' ' ')" "$P $W " "lithos_restore: nothing was restored"

# ---- restore
ct_cmd lithos_restore s/counter.0 "$T/ck2"
is "$rc" 0 "lithos_restore: exit 0" || { diag "$err"; diag_file "$T/ck2/restore.log"; }
like "$out" "^restored s/counter\.0 from $(re "$T/ck2") in [0-9]+ ms" "it says what it did"
s4=$(ct_ask a $N)
diag "restored: $s4"
INIT1=$(tt_init_pid $N)
ok $([ -n "$INIT1" ] && [ "$INIT1" != "$INIT0" ] && echo 0 || echo 1) "a restored container (init pid $INIT0 before, $INIT1 now)"
is "$(ct_field "$s4" token)" "$TOKEN" "the same process runs again (token)"
is "$(ct_field "$s4" requests)" 4 "its request counter continues (4th request)"
is "$(ct_field "$s4" memok)" 1 "its 10 MiB are intact"
ok $([ "$(ct_field "$s4" ticks)" -ge "$(ct_field "$s3" ticks)" ] && echo 0 || echo 1) "its ticks continue"
is "$(tt_ps s/counter.0 state)" running "lithos_ps: running"

# ---- supervised: killed, restarted fresh by the tree
init=$(tt_init_pid $N)
kill -KILL "$(tt_app_pid $N)"
tt_wait_for 15 "[ -n \"\$(tt_app_pid $N)\" ] && [ \"\$(tt_init_pid $N)\" != \"$init\" ]"
ok $? "killed after the restore, the tree restarts it"
s5=$(ct_ask a $N)
ok $([ "$(ct_field "$s5" token)" != "$TOKEN" ] && [ "$(ct_field "$s5" requests)" = 1 ] && echo 0 || echo 1) \
	"fresh after the restart (new token, 1st request)" || diag "$s5"
TOKEN=$(ct_field "$s5" token)

# ---- failure paths: the instance keeps running, the message says why
nocriu=$T/nocriu
mkdir -p "$nocriu"
for p in lxc-info lxc-ls lxc-stop lxc-checkpoint; do ln -sf "$(command -v $p)" "$nocriu/$p"; done
PATH=$nocriu:/usr/bin:/bin ct_cmd lithos_checkpoint s/counter.0 "$T/ck3"
PATH=$PATH_SAVE
is "$rc" 3 "criu missing: exit 3"
like "$err" "criu" "criu missing: the message says so" && diag "$err"
is "$(ct_field "$(ct_ask a $N)" token)" "$TOKEN" "criu missing: the instance runs on"

PATH=$oldcriu:$PATH ct_cmd lithos_checkpoint s/counter.0 "$T/ck-old"
PATH=$PATH_SAVE
old_criu_refused lithos_checkpoint
ok $([ ! -e "$T/ck-old" ] && echo 0 || echo 1) "lithos_checkpoint: DIR was not created"
PATH=$oldcriu:$PATH ct_cmd lithos_migrate --to local --dir "$T/mig-old" s/counter.0
PATH=$PATH_SAVE
old_criu_refused lithos_migrate
ok $([ ! -e "$T/mig-old" ] && echo 0 || echo 1) "lithos_migrate: its image directory was not created"
is "$(ct_field "$(ct_ask a $N)" token)" "$TOKEN" "criu 4.1.1: the instance runs on, untouched"

# (LXC's log of the instance removed first: a refused checkpoint touches
# nothing, and made it again when it attached it before its checks)
rm -f "$LXCPATH/$P/lxc.log"
ct_cmd lithos_checkpoint plain/counter.0 "$T/ck4"
is "$rc" 4 "a sandbox that is not migratable: exit 4"
ok $([ -d "$LXCPATH/$P" ] && [ ! -e "$LXCPATH/$P/lxc.log" ] && echo 0 || echo 1) "a sandbox that is not migratable: LXC's log of the instance was not made again"
like "$err" "migratable" "it says the sandbox is not migratable" && diag "$err"
ok $([ -n "$(tt_app_pid $P)" ] && echo 0 || echo 1) "that instance runs on"

ct_cmd lithos_checkpoint s/nosuch.0 "$T/ck5"
is "$rc" 4 "an unknown instance: exit 4"
like "$err" "nosuch" "it names the instance" && diag "$err"

mkdir -p "$T/empty"
ct_cmd lithos_restore s/counter.0 "$T/empty"
is "$rc" 4 "restore while it runs / from a dir without images: exit 4"
[ -n "$err" ]
ok $? "it says why" && diag "$err"
is "$(ct_field "$(ct_ask a $N)" token)" "$TOKEN" "the instance runs on, untouched"

# a daemon holding a TCP socket (criu 4.1.1 could not dump it on Linux >= 6.16)
w1=$(tt_connect "$PORT")
ct_cmd lithos_checkpoint --leave-running s/web.0 "$T/ck6"
is "$rc" 0 "lithos_checkpoint --leave-running of a daemon with a listening TCP socket: exit 0" ||
	{ diag "$err"; diag_file "$T/ck6/dump.log"; }
w2=$(tt_connect "$PORT")
is "$(ct_field "$w2" token) $(ct_field "$w2" requests)" "$(ct_field "$w1" token) 2" "the TCP daemon runs on, same process"

ct_cmd lithos_checkpoint
is "$rc" 2 "lithos_checkpoint without arguments: exit 2"
like "$err" "[Uu]sage" "and a usage line"

# ---- the end
tt_stop_tree TERM
is "$rc" 0 "lithos_tree exits 0 on SIGTERM"
ct_check_clean "after SIGTERM" $N $P $W
done_testing
