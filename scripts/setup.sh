#!/usr/bin/env bash
# Installs the Debian 12 packages corochat needs to build and test.
# Idempotent, and quick when everything is already there.
set -euo pipefail

packages=(
  g++ cmake ninja-build ccache
  libboost1.81-dev libboost-json1.81-dev
  catch2 libedit-dev pkg-config
  clang-14 libclang-rt-14-dev llvm-14
  libbenchmark-dev
  openssl libssl-dev
  libsqlite3-dev
  libcli11-dev libtomlplusplus-dev
  libsystemd-dev                                # sd_notify for the systemd unit (Type=notify)
  help2man dpkg-dev fakeroot                    # man pages from --help; the .deb (cpack -G DEB, shlibdeps)
  python3-prometheus-client curl                # the /metrics test's parser; scraping by hand
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
