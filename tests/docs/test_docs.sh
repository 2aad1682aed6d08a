#!/bin/bash
# test_docs: the --help texts, the man pages and README.md agree with the
# code and with each other.  TAP; no root, no LXC (the commands only print
# their usage).
#
# For every command (the programs of Makefile.am and the lxc-create
# template), from its source:
#   - the long options of its getopt table (lithos_init: its strcmp()s,
#     lxc-lithos: getopt -l) are each named in --help and in the man
#     page's OPTIONS section, and every --option that --help, the man
#     page's SYNOPSIS or an OPTIONS tag names is in the table;
#   - every EXIT_* code #defined for it is listed in the man page's EXIT
#     STATUS (and in --help when --help has an exit status paragraph);
#   - its man page is installed (Makefile.am) and renders without warnings.
# README.md: every command has a row in the commands table and its
# --options exist; the layout table names paths that exist, and every
# script, doc and tests/ directory is named there.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
S=$top_srcdir
B=$top_builddir

n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $*"; }
# check DESCRIPTION PROBLEMS...: ok when no problem lines were given
check() {
	local what=$1
	shift
	if [ $# -eq 0 ]; then
		ok "$what"
	else
		not_ok "$what"
		printf '#   %s\n' "$@"
	fi
}

# the commands: name source man [help mode]
#   help: help (CMD --help, exit 0), crypt (each subcommand's --help too),
#   usage2 (usage on stderr, exit 2: lithos_init, lithos_hook), none
#   (lithos_knot: no --help, exit 2), template
CMDS=(
	"lithos_check supervisor/lithos_check.c man/lithos_check.1 help"
	"lithos_cmd supervisor/lithos_cmd.c man/lithos_cmd.1 help"
	"lithos_tree supervisor/lithos_tree.c man/lithos_tree.1 help"
	"lithos_knot supervisor/lithos_knot.c man/lithos_knot.8 none"
	"lithos_ps supervisor/lithos_ps.c man/lithos_ps.1 help"
	"lithos_switch supervisor/lithos_switch.c man/lithos_switch.1 help"
	"lithos_clean supervisor/lithos_clean.c man/lithos_clean.1 help"
	"lithos_crypt supervisor/lithos_crypt.c man/lithos_crypt.1 crypt"
	"lithos_lxcconf supervisor/lithos_lxcconf.c man/lithos_lxcconf.1 help"
	"lithos_checkpoint supervisor/lithos_checkpoint.c man/lithos_checkpoint.1 help"
	"lithos_restore supervisor/lithos_restore.c man/lithos_restore.1 help"
	"lithos_migrate supervisor/lithos_migrate.c man/lithos_migrate.1 help"
	"lithos_mkdev supervisor/lithos_mkdev.c man/lithos_mkdev.1 help"
	"lithos_hook hooks/lithos_hook.c man/lithos_hook.8 usage2"
	"lithos_init supervisor/lithos_init.c man/lithos_init.8 usage2"
	"lxc-lithos templates/lxc-lithos.in man/lxc-lithos.7 template"
)
# options a command gives itself and --help leaves out on purpose
declare -A HIDDEN=([lithos_tree]="reexec-state lock-fd")
# --options --help names that belong to another program
declare -A FOREIGN=([lithos_checkpoint]="prev-images-dir")

for c in lithos_check lithos_cmd lithos_tree lithos_knot lithos_ps lithos_switch \
	lithos_clean lithos_crypt lithos_lxcconf lithos_checkpoint lithos_restore \
	lithos_migrate lithos_mkdev lithos_hook lithos_init; do
	if [ ! -x "$B/$c" ]; then
		echo "Bail out! $B/$c was not built"
		exit 1
	fi
done

# the long options of a command's source, one a line
src_options() { # NAME SOURCE
	case $1 in
	lithos_init)
		grep -oE 'strcmp\([a-z]+(\[[a-z]\])?, "--[a-z][a-z0-9-]*"\)' "$S/$2" |
			grep -oE -- '--[a-z][a-z0-9-]*' | sed 's/^--//' | grep -vx ''
		;;
	lxc-lithos)
		sed -n 's/^.*[[:space:]]-l \([a-z0-9:,-]*\).*/\1/p' "$S/$2" | tr ',' '\n' | tr -d ':'
		;;
	*)
		grep -oE '\{ ?"[a-z][a-z0-9-]*", *(no|required|optional)_argument' "$S/$2" |
			sed -E 's/\{ ?"([^"]*)".*/\1/'
		;;
	esac | sort -u
}

# the help text (stdout and stderr) and its exit status in $help, $hrc
get_help() { # NAME MODE
	case $2 in
	help) help=$("$B/$1" --help 2>&1) && hrc=0 || hrc=$? ;;
	crypt)
		help=$("$B/$1" --help 2>&1) && hrc=0 || hrc=$?
		local sub h
		for sub in encrypt decrypt check-key; do
			h=$("$B/$1" "$sub" --help 2>&1) || hrc=$?
			help+=$'\n'$h
		done
		;;
	usage2) help=$(env -u LXC_CONFIG_FILE -u LXC_HOOK_TYPE "$B/$1" --no-such-option 2>&1) && hrc=0 || hrc=$? ;;
	none) help=$("$B/$1" --help 2>&1) && hrc=0 || hrc=$? ;;
	template) help=$(sh "$S/templates/lxc-lithos.in" --help 2>&1) && hrc=0 || hrc=$? ;;
	esac
}

# a man page's source with \- as -, and one section of it
man_text() { sed 's/\\-/-/g' "$S/$1"; }
man_section() { # MAN SECTION
	man_text "$1" | awk -v s=".SH $2" '$0 == s { on = 1; next } /^\.SH / { on = 0 } on'
}
# the tag lines of OPTIONS (the line after each .TP)
man_option_tags() {
	man_section "$1" OPTIONS | awk 'prev == ".TP" { print } { prev = $0 }'
}
has_word() { # TEXT OPTION
	grep -qE -- "--$2([^a-z0-9-]|\$)" <<<"$1"
}
in_list() { # WORD LIST...
	local w=$1 x
	shift
	for x in "$@"; do [ "$x" = "$w" ] && return 0; done
	return 1
}

for row in "${CMDS[@]}"; do
	read -r name src man mode <<<"$row"
	mapfile -t opts < <(src_options "$name" "$src")
	get_help "$name" "$mode"
	hidden=(${HIDDEN[$name]:-})
	foreign=(${FOREIGN[$name]:-})

	# --help: exit status and usage
	case $mode in
	help | crypt | template) want=0 ;;
	*) want=2 ;;
	esac
	probs=()
	[ "$hrc" -eq "$want" ] || probs+=("exit $hrc, expected $want")
	if [ "$mode" != none ] && ! grep -q '^Usage: ' <<<"$help"; then
		probs+=("no 'Usage: ' line")
	fi
	check "$name: --help exits $want with its usage" "${probs[@]}"

	# every option of the table in --help, and nothing else there
	probs=()
	if [ "$mode" != none ]; then
		for o in "${opts[@]}"; do
			in_list "$o" "${hidden[@]}" && continue
			has_word "$help" "$o" || probs+=("--$o is in $src but not in --help")
		done
		for o in $(grep -oE -- '--[a-z][a-z0-9-]*' <<<"$help" | sed 's/^--//' | sort -u); do
			in_list "$o" "${opts[@]}" "${foreign[@]}" ||
				probs+=("--help names --$o, which $src does not have")
		done
		check "$name: --help names exactly the options of $src (${#opts[@]})" "${probs[@]}"
	fi

	# the man page: OPTIONS has every option; SYNOPSIS and tags none other
	if [ ! -f "$S/$man" ]; then
		not_ok "$name: man page $man exists"
		continue
	fi
	opt_text=$(man_section "$man" OPTIONS)
	probs=()
	for o in "${opts[@]}"; do
		has_word "$opt_text" "$o" || probs+=("--$o is in $src but not in OPTIONS of $man")
	done
	for o in $( (man_section "$man" SYNOPSIS; man_option_tags "$man") |
		grep -oE -- '--[a-z][a-z0-9-]*' | sed 's/^--//' | sort -u); do
		in_list "$o" "${opts[@]}" || probs+=("$man names --$o (SYNOPSIS or an OPTIONS tag), which $src does not have")
	done
	check "$name: $man describes exactly the options of $src" "${probs[@]}"

	# SYNOPSIS names each option of the table, by one of its names or its
	# short form (options with the same getopt value are one)
	if [[ $src == *.c ]] && [ "$name" != lithos_init ]; then
		syn=$(man_section "$man" SYNOPSIS)
		probs=()
		while read -r val names; do
			found=0
			for o in $names; do
				in_list "$o" "${hidden[@]}" && found=1
				has_word "$syn" "$o" && found=1
			done
			if [[ $val =~ ^\'([a-zA-Z])\'$ ]] &&
				grep -qE -- "(^|[^a-zA-Z0-9-])-${BASH_REMATCH[1]}([^a-zA-Z0-9-]|\$)" <<<"$syn"; then
				found=1
			fi
			[ "$found" -eq 1 ] || probs+=("SYNOPSIS of $man has none of: $(printf -- '--%s ' $names)")
		done < <(grep -oE '\{ ?"[a-z][a-z0-9-]*", *[a-z_]+, *NULL, *[^ }]+ ?\}' "$S/$src" |
			sed -E 's/\{ ?"([^"]*)", *[a-z_]+, *NULL, *([^ }]+) ?\}/\2 \1/' |
			awk '{ v[$1] = v[$1] " " $2 } END { for (k in v) print k v[k] }')
		check "$name: SYNOPSIS of $man has every option of $src" "${probs[@]}"
	fi

	# exit codes: every EXIT_* the command defines (and those it takes
	# from criurun.h and prestart.h) in EXIT STATUS, and in --help's
	# exit status paragraph when it has one
	codes=$(grep -hoE '^#define (EXIT|PRESTART_ERR)_[A-Z_]+ +[0-9]+' "$S/$src" \
		$(grep -q EXIT_RESTORE_FAILED "$S/$src" && echo "$S/supervisor/criurun.h") \
		$(grep -q '#include "prestart.h"' "$S/$src" && echo "$S/hooks/prestart.h") |
		awk '{ print $3 }' | sort -un)
	if [ -n "$codes" ]; then
		exit_text=$(man_section "$man" "EXIT STATUS")
		hexit=$(sed -n '/Exit status/,$p' <<<"$help")
		probs=()
		for code in $codes; do
			grep -qE "^\.BR? $code( |\$)" <<<"$exit_text" ||
				probs+=("exit $code ($src) is not listed in EXIT STATUS of $man")
			if [ -n "$hexit" ] && ! grep -qE "(^|[^0-9+])$code([^0-9]|\$)" <<<"$hexit"; then
				probs+=("exit $code ($src) is not in --help's exit status")
			fi
		done
		check "$name: exit codes $(echo $codes) are documented" "${probs[@]}"
	fi

	# renders without warnings
	if command -v man >/dev/null 2>&1 && man --help 2>&1 | grep -q -- --warnings; then
		warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$S/$man" 2>&1 >/dev/null)
		check "$man renders without warnings" ${warn:+"$warn"}
	else
		skip "$man rendering: man(1) with --warnings is not installed"
	fi
done

# every man page is installed, every installed program has one
mk=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$S/Makefile.am")
progs=$(grep -E '^(bin|pkglibexec)_PROGRAMS *\+?=' <<<"$mk" | sed 's/^[^=]*=//' | tr ' \t' '\n\n' | grep -v '^$' | sort -u)
mans=$(grep -E '^dist_man[0-9]_MANS *\+?=' <<<"$mk" | sed 's/^[^=]*=//' | tr ' \t' '\n\n' | grep -v '^$' | sort -u)
probs=()
for f in "$S"/man/*.[0-9]; do
	grep -qx "man/${f##*/}" <<<"$mans" || probs+=("man/${f##*/} is not in a dist_man*_MANS of Makefile.am")
done
for m in $mans; do
	[ -f "$S/$m" ] || probs+=("Makefile.am installs $m, which does not exist")
done
for p in $progs; do
	ls "$S"/man/"$p".[0-9] >/dev/null 2>&1 || probs+=("$p (Makefile.am) has no man page")
done
check "Makefile.am installs every man page, and every program has one" "${probs[@]}"

# README's commands table: each command has a row, and the options exist
readme=$S/README.md
rows=$(awk '/^## Commands/ { on = 1; next } /^## / { on = 0 } on && /^\| `/' "$readme")
probs=()
for p in $(grep -E '^bin_PROGRAMS' <<<"$mk" | sed 's/^[^=]*=//'); do
	grep -qE "^\| \`$p( |\`)" <<<"$rows" || probs+=("$p has no row in README's commands table")
done
while IFS= read -r r; do
	cmdline=$(sed -E 's/^\| `([^`]*)`.*/\1/' <<<"$r")
	set -- $cmdline
	cmd=$1
	[ "$cmd" = lxc-create ] && cmd=lxc-lithos
	src=
	for row in "${CMDS[@]}"; do
		read -r name s _ <<<"$row"
		[ "$name" = "$cmd" ] && src=$s
	done
	if [ -z "$src" ]; then
		probs+=("README row of unknown command $cmd")
		continue
	fi
	mapfile -t opts < <(src_options "$cmd" "$src")
	[ "$cmd" = lxc-lithos ] && opts+=(n t)
	for o in $(grep -oE -- '--[a-z][a-z0-9-]*' <<<"$cmdline" | sed 's/^--//' | sort -u); do
		in_list "$o" "${opts[@]}" || probs+=("README: $cmd --$o is not an option of $src")
	done
done <<<"$rows"
check "README's commands table: every command, only real options" "${probs[@]}"

# README's layout table (of a checkout: a dist tarball has no docs/)
if [ ! -d "$S/docs" ]; then
	skip "README's layout table: $S is not a checkout (no docs/)"
else
	layout=$(awk '/^## Layout/ { on = 1; next } /^## / { on = 0 } on && /^\| `/' "$readme")
	probs=()
	named=""
	while IFS= read -r r; do
		path=$(sed -E 's/^\| `([^`]*)`.*/\1/' <<<"$r")
		named+=" $path"
		[ -e "$S/$path" ] || { probs+=("layout names $path, which does not exist"); continue; }
		[ -d "$S/$path" ] || continue
		what=$(sed -E 's/^\| `[^`]*` \|//' <<<"$r")
		for t in $(grep -oE '`[^`]+`' <<<"$what" | tr -d '`' | awk '{ print $1 }'); do
			grep -qE '^[A-Za-z0-9_.*/-]+\.(c|h|conf|seccomp|in|md|yaml|sh)$' <<<"$t" || continue
			[ "$t" = lxc.conf ] && continue # the format, not a file
			# relative to the row's directory, or to the top
			if compgen -G "$S/$path$t" >/dev/null; then
				named+=" $path$t"
			elif ! compgen -G "$S/$t" >/dev/null; then
				probs+=("layout: $path$t does not exist")
			fi
		done
	done <<<"$layout"
	for f in "$S"/scripts/* "$S"/docs/*; do
		rel=${f#"$S"/}
		grep -qF " $rel" <<<"$named" || probs+=("$rel is not named in README's layout table")
	done
	for d in "$S"/tests/*/; do
		rel=${d#"$S"/}
		grep -qF " $rel" <<<"$named" || probs+=("$rel is not in README's layout table")
	done
	check "README's layout table: paths exist, scripts/, docs/ and tests/ are all named" "${probs[@]}"
fi

# lithos_mkdev refuses an argument (a master config given without -C)
out=$("$B/lithos_mkdev" /nonexistent/master.yaml 2>&1)
rc=$?
if [ "$rc" -eq 2 ] && grep -q 'unexpected argument' <<<"$out"; then
	ok "lithos_mkdev MASTER (no -C) is a usage error, exit 2"
else
	not_ok "lithos_mkdev MASTER (no -C) is a usage error, exit 2 (got $rc: $out)"
fi

echo "1..$n"
[ "$fails" -eq 0 ]
