#!/bin/sh
# bench/rpz-compare.sh: icpguard against Unbound's own RPZ on the same
# synthetic policy data, at up to ten million filings.  Not a test.
#
#   bench/rpz-compare.sh [--filings N] [--blacklist N] [--ranges N]
#       [--seconds S] [--rounds R] [--small] [--load-timeout S]
#       [--max-rss GIB] [--load-qps Q] [--setups "plain icpguard rpz"]
#       [--data DIR] [--report FILE] [--keep] [--takedowns K]
#
# Defaults: 10,000,000 filings, 1,000,000 blacklist entries, 100,000
# domestic ranges, 10 s per dnsperf run, 3 rounds (median).  --small is
# 100,000 / 10,000 / 1,000 and 5 s runs: a few minutes.
#
# bench/gen-dataset.py writes the data (deterministic) twice: icpguard
# source files (built with `icpguard build`) and the equivalent RPZ zone
# (*.TLD CNAME . under every filable TLD, D and *.D CNAME rpz-passthru. for
# every active filing, B and *.B CNAME . for every blacklist entry).  RPZ
# cannot say "block only when the answer is domestic", so icpguard runs
# with scope: all, the same policy.  NSD on 127.0.0.2 answers any name
# (wildcard zones); each setup then runs in turn on 127.0.0.1, one thread:
#   plain     Unbound, "validator iterator", no policy
#   icpguard  "validator dynlib iterator", snapshot + orders-snapshot
#   rpz       "respip validator iterator", rpz: orders.rpz (small, first)
#             and policy.rpz (the data)
# and is measured: start to first answer, RSS and private memory
# (smaps_rollup) after load and after the runs, cache-hit and cache-miss
# QPS (dnsperf; misses of filed, unfiled foreign and nonexistent names,
# with the upstream queries each costs counted at NSD), a full data refresh (icpguard: build the new snapshot
# over the path; RPZ: rewrite the zone, auth_zone_reload) until a canary
# flips, dnsperf -t 1 at --load-qps during that refresh (lost = no answer
# within 1 s), and takedown latency in ms, the median of K (default 5)
# orders and their lifts (icpguard: the signed order submitted with
# `icpguard order add` to the real icpguard-loader, which journals it with
# fsync and publishes the order snapshot, and again with the operator
# signing in the command; RPZ: append to orders.rpz, fsync it, reload it;
# a checker every half millisecond; bench/takedown.sh gives the
# distribution over 100 orders under load).  Every name of a check list is
# asked of every setup: both policies must give the same answers.
#
# A setup that does not answer within --load-timeout (default 1800 s) or
# grows past --max-rss GiB (default 16) is stopped and reported as such.
# --data DIR keeps the generated data there and reuses it on the next run
# with the same sizes.  --report FILE also writes the table to FILE.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
filings=10000000 black=1000000 ranges=100000 secs=10 rounds=3
load_timeout=1800 max_rss=16 load_qps=10000 setups="plain icpguard rpz"
takedowns=5
data="" report="" keep=""
usage() { sed -n '2,43p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case $1 in
	--small) filings=100000 black=10000 ranges=1000 secs=5; shift; continue ;;
	--keep) keep=1; shift; continue ;;
	-h|--help) usage; exit 0 ;;
	esac
	[ $# -ge 2 ] || { usage >&2; exit 2; }
	case $1 in
	--filings) filings=$2 ;; --blacklist) black=$2 ;; --ranges) ranges=$2 ;;
	--seconds) secs=$2 ;; --rounds) rounds=$2 ;;
	--load-timeout) load_timeout=$2 ;; --max-rss) max_rss=$2 ;;
	--load-qps) load_qps=$2 ;; --setups) setups=$2 ;;
	--data) data=$2 ;; --report) report=$2 ;; --takedowns) takedowns=$2 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift 2
done
for v in "$filings" "$black" "$ranges" "$secs" "$rounds" "$load_timeout" \
	"$max_rss" "$load_qps"; do
	case $v in ''|*[!0-9]*) echo "rpz-compare: not a number: '$v'" >&2; exit 2 ;; esac
done

. "$top/bench/lib.sh"
bench_init rpz
[ -n "$keep" ] && bench_keep=1
nsport=5480 port_plain=5481 port_icpguard=5482 port_rpz=5483 ctlport=5484 lport=5485
for p in $nsport $port_plain $port_icpguard $port_rpz $ctlport $lport; do
	bench_port_free $p
done
gen=$top/bench/gen-dataset.py
tlds="cn com net org top xyz xn--fiqs8s"
res=$w/results
: > "$res"
log() { echo "rpz-compare: $*" >&2; }
put() { _s=$1 _k=$2; shift 2; echo "$_s $_k $*" >> "$res"; }
get() { awk -v s="$1" -v k="$2" '$1 == s && $2 == k { $1 = $2 = ""; v = substr($0, 3) } END { print v }' "$res"; }
elapsed() { awk -v a="$1" -v b="$(bench_now)" 'BEGIN { printf "%.2f", b - a }'; }
mib() { awk -v k="$1" 'BEGIN { if(k == "") print ""; else printf "%.1f", k / 1024 }'; }

# ---------------------------------------------------------------- data
[ -n "$data" ] || data=$w/data
mkdir -p "$data"
stamp="$filings $black $ranges $(md5sum < "$gen" | cut -c1-32)"
if [ -f "$data/stamp" ] && [ "$(cat "$data/stamp")" = "$stamp" ]; then
	log "reusing the data set in $data"
else
	rm -rf "$data/src1" "$data/src2" "$data/q" "$data/stamp" "$data"/*.rpz
	log "generating $filings filings, $black blacklist entries, $ranges ranges in $data"
	sz="--filings $filings --blacklist $black --ranges $ranges"
	t=$(bench_now)
	nice -n 10 python3 "$gen" $sz --icpguard "$data/src1" --queries "$data/q" || exit 1
	nice -n 10 python3 "$gen" $sz --version 2 --icpguard "$data/src2" || exit 1
	log "sources written in $(elapsed "$t") s"
	t=$(bench_now)
	nice -n 10 python3 "$gen" $sz --rpz "$data/policy-v1.rpz" || exit 1
	echo "$(elapsed "$t")" > "$data/rpz-write-secs"
	echo "$stamp" > "$data/stamp"
fi
sz="--filings $filings --blacklist $black --ranges $ranges"
start_canary="www.$(head -1 "$data/q/miss-domains.txt")"
refresh_canary=www.icpguard-refresh-canary.cn
takedown_canary=www.icpguard-takedown-canary.cn
awk '{ print $1, "A" }' "$data/q/check.txt" > "$w/check.in"

# ---------------------------------------------------------------- NSD
for z in $tlds; do bench_wildcard_zone "$z" 127.0.10.1; done
# de.: not a filable TLD of the data, so no policy applies: unfiled foreign
# names (a wildcard) and NXDOMAIN for every other name
bench_zone de 3600 "*.abroad-bench.de. IN A 127.0.20.1"
bench_nsd_start 127.0.0.2 $nsport $tlds de

# ---------------------------------------------------------------- helpers
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
priv_kb() {
	awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s + 0 }' \
		"/proc/$1/smaps_rollup" 2>/dev/null
}
# private pages of the snapshot mappings (clean file pages mapped only by
# this process count as Private_Clean although they are page cache)
snap_priv_kb() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / { m = ($0 ~ /\.mdb/) }
		m && /^Private_(Clean|Dirty):/ { s += $2 } END { print s + 0 }' \
		"/proc/$1/smaps" 2>/dev/null
}
avail_kb() { awk '/^MemAvailable:/ { print $2 }' /proc/meminfo; }

# memory S WHEN PID: record RSS and private memory
memory() {
	put "$1" "rss_$2" "$(rss_kb "$3")"
	put "$1" "priv_$2" "$(priv_kb "$3")"
	put "$1" "snappriv_$2" "$(snap_priv_kb "$3")"
}

# dnsperf -v over the check list: every name's rcode against expectations
check() {
	_s=$1 _port=$2
	dnsperf -v -s 127.0.0.1 -p "$_port" -d "$w/check.in" -n 1 -c 1 -q 20 \
		-t 3 2>/dev/null | awk '$1 == ">" { print $3, $2 }' > "$w/$_s.check"
	awk -v s="$_s" 'NR == FNR { got[$1] = $2; next }
		{ want = (s == "plain" || $2 == "pass") ? "NOERROR" : "NXDOMAIN"
		  if(got[$1] != want) { bad++; if(bad <= 5) printf "rpz-compare: %s: %s (%s) got %s, want %s\n", s, $1, $3, got[$1] == "" ? "nothing" : got[$1], want > "/dev/stderr" } }
		END { print bad + 0 }' FS=' ' "$w/$_s.check" FS='\t' "$data/q/check.txt"
}

# dnsperf at a fixed rate in the background, -t 1: lost = not answered
# within a second; stopped by SIGINT
load_start() {
	dnsperf -s 127.0.0.1 -p "$1" -d "$data/q/hit.txt" -c 4 \
		-q $((load_qps * 2 + 1000)) -t 1 \
		-Q "$load_qps" -l $((load_timeout + 120)) -O suppress=timeout \
		> "$w/$2.load" 2>&1 &
	load_pid=$!
	bench_track $load_pid
	sleep 2
}
load_stop() {
	sleep 2
	kill -INT $load_pid 2>/dev/null
	_i=0
	while [ $_i -lt 100 ] && kill -0 $load_pid 2>/dev/null; do
		sleep 0.1
		_i=$((_i + 1))
	done
	bench_stop $load_pid
	awk -v s="$1" '
		/Queries sent:/ { sent = $3 }
		/Queries lost:/ { lost = $3 }
		/Response codes:/ { for(i = 3; i <= NF; i++) if($i == "SERVFAIL") sf = $(i + 1) + 0 }
		/Average Latency/ { gsub(/[(),]/, " "); for(i = 1; i <= NF; i++) if($i == "max") max = $(i + 1) * 1000 }
		END { printf "%s load_sent %s\n%s load_lost %s\n%s load_servfail %d\n%s load_max_ms %.0f\n", s, sent, s, lost, s, sf, s, max }' \
		"$w/$2.load" >> "$res"
}

# start SETUP: run Unbound, wait until it answers; 0 when up
start() {
	_s=$1
	eval _port=\$port_$_s
	log "$_s: starting"
	_t0=$(bench_now)
	ICPGUARD_CONF=$w/icpguard.conf "$ub" -d -c "$w/ub-$_s.conf" \
		> "$w/$_s.stdout" 2>&1 &
	upid=$!
	bench_track $upid
	_end=$(awk -v t="$_t0" -v d="$load_timeout" 'BEGIN { printf "%.3f", t + d }')
	_peak=0 _why=""
	while :; do
		if ! kill -0 $upid 2>/dev/null; then
			_why="exited: $(cat "$w/ub-$_s.conf.log" "$w/$_s.stdout" 2>/dev/null | tail -1)"
			break
		fi
		_r=$(rss_kb $upid)
		[ "${_r:-0}" -gt "$_peak" ] && _peak=${_r:-0}
		if [ "${_r:-0}" -gt $((max_rss * 1048576)) ]; then
			_why="RSS $(mib "$_r") MiB over the bound of $max_rss GiB"
			break
		fi
		if [ "$(avail_kb)" -lt 2097152 ]; then
			_why="machine short of memory (MemAvailable < 2 GiB)"
			break
		fi
		if [ "$(bench_rcode "$_port" "$start_canary")" = NOERROR ]; then
			put "$_s" start "$(elapsed "$_t0")"
			_r=$(rss_kb $upid)
			[ "${_r:-0}" -gt "$_peak" ] && _peak=${_r:-0}
			put "$_s" rss_peak "$_peak"
			memory "$_s" load $upid
			return 0
		fi
		if awk -v e="$_end" -v n="$(bench_now)" 'BEGIN { exit !(n > e) }'; then
			_why="no answer within $load_timeout s"
			break
		fi
		sleep 0.1
	done
	put "$_s" failed "$_why after $(elapsed "$_t0") s (peak RSS $(mib "$_peak") MiB)"
	log "$_s: $_why"
	bench_stop $upid
	return 1
}

# qps SETUP: cache-hit and cache-miss QPS, rounds each, median.  While
# the plain Unbound is up (it stays up for the whole run), every round of
# another setup is paired with a round of plain, and the ratio is taken
# against those paired plain figures: the machine's load drifts.
qps() {
	_s=$1
	eval _port=\$port_$_s
	_pair=""
	[ $_s != plain ] && [ -n "$plain_pid" ] && _pair=1
	log "$_s: warming the cache"
	for _f in hit hit-filed; do
		bench_qps "$_port" "$data/q/$_f.txt" -n 2 > /dev/null
		[ -n "$_pair" ] && bench_qps $port_plain "$data/q/$_f.txt" -n 2 > /dev/null
	done
	_r=0
	: > "$w/$_s.qps"
	while [ $_r -lt "$rounds" ]; do
		log "$_s: round $((_r + 1))/$rounds"
		for _k in ref ""; do
			[ "$_k" = ref ] && [ -z "$_pair" ] && continue
			[ "$_k" = ref ] && _p=$port_plain || _p=$_port
			echo "hitf$_k $(bench_qps $_p "$data/q/hit-filed.txt" -l "$secs")" >> "$w/$_s.qps"
		done
		for _k in ref ""; do
			[ "$_k" = ref ] && [ -z "$_pair" ] && continue
			[ "$_k" = ref ] && _p=$port_plain || _p=$_port
			echo "hit$_k $(bench_qps $_p "$data/q/hit.txt" -l "$secs")" >> "$w/$_s.qps"
		done
		# cache misses of three kinds: filed names, unfiled foreign
		# names and nonexistent names (no policy applies to de.); the
		# upstream queries each cost are counted at NSD
		for _m in miss missu missnx; do
		for _k in ref ""; do
			[ "$_k" = ref ] && [ -z "$_pair" ] && continue
			[ "$_k" = ref ] && _p=$port_plain || _p=$_port
			_n=$((secs * 6000))
			case $_m in
			miss) awk -v n=$_n -v tag="m$_s$_k$_r" '{ d[NR] = $1 }
				END { for(i = 0; i < n; i++) printf "%s-%d.%s A\n", tag, i, d[i % NR + 1] }' \
				"$data/q/miss-domains.txt" > "$w/miss.txt" ;;
			missu) awk -v n=$_n -v tag="u$_s$_k$_r" 'BEGIN {
				for(i = 0; i < n; i++) printf "%s-%d.abroad-bench.de A\n", tag, i }' > "$w/miss.txt" ;;
			missnx) awk -v n=$_n -v tag="nx$_s$_k$_r" 'BEGIN {
				for(i = 0; i < n; i++) printf "%s-%d-bench.de A\n", tag, i }' > "$w/miss.txt" ;;
			esac
			_b=$(bench_nsd_queries)
			_sent=$(dnsperf -s 127.0.0.1 -p "$_p" -d "$w/miss.txt" -c 4 -q 200 -t 2 -n 1 -l "$secs" 2>/dev/null |
				awk '/Queries sent:/ { s = $3 } /Queries per second/ { q = int($4) } END { print q, s }')
			echo "$_m$_k ${_sent% *}" >> "$w/$_s.qps"
			echo "up$_m$_k $(bench_upstream_per_query "${_sent#* }" "$_b")" >> "$w/$_s.qps"
		done
		done
		_r=$((_r + 1))
	done
	for _k in hitf hit miss missu missnx hitfref hitref missref missuref missnxref \
		upmiss upmissu upmissnx; do
		put "$_s" $_k "$(awk -v k=$_k '$1 == k { print $2 }' "$w/$_s.qps" | bench_median)"
	done
}

# takedowns S PORT: --takedowns rounds of an order on the takedown canary
# (filed and cached) and its lift, timed from the operator's command to the
# first NXDOMAIN (order) and the first NOERROR (lift) by a checker every
# half millisecond that runs while the command does (bench_cmd_rcode_ms);
# puts the medians (takedown, lift) and the samples.  icpguard: the
# administration's order arrives signed (an envelope, `icpguard order
# sign` before the clock starts) and the operator submits it to the real
# icpguard-loader with `icpguard order add`, which journals it (fsync) and
# publishes the order snapshot; a second series has the operator sign in
# the timed command (`order add FILE --key`).  RPZ: the two lines appended
# to orders.rpz, fsynced (sync FILE), `unbound-control auth_zone_reload`;
# the lift writes the zone back the same way.
takedowns() {
	_ts=$1 _p=$2 _r=1 _z=${takedown_canary#www.}
	: > "$w/$_ts.takedown"
	while [ $_r -le "$takedowns" ]; do
		for _mode in $( [ $_ts = icpguard ] && echo envelope signing || echo rpz ); do
			bench_wait_rcode $_p $takedown_canary NOERROR 10 >/dev/null ||
				log "$_ts: takedown canary not NOERROR before order $_r"
			takedown_cmds $_ts $_mode "td-$_mode-$_r" "$_z"
			if _t=$(bench_cmd_rcode_ms $_p $takedown_canary NXDOMAIN 60 "$w/takedown.log" \
				$order_cmd) && _l=$(bench_cmd_rcode_ms $_p $takedown_canary NOERROR 60 \
				"$w/takedown.log" $lift_cmd); then
				echo "$_mode order ${_t%% *}" >> "$w/$_ts.takedown"
				echo "$_mode lift ${_l%% *}" >> "$w/$_ts.takedown"
			else
				log "$_ts: takedown $_r ($_mode) not in force or not lifted within 60 s (see $w/takedown.log)"
			fi
		done
		_r=$((_r + 1))
	done
	for _mode in envelope signing rpz; do
		for _e in order lift; do
			_v=$(awk -v m=$_mode -v e=$_e '$1 == m && $2 == e { print $3 }' "$w/$_ts.takedown")
			[ -n "$_v" ] || continue
			# (put sets _s and _k: names of its own here)
			[ $_mode = signing ] && _key=td_${_e}_signing || _key=td_$_e
			put $_ts $_key "$(echo "$_v" | bench_median)"
			put $_ts ${_key}_all "$(echo $_v)"
		done
	done
}

# takedown_cmds S MODE ID ZONE: sets order_cmd and lift_cmd (word lists,
# no spaces in paths) for one round; envelopes are signed here, untimed
takedown_cmds() {
	_o=$w/td-$3.json
	case $2 in
	envelope|signing)
		cat > "$_o" <<O
{"id":"$3","doc_no":"工信厅信管函〔2024〕1号","unit":"工业和信息化部网络安全管理局","reason":"涉嫌诈骗","targets":["$4"],"effective":"2020-01-01"}
O
		printf '{"op":"lift","id":"%s"}\n' "$3" > "$w/td-$3-lift.json"
		if [ $2 = envelope ]; then
			"$ig" order sign "$_o" --key "$w/miit.key" > "$w/td-$3.env" &&
			"$ig" order sign "$w/td-$3-lift.json" --key "$w/miit.key" > "$w/td-$3-lift.env" ||
				log "icpguard: order sign failed"
			order_cmd="$ig order add $w/td-$3.env --loader http://127.0.0.1:$lport"
			lift_cmd="$ig order add $w/td-$3-lift.env --loader http://127.0.0.1:$lport"
		else
			order_cmd="$ig order add $_o --key $w/miit.key --loader http://127.0.0.1:$lport"
			lift_cmd="$ig order lift $3 --key $w/miit.key --loader http://127.0.0.1:$lport"
		fi
		;;
	rpz)
		printf '#!/bin/sh\nprintf "%%s CNAME .\\n*.%%s CNAME .\\n" %s %s >> %s && sync %s && exec %s -c %s auth_zone_reload orders.rpz.\n' \
			"$4" "$4" "$w/orders.rpz" "$w/orders.rpz" "$uc" "$w/ub-rpz.conf" > "$w/rpz-order.sh"
		printf '#!/bin/sh\ncat %s > %s && sync %s && exec %s -c %s auth_zone_reload orders.rpz.\n' \
			"$w/orders.rpz.base" "$w/orders.rpz" "$w/orders.rpz" "$uc" "$w/ub-rpz.conf" > "$w/rpz-lift.sh"
		order_cmd="sh $w/rpz-order.sh" lift_cmd="sh $w/rpz-lift.sh"
		;;
	esac
}
loader=$(bench_builddir)/loader/icpguard-loader
[ -x "$loader" ] || bench_die "missing $loader (make)"
"$ig" feed keygen "$w/miit" >/dev/null
printf '%s\n' "snapshot: $w/snapshot.mdb" "state-dir: $w/loader" \
	"status-listen: 127.0.0.1:$lport" "orders-snapshot: $w/orders.mdb" \
	"key: miit $w/miit.pub" "order-keys: miit" "log: stderr" > "$w/loader.conf"
loader_pid=""
# loader_start: the loader (orders only, no feeds) and its first, empty
# order snapshot
loader_start() {
	rm -rf "$w/loader"
	"$loader" -c "$w/loader.conf" --foreground >> "$w/loader.log" 2>&1 &
	loader_pid=$!
	bench_track $loader_pid
	_i=0
	while [ $_i -lt 100 ] && ! [ -e "$w/orders.mdb" ]; do sleep 0.1; _i=$((_i + 1)); done
	[ -e "$w/orders.mdb" ] || log "icpguard: the loader published no order snapshot (see $w/loader.log)"
}

# ---------------------------------------------------------------- configs
for s in plain icpguard rpz; do
	eval port=\$port_$s
	case $s in
	plain) mc="validator iterator" ;;
	icpguard) mc="validator dynlib iterator" ;;
	rpz) mc="respip validator iterator" ;;
	esac
	bench_unbound_conf "$w/ub-$s.conf" "$port" "$mc" 127.0.0.2 $nsport $tlds de
	# 4 MiB socket buffer (the kernel default, 208 KiB, holds some 270
	# queries: a 30 ms pause at 10k QPS would already drop queries)
	printf 'server:\n  so-rcvbuf: 4m\n' >> "$w/ub-$s.conf"
	case $s in
	icpguard) printf 'dynlib:\n  dynlib-file: "%s"\n' "$so" >> "$w/ub-$s.conf" ;;
	rpz) cat >> "$w/ub-$s.conf" <<C
rpz:
  name: "orders.rpz."
  zonefile: "$w/orders.rpz"
  rpz-log: no
rpz:
  name: "policy.rpz."
  zonefile: "$w/policy.rpz"
  rpz-log: no
C
	;;
	esac
	if [ $s = rpz ]; then
		printf 'remote-control:\n  control-enable: yes\n  control-interface: 127.0.0.1\n  control-port: %s\n  control-use-cert: no\n' \
			$ctlport >> "$w/ub-$s.conf"
	else
		printf 'remote-control:\n  control-enable: no\n' >> "$w/ub-$s.conf"
	fi
done
cat > "$w/icpguard.conf" <<C
snapshot: $w/snapshot.mdb
orders-snapshot: $w/orders.mdb
scope: all
log-blocks: no
C
cat > "$w/orders.rpz" <<Z
\$ORIGIN orders.rpz.
\$TTL 300
@ SOA localhost. root.localhost. 1 3600 600 86400 300
@ NS localhost.
placeholder.invalid CNAME .
Z
cp "$w/orders.rpz" "$w/orders.rpz.base"

# ---------------------------------------------------------------- runs
plain_pid=""
for s in $setups; do
	eval port=\$port_$s
	case $s in
	icpguard)
		rm -f "$w/snapshot.mdb" "$w/orders.mdb"
		log "icpguard: building the snapshot"
		t=$(bench_now)
		"$ig" build --quiet --source "$data/src1" --out "$w/snapshot.mdb" ||
			{ put icpguard failed "icpguard build failed"; continue; }
		put icpguard prep "$(elapsed "$t")"
		put icpguard size "$(du -k "$w/snapshot.mdb" | cut -f1)"
		loader_start
		;;
	rpz)
		ln -f "$data/policy-v1.rpz" "$w/policy.rpz" 2>/dev/null ||
			cp "$data/policy-v1.rpz" "$w/policy.rpz"
		put rpz prep "$(cat "$data/rpz-write-secs")"
		put rpz size "$(du -k "$w/policy.rpz" | cut -f1)"
		;;
	esac
	start $s || continue
	log "$s: up after $(get $s start) s; checking answers"
	put $s mismatch "$(check $s $port)"
	qps $s
	memory $s runs $upid

	# full refresh under load
	log "$s: full refresh under load"
	load_start $port $s
	t=$(bench_now)
	case $s in
	plain) sleep 5 ;;
	icpguard)
		"$ig" build --quiet --source "$data/src2" --out "$w/snapshot.mdb"
		put $s refresh_prep "$(elapsed "$t")"
		;;
	rpz)
		python3 "$gen" $sz --version 2 --rpz "$w/policy.rpz"
		put $s refresh_prep "$(elapsed "$t")"
		timeout "$load_timeout" "$uc" -c "$w/ub-rpz.conf" auth_zone_reload policy.rpz. >&2
		put $s refresh_reload "$(elapsed "$t")"
		;;
	esac
	if [ $s != plain ]; then
		tp=$(bench_now)
		if r=$(bench_wait_rcode $port $refresh_canary NOERROR "$load_timeout" "$t"); then
			put $s refresh "$r"
			put $s refresh_apply "$(elapsed "$tp")"
		else
			put $s refresh "not in force after $load_timeout s"
		fi
	fi
	load_stop $s $s
	memory $s refresh $upid

	# takedowns of a filed, cached name, each followed by its lift
	[ $s != plain ] && takedowns $s $port
	if [ $s = plain ]; then
		plain_pid=$upid
	else
		bench_stop $upid
	fi
	if [ $s = icpguard ] && [ -n "$loader_pid" ]; then
		bench_stop $loader_pid
		loader_pid=""
	fi
	rm -f "$w/snapshot.mdb" "$w/orders.mdb" "$w/policy.rpz"
done
[ -n "$plain_pid" ] && bench_stop $plain_pid

# ---------------------------------------------------------------- table
row() { printf '%-40s %12s %12s %7s %12s %7s %10s\n' "$@"; }
# cell S KEY [scale]: value, or the failure mark
cell() {
	_v=$(get "$1" "$2")
	if [ -z "$_v" ]; then
		[ -n "$(get "$1" failed)" ] && echo "failed" || echo "-"
	else
		echo "$_v"
	fi
}
num() { case $1 in ''|*[!0-9.]*) return 1 ;; esac; }
rat() { num "$1" && num "$2" && bench_ratio "$1" "$2" || echo ""; }
memrow() {
	_p=$(get plain "$2") _i=$(get icpguard "$2") _r=$(get rpz "$2")
	row "$1" "$(mib "$_p")" "$(mib "$_i")" "$(rat "$_i" "$_p")" \
		"$(mib "$_r")" "$(rat "$_r" "$_p")" "${3:-}"
}
plainrow() {
	_p=$(cell plain "$2") _i=$(cell icpguard "$2") _r=$(cell rpz "$2")
	row "$1" "$_p" "$_i" "$(rat "$_i" "$_p")" "$_r" "$(rat "$_r" "$_p")" "${3:-}"
}
# QPS with the ratio against the paired plain rounds
qpsrow() {
	_p=$(cell plain "$2") _i=$(cell icpguard "$2") _r=$(cell rpz "$2")
	_ir=$(get icpguard "${2}ref") _rr=$(get rpz "${2}ref")
	row "$1" "$_p" "$_i" "$(rat "$_i" "${_ir:-$_p}")" "$_r" "$(rat "$_r" "${_rr:-$_p}")" "${3:-}"
}
loadrow() {
	row "$1" "$(cell plain "$2")" "$(cell icpguard "$2")" "" "$(cell rpz "$2")" "" "${3:-}"
}
onlyrow() {
	row "$1" "${4:-n/a}" "$(cell icpguard "$2")" "" "$(cell rpz "$2")" "" "${3:-}"
}
added() {
	_p=$(get plain "$1") _x=$(get "$2" "$1")
	num "$_p" && num "$_x" && mib $((_x - _p)) || echo ""
}
{
	echo
	echo "icpguard vs Unbound RPZ: $filings filings, $black blacklist entries, $ranges domestic ranges"
	echo "(icpguard scope: all; Unbound 1.17.1, num-threads 1; dnsperf -c 4 -q 200, $secs s runs, median of $rounds)"
	row "" "no policy" "icpguard" "ratio" "RPZ" "ratio" "target"
	plainrow "start to first answer (s)" start "<= 1 s"
	memrow "RSS after load (MiB)" rss_load
	memrow "  peak RSS while loading (MiB)" rss_peak
	memrow "private memory after load (MiB)" priv_load
	row "  added to no policy (MiB)" "" "$(added priv_load icpguard)" "" "$(added priv_load rpz)" "" "<= 64"
	memrow "private memory after the runs (MiB) *" priv_runs
	row "  of it snapshot file pages (MiB)" "" "$(mib "$(get icpguard snappriv_runs)")" "" "" "" ""
	qpsrow "cache-hit QPS, filed names" hitf ">= 0.98"
	qpsrow "cache-hit QPS, mix (15 % blocked)" hit ""
	qpsrow "cache-miss QPS (unique filed names)" miss ">= 0.95"
	qpsrow "cache-miss QPS (unfiled foreign names)" missu ">= 0.95"
	qpsrow "cache-miss QPS (nonexistent names)" missnx ">= 0.95"
	loadrow "upstream queries per miss, filed" upmiss ""
	loadrow "  unfiled foreign" upmissu ""
	loadrow "  nonexistent" upmissnx ""
	row "data: snapshot / zone file (MiB)" "" "$(mib "$(get icpguard size)")" "" "$(mib "$(get rpz size)")" "" ""
	row "initial build / zone write (s)" "" "$(cell icpguard prep)" "" "$(cell rpz prep)" "" ""
	onlyrow "full refresh, start to in force (s)" refresh ""
	onlyrow "  build / zone rewrite done at (s)" refresh_prep ""
	row "  reload command returned at (s)" "" "" "" "$(cell rpz refresh_reload)" "" ""
	onlyrow "  in force after the last step (s)" refresh_apply ""
	loadrow "load during refresh: queries sent" load_sent ""
	loadrow "  lost (no answer within 1 s)" load_lost "0"
	loadrow "  SERVFAIL" load_servfail "0"
	loadrow "  max latency (ms)" load_max_ms ""
	onlyrow "takedown, order to in force (ms)" td_order "< RPZ"
	onlyrow "  lift to the real answer (ms)" td_lift ""
	onlyrow "  operator signs in the command (ms)" td_order_signing ""
	onlyrow "  its lift (ms)" td_lift_signing ""
	loadrow "check list answers not as expected" mismatch "0"
	for s in plain icpguard rpz; do
		f=$(get $s failed)
		[ -n "$f" ] && echo "$s: FAILED: $f"
	done
	echo "(QPS ratios against the plain Unbound measured in alternate rounds of the same period:"
	echo " filed hits $(get icpguard hitfref) beside icpguard, $(get rpz hitfref) beside RPZ;"
	echo " mixed hits $(get icpguard hitref) beside icpguard, $(get rpz hitref) beside RPZ;"
	echo " filed misses $(get icpguard missref) beside icpguard, $(get rpz missref) beside RPZ;"
	echo " unfiled foreign misses $(get icpguard missuref) beside icpguard, $(get rpz missuref) beside RPZ;"
	echo " nonexistent misses $(get icpguard missnxref) beside icpguard, $(get rpz missnxref) beside RPZ)"
	echo "(* with the caches the runs filled, different per setup; snapshot file pages are page"
	echo " cache mapped read-only, counted as Private_Clean while only this process maps them)"
	echo "(refresh load: dnsperf -t 1 -Q $load_qps over the cache-hit list; plain: a 5 s window without refresh)"
	echo "(takedown: median of $takedowns orders and lifts, from the command's start; icpguard: the signed"
	echo " order submitted with \`icpguard order add\`, samples $(get icpguard td_order_all) / lifts"
	echo " $(get icpguard td_lift_all); signing in the command $(get icpguard td_order_signing_all);"
	echo " RPZ: zone appended, fsynced, reloaded, samples $(get rpz td_order_all) / lifts $(get rpz td_lift_all))"
} > "$w/table"
cat "$w/table"
[ -n "$report" ] && cp "$w/table" "$report"
exit 0
