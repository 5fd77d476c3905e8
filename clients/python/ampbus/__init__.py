"""ampbus for Python: a client of the ampd sidecar (docs/protocol.md).

    import ampbus
    with ampbus.connect("./ampd.sock", client="py-agent") as bus:
        msg = ampbus.new_message("task", sender="py-agent", receiver="coder", payload={"n": 1})
        answer = bus.request(msg, timeout=30)

On an ampd with a keyring (docs/security.md), connect as an agent with its key; every
message added without a `sig` is then signed with it:

    with ampbus.connect("./ampd.sock", key=ampbus.load_key("planner.key")) as bus:
        bus.send(ampbus.new_message("task", sender="planner", receiver="coder"))
"""

from . import aisp
from .canonical import encode_message, encode_value
from .client import Client, Entry, Group, Subscription, connect
from .errors import (AmpbusError, AuthRequiredError, ClosedByServerError, ConnectionClosedError, DecodeError,
                     EncodeError, InvalidMessageError, RequestTimeoutError, ServerError)
from .jsonform import from_json, to_json
from .keys import (Ed25519UnavailableError, Key, KeyFileError, auth_bytes, keyring_keys, load_key, new_key,
                   parse_key, prove_auth, verifying_key)
from .message import (check_message, compress, decode_message, decompress, new_message, sign, sign_ed25519,
                      sign_hmac, signing_bytes, uuid7, validate_message, verify, verify_ed25519, verify_hmac)

__version__ = "0.1.0"
__all__ = [
    "aisp", "AmpbusError", "AuthRequiredError", "Client", "ClosedByServerError", "ConnectionClosedError", "DecodeError",
    "Ed25519UnavailableError", "EncodeError", "Entry", "Group", "InvalidMessageError", "Key", "KeyFileError",
    "RequestTimeoutError", "ServerError", "Subscription", "auth_bytes", "check_message", "compress", "connect",
    "decode_message", "decompress", "encode_message", "encode_value", "from_json", "keyring_keys", "load_key",
    "new_key", "new_message", "parse_key", "prove_auth", "sign", "sign_ed25519", "sign_hmac", "signing_bytes", "to_json",
    "uuid7", "validate_message", "verify", "verify_ed25519", "verify_hmac", "verifying_key",
]
