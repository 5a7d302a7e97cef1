"""Simulated sensors: ground radars, ship radars on moving platforms, space-based infrared.

Every sensor turns trajectories into labelled reports, vectorised with NumPy over
its sample times. Physics kept on purpose:
- radars see a target only within range, inside their azimuth sector, and above
  their horizon in the 4/3-Earth refraction model (the standard stand-in for the
  bending of radio waves in the lower atmosphere);
- a radar's reported angles are the geometric ones plus noise: real radars correct
  their output for refraction, and a tracker must not inherit a model bias;
- space-based infrared sees only a boosting missile's plume, gives angles only, and
  only along a line of sight that clears the Earth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from meshwarn.geo.earth import MEAN_RADIUS, A, B, ecef_to_geodetic, geodetic_to_ecef
from meshwarn.model import InfraredLos, Label, RadarPlot, Report, SensorInfo, UnitPosition
from meshwarn.sim.flight import Trajectory

K_REFRACTION = 4.0 / 3.0
EFFECTIVE_RADIUS = K_REFRACTION * MEAN_RADIUS
GEO_HEIGHT_M = 35_786_000.0
FALSE_PLOT_MAX_ELEVATION_DEG = 60.0
FALSE_PLOT_MAX_RANGE_RATE = 3000.0  # m/s; a false plot's range rate is uniform in +-this


@dataclass(frozen=True)
class Target:
    """A simulated object: its id (truth, never reported) and how it flies."""

    id: str
    trajectory: Trajectory


@dataclass(frozen=True)
class RadarSpec:
    """What a radar can do, whatever it stands on."""

    max_range_km: float
    period_s: float
    azimuth_min_deg: float = 0.0
    azimuth_max_deg: float = 360.0
    min_elevation_deg: float = 0.0
    sigma_range_m: float = 100.0
    sigma_azimuth_deg: float = 0.1
    sigma_elevation_deg: float = 0.1
    sigma_range_rate_mps: float | None = None
    detection_probability: float = 0.95
    false_alarms_per_scan: float = 0.0


@dataclass(frozen=True)
class GroundRadar:
    name: str
    label: Label
    lat: float
    lon: float
    h: float
    radar: RadarSpec
    kind: str = field(default="ground_radar", init=False)


@dataclass(frozen=True)
class ShipRadar:
    """A radar on a ship sailing a rhumb line (constant course) at constant speed from start."""

    name: str
    label: Label
    lat: float
    lon: float
    h: float  # antenna height above the sea
    course_deg: float
    speed_mps: float
    radar: RadarSpec
    unit_period_s: float = 10.0
    kind: str = field(default="ship_radar", init=False)


@dataclass(frozen=True)
class IrSatellite:
    name: str
    label: Label
    lat: float
    lon: float
    h: float
    period_s: float
    sigma_deg: float
    detection_probability: float = 0.98
    kind: str = field(default="ir_satellite", init=False)


Sensor = GroundRadar | ShipRadar | IrSatellite


@dataclass
class Observations:
    """One sensor's reports in time order, with what each really was (target id, "" = false)."""

    reports: list[Report]
    truth: list[str]
    detections: int = 0
    false_alarms: int = 0
    unit_positions: int = 0


# --- platform motion ------------------------------------------------------------------------


def ship_track(ship: ShipRadar, start: float, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude (deg) of a ship at absolute times, along its rhumb line from start."""
    d = ship.speed_mps * (np.asarray(times, dtype=float) - start) / MEAN_RADIUS  # angular distance
    c = math.radians(ship.course_deg)
    lat0 = math.radians(ship.lat)
    lat = lat0 + d * math.cos(c)
    dpsi = np.log(np.tan(math.pi / 4 + lat / 2) / math.tan(math.pi / 4 + lat0 / 2))
    # On an east-west course dpsi vanishes: the stretch factor is cos(lat) there.
    q = np.where(np.abs(dpsi) > 1e-12, (lat - lat0) / np.where(dpsi == 0, 1.0, dpsi), math.cos(lat0))
    lon = math.radians(ship.lon) + d * math.sin(c) / q
    return np.degrees(lat), (np.degrees(lon) + 540.0) % 360.0 - 180.0


def enu_axes(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    """East, north, up unit vectors (rows) in ECEF at each point: shape (n, 3, 3)."""
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    sl, cl, so, co = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
    zero = np.zeros_like(lat)
    return np.stack(
        [
            np.stack([-so, co, zero], axis=-1),
            np.stack([-sl * co, -sl * so, cl], axis=-1),
            np.stack([cl * co, cl * so, sl], axis=-1),
        ],
        axis=-2,
    )


def platform_states(
    sensor: Sensor, start: float, times: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """lat (n,), lon (n,), ECEF position (n, 3) and ECEF velocity (n, 3) of the sensor at times."""
    n = len(times)
    if isinstance(sensor, ShipRadar):
        lat, lon = ship_track(sensor, start, times)
        c = math.radians(sensor.course_deg)
        v_enu = np.array([sensor.speed_mps * math.sin(c), sensor.speed_mps * math.cos(c), 0.0])
        vel = np.einsum("nij,i->nj", enu_axes(lat, lon), v_enu)
    else:
        lat, lon = np.full(n, sensor.lat), np.full(n, sensor.lon)
        vel = np.zeros((n, 3))
    return lat, lon, geodetic_to_ecef(lat, lon, sensor.h).reshape(n, 3), vel


# --- visibility -----------------------------------------------------------------------------


def refracted_visible(
    h_sensor: float, h_target: np.ndarray, slant_m: np.ndarray, min_el_deg: float
) -> np.ndarray:
    """Whether targets clear the horizon and the minimum elevation in the 4/3-Earth model.

    In the effective-Earth geometry rays are straight; the law of cosines gives the
    elevation of the ray at the sensor, and the ray must not dip into the Earth.
    """
    a = EFFECTIVE_RADIUS + h_sensor
    b = EFFECTIVE_RADIUS + np.asarray(h_target, dtype=float)
    d = np.maximum(np.asarray(slant_m, dtype=float), 1e-3)
    sin_el = np.clip((b * b - a * a - d * d) / (2.0 * a * d), -1.0, 1.0)
    el = np.degrees(np.arcsin(sin_el))
    closest = -a * sin_el  # distance along the ray to its lowest point
    dips = (closest > 0.0) & (closest < d) & (a * np.sqrt(1.0 - sin_el**2) < EFFECTIVE_RADIUS)
    return (el >= min_el_deg) & ~dips


def in_sector(az_deg: np.ndarray, az_min: float, az_max: float) -> np.ndarray:
    """Azimuths inside the sector from az_min clockwise to az_max (which may wrap through north)."""
    width = az_max - az_min
    if width >= 360.0 or width <= -360.0:
        return np.ones(np.shape(az_deg), dtype=bool)
    return (np.asarray(az_deg) - az_min) % 360.0 <= width % 360.0


def los_clears_earth(origin: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Whether segments from an ECEF origin (3,) to targets (n, 3) stay outside the ellipsoid."""
    scale = np.array([1.0 / A, 1.0 / A, 1.0 / B])  # the ellipsoid becomes the unit sphere
    o = origin * scale
    d = targets * scale - o
    s = np.clip(-(d @ o) / np.maximum(np.einsum("ij,ij->i", d, d), 1e-30), 0.0, 1.0)
    closest = o + s[:, None] * d
    return np.einsum("ij,ij->i", closest, closest) >= 1.0 - 1e-7  # a plume on the pad still counts


def _relative(
    pos: np.ndarray, vel: np.ndarray, s_pos: np.ndarray, s_vel: np.ndarray, axes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Azimuth, elevation (deg), slant range and range rate of targets seen from sensor states."""
    rel = pos - s_pos
    enu = np.einsum("nij,nj->ni", axes, rel)
    rng = np.linalg.norm(rel, axis=1)
    az = np.degrees(np.arctan2(enu[:, 0], enu[:, 1])) % 360.0
    el = np.degrees(np.arcsin(np.clip(enu[:, 2] / np.maximum(rng, 1e-9), -1.0, 1.0)))
    rate = np.einsum("ij,ij->i", vel - s_vel, rel) / np.maximum(rng, 1e-9)
    return az, el, rng, rate


# --- radars ---------------------------------------------------------------------------------


def scan_times(period_s: float, start: float, end: float, rng: np.random.Generator) -> np.ndarray:
    """Scan times of a sensor from a random phase: sensors are not synchronised."""
    return np.arange(start + rng.uniform(0.0, period_s), end, period_s)


def observe_radar(
    sensor: GroundRadar | ShipRadar,
    targets: list[Target],
    start: float,
    end: float,
    rng: np.random.Generator,
) -> Observations:
    spec = sensor.radar
    times = scan_times(spec.period_s, start, end, rng)
    lat, lon, s_pos, s_vel = platform_states(sensor, start, times)
    axes = enu_axes(lat, lon)
    rows: list[tuple[float, int, float, float, float, float, str]] = []  # time, scan, r, az, el, rate, truth
    for target in targets:
        traj = target.trajectory
        idx = np.nonzero((times >= traj.launch_time) & (times <= traj.impact_time))[0]
        if len(idx) == 0:
            continue
        pos, vel = traj.state_at(times[idx])
        az, el, r, rate = _relative(pos, vel, s_pos[idx], s_vel[idx], axes[idx])
        h_target = ecef_to_geodetic(pos)[2]
        seen = (
            (r <= spec.max_range_km * 1000.0)
            & in_sector(az, spec.azimuth_min_deg, spec.azimuth_max_deg)
            & refracted_visible(sensor.h, h_target, r, spec.min_elevation_deg)
            & (h_target > -1.0)
            & (rng.random(len(idx)) < spec.detection_probability)
        )
        idx, az, el, r, rate = idx[seen], az[seen], el[seen], r[seen], rate[seen]
        n = len(idx)
        r = np.maximum(r + rng.normal(0.0, spec.sigma_range_m, n), 0.0)
        az = (az + rng.normal(0.0, spec.sigma_azimuth_deg, n)) % 360.0
        el = el + rng.normal(0.0, spec.sigma_elevation_deg, n)
        rate = rate + rng.normal(0.0, spec.sigma_range_rate_mps or 0.0, n)
        rows.extend(
            zip(
                times[idx].tolist(),
                idx.tolist(),
                *(a.tolist() for a in (r, az, el, rate)),
                [target.id] * n,
                strict=True,
            )
        )
    detections = len(rows)
    rows.extend(_false_plots(spec, times, rng))
    rows.sort(key=lambda row: (row[0], row[6] == "", row[6]))
    reports = [_radar_report(sensor, k, row, lat, lon) for k, row in enumerate(rows)]
    return Observations(reports, [row[6] for row in rows], detections, len(rows) - detections)


def _false_plots(spec: RadarSpec, times: np.ndarray, rng: np.random.Generator) -> list[tuple]:
    """Random plots uniformly in the coverage (a Poisson number per scan): noise, clutter, birds."""
    if spec.false_alarms_per_scan <= 0.0:
        return []
    counts = rng.poisson(spec.false_alarms_per_scan, len(times))
    scans = np.repeat(np.arange(len(times)), counts)
    n = len(scans)
    if n == 0:
        return []
    width = (spec.azimuth_max_deg - spec.azimuth_min_deg) % 360.0 or 360.0
    if spec.azimuth_max_deg - spec.azimuth_min_deg >= 360.0:
        width = 360.0
    az = (spec.azimuth_min_deg + rng.uniform(0.0, width, n)) % 360.0
    el_top = max(FALSE_PLOT_MAX_ELEVATION_DEG, spec.min_elevation_deg + 1.0)
    el = rng.uniform(spec.min_elevation_deg, el_top, n)
    r = rng.uniform(0.02, 1.0, n) * spec.max_range_km * 1000.0
    rate = rng.uniform(-FALSE_PLOT_MAX_RANGE_RATE, FALSE_PLOT_MAX_RANGE_RATE, n)
    return list(
        zip(
            times[scans].tolist(),
            scans.tolist(),
            *(a.tolist() for a in (r, az, el, rate)),
            [""] * n,
            strict=True,
        )
    )


def _radar_report(
    sensor: GroundRadar | ShipRadar, k: int, row: tuple, lat: np.ndarray, lon: np.ndarray
) -> Report:
    time, scan, r, az, el, rate, _ = row
    spec = sensor.radar
    with_rate = spec.sigma_range_rate_mps is not None
    body = RadarPlot(
        time=time,
        sensor=sensor.name,
        sensor_lat=float(lat[scan]),
        sensor_lon=float(lon[scan]),
        sensor_h=sensor.h,
        range_m=float(r),
        azimuth_deg=float(az),
        elevation_deg=float(el),
        sigma_range_m=spec.sigma_range_m,
        sigma_azimuth_deg=spec.sigma_azimuth_deg,
        sigma_elevation_deg=spec.sigma_elevation_deg,
        range_rate_mps=float(rate) if with_rate else None,
        sigma_range_rate_mps=spec.sigma_range_rate_mps,
        sensor_moving=isinstance(sensor, ShipRadar),
    )
    return Report(id=f"{sensor.name}-{k:06d}", label=sensor.label, sent=time, body=body)


def unit_positions(ship: ShipRadar, start: float, end: float) -> list[Report]:
    """The ship's own-unit position reports, every unit_period_s from the start."""
    times = np.arange(start, end, ship.unit_period_s)
    lat, lon = ship_track(ship, start, times)
    return [
        Report(
            id=f"{ship.name}-unit-{k:05d}",
            label=ship.label,
            sent=t,
            body=UnitPosition(
                time=t,
                unit=ship.name,
                lat=a,
                lon=o,
                h=0.0,
                speed_mps=ship.speed_mps,
                course_deg=ship.course_deg,
            ),
        )
        for k, (t, a, o) in enumerate(zip(times.tolist(), lat.tolist(), lon.tolist(), strict=True))
    ]


# --- infrared -------------------------------------------------------------------------------


def observe_infrared(
    sensor: IrSatellite, targets: list[Target], start: float, end: float, rng: np.random.Generator
) -> Observations:
    times = scan_times(sensor.period_s, start, end, rng)
    origin = geodetic_to_ecef(sensor.lat, sensor.lon, sensor.h)
    axes = enu_axes(np.array([sensor.lat]), np.array([sensor.lon]))[0]
    rows: list[tuple[float, float, float, str]] = []
    for target in targets:
        traj = target.trajectory
        t = times[(times >= traj.launch_time) & (times < traj.burnout_time)]  # the plume burns only in boost
        if len(t) == 0:
            continue
        pos, _ = traj.state_at(t)
        seen = los_clears_earth(origin, pos) & (rng.random(len(t)) < sensor.detection_probability)
        t, enu = t[seen], (pos[seen] - origin) @ axes.T
        az = np.degrees(np.arctan2(enu[:, 0], enu[:, 1]))
        el = np.degrees(np.arcsin(enu[:, 2] / np.linalg.norm(enu, axis=1)))
        az = (az + rng.normal(0.0, sensor.sigma_deg, len(t))) % 360.0
        el = el + rng.normal(0.0, sensor.sigma_deg, len(t))
        rows.extend(zip(t.tolist(), az.tolist(), el.tolist(), [target.id] * len(t), strict=True))
    rows.sort()
    reports = [
        Report(
            id=f"{sensor.name}-{k:06d}",
            label=sensor.label,
            sent=t,
            body=InfraredLos(
                time=t,
                sensor=sensor.name,
                sensor_lat=sensor.lat,
                sensor_lon=sensor.lon,
                sensor_h=sensor.h,
                azimuth_deg=az,
                elevation_deg=el,
                sigma_deg=sensor.sigma_deg,
                intensity=1.0,
            ),
        )
        for k, (t, az, el, _) in enumerate(rows)
    ]
    return Observations(reports, [row[3] for row in rows], len(rows), 0)


def observe(
    sensor: Sensor, targets: list[Target], start: float, end: float, rng: np.random.Generator
) -> Observations:
    """All reports of one sensor from start to end (ships add their own-unit positions)."""
    if isinstance(sensor, IrSatellite):
        return observe_infrared(sensor, targets, start, end, rng)
    result = observe_radar(sensor, targets, start, end, rng)
    if isinstance(sensor, ShipRadar):
        units = unit_positions(sensor, start, end)
        result.reports.extend(units)
        result.truth.extend([""] * len(units))
        result.unit_positions = len(units)
    return result


def sensor_info(sensor: Sensor) -> SensorInfo:
    """The sensor as placed (a ship at its start), for truth files and pictures."""
    if isinstance(sensor, IrSatellite):
        r = A + sensor.h
        return SensorInfo(
            name=sensor.name,
            partner=sensor.label.originator,
            kind="ir_satellite",
            lat=sensor.lat,
            lon=sensor.lon,
            h=sensor.h,
            max_range_km=math.sqrt(r * r - A * A) / 1000.0,  # to the Earth's limb
            min_elevation_deg=-90.0,
        )
    spec = sensor.radar
    return SensorInfo(
        name=sensor.name,
        partner=sensor.label.originator,
        kind=sensor.kind,  # type: ignore[arg-type]
        lat=sensor.lat,
        lon=sensor.lon,
        h=sensor.h,
        max_range_km=spec.max_range_km,
        azimuth_min_deg=spec.azimuth_min_deg,
        azimuth_max_deg=spec.azimuth_max_deg,
        min_elevation_deg=spec.min_elevation_deg,
    )
