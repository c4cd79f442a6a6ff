#!/usr/bin/env python3
"""data/sample/generate.py - write the icpguard demo dataset.

A synthetic but realistic set of source files for `icpguard build`: the
filable TLD list, ICP filings, a blacklist, takedown orders, operator
exemptions, domestic address ranges, registrars with their forwarding and
parking endpoints, and registrar domain records.  Every name, number and
address is made up (the IP ranges are plausible CN allocations, not a
copy of any registry's file).

Output is deterministic: a fixed random seed, no clock, stdlib only.
Running it again rewrites identical files:

    python3 data/sample/generate.py [OUTDIR]

Besides the random bulk it writes a fixed set of demo records (the
DEMO_* tables below) whose verdicts are listed in expected.tsv and used by
tests/unit/sample_verdicts.sh and the integration tests' local DNS tree.
Change those only together with expected.tsv.
"""
import csv
import ipaddress
import json
import os
import random
import sys

SEED = 20221108
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
    os.path.abspath(__file__))
rng = random.Random(SEED)

# ---------------------------------------------------------------------
# fixed demo records (see expected.tsv and README.md)

DEMO_DOMESTIC = [
    ("127.0.10.0-127.0.10.255", "demo"),
    ("127.0.11.0/24", "demo"),
    ("fd00:10::/32", "demo"),
    # 127.0.20.0/24 and fd00:20::/32 are the demo's "abroad":
    # deliberately not listed
]
DEMO_IPV6_DOMESTIC = "240e::/20"

DEMO_FILINGS = [
    dict(domain="filed.cn", number="京ICP备16020626号-8",
         subject="北京示例网络科技有限公司", subject_type="enterprise",
         province="京", provider="阿里云", approved="2016-05-12"),
    dict(domain="filed-cdn.cn", number="沪ICP备17012345号-1",
         subject="上海示例云分发有限公司", subject_type="enterprise",
         province="沪", provider="腾讯云", approved="2017-03-08"),
    dict(domain="备案.中国", number="京ICP备18000001号-1",
         subject="北京备案演示中心", subject_type="institution",
         province="京", provider="华为云", approved="2018-11-20"),
    dict(domain="filed-shop.com.cn", number="粤ICP备19088888号-2",
         subject="深圳示例电子商务有限公司", subject_type="enterprise",
         province="粤", provider="腾讯云", approved="2019-07-01"),
    dict(domain="both-demo.cn", number="浙ICP备20066666号-1",
         subject="杭州示例文化传媒有限公司", subject_type="enterprise",
         province="浙", provider="阿里云", approved="2020-02-14"),
    dict(domain="cancelled.cn", number="苏ICP备15011111号-3",
         subject="南京示例信息技术有限公司", subject_type="enterprise",
         province="苏", provider="天翼云", approved="2015-09-30",
         status="cancelled"),
    dict(domain="revoked.cn", number="皖ICP备14022222号-1",
         subject="张伟", subject_type="individual",
         province="皖", provider="西部数码", approved="2014-06-18",
         status="revoked"),
]

DEMO_BLACKLIST = [
    dict(name="bad.cn", subtree=True, reason="涉嫌诈骗", source="CNCERT",
         added="2022-03-01"),
    dict(name="login.filed-cdn.cn", subtree=False, reason="仿冒登录页面",
         source="12321举报中心", added="2023-01-09"),
    dict(name="both-demo.cn", subtree=True, reason="传播恶意程序",
         source="CNCERT", added="2022-06-10"),
    dict(name="bad-host.resolver.demo-isp.cn", subtree=True,
         reason="被控主机", source="运营商自查", added="2023-04-02"),
]

DEMO_ORDERS = [
    dict(id="ord-demo-1", doc_no="工信厅信管函〔2022〕65号",
         unit="工业和信息化部网络安全管理局", reason="涉嫌诈骗",
         targets=["ordered.cn"], effective="2022-01-01"),
    dict(id="ord-demo-future", doc_no="工信厅信管函〔2098〕1号",
         unit="工业和信息化部网络安全管理局", reason="涉嫌诈骗",
         targets=["future.cn"], effective="2099-01-01"),
    dict(id="ord-demo-expired", doc_no="皖通信安简函〔2021〕17号",
         unit="安徽省通信管理局", reason="涉嫌赌博",
         targets=["expired.cn"], effective="2021-03-01",
         expiry="2021-06-01"),
    dict(id="ord-demo-lifted", doc_no="皖通信安简函〔2022〕83号",
         unit="安徽省通信管理局", reason="涉嫌诈骗",
         targets=["lifted.cn"], effective="2022-05-01",
         lifted="2022-08-01"),
    dict(id="ord-demo-exact", doc_no="京通信安函〔2023〕12号",
         unit="北京市通信管理局", reason="传播淫秽色情信息",
         targets=[{"name": "exact-order.cn", "subtree": False},
                  "both-demo.cn"],
         effective="2023-02-01T09:30:00+08:00"),
]

DEMO_EXEMPTIONS = [
    dict(name="resolver.demo-isp.cn", subtree=True,
         note="运营商递归解析服务器主机名"),
    dict(name="ntp.demo-isp.cn", subtree=False, note="运营商授时服务器"),
    dict(name="notice.demo-isp.cn", subtree=True,
         note="未备案提示页服务器 (notice page)"),
    dict(name="monitor.demo-isp.cn", subtree=True, note="拨测与监控探针"),
    dict(name="oss.demo-isp.net", subtree=True, note="运营支撑系统"),
]

DEMO_REGISTRARS = [
    dict(id="reg-demo", name="演示域名注册服务有限公司",
         endpoint_ranges=["127.0.30.0/24"],
         endpoint_hosts=["fwd.reg-demo.cn"]),
]

DEMO_REGDOMAINS = [
    dict(domain="parked-demo.cn", registrar="reg-demo", parking=True,
         forwarding=False, status="ok"),
    dict(domain="forward-demo.cn", registrar="reg-demo", parking=False,
         forwarding=True, status="ok"),
    dict(domain="filed.cn", registrar="reg-demo", parking=False,
         forwarding=False, status="clientTransferProhibited"),
]

# names the random part must never produce (their verdicts are fixed)
RESERVED = {
    "filed.cn", "filed-cdn.cn", "备案.中国", "filed-shop.com.cn",
    "both-demo.cn", "cancelled.cn", "revoked.cn", "bad.cn",
    "ordered.cn", "future.cn", "expired.cn", "lifted.cn",
    "exact-order.cn", "unfiled-demo.cn", "unfiled-cdn.net",
    "demo-isp.cn", "demo-isp.net", "reg-demo.cn", "parked-demo.cn",
    "forward-demo.cn", "registrar-a.cn", "registrar-b.com", "other.com.cn",
}

# ---------------------------------------------------------------------
# vocabularies

TLDS = ["cn", "中国", "com", "net", "org", "top", "xyz", "vip", "club",
        "shop", "wang", "site", "online", "ltd", "cc", "tv", "info", "biz",
        "mobi", "pro", "art", "ink", "red", "kim", "ren", "fun", "tech",
        "store", "cloud", "link", "公司", "网络", "网址", "商城", "在线",
        "中文网", "集团"]

# province abbreviation, full name, a few cities
PROVINCES = [
    ("京", "北京", ["北京"]), ("津", "天津", ["天津"]),
    ("冀", "河北", ["石家庄", "保定", "唐山"]), ("晋", "山西", ["太原", "大同"]),
    ("蒙", "内蒙古", ["呼和浩特", "包头"]), ("辽", "辽宁", ["沈阳", "大连"]),
    ("吉", "吉林", ["长春", "吉林"]), ("黑", "黑龙江", ["哈尔滨", "大庆"]),
    ("沪", "上海", ["上海"]), ("苏", "江苏", ["南京", "苏州", "无锡"]),
    ("浙", "浙江", ["杭州", "宁波", "温州"]), ("皖", "安徽", ["合肥", "芜湖"]),
    ("闽", "福建", ["福州", "厦门", "泉州"]), ("赣", "江西", ["南昌", "赣州"]),
    ("鲁", "山东", ["济南", "青岛", "烟台"]), ("豫", "河南", ["郑州", "洛阳"]),
    ("鄂", "湖北", ["武汉", "宜昌"]), ("湘", "湖南", ["长沙", "株洲"]),
    ("粤", "广东", ["广州", "深圳", "东莞", "佛山"]), ("桂", "广西", ["南宁", "桂林"]),
    ("琼", "海南", ["海口", "三亚"]), ("渝", "重庆", ["重庆"]),
    ("川", "四川", ["成都", "绵阳"]), ("黔", "贵州", ["贵阳", "遵义"]),
    ("滇", "云南", ["昆明", "大理"]), ("藏", "西藏", ["拉萨"]),
    ("陕", "陕西", ["西安", "咸阳"]), ("甘", "甘肃", ["兰州", "天水"]),
    ("青", "青海", ["西宁"]), ("宁", "宁夏", ["银川"]),
    ("新", "新疆", ["乌鲁木齐", "克拉玛依"]),
]
CITY_PINYIN = {
    "北京": "bei jing", "天津": "tian jin", "石家庄": "shi jia zhuang",
    "保定": "bao ding", "唐山": "tang shan", "太原": "tai yuan",
    "大同": "da tong", "呼和浩特": "hu he hao te", "包头": "bao tou",
    "沈阳": "shen yang", "大连": "da lian", "长春": "chang chun",
    "吉林": "ji lin", "哈尔滨": "ha er bin", "大庆": "da qing",
    "上海": "shang hai", "南京": "nan jing", "苏州": "su zhou",
    "无锡": "wu xi", "杭州": "hang zhou", "宁波": "ning bo",
    "温州": "wen zhou", "合肥": "he fei", "芜湖": "wu hu", "福州": "fu zhou",
    "厦门": "xia men", "泉州": "quan zhou", "南昌": "nan chang",
    "赣州": "gan zhou", "济南": "ji nan", "青岛": "qing dao",
    "烟台": "yan tai", "郑州": "zheng zhou", "洛阳": "luo yang",
    "武汉": "wu han", "宜昌": "yi chang", "长沙": "chang sha",
    "株洲": "zhu zhou", "广州": "guang zhou", "深圳": "shen zhen",
    "东莞": "dong guan", "佛山": "fo shan", "南宁": "nan ning",
    "桂林": "gui lin", "海口": "hai kou", "三亚": "san ya",
    "重庆": "chong qing", "成都": "cheng du", "绵阳": "mian yang",
    "贵阳": "gui yang", "遵义": "zun yi", "昆明": "kun ming", "大理": "da li",
    "拉萨": "la sa", "西安": "xi an", "咸阳": "xian yang", "兰州": "lan zhou",
    "天水": "tian shui", "西宁": "xi ning", "银川": "yin chuan",
    "乌鲁木齐": "wu lu mu qi", "克拉玛依": "ke la ma yi",
}
# government departments and institutions: name, domain abbreviation
GOV_DEPTS = [("人民政府办公室", ""), ("教育局", "jyj"), ("卫生健康委员会", "wjw"),
             ("市场监督管理局", "scjg"), ("公安局", "gaj"),
             ("文化和旅游局", "wlj"), ("人力资源和社会保障局", "rsj")]
INSTITUTIONS = [("第一人民医院", "dyrmyy", ".cn"), ("职业技术学院", "vtc", ".edu.cn"),
                ("图书馆", "lib", ".org.cn"), ("博物馆", "museum", ".org.cn"),
                ("广播电视台", "tv", ".cn"), ("科学技术协会", "kx", ".org.cn")]
# filings cluster where the internet industry is
PROVINCE_WEIGHTS = {"京": 14, "粤": 14, "沪": 9, "浙": 9, "苏": 7, "鲁": 5,
                    "川": 4, "闽": 4, "鄂": 3, "豫": 3, "湘": 3, "皖": 3}

SYLLABLES = [
    ("hua", "华"), ("xin", "信"), ("tong", "通"), ("da", "达"),
    ("zhong", "中"), ("tian", "天"), ("yun", "云"), ("bao", "宝"),
    ("kang", "康"), ("jia", "嘉"), ("le", "乐"), ("mei", "美"),
    ("sheng", "盛"), ("hong", "鸿"), ("feng", "丰"), ("long", "隆"),
    ("an", "安"), ("tai", "泰"), ("fu", "富"), ("xing", "星"),
    ("cheng", "诚"), ("rui", "瑞"), ("bo", "博"), ("chuang", "创"),
    ("ke", "科"), ("ji", "极"), ("wang", "网"), ("shu", "数"),
    ("zhi", "智"), ("hui", "汇"), ("yuan", "源"), ("hai", "海"),
    ("shan", "山"), ("jin", "金"), ("yi", "易"), ("qi", "启"),
    ("lian", "联"), ("heng", "恒"), ("tuo", "拓"), ("ming", "明"),
    ("guang", "光"), ("yu", "宇"), ("chen", "辰"), ("kai", "凯"),
    ("jun", "骏"), ("de", "德"), ("wei", "维"), ("pin", "品"),
    ("lan", "蓝"), ("lv", "绿"), ("qing", "青"), ("run", "润"),
    ("xiang", "翔"), ("teng", "腾"), ("fei", "飞"), ("peng", "鹏"),
]
EN_SUFFIX = ["", "", "", "", "tech", "soft", "net", "cloud", "mall", "app",
             "shop", "info", "data", "edu", "media", "group", "home", "game",
             "health", "travel", "food", "auto", "bank", "job"]
INDUSTRY = [("网络科技", "tech"), ("信息技术", "info"), ("电子商务", "mall"),
            ("文化传媒", "media"), ("软件开发", "soft"), ("教育科技", "edu"),
            ("数据服务", "data"), ("智能科技", "ai"), ("健康管理", "health"),
            ("旅游服务", "travel"), ("食品", "food"), ("汽车服务", "auto"),
            ("游戏", "game"), ("人力资源", "job"), ("物流", "express"),
            ("家居", "home"), ("餐饮管理", "food"), ("咨询", "consult")]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鹏辉宇浩凯健俊帆帅旭宁龙林欣颖晨琳博文"
CN_WORDS = ["中文", "网购", "旅游", "美食", "健康", "教育", "科技", "汽车",
            "房产", "招聘", "天气", "地图", "新闻", "音乐", "电影", "游戏",
            "读书", "医院", "银行", "保险", "快递", "家居", "母婴", "体育",
            "摄影", "茶叶", "丝绸", "瓷器", "书法", "农业", "水利", "能源",
            "物流", "外贸", "法律", "会计", "设计", "建筑", "装修", "花卉"]
PROVIDERS = [("阿里云", 30), ("腾讯云", 24), ("华为云", 12), ("百度智能云", 5),
             ("天翼云", 8), ("移动云", 5), ("联通云", 3), ("京东云", 3),
             ("金山云", 3), ("UCloud优刻得", 2), ("西部数码", 3), ("新网", 2)]
UNITS = [("工业和信息化部网络安全管理局", "工信厅信管函"),
         ("安徽省通信管理局", "皖通信安简函"),
         ("北京市通信管理局", "京通信安函"),
         ("广东省通信管理局", "粤通信安函"),
         ("浙江省通信管理局", "浙通信安函")]
VIOLATIONS = ["涉嫌诈骗", "涉嫌赌博", "传播淫秽色情信息", "仿冒金融机构",
              "传播恶意程序", "非法集资", "违规提供跨境服务"]
BL_REASONS = ["涉嫌诈骗", "钓鱼网站", "网络赌博", "色情内容", "传播恶意程序",
              "仿冒网站", "僵尸网络控制端", "垃圾短信推广"]
BL_SOURCES = ["CNCERT", "12321举报中心", "公安机关通报", "运营商自查"]


def weighted(pairs):
    """pick from (value, weight) pairs"""
    total = sum(w for _, w in pairs)
    x = rng.uniform(0, total)
    for v, w in pairs:
        x -= w
        if x <= 0:
            return v
    return pairs[-1][0]


def date(y0, y1):
    """a date between Jan 1 of y0 and Dec 28 of y1"""
    return "%04d-%02d-%02d" % (rng.randint(y0, y1), rng.randint(1, 12),
                               rng.randint(1, 28))


def pinyin_name(nsyl=None):
    """(latin label, chinese trade name) from 2-3 syllables"""
    n = nsyl or rng.choice([2, 2, 2, 3])
    syl = rng.sample(SYLLABLES, n)
    return "".join(s[0] for s in syl), "".join(s[1] for s in syl)


# ---------------------------------------------------------------------
# filings

used = set(RESERVED)


def unique(candidate):
    """return candidate if unused (and mark it), else None"""
    if candidate in used:
        return None
    used.add(candidate)
    return candidate


def city_latin(city, initials):
    """hangzhou, or hz"""
    syl = CITY_PINYIN[city].split()
    return "".join(x[0] for x in syl) if initials else "".join(syl)


def domain_for(latin, kind):
    """a registrable domain in a TLD that fits the subject kind"""
    if kind == "individual":
        return latin + rng.choice(["", "", "blog", "home", "notes", "space",
                                   "studio", "photo"]) + \
            rng.choice([".cn", ".com", ".top", ".net", ".xyz", ".cn"])
    tld = weighted([(".cn", 34), (".com.cn", 14), (".com", 26), (".net", 6),
                    (".net.cn", 3), (".top", 4), (".xyz", 2), (".vip", 2),
                    (".中国", 0), (".cc", 2)])
    sfx = rng.choice(EN_SUFFIX)
    if rng.random() < 0.12:
        sfx += str(rng.choice([8, 9, 88, 168, 365, 520, 666, 2008, 2023]))
    sep = "-" if sfx and rng.random() < 0.15 else ""
    return latin + sep + sfx + tld


def idn_domain():
    """a Chinese-script domain: 中文.中国, 健康网.公司, ..."""
    word = rng.choice(CN_WORDS)
    if rng.random() < 0.6:
        word = rng.choice(SYLLABLES)[1] + word
    if rng.random() < 0.3:
        word += rng.choice(["网", "在线", "之家", "中心"])
    return word + "." + weighted([("中国", 6), ("公司", 2), ("网络", 2)])


def subject_kind():
    return weighted([("enterprise", 78), ("individual", 15),
                     ("government", 2), ("institution", 4), ("other", 1)])


def province_pick():
    pairs = [(p, PROVINCE_WEIGHTS.get(p[0], 1)) for p in PROVINCES]
    return weighted(pairs)


def make_filings(target=3000):
    rows = []
    numbers = set()
    while len(rows) < target:
        kind = subject_kind()
        abbr, pname, cities = province_pick()
        city = rng.choice(cities)
        latin, trade = pinyin_name()
        if kind == "enterprise":
            industry, _ = rng.choice(INDUSTRY)
            subject = "%s%s%s有限公司" % (city, trade, industry)
            if rng.random() < 0.1:
                subject = "%s%s%s股份有限公司" % (city, trade, industry)
        elif kind == "individual":
            subject = rng.choice(SURNAMES) + "".join(
                rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))
        elif kind == "government":
            dept, abbr_d = rng.choice(GOV_DEPTS)
            subject = "%s市%s" % (city, dept)
            # hangzhou.gov.cn for the city government, hzjyj.gov.cn ...
            gov_domain = (city_latin(city, True) + abbr_d if abbr_d
                          else city_latin(city, False)) + ".gov.cn"
        elif kind == "institution":
            inst, abbr_i, tld_i = rng.choice(INSTITUTIONS)
            subject = city + inst
            inst_domain = city_latin(city, rng.random() < 0.5) + abbr_i + tld_i
        else:
            subject = "%s%s商会" % (city, trade)
        # the subject's number: 2-digit year, 6 more digits
        year = rng.randint(5, 24)
        while True:
            base = "%s%s%02d%06d号" % (abbr, "ICP备", year,
                                      rng.randint(0, 999999))
            if rng.random() < 0.02 and kind == "enterprise":
                base = "%sICP证%06d号" % (abbr, rng.randint(10000, 999999))
            if base not in numbers:
                numbers.add(base)
                break
        nsites = 1 if kind == "individual" else weighted(
            [(1, 60), (2, 22), (3, 10), (4, 5), (6, 3)])
        approved0 = 2000 + year
        provider = weighted(PROVIDERS)
        for i in range(nsites):
            if kind == "government" and i == 0:
                dom = unique(gov_domain)
            elif kind == "institution" and i == 0:
                dom = unique(inst_domain)
            elif kind in ("government", "institution"):
                dom = None   # one site each
            elif kind in ("enterprise", "other") and rng.random() < 0.05:
                dom = unique(idn_domain())
            elif i == 0:
                dom = unique(domain_for(latin, kind))
            else:
                dom = unique(domain_for(latin + rng.choice(
                    ["", "", "m", "app", "shop", "cdn", "img", "cloud"]), kind))
            if not dom:
                continue
            r = rng.random()
            status = ("revoked" if r < 0.01 else
                      "cancelled" if r < 0.04 else "active")
            row = dict(domain=dom, number="%s-%d" % (base, i + 1),
                       subject=subject, subject_type=kind, province=abbr,
                       provider=provider,
                       approved=date(approved0, min(approved0 + 3, 2024)))
            if status != "active":
                row["status"] = status
            rows.append(row)
            if len(rows) >= target:
                break
    return rows


# ---------------------------------------------------------------------
# everything else

def unfiled_name():
    """a registrable name with no filing"""
    while True:
        latin, _ = pinyin_name(rng.choice([2, 3]))
        dom = unique(latin + rng.choice(["", "88", "vip", "bet", "win", "-app",
                                         "365", "pay", "club"]) +
                     rng.choice([".cn", ".com", ".top", ".xyz", ".vip",
                                 ".net", ".cc", ".shop"]))
        if dom:
            return dom


def make_blacklist(filings, n=100):
    rows = []
    filed = [f["domain"] for f in filings if f["domain"].isascii()]
    while len(rows) < n:
        if rng.random() < 0.15:
            # a hacked or abused host under a filed domain, exact only
            name = rng.choice(["pay", "login", "m", "update", "dl"]) + "." + \
                rng.choice(filed)
            sub = False
            if name in used:
                continue
            used.add(name)
        else:
            name = unfiled_name()
            sub = True
        rows.append(dict(name=name, subtree=sub, reason=rng.choice(BL_REASONS),
                         source=rng.choice(BL_SOURCES),
                         added=date(2019, 2024)))
    return rows


def make_orders(blacklist, n_random=5):
    rows = []
    for i in range(n_random):
        unit, prefix = rng.choice(UNITS)
        year = rng.randint(2021, 2024)
        targets = [unfiled_name() for _ in range(rng.randint(1, 4))]
        if rng.random() < 0.5:
            targets.append(rng.choice(blacklist)["name"])
        eff = "%sT%02d:%02d:00+08:00" % (date(year, year),
                                         rng.randint(8, 22), rng.randint(0, 59))
        oid = "ord-%d-%03d" % (year, rng.randint(1, 300))
        while oid in {r["id"] for r in rows}:
            oid = "ord-%d-%03d" % (year, rng.randint(1, 300))
        row = dict(id=oid,
                   doc_no="%s〔%d〕%d号" % (prefix, year, rng.randint(1, 200)),
                   unit=unit, reason=rng.choice(VIOLATIONS), targets=targets,
                   effective=eff)
        if i == 1:
            row["expiry"] = "%d-12-31" % (year + 1)
        rows.append(row)
    return rows


# CN-allocated /8s (APNIC), the pool for random domestic ranges
CN_FIRST_OCTETS = [1, 14, 27, 36, 39, 42, 49, 58, 59, 60, 61, 101, 106, 110,
                   111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122,
                   123, 124, 125, 139, 140, 144, 150, 153, 157, 171, 175, 180,
                   182, 183, 202, 210, 211, 218, 219, 220, 221, 222, 223]
CN_IPV6 = [DEMO_IPV6_DOMESTIC, "2408:8000::/20", "2409:8000::/20",
           "2400:3200::/32", "2402:4e00::/32", "2400:da00::/32",
           "2001:da8::/32", "2401:b180::/32", "2403:a200::/32",
           "2406:840::/32", "2407:c080::/32",
           "2001:250::-2001:252:ffff:ffff:ffff:ffff:ffff:ffff"]


def make_domestic(n=320):
    taken = []   # (first, last) ints
    rows = []
    while len(rows) < n:
        o1 = rng.choice(CN_FIRST_OCTETS)
        start = (o1 << 24) | (rng.randint(0, 255) << 16) | \
            (rng.randint(0, 255) << 8)
        r = rng.random()
        if r < 0.25:
            # APNIC-style start + count, count not a power of two
            count = 256 * rng.choice([3, 5, 6, 7, 12, 20, 24, 40, 48, 96])
            form = "range"
        else:
            plen = rng.choice([14, 15, 16, 16, 17, 18, 19, 20, 20, 21, 22])
            count = 1 << (32 - plen)
            start &= ~(count - 1) & 0xffffffff
            form = "prefix"
        last = start + count - 1
        if last > ((o1 << 24) | 0xffffff):
            continue
        if any(not (last < a or start > b) for a, b in taken):
            continue
        taken.append((start, last))
        a = ipaddress.IPv4Address(start)
        if form == "prefix":
            text = "%s/%d" % (a, 32 - (count.bit_length() - 1))
        else:
            text = "%s-%s" % (a, ipaddress.IPv4Address(last))
        rows.append((start, text, rng.choice(["apnic", "apnic",
                                              "miit-ip-filing"])))
    rows.sort()
    return [(t, s) for _, t, s in rows], taken


def make_registrars(domestic_taken):
    # registrar-b's endpoints sit inside a domestic range (a /28 at the
    # start of the first listed range), registrar-a's abroad
    first = min(domestic_taken)[0]
    b_net = "%s/28" % ipaddress.IPv4Address(first)
    b_rng = "%s-%s" % (ipaddress.IPv4Address(first + 64),
                       ipaddress.IPv4Address(first + 64 + 9))
    return DEMO_REGISTRARS + [
        dict(id="registrar-a", name="甲域名注册服务有限公司",
             endpoint_ranges=["198.18.1.0/24", "2001:db8:a::/48"],
             endpoint_hosts=["fwd.registrar-a.cn", "park.registrar-a.cn"]),
        dict(id="registrar-b", name="乙网络科技有限公司",
             endpoint_ranges=[b_net, b_rng],
             endpoint_hosts=["redirect.registrar-b.com"]),
    ]


def make_regdomains(filings, n=300):
    rows = list(DEMO_REGDOMAINS)
    seen = {r["domain"] for r in rows}
    regs = ["registrar-a", "registrar-b", "reg-demo"]
    statuses = [("ok", 70), ("clientTransferProhibited", 15),
                ("clientHold", 5), ("serverHold", 4), ("pendingDelete", 2),
                ("inactive", 4)]
    while len(rows) < n:
        if rng.random() < 0.6:
            dom = rng.choice(filings)["domain"]
            if dom in seen:
                continue
            park = fwd = False
        else:
            dom = unfiled_name()
            park = rng.random() < 0.35
            fwd = not park and rng.random() < 0.3
        seen.add(dom)
        status = weighted(statuses)
        rows.append(dict(domain=dom, registrar=rng.choice(regs),
                         parking=park, forwarding=fwd,
                         hold=status in ("clientHold", "serverHold"),
                         status=status))
    return rows


# ---------------------------------------------------------------------
# output

def write_jsonl(name, rows):
    with open(os.path.join(OUT, name), "w", encoding="utf-8",
              newline="\n") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False,
                               separators=(",", ":")) + "\n")


def main():
    filings = DEMO_FILINGS + make_filings(3000 - len(DEMO_FILINGS))
    blacklist = DEMO_BLACKLIST + make_blacklist(filings, 100)
    orders = DEMO_ORDERS + make_orders(blacklist, 5)
    domestic, taken = make_domestic(320)
    registrars = make_registrars(taken)
    regdomains = make_regdomains(filings, 300)

    with open(os.path.join(OUT, "tlds.txt"), "w", encoding="utf-8",
              newline="\n") as f:
        f.write("# 可备案的顶级域 (filable TLDs), synthetic sample in the style of\n"
                "# the ministry's list: one TLD per line, '#' comments.\n")
        for t in TLDS:
            f.write(t + "\n")
    write_jsonl("filings.jsonl", filings)
    write_jsonl("blacklist.jsonl", blacklist)
    write_jsonl("orders.jsonl", orders)
    write_jsonl("exemptions.jsonl", DEMO_EXEMPTIONS)
    write_jsonl("registrars.jsonl", registrars)
    write_jsonl("regdomains.jsonl", regdomains)
    with open(os.path.join(OUT, "domestic.csv"), "w", encoding="utf-8",
              newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["range", "source"])
        for r in DEMO_DOMESTIC:
            w.writerow(r)
        for r in domestic:
            w.writerow(r)
        for r in CN_IPV6:
            w.writerow([r, "apnic"])


if __name__ == "__main__":
    main()
