#!/bin/bash
# Build lithos-lxc from this checkout: ./autogen.sh && configure && make -j2.
#
# Builds out of tree in _build/ (VPATH), unless the source tree itself has
# been configured in-tree (config.status at the top), in which case automake
# refuses a VPATH build and we build in-tree instead.
#
#   scripts/build.sh                  build
#   scripts/build.sh --print-dir      print the build directory and exit
#   LITHOS_BUILD_DIR=DIR              build there instead of _build/
#   LITHOS_CONFIGURE_FLAGS="..."      extra flags for configure
#   LITHOS_JOBS=N                     make -jN (default 2)
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)

build_dir() {
	if [ -n "${LITHOS_BUILD_DIR:-}" ]; then
		mkdir -p "$LITHOS_BUILD_DIR"
		(cd "$LITHOS_BUILD_DIR" && pwd)
	elif [ -e "$SRC/config.status" ]; then
		echo "$SRC"
	else
		echo "$SRC/_build"
	fi
}

if [ "${1:-}" = --print-dir ]; then
	build_dir
	exit 0
fi

B=$(build_dir)
JOBS=${LITHOS_JOBS:-2}

echo "build: source $SRC, build dir $B"
(cd "$SRC" && ./autogen.sh)
mkdir -p "$B"
cd "$B"
# shellcheck disable=SC2086
"$SRC/configure" ${LITHOS_CONFIGURE_FLAGS:-}
make -j"$JOBS"
echo "build: ok ($B)"
