"""Measurement models: what a radar plot, an infrared line of sight or a triangulated point says
about the 9-state, as z, R, h(x) and its Jacobian H (FilterPy's names).

Angles are in radians inside; an azimuth residual is wrapped to (-pi, pi].
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from meshwarn import model
from meshwarn.geo.earth import enu_rotation, geodetic_to_ecef
from meshwarn.track.dynamics import NX


@lru_cache(maxsize=4096)
def site(lat: float, lon: float, h: float) -> tuple[np.ndarray, np.ndarray]:
    """ECEF position and ENU rotation of a sensor; cached, most sensors stand still."""
    return geodetic_to_ecef(lat, lon, h), enu_rotation(lat, lon)


@dataclass(eq=False)
class Measurement:
    """One report turned into numbers. kind is "radar", "ir" or "point" (triangulated IR)."""

    kind: str
    time: float
    z: np.ndarray
    R: np.ndarray
    sensor: str
    origin: np.ndarray  # sensor ECEF
    rot: np.ndarray  # sensor ENU rotation (rows e, n, u)
    originators: tuple[str, ...]
    classification: str
    angles: slice = field(default_factory=lambda: slice(0, 0))  # which of z are angles
    point: np.ndarray | None = None  # ECEF position implied, when the measurement has range
    point_cov: np.ndarray | None = None
    los: np.ndarray | None = None  # unit line of sight (IR)
    sensor_vel: np.ndarray | None = None  # ECEF velocity of a moving sensor (a ship), for range rate

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """h(x) and H = dh/dx."""
        if self.kind == "point":
            H = np.zeros((3, NX))
            H[:, 0:3] = np.eye(3)
            return x[0:3].copy(), H
        return _angles_model(self, x)

    def residual(self, z: np.ndarray, zhat: np.ndarray) -> np.ndarray:
        y = z - zhat
        if self.kind == "radar":
            y[1] = (y[1] + math.pi) % (2 * math.pi) - math.pi
        elif self.kind == "ir":
            y[0] = (y[0] + math.pi) % (2 * math.pi) - math.pi
        return y

    def h_many(self, xs: np.ndarray) -> np.ndarray:
        """h of many states (rows): the unscented filter's sigma points."""
        if self.kind == "point":
            return xs[:, 0:3].copy()
        d = xs[:, 0:3] - self.origin
        enu = d @ self.rot.T
        e, n, u = enu[:, 0], enu[:, 1], enu[:, 2]
        az = np.arctan2(e, n)
        el = np.arctan2(u, np.hypot(e, n))
        if self.kind == "ir":
            return np.stack((az, el), axis=1)
        rng = np.sqrt(np.einsum("ij,ij->i", d, d))
        cols = [rng, az, el]
        if len(self.z) == 4:
            rel_v = xs[:, 3:6] if self.sensor_vel is None else xs[:, 3:6] - self.sensor_vel
            cols.append(np.einsum("ij,ij->i", d, rel_v) / rng)
        return np.stack(cols, axis=1)


def _angles_model(m: Measurement, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = x[0:3] - m.origin
    e, n, u = (m.rot @ d).tolist()
    rh2 = max(e * e + n * n, 1e-6)  # straight overhead the azimuth is undefined: keep it finite
    rh = math.sqrt(rh2)
    rho2 = rh2 + u * u
    rho = math.sqrt(rho2)
    d_az = np.array((n / rh2, -e / rh2, 0.0)) @ m.rot
    d_el = np.array((-e * u / (rho2 * rh), -n * u / (rho2 * rh), rh / rho2)) @ m.rot
    az, el = math.atan2(e, n), math.atan2(u, rh)
    if m.kind == "ir":
        H = np.zeros((2, NX))
        H[0, 0:3], H[1, 0:3] = d_az, d_el
        return np.array((az, el)), H
    nz = len(m.z)
    H = np.zeros((nz, NX))
    H[0, 0:3] = d / rho
    H[1, 0:3], H[2, 0:3] = d_az, d_el
    zhat = [rho, az, el]
    if nz == 4:
        v = x[3:6] if m.sensor_vel is None else x[3:6] - m.sensor_vel
        rdot = float(d @ v) / rho
        H[3, 0:3] = (v - rdot * d / rho) / rho
        H[3, 3:6] = d / rho
        zhat.append(rdot)
    return np.array(zhat), H


def los_vector(rot: np.ndarray, az: float, el: float) -> np.ndarray:
    """ECEF unit vector of a line of sight given in the sensor's ENU frame."""
    ce = math.cos(el)
    return np.array((ce * math.sin(az), ce * math.cos(az), math.sin(el))) @ rot


def from_report(report: model.Report) -> Measurement | None:
    """The measurement a radar or infrared report carries; None for other kinds."""
    body = report.body
    label = report.label
    if isinstance(body, model.RadarPlot):
        origin, rot = site(body.sensor_lat, body.sensor_lon, body.sensor_h)
        az, el = math.radians(body.azimuth_deg), math.radians(body.elevation_deg)
        sr, sa, se = (
            body.sigma_range_m,
            math.radians(body.sigma_azimuth_deg),
            math.radians(body.sigma_elevation_deg),
        )
        z = [body.range_m, az, el]
        var = [sr * sr, sa * sa, se * se]
        if body.range_rate_mps is not None and body.sigma_range_rate_mps is not None:
            z.append(body.range_rate_mps)
            var.append(body.sigma_range_rate_mps**2)
        los = los_vector(rot, az, el)
        point = origin + body.range_m * los
        # Position covariance of the plot: range along the LOS, angles across it.
        ce = math.cos(el)
        jac = np.column_stack(
            (
                los,
                body.range_m * np.array((ce * math.cos(az), -ce * math.sin(az), 0.0)) @ rot,
                body.range_m
                * np.array((-math.sin(el) * math.sin(az), -math.sin(el) * math.cos(az), ce))
                @ rot,
            )
        )
        point_cov = jac @ np.diag(var[:3]) @ jac.T
        return Measurement(
            "radar", body.time, np.array(z), np.diag(var), body.sensor, origin, rot,
            (label.originator,), label.classification, slice(1, 3), point, point_cov, los,
        )  # fmt: skip
    if isinstance(body, model.InfraredLos):
        origin, rot = site(body.sensor_lat, body.sensor_lon, body.sensor_h)
        az, el = math.radians(body.azimuth_deg), math.radians(body.elevation_deg)
        s = math.radians(body.sigma_deg)
        return Measurement(
            "ir", body.time, np.array((az, el)), np.diag((s * s, s * s)), body.sensor, origin, rot,
            (label.originator,), label.classification, slice(0, 2), los=los_vector(rot, az, el),
        )  # fmt: skip
    return None


def point_measurement(
    time: float, point: np.ndarray, cov: np.ndarray, parts: list[Measurement]
) -> Measurement:
    """A 3-D position made from several lines of sight (IR triangulation)."""
    originators = tuple(sorted({o for p in parts for o in p.originators}))
    classification = model.most_restrictive([p.classification for p in parts])
    return Measurement(
        "point", time, point.copy(), cov.copy(), "+".join(p.sensor for p in parts), point, np.eye(3),
        originators, classification, point=point, point_cov=cov,
    )  # fmt: skip


def _los_information(m: Measurement, dist: float) -> np.ndarray:
    """Information (inverse covariance) a line of sight gives across itself at distance dist.

    An azimuth error moves the line by sigma * cos(elevation): a satellite looking nearly
    straight down pins the point far better across its azimuth than the raw sigma says.
    """
    az, el = float(m.z[0]), float(m.z[1])
    sa, ca, se, ce = math.sin(az), math.cos(az), math.sin(el), math.cos(el)
    t_az = np.array((ca, -sa, 0.0)) @ m.rot
    t_el = np.array((-se * sa, -se * ca, ce)) @ m.rot
    s_az = math.sqrt(m.R[0, 0]) * max(abs(ce), 1e-3) * dist
    s_el = math.sqrt(m.R[1, 1]) * dist
    return np.outer(t_az, t_az) / (s_az * s_az) + np.outer(t_el, t_el) / (s_el * s_el)


def triangulate(a: Measurement, b: Measurement) -> tuple[np.ndarray, np.ndarray, float]:
    """Crossing of two lines of sight: point, covariance and miss distance (m).

    First the point nearest both lines, then the weighted least-squares point: each line pins
    the point across itself (not along), two lines from different places pin it in 3-D.
    """
    projs = [np.eye(3) - np.outer(m.los, m.los) for m in (a, b)]
    point = np.linalg.solve(projs[0] + projs[1], projs[0] @ a.origin + projs[1] @ b.origin)
    miss = float(
        np.linalg.norm(projs[0] @ (point - a.origin)) + np.linalg.norm(projs[1] @ (point - b.origin))
    )
    infos = [_los_information(m, float(np.linalg.norm(point - m.origin))) for m in (a, b)]
    info = infos[0] + infos[1]
    cov = np.linalg.inv(info)
    point = cov @ (infos[0] @ a.origin + infos[1] @ b.origin)
    return point, 0.5 * (cov + cov.T), miss
