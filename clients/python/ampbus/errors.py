"""Errors of the ampbus Python client; each has a stable machine-readable `code`.

    >>> try:
    ...     raise ServerError("BAD_ARGUMENT", "count out of range", {"field": "count"})
    ... except AmpbusError as e:
    ...     (e.code, e.details["field"])
    ('BAD_ARGUMENT', 'count')
"""


class AmpbusError(Exception):
    """Base class. `code` is stable for programs; str(error) is for people."""

    code = "AMPBUS"

    def __init__(self, message, code=None):
        super().__init__(message)
        if code is not None:
            self.code = code


class ServerError(AmpbusError):
    """ampd answered `ok: false`: `code`, `message` (as `server_message`) and `details` as
    sent (docs/protocol.md, "Error codes"). With a keyring these include FORBIDDEN
    (`details.op`, `stream`, `agent`, `rule`; `sender` for a message speaking for another
    agent), BAD_SIGNATURE (`details.reason`), TIER_MISMATCH, TIER_TOO_LOW, AUTH_FAILED
    and AUTH_REQUIRED. `hint`, when given, is advice of the client's, added to str(error)."""

    def __init__(self, code, message, details=None, hint=None):
        super().__init__(f"{code}: {message}" + (f" ({hint})" if hint else ""), code)
        self.server_message = message
        self.details = details or {}
        self.issues = list(self.details.get("issues") or [])


class InvalidMessageError(ServerError):
    """A message breaks the envelope schema: locally (before sending) or as ampd's
    `INVALID_MESSAGE`. `issues` lists every problem as {"path": [...], "message": str}."""

    def __init__(self, issues, message=None):
        issues = list(issues)
        text = message or "; ".join(f"{_path(i['path'])}: {i['message']}" for i in issues)
        super().__init__("INVALID_MESSAGE", text, {"issues": issues})


class EncodeError(AmpbusError):
    """A value cannot be put in MessagePack (a non-string map key, an unknown type)."""

    code = "ENCODE"


class DecodeError(AmpbusError):
    """Bytes are not a MessagePack message (or use extension types)."""

    code = "DECODE"


class ConnectionClosedError(AmpbusError):
    """The connection to ampd closed; requests in flight fail with this."""

    code = "CONNECTION_CLOSED"


class ClosedByServerError(ServerError, ConnectionClosedError):
    """ampd closed the connection with an error of its own, sent with `rid` nil:
    AUTH_REVOKED (a keyring reload removed or changed this agent), HELLO_TIMEOUT,
    FRAME_TIMEOUT, BAD_FRAME, LIMIT_EXCEEDED. Both a ServerError (`code`, `details`) and a
    ConnectionClosedError: requests in flight and subscriptions fail with it."""


class AuthRequiredError(AmpbusError):
    """ampd has a keyring (its hello reply carried a nonce) but no key was given to
    `connect`, so the connection cannot authenticate. Pass key=ampbus.load_key(PATH)."""

    code = "AUTH_REQUIRED"


class RequestTimeoutError(AmpbusError):
    """No reply (from ampd, or from the agent asked in `request`) within the timeout."""

    code = "TIMEOUT"


def _path(path):
    return "/" + "/".join(str(p) for p in path)
