"""The maritime picture shared under the agreements: one fusion per entitlement group, views per partner.

A report may feed a partner's picture when its label releases it to them and the agreements cover
its kind (``ais``, ``ais_static``, ``surface``) from its originator to them (the guard's
``raw_recipients``); its originator always sees it. Partners who may see exactly the same reports
form a group; each group's reports are tracked and searched for anomalies once, so nothing in a
partner's picture can depend on a report it may not see. A product then goes out only if its kind
(``vessel_tracks``, ``anomalies``) is covered from every partner in its provenance, at the combined
terms (rounding, delay), in the hub's envelope (:class:`meshwarn.share.messages.ViewMessage`) to
DIR/views/<PARTNER>.jsonl, in release order. Track snapshots every ``snapshot_s`` keep the volume
fit for the page. An anomaly is stamped when it became evident (its start plus the duration that
defines its kind, at most its end), not when it began, so a replay does not show it early.
Each message is signed with the hub's key and, given a ledger, stored and audited as it goes out
(:mod:`meshwarn.maritime.trust` verifies the reports before they get here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import numpy as np

from meshwarn.exercise import write_jsonl
from meshwarn.maritime.anomalies import AIS_GAP_S, LOITER_S, MEET_S
from meshwarn.model import Anomaly, Delivery, Report, Track, to_msgpack
from meshwarn.share import guard
from meshwarn.share.agreements import Agreements, Terms
from meshwarn.share.messages import ViewMessage

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from meshwarn.maritime.trust import Ledger

VIEWS = "views"
SHOWN_STATUS = ("confirmed", "coasting")  # tentative detection-only tracks stay off the page
# How long after its start an anomaly of each kind can be known (dark vessels and spoofers: a few scans).
EVIDENT_AFTER_S = {"ais_gap": AIS_GAP_S, "loitering": LOITER_S, "rendezvous": MEET_S, "dark_vessel": 900.0,
                   "spoofing": 900.0, "zone_entry": 0.0}  # fmt: skip


def evident_time(anomaly: Anomaly) -> float:
    return min(anomaly.end_time, anomaly.time + EVIDENT_AFTER_S.get(anomaly.kind, 0.0))


def audience(report: Report, agreements: Agreements) -> frozenset[str]:
    """Partners whose maritime picture may use this report (label AND agreements, by its kind)."""
    origin = report.label.originator
    return frozenset({origin, *(p for p, _terms in guard.raw_recipients(report, agreements))})


def entitlement_groups(
    deliveries: list[Delivery], agreements: Agreements
) -> list[tuple[tuple[str, ...], np.ndarray]]:
    """[(members, mask of the deliveries they may all see)], partners with identical masks together."""
    cache: dict[tuple, frozenset[str]] = {}
    audiences = []
    for d in deliveries:
        r = d.report
        key = (r.label.originator, r.kind, r.label.releasable_to)
        if key not in cache:
            cache[key] = audience(r, agreements)
        audiences.append(cache[key])
    groups: dict[bytes, tuple[list[str], np.ndarray]] = {}
    for partner in sorted(agreements.partners):
        mask = np.fromiter((partner in a for a in audiences), dtype=bool, count=len(audiences))
        if not mask.any():
            continue
        groups.setdefault(mask.tobytes(), ([], mask))[0].append(partner)
    return [(tuple(members), mask) for members, mask in groups.values()]


@dataclass
class ViewWriter:
    """Builds each partner's messages; counts what the agreements held back."""

    agreements: Agreements
    messages: dict[str, list[ViewMessage]] = field(default_factory=dict)
    withheld: dict[str, int] = field(default_factory=dict)
    held: list[tuple[float, str, str, str, tuple[str, ...]]] = field(default_factory=list)  # for the audit

    def add(self, partner: str, kind: str, group: str, provenance, time: float, ref: str, item) -> None:
        terms = guard.product_terms(tuple(provenance), partner, kind, self.agreements)
        if terms is None:
            self.withheld[partner] = self.withheld.get(partner, 0) + 1
            self.held.append((time, partner, kind, ref, tuple(provenance)))
            return
        body = _rounded(item, terms)
        self.messages.setdefault(partner, []).append(
            ViewMessage(
                subject=f"view.{partner}.{kind}", partner=partner, kind=kind, seq=0, time=time,
                release=time + terms.delay_s, provenance=tuple(provenance),
                classification=item.classification, group=group, precision=guard.precision_label(terms),
                ref=ref, body=msgspec.to_builtins(body),
            )
        )  # fmt: skip

    def write(
        self, directory: Path, hub_key: Ed25519PrivateKey, ledger: Ledger | None = None
    ) -> dict[str, int]:
        """views/<P>.jsonl, each message numbered and signed with the hub's key (public half in
        keys.json), so a partner can check that what it holds came from the hub unaltered; given a
        ledger, each message is stored and audited as delivered, each withheld product as withheld."""
        from meshwarn.share.audit import view_canonical
        from meshwarn.share.signing import sign_bytes

        folder = Path(directory) / VIEWS
        folder.mkdir(parents=True, exist_ok=True)
        counts, released = {}, []
        for partner, messages in self.messages.items():
            messages.sort(key=lambda m: (m.release, m.kind, m.ref))
            numbered = [msgspec.structs.replace(m, seq=n) for n, m in enumerate(messages, start=1)]
            signed = [
                msgspec.structs.replace(m, signature=sign_bytes(hub_key, view_canonical(m))) for m in numbered
            ]
            counts[partner] = write_jsonl(folder / f"{partner}.jsonl", signed)
            released += signed
        if ledger is not None:
            for time, partner, kind, ref, provenance in sorted(self.held):
                ledger.withhold(time, partner, kind, ref, provenance)
            for message in sorted(released, key=lambda m: (m.release, m.partner, m.seq)):
                ledger.deliver(message, to_msgpack(message))
        return counts


def _rounded(item: Track | Anomaly, terms: Terms) -> Track | Anomaly:
    if not terms.round_km:
        return item
    lat, lon = guard.round_latlon(item.lat, item.lon, terms.round_km)
    if isinstance(item, Track):
        return msgspec.structs.replace(
            item, lat=lat, lon=lon, position_ecef=(0.0, 0.0, 0.0), covariance=(),
            sigma_position_m=max(item.sigma_position_m, terms.round_km * 500),
        )  # fmt: skip
    return msgspec.structs.replace(item, lat=lat, lon=lon)


def _slim(track: Track) -> Track:
    # The page needs position, velocity and status; the ECEF copy and covariance only add bytes.
    return msgspec.structs.replace(track, position_ecef=(0.0, 0.0, 0.0), covariance=())


def share(
    deliveries: list[Delivery], scenario: dict, agreements: Agreements, snapshot_s: float = 600.0
) -> tuple[ViewWriter, list[dict]]:
    """Fuse once per entitlement group and address the products; (writer, one summary per group)."""
    from meshwarn.maritime.commands import fuse_deliveries

    writer = ViewWriter(agreements)
    summary = []
    for n, (members, mask) in enumerate(entitlement_groups(deliveries, agreements), start=1):
        gid = f"M{n}:" + ",".join(members)
        seen = [d for d, m in zip(deliveries, mask, strict=True) if m]
        tracks, anomalies = fuse_deliveries(seen, scenario, snapshot_s)
        shown = [t for t in tracks if t.status in SHOWN_STATUS]
        for partner in members:
            for t in shown:
                writer.add(partner, "vessel_tracks", gid, t.provenance, t.time, t.id, _slim(t))
            for a in anomalies:
                writer.add(partner, "anomalies", gid, a.provenance, evident_time(a), a.id, a)
        summary.append(
            {
                "group": gid,
                "members": members,
                "reports": len(seen),
                "track_states": len(shown),
                "anomalies": len(anomalies),
            }
        )
    return writer, summary
