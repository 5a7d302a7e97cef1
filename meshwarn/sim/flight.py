"""Ballistic missile flight on a rotating WGS84 Earth with J2 gravity.

A flight is a boost (one or more stages of thrust: a vertical rise, a short
pitch-over "kick" in the launch azimuth, then a gravity turn with thrust along
the velocity, as real missiles fly) followed by an unpowered coast to impact. Both phases integrate the
same equations of motion (:func:`meshwarn.geo.earth.ballistic_accel`) with a
fixed-step fourth-order Runge-Kutta in plain floats, which is both exact
enough (millimetres per step) and the fastest thing in pure Python.

A launch is asked for by what is published about real ones: (apogee, range,
azimuth), or by its burnout state (speed, flight-path angle). :func:`solve_launch`
finds the thrust scale and kick angle that give it, by nested root finding:
apogee grows monotonically with thrust at a fixed kick, and at a fixed apogee
range grows monotonically with the kick (a flatter turn).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

from meshwarn.errors import InputError
from meshwarn.geo.earth import (
    E2,
    ballistic_accel_scalar,
    ecef_to_geodetic,
    geodesic_km,
    geodetic_to_ecef,
    height_above_ellipsoid_approx,
    initial_bearing_deg,
)

MIN_KICK_DEG = 0.05  # nearly vertical: the most lofted flight
MAX_KICK_DEG = 80.0  # past this the turn would skim the ground
MIN_BURNOUT_FPA_DEG = 5.0  # flatter than this is a skim through the atmosphere
MAX_BURNOUT_SPEED = 7400.0  # m/s; faster is near-orbital, not ballistic
MAX_FLIGHT_S = 3 * 3600.0  # past this the "missile" is in orbit
KICK_S = 10.0  # duration of the pitch-over manoeuvre after the vertical rise


@dataclass(frozen=True)
class Stage:
    """One rocket stage: burn time and thrust acceleration at ignition and burnout.

    Between the two the acceleration follows constant mass flow,
    a(t) = a0 / (1 - (1 - a0/a1) t / burn_time).
    """

    burn_time_s: float
    accel_start: float
    accel_end: float

    def accel(self, tau: float) -> float:
        c = 1.0 - self.accel_start / self.accel_end
        return self.accel_start / (1.0 - c * tau / self.burn_time_s)


@dataclass(frozen=True)
class Booster:
    name: str
    stages: tuple[Stage, ...]
    vertical_rise_s: float = 6.0

    @property
    def burn_time_s(self) -> float:
        return sum(s.burn_time_s for s in self.stages)


# Generic classes with public order-of-magnitude burn times; the thrust scale is
# solved per launch, so only the shape of the boost matters here.
BOOSTERS: dict[str, Booster] = {
    "srbm": Booster("srbm", (Stage(70.0, 25.0, 70.0),), vertical_rise_s=4.0),
    "irbm": Booster("irbm", (Stage(90.0, 25.0, 90.0),)),
    "slbm": Booster("slbm", (Stage(65.0, 22.0, 60.0), Stage(55.0, 20.0, 60.0))),
    "icbm": Booster("icbm", (Stage(140.0, 14.0, 45.0), Stage(150.0, 10.0, 40.0)), vertical_rise_s=8.0),
}


def booster_for(apogee_km: float, range_km: float) -> Booster:
    """The booster class a launch of this size needs, when the request names none."""
    if apogee_km > 2000.0 or range_km > 5500.0:
        return BOOSTERS["icbm"]
    if apogee_km > 300.0 or range_km > 1000.0:
        return BOOSTERS["irbm"]
    return BOOSTERS["srbm"]


@dataclass
class _Outcome:
    """What a flight did, enough to compare with a request."""

    apogee_km: float
    range_km: float
    flight_time_s: float
    impact_lat: float
    impact_lon: float
    burnout_speed_mps: float
    burnout_fpa_deg: float
    orbital: bool = False


@dataclass(frozen=True)
class Trajectory:
    """A flown trajectory: ECEF samples from launch to impact and its summary figures.

    ``t`` is seconds since launch; absolute time is ``launch_time + t``.
    """

    launch_time: float
    launch_lat: float
    launch_lon: float
    azimuth_deg: float
    booster: str
    thrust_scale: float
    kick_deg: float
    t: np.ndarray
    r: np.ndarray
    v: np.ndarray
    burnout_s: float
    apogee_km: float
    range_km: float
    flight_time_s: float
    impact_lat: float
    impact_lon: float
    burnout_speed_mps: float
    burnout_fpa_deg: float
    _geodetic: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @property
    def impact_time(self) -> float:
        return self.launch_time + self.flight_time_s

    @property
    def burnout_time(self) -> float:
        return self.launch_time + self.burnout_s

    def state_at(self, time: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """ECEF position and velocity at absolute time(s), by cubic Hermite interpolation."""
        tau = np.clip(np.asarray(time, dtype=float) - self.launch_time, self.t[0], self.t[-1])
        i = np.clip(np.searchsorted(self.t, tau, side="right") - 1, 0, len(self.t) - 2)
        t0, t1 = self.t[i], self.t[i + 1]
        h = t1 - t0
        s = ((tau - t0) / h)[..., None]
        h = h[..., None]
        p0, p1, v0, v1 = self.r[i], self.r[i + 1], self.v[i], self.v[i + 1]
        h00 = 2 * s**3 - 3 * s**2 + 1
        h10 = s**3 - 2 * s**2 + s
        h01 = -2 * s**3 + 3 * s**2
        h11 = s**3 - s**2
        pos = h00 * p0 + h10 * h * v0 + h01 * p1 + h11 * h * v1
        dh00 = (6 * s**2 - 6 * s) / h
        dh10 = 3 * s**2 - 4 * s + 1
        dh01 = (-6 * s**2 + 6 * s) / h
        dh11 = 3 * s**2 - 2 * s
        vel = dh00 * p0 + dh10 * v0 + dh01 * p1 + dh11 * v1
        return pos, vel

    def in_flight(self, time: float) -> bool:
        return self.launch_time <= time <= self.impact_time

    def boosting(self, time: float) -> bool:
        return self.launch_time <= time < self.burnout_time

    def geodetic(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(lat, lon, h) of every sample, computed once."""
        if self._geodetic is None:
            object.__setattr__(self, "_geodetic", ecef_to_geodetic(self.r))
        return self._geodetic  # type: ignore[return-value]

    def ground_track(self, step_s: float = 10.0) -> list[tuple[float, float, float, float]]:
        """[(absolute time, lat, lon, h)] every step_s seconds and at impact."""
        times = np.append(np.arange(0.0, self.flight_time_s, step_s), self.flight_time_s)
        pos, _ = self.state_at(self.launch_time + times)
        lat, lon, h = ecef_to_geodetic(pos)
        return [
            (float(self.launch_time + t), float(a), float(o), float(max(z, 0.0)))
            for t, a, o, z in zip(times, lat, lon, h, strict=True)
        ]

    def summary(self) -> dict[str, float | str]:
        return {
            "booster": self.booster,
            "launch_lat": self.launch_lat,
            "launch_lon": self.launch_lon,
            "azimuth_deg": self.azimuth_deg,
            "flight_time_s": round(self.flight_time_s, 1),
            "apogee_km": round(self.apogee_km, 1),
            "range_km": round(self.range_km, 1),
            "impact_lat": round(self.impact_lat, 4),
            "impact_lon": round(self.impact_lon, 4),
            "burnout_s": round(self.burnout_s, 1),
            "burnout_speed_mps": round(self.burnout_speed_mps, 1),
            "burnout_fpa_deg": round(self.burnout_fpa_deg, 2),
        }


# --- integration ------------------------------------------------------------------


def _local_axes(x: float, y: float, z: float) -> tuple[tuple[float, ...], ...]:
    """Geodetic east, north, up unit vectors at an ECEF point."""
    ux, uy, uz = x, y, z / (1.0 - E2)
    n = math.sqrt(ux * ux + uy * uy + uz * uz)
    ux, uy, uz = ux / n, uy / n, uz / n
    p = math.hypot(x, y)
    ex, ey = -y / p, x / p
    # north = up x east
    nx, ny, nz = -uz * ey, uz * ex, ux * ey - uy * ex
    return (ex, ey, 0.0), (nx, ny, nz), (ux, uy, uz)


def _thrust_dir(x: float, y: float, z: float, pitch: float, az: float) -> tuple[float, float, float]:
    e, n, u = _local_axes(x, y, z)
    ch, sh = math.cos(pitch), math.sin(pitch)
    sa, ca = math.sin(az), math.cos(az)
    return (
        ch * (sa * e[0] + ca * n[0]) + sh * u[0],
        ch * (sa * e[1] + ca * n[1]) + sh * u[1],
        ch * (sa * e[2] + ca * n[2]) + sh * u[2],
    )


ThrustFn = Callable[[float, list[float]], tuple[float, float, float]]


def _rk4(state: list[float], t: float, dt: float, thrust: ThrustFn | None) -> list[float]:
    """One RK4 step of [x, y, z, vx, vy, vz]; thrust(t, state) in m/s^2, ECEF, or None when coasting."""

    def deriv(tt: float, s: list[float]) -> list[float]:
        ax, ay, az = ballistic_accel_scalar(*s)
        if thrust is not None:
            tx, ty, tz = thrust(tt, s)
            ax, ay, az = ax + tx, ay + ty, az + tz
        return [s[3], s[4], s[5], ax, ay, az]

    k1 = deriv(t, state)
    k2 = deriv(t + 0.5 * dt, [s + 0.5 * dt * k for s, k in zip(state, k1, strict=True)])
    k3 = deriv(t + 0.5 * dt, [s + 0.5 * dt * k for s, k in zip(state, k2, strict=True)])
    k4 = deriv(t + dt, [s + dt * k for s, k in zip(state, k3, strict=True)])
    return [
        s + dt / 6.0 * (a + 2.0 * b + 2.0 * c + d)
        for s, a, b, c, d in zip(state, k1, k2, k3, k4, strict=True)
    ]


def _fpa_deg(state: list[float]) -> tuple[float, float]:
    """Earth-relative speed and flight-path angle above the local horizontal."""
    x, y, z, vx, vy, vz = state
    _, _, u = _local_axes(x, y, z)
    speed = math.sqrt(vx * vx + vy * vy + vz * vz)
    up = (vx * u[0] + vy * u[1] + vz * u[2]) / max(speed, 1e-9)
    return speed, math.degrees(math.asin(max(-1.0, min(1.0, up))))


def _fly(
    lat: float,
    lon: float,
    azimuth_deg: float,
    booster: Booster,
    thrust_scale: float,
    kick_deg: float,
    *,
    boost_dt: float = 1.0,
    coast_dt: float = 5.0,
    record: bool = False,
) -> tuple[_Outcome, list[tuple[float, list[float]]], float]:
    """Fly once. Returns the outcome, the samples (when recording) and the burnout time."""
    x, y, z = geodetic_to_ecef(lat, lon, 0.0).tolist()
    state = [x, y, z, 0.0, 0.0, 0.0]
    az = math.radians(azimuth_deg)
    kick = math.radians(kick_deg)
    t_vert = booster.vertical_rise_s
    samples: list[tuple[float, list[float]]] = [(0.0, state)] if record else []
    t = 0.0

    def thrust_dir(tt: float, s: list[float]) -> tuple[float, float, float]:
        """Vertical rise, a pitch-over kick in the launch azimuth, then a gravity turn."""
        if tt <= t_vert:
            return _thrust_dir(s[0], s[1], s[2], math.pi / 2, az)
        if tt <= t_vert + KICK_S:
            pitch = math.pi / 2 - kick * (tt - t_vert) / KICK_S
            return _thrust_dir(s[0], s[1], s[2], pitch, az)
        speed = math.sqrt(s[3] * s[3] + s[4] * s[4] + s[5] * s[5])
        return (s[3] / speed, s[4] / speed, s[5] / speed)

    # Boost: steps aligned on stage boundaries; thrust evaluated at every Runge-Kutta stage.
    stage_start = 0.0
    for stage in booster.stages:
        n = max(1, math.ceil(stage.burn_time_s / boost_dt))
        dt = stage.burn_time_s / n

        def thrust(
            tt: float, s: list[float], stage: Stage = stage, t0: float = stage_start
        ) -> tuple[float, float, float]:
            a = thrust_scale * stage.accel(min(tt - t0, stage.burn_time_s))
            d = thrust_dir(tt, s)
            return a * d[0], a * d[1], a * d[2]

        for _ in range(n):
            state = _rk4(state, t, dt, thrust)
            t += dt
            if record:
                samples.append((t, state))
        stage_start += stage.burn_time_s
    burnout_s = t
    speed_bo, fpa_bo = _fpa_deg(state)

    # Coast to impact, remembering the highest sample for the apogee.
    h_max, r_apogee = height_above_ellipsoid_approx(*state[:3]), state
    dt = coast_dt
    orbital = False
    while True:
        new = _rk4(state, t, dt, None)
        h = height_above_ellipsoid_approx(*new[:3])
        t += dt
        if h > h_max:
            h_max, r_apogee = h, new
        if h <= 0.0:
            # Bisect the last step for the ground crossing.
            lo, hi, s_lo = 0.0, dt, state
            for _ in range(40):
                mid = 0.5 * (lo + hi)
                s_mid = _rk4(s_lo, 0.0, mid - lo, None)
                if height_above_ellipsoid_approx(*s_mid[:3]) > 0.0:
                    lo, s_lo = mid, s_mid
                else:
                    hi = mid
            t = t - dt + hi
            state = _rk4(state, 0.0, hi, None)
            if record:
                samples.append((t, state))
            break
        state = new
        if record:
            samples.append((t, state))
        if t > MAX_FLIGHT_S:
            orbital = True
            break

    apogee_km = float(ecef_to_geodetic(np.array(r_apogee[:3]))[2]) / 1000.0
    lat_i, lon_i, _ = ecef_to_geodetic(np.array(state[:3]))
    lat_i, lon_i = float(lat_i), float(lon_i)
    rng = geodesic_km(lat, lon, lat_i, lon_i) if not orbital else math.inf
    outcome = _Outcome(
        apogee_km=apogee_km if not orbital else math.inf,
        range_km=rng,
        flight_time_s=t,
        impact_lat=lat_i,
        impact_lon=lon_i,
        burnout_speed_mps=speed_bo,
        burnout_fpa_deg=fpa_bo,
        orbital=orbital,
    )
    return outcome, samples, burnout_s


# --- solving for a requested launch -------------------------------------------------


def _check_site(lat: float, lon: float, azimuth_deg: float) -> None:
    if not -90.0 <= lat <= 90.0:
        raise InputError(f"latitude {lat:g} is outside -90..90")
    if not -180.0 <= lon <= 360.0:
        raise InputError(f"longitude {lon:g} is outside -180..360")
    if not math.isfinite(azimuth_deg):
        raise InputError("azimuth must be a finite number of degrees")
    if abs(lat) > 89.9:
        raise InputError(f"latitude {lat:g}: launch azimuth is undefined at a pole")


def _solve_scale(
    apogee_target_km: float,
    lat: float,
    lon: float,
    az: float,
    booster: Booster,
    kick: float,
    guess: float = 1.0,
) -> float:
    """Thrust scale that reaches the apogee with this kick (apogee grows with thrust).

    The bracket opens around ``guess`` (the last solution, in the outer search), so
    most solves need only a handful of flights.
    """

    def miss(log_k: float) -> float:
        o, _, _ = _fly(lat, lon, az, booster, math.exp(log_k), kick)
        return (o.apogee_km if math.isfinite(o.apogee_km) else 1e6) - apogee_target_km

    step = math.log(1.05)
    lo = hi = math.log(guess)
    if miss(hi) < 0.0:
        while miss(hi) < 0.0:
            lo, hi, step = hi, hi + step, step * 2.0
            if hi > math.log(20.0):
                raise InputError(f"apogee {apogee_target_km:g} km is beyond a {booster.name} booster")
    else:
        while miss(lo) > 0.0:
            hi, lo, step = lo, lo - step, step * 2.0
            if lo < math.log(0.01):
                raise InputError(f"apogee {apogee_target_km:g} km is too low to fly")
    if lo == hi:
        return math.exp(lo)
    return math.exp(brentq(miss, lo, hi, xtol=1e-7, rtol=1e-9))


def solve_launch(
    lat: float,
    lon: float,
    azimuth_deg: float,
    apogee_km: float,
    range_km: float,
    *,
    launch_time: float = 0.0,
    booster: str | None = None,
) -> Trajectory:
    """The trajectory from (lat, lon) along the azimuth that reaches the apogee and range."""
    _check_site(lat, lon, azimuth_deg)
    for name, value in (("apogee", apogee_km), ("range", range_km)):
        if not (value > 0.0 and math.isfinite(value)):
            raise InputError(f"{name} {value:g} km must be a positive number")
    if range_km > 15000.0:
        raise InputError(f"range {range_km:g} km is beyond any ballistic missile (15000 km)")
    if booster is not None:
        return _solve_with(
            _booster(booster, apogee_km, range_km),
            lat,
            lon,
            azimuth_deg,
            apogee_km,
            range_km,
            launch_time,
        )
    # A flat (depressed) flight needs a long burn: fall back to the next longer-burning booster.
    order = ["srbm", "irbm", "icbm"]
    first = order.index(booster_for(apogee_km, range_km).name)
    for name in order[first:]:
        try:
            return _solve_with(BOOSTERS[name], lat, lon, azimuth_deg, apogee_km, range_km, launch_time)
        except InputError as exc:
            error = exc
    raise error


def _solve_with(
    boost: Booster,
    lat: float,
    lon: float,
    azimuth_deg: float,
    apogee_km: float,
    range_km: float,
    launch_time: float,
) -> Trajectory:
    last_scale = [1.0]

    def range_at(kick: float) -> float:
        k = _solve_scale(apogee_km, lat, lon, azimuth_deg, boost, kick, last_scale[0])
        last_scale[0] = k
        o, _, _ = _fly(lat, lon, azimuth_deg, boost, k, kick)
        return _downrange_km(o, lat, lon, azimuth_deg)

    r_lofted = range_at(MIN_KICK_DEG)
    if range_km < r_lofted:
        raise InputError(
            f"range {range_km:g} km is too short for an apogee of {apogee_km:g} km "
            f"(a near-vertical launch already comes down {r_lofted:.0f} km downrange)"
        )
    # Widen the kick until the range is reached; a turn too flat for the apogee is refused.
    lo, hi = MIN_KICK_DEG, 5.0
    while True:
        try:
            r_hi = range_at(hi)
        except InputError:
            r_hi = math.inf
        if r_hi >= range_km:
            break
        lo, hi = hi, hi + 5.0
        if hi > MAX_KICK_DEG:
            raise InputError(
                f"apogee {apogee_km:g} km is too low for a range of {range_km:g} km: "
                f"a {boost.name} at that apogee reaches at most {r_hi:.0f} km"
            )
    kick = brentq(lambda p: _safe(range_at, p) - range_km, lo, hi, xtol=1e-5)
    k = _solve_scale(apogee_km, lat, lon, azimuth_deg, boost, kick, last_scale[0])
    trajectory = fly(lat, lon, azimuth_deg, boost.name, k, kick, launch_time=launch_time)
    if trajectory.burnout_fpa_deg < MIN_BURNOUT_FPA_DEG or trajectory.burnout_speed_mps > MAX_BURNOUT_SPEED:
        raise InputError(
            f"apogee {apogee_km:g} km is too low for a range of {range_km:g} km: it would take a "
            f"near-orbital skim ({trajectory.burnout_speed_mps:.0f} m/s at "
            f"{trajectory.burnout_fpa_deg:.1f} deg), not a ballistic flight"
        )
    return trajectory


def _downrange_km(o: _Outcome, lat: float, lon: float, azimuth_deg: float) -> float:
    """Range, negative when the impact lies behind the launch (a near-vertical shot drifts
    west as the Earth turns under it)."""
    bearing = initial_bearing_deg(lat, lon, o.impact_lat, o.impact_lon)
    ahead = math.cos(math.radians(bearing - azimuth_deg)) >= 0.0
    return o.range_km if ahead else -o.range_km


def _safe(range_at, kick: float) -> float:  # type: ignore[no-untyped-def]
    try:
        return range_at(kick)
    except InputError:
        return math.inf


def _booster(name: str | None, apogee_km: float, range_km: float) -> Booster:
    if name is None:
        return booster_for(apogee_km, range_km)
    try:
        return BOOSTERS[name]
    except KeyError:
        raise InputError(f"unknown booster {name!r}; known: {', '.join(BOOSTERS)}") from None


def solve_burnout(
    lat: float,
    lon: float,
    azimuth_deg: float,
    burnout_speed_mps: float,
    flight_path_deg: float,
    *,
    launch_time: float = 0.0,
    booster: str | None = None,
) -> Trajectory:
    """The trajectory whose boost ends at this Earth-relative speed and flight-path angle."""
    _check_site(lat, lon, azimuth_deg)
    if not 200.0 <= burnout_speed_mps <= 7500.0:
        raise InputError(f"burnout speed {burnout_speed_mps:g} m/s is outside 200..7500 (sub-orbital)")
    if not 1.0 <= flight_path_deg <= 89.0:
        raise InputError(f"flight-path angle {flight_path_deg:g} deg is outside 1..89")
    if booster is None:
        booster = "icbm" if burnout_speed_mps > 5500 else "irbm" if burnout_speed_mps > 2500 else "srbm"
    boost = _booster(booster, 0.0, 0.0)

    def burnout(kick: float, k: float) -> tuple[float, float]:
        o, _, _ = _fly(lat, lon, azimuth_deg, boost, k, kick, coast_dt=120.0)
        return o.burnout_speed_mps, o.burnout_fpa_deg

    def scale_for_speed(kick: float) -> float:
        def miss(lk: float) -> float:
            return burnout(kick, math.exp(lk))[0] - burnout_speed_mps

        try:
            return math.exp(brentq(miss, math.log(0.02), math.log(20.0), xtol=1e-7))
        except ValueError:  # no thrust scale brackets the speed at this kick
            raise InputError(
                f"a {boost.name} cannot burn out at {burnout_speed_mps:g} m/s and {flight_path_deg:g} deg"
            ) from None

    def fpa_miss(kick: float) -> float:
        return burnout(kick, scale_for_speed(kick))[1] - flight_path_deg

    lo, hi = MIN_KICK_DEG, 85.0
    if fpa_miss(lo) < 0.0 or fpa_miss(hi) > 0.0:
        raise InputError(
            f"a {boost.name} cannot burn out at {flight_path_deg:g} deg and {burnout_speed_mps:g} m/s"
        )
    kick = brentq(fpa_miss, lo, hi, xtol=1e-5)
    return fly(lat, lon, azimuth_deg, boost.name, scale_for_speed(kick), kick, launch_time=launch_time)


def fly(
    lat: float,
    lon: float,
    azimuth_deg: float,
    booster: str,
    thrust_scale: float,
    kick_deg: float,
    *,
    launch_time: float = 0.0,
    step_s: float = 1.0,
) -> Trajectory:
    """Fly a launch with known parameters and record it every step_s seconds."""
    boost = BOOSTERS[booster]
    o, samples, burnout_s = _fly(
        lat,
        lon,
        azimuth_deg,
        boost,
        thrust_scale,
        kick_deg,
        coast_dt=step_s,
        record=True,
    )
    if o.orbital:
        raise InputError("the requested launch goes into orbit, not ballistic flight")
    t = np.array([s[0] for s in samples])
    xs = np.array([s[1] for s in samples])
    return Trajectory(
        launch_time=launch_time,
        launch_lat=lat,
        launch_lon=lon,
        azimuth_deg=azimuth_deg,
        booster=booster,
        thrust_scale=thrust_scale,
        kick_deg=kick_deg,
        t=t,
        r=xs[:, :3].copy(),
        v=xs[:, 3:].copy(),
        burnout_s=burnout_s,
        apogee_km=o.apogee_km,
        range_km=o.range_km,
        flight_time_s=o.flight_time_s,
        impact_lat=o.impact_lat,
        impact_lon=o.impact_lon,
        burnout_speed_mps=o.burnout_speed_mps,
        burnout_fpa_deg=o.burnout_fpa_deg,
    )
