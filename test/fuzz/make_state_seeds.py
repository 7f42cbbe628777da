#!/usr/bin/env python3
"""Writes the seed corpus of chat_state_fuzz: short, readable scripts of chat
sessions, encoded the way the target reads its input (FuzzedDataProvider:
integers from the end of the input, raw lines from its front).

Run it after changing how chat_state_fuzz.cpp reads its input:
    python3 test/fuzz/make_state_seeds.py test/fuzz/corpus/chat_state_fuzz
"""
import os
import sys

# The alphabets, in chat_state_fuzz.cpp's order.
NICKS = ["alice", "Alice", "ALICE", "bob", "Bob", "carol", "d", "x.y_z-1", "-dash", ".dot",
         "has space", "", "abcdefghijklmnopqrstuvwxyz0123456"]
ROOMS = ["lobby", "r1", "r2", "r3", "r4", "r5", "R1", "-bad", "bad room", ""]
TEXTS = ["hi", "", "\"quoted\" \\ and\nnewline", "café", "sixteen bytes ok", "seventeen bytes!!"]
IDS = ["", "m1", 'café "\\']
TYPES = {"hello": 0, "nick": 2, "join": 3, "part": 5, "say": 6, "msg": 8, "who": 9, "rooms": 10,
         "history": 11, "ping": 12, "quit": 13, "raw": 14}


class Script:
    def __init__(self, variant=0):
        self.ints = []      # bytes in the order the target consumes them from the end
        self.front = b""    # raw lines, consumed from the front
        self.tokens = 0
        self.byte(variant)

    def byte(self, value):
        self.ints.append(value & 0xFF)

    def ranged(self, value, low, high):
        """ConsumeIntegralInRange(low, high) returning value."""
        span, offset, nbytes = high - low, 0, 0
        while offset < 64 and (span >> offset) > 0:
            offset += 8
            nbytes += 1
        v = value - low
        for i in reversed(range(nbytes)):
            self.ints.append((v >> (8 * i)) & 0xFF)

    def boolean(self, value):
        self.byte(1 if value else 0)

    def step(self, slot, op, delay=1):
        self.ranged(delay, 0, 1000)
        self.ranged(slot, 0, 7)
        self.ranged(op, 0, 127)

    def connect(self, slot, closing=0):
        self.step(slot, 0)
        self.ranged(closing, 0, 2)

    def disconnect(self, slot, reason=0):
        self.step(slot, 16)
        self.ranged(reason, 0, 2)

    def idle(self, slot):
        self.step(slot, 24)

    def timed_out(self, slot):
        self.step(slot, 26)

    def registration_expired(self, slot):
        self.step(slot, 28)

    def shutdown(self, slot=0):
        self.step(slot, 127)

    def request(self, slot, kind, id=None):
        self.step(slot, 64)
        if id is None:
            self.ranged(3, 0, 3)
        elif isinstance(id, int):
            self.ranged(0, 0, 3)
            for i in reversed(range(8)):
                self.byte((id - (-(1 << 63))) >> (8 * i))
        else:
            self.ranged(1, 0, 3)
            self.ranged(IDS.index(id), 0, len(IDS) - 1)
        self.ranged(TYPES[kind], 0, 14)

    def pick(self, words, word):
        self.ranged(words.index(word), 0, len(words) - 1)

    def hello(self, slot, nick, password=None, resume=None, id=None):
        self.request(slot, "hello", id)
        self.ranged(1, 0, 7)  # protocol ok
        self.boolean(password is not None)
        if password is not None:
            self.boolean(password == "pw")
        self.ranged(1 if nick is not None else 0, 0, 7)
        if nick is not None:
            self.pick(NICKS, nick)
        self.boolean(resume is not None)
        if resume is not None:
            self.ranged(resume, 0, self.tokens + 1)
        self.tokens += 1  # an upper bound: the range only needs to be wide enough

    def simple(self, slot, kind, *fields, id=None):
        self.request(slot, kind, id)
        for words, word in fields:
            self.pick(words, word)

    def who(self, slot, room=None):
        self.request(slot, "who")
        self.boolean(room is not None)
        if room is not None:
            self.pick(ROOMS, room)

    def history(self, slot, room, limit=None, before=None, id=None):
        self.request(slot, "history", id)
        self.pick(ROOMS, room)
        self.boolean(limit is not None)
        if limit is not None:
            self.ranged(limit, -1, 6)
        self.boolean(before is not None)
        if before is not None:
            self.ranged(before, -1, 12)

    def raw(self, slot, line, id=None):
        self.request(slot, "raw", id)
        self.front += line.encode().replace(b"\\", b"\\\\") + b"\\x"

    def encode(self):
        return self.front + bytes(reversed(self.ints))


def seeds():
    s = Script()
    s.connect(0); s.hello(0, "alice")
    s.connect(1); s.hello(1, "bob", id="m1")
    s.simple(0, "say", (ROOMS, "lobby"), (TEXTS, "hi"), id=5)
    s.simple(1, "say", (ROOMS, "lobby"), (TEXTS, "café"))
    s.history(1, "lobby", limit=2); s.who(0, "lobby"); s.who(1)
    s.simple(0, "rooms"); s.simple(0, "quit")
    yield "two-clients-chat", s

    s = Script()
    s.connect(0); s.hello(0, "alice")
    for room in ["r1", "r2", "r3"]:
        s.simple(0, "join", (ROOMS, room))
    s.connect(1); s.hello(1, "bob")
    s.simple(1, "join", (ROOMS, "r4")); s.simple(1, "join", (ROOMS, "r5"))
    s.simple(0, "part", (ROOMS, "r1")); s.simple(1, "join", (ROOMS, "r5"))
    s.simple(1, "rooms")
    yield "room-limits", s

    s = Script()
    s.connect(0); s.hello(0, "alice")
    for i in range(6):
        s.simple(0, "say", (ROOMS, "lobby"), (TEXTS, "sixteen bytes ok"))
    s.history(0, "lobby"); s.history(0, "lobby", limit=2, before=5); s.history(0, "lobby", limit=0)
    s.simple(0, "say", (ROOMS, "lobby"), (TEXTS, "seventeen bytes!!"))
    s.simple(0, "say", (ROOMS, "lobby"), (TEXTS, ""))
    yield "history-ring", s

    s = Script()
    s.connect(0); s.hello(0, "alice")
    s.connect(1); s.hello(1, "ALICE"); s.hello(1, "Bob")
    s.simple(1, "nick", (NICKS, "alice")); s.simple(1, "nick", (NICKS, "bob"))
    s.simple(0, "nick", (NICKS, "Alice")); s.simple(0, "nick", (NICKS, "Alice"))
    s.simple(0, "nick", (NICKS, "-dash")); s.simple(0, "msg", (NICKS, "Bob"), (TEXTS, "hi"), id="m1")
    s.simple(0, "msg", (NICKS, "carol"), (TEXTS, "hi"))
    yield "nick-collisions", s

    s = Script()
    s.connect(0); s.hello(0, "alice")
    s.simple(0, "join", (ROOMS, "r1"))
    s.connect(1); s.hello(1, "alice", resume=1, id=3)
    s.connect(2); s.hello(2, "alice", resume=0)
    s.simple(1, "say", (ROOMS, "lobby"), (TEXTS, "hi"))
    yield "resume", s

    s = Script(variant=1)
    s.connect(0); s.hello(0, "alice")
    s.connect(1); s.hello(1, "bob", password="pw")
    s.connect(2); s.hello(2, None, password="pw")
    yield "password", s

    s = Script(variant=2)
    s.connect(0); s.simple(0, "say", (ROOMS, "r1"), (TEXTS, "hi"))
    s.simple(0, "ping"); s.hello(0, "d")
    s.simple(0, "rooms"); s.simple(0, "join", (ROOMS, "R1"))
    s.connect(1); s.registration_expired(1); s.registration_expired(0)
    yield "no-default-room", s

    s = Script()
    for slot in range(8):
        s.connect(slot, closing=slot % 3)
    s.hello(0, "carol"); s.idle(0); s.timed_out(0); s.disconnect(1, 2)
    s.connect(1); s.shutdown()
    yield "server-full-and-shutdown", s

    s = Script()
    s.connect(0); s.hello(0, "alice")
    for room in ["r1", "r2", "r3", "r4", "r5", "R1"]:
        s.simple(0, "join", (ROOMS, room))
        s.simple(0, "say", (ROOMS, room), (TEXTS, "hi"))
        s.simple(0, "part", (ROOMS, room))
    s.simple(0, "join", (ROOMS, "r1")); s.simple(0, "say", (ROOMS, "r1"), (TEXTS, "hi"))
    yield "forgotten-rooms", s

    s = Script()
    s.connect(0)
    s.raw(0, '{"type":"hello","nick":"eve","id":"h"}')
    s.raw(0, '{"type":"join","room":"r2","id":9}')
    s.raw(0, '{"type":"say","room":"r2","text":"raw"}')
    s.raw(0, '{"type":"history","room":"r2","limit":99,"before":2}')
    s.raw(0, '{"type":"who","room":7}')
    s.raw(0, 'not json')
    yield "raw-lines", s


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "chat_state_fuzz")
    os.makedirs(out, exist_ok=True)
    for name, script in seeds():
        with open(os.path.join(out, name), "wb") as f:
            f.write(script.encode())


if __name__ == "__main__":
    main()
