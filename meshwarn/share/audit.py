"""The hash-chained audit log, and checking an exercise's store against it.

Each entry is (time, partner, event, ref, digest) plus ``prev``, the hash of
the entry before, and ``hash`` = SHA-256(prev | time | partner | event | ref |
digest). ``digest`` is the SHA-256 of the exact bytes the entry is about (an
accepted report, an outgoing message, a quarantined payload, the key set), so
editing a stored message, an entry, or removing an entry breaks the chain or a
digest. The first entry commits to the public keys.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from meshwarn.errors import InputError
from meshwarn.model import MessageError, Report, from_msgpack
from meshwarn.share.messages import ViewMessage
from meshwarn.share.signing import HUB, PublicKeys, canonical_bytes
from meshwarn.store.sqlite import Store, open_read_only

GENESIS = "0" * 64
STORE = "store.sqlite"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stored_digest(value: object) -> str | None:
    """The SHA-256 of a stored payload; None when the column holds no bytes at all (SQLite keeps
    whatever type was written, so an edited store can hold text or a number where bytes were)."""
    return sha256(value) if isinstance(value, bytes) else None


def entry_hash(prev: str, time: float, partner: str, event: str, ref: str, digest: str) -> str:
    text = "|".join((prev, repr(float(time)), partner, event, ref, digest))
    return sha256(text.encode())


def keys_digest(raw: dict[str, bytes]) -> str:
    return sha256(b"".join(name.encode() + b"=" + key for name, key in sorted(raw.items())))


class AuditLog:
    """Appends chained entries to the store; ``head`` is the latest hash (partners get it in receipts)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.head = store.last_audit_hash() or GENESIS

    def append(self, time: float, partner: str, event: str, ref: str, digest: str) -> str:
        new = entry_hash(self.head, time, partner, event, ref, digest)
        self.store.add_audit((time, partner, event, ref, digest, self.head, new))
        self.head = new
        return new


def view_canonical(message: ViewMessage) -> bytes:
    import msgspec

    return msgspec.msgpack.encode(msgspec.structs.replace(message, signature=""))


@dataclass
class Finding:
    entry: int  # audit sequence number (0: not in the log at all)
    problem: str

    def __str__(self) -> str:
        return f"audit entry {self.entry}: {self.problem}" if self.entry else self.problem


def verify_store(store: Store) -> list[Finding]:
    """Every problem found, earliest audit entry first; empty when all is intact."""
    findings: list[Finding] = []
    digests: dict[tuple[str, str], tuple[int, str]] = {}
    prev = GENESIS
    for seq, time, partner, event, ref, digest, stored_prev, stored_hash in store.audit():
        if stored_prev != prev:
            findings.append(Finding(seq, "chain broken: prev does not match the hash of the entry before"))
        elif _rehash(prev, time, partner, event, ref, digest) != stored_hash:
            findings.append(Finding(seq, f"entry edited: {event} {ref} does not hash to its stored hash"))
        prev = stored_hash
        digests[(event, ref)] = (seq, digest)
    raw_keys: dict[str, bytes] = {}
    for name, key in store.db.execute("SELECT name, public_key FROM keys"):
        if isinstance(name, str) and isinstance(key, bytes):
            raw_keys[name] = key
        else:
            findings.append(Finding(0, f"public key {name!r} is stored as {type(key).__name__}, not bytes"))
    findings += _check_keys(raw_keys, digests)
    try:
        keys = PublicKeys.from_raw(raw_keys)
    except ValueError:  # a key that is not an Ed25519 key at all: nothing can be verified with it
        findings.append(Finding(0, "a stored public key is not a valid Ed25519 key"))
        return sorted(findings, key=lambda f: (f.entry == 0, f.entry))
    findings += _check_reports(store, keys, digests)
    findings += _check_outgoing(store, keys, digests)
    findings += _check_quarantine(store, digests)
    return sorted(findings, key=lambda f: (f.entry == 0, f.entry))


def _rehash(prev: str, time: object, partner: object, event: object, ref: object, digest: object) -> str:
    """The hash an entry should have; '' when its fields are not even of their types (edited)."""
    try:
        return entry_hash(prev, time, partner, event, ref, digest)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""


def _check_keys(raw: dict[str, bytes], digests: dict[tuple[str, str], tuple[int, str]]) -> list[Finding]:
    seq, digest = digests.get(("keys", "exercise"), (0, ""))
    if digest != keys_digest(raw):
        return [Finding(seq, "public keys differ from those the log committed to")]
    return []


def _check_reports(store: Store, keys: PublicKeys, digests: dict) -> list[Finding]:
    out = []
    for rid, origin, _subject, _vis, payload in store.reports():
        seq, digest = digests.get(("accepted", rid), (0, ""))
        if not seq:
            out.append(Finding(0, f"report {rid} is stored but was never logged as accepted"))
            continue
        if stored_digest(payload) != digest:
            out.append(Finding(seq, f"report {rid}: stored bytes differ from those logged"))
            continue
        try:
            report = from_msgpack(payload, Report)
        except MessageError as exc:
            out.append(Finding(seq, f"report {rid}: {exc}"))
            continue
        if report.label.originator != origin or not keys.verify(
            origin, canonical_bytes(report), report.signature
        ):
            out.append(Finding(seq, f"report {rid}: signature does not verify for {origin}"))
    return out


def _check_outgoing(store: Store, keys: PublicKeys, digests: dict) -> list[Finding]:
    out = []
    for seq_out, partner, _kind, _prov, _grp, _ref, payload in store.outgoing():
        seq, digest = digests.get(("delivered", str(seq_out)), (0, ""))
        if not seq:
            out.append(Finding(0, f"outgoing message {seq_out} to {partner} was never logged"))
            continue
        if stored_digest(payload) != digest:
            out.append(
                Finding(seq, f"outgoing message {seq_out} to {partner}: bytes differ from those logged")
            )
            continue
        try:
            message = from_msgpack(payload, ViewMessage)
        except MessageError as exc:
            out.append(Finding(seq, f"outgoing message {seq_out}: {exc}"))
            continue
        if not keys.verify(HUB, view_canonical(message), message.signature):
            out.append(
                Finding(seq, f"outgoing message {seq_out} to {partner}: hub signature does not verify")
            )
    return out


def _check_quarantine(store: Store, digests: dict) -> list[Finding]:
    out = []
    for seq_q, payload in store.db.execute("SELECT seq, payload FROM quarantine ORDER BY seq"):
        seq, digest = digests.get(("quarantined", str(seq_q)), (0, ""))
        if not seq or stored_digest(payload) != digest:
            out.append(Finding(seq, f"quarantined payload {seq_q} differs from the one logged"))
    return out


TABLES = ("keys", "reports", "outgoing", "quarantine", "audit")  # what verify_store reads


def check_store_file(path: Path) -> None:
    """Refuse, naming the file, what is not a meshwarn store, before opening it as one.

    Opening it as a store would add the store's tables to any SQLite file (an empty file included)
    and then find nothing wrong with an empty audit chain; so the file is looked at read-only first."""
    db = open_read_only(path)
    try:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = [t for t in TABLES if t not in tables]
        if not missing and db.execute("SELECT count(*) FROM audit").fetchone()[0] == 0:
            missing = ["audit entries"]
    except sqlite3.DatabaseError as exc:
        raise InputError(f"{path}: not a readable meshwarn store ({exc})") from None
    finally:
        db.close()
    if missing:
        raise InputError(f"{path}: not a meshwarn store (no {', '.join(missing)})")


def verify_dir(directory: Path) -> list[Finding]:
    path = Path(directory) / STORE
    if not Path(directory).is_dir():
        raise InputError(f"{directory}: not a directory (give an exercise directory)")
    if not path.exists():
        raise InputError(f"{directory}: no {STORE} (not a `meshwarn exercise run` directory)")
    check_store_file(path)
    try:
        store = Store(path)
    except sqlite3.DatabaseError as exc:
        raise InputError(f"{path}: cannot open the store ({exc})") from None
    try:
        return verify_store(store)
    except sqlite3.DatabaseError as exc:  # e.g. a truncated file: the header is there, pages are not
        raise InputError(f"{path}: damaged store ({exc}); nothing in it can be verified") from None
    finally:
        store.db.close()
