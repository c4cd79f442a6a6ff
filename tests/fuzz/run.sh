#!/bin/sh
# tests/fuzz/run.sh: libFuzzer targets over every parser of hostile input
# (TAP; tests/fuzz/README).
#
#   tests/fuzz/run.sh                 build, run each target over its
#                                     committed corpus and the seeds made
#                                     by the project's tools, then a short
#                                     bounded run (FUZZ_SECONDS, default 7)
#   tests/fuzz/run.sh --long SECONDS [TARGET...]
#                                     a long run of each (or the named)
#                                     target; new corpus entries stay in
#                                     BUILDDIR/fuzz/corpus-TARGET (make check
#                                     does not read it)
#
# Targets (tests/fuzz/fuzz_*.c, each file's header says what it covers):
#   feed      signed feed payloads: loader apply (state.c) and publish
#   sig       detached feed signatures (ig_feed_sig_check)
#   order     order envelopes: verify, the intake's checks, target encoding
#   journal   the order journal: replay, quarantine, order snapshot publish
#   source    every source file of `icpguard build` (JSON lines, CSV,
#             tlds.txt), in-process build, verdicts on the result
#   snapshot  snapshot files: cheap check, verified open, verdicts
#   snapshot_memo  the same, opened twice with ig_snapshot_open_memo
#   audit     dnstap captures through `icpguard audit`
#   snapshot_sealed (not in the default list) snapshot files resealed, so
#             damaged pages reach LMDB and lib/: by hand, see the README
#
# Built with clang -fsanitize=fuzzer,address,undefined straight from the
# sources into BUILDDIR/fuzz/ (objects in BUILDDIR/fuzz/obj, rebuilt when a
# source or header is newer); the gcc build in BUILDDIR is not touched.
# tests/fuzz/corpus/TARGET/ holds small committed inputs, among them the
# ones that once crashed (crash-*: each must not crash again).  Inputs
# listed in tests/fuzz/known (a crash in code another change is fixing)
# are left out of the run and reported as TAP comments.
# A crash fails its target and leaves the input in BUILDDIR/fuzz/.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/build/obj}
secs=${FUZZ_SECONDS:-7}
long=""
if [ "${1:-}" = --long ]; then
	long=${2:?--long needs SECONDS}
	shift 2
fi
targets=${*:-feed sig order journal source snapshot snapshot_memo audit}
if [ -n "${IG_ASAN_DIR:-}" ] && [ -z "$long" ]; then
	# tools/check's second suite: the targets carry their own sanitizers
	echo "1..0 # SKIP the fuzz targets run once, in the plain suite (they are built with ASan and UBSan themselves)"
	exit 0
fi
CC=${FUZZ_CC:-clang}
ig=$top_builddir/tools/icpguard
[ -x "$ig" ] || { echo "1..0 # SKIP no icpguard tool at $ig (make)"; exit 0; }
[ -f "$top_builddir/config.h" ] || { echo "1..0 # SKIP no configured build at $top_builddir"; exit 0; }
out=$top_builddir/fuzz
mkdir -p "$out/obj"
# a tmpfs keeps the targets' fsyncs (publishes, signatures) cheap
base=${TMPDIR:-/tmp}
[ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
work=$(mktemp -d "$base/icpguard-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
export TMPDIR=$work

# is libFuzzer there (clang, and compiler-rt's fuzzer runtime)?
printf 'int LLVMFuzzerTestOneInput(const unsigned char* d, unsigned long n) { (void)d; (void)n; return 0; }\n' >"$work/probe.c"
if ! command -v "$CC" >/dev/null 2>&1 || ! "$CC" -fsanitize=fuzzer,address,undefined \
	-o "$work/probe" "$work/probe.c" >/dev/null 2>&1; then
	echo "1..0 # SKIP clang/libFuzzer not installed (tools/deps installs clang and libclang-rt-14-dev)"
	exit 0
fi

flags="-g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -D_GNU_SOURCE -I$top_builddir -I$top_srcdir"
s=$top_srcdir
b=$top_builddir
lib="$s/lib/addr.c $s/lib/file_id.c $s/lib/name.c $s/lib/name_index.c $s/lib/record.c \
$s/lib/snapshot.c $s/lib/snapshot_write.c $s/lib/snapshot_check.c \
$s/lib/validate.c $s/lib/verdict.c $s/lib/timefmt.c $s/lib/conffile.c"
feedlib="$s/loader/feed.c $s/loader/growing.c $b/data/feed.pb-c.c"
libs="-llmdb -lidn2 -lpsl -lcrypto -lpthread"

# the sources and libraries of a target
srcs() {
	case $1 in
	feed) echo "$lib $feedlib $s/loader/state.c $s/loader/publish.c $s/loader/prewrite.c $s/tools/source.c" ;;
	sig) echo "$lib $feedlib" ;;
	order) echo "$lib $feedlib $s/loader/order.c" ;;
	journal) echo "$lib $feedlib $s/loader/order.c $s/loader/orders.c" ;;
	source) echo "$lib $s/tools/cmd_build.c $s/tools/source.c $s/tools/feed_rows.c" ;;
	snapshot|snapshot_sealed|snapshot_memo) echo "$lib" ;;
	audit) echo "$lib $s/tools/audit_read.c $s/tools/audit_record.c $b/data/dnstap.pb-c.c" ;;
	*) return 1 ;;
	esac
}
libsof() {
	case $1 in
	feed|order|sig) echo "$libs -ljansson -lprotobuf-c" ;;
	journal) echo "$libs -ljansson -lprotobuf-c -levent" ;;
	source) echo "$libs -ljansson" ;;
	audit) echo "$libs -lfstrm -lprotobuf-c -ljansson" ;;
	*) echo "$libs" ;;
	esac
}

# the newest header: an object older than it is rebuilt
newest_h=$(ls -t "$s"/lib/*.h "$s"/loader/*.h "$s"/tools/*.h "$s"/tests/fuzz/*.h \
	"$b"/data/*.h "$b/config.h" 2>/dev/null | head -1)

# compile SRC into an object (once per run, when out of date); prints it
obj() {
	_o=$out/obj/$(echo "$1" | sed "s|^$s/||; s|^$b/|build-|; s|/|_|g; s|\.c$|.o|")
	if [ ! -f "$_o" ] || [ "$1" -nt "$_o" ] || [ "$newest_h" -nt "$_o" ]; then
		$CC $flags -c -o "$_o" "$1" >>"$out/build-obj.log" 2>&1 || { rm -f "$_o"; return 1; }
	fi
	echo "$_o"
}

build() { # build TARGET: BUILDDIR/fuzz/fuzz_TARGET
	_t=$1
	_main=$s/tests/fuzz/fuzz_$_t.c
	_def=""
	[ "$_t" = snapshot_sealed ] && { _main=$s/tests/fuzz/fuzz_snapshot.c; _def=-DFUZZ_RESEAL; }
	[ "$_t" = snapshot_memo ] && { _main=$s/tests/fuzz/fuzz_snapshot.c; _def=-DFUZZ_MEMO_OPEN; }
	_objs=""
	: >"$out/build-obj.log"
	for _f in $(srcs "$_t"); do
		_x=$(obj "$_f") || { cat "$out/build-obj.log" >"$out/build-$_t.log"; return 1; }
		_objs="$_objs $_x"
	done
	$CC $flags -fsanitize=fuzzer $_def -o "$out/fuzz_$_t" "$_main" $_objs $(libsof "$_t") \
		>"$out/build-$_t.log" 2>&1
}

# a public suffix list cut to the rules the sample data touches (and a
# wildcard and an exception): every snapshot the targets write carries the
# list (lib/snapshot_write.c), the whole one costs most of a target's time
psl=/usr/share/publicsuffix/public_suffix_list.dat
if [ -f "$psl" ]; then
	grep -E '^(cn|com|net|org|jp|ck|\*\.ck|!www\.ck|kawasaki\.jp|\*\.kawasaki\.jp|!city\.kawasaki\.jp|[a-z0-9-]+\.cn|中国|中國|公司|网络)$' \
		"$psl" >"$work/psl.dat"
	export ICPGUARD_PSL_FILE=$work/psl.dat
fi

# the seed corpora, made once by the project's own tools into $work/seed-*
make_seeds() {
	S=$s/data/sample
	P=$s/tests/integration/policy
	k=$work/keys/k
	mkdir -p "$work/keys" "$work/feedsrc" "$work/base"
	"$ig" feed keygen "$k" >/dev/null 2>&1
	# snapshots (never committed: a few hundred KB each)
	d=$work/seed-snapshot
	mkdir -p "$d"
	"$ig" build --quiet --source "$P" --out "$d/policy.mdb" >/dev/null 2>&1
	"$ig" build --quiet --source "$S" --out "$d/sample.mdb" >/dev/null 2>&1
	# an order snapshot
	"$ig" build --quiet --source "$P" --out "$d/policy2.mdb" --serial 9 >/dev/null 2>&1
	cp -r "$d" "$work/seed-snapshot_sealed"
	cp -r "$d" "$work/seed-snapshot_memo"
	# source files: selector byte (tests/fuzz/fuzz_source.c's table) + file
	d=$work/seed-source
	mkdir -p "$d"
	python3 - "$S" "$P" "$d" <<'EOF'
import csv, io, json, os, sys
sample, policy, out = sys.argv[1:4]
names = ["tlds.txt", "tlds.jsonl", "tlds.csv", "filings.jsonl", "filings.csv",
	"blacklist.jsonl", "blacklist.csv", "exemptions.jsonl", "exemptions.csv",
	"orders.jsonl", "orders.csv", "domestic.jsonl", "domestic.csv",
	"registrars.jsonl", "registrars.csv", "regdomains.jsonl", "regdomains.csv"]
def rows_of(path):
	if path.endswith(".txt"):
		return [{"tld": l.strip()} for l in open(path, encoding="utf-8")
			if l.strip() and not l.startswith("#")]
	if path.endswith(".csv"):
		return list(csv.DictReader(open(path, encoding="utf-8")))
	return [json.loads(l) for l in open(path, encoding="utf-8")
		if l.strip() and not l.lstrip().startswith("#")]
def cell(v):
	if isinstance(v, list):
		return "|".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in v)
	if isinstance(v, bool):
		return "true" if v else "false"
	return "" if v is None else str(v)
for tag, d in (("sample", sample), ("policy", policy)):
	for i, n in enumerate(names):
		base = n.split(".")[0]
		src = None
		for ext in ("txt", "jsonl", "csv"):
			if os.path.exists(os.path.join(d, base + "." + ext)):
				src = os.path.join(d, base + "." + ext)
		if not src:
			continue
		rows = rows_of(src)[:25]
		if n.endswith(".txt"):
			text = open(src, encoding="utf-8").read()[:3000]
		elif n.endswith(".jsonl"):
			text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
		else:
			keys = []
			for r in rows:
				keys += [k for k in r if k not in keys]
			b = io.StringIO()
			w = csv.writer(b, lineterminator="\n")
			w.writerow(keys)
			for r in rows:
				w.writerow([cell(r.get(k)) for k in keys])
			text = b.getvalue()
		with open(os.path.join(out, "%s-%s" % (tag, n)), "wb") as f:
			f.write(bytes([i]) + text.encode("utf-8")[:4000])
EOF
	# orders: bare, signed, a lift; journals of them
	d=$work/seed-order
	j=$work/seed-journal
	mkdir -p "$d" "$j"
	n=0
	cat "$S/orders.jsonl" "$P/orders.jsonl" | while IFS= read -r l; do
		[ -n "$l" ] || continue
		n=$((n + 1))
		printf '%s\n' "$l" >"$work/o.json"
		cp "$work/o.json" "$d/bare-$n.json"
		"$ig" order sign "$work/o.json" --key "$k.key" >"$d/env-$n.json" 2>/dev/null
	done
	printf '{"op":"lift","id":"ord-demo-1","issued":1700000100}\n' >"$work/o.json"
	"$ig" order sign "$work/o.json" --key "$k.key" >"$d/env-lift.json" 2>/dev/null
	ns=1700000000000000000
	for e in "$d"/env-*.json; do
		printf '{"received_ns":%s,"envelope":%s}\n' "$ns" "$(tr -d '\n' <"$e")"
		ns=$((ns + 1000))
	done >"$j/all.journal"
	head -2 "$j/all.journal" >"$j/two.journal"
	cat "$j/two.journal" "$j/two.journal" >"$j/repeat.journal"
	grep -v '"lift"' "$j/all.journal" | head -1 >"$j/lift.journal"
	grep '"lift"' "$j/all.journal" >>"$j/lift.journal"
	# feeds: a full feed of each kind, and a delta (filings, blacklist)
	d=$work/seed-feed
	mkdir -p "$d" "$work/seed-sig"
	F=$work/feedsrc
	head -40 "$S/filings.jsonl" >"$F/f1.jsonl"
	head -30 "$S/filings.jsonl" >"$F/f2.jsonl"
	sed -n 45,50p "$S/filings.jsonl" >>"$F/f2.jsonl"
	head -20 "$S/blacklist.jsonl" >"$F/b1.jsonl"
	sed -n 5,25p "$S/blacklist.jsonl" >"$F/b2.jsonl"
	head -30 "$S/regdomains.jsonl" >"$F/rd.jsonl"
	head -30 "$S/domestic.csv" >"$F/dom.csv"
	pub=$work/pub
	f() { "$ig" feed --quiet --allow-rejects --out "$pub" --key "$k.key" "$@" >/dev/null 2>&1; }
	f --kind tlds --source "$S/tlds.txt"
	f --kind filings --source "$F/f1.jsonl" --tlds "$S/tlds.txt"
	f --kind filings --source "$F/f2.jsonl" --tlds "$S/tlds.txt"
	f --kind blacklist --source "$F/b1.jsonl"
	f --kind blacklist --source "$F/b2.jsonl"
	f --kind domestic --source "$F/dom.csv"
	f --kind registrars --source "$S/registrars.jsonl" --regdomains "$F/rd.jsonl"
	for kd in "$pub"/*; do
		kn=$(basename "$kd")
		[ -f "$kd/full-1.pb" ] && cp "$kd/full-1.pb" "$work/base/$kn.pb"
		for p in "$kd"/*.pb; do
			[ -f "$p" ] || continue
			cp "$p" "$d/$kn-$(basename "$p")"
			cp "$p.sig" "$work/seed-sig/$kn-$(basename "$p").sig" 2>/dev/null
		done
	done
	# dnstap captures
	d=$work/seed-audit
	mkdir -p "$d"
	mk=$b/tests/audit/mkcapture
	if [ ! -x "$mk" ]; then
		(cd "$b" && make tests/audit/mkcapture >/dev/null 2>&1)
	fi
	if [ -x "$mk" ]; then
		"$mk" "$d/capture.fstrm" >/dev/null 2>&1
		"$mk" "$d/garbage.fstrm" --garbage 2 >/dev/null 2>&1
		"$mk" "$d/other-type.fstrm" --content-type text/plain >/dev/null 2>&1
	fi
}

# the inputs of tests/fuzz/known for a target (lines "TARGET/FILE reason")
known_of() {
	[ -f "$s/tests/fuzz/known" ] || return 0
	grep -v '^#' "$s/tests/fuzz/known" | awk -v t="$1" '{ n = split($1, a, "/"); if(n == 2 && a[1] == t) print a[2] }'
}
# the reason a whole target is known to crash (a line "TARGET reason")
known_target() {
	[ -f "$s/tests/fuzz/known" ] || return 0
	grep -v '^#' "$s/tests/fuzz/known" | awk -v t="$1" '$1 == t { $1 = ""; sub(/^ /, ""); print; exit }'
}

echo "1..$(echo $targets | wc -w)"
make_seeds
export FUZZ_FEED_BASE=$work/base
n=0
for t in $targets; do
	n=$((n + 1))
	if ! srcs "$t" >/dev/null; then
		echo "not ok $n - $t: no such target"
		continue
	fi
	kt=$(known_target "$t")
	if [ -n "$kt" ] && [ -z "$long" ]; then
		# built (so it keeps compiling), not run: tests/fuzz/known
		if build "$t"; then
			echo "ok $n - fuzz_$t # SKIP known crash: $kt"
		else
			echo "not ok $n - fuzz_$t: does not build"
		fi
		continue
	fi
	if ! build "$t"; then
		echo "not ok $n - fuzz_$t: does not build"
		tail -15 "$out/build-$t.log" | sed 's/^/# /'
		continue
	fi
	# the committed corpus minus the known inputs, and the seeds
	cdir=$work/committed-$t
	mkdir -p "$cdir" "$work/seed-$t"
	ct=$t
	case "$t" in snapshot_sealed|snapshot_memo) ct=snapshot ;; esac
	if [ -d "$s/tests/fuzz/corpus/$ct" ]; then
		cp "$s/tests/fuzz/corpus/$ct"/* "$cdir/" 2>/dev/null
	fi
	for kf in $(known_of "$t"); do
		rm -f "$cdir/$kf"
		echo "# fuzz_$t: known, left out: $kf ($(grep "^$t/$kf" "$s/tests/fuzz/known" | cut -d' ' -f2-))"
	done
	# a long run keeps what it finds for the next; make check starts
	# from the seeds each time (bounded time, no growing snapshot files)
	corpus=$out/corpus-$t
	[ -z "$long" ] && corpus=$work/new-$t
	mkdir -p "$corpus"
	t0=$(date +%s)
	opts="-timeout=${FUZZ_TIMEOUT:-10} -rss_limit_mb=2048 -artifact_prefix=$out/crash-$t-"
	rc=0
	# every committed input once (the crash-* regressions among them)
	if [ -n "$(ls "$cdir")" ]; then
		( cd "$out" && ASAN_OPTIONS=detect_leaks=0 "./fuzz_$t" $opts "$cdir"/* ) >"$out/run-$t.log" 2>&1 || rc=$?
	else
		: >"$out/run-$t.log"
	fi
	if [ $rc = 0 ]; then
		# then the fuzzing: over the kept corpus, the seeds, the committed
		if [ -n "$long" ]; then run="-max_total_time=$long"; else run="-max_total_time=$secs"; fi
		( cd "$out" && ASAN_OPTIONS=detect_leaks=0 "./fuzz_$t" $run $opts -print_final_stats=1 \
			"$corpus" "$work/seed-$t" "$cdir" ) >>"$out/run-$t.log" 2>&1 || rc=$?
	fi
	execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/run-$t.log" | tail -1 | awk '{ print $2 }')
	ns=$(ls "$work/seed-$t" | wc -l)
	nc=$(ls "$cdir" | wc -l)
	if [ $rc = 0 ]; then
		echo "ok $n - fuzz_$t: $ns seeds, $nc committed, ${execs:-?} inputs in $(( $(date +%s) - t0 )) s, no crash"
	else
		echo "not ok $n - fuzz_$t: crashed (input kept as $out/crash-$t-*, log $out/run-$t.log)"
		grep -E 'ERROR|SUMMARY|fuzz: |#[0-9]+ 0x' "$out/run-$t.log" | head -20 | sed 's/^/# /'
	fi
done
exit 0
