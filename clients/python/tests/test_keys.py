"""Agent keys, signatures and the auth handshake (docs/security.md, docs/protocol.md "auth"):
key files, Ed25519 and HMAC signatures checked against the golden vectors, the auth
proof, the PyNaCl fallback, and the client's hello + auth against a scripted server."""

import base64
import builtins
import hashlib
import hmac
import json
import os
import socket
import struct
import sys
import tempfile
import threading
import types
import unittest

import msgpack

import ampbus
from ampbus import keys as keys_module

VECTORS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "tests", "vectors")
SEED = bytes(range(32))  # the Ed25519 seed of the golden vectors
HMAC_SECRET = b"ampbus golden vector secret 2024"


def vector(name):
    with open(os.path.join(VECTORS, f"{name}.json"), encoding="utf-8") as f:
        v = json.load(f)
    return ampbus.from_json(v["message"]), v["hex"]


def b64(b):
    return base64.b64encode(b).decode()


def unsigned(msg):
    return {k: v for k, v in msg.items() if k != "sig"}


class KeyFiles(unittest.TestCase):
    def test_ed25519_key_file(self):
        key = ampbus.parse_key(json.dumps({"agent": "planner", "kid": "p1", "alg": "ed25519", "privateKey": b64(SEED)}))
        self.assertEqual((key.agent, key.kid, key.alg, key.can_sign), ("planner", "p1", "ed25519", True))
        self.assertEqual(len(key.public_key), 32)
        self.assertEqual(key.keyring_entry(), {"kid": "p1", "alg": "ed25519", "publicKey": b64(key.public_key)})
        self.assertNotIn(b64(SEED), repr(key))

    def test_hmac_key_file_and_load_key(self):
        secret = os.urandom(32)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "tester.key")
            with open(path, "w", encoding="utf-8") as f:
                json.dump({"agent": "tester", "kid": "t1", "alg": "hmac-sha256", "secret": b64(secret)}, f)
            key = ampbus.load_key(path)
        self.assertEqual((key.agent, key.kid, key.alg), ("tester", "t1", "hmac-sha256"))
        self.assertEqual(key.sign_bytes(b"x"), hmac.new(secret, b"x", hashlib.sha256).digest())
        self.assertNotIn(b64(secret), repr(key))

    def test_unpadded_base64_is_read(self):
        secret = b"0123456789abcdefg"  # 17 bytes: padded base64 ends in "=="
        key = ampbus.parse_key(json.dumps({"agent": "a", "kid": "k", "alg": "hmac-sha256", "secret": b64(secret).rstrip("=")}))
        self.assertEqual(key.sign_bytes(b""), hmac.new(secret, b"", hashlib.sha256).digest())

    def test_bad_key_files_name_the_field(self):
        good = {"agent": "a", "kid": "k", "alg": "ed25519", "privateKey": b64(SEED)}
        cases = [
            ("not json", "JSON"),
            ("[1]", "JSON object"),
            (dict(good, agent=""), "agent"),
            (dict(good, kid="k" * 129), "kid"),
            (dict(good, alg="rsa"), "alg"),
            ({k: v for k, v in good.items() if k != "privateKey"}, "privateKey"),
            (dict(good, privateKey=b64(SEED[:31])), "32-byte seed (this is 31 bytes)"),
            (dict(good, privateKey="-_-_"), "base64"),
            ({"agent": "a", "kid": "k", "alg": "hmac-sha256", "secret": b64(b"short")}, "16 to 1024 bytes (this is 5)"),
            ({"agent": "a", "kid": "k", "alg": "hmac-sha256", "privateKey": b64(SEED)}, "secret"),
        ]
        for text, want in cases:
            with self.subTest(want):
                with self.assertRaises(ampbus.KeyFileError) as e:
                    ampbus.parse_key(text if isinstance(text, str) else json.dumps(text))
                self.assertIn(want, str(e.exception))
                self.assertEqual(e.exception.code, "BAD_KEY")
                self.assertIsInstance(e.exception, ValueError)

    def test_new_key_saves_a_key_file_that_loads(self):
        for alg in ("ed25519", "hmac-sha256"):
            with self.subTest(alg), tempfile.TemporaryDirectory() as d:
                key = ampbus.new_key("planner", alg=alg)
                self.assertRegex(key.kid, r"^planner-\d{8}-[0-9a-f]{4}$")
                path = os.path.join(d, "planner.key")
                key.save(path)
                self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
                again = ampbus.load_key(path)
                self.assertEqual((again.agent, again.kid, again.alg), ("planner", key.kid, alg))
                self.assertEqual(again.sign_bytes(b"x"), key.sign_bytes(b"x"))
                self.assertEqual(sorted(json.loads(key.key_file())),
                                 sorted(["agent", "kid", "alg", "privateKey" if alg == "ed25519" else "secret"]))
                with self.assertRaises(FileExistsError):
                    ampbus.new_key("planner", alg=alg).save(path)
                other = ampbus.new_key("planner", kid="p2", alg=alg)
                other.save(path, force=True)
                self.assertEqual(ampbus.load_key(path).kid, "p2")
        self.assertEqual(len(ampbus.new_key("a" * 128).kid), 128)

    def test_keyring_keys_verify(self):
        signer = ampbus.Key("planner", "p1", "ed25519", secret=SEED)
        ring = {"agents": {"planner": {"keys": [signer.keyring_entry()]},
                           "tester": {"keys": [{"kid": "t1", "alg": "hmac-sha256", "secret": b64(HMAC_SECRET)}]}}}
        found = ampbus.keyring_keys(json.dumps(ring))
        self.assertEqual(sorted(found), ["p1", "t1"])
        self.assertEqual((found["p1"].agent, found["p1"].can_sign), ("planner", False))
        with self.assertRaises(ampbus.KeyFileError):
            found["p1"].sign_bytes(b"x")
        msg = ampbus.sign(ampbus.new_message("event", "planner", "tester"), signer)
        self.assertTrue(ampbus.verify(msg, found))


class Signatures(unittest.TestCase):
    def test_ed25519_matches_the_vectors_byte_for_byte(self):
        for name in ("sig-ed25519", "every-field"):
            with self.subTest(name):
                msg, hex_ = vector(name)
                signed = ampbus.sign_ed25519(unsigned(msg), SEED, "vector-ed25519")
                self.assertEqual(signed["sig"], msg["sig"])
                self.assertEqual(ampbus.encode_message(signed).hex(), hex_)
                key = ampbus.Key("coder-agent", "vector-ed25519", "ed25519", secret=SEED)
                self.assertEqual(ampbus.sign(unsigned(msg), key), signed)
                self.assertTrue(ampbus.verify(msg, key))
                self.assertTrue(ampbus.verify_ed25519(msg, key.public_key))

    def test_hmac_matches_the_vector(self):
        msg, hex_ = vector("sig-hmac-sha256")
        key = ampbus.Key("a", "vector-hmac", "hmac-sha256", secret=HMAC_SECRET)
        self.assertEqual(ampbus.encode_message(ampbus.sign(unsigned(msg), key)).hex(), hex_)
        self.assertTrue(ampbus.verify(msg, [key]))

    def test_verify_says_false_for_what_does_not_hold(self):
        msg, _ = vector("sig-ed25519")
        key = ampbus.Key("a", "vector-ed25519", "ed25519", secret=SEED)
        other = ampbus.Key("a", "vector-ed25519", "ed25519", secret=bytes(32))
        hm = ampbus.Key("a", "vector-ed25519", "hmac-sha256", secret=HMAC_SECRET)
        self.assertFalse(ampbus.verify(dict(msg, type="tampered"), key))
        self.assertFalse(ampbus.verify(msg, other))
        self.assertFalse(ampbus.verify(msg, hm))  # the kid names a key of another algorithm
        self.assertFalse(ampbus.verify(msg, {}))  # unknown kid
        self.assertFalse(ampbus.verify(unsigned(msg), key))
        self.assertFalse(ampbus.verify(dict(msg, id=""), key))  # not a valid message
        self.assertFalse(ampbus.verify("not a message", key))

    def test_a_signature_covers_the_uncompressed_message(self):
        key = ampbus.Key("a", "k", "ed25519", secret=SEED)
        msg = ampbus.new_message("task", "a", "b", payload={"log": "x" * 500})
        signed = ampbus.sign(ampbus.compress(msg), key)
        self.assertIn("compressed", signed)
        self.assertEqual(signed["sig"], ampbus.sign(msg, key)["sig"])
        self.assertTrue(ampbus.verify(signed, key))

    def test_sign_validates(self):
        key = ampbus.Key("a", "k", "hmac-sha256", secret=HMAC_SECRET)
        with self.assertRaises(ampbus.InvalidMessageError):
            ampbus.sign({"v": 1, "id": "x"}, key)


class AuthProof(unittest.TestCase):
    def test_auth_bytes(self):
        nonce = bytes(range(100, 132))
        self.assertEqual(ampbus.auth_bytes("planner", "p1", nonce), b"ampbus-auth-v1\nplanner\np1\n" + nonce)
        self.assertEqual(ampbus.auth_bytes("pl\u00e4nner", "p1", b"")[15:23], "pl\u00e4nner".encode())

    def test_proofs(self):
        nonce = os.urandom(32)
        hm = ampbus.Key("tester", "t1", "hmac-sha256", secret=HMAC_SECRET)
        self.assertEqual(ampbus.prove_auth(hm, "tester", nonce),
                         hmac.new(HMAC_SECRET, b"ampbus-auth-v1\ntester\nt1\n" + nonce, hashlib.sha256).digest())
        ed = ampbus.Key("planner", "p1", "ed25519", secret=SEED)
        proof = ampbus.prove_auth(ed, "planner", nonce)
        self.assertEqual(len(proof), 64)
        public = ampbus.verifying_key("p1", "ed25519", b64(ed.public_key))
        self.assertTrue(public.verify_bytes(ampbus.auth_bytes("planner", "p1", nonce), proof))
        self.assertFalse(public.verify_bytes(ampbus.auth_bytes("planner", "p1", bytes(32)), proof))


    def test_the_exchange_in_protocol_md(self):
        """The hello + auth frames captured from ampd in docs/protocol.md: the same proof."""
        with open(os.path.join(VECTORS, "..", "..", "docs", "protocol.md"), encoding="utf-8") as f:
            doc = f.read()
        section = doc.split("### hello and auth on an ampd with a keyring", 1)[1].split("\n### ", 1)[0]
        dumps = [bytes.fromhex("".join(line[6:54] for line in block.strip().split("\n")))
                 for block in section.split("```")[1::2]]
        hello, reply, auth_bytes, auth = (msgpack.unpackb(dumps[0][4:]), msgpack.unpackb(dumps[1][4:]),
                                          dumps[2], msgpack.unpackb(dumps[3][4:]))
        self.assertIn("32 bytes `0x01`", section)
        key = ampbus.Key(hello["agent"], auth["kid"], "hmac-sha256", secret=bytes([1]) * 32)
        self.assertEqual(ampbus.auth_bytes(hello["agent"], auth["kid"], reply["nonce"]), auth_bytes)
        self.assertEqual(ampbus.prove_auth(key, hello["agent"], reply["nonce"]), auth["proof"])


class FakeNacl:
    """A stand-in for PyNaCl's `nacl.signing` and `nacl.exceptions` (its documented API),
    computing with cryptography, to check the fallback's calls."""

    def __init__(self):
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        class BadSignatureError(Exception):
            pass

        class VerifyKey:
            def __init__(self, raw):
                self._k, self._raw = Ed25519PublicKey.from_public_bytes(bytes(raw)), bytes(raw)

            def encode(self):
                return self._raw

            def verify(self, data, signature):
                try:
                    self._k.verify(signature, data)
                except InvalidSignature:
                    raise BadSignatureError("Signature was forged or corrupt") from None
                return data

        class SigningKey:
            def __init__(self, seed):
                self._k = Ed25519PrivateKey.from_private_bytes(bytes(seed))
                self.verify_key = VerifyKey(self._k.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

            def sign(self, data):
                return types.SimpleNamespace(signature=self._k.sign(data))

        self.exceptions = types.SimpleNamespace(BadSignatureError=BadSignatureError)
        self.signing = types.SimpleNamespace(SigningKey=SigningKey, VerifyKey=VerifyKey)


class Ed25519Fallback(unittest.TestCase):
    def setUp(self):
        self.saved = keys_module._backend
        self.modules = {k: sys.modules.get(k) for k in ("nacl", "nacl.signing", "nacl.exceptions")}
        self.real_import = builtins.__import__

    def tearDown(self):
        keys_module._backend = self.saved
        builtins.__import__ = self.real_import
        for k, m in self.modules.items():
            if m is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = m

    def block(self, *names):
        """Makes ampbus.keys (only: the fake computes with cryptography) fail to import `names`."""
        real = self.real_import

        def imp(name, globals=None, *args, **kwargs):
            if (globals or {}).get("__name__") == "ampbus.keys" and any(name == n or name.startswith(n + ".") for n in names):
                raise ImportError(f"No module named {name!r} (blocked by the test)")
            return real(name, globals, *args, **kwargs)

        builtins.__import__ = imp

    def test_without_cryptography_pynacl_signs_the_same(self):
        fake = FakeNacl()
        sys.modules["nacl"] = types.SimpleNamespace(signing=fake.signing, exceptions=fake.exceptions)
        sys.modules["nacl.signing"], sys.modules["nacl.exceptions"] = fake.signing, fake.exceptions
        self.block("cryptography")
        keys_module._backend = None
        self.assertEqual(keys_module.ed25519_backend().name, "nacl")
        msg, hex_ = vector("sig-ed25519")
        key = ampbus.Key("coder-agent", "vector-ed25519", "ed25519", secret=SEED)
        self.assertEqual(ampbus.encode_message(ampbus.sign(unsigned(msg), key)).hex(), hex_)
        self.assertTrue(ampbus.verify(msg, key))
        self.assertFalse(ampbus.verify(dict(msg, type="tampered"), key))

    def test_without_either_the_error_says_what_to_install(self):
        self.block("cryptography", "nacl")
        for k in self.modules:
            sys.modules.pop(k, None)
        keys_module._backend = None
        with self.assertRaises(ampbus.Ed25519UnavailableError) as e:
            ampbus.parse_key(json.dumps({"agent": "a", "kid": "k", "alg": "ed25519", "privateKey": b64(SEED)}))
        self.assertIn("python3-cryptography", str(e.exception))
        self.assertIn("python3-nacl", str(e.exception))
        # HMAC needs neither.
        ampbus.parse_key(json.dumps({"agent": "a", "kid": "k", "alg": "hmac-sha256", "secret": b64(HMAC_SECRET)}))


class ScriptedAmpd:
    """A one-connection server on a Unix socket that answers frames with `script(frame)`:
    a list of frames to send back (None: close the connection)."""

    def __init__(self, script):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "ampd.sock")
        self.script, self.received = script, []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(1)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        conn, _ = self.server.accept()
        with conn:
            f = conn.makefile("rb")
            while True:
                head = f.read(4)
                if len(head) < 4:
                    return
                frame = msgpack.unpackb(f.read(struct.unpack(">I", head)[0]), raw=False)
                self.received.append(frame)
                for out in self.script(frame):
                    if out is None:
                        conn.shutdown(socket.SHUT_RDWR)
                        return
                    body = msgpack.packb(out, use_bin_type=True)
                    conn.sendall(struct.pack(">I", len(body)) + body)

    def close(self):
        self.server.close()
        self.thread.join(2)
        self.dir.cleanup()


class Handshake(unittest.TestCase):
    NONCE = bytes(range(32))
    HELLO = {"ok": True, "version": 1, "server": "ampd", "serverVersion": "test", "backend": "memory", "maxFrame": 1 << 24}

    def ampd(self, script):
        a = ScriptedAmpd(script)
        self.addCleanup(a.close)
        return a

    def keyring_script(self, frame):
        if frame["op"] == "hello":
            return [dict(self.HELLO, rid=frame["rid"], nonce=self.NONCE)]
        if frame["op"] == "auth":
            return [{"rid": frame["rid"], "ok": True, "agent": "tester", "kid": frame["kid"], "admin": False,
                     "publish": [], "subscribe": []}]
        if frame["op"] == "ping":  # then a keyring reload revokes the agent
            return [{"rid": None, "ok": False, "error": {"code": "AUTH_REVOKED", "message": "agent tester is no longer in the keyring"}}, None]
        return [{"rid": frame["rid"], "ok": False, "error": {"code": "FORBIDDEN", "message": "no", "details": {"op": frame["op"], "rule": "r"}}}]

    def test_hello_names_the_agent_and_auth_proves_the_key(self):
        a = self.ampd(self.keyring_script)
        key = ampbus.Key("tester", "t1", "hmac-sha256", secret=HMAC_SECRET)
        bus = ampbus.connect(a.path, key=key)
        self.addCleanup(bus.close)
        hello, auth = a.received[:2]
        self.assertEqual((hello["agent"], hello["client"]), ("tester", "tester"))
        self.assertEqual(auth["kid"], "t1")
        self.assertEqual(auth["proof"], ampbus.prove_auth(key, "tester", self.NONCE))
        self.assertEqual((bus.agent, bus.auth["kid"], bus.server["agent"]), ("tester", "t1", "tester"))
        self.assertNotIn("nonce", bus.server)
        with self.assertRaises(ampbus.ServerError) as e:
            bus.add("inbox.x", ampbus.new_message("event", "tester", "x"))
        self.assertEqual((e.exception.code, e.exception.details["rule"]), ("FORBIDDEN", "r"))
        sent = ampbus.decode_message(a.received[-1]["msg"])
        self.assertTrue(ampbus.verify(sent, key))  # signed by the connection's key

    def test_auth_revoked_reaches_waiters_with_its_code(self):
        a = self.ampd(self.keyring_script)
        bus = ampbus.connect(a.path, key=ampbus.Key("tester", "t1", "hmac-sha256", secret=HMAC_SECRET))
        self.addCleanup(bus.close)
        with self.assertRaises(ampbus.ClosedByServerError) as e:
            bus.ping()
        self.assertEqual(e.exception.code, "AUTH_REVOKED")
        self.assertIsInstance(e.exception, ampbus.ConnectionClosedError)
        self.assertIsInstance(e.exception, ampbus.ServerError)
        with self.assertRaises(ampbus.ConnectionClosedError):
            bus.ping()

    def test_a_nonce_without_a_key_is_auth_required(self):
        a = self.ampd(self.keyring_script)
        with self.assertRaises(ampbus.AuthRequiredError) as e:
            ampbus.connect(a.path, agent="tester")
        self.assertEqual(e.exception.code, "AUTH_REQUIRED")
        self.assertIn("key=", str(e.exception))
        self.assertEqual([f["op"] for f in a.received], ["hello"])

    def test_sign_false_sends_messages_as_they_are(self):
        a = self.ampd(lambda f: [dict(self.HELLO, rid=f["rid"])] if f["op"] == "hello"
                      else [{"rid": f["rid"], "ok": True, "entryId": "1-0", "duplicate": False}])
        bus = ampbus.connect(a.path, key=ampbus.Key("tester", "t1", "hmac-sha256", secret=HMAC_SECRET), sign=False)
        self.addCleanup(bus.close)
        self.assertIsNone(bus.agent)  # no nonce: an ampd without a keyring
        self.assertNotIn("sig", ampbus.decode_message(self.add_one(bus, a)))

    def add_one(self, bus, a):
        bus.add("s", ampbus.new_message("event", "tester", "x"))
        return a.received[-1]["msg"]


if __name__ == "__main__":
    unittest.main()
