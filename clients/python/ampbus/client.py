"""A client of ampd's Unix-socket protocol (docs/protocol.md).

One background thread reads frames and hands replies to the waiting caller (matched by
`rid`) and pushes to their subscription, so a Client may be used from several threads,
and many requests and subscriptions share one connection.

    with connect("./ampd.sock", client="py-agent") as bus:
        entry_id, duplicate = bus.add("tasks", new_message("task", "me", "coder"))
        for entry in bus.subscribe("tasks", start="0"):
            print(entry.id, entry.message["type"])

On an ampd with a keyring (docs/security.md), connect as an agent with its key:
`connect(path, key=load_key("planner.key"))` says hello as the key's agent, answers the
nonce with `auth`, and signs every message added without a `sig`.
"""

import itertools
import queue
import socket
import struct
import threading
import time

import msgpack

from .canonical import encode_message
from .errors import (AuthRequiredError, ClosedByServerError, ConnectionClosedError, DecodeError, InvalidMessageError,
                     RequestTimeoutError, ServerError)
from .keys import as_key, prove_auth
from .message import check_message, decode_message, new_message, sign, uuid7

PROTOCOL_VERSION = 1
_LEN = struct.Struct(">I")


def inbox_of(agent):
    """The stream an agent's messages go to: `inbox.<agent>`, or `broadcast` for everyone."""
    return "broadcast" if agent == "broadcast" else f"inbox.{agent}"


#: Errors ampd sends with `rid` nil and then closes the connection (docs/protocol.md, "Error codes").
_CLOSING_CODES = frozenset(("AUTH_REVOKED", "BAD_FRAME", "HELLO_TIMEOUT", "FRAME_TIMEOUT", "LIMIT_EXCEEDED"))


def connect(path="./ampd.sock", client=None, token=None, timeout=30.0, *, agent=None, key=None, sign=True):
    """Connects to ampd, says hello, and returns a Client (also a context manager).

    On an ampd with a keyring (`ampd --keyring`), pass the agent's `key` (a Key from
    `load_key`, or the key file's path): hello names `agent` (default: the key's agent)
    and `auth` proves the key over ampd's nonce. With a key, `add`, `send`, `request` and
    `reply` sign every message that has no `sig` (`sign=False` sends them unsigned).
    `client` (the name in ampd's logs) defaults to the agent, else "ampbus-python".

    Raises AuthRequiredError when ampd asks for authentication and no key was given,
    ServerError AUTH_FAILED when ampd refuses the hello or the proof (it then closes).
    """
    return Client(path, client=client, token=token, timeout=timeout, agent=agent, key=key, sign=sign)


class Entry:
    """One stream entry: `stream`, `id` (the entry id), `raw` (the bytes as stored) and
    `message` (decoded on first use). Group deliveries also carry `deliveries`."""

    __slots__ = ("stream", "id", "raw", "deliveries", "_message", "_group", "_consumer")

    def __init__(self, stream, entry_id, raw, deliveries=None, group=None, consumer=None):
        self.stream, self.id, self.raw, self.deliveries = stream, entry_id, raw, deliveries
        self._message, self._group, self._consumer = None, group, consumer

    @property
    def message(self):
        if self._message is None:
            self._message = decode_message(self.raw)
        return self._message

    def ack(self):
        """Group deliveries only: done with this entry."""
        return self._group.ack([self.id])

    def nack(self, delay=0):
        """Group deliveries only: give it back, to be redelivered after `delay` ms."""
        return self._group.nack(self._consumer, [self.id], delay)

    def extend(self):
        """Group deliveries only: still working on it; reset its idle time."""
        return self._group.extend(self._consumer, [self.id])

    def __repr__(self):
        return f"Entry({self.stream!r}, {self.id!r})"


class _Pending:
    __slots__ = ("event", "reply", "error", "on_reply")

    def __init__(self, on_reply=None):
        self.event, self.reply, self.error, self.on_reply = threading.Event(), None, None, on_reply


class Client:
    """A connection to ampd. See `connect`.

    `server` is ampd's hello reply (without the nonce; with `agent` once authenticated);
    `agent` the agent this connection proved to be (None on an ampd without a keyring);
    `auth` ampd's auth reply (`agent`, `kid`, `admin`, `publish`, `subscribe`) or None;
    `key` the key messages are signed with (None: messages go as they are).
    """

    def __init__(self, path, client=None, token=None, timeout=30.0, agent=None, key=None, sign=True):
        key = as_key(key) if key is not None else None
        if agent is None and key is not None:
            agent = key.agent
        if key is not None and not key.can_sign:
            raise TypeError(f"key {key.kid} is a public key: connecting needs the agent's private key or secret")
        self.timeout = timeout
        self.agent, self.auth = None, None
        self.key = key if sign else None
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.connect(path)
        self._send_lock = threading.Lock()
        self._rids = itertools.count(1)
        self._pending = {}
        self._subs = {}
        self._closed = None
        self._closing_error = None
        self._reader = threading.Thread(target=self._read_loop, name="ampbus-reader", daemon=True)
        self._reader.start()
        try:
            self._open(client or agent or "ampbus-python", token, agent, key)
        except BaseException:
            self.close()
            raise

    def _open(self, client, token, agent, key):
        """hello, then (when ampd sends a nonce) auth."""
        args = {"version": PROTOCOL_VERSION, "client": client}
        if token is not None:
            args["token"] = token
        if agent is not None:
            args["agent"] = agent
        try:
            hello = self.call("hello", **args)
        except ServerError as e:
            if e.code == "AUTH_FAILED" and agent is None:
                # An ampd with a keyring refuses a hello without agent: say what would work.
                raise ServerError(e.code, e.server_message, e.details,
                                  hint="if this ampd has a keyring: ampbus.connect(path, key=ampbus.load_key(PATH))") from None
            raise
        nonce = hello.pop("nonce", None)
        if nonce is not None:
            if key is None:
                raise AuthRequiredError(
                    "this ampd has a keyring: connect as one of its agents with the agent's key, "
                    "ampbus.connect(path, key=ampbus.load_key(PATH)) (the key file ampd keygen writes)")
            r = self.call("auth", kid=key.kid, proof=prove_auth(key, agent, nonce))
            self.auth = {k: v for k, v in r.items() if k not in ("rid", "ok")}
            self.agent = hello["agent"] = agent
        self.server = hello

    # -- plumbing ---------------------------------------------------------------

    def _send_frame(self, body):
        data = msgpack.packb(body, use_bin_type=True)
        with self._send_lock:
            self._sock.sendall(_LEN.pack(len(data)) + data)

    def call_async(self, op, _on_reply=None, **args):
        """Sends a request without waiting; returns a handle for `wait`."""
        if self._closed:
            e = self._closing_error
            if e is not None:  # still what ampd said when it closed the connection
                raise ClosedByServerError(e.code, e.server_message, e.details)
            raise ConnectionClosedError(f"connection closed: {self._closed}")
        rid = next(self._rids) & 0xFFFFFFFF
        p = _Pending(_on_reply)
        self._pending[rid] = p
        try:
            self._send_frame(dict(args, op=op, rid=rid))
        except OSError as e:
            self._pending.pop(rid, None)
            raise ConnectionClosedError(f"cannot send {op}: {e}") from e
        return p

    def wait(self, pending, timeout=None):
        """The reply of a request `call_async` returned; raises ServerError for `ok: false`."""
        timeout = self.timeout if timeout is None else timeout
        if not pending.event.wait(timeout):
            raise RequestTimeoutError(f"no reply from ampd within {timeout} s")
        if pending.error:
            raise pending.error
        r = pending.reply
        if not r.get("ok"):
            err = r.get("error") or {}
            code, text, details = err.get("code", "INTERNAL"), err.get("message", ""), err.get("details")
            if code == "INVALID_MESSAGE":
                raise InvalidMessageError((details or {}).get("issues") or [], f"{code}: {text}")
            raise ServerError(code, text, details)
        return r

    def call(self, op, timeout=None, **args):
        """Sends one request and returns its reply map (`ok: true`)."""
        return self.wait(self.call_async(op, **args), timeout)

    def _read_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self._sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionClosedError("ampd closed the connection")
            buf += chunk
        return bytes(buf)

    def _read_loop(self):
        try:
            while True:
                (n,) = _LEN.unpack(self._read_exact(4))
                frame = msgpack.unpackb(self._read_exact(n), raw=False)
                rid = frame.get("rid")
                if "rid" not in frame and "sub" in frame:
                    sub = self._subs.get(frame["sub"])
                    if sub is not None:  # pushes for ended subscriptions are ignored
                        for entry_id, raw in frame.get("entries", ()):
                            sub._queue.put(Entry(sub.stream, entry_id, raw))
                elif rid is None:  # about the connection, not one request
                    err = frame.get("error") or {}
                    code = err.get("code")
                    if code in _CLOSING_CODES:  # ampd closes the connection after this
                        self._closing_error = ClosedByServerError(code, err.get("message", ""), err.get("details"))
                        if code == "BAD_FRAME":  # every reply came before it: the stream cannot be framed
                            raise self._closing_error
                else:
                    p = self._pending.pop(rid, None)
                    if p is not None:
                        if p.on_reply is not None and frame.get("ok"):
                            p.on_reply(frame)  # before the next frame: a push may follow at once
                        p.reply = frame
                        p.event.set()
        except Exception as e:  # the socket closed or broke; every waiter learns why
            if self._closing_error is not None:
                e = self._closing_error  # what ampd said before it closed (AUTH_REVOKED...)
            self._shutdown(e if isinstance(e, ConnectionClosedError) else ConnectionClosedError(str(e)))

    def _shutdown(self, error):
        self._closed = str(error)
        pending, self._pending = self._pending, {}
        for p in pending.values():
            p.error = error
            p.event.set()
        for sub in list(self._subs.values()):
            sub._queue.put(error)

    def close(self):
        """Closes the connection; waiting calls and iterators raise ConnectionClosedError."""
        if not self._closed:
            self._closed = "closed by the client"
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._reader.join(2)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- operations ---------------------------------------------------------------

    def sign(self, msg):
        """`msg` signed with the connection's key (see `connect`) when it has no `sig`;
        as it is when it has one, or when the connection signs nothing."""
        if self.key is None or msg.get("sig") is not None:
            return msg
        return sign(msg, self.key)

    def add(self, stream, msg, max_len=None):
        """Publishes `msg` (a dict, validated, signed when the connection has a key and
        the message no `sig`, and encoded canonically; or encoded bytes, sent as they
        are). Returns (entry_id, duplicate)."""
        if isinstance(msg, dict):
            check_message(msg)
            msg = encode_message(self.sign(msg))
        args = {"stream": stream, "msg": bytes(msg)}
        if max_len is not None:
            args["maxLen"] = max_len
        r = self.call("add", **args)
        return r["entryId"], r["duplicate"]

    def read(self, streams, count=None, block=None):
        """Entries after the given positions: `streams` maps name -> "0", "$" or an entry id."""
        args = {"streams": dict(streams)}
        if count is not None:
            args["count"] = count
        if block is not None:
            args["block"] = block
        timeout = self.timeout + (block or 0) / 1000
        r = self.call("read", timeout=timeout, **args)
        return [Entry(s["stream"], eid, raw) for s in r["streams"] for eid, raw in s["entries"]]

    def subscribe(self, stream, start="$", window=256):
        """An iterator of the stream's entries after `start`, paced by a credit window."""
        return Subscription(self, stream, start, window)

    def group(self, stream, name):
        """A consumer group of `stream`; call `create()` once before consuming."""
        return Group(self, stream, name)

    def trim(self, stream, max_len, approximate=False):
        return self.call("trim", stream=stream, maxLen=max_len, approximate=approximate)["removed"]

    def info(self, stream=None):
        return self.call("info", stream=stream) if stream is not None else self.call("info")

    def ping(self):
        return self.call("ping")["time"]

    # -- agents: inboxes, request and reply (the conventions in docs/protocol.md) -------

    def send(self, msg):
        """Publishes `msg` to its receiver's inbox `inbox.<receiver>` (or to `broadcast`)."""
        return self.add(inbox_of(msg["receiver"]), msg)

    def listen(self, agent, replica=None, broadcast=True, count=32, block=1000):
        """Yields the group deliveries addressed to `agent` (ack each one): its inbox read
        through the group named `agent` (so replicas share the work), and, when
        `broadcast`, the `broadcast` stream through a group of the same name. Broadcasts
        wait up to `block` ms behind an idle inbox."""
        replica = replica or f"{agent}-{uuid7()}"
        inbox = self.group(inbox_of(agent), agent)
        inbox.create("0")  # messages sent before the agent first listened are its work too
        groups = [inbox]
        if broadcast:
            b = self.group("broadcast", agent)
            b.create("$")
            groups.append(b)
        while True:
            got = inbox.read(replica, count, block)
            for g in groups[1:]:
                got += g.read(replica, count)
            yield from got

    def request(self, msg, timeout=30.0):
        """Sends `msg` to `inbox.<receiver>` and returns the first message on
        `reply.<sender>` whose `replyTo` is its id. Raises RequestTimeoutError."""
        check_message(msg)
        deadline = time.monotonic() + timeout
        with self.subscribe(f"reply.{msg['sender']}", "$", window=64) as replies:
            self.send(msg)
            while True:
                left = deadline - time.monotonic()
                entry = replies.next(timeout=max(left, 0)) if left > 0 else None
                if entry is None:
                    raise RequestTimeoutError(f"no reply to {msg['id']} from {msg['receiver']} within {timeout} s")
                if entry.message.get("replyTo") == msg["id"]:
                    return entry.message

    def reply(self, request, type="result", payload=None, **fields):
        """Answers `request`: a message to its sender on `reply.<sender>` with `replyTo`
        and the conversation id set, signed as `add` signs. Its sender is `sender=`, else
        the connection's agent, else the request's receiver. Returns (message, entry_id)."""
        fields.setdefault("conversationId", request.get("conversationId") or request["id"])
        sender = fields.pop("sender", None) or self.agent or request["receiver"]
        msg = self.sign(new_message(type, sender=sender, receiver=request["sender"],
                                    payload=payload, replyTo=request["id"], **fields))
        entry_id, _ = self.add(f"reply.{request['sender']}", msg)
        return msg, entry_id


class Subscription:
    """Iterates a subscription's entries. `next(timeout)` returns None on timeout."""

    def __init__(self, client, stream, start, window):
        self._client, self.stream, self.window = client, stream, max(1, window)
        self._queue = queue.Queue()
        self._used = 0
        self.closed = False
        p = client.call_async("subscribe", _on_reply=self._register, stream=stream, credit=self.window, **{"from": start})
        r = client.wait(p)
        self.id, self.start = r["sub"], r["from"]

    def _register(self, reply):
        self._client._subs[reply["sub"]] = self

    def next(self, timeout=None):
        if self.closed:
            raise StopIteration
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if isinstance(item, Exception):
            self.closed = True
            raise item
        self._used += 1
        if self._used >= (self.window + 1) // 2:  # grant back half the window at a time
            self._client.call_async("credit", sub=self.id, n=self._used)
            self._used = 0
        return item

    def __iter__(self):
        return self

    def __next__(self):
        return self.next()

    def close(self):
        """Ends the subscription; returns the last entry id ampd pushed."""
        if self.closed:
            return None
        self.closed = True
        self._client._subs.pop(self.id, None)
        try:
            return self._client.call("unsubscribe", sub=self.id).get("cursor")
        except ConnectionClosedError:
            return None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Group:
    """A consumer group of one stream (docs/protocol.md, "Consumer groups")."""

    def __init__(self, client, stream, name):
        self._client, self.stream, self.name = client, stream, name

    def create(self, start="$"):
        """Creates the group (idempotent); returns True if it was new."""
        return self._client.call("group.create", stream=self.stream, group=self.name, **{"from": start})["created"]

    def read(self, consumer, count=100, block=None):
        args = {"stream": self.stream, "group": self.name, "consumer": consumer, "count": count}
        if block is not None:
            args["block"] = block
        r = self._client.call("group.read", timeout=self._client.timeout + (block or 0) / 1000, **args)
        return [Entry(self.stream, eid, raw, n, self, consumer) for eid, raw, n in r["entries"]]

    def consume(self, consumer, count=16, block=5000):
        """Yields deliveries for `consumer` forever; ack (or nack) each one."""
        while True:
            yield from self.read(consumer, count, block)

    def ack(self, ids):
        return self._client.call("ack", stream=self.stream, group=self.name, ids=list(ids))["acked"]

    def nack(self, consumer, ids, delay=0):
        return self._client.call("nack", stream=self.stream, group=self.name, consumer=consumer,
                                 ids=list(ids), delay=delay)["nacked"]

    def extend(self, consumer, ids):
        return self._client.call("extend", stream=self.stream, group=self.name, consumer=consumer,
                                 ids=list(ids))["extended"]

    def pending(self, consumer=None, count=100):
        args = {"stream": self.stream, "group": self.name, "count": count}
        if consumer is not None:
            args["consumer"] = consumer
        return self._client.call("pending", **args)["pending"]

    def claim(self, consumer, min_idle=None, count=100):
        args = {"stream": self.stream, "group": self.name, "consumer": consumer, "count": count}
        if min_idle is not None:
            args["minIdle"] = min_idle
        r = self._client.call("claim", **args)
        return [Entry(self.stream, eid, raw, n, self, consumer) for eid, raw, n in r["entries"]]


__all__ = ["Client", "Entry", "Group", "Subscription", "connect", "DecodeError"]
