#!/bin/bash
# t0407: a full log disk.  default-log-dir (with the master log and the
# stdio-log-dir "stderr" below it) is a 64 KiB tmpfs; the tree logs to its
# log file there (no --log-stderr).
# - "chatty" writes a line every 20 ms, "blinker" exits every 0.5 s and is
#   restarted (each start opens the stdio log and writes start and death
#   lines into it);
# - with the disk filled up: the tree does not die, chatty keeps running in
#   the same container, blinker keeps being restarted, lithos_ps and the
#   metrics keep working, the log files do not grow;
# - once space is freed, the stdio log and the master log grow again with
#   new lines from chatty, blinker and the tree;
# - the tmpfs is unmounted at the end; nothing left behind.
# TAP.  Needs root, LXC, busybox-static and python3.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/treetest.sh"
tt_init t0407

itest_image
itest_master
itest_sandbox_1000 s
tt_config chatty <<'EOF'
kind: Daemon
user-id: 1000
group-id: 1000
executable: /bin/sh
arguments: [-c, 'i=0; while :; do i=$((i+1)); echo "chatty line $i"; sleep 0.02; done']
EOF
tt_config blinker <<'EOF'
kind: Daemon
user-id: 1000
group-id: 1000
executable: /bin/sh
arguments: [-c, 'echo "blinker up"; sleep 0.5; exit 3']
restart-timeout: 0.5
EOF
tt_processes s <<'EOF'
chatty:
  kind: Daemon
  image: t/v1
  config: /config/chatty.yaml
blinker:
  kind: Daemon
  image: t/v1
  config: /config/blinker.yaml
EOF
NAMES="s.chatty.0 s.blinker.0"
LOGDIR=$T/log
SLOG=$LOGDIR/stderr/s.log
MLOG=$LOGDIR/master.log
mkdir -p "$LOGDIR"
mount -t tmpfs -o size=64k,mode=0755 lithos-t0407-log "$LOGDIR" || bail_out "cannot mount a tmpfs on $LOGDIR"
TT_EXTRA_CLEANUP='umount "$LOGDIR" 2>/dev/null || umount -l "$LOGDIR" 2>/dev/null'
size() { stat -c %s "$1" 2>/dev/null || echo 0; }
avail() { df -k --output=avail "$LOGDIR" | tail -1 | tr -d ' '; }

TT_TREE_ARGS="--log-level info"
tt_start_tree || { diag_file "$MLOG" "master log"; bail_out "lithos_tree did not start"; }
tt_wait_running 2 20 '[ -n "$(tt_app_pid s.chatty.0)" ] && [ -n "$(tt_app_pid s.blinker.0)" ]'
ok $? "lxc-ls: chatty and blinker run"
tt_wait_for 10 'grep -q "chatty line" "$SLOG" && grep -q "blinker up" "$SLOG" && grep -q "exited with 3" "$SLOG"'
ok $? "the stdio log on the tmpfs gets chatty's and blinker's output and the death lines"
like "$(cat "$MLOG")" 'Started s/blinker\.0' "the master log on the tmpfs gets the tree's lines"
c_init=$(tt_init_pid s.chatty.0)
c_app=$(tt_app_pid s.chatty.0)

# ---- fill the disk
dd if=/dev/zero of="$LOGDIR/fill" bs=4k >/dev/null 2>&1
dd if=/dev/zero of="$LOGDIR/fill2" bs=1 >/dev/null 2>&1
is "$(avail)" 0 "the log disk is full"
sleep 0.5
s0=$(size "$SLOG")
m0=$(size "$MLOG")
b0=$(tt_ps s/blinker.0 starts)
sleep 3
tt_tree_alive
ok $? "the tree still runs with the log disk full"
is "$(tt_init_pid s.chatty.0) $(tt_app_pid s.chatty.0)" "$c_init $c_app" "chatty runs on in the same container"
b1=$(tt_ps s/blinker.0 starts)
diag "blinker starts: $b0 -> $b1 in 3 s on a full disk"
ok $([ "$b1" -ge $((b0 + 2)) ] && echo 0 || echo 1) "blinker keeps being restarted ($b0 -> $b1)"
# a file can still fill the tmpfs page it has, not take another one
pg() { echo $((($1 + 4095) / 4096 * 4096)); }
s1=$(size "$SLOG") m1=$(size "$MLOG")
diag "stdio log $s0 -> $s1 bytes, master log $m0 -> $m1 bytes"
ok $([ "$s1" -le "$(pg "$s0")" ] && [ "$m1" -le "$(pg "$m0")" ] && echo 0 || echo 1) \
	"the log files did not grow beyond the tmpfs pages they had (the disk is really full)"
is "$(tt_running | grep -c chatty)" 1 "lxc-ls: chatty runs"
is "$(tt_ps s/chatty.0 state)" running "lithos_ps: chatty running"
ok $([ "$(tt_metric processes.s.blinker started)" -ge "$b1" ] && echo 0 || echo 1) "the metrics still count blinker's starts"

# ---- free the space
rm -f "$LOGDIR/fill" "$LOGDIR/fill2"
ok $([ "$(avail)" -gt 16 ] && echo 0 || echo 1) "space freed ($(avail) KiB)"
n_chatty=$(grep -c 'chatty line' "$SLOG")
n_start=$(grep -c 'starting' "$SLOG")
tt_wait_for 5 '[ "$(grep -c "chatty line" "$SLOG")" -gt "$n_chatty" ] && [ "$(grep -c "starting" "$SLOG")" -gt "$n_start" ]'
ok $? "the stdio log gets chatty's lines and new start lines again"
tt_wait_for 5 '[ "$(size "$MLOG")" -gt "$m0" ]'
ok $? "the master log grows again"
tail -n 200 "$SLOG" | grep -a 'chatty line' | tail -1 >"$T/last"
ok $([ -s "$T/last" ] && echo 0 || echo 1) "a complete chatty line after the recovery: $(cat "$T/last")"
tt_tree_alive
ok $? "the tree runs"
is "$(tt_init_pid s.chatty.0)" "$c_init" "chatty still in its first container"

tt_stop_tree TERM
is "$rc" 0 "lithos_tree exits 0 on SIGTERM"
is "$(tt_nrunning)" 0 "lxc-ls: nothing runs after the tree stopped"
like "$(tail -n 3 "$MLOG")" 'Stopped' "the master log has the tree's last line"
umount "$LOGDIR"
ok $? "the log tmpfs unmounts"
tt_check_clean "after SIGTERM and umount" $NAMES
done_testing
