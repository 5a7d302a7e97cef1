"""The tracker the hub runs: reports in, tracks out.

Per batch of simultaneous reports: coarse gate (vectorised over all tracks), Mahalanobis gate on
the survivors, global nearest neighbour (scipy's linear_sum_assignment) over the gated pairs,
IMM update of the winners, two-point initiation of the rest. Tracks are confirmed M of N,
coast when not seen, and are deleted when lost or down. Reports that arrive after later ones
(out of sequence) are filtered in at their own time: each track keeps a short history of its
measurements and posteriors and re-filters from the last posterior before the late report.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.special import chdtri

from meshwarn import model
from meshwarn.geo.earth import E2, EP2, A, B, F
from meshwarn.track.filters import EKF, IMM, UKF, IMMState, Mode
from meshwarn.track.impact import boost_corridor, launch_estimate, predict_impact
from meshwarn.track.initiation import LosPairer, Seeds, two_point_state
from meshwarn.track.measurements import Measurement, from_report

BIG = 1e12


@dataclass
class TrackerConfig:
    filter: str = "ekf"  # "ekf" or "ukf"
    q_ballistic: float = 1e-4  # m^2/s^3: white acceleration the ballistic model allows
    q_burnout: float = 0.05  # m^2/s^3: the ballistic model's while it still mixes with the boost one
    q_settling: float = 1.0  # m^2/s^3: the ballistic model's for settle_s after burnout, while the
    settle_s: float = 30.0  # lag of the boost-phase velocity washes out (ellipse coverage held)
    q_boost_accel: float = 1.0  # m^2/s^3
    q_boost_jerk: float = 20.0  # m^2/s^5: how fast thrust acceleration may change
    tau_boost_s: float = 60.0
    init_accel_sigma: float = 40.0  # m/s^2, thrust acceleration prior of a new track
    init_p_boost: float = 0.8  # most tracks are born in boost: radars and satellites see the rise
    gate_prob: float = 0.9999
    confirm_m: int = 3
    confirm_n: int = 5
    revisit_s: float = 10.0  # a gap this long between hits counts as a miss
    tentative_timeout_s: float = 15.0  # a real target is seen every few seconds
    coast_after_s: float = 20.0
    delete_after_s: float = 90.0
    seed_window_s: float = 12.0
    seed_min_dt_s: float = 0.5
    max_speed: float = 8000.0  # m/s
    ir_pair_window_s: float = 1.0
    oosm_window_s: float = 60.0
    impact_refresh_s: float = 2.0  # re-fly the impact prediction at most this often (track time)
    boost_more_s: float = 120.0  # in boost, the motor may burn on for up to this long (corridor)
    products: bool = True  # launch and impact prediction (off: tracking alone, for like-for-like timing)
    merge_prob: float = 0.999
    id_prefix: str = "T"


@dataclass(eq=False)
class _Track:
    number: int
    id: str
    state: IMMState
    base: IMMState  # posterior before the oldest measurement in history
    history: deque[tuple[Measurement, IMMState]] = field(default_factory=deque)
    status: str = "tentative"
    hits: deque[bool] = field(default_factory=deque)
    originators: set[str] = field(default_factory=set)
    classifications: set[str] = field(default_factory=set)
    report_count: int = 0
    impact: model.ImpactPrediction | None = None
    impact_at: float = -math.inf
    impact_final: bool = False  # predicted after burnout: its time is when the object comes down
    launch: model.LaunchEstimate | None = None
    launch_from_boost: bool = False
    emitted: bool = False
    row: int = -1

    def last_time(self) -> float:
        return self.state.time


class Tracker:
    """Multi-sensor, multi-target ballistic tracker. Feed it reports in arrival order."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = c = config or TrackerConfig()
        kf = UKF() if c.filter == "ukf" else EKF()
        self.kf = kf
        self.imm = IMM(
            kf,
            Mode("boost", c.q_boost_accel, c.q_boost_jerk),
            Mode("ballistic", c.q_burnout, 0.0),
            tau_boost_s=c.tau_boost_s,
            settled=Mode("ballistic", c.q_ballistic, 0.0),
            settle_s=c.settle_s,
            settling=Mode("ballistic", c.q_settling, 0.0),
        )
        self.gate = {d: float(chdtri(d, 1.0 - c.gate_prob)) for d in (2, 3, 4)}  # chi-square quantiles
        self.merge_gate = float(chdtri(6, 1.0 - c.merge_prob))
        self.seeds = Seeds(c.seed_window_s, c.max_speed, c.seed_min_dt_s)
        self.pairer = LosPairer(c.ir_pair_window_s, c.max_speed)
        self.live: list[_Track] = []
        self._number = 0
        self.now = -math.inf
        self.late_reports = 0  # out-of-sequence reports filtered in at their own time
        self.too_late = 0  # older than the history window: could not be placed
        # Rows for the vectorised coarse gate: position, velocity, time, position sigma.
        self._pos = np.zeros((0, 3))
        self._vel = np.zeros((0, 3))
        self._time = np.zeros(0)
        self._sig = np.zeros(0)
        self._platforms: dict[str, tuple[float, np.ndarray, np.ndarray]] = {}  # sensor: time, pos, vel

    # --- public contract --------------------------------------------------------------

    def process(self, report: model.Report, arrival: float) -> list[model.Track]:
        """Tracks changed by this report (including any deleted since the last call)."""
        return self.process_batch([report], arrival)

    def process_batch(self, reports: list[model.Report], arrival: float) -> list[model.Track]:
        """Reports that arrived together, associated jointly (global nearest neighbour)."""
        self.now = max(self.now, arrival)
        changed: dict[int, _Track] = {}
        deleted = self._sweep(self.now)
        ms = [m for m in (from_report(r) for r in reports) if m is not None]
        for m in ms:
            self._platform_velocity(m)
        if not ms:
            return [self._emit(t, "deleted") for t in deleted]
        self.seeds.expire(max(m.time for m in ms))
        unassigned = self._associate(ms, changed)
        for m in unassigned:
            self._initiate(m, changed)
        for t in list(changed.values()):
            if t.status != "deleted":
                self._merge_duplicates(t, changed, deleted)
        out = [self._emit(t, "deleted") for t in deleted if t.emitted]
        out += [self._emit(t, refresh=True) for t in changed.values() if t.status != "deleted"]
        return out

    def tracks(self, now: float) -> list[model.Track]:
        """Live tracks at `now`; a track not seen for a while coasts, predicted to now."""
        out = []
        for t in self.live:
            age = now - t.last_time()
            if t.status == "tentative" and age > self.config.tentative_timeout_s:
                continue
            if t.status != "tentative" and self._gone(t, now):
                continue
            if age > self.config.coast_after_s and t.status != "tentative":
                out.append(self._emit(t, "coasting", predict_to=now))
            else:
                out.append(self._emit(t))
        return out

    def _platform_velocity(self, m: Measurement) -> None:
        """A ship's radar reports where the ship is with every plot; its velocity (which the range
        rate is relative to) follows from two positions a while apart."""
        if m.kind != "radar" or len(m.z) < 4:
            return
        seen = self._platforms.get(m.sensor)
        if seen is None:
            self._platforms[m.sensor] = (m.time, m.origin, np.zeros(3))
            return
        t0, p0, v0 = seen
        dt = m.time - t0
        if dt >= 5.0:
            v0 = (m.origin - p0) / dt
            self._platforms[m.sensor] = (m.time, m.origin, v0)
        if float(v0 @ v0) > 0.01:
            m.sensor_vel = v0

    # --- association ------------------------------------------------------------------

    def _candidates(self, m: Measurement) -> np.ndarray:
        """Rows of tracks that could have made m: a generous spherical gate, all tracks at once."""
        if not self.live:
            return np.zeros(0, dtype=int)
        dt = m.time - self._time
        pred = self._pos + self._vel * dt[:, None]
        spread = self._sig + 200.0 * np.abs(dt) + 30.0 * dt * dt  # velocity and acceleration unknowns
        if m.point is not None:
            d = np.linalg.norm(pred - m.point, axis=1)
            reach = 6.0 * np.sqrt(spread**2 + np.trace(m.point_cov))
        else:  # a line of sight: distance of each track from the ray
            rel = pred - m.origin
            along = rel @ m.los
            d = np.linalg.norm(rel - along[:, None] * m.los, axis=1)
            d[along <= 0.0] = BIG
            reach = 6.0 * np.sqrt(spread**2 + (math.sqrt(m.R[0, 0]) * np.abs(along)) ** 2)
        return np.nonzero(d <= reach)[0]

    def _prior(self, t: _Track, time: float) -> IMMState:
        """The track's prior at `time`: from its latest state, or for a late report from the
        last posterior before it."""
        if time >= t.state.time:
            return self.imm.predict(t.state, time)
        before = t.base
        for m, s in t.history:
            if m.time > time:
                break
            before = s
        return self.imm.predict(before, time)

    def _associate(self, ms: list[Measurement], changed: dict[int, _Track]) -> list[Measurement]:
        pairs: list[tuple[int, int, float, IMMState]] = []
        for i, m in enumerate(ms):
            for row in self._candidates(m):
                t = self.live[row]
                if m.time < t.base.time:  # older than the track's history window
                    self.too_late += 1
                    continue
                prior = self._prior(t, m.time)
                x, P = prior.estimate()
                y, S, _ = self.kf.innovation(x, P, m)
                try:
                    d2 = float(y @ np.linalg.solve(S, y))
                except np.linalg.LinAlgError:
                    continue
                if d2 <= self.gate[len(y)]:
                    pairs.append((i, row, d2 + math.log(np.linalg.det(S)), prior))
        if not pairs:
            return list(ms)
        rows = sorted({p[1] for p in pairs})
        col = {r: j for j, r in enumerate(rows)}
        cost = np.full((len(ms), len(rows)), BIG)
        priors = {}
        for i, row, c, prior in pairs:
            cost[i, col[row]] = c - 1e6  # shift: every gated pair is cheaper than a non-pair
            priors[(i, row)] = prior
        mi, tj = linear_sum_assignment(cost)
        used = set()
        for i, j in zip(mi, tj, strict=True):
            if cost[i, j] >= BIG:
                continue
            row = rows[j]
            self._update(self.live[row], ms[i], priors[(i, row)])
            changed[self.live[row].number] = self.live[row]
            used.add(i)
        return [m for i, m in enumerate(ms) if i not in used]

    # --- filtering ----------------------------------------------------------------------

    def _update(self, t: _Track, m: Measurement, prior: IMMState) -> None:
        gap = m.time - t.state.time
        if gap >= 0.0:
            t.state, _ = self.imm.correct(prior, m)
            t.history.append((m, t.state))
            misses = int(gap // self.config.revisit_s)
            for _ in range(min(misses, self.config.confirm_n)):
                t.hits.append(False)
        else:
            self._refilter(t, m, prior)
        t.hits.append(True)
        while len(t.hits) > self.config.confirm_n:
            t.hits.popleft()
        self._trim(t)
        t.originators.update(m.originators)
        t.classifications.add(m.classification)
        t.report_count += 1
        if t.status == "tentative" and sum(t.hits) >= self.config.confirm_m:
            t.status = "confirmed"
        elif t.status == "coasting":
            t.status = "confirmed"
        self._set_row(t)

    def _refilter(self, t: _Track, m: Measurement, prior: IMMState) -> None:
        """A late report: update at its own time, then re-apply every later measurement."""
        self.late_reports += 1
        later = [(mm, s) for mm, s in t.history if mm.time > m.time]
        earlier = [(mm, s) for mm, s in t.history if mm.time <= m.time]
        state, _ = self.imm.correct(prior, m)
        history = deque(earlier)
        history.append((m, state))
        for mm, _ in later:
            state, _ = self.imm.update(state, mm)
            history.append((mm, state))
        t.history = history
        t.state = state

    def _trim(self, t: _Track) -> None:
        horizon = t.state.time - self.config.oosm_window_s
        while len(t.history) > 1 and t.history[0][0].time < horizon:
            _, t.base = t.history.popleft()

    # --- initiation, merging, deletion --------------------------------------------------------

    def _initiate(self, m: Measurement, changed: dict[int, _Track]) -> None:
        if m.kind == "ir":
            point = self.pairer.offer(m)
            if point is None:
                return
            m = point
        pair = self.seeds.offer(m)
        if pair is None:
            return
        a, b = pair
        x, P = two_point_state(a, b, self.config.init_accel_sigma)
        self._number += 1
        state = self.imm.start(b.m.time, x, P, p_boost=self.config.init_p_boost)
        # The older point's time is the base: a report between the two still finds a prior.
        t = _Track(self._number, f"{self.config.id_prefix}{self._number:04d}", state, state)
        t.history.append((b.m, state))
        for s in (a, b):
            t.originators.update(s.m.originators)
            t.classifications.add(s.m.classification)
        t.report_count = 2
        t.hits.extend([True, True])
        self.live.append(t)
        self._set_row(t)
        changed[t.number] = t

    def _merge_duplicates(self, t: _Track, changed: dict[int, _Track], deleted: list[_Track]) -> None:
        """Two tracks on one object (e.g. born from IR and from radar): keep the older."""
        if len(self.live) < 2:
            return
        dt = t.state.time - self._time
        pred = self._pos + self._vel * dt[:, None]
        near = np.nonzero(
            np.linalg.norm(pred - t.state.estimate()[0][0:3], axis=1) < 5.0 * (self._sig + self._sig[t.row])
        )[0]
        x, P = t.state.estimate()
        for row in near:
            other = self.live[row]
            if other is t or other.status == "deleted":
                continue
            xo, Po = self.imm.predict(other.state, t.state.time).estimate()
            d = (x - xo)[0:6]
            S = (P + Po)[0:6, 0:6]
            try:
                d2 = float(d @ np.linalg.solve(S, d))
            except np.linalg.LinAlgError:
                continue
            if d2 > self.merge_gate:
                continue
            keep, drop = (t, other) if _seniority(t) <= _seniority(other) else (other, t)
            keep.originators |= drop.originators
            keep.classifications |= drop.classifications
            self._remove(drop)
            drop.status = "deleted"
            changed.pop(drop.number, None)
            deleted.append(drop)
            if drop is t:
                return

    def _sweep(self, now: float) -> list[_Track]:
        """Delete tracks lost too long, tentative tracks that did not confirm, and tracks down."""
        c = self.config
        gone = []
        for t in self.live:
            age = now - t.last_time()
            if self._gone(t, now) if t.status != "tentative" else age > c.tentative_timeout_s:
                gone.append(t)
            elif age > c.coast_after_s and t.status == "confirmed":
                t.status = "coasting"
        for t in gone:
            self._remove(t)
            t.status = "deleted"
        return gone

    def _gone(self, t: _Track, now: float) -> bool:
        """Down, or lost. A ballistic track with a trusted impact prediction coasts on until
        then (its uncertainty growing): nothing more is coming, but the warning still needs it."""
        down = t.impact is not None and now > t.impact.time + 5.0
        if t.impact_final and t.impact is not None and t.impact.sigma_time_s < 60.0:
            return down
        age = now - t.last_time()
        # A track made of a handful of reports is let go sooner: it is more likely a false one.
        return age > self.config.delete_after_s or (t.report_count < 8 and age > self.config.coast_after_s)

    # --- bookkeeping ------------------------------------------------------------------

    def _set_row(self, t: _Track) -> None:
        x, P = t.state.estimate()
        if t.row < 0:
            t.row = len(self._time)
            self._pos = np.vstack((self._pos, x[None, 0:3]))
            self._vel = np.vstack((self._vel, x[None, 3:6]))
            self._time = np.append(self._time, t.state.time)
            self._sig = np.append(self._sig, 0.0)
        self._pos[t.row] = x[0:3]
        self._vel[t.row] = x[3:6]
        self._time[t.row] = t.state.time
        self._sig[t.row] = math.sqrt(max(float(np.trace(P[0:3, 0:3])), 0.0))

    def _remove(self, t: _Track) -> None:
        """Swap-remove t's row: O(1) instead of rebuilding the arrays."""
        row, last = t.row, len(self.live) - 1
        moved = self.live[last]
        self.live[row] = moved
        moved.row = row
        for arr in (self._pos, self._vel, self._time, self._sig):
            arr[row] = arr[last]
        self.live.pop()
        self._pos, self._vel = self._pos[:last], self._vel[:last]
        self._time, self._sig = self._time[:last], self._sig[:last]
        t.row = -1

    def _emit(
        self, t: _Track, status: str | None = None, predict_to: float | None = None, refresh: bool = False
    ) -> model.Track:
        state = t.state if predict_to is None else self.imm.predict(t.state, predict_to)
        x, P = state.estimate()
        phase = self.imm.phase(state)
        if refresh and t.status != "tentative" and self.config.products:
            self._refresh_products(t, x, P, state.time, phase)
        t.emitted = True
        lat, lon, h = _geodetic(float(x[0]), float(x[1]), float(x[2]))
        pos_var = _largest_eigenvalue(P)
        return model.Track(
            id=t.id,
            time=state.time,
            status=status or t.status,  # type: ignore[arg-type]
            phase=phase,  # type: ignore[arg-type]
            lat=float(lat),
            lon=float(lon),
            h=float(h),
            velocity_ecef=(float(x[3]), float(x[4]), float(x[5])),
            sigma_position_m=math.sqrt(max(float(pos_var), 0.0)),
            provenance=tuple(sorted(t.originators)),
            classification=model.most_restrictive(tuple(t.classifications)),  # type: ignore[arg-type]
            position_ecef=(float(x[0]), float(x[1]), float(x[2])),
            covariance=tuple(P[0:6, 0:6].ravel().tolist()),
            launch=t.launch,
            impact=t.impact,
            report_count=t.report_count,
        )

    def _refresh_products(self, t: _Track, x: np.ndarray, P: np.ndarray, time: float, phase: str) -> None:
        if time - t.impact_at >= self.config.impact_refresh_s or t.impact is None:
            t.impact = predict_impact(x, P, time)
            if t.impact is not None and phase == "boost" and not t.state.collapsed:
                # The path to the instantaneous impact point assumes thrust cut now: widen it
                # for the burn that may remain (the boost model's thrust, held along the velocity).
                thrust = float(np.linalg.norm(t.state.xs[0][6:9]))
                t.impact = boost_corridor(t.impact, x, thrust, self.config.boost_more_s)
            t.impact_at = time
            # Trusted for "it is down" only once burnout is settled (the boost model dropped).
            t.impact_final = t.impact is not None and t.state.collapsed
            # Keep the sharpest boost-phase estimate; back-propagate a ballistic arc only when
            # the track was never seen in boost.
            boosting = phase == "boost"
            if boosting or not t.launch_from_boost:
                launch = launch_estimate(x, P, time, boosting=boosting)
                better = t.launch is None or (boosting and not t.launch_from_boost)
                if launch is not None and (better or launch.sigma_km <= t.launch.sigma_km or not boosting):  # type: ignore[union-attr]
                    t.launch, t.launch_from_boost = launch, boosting


def _geodetic(x: float, y: float, z: float) -> tuple[float, float, float]:
    """:func:`meshwarn.geo.earth.ecef_to_geodetic` for one point in plain floats (Bowring, two
    iterations): a tenth of the cost for the per-report path."""
    p = math.hypot(x, y)
    lon = math.atan2(y, x)
    beta = math.atan2(z, p * (1.0 - F))
    lat = 0.0
    for _ in range(2):
        sb, cb = math.sin(beta), math.cos(beta)
        lat = math.atan2(z + EP2 * B * sb**3, p - E2 * A * cb**3)
        beta = math.atan2((1.0 - F) * math.sin(lat), math.cos(lat))
    sl = math.sin(lat)
    n = A / math.sqrt(1.0 - E2 * sl * sl)
    h = p * math.cos(lat) + (z + E2 * n * sl) * sl - n
    return math.degrees(lat), math.degrees(lon), h


def _largest_eigenvalue(P: np.ndarray) -> float:
    """Largest eigenvalue of the symmetric 3x3 position block, in closed form (Smith 1961)."""
    a, b, c = float(P[0, 0]), float(P[1, 1]), float(P[2, 2])
    d, e, f = float(P[0, 1]), float(P[0, 2]), float(P[1, 2])
    q = (a + b + c) / 3.0
    p1 = d * d + e * e + f * f
    p2 = (a - q) ** 2 + (b - q) ** 2 + (c - q) ** 2 + 2.0 * p1
    if p2 <= 1e-300:
        return max(q, 0.0)
    p = math.sqrt(p2 / 6.0)
    # det((A - qI) / p) / 2, clipped into [-1, 1] against rounding.
    a1, b1, c1 = (a - q) / p, (b - q) / p, (c - q) / p
    d1, e1, f1 = d / p, e / p, f / p
    r = 0.5 * (a1 * (b1 * c1 - f1 * f1) - d1 * (d1 * c1 - f1 * e1) + e1 * (d1 * f1 - b1 * e1))
    phi = math.acos(max(-1.0, min(1.0, r))) / 3.0
    return max(q + 2.0 * p * math.cos(phi), 0.0)


def _seniority(t: _Track) -> tuple[int, int]:
    """Confirmed before tentative, then the older number."""
    return (0 if t.status != "tentative" else 1, t.number)
