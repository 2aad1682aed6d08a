#!/bin/bash
# t0510: secret-environ and secret-environ-file with lithos_cmd and real
# containers (keys by ssh-keygen, values by lithos_crypt encrypt).
# - the process sees the decrypted values in its environment: namespaces of
#   the sandbox, extra-secrets-namespaces of the process entry, a list of
#   alternatives (the first one that decrypts wins);
# - secret-environ-file: an absolute path inside the image, a relative one
#   next to the container config; a symlink (absolute or relative) or a
#   path with .. pointing at a host file reads the image's file or fails,
#   never the host's;
# - nothing leaks while a container runs and after: no plaintext in the LXC
#   path (lxc.conf, lxc.log), runtime/state dir, stdio log, config log;
#   only the container's processes carry it (not lithos_cmd's cmdline or
#   environ); lithos_lxcconf and lithos_ps print none;
# - refusals stop only that command (exit 121) with an error naming the
#   variable and why, never the value: wrong key, namespace not allowed,
#   tampered payload, tampered hashes, v1 prefix, truncated values, no
#   value in a list decrypts, key file 0644 / 0640 / not owned by root /
#   RSA / public key only / missing, bad names in a secret-environ-file;
#   a command started before keeps running; secret-environ together with
#   secret-environ-file is a config error (lithos_check and lithos_cmd).
# TAP.  Needs root, LXC, busybox-static, ssh-keygen.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/itest.sh"
. "$top_srcdir/tests/lib/secrettest.sh"
itest_init t0510
st_init
LITHOS_PS=$top_builddir/lithos_ps

itest_image
IMG=$IMAGES/t/v1
CONFIG_LOG=$T/configlog
itest_master "config-log-dir: $CONFIG_LOG"
mkdir -p "$T/data"
chmod 1777 "$T/data"

st_key k1
st_key k2
st_key rsa rsa
# copies of k1 that break one rule each
cp "$KEYS/k1" "$KEYS/k1-0644" && chmod 0644 "$KEYS/k1-0644"
cp "$KEYS/k1" "$KEYS/k1-0640" && chmod 0640 "$KEYS/k1-0640"
cp "$KEYS/k1" "$KEYS/k1-nobody" && chown nobody "$KEYS/k1-nobody" && chmod 0600 "$KEYS/k1-nobody"
cp "$KEYS/k1.pub" "$KEYS/k1-pubonly" && chmod 0600 "$KEYS/k1-pubonly"

# ---- plaintexts and values (every plaintext holds $TAG)
P_A=$(st_plain alpha)
P_M=$(st_plain main-ns)
P_SPACE="$(st_plain spaced) with = and 'quotes' \$HOME"
P_ALT=$(st_plain alternative)
P_ALT_OTHER=$(st_plain alternative-other-key)
P_X=$(st_plain extra-ns)
P_FA=$(st_plain file-abs)
P_FR=$(st_plain file-rel)
P_HOST=$(st_plain host-file)
P_HOST2=$(st_plain host-file-2)
P_IMGH=$(st_plain image-file)
P_BAD=$(st_plain refused)

V_A=$(st_enc k1 "" "$P_A")
V_M=$(st_enc k1 main "$P_M")
V_SPACE=$(st_enc k1 "" "$P_SPACE")
V_ALT_K2=$(st_enc k2 "" "$P_ALT_OTHER")
V_ALT=$(st_enc k1 "" "$P_ALT")
V_X=$(st_enc k1 extra "$P_X")
V_FA=$(st_enc k1 "" "$P_FA")
V_FR=$(st_enc k1 "" "$P_FR")
V_HOST=$(st_enc k1 "" "$P_HOST")
V_HOST2=$(st_enc k1 "" "$P_HOST2")
V_IMGH=$(st_enc k1 "" "$P_IMGH")
V_BAD=$(st_enc k1 "" "$P_BAD")
V_BAD_K2=$(st_enc k2 "" "$P_BAD")
V_BAD_NS=$(st_enc k1 other "$P_BAD")
V_OTHER=$(st_enc k1 "" "$(st_plain other-secret)")

V_TAMPER_PAYLOAD=$(st_flip_payload "$V_BAD")
V_TAMPER_SHASH=$(st_set_field "$V_BAD" 4 "$(st_field "$V_OTHER" 4)")
V_TAMPER_NSHASH=$(st_set_field "$V_BAD" 3 "$(st_field "$V_M" 3)")
V_TAMPER_KHASH=$(st_set_field "$V_BAD" 2 "$(st_field "$V_BAD_K2" 2)")
V_V1=v1:${V_BAD#v2:}
V_TRUNC_PAYLOAD=${V_BAD:0:$((${#V_BAD} - 16))}
V_TRUNC_FIELDS=$(printf '%s' "$V_BAD" | cut -d: -f1-3)

# ---- sandboxes
sandbox() { # NAME KEY-FILE [YAML-LINES...]
	local n=$1 k=$2
	shift 2
	{
		echo "allow-users: [1000]"
		echo "allow-groups: [1000]"
		echo "writable-paths: {/data: $T/data}"
		echo "secrets-private-key: $k"
		printf '%s\n' "$@"
	} | itest_sandbox "$n"
}
sandbox s "$KEYS/k1" 'secrets-namespaces: ["", main]'
sandbox s0644 "$KEYS/k1-0644"
sandbox s0640 "$KEYS/k1-0640"
sandbox snobody "$KEYS/k1-nobody"
sandbox srsa "$KEYS/rsa"
sandbox spub "$KEYS/k1-pubonly"
sandbox smissing "$KEYS/no-such-key"
sandbox sboth "$KEYS/k1"

# a command printing its environment (non-shell: exactly what it got)
env_cmd() { # SANDBOX NAME [ENTRY-YAML] <<container-yaml-tail
	{
		echo "kind: Command"
		echo "user-id: 1000"
		echo "group-id: 1000"
		echo "interactive: true"
		echo "executable: /bin/cat"
		echo "arguments: [/proc/self/environ]"
		echo "environ: {PATH: /bin}"
		cat
	} | itest_command "$1" "$2" "${3:-}"
}
env_cmd s plain <<EOF
secret-environ:
  SECRET_A: "$V_A"
  SECRET_M: "$V_M"
  SECRET_SPACE: "$V_SPACE"
EOF
env_cmd s alt <<EOF
secret-environ:
  SECRET_ALT: ["$V_ALT_K2", "$V_ALT"]
  SECRET_FIRST: ["$V_A", "$V_ALT"]
EOF
env_cmd s extra "extra-secrets-namespaces: [extra]" <<EOF
secret-environ:
  SECRET_X: "$V_X"
  SECRET_M: "$V_M"
EOF
env_cmd s noextra <<EOF
secret-environ:
  SECRET_X: "$V_X"
EOF
env_cmd s fileabs <<EOF
secret-environ-file: /etc/lithos-secrets.yaml
EOF
env_cmd s filerel <<EOF
secret-environ-file: rel-secrets.yaml
EOF
env_cmd s linkabs <<EOF
secret-environ-file: /config/link-abs.yaml
EOF
env_cmd s linkrel <<EOF
secret-environ-file: /config/link-rel.yaml
EOF
env_cmd s linkimg <<EOF
secret-environ-file: /config/link-img.yaml
EOF
env_cmd s dotdot <<EOF
secret-environ-file: ../../../../../../../..$T/host/secrets.yaml
EOF
env_cmd s dotdotimg <<EOF
secret-environ-file: ../../../../../../../..$T/host2/secrets.yaml
EOF
env_cmd s dirfile <<EOF
secret-environ-file: /etc
EOF
env_cmd s nofile <<EOF
secret-environ-file: /etc/no-such-secrets.yaml
EOF
env_cmd s fifo <<EOF
secret-environ-file: /config/fifo.yaml
EOF
mkfifo "$IMG/config/fifo.yaml"
env_cmd s notmap <<EOF
secret-environ-file: /config/not-a-map.yaml
EOF
printf -- '- "%s"\n' "$V_BAD" >"$IMG/config/not-a-map.yaml"
# the image's files
cat >"$IMG/etc/lithos-secrets.yaml" <<EOF
SECRET_F: "$V_FA"
SECRET_LIST: ["$V_ALT_K2", "$V_ALT"]
EOF
cat >"$IMG/config/rel-secrets.yaml" <<EOF
SECRET_R: $V_FR
EOF
# host files the image must not reach: host/ is absent from the image,
# host2/ has a twin in the image
mkdir -p "$T/host" "$T/host2" "$IMG$T/host2"
echo "SECRET_H: \"$V_HOST\"" >"$T/host/secrets.yaml"
echo "SECRET_H: \"$V_HOST2\"" >"$T/host2/secrets.yaml"
echo "SECRET_H: \"$V_IMGH\"" >"$IMG$T/host2/secrets.yaml"
ln -sfn "$T/host/secrets.yaml" "$IMG/config/link-abs.yaml"
ln -sfn "../../../../../../../../../..$T/host/secrets.yaml" "$IMG/config/link-rel.yaml"
ln -sfn "$T/host2/secrets.yaml" "$IMG/config/link-img.yaml"

# a long-running command for the leak checks; it writes what it got to /data
itest_command s bg <<EOF
kind: Command
user-id: 1000
group-id: 1000
executable: /bin/sh
arguments: [-c, 'printf "%s\n" "\$SECRET_A" >/data/bg.out; exec sleep 1000']
environ: {PATH: /bin}
volumes:
  /data: !Persistent /data
secret-environ:
  SECRET_A: "$V_A"
EOF

# refusals: one command each
refuse() { # NAME VALUE-YAML [SANDBOX]
	env_cmd "${3:-s}" "$1" <<EOF
secret-environ:
  SECRET_OK: "$V_A"
  SECRET_BAD: $2
EOF
}
refuse wrongkey "\"$V_BAD_K2\""
refuse badns "\"$V_BAD_NS\""
refuse tpayload "\"$V_TAMPER_PAYLOAD\""
refuse tshash "\"$V_TAMPER_SHASH\""
refuse tnshash "\"$V_TAMPER_NSHASH\""
refuse tkhash "\"$V_TAMPER_KHASH\""
refuse v1 "\"$V_V1\""
refuse truncpayload "\"$V_TRUNC_PAYLOAD\""
refuse truncfields "\"$V_TRUNC_FIELDS\""
refuse plaintext "\"$P_BAD\""
refuse nonedecrypts "[\"$V_BAD_K2\", \"$V_BAD_NS\", \"$V_V1\"]"
for sb in s0644 s0640 snobody srsa spub smissing; do
	refuse key "\"$V_BAD\"" "$sb"
done
# names a secret-environ-file may not use (secret-environ refuses them when parsed)
env_cmd s badnames <<EOF
secret-environ-file: /etc/bad-names.yaml
EOF
cat >"$IMG/etc/bad-names.yaml" <<EOF
"": "$V_BAD"
"SECRET=BAD": "$V_BAD"
EOF
env_cmd sboth both <<EOF
secret-environ:
  SECRET_A: "$V_A"
secret-environ-file: /etc/lithos-secrets.yaml
EOF

environ() { tr '\0' '\n' <"$T/out"; }
has_var() { # NAME=VALUE: the environment printed holds exactly this line
	environ | grep -qxF -- "$1"
}

# ---- lithos_check: the runtime refusals are valid configs, "both" is not
out=$("$LITHOS_CHECK" -C "$MASTER" --sandbox s 2>&1)
is "$?" 0 "lithos_check: sandbox s (values that fail only at start) is valid" || diag "$out"
out=$("$LITHOS_CHECK" -C "$MASTER" --sandbox sboth 2>&1)
rc=$?
ok $([ $rc -ne 0 ] && echo 0 || echo 1) "lithos_check: secret-environ with secret-environ-file is an error (exit $rc)"
like "$out" "sboth\.both\.yaml:[0-9]+:[0-9]+: .*secret-environ-file conflicts with secret-environ" \
	"lithos_check names the file, line and both keys"
unlike "$out" "$(re "$TAG")" "lithos_check prints no plaintext"

# ---- values reach the process
run_cmd s plain
is "$rc" 0 "plain: exit 0" || diag_file "$T/err"
has_var "SECRET_A=$P_A"; ok $? "plain: SECRET_A (empty namespace) decrypted in the environment"
has_var "SECRET_M=$P_M"; ok $? "plain: SECRET_M (namespace main of secrets-namespaces) decrypted"
has_var "SECRET_SPACE=$P_SPACE"; ok $? "plain: a value with spaces, = and quotes arrives unchanged"
is "$(environ | grep -c '^SECRET_')" 3 "plain: exactly the three secret variables"
is "$err" "" "plain: nothing on stderr"

run_cmd s alt
is "$rc" 0 "alt: exit 0" || diag_file "$T/err"
has_var "SECRET_ALT=$P_ALT"; ok $? "alternatives: the second value (the first is for another key) is used"
has_var "SECRET_FIRST=$P_A"; ok $? "alternatives: when both decrypt, the first is used"

run_cmd s extra
is "$rc" 0 "extra-secrets-namespaces: exit 0" || diag_file "$T/err"
has_var "SECRET_X=$P_X"; ok $? "a namespace allowed by the process's extra-secrets-namespaces decrypts"
has_var "SECRET_M=$P_M"; ok $? "and the sandbox's namespaces still apply"

run_cmd s noextra
is "$rc" 121 "the same value without extra-secrets-namespaces: exit 121"
like "$err" 'SECRET_X.*namespace' "error names SECRET_X and the namespace problem"
unlike "$err" "$(re "$TAG")" "and not the value"

run_cmd s fileabs
is "$rc" 0 "secret-environ-file, absolute path inside the image: exit 0" || diag_file "$T/err"
has_var "SECRET_F=$P_FA"; ok $? "secret-environ-file: SECRET_F from the image's /etc/lithos-secrets.yaml"
has_var "SECRET_LIST=$P_ALT"; ok $? "secret-environ-file: a list of alternatives"

run_cmd s filerel
is "$rc" 0 "secret-environ-file, relative path: exit 0" || diag_file "$T/err"
has_var "SECRET_R=$P_FR"; ok $? "secret-environ-file: relative to the config's directory (/config)"

# symlinks and .. must stay inside the image
for c in linkabs linkrel dotdot; do
	run_cmd s $c
	ok $([ "$rc" -ne 0 ] && echo 0 || echo 1) "$c: pointing at a host file absent from the image: refused (exit $rc)"
	unlike "$(environ)" "$(re "$P_HOST")" "$c: the host file's secret is not in the environment"
	like "$err" 'secret-environ-file' "$c: error names secret-environ-file"
	unlike "$err" "$(re "$TAG")" "$c: no plaintext in the error"
done
for c in linkimg dotdotimg; do
	run_cmd s $c
	if [ "$rc" -eq 0 ]; then
		has_var "SECRET_H=$P_IMGH"; ok $? "$c: reads the image's file at that path"
	else
		ok 0 "$c: refused (exit $rc)"
	fi
	unlike "$(environ)" "$(re "$P_HOST2")" "$c: never the host's file"
done
run_cmd s dirfile
is "$rc" 121 "secret-environ-file naming a directory: exit 121"
like "$err" 'secret-environ-file.*/etc.*not a regular file' "the error says it is not a regular file"
run_cmd s nofile
is "$rc" 121 "secret-environ-file missing from the image: exit 121"
like "$err" 'secret-environ-file.*no-such-secrets\.yaml.*No such file' "the error names the file and why"
timeout 30 "$LITHOS_CMD" --master "$MASTER" s fifo </dev/null >/dev/null 2>&1
is "$?" 121 "secret-environ-file that is a FIFO in the image: exit 121, no hang"
run_cmd s notmap
is "$rc" 121 "secret-environ-file holding a list instead of a mapping: exit 121"
like "$err" 'not-a-map\.yaml:1:1: .*secret-environ-file' "the error names the file and position"
unlike "$err" "$(re "$TAG")" "no plaintext in the error"

# ---- a running container: nothing leaks
start_cmd s bg
wait_app sleep
ok $? "bg: the command runs (init $INITPID, process $APPPID)"
for i in $(seq 100); do [ -s "$T/data/bg.out" ] && break; sleep 0.05; done
is "$(cat "$T/data/bg.out" 2>/dev/null)" "$P_A" "bg: the process got SECRET_A"
tr '\0' '\n' <"/proc/$APPPID/environ" | grep -qxF "SECRET_A=$P_A"
ok $? "bg: /proc/PID/environ of the process (seen from the host) has SECRET_A"
grep -q '^lxc.environment = PATH=' "$LXCPATH/$LXCNAME/config" &&
	! grep -q 'SECRET_A' "$LXCPATH/$LXCNAME/config"
ok $? "bg: the container's lxc.conf has the environ's lxc.environment lines, none for SECRET_A"
DIRS="$LXCPATH $T/run $T/log $CONFIG_LOG"
is "$(st_leaks $DIRS)" "" "bg running: no plaintext below the lxc path, runtime/state dir, stdio log, config log"
is "$(st_proc_leaks "$CPID")" "" "bg running: lithos_cmd's cmdline and environ hold no plaintext"
container_pids=$(st_descendants "$INITPID" | LC_ALL=C sort -u)
outside=$(LC_ALL=C comm -23 <(st_procs_with_tag) <(printf '%s\n' $container_pids))
st_procs_with_tag | grep -qx "$APPPID"
ok $? "bg running: the scan of /proc finds the process's environment (it sees the plaintext)"
is "$outside" "" "bg running: only the container's processes carry the plaintext"
lxcconf=$("$LITHOS_LXCCONF" --master "$MASTER" s bg 2>&1)
ok $? "lithos_lxcconf s bg works"
unlike "$lxcconf" "$(re "$TAG")" "lithos_lxcconf prints no plaintext"
unlike "$lxcconf" "SECRET_A" "lithos_lxcconf has no line for SECRET_A"
if [ -x "$LITHOS_PS" ]; then
	ps_out=$("$LITHOS_PS" -C "$MASTER" --json 2>&1)
	unlike "$ps_out" "$(re "$TAG")" "lithos_ps --json prints no plaintext"
	ps_out=$("$LITHOS_PS" -C "$MASTER" 2>&1)
	unlike "$ps_out" "$(re "$TAG")" "lithos_ps prints no plaintext"
fi

# ---- refusals while bg runs: each stops only its own command
refusal() { # NAME REASON-ERE [SANDBOX] [VAR]
	local sb=${3:-s} var=${4:-SECRET_BAD}
	run_cmd "$sb" "$1"
	is "$rc" 121 "$sb/$1: refused with exit 121"
	printf '%s\n' "$err" | sed "s|$T|\$T|g" | head -3 | diag
	like "$err" "$var.*($2)" "$sb/$1: the error names $var and says why" || diag "$err"
	unlike "$err" "$(re "$TAG")" "$sb/$1: no plaintext in the error"
	is "$out" "" "$sb/$1: the process did not run"
}
refusal wrongkey 'wrong key'
refusal badns 'namespace'
refusal tpayload 'does not open|damaged'
refusal tshash 'secret hash mismatch'
refusal tnshash 'namespace hash mismatch'
refusal tkhash 'key hash mismatch|wrong key'
refusal v1 'v1 secrets are not supported'
refusal truncpayload 'truncated|not valid base64'
refusal truncfields 'truncated value'
refusal plaintext 'not an encrypted lithos secret'
refusal nonedecrypts 'any of its values'
refusal key 'mode is 0644' s0644 secrets-private-key
refusal key 'mode is 0640' s0640 secrets-private-key
refusal key 'owned by root' snobody secrets-private-key
refusal key 'RSA keys are not supported' srsa secrets-private-key
refusal key 'this is a public key' spub secrets-private-key
refusal key 'No such file' smissing secrets-private-key
refusal badnames 'is not a valid variable name' s 'secret-environ-file: (""|"SECRET=BAD")'
run_cmd sboth both
is "$rc" 121 "sboth/both: secret-environ with secret-environ-file: lithos_cmd exits 121"
like "$err" 'secret-environ-file conflicts with secret-environ' "sboth/both: and says why"

kill -0 "$CPID" 2>/dev/null && [ "$(lxc-info -n "$LXCNAME" -P "$LXCPATH" -s -H 2>/dev/null)" = RUNNING ]
ok $? "bg still runs after all refusals"
is "$(st_leaks $DIRS)" "" "after the refusals: no plaintext below the lxc path, runtime dir, logs, config log"
unlike "$(cat "$LXCPATH"/*/lxc.log 2>/dev/null)" "$(re "$TAG")" "no lxc.log holds a plaintext"
run_cmd s plain
is "$rc" 0 "a good command still starts after the refusals"
has_var "SECRET_A=$P_A"; ok $? "and gets its secret"

stop_cmd TERM
ok 0 "bg stopped (exit $rc)"
is "$(st_leaks $DIRS)" "" "after all: no plaintext below the lxc path, runtime dir, logs, config log"
is "$(stdio_log s | grep -cF -f "$TAGFILE")" 0 "the stdio log of s holds no plaintext"
check_no_leftovers "all commands"
done_testing
