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
    """Unassociated points waiting for a partner; their times, points and sigmas kept as arrays
    so that a new point is checked against all of them at once."""

    def __init__(self, window_s: float, max_speed: float, min_dt: float, n_sigma: float = 4.0) -> None:
        self.window_s = window_s
        self.max_speed = max_speed
        self.min_dt = min_dt
        self.n_sigma = n_sigma
        self.items: list[Seed] = []
        self._times = np.zeros(0)
        self._points = np.zeros((0, 3))
        self._sigmas = np.zeros(0)

    def _keep(self, mask: np.ndarray) -> None:
        self.items = [s for s, k in zip(self.items, mask, strict=True) if k]
        self._times, self._points, self._sigmas = self._times[mask], self._points[mask], self._sigmas[mask]

    def expire(self, now: float) -> None:
        if len(self._times) and self._times.min() < now - self.window_s:
            self._keep(self._times >= now - self.window_s)

    def offer(self, m: Measurement) -> tuple[Seed, Seed] | None:
        """Pair m with the compatible seed needing the least speed (returned, older first), or
        keep it as a seed."""
        assert m.point is not None and m.point_cov is not None
        sigma_m = math.sqrt(float(np.trace(m.point_cov)))
        new = Seed(m, m.point, m.point_cov)
        if len(self._times):
            dt = np.abs(m.time - self._times)
            d = np.linalg.norm(self._points - m.point, axis=1)
            reach = self.max_speed * dt + self.n_sigma * (sigma_m + self._sigmas)
            ok = (dt >= self.min_dt) & (dt <= self.window_s) & (d <= reach)
            if ok.any():
                speed = np.where(ok, d / np.maximum(dt, 1e-9), np.inf)
                i = int(np.argmin(speed))
                best = self.items[i]
                mask = np.ones(len(self.items), dtype=bool)
                mask[i] = False
                self._keep(mask)
                return (best, new) if best.m.time <= m.time else (new, best)
        self.items.append(new)
        self._times = np.append(self._times, m.time)
        self._points = np.vstack((self._points, m.point[None, :]))
        self._sigmas = np.append(self._sigmas, sigma_m)
        return None


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
