#!/bin/bash
# t0308: hostile input is refused before anything starts and leaves nothing
# behind (no LXC dir, no state dir, no mount, no veth, no cgroup, nothing in
# the stdio log but what lithos_cmd says):
# - the image's /etc/resolv.conf a symlink to a host path, resolv-conf
#   mount: true (and with auto: not followed, the host file untouched);
# - a volume mount point that is a symlink to a host path (absolute and
#   relative, also a parent directory of the mount point), for each volume
#   kind;
# - an image name with ..; an image directory reached through a symlink
#   below image-dir (to a dir outside it, or to another image);
# - a newline in a volume's path or mount point (#lithos line injection),
#   or in a processes entry's config path (lxc.* line injection);
# - user-id / group-id outside allow-users / allow-groups;
# - a volume naming a path the sandbox does not declare;
# - a !Persistent (mkdir) or !Statedir volume's user / group outside
#   allow-users / allow-groups (host root would chown the dir to it);
# - an ip-address outside the sandbox's network.
# Each is exit 121 with an error line naming FILE:LINE:COL of the culprit.
# And one that only fails at start (a !Persistent mkdir on a host file):
# exit 122, the reason on stderr and in the stdio log, nothing left behind.
# TAP.  Needs root, LXC and busybox-static.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/itest.sh"
itest_init t0308

H=$T/host
mkdir -p "$H/ro" "$H/rw" "$H/etc"
echo "host secret" >"$H/secret"
echo "host file" >"$H/etc/passwd"
itest_image t/v1
itest_image t/evil
E=$IMAGES/t/evil
ln -sfn "$H/secret" "$E/etc/resolv.conf"
rmdir "$E/data" "$E/srv" "$E/mnt"
ln -sfn "$H/etc" "$E/data"            # absolute, to a host dir
ln -sfn ../../../../../../../../etc "$E/srv" # relative, climbing out
ln -sfn "$H" "$E/mnt"                  # a parent of the mount point
itest_master
BR=ltno$$
BR=${BR:0:15}
itest_sandbox s <<EOF
allow-users: [1000]
allow-groups: [1000]
readonly-paths: {/ro: $H/ro}
writable-paths: {/rw: $H/rw}
EOF
itest_sandbox br <<EOF
allow-users: [1000]
allow-groups: [1000]
bridged-network:
  bridge: $BR
  network: 10.231.250.0/24
EOF

# a container config (stdin: extra keys) in IMAGE as /config/s.NAME.yaml
hostile() { # NAME IMAGE [ENTRY-YAML]
	{
		cat <<'EOF'
kind: Command
user-id: 1000
group-id: 1000
executable: /bin/sh
arguments: [-c, 'echo payload-ran']
environ: {PATH: /bin}
EOF
		cat
	} | IMAGE=$2 itest_command "${SB:-s}" "$1" "${3:-}"
}
# refused NAME WHAT FILE ERE: lithos_cmd SANDBOX NAME exits 121 with a
# FILE:LINE:COL line matching ERE, nothing started, nothing left
refused() {
	local name=$1 what=$2 file=$3 ere=$4 sb=${SB:-s}
	rm -f "$STDIO_LOG_DIR/$sb.log"
	run_cmd "$sb" "$name"
	is "$rc" 121 "$what: refused with exit 121"
	like "$err" "^$(re "$file"):[1-9][0-9]*:[0-9]+: .*$ere" "$what: the error names $(basename "$file"):LINE:COL"
	unlike "$(stdio_log "$sb"; cat "$T/out")" 'payload-ran|starting' "$what: nothing was started"
	check_no_leftovers "$what" "$RUN_LXCNAME"
}
secret_untouched() { # WHAT
	is "$(cat "$H/secret") $(cat "$H/etc/passwd") $(ls "$H/etc" | tr '\n' ' ')" \
		"host secret host file passwd " "$1: the host files behind the symlinks are untouched"
}

# ---- /etc/resolv.conf -> host path
hostile resolvtrue t/evil <<'EOF'
resolv-conf: {mount: true}
EOF
cfg=$E/config/s.resolvtrue.yaml
refused resolvtrue "resolv.conf symlink to a host path, mount: true" "$cfg" 'resolv.conf.*symlink'
secret_untouched "resolv.conf symlink, mount: true"

hostile resolvauto t/evil </dev/null
cat >"$E/config/s.resolvauto.yaml" <<EOF
kind: Command
user-id: 1000
group-id: 1000
interactive: true
executable: /bin/sh
arguments: [-c, 'cat /etc/resolv.conf 2>&1; echo "link \$(readlink /etc/resolv.conf)"; grep -c " /etc/resolv.conf " /proc/self/mountinfo']
environ: {PATH: /bin}
EOF
run_cmd s resolvauto
like "$out" "^link $(re "$H/secret")\$" "resolv.conf symlink, auto: the image's symlink stays as it is"
unlike "$out" 'host secret' "resolv.conf symlink, auto: it does not lead to the host file"
like "$out" '^0$' "resolv.conf symlink, auto: nothing mounted at /etc/resolv.conf"
secret_untouched "resolv.conf symlink, auto"
check_no_leftovers "resolv.conf symlink, auto" "$RUN_LXCNAME"

# ---- volume mount points through symlinks, each volume kind
hostile volpersist t/evil <<'EOF'
volumes:
  /data: !Persistent /rw
EOF
refused volpersist "!Persistent at /data -> host dir" "$E/config/s.volpersist.yaml" '/data.*symlink'
hostile voltmpfs t/evil <<'EOF'
volumes:
  /data: !Tmpfs {size: 1Mi}
EOF
refused voltmpfs "!Tmpfs at /data -> host dir" "$E/config/s.voltmpfs.yaml" '/data.*symlink'
hostile volro t/evil <<'EOF'
volumes:
  /srv: !Readonly /ro
EOF
refused volro "!Readonly at /srv -> ../../../etc (relative)" "$E/config/s.volro.yaml" '/srv.*symlink'
hostile volstate t/evil <<'EOF'
volumes:
  /mnt/etc: !Statedir {}
EOF
refused volstate "!Statedir at /mnt/etc, /mnt -> host dir" "$E/config/s.volstate.yaml" '/mnt.*symlink'
secret_untouched "volume mount points through symlinks"

# ---- image names with ..
for img in ../v1 t/.. "t/../../images/t/v1"; do
	hostile img t/v1 <<'EOF'
EOF
	sed -i "s|^  image: t/v1\$|  image: $img|" "$ETC/processes/s.yaml"
	refused img "image name $img" "$ETC/processes/s.yaml" 'image'
	sed -i '/^img:$/,$d' "$ETC/processes/s.yaml"
done

# ---- an image directory reached through a symlink below image-dir: to a
# ---- complete image outside image-dir (it would run the container on it;
# ---- a link to / runs it on the host's root), and to another image
cp -a "$IMAGES/t/v1" "$T/outside-img"
echo outside >"$T/outside-img/proof"
ln -sfn "$T/outside-img" "$IMAGES/t/out"
hostile imgout t/out <<'EOF'
EOF
refused imgout "image t/out, a symlink to a dir outside image-dir" "$ETC/processes/s.yaml" 'image "t/out".*symlink below image-dir'
sed -i '/^imgout:$/,$d' "$ETC/processes/s.yaml"
ln -sfn v1 "$IMAGES/t/alias"
hostile imgalias t/alias <<'EOF'
EOF
refused imgalias "image t/alias, a symlink to another image" "$ETC/processes/s.yaml" 'image "t/alias".*symlink below image-dir'
sed -i '/^imgalias:$/,$d' "$ETC/processes/s.yaml"
rm -f "$IMAGES/t/out" "$IMAGES/t/alias"

# ---- a newline in a volume's path or mount point: it would end its line
# of the lxc.conf and start a #lithos line of its own (those drive the
# host-side work of the start: here a mkdir by host root outside the sandbox)
hostile nlpath t/v1 <<EOF
volumes:
  /data: !Persistent {path: "/rw/a\\n#lithos.persistent-mkdir = 0777 1000 1000 $H/pwned", mkdir: true}
EOF
refused nlpath "a newline in a !Persistent path" "$IMAGES/t/v1/config/s.nlpath.yaml" 'control character'
nldir="$IMAGES/t/v1/data
#lithos.persistent-mkdir = 0777 1000 1000 $H/pwned2"
mkdir -p "$nldir"
hostile nlmount t/v1 <<EOF
volumes:
  "/data\\n#lithos.persistent-mkdir = 0777 1000 1000 $H/pwned2": !Persistent {path: /rw, mkdir: true}
EOF
refused nlmount "a newline in a mount point" "$IMAGES/t/v1/config/s.nlmount.yaml" 'control character'
rm -r "$IMAGES/t/v1/data
#lithos.persistent-mkdir = 0777 1000 1000 "
is "$(ls -A "$H" | tr '\n' ' ')" "etc ro rw secret " "newlines in volume paths: nothing was made outside the sandbox"

# ---- a newline in the processes entry's config path: the config file is
# the image's (a deploy tool may take the names from the image's /config),
# the path is written into the lxc.conf (LITHOS_CONFIG, a comment): the
# text after the newline became an lxc.* key of its own (here an
# environment variable; lxc.hook.* the same way, run as host root)
inj="x
lxc.environment = INJECTED=1"
printf 'kind: Command\nuser-id: 1000\ngroup-id: 1000\ninteractive: true\nexecutable: /bin/sh\narguments: [-c, "echo payload-ran INJECTED=$INJECTED"]\nenviron: {PATH: /bin}\n' \
	>"$IMAGES/t/v1/config/$inj"
cat >>"$ETC/processes/s.yaml" <<'EOF'
nlconfig:
  kind: Command
  image: t/v1
  config: "/config/x\nlxc.environment = INJECTED=1"
EOF
refused nlconfig "a newline in the processes entry's config path" "$ETC/processes/s.yaml" 'control character'
sed -i '/^nlconfig:$/,$d' "$ETC/processes/s.yaml"
rm -f "$IMAGES/t/v1/config/$inj"

# ---- ids outside the sandbox's ranges
hostile baduser t/v1 <<'EOF'
EOF
sed -i 's/^user-id: 1000$/user-id: 5000/' "$IMAGES/t/v1/config/s.baduser.yaml"
refused baduser "user-id 5000 outside allow-users [1000]" "$IMAGES/t/v1/config/s.baduser.yaml" '5000'
hostile rootuser t/v1 <<'EOF'
EOF
sed -i 's/^user-id: 1000$/user-id: 0/' "$IMAGES/t/v1/config/s.rootuser.yaml"
refused rootuser "user-id 0 outside allow-users [1000]" "$IMAGES/t/v1/config/s.rootuser.yaml" 'user'
hostile badgroup t/v1 <<'EOF'
EOF
sed -i 's/^group-id: 1000$/group-id: 0/' "$IMAGES/t/v1/config/s.badgroup.yaml"
refused badgroup "group-id 0 outside allow-groups [1000]" "$IMAGES/t/v1/config/s.badgroup.yaml" 'group'

# ---- a volume path the sandbox does not declare
hostile undeclared t/v1 <<'EOF'
volumes:
  /data: !Persistent /etc
EOF
refused undeclared "!Persistent /etc not in writable-paths" "$IMAGES/t/v1/config/s.undeclared.yaml" '/etc'
hostile roaswritable t/v1 <<'EOF'
volumes:
  /data: !Persistent /ro
EOF
refused roaswritable "!Persistent of a readonly-path" "$IMAGES/t/v1/config/s.roaswritable.yaml" '/ro'

# ---- a volume's owner outside allow-users / allow-groups: host root makes
# a !Persistent mkdir dir (and a !Statedir subdir) and chowns it to the
# volume's user and group, so an image could have a dir of the sandbox's
# writable path owned by any host uid/gid
hostile volowner t/v1 <<'EOF'
volumes:
  /data: !Persistent {path: /rw/x, mkdir: true, user: 4242}
EOF
refused volowner "!Persistent mkdir user 4242 outside allow-users [1000]" "$IMAGES/t/v1/config/s.volowner.yaml" 'Persistent user 4242 is not in allow-users'
is "$(stat -c '%u:%g' "$H/rw/x" 2>/dev/null || echo none)" none "!Persistent mkdir user 4242: no directory was made"
hostile volgroup t/v1 <<'EOF'
volumes:
  /data: !Persistent {path: /rw/y, mkdir: true, user: 1000, group: 4243}
EOF
refused volgroup "!Persistent mkdir group 4243 outside allow-groups [1000]" "$IMAGES/t/v1/config/s.volgroup.yaml" 'Persistent group 4243 is not in allow-groups'
is "$(stat -c '%u:%g' "$H/rw/y" 2>/dev/null || echo none)" none "!Persistent mkdir group 4243: no directory was made"
hostile statowner t/v1 <<'EOF'
volumes:
  /run: !Statedir {path: /sub, user: 4244, group: 1000}
EOF
refused statowner "!Statedir user 4244 outside allow-users [1000]" "$IMAGES/t/v1/config/s.statowner.yaml" 'Statedir user 4244 is not in allow-users'

# ---- fails at start, after the configs were accepted: a !Persistent
# volume with mkdir: true whose host path is a file.  The state dir lithos
# made before the start is removed again, the LXC dir too.
echo "not a dir" >"$H/rw/file"
hostile mkdirfile t/v1 <<'EOF'
volumes:
  /data: !Persistent {path: /rw/file, mkdir: true}
EOF
rm -f "$STDIO_LOG_DIR/s.log"
run_cmd s mkdirfile
is "$rc" 122 "!Persistent mkdir: true on a host file: exit 122"
like "$err" 'Persistent volume .*/rw/file exists and is not a directory' \
	"!Persistent mkdir: true on a host file: the error says which volume and why"
like "$(stdio_log s)" 'failed to start: .*/rw/file exists and is not a directory' \
	"!Persistent mkdir: true on a host file: the stdio log says why"
unlike "$(stdio_log s; cat "$T/out")" 'payload-ran' "!Persistent mkdir: true on a host file: the process did not run"
is "$(cat "$H/rw/file")" "not a dir" "!Persistent mkdir: true on a host file: the file is untouched"
check_no_leftovers "!Persistent mkdir: true on a host file" "$RUN_LXCNAME"

# ---- an ip outside the network
SB=br hostile outside t/v1 "ip-addresses: [10.99.0.1]" </dev/null
SB=br refused outside "ip 10.99.0.1 outside 10.231.250.0/24" "$ETC/processes/br.yaml" '10\.99\.0\.1'
SB=br hostile netaddr t/v1 "ip-addresses: [10.231.251.1]" </dev/null
SB=br refused netaddr "ip 10.231.251.1 just outside 10.231.250.0/24" "$ETC/processes/br.yaml" '10\.231\.251\.1'
ip link show "$BR" >/dev/null 2>&1
ok $((!$?)) "no bridge $BR was created by any of this"

check_no_leftovers "t0308 runs"
done_testing
