#!/bin/bash
# lithos-lxc quick start, on a fresh Debian 12 machine, as root:
#
#   ./scripts/quickstart.sh
#
# 1. installs the Debian packages it needs and prepares the host;
# 2. builds lithos-lxc from this checkout (in _build/);
# 3. builds the example image demo/v1 from busybox-static into
#    /var/lib/lithos-example/images/demo/v1 and puts the container configs
#    of examples/image-config/ into its /config/;
# 4. installs the example configs (examples/) as /etc/lithos-example/
#    (master.yaml, sandboxes/demo.yaml, processes/demo.yaml) and creates the
#    host directories the sandbox maps (/var/lib/lithos-example/{shared,data});
# 5. validates all of it with `lithos_check -C /etc/lithos-example/master.yaml`,
#    compiles the lxc.conf of one worker instance with `lithos_lxcconf`
#    (saved as /var/lib/lithos-example/demo.worker.0.lxc.conf) and prints
#    what was validated and translated.
#
# Idempotent: rerunning rebuilds the image and reinstalls the configs.
# Nothing outside /etc/lithos-example, /var/lib/lithos-example and the
# checkout is written (besides packages and /etc/subuid, /etc/subgid).
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
cd "$SRC"
exec </dev/null

ETC=/etc/lithos-example
VAR=/var/lib/lithos-example
IMAGE=demo/v1

step() { echo; echo "==> $*"; }
die() { echo "quickstart: error: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (it installs packages and builds a root-owned image)"

step "dependencies"
./scripts/install-deps.sh
./scripts/prepare-host.sh

step "build"
./scripts/build.sh
B=$(./scripts/build.sh --print-dir)
CHECK=$B/lithos_check
LXCCONF=$B/lithos_lxcconf
for p in "$CHECK" "$LXCCONF"; do
	[ -x "$p" ] || die "$p was not built"
done

step "example image $VAR/images/$IMAGE"
install -d -m 0755 "$VAR" "$VAR/images" "$VAR/images/${IMAGE%%/*}"
./tests/lib/build-image.sh "$VAR/images/$IMAGE"
install -d -m 0755 "$VAR/images/$IMAGE/config"
rm -f "$VAR/images/$IMAGE/config/"*.yaml
install -m 0644 examples/image-config/*.yaml "$VAR/images/$IMAGE/config/"
echo "container configs: $(cd "$VAR/images/$IMAGE" && echo config/*.yaml)"

step "host paths of sandbox demo"
install -d -m 0755 "$VAR/shared"
echo "read-only data the demo sandbox shares with its containers" >"$VAR/shared/README"
chmod 0644 "$VAR/shared/README"
# writable for container uid 1000 (host uid 101000 through the uid-map)
install -d -m 0755 -o 101000 -g 101000 "$VAR/data"

step "configs in $ETC"
rm -rf "$ETC.new"
install -d -m 0755 "$ETC.new" "$ETC.new/sandboxes" "$ETC.new/processes"
install -m 0644 examples/master.yaml "$ETC.new/master.yaml"
install -m 0644 examples/sandboxes/*.yaml "$ETC.new/sandboxes/"
install -m 0644 examples/processes/*.yaml "$ETC.new/processes/"
rm -rf "$ETC.old"
[ ! -e "$ETC" ] || mv "$ETC" "$ETC.old"
mv "$ETC.new" "$ETC"
rm -rf "$ETC.old"
(cd "$ETC" && find . -type f | sort | sed 's|^\./|  |')

step "lithos_check -C $ETC/master.yaml"
set +e
out=$("$CHECK" -v -C "$ETC/master.yaml" 2>&1)
rc=$?
set -e
[ -z "$out" ] || printf '%s\n' "$out"
if [ "$rc" -ne 0 ]; then
	echo
	echo "quickstart: lithos_check found problems (exit $rc): see the FILE:LINE:COLUMN lines above" >&2
	exit "$rc"
fi

step "lithos_lxcconf --master $ETC/master.yaml demo worker 0"
CONF=$VAR/demo.worker.0.lxc.conf
"$LXCCONF" --master "$ETC/master.yaml" demo worker 0 >"$CONF.new" ||
	die "lithos_lxcconf could not compile demo/worker.0"
mv "$CONF.new" "$CONF"
echo "compiled lxc.conf of instance demo/worker.0 ($(wc -l <"$CONF") lines, $CONF);"
echo "what this instance gets (the rest are the security defaults of templates/):"
grep -E '^lxc\.(rootfs|idmap|init|environment|mount\.entry|prlimit|net\.0\.type|cgroup2?\.(memory|cpu))' "$CONF" | sed 's/^/  /'

step "validated"
cat <<EOT
  master config     $ETC/master.yaml
  sandbox demo      $ETC/sandboxes/demo.yaml
                    image-dir $VAR/images (image-dir-levels 2),
                    uid/gid map 0-65535 -> 100000-165535, users/groups 1000-1999,
                    /shared -> $VAR/shared (read-only), /data -> $VAR/data (writable),
                    tcp ports 8080-8089
  processes         $ETC/processes/demo.yaml
                    worker: Daemon, 2 instances of $IMAGE:/config/worker.yaml
                    hello:  Command, $IMAGE:/config/hello.yaml
  container configs $VAR/images/$IMAGE/config/worker.yaml, hello.yaml
                    (variables greeting=!Name and port=!TcpPort substituted and checked)

quickstart: OK, all example configs are valid.
  check again:      $CHECK -C $ETC/master.yaml
  compiled config:  $LXCCONF --master $ETC/master.yaml demo worker 0
EOT
