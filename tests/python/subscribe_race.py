"""Hundreds of Python subscriptions through one ampd, for
tests/python/subscribe_race.test.ts: each must see every entry after the
point it started from (its `start`), in order, with no gap.

ampd may push a subscription's first entries right behind the `subscribe`
reply. The client's reader thread goes on to the next frame as soon as it has
handed the reply over, so a subscription registered by the calling thread
once it wakes up would find that push already gone. Subscriptions from "0" on
streams that already hold entries, while a writer keeps adding, show it.

Usage: subscribe_race.py <socket> <stream prefix>; prints one JSON line.
"""

import itertools
import json
import sys
import threading
import time

import ampbus

SUBSCRIPTIONS = 200
STREAMS = 10
PREFILL = 3
WINDOW = 4  # small: a lost first push then uses up all of the credit
DEADLINE_S = 15


def entry_key(entry_id):
    ms, seq = entry_id.split("-")
    return int(ms), int(seq)


def main(path, prefix):
    bus = ampbus.connect(path, client="py-race")
    writer = ampbus.connect(path, client="py-race-writer")
    streams = [f"{prefix}.{i}" for i in range(STREAMS)]
    ids = {s: [] for s in streams}
    lock = threading.Lock()
    numbers = itertools.count()

    def add(stream, last=False):
        msg = ampbus.new_message("obs.tick", "py-race-writer", "broadcast", payload={"i": next(numbers), "last": last})
        entry_id, _ = writer.add(stream, msg)
        with lock:
            ids[stream].append(entry_id)

    for s in streams:
        for _ in range(PREFILL):
            add(s)

    stop = threading.Event()

    def keep_writing():
        for i in itertools.count():
            if stop.is_set():
                return
            add(streams[i % STREAMS])

    writing = threading.Thread(target=keep_writing)
    writing.start()
    subs = [bus.subscribe(streams[i % STREAMS], "0" if i % 2 == 0 else "$", window=WINDOW) for i in range(SUBSCRIPTIONS)]
    stop.set()
    writing.join()
    for s in streams:
        add(s, last=True)

    received = [[] for _ in subs]
    deadline = time.monotonic() + DEADLINE_S

    def consume(i):
        while True:
            left = deadline - time.monotonic()
            entry = subs[i].next(timeout=left) if left > 0 else None
            if entry is None:
                return
            received[i].append(entry.id)
            if entry.message["payload"]["last"]:
                return

    consumers = [threading.Thread(target=consume, args=(i,)) for i in range(len(subs))]
    for t in consumers:
        t.start()
    for t in consumers:
        t.join()

    problems = []
    for i, sub in enumerate(subs):
        every = sorted(ids[sub.stream], key=entry_key)
        if sub.start == "0":
            expected = every
        elif sub.start in every:
            expected = every[every.index(sub.start) + 1:]
        else:
            problems.append(f"subscription {i} on {sub.stream}: started at {sub.start}, not an entry of the stream")
            continue
        if received[i] != expected:
            missing = [e for e in expected if e not in received[i]]
            what = f"first missing {missing[0]} ({len(missing)} missing)" if missing else "out of order or repeated"
            problems.append(f"subscription {i} on {sub.stream} after {sub.start}: received {len(received[i])} of {len(expected)}, {what}")
        sub.close()
    bus.close()
    writer.close()
    print(json.dumps({"subscriptions": len(subs), "problems": problems}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
