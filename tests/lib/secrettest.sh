# tests/lib/secrettest.sh: helpers of the secret-environ integration tests
# (tests/integration/t051N-*.sh), sourced after tests/lib/itest.sh (or
# treetest.sh) and itest_init.
#
#   st_init                    # ssh-keygen and lithos_crypt present, keys in $KEYS
#   st_key NAME [TYPE]         # $KEYS/NAME(.pub) by ssh-keygen (ed25519 unless TYPE)
#   P=$(st_plain NAME)         # a plaintext NAME-$TAG: every plaintext holds $TAG
#   V=$(st_enc KEY NS DATA)    # lithos_crypt encrypt with $KEYS/KEY.pub
#   st_field V N / st_set_field V N NEW / st_flip_payload V
#   st_leaks DIR...            # files below DIRs holding $TAG ("" when none)
#   st_proc_leaks PID...       # /proc/PID/{cmdline,environ} holding $TAG
#
# $TAG is random per run and is never passed on a command line: greps read
# it from the file $TAGFILE, so the grep itself is no false positive.

LITHOS_CRYPT=$top_builddir/lithos_crypt
LITHOS_CHECK=$top_builddir/lithos_check

st_init() {
	command -v ssh-keygen >/dev/null 2>&1 || skip_all "ssh-keygen not installed (openssh-client)"
	local p
	for p in "$LITHOS_CRYPT" "$LITHOS_CHECK"; do
		[ -x "$p" ] || bail_out "$p was not built (make)"
	done
	KEYS=$T/keys
	mkdir -p "$KEYS"
	chmod 0700 "$KEYS"
	TAG=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
	TAGFILE=$T/tag.pattern
	printf '%s\n' "$TAG" >"$TAGFILE"
}

# st_key NAME [TYPE [BITS]]: a fresh key pair without passphrase, root's, 0600
st_key() {
	local t=${2:-ed25519}
	rm -f "$KEYS/$1" "$KEYS/$1.pub"
	if [ "$t" = rsa ]; then
		ssh-keygen -q -t rsa -b 2048 -N "" -C "" -f "$KEYS/$1" >/dev/null </dev/null
	else
		ssh-keygen -q -t "$t" -N "" -C "" -f "$KEYS/$1" >/dev/null </dev/null
	fi || bail_out "ssh-keygen -t $t failed"
	chown 0:0 "$KEYS/$1"
	chmod 0600 "$KEYS/$1"
}

st_plain() {
	printf '%s-%s' "$1" "$TAG"
}

# st_enc KEY NAMESPACE DATA: the v2 value of DATA for $KEYS/KEY.pub
st_enc() {
	"$LITHOS_CRYPT" encrypt -k "$KEYS/$1.pub" -n "$2" -d "$3" ||
		bail_out "lithos_crypt encrypt -k $1.pub -n '$2' failed"
}

# st_field VALUE N: the Nth ':'-separated field (1: v2, 2: key hash,
# 3: namespace hash, 4: secret hash, 5: payload)
st_field() {
	printf '%s' "$1" | cut -d: -f"$2"
}
# st_set_field VALUE N NEW: VALUE with field N replaced
st_set_field() {
	printf '%s' "$1" | awk -F: -v OFS=: -v n="$2" -v new="$3" '{ $n = new; print }'
}
# st_flip_payload VALUE: one base64 character in the middle of the payload
# changed (still valid base64, the box does not open any more)
st_flip_payload() {
	local p c i
	p=$(st_field "$1" 5)
	i=$((${#p} / 2))
	c=${p:i:1}
	if [ "$c" = A ]; then c=B; else c=A; fi
	st_set_field "$1" 5 "${p:0:i}$c${p:i+1}"
}

# st_leaks DIR...: the files below the DIRs that hold $TAG
st_leaks() {
	local d
	for d in "$@"; do
		[ -e "$d" ] && grep -rlaF -f "$TAGFILE" -- "$d" 2>/dev/null
	done
	return 0
}
# st_proc_leaks PID...: which of /proc/PID/cmdline and environ hold $TAG
st_proc_leaks() {
	local p f
	for p in "$@"; do
		for f in cmdline environ; do
			if [ ! -r "/proc/$p/$f" ]; then
				echo "/proc/$p/$f unreadable"
			elif grep -qaF -f "$TAGFILE" "/proc/$p/$f"; then
				echo "/proc/$p/$f"
			fi
		done
	done
	return 0
}
# st_procs_with_tag: pids of all host processes whose environ or cmdline holds $TAG
st_procs_with_tag() {
	local f p
	for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do
		p=${f#/proc/}
		p=${p%%/*}
		[ "$p" = "$$" ] || [ "$p" = "$BASHPID" ] && continue
		grep -qaF -f "$TAGFILE" "$f" 2>/dev/null && echo "$p"
	done | LC_ALL=C sort -u
}
# st_descendants PID: PID and every process below it
st_descendants() {
	local c
	echo "$1"
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		st_descendants "$c"
	done
}
