"""Starting tracks: two-point initiation from unassociated 3-D points, and pairing two
satellites' lines of sight to the same plume into a 3-D point.

A lone point says where something was but not where it goes, so it waits as a seed; a second
point within reach of it (no faster than max_speed) starts a tentative track with the velocity
between the two. Clutter rarely pairs, and a pair of clutter points fails to confirm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from meshwarn.track.dynamics import NX
from meshwarn.track.impact import height
from meshwarn.track.measurements import Measurement, point_measurement, triangulate


@dataclass
class Seed:
    m: Measurement
    point: np.ndarray
    cov: np.ndarray


class Seeds:
    """Unassociated points waiting for a partner."""

    def __init__(self, window_s: float, max_speed: float, min_dt: float, n_sigma: float = 4.0) -> None:
        self.window_s = window_s
        self.max_speed = max_speed
        self.min_dt = min_dt
        self.n_sigma = n_sigma
        self.items: list[Seed] = []

    def expire(self, now: float) -> None:
        if self.items and self.items[0].m.time < now - self.window_s:
            self.items = [s for s in self.items if s.m.time >= now - self.window_s]

    def offer(self, m: Measurement) -> tuple[Seed, Seed] | None:
        """Pair m with the nearest compatible seed (returned, older first), or keep it as a seed."""
        assert m.point is not None and m.point_cov is not None
        best, best_d = None, math.inf
        sigma_m = math.sqrt(float(np.trace(m.point_cov)))
        for seed in self.items:
            dt = abs(m.time - seed.m.time)
            if dt < self.min_dt or dt > self.window_s:
                continue
            d = float(np.linalg.norm(m.point - seed.point))
            reach = self.max_speed * dt + self.n_sigma * (sigma_m + math.sqrt(float(np.trace(seed.cov))))
            if d <= reach and d / dt < best_d:
                best, best_d = seed, d / dt
        new = Seed(m, m.point, m.point_cov)
        if best is None:
            self.items.append(new)
            return None
        self.items.remove(best)
        return (best, new) if best.m.time <= m.time else (new, best)


def two_point_state(a: Seed, b: Seed, accel_sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """State at b's time from points a (earlier) and b: velocity by differencing."""
    dt = b.m.time - a.m.time
    x = np.zeros(NX)
    x[0:3] = b.point
    x[3:6] = (b.point - a.point) / dt
    P = np.zeros((NX, NX))
    P[0:3, 0:3] = b.cov
    P[0:3, 3:6] = P[3:6, 0:3] = b.cov / dt
    # Unknown acceleration (gravity and thrust) bends the chord: half a t across dt.
    bend = (0.5 * accel_sigma * dt) ** 2 + (0.5 * 10.0 * dt) ** 2
    P[3:6, 3:6] = (a.cov + b.cov) / (dt * dt) + np.eye(3) * bend
    P[6:9, 6:9] = np.eye(3) * accel_sigma**2
    return x, P


class LosPairer:
    """Lines of sight from different satellites, close in time, whose rays cross at a plume."""

    def __init__(self, window_s: float, max_speed: float, n_sigma: float = 4.0) -> None:
        self.window_s = window_s
        self.max_speed = max_speed
        self.n_sigma = n_sigma
        self.pending: list[Measurement] = []

    def offer(self, m: Measurement) -> Measurement | None:
        """A triangulated point if m pairs with a pending line of sight, else keep m pending."""
        self.pending = [p for p in self.pending if abs(p.time - m.time) <= self.window_s or p.time > m.time]
        best, best_miss = None, math.inf
        for p in self.pending:
            dt = abs(p.time - m.time)
            if p.sensor == m.sensor or dt > self.window_s:
                continue
            point, cov, miss = triangulate(p, m)
            h = float(height(point[None, :])[0])
            tol = self.n_sigma * math.sqrt(float(np.trace(cov))) + self.max_speed * dt
            if -5000.0 < h < 2.0e6 and miss <= tol and miss < best_miss:
                best, best_miss = (p, point, cov, dt), miss
        if best is None:
            self.pending.append(m)
            return None
        p, point, cov, dt = best
        self.pending.remove(p)
        # Motion between the two looks blurs the point.
        cov = cov + np.eye(3) * (0.5 * self.max_speed * dt) ** 2 / 3.0
        return point_measurement(max(p.time, m.time), point, cov, [p, m])
