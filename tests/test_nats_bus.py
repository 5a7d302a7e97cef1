"""NatsBus against a real nats-server with partner accounts: roundtrip, dedup, refusal, reconnection."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import stat
from pathlib import Path

import nats
import pytest

from meshwarn.bus.base import Msg
from meshwarn.bus.embedded import EmbeddedBus
from meshwarn.bus.factory import open_bus
from meshwarn.bus.nats import NatsBus
from meshwarn.deploy import commands, nats_config, server
from meshwarn.errors import InputError
from tests.nats_support import account_server


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory):
    with account_server(tmp_path_factory.mktemp("nats")) as dep:
        yield dep


def collect(into: list[Msg]):
    async def handler(msg: Msg) -> None:
        into.append(msg)

    return handler


async def wait_for(predicate, timeout_s: float = 10.0) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout_s)


def test_binary_checksum_is_pinned_and_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = server.find_binary()
    assert server.sha256_file(real) == server.expected_sha256()
    fake = tmp_path / "nats-server"
    shutil.copyfile(real, fake)
    with fake.open("r+b") as handle:  # one flipped byte: a different binary
        handle.seek(1000)
        byte = handle.read(1)
        handle.seek(1000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(InputError, match="refusing to run it"):
        server.verify(fake)
    fake.chmod(0o755)
    monkeypatch.setenv("MESHWARN_NATS_SERVER", str(fake))
    with pytest.raises(InputError, match="expected"):
        server.find_binary()


def test_nats_config_command_writes_secret_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    top = parser.add_subparsers(dest="command")
    commands.register(top, top)
    args = parser.parse_args(["deploy", "nats-config", "--agreements", "two-dyads", "--out", str(tmp_path)])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    conf = (tmp_path / "nats-server.conf").read_text()
    urls = {
        a: (tmp_path / "credentials" / f"{a}.url").read_text().strip() for a in ("HUB", "KOR", "JPN", "USA")
    }
    passwords = {url.split(":")[2].split("@")[0] for url in urls.values()}
    assert len(passwords) == 4 and all(len(p) >= 24 for p in passwords)
    # the server config holds bcrypt hashes only; the plain passwords are in the credentials files
    stored = re.findall(r'password: "([^"]*)"', conf)
    assert len(stored) == 4 and all(h.startswith("$2a$10$") for h in stored)
    assert not any(p in conf for p in passwords)
    for partner in ("KOR", "JPN", "USA"):  # a leaf's local user is hashed too
        local = (tmp_path / "credentials" / f"leaf-{partner}.url").read_text().split(":")[2].split("@")[0]
        leaf_conf = (tmp_path / "leaf" / f"{partner}.conf").read_text()
        assert local not in leaf_conf and '"$2a$10$' in leaf_conf
    for path in [
        tmp_path / "nats-server.conf",
        *(tmp_path / "credentials").iterdir(),
        *(tmp_path / "leaf").iterdir(),
    ]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for url in urls.values():
        assert url in printed
    # each view export names exactly one account: its own partner
    for p in ("KOR", "JPN", "USA"):
        assert f'{{ stream: "view.{p}.>", accounts: [{p}] }}' in conf
        assert f'"$JS.API.CONSUMER.MSG.NEXT.VIEWS.{p}", accounts: [{p}], response_type: stream' in conf
    assert 'account: KOR, subject: "view.JPN' not in conf
    with pytest.raises(InputError, match="--force replaces it"):
        args.func(args)
    args.force = True
    assert args.func(args) == 0 and (tmp_path / "credentials" / "KOR.url").read_text().strip() != urls["KOR"]
    keys = parser.parse_args(["deploy", "keys", "--agreements", "two-dyads", "--dir", str(tmp_path / "ex")])
    assert keys.func(keys) == 0
    assert sorted(p.name for p in (tmp_path / "ex" / "keys").iterdir()) == [
        "HUB.key",
        "JPN.key",
        "KOR.key",
        "USA.key",
    ]
    leaf = (tmp_path / "leaf" / "KOR.conf").read_text()
    assert "nats-leaf://kor:" in leaf and "account: KOR" in leaf


def test_open_bus_picks_the_implementation() -> None:
    async def go() -> None:
        assert isinstance(await open_bus(None), EmbeddedBus)
        assert isinstance(await open_bus("embedded"), EmbeddedBus)
        with pytest.raises(InputError, match="unknown bus"):
            await open_bus("amqp://127.0.0.1")
        with pytest.raises(InputError, match="cannot connect"):
            await open_bus(f"nats://127.0.0.1:{server.free_port()}", connect_wait_s=1)

    asyncio.run(go())


def test_reports_reach_the_hub_once_and_views_reach_their_partner(deployment) -> None:
    async def go() -> None:
        hub = await open_bus(deployment.urls["HUB"], name="hub1", partners=deployment.partners)
        kor = await open_bus(deployment.urls["KOR"], partner="KOR")
        reports: list[Msg] = []
        views: list[Msg] = []
        await hub.subscribe("report.>", collect(reports), durable="rt")
        await kor.subscribe("view.KOR.>", collect(views))
        first = await kor.publish("report.KOR.radar", b"\x81\xa1a\x01", {"arrival": "12.5"}, msg_id="KOR-1")
        again = await kor.publish("report.KOR.radar", b"\x81\xa1a\x01", msg_id="KOR-1")
        assert again.duplicate and again.stream_seq == first.stream_seq
        await hub.publish("view.KOR.tracks", b"mine")
        await hub.publish("view.JPN.tracks", b"not KOR's")
        await hub.drain(10)
        await kor.drain(10)
        assert [(m.subject, m.data, m.headers["arrival"]) for m in reports] == [
            ("report.KOR.radar", b"\x81\xa1a\x01", "12.5")
        ]
        assert [(m.subject, m.data) for m in views] == [("view.KOR.tracks", b"mine")]
        with pytest.raises(InputError, match="may publish only report.KOR"):
            await kor.publish("report.JPN.radar", b"x")
        with pytest.raises(InputError, match="may subscribe only"):
            await kor.subscribe("view.JPN.>", collect(views))
        await kor.close()
        await hub.close()

    asyncio.run(go())


def test_server_authenticates_each_account_against_its_bcrypt_hash(deployment) -> None:
    conf = deployment.config.read_text()
    assert re.findall(r'password: "([^"]*)"', conf) and "$2a$" in conf

    async def go() -> None:
        for account, url in deployment.urls.items():
            assert url.split(":")[2].split("@")[0] not in conf
            nc = await nats.connect(url, connect_timeout=5, allow_reconnect=False)
            assert nc.is_connected, account
            await nc.close()
        # the stored hash is no password: a client presenting it is refused
        user = deployment.urls["KOR"].split("//")[1].split(":")[0]
        hashed = re.search(rf'user: "{user}", password: "([^"]*)"', conf)
        assert hashed is not None
        port = deployment.urls["KOR"].rsplit(":", 1)[1]
        with pytest.raises(nats.errors.Error, match="(?i)authorization"):
            await nats.connect(
                f"nats://127.0.0.1:{port}", user=user, password=hashed.group(1),
                connect_timeout=5, allow_reconnect=False, max_reconnect_attempts=0,
            )  # fmt: skip

    asyncio.run(go())


def test_server_refuses_another_partners_view(deployment) -> None:
    """Beneath meshwarn's guard: a KOR client asking the server directly for JPN's data gets nothing."""

    async def go() -> None:
        hub = await NatsBus.connect(deployment.urls["HUB"], partners=deployment.partners)
        errors: list[str] = []

        async def on_error(exc: Exception) -> None:
            errors.append(str(exc))

        raw = await nats.connect(deployment.urls["KOR"], error_cb=on_error)
        stolen: list = []
        own: list = []

        def into(box: list):
            async def cb(msg) -> None:  # type: ignore[no-untyped-def]
                box.append(msg)

            return cb

        await raw.subscribe("view.JPN.>", cb=into(stolen))
        await raw.subscribe("view.KOR.>", cb=into(own))
        # and through the JetStream API: JPN's durable consumer, as KOR
        inbox = raw.new_inbox()
        await raw.subscribe(inbox, cb=into(stolen))
        await raw.publish("$JS.HUB.API.CONSUMER.MSG.NEXT.VIEWS.JPN", b'{"batch": 10}', reply=inbox)
        await raw.publish("$JS.API.CONSUMER.MSG.NEXT.VIEWS.JPN", b'{"batch": 10}', reply=inbox)
        await raw.flush()
        await hub.publish("view.JPN.tracks", b"for JPN only")
        await hub.publish("view.KOR.tracks", b"for KOR")
        await wait_for(lambda: own and len(errors) >= 3)
        await asyncio.sleep(0.3)
        assert [m.data for m in own] == [b"for KOR"]
        assert stolen == []
        said = [e.lower() for e in errors]  # nats-py lower-cases the server's -ERR line
        assert 'permissions violation for subscription to "view.jpn.>"' in " ".join(said)
        assert 'permissions violation for publish to "$js.hub.api.consumer.msg.next.views.jpn"' in " ".join(
            said
        )
        await raw.close()
        await hub.close()

    asyncio.run(go())


def test_partner_cut_off_receives_everything_it_missed(deployment) -> None:
    async def go() -> None:
        hub = await NatsBus.connect(deployment.urls["HUB"], partners=deployment.partners)
        usa = await NatsBus.connect(deployment.urls["USA"], partner="USA")
        got: list[Msg] = []
        await usa.subscribe("view.USA.>", collect(got))
        for i in range(5):
            await hub.publish("view.USA.tracks", f"before {i}".encode())
        await wait_for(lambda: len(got) == 5)
        await usa.close()  # the link is cut
        for i in range(40):
            await hub.publish("view.USA.alerts", f"missed {i}".encode())
        usa = await NatsBus.connect(deployment.urls["USA"], partner="USA")
        await usa.subscribe("view.USA.>", collect(got))
        await usa.drain(20)
        # every message exactly once; one taken by the cut-off client's last pull request comes back
        # after the consumer's ack wait, so arrival order may differ (seq gives the order)
        expected = [f"before {i}" for i in range(5)] + [f"missed {i}" for i in range(40)]
        assert sorted(m.data.decode() for m in got) == sorted(expected)
        assert [m.data.decode() for m in sorted(got, key=lambda m: m.seq)] == expected
        await usa.close()
        await hub.close()

    asyncio.run(go())


def test_failing_handler_is_redelivered_then_given_up(deployment) -> None:
    async def go() -> None:
        hub = await NatsBus.connect(deployment.urls["HUB"], name="flaky")
        attempts: list[int] = []

        async def flaky(msg: Msg) -> None:
            attempts.append(msg.delivered)
            raise RuntimeError("handler bug")

        await hub.subscribe("audit.JPN", flaky, max_deliver=3)
        await hub.publish("audit.JPN", b"receipt")
        await wait_for(lambda: len(attempts) == 3)
        await asyncio.sleep(0.3)
        assert attempts == [1, 2, 3]
        await hub.close()

    asyncio.run(go())


def test_servers_are_stopped(tmp_path: Path) -> None:
    srv = server.single(tmp_path)
    with srv:
        assert srv.running()
        pid = srv.proc.pid
    assert not srv.running()
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
    assert nats_config.HUB == "HUB"
