"""Warning regions: the packaged prefectures, provinces, countries and 200 nmi maritime zones."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import LineString, Point

from meshwarn.geo.earth import destination, surface_distance_km
from meshwarn.geo.regions import ZONE_KM, aeqd_forward, aeqd_inverse, load_regions
from meshwarn.model import Ellipse
from meshwarn.warn.areas import corridor_segments, ellipse_polygon, impact_area, overflown


def test_the_packaged_regions_load_once() -> None:
    regions = load_regions()
    assert regions is load_regions()
    subdivisions = [r for r in regions.land if r.kind == "subdivision"]
    assert sum(r.country == "JPN" for r in subdivisions) == 47
    assert sum(r.country == "KOR" for r in subdivisions) == 17
    assert {"PRK", "CHN", "RUS"} <= {r.code for r in regions.land}
    assert "JPN" not in {r.code for r in regions.land}  # Japan is warned by prefecture


@pytest.mark.parametrize(
    ("lat", "lon", "code"),
    [(40.82, 140.74, "JP-02"), (43.06, 141.35, "JP-01"), (35.68, 139.69, "JP-13"), (37.57, 126.98, "KR-11"),
     (35.18, 129.08, "KR-26"), (39.02, 125.75, "PRK"), (39.9, 116.4, "CHN"), (40.0, 135.0, None)],
)  # fmt: skip
def test_land_at(lat: float, lon: float, code: str | None) -> None:
    region = load_regions().land_at(lat, lon)
    assert (region.code if region else None) == code


@given(st.floats(20, 50), st.floats(110, 160), st.floats(0, 360), st.floats(0, 2000))
def test_aeqd_round_trip_and_distance(lat0: float, lon0: float, bearing: float, km: float) -> None:
    lat, lon = destination(lat0, lon0, bearing, km)
    x, y = aeqd_forward(lat0, lon0, np.array([lat]), np.array([lon]))
    assert np.hypot(x, y)[0] == pytest.approx(km, abs=1e-6)
    back = aeqd_inverse(lat0, lon0, x, y)
    assert back[0][0] == pytest.approx(lat, abs=1e-9) and back[1][0] == pytest.approx(lon, abs=1e-9)


def test_maritime_zone_is_200_nautical_miles_from_the_coast() -> None:
    regions = load_regions()
    zone = regions.zone("JPN")
    assert zone is regions.zone("JPN") and zone.code == "JPN-MZ" and "approx" in zone.name
    # Out from Cape Erimo into the Pacific: the buffered zone agrees with the distance to the coast
    erimo = (41.92, 143.25)
    inside_seen = outside_seen = False
    for bearing in (120.0, 150.0, 170.0):
        for km in np.arange(100.0, 700.0, 25.0):
            lat, lon = destination(*erimo, bearing, km)
            d = regions.coast_distances_km(Point(lon, lat), within_km=1000.0).get("JPN", np.inf)
            if abs(d - ZONE_KM) < 4.0:  # simplified outline and zone: a few km of slack at the edge
                continue
            assert zone.geometry.contains(Point(lon, lat)) == (d < ZONE_KM), (bearing, km, d)
            inside_seen |= d < ZONE_KM
            outside_seen |= d > ZONE_KM
    assert inside_seen and outside_seen
    assert regions.zone("XXX") is None


def test_impact_area_at_sea_inside_and_outside_a_zone() -> None:
    regions = load_regions()
    near = impact_area(regions, ellipse_polygon(Ellipse(38.17, 134.77, 20.0, 10.0, 100.0)))
    assert near.centre_at_sea and near.land == [] and near.centre_zones[:1] == ["JPN"]
    assert set(near.zones_touched) >= {"JPN", "KOR"}
    far = impact_area(regions, ellipse_polygon(Ellipse(40.3, 157.3, 30.0, 10.0, 90.0)))
    assert far.centre_at_sea and far.centre_zones == [] and far.zones_touched == []
    land = impact_area(regions, ellipse_polygon(Ellipse(40.6, 140.9, 30.0, 10.0, 90.0)))
    assert not land.centre_at_sea and "JP-02" in {r.code for r in land.land}


def test_ellipse_polygon_has_its_semi_axes() -> None:
    poly = ellipse_polygon(Ellipse(40.0, 140.0, 100.0, 20.0, 45.0))
    lon, lat = np.asarray(poly.exterior.coords).T
    d = surface_distance_km(40.0, 140.0, lat, lon)
    assert d.max() == pytest.approx(100.0, rel=2e-3) and d.min() == pytest.approx(20.0, rel=2e-2)


def test_corridor_width_decides_what_is_overflown() -> None:
    regions = load_regions()
    # A track along 41.05N over Aomori (Tsugaru Strait to the north, Hokkaido ~40 km away)
    track = [(float(t), 41.05, 139.0 + 0.01 * t, 500e3) for t in range(0, 400, 20)]
    narrow = {h.region.code for h in overflown(regions, *corridor_segments(track, [5.0] * len(track)))}
    wide = {h.region.code for h in overflown(regions, *corridor_segments(track, [80.0] * len(track)))}
    assert narrow == {"JP-02"} and {"JP-01", "JP-02", "JP-05"} <= wide
    later = overflown(regions, *corridor_segments(track, [5.0] * len(track), start_time=300.0))
    assert later == []  # past 142E the path is over the sea
    hit = overflown(regions, *corridor_segments(track, [5.0] * len(track)))[0]
    assert 100.0 <= hit.time <= 160.0 and hit.end > hit.time
    assert LineString([(140.5, 41.05), (141.5, 41.05)]).intersects(hit.area)


@given(
    st.floats(25, 45),
    st.floats(125, 155),
    st.floats(0, 360),
    st.floats(0.5, 300),
    st.floats(1, 150),
    st.floats(1, 150),
)
def test_corridor_segment_covers_both_end_circles(
    lat: float, lon: float, brg: float, km: float, w1: float, w2: float
) -> None:
    lat2, lon2 = destination(lat, lon, brg, km)
    _, _, (poly,) = corridor_segments([(0.0, lat, lon, 0.0), (10.0, lat2, lon2, 0.0)], [w1, w2])
    assert poly.is_valid
    for (a, o), w in (((lat, lon), w1), ((lat2, lon2), w2)):
        for b in range(0, 360, 15):
            p = destination(a, o, b, w * 0.995)
            assert poly.contains(Point(p[1], p[0])), (a, o, b, w)
    # and it is not much wider than the circles: a point 5% beyond the larger radius is outside
    far = destination(lat, lon, brg + 90.0, max(w1, w2) * 1.05 + km)
    assert not poly.contains(Point(far[1], far[0]))
