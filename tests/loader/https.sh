#!/bin/bash
# tests/loader/https.sh - TAP: icpguard-loader over https:// from nginx on
# 127.0.0.1 with a certificate made here: a CA the loader trusts (tls-ca)
# gives a good pull; a server certificate from another CA, or one that
# does not name the address, is refused and the snapshot stays.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/loader/lib.sh"
[ -x "$NGINX" ] || t_skip_all "nginx not installed (tools/deps installs nginx-light)"
command -v openssl >/dev/null || t_skip_all "openssl not installed"
t_init https

# ca_and_cert DIR SAN [CADIR]: a server certificate for SAN from the CA
# in CADIR, or from a new CA made in DIR
ca_and_cert() {
	mkdir -p "$1"
	if [ -n "${3:-}" ]; then
		cp "$3/ca.key" "$3/ca.pem" "$1/"
	else
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
			-nodes -keyout "$1/ca.key" -out "$1/ca.pem" -days 2 \
			-subj "/CN=icpguard test CA" >/dev/null 2>&1
	fi &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1/server.key" -out "$1/server.csr" \
		-subj "/CN=feeds" >/dev/null 2>&1 &&
	printf 'subjectAltName=%s\n' "$2" >"$1/ext" &&
	openssl x509 -req -in "$1/server.csr" -CA "$1/ca.pem" \
		-CAkey "$1/ca.key" -CAcreateserial -out "$1/server.pem" \
		-days 2 -extfile "$1/ext" >/dev/null 2>&1
}
ca_and_cert "$W/good" "IP:127.0.0.1" || { echo "Bail out! openssl failed"; exit 1; }
ca_and_cert "$W/rogue" "IP:127.0.0.1"
ca_and_cert "$W/wrongname" "DNS:feeds.example.cn" "$W/good"
pub_keys
pub_sample "$SAMPLE/filings.jsonl"

# https_server DIR: nginx serving $W/www over TLS with DIR's certificate
https_server() {
	www_stop
	WWW_TLS=$1
	www_start
}
https_server "$W/good"
loader_conf "tls-ca: $W/good/ca.pem"
sed -i "s|http://127.0.0.1|https://127.0.0.1|" "$W/loader.conf"
loader_once
t_eq "https: trusted CA, full load" "$?/$(snap_serial)/$(snap_meta count.filing)" "0/1/3000"

pub filings <(head -50 "$SAMPLE/filings.jsonl") --allow-rejects 2>/dev/null
"$LOADER" -c "$W/loader.conf" allow-shrink filings >/dev/null
https_server "$W/rogue"
loader_once
t_eq "https: certificate from an untrusted CA refused, snapshot kept" \
	"$?/$(snap_serial)" "1/1"
t_check "https: the reason is logged" grep -q "not updated (unreachable): latest.json: .*TLS: certificate not accepted" "$W/once.log"
https_server "$W/wrongname"
loader_once
t_eq "https: certificate for another name refused" "$?/$(snap_serial)" "1/1"
t_check "https: the name mismatch is logged" grep -q "TLS: certificate not accepted: .*mismatch" "$W/once.log"
cp "$W/once.log" "$W/wrongname.log"
https_server "$W/good"
loader_once
t_eq "https: trusted again, the new serial loads" "$?/$(snap_serial)/$(snap_meta count.filing)" "0/2/50"
t_done
