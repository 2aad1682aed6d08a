#!/bin/bash
# t0100-invalid-corpus: lithos_check over the corpus of invalid configs.
#
# Each case is a directory tests/invalid/NNN-name/ holding a small lithos
# installation (master.yaml, sandboxes/, processes/, images/) and the file
# `expected`: the exact lines lithos_check prints.  The case is copied to a
# scratch directory DIR, `@DIR@` in its files is replaced by DIR (sandbox
# image-dir must be absolute), and lithos_check runs there with
# `-C DIR/master.yaml`, or with the arguments listed one per line in the
# file `args` (also with @DIR@).  A file `fifos` lists paths to create as
# named pipes (git cannot store them).  lithos_check must exit with 1, print
# nothing on stderr, and print `expected` exactly, with DIR shown as @DIR@.
#
# Needs no root.  Set LITHOS_CORPUS_CASE=NNN to run only the cases whose
# name starts with NNN.  TAP output.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
check=$top_builddir/lithos_check
corpus=$top_srcdir/tests/invalid

if [ ! -x "$check" ]; then
	echo "1..0 # SKIP $check is not built"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lithos-t0100.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

cases=()
for c in "$corpus"/[0-9][0-9][0-9]-*/; do
	c=${c%/}
	case $(basename "$c") in
	"${LITHOS_CORPUS_CASE:-}"*) cases+=("$c") ;;
	esac
done
echo "1..${#cases[@]}"

n=0
failed=0
for c in "${cases[@]}"; do
	n=$((n + 1))
	name=$(basename "$c")
	dir=$tmp/$name
	cp -a "$c" "$dir"
	# @DIR@ in every regular file of the installation (not in symlinks)
	find "$dir" -type f ! -name expected ! -name args ! -name fifos \
		-exec sed -i "s|@DIR@|$dir|g" {} +
	if [ -f "$dir/fifos" ]; then
		while IFS= read -r f; do
			[ -n "$f" ] && mkdir -p "$(dirname "$dir/$f")" && mkfifo "$dir/$f"
		done <"$dir/fifos"
	fi
	args=()
	if [ -f "$dir/args" ]; then
		while IFS= read -r a; do
			args+=("${a//@DIR@/$dir}")
		done <"$dir/args"
	else
		args=(-C "$dir/master.yaml")
	fi

	(cd "$dir" && timeout 60 "$check" "${args[@]}") >"$tmp/out" 2>"$tmp/err"
	rc=$?
	sed "s|$dir|@DIR@|g" "$tmp/out" >"$tmp/out.norm"

	problems=
	[ "$rc" -eq 1 ] || problems="exit status $rc, expected 1; "
	[ -s "$tmp/err" ] && problems="${problems}stderr not empty; "
	if [ ! -f "$c/expected" ]; then
		problems="${problems}no expected file; "
	elif ! cmp -s "$c/expected" "$tmp/out.norm"; then
		problems="${problems}output differs; "
	fi
	if [ -z "$problems" ]; then
		echo "ok $n - $name"
	else
		failed=$((failed + 1))
		echo "not ok $n - $name: ${problems%; }"
		[ -f "$c/expected" ] && diff -u "$c/expected" "$tmp/out.norm" | sed 's/^/# /'
		[ -s "$tmp/err" ] && sed 's/^/# stderr: /' "$tmp/err"
	fi
	rm -rf "$dir"
done
[ "$failed" -eq 0 ]
