#!/bin/bash
# Run every lithos-lxc test, from a fresh Debian 12 machine.
#
#   ./scripts/test.sh            (as root: installs packages, prepares the host)
#
# 1. installs the Debian packages it needs (apt-get, skipped when all are
#    installed) and prepares the host (subuid/subgid for root);
# 2. builds from this checkout (./autogen.sh, configure, make -j2) in _build/;
# 3. runs `make check`: unit tests, integration tests and a bounded fuzz run,
#    all through automake's TAP driver (tests needing root skip otherwise);
# 4. prints the log of every failed test file and, as the last line,
#    "N passed, N failed, N skipped" over individual TAP test points.
# Exits non-zero if the build or any test failed.
#
# Environment: LITHOS_JOBS (make -j, default 2), LITHOS_TEST_JOBS (tests run
# in parallel, default 1), LITHOS_TEST_TIMEOUT (seconds for the whole
# `make check`, default 3000), LITHOS_BUILD_DIR, LITHOS_CONFIGURE_FLAGS.
set -uo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
cd "$SRC"
exec </dev/null

JOBS=${LITHOS_JOBS:-2}
TEST_JOBS=${LITHOS_TEST_JOBS:-1}
TEST_TIMEOUT=${LITHOS_TEST_TIMEOUT:-3000}
EXTRA=()
start=$(date +%s)

step() { echo; echo "==> $*"; }

step "dependencies"
if ! ./scripts/install-deps.sh; then
	EXTRA+=("installing dependencies (scripts/install-deps.sh)")
fi
if [ "$(id -u)" -eq 0 ]; then
	./scripts/prepare-host.sh || EXTRA+=("preparing the host (scripts/prepare-host.sh)")
else
	echo "test: not root: host not prepared, tests that need root will skip"
fi

B=$(./scripts/build.sh --print-dir)

# forget results of an earlier run (including tests that no longer exist)
if [ -d "$B/tests" ]; then
	find "$B/tests" -name '*.trs' -print0 | while IFS= read -r -d '' t; do
		rm -f "$t" "${t%.trs}.log"
	done
fi
rm -f "$B/test-suite.log"

if [ "${#EXTRA[@]}" -eq 0 ]; then
	step "build in $B"
	if ! LITHOS_JOBS=$JOBS ./scripts/build.sh; then
		EXTRA+=("build (scripts/build.sh)")
	fi
fi

if [ "${#EXTRA[@]}" -eq 0 ]; then
	step "build the tests"
	if ! make -C "$B" -j"$JOBS" check TESTS=; then
		EXTRA+=("building the tests (make check TESTS=)")
	else
		step "make check"
		timeout -k 30 "$TEST_TIMEOUT" make -C "$B" -j"$TEST_JOBS" check
		rc=$?
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			EXTRA+=("make check did not finish within ${TEST_TIMEOUT}s")
		elif [ "$rc" -ne 0 ]; then
			# a failing test is counted from its .trs; make check failing
			# with no failing test point is a failure of its own
			if ! grep -rqs -E '^:(test-result|global-test-result): (FAIL|XPASS|ERROR)' \
				--include='*.trs' "$B/tests"; then
				EXTRA+=("make check exited with status $rc")
			fi
		fi
	fi
fi

echo
echo "test: took $(($(date +%s) - start))s"
./scripts/summarize-tests.sh "$B" "${EXTRA[@]}"
