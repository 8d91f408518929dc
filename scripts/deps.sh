#!/usr/bin/env bash
# Installs the Debian packages rampart needs to build, test and benchmark.
# Idempotent: asks apt-get only for what is missing, and runs 'apt-get update' only then.
set -euo pipefail

PKGS=(
  build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
  libssl-dev libnghttp2-dev libpcre2-dev libyaml-dev zlib1g-dev libbrotli-dev libzstd-dev
  openssl
  curl python3 python3-pytest python3-httpx python3-websockets python3-h2
  python3-trustme python3-grpcio testssl.sh
  nginx haproxy wrk nghttp2-client procps dnsmasq-base
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
