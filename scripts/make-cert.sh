#!/usr/bin/env bash
# Makes a self-signed TLS certificate and key for chatd on a LAN.
#
#   scripts/make-cert.sh [-o DIR] [-d DAYS] [NAME_OR_ADDRESS...]
#
# Writes DIR/chatd.crt and DIR/chatd.key (default DIR: ./tls). The certificate
# names every host name and IP address given (default: localhost, 127.0.0.1,
# ::1 and this machine's host name), so that clients can check it. Clients
# trust it with --ca DIR/chatd.crt; copy that file (never the key) to them.
set -euo pipefail

usage() {
  sed -n '2,10s/^# \{0,1\}//p' "$0"
  exit "${1:-0}"
}

out=tls
days=825
while getopts "o:d:h" flag; do
  case $flag in
    o) out=$OPTARG ;;
    d) days=$OPTARG ;;
    h) usage 0 ;;
    *) usage 2 >&2 ;;
  esac
done
shift $((OPTIND - 1))

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  names=(localhost 127.0.0.1 ::1)
  host=$(hostname 2>/dev/null || true)
  [ -n "$host" ] && [ "$host" != localhost ] && names+=("$host")
fi

san=""
for name in "${names[@]}"; do
  # An address has a digit-and-dot or a colon shape; anything else is a DNS name.
  if [[ $name =~ ^[0-9.]+$ || $name == *:* ]]; then san+="${san:+,}IP:$name"; else san+="${san:+,}DNS:$name"; fi
done

command -v openssl >/dev/null || { echo "make-cert: openssl not found (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$out"
umask 077  # the key is readable by its owner only
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
  -days "$days" -subj "/CN=${names[0]}" -addext "subjectAltName=$san" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,digitalSignature,keyCertSign" \
  -addext "extendedKeyUsage=serverAuth" \
  -keyout "$out/chatd.key" -out "$out/chatd.crt" 2>/dev/null
chmod 644 "$out/chatd.crt"

echo "make-cert: wrote $out/chatd.crt and $out/chatd.key for $san"
echo "  server:  chatd --tls-cert $out/chatd.crt --tls-key $out/chatd.key"
echo "  clients: chat-client --tls --ca $out/chatd.crt HOST:7443"
