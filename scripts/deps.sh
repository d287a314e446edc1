#!/usr/bin/env bash
# Installs the Debian packages upledger needs, only those missing; silent when all are present.
set -euo pipefail
pkgs=(build-essential pkg-config clang libsecp256k1-dev libsodium-dev libleveldb-dev
      libnanomsg-dev libcbor-dev libjansson-dev libcmocka-dev libssl-dev g++ python3-pytest
      python3-cbor2 python3-prometheus-client libcurl4-openssl-dev libmicrohttpd-dev valgrind
      hyperfine nftables clang-format clang-tidy python3-yaml wrk
      gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm dpkg-dev chromium
      libsqlite3-dev libgnutls28-dev)
# The explorer (web/explorer) builds with npm and runs its tests with node; a machine that has
# node from elsewhere (NodeSource, nvm) keeps it.
command -v npm >/dev/null || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$st" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
