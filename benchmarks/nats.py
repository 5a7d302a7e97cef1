"""Reports per second and latency over NATS JetStream: partner node -> hub -> partner view, next to raw rates.

One nats-server with the trilateral accounts on 127.0.0.1. Three paths, same payload size
(a signed radar report):

- core:   core NATS publish -> subscribe (no persistence, no acks), hub account
- stream: NatsBus publish (PubAck) from the KOR account -> REPORTS -> a hub-account pull consumer (acked)
- hub:    KOR node publishes signed reports -> the real Hub (verify, store, audit, sign, relay raw radar
          under the KOR-USA agreement; a tracker that fuses nothing) -> view.USA.radar -> USA's durable
          consumer through its account's imports. The hub's consumer is configured as `meshwarn hub`
          runs it: one report in flight at a time (stream order survives a crash)

Each path: saturation rate (N messages as fast as the publisher goes, until the last one is received),
then latency at a steady 50% of the hub path's saturation rate. Runs in well under 2 minutes.
Writes benchmarks/results/nats.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

# This file is named nats.py: take its own folder off the path so `import nats` finds nats-py.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nats  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.machine import describe  # noqa: E402
from meshwarn.bus.base import Msg  # noqa: E402
from meshwarn.bus.nats import NatsBus  # noqa: E402
from meshwarn.deploy import nats_config, server  # noqa: E402
from meshwarn.deploy.processes import HUB_CONSUMER  # noqa: E402
from meshwarn.model import Report, Track, from_msgpack, to_msgpack  # noqa: E402
from meshwarn.share.agreements import load  # noqa: E402
from meshwarn.share.hub import Hub  # noqa: E402
from meshwarn.share.messages import ViewMessage  # noqa: E402
from meshwarn.share.signing import HUB, KeyRing  # noqa: E402
from meshwarn.share.testing import radar_report  # noqa: E402
from meshwarn.store.sqlite import Store  # noqa: E402

SATURATE_N = 1500
STEADY_S = 6.0
OUT = Path(__file__).resolve().parent / "results" / "nats.json"


class NoFusion:
    """The benchmark measures the hub's verification and relay, not the tracker."""

    def process(self, report: Report, arrival: float) -> list[Track]:
        return []

    def tracks(self, now: float) -> list[Track]:
        return []


Send = Callable[[int], Awaitable[None]]


class Probe:
    """Send times by index, receive times by index."""

    def __init__(self) -> None:
        self.sent: dict[int, float] = {}
        self.got: dict[int, float] = {}
        self.done = asyncio.Event()
        self.expect = 0

    def received(self, index: int) -> None:
        self.got[index] = time.perf_counter()
        if len(self.got) >= self.expect:
            self.done.set()

    async def saturate(self, send: Send, first: int, n: int) -> float:
        self.expect, self.done = len(self.got) + n, asyncio.Event()
        start = time.perf_counter()
        for i in range(first, first + n):
            self.sent[i] = time.perf_counter()
            await send(i)
        await asyncio.wait_for(self.done.wait(), 60)
        return n / (time.perf_counter() - start)

    async def steady(self, send: Send, first: int, rate: float, seconds: float) -> list[float]:
        n = int(rate * seconds)
        self.expect, self.done = len(self.got) + n, asyncio.Event()
        start = time.perf_counter()
        for k, i in enumerate(range(first, first + n)):
            await asyncio.sleep(max(0.0, start + k / rate - time.perf_counter()))
            self.sent[i] = time.perf_counter()
            await send(i)
        await asyncio.wait_for(self.done.wait(), 60)
        return [(self.got[i] - self.sent[i]) * 1000 for i in range(first, first + n)]


def stats(rate: float, latencies: list[float]) -> dict[str, float]:
    lat = np.array(latencies)
    return {
        "saturation_per_s": round(rate, 1),
        "p50_ms": round(float(np.percentile(lat, 50)), 2),
        "p99_ms": round(float(np.percentile(lat, 99)), 2),
        "steady_messages": len(latencies),
    }


async def core_path(url: str, size: int, steady_rate: float) -> dict[str, float]:
    nc = await nats.connect(url)
    probe = Probe()

    async def on_msg(msg) -> None:  # type: ignore[no-untyped-def]
        probe.received(int.from_bytes(msg.data[:4], "big"))

    await nc.subscribe("bench.core", cb=on_msg)
    pad = bytes(size - 4)

    async def send(i: int) -> None:
        await nc.publish("bench.core", i.to_bytes(4, "big") + pad)

    rate = await probe.saturate(send, 0, SATURATE_N * 4)
    lat = await probe.steady(send, SATURATE_N * 4, steady_rate, STEADY_S)
    await nc.close()
    return stats(rate, lat)


async def stream_path(dep: nats_config.Deployment, size: int, steady_rate: float) -> dict[str, float]:
    hub = await NatsBus.connect(dep.urls["HUB"], name="raw", partners=dep.partners)
    kor = await NatsBus.connect(dep.urls["KOR"], partner="KOR")
    probe = Probe()

    async def on_msg(msg: Msg) -> None:
        probe.received(int.from_bytes(msg.data[:4], "big"))

    await hub.subscribe("report.KOR.>", on_msg, durable="raw")
    pad = bytes(size - 4)

    async def send(i: int) -> None:
        await kor.publish("report.KOR.radar", i.to_bytes(4, "big") + pad)

    rate = await probe.saturate(send, 0, SATURATE_N)
    lat = await probe.steady(send, SATURATE_N, steady_rate, STEADY_S)
    await hub.js.delete_consumer("REPORTS", "raw")
    await hub.js.purge_stream("REPORTS")
    await kor.close()
    await hub.close()
    return stats(rate, lat)


async def hub_path(dep: nats_config.Deployment, workdir: Path, rate_hint: float | None) -> tuple[dict, int]:
    agreements = load("trilateral")
    ring = KeyRing.generate(tuple(agreements.partners))
    bus = await NatsBus.connect(dep.urls["HUB"], name="hub", partners=dep.partners, **HUB_CONSUMER)
    store = Store(workdir / "store.sqlite")
    hub = Hub(agreements, ring.public(), ring.private[HUB], NoFusion, bus, store)
    await hub.start()
    kor = await NatsBus.connect(dep.urls["KOR"], partner="KOR")
    usa = await NatsBus.connect(dep.urls["USA"], partner="USA")
    probe = Probe()

    async def on_view(msg: Msg) -> None:
        probe.received(int(from_msgpack(msg.data, ViewMessage).ref.split("-")[1]))

    await usa.subscribe("view.USA.radar", on_view)
    size = 0

    async def send(i: int) -> None:
        nonlocal size
        report = ring.sign(radar_report(f"KOR-{i}", "KOR", ("KOR", "JPN", "USA"), time.time()))
        payload = to_msgpack(report)
        size = len(payload)
        await kor.publish(f"report.KOR.{report.kind}", payload, msg_id=report.id)

    rate = await probe.saturate(send, 0, SATURATE_N)
    steady = rate_hint or rate / 2
    lat = await probe.steady(send, SATURATE_N, steady, STEADY_S)
    for client in (usa, kor, bus):
        await client.close()
    store.close()
    return stats(rate, lat), size


async def main() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        port = server.free_port()
        dep = nats_config.generate("trilateral", work / "nats", port=port, leaf_port=None)
        with server.NatsServer(dep.config, port, work / "nats"):
            t0 = time.perf_counter()
            through_hub, size = await hub_path(dep, work, None)
            steady_rate = through_hub["saturation_per_s"] / 2
            # the raw paths again at the same size and the same steady rate, on a clean stream
            bus = await NatsBus.connect(dep.urls["HUB"])
            await bus.js.purge_stream("REPORTS")
            await bus.close()
            stream = await stream_path(dep, size, steady_rate)
            core = await core_path(dep.urls["HUB"], size, steady_rate)
            elapsed = time.perf_counter() - t0
    return {
        "payload_bytes": size,
        "saturate_messages": SATURATE_N,
        "steady_rate_per_s": round(steady_rate, 1),
        "steady_seconds": STEADY_S,
        "through_hub": through_hub,
        "raw_jetstream": stream,
        "raw_core_nats": core,
        "ratio_hub_to_raw_jetstream": round(through_hub["saturation_per_s"] / stream["saturation_per_s"], 3),
        "ratio_hub_to_raw_core": round(through_hub["saturation_per_s"] / core["saturation_per_s"], 4),
        "nats_server": server.VERSION,
        "wall_s": round(elapsed, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),  # the machine is shared: context for the figures
        "machine": describe(),
    }


if __name__ == "__main__":
    result = asyncio.run(main())
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
