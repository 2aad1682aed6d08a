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
#    what was validated and translated;
# 6. runs the example Command with `lithos_cmd` in a real container, then
#    starts `lithos_tree` (or reloads the one an earlier run left), which
#    runs the two worker instances, and shows them with `lithos_ps`.  The
#    tree keeps running afterwards; the last lines say how to stop it.
#
# Idempotent: rerunning rebuilds the image and reinstalls the configs.
# Nothing outside /etc/lithos-example, /var/lib/lithos-example, the example
# tree's /run/lithos-example and /var/log/lithos-example, and the checkout
# is written (besides packages, /etc/subuid, /etc/subgid and what
# prepare-host.sh installs: CRIU in /opt/lithos-criu, an sshd for the tests
# in /opt/lithos-test-sshd).
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
CMD=$B/lithos_cmd
TREE=$B/lithos_tree
PS=$B/lithos_ps
for p in "$CHECK" "$LXCCONF" "$CMD" "$TREE" "$PS"; do
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

step "lithos_cmd --master $ETC/master.yaml demo hello (a Command, in a real container)"
set +e
"$CMD" --master "$ETC/master.yaml" demo hello
rc=$?
set -e
echo "lithos_cmd exited with $rc (the command's own exit code; hello is interactive,"
echo "so its output is above, not in the sandbox's stdio log)"
[ "$rc" -eq 0 ] || die "the example command failed (exit $rc)"

step "lithos_tree -C $ETC/master.yaml (the supervisor, running the Daemon instances)"
PIDFILE=/run/lithos-example/master.pid
if [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && ! flock -n "$PIDFILE" true; then
	# already running from an earlier quick start: make it apply the configs
	echo "lithos_tree already runs (pid $(cat "$PIDFILE")): reloading it (SIGQUIT)"
	kill -QUIT "$(cat "$PIDFILE")"
else
	setsid "$TREE" -C "$ETC/master.yaml" </dev/null >/dev/null 2>&1 &
	echo "started lithos_tree (pid $!), log /var/log/lithos-example/master.log"
fi
running=0
for _ in $(seq 1 100); do
	running=$(lxc-ls -P /var/lib/lithos-example/lxc --running 2>/dev/null | wc -w)
	[ "$running" -ge 2 ] && break
	sleep 0.1
done
"$PS" -C "$ETC/master.yaml" | sed 's/^/  /'
[ "$running" -ge 2 ] || die "the 2 worker instances are not running (see /var/log/lithos-example/master.log)"

step "validated and running"
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

quickstart: OK, all example configs are valid and lithos runs them.
  check again:      $CHECK -C $ETC/master.yaml
  compiled config:  $LXCCONF --master $ETC/master.yaml demo worker 0
  run the command:  $CMD --master $ETC/master.yaml demo hello
  what runs:        $PS -C $ETC/master.yaml     (lxc-ls --fancy -P /var/lib/lithos-example/lxc)
  enter one:        lxc-attach -P /var/lib/lithos-example/lxc -n demo.worker.0 -- sh
  reload configs:   kill -QUIT \$(cat $PIDFILE)
  stop everything:  kill -TERM \$(cat $PIDFILE)
EOT
