#!/bin/sh
# bench/takedown.sh: takedown latency, icpguard against Unbound's RPZ, side
# by side, under load.  Not a test.
#
#   bench/takedown.sh [-n ORDERS] [-q LOAD_QPS] [-s SNAPSHOT] [-k]
#
# Setup on loopback: NSD on 127.0.0.2 (a filed wildcard zone), and two
# Unbounds, one thread each, both kept busy by dnsperf at LOAD_QPS (default
# 10000) over 1000 cached names for the whole run:
#   icpguard  "validator dynlib iterator", the main snapshot (-s PATH, for
#             example one of ten million filings built by rpz-compare.sh
#             --keep; default: a small one) and the order snapshot that the
#             real icpguard-loader publishes; an order arrives signed by
#             the administration (an envelope, `icpguard order sign`
#             before the clock starts) and the operator submits it with
#             `icpguard order add`, its lift the same way; with -k the
#             operator signs in the timed command instead (`icpguard
#             order add FILE --key`, `icpguard order lift ID --key`)
#   rpz       "respip validator iterator" with a small orders.rpz: an order is
#             two lines appended to the zone file and `unbound-control
#             auth_zone_reload`, a lift removes them and reloads
# For each of ORDERS orders (default 100), one after another, its target
# already in both caches: the time from the order acknowledged (`icpguard
# order add` returned: the order is journaled and fsynced; RPZ: the reload
# command returned) to the first blocked answer, and the same for its lift
# (to the first real answer).  Also from the moment the order was sent:
# for icpguard `icpguard order add` started (HTTP, signing with -k, the journal's
# fsync, the order snapshot's publish), for RPZ the zone file written and
# fsynced and the reload run.  A checker asks the target every millisecond
# over UDP while the command runs (an answer before the command returned
# gives a negative "acknowledged" figure).
# Prints median, p90, p99 and max for each.  Needs dnsperf, nsd, a built
# tree (make) and tools/unbound-build.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
norders=100 loadqps=10000 snap="" signing=envelope
while getopts n:q:s:kh o; do
	case $o in
	n) norders=$OPTARG ;; q) loadqps=$OPTARG ;; s) snap=$OPTARG ;;
	k) signing=command ;;
	*) sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	esac
done
. "$top/bench/lib.sh"
bench_init takedown
loader=$(bench_builddir)/loader/icpguard-loader
[ -x "$loader" ] || bench_die "missing $loader (make)"
cp "$loader" "$w/bin/"
loader=$w/bin/icpguard-loader
nsport=5463 portig=5464 portrpz=5465 ctlport=5466 lport=5467
for p in $nsport $portig $portrpz; do bench_port_free $p; done

echo "bench: zones, policy and keys in $w"
bench_zone cn 3600 "*.td-bench.cn. IN A 127.0.10.1"
if [ -z "$snap" ]; then
	mkdir -p "$w/src"
	printf 'cn\n' > "$w/src/tlds.txt"
	printf '{"domain":"td-bench.cn","number":"京ICP备16020626号-1"}\n' > "$w/src/filings.jsonl"
	printf 'range\n127.0.10.0/24\n' > "$w/src/domestic.csv"
	"$ig" build --quiet --source "$w/src" --out "$w/snapshot.mdb"
	snap=$w/snapshot.mdb
	snapdesc="a small snapshot (one filing)"
else
	snapdesc="$snap ($("$ig" info "$snap" 2>/dev/null | awk '$1 == "count.filing" || $1 == "filings" { print $2 " filings" }' | head -1))"
fi
printf 'snapshot: %s\norders-snapshot: %s\nlog-blocks: no\n' "$snap" "$w/orders.mdb" > "$w/icpguard.conf"
"$ig" feed keygen "$w/miit" >/dev/null
printf '%s\n' "snapshot: $snap" "state-dir: $w/loader" "status-listen: 127.0.0.1:$lport" \
	"orders-snapshot: $w/orders.mdb" "key: miit $w/miit.pub" "order-keys: miit" \
	"log: stderr" > "$w/loader.conf"
printf '$TTL 60\n@ IN SOA localhost. root.localhost. 1 3600 600 86400 60\n@ IN NS localhost.\n' > "$w/orders.rpz"

bench_unbound_conf "$w/ig.conf" $portig "validator dynlib iterator" 127.0.0.2 $nsport cn
printf 'server:\n  so-rcvbuf: 4m\ndynlib:\n  dynlib-file: "%s"\nremote-control:\n  control-enable: no\n' "$so" >> "$w/ig.conf"
bench_unbound_conf "$w/rpz.conf" $portrpz "respip validator iterator" 127.0.0.2 $nsport cn
cat >> "$w/rpz.conf" <<C
server:
  so-rcvbuf: 4m
rpz:
  name: "orders.rpz."
  zonefile: "$w/orders.rpz"
  rpz-log: no
remote-control:
  control-enable: yes
  control-interface: 127.0.0.1
  control-port: $ctlport
  control-use-cert: no
C

bench_nsd_start 127.0.0.2 $nsport cn
"$loader" -c "$w/loader.conf" --foreground >> "$w/loader.log" 2>&1 &
bench_track $!
i=0
while [ $i -lt 100 ] && ! [ -e "$w/orders.mdb" ]; do sleep 0.1; i=$((i + 1)); done
[ -e "$w/orders.mdb" ] || bench_die "the loader published no order snapshot (see $w/loader.log)"
ICPGUARD_CONF="$w/icpguard.conf" "$ub" -c "$w/ig.conf"
"$ub" -c "$w/rpz.conf"
i=0
while [ $i -lt 100 ] && ! { [ -s "$w/ig.conf.pid" ] && [ -s "$w/rpz.conf.pid" ]; }; do sleep 0.1; i=$((i + 1)); done
bench_track "$(cat "$w/ig.conf.pid")" "$(cat "$w/rpz.conf.pid")"

# targets t-K.td-bench.cn, cached in both; the load: 1000 other names
awk -v n="$norders" -v w="$w" 'BEGIN {
	for(i = 0; i < 1000; i++) printf "l%d.td-bench.cn A\n", i > (w "/load.txt")
	for(i = 1; i <= n; i++) printf "t-%d.td-bench.cn A\n", i > (w "/targets.txt") }'
for p in $portig $portrpz; do
	bench_qps $p "$w/load.txt" -n 1 >/dev/null
	bench_qps $p "$w/targets.txt" -n 1 >/dev/null
done
echo "bench: load: dnsperf -Q $loadqps on each Unbound over 1000 cached names"
for p in $portig $portrpz; do
	dnsperf -s 127.0.0.1 -p $p -d "$w/load.txt" -c 2 -q 100 -Q "$loadqps" -l 100000 \
		>/dev/null 2>&1 &
	bench_track $!
done

cat > "$w/takedown.py" <<'PY'
# the orders one after another; prints one line per measurement:
#   SETUP EVENT MS   (EVENT: order-ack, order-sent, lift-ack, lift-sent)
import json, os, socket, struct, subprocess, sys, time
w, ig, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
signing = sys.argv[9]
portig, portrpz, ctlport, lport, uc = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], sys.argv[7], sys.argv[8]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.001)
qid = 0
def rcode(port, name):
    global qid
    qid = (qid + 1) & 0xffff
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for l in name.split("."):
        q += bytes([len(l)]) + l.encode()
    q += b"\0" + struct.pack(">HH", 1, 1)
    s.sendto(q, ("127.0.0.1", port))
    end = time.monotonic() + 0.001
    while True:
        try:
            r = s.recv(4096)
        except socket.timeout:
            return None
        if len(r) >= 4 and struct.unpack(">H", r[:2])[0] == qid:
            return r[3] & 0xf
        if time.monotonic() > end:
            return None
def wait(port, name, want, t0, limit=5.0):
    while True:
        if rcode(port, name) == want:
            return (time.monotonic() - t0) * 1000
        if time.monotonic() - t0 > limit:
            return float("nan")
        time.sleep(0.0005)
def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
def measure(setup, event, cmd, port, name, want, before=None):
    # run before (RPZ: the zone file written and fsynced, the operator's
    # durable step), then start cmd (the order, lift or reload) and ask
    # name while it runs: the time from cmd's return ("ack") and from the
    # start ("sent") to the first answer with rcode want.  "ack" is
    # negative when the answer came before cmd returned (icpguard
    # publishes the order snapshot before its journal fsync ends)
    t_sent = time.monotonic()
    if before:
        before()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t_ack = t_seen = None
    while t_ack is None or t_seen is None:
        if t_ack is None and p.poll() is not None:
            t_ack = time.monotonic()
            if p.returncode != 0:
                raise SystemExit("%s failed: status %d" % (cmd[0], p.returncode))
        if t_seen is None and rcode(port, name) == want:
            t_seen = time.monotonic()
        if t_seen is None and time.monotonic() - t_sent > 5.0:
            t_seen = float("nan")
        time.sleep(0.0005)
    print("%s %s-ack %.3f" % (setup, event, (t_seen - t_ack) * 1000))
    print("%s %s-sent %.3f" % (setup, event, (t_seen - t_sent) * 1000))
def write_rpz(text):
    with open(rpz, "w") as z:
        z.write(text)
        z.flush()
        os.fsync(z.fileno())
rpz = os.path.join(w, "orders.rpz")
base = open(rpz).read()
for k in range(1, n + 1):
    name = "t-%d.td-bench.cn" % k
    order = {"id": "td-%d" % k, "doc_no": "工信厅信管函〔2024〕%d号" % k, "unit": "工业和信息化部",
             "reason": "bench", "targets": [name], "effective": "2020-01-01"}
    f = os.path.join(w, "order.json")
    json.dump(order, open(f, "w"), ensure_ascii=False)
    key = os.path.join(w, "miit.key")
    loader = "http://127.0.0.1:" + lport
    reload = [uc, "-s", "127.0.0.1@" + ctlport, "auth_zone_reload", "orders.rpz"]
    if signing == "envelope":
        # the administration's signed order, as it arrives (untimed)
        env = os.path.join(w, "order.env")
        with open(env, "w") as e:
            subprocess.run([ig, "order", "sign", f, "--key", key], check=True, stdout=e)
        measure("icpguard", "order", [ig, "order", "add", env, "--loader", loader], portig, name, 3)
    else:
        measure("icpguard", "order", [ig, "order", "add", f, "--key", key, "--loader", loader], portig, name, 3)
    # RPZ: the two lines (written and fsynced: "sent" counts them, as
    # icpguard's counts its journal fsync), then the reload
    measure("rpz", "order", reload, portrpz, name, 3,
            lambda: write_rpz(base + "%s CNAME .\n*.%s CNAME .\n" % (name, name)))
    if signing == "envelope":
        lf, env = os.path.join(w, "lift.json"), os.path.join(w, "lift.env")
        json.dump({"op": "lift", "id": "td-%d" % k}, open(lf, "w"))
        with open(env, "w") as e:
            subprocess.run([ig, "order", "sign", lf, "--key", key], check=True, stdout=e)
        measure("icpguard", "lift", [ig, "order", "add", env, "--loader", loader], portig, name, 0)
    else:
        measure("icpguard", "lift", [ig, "order", "lift", "td-%d" % k, "--key", key, "--loader", loader], portig, name, 0)
    measure("rpz", "lift", reload, portrpz, name, 0, lambda: write_rpz(base))
    sys.stdout.flush()
PY
echo "bench: $norders orders and lifts, one after another"
python3 "$w/takedown.py" "$w" "$ig" "$norders" $portig $portrpz $ctlport $lport "$uc" $signing > "$w/lat.txt"

stats() { # stats SETUP EVENT: median p90 p99 max (ms)
	awk -v s="$1" -v e="$2" '$1 == s && $2 == e { print $3 }' "$w/lat.txt" | sort -g |
		awk '{ a[NR] = $1 } END {
			if(!NR) { print "n/a"; exit }
			printf "%8.1f %8.1f %8.1f %8.1f %6d", a[int((NR + 1) / 2)], a[int(NR * 0.9 + 0.999)],
				a[int(NR * 0.99 + 0.999)], a[NR], NR }'
}
echo
echo "takedown latency (ms), $norders orders one after another, each Unbound at $loadqps QPS of cached names"
echo "icpguard main snapshot: $snapdesc"
printf '%-44s %8s %8s %8s %8s %6s\n' "" median p90 p99 max n
for e in order-ack lift-ack order-sent lift-sent; do
	for s in icpguard rpz; do
		case $e in
		order-ack) d="order acknowledged to first blocked answer" ;;
		lift-ack) d="lift acknowledged to first real answer" ;;
		order-sent) d="order sent to first blocked answer" ;;
		lift-sent) d="lift sent to first real answer" ;;
		esac
		printf '%-44s %s\n' "$s: $d" "$(stats $s $e)"
	done
done
[ $signing = envelope ] && echo "(icpguard: the order and its lift arrive signed by the administration and are submitted with \`icpguard order add\`)" ||
	echo "(icpguard: the operator signs in the timed command, \`icpguard order add FILE --key\` and \`icpguard order lift ID --key\`)"
echo "(icpguard acknowledged: \`icpguard order add\` returned, the order journaled and fsynced and the"
echo " order snapshot published; rpz acknowledged: \`unbound-control auth_zone_reload\` returned"
echo " after the zone file was written and fsynced; a checker asks the target every millisecond"
echo " while the command runs; negative: blocked before the command returned)"
