"""Bad input from a user: one line, exit 2, and nothing else lost or overwritten."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SMALL_SCENARIO

DATA = Path(__file__).parents[1] / "meshwarn" / "data"


def meshwarn(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "meshwarn.cli", *args], capture_output=True, text=True, timeout=120
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.strip().count("\n") == 0, result.stderr
    return result.stderr


@pytest.fixture()
def png(tmp_path: Path) -> Path:
    path = tmp_path / "picture.toml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xffnot a scenario")
    return path


def test_a_file_that_is_not_text_is_refused_in_one_line(png: Path, tmp_path: Path) -> None:
    assert "not a text file" in one_line_error(
        meshwarn("exercise", "simulate", str(png), "--out", str(tmp_path / "o"))
    )
    one_line_error(
        meshwarn(
            "exercise", "run", str(SMALL_SCENARIO), "--agreements", str(png), "--out", str(tmp_path / "r")
        )
    )


def test_a_directory_where_a_file_belongs_is_refused(tmp_path: Path) -> None:
    one_line_error(
        meshwarn(
            "exercise",
            "run",
            str(SMALL_SCENARIO),
            "--agreements",
            str(tmp_path),
            "--out",
            str(tmp_path / "r"),
        )
    )


@pytest.mark.parametrize(
    "args",
    [
        (
            "fly",
            "--launch",
            "39,127",
            "--azimuth",
            "90",
            "--apogee-km",
            "100",
            "--range-km",
            "400",
            "--track-step",
            "0",
        ),
        ("fly", "--launch", "39,127", "--azimuth", "90", "--burnout-speed", "200", "--flight-path-deg", "1"),
        ("serve", "somewhere", "--port", "99999"),
        ("deploy", "nats-config", "--agreements", "trilateral", "--out", "x", "--leaf-port", "-1"),
        (
            "deploy",
            "nats-config",
            "--agreements",
            "trilateral",
            "--out",
            "x",
            "--port",
            "5000",
            "--leaf-port",
            "5000",
        ),
        ("exercise", "warn", "somewhere", "--countries", "XXX"),
        ("export", "cot", "somewhere", "--tak", "127.0.0.1:1", "--serve", "127.0.0.1:2"),
    ],
)
def test_impossible_values_are_refused(args: tuple[str, ...]) -> None:
    one_line_error(meshwarn(*args))


def test_ais_ingest_never_overwrites_its_input(tmp_path: Path) -> None:
    feed = tmp_path / "feed.nmea"
    shutil.copyfile(DATA / "ais_sample_nmea.txt", feed)
    one_line_error(meshwarn("ais", "ingest", str(feed), "--out", str(feed)))
    assert feed.read_bytes() == (DATA / "ais_sample_nmea.txt").read_bytes()


def test_a_failed_fuse_keeps_the_tracks_of_the_last_good_one(two_dyads_run: Path, tmp_path: Path) -> None:
    directory = tmp_path / "run"
    shutil.copytree(two_dyads_run, directory)
    assert meshwarn("exercise", "fuse", str(directory), "--quiet").returncode == 0
    good = (directory / "tracks.jsonl").read_bytes()
    lines = (directory / "reports.jsonl").read_text().splitlines()
    lines[len(lines) // 2] = '{"arrival": 1.0, "report": {"id": "broken"'
    (directory / "reports.jsonl").write_text("\n".join(lines) + "\n")
    assert "reports.jsonl" in one_line_error(meshwarn("exercise", "fuse", str(directory), "--quiet"))
    assert (directory / "tracks.jsonl").read_bytes() == good
    assert not list(directory.glob("*.partial"))


def test_a_broken_exercise_is_not_copied_over_a_good_one(two_dyads_run: Path, tmp_path: Path) -> None:
    broken, target = tmp_path / "broken", tmp_path / "target"
    shutil.copytree(two_dyads_run, broken)
    shutil.copytree(two_dyads_run, target)
    (broken / "reports.jsonl").write_text("not json\n")
    good = (target / "reports.jsonl").read_bytes()
    one_line_error(
        meshwarn("exercise", "run", str(broken), "--agreements", "two-dyads", "--out", str(target))
    )
    assert (target / "reports.jsonl").read_bytes() == good
