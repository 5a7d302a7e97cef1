"""Tampered copies of genuine report payloads, to show (and test) that the hub fails closed."""

from __future__ import annotations

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from meshwarn.model import Report, from_msgpack, to_msgpack
from meshwarn.share.signing import KeyRing, sign_report

UNKNOWN = "ZZZ"


def flip_byte(payload: bytes, index: int | None = None) -> bytes:
    index = len(payload) // 2 if index is None else index
    return payload[:index] + bytes([payload[index] ^ 0x01]) + payload[index + 1 :]


def wrong_key(payload: bytes, ring: KeyRing) -> bytes:
    report = from_msgpack(payload, Report)
    other = next(name for name in ring.private if name != report.label.originator)
    return to_msgpack(sign_report(ring.private[other], report))


def unknown_originator(payload: bytes) -> tuple[str, bytes]:
    report = from_msgpack(payload, Report)
    label = msgspec.structs.replace(report.label, originator=UNKNOWN)
    forged = msgspec.structs.replace(report, id=report.id + "-forged", label=label)
    return f"report.{UNKNOWN}.{report.kind}", to_msgpack(sign_report(Ed25519PrivateKey.generate(), forged))


def tampered(
    genuine: list[tuple[str, bytes, float]], ring: KeyRing, now: float
) -> list[tuple[str, bytes, float]]:
    """A flipped byte, a replay, a wrong key and an unknown originator, made from genuine payloads."""
    (s1, p1, _), (s2, p2, _), (s3, p3, _), (_s4, p4, _) = (genuine * 4)[:4]
    forged_subject, forged = unknown_originator(p4)
    return [
        (s1, flip_byte(p1), now),
        (s2, p2, now),
        (s3, wrong_key(p3, ring), now),
        (forged_subject, forged, now),
    ]
