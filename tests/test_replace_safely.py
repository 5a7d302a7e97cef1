"""Replacing an exercise never touches what is not one, nor the input, nor another program's store;
a hub stopped mid-release keeps the report it was handling."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from meshwarn.deploy.reorder import Reorder
from tests.conftest import SMALL_SCENARIO
from tests.test_bad_input_leftovers import MARITIME_SMALL, snapshot
from tests.test_cli_bad_input import meshwarn, one_line_error


def test_force_never_takes_a_folder_without_reports_for_an_exercise(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / "views").mkdir(parents=True)
    (project / "views" / "index.html").write_text("<p>mine</p>")
    (project / "logs").mkdir()
    (project / "logs" / "app.log").write_text("mine")
    before = snapshot(project)
    error = one_line_error(meshwarn("exercise", "simulate", str(SMALL_SCENARIO), "--out", str(project), "--force"))
    assert "no reports.jsonl" in error and snapshot(project) == before


def test_a_scenario_inside_out_is_never_replaced(tmp_path: Path) -> None:
    out = tmp_path / "ex"
    out.mkdir()
    scenario = out / "scenario.toml"
    scenario.write_text(SMALL_SCENARIO.read_text())
    meshwarn("exercise", "simulate", str(SMALL_SCENARIO), "--out", str(tmp_path / "elsewhere"))
    for args in (
        ("exercise", "simulate", str(scenario), "--out", str(out), "--force"),
        ("exercise", "run", str(scenario), "--agreements", "trilateral", "--out", str(out), "--force"),
    ):
        assert "inside --out" in one_line_error(meshwarn(*args))
        assert scenario.read_text() == SMALL_SCENARIO.read_text()
    sea = tmp_path / "sea"
    sea.mkdir()
    (sea / "scenario.toml").write_text(MARITIME_SMALL.read_text())
    error = one_line_error(meshwarn("maritime", "simulate", str(sea / "scenario.toml"), "--out", str(sea), "--force"))
    assert "inside --out" in error and (sea / "scenario.toml").read_text() == MARITIME_SMALL.read_text()


def test_maritime_run_leaves_another_programs_sqlite_file_as_it_was(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    db = sqlite3.connect(out / "store.sqlite")
    db.execute("CREATE TABLE mine (x)")
    db.commit()
    db.close()
    before = (out / "store.sqlite").read_bytes()
    error = one_line_error(
        meshwarn("maritime", "run", str(MARITIME_SMALL), "--agreements", "trilateral", "--out", str(out))
    )
    assert "store.sqlite" in error
    assert (out / "store.sqlite").read_bytes() == before


def test_a_hub_stopped_mid_release_keeps_the_report_it_was_handling_for_flush() -> None:
    got: list[bytes] = []
    stop_at_first = [True]

    async def handle(subject: str, data: bytes, arrival: float) -> None:
        if stop_at_first[0]:
            stop_at_first[0] = False
            raise asyncio.CancelledError  # the consumer task cancelled while the hub takes it
        got.append(data)

    async def go() -> None:
        order = Reorder(("KOR",), handle)
        try:
            await order.feed("report.KOR.radar", b"r1", {"arrival": "10.0", "index": "0"}, 1)
        except asyncio.CancelledError:
            pass
        await order.flush()  # the hub stopping: what is still held goes to it

    asyncio.run(go())
    assert got == [b"r1"]


def test_a_malformed_exercise_time_neither_crashes_nor_stalls_the_reorder_buffer() -> None:
    got: list[bytes] = []

    async def handle(subject: str, data: bytes, arrival: float) -> None:
        got.append(data)

    async def go() -> None:
        order = Reorder(("KOR",), handle)
        await order.feed("report.KOR.radar", b"nan", {"arrival": "nan", "index": "0"}, 1)
        await order.feed("report.KOR.radar", b"junk", {"arrival": "10.0", "index": "x"}, 2)
        await order.feed("report.KOR.radar", b"r3", {"arrival": "11.0", "index": "2"}, 3)
        await order.flush()

    asyncio.run(go())
    assert got[0] == b"nan" and sorted(got) == sorted([b"nan", b"junk", b"r3"])  # none lost, none stuck
