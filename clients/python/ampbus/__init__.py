"""ampbus for Python: a client of the ampd sidecar (docs/protocol.md).

    import ampbus
    with ampbus.connect("./ampd.sock", client="py-agent") as bus:
        msg = ampbus.new_message("task", sender="py-agent", receiver="coder", payload={"n": 1})
        answer = bus.request(msg, timeout=30)
"""

from .canonical import encode_message, encode_value
from .client import Client, Entry, Group, Subscription, connect
from .errors import (AmpbusError, ConnectionClosedError, DecodeError, EncodeError, InvalidMessageError,
                     RequestTimeoutError, ServerError)
from .jsonform import from_json, to_json
from .message import (check_message, compress, decode_message, decompress, new_message, sign_hmac,
                      signing_bytes, uuid7, validate_message, verify_hmac)

__version__ = "0.1.0"
__all__ = [
    "AmpbusError", "Client", "ConnectionClosedError", "DecodeError", "EncodeError", "Entry", "Group",
    "InvalidMessageError", "RequestTimeoutError", "ServerError", "Subscription", "check_message", "compress",
    "connect", "decode_message", "decompress", "encode_message", "encode_value", "from_json", "new_message",
    "sign_hmac", "signing_bytes", "to_json", "uuid7", "validate_message", "verify_hmac",
]
