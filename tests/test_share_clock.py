"""Refused input never moves the hub's clock: a forged arrival time cannot release held data early."""

import asyncio

from meshwarn.bus.embedded import EmbeddedBus
from meshwarn.share.agreements import load
from meshwarn.share.hub import Hub
from meshwarn.share.signing import HUB, KeyRing
from meshwarn.share.testing import ToyTracker, signed, unit_report
from meshwarn.store.sqlite import Store


def test_a_forged_arrival_on_junk_releases_nothing_early(tmp_path) -> None:
    agreements = load("trilateral")  # own-unit positions: rounded to 10 km, held 60 s
    ring = KeyRing.generate(tuple(agreements.partners))

    async def go() -> tuple[list[str], list[str]]:
        bus = EmbeddedBus()
        store = Store(tmp_path / "store.sqlite")
        hub = Hub(agreements, ring.public(), ring.private[HUB], ToyTracker, bus, store)
        await hub.start()
        seen: list[str] = []

        async def on_view(msg) -> None:  # noqa: ANN001
            seen.append(msg.subject)

        await bus.subscribe("view.USA.>", on_view)
        subject, payload = signed(ring, unit_report("u1", "JPN", ("JPN", "USA"), 1000.0))
        await bus.publish(subject, payload, {"arrival": "1000.5"})
        await bus.drain()
        await bus.publish("report.KOR.radar", b"junk", {"arrival": "1e12"})  # a partner's forged clock
        await bus.drain()
        before = list(seen)
        await hub.finish(1000.5 + 61.0)
        await bus.drain()
        await bus.close()
        store.close()
        return before, seen

    before, after = asyncio.run(go())
    assert "view.USA.unit" not in before  # still held: the junk was quarantined and moved no clock
    assert "view.USA.unit" in after  # released once its agreed delay had really passed
