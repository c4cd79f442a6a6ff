#!/bin/bash
# tests/loader/cut.sh - TAP: a feed file whose download is cut off halfway.
# The loader applies a payload as it downloads (docs/loader.md, "A feed
# applied as it arrives"): records from the first half are checked and
# stored in the state's open transaction, and one of them is a bad record
# that a finished file would put in the quarantine report.  A server
# (python3's http.server on 127.0.0.1) announces the whole length of every
# .pb file and closes the connection after half of it.  Nothing of the cut
# file may stay: the feed is refused as unreachable with the transport's
# reason, the snapshot and the state keep serial 1, the quarantine report
# does not name the cut file, no temporary is left; the whole file served
# by nginx then applies, bad record reported.
# Run by `make check`; by hand: top_srcdir=. top_builddir=. tests/loader/cut.sh
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/loader/lib.sh"
[ -x "$NGINX" ] || t_skip_all "nginx not installed (tools/deps installs nginx-light)"
command -v python3 >/dev/null || t_skip_all "python3 not installed"
t_init cut

# 30,000 filings: a feed file of a few megabytes, more than the download
# writes at a time (1 MiB), so that the first half reaches the file
N=30000
awk -v n=$N 'BEGIN{for(i=1;i<=n;i++) printf "{\"domain\":\"site%d.cn\",\"number\":\"京ICP备%08d号-1\",\"subject\":\"测试主体%d有限公司\",\"subject_type\":\"enterprise\",\"province\":\"京\",\"provider\":\"示例云\",\"approved\":%d}\n", i, 10000000+i, i, 1500000000+i}' >"$W/src/f1.jsonl"
pub_keys || { echo "Bail out! keygen failed"; exit 1; }
pub_sample "$W/src/f1.jsonl" || { echo "Bail out! feed failed"; exit 1; }
www_start
loader_conf
loader_once
t_eq "serial 1 applied in full" "$?/$(snap_serial)/$(snap_meta source.filings)" "0/1/1"

# serial 2: a bad filing number first (its one-letter label sorts first
# too), then every filing with a changed subject, so that the delta is a
# whole file of changes and the bad record lies in its first megabyte
{
	echo '{"domain":"0.cn","number":"ICP-123","subject":"坏记录有限公司","subject_type":"enterprise","province":"京","provider":"示例云","approved":"2020-01-01"}'
	sed 's/"subject":"\([^"]*\)"/"subject":"\1二"/' "$W/src/f1.jsonl"
} >"$W/src/f2.jsonl"
pub filings "$W/src/f2.jsonl" --tlds "$SAMPLE/tlds.txt" --unchecked ||
	{ echo "Bail out! feed serial 2 failed"; exit 1; }

# the cutting server: whole files, except .pb files cut in half after a
# header announcing all of them
CUT_PORT=$(free_port)
cat >"$W/cut.py" <<'PY'
import http.server, os, sys
root = sys.argv[2]
class Cut(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        p = os.path.join(root, self.path.split("?")[0].lstrip("/"))
        try:
            data = open(p, "rb").read()
        except OSError:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if p.endswith(".pb"):
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            with open(os.path.join(root, "..", "cut.log"), "a") as log:
                log.write("cut %s at %d of %d\n" % (self.path, len(data) // 2, len(data)))
        else:
            self.wfile.write(data)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Cut).serve_forever()
PY
python3 "$W/cut.py" "$CUT_PORT" "$W/www" >"$W/cut.out" 2>"$W/cut.err" </dev/null &
CUT_PID=$!
trap 'kill $CUT_PID 2>/dev/null; t_cleanup' EXIT
wait_for 5 sh -c "curl -s -o /dev/null http://127.0.0.1:$CUT_PORT/filings/latest.json" ||
	{ echo "Bail out! the cutting server did not start"; cat "$W/cut.err"; exit 1; }
sed -i "s#^feed: filings .*#feed: filings http://127.0.0.1:$CUT_PORT/filings/ pub#" "$W/loader.conf"

loader_once
rc=$?
t_check "cut: the server cut a feed file" grep -q "^cut /filings/" "$W/cut.log"
t_eq "cut: refused (exit 1), snapshot and state at serial 1" \
	"$rc/$(snap_serial)/$(snap_meta source.filings)/$(snap_meta count.filing)" "1/1/1/$N"
t_check "cut: refused as unreachable, with the transport's reason" \
	grep -q "feed filings not updated (unreachable).*closed early" "$W/once.log"
t_check "cut: the bad record of the cut file is not reported" \
	sh -c "! grep -q '\"serial\":2' '$W/state/quarantine/filings.jsonl' 2>/dev/null"
t_eq "cut: no download or temporary left" \
	"$(find "$W/state" "$W/live" -name '*.tmp*' | wc -l)" 0
grep -i "filings" "$W/once.log" | head -5 | t_diag "$(cat)"
kill $CUT_PID 2>/dev/null
wait $CUT_PID 2>/dev/null
trap 't_cleanup' EXIT

# the whole file: applied, the bad record reported
sed -i "s#^feed: filings .*#feed: filings http://127.0.0.1:$WWW_PORT/filings/ pub#" "$W/loader.conf"
loader_once
t_eq "whole: serial 2 applied, every good filing" \
	"$?/$(snap_meta source.filings)/$(snap_meta count.filing)" "0/2/$N"
t_check "whole: the bad record is reported, within the first half" \
	grep -q '"serial":2,.*"record":1,.*"code":"bad_number"' "$W/state/quarantine/filings.jsonl"
t_done
