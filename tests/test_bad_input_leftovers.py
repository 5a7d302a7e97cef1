"""Bad input across the CLI, run as a user would: one line on stderr, exit 2, and nothing lost."""

from __future__ import annotations

import re
import shutil
import socket
from pathlib import Path

import pytest

from tests.conftest import SMALL_SCENARIO, meshwarn_cli
from tests.test_cli_bad_input import meshwarn, one_line_error

MARITIME_SMALL = Path(__file__).parent / "data" / "maritime-small.toml"


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under DIR, by relative path, with its bytes."""
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }


@pytest.fixture()
def run_copy(two_dyads_run: Path, tmp_path: Path) -> Path:
    """A copy of a whole `exercise run` directory (reports, views, store, alerts) to spoil."""
    target = tmp_path / "exercise"
    shutil.copytree(two_dyads_run, target)
    return target


# --- 1. exercise simulate over an exercise ----------------------------------------------------------


def test_simulate_refuses_to_replace_an_exercise_without_force(run_copy: Path) -> None:
    before = snapshot(run_copy)
    error = one_line_error(
        meshwarn(
            "exercise", "simulate", str(SMALL_SCENARIO), "--out", str(run_copy), "--seed", "9", "--quiet"
        )
    )
    assert "already holds an exercise" in error and "--force" in error
    assert snapshot(run_copy) == before


def test_a_failed_forced_simulation_leaves_the_exercise_whole(run_copy: Path, tmp_path: Path) -> None:
    before = snapshot(run_copy)
    bad = tmp_path / "bad.toml"
    bad.write_text(SMALL_SCENARIO.read_text().replace("seed = 5", "seed = -5"))
    assert "seed" in one_line_error(
        meshwarn("exercise", "simulate", str(bad), "--out", str(run_copy), "--force", "--quiet")
    )
    assert snapshot(run_copy) == before


def test_forced_simulation_removes_what_the_old_reports_made(run_copy: Path) -> None:
    old_reports = (run_copy / "reports.jsonl").read_bytes()
    assert (run_copy / "views").is_dir() and (run_copy / "store.sqlite").exists()
    result = meshwarn(
        "exercise",
        "simulate",
        str(SMALL_SCENARIO),
        "--out",
        str(run_copy),
        "--seed",
        "9",
        "--force",
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    assert "views" in result.stdout  # says what it removed
    left = {p.name for p in run_copy.iterdir()}
    assert left == {"reports.jsonl", "truth.json", "scenario.toml", "report_truth.json"}
    assert (run_copy / "reports.jsonl").read_bytes() != old_reports  # another seed: new reports
    meshwarn_cli("exercise", "run", str(run_copy), "--agreements", "two-dyads", "--out", str(run_copy))
    assert sorted(p.stem for p in (run_copy / "views").glob("*.jsonl")) == ["JPN", "KOR", "USA"]


# --- 2. maritime scenario numbers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "bad", "words"),
    [
        ("merchant = 40", "merchant = -3", "merchant -3 is out of range"),
        ("step_s = 60", "step_s = 0", "step_s 0 is out of range"),
        ("lat = 35.05", "lat = 95", "sensors[1] (KOR-busan-radar): lat 95 is out of range"),
        ("duration_h = 2.0", "duration_h = 0", "duration_h 0 is out of range"),
        ("ais_loss = 0.03", "ais_loss = 1.5", "ais_loss 1.5 is out of range"),
        ("radius_km = 40", "radius_km = -1", "fishing_grounds[1] (Yamato Bank): radius_km -1"),
        ("dark = 4 ", "dark = 400 ", "dark + gaps + spoofers (404)"),
        ("merchant = 40", "merchent = 40", "'merchent'"),
        ("fishing = 30", "fishing = 2.5", "fishing must be a whole number"),
        ('kind = "coastal_radar"', 'kind = "sonar"', "unknown sensor kind 'sonar'"),
    ],
)
def test_maritime_scenario_numbers_are_checked(tmp_path: Path, line: str, bad: str, words: str) -> None:
    text = MARITIME_SMALL.read_text()
    number = next(n for n, row in enumerate(text.splitlines(), 1) if row.startswith(line))
    scenario = tmp_path / "sea.toml"
    scenario.write_text(re.sub(rf"^{re.escape(line)}", bad, text, count=1, flags=re.M))
    error = one_line_error(meshwarn("maritime", "simulate", str(scenario), "--out", str(tmp_path / "out")))
    assert f"{scenario}:{number}:" in error and words in error
    assert not (tmp_path / "out").exists()


# --- 3. serve on a port in use ------------------------------------------------------------------


def test_serve_on_a_port_in_use_says_so_in_one_line(run_copy: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        error = one_line_error(meshwarn("serve", str(run_copy), "--port", str(port)))
    assert f"127.0.0.1:{port}" in error and "in use" in error
    assert not (run_copy / "web-credentials.json").exists()  # nothing made before the refusal


# --- 4. exercise compare names the line of a bad view -------------------------------------------


def test_compare_names_the_line_of_a_bad_view(two_dyads_run: Path, tmp_path: Path) -> None:
    good, spoilt = tmp_path / "a", tmp_path / "b"
    shutil.copytree(two_dyads_run / "views", good / "views")
    shutil.copytree(two_dyads_run / "views", spoilt / "views")
    lines = (spoilt / "views" / "JPN.jsonl").read_text().splitlines()
    lines[2] = ""  # a blank line still counts as a line of the file
    lines[6] = lines[6][: len(lines[6]) // 2]
    (spoilt / "views" / "JPN.jsonl").write_text("\n".join(lines) + "\n")
    error = one_line_error(meshwarn("exercise", "compare", str(good), str(spoilt)))
    assert f"{spoilt / 'views' / 'JPN.jsonl'}:7: not JSON" in error
    lines[6] = '{"kind": "tracks", "ref": "T1", "time": 1.0, "body": {}}'  # JSON, but no release time
    (spoilt / "views" / "JPN.jsonl").write_text("\n".join(lines) + "\n")
    assert "JPN.jsonl:7: not a view message (release" in one_line_error(
        meshwarn("exercise", "compare", str(good), str(spoilt))
    )


# --- 5. ais ingest from an unsupported source ---------------------------------------------------


def test_ais_ingest_names_the_sources_it_takes() -> None:
    error = one_line_error(meshwarn("ais", "ingest", "http://127.0.0.1:1/feed"))
    assert (
        "http://" in error and "tcp://HOST:PORT" in error and "udp://HOST:PORT" in error and "file" in error
    )


# --- 6. a partner of the exercise missing from the agreements -----------------------------------


def test_a_partner_missing_from_the_agreements_is_refused_before_any_work(tmp_path: Path) -> None:
    scenario = tmp_path / "aus.toml"
    scenario.write_text(SMALL_SCENARIO.read_text().replace('"JPN"', '"AUS"'))
    out = tmp_path / "out"
    error = one_line_error(
        meshwarn("exercise", "run", str(scenario), "--agreements", "two-dyads", "--out", str(out))
    )
    assert "AUS (sends reports)" in error and "[partners]" in error
    assert not out.exists()


def test_a_directory_with_an_unknown_partner_is_not_copied_over_an_exercise(
    run_copy: Path, tmp_path: Path
) -> None:
    scenario, simulated = tmp_path / "aus.toml", tmp_path / "aus"
    scenario.write_text(SMALL_SCENARIO.read_text().replace('"JPN"', '"AUS"'))
    meshwarn_cli("exercise", "simulate", str(scenario), "--out", str(simulated), "--quiet")
    before = snapshot(run_copy)
    assert "AUS" in one_line_error(
        meshwarn("exercise", "run", str(simulated), "--agreements", "two-dyads", "--out", str(run_copy))
    )
    assert snapshot(run_copy) == before


# --- 7. exercise warn beside the per-partner alerts of exercise run -----------------------------


def test_exercise_warn_writes_apart_from_the_partners_alerts(run_copy: Path) -> None:
    partners_alerts = snapshot(run_copy / "alerts")
    assert partners_alerts
    meshwarn_cli("exercise", "fuse", str(run_copy), "--quiet")
    meshwarn_cli("exercise", "warn", str(run_copy))
    issued = (run_copy / "alerts.jsonl").read_text().splitlines()
    fused = sorted((run_copy / "alerts" / "fused").glob("*.xml"))
    assert issued and len(fused) == len(issued)
    assert not list((run_copy / "alerts").glob("*.xml"))  # no second layout at the top
    after = snapshot(run_copy / "alerts")
    assert {k: v for k, v in after.items() if not k.startswith("fused/")} == partners_alerts


# --- more bad input found while trying the CLI ---------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("--serve", "127.0.0.1:99999"),  # was an OverflowError traceback
        ("--tak", "127.0.0.1:99999"),
        ("--tak", "127.0.0.1:0"),
        ("--speed", "-1", "--serve", "127.0.0.1:0"),  # would wait for a client, then replay backwards
    ],
)
def test_export_cot_refuses_impossible_ports_and_speeds(two_dyads_run: Path, args: tuple[str, ...]) -> None:
    one_line_error(meshwarn("export", "cot", str(two_dyads_run), *args))


def test_an_exercise_of_the_other_domain_is_refused_before_anything_is_copied(
    run_copy: Path, tmp_path: Path
) -> None:
    sea = tmp_path / "sea"
    meshwarn_cli("maritime", "simulate", str(MARITIME_SMALL), "--out", str(sea))
    before_sea, before_missile = snapshot(sea), snapshot(run_copy)
    assert "maritime run" in one_line_error(
        meshwarn("exercise", "run", str(sea), "--agreements", "two-dyads", "--out", str(run_copy))
    )
    assert "exercise run" in one_line_error(
        meshwarn("maritime", "run", str(run_copy), "--agreements", "two-dyads", "--out", str(sea))
    )
    assert snapshot(sea) == before_sea and snapshot(run_copy) == before_missile


def test_empty_and_broken_files_in_an_exercise(run_copy: Path, tmp_path: Path) -> None:
    (run_copy / "store.sqlite").write_bytes(b"not a database\n")
    assert "store.sqlite: not a meshwarn store" in one_line_error(
        meshwarn("exercise", "compare", str(run_copy), str(run_copy))
    )
    (run_copy / "reports.jsonl").write_bytes(b"")
    assert "no reports" in one_line_error(
        meshwarn("exercise", "run", str(run_copy), "--agreements", "two-dyads", "--out", str(tmp_path / "o"))
    )
    assert "a file, not a directory" in one_line_error(
        meshwarn("exercise", "simulate", str(SMALL_SCENARIO), "--out", str(run_copy / "truth.json"))
    )
    assert "--snapshot-s" in one_line_error(
        meshwarn("maritime", "fuse", str(run_copy), "--snapshot-s", "inf")
    )
