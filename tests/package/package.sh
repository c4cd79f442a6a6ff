#!/bin/sh
# tests/package/package.sh: the Debian packages the way an operator uses
# them (issue 21).  TAP.
#
#  1. tools/package builds them (the dynlib Unbound rebuild is cached in
#     build/packages/unbound after the first time), lintian without errors
#  2. apt-get install ./*.deb: files, user icpguard, /var/lib/icpguard,
#     conffiles, man pages; the module depends on the exact Unbound build
#  3. the loader and Unbound run from the installed paths and configuration
#     (systemd when it runs here, else the unit's own command lines, as the
#     unit's user): a snapshot from `icpguard build`, a filed name resolves,
#     an unfiled one is blocked, a signed order is journaled and enforced
#  4. a package of a higher version (tools/package --version) upgrades them:
#     snapshot, order journal and a local configuration edit are kept, and
#     the order is still enforced
#     knotd (Debian's knot) loads the installed Knot module from its module
#     directory without a `module:` section and blocks a blacklisted name
#     in a hosted zone
#  5. apt-get purge leaves nothing
# Whatever happens, the packages it installed are purged at exit.
#
# Needs root, dpkg-buildpackage, debhelper, apt-get, NSD (the local tree of
# tests/integration) and a free 127.0.0.2-7 port 53 (the integration lock).
# Env: IG_PKG_KEEP=1 keeps the packages installed (debugging).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/integration/lib.sh"

PKGS="icpguard-tools icpguard-loader unbound-icpguard-module knot-module-icpguard"
[ "$(id -u)" = 0 ] || ig_skip_all "needs root (installs packages)"
# the packages are built by dpkg-buildpackage from the source tree, never
# with the sanitizer flags of tools/check's second suite: one run is enough
[ -n "${IG_ASAN_DIR:-}" ] && ig_skip_all "sanitizer suite: the packages do not change with it; the plain suite of tools/check runs this test"
for _c in dpkg-buildpackage dh dch apt-get dpkg-deb lintian curl runuser knotd knotc; do
	command -v "$_c" >/dev/null 2>&1 ||
		ig_skip_all "$_c not installed (tools/deps: dpkg-dev debhelper devscripts lintian knot)"
done
for _p in $PKGS; do
	if dpkg-query -W -f='${Status}' "$_p" 2>/dev/null | grep -q installed; then
		ig_skip_all "$_p is already installed on this machine; this test installs and purges it"
	fi
done
# an Unbound package from the archive would be replaced by the rebuild
if dpkg-query -W -f='${Status} ${Version}' unbound 2>/dev/null | grep -q 'install ok installed'; then
	case "$(dpkg-query -W -f='${Version}' unbound)" in
	*+icpguard*) ;;
	*) ig_skip_all "Debian's unbound is installed here; this test would replace it with the dynlib rebuild" ;;
	esac
fi

PW=$(mktemp -d "${TMPDIR:-/tmp}/icpguard-pkg.XXXXXX")
INSTALLED=""       # what to purge at exit
CREATED_POLICY=0   # we made /usr/sbin/policy-rc.d
purge_all() {
	[ "${IG_PKG_KEEP:-0}" = 1 ] && return 0
	if [ -n "$INSTALLED" ]; then
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -q $INSTALLED >>"$PW/purge.log" 2>&1
		INSTALLED=""
	fi
	if [ $CREATED_POLICY = 1 ]; then rm -f /usr/sbin/policy-rc.d; CREATED_POLICY=0; fi
}
# before ig_init (which takes the lock and installs its own EXIT trap)
trap 'purge_all; rm -rf "$PW"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

n=0
fails=0
# ------------------------------------------------------------ 1. build
# (no lock held: building takes minutes and needs no port)
if ! "$top_srcdir/tools/package" --out "$PW/v1" >"$PW/build-v1.log" 2>&1; then
	echo "Bail out! tools/package failed: $(tail -5 "$PW/build-v1.log" | tr '\n' ' ')"
	exit 1
fi
V1=$(dpkg-deb -f "$PW"/v1/icpguard-tools_*.deb Version)
UBV=$(dpkg-deb -f "$PW"/v1/unbound_*.deb Version)
V2=$V1+upgrade1
if ! "$top_srcdir/tools/package" --no-lintian --version "$V2" --out "$PW/v2" >"$PW/build-v2.log" 2>&1; then
	echo "Bail out! tools/package --version $V2 failed: $(tail -5 "$PW/build-v2.log" | tr '\n' ' ')"
	exit 1
fi

# from here on: the integration harness (lock, NSD tree, Unbound helpers)
# with the installed programs
IG_UNBOUND=/usr/sbin/unbound
IG_UCONTROL=/usr/sbin/unbound-control
IG_ICPGUARD=/usr/bin/icpguard
IG_MODULE=/usr/lib/icpguard/icpguard.so
# ig_require checks these exist: the packages install them below, so point
# it at the build's until then
_real_unbound=$IG_UNBOUND _real_ucontrol=$IG_UCONTROL _real_icpguard=$IG_ICPGUARD _real_module=$IG_MODULE
: >"$PW/module-placeholder"
IG_UNBOUND=/bin/true IG_UCONTROL=/bin/true IG_ICPGUARD=/bin/true IG_MODULE=$PW/module-placeholder
ig_init package
IG_UNBOUND=$_real_unbound IG_UCONTROL=$_real_ucontrol IG_ICPGUARD=$_real_icpguard IG_MODULE=$_real_module
trap 'ig_on_exit; purge_all; rm -rf "$PW"' EXIT
cp "$PW"/build-v1.log "$IG_WORK/" 2>/dev/null

ig_result 0 "tools/package built $V1 (unbound $UBV) and $V2"
lerr=$(grep -c '^E:' "$PW/v1/lintian.txt")
ig_result $([ "$lerr" = 0 ]; echo $?) "lintian: no errors ($(grep -c '^W:' "$PW/v1/lintian.txt") warnings)"
grep -E '^[EW]:' "$PW/v1/lintian.txt" | while IFS= read -r l; do ig_diag "$l"; done

# ------------------------------------------------------------ 2. install
if [ ! -e /usr/sbin/policy-rc.d ]; then
	# no service starts during the install (no init here; see the guide)
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	CREATED_POLICY=1
fi
had_unbound=0
dpkg-query -W -f='${Status}' unbound 2>/dev/null | grep -q 'install ok installed' && had_unbound=1
INSTALLED="$PKGS"
[ $had_unbound = 1 ] || INSTALLED="$INSTALLED unbound"
# knotd loads the installed Knot module at every start: no Knot test
# (tests/knot/lib.sh, a shared lock) runs from the install to the purge
IG_KNOT_LOCK=${IG_KNOT_LOCK:-${TMPDIR:-/tmp}/icpguard-knot-module.lock}
exec 7>"$IG_KNOT_LOCK"
if ! flock -n 7; then
	ig_diag "waiting (at most 900 s) for the Knot tests to finish ($IG_KNOT_LOCK)"
	flock -w 900 7 || ig_bail "the Knot tests hold $IG_KNOT_LOCK for more than 900 s"
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$PW"/v1/*.deb >"$IG_WORK/install.log" 2>&1
ig_result $? "apt-get install ./build/packages/*.deb"
for p in $PKGS unbound; do
	v=$(dpkg-query -W -f='${Status} ${Version}' "$p" 2>/dev/null)
	case "$p" in unbound) want=$UBV ;; *) want=$V1 ;; esac
	ig_result $([ "$v" = "install ok installed $want" ]; echo $?) "$p $want installed ($v)"
done
for f in /usr/bin/icpguard /usr/libexec/icpguard/icpguard-tool /usr/sbin/icpguard-loader \
	/usr/lib/icpguard/icpguard.so /etc/icpguard/icpguard.conf /etc/icpguard/icpguard-loader.conf \
	/lib/systemd/system/icpguard-loader.service; do
	ig_result $([ -f "$f" ]; echo $?) "installed: $f"
done
for m in icpguard.1 icpguard-loader.8 icpguard.conf.5 icpguard-loader.conf.5; do
	ig_result $(man -w "${m%.*}" 2>/dev/null | grep -q "man${m##*.}/$m"; echo $?) "man page $m"
done
ig_result $(getent passwd icpguard | grep -q '^icpguard:'; echo $?) "system user icpguard"
ig_result $([ "$(stat -c %U:%G "/var/lib/icpguard" 2>/dev/null)" = icpguard:icpguard ]; echo $?) \
	"/var/lib/icpguard owned by icpguard"
dpkg-query -W -f='${Conffiles}\n' icpguard-loader unbound-icpguard-module >"$IG_WORK/conffiles"
ig_result $(grep -q /etc/icpguard/icpguard-loader.conf "$IG_WORK/conffiles" &&
	grep -q /etc/icpguard/icpguard.conf "$IG_WORK/conffiles"; echo $?) "both configurations are conffiles"
dep=$(dpkg-query -W -f='${Depends}' unbound-icpguard-module)
case "$dep" in *"unbound (= $UBV)"*) r=0 ;; *) r=1 ;; esac
ig_result $r "the module depends on exactly unbound $UBV ($dep)"
KNOTV=$(dpkg-query -W -f='${Version}' knot 2>/dev/null)
KMODDIR=$(dpkg -L knot-module-icpguard 2>/dev/null | grep '/mod-icpguard\.so$' | head -1)
case "$KMODDIR" in */knot/modules-*/mod-icpguard.so) r=0 ;; *) r=1 ;; esac
ig_result $r "the Knot module is in knotd's module directory ($KMODDIR)"
KNOT_MODULES=$(pkg-config --variable=module_instdir knotd 2>/dev/null)
ig_result $([ -n "$KMODDIR" ] && [ "$(dirname "$KMODDIR")" = "$KNOT_MODULES" ]; echo $?) \
	"next to Debian's knot modules (knotd.pc module_instdir $KNOT_MODULES)"
dep=$(dpkg-query -W -f='${Depends}' knot-module-icpguard)
case "$dep" in *"knot (= $KNOTV)"*) r=0 ;; *) r=1 ;; esac
ig_result $r "the Knot module depends on exactly knot $KNOTV ($dep)"
# Debian's own unbound in its place would remove the module
arch_v=$(apt-cache madison unbound 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' | grep -v icpguard | head -1)
if [ -n "$arch_v" ]; then
	apt-get install -s "unbound=$arch_v" >"$IG_WORK/mismatch.sim" 2>&1
	ig_result $(grep -q '^Remv unbound-icpguard-module' "$IG_WORK/mismatch.sim"; echo $?) \
		"apt would remove the module to install Debian's unbound $arch_v"
else
	ig_diag "no archive version of unbound known to apt: mismatch check skipped"
fi

# ------------------------------------------------------------ 3. run
# the unit's own command lines (systemd when it is the init here)
UNIT=/lib/systemd/system/icpguard-loader.service
unit_cmd() { sed -n "s/^$1=//p" "$UNIT" | head -1; }
START_PRE=$(unit_cmd ExecStartPre)
START=$(unit_cmd ExecStart)
USER_=$(unit_cmd User)
if systemctl is-system-running >/dev/null 2>&1 || [ "$(systemctl is-system-running 2>/dev/null)" = degraded ]; then
	USE_SYSTEMD=1
else
	USE_SYSTEMD=0
	ig_diag "systemctl: $(systemctl is-system-running 2>&1 | head -1): running the unit's command lines as $USER_"
fi
LPORT=$(ig_free_port) || ig_bail "no free port"
LURL=http://127.0.0.1:$LPORT

# local edits (they must survive the upgrade): order intake on, a status port
mkdir -p /etc/icpguard/keys
"$IG_ICPGUARD" feed keygen "$IG_WORK/miit" >/dev/null 2>&1 || ig_bail "icpguard feed keygen failed"
cp "$IG_WORK/miit.pub" /etc/icpguard/keys/miit.pub
chmod 0644 /etc/icpguard/keys/miit.pub
LCONF=/etc/icpguard/icpguard-loader.conf
MCONF=/etc/icpguard/icpguard.conf
sed -i -e "s|^status-listen:.*|status-listen: 127.0.0.1:$LPORT|" \
	-e "s|^orders-snapshot:.*|orders-snapshot: /var/lib/icpguard/orders.mdb|" \
	-e "s|^# key: miit .*|key: miit /etc/icpguard/keys/miit.pub|" \
	-e "s|^order-keys:.*|order-keys: miit|" "$LCONF"
echo "# local edit: package test" >>"$LCONF"
sed -i -e "s|^orders-snapshot:.*|orders-snapshot: /var/lib/icpguard/orders.mdb|" \
	-e "s|^policy-ttl:.*|policy-ttl: 30|" "$MCONF"
echo "# local edit: package test" >>"$MCONF"
cp "$LCONF" "$IG_WORK/loader.conf.edited"
cp "$MCONF" "$IG_WORK/icpguard.conf.edited"
"$IG_ICPGUARD" checkconf "$MCONF" >"$IG_WORK/checkconf.out" 2>&1
ig_result $? "icpguard checkconf $MCONF"

LOADER_PID=""
start_loader() {
	if [ $USE_SYSTEMD = 1 ]; then
		systemctl start icpguard-loader || return 1
	else
		# what systemd does for the unit: RuntimeDirectory, User, the
		# ExecStartPre check, then ExecStart in the foreground
		install -d -o "$USER_" -g "$USER_" -m 0755 /run/icpguard
		runuser -u "$USER_" -- $START_PRE >>"$IG_WORK/loader.log" 2>&1 || return 1
		runuser -u "$USER_" -- $START >>"$IG_WORK/loader.log" 2>&1 9>&- &
		LOADER_PID=$!
		ig_track "$LOADER_PID"
	fi
	_i=0
	while [ $_i -lt 100 ]; do
		curl -sf "$LURL/status" >/dev/null 2>&1 && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}
stop_loader() {
	if [ $USE_SYSTEMD = 1 ]; then systemctl stop icpguard-loader; return; fi
	[ -n "$LOADER_PID" ] || return 0
	ig_kill_wait "$LOADER_PID" 10
	ig_untrack "$LOADER_PID"
	LOADER_PID=""
}
# Unbound: the installed binary and module, the installed icpguard.conf
# (no ICPGUARD_CONF), run as the unbound user like the unbound service, on
# a free port with the local NSD tree as its root
start_unbound() {
	# the module's configuration is the installed one (a link, made
	# below): the link goes first, or ig_write_unbound_conf would write
	# the test's module settings through it into /etc/icpguard
	rm -f "$IG_WORK/icpguard.conf"
	ig_write_unbound_conf "" 'username: "unbound"'
	# the unbound user reads the hints and writes its log in the work directory
	chmod 0755 "$IG_BASE"
	chown unbound "$IG_WORK"
	ln -sf "$MCONF" "$IG_WORK/icpguard.conf"
	rm -f "$IG_WORK/unbound.ctl"
	env -u ICPGUARD_CONF "$IG_UNBOUND" -d -c "$IG_WORK/unbound.conf" >>"$IG_WORK/unbound.stderr" 2>&1 9>&- &
	IG_UNBOUND_PID=$!
	ig_track "$IG_UNBOUND_PID"
	ig_wait_unbound
}

ig_start_tree
# the first snapshot, built by the installed tool as the loader's user,
# from a copy it can read (the source tree may sit in a 0700 directory)
chmod 0755 "$IG_BASE" "$IG_WORK"
cp -r "$IG_POLICY_SRC" "$IG_WORK/policy"
chmod -R a+rX "$IG_WORK/policy"
runuser -u icpguard -- "$IG_ICPGUARD" build --source "$IG_WORK/policy" \
	--out /var/lib/icpguard/snapshot.mdb >"$IG_WORK/build.log" 2>&1
ig_result $? "icpguard build as user icpguard into /var/lib/icpguard/snapshot.mdb"
SERIAL=$("$IG_ICPGUARD" info /var/lib/icpguard/snapshot.mdb 2>/dev/null | awk '$1 == "serial" { print $2; exit }')
ig_result $([ -n "$SERIAL" ]; echo $?) "snapshot serial $SERIAL"

start_loader
ig_result $? "icpguard-loader started as in its unit ($START)" ||
	ig_diag "$(tail -10 "$IG_WORK/loader.log")"
start_unbound
ig_result $? "the installed Unbound started with $IG_MODULE" ||
	ig_diag "$(tail -10 "$IG_WORK/unbound.log" 2>/dev/null)"
ig_dig www.filed.cn A
check_rcode NOERROR "filed name www.filed.cn resolves"
check_answer_contains A '^127\.0\.10\.1$' "www.filed.cn has its address"
ig_dig www.unfiled.cn A
check_rcode NXDOMAIN "unfiled domestic name www.unfiled.cn is blocked"
check_ede 15 nofiling "www.unfiled.cn carries EDE 15 (nofiling)"

# a signed order through the loader: journaled and enforced
printf '{"id":"ord-pkg-1","doc_no":"工信厅信管函〔2026〕1号","unit":"工业和信息化部","reason":"涉嫌诈骗","targets":["www.filed-cdn.cn"],"effective":"2022-01-01"}\n' \
	>"$IG_WORK/order.json"
"$IG_ICPGUARD" order add "$IG_WORK/order.json" --key "$IG_WORK/miit.key" --loader "$LURL" \
	>"$IG_WORK/order.out" 2>&1
ig_result $? "icpguard order add: accepted" || ig_diag "$(cat "$IG_WORK/order.out")"
JOURNAL=/var/lib/icpguard/loader/orders.journal
ig_result $([ -s "$JOURNAL" ]; echo $?) "the order is in the journal $JOURNAL"
wait_block() { # wait_block NAME: NXDOMAIN within 3 s
	_i=0
	while [ $_i -lt 30 ]; do
		ig_dig "$1" A
		[ "$(ig_rcode)" = NXDOMAIN ] && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}
wait_block www.filed-cdn.cn
ig_result $? "the ordered name www.filed-cdn.cn is blocked"
curl -sf "$LURL/metrics" >"$IG_WORK/metrics" 2>&1
ig_result $(grep -q '^icpguard_loader_orders_in_force 1$' "$IG_WORK/metrics"; echo $?) \
	"/metrics: icpguard_loader_orders_in_force 1"

# the Knot module as installed: knotd loads it from its module directory
# (no `module:` section), the same snapshot blocks a blacklisted name of a
# hosted zone and lets a filed one through
KADDR=${IG_KNOT_ADDR:-127.0.0.20}
KPORT=$(ig_free_port) || ig_bail "no free port"
KW=$IG_WORK/knot
mkdir -p "$KW/run" "$KW/db" "$KW/zones"
cp "$top_srcdir"/tests/knot/zones/bad.cn.zone "$top_srcdir"/tests/knot/zones/filed.cn.zone "$KW/zones/"
cat >"$KW/knot.conf" <<C
server:
    rundir: "$KW/run"
    user: root:root
    listen: $KADDR@$KPORT
log:
  - target: "$KW/knotd.log"
    any: info
database:
    storage: "$KW/db"
mod-icpguard:
  - id: pkg
    snapshot: /var/lib/icpguard/snapshot.mdb
    orders-snapshot: /var/lib/icpguard/orders.mdb
template:
  - id: default
    storage: "$KW/zones"
    file: "%s.zone"
    zonefile-sync: -1
    journal-content: none
    module: mod-icpguard/pkg
zone:
  - domain: bad.cn
  - domain: filed.cn
C
knotc -c "$KW/knot.conf" conf-check >"$KW/conf-check.out" 2>&1
ig_result $? "knotc conf-check: mod-icpguard known without a module: section" ||
	ig_diag "$(cat "$KW/conf-check.out")"
knotd -c "$KW/knot.conf" >"$KW/knotd.out" 2>&1 7>&- 9>&- &
KNOTD_PID=$!
ig_track "$KNOTD_PID"
kdig_() { dig @"$KADDR" -p "$KPORT" +norec +tries=1 +time=2 "$@" 2>&1; }
_i=0 _up=1
while [ $_i -lt 100 ]; do
	kdig_ filed.cn SOA | grep -q 'status: NOERROR' && { _up=0; break; }
	kill -0 "$KNOTD_PID" 2>/dev/null || break
	sleep 0.1
	_i=$((_i + 1))
done
ig_result $_up "knotd with the installed module answers on $KADDR@$KPORT" ||
	ig_diag "$(tail -5 "$KW/knotd.log" "$KW/knotd.out" 2>/dev/null)"
kdig_ www.bad.cn A >"$KW/bad.dig"
ig_result $(grep -q 'status: NXDOMAIN' "$KW/bad.dig" && grep -q 'EDE: 15' "$KW/bad.dig"; echo $?) \
	"knotd: blacklisted www.bad.cn gets NXDOMAIN with EDE 15" || ig_diag "$(cat "$KW/bad.dig")"
kdig_ www.filed.cn A >"$KW/filed.dig"
ig_result $(grep -q 'status: NOERROR' "$KW/filed.dig" && grep -q '127\.0\.10\.1' "$KW/filed.dig"; echo $?) \
	"knotd: filed www.filed.cn gets its address" || ig_diag "$(cat "$KW/filed.dig")"
knotc -c "$KW/knot.conf" -s "$KW/run/knot.sock" stop >/dev/null 2>&1
ig_kill_wait "$KNOTD_PID" 10
ig_untrack "$KNOTD_PID"

# ------------------------------------------------------------ 4. upgrade
JSUM=$(md5sum <"$JOURNAL")
SSUM=$(md5sum </var/lib/icpguard/snapshot.mdb)
ig_stop_unbound
stop_loader
DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
	"$PW"/v2/icpguard-tools_*.deb "$PW"/v2/icpguard-loader_*.deb \
	"$PW"/v2/unbound-icpguard-module_*.deb "$PW"/v2/knot-module-icpguard_*.deb >"$IG_WORK/upgrade.log" 2>&1
ig_result $? "apt-get install of $V2 (upgrade)" || ig_diag "$(tail -10 "$IG_WORK/upgrade.log")"
for p in $PKGS; do
	v=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null)
	ig_result $([ "$v" = "$V2" ]; echo $?) "$p upgraded to $V2 ($v)"
done
ig_result $([ "$(md5sum </var/lib/icpguard/snapshot.mdb)" = "$SSUM" ]; echo $?) "the snapshot is kept"
ig_result $([ "$(md5sum <"$JOURNAL" 2>/dev/null)" = "$JSUM" ]; echo $?) "the order journal is kept"
ig_result $(cmp -s "$LCONF" "$IG_WORK/loader.conf.edited"; echo $?) "the edited $LCONF is kept"
ig_result $(cmp -s "$MCONF" "$IG_WORK/icpguard.conf.edited"; echo $?) "the edited $MCONF is kept"
ig_result $([ -f /etc/icpguard/keys/miit.pub ]; echo $?) "the operator's key is kept"
ig_result $(getent passwd icpguard >/dev/null; echo $?) "user icpguard is kept"
start_loader
ig_result $? "icpguard-loader $V2 started" || ig_diag "$(tail -10 "$IG_WORK/loader.log")"
start_unbound
ig_result $? "Unbound started with the upgraded module"
ig_dig www.filed.cn A
check_rcode NOERROR "after the upgrade: www.filed.cn resolves"
ig_dig www.unfiled.cn A
check_rcode NXDOMAIN "after the upgrade: www.unfiled.cn is blocked"
wait_block www.filed-cdn.cn
ig_result $? "after the upgrade: the order still blocks www.filed-cdn.cn"
NSERIAL=$("$IG_ICPGUARD" info /var/lib/icpguard/snapshot.mdb 2>/dev/null | awk '$1 == "serial" { print $2; exit }')
ig_result $([ "$NSERIAL" = "$SERIAL" ]; echo $?) "the snapshot in force is still serial $SERIAL ($NSERIAL)"
ig_stop_unbound
stop_loader

# ------------------------------------------------------------ 5. purge
if [ "${IG_PKG_KEEP:-0}" != 1 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get purge -y -q $INSTALLED >"$IG_WORK/purge.log" 2>&1
	ig_result $? "apt-get purge $INSTALLED"
	# the operator's own file in /etc/icpguard (dpkg leaves what it did not install)
	ls -A /etc/icpguard 2>/dev/null | sed 's/^/# left by dpkg in \/etc\/icpguard: /'
	rm -f /etc/icpguard/keys/miit.pub
	rmdir /etc/icpguard/keys /etc/icpguard 2>/dev/null
	INSTALLED=""
	left=""
	for p in $PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'installed\|config-files' && left="$left $p"
	done
	for f in /etc/icpguard /var/lib/icpguard /usr/lib/icpguard /usr/bin/icpguard \
		/usr/libexec/icpguard /usr/sbin/icpguard-loader /run/icpguard /lib/systemd/system/icpguard-loader.service; do
		[ -e "$f" ] && left="$left $f"
	done
	getent passwd icpguard >/dev/null && left="$left user:icpguard"
	getent group icpguard >/dev/null && left="$left group:icpguard"
	ig_result $([ -z "$left" ]; echo $?) "nothing is left after the purge${left:+:$left}"
fi
ig_done
