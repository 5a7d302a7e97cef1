"""Pick a bus by URL: the embedded bus by default, NATS JetStream for ``nats://`` (or ``tls://``)."""

from __future__ import annotations

from meshwarn.bus.base import Bus
from meshwarn.bus.embedded import EmbeddedBus
from meshwarn.errors import InputError


async def open_bus(url: str | None = None, **options: object) -> Bus:
    """``None``/``"embedded"`` -> EmbeddedBus; ``nats://[user:pass@]host:port[,...]`` -> NatsBus.

    ``options`` go to :meth:`meshwarn.bus.nats.NatsBus.connect` (``partner=``, ``name=``,
    ``partners=``, ``replicas=``); the embedded bus takes none.
    """
    if url in (None, "", "embedded"):
        return EmbeddedBus()
    assert url is not None
    if url.startswith(("nats://", "tls://")):
        from meshwarn.bus.nats import NatsBus  # nats-py only when asked for

        return await NatsBus.connect(url, **options)  # type: ignore[arg-type]
    raise InputError(f"unknown bus {url!r}: use 'embedded' or nats://HOST:PORT")
