"""Scenario files: the shipped ones load; bad ones fail with the file, line and problem."""

from pathlib import Path

import pytest

from meshwarn.cli import main
from meshwarn.errors import InputError
from meshwarn.sim.scenario import load_scenario, resolve, shipped_scenarios
from meshwarn.sim.sensors import GroundRadar, IrSatellite, ShipRadar

ICBM = resolve("lofted-icbm").read_text()


def test_shipped_scenarios_are_there() -> None:
    assert {"lofted-icbm", "irbm-overflight", "srbm-salvo"} <= set(shipped_scenarios())


@pytest.mark.parametrize("name", shipped_scenarios())
def test_each_shipped_scenario_loads(name: str) -> None:
    scenario = load_scenario(name)
    assert scenario.name == name and scenario.launches and scenario.sensors
    assert {"KOR", "JPN", "USA"} <= set(scenario.labels)
    kinds = {type(s) for s in scenario.sensors}
    assert kinds == {GroundRadar, ShipRadar, IrSatellite}
    assert {s.label.originator for s in scenario.sensors if isinstance(s, ShipRadar)} == {"KOR", "JPN", "USA"}
    assert all(launch.time >= scenario.start for launch in scenario.launches)


def test_salvo_has_several_launches_within_a_minute_or_two() -> None:
    salvo = load_scenario("srbm-salvo")
    times = [launch.time for launch in salvo.launches]
    assert 4 <= len(times) <= 6 and max(times) - min(times) <= 120.0


def test_sites_and_labels_come_from_the_file() -> None:
    scenario = load_scenario("lofted-icbm")
    sado = next(s for s in scenario.sensors if s.name == "JPN-FPS5-SADO")
    assert (sado.lat, sado.lon) == (38.07, 138.42)  # from meshwarn/data/sites.csv
    ship = next(s for s in scenario.sensors if s.name == "KOR-DDG-991")
    assert ship.label.releasable_to == ("KOR", "USA") and ship.label.classification == "SECRET"
    launch = scenario.launches[0]
    assert (launch.lat, launch.lon) == (39.282, 125.869) and launch.time == scenario.start + 60.0


def bad(tmp_path: Path, old: str, new: str) -> str:
    assert old in ICBM
    path = tmp_path / "bad.toml"
    path.write_text(ICBM.replace(old, new, 1))
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert str(path) in message and "\n" not in message
    return message


def line_of(text: str) -> int:
    return next(n for n, line in enumerate(ICBM.splitlines(), start=1) if line.startswith(text))


def test_unknown_sensor_kind(tmp_path: Path) -> None:
    message = bad(tmp_path, 'kind = "ir_satellite"', 'kind = "sonar"')
    assert "unknown sensor kind 'sonar'" in message and "ir_satellite" in message
    assert f"bad.toml:{line_of('kind = ' + chr(34) + 'ir_satellite')}:" in message
    assert "USA-IR-GEO-140E" in message


def test_latitude_out_of_range(tmp_path: Path) -> None:
    message = bad(tmp_path, "lat = 37.9", "lat = 95")
    assert "lat 95 is out of range" in message and f"bad.toml:{line_of('lat = 37.9')}:" in message


def test_missing_field(tmp_path: Path) -> None:
    message = bad(tmp_path, "apogee_km = 4475\n", "")
    assert "launches[1]" in message and "apogee_km" in message


def test_missing_radar_period(tmp_path: Path) -> None:
    old = "max_range_km = 700\nperiod_s = 3\n"
    message = bad(tmp_path, old, "max_range_km = 700\n")
    assert "missing field 'period_s'" in message and "KOR-DDG-991" in message


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    message = bad(tmp_path, "seed = 15", "seed = = 15")
    assert "not valid TOML" in message and f"line {line_of('seed = 15')}" in message


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ('site = "Sado"', 'site = "Atlantis"', "site 'Atlantis' matches none"),
        ('site = "Pyongsong"', 'site = "Atlantis"', "site 'Atlantis' matches none"),
        ('code = "USA"', 'code = "usa"', "'usa' is not an ISO 3166 alpha-3 code"),
        ('partner = "JPN"\nlatency_s', 'partner = "AUS"\nlatency_s', "partner AUS is not declared"),
        ("max_range_km = 2000", "max_rnage_km = 2000", "unknown field 'max_rnage_km'"),
        ("start = 2017-11-28T18:16:00Z", "start = 2017-11-28T18:16:00", "start must be a UTC"),
        ('classification = "SECRET"', 'classification = "TOP SECRET"', "classification 'TOP SECRET'"),
        ("detection_probability = 0.98", "detection_probability = 1.5", "detection_probability 1.5"),
        ("outages = [[900, 960]]", "outages = [[960, 900]]", "outages must be"),
        ("apogee_km = 4475", "apogee_km = 4475\nburnout_speed_mps = 6000", "give either apogee_km"),
    ],
)
def test_bad_values_name_the_problem(tmp_path: Path, old: str, new: str, problem: str) -> None:
    assert problem in bad(tmp_path, old, new)


def test_duplicate_sensor_name(tmp_path: Path) -> None:
    message = bad(tmp_path, 'name = "KOR-GREENPINE-BUSAN"', 'name = "KOR-GREENPINE-CHUNGNAM"')
    assert "used twice" in message


def test_unknown_scenario_name_lists_the_shipped_ones() -> None:
    with pytest.raises(InputError, match="srbm-salvo"):
        resolve("no-such-scenario")


def test_cli_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(ICBM.replace('kind = "ship_radar"', 'kind = "submarine"', 1))
    assert main(["exercise", "simulate", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown sensor kind 'submarine'" in err
    assert not (tmp_path / "out").exists()


def test_impossible_launch_names_the_launch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    text = ICBM.replace("apogee_km = 4475", "apogee_km = 40").replace("range_km = 950", "range_km = 2700")
    path.write_text(text.replace('booster = "icbm"', 'booster = "srbm"'))
    assert main(["exercise", "simulate", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "launch ICBM-1" in err and "apogee 40 km is too low for a range of 2700 km" in err
    assert f"bad.toml:{line_of('[[launches]]')}" in err


def test_a_maritime_scenario_is_not_a_missile_exercise(tmp_path: Path) -> None:
    path = tmp_path / "sea.toml"
    path.write_text('name = "sea"\nstart = 2026-03-10T00:00:00Z\n\n[traffic]\nmerchant = 3\n')
    with pytest.raises(InputError, match="maritime traffic scenario"):
        load_scenario(path)
