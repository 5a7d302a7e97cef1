"""AIS ingest: NMEA 0183 sentences (with or without timestamps) -> AisPosition / AisStatic, merged per MMSI.

A feed is never stopped by a bad sentence: each one is counted and quarantined with its reason
(checksum, truncated, not_ais, empty_payload, unknown_type, undecodable, position_not_available,
impossible_position, incomplete_multipart, bad_tag_block). Timestamps come from an NMEA 4.10 tag block
(``\\c:<unix>*hh\\``), a leading ISO time or epoch number, or a trailing epoch field after the checksum;
otherwise from the receiving clock.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from pyais import NMEAMessage
from pyais.exceptions import UnknownMessageException

from meshwarn.errors import InputError
from meshwarn.model import AisPosition, AisStatic

POSITION_TYPES = frozenset({1, 2, 3, 18, 19, 27})
STATIC_TYPES = frozenset({5, 19, 24})
_SENTENCE = re.compile(rb"!([A-Z]{2})(VDM|VDO),")
_ISO = re.compile(r"^(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?)Z?$")
_FAST_TYPES = frozenset((b"1", b"2", b"3", b"B"))  # first payload character of types 1, 2, 3 and 18
MAX_PENDING = 256  # incomplete multipart groups kept before the oldest is given up


@dataclass(slots=True)
class Quarantined:
    reason: str
    line: str
    source: str = ""


@dataclass(slots=True)
class Vessel:
    """What is known of one MMSI: its latest position and its merged static and voyage data."""

    mmsi: int
    position: AisPosition | None = None
    static: AisStatic | None = None
    messages: int = 0


@dataclass(slots=True)
class _Fields:
    mmsi: int
    lat: float
    lon: float
    speed: float
    course: float
    heading: int
    status: int | None


@dataclass
class _Group:
    time: float | None
    parts: dict[int, NMEAMessage] = field(default_factory=dict)


def nmea_checksum(body: bytes) -> int:
    value = 0
    for byte in body:
        value ^= byte
    return value


def parse_timestamp(text: str) -> float | None:
    """A POSIX time from an epoch number (seconds or milliseconds) or an ISO 8601 UTC time; else None."""
    text = text.strip().strip(",;")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        match = _ISO.match(text)
        if not match:
            return None
        return datetime.fromisoformat(match.group(1)).replace(tzinfo=UTC).timestamp()
    return value / 1000.0 if value > 1e11 else value


def _tag_block(block: bytes) -> tuple[float | None, str] | None:
    """(time, source station) from a tag block's text, or None when its checksum fails."""
    body, star, check = block.partition(b"*")
    if not star or len(check) < 2:
        return None
    try:
        if int(check[:2], 16) != nmea_checksum(body):
            return None
    except ValueError:
        return None
    when, station = None, ""
    for item in body.split(b","):
        key, _, value = item.partition(b":")
        if key == b"c":
            when = parse_timestamp(value.decode("ascii", "replace"))
        elif key == b"s":
            station = value.decode("ascii", "replace")
    return when, station


def _available(value: float | None, missing: float) -> float | None:
    return None if value is None or value >= missing else float(value)


class AisDecoder:
    """Feed it lines; it returns decoded messages and keeps per-MMSI state and counts."""

    def __init__(
        self, source: str = "", clock: Callable[[], float] = time.time, keep: int = 1000, fast: bool = True
    ) -> None:
        self.source = source
        self.fast = fast  # decode common position reports without pyais (same results; see the tests)
        self.clock = clock
        self.vessels: dict[int, Vessel] = {}
        self.by_type: Counter[int] = Counter()
        self.quarantine_counts: Counter[str] = Counter()
        self.quarantined: deque[Quarantined] = deque(maxlen=keep)
        self.sentences = 0
        self.messages = 0
        self._pending: dict[tuple, _Group] = {}
        self.keep_messages = False
        self.decoded: list[AisPosition | AisStatic] = []  # filled when keep_messages is set

    # --- public -------------------------------------------------------------------------------

    def feed(self, line: bytes | str) -> list[AisPosition | AisStatic]:
        """Decode one line; a multipart message comes out with its last fragment."""
        raw = line.encode("ascii", "replace") if isinstance(line, str) else line
        raw = raw.strip()
        if not raw:
            return []
        self.sentences += 1
        try:
            out = self._feed(raw)
        except Exception as exc:  # a feed must never stop on one sentence; the reason is kept
            self._quarantine("undecodable", raw, type(exc).__name__)
            return []
        if self.keep_messages:
            self.decoded.extend(out)
        return out

    def feed_many(self, lines: Iterable[bytes | str]) -> list[AisPosition | AisStatic]:
        out: list[AisPosition | AisStatic] = []
        for line in lines:
            out.extend(self.feed(line))
        return out

    def flush(self) -> None:
        """End of feed: multipart messages still missing fragments are quarantined."""
        for group in self._pending.values():
            for part in group.parts.values():
                self._quarantine("incomplete_multipart", part.raw)
        self._pending.clear()

    def summary(self) -> dict[str, object]:
        return {
            "sentences": self.sentences,
            "messages": self.messages,
            "vessels": len(self.vessels),
            "vessels_with_position": sum(v.position is not None for v in self.vessels.values()),
            "vessels_with_static": sum(v.static is not None for v in self.vessels.values()),
            "messages_by_type": {str(k): v for k, v in sorted(self.by_type.items())},
            "quarantined": sum(self.quarantine_counts.values()),
            "quarantined_by_reason": dict(sorted(self.quarantine_counts.items())),
            "pending_fragments": sum(len(g.parts) for g in self._pending.values()),
        }

    # --- parsing ------------------------------------------------------------------------------

    def _quarantine(self, reason: str, raw: bytes, detail: str = "") -> None:
        self.quarantine_counts[reason] += 1
        text = raw.decode("ascii", "replace")
        self.quarantined.append(Quarantined(reason, f"{text} ({detail})" if detail else text, self.source))

    def _feed(self, raw: bytes) -> list[AisPosition | AisStatic]:
        when, station = None, self.source
        if raw.startswith(b"\\"):
            end = raw.find(b"\\", 1)
            tag = _tag_block(raw[1:end]) if end > 0 else None
            if tag is None:
                self._quarantine("bad_tag_block", raw)
                return []
            when, station = tag[0], tag[1] or station
            raw = raw[end + 1 :]
        match = _SENTENCE.search(raw)
        if match is None:
            self._quarantine("not_ais", raw)
            return []
        if match.start() > 0 and when is None:
            when = parse_timestamp(raw[: match.start()].decode("ascii", "replace"))
        sentence, trailer = self._split_checksum(raw[match.start() :])
        if sentence is None:
            self._quarantine("truncated", raw)
            return []
        if trailer and when is None:
            when = parse_timestamp(trailer)
        if int(sentence[-2:], 16) != nmea_checksum(sentence[1:-3]):
            self._quarantine("checksum", raw)
            return []
        if sentence.count(b",") != 6:
            self._quarantine("truncated", raw)
            return []
        if self.fast:
            fields = sentence.split(b",")
            if fields[1] == b"1" and len(fields[5]) >= 28 and fields[5][:1] in _FAST_TYPES:
                position = self._fast_position(fields[5], when, station, sentence)
                if position is not NotImplemented:
                    return position
        message = NMEAMessage(sentence)
        if when is not None and message.frag_cnt > 1 and message.frag_num > 1:
            when = None  # a later fragment's time does not override the first's
        return self._assemble(message, when, station)

    def _fast_position(self, payload: bytes, when: float | None, station: str, raw: bytes):
        """Types 1, 2, 3 and 18 decoded straight from the 6-bit payload (pyais's bitarray is the slow part).

        Returns NotImplemented for anything unusual, which then goes the pyais way.
        """
        value = 0
        for c in payload[:28]:
            if c < 48 or c > 119 or 87 < c < 96:
                return NotImplemented
            value = (value << 6) | (c - 48 if c < 88 else c - 56)
        msg_type = value >> 162
        o = 4 if msg_type == 18 else 0  # class B lacks the status and rate of turn, shifting the rest by 4

        def bits(start: int, width: int) -> int:
            return (value >> (168 - start - width)) & ((1 << width) - 1)

        def signed(start: int, width: int) -> int:
            v = bits(start, width)
            return v - (1 << width) if v >> (width - 1) else v

        lon, lat = round(signed(61 - o, 28) / 600000.0, 6), round(signed(89 - o, 27) / 600000.0, 6)
        fake = _Fields(
            mmsi=bits(8, 30), lat=lat, lon=lon, speed=bits(50 - o, 10) / 10.0, course=bits(116 - o, 12) / 10.0,
            heading=bits(128 - o, 9), status=None if msg_type == 18 else bits(38, 4),
        )  # fmt: skip
        when = self.clock() if when is None else when
        position = self._position(fake, msg_type, when, station, raw)
        if position is None:
            return []
        self.by_type[msg_type] += 1
        self.messages += 1
        return [position]

    @staticmethod
    def _split_checksum(text: bytes) -> tuple[bytes | None, str]:
        star = text.find(b"*")
        if star < 0 or len(text) < star + 3:
            return None, ""
        try:
            int(text[star + 1 : star + 3], 16)
        except ValueError:
            return None, ""
        return text[: star + 3], text[star + 3 :].decode("ascii", "replace")

    def _assemble(self, message: NMEAMessage, when: float | None, station: str) -> list:
        if message.frag_cnt <= 1:
            return self._decode(message, when, station)
        key = (station, message.seq_id, message.channel, message.frag_cnt)
        group = self._pending.get(key)
        if group is not None and message.frag_num in group.parts:
            for part in group.parts.values():  # a new message reuses the sequence id: the old one is lost
                self._quarantine("incomplete_multipart", part.raw)
            group = None
        if group is None:
            if len(self._pending) >= MAX_PENDING:
                oldest = next(iter(self._pending))
                for part in self._pending.pop(oldest).parts.values():
                    self._quarantine("incomplete_multipart", part.raw)
            group = self._pending[key] = _Group(when)
        group.time = group.time if group.time is not None else when
        group.parts[message.frag_num] = message
        if len(group.parts) < message.frag_cnt:
            return []
        del self._pending[key]
        parts = [group.parts[n] for n in sorted(group.parts)]
        whole = NMEAMessage.assemble_from_iterable(parts)
        return self._decode(whole, group.time, station)

    def _decode(self, message: NMEAMessage, when: float | None, station: str) -> list:
        if not message.payload:
            self._quarantine("empty_payload", message.raw)
            return []
        if message.ais_id == 0 or message.ais_id > 27:
            self._quarantine("unknown_type", message.raw, f"type {message.ais_id}")
            return []
        try:
            decoded = message.decode()
        except UnknownMessageException:
            self._quarantine("unknown_type", message.raw)
            return []
        msg_type = int(decoded.msg_type)
        when = self.clock() if when is None else when
        out: list[AisPosition | AisStatic] = []
        if msg_type in POSITION_TYPES:
            position = self._position(decoded, msg_type, when, station, message.raw)
            if position is None:
                return []
            out.append(position)
        if msg_type in STATIC_TYPES:
            out.append(self._static(decoded, msg_type, when, station))
        self.by_type[msg_type] += 1
        self.messages += 1
        return out

    def _position(self, m, msg_type: int, when: float, station: str, raw: bytes) -> AisPosition | None:
        lat, lon = float(m.lat), float(m.lon)
        if lat == 91.0 or lon == 181.0:
            self._quarantine("position_not_available", raw)
            return None
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            self._quarantine("impossible_position", raw, f"lat {lat:g} lon {lon:g}")
            return None
        long_range = msg_type == 27
        status = getattr(m, "status", None)
        position = AisPosition(
            time=when,
            mmsi=int(m.mmsi),
            lat=lat,
            lon=lon,
            sog_knots=_available(m.speed, 63.0 if long_range else 102.3),
            cog_deg=_available(m.course, 511.0 if long_range else 360.0),
            heading_deg=_available(getattr(m, "heading", None), 511.0),
            nav_status=None if status is None else int(status),
            msg_type=msg_type,
            source=station,
            raw=raw.decode("ascii", "replace"),
        )
        vessel = self._vessel(position.mmsi)
        vessel.position = position
        return position

    def _static(self, m, msg_type: int, when: float, station: str) -> AisStatic:
        fields: dict[str, object] = {}
        if getattr(m, "shipname", None):
            fields["name"] = str(m.shipname).strip()
        if getattr(m, "callsign", None):
            fields["callsign"] = str(m.callsign).strip()
        if getattr(m, "imo", None):
            fields["imo"] = int(m.imo)
        if getattr(m, "ship_type", None):
            fields["ship_type"] = int(m.ship_type)
        if getattr(m, "destination", None):
            fields["destination"] = str(m.destination).strip()
        length = (getattr(m, "to_bow", 0) or 0) + (getattr(m, "to_stern", 0) or 0)
        beam = (getattr(m, "to_port", 0) or 0) + (getattr(m, "to_starboard", 0) or 0)
        if length:
            fields["length_m"], fields["beam_m"] = float(length), float(beam)
        vessel = self._vessel(int(m.mmsi))
        merged = vessel.static or AisStatic(time=when, mmsi=vessel.mmsi)
        vessel.static = msgspec.structs.replace(
            merged, time=when, msg_type=msg_type, source=station, **fields
        )
        return AisStatic(time=when, mmsi=vessel.mmsi, msg_type=msg_type, source=station, **fields)

    def _vessel(self, mmsi: int) -> Vessel:
        vessel = self.vessels.get(mmsi)
        if vessel is None:
            vessel = self.vessels[mmsi] = Vessel(mmsi)
        vessel.messages += 1
        return vessel


# --- sources ------------------------------------------------------------------------------------


def ingest_file(path: Path, decoder: AisDecoder) -> list[AisPosition | AisStatic]:
    if not path.exists():
        raise InputError(f"{path}: no such file (an AIS source is {SOURCES})")
    with path.open("rb") as lines:
        out = decoder.feed_many(lines)
    decoder.flush()
    return out


async def ingest_tcp(
    host: str, port: int, decoder: AisDecoder, idle_s: float = 5.0, max_lines: int = 0
) -> None:
    """Read lines from a TCP feed until it closes, is idle for idle_s, or max_lines were read."""
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as exc:
        raise InputError(f"tcp://{host}:{port}: {exc.strerror or exc}") from None
    tail = b""  # an unterminated last sentence: fed when the feed closes or goes idle, never lost
    try:
        while not max_lines or decoder.sentences < max_lines:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), idle_s)
            except TimeoutError:
                break
            if not chunk:
                break
            *lines, tail = (tail + chunk).split(b"\n")
            for line in lines:
                if max_lines and decoder.sentences >= max_lines:
                    tail = b""  # the caller asked for max_lines; the rest stays on the feed
                    break
                decoder.feed(line)
    finally:
        writer.close()
    if tail.strip() and not (max_lines and decoder.sentences >= max_lines):
        decoder.feed(tail)
    decoder.flush()


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, decoder: AisDecoder, max_lines: int, done: asyncio.Event) -> None:
        self.decoder, self.max_lines, self.done = decoder, max_lines, done
        self.last = time.monotonic()

    def datagram_received(self, data: bytes, addr) -> None:
        self.last = time.monotonic()
        for line in data.splitlines():
            self.decoder.feed(line)
        if self.max_lines and self.decoder.sentences >= self.max_lines:
            self.done.set()


async def ingest_udp(
    host: str, port: int, decoder: AisDecoder, idle_s: float = 5.0, max_lines: int = 0, ready=None
) -> None:
    """Listen for datagrams (one or more sentences each) until idle for idle_s or max_lines were read."""
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    try:
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: _Datagrams(decoder, max_lines, done), local_addr=(host, port)
        )
    except OSError as exc:
        raise InputError(f"udp://{host}:{port}: {exc.strerror or exc}") from None
    if ready is not None:
        ready.set_result(transport.get_extra_info("sockname")[1])
    try:
        while not done.is_set() and time.monotonic() - protocol.last < idle_s:
            try:
                await asyncio.wait_for(done.wait(), 0.05)
            except TimeoutError:
                pass
    finally:
        transport.close()
    decoder.flush()


SOURCES = (
    "a file of NMEA sentences, tcp://HOST:PORT (connect to a feed that serves lines) "
    "or udp://HOST:PORT (listen there for datagrams)"
)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def parse_source(text: str) -> tuple[str, str, int]:
    """('file', path, 0) or ('tcp'|'udp', host, port)."""
    scheme_match = _SCHEME.match(text)
    if scheme_match and scheme_match.group(1).lower() not in ("tcp", "udp"):
        raise InputError(f"{text}: {scheme_match.group(1)}:// is not a supported AIS source; give {SOURCES}")
    for scheme in ("tcp", "udp"):
        if text.lower().startswith(f"{scheme}://"):
            host, _, port = text[len(scheme) + 3 :].rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise InputError(f"expected {scheme}://HOST:PORT with a port 1..65535, got {text!r}")
            return scheme, host.strip("[]"), int(port)
    return "file", text, 0


def ingest(source: str, idle_s: float = 5.0, max_lines: int = 0, keep_messages: bool = False) -> AisDecoder:
    scheme, where, port = parse_source(source)
    decoder = AisDecoder(source=source)
    decoder.keep_messages = keep_messages
    if scheme == "file":
        ingest_file(Path(where), decoder)
    elif scheme == "tcp":
        asyncio.run(ingest_tcp(where, port, decoder, idle_s, max_lines))
    else:
        asyncio.run(ingest_udp(where, port, decoder, idle_s, max_lines))
    return decoder
