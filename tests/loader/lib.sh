# tests/loader/lib.sh: helpers for the loader tests (sourced; POSIX sh).
#
# Real parts: nginx (Debian's nginx-light) serving feed files made by
# `icpguard feed` on 127.0.0.1 at a free port, and the real
# icpguard-loader.  Everything lives in one work directory, removed at
# exit unless a test failed or IG_KEEP=1.
#
# Environment: top_srcdir, top_builddir (set by `make check`; derived from
# this file's location otherwise), IG_TMP (parent of the work directory).
#
# The scripts are bash (/dev/tcp for port checks).
# Functions:
#   TAP:     t_init NAME (plan printed at the end by t_done), t_ok DESC,
#            t_notok DESC, t_check DESC CMD..., t_eq DESC GOT WANT, t_diag,
#            t_skip_all WHY, t_done
#   nginx:   www_start (TLS when WWW_TLS is set), www_stop (EXIT trap stops it)
#   feeds:   pub_keys, pub KIND SOURCE [feed options...], policy_feeds
#            POLICY SNAPSHOT DELTA (signed, served, loader.conf written)
#   loader:  loader_conf [extra lines], loader_once [args], loader_start,
#            loader_stop, status_get PATH, snap_serial, snap_meta KEY

if [ -z "${top_srcdir:-}" ]; then
	top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
fi
[ -n "${top_builddir:-}" ] || top_builddir=$top_srcdir
ICPGUARD=$top_builddir/tools/icpguard
LOADER=$top_builddir/loader/icpguard-loader
SAMPLE=$top_srcdir/data/sample
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

T_N=0
T_FAILS=0
W=""
WWW_PID=""
WWW_PORT=""
# a directory with server.pem and server.key: nginx speaks TLS
WWW_TLS=""
LOADER_PID=""
STATUS_PORT=""

t_plan() { echo "1..$1"; }
t_diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
t_ok() { T_N=$((T_N + 1)); echo "ok $T_N - $*"; }
t_notok() { T_N=$((T_N + 1)); T_FAILS=$((T_FAILS + 1)); echo "not ok $T_N - $*"; }
# t_check DESC CMD...: ok when CMD succeeds
t_check() {
	_d=$1
	shift
	if "$@" >"$W/check.out" 2>&1; then t_ok "$_d"; else
		t_notok "$_d"
		sed 's/^/# /' "$W/check.out" | head -20
	fi
}
# t_eq DESC GOT WANT: ok when equal, else both shown
t_eq() {
	if [ "$2" = "$3" ]; then t_ok "$1"; else
		t_notok "$1"
		t_diag "got:  $2" "want: $3"
	fi
}
t_skip_all() { echo "1..0 # SKIP $*"; exit 0; }
t_done() {
	echo "1..$T_N"
	if [ "$T_FAILS" = 0 ] && [ "${IG_KEEP:-0}" != 1 ]; then
		t_cleanup
		rm -rf "$W"
	else
		t_diag "work directory kept: $W"
		t_cleanup
	fi
	trap - EXIT
	[ "$T_FAILS" = 0 ]
	exit $?
}
t_cleanup() {
	loader_stop
	www_stop
}

# t_init NAME: the work directory and the exit trap
t_init() {
	[ -x "$ICPGUARD" ] || t_skip_all "$ICPGUARD not built"
	[ -x "$LOADER" ] || t_skip_all "$LOADER not built"
	W=$(mktemp -d "${IG_TMP:-${TMPDIR:-/tmp}}/icpguard-$1.XXXXXX") ||
		{ echo "Bail out! cannot make a work directory"; exit 1; }
	mkdir -p "$W/www" "$W/live" "$W/state" "$W/src" "$W/bin"
	# private copies: a rebuild of the tree during the test (a shared
	# work tree) must not pull the binaries from under it; a libtool
	# wrapper script cannot be copied, so then the originals are used
	# (the icpguard front runs the full tool next to it: both copied)
	for _b in ICPGUARD LOADER; do
		eval "_p=\$$_b"
		if head -c 4 "$_p" | grep -q ELF && cp "$_p" "$W/bin/"; then
			eval "$_b=\$W/bin/\$(basename \"\$_p\")"
		fi
	done
	if [ -f "$W/bin/icpguard" ]; then
		cp "$top_builddir/tools/icpguard-tool" "$W/bin/" ||
			{ echo "Bail out! no $top_builddir/tools/icpguard-tool"; exit 1; }
	fi
	trap 't_cleanup' EXIT
	trap 't_cleanup; exit 1' INT TERM
}

# a TCP port on 127.0.0.1 nobody listens on, below the kernel's ephemeral
# range (a port in it can be taken at any moment as the local end of some
# connection, and a bind then fails)
free_port() {
	_lo=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	[ "${_lo:-0}" -gt 21000 ] || _lo=32768
	_p=$(( ($$ * 7 + $(date +%N | sed 's/^0*//;s/^$/1/') ) % (_lo - 20000) + 20000 ))
	_i=0
	while [ $_i -lt 200 ]; do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$_p") 2>/dev/null; then
			echo "$_p"
			return 0
		fi
		_p=$((_p + 1))
		[ $_p -lt "$_lo" ] || _p=20000
		_i=$((_i + 1))
	done
	return 1
}

# ------------------------------------------------------------ nginx
www_start() {
	# a port chosen here that another test takes first: up to 3 tries
	_try=0
	while :; do
		_auto=0
		[ -n "$WWW_PORT" ] || { WWW_PORT=$(free_port); _auto=1; }
		www_launch && return 0
		_try=$((_try + 1))
		if [ $_auto = 1 ] && [ $_try -lt 3 ] &&
			grep -q 'Address already in use' "$W/nginx/error.log"; then
			echo "# port $WWW_PORT taken meanwhile; another one"
			WWW_PORT=""
			continue
		fi
		echo "Bail out! nginx did not start"
		cat "$W/nginx/error.log"
		exit 1
	done
}
# www_launch: start nginx on $WWW_PORT; 0 when it answers within 5 s
www_launch() {
	mkdir -p "$W/nginx/tmp"
	cat >"$W/nginx/nginx.conf" <<EOF
user root;
worker_processes 1;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log;
events { worker_connections 64; }
http {
	access_log $W/nginx/access.log;
	client_body_temp_path $W/nginx/tmp/body;
	proxy_temp_path $W/nginx/tmp/proxy;
	fastcgi_temp_path $W/nginx/tmp/fastcgi;
	uwsgi_temp_path $W/nginx/tmp/uwsgi;
	scgi_temp_path $W/nginx/tmp/scgi;
	default_type application/octet-stream;
	types { application/json json; }
	server {
		listen 127.0.0.1:$WWW_PORT${WWW_TLS:+ ssl};
		${WWW_TLS:+ssl_certificate $WWW_TLS/server.pem;}
		${WWW_TLS:+ssl_certificate_key $WWW_TLS/server.key;}
		root $W/www;
		etag on;
	}
}
EOF
	: >"$W/nginx/error.log"
	# fds 8 and 9 closed: the integration and Knot tests hold their locks
	# there, and an nginx left behind must never hold them
	"$NGINX" -c "$W/nginx/nginx.conf" -p "$W/nginx" -g 'daemon off;' \
		2>>"$W/nginx/error.log" 8>&- 9>&- &
	WWW_PID=$!
	_i=0
	while [ $_i -lt 50 ]; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$WWW_PORT") 2>/dev/null; then
			return 0
		fi
		kill -0 "$WWW_PID" 2>/dev/null || break
		sleep 0.1
		_i=$((_i + 1))
	done
	www_stop
	return 1
}
www_stop() {
	if [ -n "$WWW_PID" ]; then
		kill "$WWW_PID" 2>/dev/null
		wait "$WWW_PID" 2>/dev/null
		WWW_PID=""
	fi
}

# ------------------------------------------------------------ feeds
pub_keys() {
	"$ICPGUARD" feed keygen "$W/pub" >/dev/null &&
	"$ICPGUARD" feed keygen "$W/other" >/dev/null
}
# pub KIND SOURCE [options]: publish into $W/www with the trusted key
pub() {
	_k=$1
	_s=$2
	shift 2
	"$ICPGUARD" feed --kind "$_k" --source "$_s" --out "$W/www" \
		--key "$W/pub.key" --quiet "$@"
}
# the sample data as feeds (tlds, filings, registrars, blacklist, domestic)
pub_sample() {
	pub tlds "$SAMPLE/tlds.txt" &&
	pub filings "$1" --tlds "$SAMPLE/tlds.txt" &&
	pub registrars "$SAMPLE/registrars.jsonl" \
		--regdomains "$SAMPLE/regdomains.jsonl" &&
	pub blacklist "$SAMPLE/blacklist.jsonl" &&
	pub domestic "$SAMPLE/domestic.csv"
}

# policy_feeds POLICY SNAPSHOT DELTA: the tlds, filings, blacklist and
# domestic files of the policy directory POLICY (tests/integration/policy's
# layout) signed as feeds into $W/www, nginx serving them (www_start), and
# $W/loader.conf for a loader publishing SNAPSHOT and the delta snapshot
# DELTA (state in $W/loader).  Returns 1 when a feed could not be made.
# The delta tests of both modules start this way
policy_feeds() {
	mkdir -p "$W/www"
	pub_keys && pub tlds "$1/tlds.txt" &&
		pub filings "$1/filings.jsonl" --tlds "$1/tlds.txt" &&
		pub blacklist "$1/blacklist.jsonl" && pub domestic "$1/domestic.csv" ||
		return 1
	www_start
	{
		echo "snapshot: $2"
		echo "delta-snapshot: $3"
		echo "state-dir: $W/loader"
		echo "timeout: 5"
		echo "key: pub $W/pub.pub"
		for k in tlds filings blacklist domestic; do
			echo "feed: $k http://127.0.0.1:$WWW_PORT/$k/ pub"
		done
	} >"$W/loader.conf"
}

# ------------------------------------------------------------ loader
# loader_conf [LINES...]: write $W/loader.conf (feeds over http)
loader_conf() {
	[ -n "$STATUS_PORT" ] || STATUS_PORT=$(free_port)
	{
		echo "snapshot: $W/live/snapshot.mdb"
		echo "state-dir: $W/state"
		echo "keep-snapshots: 3"
		echo "status-listen: 127.0.0.1:$STATUS_PORT"
		echo "pidfile: $W/loader.pid"
		echo "timeout: 5"
		echo "key: pub $W/pub.pub"
		for k in tlds filings registrars blacklist domestic; do
			echo "feed: $k http://127.0.0.1:$WWW_PORT/$k/ pub"
		done
		for l in "$@"; do echo "$l"; done
	} >"$W/loader.conf"
}
# loader_once [ARGS]: one pull + publish; output in $W/once.log
loader_once() {
	"$LOADER" -c "$W/loader.conf" --once "$@" >"$W/once.log" 2>&1
}
loader_start() {
	"$LOADER" -c "$W/loader.conf" --foreground >>"$W/daemon.log" 2>&1 &
	LOADER_PID=$!
	_i=0
	while [ $_i -lt 50 ]; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$STATUS_PORT") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}
loader_stop() {
	if [ -n "$LOADER_PID" ]; then
		kill "$LOADER_PID" 2>/dev/null
		wait "$LOADER_PID" 2>/dev/null
		LOADER_PID=""
	fi
}
# status_get PATH: GET from the status server to stdout
status_get() {
	curl -s --max-time 5 "http://127.0.0.1:$STATUS_PORT$1"
}
# snap_serial: serial of the live snapshot ("none" when unreadable)
snap_serial() {
	"$ICPGUARD" info "$W/live/snapshot.mdb" 2>/dev/null |
		sed -n 's/^serial *\([0-9]*\)$/\1/p' | head -1 | grep . || echo none
}
# snap_meta KEY: a meta value of the live snapshot
snap_meta() {
	"$ICPGUARD" info "$W/live/snapshot.mdb" 2>/dev/null |
		sed -n "s/^$1  *\\(.*\\)\$/\\1/p" | head -1
}
# meta_is KEY VALUE: the live snapshot's meta KEY is VALUE
meta_is() { [ "$(snap_meta "$1")" = "$2" ]; }
# wait_for SECONDS CMD...: poll CMD every 0.2 s until it succeeds
wait_for() {
	_n=$(($1 * 5))
	shift
	while [ "$_n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
		_n=$((_n - 1))
	done
	return 1
}
