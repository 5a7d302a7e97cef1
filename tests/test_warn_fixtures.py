"""Shared, cached inputs for the warning tests (no tests here): true flights as TruthObjects."""

from __future__ import annotations

from functools import cache

import numpy as np

from meshwarn.geo.earth import ecef_to_geodetic
from meshwarn.model import Truth, TruthObject
from meshwarn.sim.flight import Trajectory, solve_launch

LAUNCH_2022_10_04 = 1664835720.0  # 2022-10-03T22:22:00Z = 07:22 JST on 4 October


def truth_object(tr: Trajectory, object_id: str = "M1", step_s: float = 2.0) -> TruthObject:
    ts = np.append(np.arange(tr.launch_time, tr.impact_time, step_s), tr.impact_time)
    r, v = tr.state_at(ts)
    lat, lon, h = ecef_to_geodetic(r)
    samples = [
        tuple(float(x) for x in (t, a, o, max(z, 0.0), *rr, *vv))
        for t, a, o, z, rr, vv in zip(ts, lat, lon, h, r, v, strict=True)
    ]
    return TruthObject(
        object_id, "missile", tr.launch_time, tr.launch_lat, tr.launch_lon, tr.impact_time, tr.impact_lat,
        tr.impact_lon, tr.apogee_km, tr.range_km, tr.burnout_time, samples,  # type: ignore[arg-type]
    )  # fmt: skip


@cache
def irbm() -> TruthObject:
    """A Hwasong-12-like IRBM from Sunan over northern Japan (Aomori), down in the Pacific."""
    return truth_object(solve_launch(39.224, 125.670, 75.0, 550.0, 2700.0, launch_time=LAUNCH_2022_10_04))


@cache
def srbm_sea_of_japan() -> TruthObject:
    """An SRBM from the east coast into the Sea of Japan, inside Japan's 200 nmi zone."""
    return truth_object(solve_launch(39.6, 127.5, 100.0, 300.0, 650.0, launch_time=LAUNCH_2022_10_04))


@cache
def lofted_icbm() -> TruthObject:
    """A Hwasong-15-like lofted ICBM (4,475 km apogee, 950 km range) into the Sea of Japan: 53 minutes."""
    trajectory = solve_launch(39.25, 125.87, 85.0, 4475.0, 950.0, launch_time=LAUNCH_2022_10_04, booster="icbm")
    return truth_object(trajectory, step_s=5.0)


def truth_of(*objects: TruthObject) -> Truth:
    start = min(o.launch_time for o in objects)
    return Truth("test", start - 60.0, max(o.impact_time for o in objects) + 60.0, list(objects), [])
