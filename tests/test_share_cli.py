"""`meshwarn exercise run`, `exercise compare` and `audit verify` from the command line."""

import json

import msgspec
import pytest

from meshwarn import cli, exercise
from meshwarn.model import Delivery, Truth, TruthObject
from meshwarn.share import commands
from meshwarn.share.testing import ToyTracker, radar_report, unit_report

EVERY = ("KOR", "JPN", "USA")


@pytest.fixture
def simulated(tmp_path, monkeypatch):
    """A small simulated exercise directory; the hub runs the toy tracker and no warn stage."""
    monkeypatch.setattr(commands, "default_tracker_factory", lambda: ToyTracker)
    monkeypatch.setattr(commands, "default_warn_hook", lambda: None)
    source = tmp_path / "sim"
    source.mkdir()
    reports = [radar_report(f"k{i}", "KOR", EVERY, 1000.0 + i) for i in range(5)]
    reports += [radar_report(f"kb{i}", "KOR", ("KOR", "USA"), 1000.5 + i, 250_000.0) for i in range(4)]
    reports += [radar_report(f"j{i}", "JPN", EVERY, 1010.0 + i) for i in range(5)]
    reports += [unit_report("u0", "USA", EVERY, 1002.0)]
    deliveries = sorted((Delivery(r.sent + 0.4, r) for r in reports), key=lambda d: d.arrival)
    exercise.write_jsonl(source / exercise.REPORTS, deliveries)
    missile = TruthObject("M1", "missile", 990.0, 40.0, 125.0, 1600.0, 41.0, 140.0, 900.0, 4000.0, 1060.0, [])
    exercise.write_truth(source, Truth("tiny", 990.0, 1700.0, [missile], []))
    return tmp_path, source


def test_run_writes_views_quarantine_and_store_and_verifies(simulated, capsys) -> None:
    tmp_path, source = simulated
    out = tmp_path / "tri"
    argv = [
        "exercise",
        "run",
        str(source),
        "--agreements",
        "trilateral",
        "--out",
        str(out),
        "--inject-faults",
    ]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    for partner in EVERY:
        assert partner in printed
        lines = (out / "views" / f"{partner}.jsonl").read_text().splitlines()
        assert lines and all(json.loads(line)["provenance"] for line in lines)
    quarantined = [json.loads(line) for line in (out / "quarantine.jsonl").read_text().splitlines()]
    assert len(quarantined) == 4 and all(q["reason"] for q in quarantined)
    assert (out / "truth.json").exists() and (out / "store.sqlite").exists()
    # JPN never receives the KOR plots that were released to the US alone.
    jpn = [json.loads(line) for line in (out / "views" / "JPN.jsonl").read_text().splitlines()]
    assert not any(m["ref"].startswith("kb") for m in jpn)
    assert cli.main(["audit", "verify", str(out)]) == 0


def test_compare_prints_a_table_per_partner(simulated, capsys) -> None:
    tmp_path, source = simulated
    for name in ("two-dyads", "trilateral"):
        assert (
            cli.main(["exercise", "run", str(source), "--agreements", name, "--out", str(tmp_path / name)])
            == 0
        )
    capsys.readouterr()
    assert cli.main(["exercise", "compare", str(tmp_path / "two-dyads"), str(tmp_path / "trilateral")]) == 0
    table = capsys.readouterr().out
    for words in (
        "reports in its picture",
        "time to first track",
        "time to first warning",
        "impact-ellipse area",
        "KOR",
    ):
        assert words in table
    assert "n/a" in table  # no alerts in these views


def test_views_are_view_messages(simulated) -> None:
    tmp_path, source = simulated
    out = tmp_path / "dy"
    argv = ["exercise", "run", str(source), "--agreements", "two-dyads", "--out", str(out), "--speed", "500"]
    assert cli.main(argv) == 0  # paced at 500 x real time
    from meshwarn.share.messages import ViewMessage

    for line in (out / "views" / "KOR.jsonl").read_bytes().splitlines():
        message = msgspec.json.decode(line, type=ViewMessage)
        assert message.partner == "KOR" and message.release >= message.time


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--agreements", "nonesuch"], "no such agreements file"),
        (["--agreements", "trilateral", "--speed", "fast"], "--speed"),
    ],
)
def test_bad_arguments_are_one_line_errors(simulated, capsys, argv, words) -> None:
    tmp_path, source = simulated
    assert cli.main(["exercise", "run", str(source), "--out", str(tmp_path / "x"), *argv]) == 2
    assert words in capsys.readouterr().err


def test_the_real_tracker_is_the_default() -> None:
    from meshwarn.track.tracker import Tracker

    assert commands.default_tracker_factory() is Tracker
