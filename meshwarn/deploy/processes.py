"""Partner nodes and the hub as separate processes over NATS, and an exercise run that way.

``meshwarn node --partner KOR --bus URL --dir DIR``: a partner site. It signs its
own reports from DIR/reports.jsonl with its private key (DIR/keys/KOR.key),
publishes them on ``report.KOR.<kind>`` (Nats-Msg-Id = report id, so a resend is
stored once) paced like the exercise (``--watermark``: with its exercise-time
watermarks on ``report.KOR.watermark``), and writes what it receives on
``view.KOR.>`` to DIR/views/KOR.jsonl, until SIGTERM.

``meshwarn hub --bus URL --agreements A --dir DIR``: verifies, fuses and shares
from the durable ``report.>`` consumer until SIGTERM, then releases what it still
holds and writes DIR/store.sqlite, quarantine.jsonl and hub-summary.json. With
``--exercise-clock`` it takes the nodes' reports in exercise order
(:mod:`meshwarn.deploy.reorder`).

:func:`run_over_nats` runs a whole exercise that way: a nats-server with one
account per partner (from the agreements), the hub and every partner node as
child processes.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import nats.js.errors
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from meshwarn import argtypes
from meshwarn.bus.base import Bus, Handler, Msg, PubAck
from meshwarn.bus.nats import NatsBus
from meshwarn.deploy import nats_config, reorder, server
from meshwarn.errors import InputError
from meshwarn.exercise import read_deliveries, write_jsonl
from meshwarn.model import to_msgpack
from meshwarn.share.agreements import load as load_agreements
from meshwarn.share.hub import Hub
from meshwarn.share.signing import HUB, KeyRing, PublicKeys, sign_report

KEYS_DIR = "keys"
SUMMARY = "hub-summary.json"
RECEIPTS = "receipts"
# The hub takes reports one at a time in stream order, also across a crash: the report a
# killed hub was on comes back first (after the ack wait), before any later one.
HUB_CONSUMER = {"ack_wait_s": 3.0, "max_ack_pending": 1}


# --- keys: each process holds only its own private key ---


def write_keys(directory: Path, partners: list[str]) -> None:
    from meshwarn.share.run import KEYS

    ring = KeyRing.generate(tuple(partners))
    public = {name: base64.b64encode(raw).decode() for name, raw in ring.public().raw().items()}
    (directory / KEYS).write_text(json.dumps(public, indent=1))
    folder = directory / KEYS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for name, key in ring.private.items():
        raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        path = folder / f"{name}.key"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.b64encode(raw).decode() + "\n")


def read_private(directory: Path, name: str) -> Ed25519PrivateKey:
    path = directory / KEYS_DIR / f"{name}.key"
    if not path.exists():
        raise InputError(f"{path}: no private key for {name}")
    try:
        raw = base64.b64decode(path.read_text().strip(), validate=True)
        return Ed25519PrivateKey.from_private_bytes(raw)
    except ValueError:  # binascii.Error is one: not base64, or not 32 bytes of an Ed25519 key
        raise InputError(
            f"{path}: not a private key (base64 of a raw Ed25519 key, as `deploy keys` writes)"
        ) from None


def read_public(directory: Path) -> PublicKeys:
    from meshwarn.share.run import KEYS

    path = directory / KEYS
    try:
        raw = json.loads(path.read_text())
        return PublicKeys.from_raw({name: base64.b64decode(v, validate=True) for name, v in raw.items()})
    except (ValueError, TypeError, AttributeError):  # not JSON, not {name: base64}, or not Ed25519 keys
        raise InputError(f"{path}: not the public keys (a JSON object of name: base64 Ed25519 key)") from None


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


# --- a partner node ---


HEARTBEAT_S = 0.5  # a paced node idle this long (wall time) tells the hub how far its clock has got


async def _pace_until(
    bus: NatsBus, partner: str, due: float, clock: tuple[float, float, float], watermark: bool
) -> None:
    """Sleep until wall time ``due``; with ``watermark``, publish the node's exercise time while idle
    (``clock``: wall start, first arrival, wall seconds per exercise second) so the hub need not wait."""
    start, first, wall_per_s = clock
    for _ in range(1_000_000):  # bounded: a heartbeat every HEARTBEAT_S of the wait
        left = due - time.time()
        if left <= 0:
            return
        if not watermark or left <= HEARTBEAT_S:
            await asyncio.sleep(left)
            return
        await asyncio.sleep(HEARTBEAT_S)
        now = first + (time.time() - start) / wall_per_s  # below the next report's arrival: we wait for it
        await bus.publish(f"report.{partner}.{reorder.WATERMARK}", repr(now).encode())


async def node(
    partner: str,
    url: str,
    directory: Path,
    speed: str = "max",
    start_at: float | None = None,
    watermark: bool = False,
) -> int:
    from meshwarn.share.commands import check_speed
    from meshwarn.share.run import ViewWriter, pace

    stop = _stop_event()
    key = read_private(directory, partner)
    deliveries = list(read_deliveries(directory))
    first = min((d.arrival for d in deliveries), default=0.0)
    wall_per_s = pace(check_speed(speed))
    bus = await NatsBus.connect(url, partner=partner)
    writer = ViewWriter(directory, [partner])
    await bus.subscribe(f"view.{partner}.>", writer)
    (directory / RECEIPTS).mkdir(exist_ok=True)
    receipts = (directory / RECEIPTS / f"{partner}.jsonl").open("ab")

    async def on_receipt(msg: Msg) -> None:  # what the hub says it accepted from and delivered to us
        receipts.write(msgspec.json.encode(msgspec.msgpack.decode(msg.data)) + b"\n")

    await bus.subscribe(f"audit.{partner}", on_receipt)
    start = time.time() if start_at is None else start_at
    sent = 0
    for index, delivery in enumerate(deliveries):
        report = delivery.report
        if report.label.originator != partner:
            continue
        if wall_per_s is not None:
            due = start + (delivery.arrival - first) * wall_per_s
            await _pace_until(bus, partner, due, (start, first, wall_per_s), watermark)
        payload = to_msgpack(sign_report(key, report))
        subject = f"report.{partner}.{report.kind}"
        # index: the report's place in the exercise, which breaks ties in arrival time as an embedded run does
        headers = {"arrival": repr(delivery.arrival), "index": str(index)}
        await bus.publish(subject, payload, headers, msg_id=report.id)
        sent += 1
    if watermark:  # all sent: the hub need not wait for this node any more
        await bus.publish(f"report.{partner}.{reorder.WATERMARK}", repr(reorder.END).encode())
    print(f"node {partner}: published {sent} reports", flush=True)
    await stop.wait()
    await bus.close()
    writer.close()
    receipts.close()
    return 0


# --- the hub ---


class _Muted(Bus):
    """Where a resuming hub's outputs go while it rebuilds its state: they were delivered before."""

    def __init__(self) -> None:
        self.seq = 0

    async def publish(self, subject: str, data: bytes, headers: dict[str, str] | None = None) -> PubAck:
        self.seq += 1
        return PubAck(self.seq)

    async def subscribe(self, pattern: str, handler: Handler, manual_ack: bool = False, max_deliver: int = 3):  # type: ignore[override]
        raise AssertionError("a muted bus has no subscribers")

    async def drain(self) -> None:
        return None

    async def close(self) -> None:
        return None


async def replay(
    the_hub: Hub, bus: NatsBus, consumer: str = "hub_report_all", order: reorder.Reorder | None = None
) -> int:
    """Rebuild a restarted hub's state from every report its durable consumer had acknowledged.

    The hub is deterministic given its reports in stream order and their arrival headers
    (and, on the exercise clock, given the same stream through ``order``, which it then
    leaves holding what the killed hub held), so the rebuilt store, tracker and audit chain
    are the ones the killed hub had; what it sends next continues them. A view the killed
    hub sent for the report it died on is sent again with the same bytes, and the stream's
    duplicate window stores it once.
    """
    try:
        floor = (await bus.js.consumer_info("REPORTS", consumer)).ack_floor
    except nats.js.errors.NotFoundError:
        return 0
    last = floor.stream_seq if floor else 0
    real, the_hub.bus = the_hub.bus, _Muted()
    count = 0
    for seq in range(1, last + 1):
        try:
            msg = await bus.js.get_msg("REPORTS", seq)
        except nats.js.errors.NotFoundError:  # removed by limits: nothing to rebuild from
            continue
        headers = msg.headers or {}
        if order is not None:
            await order.feed(msg.subject or "", msg.data or b"", headers, seq)
        else:
            arrival = float(headers["arrival"]) if "arrival" in headers else time.time()
            await the_hub.handle(msg.subject or "", msg.data or b"", arrival)
        count += 1
    the_hub.bus = real
    return count


async def hub(
    url: str,
    agreements_source: str,
    directory: Path,
    tracker: str = "default",
    resume: bool = False,
    exercise_clock: bool = False,
    hold_s: float = reorder.HOLD_S,
) -> int:
    """The hub process. Live, it keeps its own clock: a node's ``arrival`` header is trusted only
    with ``exercise_clock`` (a simulated exercise paced by meshwarn's own nodes), since a partner
    that could set the hub's clock could skip agreed delays and the freshness window. On the
    exercise clock the hub also takes reports in exercise order across nodes
    (:mod:`meshwarn.deploy.reorder`; a silent node holds a report up to ``hold_s`` wall seconds)."""
    from meshwarn.share.commands import default_tracker_factory, default_warn_hook
    from meshwarn.share.run import QUARANTINE, fresh_store

    agreements = load_agreements(agreements_source)
    if tracker == "toy":
        from meshwarn.share.testing import ToyTracker

        factory, warn = ToyTracker, None
    else:
        factory, warn = default_tracker_factory(), default_warn_hook()
    stop = _stop_event()
    # Connect first: a hub that cannot reach its server must leave the existing store as it was.
    bus = await NatsBus.connect(url, name="hub", partners=sorted(agreements.partners), **HUB_CONSUMER)
    store = fresh_store(directory)
    the_hub = Hub(
        agreements, read_public(directory), read_private(directory, HUB), factory, bus, store, warn=warn,
        clock=None if exercise_clock else time.time,
    )  # fmt: skip
    order = reorder.Reorder(agreements.partners, the_hub.handle, hold_s) if exercise_clock else None
    if resume:
        print(f"hub: rebuilt from {await replay(the_hub, bus, order=order)} acknowledged reports", flush=True)
    guard = None
    if order is None:
        await the_hub.start()
    else:
        guard = await _start_in_order(the_hub, bus, order)
    await stop.wait()
    assert the_hub.sub is not None
    await the_hub.sub.unsubscribe()  # stop taking reports; what is not acked stays in the stream
    if order is not None and guard is not None:
        guard.cancel()
        await order.flush()  # acknowledged and held: the hub takes them before it finishes
        print(f"hub: exercise order kept; {order.late} late, {order.forced} forced releases", flush=True)
    await the_hub.finish()
    await bus.close()
    write_jsonl(directory / QUARANTINE, the_hub.quarantine)
    store.close()
    summary = the_hub.summary()
    (directory / SUMMARY).write_text(json.dumps(summary, indent=1))
    print(stop_line(summary, len(the_hub.quarantine), directory), flush=True)
    return 0


def stop_line(summary: dict[str, dict[str, object]], quarantined: int, directory: Path) -> str:
    """What an operator stopping the hub wants to see at once: what came in, what went out, where."""
    from meshwarn.share.run import QUARANTINE

    accepted = sum(int(row["accepted"]) for row in summary.values())  # type: ignore[call-overload]
    sent = ", ".join(f"{p} {row['messages']}" for p, row in sorted(summary.items()))
    where = f"; reasons in {directory / QUARANTINE}" if quarantined else ""
    return f"hub: {accepted} reports accepted, {quarantined} quarantined{where}; view messages sent: {sent}"


async def _start_in_order(the_hub: Hub, bus: NatsBus, order: reorder.Reorder) -> asyncio.Task[None]:
    """Consume report.> through ``order`` (one message at a time, acked once fed: a report the
    Reorder holds is rebuilt by replay after a crash); returns the silent-node guard's task."""

    async def on_message(msg: Msg) -> None:
        # a report may release a long run of held ones: keep the server from redelivering it meanwhile
        await order.feed(msg.subject, msg.data, msg.headers, msg.seq, msg.in_progress)
        await msg.ack()

    the_hub.sub = await bus.subscribe("report.>", on_message, manual_ack=True, max_deliver=1)
    return asyncio.get_running_loop().create_task(order.guard_silence(bus.publish))


# --- a whole exercise over NATS, one process per node ---


def _spawn(args: list[str], directory: Path, name: str) -> subprocess.Popen[bytes]:
    log = (directory / "logs" / f"{name}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "meshwarn.deploy.processes", *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=server.die_with_parent,  # no node or hub outlives the exercise that started it
    )


def _terminate(proc: subprocess.Popen[bytes], timeout_s: float = 20.0) -> int:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            return proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    return proc.wait()


async def _acked(url: str, count: int, timeout_s: float) -> None:
    bus = await NatsBus.connect(url)
    deadline = time.monotonic() + timeout_s
    try:
        while (await bus.js.consumer_info("REPORTS", "hub_report_all")).ack_floor.stream_seq < count:
            if time.monotonic() > deadline:
                raise InputError(f"the hub did not acknowledge {count} reports in {timeout_s:.0f} s")
            await asyncio.sleep(0.02)
    finally:
        await bus.close()


async def _stored_reports(bus: NatsBus) -> int:
    """Reports in REPORTS, not counting the ordering messages (watermarks, release markers)."""
    info = await bus.js.stream_info("REPORTS", subjects_filter="report.>")
    subjects = info.state.subjects or {}
    return sum(n for subject, n in subjects.items() if not reorder.control_subject(subject))


async def _settle(url: str, checks: list[tuple[str, str]], expect_reports: int, timeout_s: float) -> None:
    """Wait until REPORTS holds every report and each (stream, consumer) has nothing pending."""
    bus = await NatsBus.connect(url)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            stored = await _stored_reports(bus)
            infos = [await bus.js.consumer_info(s, c) for s, c in checks]
            if stored >= expect_reports and all(i.num_pending == 0 and i.num_ack_pending == 0 for i in infos):
                return
            if time.monotonic() > deadline:
                raise InputError(
                    f"exercise over NATS did not settle in {timeout_s:.0f} s ({stored} reports stored)"
                )
            await asyncio.sleep(0.1)
    finally:
        await bus.close()


def run_over_nats(
    directory: Path,
    agreements_source: str,
    speed: str = "max",
    tracker: str = "default",
    timeout_s: float = 300,
    kill_hub_after: int | None = None,
) -> dict[str, object]:
    """Run the exercise in ``directory`` (reports.jsonl) with a real nats-server, hub and node processes.

    Writes what the embedded run writes (views/<P>.jsonl, store.sqlite, quarantine.jsonl,
    keys.json) plus nats/ (server config, credentials), keys/ (private keys, mode 600),
    logs/, receipts/<P>.jsonl (each node's audit receipts) and hub-summary.json. Reports
    whose originator is no partner have no node to send them and are not sent. Returns a
    summary. ``kill_hub_after=N``: a drill; SIGKILL the hub once it has acknowledged N
    reports and start another with ``--resume``.

    At any speed the hub takes the reports in exercise order (:mod:`meshwarn.deploy.reorder`:
    the nodes publish watermarks, the hub holds each report until every node has passed it),
    so even at ``"max"``, where each node sends as fast as it can and the stream interleaves
    the partners far from exercise time, the hub fuses what an embedded run fuses.
    """
    agreements = load_agreements(agreements_source)
    partners = sorted(agreements.partners)
    deliveries = list(read_deliveries(directory))
    expected = sum(1 for d in deliveries if d.report.label.originator in agreements.partners)
    (directory / "logs").mkdir(parents=True, exist_ok=True)
    write_keys(directory, partners)
    port = server.free_port()
    dep = nats_config.generate(agreements_source, directory / "nats", port=port, leaf_port=None)
    start = time.perf_counter()
    with server.NatsServer(dep.config, port, directory / "nats"):
        asyncio.run(_provision(dep.urls[nats_config.HUB], partners))
        hub_proc = _spawn(
            ["hub", str(dep.credentials["HUB"]), agreements_source, str(directory), tracker], directory, "hub"
        )
        start_at = f"{time.time() + 1.5:.3f}"  # nodes start pacing together
        nodes = {
            p: _spawn(
                ["node", p, str(dep.credentials[p]), str(directory), speed, start_at, "--watermark"], directory, p
            )
            for p in partners
        }
        try:
            if kill_hub_after is not None:
                asyncio.run(_acked(dep.urls["HUB"], kill_hub_after, timeout_s))
                os.killpg(hub_proc.pid, signal.SIGKILL)
                hub_proc.wait()
                args = ["hub", str(dep.credentials["HUB"]), agreements_source, str(directory), tracker, "--resume"]
                hub_proc = _spawn(args, directory, "hub-resumed")
            asyncio.run(_settle(dep.urls["HUB"], [("REPORTS", "hub_report_all")], expected, timeout_s))
            hub_rc = _terminate(hub_proc)  # the hub finishes: last tick, releases what it held
            views = [(s, p) for p in partners for s in ("VIEWS", "AUDIT")]
            asyncio.run(_settle(dep.urls["HUB"], views, expected, 30))
        finally:
            node_rcs = {p: _terminate(proc) for p, proc in nodes.items()}
            _terminate(hub_proc)
    if hub_rc != 0 or any(node_rcs.values()):
        raise InputError(f"a process failed (hub {hub_rc}, nodes {node_rcs}); see {directory / 'logs'}")
    summary = json.loads((directory / SUMMARY).read_text())
    return {"reports": expected, "wall_s": round(time.perf_counter() - start, 2), "partners": summary}


def print_over_nats(summary: dict[str, object], name: str) -> None:
    """The summary of :func:`run_over_nats` as a table (for `exercise run --bus nats`)."""
    from rich.console import Console
    from rich.table import Table

    partners: dict[str, dict[str, object]] = summary["partners"]  # type: ignore[assignment]
    table = Table(
        title=f"{name} over NATS: {summary['reports']} reports in {summary['wall_s']} s, one process per node"
    )
    columns = ("accepted", "fused", "tracks", "messages", "group")
    for column in ("partner", *columns):
        table.add_column(column, justify="left" if column in ("partner", "group") else "right")
    for partner, row in partners.items():
        table.add_row(partner, *(str(row.get(c, "")) for c in columns))
    Console(width=120).print(table)


async def _provision(url: str, partners: list[str]) -> None:
    bus = await NatsBus.connect(url, name="hub", partners=partners, **HUB_CONSUMER)
    await bus.subscribe("report.>", _never, manual_ack=True, max_deliver=1)  # the hub's durable, made early
    await bus.close()


async def _never(msg: object) -> None:
    raise AssertionError("provisioning subscriber must not receive")


# --- command line ---


def register(top: argparse._SubParsersAction) -> None:
    node_cmd = top.add_parser(
        "node", help="a partner node: sign and publish its reports, receive its view (NATS)"
    )
    node_cmd.add_argument("--partner", required=True, help="partner code (KOR)")
    node_cmd.add_argument(
        "--bus",
        required=True,
        type=argtypes.bus_url,
        help="the partner's credentials file (credentials/KOR.url) or nats://user:password@host:port",
    )
    node_cmd.add_argument("--dir", type=Path, required=True, help="exercise directory (reports.jsonl, keys/)")
    node_cmd.add_argument("--speed", default="max", help="max, realtime or a factor N")
    node_cmd.add_argument(
        "--watermark",
        action="store_true",
        help="tell the hub how far this node's exercise clock has got (for a hub run with --exercise-clock)",
    )
    node_cmd.set_defaults(
        func=lambda a: asyncio.run(node(a.partner, a.bus, a.dir, a.speed, watermark=a.watermark))
    )
    hub_cmd = top.add_parser("hub", help="the hub: verify, fuse and share from NATS JetStream")
    hub_cmd.add_argument(
        "--bus",
        required=True,
        type=argtypes.bus_url,
        help="the HUB credentials file (credentials/HUB.url) or nats://user:password@host:port",
    )
    hub_cmd.add_argument("--agreements", required=True)
    hub_cmd.add_argument(
        "--dir", type=Path, required=True, help="exercise directory (keys.json, keys/HUB.key)"
    )
    hub_cmd.add_argument("--tracker", choices=("default", "toy"), default="default")
    hub_cmd.add_argument(
        "--resume", action="store_true", help="after a crash: rebuild from acknowledged reports"
    )
    hub_cmd.add_argument(
        "--exercise-clock",
        action="store_true",
        help="trust the nodes' simulated arrival times and take their reports in exercise order "
        "(exercises only; live, the hub keeps its own clock)",
    )
    hub_cmd.set_defaults(
        func=lambda a: asyncio.run(hub(a.bus, a.agreements, a.dir, a.tracker, a.resume, a.exercise_clock))
    )


def _main(argv: list[str]) -> int:
    """Child-process entry: positional arguments, as run_over_nats passes them (credentials as files,
    so no password shows in the process list)."""
    if argv[0] == "node":
        partner, credentials, directory, speed, start_at = argv[1:6]
        url = argtypes.bus_url(credentials)
        watermark = "--watermark" in argv
        return asyncio.run(node(partner, url, Path(directory), speed, float(start_at), watermark))
    credentials, agreements, directory, tracker = argv[1:5]
    url = argtypes.bus_url(credentials)
    # Spawned by run_over_nats for a simulated exercise: the nodes' arrival headers are exercise time.
    return asyncio.run(
        hub(url, agreements, Path(directory), tracker, resume="--resume" in argv, exercise_clock=True)
    )


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
