#!/bin/sh
# TAP test: build the libFuzzer target of the config parsers, replay the
# committed corpus, then fuzz for a bounded time (FUZZ_SECONDS, default 60).
#
# The build is the plain command line of tests/fuzz/fuzz_config.c:
#
#   clang-14 -g -O1 -std=gnu11 -D_GNU_SOURCE -Itranslator \
#     -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
#     tests/fuzz/fuzz_config.c translator/util.c translator/diag.c \
#     translator/yamltree.c translator/decode.c translator/model.c \
#     translator/paths.c translator/parse_master.c translator/parse_sandbox.c \
#     translator/parse_processes.c translator/parse_container.c translator/sources.c \
#     $(pkg-config --cflags --libs yaml-0.1) -o fuzz_config
#
# Skips when clang or its fuzzer runtime (libclang-rt-14-dev) is missing.
# A crash, leak, timeout or OOM input is saved as
# $top_builddir/tests/fuzz/{crash,leak,timeout,oom}-<sha1>.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
seconds=${FUZZ_SECONDS:-60}

cc=${FUZZ_CC:-}
if [ -z "$cc" ]; then
	for c in clang-14 clang; do
		if command -v "$c" >/dev/null 2>&1; then
			cc=$c
			break
		fi
	done
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lithos-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

skip() {
	echo "1..0 # SKIP $1"
	exit 0
}

[ -n "$cc" ] || skip "clang with libFuzzer not available"
printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' \
	>"$tmp/probe.c"
"$cc" -fsanitize=fuzzer,address,undefined "$tmp/probe.c" -o "$tmp/probe" >/dev/null 2>&1 ||
	skip "clang with libFuzzer not available"
yaml_flags=$(pkg-config --cflags --libs yaml-0.1 2>/dev/null) ||
	skip "libyaml (pkg-config yaml-0.1) not available"

echo "1..3"

t=$top_srcdir/translator
# shellcheck disable=SC2086 # yaml_flags is a list of flags
if "$cc" -g -O1 -std=gnu11 -D_GNU_SOURCE -I"$t" \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	"$top_srcdir/tests/fuzz/fuzz_config.c" \
	"$t/util.c" "$t/diag.c" "$t/yamltree.c" "$t/decode.c" "$t/model.c" \
	"$t/paths.c" "$t/parse_master.c" "$t/parse_sandbox.c" \
	"$t/parse_processes.c" "$t/parse_container.c" "$t/sources.c" \
	$yaml_flags -o "$tmp/fuzz_config" >"$tmp/build.log" 2>&1; then
	echo "ok 1 - build the fuzzer with $cc"
else
	echo "not ok 1 - build the fuzzer with $cc"
	sed 's/^/# /' "$tmp/build.log" | tail -30
	echo "ok 2 # SKIP no fuzzer"
	echo "ok 3 # SKIP no fuzzer"
	exit 0
fi

artifacts=$top_builddir/tests/fuzz
mkdir -p "$artifacts"
opts="-max_len=65536 -rss_limit_mb=2048 -timeout=5 -artifact_prefix=$artifacts/"
corpus=$top_srcdir/tests/fuzz/corpus
n=$(find "$corpus" -type f | wc -l)

# shellcheck disable=SC2086 # opts is a list of options
if "$tmp/fuzz_config" $opts -runs=0 "$corpus" >"$tmp/replay.log" 2>&1; then
	echo "ok 2 - replay the corpus ($n files)"
else
	echo "not ok 2 - replay the corpus ($n files)"
	grep -v '^INFO\|^#' "$tmp/replay.log" | sed 's/^/# /' | head -40
fi

# fuzz in a scratch copy, so the committed corpus is left as it is
mkdir "$tmp/work"
cp "$corpus"/* "$tmp/work/"
# shellcheck disable=SC2086
if "$tmp/fuzz_config" $opts -dict="$top_srcdir/tests/fuzz/lithos.dict" \
	-max_total_time="$seconds" -print_final_stats=1 "$tmp/work" >"$tmp/fuzz.log" 2>&1; then
	echo "ok 3 - fuzz for ${seconds}s without a crash, leak, timeout or OOM"
	grep '^stat::number_of_executed_units\|^stat::peak_rss_mb\|DONE' "$tmp/fuzz.log" | sed 's/^/# /'
else
	echo "not ok 3 - fuzz for ${seconds}s without a crash, leak, timeout or OOM"
	grep -v '^INFO\|^#[0-9]' "$tmp/fuzz.log" | sed 's/^/# /' | head -60
	ls "$artifacts" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' | sed "s|^|# saved: $artifacts/|"
fi
