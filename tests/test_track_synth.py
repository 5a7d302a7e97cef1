"""Synthetic sensor reports for the tracker's tests, from the simulator's flight model.

The tracker never sees these trajectories; the tests compare its output against them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from meshwarn import model
from meshwarn.geo.earth import ecef_to_aer, ecef_to_geodetic
from meshwarn.sim.flight import Trajectory, fly, solve_launch

T0 = 1_700_000_000.0


@dataclass(frozen=True)
class Radar:
    name: str
    partner: str
    lat: float
    lon: float
    h: float = 50.0
    max_range_m: float = 2.0e6
    sigma_range_m: float = 30.0
    sigma_deg: float = 0.05
    scan_s: float = 2.0
    pd: float = 0.95
    min_el_deg: float = 0.5


KOR = Radar("KOR-GP", "KOR", 36.0, 128.0)
JPN = Radar("JPN-FPS", "JPN", 37.5, 138.5)
USA = Radar("USA-TPY", "USA", 40.5, 140.3, sigma_deg=0.03)


def label(partner: str, classification: str = "SECRET") -> model.Label:
    return model.Label(partner, classification, ("KOR", "JPN", "USA"))  # type: ignore[arg-type]


_cache: dict[tuple[float, ...], Trajectory] = {}


def trajectory(lat=39.0, lon=125.5, az=95.0, apogee=500.0, rng=1000.0, launch_time=T0) -> Trajectory:
    """A solved launch; the solve is cached and the launch time applied by re-flying (fast)."""
    key = (lat, lon, az, apogee, rng)
    if key not in _cache:
        _cache[key] = solve_launch(lat, lon, az, apogee, rng)
    s = _cache[key]
    return fly(lat, lon, az, s.booster, s.thrust_scale, s.kick_deg, launch_time=launch_time)


def plot(radar: Radar, time: float, aer: np.ndarray, n: int) -> model.Report:
    body = model.RadarPlot(
        time=time, sensor=radar.name, sensor_lat=radar.lat, sensor_lon=radar.lon, sensor_h=radar.h,
        range_m=float(max(aer[2], 0.0)), azimuth_deg=float(aer[0] % 360.0), elevation_deg=float(aer[1]),
        sigma_range_m=radar.sigma_range_m, sigma_azimuth_deg=radar.sigma_deg, sigma_elevation_deg=radar.sigma_deg,
    )  # fmt: skip
    return model.Report(f"{radar.name}-{n}", label(radar.partner), time, body)


def radar_reports(
    radar: Radar,
    trajs: list[Trajectory],
    t0: float,
    t1: float,
    rng: np.random.Generator,
    clutter: float = 0.0,
    noise: bool = True,
) -> list[model.Report]:
    """Plots of every visible trajectory each scan, with noise, misses and Poisson clutter."""
    out: list[model.Report] = []
    n = 0
    for t in np.arange(t0, t1, radar.scan_s):
        for tr in trajs:
            if not tr.in_flight(t):
                continue
            pos, _ = tr.state_at(t)
            aer = ecef_to_aer(pos, radar.lat, radar.lon, radar.h)
            if aer[1] < radar.min_el_deg or aer[2] > radar.max_range_m or (noise and rng.random() > radar.pd):
                continue
            err = rng.normal(0.0, [radar.sigma_deg, radar.sigma_deg, radar.sigma_range_m]) if noise else 0.0
            out.append(plot(radar, float(t), aer + err, n))
            n += 1
        for _ in range(rng.poisson(clutter)):
            aer = np.array([rng.uniform(0, 360), rng.uniform(1, 40), rng.uniform(1e5, radar.max_range_m)])
            out.append(plot(radar, float(t), aer, n))
            n += 1
    return out


def ir_reports(
    sat: tuple[str, str, float, float, float], tr: Trajectory, t0: float, t1: float, step: float,
    sigma_deg: float, rng: np.random.Generator,
) -> list[model.Report]:  # fmt: skip
    """Lines of sight from a satellite (name, partner, lat, lon, h) to the plume while it burns."""
    name, partner, lat, lon, h = sat
    out = []
    for i, t in enumerate(np.arange(t0, min(t1, tr.burnout_time), step)):
        pos, _ = tr.state_at(t)
        aer = ecef_to_aer(pos, lat, lon, h)
        az, el = aer[0] + rng.normal(0, sigma_deg), aer[1] + rng.normal(0, sigma_deg)
        body = model.InfraredLos(
            time=float(t), sensor=name, sensor_lat=lat, sensor_lon=lon, sensor_h=h,
            azimuth_deg=float(az % 360.0), elevation_deg=float(el), sigma_deg=sigma_deg,
        )  # fmt: skip
        out.append(model.Report(f"{name}-{i}", label(partner), float(t), body))
    return out


def run(tracker, reports: list[model.Report], delay: float = 0.5) -> list[model.Track]:  # type: ignore[no-untyped-def]
    """Feed reports in time order (each arriving `delay` later); every emitted track."""
    out = []
    for r in sorted(reports, key=lambda r: r.body.time):  # type: ignore[union-attr]
        out.extend(tracker.process(r, r.body.time + delay))  # type: ignore[union-attr]
    return out


def position_error(track: model.Track, tr: Trajectory) -> float:
    pos, _ = tr.state_at(track.time)
    return float(np.linalg.norm(np.array(track.position_ecef) - pos))


def geodetic(pos: np.ndarray) -> tuple[float, float]:
    lat, lon, _ = ecef_to_geodetic(pos)
    return float(lat), float(lon)


def test_synthetic_plots_sit_on_the_trajectory() -> None:
    tr = trajectory()
    reports = radar_reports(KOR, [tr], tr.launch_time, tr.launch_time + 300, np.random.default_rng(1))
    assert len(reports) > 50
    body = reports[10].body
    assert isinstance(body, model.RadarPlot)
    pos, _ = tr.state_at(body.time)
    aer = ecef_to_aer(pos, KOR.lat, KOR.lon, KOR.h)
    assert abs(aer[2] - body.range_m) < 6 * KOR.sigma_range_m
    assert math.isfinite(body.azimuth_deg)
