"""What `meshwarn exercise run` leaves for a partner: its view, and its alerts as CAP 1.2 files."""

from __future__ import annotations

import json
from pathlib import Path

from lxml import etree

from meshwarn.warn.cap import validate
from tests.conftest import SMALL_SCENARIO, meshwarn_cli


def test_each_partner_gets_schema_valid_cap_files_for_the_alerts_it_received(two_dyads_run: Path) -> None:
    for view in sorted((two_dyads_run / "views").glob("*.jsonl")):
        received = {
            m["body"]["id"] for m in map(json.loads, view.read_text().splitlines()) if m["kind"] == "alerts"
        }
        files = sorted((two_dyads_run / "alerts" / view.stem).glob("*.xml"))
        assert received, f"{view.stem} received no alerts"
        assert {f.stem for f in files} == received
        for path in files:
            validate(etree.parse(str(path)))


def test_views_carry_provenance_and_no_korean_data_reaches_japan(two_dyads_run: Path) -> None:
    messages = [json.loads(line) for line in (two_dyads_run / "views" / "JPN.jsonl").read_text().splitlines()]
    assert messages and all(m["provenance"] for m in messages)
    assert all("KOR" not in m["provenance"] for m in messages)


def test_exercise_run_over_nats_keeps_the_same_releasability(tmp_path: Path) -> None:
    """`exercise run --bus nats`: a real nats-server and a process per partner node."""
    out = tmp_path / "nats"
    meshwarn_cli(
        "exercise", "run", str(SMALL_SCENARIO), "--agreements", "two-dyads", "--out", str(out),
        "--bus", "nats", "--speed", "50",
    )  # fmt: skip
    views = {
        p.stem: [json.loads(x) for x in p.read_text().splitlines()] for p in (out / "views").glob("*.jsonl")
    }
    assert set(views) == {"JPN", "KOR", "USA"}
    assert all(any(m["kind"] == "tracks" for m in messages) for messages in views.values())
    assert all("KOR" not in m["provenance"] for m in views["JPN"])
    assert any("KOR" in m["provenance"] for m in views["USA"])
    assert list((out / "alerts" / "JPN").glob("*.xml"))


def test_score_reports_warning_quality_per_partner_view(two_dyads_run: Path, tmp_path: Path) -> None:
    import shutil

    directory = tmp_path / "scored"
    shutil.copytree(two_dyads_run, directory)
    for step in (["fuse", str(directory), "--quiet"], ["score", str(directory)]):
        meshwarn_cli("exercise", *step)
    warnings = json.loads((directory / "score.json").read_text())["warnings"]
    assert set(warnings) == {"JPN", "KOR", "USA"}
    for quality in warnings.values():
        statuses = {row["status"] for row in quality["regions"].values()}
        assert statuses <= {"warned", "late", "missed", "false"}
        assert quality["warned"], "the missile falls in a maritime zone: someone must be warned"
        assert not quality["missed"]
