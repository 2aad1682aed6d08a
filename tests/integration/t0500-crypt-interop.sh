#!/bin/sh
# t0500: lithos_crypt against an independent implementation of lithos's v2
# secrets (tests/integration/lithos_v2.py on PyNaCl), keys from ssh-keygen.
# TAP output.  Needs python3-nacl and openssh-client, skips without them.

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
CRYPT="$top_builddir/lithos_crypt"
HELPER="$top_srcdir/tests/integration/lithos_v2.py"

# Debian's python3-nacl belongs to /usr/bin/python3, which another python3
# earlier on PATH (pyenv, venv) may hide: try it first.
PYTHON=
for py in /usr/bin/python3 python3; do
	if "$py" -c "import nacl.bindings" >/dev/null 2>&1; then
		PYTHON=$py
		break
	fi
done
if [ -z "$PYTHON" ]; then
	echo "1..0 # SKIP python3-nacl not installed"
	exit 0
fi
if ! command -v ssh-keygen >/dev/null 2>&1; then
	echo "1..0 # SKIP ssh-keygen not installed (openssh-client)"
	exit 0
fi
if [ ! -x "$CRYPT" ]; then
	echo "Bail out! $CRYPT is not built"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/t0500.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

. "$top_srcdir/tests/lib/tap.sh"
py() { "$PYTHON" "$HELPER" "$@"; }
# one_line_error FILE: exactly one line on stderr
one_line() { [ "$(wc -l < "$1")" -eq 1 ]; }

for k in k1 k2 k3; do
	ssh-keygen -q -t ed25519 -N "" -C "t0500-$k" -f "$tmp/$k" || { echo "Bail out! ssh-keygen failed"; exit 1; }
done
cat "$tmp/k1" "$tmp/k2" > "$tmp/k12"
ssh-keygen -q -t ed25519 -N "t0500-passphrase" -C t0500-pass -f "$tmp/kpass"
ssh-keygen -q -t rsa -b 1024 -N "" -C t0500-rsa -f "$tmp/krsa"

# the independent side agrees with the reference's check values
is "$(py hash the_secret)" "8MtOoWUX" "PyNaCl side: hash of the_secret is 8MtOoWUX"
is "$(py hash myapp)" "KqWSX0BY" "PyNaCl side: hash of myapp is KqWSX0BY"

# ---- PyNaCl encrypts, lithos_crypt decrypts ----
secret='correct horse:battery staple'
v=$(py encrypt "$tmp/k1.pub" myapp "$secret")
"$CRYPT" decrypt -i "$tmp/k1" -d "$v" > "$tmp/out" 2> "$tmp/err"
ok $? "lithos_crypt decrypts a value PyNaCl encrypted"
is "$(cat "$tmp/out")" "$secret" "secret on stdout"
is "$(cat "$tmp/err")" "myapp:" "namespace on stderr"

"$CRYPT" check-key -k "$tmp/k1.pub" -d "$v" 2> "$tmp/err"
ok $? "lithos_crypt check-key accepts the PyNaCl value for its key"
"$CRYPT" check-key --key "$tmp/k2.pub" --data "$v" 2> "$tmp/err"
st=$?
ok $((st == 0)) "lithos_crypt check-key refuses another key"
one_line "$tmp/err"; ok $? "one line on stderr: $(cat "$tmp/err")"

v=$(py encrypt "$tmp/k2.pub" "" "пароль ✓")
out=$("$CRYPT" decrypt --private-key "$tmp/k12" --data "$v" 2> "$tmp/err")
ok $? "lithos_crypt decrypts with the second key of a two-key file"
is "$out" "пароль ✓" "UTF-8 secret, empty namespace"
is "$(cat "$tmp/err")" ":" "empty namespace on stderr"

"$CRYPT" decrypt -i "$tmp/k3" -d "$v" > "$tmp/out" 2> "$tmp/err"
ok $(($? == 0)) "lithos_crypt refuses to decrypt with the wrong key"
grep -q "wrong key" "$tmp/err"; ok $? "error says wrong key: $(cat "$tmp/err")"
one_line "$tmp/err"; ok $? "one line on stderr"
[ ! -s "$tmp/out" ]; ok $? "nothing on stdout"
! grep -q "пароль" "$tmp/err"; ok $? "the error does not show the secret"

# tamper with the payload PyNaCl made
payload=${v##*:}
head=${v%:*}
case $payload in
	A*) tampered="$head:B${payload#A}" ;;
	*) tampered="$head:A${payload#?}" ;;
esac
"$CRYPT" decrypt -i "$tmp/k2" -d "$tampered" > /dev/null 2> "$tmp/err"
ok $(($? == 0)) "lithos_crypt refuses a tampered PyNaCl value"
grep -q "tampered" "$tmp/err"; ok $? "error says tampered: $(cat "$tmp/err")"

# ---- lithos_crypt encrypts, PyNaCl decrypts ----
secret='s3cret with spaces: and "quotes"'
v=$("$CRYPT" encrypt -k "$tmp/k1.pub" -n project1.web -d "$secret")
ok $? "lithos_crypt encrypt"
out=$(py decrypt "$tmp/k1" "$v" 2> "$tmp/err")
ok $? "PyNaCl decrypts a value lithos_crypt encrypted"
is "$out" "$secret" "PyNaCl gets the secret back"
is "$(cat "$tmp/err")" "project1.web" "PyNaCl gets the namespace back"
py check-key "$tmp/k1.pub" "$v"; ok $? "PyNaCl check-key accepts it for k1"
py check-key "$tmp/k2.pub" "$v" 2> /dev/null; ok $(($? == 0)) "PyNaCl check-key refuses it for k2"

# the same key, namespace and secret give the same three hashes on both sides
pv=$(py encrypt "$tmp/k1.pub" project1.web "$secret")
is "$(echo "$v" | cut -d: -f1-4)" "$(echo "$pv" | cut -d: -f1-4)" \
	"version and hashes agree with PyNaCl's"

v=$("$CRYPT" encrypt --key "$tmp/k2.pub" --data "x")
out=$(py decrypt "$tmp/k12" "$v" 2> "$tmp/err")
is "$out" "x" "default namespace is empty: PyNaCl decrypts with the two-key file"
is "$(cat "$tmp/err")" "" "PyNaCl sees the empty namespace"

v=$("$CRYPT" encrypt -k "$tmp/k1.pub" -n ns -d "$secret")
tampered=$(echo "$v" | awk -F: -v h="$(py hash other)" 'BEGIN { OFS = ":" } { $4 = h; print }')
py decrypt "$tmp/k1" "$tampered" > /dev/null 2>&1
ok $(($? == 0)) "PyNaCl refuses a lithos_crypt value with a tampered secret hash"
"$CRYPT" decrypt -i "$tmp/k1" -d "$tampered" > /dev/null 2> "$tmp/err"
ok $(($? == 0)) "lithos_crypt refuses it too"
grep -q "secret hash mismatch" "$tmp/err"; ok $? "error says secret hash mismatch: $(cat "$tmp/err")"

# round trips of several lengths, both ways
i=0
for len in 1 15 16 63 200 1000; do
	s=$(head -c "$len" /dev/zero | tr '\0' 'q')
	v=$("$CRYPT" encrypt -k "$tmp/k2.pub" -n "len$len" -d "$s")
	[ "$(py decrypt "$tmp/k2" "$v" 2>/dev/null)" = "$s" ] || i=$((i + 1))
	v=$(py encrypt "$tmp/k2.pub" "len$len" "$s")
	[ "$("$CRYPT" decrypt -i "$tmp/k2" -d "$v" 2>/dev/null)" = "$s" ] || i=$((i + 1))
done
ok $i "round trips of 1..1000 bytes both ways"

# ---- refusals, each one line on stderr and a non-zero exit ----
refuses() { # refuses WANT NAME lithos_crypt-ARGS...
	want=$1; name=$2; shift 2
	"$CRYPT" "$@" > "$tmp/out" 2> "$tmp/err"
	st=$?
	if [ $st -ne 0 ] && one_line "$tmp/err" && grep -q -- "$want" "$tmp/err"; then
		ok 0 "$name: $(cat "$tmp/err")"
	else
		ok 1 "$name (exit $st)"
		sed 's/^/#   /' "$tmp/err"
	fi
}
v=$("$CRYPT" encrypt -k "$tmp/k1.pub" -d "$secret")
refuses "v1 secrets are not supported" "v1 prefix" decrypt -i "$tmp/k1" -d "v1:${v#v2:}"
refuses "truncated value" "value cut in the hashes" decrypt -i "$tmp/k1" -d "$(echo "$v" | cut -c1-20)"
refuses "truncated" "value cut in the payload" decrypt -i "$tmp/k1" -d "${v%?????}"
refuses "truncated value: the payload is empty" "value cut after the hashes" decrypt -i "$tmp/k1" -d "${v%:*}:"
refuses "password-protected" "ssh-keygen key with a passphrase" decrypt -i "$tmp/kpass" -d "$v"
refuses "RSA keys are not supported" "RSA private key" decrypt -i "$tmp/krsa" -d "$v"
refuses "RSA keys are not supported" "RSA public key" encrypt -k "$tmp/krsa.pub" -d x
refuses "invalid namespace" "namespace with a colon" encrypt -k "$tmp/k1.pub" -n "a:b" -d x
refuses "this is a private key" "private key given to encrypt" encrypt -k "$tmp/k1" -d x
refuses "No such file" "missing key file" encrypt -k "$tmp/nope.pub" -d x
refuses "missing -d" "encrypt without data" encrypt -k "$tmp/k1.pub"
refuses "unknown option --secret" "unknown option (its value is not echoed)" encrypt --secret=hunter2 -k "$tmp/k1.pub" -d x
! grep -q hunter2 "$tmp/err"; ok $? "the unknown option's value is not echoed"
refuses "unexpected extra argument" "unquoted data with a space" encrypt -k "$tmp/k1.pub" -d hunter2 hunter3
! grep -q hunter "$tmp/err"; ok $? "the extra argument is not echoed"
refuses "unknown command" "unknown command" frobnicate
refuses "missing command" "no command"

for c in encrypt decrypt check-key; do
	"$CRYPT" $c --help > "$tmp/out" 2>&1
	st=$?
	grep -q "^Usage: lithos_crypt $c" "$tmp/out"
	ok $((st + $?)) "lithos_crypt $c --help"
done
"$CRYPT" --help | grep -q "check-key"; ok $? "lithos_crypt --help lists the commands"

done_testing
