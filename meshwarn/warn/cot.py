"""Cursor on Target: tracks, launch points, impact ellipses and predicted paths for TAK.

Type codes follow the CoT type tree (atoms from MIL-STD-2525B function codes):

- missile in flight: ``a-h-A-W-M-S-S`` (hostile / air track / weapon / missile in flight /
  surface-launched / surface-to-surface missile; 2525B SHAPWMSS--);
- launch point: ``a-h-G-E-W-M-S`` (hostile ground equipment, surface-to-surface missile launcher);
- predicted impact: ``u-d-c-e`` (a drawn ellipse, ``<shape><ellipse major minor angle>``, semi-axes
  in metres, the 95% ellipse) and the predicted ground track ``u-d-f`` (a drawn polyline of
  ``<link point>``).
- vessel (surface) tracks: ``a-n-S`` (neutral surface track: a vessel identified by its AIS),
  ``a-u-S`` (unknown: seen by radar or imagery only, no identity) and ``a-s-S`` (suspect: a vessel
  an anomaly names, such as a dark vessel, a spoofer or one at a rendezvous);
- maritime anomalies: ``b-m-p-s-m`` (a spot-map point) with the kind, tracks and evidence in remarks.

``ce``/``le`` are 1-sigma circular and vertical errors in metres, from the track's 6x6 ECEF
covariance when it has one (the larger horizontal eigenvalue, the up variance), else its
``sigma_position_m``; 9999999 means unknown, as CoT has it.

Transport: :class:`CotServer` is a TCP streaming server (what a TAK client or a TAK server's
"streaming input" connects to); each event goes to every connected client, and a client that
joins late first gets the latest event of every uid. :func:`send_events` pushes events to a TAK
server's TCP input (usually port 8087).
"""

from __future__ import annotations

import asyncio
import math
import time as wallclock
from collections.abc import Iterable
from datetime import UTC, datetime

import numpy as np
from lxml import etree

from meshwarn.geo.earth import enu_rotation
from meshwarn.model import Anomaly, Track

MISSILE_TYPE = "a-h-A-W-M-S-S"
LAUNCH_TYPE = "a-h-G-E-W-M-S"
IMPACT_TYPE = "u-d-c-e"
PATH_TYPE = "u-d-f"
UNKNOWN_ERR = 9999999.0
TRACK_STALE_S = 30.0
SURFACE_TYPES = {"neutral": "a-n-S", "unknown": "a-u-S", "suspect": "a-s-S"}
ANOMALY_TYPE = "b-m-p-s-m"
VESSEL_STALE_S = 1800.0  # vessel snapshots come every few minutes
SUSPECT_KINDS = ("dark_vessel", "spoofing", "rendezvous")


def cot_time(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_cot_time(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def restamp(event: bytes, offset_s: float) -> bytes:
    """The event moved offset_s seconds later (time, start, stale): an exercise replayed to a live TAK
    client, which drops events whose stale time has passed. Remarks keep the exercise's times."""
    ev = etree.fromstring(event)
    for attr in ("time", "start", "stale"):
        ev.set(attr, cot_time(parse_cot_time(ev.get(attr)) + offset_s))
    return etree.tostring(ev)


def _event(uid: str, type_: str, t: float, stale: float, how: str, lat: float, lon: float, hae: float,
           ce: float, le: float) -> tuple[etree._Element, etree._Element]:  # fmt: skip
    ev = etree.Element("event", version="2.0", uid=uid, type=type_, how=how)
    ev.set("time", cot_time(t))
    ev.set("start", cot_time(t))
    ev.set("stale", cot_time(stale))
    etree.SubElement(
        ev, "point", lat=f"{lat:.6f}", lon=f"{lon:.6f}", hae=f"{hae:.1f}", ce=f"{ce:.1f}", le=f"{le:.1f}"
    )
    return ev, etree.SubElement(ev, "detail")


def errors_m(track: Track) -> tuple[float, float]:
    """(ce, le): 1-sigma horizontal radius and vertical error, metres."""
    if len(track.covariance) == 36:
        cov = np.asarray(track.covariance, dtype=float).reshape(6, 6)[:3, :3]
        rot = enu_rotation(track.lat, track.lon)
        enu = rot @ cov @ rot.T
        ce = math.sqrt(max(float(np.linalg.eigvalsh(enu[:2, :2]).max()), 0.0))
        return ce, math.sqrt(max(float(enu[2, 2]), 0.0))
    if track.sigma_position_m > 0:
        return track.sigma_position_m, track.sigma_position_m
    return UNKNOWN_ERR, UNKNOWN_ERR


def course_speed(track: Track) -> tuple[float, float]:
    """Course over ground (degrees true) and ground speed (m/s) from the ECEF velocity."""
    e, n, _ = enu_rotation(track.lat, track.lon) @ np.asarray(track.velocity_ecef, dtype=float)
    return math.degrees(math.atan2(e, n)) % 360.0, math.hypot(e, n)


def surface_type(track: Track, suspects: frozenset[str] = frozenset()) -> str:
    if track.id in suspects:
        return SURFACE_TYPES["suspect"]
    return SURFACE_TYPES["neutral" if track.id.startswith("V") else "unknown"]  # V<MMSI>: AIS identity


def suspects_of(anomalies: Iterable[Anomaly]) -> frozenset[str]:
    """Vessel track ids that an anomaly of a suspect kind names."""
    return frozenset(t for a in anomalies if a.kind in SUSPECT_KINDS for t in a.tracks)


def vessel_event(track: Track, suspects: frozenset[str] = frozenset()) -> etree._Element:
    ce, _ = errors_m(track)
    ev, detail = _event(
        f"meshwarn.{track.id}", surface_type(track, suspects), track.time, track.time + VESSEL_STALE_S, "m-f",
        track.lat, track.lon, 0.0, ce, UNKNOWN_ERR,
    )  # fmt: skip
    course, speed = course_speed(track)
    etree.SubElement(detail, "contact", callsign=track.id)
    etree.SubElement(detail, "track", course=f"{course:.1f}", speed=f"{speed:.1f}")
    etree.SubElement(
        detail, "remarks"
    ).text = f"{track.status} vessel track {track.id}; sources {'/'.join(track.provenance)}; {track.classification}"
    return ev


def anomaly_event(anomaly: Anomaly) -> bytes:
    ev, detail = _event(
        f"meshwarn.anomaly.{anomaly.id}", ANOMALY_TYPE, anomaly.time, anomaly.end_time + 3600.0, "h-g-i-g-o",
        anomaly.lat, anomaly.lon, 0.0, UNKNOWN_ERR, UNKNOWN_ERR,
    )  # fmt: skip
    etree.SubElement(detail, "contact", callsign=f"{anomaly.kind.upper()} {' '.join(anomaly.tracks)}")
    zone = f" in {anomaly.zone}" if anomaly.zone else ""
    etree.SubElement(detail, "remarks").text = (
        f"{anomaly.kind.replace('_', ' ')}{zone}: vessels {', '.join(anomaly.tracks)} from {cot_time(anomaly.time)} "
        f"to {cot_time(anomaly.end_time)}; evidence {len(anomaly.evidence)} reports from "
        f"{'/'.join(anomaly.evidence_partners)}; {anomaly.classification}"
        + (f"; {anomaly.detail}" if anomaly.detail else "")
    )
    return etree.tostring(ev, xml_declaration=True, encoding="UTF-8")


def track_event(track: Track) -> etree._Element:
    ce, le = errors_m(track)
    ev, detail = _event(
        f"meshwarn.{track.id}", MISSILE_TYPE, track.time, track.time + TRACK_STALE_S, "m-f",
        track.lat, track.lon, track.h, ce, le,
    )  # fmt: skip
    course, speed = course_speed(track)
    etree.SubElement(detail, "contact", callsign=f"MSL {track.id}")
    etree.SubElement(detail, "track", course=f"{course:.1f}", speed=f"{speed:.1f}")
    etree.SubElement(detail, "remarks").text = (
        f"{track.status} {track.phase} missile track {track.id}; sources {'/'.join(track.provenance)}; "
        f"{track.classification}"
    )
    return ev


def launch_event(track: Track) -> etree._Element | None:
    est = track.launch
    if est is None:
        return None
    ev, detail = _event(
        f"meshwarn.{track.id}.launch", LAUNCH_TYPE, track.time, track.time + 3600.0, "m-f",
        est.lat, est.lon, 0.0, est.sigma_km * 1000.0, UNKNOWN_ERR,
    )  # fmt: skip
    etree.SubElement(detail, "contact", callsign=f"LAUNCH {track.id}")
    etree.SubElement(detail, "remarks").text = f"estimated launch point of {track.id} at {cot_time(est.time)}"
    return ev


def impact_events(track: Track) -> list[etree._Element]:
    """The 95% impact ellipse and the predicted ground track, when the track has a prediction."""
    impact = track.impact
    if impact is None:
        return []
    el = impact.ellipse
    stale = impact.time + 60.0
    ev, detail = _event(
        f"meshwarn.{track.id}.impact", IMPACT_TYPE, track.time, stale, "m-f",
        el.lat, el.lon, 0.0, el.semi_major_km * 1000.0 / 2.45, UNKNOWN_ERR,
    )  # fmt: skip
    shape = etree.SubElement(detail, "shape")
    etree.SubElement(
        shape, "ellipse", major=f"{el.semi_major_km * 1000:.0f}", minor=f"{el.semi_minor_km * 1000:.0f}",
        angle=f"{el.bearing_deg:.1f}",
    )  # fmt: skip
    etree.SubElement(detail, "contact", callsign=f"IMPACT {track.id}")
    etree.SubElement(
        detail, "remarks"
    ).text = f"predicted impact (95%) of {track.id} at {cot_time(impact.time)}"
    out = [ev]
    if len(impact.ground_track) >= 2:
        gt = impact.ground_track
        path, pdetail = _event(
            f"meshwarn.{track.id}.path", PATH_TYPE, track.time, stale, "m-f", gt[0][1], gt[0][2], 0.0,
            UNKNOWN_ERR, UNKNOWN_ERR,
        )  # fmt: skip
        for _, lat, lon, _h in gt:
            etree.SubElement(pdetail, "link", point=f"{lat:.5f},{lon:.5f}")
        etree.SubElement(pdetail, "remarks").text = f"predicted ground track of {track.id}"
        out.append(path)
    return out


def track_events(track: Track, suspects: frozenset[str] = frozenset()) -> list[bytes]:
    """All CoT events for one track update (missile or vessel), serialised."""
    if track.domain == "surface":
        return [etree.tostring(vessel_event(track, suspects), xml_declaration=True, encoding="UTF-8")]
    els = [track_event(track)]
    launch = launch_event(track)
    if launch is not None:
        els.append(launch)
    els += impact_events(track)
    return [etree.tostring(e, xml_declaration=True, encoding="UTF-8") for e in els]


class CotServer:
    """A CoT TCP streaming server: every published event goes to every connected client."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self._clients: set[asyncio.StreamWriter] = set()
        self._latest: dict[bytes, bytes] = {}
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._client, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            for event in list(self._latest.values()):
                writer.write(event)
            await writer.drain()
            self._clients.add(writer)
            while await reader.read(65536):  # a TAK client may send its own position; ignore it
                pass
        except ConnectionError:
            pass
        finally:
            self._handlers.discard(task)  # type: ignore[arg-type]
            self._clients.discard(writer)
            writer.close()

    @property
    def clients(self) -> int:
        return len(self._clients)

    async def publish(self, events: Iterable[bytes]) -> None:
        for event in events:
            uid = etree.fromstring(event).get("uid", "").encode()
            self._latest[uid] = event
            for writer in list(self._clients):
                try:
                    writer.write(event)
                    await writer.drain()
                except ConnectionError:
                    self._clients.discard(writer)

    async def close(self) -> None:
        for writer in list(self._clients):
            writer.close()
        if self._handlers:  # let each client's handler see its connection end
            await asyncio.wait(list(self._handlers), timeout=2.0)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def send_events(host: str, port: int, events: Iterable[bytes]) -> int:
    """Push events to a TAK server's TCP streaming input; returns how many were sent."""
    _, writer = await asyncio.open_connection(host, port)
    count = 0
    try:
        for event in events:
            writer.write(event)
            count += 1
        await writer.drain()
    finally:
        writer.close()
        await writer.wait_closed()
    return count


async def replay(
    tracks: Iterable[Track], server: CotServer, speed: float | None = None, now: bool = False
) -> int:
    """Publish the CoT events of tracks in time order, ``speed`` times faster than they happened
    (None: as fast as possible); ``now``: each stamped with the wall-clock time it goes out.
    Returns the number of events published."""
    loop = asyncio.get_running_loop()
    start_wall, start_time, count = loop.time(), None, 0
    for track in sorted(tracks, key=lambda t: t.time):
        if speed:
            start_time = track.time if start_time is None else start_time
            delay = start_wall + (track.time - start_time) / speed - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        events = track_events(track)
        if now:
            events = [restamp(e, wallclock.time() - track.time) for e in events]
        await server.publish(events)
        count += len(events)
    return count
