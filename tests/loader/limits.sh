#!/bin/bash
# tests/loader/limits.sh - TAP: icpguard-loader pulling signed feeds over
# real HTTP (nginx on 127.0.0.1) whose records break the limits of the
# snapshot (lib/limits.h), and damaged feed pointers; issue 17 findings 4
# and 8:
#  - a blacklist reason of 7 KB and a filing subject of 1.6 KB (published
#    with `icpguard feed --unchecked`, as a careless publisher would) are
#    quarantined like any other bad record: the rest publishes, and later
#    updates keep publishing;
#  - a pointer with "serial": -1 is refused as malformed;
#  - a signature entry with '/' is refused with a real reason.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/loader/lib.sh"
[ -x "$NGINX" ] || t_skip_all "nginx not installed (tools/deps installs nginx-light)"
t_init limits

rep() { head -c "$1" /dev/zero | tr '\0' "$2"; }
{
	echo '{"domain":"filed-a.cn","number":"京ICP备16020626号-1","subject":"甲公司"}'
	printf '{"domain":"filed-big.cn","number":"京ICP备16020626号-2","subject":"%s"}\n' "$(rep 1600 s)"
	echo '{"domain":"filed-b.cn","number":"京ICP备16020626号-3","subject":"乙公司"}'
	echo '{"domain":"filed-c.cn","number":"京ICP备16020626号-4","subject":"丙公司"}'
} >"$W/src/f1.jsonl"
{
	echo '{"name":"bad-a.cn","reason":"fraud","source":"CNCERT"}'
	printf '{"name":"bad-big.cn","reason":"%s","source":"CNCERT"}\n' "$(rep 7000 x)"
	echo '{"name":"bad-b.cn","reason":"fraud","source":"CNCERT"}'
} >"$W/src/b1.jsonl"
pub_keys || { echo "Bail out! keygen failed"; exit 1; }
pub tlds "$SAMPLE/tlds.txt" &&
pub filings "$W/src/f1.jsonl" --unchecked &&
pub registrars "$SAMPLE/registrars.jsonl" --regdomains "$SAMPLE/regdomains.jsonl" &&
pub blacklist "$W/src/b1.jsonl" --unchecked &&
pub domestic "$SAMPLE/domestic.csv" || { echo "Bail out! feed failed"; exit 1; }
www_start
loader_conf

# ------------------------------------------------------------ finding 4
loader_once
rc=$?
t_eq "oversized records: the loader publishes (exit 0, serial 1)" "$rc/$(snap_serial)" 0/1
t_eq "... the other filings and blacklist entries are in (3/2)" \
	"$(snap_meta count.filing)/$(snap_meta count.blacklist)" 3/2
t_check "... the 1.6 KB subject quarantined with its field and limit" \
	grep -q '"field":"subject","code":"too_long","reason":"1600 bytes, at most 512"' \
	"$W/state/quarantine/filings.jsonl"
t_check "... the 7 KB reason quarantined with its field and limit" \
	grep -q '"field":"reason","code":"too_long","reason":"7000 bytes, at most 1024"' \
	"$W/state/quarantine/blacklist.jsonl"
if [ $rc != 0 ]; then sed 's/^/# /' "$W/once.log" | tail -5; fi
{ cat "$W/src/f1.jsonl"; echo '{"domain":"filed-d.cn","number":"京ICP备16020626号-5"}'; } >"$W/src/f2.jsonl"
pub filings "$W/src/f2.jsonl" --unchecked
loader_once
t_eq "... the next update publishes too (serial 2, 4 filings)" \
	"$?/$(snap_serial)/$(snap_meta count.filing)" 0/2/4

# ------------------------------------------------------------ finding 8
cp "$W/www/domestic/latest.json" "$W/latest.good"
sed 's/"serial": *[0-9]*/"serial": -1/' "$W/latest.good" >"$W/www/domestic/latest.json"
loader_once
t_eq "pointer serial -1: the feed is refused (exit 1), snapshot kept" "$?/$(snap_serial)" 1/2
t_check "... as malformed, saying why" \
	grep -q 'feed domestic not updated (malformed).*serial -1 is not a positive integer' "$W/once.log"
cp "$W/latest.good" "$W/www/domestic/latest.json"

printf '{"name":"bad-c.cn"}\n' >>"$W/src/b1.jsonl"
pub blacklist "$W/src/b1.jsonl" --unchecked
cp "$W/www/blacklist/latest.json" "$W/latest.bl.good"
sed 's/"sig": *"\([^"]*\)"/"sig": "sub\/\1"/' "$W/www/blacklist/latest.json" >"$W/latest.bad"
cp "$W/latest.bad" "$W/www/blacklist/latest.json"
loader_once
t_check "a signature entry with '/': refused with a real reason" \
	grep -q "bad signature entry 'sub/[^']*': a path, want a file name" "$W/once.log"
t_eq "... the snapshot kept" "$(snap_serial)" 2

# payloads that are signed but are not feeds (the publisher's disk, say):
# refused as malformed, the message names the URL the loader fetched, not
# its temporary download file
cp "$W/latest.bl.good" "$W/www/blacklist/latest.json"
python3 - "$W/www/blacklist/latest.json" >"$W/bl.files" <<'PY' || t_diag "latest.json unreadable"
import json, sys
j = json.load(open(sys.argv[1]))
print(j["full"]["path"], j["full"]["serial"], 0)
for d in j.get("deltas", []):
    print(d["path"], d["serial"], d["base"])
PY
while read -r f ser base; do
	printf 'this is not a feed, though signed\n%.0s' 1 2 3 >"$W/www/blacklist/$f"
	if [ "$base" = 0 ]; then
		"$ICPGUARD" feed sign "$W/www/blacklist/$f" --kind blacklist --serial "$ser" --key "$W/pub.key" >/dev/null
	else
		"$ICPGUARD" feed sign "$W/www/blacklist/$f" --kind blacklist --serial "$ser" --base "$base" --key "$W/pub.key" >/dev/null
	fi || t_diag "feed sign $f failed"
done <"$W/bl.files"
loader_once
t_eq "signed payloads that are not feeds: refused (exit 1), snapshot kept" "$?/$(snap_serial)" 1/2
t_check "... as malformed, naming the URL" \
	grep -q "feed blacklist not updated (malformed).*http://127\.0\.0\.1:$WWW_PORT/blacklist/[a-z0-9-]*\.pb: malformed" "$W/once.log"
t_check "... never the temporary download" sh -c "! grep malformed '$W/once.log' | grep -q '$W/state'"
grep -i malformed "$W/once.log" | head -3 | t_diag "$(cat)"

t_done
