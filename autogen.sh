#!/bin/sh
# autogen.sh: generate configure and the Makefiles (needs autoconf, automake, libtool).
set -e
cd "$(dirname "$0")"
mkdir -p build-aux m4
autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
# automake does not install its TAP driver by itself
if [ ! -f build-aux/tap-driver.sh ]; then
	cp "$(ls /usr/share/automake-*/tap-driver.sh | tail -1)" build-aux/tap-driver.sh
fi
