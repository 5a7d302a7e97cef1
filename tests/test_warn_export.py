"""The warning stage's commands on an exercise directory: exercise warn, export geojson, export cot."""

from __future__ import annotations

import json

import msgspec
import pytest
from lxml import etree

from meshwarn.cli import main
from meshwarn.exercise import TRACKS, read_tracks, read_truth, write_jsonl, write_truth
from meshwarn.warn.cap import cap_schema
from meshwarn.warn.commands import read_alerts
from meshwarn.warn.quality import warning_quality
from meshwarn.warn.synth import tracks_from_truth
from tests.test_warn_fixtures import irbm, truth_of


@pytest.fixture(scope="module")
def exercise_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("irbm")
    write_jsonl(directory / TRACKS, tracks_from_truth(irbm(), step_s=10.0))
    write_truth(directory, truth_of(irbm()))
    assert main(["exercise", "warn", str(directory)]) == 0
    return directory


def test_exercise_warn_writes_alerts_and_valid_cap(exercise_dir, capsys) -> None:
    alerts = read_alerts(exercise_dir)
    files = sorted((exercise_dir / "alerts" / "fused").glob("*.xml"))
    assert len(files) == len(alerts) >= 2
    assert all(cap_schema().validate(etree.parse(str(f))) for f in files)
    q = warning_quality(alerts, read_truth(exercise_dir))
    assert q["warned"] == q["at_risk"] == ["JP-02"]


def test_export_geojson(exercise_dir, tmp_path) -> None:
    out = tmp_path / "x.geojson"
    assert main(["export", "geojson", str(exercise_dir), "--out", str(out)]) == 0
    fc = json.loads(out.read_text())
    assert fc["type"] == "FeatureCollection"
    kinds = {f["properties"]["kind"] for f in fc["features"]}
    assert kinds == {
        "track",
        "track_history",
        "predicted_ground_track",
        "impact_ellipse",
        "warned_region",
        "alert_area",
    }
    region = next(f for f in fc["features"] if f["properties"]["kind"] == "warned_region")
    assert region["properties"]["region"] == "JP-02" and region["properties"]["last_message"] == "Cancel"
    ellipse = next(f for f in fc["features"] if f["properties"]["kind"] == "impact_ellipse")
    lon, lat = ellipse["geometry"]["coordinates"][0][0]
    assert 150 < lon < 165 and 35 < lat < 45  # [lon, lat] order, down in the Pacific


def test_export_cot_file(exercise_dir) -> None:
    assert main(["export", "cot", str(exercise_dir)]) == 0
    lines = (exercise_dir / "cot.xml").read_bytes().splitlines()
    events = [etree.fromstring(line) for line in lines]
    assert {e.get("type") for e in events} == {"a-h-A-W-M-S-S", "u-d-c-e", "u-d-f"}


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys) -> None:
    assert main(["exercise", "warn", str(tmp_path)]) == 2
    assert main(["export", "cot", str(tmp_path), "--tak", "nohost"]) == 2
    assert main(["exercise", "warn", str(tmp_path), "--countries", "JP"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("meshwarn: error:") for line in err)


def test_export_a_partners_view(exercise_dir, tmp_path) -> None:
    tracks = list(read_tracks(exercise_dir))[:40]
    alerts = read_alerts(exercise_dir)
    views = tmp_path / "views"
    views.mkdir()
    lines = [{"kind": "radar", "body": {"id": "r1"}}]
    lines += [{"kind": "tracks", "ref": t.id, "body": msgspec.to_builtins(t)} for t in tracks]
    lines += [{"kind": "alerts", "ref": a.id, "body": msgspec.to_builtins(a)} for a in alerts]
    (views / "JPN.jsonl").write_bytes(b"\n".join(msgspec.json.encode(m) for m in lines) + b"\n")
    assert main(["export", "geojson", str(tmp_path), "--view", "JPN"]) == 0
    fc = json.loads((views / "JPN.geojson").read_text())
    regions = [f for f in fc["features"] if f["properties"]["kind"] == "warned_region"]
    assert [f["properties"]["region"] for f in regions] == ["JP-02"]
    history = next(f for f in fc["features"] if f["properties"]["kind"] == "track_history")
    assert len(history["geometry"]["coordinates"]) == 40
    assert main(["export", "cot", str(tmp_path), "--view", "JPN", "--out", str(tmp_path / "c.xml")]) == 0
    assert (tmp_path / "c.xml").read_bytes().count(b"</event>") == 40 * 3
    (views / "KOR.jsonl").write_text("not json\n")
    assert main(["export", "geojson", str(tmp_path), "--view", "KOR"]) == 2
