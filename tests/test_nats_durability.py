"""Nothing lost: a hub-side consumer SIGKILLed and restarted; a 3-node cluster losing its stream leader."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from meshwarn.bus.base import Msg
from meshwarn.bus.nats import NatsBus, _during_election
from meshwarn.deploy import server
from tests.nats_support import account_server, read_log

ROOT = Path(__file__).resolve().parent.parent


def start_consumer(url: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.nats_support", "consume", url, "killme", str(log)],
        cwd=ROOT,
        start_new_session=True,
        preexec_fn=server.die_with_parent,
    )


def stop(proc: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGKILL) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    proc.wait(timeout=10)


def wait(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_hub_consumer_killed_resumes_without_loss_or_duplicate_acks(tmp_path: Path) -> None:
    log1, log2 = tmp_path / "first.log", tmp_path / "second.log"
    total = 200
    with account_server(tmp_path / "nats") as dep:

        async def publish(ids: range) -> None:
            kor = await NatsBus.connect(dep.urls["KOR"], partner="KOR")
            for i in ids:
                await kor.publish("report.KOR.radar", f"report {i}".encode(), msg_id=f"KOR-{i}")
            for i in ids[:20]:  # a node resending after a lost PubAck: same ids, stored once
                await kor.publish("report.KOR.radar", f"report {i}".encode(), msg_id=f"KOR-{i}")
            await kor.close()

        asyncio.run(publish(range(100)))
        first = start_consumer(dep.urls["HUB"], log1)
        try:
            asyncio.run(publish(range(100, total)))  # while the consumer works
            wait(lambda: len(read_log(log1)[1]) >= 60, 30, "60 acknowledgements")
        finally:
            stop(first)  # SIGKILL mid-stream
        delivered1, acked1 = read_log(log1)
        assert len(acked1) < total
        second = start_consumer(dep.urls["HUB"], log2)
        try:
            wait(lambda: len(set(read_log(log2)[1]) | set(acked1)) >= total - 1, 30, "the rest")

            async def settled() -> tuple[int, int, int]:
                """Consumer state once it settles: a report the killed consumer held unacknowledged
                comes back only after ack_wait (1.5 s), so poll for up to 10 s, not a fixed nap."""
                hub = await NatsBus.connect(dep.urls["HUB"])
                deadline = time.monotonic() + 10
                while True:
                    info = await hub.js.consumer_info("REPORTS", "killme")
                    if (info.num_pending, info.num_ack_pending) == (0, 0) or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.1)
                stream = await hub.js.stream_info("REPORTS")
                await hub.close()
                return info.num_pending, info.num_ack_pending, stream.state.messages

            pending, ack_pending, stored = asyncio.run(settled())
        finally:
            stop(second, signal.SIGTERM)
    delivered2, acked2 = read_log(log2)
    every = {f"KOR-{i}" for i in range(total)}
    assert stored == total and (pending, ack_pending) == (0, 0)
    assert not set(acked1) & set(delivered2), "an acknowledged report was delivered again"
    assert len(acked1) == len(set(acked1)) and len(acked2) == len(set(acked2))
    missing = every - set(acked1) - set(acked2)
    # at most the one report whose ack the server had confirmed when the kill landed, before it was logged
    assert missing <= set(delivered1) and len(missing) <= 1


@pytest.fixture
def cluster(tmp_path: Path):
    nodes = server.cluster(tmp_path, 3)
    try:
        for node in nodes:
            node.start()
        yield nodes
    finally:
        for node in nodes:
            node.stop()


async def connect_when_ready(url: str) -> NatsBus:
    """The cluster elects a meta leader after start; stream creation fails until then."""
    deadline = time.monotonic() + 20
    while True:
        try:
            return await NatsBus.connect(url, name="pub", replicas=3, timeout_s=2)
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)


def test_cluster_keeps_every_acknowledged_report_when_the_leader_dies(cluster) -> None:
    by_name = {node.config.stem: node for node in cluster}
    url = ",".join(node.url for node in cluster)

    async def go() -> tuple[set[str], list[str], str]:
        bus = await connect_when_ready(url)
        acked: set[str] = set()
        killed = ""
        for i in range(300):
            ident = f"JPN-{i}"
            if i == 100:  # mid-publishing: kill the stream leader
                info = await _during_election(lambda: bus.js.stream_info("REPORTS"))
                assert info.config.num_replicas == 3
                killed = info.cluster.leader
                by_name[killed].kill()
            deadline = time.monotonic() + 30
            while True:
                try:
                    await bus.publish("report.JPN.radar", f"plot {i}".encode(), msg_id=ident)
                    acked.add(ident)
                    break
                except Exception:  # no leader yet: the node retries with the same id
                    assert time.monotonic() < deadline, "no new leader within 30 s"
                    await asyncio.sleep(0.2)
        got: list[Msg] = []

        async def keep(msg: Msg) -> None:
            got.append(msg)

        reader = await NatsBus.connect(url, name="reader", replicas=3)
        await reader.subscribe("report.JPN.>", keep, durable="audit_reader")
        await reader.drain(30)
        info = await _during_election(lambda: reader.js.stream_info("REPORTS"))
        assert info.cluster.leader != killed
        await reader.close()
        await bus.close()
        return acked, [m.headers["Nats-Msg-Id"] for m in got], killed

    acked, stored, killed = asyncio.run(go())
    assert killed in by_name and not by_name[killed].running()
    assert len(acked) == 300
    assert set(stored) == acked and len(stored) == len(acked), "lost or duplicated after failover"
