"""Bad input and stale outputs, second round: replacing an exercise, broken stores, missing partners,
and tampering rehearsed in a maritime run. Run as a user would: one line on stderr, exit 2."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import SMALL_SCENARIO, meshwarn_cli
from tests.test_bad_input_leftovers import MARITIME_SMALL, meshwarn, one_line_error, snapshot

AGREEMENTS = Path(__file__).parent.parent / "meshwarn" / "agreements" / "two-dyads.toml"


@pytest.fixture(scope="module")
def maritime_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`meshwarn maritime run` of the small maritime scenario, then fused and scored (once per module)."""
    out = tmp_path_factory.mktemp("maritime") / "run"
    meshwarn_cli("maritime", "run", str(MARITIME_SMALL), "--agreements", "trilateral", "--out", str(out))
    meshwarn_cli("maritime", "fuse", str(out))
    meshwarn_cli("maritime", "score", str(out))
    return out


@pytest.fixture()
def sea(maritime_run: Path, tmp_path: Path) -> Path:
    target = tmp_path / "sea"
    shutil.copytree(maritime_run, target)
    return target


@pytest.fixture()
def run_copy(two_dyads_run: Path, tmp_path: Path) -> Path:
    target = tmp_path / "exercise"
    shutil.copytree(two_dyads_run, target)
    return target


def without_partner(tmp_path: Path, partner: str = "JPN") -> Path:
    """The two-dyads agreements with PARTNER renamed AUS: a valid file that does not name PARTNER."""
    path = tmp_path / "no-jpn.toml"
    path.write_text(AGREEMENTS.read_text().replace(f'"{partner}"', '"AUS"').replace(f"{partner} =", "AUS ="))
    return path


# --- 1. maritime simulate over a maritime exercise ----------------------------------------------


def test_maritime_simulate_refuses_to_replace_an_exercise_without_force(sea: Path) -> None:
    before = snapshot(sea)
    error = one_line_error(meshwarn("maritime", "simulate", str(MARITIME_SMALL), "--out", str(sea)))
    assert "already holds an exercise" in error and "--force" in error
    assert snapshot(sea) == before


def test_maritime_simulate_with_force_leaves_no_stale_outputs(sea: Path) -> None:
    stale = {"views", "store.sqlite", "quarantine.jsonl", "keys.json", "vessel_tracks.jsonl"}
    assert stale <= {p.name for p in sea.iterdir()}
    result = meshwarn("maritime", "simulate", str(MARITIME_SMALL), "--out", str(sea), "--force")
    assert result.returncode == 0, result.stderr
    assert "removed" in result.stdout and "views" in result.stdout
    assert {p.name for p in sea.iterdir()} == {"reports.jsonl", "scenario.toml", "maritime_truth.json"}


def test_a_failed_forced_maritime_simulation_leaves_the_exercise_whole(sea: Path, tmp_path: Path) -> None:
    before = snapshot(sea)
    bad = tmp_path / "bad.toml"
    bad.write_text(MARITIME_SMALL.read_text().replace("merchant = 40", "merchant = -3", 1))
    assert "merchant -3" in one_line_error(
        meshwarn("maritime", "simulate", str(bad), "--out", str(sea), "--force")
    )
    assert snapshot(sea) == before


def test_maritime_run_of_a_scenario_over_an_exercise_needs_force(sea: Path) -> None:
    before = snapshot(sea)
    argv = ("maritime", "run", str(MARITIME_SMALL), "--agreements", "two-dyads", "--out", str(sea))
    assert "--force" in one_line_error(meshwarn(*argv))
    assert snapshot(sea) == before
    result = meshwarn(*argv, "--force")
    assert result.returncode == 0, result.stderr
    left = {p.name for p in sea.iterdir()}
    assert "vessel_tracks.jsonl" not in left and "maritime_score.json" not in left  # the old fuse's
    assert {"views", "store.sqlite", "quarantine.jsonl", "keys.json"} <= left
    assert meshwarn("audit", "verify", str(sea)).returncode == 0


# --- 2. exercise run over an exercise -----------------------------------------------------------


def test_exercise_run_refuses_to_replace_an_exercise_without_force(run_copy: Path) -> None:
    (run_copy / "tracks.jsonl").write_text("{}\n")
    before = snapshot(run_copy)
    argv = ("exercise", "run", str(SMALL_SCENARIO), "--agreements", "two-dyads", "--out", str(run_copy))
    error = one_line_error(meshwarn(*argv, "--seed", "9"))
    assert "already holds an exercise" in error and "--force" in error
    assert snapshot(run_copy) == before


def test_exercise_run_with_force_removes_what_the_old_reports_made(run_copy: Path) -> None:
    (run_copy / "tracks.jsonl").write_text('{"stale": true}\n')  # as `exercise fuse` and `score` left them
    (run_copy / "score.json").write_text('{"stale": true}\n')
    old_reports = (run_copy / "reports.jsonl").read_bytes()
    result = meshwarn(
        "exercise", "run", str(SMALL_SCENARIO), "--agreements", "two-dyads", "--out", str(run_copy),
        "--seed", "9", "--force",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "tracks.jsonl" in result.stdout and "score.json" in result.stdout  # says what it removed
    assert not (run_copy / "tracks.jsonl").exists() and not (run_copy / "score.json").exists()
    assert (run_copy / "reports.jsonl").read_bytes() != old_reports
    assert sorted(p.stem for p in (run_copy / "views").glob("*.jsonl")) == ["JPN", "KOR", "USA"]
    assert meshwarn("audit", "verify", str(run_copy)).returncode == 0


def test_exercise_run_of_another_directory_over_an_exercise_needs_force(
    run_copy: Path, two_dyads_run: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    meshwarn_cli("exercise", "simulate", str(SMALL_SCENARIO), "--out", str(other), "--seed", "9", "--quiet")
    (run_copy / "score.json").write_text('{"stale": true}\n')
    before = snapshot(run_copy)
    argv = ("exercise", "run", str(other), "--agreements", "two-dyads", "--out", str(run_copy))
    assert "--force" in one_line_error(meshwarn(*argv))
    assert snapshot(run_copy) == before
    assert meshwarn(*argv, "--force").returncode == 0
    assert not (run_copy / "score.json").exists()
    for name in ("reports.jsonl", "truth.json", "report_truth.json"):  # all four simulated files taken
        assert (run_copy / name).read_bytes() == (other / name).read_bytes()


def test_exercise_run_over_its_own_reports_drops_the_old_runs_views(run_copy: Path) -> None:
    (run_copy / "views" / "AUS.jsonl").write_text("{}\n")  # a partner of an earlier run's agreements
    (run_copy / "alerts" / "AUS").mkdir()
    (run_copy / "alerts" / "AUS" / "old.xml").write_text("<alert/>")
    (run_copy / "alerts" / "fused").mkdir()
    (run_copy / "alerts" / "fused" / "kept.xml").write_text("<alert/>")  # `exercise warn`'s, kept
    (run_copy / "tracks.jsonl").write_text("{}\n")  # from the same reports: still current
    meshwarn_cli("exercise", "run", str(run_copy), "--agreements", "trilateral", "--out", str(run_copy))
    assert sorted(p.stem for p in (run_copy / "views").glob("*.jsonl")) == ["JPN", "KOR", "USA"]
    assert not (run_copy / "alerts" / "AUS").exists()
    assert (run_copy / "alerts" / "fused" / "kept.xml").exists() and (run_copy / "tracks.jsonl").exists()


# --- 3. audit verify of a store that is not one -------------------------------------------------


@pytest.mark.parametrize(
    ("spoil", "words"),
    [
        (lambda p: p.write_bytes(b"not a database\n"), "not a meshwarn store (not an SQLite database)"),
        (lambda p: p.write_bytes(b""), "not a meshwarn store"),
        (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 3]), "store.sqlite"),
        (lambda p: (p.unlink(), p.mkdir()), "not a file"),
        (lambda p: (p.unlink(), sqlite3.connect(p).execute("CREATE TABLE t (a)")), "no keys, reports"),
    ],
    ids=["text", "empty", "truncated", "directory", "other-sqlite"],
)
def test_audit_verify_names_a_store_that_is_not_one(
    run_copy: Path, spoil: Callable[[Path], object], words: str
) -> None:
    store = run_copy / "store.sqlite"
    spoil(store)
    before = snapshot(run_copy)
    error = one_line_error(meshwarn("audit", "verify", str(run_copy)))
    assert str(store) in error and words in error
    assert snapshot(run_copy) == before  # read only: no tables added to someone else's file


@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE reports SET payload = 'text' WHERE seq = 1",  # SQLite keeps whatever type is written
        "UPDATE outgoing SET payload = 42 WHERE seq = 1",
        "UPDATE audit SET time = 'noon' WHERE seq = 3",
        "UPDATE audit SET partner = 5 WHERE seq = 3",
        "UPDATE keys SET public_key = 'zz' WHERE name = 'KOR'",
        "UPDATE keys SET name = 5 WHERE name = 'KOR'",
    ],
)
def test_audit_verify_reports_values_of_the_wrong_type_as_tampering(run_copy: Path, edit: str) -> None:
    db = sqlite3.connect(run_copy / "store.sqlite")
    with db:
        assert db.execute(edit).rowcount == 1
    db.close()
    result = meshwarn("audit", "verify", str(run_copy))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stdout.startswith("TAMPERED: ")


# --- 4. maritime run with agreements that do not name a partner ---------------------------------


def test_maritime_run_refuses_agreements_missing_a_partner(tmp_path: Path, maritime_run: Path) -> None:
    agreements = without_partner(tmp_path)
    out = tmp_path / "out"
    for source in (str(MARITIME_SMALL), str(maritime_run)):
        error = one_line_error(
            meshwarn("maritime", "run", source, "--agreements", str(agreements), "--out", str(out))
        )
        assert "JPN (sends reports)" in error and "[partners]" in error
        assert not out.exists()


def test_agreements_that_are_not_text_are_named(tmp_path: Path, maritime_run: Path) -> None:
    agreements = tmp_path / "agreements.toml"
    agreements.write_bytes(b"\xff\xfe\x00binary")
    out = str(tmp_path / "o")
    argv = ("maritime", "run", str(maritime_run), "--agreements", str(agreements), "--out", out)
    assert f"{agreements}: not a text file" in one_line_error(meshwarn(*argv))


# --- 5. maritime run --inject-faults ------------------------------------------------------------


def test_maritime_run_rehearses_tampering(maritime_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "faults"
    result = meshwarn(
        "maritime", "run", str(maritime_run), "--agreements", "trilateral", "--out", str(out),
        "--inject-faults",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    reports = len((maritime_run / "reports.jsonl").read_text().splitlines())
    assert f"{reports + 4} reports signed by their nodes: {reports} verified and stored, 4 quarantined" in (
        result.stdout
    )
    reasons = [json.loads(line)["reason"] for line in (out / "quarantine.jsonl").read_text().splitlines()]
    assert len(reasons) == 4
    # The flipped byte is refused as undecodable or as a bad signature, by where it falls.
    for words in ("replay of report", "key, not", "unknown originator ZZZ"):
        assert sum(words in reason for reason in reasons) == 1, (words, reasons)
    assert "replay of report" in result.stdout  # the quarantine is shown, not only counted
    verified = meshwarn("audit", "verify", str(out))  # the refusals are in the audit chain, intact
    assert verified.returncode == 0, verified.stdout


# --- more bad input found while trying the CLI ---------------------------------------------------


def test_export_never_writes_over_the_exercises_own_files(run_copy: Path) -> None:
    meshwarn_cli("exercise", "fuse", str(run_copy), "--quiet")
    before = snapshot(run_copy)
    for fmt, target in (("geojson", "tracks.jsonl"), ("cot", "reports.jsonl"), ("cot", "views/KOR.jsonl")):
        error = one_line_error(meshwarn("export", fmt, str(run_copy), "--out", str(run_copy / target)))
        assert "the exercise's own files" in error
    (run_copy / "maps").mkdir()
    assert "a directory" in one_line_error(
        meshwarn("export", "geojson", str(run_copy), "--out", str(run_copy / "maps"))
    )
    assert snapshot(run_copy) == before


def test_export_says_what_is_missing(run_copy: Path, tmp_path: Path) -> None:
    assert not (run_copy / "tracks.jsonl").exists()  # `exercise run` writes views, not the full picture
    error = one_line_error(meshwarn("export", "geojson", str(run_copy)))
    assert "exercise fuse" in error and "--view" in error
    assert "no such exercise directory" in one_line_error(meshwarn("export", "cot", str(tmp_path / "none")))
    assert meshwarn("export", "geojson", str(run_copy), "--view", "KOR").returncode == 0


def test_ais_ingest_checks_its_outputs_before_reading(tmp_path: Path) -> None:
    feed = tmp_path / "feed.nmea"
    feed.write_text("!AIVDM,1,1,,A,13aEOK?P00PD2wVMdLDRhgvL289?,0*26\n")
    same = str(tmp_path / "both.jsonl")
    assert "give each its own file" in one_line_error(
        meshwarn("ais", "ingest", str(feed), "--out", same, "--quarantine", same)
    )
    assert "a directory" in one_line_error(meshwarn("ais", "ingest", str(feed), "--out", str(tmp_path)))
    missing = tmp_path / "no" / "q.jsonl"
    assert "no such directory" in one_line_error(
        meshwarn("ais", "ingest", str(feed), "--quarantine", str(missing))
    )


def test_node_and_hub_name_a_key_file_that_is_not_one(tmp_path: Path) -> None:
    meshwarn_cli("deploy", "keys", "--agreements", "trilateral", "--dir", str(tmp_path))
    shutil.copyfile(SMALL_SCENARIO, tmp_path / "scenario.toml")
    (tmp_path / "reports.jsonl").write_text("")
    (tmp_path / "keys" / "KOR.key").write_text("not base64!\n")
    bus = "nats://KOR:x@127.0.0.1:1"
    error = one_line_error(meshwarn("node", "--partner", "KOR", "--bus", bus, "--dir", str(tmp_path)))
    assert "KOR.key: not a private key" in error


def test_read_public_names_a_keys_file_of_the_wrong_shape(tmp_path: Path) -> None:
    from meshwarn.deploy.processes import read_public
    from meshwarn.errors import InputError

    for text in ("[1, 2]", '{"KOR": 5}', '{"KOR": "not base64!"}', '{"KOR": "AAAA"}', "{"):
        (tmp_path / "keys.json").write_text(text)
        with pytest.raises(InputError, match="keys.json: not the public keys"):
            read_public(tmp_path)


@pytest.mark.parametrize("host", ["bad host", "::1", "a..b", 'x"y'])
def test_nats_config_refuses_a_host_it_cannot_write(tmp_path: Path, host: str) -> None:
    out = tmp_path / "nats"
    argv = ("deploy", "nats-config", "--agreements", "trilateral", "--out", str(out), "--host", host)
    one_line_error(meshwarn(*argv))
    assert not out.exists()
