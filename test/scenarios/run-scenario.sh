#!/usr/bin/env bash
# Runs one scenario file against a fresh chatd on a free loopback port.
# A line "# chatd: ARGS" in the scenario adds ARGS to chatd's command line.
# chatd keeps its (default, sqlite) store in a temporary directory, removed
# at the end.
# usage: run-scenario.sh CHATD CHAT_REPLAY SCENARIO [chat-replay options...]
set -euo pipefail
chatd="$1" replay="$2" scenario="$3"
shift 3

read -r -a extra <<<"$(sed -n 's/^# chatd: //p' "$scenario" | head -n 1)"
log=$(mktemp)
data=$(mktemp -d)
trap 'rm -rf "$data" "$log"' EXIT
"$chatd" --host 127.0.0.1 --port 0 --data-dir "$data" "${extra[@]}" 2>"$log" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$log" "$data"' EXIT

port=""
for _ in $(seq 1 200); do  # up to 10 s for the server to say where it listens
  port=$(sed -n 's/.*listening on .* port \([0-9]*\).*/\1/p' "$log" | head -n 1)
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 2; }
  sleep 0.05
done
[ -n "$port" ] || { echo "chatd did not start" >&2; cat "$log" >&2; exit 2; }

"$replay" --host 127.0.0.1 --port "$port" "$@" "$scenario"
