# tests/lib/tap.sh: TAP output for the shell tests (sourced by bash).
#
#   . "$top_srcdir/tests/lib/tap.sh"
#   ok STATUS NAME; is GOT WANT NAME; like TEXT ERE NAME; unlike ...; todo; skip
#   diag TEXT (or stdin); diag_file FILE; skip_all REASON; bail_out REASON
#   done_testing            # prints the plan, exits 0 only if nothing failed
_itest_n=0
_itest_failed=0

ok() { # STATUS DESCRIPTION: status 0 passes
	_itest_n=$((_itest_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_itest_n - $2"
	else
		echo "not ok $_itest_n - $2"
		_itest_failed=$((_itest_failed + 1))
	fi
	[ "$1" -eq 0 ]
}
# a known product bug: reported as TODO (XFAIL), an XPASS says it is fixed
todo() { # STATUS DESCRIPTION REASON
	_itest_n=$((_itest_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_itest_n - $2 # TODO $3"
	else
		echo "not ok $_itest_n - $2 # TODO $3"
	fi
}
skip() { # DESCRIPTION REASON
	_itest_n=$((_itest_n + 1))
	echo "ok $_itest_n - $1 # SKIP $2"
}
diag() { # TEXT... or stdin
	if [ $# -gt 0 ]; then
		printf '%s\n' "$*" | sed 's/^/# /'
	else
		sed 's/^/# /'
	fi
}
diag_file() { # FILE [LABEL]: the file's last 40 lines as diagnostics
	[ -s "$1" ] || return 0
	echo "# --- ${2:-$1}:"
	tail -n 40 "$1" | sed 's/^/#   /'
}
is() { # GOT WANT DESCRIPTION
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		printf '%s\n' "got:" "$1" "expected:" "$2" | diag
		return 1
	fi
}
like() { # TEXT ERE DESCRIPTION: some line of TEXT matches
	if printf '%s\n' "$1" | grep -qE -- "$2"; then
		ok 0 "$3"
	else
		ok 1 "$3"
		printf '%s\n' "no line matches /$2/ in:" "$1" | diag
		return 1
	fi
}
unlike() { # TEXT ERE DESCRIPTION: no line of TEXT matches
	if printf '%s\n' "$1" | grep -qE -- "$2"; then
		ok 1 "$3"
		printf '%s\n' "a line matches /$2/ in:" "$1" | diag
		return 1
	else
		ok 0 "$3"
	fi
}
re() { # TEXT: TEXT quoted for an ERE
	printf '%s' "$1" | sed 's/[][\\.*^$+?(){}|]/\\&/g'
}
skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}
bail_out() {
	echo "Bail out! $*"
	exit 1
}
done_testing() {
	echo "1..$_itest_n"
	[ "$_itest_failed" -eq 0 ]
	exit $?
}

