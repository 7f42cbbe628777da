#!/usr/bin/env bash
# The .deb from this build: built with cpack (reusing the built programs),
# unpacked with dpkg -x into a throwaway root, and its files, dependencies,
# maintainer scripts and unit checked.
#
#   deb_test.sh BUILD_DIR
#
# Exit 0 passed, 1 failed, 77 skipped (no cpack, dpkg-deb or dpkg-shlibdeps).
set -euo pipefail
build=$(cd "$1" && pwd)
for tool in cpack dpkg-deb dpkg-shlibdeps fakeroot; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool missing (Debian: apt-get install cmake dpkg-dev fakeroot)"
    exit 77
  fi
done
work=$(mktemp -d /tmp/corochat-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# Packages into the temp directory, leaving the build's own packages/ alone.
if ! (cd "$work" && cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/out" >"$work/cpack.log" 2>&1); then
  cat "$work/cpack.log"
  echo "FAIL: cpack"
  exit 1
fi
deb=$(ls "$work"/out/corochat_*.deb)
echo "built $(basename "$deb") ($(stat -c %s "$deb") bytes)"
root="$work/root"
dpkg-deb -x "$deb" "$root"

for f in usr/sbin/chatd usr/bin/chat-client usr/bin/chat-replay usr/bin/chat-bench \
         usr/lib/systemd/system/chatd.service usr/share/doc/corochat/README.md \
         usr/share/doc/corochat/docs/operations.md \
         usr/share/bash-completion/completions/chatd usr/share/bash-completion/completions/chat-client; do
  [ -e "$root/$f" ] || fail "$f missing"
done
if command -v help2man >/dev/null; then
  for page in man8/chatd.8.gz man1/chat-client.1.gz man1/chat-replay.1.gz man1/chat-bench.1.gz; do
    if [ ! -s "$root/usr/share/man/$page" ]; then fail "man page $page missing"; continue; fi
    grep -q '^\.TH' <<<"$(gzip -dc "$root/usr/share/man/$page")" || fail "$page is not a man page"
  done
  grep -q -- 'metrics' <<<"$(gzip -dc "$root/usr/share/man/man8/chatd.8.gz")" || fail "chatd.8 lacks --metrics"
else
  echo "note: no help2man here, so no man pages to check"
fi
[ -e "$root/usr/bin/chatd" ] && fail "chatd is in bin as well as sbin"

# The unpacked programs run: the package holds them whole.
grep -q '^chatd ' <<<"$("$root/usr/sbin/chatd" --version)" || fail "chatd --version"
grep -q '^chat-client ' <<<"$("$root/usr/bin/chat-client" --version)" || fail "chat-client --version"
grep -q '^chat-replay ' <<<"$("$root/usr/bin/chat-replay" --version)" || fail "chat-replay --version"
grep -q -- '--metrics HOST:PORT' <<<"$("$root/usr/sbin/chatd" --help)" || fail "chatd --help lacks --metrics"

# Dependencies: the shared libraries' packages (dpkg-shlibdeps), and adduser.
info=$(dpkg-deb -I "$deb")
depends=$(sed -n 's/^ Depends: //p' <<<"$info")
echo "Depends: $depends"
for package in libc6 libstdc++6 libssl3 libsqlite3-0 adduser; do
  grep -Fq -e ", $package " -e ", $package," -e "$package (" <<<", $depends," || fail "Depends lacks $package"
done
if grep -q 'COROCHAT_HAVE_SYSTEMD' "$build/CMakeCache.txt" 2>/dev/null || grep -q libsystemd <<<"$(ldd "$root/usr/sbin/chatd")"; then
  grep -Fq -e ", libsystemd0," -e ", libsystemd0 (" <<<", $depends," || fail "Depends lacks libsystemd0"
fi
grep -q '^ Section: net' <<<"$info" || fail "Section is not net"

# Maintainer scripts: the user is created; the unit is neither enabled nor started.
mkdir "$work/control"
dpkg-deb -e "$deb" "$work/control"
grep -q 'adduser --system --group' "$work/control/postinst" || fail "postinst does not create the chatd user"
if grep -v '^ *#' "$work/control/postinst" | grep -Eq 'systemctl .*(enable|start)|deb-systemd-invoke start'; then
  fail "postinst enables or starts the unit"
fi
for script in postinst prerm postrm; do
  sh -n "$work/control/$script" || fail "$script does not parse"
  [ -x "$work/control/$script" ] || fail "$script is not executable"
done

# The unit as systemd reads it, against the unpacked tree.
unit="$root/usr/lib/systemd/system/chatd.service"
grep -q '^Type=notify' "$unit" || fail "the unit is not Type=notify"
grep -q '^ExecStart=/usr/sbin/chatd --config /etc/chatd/chatd.toml ' "$unit" || fail "ExecStart does not run /usr/sbin/chatd with its config file"
# The config file: installed, a conffile, and one chatd accepts.
[ -f "$root/etc/chatd/chatd.toml" ] || fail "no /etc/chatd/chatd.toml"
grep -qx '/etc/chatd/chatd.toml' "$work/control/conffiles" 2>/dev/null || fail "chatd.toml is not a conffile"
"$root/usr/sbin/chatd" --config "$root/etc/chatd/chatd.toml" --print-config >/dev/null || fail "chatd refuses /etc/chatd/chatd.toml"
# Verified as installed, but with ExecStart pointing into the unpacked tree
# (systemd-analyze checks that the program exists and is executable).
if command -v systemd-analyze >/dev/null; then
  mkdir "$work/units"
  sed "s|^ExecStart=/usr/sbin/chatd|ExecStart=$root/usr/sbin/chatd|" "$unit" >"$work/units/chatd.service"
  if ! out=$(systemd-analyze verify --man=no "$work/units/chatd.service" 2>&1); then
    echo "$out"
    fail "systemd-analyze verify"
  elif [ -n "$out" ]; then
    echo "$out"
  fi
else
  echo "note: skipped systemd-analyze verify: systemd-analyze is not installed"
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures checks failed"
  exit 1
fi
echo "deb test passed"
