#!/usr/bin/env bash
# Fetches the Debian source packages the microcontroller build cross-compiles (libsecp256k1,
# libsodium, libcbor) into $MCU/src, with an apt configuration of its own under $MCU/apt: a
# deb-src list for the Debian mirror this machine's apt already uses, its own lists and cache.
# The machine's apt configuration is not changed. Nothing is fetched when the sources are there.
# Usage: scripts/mcu-fetch.sh [MCU_DIR]   (default build/mcu)
set -euo pipefail
mcu=${1:-build/mcu}
pkgs=(libsecp256k1 libsodium libcbor)
src="$mcu/src"
have=1
for p in "${pkgs[@]}"; do [ -f "$src/$p.dir" ] || have=0; done
[ $have -eq 1 ] && exit 0

# The mirror and suite: the first Debian "main" entry of the machine's own apt sources.
mirror=""; suite=""
for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' "$f" | grep -E '/debian/?$' | head -n 1 || true)
    if [ -n "$uri" ]; then
        mirror=$uri
        suite=$(awk -v u="$uri" '/^URIs:/ {m = ($2 == u)} m && /^Suites:/ {print $2; exit}' "$f")
        break
    fi
done
if [ -z "$mirror" ]; then
    line=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk '$1 == "deb" && $0 ~ / main/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i, $(i + 1); exit}}')
    mirror=${line% *}; suite=${line#* }
fi
if [ -z "$mirror" ] || [ -z "$suite" ]; then
    echo "mcu-fetch: no Debian mirror found in /etc/apt/sources.list{,.d}" >&2
    exit 1
fi

apt="$(cd "$(dirname "$mcu")" && pwd)/$(basename "$mcu")/apt"
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/parts" "$src"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
# The suite's own sources first; "stable" as a fallback for a package whose files the mirror no
# longer serves (this machine's mirror lacks bookworm's libcbor 0.8.0 tarball).
printf 'deb-src [signed-by=%s] %s %s main\n' "$keyring" "$mirror" "$suite" "$keyring" "$mirror" stable \
    >"$apt/sources.list"
opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=$apt/parts"
      -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
      -o "Dir::State::status=/var/lib/dpkg/status" -o "APT::Sandbox::User=root")
echo "mcu-fetch: deb-src $mirror $suite main -> $src" >&2
apt-get "${opts[@]}" -qq update
cd "$src"
for p in "${pkgs[@]}"; do
    [ -f "$p.dir" ] && continue
    if ! apt-get "${opts[@]}" -qq source --download-only "$p/$suite" >/dev/null 2>&1; then
        echo "mcu-fetch: $p: $suite's source not served by $mirror; trying stable's" >&2
        rm -f "$p"_*
        apt-get "${opts[@]}" -qq source --download-only "$p/stable" >/dev/null 2>&1 || true
    fi
    rm -rf "$p".tmp
    dsc=$(ls "$p"_*.dsc 2>/dev/null | sort | tail -n 1 || true)
    orig=$(ls "$p"_*.orig.tar.* 2>/dev/null | sort | tail -n 1 || true)
    if [ -n "$dsc" ] && [ -n "$orig" ] && dpkg-source --no-check -x "$dsc" "$p".tmp >/dev/null 2>&1; then
        name=$(basename "$dsc" .dsc)
    elif [ -n "$orig" ]; then
        # The mirror served the upstream tarball (apt checked its SHA-256 against the signed
        # Sources index) but not the Debian part: unpack the upstream source alone.
        echo "mcu-fetch: $p: unpacking $orig without its Debian patches" >&2
        mkdir "$p".tmp && tar -xf "$orig" -C "$p".tmp --strip-components=1
        name=$(basename "$orig")
    else
        echo "mcu-fetch: $p: no source package could be fetched from $mirror" >&2
        exit 1
    fi
    rm -rf "$p" && mv "$p".tmp "$p"
    echo "$name" >"$p.dir"
done
