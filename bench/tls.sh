#!/usr/bin/env bash
# TLS beside plain TCP against one chatd serving both ports: fan-out CPU per
# delivery on each, alternated, ROUNDS times, and the ratio per round; then
# RSS per idle connection on each. chatd on core 0, chat-bench on core 1.
#
#   bash bench/tls.sh CHATD [ROUNDS] [CHAT_BENCH]
#
# The certificate comes from scripts/make-cert.sh in a temporary directory.
# chatd keeps history in memory here (--store memory): the comparison is of
# transports, and a store's cost, the same on both, would only dilute it.
set -euo pipefail
ulimit -n "$(ulimit -Hn)"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
chatd=$1
rounds=${2:-2}
bench=${3:-$root/build/release/bin/chat-bench}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
bash "$root/scripts/make-cert.sh" -o "$dir" localhost 127.0.0.1 >/dev/null 2>&1

taskset -c 0 "$chatd" --host 127.0.0.1 --port 0 --tls-port 0 --tls-cert "$dir/chatd.crt" --tls-key "$dir/chatd.key" \
  --default-room "" --flood-rate 0 --max-clients 50000 --queue-bytes 8388608 --max-per-ip 0 --connect-rate 0 \
  --store memory 2>"$dir/log" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
plain="" tls=""
for _ in $(seq 100); do
  plain=$(sed -n 's/.*listening on .* port \([0-9]*\)$/\1/p' "$dir/log" | head -n 1)
  tls=$(sed -n 's/.*listening on .* port \([0-9]*\) (TLS)$/\1/p' "$dir/log" | head -n 1)
  [ -n "$plain" ] && [ -n "$tls" ] && break
  sleep 0.05
done

fanout() {  # $1 port, rest: extra chat-bench arguments
  local port=$1; shift
  taskset -c 1 "$bench" fanout --proto corochat --host localhost --port "$port" "$@" --subscribers 100 \
    --publishers 1 --payload 100 --window 64 --duration 5s --warmup 1s --server-pid "$pid" --json |
    python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["server_cpu_s_per_m_deliveries"], r["deliveries_per_s"], r.get("lost"))'
}

for round in $(seq "$rounds"); do
  read -r p_cpu p_rate p_lost < <(fanout "$plain")
  read -r t_cpu t_rate t_lost < <(fanout "$tls" --ca "$dir/chatd.crt")
  python3 -c "import sys; p,t=float(sys.argv[1]),float(sys.argv[2]); print(f'round $round: plain {p:.3f} CPU-s/M ({float(sys.argv[3])/1e3:.0f} k/s, lost $p_lost)  TLS {t:.3f} CPU-s/M ({float(sys.argv[4])/1e3:.0f} k/s, lost $t_lost)  TLS/plain {t/p:.2f}')" \
    "$p_cpu" "$t_cpu" "$p_rate" "$t_rate"
done
