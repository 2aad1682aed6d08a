#!/bin/sh
# Regenerate the build system.  Needs autoconf, automake and pkg-config.
set -e
command -v pkg-config >/dev/null || { echo "autogen.sh: pkg-config is missing (apt-get install pkg-config)" >&2; exit 1; }
cd "$(dirname "$0")"
autoreconf -fi
