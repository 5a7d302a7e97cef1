"""Helpers for the NATS tests: servers in tmp dirs on free 127.0.0.1 ports, and a consumer process to kill.

Run as ``python -m tests.nats_support consume URL DURABLE LOG`` it consumes
``report.>`` through a durable NatsBus consumer, writing ``D <id>`` when a report
is delivered and ``A <id>`` once the server has confirmed its acknowledgement.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from meshwarn.bus.nats import NatsBus
from meshwarn.deploy import nats_config, server


@contextmanager
def account_server(workdir: Path, agreements: str = "trilateral") -> Iterator[nats_config.Deployment]:
    """A hub server with partner accounts generated from shipped agreements; always stopped."""
    port = server.free_port()
    deployment = nats_config.generate(agreements, workdir, port=port, leaf_port=None)
    srv = server.NatsServer(deployment.config, port, workdir)
    try:
        srv.start()
        asyncio.run(provision(deployment))
        yield deployment
    finally:
        srv.stop()


async def provision(deployment: nats_config.Deployment) -> None:
    """What the hub does when it first connects: streams, and a durable consumer per partner."""
    hub = await NatsBus.connect(deployment.urls["HUB"], partners=deployment.partners)
    await hub.close()


def read_log(path: Path) -> tuple[list[str], list[str]]:
    delivered, acked = [], []
    if path.exists():
        for line in path.read_text().splitlines():
            tag, _, ident = line.partition(" ")
            (delivered if tag == "D" else acked).append(ident)
    return delivered, acked


async def _consume(url: str, durable: str, log_path: str) -> None:
    bus = await NatsBus.connect(url, name="hub")
    with open(log_path, "a", buffering=1) as log:

        async def handler(msg) -> None:  # type: ignore[no-untyped-def]
            ident = msg.headers["Nats-Msg-Id"]
            log.write(f"D {ident}\n")
            await asyncio.sleep(0.005)  # work being done when the kill lands
            await msg.ack()
            log.write(f"A {ident}\n")

        await bus.subscribe("report.>", handler, manual_ack=True, durable=durable, batch=8, ack_wait_s=1.5)
        await asyncio.Event().wait()  # until killed


if __name__ == "__main__" and sys.argv[1:2] == ["consume"]:
    asyncio.run(_consume(*sys.argv[2:5]))
