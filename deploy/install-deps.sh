#!/bin/sh
# deploy/install-deps.sh installs the Debian packages careline builds, runs and
# tests with. Idempotent: it does nothing when every package is present; else it
# runs apt-get update and apt-get install, as root or through sudo.
# Called by `make run`, `make test`, `make bench` and `make fuzz` (clang, and
# libclang-rt-dev for libFuzzer, which --no-install-recommends leaves out);
# safe to run by hand.
set -eu

PACKAGES="build-essential pkg-config
libsqlite3-dev sqlite3 libsodium-dev libmicrohttpd-dev libjansson-dev
libinih-dev libcurl4-openssl-dev libssl-dev libmosquitto-dev mosquitto
mosquitto-clients libcmocka-dev curl tzdata espeak-ng libsystemd-dev
clang libclang-rt-dev"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "install-deps: need root or sudo to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
