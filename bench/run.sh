#!/usr/bin/env bash
# Runs chatd, the floor (chat-floor) and the peers (InspIRCd, ngIRCd,
# nats-server, redis-server) side by side under the same workloads, and writes
# a markdown table to bench/results/<date>.md and bench/results/latest.md.
#
# Each server starts fresh for each workload, pinned to core 0; chat-bench
# runs pinned to core 1; everything is on 127.0.0.1. See docs/performance.md.
#
#   bash bench/run.sh [--quick] [--servers "chatd floor inspircd ngircd nats redis"]
#                     [--workloads "fanout latency idle connect"] [--rate MSGS_PER_S]
#                     [--build-dir DIR] [--no-install] [--no-build]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# chatd with every limit that would distort a benchmark turned off: no default
# room (the bench joins its own), no flood limit, no per-IP limits, room for
# every connection, and an outgoing queue that holds a window of fan-out.
# The per-IP limits are added when this chatd has them (all bench clients share 127.0.0.1).
CHATD_FLAGS=(--default-room "" --flood-rate 0 --max-clients 50000 --queue-bytes 8388608 --max-per-ip 0 --connect-rate 0
            --max-rooms-per-ip 0)

quick=0
servers="chatd floor inspircd ngircd nats redis"
workloads="fanout latency idle connect"
fixed_rate=""
build_dir="$root/build/release"
install=1
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --servers) servers="$2"; shift ;;
    --workloads) workloads="$2"; shift ;;
    --rate) fixed_rate="$2"; shift ;;
    --build-dir) build_dir="$2"; shift ;;
    --no-install) install=0 ;;
    --no-build) build=0 ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

# Durations and sizes. --quick is a smoke run of a few minutes, not a result.
payload=100
window=64
if [ "$quick" -eq 1 ]; then
  duration=3; warmup=1; idle_connections=2000; connect_connections=2000
else
  duration=10; warmup=2; idle_connections=10000; connect_connections=10000
fi
room_size=100

# --- setup -------------------------------------------------------------------

if [ "$install" -eq 1 ]; then
  bash "$root/scripts/setup.sh"
  peers_missing=()
  for p in inspircd ngircd nats-server redis-server util-linux python3; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || peers_missing+=("$p")
  done
  if [ ${#peers_missing[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    # Debian may start the packaged services on install; the bench never uses
    # them (its own instances run on other ports from bench/peers/), and stops them.
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${peers_missing[@]}"
    for unit in inspircd ngircd nats-server redis-server; do
      if command -v systemctl >/dev/null && systemctl is-active --quiet "$unit" 2>/dev/null; then
        $SUDO systemctl disable --now "$unit" || true
      fi
    done
  fi
fi

if [ "$build" -eq 1 ]; then
  if [ "$build_dir" = "$root/build/release" ]; then
    (cd "$root" && cmake --preset release >/dev/null && cmake --build --preset release)
  else
    cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build_dir"
  fi
fi
bin="$build_dir/bin"
for program in chatd chat-floor chat-bench; do
  [ -x "$bin/$program" ] || { echo "run.sh: $bin/$program is missing (build first)" >&2; exit 1; }
done

# 10 000 connections need as many descriptors on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

work=$(mktemp -d /tmp/corochat-bench.XXXXXX)
stamp=$(date -u +%Y-%m-%dT%H-%MZ)
raw="$work/raw"
mkdir -p "$raw"

# Anything else running on the two cores moves every figure: the report shows the load.
cut -d' ' -f1-3 /proc/loadavg >"$raw/loadavg-start"

server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- servers -----------------------------------------------------------------

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits (bounded) until something listens on 127.0.0.1:$1.
wait_listening() {
  local port=$1 deadline=$((SECONDS + 15))
  while [ $SECONDS -lt $deadline ]; do
    ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && return 0
    kill -0 "$server_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# Waits (bounded) for "NAME: listening on HOST port N" in $1 and prints N.
port_from_log() {
  local log=$1 deadline=$((SECONDS + 15)) port
  while [ $SECONDS -lt $deadline ]; do
    port=$(sed -n 's/.*listening on .* port \([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)
    [ -n "$port" ] && { echo "$port"; return 0; }
    kill -0 "$server_pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# ngIRCd listens with a backlog of 10 (fixed in its source): connecting more
# at once overflows it, and the dropped SYNs are retried only after 1, 3, 7 s.
# Its publishers become operators (bench/peers/ngircd.conf) to set user mode
# +F, the only way past its per-client command throttling.
extra_bench_args() {
  case "$1" in
    ngircd) echo "--concurrency 8 --irc-oper bench:bench" ;;
  esac
}

proto_of() {
  case "$1" in
    chatd) echo corochat ;; floor) echo lines ;; inspircd|ngircd) echo irc ;;
    nats) echo nats ;; redis) echo redis ;;
  esac
}

# Starts server $1 fresh, pinned to core 0; sets server_pid and server_port.
start_server() {
  local name=$1 dir="$work/$1" log
  rm -rf "$dir"; mkdir -p "$dir"
  log="$dir/server.log"
  server_port=""
  case "$name" in
    chatd)
      taskset -c 0 "$bin/chatd" --host 127.0.0.1 --port 0 --data-dir "$dir/data" "${CHATD_FLAGS[@]}" >"$log" 2>&1 &
      server_pid=$!
      server_port=$(port_from_log "$log") || { cat "$log" >&2; return 1; } ;;
    floor)
      taskset -c 0 "$bin/chat-floor" --host 127.0.0.1 --port 0 >"$log" 2>&1 &
      server_pid=$!
      server_port=$(port_from_log "$log") || { cat "$log" >&2; return 1; } ;;
    *)
      server_port=$(free_port)
      local conf
      case "$name" in
        inspircd) conf=inspircd.conf ;; ngircd) conf=ngircd.conf ;;
        nats) conf=nats-server.conf ;; redis) conf=redis.conf ;;
      esac
      sed -e "s|@PORT@|$server_port|g" -e "s|@DIR@|$dir|g" "$root/bench/peers/$conf" >"$dir/$conf"
      chmod 755 "$dir"  # ngIRCd drops to user nobody when started as root
      case "$name" in
        inspircd) taskset -c 0 inspircd --config="$dir/$conf" --nofork --nopid --runasroot >"$log" 2>&1 & ;;
        ngircd) taskset -c 0 ngircd --nodaemon --config "$dir/$conf" >"$log" 2>&1 & ;;
        nats) taskset -c 0 nats-server --config "$dir/$conf" >"$log" 2>&1 & ;;
        redis) taskset -c 0 redis-server "$dir/$conf" >"$log" 2>&1 & ;;
      esac
      server_pid=$!
      wait_listening "$server_port" || { tail -n 20 "$log" >&2; return 1; } ;;
  esac
}

stop_server() {
  [ -n "$server_pid" ] || return 0
  kill -TERM "$server_pid" 2>/dev/null || true
  local deadline=$((SECONDS + 10))
  while kill -0 "$server_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  kill -KILL "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# Runs one chat-bench invocation against a fresh server; saves its JSON as
# $raw/<label>.json (or an error note). $1 = label, $2 = server, rest = args.
run_one() {
  local label=$1 name=$2; shift 2
  local out="$raw/$label.json"
  echo "== $label ($name)" >&2
  if ! start_server "$name"; then
    echo "{\"error\": \"server did not start\"}" >"$out"
    stop_server
    return 0
  fi
  local status=0
  taskset -c 1 "$bin/chat-bench" "$1" --proto "$(proto_of "$name")" --host 127.0.0.1 --port "$server_port" \
    "${@:2}" $(extra_bench_args "$name") --server-pid "$server_pid" --json >"$out" 2>"$raw/$label.err" || status=$?
  if [ ! -s "$out" ]; then
    echo "{\"error\": \"chat-bench exit $status: $(tail -n 1 "$raw/$label.err" | tr -d '"\\')\"}" >"$out"
  fi
  echo "$status" >"$raw/$label.status"
  stop_server
}

# --- workloads ---------------------------------------------------------------

fanout_servers=$servers
others_servers=$(echo "$servers" | tr ' ' '\n' | grep -vx floor | tr '\n' ' ' || true)

for workload in $workloads; do
  case "$workload" in
    fanout)
      for shape in "100 1" "100 4" "500 1" "500 4"; do
        set -- $shape
        for name in $fanout_servers; do
          run_one "fanout-n$1-p$2-$name" "$name" fanout --subscribers "$1" --publishers "$2" \
            --payload "$payload" --window "$window" --duration "${duration}s" --warmup "${warmup}s" --room bench
        done
      done ;;
    latency)
      rate=$fixed_rate
      if [ -z "$rate" ]; then
        rate=$(python3 "$root/bench/report.py" half-best-rate "$raw" 100 1) || rate=""
      fi
      if [ -z "$rate" ]; then
        rate=10000
        echo "run.sh: no peer capacity measured in this run; latency at a fixed $rate msgs/s" >&2
      fi
      echo "$rate" >"$raw/latency-rate"
      for name in $servers; do
        run_one "latency-n100-p1-$name" "$name" fanout --subscribers 100 --publishers 1 \
          --payload "$payload" --rate "$rate" --duration "${duration}s" --warmup "${warmup}s" --room bench
      done ;;
    idle)
      for name in $others_servers; do
        run_one "idle-$name" "$name" idle --connections "$idle_connections" --room-size "$room_size"
      done ;;
    connect)
      for name in $others_servers; do
        run_one "connect-$name" "$name" connect --connections "$connect_connections" --room-size "$room_size"
      done ;;
    *) echo "run.sh: unknown workload $workload" >&2; exit 2 ;;
  esac
done

# --- report ------------------------------------------------------------------

cut -d' ' -f1-3 /proc/loadavg >"$raw/loadavg-end"
mkdir -p "$root/bench/results"
report="$root/bench/results/$stamp.md"
python3 "$root/bench/report.py" table "$raw" \
  --quick "$quick" --duration "$duration" --warmup "$warmup" --window "$window" --payload "$payload" \
  --chatd-flags "$(printf "%q " "${CHATD_FLAGS[@]}")" --idle-connections "$idle_connections" \
  --connect-connections "$connect_connections" --room-size "$room_size" >"$report"
cp "$report" "$root/bench/results/latest.md"
python3 "$root/bench/report.py" bundle "$raw" >"${report%.md}.json"
echo "run.sh: wrote $report (raw results: ${report%.md}.json) and bench/results/latest.md" >&2
