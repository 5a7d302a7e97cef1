"""Areas at risk from one impact prediction: the overflight corridor and the impact ellipse.

The corridor is the remaining predicted ground track buffered by its cross-track 95%
half-width (which may vary along the track). It is built segment by segment: each segment
is the convex hull of two circles (radii the half-widths at its ends) drawn in an
azimuthal equidistant plane centred on that segment, then taken back to (lon, lat). A
region is overflown when a segment touches it; its expected time is that segment's start.

The impact ellipse (95%) is drawn the same way around its centre. A maritime zone is at
risk when the ellipse comes within 200 nmi of a country's coast (see
:mod:`meshwarn.geo.regions` for that approximation).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

from meshwarn.geo.regions import ZONE_KM, Region, RegionSet, aeqd_forward, aeqd_inverse
from meshwarn.model import Ellipse

MIN_WIDTH_KM = 1.0  # a zero-width corridor would touch nothing it crosses at a vertex
MAX_SEGMENTS = 200


@dataclass(frozen=True)
class Hit:
    """One region at risk: why, from when to when, and the part of it at risk."""

    region: Region
    reason: str  # "overflight" | "impact" | "maritime_zone"
    time: float  # expected overflight start or impact time
    end: float  # when the risk is over (end of the passage, or the impact)
    area: BaseGeometry  # (lon, lat) part of the hazard over the region


@dataclass(frozen=True)
class ImpactArea:
    """Where the 95% ellipse falls: land regions it touches, and the sea zones around it."""

    land: list[Region]
    centre_at_sea: bool
    centre_zones: list[str]  # countries whose zone holds the predicted impact point, nearest coast first
    zones_touched: list[str]  # countries whose zone the ellipse touches
    coast_km: dict[str, float]  # distance from the ellipse to each nearby coast


def corridor_segments(
    ground_track: Sequence[tuple[float, float, float, float]],
    widths_km: Sequence[float],
    start_time: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(segment start times, end times, (lon, lat) polygons) of the corridor from start_time on."""
    gt = np.asarray(ground_track, dtype=float).reshape(-1, 4)
    w = np.maximum(np.asarray(widths_km, dtype=float), MIN_WIDTH_KM)
    if len(w) != len(gt):
        w = np.resize(w if len(w) else np.array([MIN_WIDTH_KM]), len(gt))
    gt, w = _from_time(gt, w, start_time)
    if len(gt) > MAX_SEGMENTS + 1:  # keep the ends, thin the middle
        keep = np.unique(np.linspace(0, len(gt) - 1, MAX_SEGMENTS + 1).round().astype(int))
        gt, w = gt[keep], w[keep]
    if len(gt) == 1:
        gt, w = np.vstack([gt, gt]), np.append(w, w)
    return gt[:-1, 0], gt[1:, 0], _hulls(gt, w)


def _from_time(gt: np.ndarray, w: np.ndarray, start: float | None) -> tuple[np.ndarray, np.ndarray]:
    """The track from start on, with a sample interpolated at start."""
    if start is None or start <= gt[0, 0]:
        return gt, w
    if start >= gt[-1, 0]:
        return gt[-1:], w[-1:]
    i = int(np.searchsorted(gt[:, 0], start, side="right"))
    f = (start - gt[i - 1, 0]) / (gt[i, 0] - gt[i - 1, 0])
    first = gt[i - 1] + f * (gt[i] - gt[i - 1])  # lon wrap is not an issue in 100E..165E
    return np.vstack([first, gt[i:]]), np.concatenate([[w[i - 1] + f * (w[i] - w[i - 1])], w[i:]])


def _hulls(gt: np.ndarray, w: np.ndarray, k: int = 17) -> np.ndarray:
    """Per segment, the convex hull of the circles at its two ends, all segments at once.

    Built as one ring in an AEQD plane centred on each segment's midpoint: the back arc of the
    first circle and the front arc of the second, joined along their outer tangents (which
    touch both circles at angles +-(90 deg - asin((r1 - r2)/d)) from the segment's direction),
    then taken back to (lon, lat). A circle inside the other leaves the larger one. The radii
    are scaled so the polygon circumscribes the circles (it errs on the wide side)."""
    lat0 = 0.5 * (gt[:-1, 1] + gt[1:, 1])[:, None]
    lon0 = 0.5 * (gt[:-1, 2] + gt[1:, 2])[:, None]
    x, y = aeqd_forward(
        lat0, lon0, np.stack([gt[:-1, 1], gt[1:, 1]], 1), np.stack([gt[:-1, 2], gt[1:, 2]], 1)
    )
    r1, r2 = w[:-1, None] / math.cos(math.pi / (k - 1)), w[1:, None] / math.cos(math.pi / (k - 1))
    d = np.hypot(x[:, 1] - x[:, 0], y[:, 1] - y[:, 0])[:, None]
    theta = np.arctan2(y[:, 1] - y[:, 0], x[:, 1] - x[:, 0])[:, None]
    phi = 0.5 * math.pi - np.arcsin(np.clip((r1 - r2) / np.maximum(d, 1e-9), -1.0, 1.0))
    t = np.linspace(0.0, 1.0, k)[None, :]
    a1 = theta + phi + t * (2.0 * math.pi - 2.0 * phi)  # back arc of the first circle
    a2 = theta - phi + t * (2.0 * phi)  # front arc of the second
    inside = (d <= np.abs(r1 - r2)).ravel()  # one circle holds the other: draw the larger
    big = np.where(r1 >= r2, 0, 1).ravel()
    cx = np.concatenate([x[:, :1] + r1 * np.cos(a1), x[:, 1:] + r2 * np.cos(a2)], axis=1)
    cy = np.concatenate([y[:, :1] + r1 * np.sin(a1), y[:, 1:] + r2 * np.sin(a2)], axis=1)
    if inside.any():
        full = np.linspace(0.0, 2.0 * math.pi, 2 * k, endpoint=False)[None, :]
        # The big circle, widened when the small one pokes out of it (their edges nearly touch,
        # so no outer tangents exist for the scaled radii): it must hold both ends.
        small = np.minimum(w[:-1], w[1:])[inside, None]
        rb = np.maximum(
            np.where(big == 0, r1.ravel(), r2.ravel())[inside, None],
            (d[inside] + small) / math.cos(math.pi / (2 * k)),
        )
        xb, yb = x[inside, big[inside]][:, None], y[inside, big[inside]][:, None]
        cx[inside], cy[inside] = xb + rb * np.cos(full), yb + rb * np.sin(full)
    lat, lon = aeqd_inverse(lat0, lon0, cx, cy)
    return shapely.polygons(np.stack([lon, lat], axis=-1))


def ellipse_polygon(ellipse: Ellipse, grow_km: float = 0.0, n: int = 72) -> Polygon:
    """The ellipse (semi-axes grown by grow_km) as a (lon, lat) polygon."""
    a = max(ellipse.semi_major_km + grow_km, MIN_WIDTH_KM)
    b = max(ellipse.semi_minor_km + grow_km, MIN_WIDTH_KM)
    th = np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)
    u, v = a * np.cos(th), b * np.sin(th)  # u along the major axis
    brg = math.radians(ellipse.bearing_deg)  # clockwise from north
    x = u * math.sin(brg) + v * math.cos(brg)
    y = u * math.cos(brg) - v * math.sin(brg)
    lat, lon = aeqd_inverse(ellipse.lat, ellipse.lon, x, y)
    return Polygon(np.column_stack([lon, lat]))


def overflown(regions: RegionSet, starts: np.ndarray, ends: np.ndarray, polys: np.ndarray) -> list[Hit]:
    """Land regions the corridor crosses, with the first and last time it is over each."""
    pairs = regions.land_touching(polys)
    hits: dict[int, list[int]] = {}
    for seg, reg in pairs.T:
        hits.setdefault(int(reg), []).append(int(seg))
    out = []
    for reg, segs in hits.items():
        region = regions.land[reg]
        area = shapely.intersection(shapely.union_all(polys[segs]), region.simple)
        out.append(Hit(region, "overflight", float(starts[segs].min()), float(ends[segs].max()), area))
    return sorted(out, key=lambda h: h.time)


def impact_area(regions: RegionSet, ellipse_poly: BaseGeometry) -> ImpactArea:
    """Which land regions the ellipse touches, and whether it falls at sea in or out of a zone."""
    land = [regions.land[int(i)] for i in regions.land_touching(ellipse_poly)]
    centre = ellipse_poly.centroid
    at_sea = regions.land_at(centre.y, centre.x) is None
    coast = regions.coast_distances_km(ellipse_poly)
    centre_coast = regions.coast_distances_km(Point(centre.x, centre.y))
    return ImpactArea(land, at_sea, list(centre_coast), list(coast), coast)


def impact_hits(regions: RegionSet, ellipse_poly: BaseGeometry, time: float, end: float) -> list[Hit]:
    """Land regions under the ellipse (reason impact) and maritime zones it touches."""
    area = impact_area(regions, ellipse_poly)
    hits = [Hit(r, "impact", time, end, shapely.intersection(ellipse_poly, r.simple)) for r in area.land]
    for country in area.zones_touched:
        zone = regions.zone(country)
        if zone is not None and area.coast_km[country] <= ZONE_KM:
            hits.append(Hit(zone, "maritime_zone", time, end, ellipse_poly))
    return hits
