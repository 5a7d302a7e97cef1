"""The hub: verify -> fuse once per entitlement group -> share per partner, on the bus.

Subjects: reports come in on ``report.<ORIGIN>.<kind>``; what a partner may see
goes out on ``view.<PARTNER>.<kind>`` (tracks, impacts, alerts, radar, ir,
unit, ...), and receipts on ``audit.<PARTNER>``.

Entitlement groups. Partners whose visible-report sets are identical share one
tracker. All partners start in one group with a fresh tracker; when a report
arrives that some members of a group may see and others may not, the group
splits: the members who may not see it keep the tracker as it is, the others
get a copy of it (``copy.deepcopy``; for a tracker that cannot be copied, a
replay of the group's reports into a fresh one, if the hub was asked to keep
them with ``keep_history=True``) and process the report. So a
group's tracker has only ever seen reports that every member may see, and there
are never more groups than partners.

Warnings. A warn stage plugs in with ``Hub(..., warn=hook)``: after each
report, ``hook(group, changed_tracks, now)`` is called for every group whose
tracks changed, and at every status tick (possibly with no tracks, so that
time passing can cancel or widen alerts); it returns Alerts. The hub stamps
their provenance from the tracks they are about, checks them against the
agreements (kind ``alerts``) and publishes them on ``view.<PARTNER>.alerts`` to
each member of the group. ``group.gid`` is stable while its members are and
``group.parent`` names the group it split from, so a hook can keep state per
group and carry it over a split (see :mod:`meshwarn.share.warnhook`).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import heapq
import logging
import sqlite3
import time as wallclock
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from meshwarn.bus.base import Bus, Msg, Subscription
from meshwarn.model import Alert, Report, Track, to_msgpack
from meshwarn.share import guard
from meshwarn.share.agreements import Agreements, Terms
from meshwarn.share.audit import AuditLog, keys_digest, sha256, view_canonical
from meshwarn.share.messages import QuarantineEntry, ViewMessage
from meshwarn.share.signing import PublicKeys, sign_bytes
from meshwarn.store.sqlite import Store

log = logging.getLogger(__name__)


class TrackerLike(Protocol):
    def process(self, report: Report, arrival: float) -> list[Track]: ...

    def tracks(self, now: float) -> list[Track]: ...


TrackerFactory = Callable[[], TrackerLike]


@dataclass
class Group:
    """Partners that see exactly the same reports, and the one tracker they share.

    ``gid`` names the group for the whole of its life, during which its members
    never change (a split makes two new groups), so a message's ``group`` and
    the lineage stored under it mean one fixed set of partners.
    """

    gid: str
    members: frozenset[str]
    tracker: TrackerLike
    history: list[tuple[Report, float]] = field(default_factory=list)
    lineage: dict[str, set[str]] = field(default_factory=dict)  # track id -> report ids that changed it
    origins: dict[str, set[str]] = field(default_factory=dict)  # track id -> originators of those reports
    allowed: dict[str, frozenset[str]] = field(default_factory=dict)  # track id -> who may see all of them
    classes: dict[str, str] = field(default_factory=dict)  # track id -> most restrictive classification
    status: dict[str, str] = field(default_factory=dict)  # track id -> last published status
    parent: str = ""  # the gid of the group this one split from

    @property
    def key(self) -> str:
        return "+".join(sorted(self.members))

    def successor(self, gid: str, members: frozenset[str], tracker: TrackerLike) -> Group:
        return Group(
            gid,
            members,
            tracker,
            list(self.history),
            {k: set(v) for k, v in self.lineage.items()},
            {k: set(v) for k, v in self.origins.items()},
            dict(self.allowed),
            dict(self.classes),
            dict(self.status),
            self.gid,
        )


WarnHook = Callable[[Group, list[Track], float], list[Alert]]


@dataclass(order=True)
class _Pending:
    release: float
    order: int
    partner: str = field(compare=False)
    kind: str = field(compare=False)
    made: float = field(compare=False)
    provenance: tuple[str, ...] = field(compare=False)
    classification: str = field(compare=False)
    group: str = field(compare=False)
    precision: str = field(compare=False)
    ref: str = field(compare=False)
    body: object = field(compare=False)


class Hub:
    def __init__(
        self,
        agreements: Agreements,
        keys: PublicKeys,
        hub_key: Ed25519PrivateKey,
        tracker_factory: TrackerFactory,
        bus: Bus,
        store: Store,
        warn: WarnHook | None = None,
        tick_s: float = 5.0,
        freshness_s: float | None = None,
        keep_history: bool = False,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.agreements = agreements
        self.verifier = guard.Verifier(agreements, keys, freshness_s)
        self.hub_key = hub_key
        self.factory = tracker_factory
        self.bus = bus
        self.store = store
        self.audit = AuditLog(store)
        self.warn = warn
        self.tick_s = tick_s
        self.clock = clock  # live: the hub's own clock; exercise: the simulated arrival in a header
        self.releaser: asyncio.Task[None] | None = None
        self.keep_history = keep_history  # memory grows with the run; only for trackers deepcopy cannot copy
        self.group_count = len(store.groups())  # gids stay unique in a store that is reused
        self.groups = [self._new_group(frozenset(agreements.partners), tracker_factory())]
        self.pending: list[_Pending] = []
        self.order = 0
        self.out_seq = store.max_outgoing_seq()
        self.last_tick = -float("inf")
        self.now = -float("inf")
        self.quarantine: list[QuarantineEntry] = []
        self.counts: dict[str, dict[str, int]] = {
            p: {"accepted": 0, "fused": 0, "messages": 0} for p in agreements.partners
        }
        self.track_ids: dict[str, set[str]] = {p: set() for p in agreements.partners}
        self.sub: Subscription | None = None
        raw = keys.raw()
        store.put_keys(raw)
        self.audit.append(0.0, "HUB", "keys", "exercise", keys_digest(raw))

    # --- bus plumbing ---

    async def start(self) -> None:
        self.sub = await self.bus.subscribe("report.>", self._on_message, manual_ack=True, max_deliver=1)
        if self.clock is not None:  # live: delayed messages fall due even when no report comes in
            self.releaser = asyncio.get_running_loop().create_task(self._release_loop(self.clock))

    async def _release_loop(self, clock: Callable[[], float], every_s: float = 0.5) -> None:
        while True:
            await asyncio.sleep(every_s)
            await self._flush(clock())

    async def _on_message(self, msg: Msg) -> None:
        # Live, a publisher's header is not trusted for freshness; in an exercise it is the simulated arrival.
        if self.clock is not None:
            arrival = self.clock()
        else:
            arrival = float(msg.headers["arrival"]) if "arrival" in msg.headers else wallclock.time()
        await self.handle(msg.subject, msg.data, arrival)
        await msg.ack()

    async def finish(self, now: float | None = None) -> None:
        """End of the run: a last status tick, release everything still held, commit."""
        now = self.now if now is None else now
        if self.releaser is not None:
            self.releaser.cancel()
        for grp in self.groups:
            await self._tick_group(grp, now)
        await self._flush(float("inf"))
        self.store.commit()

    # --- the pipeline ---

    async def handle(self, subject: str, payload: bytes, arrival: float) -> None:
        try:
            report = self.verifier.check(subject, payload, arrival)
            self._store_report(report, subject, payload, arrival)
        except guard.Rejected as rejected:
            # Refused input never moves the hub's clock: it could release held messages early.
            await self._quarantine(subject, payload, arrival, rejected)
            return
        self.now = max(self.now, arrival)
        await self._accept(report, payload, arrival)
        if arrival - self.last_tick >= self.tick_s:
            self.last_tick = arrival
            for grp in self.groups:
                await self._tick_group(grp, arrival)
        await self._flush(self.now)

    async def _quarantine(self, subject: str, payload: bytes, arrival: float, why: guard.Rejected) -> None:
        seq = self.store.add_quarantine(arrival, subject, why.report_id, why.reason, payload)
        digest = sha256(payload)
        head = self.audit.append(arrival, why.originator or "?", "quarantined", str(seq), digest)
        entry = QuarantineEntry(
            arrival, subject, why.report_id, why.originator, why.reason, base64.b64encode(payload).decode()
        )
        self.quarantine.append(entry)
        if why.originator in self.agreements.partners:
            await self._receipt(why.originator, "quarantined", why.report_id, digest, head, why.reason)

    def _store_report(self, report: Report, subject: str, payload: bytes, arrival: float) -> None:
        visible = ",".join(sorted(guard.visible_to(report, self.agreements)))
        origin = report.label.originator
        try:
            self.store.add_report(report.id, origin, report.kind, subject, arrival, visible, payload)
        except sqlite3.IntegrityError:  # an id seen before the replay memory's horizon
            raise guard.Rejected(
                f"replay of report {report.id} (already stored)", report.id, origin
            ) from None

    async def _accept(self, report: Report, payload: bytes, arrival: float) -> None:
        origin = report.label.originator
        visible = guard.visible_to(report, self.agreements)
        digest = sha256(payload)
        head = self.audit.append(arrival, origin, "accepted", report.id, digest)
        self.counts[origin]["accepted"] += 1
        await self._receipt(origin, "accepted", report.id, digest, head)
        for partner, terms in guard.raw_recipients(report, self.agreements):
            body = guard.redact_report(report, terms.round_km)
            self._hold(
                partner,
                report.kind,
                arrival,
                (origin,),
                report.label.classification,
                "raw",
                terms,
                report.id,
                body,
            )
        for grp in self._regroup(visible):
            if grp.members <= visible:
                await self._fuse(grp, report, arrival, visible)

    def _new_group(self, members: frozenset[str], tracker: TrackerLike, parent: Group | None = None) -> Group:
        self.group_count += 1
        gid = f"{'+'.join(sorted(members))}#{self.group_count}"
        self.store.add_group(gid, ",".join(sorted(members)), parent.gid if parent else "")
        if parent is None:
            return Group(gid, members, tracker)
        self.store.copy_lineage(parent.gid, gid)
        return parent.successor(gid, members, tracker)

    def _regroup(self, visible: frozenset[str]) -> list[Group]:
        groups = []
        for grp in self.groups:
            inside, outside = grp.members & visible, grp.members - visible
            if inside and outside:
                groups.append(self._new_group(outside, grp.tracker, grp))
                groups.append(self._new_group(inside, self._copy_tracker(grp), grp))
            else:
                groups.append(grp)
        self.groups = groups
        return groups

    def _copy_tracker(self, grp: Group) -> TrackerLike:
        try:
            return copy.deepcopy(grp.tracker)
        except Exception:  # a tracker that cannot be copied is rebuilt from what the group saw
            if not self.keep_history:
                log.warning(
                    "tracker of %s cannot be copied and no history is kept: the split starts afresh", grp.gid
                )
            twin = self.factory()
            for report, arrival in grp.history:
                twin.process(report, arrival)
            return twin

    async def _fuse(self, grp: Group, report: Report, arrival: float, visible: frozenset[str]) -> None:
        if self.keep_history:
            grp.history.append((report, arrival))
        for member in grp.members:
            self.counts[member]["fused"] += 1
        try:
            changed = grp.tracker.process(report, arrival)
        except Exception as exc:  # a tracker fault on one report must not stop the hub; it is on record
            log.exception("tracker of group %s failed on report %s", grp.gid, report.id)
            self.audit.append(
                arrival, "HUB", "fuse_failed", f"{grp.gid}:{report.id}", sha256(repr(exc).encode())
            )
            return
        origin, cls = report.label.originator, report.label.classification
        for track in changed:
            tid = track.id
            grp.lineage.setdefault(tid, set()).add(report.id)
            grp.origins.setdefault(tid, set()).add(origin)
            grp.allowed[tid] = grp.allowed.get(tid, visible) & visible
            grp.classes[tid] = guard.classification_of([grp.classes.get(tid, "UNCLASSIFIED"), cls])
            self.store.add_lineage(grp.gid, tid, report.id)
            self._share_track(grp, track, arrival)
        if changed and self.warn is not None:
            for alert in self.warn(grp, changed, arrival):
                self._share_alert(grp, alert, arrival)

    async def _tick_group(self, grp: Group, now: float) -> None:
        changed = []
        for track in grp.tracker.tracks(now):
            if track.id in grp.lineage and grp.status.get(track.id) != track.status:
                self._share_track(grp, track, now)
                changed.append(track)
        if self.warn is not None:  # also with nothing changed: time passing can cancel or grow alerts
            for alert in self.warn(grp, changed, now):
                self._share_alert(grp, alert, now)

    def _share_track(self, grp: Group, track: Track, now: float) -> None:
        tid = track.id
        provenance = tuple(sorted(grp.origins[tid] | set(track.provenance)))
        classification = grp.classes[tid]
        track = msgspec.structs.replace(track, provenance=provenance, classification=classification)
        grp.status[tid] = track.status
        for partner in sorted(grp.members):
            terms = guard.product_terms(provenance, partner, "tracks", self.agreements)
            if terms is None or partner not in grp.allowed[tid]:
                self._withhold(partner, "tracks", tid, provenance, now)
                continue
            kind, body = guard.redact_track(track, terms)
            self._hold(partner, kind, now, provenance, classification, grp.gid, terms, tid, body)

    def _share_alert(self, grp: Group, alert: Alert, now: float) -> None:
        tid = alert.track_id
        origins = grp.origins.get(tid, set()) | set(alert.provenance)
        provenance = tuple(sorted(origins))
        classification = guard.classification_of([grp.classes.get(tid, "UNCLASSIFIED"), alert.classification])
        alert = msgspec.structs.replace(alert, provenance=provenance, classification=classification)
        for partner in sorted(grp.members):
            terms = guard.product_terms(provenance, partner, "alerts", self.agreements)
            if terms is None or tid not in grp.allowed or partner not in grp.allowed[tid]:
                self._withhold(partner, "alerts", alert.id, provenance, now)
                continue
            self._hold(partner, "alerts", now, provenance, classification, grp.gid, terms, alert.id, alert)

    def _withhold(self, partner: str, kind: str, ref: str, provenance: tuple[str, ...], now: float) -> None:
        # Fail closed, and say so: the guard found a product this partner may not have.
        self.audit.append(now, partner, "withheld", f"{kind}:{ref}", sha256(",".join(provenance).encode()))

    # --- going out ---

    def _hold(
        self,
        partner: str,
        kind: str,
        now: float,
        provenance: tuple[str, ...],
        classification: str,
        group: str,
        terms: Terms,
        ref: str,
        body: object,
    ) -> None:
        self.order += 1
        item = _Pending(
            now + terms.delay_s,
            self.order,
            partner,
            kind,
            now,
            provenance,
            classification,
            group,
            guard.precision_label(terms),
            ref,
            body,
        )
        heapq.heappush(self.pending, item)

    async def _flush(self, now: float) -> None:
        while self.pending and self.pending[0].release <= now:
            await self._send(heapq.heappop(self.pending))

    async def _send(self, item: _Pending) -> None:
        subject = f"view.{item.partner}.{item.kind}"
        message = ViewMessage(
            subject,
            item.partner,
            item.kind,
            self.out_seq + 1,
            item.made,
            item.release,
            item.provenance,
            item.classification,  # type: ignore[arg-type]
            item.group,
            item.precision,
            item.ref,
            msgspec.to_builtins(item.body),
        )
        message = msgspec.structs.replace(
            message, signature=sign_bytes(self.hub_key, view_canonical(message))
        )
        payload = to_msgpack(message)
        seq = self.store.add_outgoing(
            item.partner,
            subject,
            item.kind,
            item.made,
            item.release,
            ",".join(item.provenance),
            item.group,
            item.ref,
            payload,
        )
        self.out_seq = seq
        digest = sha256(payload)
        head = self.audit.append(item.release, item.partner, "delivered", str(seq), digest)
        self.counts[item.partner]["messages"] += 1
        if item.kind in ("tracks", "impacts"):
            self.track_ids[item.partner].add(item.ref)
        await self.bus.publish(subject, payload)
        await self._receipt(item.partner, "delivered", str(seq), digest, head)

    async def _receipt(
        self, partner: str, event: str, ref: str, digest: str, head: str, reason: str = ""
    ) -> None:
        receipt = {"event": event, "ref": ref, "digest": digest, "audit_head": head}
        if reason:
            receipt["reason"] = reason
        await self.bus.publish(f"audit.{partner}", msgspec.msgpack.encode(receipt))

    # --- for people ---

    def summary(self) -> dict[str, dict[str, object]]:
        """Per partner: reports accepted from it, tracks and messages it got, the group it is in."""
        return {
            p: {**c, "tracks": len(self.track_ids[p]), "group": self.group_of(p).gid}
            for p, c in self.counts.items()
        }

    def group_of(self, partner: str) -> Group:
        return next(g for g in self.groups if partner in g.members)
