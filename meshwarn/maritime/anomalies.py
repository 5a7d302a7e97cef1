"""Maritime anomalies from the surface tracker's update log, each with the reports that show it.

Tracks are resampled on a common 5-minute grid (NaN where a track was not seen for 30 min), so every
test below is an array operation over all tracks at once:
- ais_gap: an AIS track silent for more than 30 minutes (evidence: the last AIS before, the first after,
  and any detections that kept the vessel in sight meanwhile);
- spoofing: an AIS track that sensors do not confirm, moving in parallel with a detection-only track at a
  steady offset beyond their errors (the vessel is where the sensors see it, not where it says);
- dark_vessel: a confirmed detection-only track that no AIS track explains (not a spoofer's true position,
  not a duplicate that stays with an AIS track);
- loitering: a track staying within 2 km for 2 hours, away from ports;
- rendezvous: two tracks within 1 km, both slower than 3 kn, for 30 minutes, away from ports, seen as two
  (two detections in the same sensor look, or two MMSIs);
- zone_entry: a track entering a zone polygon after 30 minutes outside.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree
from shapely import contains_xy
from shapely.geometry import Polygon

from meshwarn.errors import InputError
from meshwarn.maritime.frame import LocalFrame
from meshwarn.maritime.surface import CONFIRM_HITS, Columns, SurfaceTracker
from meshwarn.model import CLASSIFICATIONS, Anomaly

GRID_S = 300.0
HOLD_S = 1800.0  # a track is interpolated across at most this silence
AIS_GAP_S = 1800.0
LOITER_S = 7200.0
LOITER_EXTENT_M = 2000.0
MEET_M = 1000.0
MEET_SPEED_MPS = 1.5
MEET_S = 1800.0
PORT_KM = 20.0
MAX_EVIDENCE = 40
WOBBLE_M = 1500.0  # spread of a spoofer's AIS-to-sensor offset (2,500 m tried: more false pairs)
GHOST_M = 1000.0  # a detection-only track this close to an AIS track (median) is the same vessel


@dataclass
class Picture:
    """The tracker's history on a grid: x, y, vx, vy of shape (tracks, grid)."""

    times: np.ndarray
    x: np.ndarray
    y: np.ndarray
    vx: np.ndarray
    vy: np.ndarray
    log: dict[str, np.ndarray]
    bounds: np.ndarray  # (tracks + 1,) log rows of track i are order[bounds[i]:bounds[i + 1]]
    order: np.ndarray

    def rows(self, i: int, t0: float = -np.inf, t1: float = np.inf, scan_only: bool = False) -> np.ndarray:
        rows = self.order[self.bounds[i] : self.bounds[i + 1]]
        t = self.log["t"][rows]
        keep = (t >= t0) & (t <= t1)
        if scan_only:
            keep &= self.log["scan"][rows] >= 0
        return rows[keep]


def picture_of(tracker: SurfaceTracker, t0: float, t1: float) -> Picture:
    log = tracker.log()
    n = tracker.n
    order = np.lexsort((log["t"], log["track"]))
    bounds = np.searchsorted(log["track"][order], np.arange(n + 1))
    times = np.arange(t0, t1 + 1.0, GRID_S)
    grids = {k: np.full((n, len(times)), np.nan) for k in ("x", "y", "vx", "vy")}
    for i in range(n):
        rows = order[bounds[i] : bounds[i + 1]]
        if len(rows) == 0:
            continue
        t = log["t"][rows]
        inside = (times >= t[0]) & (times <= t[-1])
        near = np.searchsorted(t, times[inside])
        before = t[np.clip(near - 1, 0, len(t) - 1)]
        after = t[np.clip(near, 0, len(t) - 1)]
        held = np.minimum(np.abs(times[inside] - before), np.abs(after - times[inside])) <= HOLD_S
        cols = np.flatnonzero(inside)[held]
        for k in grids:
            grids[k][i, cols] = np.interp(times[cols], t, log[k][rows])
    return Picture(times, grids["x"], grids["y"], grids["vx"], grids["vy"], log, bounds, order)


class AnomalyFinder:
    def __init__(self, tracker: SurfaceTracker, cols: Columns, frame: LocalFrame, scenario: dict) -> None:
        self.tracker, self.cols, self.frame = tracker, cols, frame
        self.ports = np.array([frame.to_xy(p["lat"], p["lon"]) for p in scenario.get("ports", [])]).reshape(
            -1, 2
        )
        self.zones = [
            (z.get("name", z.get("region", "")), zone_geometry(z)) for z in scenario.get("zones", [])
        ]
        self.out: list[Anomaly] = []

    def find(self, t0: float, t1: float) -> list[Anomaly]:
        self.pic = pic = picture_of(self.tracker, t0, t1)
        n = self.tracker.n
        counts = np.diff(pic.bounds)
        det_hits = np.bincount(pic.log["track"][pic.log["scan"] >= 0], minlength=n)[:n]
        is_ais = self.tracker.mmsi[:n] != 0
        self.real = is_ais & (counts > 0)
        candidates = np.flatnonzero(~is_ais & (det_hits >= CONFIRM_HITS))
        self._ais_gaps(np.flatnonzero(self.real), t1)
        explained = self._spoofing(candidates, np.flatnonzero(self.real))
        dark = self._dark(candidates, explained)
        self.real[dark] = True
        self.real[list(explained)] = True
        kept = np.flatnonzero(self.real)
        self._loitering(kept)
        self._rendezvous(kept)
        self._zone_entries(kept)
        self.out.sort(key=lambda a: (a.time, a.kind, a.id))
        return self.out

    # --- helpers ----------------------------------------------------------------------------------

    def _emit(
        self, kind: str, tracks: list[int], t0: float, t1: float, x: float, y: float, rows, **extra
    ) -> None:
        rows = (
            np.unique(np.concatenate([np.asarray(r, dtype=np.int64) for r in rows]))
            if rows
            else np.zeros(0, int)
        )
        reps = self.pic.log["rep"][rows]
        keep = (
            reps
            if len(reps) <= MAX_EVIDENCE
            else np.r_[reps[: MAX_EVIDENCE // 2], reps[-MAX_EVIDENCE // 2 :]]
        )
        partners = sorted({self.cols.partners[p] for p in self.cols.report_partner[reps]})
        level = int(self.cols.report_level[reps].max()) if len(reps) else 0
        lat, lon = self.frame.to_latlon(x, y)
        ids = [self.tracker.track_id(i) for i in tracks]
        self.out.append(
            Anomaly(
                id=f"{kind}-{'-'.join(ids)}-{int(t0)}", kind=kind, time=float(t0), end_time=float(t1),
                lat=float(lat), lon=float(lon), tracks=tuple(ids),
                mmsi=tuple(int(self.tracker.mmsi[i]) for i in tracks if self.tracker.mmsi[i]),
                evidence=tuple(self.cols.report_ids[r] for r in keep), evidence_partners=tuple(partners),
                provenance=tuple(partners), classification=CLASSIFICATIONS[level], **extra,
            )
        )  # fmt: skip

    def _near_port(self, x, y) -> np.ndarray:
        if len(self.ports) == 0:
            return np.zeros(np.shape(x), dtype=bool)
        d, _ = cKDTree(self.ports).query(np.column_stack([np.ravel(x), np.ravel(y)]))
        return (d < PORT_KM * 1e3).reshape(np.shape(x))

    def _sensor_names(self, rows) -> str:
        return ", ".join(
            sorted({self.cols.report_ids[r].rsplit("-", 1)[0] for r in self.pic.log["rep"][rows]})
        )

    # --- kinds ------------------------------------------------------------------------------------

    def _ais_gaps(self, ais_tracks: np.ndarray, t_end: float) -> None:
        log = self.pic.log
        for i in ais_tracks:
            rows = self.pic.rows(i)
            ais_rows = rows[log["scan"][rows] < 0]
            t = log["t"][ais_rows]
            ends = np.r_[t[1:], t_end]
            for k in np.flatnonzero(ends - t > AIS_GAP_S):
                during = self.pic.rows(i, t[k], ends[k], scan_only=True)
                after = [ais_rows[k + 1 : k + 2]] if k + 1 < len(ais_rows) else []
                seen = (
                    f"; {len(during)} detections meanwhile ({self._sensor_names(during)})"
                    if len(during)
                    else ""
                )
                self._emit(
                    "ais_gap", [i], t[k], ends[k], log["x"][ais_rows[k]], log["y"][ais_rows[k]],
                    [ais_rows[k : k + 1], during, *after], detail=f"no AIS for {(ends[k] - t[k]) / 60:.0f} min{seen}",
                )  # fmt: skip

    def _spoofing(self, candidates: np.ndarray, ais_tracks: np.ndarray) -> set[int]:
        """Detection-only tracks that are an AIS vessel seen where it really is; returns them.

        Pairs are taken steadiest first, each track at most once, so a spoofer's true track wins over a
        vessel that merely lies still near the false position.
        """
        pic, log = self.pic, self.pic.log
        pairs: list[tuple[float, int, int, float]] = []
        if len(ais_tracks) == 0:
            return set()
        claimed = np.array([self.cols.static_length(self.tracker.mmsi[a]) for a in ais_tracks])
        for s in candidates:
            valid = ~np.isnan(pic.x[s])
            if valid.sum() < 4:
                continue
            dx = pic.x[ais_tracks][:, valid] - pic.x[s, valid]
            dy = pic.y[ais_tracks][:, valid] - pic.y[s, valid]
            common = (~np.isnan(dx)).sum(axis=1)
            with _quiet():
                mean = np.hypot(np.nanmean(dx, axis=1), np.nanmean(dy, axis=1))
                wobble = np.hypot(np.nanstd(dx, axis=1), np.nanstd(dy, axis=1))
                s_rows = pic.rows(s, scan_only=True)
                seen_length = np.nanmedian(self.cols.report_length[log["rep"][s_rows]])
            ok = (
                (common >= max(4, 0.5 * valid.sum()))
                & (wobble < WOBBLE_M)
                & (mean > 2000.0)
                & (mean < 60_000.0)
            )
            mismatch = np.abs(np.log(seen_length / claimed)) > np.log(1.6)
            ok &= ~(mismatch & np.isfinite(claimed) & np.isfinite(seen_length))
            t0, t1 = log["t"][s_rows[0]], log["t"][s_rows[-1]]
            for j in np.flatnonzero(ok):
                # sensors that do see a vessel where the AIS says it is: no spoof
                if len(pic.rows(ais_tracks[j], t0, t1, scan_only=True)) <= 0.25 * len(s_rows):
                    pairs.append((float(wobble[j]), int(s), int(ais_tracks[j]), float(mean[j])))
        explained: set[int] = set()
        used: set[int] = set()
        for _, s, a, offset in sorted(pairs):
            if s in explained or a in used:
                continue
            explained.add(s)
            used.add(a)
            s_rows = pic.rows(s, scan_only=True)
            t0, t1 = log["t"][s_rows[0]], log["t"][s_rows[-1]]
            self._emit(
                "spoofing", [a, s], t0, t1, log["x"][s_rows[0]], log["y"][s_rows[0]], [pic.rows(a, t0, t1), s_rows],
                detail=f"AIS position {offset / 1000:.1f} km from where {self._sensor_names(s_rows)} see it",
            )  # fmt: skip
        return explained

    def _dark(self, candidates: np.ndarray, explained: set[int]) -> list[int]:
        pic, log = self.pic, self.pic.log
        ais = np.flatnonzero(self.tracker.mmsi[: self.tracker.n] != 0)
        dark = []
        for s in candidates:
            if int(s) in explained:
                continue
            valid = ~np.isnan(pic.x[s])
            if valid.any() and len(ais):
                d = np.hypot(pic.x[ais][:, valid] - pic.x[s, valid], pic.y[ais][:, valid] - pic.y[s, valid])
                with _quiet():
                    close = np.nanmedian(np.where(np.isnan(d), np.inf, d), axis=1)
                if close.min() < GHOST_M:
                    continue  # a duplicate of an AIS vessel, not a vessel of its own
            rows = pic.rows(s, scan_only=True)
            dark.append(int(s))
            self._emit(
                "dark_vessel", [s], log["t"][rows[0]], log["t"][rows[-1]], log["x"][rows[0]], log["y"][rows[0]],
                [rows], detail=f"{len(rows)} detections, no AIS ({self._sensor_names(rows)})",
            )  # fmt: skip
        return dark

    def _loitering(self, tracks: np.ndarray) -> None:
        pic = self.pic
        w = int(LOITER_S / GRID_S) + 1
        if len(tracks) == 0 or pic.x.shape[1] < w:
            return
        x = np.lib.stride_tricks.sliding_window_view(pic.x[tracks], w, axis=1)
        y = np.lib.stride_tricks.sliding_window_view(pic.y[tracks], w, axis=1)
        with _quiet():
            extent = np.maximum(x.max(axis=2) - x.min(axis=2), y.max(axis=2) - y.min(axis=2))
            cx, cy = x.mean(axis=2), y.mean(axis=2)
        flag = (extent < LOITER_EXTENT_M) & ~np.isnan(extent)
        flag[flag] &= ~self._near_port(cx[flag], cy[flag])
        for k, start, stop in _runs(flag):
            i = tracks[k]
            t0, t1 = pic.times[start], pic.times[stop - 1 + w - 1]
            self._emit(
                "loitering", [i], t0, t1, cx[k, start], cy[k, start], [pic.rows(i, t0, t1)],
                detail=f"within {LOITER_EXTENT_M / 1000:.0f} km for {(t1 - t0) / 3600:.1f} h",
            )  # fmt: skip

    def _rendezvous(self, tracks: np.ndarray) -> None:
        pic, log = self.pic, self.pic.log
        pairs: dict[tuple[int, int], list[int]] = {}
        speed = np.hypot(pic.vx[tracks], pic.vy[tracks])
        for g in range(len(pic.times)):
            slow = np.flatnonzero(speed[:, g] < MEET_SPEED_MPS)
            if len(slow) < 2:
                continue
            xy = np.column_stack([pic.x[tracks[slow], g], pic.y[tracks[slow], g]])
            for a, b in cKDTree(xy).query_pairs(MEET_M):
                key = tuple(sorted((int(tracks[slow[a]]), int(tracks[slow[b]]))))
                pairs.setdefault(key, []).append(g)
        need = int(MEET_S / GRID_S)
        for (i, k), grid in pairs.items():
            grid_arr = np.array(grid)
            for start, stop in _consecutive(grid_arr):
                if stop - start < need:
                    continue
                t0, t1 = pic.times[start], pic.times[stop - 1]
                cx = 0.5 * (pic.x[i, start] + pic.x[k, start])
                cy = 0.5 * (pic.y[i, start] + pic.y[k, start])
                if self._near_port(np.array([cx]), np.array([cy]))[0]:
                    continue
                ri, rk = pic.rows(i, t0, t1), pic.rows(k, t0, t1)
                both_ais = self.tracker.mmsi[i] and self.tracker.mmsi[k]
                same_look = np.intersect1d(log["scan"][ri][log["scan"][ri] >= 0], log["scan"][rk])
                if not both_ais and len(same_look) == 0:
                    continue  # never seen as two objects at once: probably one vessel, two tracks
                self._emit(
                    "rendezvous", [i, k], t0, t1, cx, cy, [ri, rk],
                    detail=f"within {MEET_M / 1000:.0f} km at under 3 kn for {(t1 - t0) / 60:.0f} min",
                )  # fmt: skip

    def _zone_entries(self, tracks: np.ndarray) -> None:
        pic = self.pic
        if not self.zones or len(tracks) == 0:
            return
        lat, lon = self.frame.to_latlon(pic.x[tracks], pic.y[tracks])
        valid = ~np.isnan(pic.x[tracks])
        for name, poly in self.zones:
            inside = contains_xy(poly, np.nan_to_num(lon), np.nan_to_num(lat)) & valid
            state = np.zeros(len(tracks), dtype=np.int8)  # 0 unknown, 1 outside, 2 inside
            last_in = np.full(len(tracks), -np.inf)
            for g, t in enumerate(pic.times):
                new = inside[:, g] & (state == 1) & (t - last_in > 1800.0)
                for k in np.flatnonzero(new):
                    i = tracks[k]
                    self._emit(
                        "zone_entry", [i], t, t, pic.x[i, g], pic.y[i, g], [pic.rows(i, t - GRID_S, t + GRID_S)],
                        zone=name, detail=f"entered {name}",
                    )  # fmt: skip
                last_in = np.where(state == 2, t - GRID_S, last_in)
                state = np.where(valid[:, g], np.where(inside[:, g], 2, 1), state).astype(np.int8)


def zone_geometry(zone: dict):
    """A zone's (lon, lat) geometry: a polygon of [lat, lon] drawn in the scenario, or a region code
    (such as "JPN-MZ", a 200 nmi maritime zone) from meshwarn.geo.regions when that module is there."""
    if "polygon" in zone:
        return Polygon([(p[1], p[0]) for p in zone["polygon"]])
    code = zone.get("region", "")
    try:
        from meshwarn.geo.regions import load_regions
    except ImportError:
        raise InputError(f"zone {code!r}: region zones need meshwarn.geo.regions") from None
    region = load_regions().get(code)
    if region is None:
        raise InputError(f"zone {code!r}: no such region (give a polygon or a code such as JPN-MZ)")
    return region.geometry


def _runs(flag: np.ndarray):
    """(row, start, stop) of each run of True along axis 1."""
    padded = np.pad(flag.astype(np.int8), ((0, 0), (1, 1)))
    edges = np.diff(padded, axis=1)
    starts, stops = np.nonzero(edges == 1), np.nonzero(edges == -1)
    return zip(starts[0], starts[1], stops[1], strict=True)


def _consecutive(values: np.ndarray):
    cuts = np.flatnonzero(np.diff(values) != 1) + 1
    for chunk in np.split(values, cuts):
        yield int(chunk[0]), int(chunk[-1]) + 1


class _quiet:
    """Silence NumPy's all-NaN slice warnings, which here just mean 'no overlap'."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)
