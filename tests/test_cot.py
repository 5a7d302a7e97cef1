"""Cursor on Target: events from tracks, streamed over TCP and received by pytak (the TAK client library)."""

from __future__ import annotations

import asyncio
import math
import warnings

import numpy as np
from lxml import etree

from meshwarn.geo.earth import enu_rotation
from meshwarn.model import LaunchEstimate
from meshwarn.warn.cot import (
    IMPACT_TYPE,
    LAUNCH_TYPE,
    MISSILE_TYPE,
    PATH_TYPE,
    CotServer,
    errors_m,
    parse_cot_time,
    replay,
    restamp,
    send_events,
    track_events,
)
from meshwarn.warn.synth import tracks_from_truth
from tests.test_warn_fixtures import irbm

with warnings.catch_warnings():  # pytak warns that its optional aiohttp (for TAK enrolment) is absent
    warnings.simplefilter("ignore", UserWarning)
    import pytak


def _track():
    import msgspec

    track = tracks_from_truth(irbm(), first_s=300.0, step_s=1000.0)[0]
    return msgspec.structs.replace(track, launch=LaunchEstimate(39.22, 125.68, irbm().launch_time, 2.0))


async def _receive_with_pytak(events: list[bytes], late: list[bytes]) -> list[bytes]:
    server = CotServer("127.0.0.1", 0)
    port = await server.start()
    await server.publish(events)  # published before the client joins: it gets the latest of each uid
    config = {"COT_URL": f"tcp://127.0.0.1:{port}"}
    reader, writer = await pytak.protocol_factory(config)
    rx_queue: asyncio.Queue = asyncio.Queue()
    worker = pytak.RXWorker(rx_queue, config, reader)
    task = asyncio.create_task(worker.run())
    while server.clients == 0:
        await asyncio.sleep(0.01)
    await server.publish(late)
    got = [await asyncio.wait_for(rx_queue.get(), 10.0) for _ in range(len(events) + len(late))]
    task.cancel()
    writer.close()
    await server.close()
    return got


def test_pytak_client_receives_the_tracks_launch_and_impact_events() -> None:
    track = _track()
    events = track_events(track)
    later = track_events(tracks_from_truth(irbm(), first_s=310.0, step_s=1000.0)[0])[:1]
    received = asyncio.run(_receive_with_pytak(events, later))
    parsed = [etree.fromstring(raw.strip()) for raw in received]
    types = [e.get("type") for e in parsed]
    assert types[:4] == [MISSILE_TYPE, LAUNCH_TYPE, IMPACT_TYPE, PATH_TYPE] and types[4] == MISSILE_TYPE
    missile, launch, impact, path, moved = parsed
    point = missile.find("point")
    assert float(point.get("lat")) == round(track.lat, 6) and float(point.get("lon")) == round(track.lon, 6)
    assert float(point.get("hae")) > 100_000  # in flight, hundreds of km up
    assert abs(float(point.get("ce")) - track.sigma_position_m) < 0.1
    course = float(missile.find("detail/track").get("course"))
    assert 60.0 < course < 100.0  # eastwards over the Sea of Japan
    assert float(missile.find("detail/track").get("speed")) > 2000.0
    assert missile.get("stale") > missile.get("time") and missile.get("how") == "m-f"
    assert float(launch.find("point").get("lat")) == 39.22
    ell = impact.find("detail/shape/ellipse")
    assert float(ell.get("major")) == round(track.impact.ellipse.semi_major_km * 1000)
    assert abs(float(impact.find("point").get("lon")) - track.impact.ellipse.lon) < 1e-5
    assert len(path.findall("detail/link")) == len(track.impact.ground_track)
    assert float(moved.find("point").get("lon")) > track.lon  # the stream carries later positions


def test_ce_le_come_from_the_covariance() -> None:
    import msgspec

    track = _track()
    rot = enu_rotation(track.lat, track.lon)
    enu = np.diag([300.0**2, 100.0**2, 50.0**2])
    cov = np.zeros((6, 6))
    cov[:3, :3] = rot.T @ enu @ rot
    ce, le = errors_m(msgspec.structs.replace(track, covariance=tuple(cov.ravel())))
    assert math.isclose(ce, 300.0, rel_tol=1e-6) and math.isclose(le, 50.0, rel_tol=1e-6)


def test_send_events_pushes_to_a_tak_server_input() -> None:
    async def run() -> bytes:
        received = bytearray()
        done = asyncio.Event()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            received.extend(await reader.read())
            done.set()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        sent = await send_events("127.0.0.1", port, track_events(_track()))
        await asyncio.wait_for(done.wait(), 10.0)
        server.close()
        assert sent == 4
        return bytes(received)

    data = asyncio.run(run())
    assert data.count(b"</event>") == 4 and MISSILE_TYPE.encode() in data


async def _replay_to_pytak(tracks, now: bool = False) -> tuple[int, list[bytes]]:
    """Replay tracks (1000x) to a pytak client on 127.0.0.1: how many events went out, what it got."""
    server = CotServer("127.0.0.1", 0)
    port = await server.start()
    config = {"COT_URL": f"tcp://127.0.0.1:{port}"}
    reader, writer = await pytak.protocol_factory(config)
    rx_queue: asyncio.Queue = asyncio.Queue()
    task = asyncio.create_task(pytak.RXWorker(rx_queue, config, reader).run())
    while server.clients == 0:
        await asyncio.sleep(0.01)
    count = await replay(tracks, server, speed=1000.0, now=now)
    got = [await asyncio.wait_for(rx_queue.get(), 10.0) for _ in range(count)]
    task.cancel()
    writer.close()
    await server.close()
    return count, got


def test_replay_streams_every_track_update_to_a_pytak_client() -> None:
    tracks = tracks_from_truth(irbm(), first_s=300.0, until_s=330.0, step_s=10.0)

    count, got = asyncio.run(_replay_to_pytak(tracks))
    assert count == 3 * len(track_events(tracks[0]))
    missiles = [etree.fromstring(g.strip()) for g in got if MISSILE_TYPE.encode() in g]
    lons = [float(m.find("point").get("lon")) for m in missiles]
    assert len(lons) == 3 and lons == sorted(lons)  # in time order, eastwards


def test_now_stamps_each_replayed_event_with_the_wall_clock_for_live_tak_clients() -> None:
    import time

    tracks = tracks_from_truth(irbm(), first_s=300.0, until_s=320.0, step_s=10.0)

    before = time.time()
    got = [etree.fromstring(g.strip()) for g in asyncio.run(_replay_to_pytak(tracks, now=True))[1]]
    after = time.time()
    for event in got:  # exercise time (2022) became now, stale kept its distance from time
        assert before - 1 <= parse_cot_time(event.get("time")) <= after + 1
        assert parse_cot_time(event.get("stale")) > after
    original = track_events(tracks[0])[0]
    moved = etree.fromstring(restamp(original, 100.0))
    first = etree.fromstring(original)
    for attr in ("time", "start", "stale"):
        assert parse_cot_time(moved.get(attr)) - parse_cot_time(first.get(attr)) == 100.0
    assert etree.tostring(moved.find("point")) == etree.tostring(first.find("point"))
