#!/bin/bash
# t0414: a reader of a container's config (lxc-ls, lxc-info, lithos_ps:
# anything that makes a liblxc container object) racing the tree's removal
# of the container's directory does not make the directory again.
# What it was: the compiled config named LXC's log, LXCPATH/NAME/lxc.log;
# liblxc opens that file while it parses the config, after creating its
# directory (mkdir of every component).  A reader that had read the config
# before the tree removed the directory made it again after, with an empty
# lxc.log and no lithos mark: left behind after the tree's exit (t0409's
# "lxc dir: s.py.0" once in a full run), and the instance could not start
# again ("exists and was not created by lithos").  Now the config names no
# log; lithos_knot opens LXCPATH/NAME/lxc.log itself and gives liblxc the
# open file.
# The race is made certain with an LD_PRELOAD shim in lxc-ls: its mkdir()
# of the container's directory (the log's parent) waits until the test has
# had the tree remove the instance.
# - the config names no lxc.log.file, the running instance has its lxc.log;
# - lxc-ls (shimmed) lists the container and never tries to make its
#   directory; after the instance's removal and lxc-ls's end the directory
#   is gone (with the old config: lxc-ls parked in that mkdir, and made
#   the directory again);
# - the instance starts again when it is configured again;
# - nothing left behind.
# TAP.  Needs root, LXC, busybox-static, python3, gcc (for the shim).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/treetest.sh"
tt_init t0414
command -v gcc >/dev/null 2>&1 || skip_all "gcc is needed to build the LD_PRELOAD shim"

# mkdir(T0414_DIR) writes T0414_READY, then waits (30 s at most) for
# T0414_GO before it goes on
cat >"$T/parkdir.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
int mkdir(const char *path, mode_t mode)
{
	const char *dir = getenv("T0414_DIR"), *ready = getenv("T0414_READY"),
		   *go = getenv("T0414_GO");
	if (dir && ready && go && !strcmp(path, dir)) {
		close(open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		for (int i = 0; i < 1500 && access(go, F_OK) < 0; i++)
			nanosleep(&ts, NULL);
	}
	int (*real)(const char *, mode_t) = (int (*)(const char *, mode_t))dlsym(RTLD_NEXT, "mkdir");
	return real(path, mode);
}
EOF
gcc -shared -fPIC -O2 -o "$T/parkdir.so" "$T/parkdir.c" -ldl >"$T/parkdir.log" 2>&1 ||
	skip_all "gcc cannot build the LD_PRELOAD shim: $(tail -1 "$T/parkdir.log")"

itest_image
itest_master
itest_sandbox_1000 s
tt_config x <<'EOF'
kind: Daemon
user-id: 1000
group-id: 1000
executable: /bin/sleep
arguments: ["1000"]
restart-timeout: 0
kill-timeout: 2
EOF
procs() {
	tt_processes s <<'EOF'
x:
  kind: Daemon
  image: t/v1
  config: /config/x.yaml
EOF
}
CT=s.x.0
DIR=$LXCPATH/$CT

procs
tt_start_tree || bail_out "lithos_tree did not start"
tt_wait_running 1 20 '[ -n "$(tt_app_pid $CT)" ]'
ok $? "lxc-ls: the instance runs"
unlike "$(cat "$DIR/config")" '^lxc\.log\.file' "its config names no LXC log file"
ok "$([ -f "$DIR/lxc.log" ]; echo $?)" "its knot opened LXC's log $CT/lxc.log"

# ---- a reader of the config parked where liblxc would make the directory
rm -f "$T/ready" "$T/go"
T0414_DIR=$DIR T0414_READY=$T/ready T0414_GO=$T/go LD_PRELOAD=$T/parkdir.so \
	lxc-ls -P "$LXCPATH" -1 >"$T/lxc-ls.out" 2>&1 &
LS=$!
ITEST_PIDS="$ITEST_PIDS $LS"
# it either reaches that mkdir (the old config) or ends (nothing to make)
tt_wait_for 10 '[ -e "$T/ready" ] || ! kill -0 $LS 2>/dev/null'
ok "$([ ! -e "$T/ready" ]; echo $?)" "lxc-ls never makes the container's directory (it read no log path)"

# ---- the instance removed meanwhile
: | tt_processes s
tt_quit
ok $? "reload without the instance"
tt_wait_for 15 '[ ! -e "$DIR" ]'
ok $? "the tree removed $CT's directory"
touch "$T/go"
wait "$LS"
is "$?" 0 "lxc-ls ended well"
like "$(cat "$T/lxc-ls.out")" "^$CT\$" "it listed the container"
ok "$([ ! -e "$DIR" ]; echo $?)" "the directory stays gone after the reader" ||
	ls -la "$DIR" 2>&1 | diag

# ---- configured again: it starts
procs
tt_quit
ok $? "reload with the instance again"
tt_wait_running 1 20 '[ -n "$(tt_app_pid $CT)" ]'
ok $? "it runs again" || grep -i "cannot start" "$TREE_LOG" | tail -3 | diag

tt_stop_tree TERM
is "$rc" 0 "lithos_tree exits 0 on SIGTERM"
tt_check_clean "after SIGTERM" $CT
done_testing
