#!/usr/bin/env python3
"""chatd's /metrics and /healthz against what the test did.

    metrics_test.py CHATD MAKE_CERT

Starts chatd on free loopback ports with --metrics, connects K plain clients
and one TLS client, says M room messages and one private message, floods one
client past its limit, gets one connection refused, then parses /metrics with
prometheus_client's text parser and checks every counter against what was
done. Then SIGTERM with the TLS client holding the shutdown open (it never
answers close_notify): /healthz is 200 before and 503 during. Each wait has a
deadline; chatd is killed on any failure.
"""
import http.client
import json
import os
import select
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print("SKIP: no prometheus_client for", sys.executable, "(Debian: apt-get install python3-prometheus-client)")
    sys.exit(77)

K = 4        # plain clients
M = 7        # room messages said by the first
DEADLINE = 10.0


def fail(message):
    raise AssertionError(message)


def check(condition, message):
    if not condition:
        fail(message)


class LineClient:
    """One protocol connection: sends lines, collects what arrives."""

    def __init__(self, sock):
        self.sock = sock
        self.sock.setblocking(False)
        self.pending = b""
        self.lines = []
        self.sent = 0
        self.received = 0

    def send(self, obj):
        data = (json.dumps(obj) + "\n").encode()
        self.sock.setblocking(True)
        self.sock.sendall(data)
        self.sock.setblocking(False)
        self.sent += len(data)

    def poll(self):
        while True:
            try:
                chunk = self.sock.recv(65536)
            except (BlockingIOError, ssl.SSLWantReadError):
                return
            if not chunk:
                return
            self.received += len(chunk)
            self.pending += chunk
            *complete, self.pending = self.pending.split(b"\n")
            self.lines.extend(json.loads(line) for line in complete if line)

    def count(self, **fields):
        return sum(1 for event in self.lines if all(event.get(k) == v for k, v in fields.items()))


def wait_for(clients, condition, what):
    end = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > end:
            fail("timed out waiting for " + what)
        select.select([c.sock for c in clients], [], [], 0.05)
        for c in clients:
            c.poll()


def scrape(port):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=DEADLINE)
    connection.request("GET", "/metrics")
    response = connection.getresponse()
    body = response.read().decode()
    check(response.status == 200, f"/metrics answered {response.status}")
    check(response.getheader("Content-Type").startswith("text/plain; version=0.0.4"), "content type")
    samples = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            samples[key] = sample.value
    return samples


def healthz(port):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=DEADLINE)
    connection.request("GET", "/healthz")
    return connection.getresponse().status


def value(samples, name, **labels):
    key = (name, tuple(sorted(labels.items())))
    check(key in samples, f"{name}{labels} missing from /metrics")
    return samples[key]


def main():
    chatd, make_cert = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="chatd-metrics-")
    subprocess.run(["bash", make_cert, "-o", work, "localhost", "127.0.0.1"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = open(os.path.join(work, "chatd.log"), "w+")
    server = subprocess.Popen(
        [chatd, "--host", "127.0.0.1", "--port", "0", "--tls-port", "0", "--metrics", "0",
         "--tls-cert", os.path.join(work, "chatd.crt"), "--tls-key", os.path.join(work, "chatd.key"),
         "--data-dir", os.path.join(work, "data"),
         "--max-per-ip", str(K + 1), "--connect-burst", "20", "--close-grace", "8s", "--log-level", "info"],
        stderr=log)
    try:
        run(server, log)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    print("metrics test passed")


def ports_from(log, server):
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        check(server.poll() is None, "chatd exited at start")
        log.seek(0)
        text = log.read()
        plain = tls = metrics = None
        for line in text.splitlines():
            words = line.split()
            if line.startswith("chatd: listening on") and line.endswith("(TLS)"):
                tls = int(words[-2])
            elif line.startswith("chatd: listening on"):
                plain = int(words[-1])
            elif line.startswith("chatd: metrics on"):
                metrics = int(words[-1])
        if plain and tls and metrics:
            return plain, tls, metrics
        time.sleep(0.02)
    fail("chatd did not say its ports")


def run(server, log):
    plain_port, tls_port, metrics_port = ports_from(log, server)
    check(healthz(metrics_port) == 200, "/healthz before shutdown")
    before = scrape(metrics_port)
    check(value(before, "chatd_accepting") == 1, "accepting at start")
    check(value(before, "chatd_connections", transport="plain") == 0, "no connections at start")

    clients = [LineClient(socket.create_connection(("127.0.0.1", plain_port))) for _ in range(K)]
    for i, c in enumerate(clients):
        c.send({"type": "hello", "nick": f"user{i}"})
    wait_for(clients, lambda: all(c.count(type="welcome") == 1 for c in clients), "every welcome")

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    tls_client = LineClient(context.wrap_socket(socket.create_connection(("127.0.0.1", tls_port)),
                                                server_hostname="localhost"))
    tls_client.send({"type": "hello", "nick": "secure"})
    everyone = clients + [tls_client]
    wait_for(everyone, lambda: tls_client.count(type="welcome") == 1, "the TLS welcome")

    for n in range(M):
        clients[0].send({"type": "say", "room": "lobby", "text": f"message {n}", "id": n})
        # Well within the flood limit (burst 20): one at a time, each seen by all.
        wait_for(everyone, lambda: all(c.count(type="message") == n + 1 for c in everyone), f"message {n}")
    clients[1].send({"type": "msg", "to": "user2", "text": "psst"})
    wait_for(everyone, lambda: clients[2].count(type="private") == 1 and clients[1].count(type="private") == 1, "the private message")

    # Past the flood limit on purpose: some of these get rate_limited.
    flood = 40  # twice the default burst, in one go
    clients[3].sock.setblocking(True)
    clients[3].sock.sendall(b"".join((json.dumps({"type": "ping", "id": 100 + n}) + "\n").encode() for n in range(flood)))
    clients[3].sock.setblocking(False)
    clients[3].sent += sum(len(json.dumps({"type": "ping", "id": 100 + n}) + "\n") for n in range(flood))
    wait_for(everyone, lambda: clients[3].count(type="pong") + clients[3].count(type="error", code="rate_limited") == flood,
             "the flood's answers")
    limited = clients[3].count(type="error", code="rate_limited")
    check(limited > 0, "the flood was limited")

    # One connection past --max-per-ip is refused before the chat.
    refused = LineClient(socket.create_connection(("127.0.0.1", plain_port)))
    wait_for([refused], lambda: refused.count(type="bye") == 1, "the refusal")
    refused.sock.close()

    after = scrape(metrics_port)
    check(value(after, "chatd_connections", transport="plain") == K, "plain connections")
    check(value(after, "chatd_connections", transport="tls") == 1, "TLS connections")
    check(value(after, "chatd_clients") == K + 1, "registered clients")
    check(value(after, "chatd_rooms") == 1, "rooms")
    check(value(after, "chatd_messages_total", kind="room") == M, "room messages")
    check(value(after, "chatd_messages_total", kind="private") == 1, "private messages")
    check(value(after, "chatd_rate_limited_requests_total", limit="flood") == limited, "flood-limited requests")
    check(value(after, "chatd_refused_connections_total", reason="too_many_connections") == 1, "refusals")
    lines_received = sum(len(c.lines) for c in everyone)
    check(value(after, "chatd_deliveries_total") == lines_received,
          f"deliveries {value(after, 'chatd_deliveries_total')} against {lines_received} lines received")
    check(value(after, "chatd_received_bytes_total") == sum(c.sent for c in everyone), "bytes in")
    sent = value(after, "chatd_sent_bytes_total")
    check(sent == sum(c.received for c in everyone), f"bytes out {sent}")
    check(value(after, "chatd_queued_bytes") == 0, "nothing queued at rest")
    commits = value(after, "chatd_store_commits_total")
    check(1 <= commits <= M, f"store commits {commits}")
    check(value(after, "chatd_store_commit_seconds_count") == commits, "one latency per commit")
    check(value(after, "chatd_store_commit_seconds_bucket", le="+Inf") == commits, "the histogram's +Inf bucket")
    check(value(after, "process_resident_memory_bytes") > 1 << 20, "resident memory")
    check(value(after, "process_cpu_seconds_total") >= 0, "cpu seconds")

    # Shutdown: every client gets bye; the TLS client never answers
    # close_notify, so chatd keeps waiting (up to --close-grace) and says 503.
    for c in clients:
        c.sock.close()
    wait_for([tls_client], lambda: value(scrape(metrics_port), "chatd_connections", transport="plain") == 0,
             "the plain clients gone")
    server.send_signal(signal.SIGTERM)
    wait_for([tls_client], lambda: tls_client.count(type="bye") == 1, "the TLS client's bye")
    check(healthz(metrics_port) == 503, "/healthz during shutdown")
    check(value(scrape(metrics_port), "chatd_accepting") == 0, "chatd_accepting during shutdown")
    tls_client.sock.close()
    try:
        status = server.wait(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        fail("chatd did not exit after its last connection closed")
    check(status == 0, f"chatd exit status {status}")
    log.seek(0)
    text = log.read()
    check("registered 127.0.0.1:" in text and " as user0" in text, "registration logged with the nick")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAIL:", e)
        sys.exit(1)
