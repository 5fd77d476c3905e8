"""Message construction, validation, the canonical encoder's edge cases and the JSON form."""

import unittest

import ampbus
from ampbus.canonical import encode_value


class Canonical(unittest.TestCase):
    def test_shortest_ints_and_integral_floats(self):
        cases = [(0, "00"), (127, "7f"), (128, "cc80"), (255, "ccff"), (256, "cd0100"), (65536, "ce00010000"),
                 (2**32, "cf0000000100000000"), (-1, "ff"), (-32, "e0"), (-33, "d0df"), (-129, "d1ff7f"),
                 (-32769, "d2ffff7fff"), (-(2**31) - 1, "d3ffffffff7fffffff"), (2.0, "02"), (-0.0, "00"),
                 (0.5, "cb3fe0000000000000"), (2**53, "cb4340000000000000"), (True, "c3"), (None, "c0")]
        for value, want in cases:
            with self.subTest(value):
                self.assertEqual(encode_value(value).hex(), want)

    def test_string_headers_and_surrogates(self):
        self.assertEqual(encode_value("a" * 31)[:1].hex(), "bf")
        self.assertEqual(encode_value("a" * 32)[:2].hex(), "d920")
        self.assertEqual(encode_value("a" * 256)[:3].hex(), "da0100")
        self.assertEqual(encode_value("\ud800"), encode_value("\ufffd"))
        self.assertEqual(encode_value("\ud83d\ude00"), encode_value("😀"))

    def test_payload_keys_sorted_by_code_point(self):
        self.assertEqual(encode_value({"b": 1, "a": 2, "😀": 3, "\ue000": 4}),
                         bytes.fromhex("84a16102a16201a3ee808004a4f09f988003"))

    def test_envelope_order_whatever_the_dict_order(self):
        m = ampbus.new_message("t", "s", "r", payload={"x": 1}, conversationId="c")
        shuffled = dict(reversed(list(m.items())))
        self.assertEqual(ampbus.encode_message(shuffled), ampbus.encode_message(m))

    def test_refuses_what_msgpack_cannot_hold(self):
        with self.assertRaises(ampbus.EncodeError) as e:
            encode_value({"a": [object()]})
        self.assertIn("/a/0", str(e.exception))
        with self.assertRaises(ampbus.EncodeError):
            encode_value({1: "x"})


class Validation(unittest.TestCase):
    def test_new_message_fills_in(self):
        m = ampbus.new_message("task", "planner", "coder")
        self.assertEqual((m["v"], m["opId"]), (1, m["id"]))
        self.assertRegex(m["id"], r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        self.assertEqual(list(m)[:7], ["v", "id", "opId", "type", "sender", "receiver", "timestamp"])

    def test_lists_every_problem_with_its_path(self):
        issues = ampbus.validate_message({
            "v": 2, "id": "", "opId": "o", "type": "t" * 65, "sender": "s", "receiver": "r", "timestamp": -1,
            "spec": {"preconditions": [1], "task": "", "postconditions": [],
                     "evidence": {"prover": "p", "method": "guess", "confidence": 2}},
            "snapSha": "ABC", "traceparent": "x", "extra": 1, "payload": {"__proto__": 1},
        })
        paths = sorted("/".join(map(str, i["path"])) for i in issues)
        self.assertEqual(paths, sorted([
            "extra", "v", "id", "type", "timestamp", "spec/preconditions/0", "spec/task",
            "spec/evidence/method", "spec/evidence/confidence", "tier", "snapSha", "traceparent",
            "payload/__proto__"]))

    def test_lengths_count_utf16_units(self):
        ok = ampbus.new_message("t", "s", "r", id="😀" * 64)
        self.assertEqual(len(ok["id"]), 64)
        with self.assertRaises(ampbus.InvalidMessageError) as e:
            ampbus.new_message("t", "s", "r", id="😀" * 65)
        self.assertEqual(e.exception.code, "INVALID_MESSAGE")
        self.assertEqual(e.exception.issues[0]["path"], ["id"])

    def test_compressed_excludes_spec_and_payload(self):
        m = ampbus.compress(ampbus.new_message("t", "s", "r", payload={"x": "y" * 100}))
        self.assertEqual(ampbus.validate_message(m), [])
        self.assertEqual(ampbus.decompress(m)["payload"], {"x": "y" * 100})
        bad = dict(m, payload=1)
        self.assertEqual([i["path"] for i in ampbus.validate_message(bad)], [["payload"]])

    def test_decode_refuses_duplicates_proto_and_extensions(self):
        for raw in ("82a161 01a161 02".replace(" ", ""), "81a95f5f70726f746f5f5f01", "81a161d40100", "91c0"):
            with self.subTest(raw), self.assertRaises(ampbus.DecodeError):
                ampbus.decode_message(bytes.fromhex(raw))

    def test_json_form(self):
        m = ampbus.new_message("t", "s", "r", payload={"b": b"\x00\xff", "l": [b"\x01"]})
        j = ampbus.to_json(m)
        self.assertEqual(j["payload"], {"b": {"$bin": "AP8="}, "l": [{"$bin": "AQ=="}]})
        self.assertEqual(ampbus.from_json(j), m)


if __name__ == "__main__":
    unittest.main()
