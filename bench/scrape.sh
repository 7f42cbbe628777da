#!/usr/bin/env bash
# What a /metrics scrape costs with many idle connections open, and whether
# it stalls the event loop: chatd (core 0) holds C connections from
# chat-bench idle (core 1); meanwhile /metrics is fetched with curl
# SCRAPES times, and a ping client measures chatd's pong round trip with
# and without scrapes running.
#
#   bash bench/scrape.sh [CHATD] [CONNECTIONS] [SCRAPES]
set -euo pipefail
ulimit -n "$(ulimit -Hn)"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
chatd=${1:-$root/build/release/bin/chatd}
connections=${2:-10000}
scrapes=${3:-200}
bench=${CHAT_BENCH:-$root/build/release/bin/chat-bench}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

taskset -c 0 "$chatd" --host 127.0.0.1 --port 0 --metrics 0 --store memory --default-room "" \
  --max-clients 50000 --max-per-ip 0 --connect-rate 0 --flood-rate 0 2>"$work/log" &
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on .* port \([0-9]*\)$/\1/p' "$work/log" | head -n 1)
  metrics=$(sed -n 's/.*metrics on .* port \([0-9]*\)$/\1/p' "$work/log" | head -n 1)
  [ -n "$port" ] && [ -n "$metrics" ] && break
  sleep 0.05
done
url=http://127.0.0.1:$metrics/metrics

taskset -c 1 "$bench" idle --proto corochat --host 127.0.0.1 --port "$port" --connections "$connections" \
  --room-size 100 --hold 600 --json >"$work/idle.json" 2>&1 &
# Until every connection has registered (plus the ping client's, later).
for _ in $(seq 1200); do
  clients=$(curl -s "$url" | sed -n 's/^chatd_clients \([0-9]*\)$/\1/p')
  [ "${clients:-0}" -ge "$connections" ] && break
  sleep 0.1
done
echo "connections registered: $clients"
curl -s "$url" | grep -E '^chatd_(connections|clients|rooms)|^process_resident' || true
echo "body bytes: $(curl -s "$url" | wc -c)"

python3 - "$port" "$url" "$scrapes" "$(pgrep -f -n -- "--metrics 0 --store memory")" <<'PY'
import json, os, socket, statistics, subprocess, sys, threading, time
import http.client
port, url, scrapes, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

def cpu_seconds():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

# chatd's CPU per scrape: many scrapes over one keep-alive connection.
host, rest = url.split("//", 1)[1].split("/", 1)
conn = http.client.HTTPConnection(*host.split(":"))
n = 2000
before, start = cpu_seconds(), time.perf_counter()
for _ in range(n):
    conn.request("GET", "/" + rest)
    conn.getresponse().read()
took, cpu = time.perf_counter() - start, cpu_seconds() - before
print(f"{n} scrapes on one connection: {took / n * 1e3:.3f} ms each (wall), chatd CPU {cpu / n * 1e6:.0f} us each")

s = socket.create_connection(("127.0.0.1", port))
f = s.makefile("rb")
s.sendall(b'{"type":"hello","nick":"pinger"}\n')
while json.loads(f.readline()).get("type") != "welcome":
    pass

def pings(n):
    rtts = []
    for i in range(n):
        start = time.perf_counter()
        s.sendall(b'{"type":"ping","id":%d}\n' % i)
        while json.loads(f.readline()).get("type") != "pong":
            pass
        rtts.append((time.perf_counter() - start) * 1e3)
        time.sleep(0.005)
    return rtts

def summary(name, values):
    values = sorted(values)
    q = lambda p: values[min(len(values) - 1, int(p * len(values)))]
    print(f"{name}: n={len(values)} median={q(0.5):.3f} ms p99={q(0.99):.3f} ms max={values[-1]:.3f} ms")

summary("ping rtt, no scrapes", pings(300))
times = []
done = threading.Event()
def scrape_loop():
    while not done.is_set() and len(times) < scrapes:
        out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{time_starttransfer} %{time_total}", url],
                             capture_output=True, text=True).stdout.split()
        times.append(float(out[1]) * 1e3)
    done.set()
t = threading.Thread(target=scrape_loop)
t.start()
rtts = []
while not done.is_set():
    rtts += pings(20)
t.join()
summary("ping rtt, scraping back to back", rtts)
summary("curl /metrics total", times)
PY
