"""AIS ingest: the real sample, multipart and static merging, timestamps, quarantine, TCP and UDP feeds."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest
from pyais import encode_dict

from meshwarn.errors import InputError
from meshwarn.maritime.ais import AisDecoder, ingest, ingest_file, ingest_tcp, ingest_udp, nmea_checksum
from meshwarn.model import AisPosition, AisStatic

SAMPLE = Path(__file__).resolve().parent.parent / "meshwarn" / "data" / "ais_sample_nmea.txt"
MMSI = 440123456


def sentence(payload: str, fill: int = 0) -> str:
    body = f"AIVDM,1,1,,A,{payload},{fill}"
    return f"!{body}*{nmea_checksum(body.encode()):02X}"


def position(lat: float = 35.1, lon: float = 129.2, mmsi: int = MMSI) -> str:
    data = {"msg_type": 1, "mmsi": mmsi, "lat": lat, "lon": lon, "speed": 12.5, "course": 45.0, "heading": 44}
    return encode_dict(data, talker_id="AIVDM")[0]


def tag(line: str, text: str) -> str:
    return f"\\{text}*{nmea_checksum(text.encode()):02X}\\{line}"


def test_real_sample_is_decoded_and_bad_sentences_quarantined():
    decoder = AisDecoder(clock=lambda: 0.0)
    out = ingest_file(SAMPLE, decoder)
    summary = decoder.summary()
    assert summary["messages"] == 774
    assert summary["vessels"] == 164
    assert summary["messages_by_type"]["1"] == 663 and summary["messages_by_type"]["3"] == 76
    # the sample holds 100 empty sentences, 20 first halves of type 5 whose second halves are missing,
    # and 4 positions flagged 'not available' (lat 91 / lon 181)
    assert summary["quarantined_by_reason"] == {
        "empty_payload": 100,
        "incomplete_multipart": 20,
        "position_not_available": 4,
    }
    positions = [m for m in out if isinstance(m, AisPosition)]
    assert len(positions) == 663 + 76 + 19  # the 4 unavailable ones are not messages
    assert all(-90 <= p.lat <= 90 and -180 <= p.lon <= 180 for p in positions)
    # every line is accounted for: decoded into a message, or quarantined with a reason
    assert summary["sentences"] == summary["messages"] + summary["quarantined"] == 898


def test_fast_position_decoding_agrees_with_pyais():
    fast, slow = AisDecoder(clock=lambda: 0.0), AisDecoder(clock=lambda: 0.0, fast=False)
    lines = SAMPLE.read_bytes().splitlines()
    class_b = encode_dict({"msg_type": 18, "mmsi": MMSI, "lat": -33.9, "lon": -151.2, "speed": 3.4, "course": 271.5,
                           "heading": 270}, talker_id="AIVDM")  # fmt: skip
    extra = [position(lat=-12.5, lon=-77.25), *class_b]
    assert fast.feed_many(lines + extra) == slow.feed_many(lines + extra)
    assert fast.summary() == slow.summary()
    (b,) = fast.feed(class_b[0])
    assert (b.msg_type, b.lat, b.lon, b.sog_knots, b.cog_deg, b.heading_deg) == (
        18,
        -33.9,
        -151.2,
        3.4,
        271.5,
        270,
    )


def test_bad_sentences_are_counted_by_reason_and_never_stop_the_feed():
    good = position()
    bad_checksum = good[:-2] + ("00" if good[-2:] != "00" else "11")
    truncated = good[:30]
    unknown = sentence("w" + good.split(",")[5][1:])  # message type 63
    impossible = encode_dict({"msg_type": 1, "mmsi": MMSI, "lat": 95.0, "lon": 129.0}, talker_id="AIVDM")[0]
    not_available = encode_dict({"msg_type": 1, "mmsi": MMSI, "lat": 91.0, "lon": 181.0}, talker_id="AIVDM")[
        0
    ]
    lines = [
        bad_checksum,
        truncated,
        unknown,
        impossible,
        not_available,
        "$GPGGA,garbage*00",
        "\\c:1*00\\" + good,
    ]
    decoder = AisDecoder(clock=lambda: 5.0)
    out = decoder.feed_many([*lines, good])
    assert decoder.quarantine_counts == {
        "checksum": 1,
        "truncated": 1,
        "unknown_type": 1,
        "impossible_position": 1,
        "position_not_available": 1,
        "not_ais": 1,
        "bad_tag_block": 1,
    }
    assert len(out) == 1 and out[0].mmsi == MMSI and out[0].time == 5.0
    assert abs(out[0].lat - 35.1) < 1e-4 and out[0].sog_knots == pytest.approx(12.5)
    reasons = [q.reason for q in decoder.quarantined]
    assert reasons[0] == "checksum" and bad_checksum in decoder.quarantined[0].line


def test_multipart_static_data_is_assembled_and_merged_per_mmsi():
    voyage = {"msg_type": 5, "mmsi": MMSI, "shipname": "HANBADA", "callsign": "DSAB3", "ship_type": 70,
              "to_bow": 120, "to_stern": 30, "to_port": 10, "to_starboard": 12, "destination": "BUSAN"}  # fmt: skip
    parts = encode_dict(voyage, talker_id="AIVDM")
    assert len(parts) == 2
    decoder = AisDecoder(clock=lambda: 0.0)
    assert decoder.feed(parts[0]) == []  # waits for the second fragment
    (static,) = decoder.feed(parts[1])
    assert isinstance(static, AisStatic)
    assert (static.name, static.length_m, static.beam_m, static.destination) == (
        "HANBADA",
        150.0,
        22.0,
        "BUSAN",
    )
    decoder.feed(position())
    part_b = {"msg_type": 24, "mmsi": MMSI, "partno": 1, "ship_type": 80, "callsign": "NEWCALL"}
    decoder.feed_many(encode_dict(part_b, talker_id="AIVDM"))
    vessel = decoder.vessels[MMSI]
    assert vessel.position is not None and vessel.static is not None
    assert (
        vessel.static.name == "HANBADA"
        and vessel.static.callsign == "NEWCALL"
        and vessel.static.ship_type == 80
    )
    # a lone first fragment, then a new message reusing its sequence id: the first is quarantined
    decoder.feed(parts[0])
    decoder.feed(parts[0])
    decoder.flush()
    assert decoder.quarantine_counts["incomplete_multipart"] == 2


def test_timestamps_from_tag_blocks_leading_and_trailing_fields():
    decoder = AisDecoder(clock=lambda: -1.0)
    (a,) = decoder.feed(tag(position(), "s:KOR-busan,c:1700000000"))
    (b,) = decoder.feed(tag(position(), "c:1700000001500"))  # milliseconds
    (c,) = decoder.feed("2026-03-10T00:00:05Z " + position())
    (d,) = decoder.feed(position() + ",1700000002")
    (e,) = decoder.feed(position())
    assert (a.time, a.source) == (1700000000.0, "KOR-busan")
    assert b.time == 1700000001.5
    assert c.time == 1773100805.0
    assert d.time == 1700000002.0
    assert e.time == -1.0  # no timestamp: the receiving clock


async def _ingest_from_tcp(feed: bytes, idle_s: float, hold_open_s: float = 0.0) -> AisDecoder:
    """ingest_tcp from a feed on 127.0.0.1 that writes `feed`, stays open hold_open_s, then closes."""

    async def serve(reader, writer):
        writer.write(feed)
        await writer.drain()
        await asyncio.sleep(hold_open_s)
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    decoder = AisDecoder(source="tcp")
    async with server:
        await ingest_tcp("127.0.0.1", port, decoder, idle_s=idle_s)
    return decoder


def test_tcp_feed_on_localhost():
    lines = [position(mmsi=MMSI + k) for k in range(50)] + ["!AIVDM,broken"]

    decoder = asyncio.run(_ingest_from_tcp(("\r\n".join(lines) + "\r\n").encode(), idle_s=5.0))
    assert decoder.summary()["vessels"] == 50
    assert decoder.quarantine_counts["truncated"] == 1


def test_tcp_feed_that_stays_open_keeps_its_unterminated_last_sentence():
    lines = [position(mmsi=MMSI + k) for k in range(5)]

    # no newline after the last one, and the feed stays open past the idle limit
    decoder = asyncio.run(_ingest_from_tcp("\n".join(lines).encode(), idle_s=0.5, hold_open_s=3.0))
    assert decoder.sentences == 5 and decoder.summary()["vessels"] == 5


def test_udp_feed_on_localhost():
    async def scenario() -> AisDecoder:
        decoder = AisDecoder(source="udp")
        ready = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(ingest_udp("127.0.0.1", 0, decoder, idle_s=2.0, max_lines=30, ready=ready))
        port = await ready
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for k in range(0, 30, 3):  # three sentences per datagram
                payload = "\n".join(position(mmsi=MMSI + k + j) for j in range(3))
                sock.sendto(payload.encode(), ("127.0.0.1", port))
        await asyncio.wait_for(task, 10.0)
        return decoder

    decoder = asyncio.run(scenario())
    assert decoder.sentences == 30 and decoder.summary()["vessels"] == 30


def test_ingest_command_prints_summary(tmp_path, capsys):
    import argparse

    from meshwarn.maritime.commands import cmd_ingest, register  # noqa: F401

    parser = argparse.ArgumentParser()
    top = parser.add_subparsers(dest="command")
    register(top, top)
    quarantine = tmp_path / "q.jsonl"
    args = parser.parse_args(["ais", "ingest", str(SAMPLE), "--json", "--quarantine", str(quarantine)])
    assert args.func(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["vessels"] == 164 and summary["quarantined_by_reason"]["empty_payload"] == 100
    assert len(quarantine.read_text().splitlines()) == 124
    with pytest.raises(InputError, match="no such file"):
        ingest(str(tmp_path / "missing.nmea"))
    with pytest.raises(InputError, match="tcp://HOST:PORT"):
        ingest("tcp://127.0.0.1:notaport")
