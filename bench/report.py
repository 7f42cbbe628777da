#!/usr/bin/env python3
"""Turns the chat-bench --json results of one bench/run.sh run into markdown.

  report.py table RAW_DIR [--quick 0|1] [--duration S] ...   markdown on stdout
  report.py half-best-rate RAW_DIR N P                       msgs/s for the latency run
  report.py bundle RAW_DIR                                   all raw results as one JSON object

RAW_DIR holds <workload>-<server>.json files as run.sh writes them.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys

PEERS = ["inspircd", "ngircd", "nats", "redis"]
ORDER = ["chatd", "floor"] + PEERS
PACKAGES = {"inspircd": "inspircd", "ngircd": "ngircd", "nats": "nats-server", "redis": "redis-server"}


def flatten(value, prefix=""):
    flat = {}
    if isinstance(value, dict):
        for key, inner in value.items():
            flat.update(flatten(inner, f"{prefix}{key}."))
    else:
        flat[prefix[:-1]] = value
    return flat


class Result:
    """One chat-bench run: its JSON flattened, looked up by any of a few names."""

    def __init__(self, path):
        self.path = path
        self.status = None
        try:
            with open(path) as f:
                self.flat = flatten(json.load(f))
        except (OSError, ValueError) as e:
            self.flat = {"error": f"unreadable result: {e}"}
        status_path = path[: -len(".json")] + ".status"
        if os.path.exists(status_path):
            with open(status_path) as f:
                self.status = f.read().strip()

    def get(self, *names):
        for name in names:
            if name in self.flat:
                return self.flat[name]
        for name in names:  # a nested name, e.g. latency_us.p99 for p99
            for key, value in self.flat.items():
                if key.endswith("." + name) or key.endswith("_" + name):
                    return value
        return None

    @property
    def error(self):
        return self.flat.get("error")


def load(raw, prefix):
    results = {}
    for name in ORDER:
        path = os.path.join(raw, f"{prefix}-{name}.json")
        if os.path.exists(path):
            results[name] = Result(path)
    return results


def num(value, digits=2, scale=1.0):
    if value is None:
        return "–"
    try:
        value = float(value) * scale
    except (TypeError, ValueError):
        return str(value)
    if abs(value) >= 1e6:
        return f"{value / 1e6:.2f} M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:.0f} k"
    return f"{value:.{digits}f}"


def count(value):
    return "–" if value is None else str(int(value))


def deliveries_per_s(r):
    return r.get("deliveries_per_s", "delivered_per_s")


def cpu_per_m(r):
    return r.get("server_cpu_s_per_m_deliveries", "cpu_s_per_m_deliveries")


def latency(r, which):
    # chat-bench reports latency in microseconds; the table shows milliseconds.
    names = {"p50": ("p50_us", "p50"), "p99": ("p99_us", "p99"),
             "p99.9": ("p99_9_us", "p999_us", "p99.9_us", "p99_9", "p999", "p99.9"),
             "max": ("max_us", "max")}[which]
    return r.get(*names)


def faults(r):
    parts = [r.get(k) for k in ("lost", "duplicate", "out_of_order", "corrupt")]
    if all(p is None for p in parts):
        return "–"
    return "/".join(count(p) for p in parts)


def note(r):
    if r.error:
        return f"error: {r.error}"
    notes = []
    if r.status not in (None, "0"):
        notes.append(f"exit {r.status}")
    for key, value in r.flat.items():
        if key in ("warning", "warnings") and value:
            notes.extend(value if isinstance(value, list) else [str(value)])
    return "; ".join(notes)


def fanout_table(raw, n, p, out):
    results = load(raw, f"fanout-n{n}-p{p}")
    if not results:
        return
    floor = results.get("floor")
    floor_cpu = cpu_per_m(floor) if floor and not floor.error else None
    out.append(f"\n### Fan-out: {n} subscribers, {p} publisher{'s' if p > 1 else ''}\n")
    out.append("| server | deliveries/s | server CPU-s per 1M | × floor | lost/dup/ooo/corrupt "
               "| p99 ms | p99.9 ms | server RSS MB | bench CPU % | notes |")
    out.append("|---|---:|---:|---:|---|---:|---:|---:|---:|---|")
    for name, r in results.items():
        cpu = cpu_per_m(r)
        ratio = f"{float(cpu) / float(floor_cpu):.2f}" if cpu and floor_cpu else "–"
        out.append(f"| {name} | {num(deliveries_per_s(r))} | {num(cpu, 3)} | {ratio} | {faults(r)} "
                   f"| {num(latency(r, 'p99'), 2, 1e-3)} | {num(latency(r, 'p99.9'), 2, 1e-3)} "
                   f"| {num(r.get('server_rss_kb'), 1, 1 / 1024)} | {num(r.get('bench_cpu_pct'), 0)} | {note(r)} |")


def latency_table(raw, out):
    results = load(raw, "latency-n100-p1")
    if not results:
        return
    rate_path = os.path.join(raw, "latency-rate")
    rate = open(rate_path).read().strip() if os.path.exists(rate_path) else "?"
    out.append(f"\n### Latency: 100 subscribers, 1 publisher, fixed offered load {rate} msgs/s\n")
    out.append("| server | deliveries/s | p50 ms | p99 ms | p99.9 ms | max ms | lost/dup/ooo/corrupt "
               "| server CPU-s per 1M | notes |")
    out.append("|---|---:|---:|---:|---:|---:|---|---:|---|")
    for name, r in results.items():
        out.append(f"| {name} | {num(deliveries_per_s(r))} | {num(latency(r, 'p50'), 3, 1e-3)} "
                   f"| {num(latency(r, 'p99'), 3, 1e-3)} | {num(latency(r, 'p99.9'), 3, 1e-3)} "
                   f"| {num(latency(r, 'max'), 3, 1e-3)} | {faults(r)} | {num(cpu_per_m(r), 3)} | {note(r)} |")


def idle_table(raw, connections, room_size, out):
    results = load(raw, "idle")
    if not results:
        return
    out.append(f"\n### Idle: {connections} registered connections in rooms of {room_size}\n")
    out.append("| server | RSS per connection KB | RSS before MB | RSS after MB | connect+register+join all s "
               "| errors | notes |")
    out.append("|---|---:|---:|---:|---:|---:|---|")
    for name, r in results.items():
        out.append(f"| {name} | {num(r.get('rss_per_conn_kb'), 2)} "
                   f"| {num(r.get('server_rss_kb_before'), 1, 1 / 1024)} "
                   f"| {num(r.get('server_rss_kb_after'), 1, 1 / 1024)} | {num(r.get('connect_all_s'), 3)} "
                   f"| {count(r.get('errors'))} | {note(r)} |")


def connect_table(raw, connections, room_size, out):
    results = load(raw, "connect")
    if not results:
        return
    out.append(f"\n### Connect: {connections} connections, each connects, registers and joins "
               f"(rooms of {room_size})\n")
    out.append("| server | all connected s | connections/s | errors | notes |")
    out.append("|---|---:|---:|---:|---|")
    for name, r in results.items():
        out.append(f"| {name} | {num(r.get('seconds', 'connect_all_s', 'elapsed_s'), 3)} "
                   f"| {num(r.get('per_second', 'connections_per_s', 'rate'), 0)} "
                   f"| {count(r.get('errors'))} | {note(r)} |")


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}, Linux {platform.release()}"


def versions():
    parts = []
    for name in PEERS:
        try:
            v = subprocess.run(["dpkg-query", "-W", "-f=${Version}", PACKAGES[name]],
                               capture_output=True, text=True, check=False).stdout.strip()
        except OSError:
            v = ""
        parts.append(f"{PACKAGES[name]} {v or '?'}")
    return ", ".join(parts)


def table(args):
    out = []
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    kind = "quick smoke run (short durations, fewer connections)" if args.quick else "full run"
    out.append(f"## Benchmark results, {now}\n")
    out.append(f"- Run: {kind}; fan-out {args.duration} s measured after {args.warmup} s warm-up, "
               f"window {args.window} messages per publisher, {args.payload}-byte payloads, one room.")
    out.append(f"- Machine: {machine()}. Server pinned to core 0, chat-bench to core 1, loopback.")
    load = []
    for when in ("start", "end"):
        path = os.path.join(args.raw, f"loadavg-{when}")
        if os.path.exists(path):
            load.append(f"{open(path).read().strip()} at the {when}")
    if load:
        out.append(f"- Load average (1, 5, 15 min): {'; '.join(load)}. Above about 2, other work "
                   "shared the cores and the figures are inflated.")
    out.append(f"- Peers (Debian): {versions()}; configs in bench/peers/.")
    out.append(f"- chatd flags: `{args.chatd_flags.strip()}`")
    out.append("- Each server starts fresh for each row. CPU-s per 1M = server user+system CPU seconds "
               "per million deliveries; × floor = that, divided by chat-floor's in the same workload.")
    for n, p in ((100, 1), (100, 4), (500, 1), (500, 4)):
        fanout_table(args.raw, n, p, out)
    latency_table(args.raw, out)
    idle_table(args.raw, args.idle_connections, args.room_size, out)
    connect_table(args.raw, args.connect_connections, args.room_size, out)
    print("\n".join(out))


def half_best_rate(args):
    best = 0.0
    for name, r in load(args.raw, f"fanout-n{args.n}-p{args.p}").items():
        if name in PEERS and not r.error and r.status == "0":
            best = max(best, float(deliveries_per_s(r) or 0) / args.n)
    if best <= 0:
        return 1
    print(int(best / 2))
    return 0


def bundle(args):
    """Every raw result of the run in one JSON object, keyed by run label."""
    everything = {}
    for entry in sorted(os.listdir(args.raw)):
        if entry.endswith(".json"):
            r = Result(os.path.join(args.raw, entry))
            everything[entry[: -len(".json")]] = {"exit": r.status, **r.flat}
    json.dump(everything, sys.stdout, indent=1, sort_keys=True)
    print()
    return 0


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("table")
    t.add_argument("raw")
    t.add_argument("--quick", type=int, default=0)
    t.add_argument("--duration", default="?")
    t.add_argument("--warmup", default="?")
    t.add_argument("--window", default="?")
    t.add_argument("--payload", default="?")
    t.add_argument("--chatd-flags", default="")
    t.add_argument("--idle-connections", default="?")
    t.add_argument("--connect-connections", default="?")
    t.add_argument("--room-size", default="?")
    h = sub.add_parser("half-best-rate")
    h.add_argument("raw")
    h.add_argument("n", type=int)
    h.add_argument("p", type=int)
    b = sub.add_parser("bundle")
    b.add_argument("raw")
    args = parser.parse_args()
    if args.command == "table":
        return table(args) or 0
    if args.command == "bundle":
        return bundle(args)
    return half_best_rate(args)


if __name__ == "__main__":
    sys.exit(main())
