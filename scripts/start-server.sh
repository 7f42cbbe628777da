#!/usr/bin/env bash
# Sets up, builds and starts chatd. Arguments go to chatd
# (default: --host :: --port 7000, all interfaces, IPv6 and IPv4).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh release
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--host :: --port 7000 --log-level info)
port=7000
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[$i]}" = "--port" ] && port="${args[$((i + 1))]}"
done
# chat-client was just built; nc is not on a fresh Debian.
cat <<EOT

chatd is starting. Connect from this machine, in another terminal, with:
    $PWD/build/release/bin/chat-client 127.0.0.1:$port --nick alice
or speak the protocol by hand with nc (apt-get install netcat-openbsd):
    nc 127.0.0.1 $port
and type:  {"type":"hello","nick":"alice"}
           {"type":"say","room":"lobby","text":"hi"}
From another machine on the LAN use this machine's address instead of 127.0.0.1.
Stop the server with Ctrl-C.

EOT
exec build/release/bin/chatd "${args[@]}"
