"""Python agents for tests/python/trust.test.ts, on an ampd with a keyring and
--require-sig. Every mode prints one JSON line on stdout.

    trust_agent.py agent    SOCKET KEYFILE KEYRING   answer one task from ts-planner, then ask it one
    trust_agent.py refusals SOCKET KEYFILE KEYRING   what ampd refuses of this agent, and one add it takes
    trust_agent.py outsider SOCKET KEYFILE VICTIM    an agent with no rule for VICTIM's inbox tries to use it
    trust_agent.py revoke   SOCKET KEYFILE           follow the own inbox until ampd revokes the agent
    trust_agent.py connect  SOCKET KEYFILE           connect and ping
    trust_agent.py newkeys                           keys made by Python, and a message each signed
"""

import json
import sys

import ampbus


def error(e):
    """What the test checks of a refusal."""
    out = {"type": type(e).__name__, "code": e.code, "text": str(e)}
    if isinstance(e, ampbus.ServerError):
        out["details"] = e.details
    return out


def attempt(fn):
    try:
        return {"ok": fn()}
    except ampbus.AmpbusError as e:
        return {"error": error(e)}


def agent(sock, keyfile, keyring):
    key = ampbus.load_key(keyfile)
    ring = ampbus.keyring_keys(keyring)
    with ampbus.connect(sock, key=key) as bus:
        for d in bus.listen(key.agent, broadcast=False, block=500):
            task = d.message
            break
        signer = ring.get(task.get("sig", {}).get("kid"))
        reply, reply_id = bus.reply(task, "result", payload={"done": task["payload"]["n"] + 1, "by": key.agent})
        d.ack()
        # Compressed, so that ampd checks the signature over the inflated spec and payload.
        ask = ampbus.compress(ampbus.new_message("task", key.agent, "ts-planner", payload={"q": "size?", "pad": "x" * 4000},
                                                 conversationId=task["conversationId"]))
        answer = bus.request(ask, timeout=15)
        print(json.dumps({
            "auth": bus.auth,
            "agent": bus.agent,
            "task": ampbus.to_json(task),
            "taskVerified": ampbus.verify(task, ring) and signer is not None and signer.agent == task["sender"],
            "reply": ampbus.to_json(reply),
            "replyEntryId": reply_id,
            "ask": ampbus.to_json(ask),
            "answer": ampbus.to_json(answer),
            "answerVerified": ampbus.verify(answer, ring) and ring[answer["sig"]["kid"]].agent == answer["sender"],
        }))


def refusals(sock, keyfile, keyring):
    key = ampbus.load_key(keyfile)
    me = key.agent
    out = {}
    # No key: the hello (no agent) is refused by ampd; with an agent but no key the client stops.
    out["noKey"] = attempt(lambda: ampbus.connect(sock).close())
    out["noKeyWithAgent"] = attempt(lambda: ampbus.connect(sock, agent=me).close())
    # Our key does not prove another agent.
    out["otherAgent"] = attempt(lambda: ampbus.connect(sock, agent="ts-planner", key=key).close())
    with ampbus.connect(sock, key=key) as bus:
        out["sender"] = attempt(lambda: bus.add("scratch.sender", ampbus.new_message("event", "ts-planner", me)))
        signed = bus.sign(ampbus.new_message("event", me, "ts-planner", payload={"n": 1}))
        out["tampered"] = attempt(lambda: bus.add("scratch.tampered", dict(signed, payload={"n": 2})))
        out["tier"] = attempt(lambda: bus.add("scratch.tier", ampbus.new_message(
            "task", me, "ts-planner", spec={"preconditions": [], "task": "fix it", "postconditions": []}, tier="platinum")))
        out["ok"] = attempt(lambda: bus.add("scratch.ok", ampbus.new_message("event", me, "ts-planner"))[0])
        out["stillOpen"] = attempt(bus.ping) if "ok" in out["ok"] else None
    with ampbus.connect(sock, key=key, sign=False) as bus:
        out["unsigned"] = attempt(lambda: bus.add("scratch.unsigned", ampbus.new_message("event", me, "ts-planner")))
    print(json.dumps(out))


def outsider(sock, keyfile, victim):
    key = ampbus.load_key(keyfile)
    inbox = f"inbox.{victim}"
    out = {}
    with ampbus.connect(sock, key=key) as bus:
        out["read"] = attempt(lambda: bus.read({inbox: "0"}))
        out["subscribe"] = attempt(lambda: bus.subscribe(inbox, start="0").close())
        out["group"] = attempt(lambda: bus.group(inbox, victim).create("0"))
        out["add"] = attempt(lambda: bus.add(inbox, ampbus.new_message("task", key.agent, victim)))
        out["ownInbox"] = attempt(lambda: len(bus.read({f"inbox.{key.agent}": "0"})))
    print(json.dumps(out))


def revoke(sock, keyfile):
    key = ampbus.load_key(keyfile)
    bus = ampbus.connect(sock, key=key)
    sub = bus.subscribe(f"inbox.{key.agent}", start="$")
    print("ready", flush=True)
    try:
        got = sub.next(timeout=15)
        out = {"got": None if got is None else got.id}
    except ampbus.AmpbusError as e:
        out = {"error": error(e), "connectionClosed": isinstance(e, ampbus.ConnectionClosedError)}
    out["after"] = attempt(bus.ping)
    print(json.dumps(out))
    bus.close()


def connect(sock, keyfile):
    def ping():
        with ampbus.connect(sock, key=ampbus.load_key(keyfile)) as bus:
            return bus.ping()

    print(json.dumps(attempt(ping)))


def newkeys():
    out = []
    for alg in ("ed25519", "hmac-sha256"):
        key = ampbus.new_key("py-made", alg=alg)
        msg = ampbus.new_message("event", "py-made", "ts-planner", payload={"alg": alg, "n": [1, 2.5, "€"]})
        out.append({"keyFile": key.key_file(), "entry": key.keyring_entry(), "signed": ampbus.to_json(ampbus.sign(msg, key))})
    print(json.dumps(out))


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    {"agent": agent, "refusals": refusals, "outsider": outsider, "revoke": revoke, "connect": connect,
     "newkeys": newkeys}[mode](*args)
