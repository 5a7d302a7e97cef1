"""Exercise-time order for a hub fed by separate node processes (``meshwarn hub --exercise-clock``).

Each partner node publishes its own reports in exercise order, but the nodes are separate
processes: at ``--speed max`` one node may be minutes of exercise time ahead of another,
so the REPORTS stream interleaves them far from exercise order, and a tracker fed in
stream order sees reports tens of seconds out of sequence (and fragments its tracks).

:class:`Reorder` sits between the hub's consumer and :meth:`Hub.handle`. It holds each
report and releases it in exercise order, ``(arrival, index)`` (the nodes' ``arrival``
and ``index`` headers: exercise time, then the position in reports.jsonl, the order an
embedded run takes them in), once every live partner has gone past it:

- a partner's watermark is the key of the latest report it published (a node publishes
  in exercise order), raised by its own ``report.<P>.watermark`` messages: a paced node
  says how far its exercise clock has got while it has nothing to send, and every node
  says ``inf`` once it has sent everything;
- a report is released once the lowest watermark of the live partners has reached it;
- bounded hold: a node that goes silent must not stall the hub. When the report first in
  line waits for a partner not heard from for ``hold_s`` seconds of wall time (one never
  heard from gets ``start_grace_s`` from the hub's start), the hub publishes
  ``report.HUB.release`` naming that partner and its watermark (into its own REPORTS
  stream; partner accounts cannot publish there). When the marker comes back through the
  stream and the partner has sent nothing since, it stops counting as live until it sends
  again;
- a report older than what has already been released (late: a partner back from
  silence, or a node that does not publish in exercise order) goes to the hub at once;
  the tracker handles out-of-sequence reports. Nothing is dropped.

What is released when depends on the stream's contents and order only (the wall-clock
bound acts through a marker in the stream), so a hub killed mid-exercise and rebuilt by
replaying the acknowledged prefix of the stream through a fresh Reorder is in the state
the killed hub was in.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

WATERMARK = "watermark"  # report.<P>.watermark: "nothing earlier than this exercise time follows from P"
RELEASE_SUBJECT = "report.HUB.release"  # the hub's own marker: stop waiting for a silent partner
END = math.inf
HOLD_S = 5.0
# A node not heard from at all may still be starting (a loaded machine takes seconds to start
# a Python process): the hub waits this long for it before the hold bound applies to it.
START_GRACE_S = 30.0

Key = tuple[float, float, int]  # (exercise arrival, index in reports.jsonl, stream sequence)
Handle = Callable[[str, bytes, float], Awaitable[None]]
Publish = Callable[[str, bytes], Awaitable[object]]
Progress = Callable[[], Awaitable[None]]
PROGRESS_S = 1.0  # well inside the hub consumer's ack wait (3 s)
LOWEST: Key = (-math.inf, -math.inf, -1)
HIGHEST: Key = (math.inf, math.inf, 1 << 62)


@dataclass(order=True)
class _Held:
    key: Key
    subject: str = field(compare=False)
    data: bytes = field(compare=False)


def control_subject(subject: str) -> bool:
    """Ordering messages, not reports: nodes send them only with --watermark, for a hub on the
    exercise clock, which never passes them to the verifier."""
    return subject == RELEASE_SUBJECT or subject.endswith(f".{WATERMARK}")


def _number(data: bytes) -> float | None:
    try:
        value = float(data.decode())
    except (UnicodeDecodeError, ValueError):
        return None
    return None if math.isnan(value) else value


def _finite(text: str | None) -> float | None:
    """A header's number, or None when absent, malformed or not finite (a node's bug, not a crash)."""
    try:
        value = float(text) if text is not None else math.nan
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def release_marker(partner: str, mark: Key) -> bytes:
    return json.dumps({"partner": partner, "mark": list(mark)}).encode()


class Reorder:
    def __init__(
        self,
        partners: Iterable[str],
        handle: Handle,
        hold_s: float = HOLD_S,
        start_grace_s: float = START_GRACE_S,
    ) -> None:
        self.marks: dict[str, Key] = {p: LOWEST for p in partners}
        self.silent: set[str] = set()  # presumed gone (by a marker); live again once they send
        self.handle = handle
        self.hold_s = hold_s
        self.started = time.monotonic()
        # wall time each partner was last heard from; a partner never heard from gets a grace period
        self.heard = {p: self.started + start_grace_s - hold_s for p in self.marks}
        self.held: list[_Held] = []
        self.floor: Key = LOWEST  # everything at or below has gone to the hub
        self.late = 0  # reports that came in below the floor (passed on at once)
        self.forced = 0  # partners given up on by a release marker

    def watermark(self) -> Key:
        live = [mark for p, mark in self.marks.items() if p not in self.silent]
        return min(live, default=HIGHEST)

    async def feed(
        self,
        subject: str,
        data: bytes,
        headers: Mapping[str, str],
        seq: int,
        progress: Progress | None = None,
    ) -> None:
        """One message from the REPORTS stream, in stream order. It may release many held reports;
        ``progress`` is called about once a second meanwhile (the consumer's ack wait restarts)."""
        origin = subject.split(".")[1] if subject.count(".") >= 2 else ""
        if subject == RELEASE_SUBJECT:
            self._give_up(data)
        elif origin in self.marks and subject.endswith(f".{WATERMARK}"):
            value = _number(data)
            if value is not None:
                self._heard(origin, (value, -math.inf, -1))
        elif (arrival := _finite(headers.get("arrival"))) is None or origin not in self.marks:
            # not from one of our nodes, or no usable exercise time (the verifier will say why):
            # nothing to order it by, and a NaN key at the heap's head would stall every release
            await self.handle(subject, data, time.time() if arrival is None else arrival)
            return
        else:
            index = _finite(headers.get("index"))
            key = (arrival, math.inf if index is None else index, seq)
            self._heard(origin, key)
            if key <= self.floor:
                self.late += 1
                await self.handle(subject, data, key[0])
                return
            heapq.heappush(self.held, _Held(key, subject, data))
        await self._release(self.watermark(), progress)

    def _heard(self, partner: str, mark: Key) -> None:
        self.marks[partner] = max(self.marks[partner], mark)
        self.heard[partner] = time.monotonic()
        self.silent.discard(partner)

    def _give_up(self, data: bytes) -> None:
        try:
            marker = json.loads(data)
            partner, mark = marker["partner"], tuple(marker["mark"])
        except (ValueError, KeyError, TypeError):
            log.warning("malformed release marker %r ignored", data[:80])
            return
        # only if the partner has sent nothing since the hub decided it was silent
        if partner in self.marks and partner not in self.silent and self.marks[partner] <= mark:
            self.silent.add(partner)
            self.forced += 1

    async def _release(self, until: Key, progress: Progress | None = None) -> None:
        self.floor = max(self.floor, until)
        told = time.monotonic()
        while self.held and self.held[0].key <= self.floor:
            item = self.held[0]  # handled, then popped: a hub stopped mid-handle still holds it for flush
            await self.handle(item.subject, item.data, item.key[0])
            if self.held and self.held[0] is item:
                heapq.heappop(self.held)
            if progress is not None and time.monotonic() - told >= PROGRESS_S:
                await progress()
                told = time.monotonic()

    async def flush(self) -> None:
        """The hub is stopping: everything still held goes to it, in order."""
        await self._release(HIGHEST)

    def stalled_by(self, now: float | None = None) -> list[str]:
        """Live partners the first held report waits for that have been silent past the bound."""
        now = time.monotonic() if now is None else now
        if not self.held:
            return []
        head = self.held[0].key
        return sorted(
            p
            for p, mark in self.marks.items()
            if p not in self.silent and mark < head and now - self.heard[p] >= self.hold_s
        )

    async def guard_silence(self, publish: Publish, every_s: float | None = None) -> None:
        """Runs beside the consumer: asks, through the stream, to stop waiting for a silent partner."""
        every_s = every_s or self.hold_s / 4
        asked: set[tuple[str, Key]] = set()
        while True:
            await asyncio.sleep(every_s)
            for partner in self.stalled_by():
                mark = self.marks[partner]
                if (partner, mark) in asked:  # once per silence, not once per tick
                    continue
                try:
                    await publish(RELEASE_SUBJECT, release_marker(partner, mark))
                except Exception:  # server away: ask again on the next tick
                    log.warning("could not publish the release marker; retrying", exc_info=True)
                    continue
                asked.add((partner, mark))
