"""An in-process bus on asyncio queues, with NATS subject semantics and JetStream-style acks."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from meshwarn.bus.base import (
    Bus,
    Handler,
    Msg,
    PubAck,
    Subscription,
    subject_matches,
    valid_pattern,
    valid_subject,
)
from meshwarn.errors import InputError

log = logging.getLogger(__name__)


@dataclass
class _Sub(Subscription):
    bus: EmbeddedBus
    pattern: str
    handler: Handler
    manual_ack: bool
    max_deliver: int
    queue: asyncio.Queue[Msg] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        while True:
            msg = await self.queue.get()
            try:
                await self.deliver(msg)
            finally:
                self.bus._done()

    async def deliver(self, msg: Msg) -> None:
        for attempt in range(1, self.max_deliver + 1):
            msg.delivered, msg._acked = attempt, False
            try:
                await self.handler(msg)
            except Exception:  # a failing consumer must not stop the bus; redeliver, then give up
                log.exception("handler for %s failed on %s (delivery %d)", self.pattern, msg.subject, attempt)
                continue
            if not self.manual_ack or msg.acked:
                return
        self.bus.dead_letters.append(msg)

    async def unsubscribe(self) -> None:
        if self in self.bus.subs:
            self.bus.subs.remove(self)
        if self.task is not None:
            self.task.cancel()
        while not self.queue.empty():  # what it will never handle no longer counts as pending
            self.queue.get_nowait()
            self.bus._done()


class EmbeddedBus(Bus):
    """One process, many subscribers; each subscriber gets its own FIFO queue."""

    def __init__(self) -> None:
        self.subs: list[_Sub] = []
        self.seq = 0
        self.dead_letters: list[Msg] = []
        self.pending = 0  # messages queued or being handled, across all subscribers
        self._idle = asyncio.Event()
        self._idle.set()

    def _done(self) -> None:
        self.pending -= 1
        if self.pending == 0:
            self._idle.set()

    async def publish(self, subject: str, data: bytes, headers: dict[str, str] | None = None) -> PubAck:
        if not valid_subject(subject):
            raise InputError(f"invalid subject {subject!r}")
        self.seq += 1
        for sub in self.subs:
            if subject_matches(sub.pattern, subject):
                self.pending += 1
                self._idle.clear()
                sub.queue.put_nowait(Msg(subject, data, dict(headers or {}), self.seq))
        return PubAck(self.seq)

    async def subscribe(
        self, pattern: str, handler: Handler, manual_ack: bool = False, max_deliver: int = 3
    ) -> Subscription:
        if not valid_pattern(pattern):
            raise InputError(f"invalid subject pattern {pattern!r}")
        sub = _Sub(self, pattern, handler, manual_ack, max(1, max_deliver))
        sub.task = asyncio.get_running_loop().create_task(sub.run())
        self.subs.append(sub)
        return sub

    async def drain(self) -> None:
        await self._idle.wait()

    async def close(self) -> None:
        for sub in list(self.subs):
            await sub.unsubscribe()
