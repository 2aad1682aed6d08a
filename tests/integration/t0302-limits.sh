#!/bin/bash
# t0302: limits of a real container started by lithos_cmd.
# - memory-limit: a process allocating more than the limit is killed (exit
#   137 through lithos_cmd), one allocating less runs; the limit is in the
#   container's memory cgroup (memsw too where the host has it);
# - fileno-limit: soft and hard RLIMIT_NOFILE inside, and enforced;
# - cpu-shares: cpu.shares of the container's cgroup on the host, under the
#   master's cgroup-name, and the process is in that cgroup;
# - cgroup-name: null puts nothing under a lithos cgroup.
# cgroup v1 paths (/sys/fs/cgroup/CONTROLLER/...); skipped on a v2 host.
# TAP.  Needs root, LXC and busybox-static.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/itest.sh"
itest_init t0302
[ -d /sys/fs/cgroup/memory ] && [ -d /sys/fs/cgroup/cpu ] ||
	skip_all "no cgroup v1 memory and cpu controllers (this script reads v1 paths)"

itest_image
itest_master
itest_sandbox_1000 s

# dd reads into one buffer of bs bytes: it holds exactly that much memory
itest_command s eat <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
interactive: true
executable: /bin/dd
arguments: [if=/dev/zero, of=/dev/null, count=1]
environ: {PATH: /bin}
memory-limit: 32Mi
EOF
itest_command s limits <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
interactive: true
executable: /bin/sh
arguments:
  - -c
  - |
    echo "soft $(ulimit -n)"
    echo "hard $(ulimit -Hn)"
    grep "Max open files" /proc/self/limits
    (exec 76</dev/null) 2>/dev/null && echo "fd 76 ok" || echo "fd 76 refused"
    (exec 77</dev/null) 2>/dev/null && echo "fd 77 ok" || echo "fd 77 refused"
environ: {PATH: /bin}
fileno-limit: 77
EOF
itest_command s sleeper <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
executable: /bin/sleep
arguments: ["30"]
environ: {PATH: /bin}
memory-limit: 48Mi
cpu-shares: 512
EOF

# ---- memory-limit
run_cmd s eat bs=64M
is "$rc" 137 "memory-limit 32Mi: dd with a 64 MiB buffer is killed by SIGKILL, lithos_cmd exits 137"
run_cmd s eat bs=8M
is "$rc" 0 "memory-limit 32Mi: dd with an 8 MiB buffer runs to the end (exit 0)"
like "$err" '^1\+0 records out$' "memory-limit 32Mi: ... and copies its 8 MiB block"

# ---- limits as seen on the host while the process runs
start_cmd s sleeper
if wait_app sleep; then
	mem=/sys/fs/cgroup/memory/$CGNAME/$LXCNAME
	cpu=/sys/fs/cgroup/cpu/$CGNAME/$LXCNAME
	is "$(cat "$mem/memory.limit_in_bytes" 2>&1)" 50331648 "memory.limit_in_bytes of $CGNAME/$LXCNAME is 48Mi"
	if [ -e /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ]; then
		is "$(cat "$mem/memory.memsw.limit_in_bytes" 2>&1)" 50331648 "memory.memsw.limit_in_bytes is 48Mi too (no swapping past the limit)"
	else
		skip "memory.memsw.limit_in_bytes is 48Mi" "no swap accounting on this host"
	fi
	is "$(cat "$cpu/cpu.shares" 2>&1)" 512 "cpu.shares of $CGNAME/$LXCNAME is 512"
	like "$(cat "/proc/$APPPID/cgroup")" "^[0-9]+:memory:/$CGNAME/$LXCNAME\$" "the process is in the memory cgroup $CGNAME/$LXCNAME"
	like "$(cat "/proc/$APPPID/cgroup")" "^[0-9]+:cpu(,cpuacct)?:/$CGNAME/$LXCNAME\$" "the process is in the cpu cgroup $CGNAME/$LXCNAME"
	lim=$(awk '/^Max open files/ {print $4, $5}' "/proc/$APPPID/limits")
	is "$lim" "1024 1024" "default fileno-limit: RLIMIT_NOFILE 1024/1024 on the host's view of the process"
else
	ok 1 "sleeper started"
fi
stop_cmd TERM
is "$rc" 143 "sleeper stopped by SIGTERM through lithos_cmd (143)"
is "$(find /sys/fs/cgroup/memory/"$CGNAME" /sys/fs/cgroup/cpu/"$CGNAME" -mindepth 1 -type d 2>/dev/null)" "" \
	"the instance's cgroups (and its monitor's) are removed after it stopped"

# ---- fileno-limit
run_cmd s limits
ok $rc "limits probe ran (exit $rc)" || diag_file "$T/err"
like "$out" '^soft 77$' "fileno-limit 77: ulimit -n inside is 77"
like "$out" '^hard 77$' "fileno-limit 77: ulimit -Hn inside is 77"
like "$out" '^Max open files +77 +77 +files' "fileno-limit 77: /proc/self/limits says 77 77"
like "$out" '^fd 76 ok$' "fileno-limit 77: fd 76 can be opened"
like "$out" '^fd 77 refused$' "fileno-limit 77: fd 77 cannot"

# ---- cgroup-name: null
ITEST_CGROUP_NAME=null itest_master
"$LITHOS_LXCCONF" --master "$MASTER" s sleeper >"$T/conf" 2>"$T/err"
unlike "$(cat "$T/conf")" '^lxc\.cgroup\.(dir|memory|cpu)' "cgroup-name: null: no lxc.cgroup.dir, memory or cpu keys in the compiled config"
start_cmd s sleeper
if wait_app sleep; then
	unlike "$(cat "/proc/$APPPID/cgroup")" "lithos" "cgroup-name: null: the process is in no lithos cgroup"
	memcg=$(sed -n 's/^[0-9]*:memory://p' "/proc/$APPPID/cgroup")
	lim=$(cat "/sys/fs/cgroup/memory$memcg/memory.limit_in_bytes" 2>/dev/null)
	[ -n "$lim" ] && [ "$lim" -gt 50331648 ]
	ok $? "cgroup-name: null: memory-limit is not applied (limit of $memcg: ${lim:-?})"
else
	ok 1 "sleeper started without cgroups"
fi
stop_cmd TERM
itest_master

check_no_leftovers "t0302 runs"
done_testing
