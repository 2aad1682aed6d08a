#!/bin/bash
# t0303: environment and identity of a real container started by lithos_cmd.
# - the exact environment of the process (read from /proc/self/environ by a
#   non-shell process): the config's environ, LITHOS_NAME, LITHOS_CONFIG,
#   TERM from the caller (only when the caller has one), container=lxc, and
#   nothing of the caller's environment; a shell adds only its own PWD and
#   SHLVL;
# - workdir is the process's working directory;
# - the hostname is the host's.
# TAP.  Needs root, LXC and busybox-static.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/itest.sh"
itest_init t0303

itest_image
itest_master
itest_sandbox_1000 s

itest_command s env <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
interactive: true
executable: /bin/cat
arguments: [/proc/self/environ]
environ:
  PATH: /bin
  HOME: /tmp
  LANG: C
  WITH_SPACE: "a b=c"
  EMPTY: ""
EOF
itest_command s edges <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
interactive: true
executable: /bin/cat
arguments: [/proc/self/environ]
environ:
  TRAILING: "x "
  LEADING: "  y"
  TABS: "\tz\t"
EOF
itest_command s nopath <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
interactive: true
executable: /bin/cat
arguments: [/proc/self/environ]
EOF
itest_command s shenv <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
interactive: true
executable: /bin/sh
arguments: [-c, 'env']
environ: {PATH: /bin, HOME: /tmp}
workdir: /var/tmp
EOF
itest_command s cwd <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
interactive: true
executable: /bin/readlink
arguments: [/proc/self/cwd]
workdir: /var/log
EOF
itest_command s defcwd <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
interactive: true
executable: /bin/readlink
arguments: [/proc/self/cwd]
EOF
itest_command s hostname <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
interactive: true
executable: /bin/hostname
EOF

environ() { tr '\0' '\n' <"$T/out" | LC_ALL=C sort; }

# the caller's environment: TERM and some noise that must not get in
export LEAK_FROM_CALLER=1
TERM=xterm-lithos run_cmd s env
ok $rc "env: exit 0" || diag_file "$T/err"
pid=${RUN_LXCNAME##*.}
is "$(environ)" "EMPTY=
HOME=/tmp
LANG=C
LITHOS_CONFIG=/config/s.env.yaml
LITHOS_NAME=s/cmd.env.$pid
PATH=/bin
TERM=xterm-lithos
WITH_SPACE=a b=c
container=lxc" "exact environment: environ, LITHOS_NAME, LITHOS_CONFIG, the caller's TERM, container=lxc"

run_cmd s edges
ok $rc "edges: exit 0" || diag_file "$T/err"
# (LXC strips trailing blanks of lxc.environment lines it reads from the
# config: lithos sets those variables again in memory)
ok "$(environ | grep -E '^(TRAILING|LEADING|TABS)=' | od -c | diff - <(printf 'LEADING=  y\nTABS=\tz\t\nTRAILING=x \n' | od -c) >/dev/null; echo $?)" \
	"environ values keep their trailing blanks (leading ones are kept)"
environ | grep -E '^(TRAILING|LEADING|TABS)=' | sed -n l | diag

env -u TERM LEAK_FROM_CALLER=1 "$LITHOS_CMD" --master "$MASTER" s nopath </dev/null >"$T/out" 2>"$T/err" &
pid=$!
wait $pid
ok $? "nopath: exit 0" || diag_file "$T/err"
is "$(environ)" "LITHOS_CONFIG=/config/s.nopath.yaml
LITHOS_NAME=s/cmd.nopath.$pid
container=lxc" "no environ and no TERM in the caller: only LITHOS_NAME, LITHOS_CONFIG and container=lxc"

TERM=vt100 run_cmd s shenv
ok $rc "shenv: exit 0" || diag_file "$T/err"
pid=${RUN_LXCNAME##*.}
is "$(printf '%s\n' "$out" | LC_ALL=C sort)" "HOME=/tmp
LITHOS_CONFIG=/config/s.shenv.yaml
LITHOS_NAME=s/cmd.shenv.$pid
PATH=/bin
PWD=/var/tmp
SHLVL=1
TERM=vt100
container=lxc" "env in a shell: the same plus the shell's own PWD (the workdir) and SHLVL"

run_cmd s cwd
is "$out" /var/log "workdir /var/log: the process's cwd is /var/log"
run_cmd s defcwd
is "$out" / "no workdir: the process's cwd is /"

run_cmd s hostname
is "$out" "$(hostname)" "the hostname inside is the host's ($(hostname))"

check_no_leftovers "t0303 runs"
done_testing
