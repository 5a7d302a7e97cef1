"""The bus interface: subjects, wildcards, acknowledgements. The bus knows no content.

Subjects are dot-separated tokens as in NATS: ``report.KOR.radar``. In a
subscription ``*`` matches exactly one token and ``>`` (last token only) one or
more. Payloads are bytes (msgspec MessagePack by convention; see
:func:`encode`), so the embedded bus and a NATS JetStream bus carry the same
bytes on the same subjects.

Acknowledgements follow JetStream: ``publish`` returns a :class:`PubAck` once the
bus holds the message; a subscriber with ``manual_ack`` must ``await msg.ack()``,
and a message left unacknowledged (or whose handler raised) is redelivered up to
``max_deliver`` times.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import msgspec

_encoder = msgspec.msgpack.Encoder()


def encode(message: object) -> bytes:
    return _encoder.encode(message)


def valid_subject(subject: str) -> bool:
    tokens = subject.split(".")
    return all(tokens) and not any(t in ("*", ">") or " " in t for t in tokens)


def valid_pattern(pattern: str) -> bool:
    tokens = pattern.split(".")
    if not all(tokens) or any(" " in t for t in tokens):
        return False
    return all(t != ">" for t in tokens[:-1]) and all(
        t in ("*", ">") or ("*" not in t and ">" not in t) for t in tokens
    )


def subject_matches(pattern: str, subject: str) -> bool:
    pat, sub = pattern.split("."), subject.split(".")
    for index, token in enumerate(pat):
        if token == ">":
            return len(sub) > index
        if index >= len(sub) or (token != "*" and token != sub[index]):
            return False
    return len(pat) == len(sub)


@dataclass(frozen=True)
class PubAck:
    stream_seq: int


@dataclass
class Msg:
    subject: str
    data: bytes
    headers: dict[str, str] = field(default_factory=dict)
    seq: int = 0
    delivered: int = 1
    _acked: bool = False

    async def ack(self) -> None:
        self._acked = True

    async def in_progress(self) -> None:
        """Still working on it: a bus that redelivers after an ack wait restarts that wait."""

    @property
    def acked(self) -> bool:
        return self._acked


Handler = Callable[[Msg], Awaitable[None]]


class Subscription(abc.ABC):
    @abc.abstractmethod
    async def unsubscribe(self) -> None: ...


class Bus(abc.ABC):
    """What the hub needs of a message bus; embedded now, NATS JetStream later."""

    @abc.abstractmethod
    async def publish(self, subject: str, data: bytes, headers: dict[str, str] | None = None) -> PubAck: ...

    @abc.abstractmethod
    async def subscribe(
        self, pattern: str, handler: Handler, manual_ack: bool = False, max_deliver: int = 3
    ) -> Subscription: ...

    @abc.abstractmethod
    async def drain(self) -> None:
        """Wait until every published message has been handled (or given up on)."""

    @abc.abstractmethod
    async def close(self) -> None: ...
