#!/bin/sh
# build-image.sh DEST
#
# Builds the tiny lithos-lxc test image in the directory DEST from Debian's
# busybox-static package: one static /bin/busybox plus applet symlinks, the
# empty directories lithos mounts over, and minimal /etc files.
#
# - Idempotent: running it again on the same DEST fixes modes/owners and
#   recreates the links; files other tools put into DEST (for example
#   /config/*.yaml written by a test) are left alone.
# - Everything is owned by host root (0:0) and readable/executable by
#   "other", so a container with a user namespace (mapped root = host uid
#   100000) can still read and exec it through a read-only rootfs bind.
# - DEST itself is made 0755 (mktemp -d creates 0700, which the mapped root
#   cannot traverse); every parent of DEST must be searchable by "other"
#   too: fixed (o+x) under /tmp, /var/tmp, $TMPDIR, /var/lib/lithos, else
#   a warning.
# - There is deliberately no python3, no libc, no dynamic loader in the image.
#
# Exit codes: 0 ok, 1 usage/environment error, 2 busybox-static missing.
set -eu

prog=build-image.sh

die() { echo "$prog: error: $1" >&2; exit "${2:-1}"; }

[ $# -eq 1 ] || die "usage: $prog DEST"
DEST=$1
case $DEST in
    /*) ;;
    *) DEST=$(pwd)/$DEST ;;
esac
case $DEST in
    /|/.|/..) die "refusing to build an image in $DEST" ;;
esac

[ "$(id -u)" -eq 0 ] || die "must run as root (the image is owned by root)"

# --- find the static busybox of Debian's busybox-static package ------------
BUSYBOX=
if command -v dpkg-query >/dev/null 2>&1; then
    st=$(dpkg-query -W -f='${db:Status-Status}' busybox-static 2>/dev/null || true)
    if [ "$st" = installed ]; then
        BUSYBOX=$(dpkg-query -L busybox-static 2>/dev/null | grep -E '/bin/busybox$' | head -n1 || true)
    fi
fi
if [ -z "$BUSYBOX" ] || [ ! -x "$BUSYBOX" ]; then
    die "busybox-static is not installed (apt-get install -y --no-install-recommends busybox-static)" 2
fi
# The package guarantees a static binary; when file(1) is there, say so
# clearly if something else got installed over /bin/busybox (package
# "busybox" is dynamic and would not run in an image without libc).
if command -v file >/dev/null 2>&1; then
    file -L "$BUSYBOX" | grep -q 'statically linked' ||
        die "$BUSYBOX is not statically linked (install busybox-static, not busybox)" 2
fi

# --- parents of DEST must be searchable by the mapped root ------------------
# With lxc.idmap the rootfs is opened by the container's root (host uid
# 100000), so every parent directory needs "other" search (x) permission,
# or liblxc fails with: dir_mount: Permission denied - Failed to open DEST.
# mktemp -d makes 0700 directories: under /tmp, /var/tmp, $TMPDIR and
# /var/lib/lithos we add o+x (search only, no listing); elsewhere we warn.
mkdir -p "$DEST"
p=$(dirname "$DEST")
while [ "$p" != / ]; do
    perm=$(stat -c %A "$p")
    case $perm in
        ?????????[xt]) ;;
        *)
            case $p/ in
                /tmp/?*|/var/tmp/?*|/var/lib/lithos/*|"${TMPDIR:-/nonexistent}"/?*)
                    chmod o+x "$p"
                    echo "$prog: note: added o+x to $p (was $perm) so a" \
                         "user-namespaced container can reach $DEST" >&2 ;;
                *)
                    echo "$prog: warning: $p is $perm: not searchable by other;" \
                         "a container with a user namespace cannot reach $DEST" >&2 ;;
            esac ;;
    esac
    p=$(dirname "$p")
done

# --- directories -----------------------------------------------------------
# Mount points that lithos/LXC mount over; never populated here.
for d in bin etc proc sys dev tmp state config var var/tmp var/log run data \
         root home mnt opt srv usr usr/share; do
    mkdir -p "$DEST/$d"
    chown 0:0 "$DEST/$d"
    chmod 0755 "$DEST/$d"
done
chown 0:0 "$DEST"
chmod 0755 "$DEST"
chmod 1777 "$DEST/tmp" "$DEST/var/tmp"
chmod 0700 "$DEST/root"

# /sbin, /usr/bin, /usr/sbin all point at /bin (relative links, so they stay
# inside the image whatever its location on the host).
for l in sbin:bin usr/bin:../bin usr/sbin:../bin; do
    name=${l%%:*} target=${l#*:}
    if [ -e "$DEST/$name" ] && [ ! -L "$DEST/$name" ]; then
        rmdir "$DEST/$name" 2>/dev/null ||
            die "$DEST/$name exists and is not an empty directory or link"
    fi
    ln -sfn "$target" "$DEST/$name"
done

# --- busybox and applets ---------------------------------------------------
if ! cmp -s "$BUSYBOX" "$DEST/bin/busybox"; then
    cp -f "$BUSYBOX" "$DEST/bin/busybox.new"
    mv -f "$DEST/bin/busybox.new" "$DEST/bin/busybox"
fi
chown 0:0 "$DEST/bin/busybox"
chmod 0755 "$DEST/bin/busybox"

APPLETS="sh ash ls cat id env sleep echo printf mount umount grep egrep ip
ifconfig route ping hostname pwd true false dd head tail wc kill ps nc
mkdir rmdir rm cp mv ln touch chmod chown stat readlink realpath test [ [[
sed awk tr cut sort uniq tee xargs seq expr basename dirname find which
whoami uname date df du free nproc timeout usleep setsid nsenter unshare
mktemp sync yes od hexdump md5sum sha256sum base64 vi less more netstat
ipneigh arp tty stty clear top uptime pidof killall setpriv su login
mkfifo mknod wget nslookup dmesg sysctl cmp diff tar gzip gunzip logger
getopt fallocate truncate ipcalc"

have=$("$BUSYBOX" --list)
missing=
for a in $APPLETS; do
    if printf '%s\n' "$have" | grep -qxF -- "$a"; then
        ln -sfn busybox "$DEST/bin/$a"
    else
        missing="$missing $a"
    fi
done
[ -z "$missing" ] || die "$BUSYBOX lacks applets:$missing"

# --- /etc ------------------------------------------------------------------
# Written only when the content differs, so timestamps stay stable.
put() { # put MODE PATH  (content on stdin)
    tmp="$2.tmp.$$"
    cat >"$tmp"
    if cmp -s "$tmp" "$2" && [ ! -L "$2" ]; then
        rm -f "$tmp"
    else
        rm -f "$2"          # also removes a symlink left there
        mv -f "$tmp" "$2"
    fi
    chown 0:0 "$2"
    chmod "$1" "$2"
}

put 0644 "$DEST/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/:/bin/false
user:x:1000:1000:test user:/tmp:/bin/sh
nobody:x:65534:65534:nobody:/:/bin/false
EOF
put 0644 "$DEST/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
user:x:1000:
nogroup:x:65534:
EOF
# Regular files (not symlinks): lithos's resolv-conf/hosts-file "auto" rule
# only mounts over a regular file.
put 0644 "$DEST/etc/resolv.conf" <<'EOF'
# lithos-lxc test image placeholder; lithos mounts the real one over it
EOF
put 0644 "$DEST/etc/hosts" <<'EOF'
127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
EOF
put 0644 "$DEST/etc/hostname" <<'EOF'
lithos-test
EOF
put 0644 "$DEST/etc/lithos-test-image" <<'EOF'
lithos-lxc test image (busybox-static)
EOF

echo "$prog: image ready in $DEST"
