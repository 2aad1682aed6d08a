#!/bin/sh
# t0400: the cantal files and the Prometheus file written by
# supervisor/metrics.c, read back by the independent reader
# tests/integration/cantal_reader.py.  The writer is tests/unit/test_metrics
# in its --write mode: phase 1 is a fresh tree, phase 2 the tree re-executed
# after a reload (other process, counters carried over through the files),
# "live" keeps running while the reader watches values change without any
# new commit.  The reader itself is checked on hand-made bad files.
# TAP output; needs python3 (stdlib only), skips without it.

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
WRITER="$top_builddir/tests/unit/test_metrics"
READER="$top_srcdir/tests/integration/cantal_reader.py"

PYTHON=
for py in /usr/bin/python3 python3; do
	if "$py" -c "import json, struct" >/dev/null 2>&1; then
		PYTHON=$py
		break
	fi
done
if [ -z "$PYTHON" ]; then
	echo "1..0 # SKIP python3 not installed"
	exit 0
fi
if [ ! -x "$WRITER" ]; then
	echo "Bail out! $WRITER is not built"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/t0400.XXXXXX") || exit 1
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

. "$top_srcdir/tests/lib/tap.sh"
reader() { "$PYTHON" "$READER" "$@"; }
size() { wc -c < "$1" | tr -d ' '; }
T=$(printf '\t')
tabs() { sed "s/ /$T/g"; } # expected reader lines are written with spaces
no_tmp() { ! ls -a "$1" | grep -q '\.tmp$'; }

# ---- phase 1: a fresh tree ----
"$WRITER" --write "$tmp" 1 2>"$tmp/err"
ok $? "writer phase 1"; sed 's/^/# /' "$tmp/err"
is "$(size "$tmp/lithos.values")" 4096 "values file: one 4096-byte block"
out=$(reader --strict "$tmp/lithos" 2>"$tmp/err")
ok $? "reader --strict accepts phase 1 files"; sed 's/^/# /' "$tmp/err"
is "$out" "$(tabs <<'EOF'
counter master restarts 1
level master sandboxes 1
level master containers 2
level master queue 0
counter containers started 5
counter containers deaths 3
counter containers failures 1
level containers running 2
level containers unknown 1
counter processes.web.app started 3
counter processes.web.app deaths 2
counter processes.web.app failures 1
level processes.web.app running 1
counter processes.web.worker started 2
counter processes.web.worker deaths 1
counter processes.web.worker failures 0
level processes.web.worker running 1
EOF
)" "phase 1: chapter-6 names, kinds and values"
grep -Fxq 'counter 8: {"group":"processes.web.app","metric":"started"}' "$tmp/lithos.meta"
ok $? "meta line of a counter, exact"
grep -Fxq 'level 8 signed: {"group":"master","metric":"queue"}' "$tmp/lithos.meta"
ok $? "meta line of a level, exact"
out=$(reader --prom "$tmp/lithos.prom" 2>"$tmp/err")
ok $? "reader accepts the Prometheus file"; sed 's/^/# /' "$tmp/err"
printf '%s\n' "$out" | grep -Fxq "counter${T}lithos_processes_started_total${T}{\"process\":\"app\",\"sandbox\":\"web\"}${T}3"
ok $? "Prometheus: processes started of web/app"
grep -Fxq 'lithos_containers_started_total{} 5' "$tmp/lithos.prom"
ok $? "Prometheus: containers started, exact line"
grep -Fxq '# TYPE lithos_master_queue gauge' "$tmp/lithos.prom"
ok $? "Prometheus: a level is a gauge"
grep -Fxq '# TYPE lithos_master_restarts_total counter' "$tmp/lithos.prom"
ok $? "Prometheus: a counter has _total"
no_tmp "$tmp"
ok $? "no .tmp file left"

# ---- phase 2: re-executed after a reload (another process) ----
"$WRITER" --write "$tmp" 2 2>"$tmp/err"
ok $? "writer phase 2"; sed 's/^/# /' "$tmp/err"
out=$(reader --strict "$tmp/lithos" 2>"$tmp/err")
ok $? "reader --strict accepts phase 2 files"; sed 's/^/# /' "$tmp/err"
is "$out" "$(tabs <<'EOF'
counter master restarts 2
level master sandboxes 1
level master containers 2
level master queue 1
counter containers started 6
counter containers deaths 3
counter containers failures 1
level containers running 1
level containers unknown 0
counter processes.web.app started 4
counter processes.web.app deaths 2
counter processes.web.app failures 1
level processes.web.app running 1
counter processes.web.cron started 1
counter processes.web.cron deaths 1
counter processes.web.cron failures 1
level processes.web.cron running 0
EOF
)" "phase 2: counters carried over, levels anew, worker gone, cron new"
grep -q worker "$tmp/lithos.meta" "$tmp/lithos.prom"
ok $((! $?)) "worker gone from meta and Prometheus file"
no_tmp "$tmp"
ok $? "no .tmp file left"

# ---- live: values change under the reader without a commit ----
mkdir "$tmp/live" && mkfifo "$tmp/in" || exit 1
"$WRITER" --write "$tmp/live" live <"$tmp/in" >"$tmp/live.out" &
pid=$!
exec 3>"$tmp/in"
wait_for() { # wait_for COUNT: lines in live.out
	i=0
	# up to 30 s: a loaded CI machine once took more than 10 s here
	while [ "$(wc -l < "$tmp/live.out" 2>/dev/null || echo 0)" -lt "$1" ] && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(wc -l < "$tmp/live.out" 2>/dev/null || echo 0)" -ge "$1" ]
}
started() { reader "$tmp/live/lithos" | grep "^counter${T}containers${T}started${T}" | cut -f4; }
wait_for 1
ok $? "live writer ready" || sed 's/^/# live.out: /' "$tmp/live.out"
is "$(started)" 5 "reader sees containers.started while the writer runs"
echo inc >&3
wait_for 2
is "$(started)" 6 "an increment through the pointer is seen, no commit"
echo inc >&3
echo inc >&3
wait_for 4
is "$(started)" 8 "and the next ones"
exec 3>&-
wait "$pid"
ok $? "live writer exits cleanly"
pid=

# ---- the reader rejects what the format forbids ----
bad="$tmp/bad/m"
mkdir "$tmp/bad"
head -c 4096 /dev/zero >"$bad.values"
rejects() { # rejects NAME [reader options]: the meta in $bad.meta
	reader "$@" "$bad" >/dev/null 2>"$tmp/err"
	is $? 1 "reader rejects $name: $(cat "$tmp/err")"
}
printf 'counter 8: {"group":"a","metric":"b"}\nlevel 8 signed: {"group":"a","metric":"c"}\n' >"$bad.meta"
out=$(reader --strict "$bad")
ok $? "reader accepts a minimal valid pair"
name="spaces in the JSON"
printf 'counter 8: {"group": "a","metric":"b"}\n' >"$bad.meta"; rejects
name="unsorted keys"
printf 'counter 8: {"metric":"b","group":"a"}\n' >"$bad.meta"; rejects
name="another size"
printf 'counter 4: {"group":"a","metric":"b"}\n' >"$bad.meta"; rejects
name="an unsigned level"
printf 'level 8: {"group":"a","metric":"b"}\n' >"$bad.meta"; rejects
name="an extra key"
printf 'counter 8: {"group":"a","metric":"b","x":"y"}\n' >"$bad.meta"; rejects
name="an unterminated line"
printf 'counter 8: {"group":"a","metric":"b"}' >"$bad.meta"; rejects
name="a duplicate name (--strict)"
printf 'counter 8: {"group":"a","metric":"b"}\ncounter 8: {"group":"a","metric":"b"}\n' >"$bad.meta"
rejects --strict
printf 'counter 8: {"group":"a","metric":"b"}\n' >"$bad.meta"
name="values not a multiple of 4096"
head -c 4000 /dev/zero >"$bad.values"; rejects
name="values too short for the meta"
: >"$bad.values"; rejects
name="non-zero padding (--strict)"
head -c 4096 /dev/zero >"$bad.values"
printf '\001' | dd of="$bad.values" bs=1 seek=100 conv=notrunc 2>/dev/null
rejects --strict
printf 'lithos_x_total{} 1\n' >"$tmp/bad.prom"
reader --prom "$tmp/bad.prom" >/dev/null 2>&1
is $? 1 "reader rejects a Prometheus sample without TYPE"
printf '# TYPE lithos_x counter\nlithos_x{} 1\n' >"$tmp/bad.prom"
reader --prom "$tmp/bad.prom" >/dev/null 2>&1
is $? 1 "reader rejects a Prometheus counter without _total"
reader >/dev/null 2>&1
is $? 2 "reader without arguments: usage, status 2"

done_testing
