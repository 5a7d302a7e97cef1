"""The Earth both the simulator and the tracker live on.

WGS84 ellipsoid, frames (geodetic, ECEF, local east-north-up), and the
equations of motion of an unpowered body in the rotating ECEF frame with J2
gravity. The simulator flies missiles with :func:`ballistic_accel`; the
tracker predicts with the same function, so model error comes only from what
the tracker cannot know (boost thrust, noise), never from a different Earth.

All functions take scalars or NumPy arrays (broadcasting on the leading axes).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

# WGS84 (NIMA TR8350.2) and EGM96's J2.
A = 6378137.0  # equatorial radius, m
F = 1.0 / 298.257223563
B = A * (1.0 - F)
E2 = F * (2.0 - F)  # first eccentricity squared
EP2 = E2 / (1.0 - E2)  # second eccentricity squared
GM = 3.986004418e14  # m^3/s^2
J2 = 1.08262668e-3
OMEGA = 7.2921151467e-5  # rad/s, Earth rotation
MEAN_RADIUS = 6371008.8  # m, IUGG mean radius, for great-circle approximations
G0 = 9.80665

Array = NDArray[np.float64]


def geodetic_to_ecef(lat_deg: ArrayLike, lon_deg: ArrayLike, h: ArrayLike) -> Array:
    """(lat, lon, h) -> ECEF metres, shape (..., 3)."""
    lat = np.radians(lat_deg)
    lon = np.radians(lon_deg)
    h = np.asarray(h, dtype=float)
    sin_lat = np.sin(lat)
    cos_lat = np.cos(lat)
    n = A / np.sqrt(1.0 - E2 * sin_lat**2)
    x = (n + h) * cos_lat * np.cos(lon)
    y = (n + h) * cos_lat * np.sin(lon)
    z = (n * (1.0 - E2) + h) * sin_lat
    return np.stack(np.broadcast_arrays(x, y, z), axis=-1)


def ecef_to_geodetic(ecef: ArrayLike) -> tuple[Array, Array, Array]:
    """ECEF (..., 3) -> (lat_deg, lon_deg, h_m), by Bowring's method with two iterations.

    Accurate to well under a millimetre from the ground to beyond geostationary height.
    """
    r = np.asarray(ecef, dtype=float)
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    p = np.hypot(x, y)
    lon = np.arctan2(y, x)
    beta = np.arctan2(z, p * (1.0 - F))
    for _ in range(2):
        sin_b, cos_b = np.sin(beta), np.cos(beta)
        lat = np.arctan2(z + EP2 * B * sin_b**3, p - E2 * A * cos_b**3)
        beta = np.arctan2((1.0 - F) * np.sin(lat), np.cos(lat))
    sin_lat = np.sin(lat)
    n = A / np.sqrt(1.0 - E2 * sin_lat**2)
    # Height: stable formula near the poles and the equator alike.
    h = p * np.cos(lat) + (z + E2 * n * sin_lat) * sin_lat - n
    return np.degrees(lat), np.degrees(lon), h


def enu_rotation(lat_deg: float, lon_deg: float) -> Array:
    """Rows are the east, north and up unit vectors in ECEF at (lat, lon)."""
    lat, lon = math.radians(lat_deg), math.radians(lon_deg)
    sl, cl, so, co = math.sin(lat), math.cos(lat), math.sin(lon), math.cos(lon)
    return np.array(
        [
            [-so, co, 0.0],
            [-sl * co, -sl * so, cl],
            [cl * co, cl * so, sl],
        ]
    )


def ecef_to_aer(target: ArrayLike, site_lat: float, site_lon: float, site_h: float) -> Array:
    """Azimuth (deg, from north, clockwise), elevation (deg), slant range (m) of target(s)."""
    site = geodetic_to_ecef(site_lat, site_lon, site_h)
    enu = (np.asarray(target, dtype=float) - site) @ enu_rotation(site_lat, site_lon).T
    e, n, u = enu[..., 0], enu[..., 1], enu[..., 2]
    rng = np.sqrt(e * e + n * n + u * u)
    az = np.degrees(np.arctan2(e, n)) % 360.0
    el = np.degrees(np.arcsin(np.clip(u / np.maximum(rng, 1e-9), -1.0, 1.0)))
    return np.stack([az, el, rng], axis=-1)


def aer_to_ecef(
    az_deg: ArrayLike,
    el_deg: ArrayLike,
    rng: ArrayLike,
    site_lat: float,
    site_lon: float,
    site_h: float,
) -> Array:
    """Inverse of :func:`ecef_to_aer`."""
    az, el = np.radians(az_deg), np.radians(el_deg)
    rng = np.asarray(rng, dtype=float)
    enu = np.stack(
        np.broadcast_arrays(rng * np.cos(el) * np.sin(az), rng * np.cos(el) * np.cos(az), rng * np.sin(el)),
        axis=-1,
    )
    return geodetic_to_ecef(site_lat, site_lon, site_h) + enu @ enu_rotation(site_lat, site_lon)


def gravity_j2(r: ArrayLike) -> Array:
    """Gravitational acceleration (m/s^2) with the J2 zonal term, ECEF (..., 3)."""
    r = np.asarray(r, dtype=float)
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    rr2 = x * x + y * y + z * z
    rr = np.sqrt(rr2)
    k = -GM / (rr2 * rr)
    f = 1.5 * J2 * (A * A) / rr2
    z2 = z * z / rr2
    common = k * (1.0 - f * (5.0 * z2 - 1.0))
    return np.stack([common * x, common * y, k * (1.0 - f * (5.0 * z2 - 3.0)) * z], axis=-1)


def ballistic_accel(r: ArrayLike, v: ArrayLike) -> Array:
    """Acceleration of an unpowered body in the rotating ECEF frame: J2 + Coriolis + centrifugal."""
    r = np.asarray(r, dtype=float)
    v = np.asarray(v, dtype=float)
    a = gravity_j2(r)
    w2 = OMEGA * OMEGA
    a[..., 0] += 2.0 * OMEGA * v[..., 1] + w2 * r[..., 0]
    a[..., 1] += -2.0 * OMEGA * v[..., 0] + w2 * r[..., 1]
    return a


def ballistic_accel_scalar(
    x: float, y: float, z: float, vx: float, vy: float, vz: float
) -> tuple[float, float, float]:
    """:func:`ballistic_accel` for one body in plain floats: the integrators' inner loop."""
    rr2 = x * x + y * y + z * z
    rr = math.sqrt(rr2)
    k = -GM / (rr2 * rr)
    f = 1.5 * J2 * (A * A) / rr2
    z2 = z * z / rr2
    common = k * (1.0 - f * (5.0 * z2 - 1.0))
    w2 = OMEGA * OMEGA
    return (
        common * x + 2.0 * OMEGA * vy + w2 * x,
        common * y - 2.0 * OMEGA * vx + w2 * y,
        k * (1.0 - f * (5.0 * z2 - 3.0)) * z,
    )


def height_above_ellipsoid_approx(x: float, y: float, z: float) -> float:
    """Height above the ellipsoid along the geocentric radius; within metres of the geodetic
    height below a few hundred km, exact at zero. Cheap enough for event functions."""
    rr = math.sqrt(x * x + y * y + z * z)
    s2 = z * z / (rr * rr)  # sin^2 of geocentric latitude
    r_surface = A * math.sqrt((1.0 - E2) / (1.0 - E2 * (1.0 - s2)))
    return rr - r_surface


def surface_distance_km(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> Array:
    """Great-circle distance on the mean sphere, km (haversine). Within 0.5% of the geodesic."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2.0 * MEAN_RADIUS / 1000.0 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def geodesic_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance on the WGS84 ellipsoid (Vincenty, via pymap3d), km."""
    from pymap3d.vincenty import vdist

    dist, _ = vdist(lat1, lon1, lat2, lon2)
    return float(dist) / 1000.0


def destination(
    lat_deg: float, lon_deg: float, bearing_deg: float, distance_km: float
) -> tuple[float, float]:
    """The point distance_km from (lat, lon) along the initial bearing, on the mean sphere."""
    d = distance_km * 1000.0 / MEAN_RADIUS
    lat1, lon1, b = map(math.radians, (lat_deg, lon_deg, bearing_deg))
    lat2 = math.asin(math.sin(lat1) * math.cos(d) + math.cos(lat1) * math.sin(d) * math.cos(b))
    lon2 = lon1 + math.atan2(
        math.sin(b) * math.sin(d) * math.cos(lat1), math.cos(d) - math.sin(lat1) * math.sin(lat2)
    )
    return math.degrees(lat2), (math.degrees(lon2) + 540.0) % 360.0 - 180.0


def initial_bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360.0
