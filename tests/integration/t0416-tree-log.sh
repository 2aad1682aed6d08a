#!/bin/bash
# t0416: the master config's logging keys, as lithos_tree uses them (no
# --log-stderr or --log-level on its command line):
# - log-file (relative: below default-log-dir) gets the tree's lines at
#   log-level info ("Started ..."), which the default level (warn) hides;
#   after a reload with log-level: error it gets no info line (an added
#   instance's start is not logged) while the tree works on;
# - syslog-facility local3 and syslog-name: the tree logs to /dev/log
#   instead, as "<PRI>... NAME[PID]: ..." with PRI = local3 (19) * 8 + info
#   (6) = 158, and writes nothing to the log file.  The socket is the
#   test's: bound at /dev/log when the host has none (removed at the end),
#   else bound over the host's in a private mount namespace of the tree.
# TAP.  Needs root, LXC, busybox-static and python3.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/treetest.sh"
tt_init t0416
itest_image
itest_sandbox_1000 s
tt_config d <<'YAML'
kind: Daemon
user-id: 1000
group-id: 1000
executable: /bin/sleep
arguments: ["1000"]
YAML
procs() { # ENTRY...: Daemon entries of config d
	local e
	for e in "$@"; do printf '%s:\n  kind: Daemon\n  image: t/v1\n  config: /config/d.yaml\n' "$e"; done |
		tt_processes s
}
# no logging options on the tree's command line: the master config decides
TT_TREE_ARGS=--
LOGF=$T/log/tree/custom.log

# ---- log-file and log-level
itest_master "log-file: tree/custom.log" "log-level: info"
procs a
tt_start_tree || { diag_file "$LOGF" "log file"; bail_out "lithos_tree did not start"; }
tt_wait_running 1 15 '[ -n "$(tt_app_pid s.a.0)" ]'
ok $? "a runs"
tt_wait_for 5 'grep -q "\[info\] Started s/a\.0" "$LOGF"'
ok $? "log-file tree/custom.log below default-log-dir, log-level info: it has 'Started s/a.0'" || diag_file "$LOGF" "log file"
unlike "$(cat "$TREE_LOG")" 'Started' "nothing of it on the tree's stderr"

itest_master "log-file: tree/custom.log" "log-level: error"
procs a b
tt_quit
ok $? "reload with log-level: error and a new entry b"
tt_wait_running 2 15 '[ -n "$(tt_app_pid s.b.0)" ]'
ok $? "b runs"
unlike "$(cat "$LOGF")" 'Started s/b\.0' "log-level error after the reload: b's start is not logged"
tt_stop_tree TERM
is "$rc" 0 "lithos_tree exits 0 on SIGTERM"
tt_wait_running 0 10
ok $? "nothing runs"

# ---- syslog-facility and syslog-name
SOCK_OUT=$T/syslog.got
listen() { itest_syslog_listen "$PYTHON" "$1" "$SOCK_OUT"; }
if [ ! -e /dev/log ] && [ ! -L /dev/log ]; then
	ITEST_EXTRA_CLEANUP="rm -f /dev/log${ITEST_EXTRA_CLEANUP:+; $ITEST_EXTRA_CLEANUP}"
	listen /dev/log
	diag "the host has no /dev/log: the test's listener is bound there for the run"
else
	listen "$T/log.sock"
	cat >"$T/tree-in-ns" <<SH
#!/bin/sh
# lithos_tree with the test's socket over /dev/log, in a mount namespace of its own
exec unshare -m --propagation private sh -c 'mount --bind "\$0" /dev/log && exec "\$@"' "$T/log.sock" "$LITHOS_TREE" "\$@"
SH
	chmod +x "$T/tree-in-ns"
	LITHOS_TREE=$T/tree-in-ns
	diag "the host has a /dev/log: the tree runs with the test's socket bound over it in a private mount namespace"
fi
size0=$(stat -c %s "$LOGF")
itest_master "log-file: tree/custom.log" "log-level: info" "syslog-facility: local3" "syslog-name: lithos-t0416"
procs a
tt_start_tree || { diag_file "$TREE_LOG" "tree log"; bail_out "lithos_tree did not start"; }
tt_wait_running 1 15 '[ -n "$(tt_app_pid s.a.0)" ]'
ok $? "a runs (tree logging to syslog)"
tt_wait_for 5 'grep -q "Started s/a\.0" "$SOCK_OUT"'
ok $? "the tree's 'Started s/a.0' reached /dev/log" || diag_file "$SOCK_OUT" "received"
line=$(grep -m1 'Started s/a\.0' "$SOCK_OUT")
diag "syslog: $line"
like "$line" "^<158>" "syslog-facility local3: priority 158 (local3 * 8 + info)"
like "$line" " lithos-t0416\\[$TREE\\]: Started s/a\\.0" "syslog-name lithos-t0416 with the tree's pid"
is "$(stat -c %s "$LOGF")" "$size0" "logging to syslog: nothing written to log-file"
tt_stop_tree TERM
is "$rc" 0 "lithos_tree exits 0 on SIGTERM"
tt_check_clean "after SIGTERM" s.a.0 s.b.0
done_testing
