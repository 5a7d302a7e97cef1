"""An exercise over a real nats-server: the hub and each partner node as separate processes."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from meshwarn.deploy.processes import run_over_nats
from meshwarn.exercise import REPORTS, write_jsonl
from meshwarn.model import Delivery
from meshwarn.share.testing import radar_report, unit_report

ALL = ("KOR", "JPN", "USA")


def make_exercise(directory: Path) -> list[Delivery]:
    deliveries = []
    for i in range(30):
        origin = ALL[i % 3]
        t = 100.0 + i
        report = radar_report(f"{origin}-R{i}", origin, ALL, t, range_m=150_000.0 + 1000 * i)
        deliveries.append(Delivery(t + 0.5, report))
    deliveries.append(Delivery(131.0, unit_report("KOR-U1", "KOR", ALL, 130.5)))
    directory.mkdir(parents=True, exist_ok=True)
    write_jsonl(directory / REPORTS, deliveries)
    return deliveries


def views(directory: Path, partner: str) -> list[dict]:
    path = directory / "views" / f"{partner}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_exercise_over_nats_with_a_process_per_node(tmp_path: Path) -> None:
    make_exercise(tmp_path)
    summary = run_over_nats(tmp_path, "two-dyads", speed="max", tracker="toy", timeout_s=60)
    assert summary["reports"] == 31
    partners = summary["partners"]
    assert {p: partners[p]["accepted"] for p in ALL} == {"KOR": 11, "JPN": 10, "USA": 10}
    assert (tmp_path / "quarantine.jsonl").read_text() == ""
    got = {p: views(tmp_path, p) for p in ALL}
    for partner, messages in got.items():
        assert messages, f"{partner} received nothing"
        assert {m["partner"] for m in messages} == {partner}
        assert len(messages) == partners[partner]["messages"]  # everything the hub sent arrived, once
    # two dyads: raw radar crosses KOR-USA and JPN-USA, never KOR-JPN
    raw_to_kor = {m["ref"].split("-")[0] for m in got["KOR"] if m["kind"] == "radar"}
    raw_to_jpn = {m["ref"].split("-")[0] for m in got["JPN"] if m["kind"] == "radar"}
    assert "JPN" not in raw_to_kor and "KOR" not in raw_to_jpn
    assert {m["ref"].split("-")[0] for m in got["USA"] if m["kind"] == "radar"} == {"KOR", "JPN"}
    receipts = [json.loads(line) for line in (tmp_path / "receipts" / "KOR.jsonl").read_text().splitlines()]
    assert sorted(r["ref"] for r in receipts if r["event"] == "accepted") == sorted(
        [f"KOR-R{i}" for i in range(0, 30, 3)] + ["KOR-U1"]
    )
    assert stat.S_IMODE((tmp_path / "keys" / "KOR.key").stat().st_mode) == 0o600


def test_hub_killed_mid_exercise_resumes_without_loss_or_duplicates(tmp_path: Path) -> None:
    make_exercise(tmp_path)  # 31 reports, 1 s apart; at 20 x real time the nodes send for ~1.5 s
    summary = run_over_nats(tmp_path, "two-dyads", speed="20", tracker="toy", timeout_s=60, kill_hub_after=8)
    assert "rebuilt from" in (tmp_path / "logs" / "hub-resumed.log").read_text()
    partners = summary["partners"]
    assert {p: partners[p]["accepted"] for p in ALL} == {"KOR": 11, "JPN": 10, "USA": 10}
    assert (tmp_path / "quarantine.jsonl").read_text() == ""  # no report handled twice
    seqs = [m["seq"] for p in ALL for m in views(tmp_path, p)]
    assert len(seqs) == len(set(seqs)), "a view message delivered twice"
    assert sorted(seqs) == list(range(1, len(seqs) + 1)), "a view message lost"
    assert sum(partners[p]["messages"] for p in ALL) == len(seqs)
