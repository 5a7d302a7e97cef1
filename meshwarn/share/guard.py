"""The guard: verify what comes in (fail closed) and decide what may go out, at what precision.

Incoming reports are checked, in order, for: decodability and a complete label,
a known originator and known recipients, a subject that matches the label,
a valid Ed25519 signature by the originator's key, replay (report id seen
before) and freshness (sent too long before arrival, or in the future).
A failure raises :class:`Rejected` with the reason; the hub quarantines it.
"""

from __future__ import annotations

import math
from collections import deque

import msgspec

from meshwarn.model import MessageError, Report, Track, from_msgpack, most_restrictive
from meshwarn.share.agreements import Agreements, Terms
from meshwarn.share.messages import ImpactNotice
from meshwarn.share.signing import PublicKeys, canonical_bytes

KM_PER_DEG = 111.195
FUTURE_SKEW_S = 5.0


class Rejected(Exception):
    def __init__(self, reason: str, report_id: str = "", originator: str = "") -> None:
        super().__init__(reason)
        self.reason, self.report_id, self.originator = reason, report_id, originator


class Verifier:
    """Checks incoming report payloads; remembers ids it accepted, within the freshness window."""

    def __init__(self, agreements: Agreements, keys: PublicKeys, freshness_s: float | None = None) -> None:
        self.agreements = agreements
        self.keys = keys
        self.freshness_s = agreements.freshness_s if freshness_s is None else freshness_s
        self.seen: set[str] = set()
        self._expiry: deque[tuple[float, str]] = deque()

    def check(self, subject: str, payload: bytes, arrival: float) -> Report:
        try:
            report = from_msgpack(payload, Report)
        except MessageError as exc:
            raise Rejected(
                f"undecodable or incomplete report: {exc}", originator=_origin_of(subject)
            ) from None
        rid, origin = report.id, report.label.originator

        def reject(reason: str) -> Rejected:
            return Rejected(reason, rid, origin)

        partners = self.agreements.partners
        if origin not in partners or origin not in self.keys.keys:
            raise reject(f"unknown originator {origin}")
        unknown = [p for p in report.label.releasable_to if p not in partners]
        if unknown:
            raise reject(f"label releases to unknown partner {unknown[0]}")
        expected = f"report.{origin}.{report.kind}"
        if subject != expected:
            raise reject(f"subject {subject} does not match label and kind ({expected})")
        self.check_signature(report)
        if rid in self.seen:
            raise reject(f"replay of report {rid}")
        age = arrival - report.sent
        if age > self.freshness_s:
            raise reject(f"stale: sent {age:.1f} s before arrival (window {self.freshness_s:g} s)")
        if age < -FUTURE_SKEW_S:
            raise reject(f"sent {-age:.1f} s after its arrival (clock skew limit {FUTURE_SKEW_S:g} s)")
        self.remember(rid, arrival)
        return report

    def check_signature(self, report: Report) -> None:
        origin = report.label.originator
        if not report.signature:
            raise Rejected("unsigned report", report.id, origin)
        data = canonical_bytes(report)
        if self.keys.verify(origin, data, report.signature):
            return
        signer = self.keys.signer_of(data, report.signature)
        reason = f"signed with {signer}'s key, not {origin}'s" if signer else "bad signature"
        raise Rejected(reason, report.id, origin)

    def remember(self, report_id: str, arrival: float) -> None:
        # Ids older than the window need no memory: a replay of them is stale anyway.
        self.seen.add(report_id)
        self._expiry.append((arrival, report_id))
        horizon = arrival - self.freshness_s - 2 * FUTURE_SKEW_S
        while self._expiry and self._expiry[0][0] < horizon:
            self.seen.discard(self._expiry.popleft()[1])


def _origin_of(subject: str) -> str:
    parts = subject.split(".")
    return parts[1] if len(parts) > 1 else ""


# --- releasability --------------------------------------------------------------------------


def visible_to(report: Report, agreements: Agreements) -> frozenset[str]:
    """Partners whose fused picture may use this report: the label AND the agreements allow it."""
    origin = report.label.originator
    allowed = {origin}
    for partner in report.label.releasable_to:
        if partner != origin and agreements.may_fuse(origin, partner):
            allowed.add(partner)
    return frozenset(allowed)


def raw_recipients(report: Report, agreements: Agreements) -> list[tuple[str, Terms]]:
    """Partners (other than the originator) to forward the raw report to, with the terms."""
    origin, kind = report.label.originator, report.kind
    moving = getattr(report.body, "sensor_moving", False)
    out = []
    for partner in sorted(set(report.label.releasable_to) - {origin}):
        terms = agreements.terms(origin, partner, kind)
        if terms is not None and moving:
            # A plot from a ship's radar also says where the ship is: the own-unit terms apply too,
            # and without a unit channel the plot does not go (its tracks still do).
            terms = _strictest(terms, agreements.terms(origin, partner, "unit"))
        if terms is not None:
            out.append((partner, terms))
    return out


def _strictest(a: Terms, b: Terms | None) -> Terms | None:
    if b is None:
        return None
    return Terms(
        agreement=" + ".join(sorted({a.agreement, b.agreement})),
        round_km=max(a.round_km, b.round_km),
        delay_s=max(a.delay_s, b.delay_s),
        impact_only=a.impact_only or b.impact_only,
    )


def product_terms(
    provenance: set[str] | tuple[str, ...], partner: str, kind: str, agreements: Agreements
) -> Terms | None:
    """Combined terms for a product made from these originators' data; None if any is not covered."""
    terms = [agreements.terms(origin, partner, kind) for origin in provenance]
    if not terms or any(t is None for t in terms):
        return None
    covered = [t for t in terms if t is not None]
    return Terms(
        agreement=" + ".join(sorted({t.agreement for t in covered})),
        round_km=max(t.round_km for t in covered),
        delay_s=max(t.delay_s for t in covered),
        impact_only=any(t.impact_only for t in covered),
    )


def precision_label(terms: Terms) -> str:
    if terms.impact_only:
        return "impact only"
    return f"round {terms.round_km:g} km" if terms.round_km else "full"


def round_latlon(lat: float, lon: float, km: float) -> tuple[float, float]:
    """Snap to a grid at least `km` wide in both directions."""
    step = km / KM_PER_DEG
    rlat = max(-90.0, min(90.0, round(lat / step) * step))
    lon_step = step / max(math.cos(math.radians(rlat)), 0.01)
    return round(rlat, 6), round(round(lon / lon_step) * lon_step, 6)


def redact_report(report: Report, km: float) -> Report:
    """Round positions in a raw report (a unit's, or the sensor's own) to `km`; unsigned once changed."""
    if not km:
        return report
    body = report.body
    if hasattr(body, "sensor_lat"):
        lat, lon = round_latlon(body.sensor_lat, body.sensor_lon, km)
        body = msgspec.structs.replace(body, sensor_lat=lat, sensor_lon=lon)
    elif hasattr(body, "lat"):
        lat, lon = round_latlon(body.lat, body.lon, km)
        body = msgspec.structs.replace(body, lat=lat, lon=lon)
    if getattr(body, "raw", None):  # the original AIS sentence would give the exact position back
        body = msgspec.structs.replace(body, raw="")
    return msgspec.structs.replace(report, body=body, signature="")


def redact_track(track: Track, terms: Terms) -> tuple[str, object]:
    """(kind, body) of a track as these terms let it go out."""
    if terms.impact_only:
        impact = track.impact
        if impact is not None:
            impact = msgspec.structs.replace(impact, ground_track=[], track_sigma_km=[])
        notice = ImpactNotice(
            track.id, track.time, track.status, impact, track.provenance, track.classification
        )
        return "impacts", notice
    if not terms.round_km:
        return "tracks", track
    km = terms.round_km
    lat, lon = round_latlon(track.lat, track.lon, km)
    launch, impact = track.launch, track.impact
    if launch is not None:
        llat, llon = round_latlon(launch.lat, launch.lon, km)
        launch = msgspec.structs.replace(launch, lat=llat, lon=llon, sigma_km=max(launch.sigma_km, km / 2))
    if impact is not None:
        ilat, ilon = round_latlon(impact.ellipse.lat, impact.ellipse.lon, km)
        impact = msgspec.structs.replace(
            impact, ellipse=msgspec.structs.replace(impact.ellipse, lat=ilat, lon=ilon), ground_track=[]
        )
    rounded = msgspec.structs.replace(
        track,
        lat=lat,
        lon=lon,
        h=round(track.h / (km * 1000)) * km * 1000,
        velocity_ecef=tuple(round(v, -1) for v in track.velocity_ecef),  # type: ignore[arg-type]
        sigma_position_m=max(track.sigma_position_m, km * 500),
        position_ecef=(0.0, 0.0, 0.0),
        covariance=(),
        launch=launch,
        impact=impact,
    )
    return "tracks", rounded


def classification_of(classes: list[str]) -> str:
    return most_restrictive(classes)
