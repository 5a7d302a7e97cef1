"""The bus on NATS JetStream: same subjects, same bytes, same acks as the embedded bus, across processes.

Streams (in the hub's account): ``REPORTS`` holds ``report.>``, ``VIEWS`` holds
``view.>`` and ``AUDIT`` holds ``audit.>``; all on file storage with a
duplicate window, so a publish carrying a ``Nats-Msg-Id`` seen in the window is
acknowledged but stored once. Every subscriber is a pull consumer; a durable one
keeps its ack floor on the server, so a process that dies resumes where its
acknowledgements stopped.

Two modes:

- hub mode (default): a client of the hub account. It creates the streams, one
  durable consumer per partner and subject family (``VIEWS``/``KOR`` filtering
  ``view.KOR.>``, ``AUDIT``/``KOR`` filtering ``audit.KOR``) and its own consumers.
- partner mode (``partner="KOR"``): a client of the KOR account, which sees the
  hub's JetStream only through the imports that ``meshwarn deploy nats-config``
  writes: publish ``report.KOR.>``, pull and ack the KOR consumers (API prefix
  ``$JS.HUB.API``). The server refuses everything else.

Extensions to the Bus interface, all optional keywords: ``publish(..., msg_id=)``
sets the dedup id (default: a hash of subject and payload, so republishing the
same bytes is idempotent); ``subscribe(..., durable=)`` names the durable
consumer (default ``<name>_<pattern>`` when the bus has a ``name``, else an
ephemeral consumer that sees only what is published after it subscribed, as the
embedded bus does).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from dataclasses import dataclass, field

import nats
import nats.errors
import nats.js.errors
from nats.aio.msg import Msg as RawMsg
from nats.js import JetStreamContext, api

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

STREAMS = {"report": "REPORTS", "view": "VIEWS", "audit": "AUDIT"}
HUB_API = "$JS.HUB.API"  # where a partner account sees the hub's JetStream API (see deploy.nats_config)
MSG_ID = "Nats-Msg-Id"
DUPLICATE_WINDOW_S = 120.0
_TRANSIENT = (asyncio.TimeoutError, nats.errors.Error, nats.js.errors.Error)


@dataclass(frozen=True)
class NatsPubAck(PubAck):
    stream: str = ""
    duplicate: bool = False


@dataclass
class NatsMsg(Msg):
    raw: RawMsg | None = field(default=None, repr=False)
    confirm: bool = True

    async def ack(self) -> None:
        if self._acked or self.raw is None:
            return
        if self.confirm:  # wait for the server to record it: an acked message is never redelivered
            await self.raw.ack_sync(timeout=5)
        else:
            await self.raw.ack()
        self._acked = True

    async def in_progress(self) -> None:
        if not self._acked and self.raw is not None:
            await self.raw.in_progress()


def content_id(subject: str, data: bytes) -> str:
    return hashlib.sha256(subject.encode() + b"\0" + data).hexdigest()[:40]


def stream_for(pattern: str) -> str:
    family = pattern.split(".", 1)[0]
    if family not in STREAMS:
        raise InputError(f"subject {pattern!r} is in no stream (expected report.*, view.* or audit.*)")
    return STREAMS[family]


def durable_name(name: str, pattern: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"{name}_{pattern.replace('>', 'all').replace('*', 'any')}")


@dataclass
class _PullSub(Subscription):
    bus: NatsBus
    pattern: str
    handler: Handler
    manual_ack: bool
    max_deliver: int
    stream: str
    consumer: str
    psub: JetStreamContext.PullSubscription
    ephemeral: bool
    batch: int = 64
    busy: bool = False
    closed: bool = False
    task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        while not self.closed:
            try:
                msgs = await self.psub.fetch(self.batch, timeout=1.0)
            except TimeoutError:
                continue
            except _TRANSIENT as exc:  # server away or leader moving: keep pulling, nothing is lost
                log.debug("fetch %s/%s: %r", self.stream, self.consumer, exc)
                await asyncio.sleep(0.2)
                continue
            self.busy = True
            for raw in msgs:
                await self.deliver(raw)
            self.busy = False

    async def deliver(self, raw: RawMsg) -> None:
        meta = raw.metadata
        msg = NatsMsg(
            raw.subject, raw.data, dict(raw.headers or {}), meta.sequence.stream, meta.num_delivered
        )
        msg.raw, msg.confirm = raw, self.bus.confirm_acks
        try:
            if not subject_matches(self.pattern, raw.subject):
                await msg.ack()  # a partner consumer carries all of view.P.>; this subscriber wants less
                return
            await self.handler(msg)
        except _TRANSIENT:
            log.warning("ack of %s seq %d failed; the server will redeliver", raw.subject, msg.seq)
            return
        except Exception:  # a failing handler must not stop the consumer; the server redelivers
            log.exception(
                "handler for %s failed on %s (delivery %d)", self.pattern, raw.subject, msg.delivered
            )
            await self.retry_or_give_up(msg, raw)
            return
        if not self.manual_ack:
            await msg.ack()
        elif not msg.acked:
            await self.retry_or_give_up(msg, raw)

    async def retry_or_give_up(self, msg: NatsMsg, raw: RawMsg) -> None:
        # max_deliver is enforced here, not by the server: a delivery cut short by a crash
        # must not use up the last attempt, or a killed hub would lose the report it was on.
        if msg.delivered >= self.max_deliver:
            self.bus.dead_letters.append(msg)
            await raw.term()
        else:
            await raw.nak()

    async def idle(self) -> bool:
        if self.busy or self.psub.pending_msgs:
            return False
        try:
            info = await self.bus.consumer_js.consumer_info(self.stream, self.consumer)
        except (nats.errors.TimeoutError, nats.js.errors.ServiceUnavailableError):
            return False  # no answer (a cluster electing a leader, a loaded server): not idle yet
        return info.num_pending == 0 and info.num_ack_pending == 0

    async def unsubscribe(self) -> None:
        if self in self.bus.subs:
            self.bus.subs.remove(self)
        self.closed = True
        if self.task is not None:  # nats-py may swallow a cancel inside fetch: hence the flag too
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        try:
            await self.psub.unsubscribe()
            if self.ephemeral:
                await self.bus.js.delete_consumer(self.stream, self.consumer)
        except _TRANSIENT:
            pass


class NatsBus(Bus):
    """A Bus over JetStream; build it with ``await NatsBus.connect(url, ...)``."""

    def __init__(
        self,
        nc: nats.NATS,
        *,
        partner: str | None = None,
        name: str | None = None,
        confirm_acks: bool = True,
        dedup: bool = True,
        timeout_s: float = 5.0,
        ack_wait_s: float = 10.0,
        max_ack_pending: int | None = None,
    ) -> None:
        self.nc = nc
        self.partner = partner
        self.name = name or partner
        self.confirm_acks = confirm_acks
        self.dedup = dedup
        self.timeout_s = timeout_s
        self.ack_wait_s = ack_wait_s  # consumers this bus creates: redelivery after a silent consumer
        self.max_ack_pending = max_ack_pending  # 1: strict stream order, even across a crash
        self.js = nc.jetstream(timeout=timeout_s)
        # a partner reaches its consumers through the hub account's exported API
        self.consumer_js = nc.jetstream(prefix=HUB_API, timeout=timeout_s) if partner else self.js
        self.subs: list[_PullSub] = []
        self.errors: list[str] = []
        self.dead_letters: list[Msg] = []  # given up after max_deliver attempts, as on the embedded bus

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        partner: str | None = None,
        name: str | None = None,
        partners: tuple[str, ...] | list[str] = (),
        replicas: int = 1,
        user: str | None = None,
        password: str | None = None,
        connect_wait_s: float = 10.0,
        **options: object,
    ) -> NatsBus:
        """Connect; in hub mode also create the streams and one durable consumer per partner."""
        errors: list[str] = []

        async def on_error(exc: Exception) -> None:
            errors.append(str(exc))

        try:  # nats-py retries forever when reconnection is unlimited: bound the first connect
            nc = await asyncio.wait_for(
                nats.connect(
                    servers=[u.strip() for u in url.split(",")],
                    user=user,
                    password=password,
                    name=f"meshwarn-{name or partner or 'hub'}",
                    error_cb=on_error,
                    connect_timeout=2,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.25,
                ),
                connect_wait_s,
            )
        except (OSError, TimeoutError, nats.errors.Error) as exc:
            why = errors[-1] if errors else (str(exc) or type(exc).__name__)
            raise InputError(f"cannot connect to NATS at {_redact(url)}: {why}") from exc
        bus = cls(nc, partner=partner, name=name, **options)  # type: ignore[arg-type]
        bus.errors = errors
        if partner is None:
            await bus.ensure_streams(replicas)
            for code in partners:
                await bus.provision_partner(code, replicas)
        return bus

    # --- provisioning (hub mode) ---

    async def ensure_streams(self, replicas: int = 1) -> None:
        for family, stream in STREAMS.items():
            config = api.StreamConfig(
                name=stream,
                subjects=[f"{family}.>"],
                storage=api.StorageType.FILE,
                num_replicas=replicas,
                duplicate_window=DUPLICATE_WINDOW_S,
            )
            await _during_election(lambda config=config: self._add_or_update_stream(config))

    async def _add_or_update_stream(self, config: api.StreamConfig) -> None:
        try:
            await self.js.add_stream(config)
        except nats.js.errors.BadRequestError:
            await self.js.update_stream(config)

    async def provision_partner(self, partner: str, replicas: int = 1) -> None:
        """Durable consumers the partner account pulls its view and receipts from."""
        for stream, subject in (("VIEWS", f"view.{partner}.>"), ("AUDIT", f"audit.{partner}")):
            config = api.ConsumerConfig(
                durable_name=partner,
                filter_subject=subject,
                ack_policy=api.AckPolicy.EXPLICIT,
                deliver_policy=api.DeliverPolicy.ALL,
                # a pull request left open by a client that was cut off may swallow messages on the
                # server; they come back after ack_wait, so keep it short
                ack_wait=5,
                max_deliver=-1,
                num_replicas=replicas,
            )
            await _during_election(lambda stream=stream, config=config: self.js.add_consumer(stream, config))

    # --- the Bus interface ---

    async def publish(
        self, subject: str, data: bytes, headers: dict[str, str] | None = None, *, msg_id: str | None = None
    ) -> NatsPubAck:
        if not valid_subject(subject):
            raise InputError(f"invalid subject {subject!r}")
        if self.partner and not subject.startswith(f"report.{self.partner}."):
            raise InputError(
                f"partner {self.partner} may publish only report.{self.partner}.*, not {subject!r}"
            )
        hdrs = dict(headers or {})
        if msg_id:
            hdrs[MSG_ID] = msg_id
        elif self.dedup and MSG_ID not in hdrs:
            hdrs[MSG_ID] = content_id(subject, data)
        for attempt in range(4):  # same id on every try: the duplicate window makes retries safe
            try:
                ack = await self.js.publish(subject, data, headers=hdrs, timeout=self.timeout_s)
                return NatsPubAck(ack.seq, ack.stream, bool(ack.duplicate))
            except (TimeoutError, nats.js.errors.NoStreamResponseError, nats.errors.NoRespondersError):
                if attempt == 3:
                    raise
                await asyncio.sleep(0.25 * (attempt + 1))
        raise AssertionError("unreachable")

    async def subscribe(
        self,
        pattern: str,
        handler: Handler,
        manual_ack: bool = False,
        max_deliver: int = 3,
        *,
        durable: str | None = None,
        batch: int = 64,
        ack_wait_s: float | None = None,
    ) -> Subscription:
        if not valid_pattern(pattern):
            raise InputError(f"invalid subject pattern {pattern!r}")
        stream = stream_for(pattern)
        if self.partner:
            consumer, ephemeral = self._partner_consumer(pattern), False
        else:
            consumer, ephemeral = await self._hub_consumer(
                stream, pattern, durable, ack_wait_s or self.ack_wait_s
            )
        if self.max_ack_pending and not self.partner:  # a fetch would wait out its timeout for more
            batch = min(batch, self.max_ack_pending)
        psub = await self.consumer_js.pull_subscribe_bind(consumer=consumer, stream=stream)
        sub = _PullSub(
            self, pattern, handler, manual_ack, max(1, max_deliver), stream, consumer, psub, ephemeral, batch
        )
        sub.task = asyncio.get_running_loop().create_task(sub.run())
        self.subs.append(sub)
        return sub

    def _partner_consumer(self, pattern: str) -> str:
        if not (pattern == f"audit.{self.partner}" or pattern.startswith(f"view.{self.partner}.")):
            raise InputError(
                f"partner {self.partner} may subscribe only to view.{self.partner}.> or audit.{self.partner}, "
                f"not {pattern!r}"
            )
        return self.partner or ""

    async def _hub_consumer(
        self, stream: str, pattern: str, durable: str | None, ack_wait_s: float
    ) -> tuple[str, bool]:
        durable = durable or (durable_name(self.name, pattern) if self.name else None)
        config = api.ConsumerConfig(
            durable_name=durable,
            filter_subject=pattern,
            ack_policy=api.AckPolicy.EXPLICIT,
            deliver_policy=api.DeliverPolicy.ALL if durable else api.DeliverPolicy.NEW,
            ack_wait=ack_wait_s,  # how long a message held by a dead consumer waits to be redelivered
            max_ack_pending=self.max_ack_pending,
            max_deliver=-1,  # see _PullSub.retry_or_give_up
            inactive_threshold=None if durable else 60.0,
        )
        if durable:
            try:
                info = await _during_election(lambda: self.js.consumer_info(stream, durable))
            except nats.js.errors.NotFoundError:
                pass
            else:  # resume: bind to the existing ack floor
                if info.config.filter_subject != pattern:
                    raise InputError(
                        f"durable {durable!r} exists for {info.config.filter_subject!r}, not {pattern!r}"
                    )
                return durable, False
        info = await _during_election(lambda: self.js.add_consumer(stream, config))
        return info.name, durable is None

    async def drain(self, timeout_s: float | None = None) -> None:
        """Wait until every subscriber's consumer has nothing pending or unacknowledged."""

        async def settle() -> None:
            while not all([await sub.idle() for sub in list(self.subs)]):
                await asyncio.sleep(0.02)

        await asyncio.wait_for(settle(), timeout_s)

    async def close(self) -> None:
        for sub in list(self.subs):
            await sub.unsubscribe()
        if not self.nc.is_closed:
            await self.nc.close()


def _redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


async def _during_election(call, wait_s: float = 30.0):  # type: ignore[no-untyped-def]
    """Retry a JetStream API call while a cluster elects a new leader (it times out meanwhile);
    bounded in time, then the last error stands."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        try:
            return await call()
        except (nats.errors.TimeoutError, nats.js.errors.ServiceUnavailableError):
            if loop.time() >= deadline:
                raise
            await asyncio.sleep(0.5)
