"""Agent keys (docs/security.md, "Keys for agents"): the key file `ampd keygen` writes,
the `auth` proof of a connection (docs/protocol.md, "auth"), and raw signing.

A key file is JSON, `{"agent", "kid", "alg": "ed25519", "privateKey": <base64 32-byte
seed>}` or `{"agent", "kid", "alg": "hmac-sha256", "secret": <base64, 16 to 1024 bytes>}`.
HMAC-SHA256 is the standard library's; Ed25519 comes from `cryptography` (Debian:
python3-cryptography) or, when that is missing, PyNaCl (python3-nacl).

    >>> key = parse_key('{"agent": "tester", "kid": "t1", "alg": "hmac-sha256", '
    ...                 '"secret": "c2VjcmV0LXNoYXJlZC13aXRoLWFtcGQtb25seSE="}')
    >>> (key.agent, key.kid, key.alg, len(key.sign_bytes(b"data")))
    ('tester', 't1', 'hmac-sha256', 32)
    >>> len(auth_bytes("tester", "t1", bytes(32)))
    57
"""

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import time

from .canonical import _utf8
from .errors import AmpbusError

#: The first line of every auth proof (docs/protocol.md, "auth").
AUTH_CONTEXT = "ampbus-auth-v1"
#: Bytes of the nonce ampd sends in its hello reply.
AUTH_NONCE_BYTES = 32
ALGS = ("ed25519", "hmac-sha256")

_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


class KeyFileError(AmpbusError, ValueError):
    """A key file (or keyring entry) that cannot be used; the message names the field."""

    code = "BAD_KEY"


class Ed25519UnavailableError(AmpbusError):
    """Neither `cryptography` nor PyNaCl can be imported, so Ed25519 keys cannot be used."""

    code = "ED25519_UNAVAILABLE"


def _utf16_len(s):
    return len(s) + sum(1 for c in s if ord(c) > 0xFFFF)


def _b64(text, what):
    """The bytes of standard base64, padded or not (as the TypeScript SDK reads it); raises
    KeyFileError for anything else (URL-safe base64 included)."""
    if not isinstance(text, str) or not _BASE64.fullmatch(text):
        raise KeyFileError(f"{what} must be standard base64")
    body = text.rstrip("=")
    if len(body) % 4 == 1:
        raise KeyFileError(f"{what} must be standard base64 (its length is impossible)")
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError) as e:
        raise KeyFileError(f"{what} must be standard base64: {e}") from None


# -- Ed25519: cryptography, else PyNaCl ----------------------------------------------


class _Cryptography:
    name = "cryptography"

    def __init__(self):
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        self._priv, self._pub, self._invalid = Ed25519PrivateKey, Ed25519PublicKey, InvalidSignature
        self._raw = (Encoding.Raw, PublicFormat.Raw)
        self.public_of(bytes(32))  # an OpenSSL without Ed25519 fails here, not at the first signature

    def signer(self, seed):
        return self._priv.from_private_bytes(seed).sign

    def public_of(self, seed):
        return self._priv.from_private_bytes(seed).public_key().public_bytes(*self._raw)

    def verifier(self, public):
        key = self._pub.from_public_bytes(public)

        def verify(data, sig):
            try:
                key.verify(bytes(sig), data)
                return True
            except self._invalid:
                return False

        return verify


class _Nacl:
    name = "nacl"

    def __init__(self):
        import nacl.exceptions
        import nacl.signing

        self._signing, self._bad = nacl.signing, nacl.exceptions.BadSignatureError

    def signer(self, seed):
        key = self._signing.SigningKey(seed)
        return lambda data: bytes(key.sign(data).signature)

    def public_of(self, seed):
        return bytes(self._signing.SigningKey(seed).verify_key.encode())

    def verifier(self, public):
        key = self._signing.VerifyKey(public)

        def verify(data, sig):
            try:
                key.verify(data, bytes(sig))
                return True
            except self._bad:
                return False

        return verify


_backend = None


def ed25519_backend():
    """The Ed25519 implementation in use: an object with `name` ("cryptography" or "nacl").
    Raises Ed25519UnavailableError when neither library can be imported."""
    global _backend
    if _backend is None:
        problems = []
        for impl in (_Cryptography, _Nacl):
            try:
                _backend = impl()
                break
            except Exception as e:  # ImportError, or a cryptography built without Ed25519
                problems.append(f"{impl.name}: {e}")
        else:
            raise Ed25519UnavailableError(
                "Ed25519 needs the cryptography package (Debian: apt-get install python3-cryptography) "
                f"or PyNaCl (python3-nacl); neither works here ({'; '.join(problems)})")
    return _backend


# -- keys ---------------------------------------------------------------------------


class Key:
    """One key of an agent: `agent`, `kid`, `alg` ("ed25519" or "hmac-sha256").

    A signing key holds an Ed25519 seed or an HMAC secret; a verifying key (see
    `verifying_key`) an Ed25519 public key or an HMAC secret. `sign_bytes` signs raw
    bytes, `verify_bytes` checks them; `public_key` is the Ed25519 public key (32 bytes).
    repr() shows no secret.
    """

    __slots__ = ("agent", "kid", "alg", "_secret", "public_key", "_sign", "_verify")

    def __init__(self, agent, kid, alg, secret=None, public_key=None):
        if alg not in ALGS:
            raise KeyFileError(f'alg must be "ed25519" or "hmac-sha256" (was {json.dumps(alg)})')
        for name, value in (("agent", agent), ("kid", kid)):
            if (value is not None or name == "kid") and not (isinstance(value, str) and 1 <= _utf16_len(value) <= 128):
                raise KeyFileError(f"{name} must be a string of 1 to 128 characters")
        self.agent, self.kid, self.alg = agent, kid, alg
        self._sign = self._verify = None
        self.public_key = None
        if alg == "hmac-sha256":
            if secret is None:
                raise KeyFileError("an hmac-sha256 key has a secret")
            secret = bytes(secret)
            if not 16 <= len(secret) <= 1024:
                raise KeyFileError(f"an HMAC secret is 16 to 1024 bytes (this is {len(secret)})")
            self._secret = secret
            return
        self._secret = None
        impl = ed25519_backend()
        if secret is not None:
            secret = bytes(secret)
            if len(secret) != 32:
                raise KeyFileError(f"an Ed25519 privateKey is the 32-byte seed (this is {len(secret)} bytes)")
            self._secret = secret
            self._sign = impl.signer(secret)
            public_key = impl.public_of(secret)
        elif public_key is None:
            raise KeyFileError("an ed25519 key has a privateKey (to sign) or a publicKey (to verify)")
        public_key = bytes(public_key)
        if len(public_key) != 32:
            raise KeyFileError(f"an Ed25519 public key is 32 bytes (this is {len(public_key)})")
        self.public_key = public_key
        self._verify = impl.verifier(public_key)

    @property
    def can_sign(self):
        """True for an Ed25519 private key or an HMAC secret."""
        return self._secret is not None

    def sign_bytes(self, data):
        """The Ed25519 signature (64 bytes) or HMAC-SHA256 (32 bytes) of `data`."""
        data = bytes(data)
        if self.alg == "hmac-sha256":
            return hmac.new(self._secret, data, hashlib.sha256).digest()
        if self._sign is None:
            raise KeyFileError(f"key {self.kid} is an Ed25519 public key: it verifies, it cannot sign")
        return bytes(self._sign(data))

    def verify_bytes(self, data, sig):
        """True when `sig` is this key's signature (or MAC) of `data`."""
        data, sig = bytes(data), bytes(sig)
        if self.alg == "hmac-sha256":
            return len(sig) == 32 and hmac.compare_digest(hmac.new(self._secret, data, hashlib.sha256).digest(), sig)
        return len(sig) == 64 and self._verify(data, sig)

    def key_file(self):
        """The text of this key's key file (JSON, as `ampd keygen` writes it). Secret."""
        if not self.can_sign:
            raise KeyFileError(f"key {self.kid} is an Ed25519 public key: a key file holds the private key")
        field = "privateKey" if self.alg == "ed25519" else "secret"
        return json.dumps({"agent": self.agent, "kid": self.kid, "alg": self.alg,
                           field: base64.b64encode(self._secret).decode()}, indent=2) + "\n"

    def save(self, path, force=False):
        """Writes the key file to `path`, mode 600. An existing file is left alone
        (FileExistsError) unless `force`, which replaces it (its key is lost)."""
        text = self.key_file()
        path = os.fspath(path)
        if force and os.path.lexists(path):
            os.unlink(path)  # a link is replaced, not followed; the new file is born mode 600
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(path, 0o600)  # whatever the umask

    def keyring_entry(self):
        """This key as the keyring holds it: `{kid, alg, publicKey}` or `{kid, alg, secret}` (base64)."""
        if self.alg == "hmac-sha256":
            return {"kid": self.kid, "alg": self.alg, "secret": base64.b64encode(self._secret).decode()}
        return {"kid": self.kid, "alg": self.alg, "publicKey": base64.b64encode(self.public_key).decode()}

    def __repr__(self):
        kind = "secret" if self.alg == "hmac-sha256" else "private" if self.can_sign else "public"
        return f"Key(agent={self.agent!r}, kid={self.kid!r}, alg={self.alg!r}, {kind})"


def parse_key(text, source="key file"):
    """The Key in the text of a key file (JSON). Raises KeyFileError naming the bad field;
    fields other than agent, kid, alg, privateKey and secret are ignored."""
    try:
        f = json.loads(text)
    except ValueError as e:
        raise KeyFileError(f"{source}: a key file is JSON: {e}") from None
    if not isinstance(f, dict):
        raise KeyFileError(f'{source}: a key file is a JSON object {{"agent", "kid", "alg", "privateKey" or "secret"}}')
    for k in ("agent", "kid"):
        v = f.get(k)
        if not isinstance(v, str) or not 1 <= _utf16_len(v) <= 128:
            raise KeyFileError(f"{source}: {k} must be a string of 1 to 128 characters")
    alg = f.get("alg")
    if alg not in ALGS:
        raise KeyFileError(f'{source}: alg must be "ed25519" or "hmac-sha256" (was {json.dumps(alg)})')
    field = "privateKey" if alg == "ed25519" else "secret"
    if not isinstance(f.get(field), str):
        raise KeyFileError(f"{source}: an {alg} key file has {field}, in base64")
    raw = _b64(f[field], f"{source}: {field}")
    try:
        return Key(f["agent"], f["kid"], alg, secret=raw)
    except KeyFileError as e:
        raise KeyFileError(f"{source}: {e}") from None


def new_key(agent, kid=None, alg="ed25519"):
    """A new key of `agent`: an Ed25519 private key (a random 32-byte seed) or a 32-byte
    HMAC secret. `kid` defaults to NAME-YYYYMMDD-xxxx (4 random hex digits), as
    `ampd keygen` names keys. `save` writes its key file; `keyring_entry` is its
    entry for the keyring."""
    if kid is None:
        suffix = time.strftime("-%Y%m%d-", time.gmtime()) + os.urandom(2).hex()
        kid = agent[:128 - len(suffix)] + suffix
    return Key(agent, kid, alg, secret=os.urandom(32))


def load_key(path):
    """Reads the key file at `path` (what `ampd keygen --out` writes) into a Key."""
    with open(os.fspath(path), encoding="utf-8") as f:
        text = f.read()
    return parse_key(text, source=str(os.fspath(path)))


def verifying_key(kid, alg, key, agent=None):
    """A Key that verifies: `key` is the Ed25519 public key (32 bytes) or the HMAC secret,
    as bytes or base64 text (as in a keyring's `publicKey` / `secret`)."""
    raw = _b64(key, "key") if isinstance(key, str) else bytes(key)
    if alg == "ed25519":
        return Key(agent, kid, alg, public_key=raw)
    return Key(agent, kid, alg, secret=raw)


def keyring_keys(keyring):
    """Every key of a keyring (a dict, JSON text, or the path of the file `ampd --keyring`
    reads), by kid, as verifying Keys whose `agent` is the agent they belong to."""
    if isinstance(keyring, (str, os.PathLike)) and not str(keyring).lstrip().startswith("{"):
        with open(os.fspath(keyring), encoding="utf-8") as f:
            keyring = f.read()
    if isinstance(keyring, str):
        keyring = json.loads(keyring)
    out = {}
    for agent, entry in (keyring.get("agents") or {}).items():
        for i, k in enumerate(entry.get("keys") or []):
            raw = k.get("publicKey") if k.get("alg") == "ed25519" else k.get("secret")
            try:
                out[k["kid"]] = verifying_key(k.get("kid"), k.get("alg"), raw, agent=agent)
            except (KeyError, KeyFileError) as e:
                raise KeyFileError(f"agents.{agent}.keys[{i}]: {e}") from None
    return out


def as_key(key):
    """`key` as a Key: a Key as it is, or the path of a key file (str or os.PathLike)."""
    if isinstance(key, Key):
        return key
    if isinstance(key, (str, os.PathLike)):
        return load_key(key)
    raise TypeError(f"key must be an ampbus.Key (from ampbus.load_key) or a key file path, not {type(key).__name__}")


def auth_bytes(agent, kid, nonce):
    """What an auth proof signs: UTF-8 of "ampbus-auth-v1\\n" + agent + "\\n" + kid + "\\n",
    then the nonce bytes."""
    return _utf8(f"{AUTH_CONTEXT}\n{agent}\n{kid}\n") + bytes(nonce)


def prove_auth(key, agent, nonce):
    """The `proof` of `auth` for the hello reply's `nonce`: `key`'s signature of the auth bytes."""
    return key.sign_bytes(auth_bytes(agent, key.kid, nonce))
