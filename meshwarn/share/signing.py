"""Ed25519 signatures over canonical bytes, and the per-exercise key ring.

The canonical bytes of a message are its msgspec MessagePack encoding with the
``signature`` field empty, so signer and verifier agree byte for byte without
any JSON normalisation. Keys are generated per exercise; only the public
halves ever leave the partner node (they are what the hub and auditors hold).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from meshwarn.model import Report

HUB = "HUB"  # the hub's own key, for what it sends out
_encoder = msgspec.msgpack.Encoder()


def canonical_bytes(report: Report) -> bytes:
    return _encoder.encode(msgspec.structs.replace(report, signature=""))


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def sign_bytes(key: Ed25519PrivateKey, data: bytes) -> str:
    return base64.b64encode(key.sign(data)).decode("ascii")


def sign_report(key: Ed25519PrivateKey, report: Report) -> Report:
    return msgspec.structs.replace(report, signature=sign_bytes(key, canonical_bytes(report)))


def verify_bytes(public: Ed25519PublicKey, data: bytes, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        public.verify(raw, data)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass
class PublicKeys:
    """What the hub and an auditor know: each partner's (and the hub's) public key."""

    keys: dict[str, Ed25519PublicKey] = field(default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict[str, bytes]) -> PublicKeys:
        return cls({name: Ed25519PublicKey.from_public_bytes(value) for name, value in raw.items()})

    def raw(self) -> dict[str, bytes]:
        return {name: key.public_bytes(Encoding.Raw, PublicFormat.Raw) for name, key in self.keys.items()}

    def verify(self, owner: str, data: bytes, signature: str) -> bool:
        key = self.keys.get(owner)
        return key is not None and verify_bytes(key, data, signature)

    def signer_of(self, data: bytes, signature: str) -> str | None:
        """Which known key made this signature (to explain a wrong-key rejection)."""
        return next((name for name in self.keys if self.verify(name, data, signature)), None)


@dataclass
class KeyRing:
    """The private keys of one exercise: one per partner node, and the hub's."""

    private: dict[str, Ed25519PrivateKey]

    @classmethod
    def generate(cls, partners: list[str] | tuple[str, ...]) -> KeyRing:
        return cls({name: Ed25519PrivateKey.generate() for name in (*partners, HUB)})

    def public(self) -> PublicKeys:
        return PublicKeys({name: key.public_key() for name, key in self.private.items()})

    def sign(self, report: Report) -> Report:
        return sign_report(self.private[report.label.originator], report)
