"""The embedded bus: NATS subject wildcards, per-subscriber order, acknowledgements and redelivery."""

import asyncio

import pytest

from meshwarn.bus.base import Msg, encode, subject_matches, valid_pattern
from meshwarn.bus.embedded import EmbeddedBus
from meshwarn.errors import InputError


@pytest.mark.parametrize(
    ("pattern", "subject", "match"),
    [
        ("report.>", "report.KOR.radar", True),
        ("report.>", "report", False),
        ("report.*.radar", "report.KOR.radar", True),
        ("report.*.radar", "report.KOR.ir", False),
        ("report.*", "report.KOR.radar", False),
        ("view.JPN.>", "view.JPN.tracks", True),
        ("view.JPN.>", "view.KOR.tracks", False),
        ("audit.KOR", "audit.KOR", True),
        ("*.*.*", "view.USA.alerts", True),
        (">", "anything.at.all", True),
    ],
)
def test_wildcards_match_like_nats(pattern: str, subject: str, match: bool) -> None:
    assert subject_matches(pattern, subject) is match


def test_patterns_with_misplaced_wildcards_are_invalid() -> None:
    assert valid_pattern("report.>") and valid_pattern("a.*.c")
    assert (
        not valid_pattern("report.>.radar") and not valid_pattern("re*port.x") and not valid_pattern("a..b")
    )


def run(coro):
    return asyncio.run(coro)


def test_each_subscriber_gets_matching_messages_in_order() -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        bus = EmbeddedBus()
        radar: list[str] = []
        everything: list[str] = []

        async def on_radar(msg: Msg) -> None:
            radar.append(msg.subject)

        async def on_all(msg: Msg) -> None:
            await asyncio.sleep(0)  # a slow consumer must not reorder its own stream
            everything.append(msg.data.decode())

        await bus.subscribe("report.*.radar", on_radar)
        await bus.subscribe("report.>", on_all)
        acks = [
            await bus.publish(f"report.{p}.{k}", f"{i}".encode())
            for i, (p, k) in enumerate([("KOR", "radar"), ("JPN", "ir"), ("USA", "radar"), ("KOR", "unit")])
        ]
        await bus.drain()
        await bus.close()
        assert [a.stream_seq for a in acks] == [1, 2, 3, 4]
        return radar, everything

    radar, everything = run(scenario())
    assert radar == ["report.KOR.radar", "report.USA.radar"]
    assert everything == ["0", "1", "2", "3"]


def test_unacknowledged_messages_are_redelivered_then_dead_lettered() -> None:
    async def scenario() -> tuple[list[int], list[int], EmbeddedBus]:
        bus = EmbeddedBus()
        acked_on: list[int] = []
        never: list[int] = []

        async def acks_second_time(msg: Msg) -> None:
            if msg.delivered == 2:
                await msg.ack()
                acked_on.append(msg.delivered)

        async def always_fails(msg: Msg) -> None:
            never.append(msg.delivered)
            raise RuntimeError("consumer bug")

        await bus.subscribe("a.>", acks_second_time, manual_ack=True, max_deliver=3)
        await bus.subscribe("a.b", always_fails, manual_ack=True, max_deliver=2)
        await bus.publish("a.b", encode({"x": 1}))
        await bus.drain()
        return acked_on, never, bus

    acked_on, never, bus = run(scenario())
    assert acked_on == [2]
    assert never == [1, 2]
    assert [m.subject for m in bus.dead_letters] == ["a.b"]


def test_bad_subjects_are_input_errors() -> None:
    async def scenario() -> None:
        bus = EmbeddedBus()
        with pytest.raises(InputError):
            await bus.publish("report.*.radar", b"")
        with pytest.raises(InputError):
            await bus.subscribe("report..x", lambda m: asyncio.sleep(0))

    run(scenario())
