# tests/bench/lib.sh: helpers shared by the benchmark scripts (sourced, bash).
#
# Benchmarks are not tests: they print medians and ratios of interleaved runs
# against a baseline measured side by side, and never fail on a figure.

BENCH_TOP=${BENCH_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# where lithos_* were built: `make -j2` in the repo root puts them there,
# scripts/test.sh and scripts/quickstart.sh in _build/
if [ -z "${BENCH_BUILDDIR:-}" ]; then
	BENCH_BUILDDIR=$BENCH_TOP
	[ ! -x "$BENCH_TOP/lithos_cmd" ] && [ -x "$BENCH_TOP/_build/lithos_cmd" ] && BENCH_BUILDDIR=$BENCH_TOP/_build
fi

bench_die() { echo "${0##*/}: error: $*" >&2; exit 1; }
bench_note() { echo "${0##*/}: $*" >&2; }

# stats FILE: one number per line -> "n median p90 min max" (nearest rank)
bench_stats() {
	sort -n "$1" | awk '
		{ v[NR] = $1 }
		END {
			n = NR
			if (!n) { print "0 - - - -"; exit }
			med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
			r = int(0.9 * n + 0.999999); if (r < 1) r = 1; if (r > n) r = n
			printf "%d %.2f %.2f %.2f %.2f\n", n, med, v[r], v[1], v[n]
		}'
}

# median FILE
bench_median() { bench_stats "$1" | awk '{ print $2 }'; }
# p90 FILE
bench_p90() { bench_stats "$1" | awk '{ print $3 }'; }

# ratio A B -> A/B with 2 decimals
bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'; }

# Copy the lithos binaries and templates into DIR so that a concurrent
# rebuild of the tree cannot swap them in the middle of a run.  Exports
# LITHOS_HOOK, LITHOS_INIT and LITHOS_TEMPLATES_DIR so lithos_cmd uses the
# copies.
bench_snapshot_bins() { # DIR PROG...
	local dir=$1 p
	shift
	mkdir -p "$dir"
	for p in "$@"; do
		[ -x "$BENCH_BUILDDIR/$p" ] || bench_die "$BENCH_BUILDDIR/$p is not built (run make -j2 in $BENCH_TOP)"
		cp "$BENCH_BUILDDIR/$p" "$dir/$p"
	done
	if [ -d "$BENCH_TOP/templates" ]; then
		cp -r "$BENCH_TOP/templates" "$dir/templates"
		export LITHOS_TEMPLATES_DIR=$dir/templates
	fi
	[ -x "$dir/lithos_hook" ] && export LITHOS_HOOK=$dir/lithos_hook
	[ -x "$dir/lithos_init" ] && export LITHOS_INIT=$dir/lithos_init
	return 0
}

bench_machine() {
	echo "kernel $(uname -r), $(nproc) cpus ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1))," \
		"$(awk '/MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo)," \
		"$(. /etc/os-release && echo "$PRETTY_NAME"), lxc $(lxc-execute --version 2>/dev/null || echo '?')"
}

# CPU_MS = user+sys ms of this shell's waited-for children and their
# descendants (for a container start: hooks, LXC's monitor and the
# container's processes), read with the builtin `times` (1 ms resolution, no
# fork).  Work the kernel does in its own threads (namespace teardown, RCU
# callbacks) is not in it.  Must run in the shell that runs the commands,
# not in $(...).
bench_child_cpu_ms() { # SCRATCHFILE
	local u s m min sec
	times >"$1"
	{ read -r _; read -r u s; } <"$1"
	CPU_MS=0
	for m in "$u" "$s"; do
		min=${m%%m*} sec=${m#*m}
		sec=${sec%s}
		CPU_MS=$((CPU_MS + min * 60000 + 10#${sec/./}))
	done
}
