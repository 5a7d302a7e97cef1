"""What the hub sends out and what it keeps aside: view envelopes, impact notices, quarantine entries."""

from __future__ import annotations

from typing import Any

from msgspec import Struct

from meshwarn.model import Classification, ImpactPrediction, Partner, TrackStatus


class ViewMessage(Struct, frozen=True, forbid_unknown_fields=True):
    """One outgoing message to one partner, on ``view.<partner>.<kind>``, signed by the hub.

    ``body`` is a Track, ImpactNotice, Alert or (redacted) Report as plain data;
    ``kind`` says which. ``provenance`` names every originator whose reports
    contributed; ``group`` the entitlement group whose fused picture it came from.
    """

    subject: str
    partner: Partner
    kind: str
    seq: int
    time: float  # when the hub made it
    release: float  # when it was released to the partner (time + the agreed delay)
    provenance: tuple[Partner, ...]
    classification: Classification
    group: str
    precision: str  # "full", "round 10 km", "impact only"
    ref: str  # the track, alert or report id it is about
    body: Any
    signature: str = ""


class ImpactNotice(Struct, frozen=True, forbid_unknown_fields=True):
    """A track reduced to its impact area and time (``impact_only`` agreements)."""

    track_id: str
    time: float
    status: TrackStatus
    impact: ImpactPrediction | None
    provenance: tuple[Partner, ...]
    classification: Classification = "UNCLASSIFIED"


class QuarantineEntry(Struct, frozen=True, forbid_unknown_fields=True):
    """A report the hub refused, with why; the payload is kept as it arrived (base64)."""

    arrival: float
    subject: str
    report_id: str
    originator: str
    reason: str
    payload_b64: str
