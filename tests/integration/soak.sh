#!/bin/sh
# tests/integration/soak.sh: snapshot swaps at about ten a second under
# load, every answer checked (TAP).
#
# Two snapshots (the integration policy, and the same with an order on
# filed-cdn.cn) are renamed over the snapshot path in turn, IG_SOAK_SECONDS
# * 10 times (default 10 s: 100 swaps; a longer soak: for example
# IG_SOAK_SECONDS=600), each one waited for in Unbound's log before the
# next, so the count does not depend on the machine's speed.  Meanwhile dnsperf loads Unbound (num-threads 2)
# with fresh and cached names, and a checker sends raw UDP queries every
# 2 ms for names no swap changes, and checks each whole answer: the rcode,
# the addresses, the alias chain ending in an address (the symptom of
# Unbound issue 1507), the policy EDE.  In the variant "tiny" the RRset and
# message caches are tiny (eviction on every insert) and aliases to a
# target with A and AAAA are asked for both types at once (the 1507
# variant).
# On a wrong answer the checker keeps the wire reply (hex), and the test
# adds who listens on the port (ss), `unbound-control lookup` of the name,
# the cache dump's lines for it and Unbound's log-replies lines around it
# (a reply with no matching log line did not come from this Unbound).
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

ig_init soak
command -v dnsperf >/dev/null 2>&1 || ig_skip_all "dnsperf not installed (run tools/deps)"
command -v python3 >/dev/null 2>&1 || ig_skip_all "python3 not installed (run tools/deps)"
SECS=${IG_SOAK_SECONDS:-10}
ig_start_tree
POL_B=$IG_WORK/policy-b
cp -r "$IG_POLICY_SRC" "$POL_B"
cat >>"$POL_B/orders.jsonl" <<'EOF2'
{"id":"ord-soak","doc_no":"工信厅信管函〔2024〕9号","unit":"工业和信息化部","reason":"测试","targets":["filed-cdn.cn"],"effective":"2020-01-01"}
EOF2
"$IG_ICPGUARD" build --quiet --source "$IG_POLICY_SRC" --out "$IG_WORK/snap-a.mdb" --serial 100 >>"$IG_WORK/build.log" 2>&1 &&
"$IG_ICPGUARD" build --quiet --source "$POL_B" --out "$IG_WORK/snap-b.mdb" --serial 200 >>"$IG_WORK/build.log" 2>&1 ||
	ig_bail "icpguard build failed: $(tail -3 "$IG_WORK/build.log")"
cp "$IG_WORK/snap-a.mdb" "$IG_WORK/snapshot.mdb"
# the swaps: a copy renamed over the path (the loader's way), alternately
# SECS * 10 swaps, each waited for in the log (the module's "in force"
# line) before the next, so the count does not depend on the machine's
# speed; bounded by SECS * 6 seconds in all.  Then swaps.done stops the
# checker.
cat >"$IG_WORK/swapper.sh" <<EOF2
in_force() { grep -c 'icpguard: snapshot .* in force (was' "$IG_WORK/unbound.log"; }
i=0
base=\$(in_force)
end=\$(( \$(date +%s) + $((SECS * 6)) ))
while [ \$i -lt $((SECS * 10)) ] && [ \$(date +%s) -lt \$end ]; do
	if [ \$((i % 2)) = 0 ]; then s=b; else s=a; fi
	cp "$IG_WORK/snap-\$s.mdb" "$IG_WORK/snapshot.mdb.tmp" && mv "$IG_WORK/snapshot.mdb.tmp" "$IG_WORK/snapshot.mdb"
	i=\$((i + 1))
	w=0
	while [ \$w -lt 500 ] && [ \$(in_force) -lt \$((base + i)) ]; do
		sleep 0.02; w=\$((w + 1))
	done
	sleep 0.1
done
echo \$i >"$IG_WORK/swaps"
touch "$IG_WORK/swaps.done"
EOF2

cat >"$IG_WORK/checker.py" <<'EOF2'
# raw UDP checker: names whose verdict no swap changes, every 2 ms
import binascii, os, socket, struct, sys, time
port, secs, tiny, out, stop = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3] == "1", sys.argv[4], sys.argv[5]
A, AAAA, CNAME = 1, 28, 5
def q(name, t, qid):
    m = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 1)
    for l in name.split("."):
        m += bytes([len(l)]) + l.encode()
    return m + b"\0" + struct.pack(">HH", t, 1) + b"\0\0\x29\x04\xd0\0\0\0\0\0\0"
def name_at(m, o):
    labels, jumped, end = [], False, None
    while True:
        l = m[o]
        if l & 0xc0 == 0xc0:
            if end is None: end = o + 2
            o = ((l & 0x3f) << 8) | m[o + 1]
            continue
        if l == 0:
            return ".".join(labels).lower(), (end if end is not None else o + 1)
        labels.append(m[o + 1:o + 1 + l].decode("latin1"))
        o += 1 + l
def parse(m):
    qd, an, ns, ar = struct.unpack(">HHHH", m[4:12])
    o = 12
    for _ in range(qd):
        _, o = name_at(m, o)
        o += 4
    rrs = []
    for sec, cnt in (("an", an), ("ns", ns), ("ar", ar)):
        for _ in range(cnt):
            n, o = name_at(m, o)
            t, c, ttl, rl = struct.unpack(">HHIH", m[o:o + 10])
            o += 10
            rd = m[o:o + rl]
            if t == CNAME:
                rd, _ = name_at(m, o)
            elif t == 41:
                opts, p = [], 0
                while p + 4 <= rl:
                    oc, ol = struct.unpack(">HH", m[o + p:o + p + 4])
                    opts.append((oc, m[o + p + 4:o + p + 4 + ol]))
                    p += 4 + ol
                rd = opts
            rrs.append((sec, n, t, rd))
            o += rl
    return m[3] & 0xf, rrs
def ede(rrs):
    for sec, n, t, rd in rrs:
        if t == 41:
            for oc, ov in rd:
                if oc == 15 and len(ov) >= 2:
                    return struct.unpack(">H", ov[:2])[0]
    return None
def chain_ok(qname, t, rrs):
    # the answer must lead from qname through CNAMEs to an RRset of type t
    cur, seen = qname, 0
    an = [(n, tt, rd) for sec, n, tt, rd in rrs if sec == "an"]
    while seen < 16:
        if any(n == cur and tt == t for n, tt, rd in an):
            return True
        nxt = [rd for n, tt, rd in an if n == cur and tt == CNAME]
        if not nxt:
            return False
        cur, seen = nxt[0], seen + 1
    return False
def addr(rd, t):
    return socket.inet_ntop(socket.AF_INET if t == A else socket.AF_INET6, rd)
checks = [
    ("www.filed.cn", A, lambda rc, r: rc == 0 and chain_ok("www.filed.cn", A, r) and
        any(t == A and addr(rd, A) == "127.0.10.1" for s, n, t, rd in r if s == "an")),
    ("www.filed.cn", AAAA, lambda rc, r: rc == 0 and chain_ok("www.filed.cn", AAAA, r)),
    ("cdn.filed.cn", A, lambda rc, r: rc == 0 and chain_ok("cdn.filed.cn", A, r)),
    ("www.ordered.cn", A, lambda rc, r: rc == 3 and ede(r) == 16),
    ("www.bad.cn", A, lambda rc, r: rc == 3 and ede(r) == 15),
    ("go.filed.cn", A, lambda rc, r: rc == 3 and ede(r) == 15),
    ("www.unfiled-abroad.com", A, lambda rc, r: rc == 0 and chain_ok("www.unfiled-abroad.com", A, r)),
]
if tiny:
    for i in range(5):
        for t in (A, AAAA):
            nm = "w%d.wc.filed.cn" % i
            checks.append((nm, t, (lambda nm, t: lambda rc, r: rc == 0 and chain_ok(nm, t, r))(nm, t)))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2.0)
n = bad = timeouts = 0
qid = 0
# until the swapper is done (swaps.done), at most secs
end = time.monotonic() + secs
f = open(out, "w")
while time.monotonic() < end and not os.path.exists(stop):
    for name, t, ok in checks:
        qid = (qid + 1) & 0xffff
        sent = time.time()
        s.sendto(q(name, t, qid), ("127.0.0.1", port))
        try:
            while True:
                m = s.recv(65535)
                if struct.unpack(">H", m[:2])[0] == qid:
                    break
        except socket.timeout:
            timeouts += 1
            f.write("TIMEOUT %.6f %s %d\n" % (sent, name, t))
            continue
        n += 1
        try:
            rc, rrs = parse(m)
            good = ok(rc, rrs)
        except Exception as e:
            good, rc, rrs = False, -1, [("parse error", str(e), 0, b"")]
        if not good:
            bad += 1
            if bad <= 20:
                f.write("WRONG %.6f %s %d rcode %d %s\n  wire %s\n" % (sent, name, t, rc,
                    [(a, b, c) for a, b, c, d in rrs], binascii.hexlify(m).decode()))
    time.sleep(0.002)
f.write("RESULT %d %d %d\n" % (n, bad, timeouts))
f.close()
EOF2


run_soak() {
	# run_soak VARIANT: normal, or tiny (a tiny RRset and message cache,
	# aliases to a target with A and AAAA asked for both at once)
	V=$1
	TINY=0
	EXTRA="log-replies: yes"
	if [ "$V" = tiny ]; then
		TINY=1
		EXTRA="log-replies: yes
rrset-cache-size: 40k
msg-cache-size: 40k"
	fi
	cp "$IG_WORK/snap-a.mdb" "$IG_WORK/snapshot.mdb"
	ig_stop_unbound
	ig_start_unbound "" "$EXTRA" || ig_bail "$V: Unbound with the module did not start"
	MARK=$(ig_log_mark)
	# load: fresh names (cache misses, stores) and cached ones
	awk 'BEGIN { for(i = 0; i < 20000; i++) { printf "l%d.load.filed.cn A\n", i;
		printf "w%d.wc.filed.cn A\nw%d.wc.filed.cn AAAA\n", i % 50, i % 50 } }' >"$IG_WORK/load.txt"
	dnsperf -s 127.0.0.1 -p "$IG_PORT" -d "$IG_WORK/load.txt" -l $((SECS * 6 + 30)) -Q 2000 -c 4 -t 2 \
		>"$IG_WORK/dnsperf.out" 2>&1 9>&- &
	PERF=$!
	ig_track "$PERF"

	rm -f "$IG_WORK/swaps.done" "$IG_WORK/swaps"
	sh "$IG_WORK/swapper.sh" 9>&- &
	SWAPPER=$!
	ig_track "$SWAPPER"
	python3 "$IG_WORK/checker.py" "$IG_PORT" $((SECS * 6 + 10)) "$TINY" "$IG_WORK/checker-$V.out" "$IG_WORK/swaps.done" 9>&-
	wait "$SWAPPER" 2>/dev/null
	ig_untrack "$SWAPPER"
	kill -INT "$PERF" 2>/dev/null
	wait "$PERF" 2>/dev/null
	ig_untrack "$PERF"

	set -- $(sed -n 's/^RESULT //p' "$IG_WORK/checker-$V.out")
	n=${1:-0} bad=${2:-1} timeouts=${3:-0}
	swaps=$(cat "$IG_WORK/swaps" 2>/dev/null || echo 0)
	inforce=$(ig_log_since "$MARK" | grep -c 'icpguard: snapshot .* in force (was')
	if [ "$bad" != 0 ] || [ "$timeouts" != 0 ]; then
		# what to know about the wrong answers: who listens, what the cache
		# holds, what Unbound says it sent
		{
			echo "== listeners on udp port $IG_PORT"
			ss -ulpn "sport = :$IG_PORT" 2>&1
			for nm in $(awk '/^WRONG|^TIMEOUT/ { print $3 }' "$IG_WORK/checker-$V.out" | sort -u); do
				echo "== unbound-control lookup $nm"
				ig_uctl lookup "$nm" 2>&1 | head -20
				echo "== dump_cache lines for $nm"
				ig_uctl dump_cache 2>/dev/null | grep -i "$nm" | head -20
				echo "== log-replies lines for $nm (last 10)"
				grep -F " $nm. " "$IG_WORK/unbound.log" | tail -10
			done
		} >"$IG_WORK/forensics-$V.txt" 2>&1
	fi
	kill -0 "$IG_UNBOUND_PID" 2>/dev/null
	ig_check $? "$V: Unbound is alive after $SECS s of swaps"
	[ "$swaps" -eq $((SECS * 10)) ] && [ "$inforce" -eq "$swaps" ]
	ig_check $? "$V: $((SECS * 10)) swaps: $swaps renamed over the path, $inforce taken by the module"
	[ "$n" -ge $((SECS * 100)) ]
	ig_check $? "$V: the checker got $n answers (at least $((SECS * 100)))"
	[ "$bad" = 0 ] && [ "$timeouts" = 0 ]
	ig_check $? "$V: every answer right: $bad wrong, $timeouts unanswered of $n" \
		"$(head -40 "$IG_WORK/checker-$V.out"; cat "$IG_WORK/forensics-$V.txt" 2>/dev/null | head -60)"
}

for v in ${IG_SOAK_VARIANTS:-normal tiny}; do run_soak "$v"; done
ig_done
