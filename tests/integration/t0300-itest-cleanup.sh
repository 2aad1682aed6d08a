#!/bin/bash
# t0300: the EXIT trap of tests/lib/itest.sh (itest_cleanup) and liblxc's
# lock dirs (LOCKROOT/LXCPATH, LOCKROOT = /run/lxc/lock for root).  A child
# script sources itest.sh with a stand-in lock root ($T/lockroot), makes
# the lock dirs liblxc makes for its LXC paths (one per host, as
# criutest.sh's hosts a and b) and exits:
# - its lock dirs and LOCKROOT$T go;
# - the shared parent LOCKROOT/tmp stays, even empty (every concurrent
#   run's lock dirs are below it: removed while another run's liblxc makes
#   its dir there, that run's start fails), and so does LOCKROOT;
# - a lock file left behind keeps its dir (a leak stays visible); the
#   other empty dirs go.
# TAP.  Needs root (itest_init); starts no container.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/itest.sh"
itest_init t0300

root=$T/lockroot
mkdir -p "$root"
# child MODE: a script on itest.sh, lock root $root, lock dirs of its LXC
# path (MODE one), and of hosts a and b (hosts), with a lock file (leak);
# $CT its scratch dir
child() {
	ITEST_LXC_LOCK_ROOT=$root top_srcdir=$top_srcdir top_builddir=$top_builddir \
		bash -c '
. "$top_srcdir/tests/lib/itest.sh"
itest_init t0300-child
echo "$T" >"$1"
mkdir -p "$ITEST_LXC_LOCK_ROOT$LXCPATH"
[ "$2" = one ] || mkdir -p "$ITEST_LXC_LOCK_ROOT$T/a/lxc" "$ITEST_LXC_LOCK_ROOT$T/b/lxc"
[ "$2" = leak ] && : >"$ITEST_LXC_LOCK_ROOT$T/b/lxc/.s.web.0"
exit 0' child "$T/child.T" "$1" >"$T/child.out" 2>&1
	rc=$?
	CT=$(cat "$T/child.T")
}

child one
is "$rc" 0 "the child script exits 0" || diag_file "$T/child.out"
like "$CT" "^/tmp/lithos-t0300-child\." "its scratch dir is /tmp/lithos-t0300-child.*"
ok "$([ ! -e "$CT" ]; echo $?)" "its scratch dir is gone"
ok "$([ ! -e "$root$CT" ]; echo $?)" "its lock dir and LOCKROOT\$T are gone"
ok "$([ -d "$root/tmp" ]; echo $?)" "the shared, now empty, LOCKROOT/tmp stays"

child hosts
is "$rc" 0 "with the lock dirs of hosts a and b: the child script exits 0" || diag_file "$T/child.out"
ok "$([ ! -e "$root$CT" ]; echo $?)" "its lock dirs (lxc, a/lxc, b/lxc) and LOCKROOT\$T are gone"
ok "$([ -d "$root/tmp" ]; echo $?)" "LOCKROOT/tmp stays"

child leak
is "$rc" 0 "with a lock file left behind: the child script exits 0" || diag_file "$T/child.out"
ok "$([ -f "$root$CT/b/lxc/.s.web.0" ]; echo $?)" "the lock file left behind stays, with its dir"
ok "$([ ! -e "$root$CT/lxc" ] && [ ! -e "$root$CT/a" ]; echo $?)" "the empty lock dirs go"
rm -rf "$root$CT"

ok "$([ -z "$(find "$root" -mindepth 1 ! -path "$root/tmp")" ] && [ -d "$root/tmp" ]; echo $?)" \
	"nothing else is left below the lock root" || find "$root" | diag
done_testing
