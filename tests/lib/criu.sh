# tests/lib/criu.sh: CRIU for the integration tests (sourced after itest.sh
# or treetest.sh).
#
#   criu_test_env     PATH gets the TEST wrapper of scripts/install-criu.sh
#                     (PREFIX/test-bin/criu, with CRIU_FAULT=130, which the
#                     test VMs need), or the script skips with the reason
#                     when CRIU cannot run on this kernel
#
# LITHOS_CRIU_PREFIX (default /opt/lithos-criu) as in install-criu.sh.

criu_test_env() {
	local prefix=${LITHOS_CRIU_PREFIX:-/opt/lithos-criu} out
	CRIU_TEST_BIN=$prefix/test-bin
	[ -x "$CRIU_TEST_BIN/criu" ] ||
		bail_out "$CRIU_TEST_BIN/criu missing: scripts/prepare-host.sh (install-criu.sh) did not run"
	if ! out=$(timeout 30 "$CRIU_TEST_BIN/criu" check 2>&1); then
		skip_all "this kernel cannot run CRIU (\`criu check\` through $CRIU_TEST_BIN/criu failed: $(printf '%s' "$out" | tail -1))"
	fi
	export PATH=$CRIU_TEST_BIN:$PATH
}
