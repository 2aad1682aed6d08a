#!/bin/bash
# Install the Debian 12 packages lithos-lxc needs to build, test and run.
#
# Idempotent: when every package is already installed, apt-get is not run at
# all (so reruns are fast and work offline).  Non-interactive: safe with
# CI=true and no stdin.  Needs root only when something must be installed.
#
#   scripts/install-deps.sh           install what is missing
#   scripts/install-deps.sh --check   only report what is missing (exit 1 if any)
#   scripts/install-deps.sh --list    print the package list
set -euo pipefail

PACKAGES=(
	# build
	build-essential gcc make autoconf automake pkg-config
	libyaml-dev libsodium-dev lxc lxc-dev
	# lithos_init (pid 1 of the containers) linked statically against musl
	musl-tools
	# test images and containers
	busybox-static uidmap iproute2 bridge-utils
	# test helpers (secrets compatibility, ssh keys, a delayed system call,
	# a btrfs runtime directory in t0413)
	python3 python3-nacl openssh-client strace btrfs-progs
	# fuzzer (libFuzzer)
	clang libclang-rt-14-dev
)

missing_packages() {
	local p st
	for p in "${PACKAGES[@]}"; do
		st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
		[ "$st" = installed ] || echo "$p"
	done
}

case "${1:-}" in
--list)
	printf '%s\n' "${PACKAGES[@]}"
	exit 0
	;;
--check)
	m=$(missing_packages)
	if [ -n "$m" ]; then
		echo "install-deps: missing packages:" $m >&2
		exit 1
	fi
	exit 0
	;;
"") ;;
*)
	echo "usage: $0 [--check|--list]" >&2
	exit 2
	;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "install-deps: dpkg-query not found; this script supports Debian 12 only" >&2
	exit 1
fi

mapfile -t MISSING < <(missing_packages)
if [ "${#MISSING[@]}" -eq 0 ]; then
	echo "install-deps: all ${#PACKAGES[@]} packages already installed"
	exit 0
fi

echo "install-deps: installing: ${MISSING[*]}"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=(sudo -n)
	else
		echo "install-deps: not root and sudo is not available; run as root:" >&2
		echo "  apt-get install ${MISSING[*]}" >&2
		exit 1
	fi
fi

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-y -q --no-install-recommends
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install "${APT_OPTS[@]}" "${MISSING[@]}" </dev/null

mapfile -t STILL < <(missing_packages)
if [ "${#STILL[@]}" -ne 0 ]; then
	echo "install-deps: still missing after apt-get: ${STILL[*]}" >&2
	exit 1
fi
echo "install-deps: done"
