"""Warning regions: Japan's prefectures, Korea's provinces, country outlines, maritime zones.

Loaded once from the packaged GeoJSON (``meshwarn/data``, see its README for the
sources and credits) into shapely 2 geometries in (lon, lat) degrees, indexed by
an STRtree. Distances and buffers are computed in a local azimuthal equidistant
projection on the mean sphere centred near the geometry at hand, so a width in
kilometres means the same at 25N and at 45N.

Maritime zones: no maritime boundary data ships with meshwarn. A country's zone
is *approximated* as everything within 200 nautical miles (370.4 km) of the
coast of its (simplified, Natural Earth 1:50m) outline: no median lines between
neighbours (zones overlap), no baselines, and islands missing from the outline
have no zone. Good for "did it fall in or near Japan's waters", not for law.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from typing import Literal

import numpy as np
import shapely
from shapely.geometry import Point, box, shape
from shapely.geometry.base import BaseGeometry

from meshwarn.geo.earth import MEAN_RADIUS

ZONE_KM = 200.0 * 1.852  # 200 nautical miles
R_KM = MEAN_RADIUS / 1000.0
ATTRIBUTION = (
    "Region outlines: Natural Earth (public domain); MLIT National Land Numerical Information "
    "(国土交通省 国土数値情報 行政区域) via japan-topography; KOSTAT 2013 via southkorea-maps. "
    "Maritime zones: 200 nmi from simplified coast, an approximation."
)
RegionKind = Literal["subdivision", "country", "maritime_zone"]


@dataclass(frozen=True, eq=False)
class Region:
    """One area that can be warned. ``code`` is ISO 3166-2 (JP-02), ISO 3166-1 alpha-3 for a
    country (PRK), or ``<alpha-3>-MZ`` for a maritime zone (JPN-MZ)."""

    code: str
    name: str
    country: str
    kind: RegionKind
    geometry: BaseGeometry = field(repr=False)
    name_local: str = ""
    simple: BaseGeometry | None = field(default=None, repr=False)  # ~500 m simplified, for areas

    def __post_init__(self) -> None:
        shapely.prepare(self.geometry)  # the STRtree predicates test many corridors against it
        if self.simple is None:
            object.__setattr__(self, "simple", self.geometry.simplify(0.005))


# --- local projection (azimuthal equidistant, mean sphere, kilometres) ------------------


def aeqd_forward(
    lat0: float | np.ndarray, lon0: float | np.ndarray, lat: np.ndarray, lon: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(lat, lon) degrees -> (x east, y north) km in the AEQD plane centred at (lat0, lon0).

    The centre may be an array broadcasting against the points (one centre per row)."""
    p0, p = np.radians(lat0), np.radians(lat)
    dl = np.radians(np.asarray(lon) - lon0)
    hav = np.sin((p - p0) / 2) ** 2 + np.cos(p0) * np.cos(p) * np.sin(dl / 2) ** 2
    c = 2.0 * np.arcsin(np.sqrt(np.clip(hav, 0.0, 1.0)))  # haversine: exact near the centre too
    az = np.arctan2(np.sin(dl) * np.cos(p), np.cos(p0) * np.sin(p) - np.sin(p0) * np.cos(p) * np.cos(dl))
    return R_KM * c * np.sin(az), R_KM * c * np.cos(az)


def aeqd_inverse(
    lat0: float | np.ndarray, lon0: float | np.ndarray, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`aeqd_forward`: km in the plane -> (lat, lon) degrees."""
    c = np.hypot(x, y) / R_KM
    az = np.arctan2(x, y)
    p0 = np.radians(lat0)
    lat = np.arcsin(np.clip(np.sin(p0) * np.cos(c) + np.cos(p0) * np.sin(c) * np.cos(az), -1.0, 1.0))
    lon = lon0 + np.degrees(
        np.arctan2(np.sin(az) * np.sin(c) * np.cos(p0), np.cos(c) - np.sin(p0) * np.sin(lat))
    )
    return np.degrees(lat), lon


def to_local(geom: BaseGeometry, lat0: float, lon0: float) -> BaseGeometry:
    def fwd(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(aeqd_forward(lat0, lon0, xy[:, 1], xy[:, 0]))

    return shapely.transform(geom, fwd)


def from_local(geom: BaseGeometry, lat0: float, lon0: float) -> BaseGeometry:
    def inv(xy: np.ndarray) -> np.ndarray:
        lat, lon = aeqd_inverse(lat0, lon0, xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geom, inv)


def circle_km(lat: float, lon: float, radius_km: float) -> BaseGeometry:
    """A geodesic circle as a (lon, lat) polygon."""
    return from_local(Point(0.0, 0.0).buffer(max(radius_km, 1e-3), quad_segs=16), lat, lon)


# --- the loaded set -----------------------------------------------------------------------


def _features(name: str) -> list[dict]:
    text = resources.files("meshwarn").joinpath("data", name).read_text(encoding="utf-8")
    return json.loads(text)["features"]


class RegionSet:
    """All regions, with an STRtree over the land regions used for warning.

    Land regions are Japan's prefectures and Korea's provinces, and the whole
    outline of every other country (no finer subdivisions ship with meshwarn).
    """

    def __init__(self, subdivisions: list[Region], countries: list[Region]) -> None:
        self.countries = {c.code: c for c in countries}
        divided = {r.country for r in subdivisions}
        self.land = subdivisions + [c for c in countries if c.code not in divided]
        self.by_code = {r.code: r for r in self.land} | self.countries
        self._land_tree = shapely.STRtree([r.geometry for r in self.land])
        self._country_list = countries
        self._country_tree = shapely.STRtree([c.geometry for c in countries])

    def get(self, code: str) -> Region | None:
        return self.by_code.get(code) or (self.zone(code[:-3]) if code.endswith("-MZ") else None)

    def land_touching(self, geoms: BaseGeometry | np.ndarray) -> np.ndarray:
        """Pairs (input index, land index) of geometries that intersect land regions."""
        return self._land_tree.query(geoms, predicate="intersects")

    def land_at(self, lat: float, lon: float) -> Region | None:
        """The land region containing the point, or None at sea."""
        hits = self._land_tree.query(Point(lon, lat), predicate="intersects")
        return self.land[int(hits[0])] if len(hits) else None

    def coast_distances_km(self, geom: BaseGeometry, within_km: float = ZONE_KM) -> dict[str, float]:
        """Distance (km) from a (lon, lat) geometry to each country's outline within ``within_km``.

        Measured in an AEQD plane centred near the geometry (the centre snapped to 0.5 deg, the
        outlines clipped to a window snapped to 1 deg, so consecutive predictions reuse the
        projected outlines); within ~1000 km of the centre the error stays under ~0.5%."""
        c = geom.centroid
        lat0, lon0 = round(c.y * 2.0) / 2.0, round(c.x * 2.0) / 2.0
        pad_lat = within_km / 111.0 + 1.0
        minx, miny, maxx, maxy = geom.bounds
        pad_lon = pad_lat / max(math.cos(math.radians(min(max(abs(miny), abs(maxy)) + pad_lat, 85.0))), 0.1)
        window = (
            math.floor(minx - pad_lon),
            math.floor(miny - pad_lat),
            math.ceil(maxx + pad_lon),
            math.ceil(maxy + pad_lat),
        )
        local = to_local(geom, lat0, lon0)
        out: dict[str, float] = {}
        for i in self._country_tree.query(box(*window), predicate="intersects"):
            near = self._near_local(int(i), window, lat0, lon0)
            if near.is_empty:
                continue
            d = float(shapely.distance(local, near))
            if d <= within_km:
                out[self._country_list[int(i)].code] = d
        return dict(sorted(out.items(), key=lambda kv: kv[1]))

    @lru_cache(maxsize=256)  # noqa: B019 - the set lives as long as the process (load_regions caches it)
    def _near_local(
        self, index: int, window: tuple[int, int, int, int], lat0: float, lon0: float
    ) -> BaseGeometry:
        """A country's outline clipped to a window, in the AEQD plane at (lat0, lon0)."""
        near = shapely.intersection(self._country_list[index].geometry, box(*window))
        local = to_local(near, lat0, lon0)
        shapely.prepare(local)
        return local

    def zone(self, country: str) -> Region | None:
        """The country's approximate 200 nmi maritime zone (see the module docstring)."""
        return _zone(self, country) if country in self.countries else None


@cache
def _zone(regions: RegionSet, country: str) -> Region:
    outline = regions.countries[country]
    zone = maritime_zone_geometry(outline.geometry)
    return Region(
        f"{country}-MZ", f"{outline.name} maritime zone (200 nmi approx.)", country, "maritime_zone", zone
    )


def maritime_zone_geometry(outline: BaseGeometry, tile_deg: float = 8.0) -> BaseGeometry:
    """Everything within 200 nmi of an outline, in (lon, lat).

    The outline is cut into tiles; each piece is buffered in an AEQD plane centred on its tile,
    so no point is buffered more than ~800 km from its projection centre (width error < 0.5%).
    Buffering distributes over union, so the union of the pieces' buffers is the buffer."""
    minx, miny, maxx, maxy = outline.bounds
    pieces = []
    for x0 in np.arange(math.floor(minx), maxx, tile_deg):
        for y0 in np.arange(math.floor(miny), maxy, tile_deg):
            tile = box(x0, y0, x0 + tile_deg, y0 + tile_deg)
            part = shapely.intersection(outline, tile)
            if part.is_empty:
                continue
            lat0, lon0 = y0 + tile_deg / 2, x0 + tile_deg / 2
            local = to_local(part.simplify(0.01), lat0, lon0).buffer(ZONE_KM, quad_segs=8)
            pieces.append(from_local(local, lat0, lon0))
    return shapely.union_all(pieces).simplify(0.02)


@cache
def load_regions() -> RegionSet:
    """The packaged regions, loaded and indexed once per process."""
    subdivisions = [
        Region(
            f["properties"]["code"],
            f["properties"]["name"],
            f["properties"]["country"],
            "subdivision",
            shapely.make_valid(shape(f["geometry"])),
            f["properties"].get("name_local", ""),
        )
        for name in ("japan_prefectures.geojson", "korea_provinces.geojson")
        for f in _features(name)
    ]
    countries = [
        Region(
            f["properties"]["iso_a3"],
            f["properties"]["name"],
            f["properties"]["iso_a3"],
            "country",
            shapely.make_valid(shape(f["geometry"])),
        )
        for f in _features("countries_east_asia.geojson")
    ]
    return RegionSet(subdivisions, countries)
