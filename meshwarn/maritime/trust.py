"""Maritime reports signed by their partner nodes, then verified, stored and audited as the hub does.

`meshwarn maritime run` plays both ends of the bus. Each partner node signs its own reports (AIS it
received, its radar, patrol-aircraft and satellite detections) with its exercise key, by the
mechanism the missile reports use (:mod:`meshwarn.share.signing`). The hub side checks every
payload with the hub's own verifier (:class:`meshwarn.share.guard.Verifier`: label, known
originator, subject, signature by the originator's key and no other, replay, freshness), refuses a
failure into the quarantine with its reason (DIR/quarantine.jsonl and the store, as `exercise run`
does), and stores and logs what it accepts; only accepted reports reach the fusion. Views go out
signed with the hub key and are stored with their audit entries, so `meshwarn audit verify DIR`
covers a maritime run as it covers a missile one.

    DIR/keys.json        public keys of the partners' nodes and of the hub (base64)
    DIR/store.sqlite     keys, accepted reports, outgoing view messages, quarantine, audit chain
    DIR/quarantine.jsonl every refused report, with the reason

Checking an Ed25519 signature costs about three times making one, so verification dominates (over
80% of admitting a report). With many reports and spare cores (one worker per core beyond the first,
at most 8) the signature checks run in batches on worker processes while this one does the hub's
sequential checks and bookkeeping; every payload is still checked, and one whose signature did not
verify in its batch goes through the guard's own check, which names the reason.
The audit log is in processing order: the keys, each report in arrival order, then the views.
"""

from __future__ import annotations

import base64
import itertools
import json
import multiprocessing
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from meshwarn.errors import InputError
from meshwarn.exercise import write_jsonl
from meshwarn.maritime.views import ViewWriter, audience, share
from meshwarn.model import Delivery, MessageError, Report, from_msgpack, to_msgpack
from meshwarn.share import guard
from meshwarn.share.agreements import Agreements
from meshwarn.share.audit import STORE, AuditLog, keys_digest, sha256
from meshwarn.share.messages import QuarantineEntry, ViewMessage
from meshwarn.share.run import KEYS, QUARANTINE, fresh_store, subject_of
from meshwarn.share.signing import HUB, KeyRing, PublicKeys, canonical_bytes, sign_report
from meshwarn.store.sqlite import Store, open_read_only

Sent = tuple[str, bytes, float]  # (subject, payload, arrival): one report as it crosses the bus
Interfere = Callable[[list[Sent], KeyRing], list[Sent]]  # what a test (or an attacker) does on the bus
PARALLEL_MIN = 16_384  # fewer reports are handled in this process: starting workers would cost more
CHUNK = 2048
DOMAIN = "maritime"  # the store's meta "domain": which kind of run wrote it


def default_workers() -> int:
    # One core stays with this process (checks, store, audit): more workers than the other cores
    # only slow the run (measured on 2 cores: two workers beside it were slower than none).
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores - 1, 8))


# --- the partner nodes: each signs its own reports ----------------------------------------------


def sign_at_nodes(deliveries: Sequence[Delivery], ring: KeyRing, workers: int | None = None) -> list[Sent]:
    """Each report signed with its originator's node key as it goes on the bus.

    A report whose originator has no node key in this exercise goes unsigned: the hub refuses it."""
    items = [(d.report.label.originator, canonical_bytes(d.report)) for d in deliveries]
    nodes = {name: key for name, key in ring.private.items() if name != HUB}
    raw = {name: key.private_bytes_raw() for name, key in nodes.items()}
    payloads = _batched(items, workers, lambda here: _sign_all(nodes, here), _sign_chunk, _init_signer, raw)
    return [(subject_of(d.report), p, d.arrival) for d, p in zip(deliveries, payloads, strict=True)]


def _sign_all(keys: dict[str, Ed25519PrivateKey], items: Iterable[tuple[str, bytes]]) -> list[bytes]:
    out = []
    for origin, unsigned in items:
        key = keys.get(origin)
        out.append(unsigned if key is None else to_msgpack(sign_report(key, from_msgpack(unsigned, Report))))
    return out


# --- the hub: verify, quarantine or store, audit -------------------------------------------------


def _signature_verifies(keys: PublicKeys, payload: bytes) -> bool:
    try:
        report = from_msgpack(payload, Report)
    except MessageError:
        return False
    origin = report.label.originator
    return bool(report.signature) and keys.verify(origin, canonical_bytes(report), report.signature)


def verify_signatures(keys: PublicKeys, payloads: Iterable[bytes]) -> list[bool]:
    """Whether each payload's signature verifies for the originator its label names."""
    return [_signature_verifies(keys, p) for p in payloads]


class _BatchVerifier(guard.Verifier):
    """The hub's verifier, told before each check whether the payload's signature verified in a batch.

    A signature that verified there is not checked twice; any other is checked here by the guard
    itself (which gives the reason), so nothing passes that the hub would refuse."""

    verified = False

    def check_signature(self, report: Report) -> None:
        if not self.verified:
            super().check_signature(report)


@dataclass
class Ledger:
    """The store and its audit chain, written as the hub writes them: same tables, events and digests."""

    store: Store
    audit: AuditLog
    quarantine: list[QuarantineEntry] = field(default_factory=list)

    @classmethod
    def open(cls, store: Store, keys: PublicKeys) -> Ledger:
        ledger = cls(store, AuditLog(store))
        raw = keys.raw()
        store.put_keys(raw)
        store.put_meta("domain", DOMAIN)
        ledger.audit.append(0.0, HUB, "keys", "exercise", keys_digest(raw))
        return ledger

    def accept(self, report: Report, subject: str, payload: bytes, arrival: float, visible: str) -> None:
        origin = report.label.originator
        try:
            self.store.add_report(report.id, origin, report.kind, subject, arrival, visible, payload)
        except sqlite3.IntegrityError:  # an id seen before the verifier's replay memory begins
            raise guard.Rejected(
                f"replay of report {report.id} (already stored)", report.id, origin
            ) from None
        self.audit.append(arrival, origin, "accepted", report.id, sha256(payload))

    def refuse(self, subject: str, payload: bytes, arrival: float, why: guard.Rejected) -> None:
        seq = self.store.add_quarantine(arrival, subject, why.report_id, why.reason, payload)
        self.audit.append(arrival, why.originator or "?", "quarantined", str(seq), sha256(payload))
        self.quarantine.append(
            QuarantineEntry(
                arrival,
                subject,
                why.report_id,
                why.originator,
                why.reason,
                base64.b64encode(payload).decode(),
            )
        )

    def deliver(self, message: ViewMessage, payload: bytes) -> None:
        seq = self.store.add_outgoing(
            message.partner, message.subject, message.kind, message.time, message.release,
            ",".join(message.provenance), message.group, message.ref, payload,
        )  # fmt: skip
        self.audit.append(message.release, message.partner, "delivered", str(seq), sha256(payload))

    def withhold(self, time: float, partner: str, kind: str, ref: str, provenance: tuple[str, ...]) -> None:
        # Fail closed, and say so: a product this partner may not have (as the hub logs it).
        self.audit.append(time, partner, "withheld", f"{kind}:{ref}", sha256(",".join(provenance).encode()))

    def group(self, gid: str, members: Sequence[str]) -> None:
        self.store.add_group(gid, ",".join(sorted(members)), "")


def admit(
    sent: Sequence[Sent],
    agreements: Agreements,
    keys: PublicKeys,
    ledger: Ledger,
    workers: int | None = None,
) -> list[Delivery]:
    """The reports the hub accepts, in the order they came; every other one quarantined with its reason."""
    verifier = _BatchVerifier(agreements, keys)
    payloads = [p for _, p, _ in sent]
    # Here, the verifier checks each signature itself; in batches, workers check them beforehand.
    flags = _batched(
        payloads, workers, lambda here: [False] * len(here), _verify_chunk, _init_verifier, keys.raw()
    )
    audiences: dict[tuple, str] = {}
    accepted = []
    for (subject, payload, arrival), verified in zip(sent, flags, strict=True):
        verifier.verified = verified
        try:
            report = verifier.check(subject, payload, arrival)
            ledger.accept(report, subject, payload, arrival, _visible(report, agreements, audiences))
        except guard.Rejected as why:
            ledger.refuse(subject, payload, arrival, why)
            continue
        accepted.append(Delivery(arrival, report))
    return accepted


def _visible(report: Report, agreements: Agreements, cache: dict[tuple, str]) -> str:
    """Who may see the report in their maritime picture (stored as the hub stores ``visible_to``)."""
    key = (report.label.originator, report.kind, report.label.releasable_to)
    if key not in cache:
        cache[key] = ",".join(sorted(audience(report, agreements)))
    return cache[key]


# --- batches on worker processes ----------------------------------------------------------------

_worker: dict[str, Any] = {}  # what a worker process was given at start: its keys


def _init_signer(raw: dict[str, bytes]) -> None:
    _worker["sign"] = {name: Ed25519PrivateKey.from_private_bytes(key) for name, key in raw.items()}


def _sign_chunk(items: list[tuple[str, bytes]]) -> list[bytes]:
    return _sign_all(_worker["sign"], items)


def _init_verifier(raw: dict[str, bytes]) -> None:
    _worker["verify"] = PublicKeys.from_raw(raw)


def _verify_chunk(payloads: list[bytes]) -> list[bool]:
    return verify_signatures(_worker["verify"], payloads)


def _batched(
    items: list,
    workers: int | None,
    local: Callable[[list], list],
    chunk_fn: Callable[[list], list],
    init: Callable[[dict[str, bytes]], None],
    raw: dict[str, bytes],
) -> Iterator:
    """One result per item, in order: ``chunk_fn`` on worker processes (started with ``init(raw)``)
    when there are enough items, else ``local`` here. Batches come back as they finish, so the
    caller works on the first while the workers do the next."""
    workers = default_workers() if workers is None else workers
    if workers <= 1 or len(items) < PARALLEL_MIN:
        return iter(local(items))
    chunks = [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]
    return itertools.chain.from_iterable(_in_pool(chunks, workers, chunk_fn, init, raw))


def _in_pool(
    chunks: list[list], workers: int, chunk_fn: Callable[[list], list], init: Callable, raw: dict[str, bytes]
) -> Iterator[list]:
    # forkserver: workers start from a clean process, not a fork of this one and whatever threads it has.
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=init, initargs=(raw,)) as pool:
        yield from pool.map(chunk_fn, chunks)


# --- one maritime run -----------------------------------------------------------------------------


@dataclass
class Outcome:
    reports: int  # sent by the nodes (and whatever else came over the bus)
    accepted: int
    quarantine: list[QuarantineEntry]
    groups: list[dict]  # one summary per entitlement group
    counts: dict[str, int]  # view messages per partner
    writer: ViewWriter


def check_out(directory: Path) -> None:
    """Refuse to replace another kind of run's store (a missile exercise's) with a maritime one."""
    path = Path(directory) / STORE
    if not path.exists():
        return
    domain = _stored_domain(path)
    if domain != DOMAIN:
        raise InputError(f"{directory} holds another exercise's {STORE}: choose another --out")


def _stored_domain(path: Path) -> str | None:
    """The domain a store was made for, read without writing to the file (it may be someone else's)."""
    db = open_read_only(path, "a store")
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'domain'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise InputError(f"{path}: not a meshwarn store ({exc}); choose another --out") from None
    finally:
        db.close()
    return None if row is None else str(row[0])


def run_shared(
    directory: Path,
    deliveries: Sequence[Delivery],
    scenario: dict,
    agreements: Agreements,
    snapshot_s: float = 600.0,
    interfere: Interfere | None = None,
    workers: int | None = None,
) -> Outcome:
    """Nodes sign, the hub verifies and stores, fuses once per entitlement group, views go out signed."""
    directory = Path(directory)
    check_out(directory)
    ring = KeyRing.generate(tuple(agreements.partners))
    public = ring.public()
    keys_json = {name: base64.b64encode(raw).decode() for name, raw in public.raw().items()}
    (directory / KEYS).write_text(json.dumps(keys_json, indent=1))
    store = fresh_store(directory)
    try:
        ledger = Ledger.open(store, public)
        sent = sign_at_nodes(deliveries, ring, workers)
        if interfere is not None:
            sent = interfere(sent, ring)
        accepted = admit(sent, agreements, public, ledger, workers)
        count = len(sent)
        del sent  # the payloads are in the store now; the fusion below needs the memory more
        write_jsonl(directory / QUARANTINE, ledger.quarantine)
        writer, groups = share(accepted, scenario, agreements, snapshot_s)
        for g in groups:
            ledger.group(g["group"], g["members"])
        counts = writer.write(directory, ring.private[HUB], ledger)
    finally:
        store.close()
    return Outcome(count, len(accepted), ledger.quarantine, groups, counts, writer)
