#!/bin/bash
# Summarize an automake TAP test run.
#
#   scripts/summarize-tests.sh BUILD_DIR [EXTRA_FAILURE...]
#
# Reads every BUILD_DIR/tests/**/*.trs, prints the .log of each test file that
# failed, one line per skipped test point with its reason, every
# EXTRA_FAILURE (e.g. "build failed"; each counts as one failure), and as the
# very last line:
#
#   N passed, N failed, N skipped
#
# counted over individual TAP test points (PASS and XFAIL are passed; FAIL,
# XPASS and ERROR failed; SKIP skipped).  Exits 1 if anything failed.
set -uo pipefail

dir=${1:?usage: summarize-tests.sh BUILD_DIR [EXTRA_FAILURE...]}
shift

pass=0 fail=0 skip=0
failed_logs=()
skipped=()

while IFS= read -r -d '' trs; do
	bad=0
	while read -r _ res _; do
		case $res in
		PASS | XFAIL) pass=$((pass + 1)) ;;
		FAIL | XPASS | ERROR) fail=$((fail + 1)); bad=1 ;;
		SKIP) skip=$((skip + 1)) ;;
		esac
	done < <(grep '^:test-result:' "$trs")
	global=$(sed -n 's/^:global-test-result:[[:space:]]*//p' "$trs")
	case $global in FAIL | XPASS | ERROR) bad=1 ;; esac
	log=${trs%.trs}.log
	name=${trs#"$dir"/}
	name=${name%.trs}
	if [ "$bad" = 1 ]; then
		failed_logs+=("$name.log")
	fi
	if [ -f "$log" ]; then
		while IFS= read -r l; do
			skipped+=("$l")
		done < <(grep '^SKIP: ' "$log" | sed 's/^SKIP: //' | head -n 20)
	fi
done < <(find "$dir/tests" -name '*.trs' -print0 2>/dev/null | sort -z)

files=$(find "$dir/tests" -name '*.trs' 2>/dev/null | wc -l)

if [ "${#failed_logs[@]}" -gt 0 ]; then
	echo
	echo "==================== failed test files ===================="
	for name in "${failed_logs[@]}"; do
		echo
		echo "---------- $name ----------"
		cat "$dir/$name" 2>/dev/null || echo "(no log)"
	done
	echo
	echo "==========================================================="
	echo "failed test files: ${failed_logs[*]}"
fi

if [ "${#skipped[@]}" -gt 0 ]; then
	echo
	echo "skipped:"
	printf '  %s\n' "${skipped[@]}"
fi

for e in "$@"; do
	echo "FAILED: $e"
	fail=$((fail + 1))
done

echo "($files test files in $dir)"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
