"""Sensors see what physics lets them see: horizon, range, sector, boost plume; ships move."""

import math

import numpy as np
import pytest

from meshwarn.geo.earth import destination, ecef_to_geodetic, geodetic_to_ecef, surface_distance_km
from meshwarn.model import InfraredLos, Label, RadarPlot, UnitPosition
from meshwarn.sim.flight import fly
from meshwarn.sim.sensors import (
    EFFECTIVE_RADIUS,
    GEO_HEIGHT_M,
    GroundRadar,
    IrSatellite,
    RadarSpec,
    ShipRadar,
    Target,
    los_clears_earth,
    observe,
    refracted_visible,
    ship_track,
)

LABEL = Label(originator="JPN", classification="SECRET", releasable_to=("JPN", "USA"))
START = 1_700_000_000.0


@pytest.fixture(scope="module")
def srbm() -> Target:
    """An SRBM eastward from 39N 127.6E: 90 km apogee, 600 km range, launched 30 s after START."""
    return Target("M1", fly(39.0, 127.6, 90.0, "srbm", 1.0067, 59.106, launch_time=START + 30.0))


def radar(lat: float, lon: float, **spec: float) -> GroundRadar:
    base = dict(max_range_km=3000.0, period_s=2.0, detection_probability=1.0)
    return GroundRadar("R", LABEL, lat, lon, 0.0, RadarSpec(**(base | spec)))


def end_of(target: Target) -> float:
    return target.trajectory.impact_time + 10.0


def test_refraction_horizon_in_the_four_thirds_earth() -> None:
    # Horizon distance for a target at height h seen from the ground: sqrt(2 k R h).
    horizon = math.sqrt(2.0 * EFFECTIVE_RADIUS * 100e3)
    d = np.array([0.9 * horizon, 1.1 * horizon])
    slant = np.sqrt(d**2 + 100e3**2)
    assert refracted_visible(0.0, np.full(2, 100e3), slant, 0.0).tolist() == [True, False]
    # A higher minimum elevation hides the nearer one too.
    assert not refracted_visible(0.0, np.array([100e3]), slant[:1], 3.0)[0]


def test_radar_sees_only_above_its_horizon(srbm: Target) -> None:
    # 700 km west of the launch: the missile rises above this radar's horizon, and sets again.
    lat, lon = destination(39.0, 127.6, 270.0, 700.0)
    obs = observe(radar(lat, lon), [srbm], START, end_of(srbm), np.random.default_rng(1))
    times = np.array([r.body.time for r in obs.reports])
    assert 10 < len(times) < (srbm.trajectory.flight_time_s / 2.0)
    pos, _ = srbm.trajectory.state_at(times)
    tlat, tlon, th = ecef_to_geodetic(pos)
    ground = surface_distance_km(lat, lon, tlat, tlon) * 1000.0
    horizon_height = ground**2 / (2.0 * EFFECTIVE_RADIUS)  # the 4/3-Earth horizon, an independent formula
    assert np.all(th >= 0.97 * horizon_height)
    # and at every scan where the missile is well above that horizon, the radar (Pd = 1) saw it
    scans = START + (times[0] - START) % 2.0 + np.arange(0.0, end_of(srbm) - START, 2.0)
    scans = scans[(scans >= srbm.trajectory.launch_time) & (scans <= srbm.trajectory.impact_time)]
    p, _ = srbm.trajectory.state_at(scans)
    slat, slon, sh = ecef_to_geodetic(p)
    clear = sh > 1.1 * (surface_distance_km(lat, lon, slat, slon) * 1000.0) ** 2 / (2.0 * EFFECTIVE_RADIUS)
    assert np.count_nonzero(clear) > 10
    assert np.all(np.isin(np.round(scans[clear], 6), np.round(times, 6)))


def test_radar_beyond_the_horizon_sees_nothing(srbm: Target) -> None:
    lat, lon = destination(39.0, 127.6, 270.0, 2500.0)  # far below the horizon for a 90 km apogee
    obs = observe(radar(lat, lon), [srbm], START, end_of(srbm), np.random.default_rng(2))
    assert obs.detections == 0 and obs.reports == []


def test_radar_sees_only_within_range_and_sector(srbm: Target) -> None:
    lat, lon = 37.5, 129.0  # south of the flight
    near = observe(radar(lat, lon, max_range_km=300.0), [srbm], START, end_of(srbm), np.random.default_rng(3))
    assert near.detections > 0
    assert max(r.body.range_m for r in near.reports) < 300e3 + 5 * 100.0
    wide = observe(radar(lat, lon), [srbm], START, end_of(srbm), np.random.default_rng(3))
    assert wide.detections > near.detections
    facing_away = radar(lat, lon, azimuth_min_deg=135.0, azimuth_max_deg=225.0)
    assert observe(facing_away, [srbm], START, end_of(srbm), np.random.default_rng(3)).detections == 0
    wraps_north = radar(lat, lon, azimuth_min_deg=300.0, azimuth_max_deg=90.0)
    seen = observe(wraps_north, [srbm], START, end_of(srbm), np.random.default_rng(3)).reports
    assert seen and all(a >= 300.0 or a <= 90.5 for a in (r.body.azimuth_deg for r in seen))


def test_radar_plots_carry_noise_of_their_sigma(srbm: Target) -> None:
    sensor = radar(37.5, 129.0, sigma_range_m=50.0, sigma_range_rate_mps=2.0)
    obs = observe(sensor, [srbm], START, end_of(srbm), np.random.default_rng(4))
    plots = [r.body for r in obs.reports]
    assert all(isinstance(p, RadarPlot) and p.range_rate_mps is not None for p in plots)
    site = geodetic_to_ecef(37.5, 129.0, 0.0)
    true_range = np.linalg.norm(srbm.trajectory.state_at(np.array([p.time for p in plots]))[0] - site, axis=1)
    error = np.array([p.range_m for p in plots]) - true_range
    assert abs(error.mean()) < 20.0 and 35.0 < error.std() < 65.0


def test_false_alarms_fall_inside_coverage() -> None:
    spec = dict(
        detection_probability=0.0, false_alarms_per_scan=2.0, azimuth_min_deg=300.0, azimuth_max_deg=30.0
    )
    sensor = radar(36.0, 128.0, max_range_km=500.0, min_elevation_deg=2.0, **spec)
    obs = observe(sensor, [], START, START + 600.0, np.random.default_rng(5))
    assert obs.detections == 0 and 450 < obs.false_alarms < 750  # 300 scans x 2 per scan
    for report in obs.reports:
        plot = report.body
        assert plot.range_m <= 500e3 and plot.elevation_deg >= 2.0
        assert plot.azimuth_deg >= 300.0 or plot.azimuth_deg <= 30.0
    assert len({r.id for r in obs.reports}) == len(obs.reports)


def test_satellite_sees_only_the_boost(srbm: Target) -> None:
    sat = IrSatellite(
        "SAT", LABEL, 0.0, 140.0, GEO_HEIGHT_M, period_s=1.0, sigma_deg=0.01, detection_probability=1.0
    )
    obs = observe(sat, [srbm], START, end_of(srbm), np.random.default_rng(6))
    times = [r.body.time for r in obs.reports]
    assert all(isinstance(r.body, InfraredLos) for r in obs.reports)
    assert len(times) == pytest.approx(srbm.trajectory.burnout_s, abs=2)
    assert min(times) >= srbm.trajectory.launch_time and max(times) < srbm.trajectory.burnout_time
    assert all(r.body.elevation_deg < -60.0 for r in obs.reports)  # looking down from GEO


def test_satellite_behind_the_earth_sees_nothing(srbm: Target) -> None:
    sat = IrSatellite("SAT", LABEL, 0.0, -40.0, GEO_HEIGHT_M, period_s=1.0, sigma_deg=0.01)
    assert observe(sat, [srbm], START, end_of(srbm), np.random.default_rng(7)).reports == []


def test_line_of_sight_blocked_by_the_earth() -> None:
    origin = geodetic_to_ecef(0.0, 140.0, GEO_HEIGHT_M)
    targets = geodetic_to_ecef(np.array([39.0, 0.0, 0.0]), np.array([127.0, -40.0, 140.0]), np.full(3, 50e3))
    assert los_clears_earth(origin, targets).tolist() == [True, False, True]


def test_ship_radar_moves_with_its_ship(srbm: Target) -> None:
    spec = RadarSpec(max_range_km=800.0, period_s=2.0, detection_probability=1.0)
    ship = ShipRadar("DDG", LABEL, 38.0, 131.0, 25.0, course_deg=0.0, speed_mps=15.0, radar=spec)
    obs = observe(ship, [srbm], START, end_of(srbm), np.random.default_rng(8))
    plots = [r.body for r in obs.reports if isinstance(r.body, RadarPlot)]
    units = [r.body for r in obs.reports if isinstance(r.body, UnitPosition)]
    assert obs.detections > 20 and obs.unit_positions == len(units) > 30
    for body in plots + units:
        lat = body.sensor_lat if isinstance(body, RadarPlot) else body.lat
        moved_km = 15.0 * (body.time - START) / 1000.0
        assert lat == pytest.approx(38.0 + moved_km / 111.2, abs=1e-3)  # sailing north
    assert plots[-1].sensor_lat > plots[0].sensor_lat
    assert [u.time for u in units] == sorted(u.time for u in units) and units[1].time - units[0].time == 10.0


def test_ship_track_east_keeps_its_course() -> None:
    ship = ShipRadar(
        "S", LABEL, 40.0, 130.0, 20.0, course_deg=90.0, speed_mps=10.0, radar=RadarSpec(100.0, 5.0)
    )
    lat, lon = ship_track(ship, 0.0, np.array([0.0, 3600.0]))
    assert lat[1] == pytest.approx(40.0, abs=1e-9)
    assert surface_distance_km(lat[0], lon[0], lat[1], lon[1]) == pytest.approx(36.0, rel=1e-3)
