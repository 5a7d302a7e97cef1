"""Tracks with impact predictions made up from a truth object, for tests and demos of the warning stage.

It stands in for a tracker whose errors are known: the predicted path is the true one shifted
sideways by a bias that decays as the track matures, with a corridor whose width shrinks the same
way. It reads only model messages (a TruthObject), never the simulator.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from meshwarn.geo.earth import destination, initial_bearing_deg
from meshwarn.model import Ellipse, ImpactPrediction, Track, TruthObject

Schedule = Callable[[float], float]  # seconds since launch -> km


def decaying(start_km: float, floor_km: float, tau_s: float, t0_s: float = 0.0) -> Schedule:
    return lambda s: floor_km + (start_km - floor_km) * math.exp(-max(s - t0_s, 0.0) / tau_s)


def tracks_from_truth(
    obj: TruthObject,
    *,
    track_id: str = "T1",
    first_s: float = 60.0,
    step_s: float = 5.0,
    width_km: Schedule | None = None,
    offset_km: Schedule | None = None,
    path_step_s: float = 10.0,
    until_s: float | None = None,
    status: str = "confirmed",
    provenance: tuple[str, ...] = ("JPN", "KOR"),
) -> list[Track]:
    """Tracks every step_s from first_s after launch until impact (or until_s), in time order.

    Defaults: a 95% corridor half-width from 60 km down to 8 km, and a sideways bias from
    30 km down to 0, both decaying with a 60 s time constant."""
    width_km = width_km or decaying(60.0, 8.0, 60.0)
    offset_km = offset_km or decaying(30.0, 0.0, 60.0)
    s = np.asarray(obj.samples, dtype=float)
    last = obj.impact_time - obj.launch_time if until_s is None else until_s
    out = []
    for tau in np.arange(first_s, last, step_s):
        out.append(
            _track(
                obj,
                s,
                obj.launch_time + tau,
                width_km(tau),
                offset_km(tau),
                path_step_s,
                track_id,
                status,
                provenance,
            )
        )
    return out


def _interp(s: np.ndarray, t: float) -> np.ndarray:
    return np.array([np.interp(t, s[:, 0], s[:, k]) for k in range(s.shape[1])])


def _track(
    obj: TruthObject,
    s: np.ndarray,
    t: float,
    width: float,
    offset: float,
    path_step_s: float,
    track_id: str,
    status: str,
    provenance: tuple[str, ...],
) -> Track:
    now = _interp(s, t)
    times = np.append(np.arange(t, obj.impact_time, path_step_s), obj.impact_time)
    path = [_interp(s, tt) for tt in times]
    shifted = []
    for i, p in enumerate(path):
        a, b = (path[i], path[i + 1]) if i + 1 < len(path) else (path[max(i - 1, 0)], path[i])
        brg = initial_bearing_deg(a[1], a[2], b[1], b[2])
        lat, lon = destination(p[1], p[2], brg + 90.0, offset) if offset else (p[1], p[2])
        shifted.append((float(p[0]), float(lat), float(lon), float(max(p[3], 0.0))))
    heading = (
        initial_bearing_deg(path[-2][1], path[-2][2], path[-1][1], path[-1][2]) if len(path) > 1 else 0.0
    )
    impact = ImpactPrediction(
        time=obj.impact_time,
        sigma_time_s=2.0 + width / 10.0,
        ellipse=Ellipse(shifted[-1][1], shifted[-1][2], 2.0 * width, width, heading),
        ground_track=shifted,
        track_sigma_km=[width] * len(shifted),
    )
    return Track(
        id=track_id,
        time=float(t),
        status=status,  # type: ignore[arg-type]
        phase="boost" if t < obj.burnout_time else "ballistic",
        lat=float(now[1]),
        lon=float(now[2]),
        h=float(now[3]),
        velocity_ecef=(float(now[7]), float(now[8]), float(now[9])),
        sigma_position_m=200.0,
        provenance=provenance,
        position_ecef=(float(now[4]), float(now[5]), float(now[6])),
        impact=impact,
        report_count=int((t - obj.launch_time) / 5.0),
    )
