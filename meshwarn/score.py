"""Figures of merit of a fused run against what really flew.

GOSPA (Rahmathullah, Garcia-Fernandez, Svensson 2017; alpha = 2, so it splits into localisation,
missed and false parts) and OSPA (Schuhmacher et al. 2008) over time; track breaks (a missile's
track identity changing), false tracks (confirmed tracks that match no missile), time from
launch to the first confirmed track of each missile, and impact-point error and 95%-ellipse
coverage against time since launch.

Score reads the truth (model.Truth) and the emitted tracks; it never imports the simulator.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from meshwarn import model
from meshwarn.geo.earth import enu_rotation, geodetic_to_ecef, surface_distance_km
from meshwarn.track.dynamics import propagate_many

CUTOFF_M = 10_000.0  # GOSPA/OSPA cut-off c: an estimate further than this is a miss plus a false
ORDER = 2  # p
STEP_S = 5.0  # scoring interval
STALE_S = 60.0  # a track's last state older than this no longer counts at a scoring time


def _distances(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    return np.linalg.norm(X[:, None, :] - Y[None, :, :], axis=2)


def gospa(
    truth: np.ndarray, est: np.ndarray, c: float = CUTOFF_M, p: int = ORDER
) -> tuple[float, list[tuple[int, int]]]:
    """GOSPA (alpha = 2) of estimates (m, 3) against truths (n, 3); and the matched pairs."""
    n, m = len(truth), len(est)
    if n == 0 or m == 0:
        return (0.5 * c**p * (n + m)) ** (1.0 / p), []
    d = np.minimum(_distances(truth, est), c)
    rows, cols = linear_sum_assignment(d**p)
    total = float((d[rows, cols] ** p).sum()) + 0.5 * c**p * abs(n - m)
    pairs = [(int(i), int(j)) for i, j in zip(rows, cols, strict=True) if d[i, j] < c]
    return total ** (1.0 / p), pairs


def ospa(truth: np.ndarray, est: np.ndarray, c: float = CUTOFF_M, p: int = ORDER) -> float:
    n, m = len(truth), len(est)
    if n == 0 and m == 0:
        return 0.0
    if n == 0 or m == 0:
        return c
    d = np.minimum(_distances(truth, est), c)
    rows, cols = linear_sum_assignment(d**p)
    total = float((d[rows, cols] ** p).sum()) + c**p * abs(n - m)
    return (total / max(n, m)) ** (1.0 / p)


def positions_at(tracks: list[model.Track], time: float) -> np.ndarray:
    """Each track's position predicted ballistically from its own time to `time`, (n, 3).

    Tracks are grouped by their time so one vectorised RK4 serves each group.
    """
    if not tracks:
        return np.zeros((0, 3))
    states = np.array([t.position_ecef + t.velocity_ecef for t in tracks])
    dts = np.array([time - t.time for t in tracks])
    out = states.copy()
    for dt in np.unique(dts):
        rows = dts == dt
        if dt != 0.0:
            out[rows] = propagate_many(states[rows], float(dt))
    return out[:, 0:3]


def truth_positions(truth: model.Truth, time: float) -> tuple[list[str], np.ndarray]:
    """Missiles in flight at `time` and their ECEF positions (linear between samples)."""
    ids, pos = [], []
    for obj in truth.objects:
        if obj.kind != "missile" or not obj.launch_time <= time <= obj.impact_time or not obj.samples:
            continue
        s = np.asarray(obj.samples)
        t = s[:, 0]
        ids.append(obj.id)
        pos.append([np.interp(time, t, s[:, k]) for k in (4, 5, 6)])
    return ids, np.array(pos).reshape(-1, 3)


class TrackHistory:
    """Every emitted state of every track, to ask "what did the tracker say at time t"."""

    def __init__(self, tracks: Iterable[model.Track]) -> None:
        by_id: dict[str, list[model.Track]] = defaultdict(list)
        for t in tracks:
            by_id[t.id].append(t)
        self.by_id = {k: sorted(v, key=lambda t: t.time) for k, v in by_id.items()}
        self.times = {k: [t.time for t in v] for k, v in self.by_id.items()}

    def at(self, time: float, confirmed_only: bool = True) -> list[model.Track]:
        out = []
        for key, states in self.by_id.items():
            i = bisect.bisect_right(self.times[key], time) - 1
            if i < 0:
                continue
            t = states[i]
            if t.status == "deleted" or time - t.time > STALE_S:
                continue
            if confirmed_only and t.status == "tentative":
                continue
            if confirmed_only and not any(s.status in ("confirmed", "coasting") for s in states[: i + 1]):
                continue
            out.append(t)
        return out


@dataclass
class _Accumulator:
    gospa: list[tuple[float, float]]
    ospa: list[tuple[float, float]]
    assigned: dict[str, list[tuple[float, str]]]  # truth id -> (time, track id)
    matched_tracks: set[str]


def score(truth: model.Truth, tracks: list[model.Track], step_s: float = STEP_S) -> dict[str, object]:
    """Every figure of merit, as a JSON-ready dict."""
    history = TrackHistory(tracks)
    missiles = [o for o in truth.objects if o.kind == "missile"]
    acc = _Accumulator([], [], defaultdict(list), set())
    start = min((o.launch_time for o in missiles), default=truth.start_time)
    end = max((o.impact_time for o in missiles), default=truth.end_time)
    for time in np.arange(start, end + 1e-9, step_s):
        ids, tpos = truth_positions(truth, float(time))
        live = history.at(float(time))
        epos = positions_at(live, float(time))
        g, pairs = gospa(tpos, epos)
        acc.gospa.append((float(time), g))
        acc.ospa.append((float(time), ospa(tpos, epos)))
        for i, j in pairs:
            acc.assigned[ids[i]].append((float(time), live[j].id))
            acc.matched_tracks.add(live[j].id)
    confirmed_ids = {t.id for t in tracks if t.status in ("confirmed", "coasting")}
    per_missile = {}
    for obj in missiles:
        seq = acc.assigned.get(obj.id, [])
        breaks = sum(1 for a, b in zip(seq, seq[1:], strict=False) if a[1] != b[1])
        first = seq[0][0] - obj.launch_time if seq else None
        per_missile[obj.id] = {
            "track_ids": sorted({s[1] for s in seq}),
            "track_breaks": breaks,
            "first_confirmed_s": None if first is None else round(first, 1),
            "coverage_fraction": round(len(seq) / max(1, _in_flight_steps(obj, start, end, step_s)), 3),
        }
    g = [v for _, v in acc.gospa]
    o = [v for _, v in acc.ospa]
    return {
        "cutoff_m": CUTOFF_M,
        "order": ORDER,
        "step_s": step_s,
        "gospa_mean_m": round(float(np.mean(g)), 1) if g else None,
        "ospa_mean_m": round(float(np.mean(o)), 1) if o else None,
        "gospa": [(round(t, 1), round(v, 1)) for t, v in acc.gospa],
        "ospa": [(round(t, 1), round(v, 1)) for t, v in acc.ospa],
        "track_breaks": sum(m["track_breaks"] for m in per_missile.values()),  # type: ignore[misc]
        "false_tracks": sorted(confirmed_ids - acc.matched_tracks),
        "missiles": per_missile,
        "impact": impact_figures(truth, tracks, acc.assigned),
    }


def _in_flight_steps(obj: model.TruthObject, start: float, end: float, step: float) -> int:
    times = np.arange(start, end + 1e-9, step)
    return int(((times >= obj.launch_time) & (times <= obj.impact_time)).sum())


def inside_ellipse(ellipse: model.Ellipse, lat: float, lon: float) -> bool:
    """Is (lat, lon) inside the ellipse (local east-north plane at its centre)?"""
    d = geodetic_to_ecef(lat, lon, 0.0) - geodetic_to_ecef(ellipse.lat, ellipse.lon, 0.0)
    e, n, _ = enu_rotation(ellipse.lat, ellipse.lon) @ d
    b = math.radians(ellipse.bearing_deg)
    major = e * math.sin(b) + n * math.cos(b)
    minor = e * math.cos(b) - n * math.sin(b)
    a1 = max(ellipse.semi_major_km * 1000.0, 1e-6)
    a2 = max(ellipse.semi_minor_km * 1000.0, 1e-6)
    return (major / a1) ** 2 + (minor / a2) ** 2 <= 1.0


def impact_figures(
    truth: model.Truth,
    tracks: list[model.Track],
    assigned: dict[str, list[tuple[float, str]]],
    bin_s: float = 60.0,
) -> list[dict[str, object]]:
    """Impact-point error and ellipse coverage per bin of time since launch (ballistic phase only)."""
    owner: dict[str, model.TruthObject] = {}
    by_id = {o.id: o for o in truth.objects}
    for truth_id, seq in assigned.items():
        counts: dict[str, int] = defaultdict(int)
        for _, tid in seq:
            counts[tid] += 1
        for tid, _ in counts.items():
            owner.setdefault(tid, by_id[truth_id])
    bins: dict[int, list[tuple[float, bool]]] = defaultdict(list)
    for t in tracks:
        obj = owner.get(t.id)
        if obj is None or t.impact is None or t.status == "tentative" or t.phase != "ballistic":
            continue
        err = float(
            surface_distance_km(t.impact.ellipse.lat, t.impact.ellipse.lon, obj.impact_lat, obj.impact_lon)
        )
        inside = inside_ellipse(t.impact.ellipse, obj.impact_lat, obj.impact_lon)
        bins[int((t.time - obj.launch_time) // bin_s)].append((err, inside))
    return [
        {
            "since_launch_s": [k * bin_s, (k + 1) * bin_s],
            "n": len(v),
            "error_km_median": round(float(np.median([e for e, _ in v])), 3),
            "error_km_p90": round(float(np.percentile([e for e, _ in v], 90)), 3),
            "ellipse_coverage": round(float(np.mean([i for _, i in v])), 3),
        }
        for k, v in sorted(bins.items())
    ]
