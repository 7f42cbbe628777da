#!/usr/bin/env python3
"""chatd as systemd sees it, without systemd: sd_notify and journal lines.

    notify_test.py CHATD

Runs chatd with $NOTIFY_SOCKET on a datagram socket of the test's own and
checks the messages: READY=1 once listening (after the listening line),
WATCHDOG=1 when $WATCHDOG_USEC asks, RELOADING=1 with MONOTONIC_USEC then
READY=1 on SIGHUP, STOPPING=1 on SIGTERM. Its stderr is a file whose device
and inode are in $JOURNAL_STREAM: each log line must start with its syslog
priority. Then once more with $JOURNAL_STREAM naming another file: no
prefixes. Every wait has a deadline; chatd is killed on failure.
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

DEADLINE = 10.0


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def receive(sock, want, seen):
    """Datagrams until one holds `want`; all of them are kept in `seen`."""
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        sock.settimeout(max(0.01, end - time.monotonic()))
        try:
            data = sock.recv(4096).decode()
        except socket.timeout:
            break
        seen.append(data)
        if want in data.split("\n"):
            return data
    raise AssertionError(f"no {want} from chatd (got {seen})")


def start(chatd, work, env, log_path):
    log = open(log_path, "w+")
    server = subprocess.Popen([chatd, "--host", "127.0.0.1", "--port", "0", "--store", "memory"],
                              stderr=log, env=env)
    return server, log


def stop(server):
    if server.poll() is None:
        server.kill()
        server.wait()


def main():
    chatd = sys.argv[1]
    work = tempfile.mkdtemp(prefix="chatd-notify-")
    notify_path = os.path.join(work, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(notify_path)

    log_path = os.path.join(work, "stderr")
    open(log_path, "w").close()
    st = os.stat(log_path)
    env = dict(os.environ, NOTIFY_SOCKET=notify_path, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}",
               WATCHDOG_USEC="30000000")  # 15 s between feeds: shutdown must not wait for the next
    server, log = start(chatd, work, env, log_path)
    # sd_watchdog_enabled() wants WATCHDOG_PID to be chatd's own pid, or unset.
    try:
        seen = []
        receive(sock, "READY=1", seen)
        log.seek(0)
        check("listening on 127.0.0.1 port" in log.read(), "READY=1 before the listening line")
        receive(sock, "WATCHDOG=1", seen)

        server.send_signal(signal.SIGHUP)
        reloading = receive(sock, "RELOADING=1", seen)
        stamp = [line for line in reloading.split("\n") if line.startswith("MONOTONIC_USEC=")]
        check(len(stamp) == 1, f"RELOADING=1 without MONOTONIC_USEC: {reloading!r}")
        usec = int(stamp[0].split("=", 1)[1])
        now = time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6
        check(0 <= now - usec < DEADLINE * 1e6, f"MONOTONIC_USEC {usec} is not about now ({now:.0f})")
        receive(sock, "READY=1", seen)

        server.send_signal(signal.SIGTERM)
        receive(sock, "STOPPING=1", seen)
        check(server.wait(timeout=DEADLINE) == 0, "chatd exit status")
        log.seek(0)
        lines = [line for line in log.read().splitlines() if not line.startswith("chatd: ")]
        check(any(line.startswith("<4>warn: SIGHUP") for line in lines), f"a SIGHUP warning at <4>: {lines}")
        check(any(line.startswith("<4>warn: signal 15 received") for line in lines), f"the signal at <4>: {lines}")
        check(all(line[:3] in ("<3>", "<4>", "<6>", "<7>") for line in lines), f"a log line without priority: {lines}")
    finally:
        stop(server)

    # $JOURNAL_STREAM inherited, but stderr is another file: plain lines.
    other = os.path.join(work, "other")
    open(other, "w").close()
    st = os.stat(other)
    env = dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
    env.pop("NOTIFY_SOCKET", None)
    server, log = start(chatd, work, env, log_path)
    try:
        end = time.monotonic() + DEADLINE
        while True:
            log.seek(0)
            if "listening on" in log.read():
                break
            check(time.monotonic() < end and server.poll() is None, "chatd did not start")
            time.sleep(0.02)
        server.send_signal(signal.SIGTERM)
        check(server.wait(timeout=DEADLINE) == 0, "chatd exit status")
        log.seek(0)
        text = log.read()
        check("chatd warn: signal 15 received" in text and "<4>" not in text, f"plain lines expected: {text}")
    finally:
        stop(server)
    print("notify test passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAIL:", e)
        sys.exit(1)
