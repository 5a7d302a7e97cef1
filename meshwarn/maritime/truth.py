"""What the simulated vessels really did: for scoring and pictures, never for the tracker."""

from __future__ import annotations

import msgspec


class TruthEvent(msgspec.Struct, frozen=True):
    """One thing the anomaly detector should find; samples are (time, lat, lon) of the vessel(s)."""

    kind: str
    start: float
    end: float
    vessels: tuple[str, ...]
    mmsi: tuple[int, ...]
    samples: list[tuple[float, float, float]]
    observations: int = 0  # sensor detections of the (least seen) vessel during the event, +-15 min
    zone: str = ""
    optional: bool = False  # finding it is right, missing it is no fault (a gap or spoofer seen as dark)


class TruthVessel(msgspec.Struct, frozen=True):
    id: str
    kind: str
    mmsi: int
    length_m: float


class MaritimeTruth(msgspec.Struct, frozen=True):
    scenario: str
    start: float
    end: float
    vessels: list[TruthVessel]
    events: list[TruthEvent]
