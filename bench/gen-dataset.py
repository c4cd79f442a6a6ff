#!/usr/bin/env python3
"""bench/gen-dataset.py - synthetic policy data at scale, for
bench/rpz-compare.sh.

Writes the same policy twice: as `icpguard build` source files and as an
RPZ zone for Unbound, so that icpguard (scope: all) and Unbound's RPZ can
be compared on equal data.  Deterministic: no clock, fixed seeds, names
derived from record numbers by a bijective mix, so every run with the same
arguments writes byte-identical files.  Python 3 standard library only.

    gen-dataset.py [--filings N] [--blacklist N] [--ranges N]
                   [--version 1|2]
                   [--icpguard DIR] [--rpz FILE] [--queries DIR]

  --icpguard DIR  tlds.txt, filings.jsonl, blacklist.jsonl, domestic.csv
  --rpz FILE      the RPZ zone (origin policy.rpz.): "*.TLD CNAME ." for
                  every filable TLD and public suffix in use (default
                  deny), "D CNAME rpz-passthru." and "*.D CNAME
                  rpz-passthru." for every active filing D, "B CNAME ." and
                  "*.B CNAME ." for every blacklist entry B
  --queries DIR   query lists for the benchmark (from version 1, valid in
                  both versions): hit.txt (dnsperf input, a mix of filed,
                  unfiled and blacklisted names), hit-filed.txt (its
                  filed names only), miss-domains.txt (filed
                  domains under which unique names are made), check.txt
                  (NAME TAB pass|block TAB CATEGORY: the equivalence check)
  --version 2     the refreshed data set: 0.1 % of filings dropped,
                  0.1 % new ones, and the refresh canary
                  icpguard-refresh-canary.cn filed (unfiled in version 1)

The record numbers: filing j in [0, N) is active unless j % 50 == 17
(cancelled, 2 %); it is dropped in version 2 when j % 1000 == 999.  Of the
blacklist entries k in [0, B): k % 10 in {0, 1} is a host under a stable
filed domain (20 %), k % 100 == 2 blacklists the filed domain j = k *
(N // B) itself (1 %), the others are unfiled registrable domains.  A
blacklisted host sits only under a filed domain whose "*.D rpz-passthru"
wildcard exists: in RPZ a name below an empty non-terminal escapes the
TLD wildcard, which would make the two policies differ.
"""
import argparse
import os
import random
import sys
import time

M40 = (1 << 40) - 1
FILED, NEWV2, UNFILED, BLACK = 0, 1 << 36, 2 << 36, 3 << 36

# (tld, weight in %); the public suffixes below a TLD get their own
# wildcard in RPZ (com.cn exists as a node there, so "*.cn" does not
# cover x.com.cn)
TLDS = [("cn", 40), ("com.cn", 8), ("net.cn", 2), ("org.cn", 1),
        ("com", 25), ("net", 8), ("org", 2), ("top", 7), ("xyz", 4),
        ("xn--fiqs8s", 3)]
TLD_OF = []
for _t, _w in TLDS:
    TLD_OF += [_t] * _w
assert len(TLD_OF) == 100
FILABLE = ["cn", "com", "net", "org", "top", "xyz", "xn--fiqs8s"]

PROV = ["京", "沪", "粤", "浙", "苏", "鲁", "川", "闽", "鄂", "湘", "皖",
        "豫", "冀", "辽", "陕", "渝", "津", "赣", "桂", "黑"]
CITY = ["北京", "上海", "广州", "深圳", "杭州", "南京", "成都", "厦门",
        "武汉", "长沙", "合肥", "郑州", "石家庄", "沈阳", "西安", "重庆",
        "天津", "南昌", "南宁", "哈尔滨"]
WORD = ["星辰", "云帆", "华信", "远景", "启明", "博雅", "锦程", "天成",
        "瑞丰", "鼎盛", "宏图", "金桥", "海纳", "恒通", "新元", "鸿运"]
TRADE = ["网络科技", "信息技术", "电子商务", "文化传媒", "软件开发",
         "数据服务", "教育咨询", "贸易"]
TYPE = ["enterprise"] * 6 + ["individual"] * 3 + ["institution"]
PROVIDER = ["阿里云", "腾讯云", "华为云", "天翼云", "百度智能云",
            "京东云", "UCloud", "金山云"]
BL_REASON = [("涉嫌诈骗", "CNCERT"), ("涉嫌赌博", "12321举报中心"),
             ("传播恶意程序", "CNCERT"), ("仿冒登录页面", "12321举报中心"),
             ("传播淫秽色情信息", "省通信管理局")]

REFRESH_CANARY = "icpguard-refresh-canary.cn"
TAKEDOWN_CANARY = "icpguard-takedown-canary.cn"


def mix(i):
    """a bijection of [0, 2^40): distinct numbers give distinct labels"""
    x = (i * 0x9E3779B97F4A7C15 + 0x5DEECE66D) & M40
    x ^= x >> 17
    x = (x * 0xBF58476D1CE4E5B9) & M40
    x ^= x >> 19
    return x


def name(i):
    """the registrable domain of record number i: 10 hex digits (never a
    public suffix) under a TLD picked by the mix"""
    x = mix(i)
    return "%010x.%s" % (x, TLD_OF[(x >> 7) % 100]), x


class Data:
    def __init__(self, n, b, r, version):
        if n < 1000 or b < 100:
            sys.exit("gen-dataset: want at least 1000 filings and 100 "
                     "blacklist entries")
        self.n, self.b, self.r, self.version = n, b, r, version
        self.s = max(1, n // b)

    # ---- the record rules
    def cancelled(self, j):
        return j % 50 == 17

    def dropped(self, j):
        return self.version == 2 and j % 1000 == 999

    def full_black(self, j):
        """filing j is blacklisted as a whole (blacklist k = j / s)"""
        if j % self.s:
            return False
        k = j // self.s
        return k < self.b and k % 100 == 2

    def stable(self, j):
        """active, not blacklisted, in both versions"""
        return (j % 50 != 17 and j % 1000 != 999 and
                not self.full_black(j))

    def stable_from(self, j):
        j %= self.n
        while not self.stable(j):
            j = (j + 1) % self.n
        return j

    # ---- records
    def filings(self):
        """(domain, x, status) of every filing of this version"""
        for j in range(self.n):
            if self.dropped(j):
                continue
            d, x = name(FILED + j)
            yield d, x, "cancelled" if self.cancelled(j) else "active"
        if self.version == 2:
            for t in range(self.n // 1000):
                d, x = name(NEWV2 + t)
                yield d, x, "active"
        yield TAKEDOWN_CANARY, 0x1234567, "active"
        if self.version == 2:
            yield REFRESH_CANARY, 0x7654321, "active"

    def blacklist(self):
        """(name, k) of every blacklist entry"""
        return self.blacklist_at(range(self.b))

    # ---- writers
    def write_icpguard(self, d):
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "tlds.txt"), "w") as f:
            f.write("# filable TLDs (bench/gen-dataset.py)\n")
            f.write("".join(t + "\n" for t in FILABLE))
        with open(os.path.join(d, "filings.jsonl"), "w",
                  encoding="utf-8", buffering=1 << 20) as f:
            w = f.write
            for dom, x, st in self.filings():
                p = x % 20
                y = 2005 + (x >> 5) % 19
                w('{"domain":"%s","number":"%sICP备%08d号-%d",'
                  '"subject":"%s%s%s有限公司","subject_type":"%s",'
                  '"province":"%s","provider":"%s",'
                  '"approved":"%d-%02d-%02d"%s}\n' % (
                      dom, PROV[p], (x >> 9) % 100000000, 1 + (x >> 3) % 5,
                      CITY[p], WORD[(x >> 11) % 16], TRADE[(x >> 15) % 8],
                      TYPE[(x >> 18) % 10], PROV[p],
                      PROVIDER[(x >> 22) % 8], y, 1 + (x >> 25) % 12,
                      1 + (x >> 29) % 28,
                      ',"status":"cancelled"' if st != "active" else ""))
        with open(os.path.join(d, "blacklist.jsonl"), "w",
                  encoding="utf-8", buffering=1 << 20) as f:
            w = f.write
            for nm, k in self.blacklist():
                why, src = BL_REASON[k % 5]
                w('{"name":"%s","subtree":true,"reason":"%s",'
                  '"source":"%s","added":"%d-%02d-%02d"}\n' % (
                      nm, why, src, 2018 + k % 6, 1 + k % 12,
                      1 + k % 28))
        self.write_ranges(os.path.join(d, "domestic.csv"))

    def write_ranges(self, path):
        """r ranges, 90 % IPv4 (one per slot of the unicast space, a
        quarter of them APNIC-style start-last, not CIDR aligned), 10 %
        IPv6 /32 and /48"""
        rng = random.Random(20240601)
        n6 = self.r // 10
        n4 = self.r - n6
        lo, hi = 1 << 24, 224 << 24
        slot = (hi - lo) // max(1, n4)

        def ip4(a):
            return "%d.%d.%d.%d" % (a >> 24, (a >> 16) & 255,
                                    (a >> 8) & 255, a & 255)
        with open(path, "w", buffering=1 << 20) as f:
            f.write("range,source\n")
            for i in range(n4):
                base = lo + i * slot
                if i % 4 == 3:
                    a = base + rng.randrange(1, slot // 2)
                    cnt = rng.randrange(256, max(257, slot // 2))
                    f.write("%s-%s,apnic\n" % (ip4(a), ip4(a + cnt - 1)))
                else:
                    plen = 32
                    while plen > 8 and (1 << (33 - plen)) <= slot // 2:
                        plen -= 1
                    plen = max(plen, rng.randrange(plen, plen + 4))
                    size = 1 << (32 - plen)
                    a = (base + size) // size * size
                    f.write("%s/%d,miit-ip-filing\n" % (ip4(a), plen))
            for i in range(n6):
                if i % 2:
                    f.write("240e:%x:%x::/48,apnic\n" % (i // 2 % 65536,
                                                         i // 131072 + 1))
                else:
                    f.write("2408:%x::/32,apnic\n" % (i % 65536))

    def write_rpz(self, path):
        tmp = path + ".tmp"
        with open(tmp, "w", buffering=1 << 20) as f:
            w = f.write
            w("$ORIGIN policy.rpz.\n$TTL 300\n"
              "@ SOA localhost. root.localhost. %d 3600 600 86400 300\n"
              "@ NS localhost.\n" % self.version)
            w("; default deny below every filable TLD and public suffix\n")
            for t, _ in TLDS:
                w("*.%s CNAME .\n" % t)
                if "." in t:
                    w("%s CNAME rpz-passthru.\n" % t)
            w("; blacklist (beats the filings)\n")
            for nm, k in self.blacklist():
                w("%s CNAME .\n*.%s CNAME .\n" % (nm, nm))
            w("; filings\n")
            for dom, x, st in self.filings():
                if st != "active":
                    continue
                if dom in self._fb:
                    continue
                w("%s CNAME rpz-passthru.\n*.%s CNAME rpz-passthru.\n" %
                  (dom, dom))
        os.replace(tmp, path)

    def prepare(self):
        """the filings blacklisted as a whole (1 % of the blacklist)"""
        self._fb = set()
        for k in range(2, self.b, 100):
            if k * self.s < self.n:
                self._fb.add(name(FILED + k * self.s)[0])

    def write_queries(self, d):
        os.makedirs(d, exist_ok=True)
        rng = random.Random(20240602)
        # filed domains that stay filed and unblocked in both versions
        nstable = min(self.n // 2, 100000)
        stable = []
        seen = set()
        while len(stable) < nstable:
            j = self.stable_from(rng.randrange(self.n))
            if j not in seen:
                seen.add(j)
                stable.append(j)
        with open(os.path.join(d, "miss-domains.txt"), "w") as f:
            f.write("".join(name(FILED + j)[0] + "\n" for j in stable))
        bl = [nm for nm, k in self.blacklist_sample(rng, 1000)]
        hit = []
        for i in range(8500):
            hit.append("www.%s" % name(FILED + stable[i % nstable])[0]
                       if i < nstable else
                       "w%d.%s" % (i, name(FILED + stable[i % nstable])[0]))
        for i in range(1000):
            hit.append("www.%s" % name(UNFILED + i)[0])
        for i in range(500):
            hit.append("x%d.%s" % (i, bl[i % len(bl)]))
        with open(os.path.join(d, "hit-filed.txt"), "w") as f:
            f.write("".join(h + " A\n" for h in hit[:8500]))
        rng.shuffle(hit)
        with open(os.path.join(d, "hit.txt"), "w") as f:
            f.write("".join(h + " A\n" for h in hit))
        # the equivalence check: expected verdicts under scope all
        chk = []
        for i in range(40):
            dom = name(FILED + stable[-1 - i])[0]
            chk += [(dom, "pass", "filed apex"),
                    ("www." + dom, "pass", "filed host"),
                    ("a.b.c." + dom, "pass", "filed deep")]
            u = name(UNFILED + 1000 + i)[0]
            chk += [(u, "block", "unfiled apex"),
                    ("www." + u, "block", "unfiled host")]
        for i in range(40):
            j = 17 + 50 * rng.randrange(self.n // 50)
            if not self.full_black(j):
                chk.append(("www." + name(FILED + j)[0], "block",
                            "cancelled filing"))
            j = 999 + 1000 * rng.randrange(self.n // 1000)
            if not self.full_black(j):
                chk.append(("www." + name(FILED + j)[0], "pass",
                            "filing dropped in version 2"))
        for nm, k in self.blacklist_sample(rng, 300):
            m = k % 100
            cat = ("blacklisted host of a filed domain" if m % 10 in (0, 1)
                   else "blacklisted filed domain" if m == 2
                   else "blacklisted domain")
            chk += [(nm, "block", cat), ("x." + nm, "block", cat)]
            if m % 10 in (0, 1):
                chk.append(("sibling-" + nm, "pass",
                            "sibling of a blacklisted host"))
        chk += [("www." + TAKEDOWN_CANARY, "pass", "takedown canary"),
                ("www." + REFRESH_CANARY, "block", "refresh canary (v1)")]
        with open(os.path.join(d, "check.txt"), "w") as f:
            f.write("".join("%s\t%s\t%s\n" % c for c in chk))

    def blacklist_sample(self, rng, count):
        """count blacklist entries, all three kinds represented"""
        out = []
        want = {0: count * 2 // 10, 2: max(1, count // 100)}
        got = {0: 0, 2: 0, 3: 0}
        for k in sorted(rng.sample(range(self.b), min(self.b, count * 3))):
            m = k % 100
            kind = 0 if m % 10 in (0, 1) else 2 if m == 2 else 3
            cap = want.get(kind, count - want[0] - want[2])
            if got[kind] >= cap:
                continue
            if kind == 2 and k * self.s >= self.n:
                continue
            got[kind] += 1
            out.append(k)
        # make sure the rare kind 2 shows up
        if got[2] == 0:
            out.append(2)
        res = []
        for nm, k in self.blacklist_at(out):
            res.append((nm, k))
        return res

    def blacklist_at(self, ks):
        for k in ks:
            m = k % 100
            if m % 10 in (0, 1):
                j = self.stable_from(k * self.s + 1)
                yield "bl%x.%s" % (k, name(FILED + j)[0]), k
            elif m == 2 and k * self.s < self.n:
                yield name(FILED + k * self.s)[0], k
            else:
                yield name(BLACK + k)[0], k


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--filings", type=int, default=10000000)
    ap.add_argument("--blacklist", type=int, default=1000000)
    ap.add_argument("--ranges", type=int, default=100000)
    ap.add_argument("--version", type=int, choices=(1, 2), default=1)
    ap.add_argument("--icpguard", metavar="DIR")
    ap.add_argument("--rpz", metavar="FILE")
    ap.add_argument("--queries", metavar="DIR")
    a = ap.parse_args()
    d = Data(a.filings, a.blacklist, a.ranges, a.version)
    d.prepare()
    for what, fn, arg in (("icpguard sources", d.write_icpguard, a.icpguard),
                          ("rpz zone", d.write_rpz, a.rpz),
                          ("queries", d.write_queries, a.queries)):
        if arg:
            t = time.monotonic()
            fn(arg)
            print("gen-dataset: v%d %s: %s (%.1f s)" % (
                a.version, what, arg, time.monotonic() - t),
                file=sys.stderr)


if __name__ == "__main__":
    main()
