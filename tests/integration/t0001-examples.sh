#!/bin/bash
# t0001: the example configs of examples/ validate with lithos_check against a
# freshly built image, and broken copies of them are rejected with
# FILE:LINE:COLUMN lines.  TAP.  Needs root (the image is root-owned) and
# busybox-static.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
CHECK=$top_builddir/lithos_check
EX=$top_srcdir/examples

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root (tests/lib/build-image.sh builds a root-owned image)"
	exit 0
fi
if [ "$(dpkg-query -W -f='${db:Status-Status}' busybox-static 2>/dev/null)" != installed ]; then
	echo "1..0 # SKIP busybox-static is not installed (scripts/install-deps.sh installs it)"
	exit 0
fi
if [ ! -x "$CHECK" ]; then
	echo "Bail out! $CHECK was not built"
	exit 1
fi

echo "1..10"
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; }
diag() { sed 's/^/# /'; }

T=$(mktemp -d /tmp/lithos-t0001.XXXXXX)
trap 'rm -rf "$T"' EXIT
chmod 0755 "$T"

# install the examples into DIR, with the sandbox's image-dir pointing at IMGDIR
install_examples() { # DIR IMGDIR
	mkdir -p "$1/sandboxes" "$1/processes"
	cp "$EX/master.yaml" "$1/"
	cp "$EX"/processes/*.yaml "$1/processes/"
	sed "s|^image-dir:.*|image-dir: $2|" "$EX/sandboxes/demo.yaml" >"$1/sandboxes/demo.yaml"
}
# the image demo/v1 below IMGDIR, with the example container configs
build_image() { # IMGDIR
	"$top_srcdir/tests/lib/build-image.sh" "$1/demo/v1" >/dev/null &&
		mkdir -p "$1/demo/v1/config" &&
		cp "$EX"/image-config/*.yaml "$1/demo/v1/config/"
}
# run lithos_check, output in $out, status in $rc
check() {
	out=$("$CHECK" "$@" 2>&1)
	rc=$?
}
# one FILE:LINE:COLUMN: line naming FILE (a path), LINE > 0
has_pos_line() { # FILE
	printf '%s\n' "$out" | grep -qE "^$(printf '%s' "$1" | sed 's/[.[\*^$]/\\&/g'):[1-9][0-9]*:[0-9]+: "
}

# 1: image and configs
if build_image "$T/images" && install_examples "$T/etc" "$T/images"; then
	ok "built the example image and installed the example configs"
else
	not_ok "built the example image and installed the example configs"
fi

# 2: the examples are valid
check -C "$T/etc/master.yaml"
if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
	ok "lithos_check -C master.yaml: examples are valid"
else
	not_ok "lithos_check -C master.yaml: examples are valid (exit $rc)"
	printf '%s\n' "$out" | diag
fi

# 3: the sandbox alone, with its processes file as --alternate-config
check -C "$T/etc/master.yaml" --sandbox demo --alternate-config "$EX/processes/demo.yaml"
if [ "$rc" -eq 0 ]; then
	ok "lithos_check --sandbox demo --alternate-config processes/demo.yaml"
else
	not_ok "lithos_check --sandbox demo --alternate-config processes/demo.yaml (exit $rc)"
	printf '%s\n' "$out" | diag
fi

# 4: the container configs alone
check --check-container "$EX"/image-config/*.yaml
if [ "$rc" -eq 0 ]; then
	ok "lithos_check --check-container image-config/*.yaml"
else
	not_ok "lithos_check --check-container image-config/*.yaml (exit $rc)"
	printf '%s\n' "$out" | diag
fi

# 5-6: the sandbox without its required image-dir key
install_examples "$T/no-key" "$T/images"
sed -i '/^image-dir:/d' "$T/no-key/sandboxes/demo.yaml"
check -C "$T/no-key/master.yaml"
if [ "$rc" -ne 0 ]; then
	ok "sandbox without image-dir: exit $rc"
else
	not_ok "sandbox without image-dir: exit 0"
fi
if has_pos_line "$T/no-key/sandboxes/demo.yaml" && printf '%s\n' "$out" | grep -q image-dir; then
	ok "sandbox without image-dir: FILE:LINE:COLUMN line names the sandbox and image-dir"
else
	not_ok "sandbox without image-dir: FILE:LINE:COLUMN line names the sandbox and image-dir"
	printf '%s\n' "$out" | diag
fi

# 7-8: the image directory is missing on disk
install_examples "$T/no-image" "$T/no-such-images"
check -C "$T/no-image/master.yaml"
if [ "$rc" -ne 0 ]; then
	ok "image-dir without the image: exit $rc"
else
	not_ok "image-dir without the image: exit 0"
fi
if has_pos_line "$T/no-image/processes/demo.yaml"; then
	ok "image-dir without the image: FILE:LINE:COLUMN line names processes/demo.yaml"
else
	not_ok "image-dir without the image: FILE:LINE:COLUMN line names processes/demo.yaml"
	printf '%s\n' "$out" | diag
fi

# 9-10: a container config in the image breaks the sandbox's rules
mkdir -p "$T/bad-images"
build_image "$T/bad-images"
sed -i 's/^user-id: 1000$/user-id: 5000/' "$T/bad-images/demo/v1/config/worker.yaml"
install_examples "$T/bad-user" "$T/bad-images"
check -C "$T/bad-user/master.yaml"
if [ "$rc" -ne 0 ]; then
	ok "container user-id outside allow-users: exit $rc"
else
	not_ok "container user-id outside allow-users: exit 0"
fi
if has_pos_line "$T/bad-images/demo/v1/config/worker.yaml" && printf '%s\n' "$out" | grep -q 5000; then
	ok "container user-id outside allow-users: FILE:LINE:COLUMN line names worker.yaml"
else
	not_ok "container user-id outside allow-users: FILE:LINE:COLUMN line names worker.yaml"
	printf '%s\n' "$out" | diag
fi
