"""Surface tracking: vessel tracks from AIS (identity) and identity-less detections (radar, aircraft, imagery).

One constant-velocity Kalman filter per track in the regional metric frame, all tracks held as arrays
(state (N, 4) = east, north, v_east, v_north; covariance (N, 4, 4)), so a batch of thousands of reports
is a handful of NumPy operations. AIS reports update the track of their MMSI; a sensor scan's detections
are gated (Mahalanobis, chi-square 2 dof) against every live track's prediction and assigned by
``linear_sum_assignment``; detections that no track explains start detection-only tracks (vessels
without AIS). Every update is logged (track, time, state, report) for the anomaly stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pymap3d
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

from meshwarn.maritime.frame import LocalFrame, knots_to_mps
from meshwarn.model import CLASSIFICATIONS, AisPosition, AisStatic, Delivery, SurfaceDetection, Track

GATE = 13.8  # chi-square, 2 dof, 99.9%
BIRTH_GATE = 30.0  # a detection this close to any track does not start a new one
CONFIRM_HITS = 3
TENTATIVE_GATE_M = 5000.0


@dataclass
class Columns:
    """Reports as columns: AIS positions and detections, each row pointing at its report."""

    report_ids: list[str] = field(default_factory=list)
    partners: list[str] = field(default_factory=list)
    sensors: list[str] = field(default_factory=list)
    static: dict[int, AisStatic] = field(default_factory=dict)
    ais: dict[str, np.ndarray] = field(default_factory=dict)
    det: dict[str, np.ndarray] = field(default_factory=dict)
    report_partner: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int16))
    report_level: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    report_length: np.ndarray = field(default_factory=lambda: np.zeros(0))  # detections' length estimate, m

    def static_length(self, mmsi: int) -> float:
        static = self.static.get(int(mmsi))
        return static.length_m if static is not None and static.length_m > 0 else np.nan


def columns_of(deliveries: list[Delivery], frame: LocalFrame) -> Columns:
    """Split deliveries into AIS and detection columns (in the frame); other kinds are ignored here."""
    cols = Columns()
    partner_index: dict[str, int] = {}
    sensor_index: dict[str, int] = {}
    ais_rows: list[tuple] = []
    det_rows: list[tuple] = []
    rep_partner, rep_level = [], []
    for delivery in deliveries:
        report, body = delivery.report, delivery.report.body
        if not isinstance(body, AisPosition | SurfaceDetection | AisStatic):
            continue
        if isinstance(body, AisStatic):
            known = cols.static.get(body.mmsi)
            cols.static[body.mmsi] = body if known is None or body.length_m else known
            continue
        rep = len(cols.report_ids)
        cols.report_ids.append(report.id)
        origin = report.label.originator
        p = partner_index.setdefault(origin, len(partner_index))
        rep_partner.append(p)
        rep_level.append(CLASSIFICATIONS.index(report.label.classification))
        if isinstance(body, AisPosition):
            sog = body.sog_knots if body.sog_knots is not None else np.nan
            cog = body.cog_deg if body.cog_deg is not None else np.nan
            ais_rows.append((body.time, body.mmsi, body.lat, body.lon, sog, cog, rep))
        else:
            s = sensor_index.setdefault(body.sensor, len(sensor_index))
            det_rows.append((body.time, s, body.lat, body.lon, body.sigma_m, body.length_m or np.nan, rep))
    cols.partners = list(partner_index)
    cols.sensors = list(sensor_index)
    cols.report_partner = np.array(rep_partner, dtype=np.int16)
    cols.report_level = np.array(rep_level, dtype=np.int8)
    a = np.array(ais_rows, dtype=float).reshape(-1, 7)
    x, y = frame.to_xy(a[:, 2], a[:, 3])
    speed, course = knots_to_mps(a[:, 4]), np.radians(a[:, 5])
    cols.ais = {
        "t": a[:, 0], "mmsi": a[:, 1].astype(np.int64), "x": x, "y": y,
        "vx": speed * np.sin(course), "vy": speed * np.cos(course), "rep": a[:, 6].astype(np.int64),
    }  # fmt: skip
    d = np.array(det_rows, dtype=float).reshape(-1, 7)
    x, y = frame.to_xy(d[:, 2], d[:, 3])
    cols.report_length = np.full(len(cols.report_ids), np.nan)
    cols.report_length[d[:, 6].astype(np.int64)] = d[:, 5]
    cols.det = {
        "t": d[:, 0], "sensor": d[:, 1].astype(np.int32), "x": x, "y": y, "sigma": d[:, 4],
        "length": d[:, 5], "rep": d[:, 6].astype(np.int64),
    }  # fmt: skip
    return cols


def predict(x: np.ndarray, P: np.ndarray, dt: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    """Constant-velocity prediction of many tracks, each by its own dt (white-noise acceleration q, m^2/s^3)."""
    x = x.copy()
    x[:, :2] += x[:, 2:] * dt[:, None]
    dt2 = dt[:, None, None]
    Pxx, Pxv, Pvv = P[:, :2, :2], P[:, :2, 2:], P[:, 2:, 2:]
    out = np.empty_like(P)
    eye = np.eye(2)[None]
    out[:, :2, :2] = Pxx + dt2 * (Pxv + Pxv.transpose(0, 2, 1)) + dt2**2 * Pvv + eye * q * dt2**3 / 3
    out[:, :2, 2:] = Pxv + dt2 * Pvv + eye * q * dt2**2 / 2
    out[:, 2:, :2] = out[:, :2, 2:].transpose(0, 2, 1)
    out[:, 2:, 2:] = Pvv + eye * q * dt2
    return x, out


def update(x, P, z, R, H_rows: int):
    """Kalman update of many tracks with measurements of their first H_rows state components."""
    Hx = x[:, :H_rows]
    S = P[:, :H_rows, :H_rows] + R
    K = np.linalg.solve(S, P[:, :H_rows, :]).transpose(0, 2, 1)  # P H' S^-1, S symmetric
    innovation = z - Hx
    x = x + np.einsum("nij,nj->ni", K, innovation)
    P = P - np.einsum("nij,njk->nik", K, P[:, :H_rows, :])
    P = 0.5 * (P + P.transpose(0, 2, 1))
    return x, P


class SurfaceTracker:
    def __init__(
        self, frame: LocalFrame, ais_sigma_m: float = 30.0, accel_sigma: float = 0.05, capacity: int = 1024
    ) -> None:
        self.frame = frame
        self.ais_sigma = ais_sigma_m
        self.q = accel_sigma**2
        self.n = 0
        self.x = np.zeros((capacity, 4))
        self.P = np.zeros((capacity, 4, 4))
        self.t = np.zeros(capacity)
        self.mmsi = np.zeros(capacity, dtype=np.int64)
        self.alive = np.zeros(capacity, dtype=bool)
        self.n_ais = np.zeros(capacity, dtype=np.int32)
        self.n_det = np.zeros(capacity, dtype=np.int32)
        self.first = np.zeros(capacity)
        self.last_ais = np.full(capacity, -np.inf)
        self.last_det = np.full(capacity, -np.inf)
        self.partners = np.zeros(capacity, dtype=np.int64)  # bit per partner index
        self.level = np.zeros(capacity, dtype=np.int8)
        self.index_of: dict[int, int] = {}
        self.merged_into: dict[int, int] = {}
        self._log: list[tuple[np.ndarray, ...]] = []
        self._scans = 0

    # --- storage --------------------------------------------------------------------------------

    def _grow(self, needed: int) -> None:
        if needed <= len(self.t):
            return
        size = max(needed, 2 * len(self.t))
        for name in ("x", "P", "t", "mmsi", "alive", "n_ais", "n_det", "first", "last_ais", "last_det",
                     "partners", "level"):  # fmt: skip
            old = getattr(self, name)
            new = np.zeros((size, *old.shape[1:]), dtype=old.dtype)
            if name in ("last_ais", "last_det"):
                new[:] = -np.inf
            new[: len(old)] = old
            setattr(self, name, new)

    def _new(self, t, x, P, mmsi) -> np.ndarray:
        m = len(t)
        self._grow(self.n + m)
        idx = np.arange(self.n, self.n + m)
        self.n += m
        self.x[idx], self.P[idx], self.t[idx], self.first[idx] = x, P, t, t
        self.mmsi[idx], self.alive[idx] = mmsi, True
        return idx

    def _log_rows(self, idx, t, rep, scan: int) -> None:
        x = self.x[idx]
        self._log.append((idx.astype(np.int64), np.asarray(t, float), x[:, 0].copy(), x[:, 1].copy(),
                          x[:, 2].copy(), x[:, 3].copy(), np.asarray(rep, np.int64), np.full(len(idx), scan)))  # fmt: skip

    def log(self) -> dict[str, np.ndarray]:
        """Every update so far: track, t, x, y, vx, vy, rep, scan (-1 for AIS); merged tracks renamed."""
        names = ("track", "t", "x", "y", "vx", "vy", "rep", "scan")
        if not self._log:
            return {k: np.zeros(0) for k in names}
        cols = {k: np.concatenate([row[i] for row in self._log]) for i, k in enumerate(names)}
        if self.merged_into:
            target = np.arange(self.n)
            for src, dst in self.merged_into.items():
                target[src] = dst
            for _ in range(3):  # chains of merges
                target = target[target]
            cols["track"] = target[cols["track"]]
        return cols

    # --- AIS ------------------------------------------------------------------------------------

    def update_ais(self, t, mmsi, x, y, vx, vy, rep, partner_bits, level) -> None:
        """One AIS position per MMSI (the caller splits repeats into successive calls)."""
        idx = np.array([self.index_of.get(int(m), -1) for m in mmsi], dtype=np.int64)
        fresh = idx < 0
        if fresh.any():
            idx[fresh] = self._start_ais(t[fresh], mmsi[fresh], x[fresh], y[fresh], vx[fresh], vy[fresh])
        old = ~fresh
        if old.any():
            self._update_ais(idx[old], t[old], x[old], y[old], vx[old], vy[old])
        self.n_ais[idx] += 1
        self.last_ais[idx] = np.maximum(self.last_ais[idx], t)
        self.partners[idx] |= partner_bits
        self.level[idx] = np.maximum(self.level[idx], level)
        self._log_rows(idx, t, rep, -1)

    def _start_ais(self, t, mmsi, x, y, vx, vy) -> np.ndarray:
        z = np.column_stack([x, y, np.nan_to_num(vx), np.nan_to_num(vy)])
        P = np.zeros((len(t), 4, 4))
        P[:, 0, 0] = P[:, 1, 1] = self.ais_sigma**2
        P[:, 2, 2] = P[:, 3, 3] = np.where(np.isnan(vx), 25.0, 0.25)
        idx = self._new(t, z, P, mmsi)
        for i, m in zip(idx, mmsi, strict=True):
            self.index_of[int(m)] = int(i)
        self._absorb_ghosts(idx)
        return idx

    def _absorb_ghosts(self, idx: np.ndarray) -> None:
        """A new AIS track takes over a detection-only track at its position: the same vessel, now named."""
        ghosts = np.flatnonzero(self.alive[: self.n] & (self.mmsi[: self.n] == 0))
        if len(ghosts) == 0:
            return
        gx, _ = predict(
            self.x[ghosts], self.P[ghosts], np.maximum(self.t[idx].max() - self.t[ghosts], 0), self.q
        )
        dist, near = cKDTree(gx[:, :2]).query(self.x[idx, :2], distance_upper_bound=2000.0)
        for track, d, g in zip(idx, dist, near, strict=True):
            if np.isfinite(d) and self.alive[ghosts[g]]:
                ghost = ghosts[g]
                self.alive[ghost] = False
                self.merged_into[int(ghost)] = int(track)
                self.n_det[track] += self.n_det[ghost]
                self.last_det[track] = max(self.last_det[track], self.last_det[ghost])
                self.partners[track] |= self.partners[ghost]
                self.level[track] = max(self.level[track], self.level[ghost])

    def _update_ais(self, idx, t, x, y, vx, vy) -> None:
        xp, Pp = predict(self.x[idx], self.P[idx], np.maximum(t - self.t[idx], 0.0), self.q)
        has_v = ~np.isnan(vx)
        z = np.column_stack([x, y, np.nan_to_num(vx), np.nan_to_num(vy)])
        R = np.zeros((len(idx), 4, 4))
        R[:, 0, 0] = R[:, 1, 1] = self.ais_sigma**2
        R[:, 2, 2] = R[:, 3, 3] = np.where(has_v, 0.25, 1e6)
        xn, Pn = update(xp, Pp, z, R, 4)
        # an AIS jump far beyond the track's errors is a new claim (or a spoof): restart from it
        d = np.hypot(x - xp[:, 0], y - xp[:, 1])
        jump = d > 6.0 * np.sqrt(Pp[:, 0, 0] + Pp[:, 1, 1] + self.ais_sigma**2) + 500.0
        xn[jump] = z[jump]
        Pn[jump] = R[jump]
        Pn[jump, 2, 2] = Pn[jump, 3, 3] = np.where(has_v[jump], 0.25, 25.0)
        self.x[idx], self.P[idx], self.t[idx] = xn, Pn, np.maximum(t, self.t[idx])

    # --- detections -----------------------------------------------------------------------------

    def update_scan(
        self, t: float, x, y, sigma, rep, partner_bits, level, max_gate_m: float = 10_000.0
    ) -> None:
        """One sensor look: assign its detections to tracks, update them, start tracks for the rest."""
        self._scans += 1
        scan = self._scans
        live = np.flatnonzero(self.alive[: self.n])
        m = len(x)
        assigned_det = np.zeros(m, dtype=bool)
        near_any = np.zeros(m, dtype=bool)
        if len(live):
            xp, Pp = predict(self.x[live], self.P[live], np.maximum(t - self.t[live], 0.0), self.q)
            # a track of one or two detections knows no velocity: keep its gate small, or clutter feeds it
            tentative = (self.mmsi[live] == 0) & (self.n_det[live] < CONFIRM_HITS)
            reach = np.where(tentative, min(TENTATIVE_GATE_M, max_gate_m), max_gate_m)
            pairs_t, pairs_d, d2, logdet = self._gate(xp, Pp, x, y, sigma, reach)
            near_any[pairs_d[d2 < BIRTH_GATE]] = True
            ok = d2 < GATE
            pairs_t, pairs_d, d2, logdet = pairs_t[ok], pairs_d[ok], d2[ok], logdet[ok]
            if len(pairs_t):
                rows, inv_t = np.unique(pairs_t, return_inverse=True)
                cols_, inv_d = np.unique(pairs_d, return_inverse=True)
                # negative log-likelihood: a vague track must not win a detection from a sharp one
                cost = np.full((len(rows), len(cols_)), 1e9)
                cost[inv_t, inv_d] = d2 + logdet
                r, c = linear_sum_assignment(cost)
                good = cost[r, c] < 1e8
                tr, de = rows[r[good]], cols_[c[good]]
                self._update_det(live[tr], xp[tr], Pp[tr], t, x[de], y[de], sigma[de], rep[de], scan)
                self.partners[live[tr]] |= partner_bits
                self.level[live[tr]] = np.maximum(self.level[live[tr]], level)
                assigned_det[de] = True
        births = np.flatnonzero(~assigned_det & ~near_any)
        if len(births):
            z = np.column_stack([x[births], y[births], np.zeros(len(births)), np.zeros(len(births))])
            P = np.zeros((len(births), 4, 4))
            P[:, 0, 0] = P[:, 1, 1] = sigma[births] ** 2
            P[:, 2, 2] = P[:, 3, 3] = 25.0
            idx = self._new(np.full(len(births), t), z, P, 0)
            self.n_det[idx] = 1
            self.last_det[idx] = t
            self.partners[idx] |= partner_bits
            self.level[idx] = np.maximum(self.level[idx], level)
            self._log_rows(idx, np.full(len(idx), t), rep[births], scan)

    def _gate(self, xp, Pp, x, y, sigma, max_gate_m):
        """Candidate (track, detection) pairs and their squared Mahalanobis distances."""
        spread = np.sqrt(np.maximum(Pp[:, 0, 0], Pp[:, 1, 1]) + sigma.max() ** 2)
        radius = np.minimum(np.sqrt(BIRTH_GATE) * spread, max_gate_m)
        hits = cKDTree(np.column_stack([x, y])).query_ball_point(xp[:, :2], radius)
        lengths = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
        if lengths.sum() == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0), np.zeros(0)
        pairs_t = np.repeat(np.arange(len(hits)), lengths)
        pairs_d = np.concatenate([np.asarray(h, dtype=np.int64) for h in hits if h])
        S = Pp[pairs_t, :2, :2] + (sigma[pairs_d] ** 2)[:, None, None] * np.eye(2)
        dx = np.column_stack([x[pairs_d] - xp[pairs_t, 0], y[pairs_d] - xp[pairs_t, 1]])
        det = S[:, 0, 0] * S[:, 1, 1] - S[:, 0, 1] ** 2
        d2 = (
            S[:, 1, 1] * dx[:, 0] ** 2 - 2 * S[:, 0, 1] * dx[:, 0] * dx[:, 1] + S[:, 0, 0] * dx[:, 1] ** 2
        ) / det
        return pairs_t, pairs_d, d2, np.log(det)

    def _update_det(self, idx, xp, Pp, t, x, y, sigma, rep, scan) -> None:
        R = (sigma**2)[:, None, None] * np.eye(2)[None]
        xn, Pn = update(xp, Pp, np.column_stack([x, y]), R, 2)
        self.x[idx], self.P[idx], self.t[idx] = xn, Pn, t
        self.n_det[idx] += 1
        self.last_det[idx] = t
        self._log_rows(idx, np.full(len(idx), t), rep, scan)

    # --- management and output ------------------------------------------------------------------

    def prune(self, now: float, tentative_s: float = 1200.0, confirmed_s: float = 10_800.0) -> None:
        """Detection-only tracks die when unseen: tentative ones soon, confirmed ones after hours."""
        n = self.n
        det_only = self.alive[:n] & (self.mmsi[:n] == 0)
        silent = now - self.last_det[:n]
        dead = det_only & (
            ((self.n_det[:n] < CONFIRM_HITS) & (silent > tentative_s)) | (silent > confirmed_s)
        )
        self.alive[:n] &= ~dead

    def track_id(self, i: int) -> str:
        return f"V{self.mmsi[i]}" if self.mmsi[i] else f"S{i}"

    def status(self, now: float) -> np.ndarray:
        n = self.n
        last = np.maximum(self.last_ais[:n], self.last_det[:n])
        status = np.where(now - last > 900.0, "coasting", "confirmed").astype(object)
        status[(self.mmsi[:n] == 0) & (self.n_det[:n] < CONFIRM_HITS)] = "tentative"
        status[~self.alive[:n]] = "deleted"
        return status

    def snapshot(self, now: float, partners: list[str]) -> list[Track]:
        """Tracks (domain 'surface') of all live vessels, predicted to now."""
        live = np.flatnonzero(self.alive[: self.n])
        if len(live) == 0:
            return []
        xp, Pp = predict(self.x[live], self.P[live], np.maximum(now - self.t[live], 0.0), self.q)
        lat, lon = self.frame.to_latlon(xp[:, 0], xp[:, 1])
        ex, ey, ez = pymap3d.geodetic2ecef(lat, lon, 0.0)
        vx, vy, vz = pymap3d.enu2uvw(xp[:, 2], xp[:, 3], 0.0, lat, lon)
        sigma = np.sqrt(Pp[:, 0, 0] + Pp[:, 1, 1])
        status = self.status(now)[live]
        out = []
        for k, i in enumerate(live):
            bits = int(self.partners[i])
            provenance = tuple(sorted(p for j, p in enumerate(partners) if bits >> j & 1))
            out.append(
                Track(
                    id=self.track_id(i), time=now, status=status[k], phase="surface", lat=float(lat[k]),
                    lon=float(lon[k]), h=0.0, velocity_ecef=(float(vx[k]), float(vy[k]), float(vz[k])),
                    sigma_position_m=float(sigma[k]), provenance=provenance,
                    classification=CLASSIFICATIONS[int(self.level[i])], domain="surface",
                    position_ecef=(float(ex[k]), float(ey[k]), float(ez[k])),
                    report_count=int(self.n_ais[i] + self.n_det[i]),
                )
            )  # fmt: skip
        return out


def run(cols: Columns, tracker: SurfaceTracker, ais_bin_s: float = 30.0, snapshot_s: float = 0.0):
    """Feed all reports in time order: AIS in bins of ais_bin_s, detections one sensor look at a time.

    Yields (time, tracks) every snapshot_s of data time when snapshot_s > 0.
    """
    batches = _batches(cols, ais_bin_s)
    bits = (1 << cols.report_partner.astype(np.int64)) if len(cols.report_partner) else np.zeros(0, np.int64)
    next_snap = batches[0][0] + snapshot_s if batches and snapshot_s else np.inf
    last_prune = -np.inf
    for when, kind, rows in batches:
        while when >= next_snap:
            yield next_snap, tracker.snapshot(next_snap, cols.partners)
            next_snap += snapshot_s
        if when - last_prune > 300.0:
            tracker.prune(when)
            last_prune = when
        if kind == 0:
            a = cols.ais
            for group in _ranks(a["mmsi"][rows]):
                r = rows[group]
                rep = a["rep"][r]
                tracker.update_ais(a["t"][r], a["mmsi"][r], a["x"][r], a["y"][r], a["vx"][r], a["vy"][r],
                                   rep, bits[rep], cols.report_level[rep])  # fmt: skip
        else:
            d = cols.det
            rep = d["rep"][rows]
            tracker.update_scan(when, d["x"][rows], d["y"][rows], d["sigma"][rows], rep,
                                np.bitwise_or.reduce(bits[rep]), cols.report_level[rep].max())  # fmt: skip
    if snapshot_s:
        yield (
            batches[-1][0] if batches else 0.0,
            tracker.snapshot(batches[-1][0] if batches else 0.0, cols.partners),
        )


def _batches(cols: Columns, ais_bin_s: float) -> list[tuple[float, int, np.ndarray]]:
    out: list[tuple[float, int, np.ndarray]] = []
    t = cols.ais.get("t", np.zeros(0))
    if len(t):
        order = np.argsort(t, kind="stable")
        bins = np.floor(t[order] / ais_bin_s)
        cuts = np.flatnonzero(np.diff(bins)) + 1
        for chunk in np.split(order, cuts):
            out.append((float(t[chunk].max()), 0, chunk))
    d = cols.det
    if len(d.get("t", ())):
        key = np.round(d["t"]).astype(np.int64) * 4096 + d["sensor"]
        order = np.argsort(key, kind="stable")
        cuts = np.flatnonzero(np.diff(key[order])) + 1
        for chunk in np.split(order, cuts):
            out.append((float(d["t"][chunk].mean()), 1, chunk))
    out.sort(key=lambda b: (b[0], b[1]))
    return out


def _ranks(keys: np.ndarray) -> list[np.ndarray]:
    """Positions split so that no key repeats within a group (1st occurrences, then 2nd, ...), in order."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    first = np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(len(keys)), 0))
    rank = np.empty(len(keys), dtype=np.int64)
    rank[order] = np.arange(len(keys)) - start
    return [np.flatnonzero(rank == r) for r in range(int(rank.max()) + 1)] if len(keys) else []
