"""Scoring: GOSPA/OSPA on hand-worked cases, ellipse membership, and fuse + score end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from meshwarn import exercise as ex
from meshwarn import model
from meshwarn.cli import main
from meshwarn.geo.earth import destination, ecef_to_geodetic
from meshwarn.score import gospa, inside_ellipse, ospa, score
from tests.test_track_synth import JPN, KOR, T0, radar_reports, trajectory


def test_gospa_and_ospa_by_hand() -> None:
    truth = np.array([[0.0, 0.0, 0.0], [100e3, 0.0, 0.0]])
    est = np.array([[3.0, 4.0, 0.0]])
    g, pairs = gospa(truth, est, c=10.0, p=2)
    # One matched at distance 5, one missed: (25 + 100/2)^(1/2).
    assert g == pytest.approx(np.sqrt(25 + 50)) and pairs == [(0, 0)]
    assert ospa(truth, est, c=10.0, p=2) == pytest.approx(np.sqrt((25 + 100) / 2))
    assert gospa(truth, np.zeros((0, 3)), c=10.0)[0] == pytest.approx(10.0)
    assert ospa(np.zeros((0, 3)), np.zeros((0, 3))) == 0.0
    # An estimate beyond the cut-off is a miss plus a false track, not a match.
    g, pairs = gospa(truth[:1], np.array([[50.0, 0.0, 0.0]]), c=10.0)
    assert pairs == [] and g == pytest.approx(10.0)


def test_inside_ellipse() -> None:
    e = model.Ellipse(lat=38.0, lon=135.0, semi_major_km=4.0, semi_minor_km=1.0, bearing_deg=90.0)
    assert inside_ellipse(e, *destination(38.0, 135.0, 90.0, 3.5))  # along the major axis (east)
    assert not inside_ellipse(e, *destination(38.0, 135.0, 0.0, 1.5))  # across it
    assert not inside_ellipse(e, *destination(38.0, 135.0, 270.0, 4.5))


def _exercise(directory: Path) -> None:
    """A tiny exercise directory: two radars on one missile, and the truth."""
    tr = trajectory()
    rng = np.random.default_rng(9)
    reports = radar_reports(KOR, [tr], T0, T0 + 700.0, rng, clutter=0.5)
    reports += radar_reports(JPN, [tr], T0, T0 + 700.0, rng, clutter=0.5)
    deliveries = sorted(
        (model.Delivery(r.body.time + rng.uniform(0.1, 4.0), r) for r in reports),  # type: ignore[union-attr]
        key=lambda d: d.arrival,
    )
    ex.write_jsonl(directory / ex.REPORTS, deliveries)
    lat, lon, h = ecef_to_geodetic(tr.r)
    samples = [
        (float(tr.launch_time + t), float(a), float(o), float(z), *map(float, r), *map(float, v))
        for t, a, o, z, r, v in zip(tr.t, lat, lon, h, tr.r, tr.v, strict=True)
    ]
    obj = model.TruthObject(
        id="M1", kind="missile", launch_time=tr.launch_time, launch_lat=tr.launch_lat, launch_lon=tr.launch_lon,
        impact_time=tr.impact_time, impact_lat=tr.impact_lat, impact_lon=tr.impact_lon, apogee_km=tr.apogee_km,
        range_km=tr.range_km, burnout_time=tr.burnout_time, samples=samples,  # type: ignore[arg-type]
    )  # fmt: skip
    ex.write_truth(directory, model.Truth("test", T0, T0 + 800.0, [obj], []))


def test_fuse_and_score_an_exercise(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _exercise(tmp_path)
    assert main(["exercise", "fuse", str(tmp_path), "--quiet"]) == 0
    tracks = list(ex.read_tracks(tmp_path))
    assert tracks and all(isinstance(t, model.Track) for t in tracks)
    assert main(["exercise", "score", str(tmp_path)]) == 0
    assert "GOSPA mean" in capsys.readouterr().out
    result = json.loads((tmp_path / ex.SCORE).read_text())
    m1 = result["missiles"]["M1"]
    assert len(m1["track_ids"]) == 1 and m1["track_breaks"] == 0 and result["false_tracks"] == []
    assert m1["first_confirmed_s"] < 120.0
    assert result["gospa_mean_m"] < 5000.0 and len(result["gospa"]) == len(result["ospa"]) > 100
    late = [row for row in result["impact"] if row["since_launch_s"][0] >= 300]
    assert late and all(row["error_km_median"] < 1.0 for row in late)
    direct = score(ex.read_truth(tmp_path), tracks)
    assert direct["gospa_mean_m"] == result["gospa_mean_m"]


def test_commands_refuse_a_directory_without_an_exercise(tmp_path: Path) -> None:
    for step in ("fuse", "score"):
        proc = subprocess.run(
            [sys.executable, "-m", "meshwarn.cli", "exercise", step, str(tmp_path / "nothing")],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "error" in proc.stderr
