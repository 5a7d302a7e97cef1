"""A toy tracker and report makers, for testing the hub without the real tracker.

The toy tracker associates radar plots by range bin (one "object" per 100 km of
range) and keeps, per track, the originators it has seen: enough for the hub's
releasability and lineage logic to be exercised, nothing more.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import msgspec

from meshwarn.bus.base import Msg
from meshwarn.bus.embedded import EmbeddedBus
from meshwarn.model import Label, RadarPlot, Report, Track, UnitPosition, from_msgpack, to_msgpack
from meshwarn.share.agreements import Agreements
from meshwarn.share.hub import Hub, TrackerFactory, WarnHook
from meshwarn.share.messages import ViewMessage
from meshwarn.share.signing import HUB, KeyRing
from meshwarn.store.sqlite import Store


@dataclass
class ToyTracker:
    bin_m: float = 100_000.0
    state: dict[str, tuple[float, int, set[str]]] = field(default_factory=dict)

    def process(self, report: Report, arrival: float) -> list[Track]:
        body = report.body
        if not isinstance(body, RadarPlot):
            return []
        tid = f"T{int(body.range_m // self.bin_m)}"
        _time, count, origins = self.state.get(tid, (0.0, 0, set()))
        origins = origins | {report.label.originator}
        self.state[tid] = (body.time, count + 1, origins)
        return [self._track(tid, body.time)]

    def tracks(self, now: float) -> list[Track]:
        return [self._track(tid, now) for tid in self.state]

    def _track(self, tid: str, now: float) -> Track:
        time, count, origins = self.state[tid]
        status = "confirmed" if count >= 3 else "tentative"
        if now - time > 60.0:
            status = "coasting"
        return Track(
            id=tid,
            time=time,
            status=status,
            phase="ballistic",
            lat=38.0,
            lon=130.0,
            h=100_000.0,
            velocity_ecef=(1000.0, 0.0, 0.0),
            sigma_position_m=500.0 / count,
            provenance=tuple(sorted(origins)),
            report_count=count,
        )


def radar_report(
    rid: str,
    origin: str,
    releasable: tuple[str, ...],
    t: float,
    range_m: float = 150_000.0,
    cls: str = "SECRET",
) -> Report:
    plot = RadarPlot(
        time=t,
        sensor=f"{origin}-R1",
        sensor_lat=37.123,
        sensor_lon=127.456,
        sensor_h=100.0,
        range_m=range_m,
        azimuth_deg=10.0,
        elevation_deg=5.0,
        sigma_range_m=100.0,
        sigma_azimuth_deg=0.1,
        sigma_elevation_deg=0.1,
    )
    return Report(rid, Label(origin, cls, releasable), t, plot)  # type: ignore[arg-type]


def unit_report(rid: str, origin: str, releasable: tuple[str, ...], t: float) -> Report:
    unit = UnitPosition(
        time=t, unit=f"{origin}-DDG", lat=37.51234, lon=131.98765, h=0.0, speed_mps=8.0, course_deg=90.0
    )
    return Report(rid, Label(origin, "CONFIDENTIAL", releasable), t, unit)


@dataclass
class HubRun:
    hub: Hub
    views: dict[str, list[ViewMessage]]
    receipts: dict[str, list[dict]]


def signed(ring: KeyRing, report: Report) -> tuple[str, bytes]:
    return f"report.{report.label.originator}.{report.kind}", to_msgpack(ring.sign(report))


def run_hub(
    agreements: Agreements,
    ring: KeyRing,
    items: list[tuple[str, bytes, float]],
    store: Store,
    warn: WarnHook | None = None,
    tracker: TrackerFactory = ToyTracker,
    **options: object,
) -> HubRun:
    """Feed (subject, payload, arrival) through the bus into a hub; collect every view and receipt."""

    async def go() -> HubRun:
        bus = EmbeddedBus()
        hub = Hub(agreements, ring.public(), ring.private[HUB], tracker, bus, store, warn=warn, **options)  # type: ignore[arg-type]
        await hub.start()
        views: dict[str, list[ViewMessage]] = {p: [] for p in agreements.partners}
        receipts: dict[str, list[dict]] = {p: [] for p in agreements.partners}

        async def on_view(msg: Msg) -> None:
            views[msg.subject.split(".")[1]].append(from_msgpack(msg.data, ViewMessage))

        async def on_audit(msg: Msg) -> None:
            receipts[msg.subject.split(".")[1]].append(msgspec.msgpack.decode(msg.data))

        await bus.subscribe("view.>", on_view)
        await bus.subscribe("audit.*", on_audit)
        for subject, payload, arrival in items:
            await bus.publish(subject, payload, {"arrival": repr(arrival)})
            await bus.drain()
        await hub.finish()
        await bus.drain()
        await bus.close()
        store.commit()
        return HubRun(hub, views, receipts)

    return asyncio.run(go())
