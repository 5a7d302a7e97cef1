"""One exercise end to end on the embedded bus: partner nodes sign -> bus -> hub -> views on disk.

DIR/views/<PARTNER>.jsonl  every message released to PARTNER (ViewMessage as JSON), in release order
DIR/quarantine.jsonl       every refused report, with the reason
DIR/store.sqlite           accepted reports, outgoing messages, lineage, hash-chained audit log
DIR/keys.json              the exercise's public keys (base64), partners' and the hub's
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import msgspec

from meshwarn.bus.base import Msg
from meshwarn.bus.embedded import EmbeddedBus
from meshwarn.exercise import write_jsonl
from meshwarn.model import Delivery, Report, to_msgpack
from meshwarn.share.agreements import Agreements
from meshwarn.share.audit import STORE
from meshwarn.share.hub import Hub, TrackerFactory, WarnHook
from meshwarn.share.signing import HUB, KeyRing
from meshwarn.store.sqlite import Store

VIEWS = "views"
QUARANTINE = "quarantine.jsonl"
KEYS = "keys.json"


@dataclass
class Outcome:
    hub: Hub
    reports: int
    wall_s: float


def subject_of(report: Report) -> str:
    return f"report.{report.label.originator}.{report.kind}"


def fresh_store(directory: Path) -> Store:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{directory / STORE}{suffix}").unlink(missing_ok=True)
    return Store(directory / STORE)


class ViewWriter:
    """Subscribes to ``view.>`` and appends each message, as JSON, to views/<PARTNER>.jsonl."""

    def __init__(self, directory: Path, partners: Iterable[str]) -> None:
        folder = directory / VIEWS
        folder.mkdir(parents=True, exist_ok=True)
        self.files = {p: (folder / f"{p}.jsonl").open("wb") for p in partners}

    async def __call__(self, msg: Msg) -> None:
        partner = msg.subject.split(".")[1]
        file = self.files[partner]
        file.write(msgspec.json.encode(msgspec.msgpack.decode(msg.data)) + b"\n")
        file.flush()  # whole lines as they come: `meshwarn serve --live` follows a running hub
        await msg.ack()

    def close(self) -> None:
        for file in self.files.values():
            file.close()


def pace(speed: str) -> float | None:
    """Seconds of wall time per second of exercise time; None: as fast as possible."""
    if speed == "max":
        return None
    if speed == "realtime":
        return 1.0
    factor = float(speed)
    return 1.0 / factor


async def run_exercise(
    deliveries: Iterable[Delivery],
    agreements: Agreements,
    directory: Path,
    tracker_factory: TrackerFactory,
    speed: str = "max",
    warn: WarnHook | None = None,
    faults: bool = False,
) -> Outcome:
    directory.mkdir(parents=True, exist_ok=True)
    ring = KeyRing.generate(tuple(agreements.partners))
    public = ring.public()
    keys_json = {name: base64.b64encode(raw).decode() for name, raw in public.raw().items()}
    (directory / KEYS).write_text(json.dumps(keys_json, indent=1))
    store = fresh_store(directory)
    bus = EmbeddedBus()
    hub = Hub(agreements, public, ring.private[HUB], tracker_factory, bus, store, warn=warn)
    await hub.start()
    writer = ViewWriter(directory, agreements.partners)
    await bus.subscribe("view.>", writer)
    wall_per_s = pace(speed)
    start, first, count = time.perf_counter(), None, 0
    sent: list[tuple[str, bytes, float]] = []
    for delivery in deliveries:
        report = delivery.report
        if report.label.originator in ring.private:
            report = ring.sign(report)  # the partner node signs what it sends
        first = delivery.arrival if first is None else first
        if wall_per_s is not None:
            await asyncio.sleep(
                max(0.0, start + (delivery.arrival - first) * wall_per_s - time.perf_counter())
            )
        payload = to_msgpack(report)
        await bus.publish(subject_of(report), payload, {"arrival": repr(delivery.arrival)})
        await bus.drain()
        count += 1
        if faults:  # keep the latest few: a replay of them is still within the freshness window
            sent = [*sent[-3:], (subject_of(report), payload, delivery.arrival)]
    if faults:
        from meshwarn.share.faults import tampered

        for subject, payload, arrival in tampered(sent, ring, hub.now):
            await bus.publish(subject, payload, {"arrival": repr(arrival)})
            await bus.drain()
    await hub.finish()
    await bus.drain()
    await bus.close()
    writer.close()
    write_jsonl(directory / QUARANTINE, hub.quarantine)
    store.close()
    return Outcome(hub, count, time.perf_counter() - start)
