"""Servers start from relative paths too: `exercise run --out out/nats --bus nats` is how users call it."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshwarn.deploy import nats_config, server


def test_single_server_from_a_relative_workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with server.single(Path("rel") / "nats") as srv:
        assert srv.running()
    assert (tmp_path / "rel" / "nats" / "js").is_dir()  # its store where the user asked, not nested


def test_generated_deployment_from_a_relative_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    port = server.free_port()
    dep = nats_config.generate("trilateral", Path("out") / "nats", port=port, leaf_port=None)
    with server.NatsServer(dep.config, port, Path("out") / "nats") as srv:
        assert srv.running()


def test_hub_stop_line_says_what_came_in_and_went_out(tmp_path: Path) -> None:
    from meshwarn.deploy.processes import stop_line

    summary = {
        "KOR": {"accepted": 10, "fused": 10, "messages": 4, "tracks": 1, "group": "g"},
        "JPN": {"accepted": 5, "fused": 5, "messages": 3, "tracks": 1, "group": "g"},
    }
    line = stop_line(summary, 2, tmp_path)
    assert line.startswith("hub: 15 reports accepted, 2 quarantined; reasons in ")
    assert line.endswith("view messages sent: JPN 3, KOR 4")
    assert "reasons" not in stop_line(summary, 0, tmp_path)
