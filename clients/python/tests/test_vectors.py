"""The golden vectors (tests/vectors/*.json): decode(hex) equals the message and
encode(message) equals hex, byte for byte."""

import json
import os
import unittest

import ampbus

VECTORS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "tests", "vectors")


def load():
    for name in sorted(os.listdir(VECTORS)):
        if name.endswith(".json"):
            with open(os.path.join(VECTORS, name), encoding="utf-8") as f:
                yield json.load(f)


class GoldenVectors(unittest.TestCase):
    def test_there_are_vectors(self):
        self.assertGreaterEqual(len(list(load())), 8)

    def test_encode_matches_hex(self):
        for v in load():
            with self.subTest(v["name"]):
                msg = ampbus.from_json(v["message"])
                self.assertEqual(ampbus.validate_message(msg), [])
                self.assertEqual(ampbus.encode_message(msg).hex(), v["hex"])

    def test_decode_matches_message(self):
        for v in load():
            with self.subTest(v["name"]):
                msg = ampbus.decode_message(bytes.fromhex(v["hex"]))
                self.assertEqual(msg, ampbus.from_json(v["message"]))
                self.assertEqual(list(msg), list(v["message"]))  # key order too
                self.assertEqual(ampbus.encode_message(msg).hex(), v["hex"])

    def test_hmac_vector_verifies(self):
        v = next(x for x in load() if x["name"] == "sig-hmac-sha256")
        msg = ampbus.decode_message(bytes.fromhex(v["hex"]))
        secret = b"ampbus golden vector secret 2024"
        self.assertTrue(ampbus.verify_hmac(msg, secret))
        self.assertFalse(ampbus.verify_hmac(dict(msg, type="tampered"), secret))
        self.assertEqual(ampbus.sign_hmac({k: x for k, x in msg.items() if k != "sig"}, secret, "vector-hmac"), msg)

    def test_compressed_vector_inflates(self):
        v = next(x for x in load() if x["name"] == "compressed")
        msg = ampbus.decompress(ampbus.decode_message(bytes.fromhex(v["hex"])))
        self.assertIn("compiled(f)", msg["payload"]["log"])
        self.assertNotIn("compressed", msg)
        again = ampbus.decompress(ampbus.compress(msg))
        self.assertEqual(again, msg)


if __name__ == "__main__":
    unittest.main()
