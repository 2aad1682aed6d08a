#!/bin/bash
# t0304: /etc/resolv.conf and /etc/hosts of a real container started by
# lithos_cmd: content (copy-from-host from the sandbox's resolv-conf and
# hosts-file, additional-hosts, the localhost line, the state dir copies)
# and the mount rules: auto mounts only over a regular file and only with
# content, an image whose file is a symlink is left alone with auto, refused
# (exit 121, nothing left behind) with mount: true, mount: false leaves the
# image's file; hosts-file localhost and public-hostname (the host's name
# with its address from the sandbox's hosts-file), their defaults (the
# opposite of copy-from-host) and both set either way.
# TAP.  Needs root, LXC and busybox-static.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/itest.sh"
itest_init t0304

itest_image t/v1
itest_image t/links
ln -sfn ../run/resolv.conf "$IMAGES/t/links/etc/resolv.conf"
ln -sfn ../run/hosts "$IMAGES/t/links/etc/hosts"
itest_master
H=$T/host
mkdir -p "$H"
printf 'nameserver 10.231.0.53\nsearch lithos.test\n' >"$H/resolv.conf"
HN=$(hostname)
printf '10.231.0.7 hostfile-entry\n10.231.0.8 %s\n' "$HN" >"$H/hosts"
itest_sandbox s <<EOF
allow-users: [1000]
allow-groups: [1000]
resolv-conf: $H/resolv.conf
hosts-file: $H/hosts
additional-hosts:
  db.test: 10.231.9.9
  cache.test: 10.231.9.10
EOF

# command NAME IMAGE [EXTRA-YAML]: prints resolv.conf, hosts, their mounts
command() {
	IMAGE=$2 itest_command s "$1" <<EOF
kind: Command
user-id: 1000
group-id: 1000
interactive: true
executable: /bin/sh
arguments:
  - -c
  - |
    echo "== resolv.conf \$(readlink /etc/resolv.conf)"; cat /etc/resolv.conf
    echo "== hosts \$(readlink /etc/hosts)"; cat /etc/hosts
    echo "== mounts"; awk '\$5 == "/etc/resolv.conf" || \$5 == "/etc/hosts" {print \$5, \$6}' /proc/self/mountinfo
    echo "== state"; cat /state/resolv.conf /state/hosts 2>&1
    echo "== statedir"; stat -c "%a" /state; echo mine >/state/mine && cat /state/mine
environ: {PATH: /bin}
volumes:
  /state: !Statedir {}
${3:-}
EOF
}
section() { # NAME: the lines of section NAME of $out
	printf '%s\n' "$out" | awk -v s="$1" '/^== / {on = ($2 == s); next} on'
}
header() { # NAME: the header line of section NAME
	printf '%s\n' "$out" | grep "^== $1"
}
IMAGE_RESOLV=$(cat "$IMAGES/t/v1/etc/resolv.conf")
IMAGE_HOSTS=$(cat "$IMAGES/t/v1/etc/hosts")

command defaults t/v1
command hostsgen t/v1 "hosts-file: {copy-from-host: false}"
command hostsnone t/v1 "hosts-file: {copy-from-host: false, localhost: false, public-hostname: false}"
command hostsall t/v1 "hosts-file: {copy-from-host: true, localhost: true, public-hostname: true}"
command nocopy t/v1 "resolv-conf: {copy-from-host: false}"
command nomount t/v1 "resolv-conf: {mount: false}
hosts-file: {mount: false}"
command forced t/v1 "resolv-conf: {copy-from-host: false, mount: true}
hosts-file: {mount: true}"
command links t/links
command linksfalse t/links "resolv-conf: {mount: false}
hosts-file: {mount: false}"
command linksresolv t/links "resolv-conf: {mount: true}"
command linkshosts t/links "hosts-file: {mount: true}"

# ---- defaults: both copied from the sandbox's files, mounted read-only
run_cmd s defaults
ok $rc "defaults: exit 0" || diag_file "$T/err"
is "$(section resolv.conf)" "$(cat "$H/resolv.conf")" "defaults: /etc/resolv.conf is the sandbox's resolv-conf file"
hosts=$(section hosts)
is "$(printf '%s\n' "$hosts" | head -1)" "10.231.0.7 hostfile-entry" "defaults: /etc/hosts starts with the sandbox's hosts-file (copy-from-host defaults to true)"
like "$hosts" '^10\.231\.9\.9[[:space:]]+db\.test$' "defaults: /etc/hosts has additional-hosts db.test"
like "$hosts" '^10\.231\.9\.10[[:space:]]+cache\.test$' "defaults: /etc/hosts has additional-hosts cache.test"
unlike "$hosts" 'localhost' "defaults: no localhost line of ours (localhost defaults to not copy-from-host)"
is "$(printf '%s\n' "$hosts" | grep -cxF "10.231.0.8 $HN")" 1 \
	"defaults: the host's name only once, from the file (public-hostname defaults to not copy-from-host)"
mounts=$(section mounts)
like "$mounts" '^/etc/resolv.conf ro,nosuid,nodev,noexec' "defaults: /etc/resolv.conf is mounted ro,nosuid,nodev,noexec"
like "$mounts" '^/etc/hosts ro,nosuid,nodev,noexec' "defaults: /etc/hosts is mounted ro,nosuid,nodev,noexec"
is "$(section state)" "$(section resolv.conf)
$hosts" "defaults: the state dir holds the same resolv.conf and hosts"
is "$(section statedir)" "1777
mine" "defaults: the state dir is mode 1777 (as in lithos) and uid 1000 writes to it"

# ---- hosts-file copy-from-host: false: generated
run_cmd s hostsgen
ok $rc "hosts copy-from-host false: exit 0" || diag_file "$T/err"
hosts=$(section hosts)
like "$hosts" '^127\.0\.0\.1[[:space:]]+localhost$' "hosts copy-from-host false: /etc/hosts has the localhost line"
like "$hosts" '^10\.231\.9\.9[[:space:]]+db\.test$' "hosts copy-from-host false: additional-hosts db.test"
unlike "$hosts" 'hostfile-entry' "hosts copy-from-host false: nothing of the sandbox's hosts-file"
is "$(printf '%s\n' "$hosts" | grep -cxF "10.231.0.8 $HN")" 1 \
	"hosts copy-from-host false: public-hostname (default true): the host's name $HN with its address from the sandbox's hosts-file"

# ---- hosts-file localhost and public-hostname false, copy-from-host false
run_cmd s hostsnone
ok $rc "hosts localhost and public-hostname false: exit 0" || diag_file "$T/err"
hosts=$(section hosts)
unlike "$hosts" 'localhost' "hosts localhost false: no localhost line"
is "$(printf '%s\n' "$hosts" | awk -v h="$HN" '{for (i = 2; i <= NF; i++) if ($i == h) n++} END {print n + 0}')" 0 \
	"hosts public-hostname false: no line names the host ($HN)"
like "$hosts" '^10\.231\.9\.9[[:space:]]+db\.test$' "hosts localhost and public-hostname false: additional-hosts still there"

# ---- hosts-file localhost and public-hostname true, copy-from-host true
run_cmd s hostsall
ok $rc "hosts localhost and public-hostname true with copy-from-host: exit 0" || diag_file "$T/err"
hosts=$(section hosts)
is "$(printf '%s\n' "$hosts" | head -1)" "10.231.0.7 hostfile-entry" "hosts all three true: the sandbox's hosts-file first"
like "$hosts" '^127\.0\.0\.1[[:space:]]+localhost$' "hosts localhost true with copy-from-host: the localhost line"
is "$(printf '%s\n' "$hosts" | grep -cxF "10.231.0.8 $HN")" 2 \
	"hosts public-hostname true with copy-from-host: the host's name line twice (the file's and ours)"

# ---- resolv-conf copy-from-host: false: nothing to mount, auto leaves the image's
run_cmd s nocopy
ok $rc "resolv copy-from-host false: exit 0" || diag_file "$T/err"
is "$(section resolv.conf)" "$IMAGE_RESOLV" "resolv copy-from-host false: /etc/resolv.conf is the image's"
unlike "$(section mounts)" '^/etc/resolv.conf ' "resolv copy-from-host false: no mount over /etc/resolv.conf"

# ---- mount: false
run_cmd s nomount
ok $rc "mount false: exit 0" || diag_file "$T/err"
is "$(section resolv.conf)" "$IMAGE_RESOLV" "mount false: /etc/resolv.conf is the image's"
is "$(section hosts)" "$IMAGE_HOSTS" "mount false: /etc/hosts is the image's"
is "$(section mounts)" "" "mount false: no mount over either"

# ---- mount: true over regular files
run_cmd s forced
ok $rc "mount true: exit 0" || diag_file "$T/err"
like "$(section mounts)" '^/etc/resolv.conf ro' "mount true, copy-from-host false: /etc/resolv.conf is mounted"
is "$(section resolv.conf)" "" "mount true, copy-from-host false: ... and empty"
like "$(section mounts)" '^/etc/hosts ro' "mount true: /etc/hosts is mounted"

# ---- an image whose files are symlinks
run_cmd s links
ok $rc "symlinks, auto: exit 0" || diag_file "$T/err"
like "$(header resolv.conf)" '^== resolv.conf \.\./run/resolv\.conf$' "symlinks, auto: /etc/resolv.conf is still the image's symlink"
like "$(header hosts)" '^== hosts \.\./run/hosts$' "symlinks, auto: /etc/hosts is still the image's symlink"
is "$(section mounts)" "" "symlinks, auto: nothing mounted over them"

run_cmd s linksfalse
ok $rc "symlinks, mount false: exit 0" || diag_file "$T/err"
is "$(section mounts)" "" "symlinks, mount false: nothing mounted over them"

for what in resolv hosts; do
	file=resolv.conf
	[ $what = hosts ] && file=hosts
	: >"$STDIO_LOG_DIR/s.log"
	run_cmd s links$what
	is "$rc" 121 "symlink /etc/$file, mount: true: refused with exit 121"
	like "$err" "^$IMAGES/t/links/config/s\.links$what\.yaml(:[0-9]+:[0-9]+)?: .*/etc/$file.*symlink" \
		"symlink /etc/$file, mount: true: the error names the config and says symlink"
	unlike "$(stdio_log s)" 'starting' "symlink /etc/$file, mount: true: nothing was started"
	check_no_leftovers "symlink /etc/$file, mount: true" "$RUN_LXCNAME"
done

check_no_leftovers "t0304 runs"
done_testing
