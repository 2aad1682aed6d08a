#!/bin/bash
# t0301: identity and mounts of a real container started by lithos_cmd.
# - uid/gid as seen inside (id) and on the host (/proc/PID/status of the
#   running process), without and with a uid-map/gid-map (in the sandbox,
#   and in the container config with the sandbox allowing its outside ids);
# - every mount's flags in the container's /proc/self/mountinfo: rootfs ro,
#   !Readonly ro,nosuid,nodev,noexec, !Persistent and !Statedir
#   rw,nosuid,nodev,noexec, !Tmpfs size and mode, /proc/sys and /sys ro,
#   /dev/pts a new devpts instance with ptmxmode=666; the flags hold
#   (writes, exec) and not just show;
# - !Persistent {mkdir: true} creates the host directory with the mode and
#   the mapped owner.
# TAP.  Needs root, LXC and busybox-static.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/itest.sh"
itest_init t0301

itest_image
itest_master
H=$T/host
mkdir -p "$H/ro" "$H/rw" "$H/rw-mapped"
echo "readonly content" >"$H/ro/file"
chmod 1777 "$H/rw"
chown 101000:101000 "$H/rw-mapped"

itest_sandbox plain <<EOF
allow-users: [0-2000]
allow-groups: [0-2000]
readonly-paths: {/ro: $H/ro}
writable-paths: {/rw: $H/rw}
EOF
itest_sandbox mapped <<EOF
allow-users: [0-2000]
allow-groups: [0-2000]
uid-map: [{inside: 0, outside: 100000, count: 65536}]
gid-map: [{inside: 0, outside: 100000, count: 65536}]
writable-paths: {/rw: $H/rw-mapped}
EOF
# the map in the container config: allow-users/allow-groups limit its
# outside ids (reference, allow-users)
itest_sandbox cmapped <<EOF
allow-users: [100000-165535]
allow-groups: [100000-165535]
EOF
itest_command cmapped ident <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
interactive: true
executable: /bin/sh
arguments: [-c, 'id; exec sleep 30']
environ: {PATH: /bin}
uid-map: [{inside: 0, outside: 100000, count: 65536}]
gid-map: [{inside: 0, outside: 100000, count: 65536}]
EOF

for sb in plain mapped; do
	itest_command $sb ident <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
interactive: true
executable: /bin/sh
arguments: [-c, 'id; exec sleep 30']
environ: {PATH: /bin}
EOF
done
itest_command mapped rootid <<'EOF'
kind: Command
user-id: 0
group-id: 0
interactive: true
executable: /bin/sh
arguments: [-c, 'id; exec sleep 30']
environ: {PATH: /bin}
EOF

status_ids() { # PID: "Uid|Gid|Groups" lines of /proc/PID/status, tabs squeezed
	grep -E '^(Uid|Gid|Groups):' "/proc/$1/status" | tr -s '\t ' ' ' | sed 's/ $//'
}

# ---- identity without a map: ids are host ids
start_cmd plain ident
if wait_app sleep; then
	ids=$(status_ids "$APPPID")
	is "$ids" "Uid: 1000 1000 1000 1000
Gid: 1000 1000 1000 1000
Groups:" "no uid-map: the process is uid/gid 1000 on the host, no supplementary groups"
	is "$(readlink "/proc/$APPPID/ns/user")" "$(readlink /proc/self/ns/user)" \
		"no uid-map: the process is in the host's user namespace"
	is "$(status_ids "$INITPID" | head -1)" "Uid: 1000 1000 1000 1000" \
		"no uid-map: LXC's init runs as the process user too"
else
	ok 1 "no uid-map: container started"
fi
stop_cmd TERM
is "$(head -1 "$T/bg.out")" "uid=1000(user) gid=1000(user)" "no uid-map: id inside says uid=1000 gid=1000 and no groups"

# ---- identity with a map: inside 1000, outside 101000
start_cmd mapped ident
if wait_app sleep; then
	is "$(status_ids "$APPPID")" "Uid: 101000 101000 101000 101000
Gid: 101000 101000 101000 101000
Groups:" "uid-map: the process is uid/gid 101000 on the host, no supplementary groups"
	is "$(tr -s ' ' <"/proc/$APPPID/uid_map" | sed 's/^ //')" "0 100000 65536" "uid-map: /proc/PID/uid_map is the sandbox's map"
	is "$(tr -s ' ' <"/proc/$APPPID/gid_map" | sed 's/^ //')" "0 100000 65536" "uid-map: /proc/PID/gid_map is the sandbox's map"
	isnt_ns=1
	[ "$(readlink "/proc/$APPPID/ns/user")" != "$(readlink /proc/self/ns/user)" ] && isnt_ns=0
	ok $isnt_ns "uid-map: the process has its own user namespace"
else
	ok 1 "uid-map: container started"
fi
stop_cmd TERM
is "$(head -1 "$T/bg.out")" "uid=1000(user) gid=1000(user)" "uid-map: id inside says uid=1000 gid=1000"

# ---- identity with the map in the container config
start_cmd cmapped ident
if wait_app sleep; then
	is "$(status_ids "$APPPID")" "Uid: 101000 101000 101000 101000
Gid: 101000 101000 101000 101000
Groups:" "container uid-map: the process is uid/gid 101000 on the host"
	is "$(tr -s ' ' <"/proc/$APPPID/uid_map" | sed 's/^ //')" "0 100000 65536" "container uid-map: /proc/PID/uid_map is the container config's map"
	is "$(tr -s ' ' <"/proc/$APPPID/gid_map" | sed 's/^ //')" "0 100000 65536" "container gid-map: /proc/PID/gid_map is the container config's map"
else
	ok 1 "container uid-map: container started"
fi
stop_cmd TERM
is "$(head -1 "$T/bg.out")" "uid=1000(user) gid=1000(user)" "container uid-map: id inside says uid=1000 gid=1000"

start_cmd mapped rootid
if wait_app sleep; then
	is "$(status_ids "$APPPID" | head -2)" "Uid: 100000 100000 100000 100000
Gid: 100000 100000 100000 100000" "uid-map: root inside is uid/gid 100000 on the host"
else
	ok 1 "uid-map, user-id 0: container started"
fi
stop_cmd TERM
is "$(head -1 "$T/bg.out")" "uid=0(root) gid=0(root)" "uid-map: id inside says root"

# ---- mounts
# The probe prints the mountinfo, then what the flags do.
cat >"$IMAGES/t/v1/config/probe.sh" <<'EOF'
cat /proc/self/mountinfo
echo "== stat"
for d in /run /tmp /mnt /state; do echo "$d $(stat -c '%a %u %g' $d)"; done
echo "== checks"
touch /rootfs-write 2>/dev/null && echo "rootfs writable" || echo "rootfs not writable"
touch /srv/x 2>/dev/null && echo "srv writable" || echo "srv not writable"
cat /srv/file
echo hello >/data/f-$$ && echo "data writable" || echo "data not writable"
cp /bin/busybox /data/bb-$$ && chmod 755 /data/bb-$$
/data/bb-$$ true 2>/dev/null && echo "data exec works" || echo "data noexec"
rm -f /data/bb-$$ /data/f-$$
echo x >/state/x && echo "state writable" || echo "state not writable"
echo x >/tmp/x && echo "tmp writable" || echo "tmp not writable"
dd if=/dev/zero of=/tmp/big bs=1k count=4096 2>/dev/null; echo "tmp holds $(($(stat -c %s /tmp/big) / 1024))k"
# opening with O_TRUNC fails with EROFS on a read-only mount before any
# permission check, and writes nothing where it is allowed
ro() { # FILE LABEL
	e=$( (: >"$1") 2>&1)
	case $e in
	*"Read-only file system"*) echo "$2 read-only" ;;
	*) echo "$2 not read-only: ${e:-opened for writing}" ;;
	esac
}
ro /proc/sys/kernel/ns_last_pid proc/sys
ro /sys/kernel/profiling sys
[ -e /proc/sysrq-trigger ] && ro /proc/sysrq-trigger sysrq-trigger
# mounts below /sys that mountinfo lists rw: creating a file in each must
# fail with EROFS (a ro mount covers it) or the path must not exist (hidden)
awk '$5 ~ "^/sys/" && ("," $6 ",") !~ /,ro,/ {print $5}' /proc/self/mountinfo |
	while read -r m; do
		[ -d "$m" ] || { echo "below-sys $m hidden"; continue; }
		e=$( (: >"$m/.lithos-probe") 2>&1)
		rm -f "$m/.lithos-probe" 2>/dev/null
		case $e in
		*"Read-only file system"*) echo "below-sys $m read-only" ;;
		*) echo "below-sys $m reachable and not read-only: ${e:-file created}" ;;
		esac
	done
true
EOF
mounts_config() { # USER-ID READONLY-VIRTUAL-PATH
	cat <<EOF
kind: Command
user-id: $1
group-id: 1000
interactive: true
executable: /bin/sh
arguments: [/config/probe.sh]
environ: {PATH: /bin}
volumes:
  /srv: !Readonly $2
  /data: !Persistent /rw
  /state: !Statedir {}
  /run: !Statedir {path: /sub, mode: 0o700, user: 1000, group: 1000}
  /tmp: !Tmpfs {size: 2Mi, mode: 0o750}
  /mnt: !Persistent {path: /rw/made, mkdir: true, mode: 0o750, user: 1000, group: 1000}
EOF
}
# root inside: host root without a map, host uid 100000 with one; only the
# mount flags stop it.  The mapped sandbox has no readonly-paths: /srv is
# its writable path, read-only.
mounts_config 0 /ro | itest_command plain mounts
mounts_config 0 /rw | itest_command mapped mounts

check_mounts() { # SANDBOX LXCNAME
	local sb=$1 mi st
	mi=$(sed -n '1,/^== stat$/p' "$T/out" | sed '$d')
	st=$(sed -n '/^== stat$/,/^== checks$/p' "$T/out")
	checks=$(sed -n '/^== checks$/,$p' "$T/out")
	local l
	l=$(mount_line "$mi" /)
	has_opts ro "${l%% *}"; ok $? "$sb: rootfs is mounted ro ($l)"
	like "$checks" '^rootfs not writable$' "$sb: writing into the rootfs fails"
	l=$(mount_line "$mi" /srv)
	has_opts ro,nosuid,nodev,noexec "${l%% *}"; ok $? "$sb: !Readonly is ro,nosuid,nodev,noexec ($l)"
	like "$checks" '^srv not writable$' "$sb: writing into the !Readonly volume fails"
	l=$(mount_line "$mi" /data)
	has_opts rw,nosuid,nodev,noexec "${l%% *}"; ok $? "$sb: !Persistent is rw,nosuid,nodev,noexec ($l)"
	like "$checks" '^data writable$' "$sb: the !Persistent volume is writable"
	like "$checks" '^data noexec$' "$sb: a binary on the !Persistent volume does not run (noexec)"
	l=$(mount_line "$mi" /state)
	has_opts rw,nosuid,nodev,noexec "${l%% *}"; ok $? "$sb: !Statedir is rw,nosuid,nodev,noexec ($l)"
	like "$mi" "^[0-9]+ [0-9]+ [0-9:]+ $STATE_DIR/$2 /state " "$sb: /state is the instance's state dir $STATE_DIR/$2"
	like "$mi" "^[0-9]+ [0-9]+ [0-9:]+ $STATE_DIR/$2/sub /run " "$sb: /run is the subdirectory sub of the state dir"
	like "$st" '^/run 700 1000 1000$' "$sb: the !Statedir subdirectory has mode 0700 and owner 1000:1000 inside"
	like "$checks" '^state writable$' "$sb: the !Statedir volume is writable"
	l=$(mount_line "$mi" /tmp)
	[ "${l#* }" != "$l" ] && [ "$(echo "$l" | cut -d' ' -f2)" = tmpfs ] &&
		has_opts nosuid,nodev "${l%% *}" && has_opts size=2048k,mode=750 "${l##* }"
	ok $? "$sb: !Tmpfs is a tmpfs, nosuid,nodev, size=2048k, mode=750 ($l)"
	like "$st" '^/tmp 750 ' "$sb: the tmpfs root has mode 0750"
		local held
	held=$(printf '%s\n' "$checks" | sed -n 's/^tmp holds \([0-9]*\)k$/\1/p')
	[ -n "$held" ] && [ "$held" -gt 1900 ] && [ "$held" -le 2048 ]
	ok $? "$sb: writing 4 MiB into the 2 MiB tmpfs stops at ${held:-?}k"
	l=$(mount_line "$mi" /proc)
	[ "$(echo "$l" | cut -d' ' -f2)" = proc ]; ok $? "$sb: /proc is a proc mount ($l)"
	l=$(mount_line "$mi" /proc/sys)
	has_opts ro "${l%% *}"; ok $? "$sb: /proc/sys is ro ($l)"
	like "$checks" '^proc/sys read-only$' "$sb: opening a sysctl for writing fails with EROFS"
	if [ -e /proc/sysrq-trigger ]; then
		like "$checks" '^sysrq-trigger read-only$' "$sb: opening /proc/sysrq-trigger for writing fails with EROFS"
	else
		skip "$sb: /proc/sysrq-trigger is read-only" "the kernel has no /proc/sysrq-trigger"
	fi
	like "$checks" '^sys read-only$' "$sb: opening a /sys file for writing fails with EROFS"
	l=$(mount_line "$mi" /sys)
	has_opts ro "${l%% *}"; ok $? "$sb: /sys is ro ($l)"
	local what="$sb: every mount below /sys that the container can reach is read-only"
	# (with a user namespace on the host network the host's /sys is an
	# rbind: the mount hook makes it read-only all the way down)
	unlike "$checks" '^below-sys .* reachable and not read-only' "$what"
	l=$(mount_line "$mi" /dev/pts)
	[ "$(echo "$l" | cut -d' ' -f2)" = devpts ] && has_opts ptmxmode=666 "${l##* }"
	ok $? "$sb: /dev/pts is devpts with ptmxmode=666 ($l)"
	local ptsdev hostdevs
	ptsdev=$(printf '%s\n' "$mi" | awk '$5 == "/dev/pts" {print $3}' | tail -1)
	hostdevs=$(awk '$9 == "devpts" {print $3}' /proc/self/mountinfo)
	if [ -n "$ptsdev" ] && ! printf '%s\n' "$hostdevs" | grep -qx "$ptsdev"; then
		ok 0 "$sb: /dev/pts is a new devpts instance ($ptsdev, host: $(echo $hostdevs))"
	else
		ok 1 "$sb: /dev/pts is a new devpts instance ($ptsdev, host: $(echo $hostdevs))"
	fi
}

run_cmd plain mounts
ok $rc "plain: probe ran as root inside (exit $rc)" || diag_file "$T/err"
check_mounts plain "$RUN_LXCNAME"
is "$(stat -c '%a %u %g' "$H/rw/made" 2>&1)" "750 1000 1000" "plain: !Persistent mkdir: true made the host dir mode 0750, owner 1000:1000"
like "$checks" '^readonly content$' "plain: the !Readonly volume shows the host file"

run_cmd mapped mounts
ok $rc "mapped: probe ran as root inside (exit $rc)" || diag_file "$T/err"
check_mounts mapped "$RUN_LXCNAME"
is "$(stat -c '%a %u %g' "$H/rw-mapped/made" 2>&1)" "750 101000 101000" \
	"mapped: !Persistent mkdir: true made the host dir mode 0750, owner 101000:101000 (1000 mapped)"

check_no_leftovers "t0301 runs"
done_testing
