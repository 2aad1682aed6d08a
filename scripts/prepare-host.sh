#!/bin/bash
# Prepare this machine for lithos-lxc containers.  Idempotent, no prompts.
#
#  - root gets the subordinate id range 100000-165535 in /etc/subuid and
#    /etc/subgid (needed for lxc.idmap / user namespaces);
#  - a CRIU >= 4.2 that passes `criu check` (scripts/install-criu.sh: the
#    system's, or criu 4.2.1 from Debian forky in /opt/lithos-criu, with
#    wrappers);
#  - the loopback interface is up (tests talk to containers over loopback);
#  - sanity checks of what LXC needs (user namespaces, cgroup mounts), with
#    warnings only: the tests that depend on them skip with a reason.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "prepare-host: must run as root" >&2
	exit 1
fi

SUBID_LINE="root:100000:65536"

ensure_line() { # FILE LINE
	local f=$1 line=$2
	if [ ! -e "$f" ]; then
		install -m 0644 /dev/null "$f"
	fi
	if ! grep -qxF "$line" "$f"; then
		# keep the file well formed when its last line has no newline
		if [ -s "$f" ] && [ -n "$(tail -c1 "$f")" ]; then
			echo >>"$f"
		fi
		echo "$line" >>"$f"
		echo "prepare-host: added $line to $f"
	fi
}

ensure_line /etc/subuid "$SUBID_LINE"
ensure_line /etc/subgid "$SUBID_LINE"

# loopback up (it normally is; some minimal VMs/containers leave it down)
if command -v ip >/dev/null 2>&1; then
	ip link set lo up 2>/dev/null || true
fi

# CRIU for checkpoint/restore (lithos_checkpoint, lithos_restore)
"$(dirname "$0")/install-criu.sh"

# sshd for the ssh transfer mode of the migration tests: unpacked into a
# private prefix, never enabled as a service (see the script)
"$(dirname "$0")/../tests/lib/install-sshd.sh" ||
	echo "prepare-host: warning: no sshd for the migration tests (tests/lib/install-sshd.sh)" >&2

# LXC's default container path
mkdir -p /var/lib/lxc

# checks, warnings only
n=$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 1)
if [ "$n" = 0 ]; then
	echo "prepare-host: warning: user.max_user_namespaces is 0; containers with uid-map will not start" >&2
fi
if ! grep -q cgroup /proc/self/mounts; then
	echo "prepare-host: warning: no cgroup filesystem mounted; LXC needs one" >&2
fi
for t in lxc-start lxc-execute newuidmap; do
	command -v "$t" >/dev/null 2>&1 ||
		echo "prepare-host: warning: $t not found (run scripts/install-deps.sh)" >&2
done
echo "prepare-host: ok"
