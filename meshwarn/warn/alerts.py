"""The alert manager: from a time-ordered stream of tracks to Alert / Update / Cancel messages.

Per event (one track id) and per region it keeps one alert identity
(``<event>.<region>.<n>``, each message referencing all earlier ones of its region):

- **Alert** when a region first becomes at risk: the remaining overflight corridor
  crosses it, the 95% impact ellipse touches it, or the ellipse comes within a
  country's 200 nmi maritime zone. A region must be at risk in ``confirm_updates``
  consecutive predictions: one lone noisy prediction warns nobody, at the cost of one
  update interval (seconds) of lead time. While the motor burns, predictions swing with
  every update, so a region must also stay at risk for ``boost_confirm_s``.
- **Update** when its expected time moves by ``time_change_s``, the reason changes, or
  the area at risk changes by ``area_change`` (1 - intersection/union), at most once per
  ``min_update_interval_s`` unless the time moves by ``large_time_change_s`` or the risk
  escalates to an impact (no flood). While the missile is over the region, no updates.
- **Cancel** ("all clear") once the missile has passed over it or come down, or once it
  has been out of the *widened* hazard (corridor and ellipse x ``keep_factor`` +
  ``keep_margin_km``) for ``cancel_after_updates`` predictions and ``cancel_after_s``
  seconds. The two thresholds (warn at the 95% width, cancel only outside the widened one)
  are a hysteresis: a region on the edge of the corridor is not warned and cancelled by turns.

While the motor burns (the track's phase is boost, held until it has said otherwise for
``boost_settle_s``), the predicted impact point is only a lower bound on the range and
moves downrange with every update: it warns nobody (``impact_in_boost`` to change that),
while the path up to it does (the missile will at least overfly that).

Only regions of ``policy.countries`` are warned; tentative tracks warn nobody.

A region the 95% corridor reaches but the likely part of it does not (the band within which the
path passes with probability ``1 - 2 * likely_prob``, i.e. the region is overflown with less than
``likely_prob``) is at risk only from the corridor's edge: while the track is live (not lost) it
is warned once its overflight is ``edge_lead_s`` away, not before. The corridor narrows as the track firms
up (most of all at burnout), so an early warning on the edge alone is most likely a false one, and
waiting costs the region no warning, only lead time beyond ``edge_lead_s``.

A lost track never freezes an alert. A new track whose predicted impact (time and place)
matches a lost event's takes that event over, so its regions keep their alert identities. While a track is coasting, or after it was
deleted before its predicted impact, the corridor and the ellipse are drawn with
an uncertainty that grows: the cross-track width is at least what the track's own
position/velocity covariance gives at each point of the path, plus the drift an
unmodelled acceleration (``lost_accel_mps2``, larger in boost) would cause since the
last fix. Call :meth:`AlertManager.advance` as time passes (the exercise runner
does it on every track of any event): a lost event is then re-assessed with the
grown uncertainty (which may warn more regions, and updates the ones warned; it
cancels none while lost), and everything is cancelled once the predicted impact time
(+3 sigma) has gone. A track deleted at or after its predicted impact gives the all clear.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from statistics import NormalDist

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from meshwarn.geo.earth import surface_distance_km
from meshwarn.geo.regions import RegionSet, load_regions
from meshwarn.model import Alert, ImpactPrediction, Track
from meshwarn.warn.areas import Hit, corridor_segments, ellipse_polygon, impact_hits, overflown

K95_1D = 1.96
MAX_GROWTH_KM = 500.0


@dataclass(frozen=True)
class WarnPolicy:
    countries: tuple[str, ...] = ("JPN", "KOR")
    confirm_updates: int = 2
    min_update_interval_s: float = 30.0
    time_change_s: float = 20.0
    large_time_change_s: float = 90.0
    area_change: float = 0.5
    cancel_after_updates: int = 2
    cancel_after_s: float = 20.0
    keep_factor: float = 1.5
    keep_margin_km: float = 3.0
    impact_in_boost: bool = False
    boost_settle_s: float = 10.0
    boost_confirm_s: float = 15.0
    passed_margin_s: float = 10.0
    # A coasting missile has no thrust and the tracker flies J2 gravity: 0.01 m/s^2 (about 30 m/s over
    # a 50-minute coast) covers venting and model error. 1 m/s^2 grew a lofted ICBM lost for 45 min
    # (KOR's picture under two dyads) over all of Japan and half of Korea.
    lost_accel_mps2: float = 0.01
    lost_boost_accel_mps2: float = 10.0
    likely_prob: float = 0.3  # overflown with less than this: at risk only from the edge (0: rule off)
    edge_lead_s: float = 120.0  # ... and then warned once its overflight is this close


@dataclass
class _RegionState:
    ids: list[str] = field(default_factory=list)
    active: bool = False
    pending: int = 0
    pending_since: float = 0.0
    misses: int = 0
    out_since: float | None = None
    last_sent: float = -math.inf
    time: float = 0.0
    end: float = 0.0
    reason: str = ""
    area: BaseGeometry | None = None


@dataclass
class _Event:
    event_id: str
    track: Track
    last_fix: float  # time of the last track that was not coasting
    lost: bool = False
    coast_since: float | None = None  # since when the track has said it is no longer boosting
    regions: dict[str, _RegionState] = field(default_factory=dict)


def hhmmss(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S UTC")


class AlertManager:
    """Feed :meth:`update` every track in time order; it returns the alerts to send."""

    def __init__(self, policy: WarnPolicy | None = None, regions: RegionSet | None = None) -> None:
        self.policy = policy or WarnPolicy()
        self.regions = regions or load_regions()
        self.events: dict[str, _Event] = {}
        self.issued: list[Alert] = []
        self._alias: dict[str, str] = {}  # a new track id -> the lost event it took over

    # --- input -------------------------------------------------------------------------

    def update(self, track: Track) -> list[Alert]:
        """Take one track update (in time order) and return any alerts it causes."""
        key = self._alias.get(track.id, track.id)
        if track.domain != "missile" or track.status == "tentative" and key not in self.events:
            return []
        event = self.events.get(key)
        if event is None and track.status != "deleted":
            event = self._reacquired(track)
        if event is None:
            event = self.events[key] = _Event(f"EV-{track.id}", track, track.time)
        if track.status == "deleted":
            if event.track.id != track.id:  # another track has taken this event over
                return []
            return self._deleted(event, track)
        event.track = track
        event.lost = track.status == "coasting"
        if track.phase == "boost":
            event.coast_since = None
        elif event.coast_since is None:
            event.coast_since = track.time
        if not event.lost:
            event.last_fix = track.time
        return self._assess(event, track.time)

    def _reacquired(self, track: Track) -> _Event | None:
        """A lost event this new track continues: same predicted impact (time and place).

        Only lost events qualify (a salvo's missiles fall close together, but none is lost), so
        a missile lost and found again under a new track id keeps its alerts' identities."""
        impact = track.impact
        if impact is None:
            return None
        for key, event in self.events.items():
            old = event.track.impact
            if not event.lost or old is None or abs(old.time - impact.time) > 120.0:
                continue
            km = float(
                surface_distance_km(old.ellipse.lat, old.ellipse.lon, impact.ellipse.lat, impact.ellipse.lon)
            )
            if km <= max(300.0, 3.0 * old.ellipse.semi_major_km):
                self._alias[track.id] = key
                return event
        return None

    def advance(self, now: float) -> list[Alert]:
        """Let time pass: re-assess lost events with grown uncertainty, cancel what has passed."""
        out: list[Alert] = []
        for event in self.events.values():
            if event.lost and now > event.track.time:
                out += self._assess(event, now)
            elif not event.lost:
                out += self._cancel_passed(event, now)
        return out

    def finish(self, now: float) -> list[Alert]:
        """End of the run: every alert still active is cancelled once its time has passed."""
        return self.advance(now)

    # --- decisions -----------------------------------------------------------------------

    def _deleted(self, event: _Event, track: Track) -> list[Alert]:
        impact = event.track.impact
        if impact is None or track.time >= impact.time - self.policy.passed_margin_s:
            return self._cancel_all(event, track.time, "the missile has come down")
        event.lost = True  # deleted before its predicted impact: keep warning, uncertainty grows
        return self._assess(event, track.time)

    def _assess(self, event: _Event, now: float) -> list[Alert]:
        track, impact = event.track, event.track.impact
        if impact is None:
            return self._cancel_passed(event, now)
        if event.lost and now > impact.time + 3.0 * impact.sigma_time_s + self.policy.passed_margin_s:
            return self._cancel_all(event, now, "the predicted impact time has passed (track lost)")
        lost_since = event.last_fix if event.lost else None
        boost = event.coast_since is None or now - event.coast_since < self.policy.boost_settle_s
        hits = self.hazards(track, now, lost_since, boost=boost)
        active = any(st.active for st in event.regions.values())
        keep = self.hazards(track, now, lost_since, keep=True, boost=boost) if active else hits
        return self._reconcile(event, hits, keep, now, boost)

    def hazards(
        self,
        track: Track,
        now: float,
        lost_since: float | None = None,
        keep: bool = False,
        boost: bool | None = None,
    ) -> dict[str, Hit]:
        """The regions of the policy's countries at risk from this track at time now.

        ``keep``: with the corridor and ellipse widened by the policy's keep factor and margin,
        the test a region already warned must fail before it is cancelled (hysteresis, so a
        region on the edge of the corridor is not warned and cancelled by turns). While the
        track is in boost the predicted impact is only a lower bound on the range (the motor
        still burns), so it warns nobody unless ``impact_in_boost``; the path up to it does.
        ``boost`` defaults to the track's phase; the manager holds it until the track has been
        out of boost for ``boost_settle_s`` (a tracker's phase may flicker at burnout)."""
        p = self.policy
        impact = track.impact
        assert impact is not None
        grow = self._growth_km(track, now, lost_since)
        widths = self._widths_km(track, impact, grow)
        grow_e = grow
        if keep:
            widths = widths * p.keep_factor + p.keep_margin_km
            grow_e += p.keep_margin_km + (p.keep_factor - 1.0) * impact.ellipse.semi_minor_km
        hits: list[Hit] = []
        if len(impact.ground_track) > 0:
            hits += overflown(self.regions, *corridor_segments(impact.ground_track, widths, now))
            if not keep and lost_since is None:
                hits = self._likely_or_near(hits, impact, widths, now)
        end = impact.time + 3.0 * impact.sigma_time_s
        boost = track.phase == "boost" if boost is None else boost
        if not boost or p.impact_in_boost:
            hits += impact_hits(self.regions, ellipse_polygon(impact.ellipse, grow_e), impact.time, end)
        out: dict[str, Hit] = {}
        for hit in hits:
            if hit.region.country not in self.policy.countries:
                continue
            prev = out.get(hit.region.code)
            if prev is None or hit.reason != "overflight":  # impact outranks overflight
                out[hit.region.code] = hit if prev is None else _merge(prev, hit)
        return out

    def _likely_or_near(
        self, hits: list[Hit], impact: ImpactPrediction, widths: np.ndarray, now: float
    ) -> list[Hit]:
        """Overflight hits whose region the likely corridor reaches, or whose overflight is near."""
        edge = [h for h in hits if h.time - now > self.policy.edge_lead_s]
        if not edge or not 0.0 < self.policy.likely_prob < 1.0:
            return hits
        z = NormalDist().inv_cdf(1.0 - self.policy.likely_prob) / K95_1D
        core = overflown(self.regions, *corridor_segments(impact.ground_track, widths * max(z, 0.0), now))
        likely = {h.region.code for h in core}
        return [h for h in hits if h.time - now <= self.policy.edge_lead_s or h.region.code in likely]

    def _widths_km(self, track: Track, impact: ImpactPrediction, grow: float) -> np.ndarray:
        """Cross-track 95% half-widths: the tracker's, or the track covariance's if wider, plus growth."""
        times = np.array([p[0] for p in impact.ground_track], dtype=float)
        given = np.asarray(impact.track_sigma_km, dtype=float)
        if len(given) == len(times) and grow == 0.0 and track.status != "coasting":
            return given  # a live track: the tracker's own corridor
        given = given if len(given) == len(times) else np.zeros(len(times))
        sp, sv = _sigmas(track)
        from_cov = K95_1D * np.sqrt(sp**2 + (sv * np.maximum(times - track.time, 0.0)) ** 2) / 1000.0
        return np.maximum(given, from_cov) + grow

    def _growth_km(self, track: Track, now: float, lost_since: float | None) -> float:
        if lost_since is None:
            return 0.0
        accel = (
            self.policy.lost_boost_accel_mps2
            if track.phase in ("boost", "unknown")
            else self.policy.lost_accel_mps2
        )
        dt = max(now - lost_since, 0.0)
        return min(K95_1D * 0.5 * accel * dt * dt / 1000.0, MAX_GROWTH_KM)

    def _reconcile(
        self, event: _Event, hits: dict[str, Hit], keep: dict[str, Hit], now: float, boost: bool = False
    ) -> list[Alert]:
        """New regions from ``hits``; warned ones stay while in ``keep`` (the widened test)."""
        p = self.policy
        out: list[Alert] = []
        for code, hit in hits.items():
            st = event.regions.setdefault(code, _RegionState())
            if not st.active:
                st.pending_since = now if st.pending == 0 else st.pending_since
                st.pending += 1
                held = now - st.pending_since >= p.boost_confirm_s or not boost
                if st.pending >= p.confirm_updates and held:
                    out.append(self._send(event, st, hit, now, "Alert"))
            elif self._material(st, hit, now):
                out.append(self._send(event, st, hit, now, "Update"))
            else:
                st.end = max(st.end, hit.end) if hit.reason == st.reason else hit.end
        for code, st in event.regions.items():
            if code not in hits:
                st.pending = 0
            if not st.active:
                continue
            if code in keep:
                st.misses, st.out_since = 0, None
                st.end = max(st.end, keep[code].end)
                continue
            st.misses += 1
            st.out_since = now if st.out_since is None else st.out_since
            if st.time <= now:  # it was due by now and the remaining path no longer covers it
                out.append(self._cancel(event, code, st, now, _passed(st.reason)))
            elif (
                st.misses >= p.cancel_after_updates
                and now - st.out_since >= p.cancel_after_s
                and not event.lost
            ):
                out.append(self._cancel(event, code, st, now, "no longer at risk"))
        return out

    def _material(self, st: _RegionState, hit: Hit, now: float) -> bool:
        p = self.policy
        dt = abs(hit.time - st.time)
        escalation = hit.reason != st.reason and hit.reason != "overflight"
        if escalation:
            return True
        if st.time <= now:  # passing over it now: the corridor shrinks as it goes, nothing new to say
            return False
        if dt >= p.large_time_change_s:
            return True
        if now - st.last_sent < p.min_update_interval_s:
            return False
        return dt >= p.time_change_s or hit.reason != st.reason or _change(st.area, hit.area) >= p.area_change

    def _cancel_passed(self, event: _Event, now: float) -> list[Alert]:
        return [
            self._cancel(event, code, st, now, _passed(st.reason))
            for code, st in event.regions.items()
            if st.active and st.end + self.policy.passed_margin_s <= now
        ]

    def _cancel_all(self, event: _Event, now: float, why: str) -> list[Alert]:
        return [self._cancel(event, code, st, now, why) for code, st in event.regions.items() if st.active]

    # --- messages ------------------------------------------------------------------------

    def _send(self, event: _Event, st: _RegionState, hit: Hit, now: float, kind: str) -> Alert:
        st.active, st.pending, st.misses, st.last_sent = True, 0, 0, now
        st.time, st.end, st.reason, st.area = hit.time, hit.end, hit.reason, hit.area
        region = hit.region
        what = {
            "overflight": f"Missile expected to pass over {region.name} at {hhmmss(hit.time)}",
            "impact": f"Missile may come down in {region.name} at {hhmmss(hit.time)}",
            "maritime_zone": f"Missile expected to come down in {region.name} at {hhmmss(hit.time)}",
        }[hit.reason]
        if event.lost:
            what += " (track lost: area widened)"
        return self._emit(
            event, region.code, region.name, region.country, st, kind, hit.reason, now, what, hit.area
        )

    def _cancel(self, event: _Event, code: str, st: _RegionState, now: float, why: str) -> Alert:
        st.active, st.pending, st.misses, st.last_sent, st.out_since = False, 0, 0, now, None
        region = self.regions.get(code)
        name = region.name if region else code
        country = region.country if region else "UNK"
        headline = f"All clear for {name}: {why}"
        return self._emit(event, code, name, country, st, "Cancel", st.reason, now, headline, st.area)

    def _emit(
        self,
        event: _Event,
        code: str,
        name: str,
        country: str,
        st: _RegionState,
        kind: str,
        reason: str,
        now: float,
        headline: str,
        area: BaseGeometry | None,
    ) -> Alert:
        alert = Alert(
            id=f"{event.event_id}.{code}.{len(st.ids) + 1}",
            event_id=event.event_id,
            track_id=event.track.id,
            region_code=code,
            region_name=name,
            country=country,
            msg_type=kind,
            reason=reason,
            sent=now,
            expected_time=st.time,
            headline=headline,
            references=tuple(st.ids),
            polygon=ring(area),
            provenance=event.track.provenance,
            classification=event.track.classification,
        )
        st.ids.append(alert.id)
        self.issued.append(alert)
        return alert


def _passed(reason: str) -> str:
    return "the missile has passed" if reason == "overflight" else "the missile has come down"


def _merge(a: Hit, b: Hit) -> Hit:
    """Overflight and impact over one region: the impact, from the earlier time."""
    return Hit(b.region, b.reason, min(a.time, b.time), max(a.end, b.end), shapely.union(a.area, b.area))


def _change(old: BaseGeometry | None, new: BaseGeometry) -> float:
    if old is None or old.is_empty or new.is_empty:
        return 1.0
    union = shapely.union(old, new).area
    return 1.0 - shapely.intersection(old, new).area / union if union > 0 else 0.0


def _sigmas(track: Track) -> tuple[float, float]:
    """1-sigma horizontal position (m) and velocity (m/s) of the track."""
    sp = track.sigma_position_m
    if len(track.covariance) == 36:
        c = np.asarray(track.covariance, dtype=float).reshape(6, 6)
        sp = max(sp, math.sqrt(max(np.trace(c[:3, :3]), 0.0) / 3.0))
        return sp, math.sqrt(max(np.trace(c[3:, 3:]), 0.0) / 3.0)
    return sp, 0.0


def ring(area: BaseGeometry | None, max_points: int = 64) -> list[tuple[float, float]]:
    """One closed (lat, lon) ring covering the area (its convex hull, simplified)."""
    if area is None or area.is_empty:
        return []
    hull = shapely.convex_hull(area)
    if hull.geom_type != "Polygon":
        hull = hull.buffer(0.01)
    tol = 0.001
    while len(hull.exterior.coords) > max_points:
        hull, tol = hull.simplify(tol), tol * 2
    return [(round(y, 5), round(x, 5)) for x, y in hull.exterior.coords]
