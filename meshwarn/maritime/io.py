"""Maritime files in an exercise directory, and decoding reports whose body is a maritime message.

    DIR/reports.jsonl          Deliveries (AIS positions and static data, surface detections, ...)
    DIR/maritime_truth.json    what the vessels really did (MaritimeTruth): for scoring only
    DIR/ais.nmea               the simulated AIS as NMEA sentences with tag blocks (simulate --nmea)
    DIR/vessel_tracks.jsonl    surface Tracks, snapshots in time order (fuse)
    DIR/anomalies.jsonl        Anomalies (fuse)
    DIR/maritime_score.json    precision and recall per anomaly kind (score)

Reports are decoded with a body union that always includes the maritime messages, so this works
whether or not ``model.Observation`` lists them yet; the result is converted to ``model.Delivery``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Union, get_args

import msgspec

from meshwarn.errors import InputError
from meshwarn.exercise import write_jsonl
from meshwarn.maritime.truth import MaritimeTruth
from meshwarn.model import AisPosition, AisStatic, Delivery, Label, Observation, Report, SurfaceDetection

REPORTS = "reports.jsonl"
TRUTH = "maritime_truth.json"
NMEA = "ais.nmea"
TRACKS = "vessel_tracks.jsonl"
ANOMALIES = "anomalies.jsonl"
SCORE = "maritime_score.json"

_bodies = tuple(dict.fromkeys((*get_args(Observation), AisPosition, AisStatic, SurfaceDetection)))
_Body = Union[_bodies]  # noqa: UP007 (a runtime union of a tuple of types)


class _Report(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    label: Label
    sent: float
    body: _Body  # type: ignore[valid-type]
    signature: str = ""


class _Delivery(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    arrival: float
    report: _Report


def read_deliveries(directory: Path) -> list[Delivery]:
    path = Path(directory) / REPORTS
    if not path.exists():
        raise InputError(f"{directory}: no {REPORTS} (run `meshwarn maritime simulate` first)")
    decoder = msgspec.json.Decoder(_Delivery)
    out = []
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                d = decoder.decode(line)
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                raise InputError(f"{path}:{number}: invalid Delivery: {exc}") from None
            r = d.report
            out.append(Delivery(d.arrival, Report(r.id, r.label, r.sent, r.body, r.signature)))
    return out


def write_deliveries(directory: Path, deliveries: list[Delivery]) -> int:
    return write_jsonl(Path(directory) / REPORTS, deliveries)


def read_truth(directory: Path) -> MaritimeTruth:
    path = Path(directory) / TRUTH
    if not path.exists():
        raise InputError(f"{directory}: no {TRUTH} (not a simulated maritime exercise)")
    try:
        return msgspec.json.decode(path.read_bytes(), type=MaritimeTruth)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise InputError(f"{path}: {exc}") from None


def write_truth(directory: Path, truth: MaritimeTruth) -> None:
    (Path(directory) / TRUTH).write_bytes(msgspec.json.encode(truth))
