#!/usr/bin/env bash
# A/B of two chatd binaries in one run, alternated: fan-out CPU per delivery
# (N=100 and 500 subscribers, P=1 and 4 publishers) and RSS per idle
# connection, each pair run ROUNDS times. chatd on core 0, chat-bench on core 1.
#
#   bash bench/ab.sh OLD_CHATD NEW_CHATD [ROUNDS] [CHAT_BENCH]
#
# Prints one line per run: binary label, workload, CPU-s per million
# deliveries (fan-out) or bytes per connection (idle).
#
# OLD_FLAGS and NEW_FLAGS add options to each binary's command line; %DATA%
# in them becomes a fresh directory per run, removed after it. The same
# binary with two stores:
#   OLD_FLAGS="--store memory" NEW_FLAGS="--data-dir %DATA%" bash bench/ab.sh CHATD CHATD
set -euo pipefail
ulimit -n "$(ulimit -Hn)"  # the idle run holds thousands of sockets on each side
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
old=$1
new=$2
rounds=${3:-2}
bench=${4:-$root/build/release/bin/chat-bench}
flags=(--host 127.0.0.1 --port 0 --default-room "" --flood-rate 0 --max-clients 50000 --queue-bytes 8388608
       --max-per-ip 0 --connect-rate 0)

run() {  # $1 label, $2 chatd, rest: chat-bench arguments
  local label=$1 chatd=$2; shift 2
  local log data extra
  log=$(mktemp)
  data=$(mktemp -d)
  if [ "$label" = new ]; then extra=${NEW_FLAGS:-}; else extra=${OLD_FLAGS:-}; fi
  read -r -a extra <<<"${extra//%DATA%/$data}"
  taskset -c 0 "$chatd" "${flags[@]}" "${extra[@]}" 2>"$log" &
  local pid=$!
  local port=""
  for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on .* port \([0-9]*\)$/\1/p' "$log" | head -n 1)
    [ -n "$port" ] && break
    sleep 0.05
  done
  local out
  out=$(taskset -c 1 "$bench" "$@" --proto corochat --host 127.0.0.1 --port "$port" --server-pid "$pid" --json) || true
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$log" "$data"
  python3 - "$label" "$1" "$out" <<'PY'
import json, sys
label, workload, text = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    r = json.loads(text)
except ValueError:
    print(f"{label:4} {workload:22} no result"); sys.exit()
if workload.startswith("fanout"):
    print(f"{label:4} {workload:22} cpu_s_per_m_deliveries={r.get('server_cpu_s_per_m_deliveries')}"
          f" deliveries_per_s={r.get('deliveries_per_s')} lost={r.get('lost')}")
else:
    print(f"{label:4} {workload:22} rss_per_conn_kb={r.get('rss_per_conn_kb')} connected={r.get('connected')}")
PY
}

for round in $(seq "$rounds"); do
  for label in old new; do
    chatd=$old
    [ "$label" = new ] && chatd=$new
    for shape in "100 1" "100 4" "500 1" "500 4"; do
      set -- $shape
      run "$label" "$chatd" fanout --subscribers "$1" --publishers "$2" --payload 100 --window 64 \
        --duration 4s --warmup 1s --room bench | sed "s/fanout /fanout-n$1-p$2 /"
    done
    run "$label" "$chatd" idle --connections 4000 --room-size 100
  done
done
