"""A hub fed by separate node processes takes reports in exercise order (meshwarn.deploy.reorder)."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from meshwarn.deploy.reorder import RELEASE_SUBJECT, WATERMARK, Reorder, release_marker
from tests.conftest import SMALL_SCENARIO, meshwarn_cli

PARTNERS = ("JPN", "KOR", "USA")


class Sink:
    """Stands in for Hub.handle: what reached the hub, in order."""

    def __init__(self) -> None:
        self.got: list[tuple[str, float]] = []

    async def __call__(self, subject: str, data: bytes, arrival: float) -> None:
        self.got.append((data.decode(), arrival))


def headers(arrival: float, index: int) -> dict[str, str]:
    return {"arrival": repr(arrival), "index": str(index)}


class Stream:
    """Feeds a Reorder as the hub's consumer would: one message at a time, stream sequence numbers."""

    def __init__(self, order: Reorder) -> None:
        self.order, self.seq = order, 0

    def report(self, partner: str, name: str, arrival: float, index: int) -> None:
        self._feed(f"report.{partner}.radar", name.encode(), headers(arrival, index))

    def watermark(self, partner: str, value: float) -> None:
        self._feed(f"report.{partner}.{WATERMARK}", repr(value).encode(), {})

    def _feed(self, subject: str, data: bytes, hdrs: dict[str, str]) -> None:
        self.seq += 1
        asyncio.run(self.order.feed(subject, data, hdrs, self.seq))


def test_reports_wait_until_every_node_has_passed_them_then_go_in_exercise_order() -> None:
    sink = Sink()
    stream = Stream(Reorder(PARTNERS, sink))
    # KOR's node runs far ahead of the others, as separate processes at --speed max do
    for i, t in enumerate((10.0, 20.0, 30.0, 40.0)):
        stream.report("KOR", f"K{t:.0f}", t, 3 * i)
    assert sink.got == []  # JPN and USA have said nothing yet: KOR's 10 s report may not be first
    stream.report("JPN", "J15", 15.0, 1)
    assert sink.got == []
    stream.report("USA", "U12", 12.0, 2)
    assert [name for name, _ in sink.got] == ["K10", "U12"]  # everyone has passed 12 s
    stream.report("JPN", "J35", 35.0, 7)
    stream.report("USA", "U50", 50.0, 11)
    assert [name for name, _ in sink.got] == ["K10", "U12", "J15", "K20", "K30", "J35"]
    stream.watermark("JPN", math.inf)  # JPN's node has sent everything
    stream.watermark("KOR", math.inf)
    assert [name for name, _ in sink.got][-2:] == ["K40", "U50"]
    assert [arrival for _, arrival in sink.got] == sorted(arrival for _, arrival in sink.got)
    assert not stream.order.held


def test_equal_times_keep_the_exercise_files_order_and_late_reports_still_reach_the_hub() -> None:
    sink = Sink()
    stream = Stream(Reorder(("JPN", "KOR"), sink))
    stream.report("KOR", "K-second", 5.0, 2)
    stream.report("JPN", "J-first", 5.0, 1)
    stream.watermark("KOR", math.inf)
    stream.watermark("JPN", 6.0)
    assert [name for name, _ in sink.got] == ["J-first", "K-second"]
    stream.report("JPN", "J-late", 4.0, 0)  # a node out of order: below what has gone out
    assert sink.got[-1] == ("J-late", 4.0) and stream.order.late == 1


def test_a_silent_node_is_given_up_through_a_marker_in_the_stream() -> None:
    sink = Sink()
    order = Reorder(("JPN", "KOR"), sink, hold_s=2.0, start_grace_s=10.0)
    stream = Stream(order)
    stream.report("KOR", "K1", 1.0, 0)
    stream.report("KOR", "K2", 2.0, 1)
    start = order.started
    assert order.stalled_by(start + 5.0) == []  # JPN never heard from: still in its start grace
    assert order.stalled_by(start + 10.5) == ["JPN"]
    stream.report("JPN", "J1", 1.5, 2)  # JPN starts after all
    assert [name for name, _ in sink.got] == ["K1", "J1"]
    assert order.stalled_by() == []  # just heard from
    assert order.stalled_by(order.heard["JPN"] + 2.5) == ["JPN"]
    marker = release_marker("JPN", order.marks["JPN"])
    stream.report("JPN", "J3", 3.0, 3)  # JPN spoke after the hub decided: the marker is stale
    stream._feed(RELEASE_SUBJECT, marker, {})
    assert "JPN" not in order.silent and order.forced == 0
    stream.report("KOR", "K4", 4.0, 4)
    stream._feed(RELEASE_SUBJECT, release_marker("JPN", order.marks["JPN"]), {})
    assert order.silent == {"JPN"} and order.forced == 1
    assert [name for name, _ in sink.got] == ["K1", "J1", "K2", "J3", "K4"]  # nothing waits for JPN
    stream.report("KOR", "K5", 5.0, 5)
    assert sink.got[-1][0] == "K5"
    stream.report("JPN", "J4", 3.5, 6)  # back, but late: straight to the hub, not dropped
    assert sink.got[-1][0] == "J4" and order.late == 1 and order.silent == set()


def test_guard_publishes_one_release_marker_per_silence() -> None:
    sink = Sink()
    order = Reorder(("JPN", "KOR"), sink, hold_s=0.05, start_grace_s=0.05)
    Stream(order).report("KOR", "K1", 1.0, 0)
    published: list[tuple[str, bytes]] = []

    async def publish(subject: str, data: bytes) -> None:
        published.append((subject, data))

    async def go() -> None:
        guard = asyncio.get_running_loop().create_task(order.guard_silence(publish, every_s=0.01))
        for _ in range(1000):  # poll, bounded: the guard acts after hold_s of silence
            if published:
                break
            await asyncio.sleep(0.01)
        for _ in range(10):  # more ticks: the same silence is not asked about again
            await asyncio.sleep(0.01)
        guard.cancel()

    asyncio.run(go())
    assert published == [(RELEASE_SUBJECT, release_marker("JPN", order.marks["JPN"]))]


def test_controls_and_foreign_messages_are_not_held() -> None:
    sink = Sink()
    stream = Stream(Reorder(("KOR",), sink))
    stream._feed("report.XXX.radar", b"unknown origin", headers(3.0, 0))  # the verifier will refuse it
    stream._feed("report.KOR.radar", b"no header", {})
    stream._feed(RELEASE_SUBJECT, b"not json", {})
    assert [name for name, _ in sink.got] == ["unknown origin", "no header"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(PARTNERS), st.integers(0, 50)), max_size=40),
    st.randoms(use_true_random=False),
)
def test_any_interleaving_gives_every_report_once_in_exercise_order(
    reports: list[tuple[str, int]], rng
) -> None:  # type: ignore[no-untyped-def]
    # the exercise: reports in time order; each node publishes its own in that order, and the
    # stream interleaves the nodes arbitrarily
    exercise = sorted(((float(t), i, p) for i, (p, t) in enumerate(reports)), key=lambda r: (r[0], r[1]))
    queues = {p: [(t, i, p) for t, i, q in exercise if q == p] for p in PARTNERS}
    sink = Sink()
    stream = Stream(Reorder(PARTNERS, sink))
    for _ in range(len(exercise) + len(PARTNERS)):
        live = [p for p in PARTNERS if queues[p] is not None]
        if not live:
            break
        partner = rng.choice(live)
        if queues[partner]:
            t, i, p = queues[partner].pop(0)
            stream.report(p, f"{p}{i}", t, i)
        else:
            stream.watermark(partner, math.inf)
            queues[partner] = None  # type: ignore[assignment]
    expected = [(f"{p}{i}", t) for t, i, p in exercise]
    assert sink.got == expected
    assert stream.order.late == 0 and not stream.order.held


# --- end to end: a real nats-server, the hub and a process per node, as fast as they go ---

SECOND_MISSILE = """
[[launches]]
id = "SRBM-2"
site = "Kittaeryong"
time_s = 45
azimuth_deg = 85
apogee_km = 90
range_km = 550
booster = "srbm"
"""


def fused_tracks(directory: Path) -> dict[str, set[str]]:
    tracks = {}
    for path in sorted((directory / "views").glob("*.jsonl")):
        messages = [json.loads(line) for line in path.read_text().splitlines()]
        tracks[path.stem] = {m["ref"] for m in messages if m["kind"] in ("tracks", "impacts")}
    return tracks


def unsigned_views(directory: Path) -> dict[str, list[object]]:
    """Each partner's view without signatures (each run makes its own keys)."""

    def strip(value: object) -> object:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "signature"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return {
        path.stem: [strip(json.loads(line)) for line in path.read_text().splitlines()]
        for path in sorted((directory / "views").glob("*.jsonl"))
    }


def test_nats_exercise_at_max_speed_fuses_exactly_what_the_embedded_run_fuses(tmp_path: Path) -> None:
    scenario = tmp_path / "two-srbm.toml"
    scenario.write_text(SMALL_SCENARIO.read_text() + SECOND_MISSILE)
    sim, embedded, nats = tmp_path / "sim", tmp_path / "embedded", tmp_path / "nats"
    meshwarn_cli("exercise", "simulate", str(scenario), "--out", str(sim))
    meshwarn_cli("exercise", "run", str(sim), "--agreements", "trilateral", "--out", str(embedded))
    meshwarn_cli(
        "exercise", "run", str(sim), "--agreements", "trilateral", "--out", str(nats),
        "--bus", "nats", "--speed", "max",
    )  # fmt: skip
    missiles = len(json.loads((sim / "truth.json").read_text())["objects"])
    assert missiles == 2
    summary = json.loads((nats / "hub-summary.json").read_text())
    assert {p: row["tracks"] for p, row in summary.items()} == dict.fromkeys(PARTNERS, missiles)
    assert {p: len(t) for p, t in fused_tracks(embedded).items()} == dict.fromkeys(PARTNERS, missiles)
    assert "0 late" in (nats / "logs" / "hub.log").read_text()
    # the same reports in the same order: the same picture, message for message
    assert unsigned_views(nats) == unsigned_views(embedded)
    # and again over its own reports: the earlier run's JetStream store and keys go with its views
    meshwarn_cli(
        "exercise", "run", str(nats), "--agreements", "trilateral", "--out", str(nats),
        "--bus", "nats", "--speed", "max",
    )  # fmt: skip
    assert unsigned_views(nats) == unsigned_views(embedded)


def test_hub_killed_at_max_speed_resumes_into_the_same_picture(tmp_path: Path) -> None:
    """The Reorder holds acknowledged reports; a resumed hub rebuilds them from the stream."""
    from meshwarn.deploy.processes import run_over_nats
    from tests.test_nats_exercise import make_exercise

    whole, killed = tmp_path / "whole", tmp_path / "killed"
    for directory in (whole, killed):
        make_exercise(directory)
    run_over_nats(whole, "two-dyads", speed="max", tracker="toy", timeout_s=60)
    summary = run_over_nats(killed, "two-dyads", speed="max", tracker="toy", timeout_s=60, kill_hub_after=8)
    assert "rebuilt from" in (killed / "logs" / "hub-resumed.log").read_text()
    assert (killed / "quarantine.jsonl").read_text() == ""  # no report handled twice
    assert sum(row["accepted"] for row in summary["partners"].values()) == 31
    assert unsigned_views(killed) == unsigned_views(whole)


def test_a_paced_node_waiting_for_its_next_report_publishes_its_exercise_clock() -> None:
    import time

    from meshwarn.deploy.processes import _pace_until

    class FakeBus:
        def __init__(self) -> None:
            self.sent: list[tuple[str, float]] = []

        async def publish(self, subject: str, data: bytes) -> None:
            self.sent.append((subject, float(data)))

    bus = FakeBus()
    start, first, wall_per_s = time.time(), 100.0, 0.1  # 10 x real time, from exercise time 100 s
    next_arrival = 115.0  # the node's next report: 1.5 s of wall time away
    due = start + (next_arrival - first) * wall_per_s
    asyncio.run(_pace_until(bus, "KOR", due, (start, first, wall_per_s), watermark=True))  # type: ignore[arg-type]
    assert time.time() >= due - 1e-3
    assert bus.sent  # one every HEARTBEAT_S of the wait, however late a loaded machine wakes it
    assert {subject for subject, _ in bus.sent} == {f"report.KOR.{WATERMARK}"}
    clocks = [value for _, value in bus.sent]
    assert clocks == sorted(clocks) and first < clocks[0] and clocks[-1] < next_arrival


def test_a_long_release_tells_the_server_the_report_is_still_in_progress(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from meshwarn.bus.nats import NatsMsg
    from meshwarn.deploy import reorder

    monkeypatch.setattr(reorder, "PROGRESS_S", 0.0)  # every released report counts as a long while
    sink = Sink()
    order = Reorder(("JPN", "KOR"), sink)
    stream = Stream(order)
    for i in range(5):
        stream.report("KOR", f"K{i}", float(i), i)

    class Raw:  # the nats-py message underneath: records "+WPI" (in progress) and acks
        def __init__(self) -> None:
            self.said: list[str] = []

        async def in_progress(self) -> None:
            self.said.append("progress")

        async def ack_sync(self, timeout: float) -> None:
            self.said.append("ack")

    raw = Raw()
    msg = NatsMsg(f"report.JPN.{WATERMARK}", b"inf", {}, 6)
    msg.raw = raw  # type: ignore[assignment]

    async def consume() -> None:
        await order.feed(msg.subject, msg.data, msg.headers, msg.seq, msg.in_progress)
        await msg.ack()
        await msg.in_progress()  # after the ack: nothing more to say

    asyncio.run(consume())
    assert [name for name, _ in sink.got] == [f"K{i}" for i in range(5)]
    assert raw.said == ["progress"] * 5 + ["ack"]
