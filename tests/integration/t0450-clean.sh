#!/bin/sh
# t0450: lithos_clean on a lithos installation in a scratch directory (no
# root needed): used/unused for each reason an image is kept, recency rules
# of the config log, auto-clean (false, mixed), image-dir-levels 2, dry runs
# that delete nothing, symlinks that must not be followed, configs and logs
# that cannot be read.  TAP output.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
CLEAN="$top_builddir/lithos_clean"

if [ ! -x "$CLEAN" ]; then
	echo "Bail out! $CLEAN is not built"
	exit 1
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/t0450.XXXXXX") || exit 1
trap 'chmod -R u+rwX "$T" 2>/dev/null; rm -rf "$T"' EXIT INT TERM

. "$top_srcdir/tests/lib/tap.sh"
# run lithos_clean on the installation in $E: stdout in $out, stderr in
# $err, status in $rc
clean() {
	"$CLEAN" -C "$E/master.yaml" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}
grep_err() { printf '%s\n' "$err" | grep -q -- "$1"; }
ago() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
# rec TIME INSTANCE IMAGE: a config log line as the tree writes it
rec() {
	printf '{"time":"%s","instance":"%s","process":"%s","kind":"Daemon","image":"%s","config":"/config/app.yaml","instances":1,"variables":{},"ip-addresses":[],"extra-secrets-namespaces":[]}\n' \
		"$1" "$2" "$(echo "$2" | sed 's|.*/||; s|\.[0-9]*$||')" "$3"
}
# a fresh installation: master with config log and LXC path in $E
setup() {
	rm -rf "$T/e" "$T/img" "$T/img2" "$T/outside"
	E=$T/e
	I=$T/img
	mkdir -p "$E/sandboxes" "$E/processes" "$E/logs" "$E/lxc" "$I"
	cat >"$E/master.yaml" <<-EOF
	config-log-dir: $E/logs
	lxc-path: $E/lxc
	EOF
}
images() { for i in "$@"; do mkdir -p "$I/$i" && echo x >"$I/$i/file"; done; }
lines() { for i in "$@"; do echo "$I/$i"; done; }
sandbox() { # NAME [EXTRA-YAML-LINES]
	{
		echo "image-dir: $I"
		[ $# -gt 1 ] && printf '%s\n' "$2"
	} >"$E/sandboxes/$1.yaml"
}
process() { # SANDBOX NAME IMAGE (appends)
	printf '%s:\n  image: %s\n  config: /config/app.yaml\n' "$2" "$3" >>"$E/processes/$1.yaml"
}

# ---- each reason an image is used ----
setup
images cur list hist run unused1 unused2
sandbox web
process web app cur
sandbox other 'used-images-list: '"$E/used.txt"
printf '# kept by the deployment\n  list  \n\n' >"$E/used.txt"
rec "$(ago '2 days ago')" web/app.0 hist >"$E/logs/web.log"
mkdir -p "$E/lxc/web-app.0"
printf 'lxc.uts.name = x\nlxc.rootfs.path = dir:%s/run\nlxc.rootfs.options = ro\n' "$I" >"$E/lxc/web-app.0/config"

clean
is "$rc" 0 "--used exits 0"
is "$out" "$(lines cur hist list run)" "--used (the default) lists the images of processes config, used-images-list, config log and containers"
clean --used -v
grep_err "$I/cur: processes config of sandbox web: process app"
ok $? "-v: cur is used by the processes config"
grep_err "$I/list: used-images-list $E/used.txt of sandbox other"
ok $? "-v: list is used by the used-images-list of a sandbox sharing the image-dir"
grep_err "$I/hist: config log of sandbox web: process app"
ok $? "-v: hist is used by the config log"
grep_err "$I/run: root file system of a container"
ok $? "-v: run is used by a container in the LXC path"
clean --unused
is "$rc" 0 "--unused exits 0"
is "$out" "$(lines unused1 unused2)" "--unused lists the unused images"
clean --used
clean --unused
is "$(ls "$I" | tr '\n' ' ')" "cur hist list run unused1 unused2 " "dry runs delete nothing"

clean --delete-unused
is "$rc" 0 "--delete-unused exits 0"
is "$(echo "$out" | sed 's/^[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z //')" \
	"$(lines unused1 unused2)" "--delete-unused prints TIME PATH for each deleted image"
is "$(echo "$out" | grep -c '^[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z /')" 2 \
	"each deleted line starts with an ISO-8601 UTC time"
is "$(ls -A "$I" | tr '\n' ' ')" "cur hist list run " "--delete-unused deletes the unused images, nothing else"
clean --unused
is "$out" "" "nothing unused is left"

# Commands count as used, a missing processes file means nothing runs
setup
images cmd spare
sandbox web
printf 'tool:\n  kind: Command\n  image: cmd\n  config: /config/app.yaml\n' >"$E/processes/web.yaml"
sandbox idle
clean --unused
is "$out" "$(lines spare)" "a Command entry's image is used; a sandbox without processes file adds nothing"

# ---- used-images-list details ----
setup
I=$T/img
mkdir -p "$I"
images svc/v1 svc/v2 other/v1 other/v2 abs/v1
sandbox web 'image-dir-levels: 2
used-images-list: used.txt'
printf 'other/v1\n%s/abs/v1\n/elsewhere/x/y\nsvc\n' "$I" >"$E/sandboxes/used.txt"
clean --unused
is "$out" "$(lines other/v2)" "used-images-list: relative to the sandbox file, absolute paths below image-dir, a name with fewer components keeps all below it"

setup
images a b
sandbox web "used-images-list: $E/missing.txt"
clean --unused
is "$rc" 1 "a used-images-list that cannot be read: exit 1"
is "$out" "" "... and nothing listed as unused"
grep_err "used-images-list $E/missing.txt of sandbox web cannot be read"
ok $? "... with the reason on stderr"
clean --delete-unused
is "$(ls "$I" | tr '\n' ' ')" "a b " "... and nothing deleted"

# ---- auto-clean ----
setup
images a b
sandbox web 'auto-clean: false'
process web app a
clean --unused
is "$rc:$out" "0:" "auto-clean false: nothing listed as unused"
clean --delete-unused
is "$(ls "$I" | tr '\n' ' ')" "a b " "auto-clean false: nothing deleted"
clean --used
is "$out" "$(lines a)" "auto-clean false: --used still lists used images"

setup
images a b
sandbox web 'auto-clean: false'
sandbox api
process api app a
clean --delete-unused
is "$(ls "$I" | tr '\n' ' ')" "a b " "mixed auto-clean on one image-dir: nothing deleted"
grep_err "warning: image-dir $I is shared by sandboxes with auto-clean true (api) and false (web); not cleaning it"
ok $? "mixed auto-clean: a warning names the sandboxes"
is "$rc" 0 "mixed auto-clean is a warning, not an error"

# the same image-dir written two ways is one dir
setup
images a b
sandbox web
process web app a
echo "image-dir: $I/./" >"$E/sandboxes/api.yaml"
echo "auto-clean: false" >>"$E/sandboxes/api.yaml"
clean --unused
grep_err "shared by sandboxes"
ok $? "an image-dir written differently is still recognised as shared"

# two image dirs, one cleaned, one not
setup
images a b
mkdir -p "$T/img2/c" "$T/img2/d"
sandbox web
process web app a
echo "image-dir: $T/img2" >"$E/sandboxes/api.yaml"
echo "auto-clean: false" >>"$E/sandboxes/api.yaml"
clean --delete-unused
is "$(ls "$I" "$T/img2" | tr '\n' ' ')" "$I: a  $T/img2: c d " "only the dir of the auto-clean sandbox is cleaned"

# ---- image-dir-levels 2 ----
setup
images app/v1 app/v2 app/v3 tool/v1
mkdir -p "$I/empty"
echo file >"$I/app/README"
sandbox web 'image-dir-levels: 2'
process web app app/v3
rec "$(ago '1 day ago')" web/app.0 app/v2 >"$E/logs/web.log"
clean --unused
is "$out" "$(lines app/v1 tool/v1)" "levels 2: images are two components deep; files and empty dirs are not images"
clean --delete-unused
is "$(cd "$I" && find . | sort | tr '\n' ' ')" \
	". ./app ./app/README ./app/v2 ./app/v2/file ./app/v3 ./app/v3/file ./empty ./tool " \
	"levels 2: only the unused versions are deleted, their parents stay"

# ---- symlinks ----
setup
mkdir -p "$T/outside/deep"
echo precious >"$T/outside/deep/data"
images keep gone
ln -s "$T/outside" "$I/gone/link"
ln -s "$T/outside/deep/data" "$I/gone/filelink"
mkdir -p "$I/gone/sub"
ln -s "$T/outside/deep" "$I/gone/sub/dirlink"
ln -s "$T/outside" "$I/alias"
sandbox web
process web app keep
clean --unused
is "$out" "$(lines gone)" "a symlink in image-dir is not an image"
clean --delete-unused
is "$rc" 0 "deleting an image with symlinks to outside: exit 0"
is "$(ls -A "$I" | tr '\n' ' ')" "alias keep " "the image with symlinks is deleted, the symlink in image-dir is not touched"
is "$(cat "$T/outside/deep/data" 2>&1)" "precious" "the symlinks' targets are untouched"
is "$(ls -A "$T/outside" | tr '\n' ' ')" "deep " "nothing outside image-dir is deleted"

# ---- config log: recency ----
setup
images v1 v2 v3 v4 v5 cur
sandbox web
process web app cur
{
	rec "$(ago '40 days ago')" web/app.0 v1
	rec "$(ago '30 days ago')" web/app.0 v2
	rec "$(ago '30 days ago')" web/app.1 v2
	rec "$(ago '20 days ago')" web/app.0 v3
	rec "$(ago '5 days ago')" web/app.0 v4
	rec "$(ago '1 day ago')" web/app.0 cur
} >"$E/logs/web.log"
clean --unused
is "$out" "$(lines v5)" "without -D every image in the config log is kept"
clean --unused -D 7
is "$out" "$(lines v1 v2 v5)" "-D 7: kept while in use within 7 days (v3 was replaced 5 days ago)"
clean --unused -D 7 --versions-min 4
is "$out" "$(lines v1 v5)" "--versions-min 4 keeps the 4 newest images however old"
clean --unused -D 7 --keep-recent 4
is "$out" "$(lines v1 v5)" "--keep-recent is --versions-min"
clean --unused --versions-max 2
is "$out" "$(lines v1 v2 v3 v5)" "--versions-max 2 keeps at most the 2 newest images of the log"
clean --unused -D 0
is "$out" "$(lines v1 v2 v3 v4 v5)" "-D 0: only what is in use now"

# the newest image of a process still configured may still run
setup
images old new
sandbox web
process web app new
rec "$(ago '30 days ago')" web/app.0 old >"$E/logs/web.log"
clean --unused -D 7
is "$out" "" "the last logged image of a configured process is in use until the tree logs another"
# ... and of a removed process only until its last start
: >"$E/processes/web.yaml"
process web other new
clean --unused -D 7
is "$out" "$(lines old)" "the last logged image of a removed process counts from its last start"

# rotated logs and lithos's own format
setup
images a b c d
sandbox web
rec "$(ago '1 day ago')" web/app.0 a >"$E/logs/web.log.2"
rec "$(ago '1 day ago')" web/app.0 b >"$E/logs/web.log.1"
printf '%s {"app":{"kind":"Daemon","instances":1,"image":"c","config":"/config/app.yaml","variables":{}}}\n' \
	"$(ago '1 day ago')" >>"$E/logs/web.log"
clean --unused
is "$out" "$(lines d)" "rotated logs and lines written by lithos itself are read"

# a broken log line makes the dir unsafe
setup
images a b
sandbox web
process web app a
printf '{"time":"%s","instance":"web/app.0","ima\n' "$(ago '1 day ago')" >"$E/logs/web.log"
clean --delete-unused
is "$rc" 1 "a config log line that cannot be read: exit 1"
grep_err "config log of sandbox web has 1 line that cannot be read, first $E/logs/web.log:1"
ok $? "... the line is named"
is "$(ls "$I" | tr '\n' ' ')" "a b " "... and nothing is deleted"

# config-log-dir: null
setup
images a b
printf 'config-log-dir: null\nlxc-path: %s\n' "$E/lxc" >"$E/master.yaml"
sandbox web
process web app a
rec "$(ago '1 day ago')" web/app.0 b >"$E/logs/web.log"
clean --unused
is "$out" "$(lines b)" "config-log-dir null: no history is read"

# ---- configs with problems ----
setup
images a b
sandbox web
printf 'app:\n  image: a\n  config: /config/app.yaml\n  bogus: 1\n' >"$E/processes/web.yaml"
clean --delete-unused
is "$rc" 1 "a processes config with problems: exit 1"
is "$(ls "$I" | tr '\n' ' ')" "a b " "... and its image-dir is not cleaned"
grep_err "not cleaning $I: the configs of sandbox web have problems"
ok $? "... with the reason on stderr"

setup
echo "bogus-key: 1" >>"$E/master.yaml"
clean --used
is "$rc" 1 "a master config with problems: exit 1"

clean --used --unused
is "$rc" 2 "two modes: usage error"
clean --bogus
is "$rc" 2 "an unknown option: usage error"
clean -D x
is "$rc" 2 "a bad --history-days: usage error"

# ---- image dirs inside one another ----
setup
images a b
mkdir -p "$I/b/inner1" "$I/b/inner2"
sandbox web
process web app a
echo "image-dir: $I/b" >"$E/sandboxes/api.yaml"
process api app inner1
clean --unused
is "$out" "$(lines b/inner2)" "an image-dir inside another one is not an unused image of it"

# ---- a container started while deleting: the rename, then a check ----
# (the LXC path is read again after the image is renamed away)
setup
images a
sandbox web
mkdir -p "$E/lxc/c1"
printf 'lxc.rootfs.path = overlay:%s/a:/tmp/upper\n' "$I" >"$E/lxc/c1/config"
clean --unused
is "$out" "" "an overlay rootfs's lower dir keeps its image"

# ---- mount points (root only: tmpfs mounts, undone on exit) ----
# every tmpfs mounted below $T, wherever a rename moved it, innermost first
umount_all() {
	awk -v t="$T/" '$1 == "t0450" && index($2, t) == 1 { print $2 }' /proc/mounts |
		sort -r | while read -r m; do umount "$m"; done
}
trap 'umount_all; chmod -R u+rwX "$T" 2>/dev/null; rm -rf "$T"' EXIT INT TERM
setup
images keep inner whole
mkdir -p "$I/inner/mnt"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs t0450 "$I/inner/mnt" 2>/dev/null; then
	echo precious >"$I/inner/mnt/data"
	mount -t tmpfs t0450 "$I/whole" && echo precious >"$I/whole/data"
	sandbox web
	process web app keep
	clean --unused
	is "$out" "$(lines inner)" "an image that is a mount point is not listed as unused"
	grep_err "$I/whole is a mount point; not listing it"
	ok $? "... and a warning says so"
	clean --delete-unused
	is "$rc" 1 "an image with a mount point inside cannot be deleted completely: exit 1"
	grep_err "what is left is $I/.lithos-clean.*mnt is a mount point; left alone"
	ok $? "... the error names what is left and why"
	is "$(cat "$I"/.lithos-clean.*/mnt/data "$I/whole/data" 2>&1)" "precious
precious" "nothing on another file system is deleted"
	is "$(ls "$I" | tr '\n' ' ')" "keep whole " "the rest of the image is gone from its name"
	umount_all
else
	skip "a mount point inside an image is never deleted" "mount points need root"
fi

done_testing
