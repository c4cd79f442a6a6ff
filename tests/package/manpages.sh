#!/bin/sh
# tests/package/manpages.sh: the keys and commands each source lists agree:
# the code (module/conf.c, loader/conf.c, tools/icpguard.c), the example
# configurations, --help, the generated man pages and docs/module.md.
# TAP.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/build/obj}
MKMAN="python3 $top_srcdir/man/mkman.py"
ICPGUARD=$top_builddir/tools/icpguard
LOADER=$top_builddir/loader/icpguard-loader
MAN=$top_builddir/man
if ! command -v python3 >/dev/null 2>&1; then
	echo "1..0 # SKIP python3 not found (tools/deps)"; exit 0
fi
for f in "$MAN/icpguard.1" "$MAN/icpguard-loader.8" "$MAN/icpguard.conf.5" "$MAN/icpguard-loader.conf.5"; do
	[ -f "$f" ] || { echo "1..0 # SKIP $f not built (make)"; exit 0; }
done
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
n=0
fails=0
# same LABEL FILE1 FILE2: the two sorted lists are equal
same() {
	n=$((n + 1))
	if diff "$2" "$3" >"$W/diff"; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		sed 's/^/# /' "$W/diff"
		fails=$((fails + 1))
	fi
}

# module keys: the code's parser, the example, the man page, docs/module.md
{ grep -o 'strcmp(key, "[a-z0-9-]*")' "$top_srcdir/module/conf.c" | sed 's/.*"\(.*\)".*/\1/'
  # action-REASON: the reasons its error message names
  sed -n '/"unknown key (action-/,/)"/p' "$top_srcdir/module/conf.c" |
	grep -o 'action-[a-z][a-z]*'
} | sort -u >"$W/module-code"
grep -v '^strict-cache$' "$W/module-code" >"$W/module-live"   # obsolete: a note, no entry
$MKMAN keys-example "$top_srcdir/module/icpguard.conf.example" >"$W/module-example"
$MKMAN keys-man "$MAN/icpguard.conf.5" >"$W/module-man"
sed -n '/^## Configuration keys/,/^## /p' "$top_srcdir/docs/module.md" |
	grep '^| `' | cut -d'|' -f2 | grep -o '`[a-z0-9-]*`' | tr -d '`' | sort -u >"$W/module-doc"
same "module keys: module/conf.c and icpguard.conf.example" "$W/module-live" "$W/module-example"
same "module keys: icpguard.conf.example and icpguard.conf(5)" "$W/module-example" "$W/module-man"
same "module keys: module/conf.c and docs/module.md" "$W/module-code" "$W/module-doc"
n=$((n + 1))
if grep -q 'strict\\-cache' "$MAN/icpguard.conf.5"; then echo "ok $n - icpguard.conf(5) says strict-cache is obsolete"
else echo "not ok $n - icpguard.conf(5) does not mention strict-cache"; fails=$((fails + 1)); fi

# loader keys: the code's parser, the example, the man page
grep -o 'strcmp(key, "[a-z0-9-]*")' "$top_srcdir/loader/conf.c" | sed 's/.*"\(.*\)".*/\1/' | sort -u >"$W/loader-code"
$MKMAN keys-example "$top_srcdir/loader/icpguard-loader.conf.example" >"$W/loader-example"
$MKMAN keys-man "$MAN/icpguard-loader.conf.5" >"$W/loader-man"
same "loader keys: loader/conf.c and icpguard-loader.conf.example" "$W/loader-code" "$W/loader-example"
same "loader keys: icpguard-loader.conf.example and icpguard-loader.conf(5)" "$W/loader-example" "$W/loader-man"

# icpguard subcommands: the dispatch table, --help, the man page
sed -n '/^static const struct command commands/,/^};/p' "$top_srcdir/tools/icpguard.c" |
	grep -o '{ "[a-z]*"' | tr -d '{" ' | sort >"$W/cmd-code"
$MKMAN commands-help "$ICPGUARD" >"$W/cmd-help"
$MKMAN commands-man "$MAN/icpguard.1" >"$W/cmd-man"
same "icpguard commands: tools/icpguard.c and --help" "$W/cmd-code" "$W/cmd-help"
same "icpguard commands: --help and icpguard(1)" "$W/cmd-help" "$W/cmd-man"

# every option each --help names is in the man page
sed 's/\\-/-/g; s/\\f[BIR]//g' "$MAN/icpguard.1" >"$W/man1.txt"
for c in $(cat "$W/cmd-help"); do
	"$ICPGUARD" "$c" --help 2>&1 | grep -o -- '--[a-z][a-z-]*' | sort -u >"$W/opt-help"
	grep -o -- '--[a-z][a-z-]*' "$W/man1.txt" | sort -u >"$W/opt-man"
	comm -23 "$W/opt-help" "$W/opt-man" >"$W/opt-missing"
	: >"$W/empty"
	same "icpguard $c: every --help option is in icpguard(1)" "$W/opt-missing" "$W/empty"
done
sed 's/\\-/-/g; s/\\f[BIR]//g' "$MAN/icpguard-loader.8" | grep -o -- '--[a-z][a-z-]*' | sort -u >"$W/opt-man"
"$LOADER" --help 2>&1 | grep -o -- '--[a-z][a-z-]*' | sort -u | comm -23 - "$W/opt-man" >"$W/opt-missing"
same "icpguard-loader: every --help option is in icpguard-loader(8)" "$W/opt-missing" "$W/empty"

# the Grafana dashboard asks only for metrics the module and the loader write
grep -o 'icpguard_[a-z_]*' "$top_srcdir/contrib/grafana/icpguard.json" | sort -u >"$W/dash-metrics"
cat "$top_srcdir/common/stats_text.c" "$top_srcdir/module/watch.c" "$top_srcdir/loader/status.c" | tr -d '"\n' |
	grep -o 'icpguard_[a-z_]*' | sort -u >"$W/code-metrics"
comm -23 "$W/dash-metrics" "$W/code-metrics" >"$W/dash-missing"
same "contrib/grafana/icpguard.json: every metric exists in common/stats_text.c, module/watch.c or loader/status.c" "$W/dash-missing" "$W/empty"

echo "1..$n"
[ $fails = 0 ]
