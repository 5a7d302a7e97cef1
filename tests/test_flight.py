"""The flight model against published figures of real launches, and against impossible requests."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from meshwarn.errors import InputError
from meshwarn.geo.earth import ballistic_accel, ecef_to_geodetic, geodetic_to_ecef
from meshwarn.sim.flight import solve_burnout, solve_launch

LAUNCHES = Path(__file__).parents[1] / "meshwarn" / "data" / "launches.csv"


@pytest.mark.parametrize("row", list(csv.DictReader(LAUNCHES.open())), ids=lambda r: r["missile"])
def test_flight_time_matches_published_launch(row: dict[str, str]) -> None:
    trajectory = solve_launch(
        float(row["launch_lat"]),
        float(row["launch_lon"]),
        float(row["azimuth_deg_approx"]),
        float(row["apogee_km"]),
        float(row["range_km"]),
    )
    published = float(row["flight_time_s"])
    assert abs(trajectory.flight_time_s - published) / published < 0.06
    assert trajectory.apogee_km == pytest.approx(float(row["apogee_km"]), rel=1e-3)
    assert trajectory.range_km == pytest.approx(float(row["range_km"]), rel=1e-3)


def test_solved_burnout_state_is_met() -> None:
    trajectory = solve_burnout(39.0, 125.0, 90.0, 3000.0, 40.0)
    assert trajectory.burnout_speed_mps == pytest.approx(3000.0, rel=1e-3)
    assert trajectory.burnout_fpa_deg == pytest.approx(40.0, abs=0.05)


def test_energy_is_conserved_in_the_coast() -> None:
    """Jacobi-like check: in the rotating frame with J2, speed changes only with potential."""
    trajectory = solve_launch(39.0, 127.5, 90.0, 100.0, 400.0)
    coast = trajectory.t > trajectory.burnout_s + 1
    r, v = trajectory.r[coast], trajectory.v[coast]
    # Finite-difference acceleration of the recorded samples matches the model's.
    dt = np.diff(trajectory.t[coast])[:, None]
    a_fd = np.diff(v, axis=0) / dt
    a_model = 0.5 * (ballistic_accel(r[:-1], v[:-1]) + ballistic_accel(r[1:], v[1:]))
    assert np.max(np.linalg.norm(a_fd[:-1] - a_model[:-1], axis=1)) < 1e-2


def test_geodetic_round_trip() -> None:
    lat = np.array([0.0, 39.2, -45.0, 89.9, 10.0])
    lon = np.array([0.0, 125.7, -170.0, 20.0, 179.9])
    h = np.array([0.0, 550e3, -100.0, 6.0e6, 35786e3])
    la, lo, hh = ecef_to_geodetic(geodetic_to_ecef(lat, lon, h))
    assert np.allclose(la, lat, atol=1e-9) and np.allclose(lo, lon, atol=1e-9)
    assert np.allclose(hh, h, atol=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(lat=95.0, lon=125.0, azimuth_deg=90.0, apogee_km=100.0, range_km=300.0), "latitude 95"),
        (dict(lat=39.0, lon=125.0, azimuth_deg=90.0, apogee_km=40.0, range_km=2700.0), "too low"),
        (dict(lat=39.0, lon=125.0, azimuth_deg=90.0, apogee_km=-5.0, range_km=300.0), "apogee -5"),
    ],
)
def test_impossible_requests_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        solve_launch(**kwargs)


def test_fly_command_prints_json_and_track() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "meshwarn.cli",
            "fly",
            "--launch",
            "39.0,127.5",
            "--azimuth",
            "90",
            "--apogee-km",
            "100",
            "--range-km",
            "400",
            "--json",
            "--track",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout)
    assert {"flight_time_s", "apogee_km", "range_km", "impact_lat", "impact_lon"} <= result.keys()
    assert result["ground_track"][-1]["h_km"] == pytest.approx(0.0, abs=0.01)


def test_fly_command_prints_the_ground_track_as_text_too() -> None:
    args = ["fly", "--launch", "39.0,127.5", "--azimuth", "90", "--apogee-km", "100", "--range-km", "400"]
    out = subprocess.run(
        [sys.executable, "-m", "meshwarn.cli", *args, "--track", "--track-step", "50"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rows = [line.split() for line in out.splitlines()[out.splitlines().index("") + 2 :]]
    assert len(rows) >= 4 and rows[0][0] == "0.0" and float(rows[-1][3]) == pytest.approx(0.0, abs=0.01)
    assert [float(r[0]) for r in rows] == sorted(float(r[0]) for r in rows)


def test_fly_command_bad_latitude_exits_2_with_one_line() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "meshwarn.cli",
            "fly",
            "--launch",
            "95,125",
            "--azimuth",
            "90",
            "--apogee-km",
            "100",
            "--range-km",
            "400",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "latitude 95" in out.stderr
