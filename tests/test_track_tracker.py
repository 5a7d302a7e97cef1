"""The Tracker facade on known cases: false alarms, late reports, a salvo, hand-over between
partners' radars, infrared-only birth, and what it emits."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from meshwarn import model
from meshwarn.geo.earth import aer_to_ecef, surface_distance_km
from meshwarn.track.measurements import from_report
from meshwarn.track.tracker import Tracker, TrackerConfig
from tests.test_track_synth import (
    JPN,
    KOR,
    T0,
    ir_reports,
    label,
    plot,
    position_error,
    radar_reports,
    run,
    trajectory,
)


def _confirmed(tracks: list[model.Track]) -> set[str]:
    return {t.id for t in tracks if t.status == "confirmed"}


def test_lone_false_alarms_stay_tentative_and_die() -> None:
    rng = np.random.default_rng(3)
    tracker = Tracker()
    emitted = []
    # A false plot every 2 s somewhere in the radar's volume: pairs may start a tentative
    # track, but nothing follows it, so it never confirms and is deleted.
    for k in range(60):
        t = T0 + 2.0 * k
        aer = np.array([rng.uniform(0, 360), rng.uniform(1, 40), rng.uniform(1e5, 1.5e6)])
        emitted += tracker.process(plot(KOR, t, aer, k), t + 0.3)
    # Two plots that happen to be within reach of each other start a tentative track.
    a = np.array([300.0, 10.0, 6.0e5])
    p = aer_to_ecef(*a, KOR.lat, KOR.lon, KOR.h)
    b = np.array(a)
    b[2] += 3000.0
    t = T0 + 200.0
    emitted += tracker.process(plot(KOR, t, a, 100), t)
    emitted += tracker.process(plot(KOR, t + 2.0, b, 101), t + 2.0)
    assert p is not None
    tentative = [x for x in emitted if x.status == "tentative"]
    assert tentative and not _confirmed(emitted)
    assert [x.id for x in tracker.tracks(t + 2.0)] == [tentative[-1].id]
    later = tracker.process(plot(KOR, t + 60.0, np.array([10.0, 5.0, 3e5]), 102), t + 60.0)
    assert tracker.tracks(t + 60.0) == []
    assert any(x.status == "deleted" and x.id == tentative[-1].id for x in later)


def test_missile_track_is_confirmed_accurate_and_labelled() -> None:
    tr = trajectory()
    rng = np.random.default_rng(1)
    reports = radar_reports(KOR, [tr], T0, T0 + 400.0, rng, clutter=1.0)
    reports += radar_reports(JPN, [tr], T0, T0 + 400.0, rng, clutter=1.0)
    tracker = Tracker()
    out = run(tracker, reports)
    confirmed = _confirmed(out)
    assert len(confirmed) == 1
    last = [t for t in out if t.id in confirmed][-1]
    assert position_error(last, tr) < 100.0
    assert last.phase == "ballistic" and last.provenance == ("JPN", "KOR")
    assert last.classification == "SECRET" and len(last.covariance) == 36
    assert last.impact is not None and last.launch is not None
    assert (
        surface_distance_km(last.impact.ellipse.lat, last.impact.ellipse.lon, tr.impact_lat, tr.impact_lon)
        < 2.0
    )
    assert last.impact.time == pytest.approx(tr.impact_time, abs=5.0)
    assert (
        surface_distance_km(last.launch.lat, last.launch.lon, tr.launch_lat, tr.launch_lon)
        < 3 * last.launch.sigma_km
    )
    # Born in boost, carried through burnout under one identity.
    first = next(t for t in out if t.id in confirmed and t.status == "confirmed")
    assert first.time < tr.burnout_time and first.phase == "boost"
    # Non-radar reports are not the tracker's business.
    unit = model.UnitPosition(time=T0, unit="DDG", lat=37.0, lon=131.0, h=0.0, speed_mps=5.0, course_deg=0.0)
    assert tracker.process(model.Report("u", label("KOR"), T0, unit), T0 + 400.0) == []


def test_late_reports_do_not_corrupt_the_track() -> None:
    tr = trajectory()
    rng = np.random.default_rng(2)
    reports = radar_reports(KOR, [tr], T0, T0 + 300.0, rng)
    reports += radar_reports(JPN, [tr], T0, T0 + 300.0, rng)
    reports.sort(key=lambda r: r.body.time)  # type: ignore[union-attr]
    in_order = Tracker()
    run(in_order, reports)
    # Same reports, but every Japanese plot arrives 7 s late: behind several Korean ones.
    late = Tracker()
    arrivals = sorted(
        ((r.body.time + (7.0 if r.label.originator == "JPN" else 0.2), i) for i, r in enumerate(reports)),  # type: ignore[union-attr]
    )
    for arrival, i in arrivals:
        late.process(reports[i], arrival)
    assert late.late_reports > 50
    (a,), (b,) = in_order.live, late.live
    xa, Pa = a.state.estimate()
    xb, _ = b.state.estimate()
    assert a.state.time == b.state.time and a.report_count == b.report_count
    # Re-filtered at their own times, the late plots give the same answer as in order.
    assert np.linalg.norm(xa[0:3] - xb[0:3]) < 0.05 * np.sqrt(np.trace(Pa[0:3, 0:3]))


def test_salvo_keeps_one_track_per_missile() -> None:
    trajs = [
        trajectory(39.0, 125.5, 95.0, launch_time=T0),
        trajectory(39.2, 125.3, 95.0, launch_time=T0 + 10.0),
        trajectory(38.8, 125.7, 95.0, launch_time=T0 + 20.0),
        trajectory(39.4, 125.6, 95.0, launch_time=T0 + 5.0),
    ]
    rng = np.random.default_rng(4)
    reports = radar_reports(KOR, trajs, T0, T0 + 400.0, rng, clutter=2.0)
    reports += radar_reports(replace(JPN, scan_s=3.0), trajs, T0 + 0.7, T0 + 400.0, rng, clutter=2.0)
    out = run(Tracker(TrackerConfig(products=False)), reports)  # association only: no impact needed
    confirmed = _confirmed(out)
    assert len(confirmed) == len(trajs)
    # Each confirmed track follows one missile all along: nearest missile at every update.
    owners: dict[str, Counter[int]] = {}
    for t in out:
        if t.id in confirmed and t.status == "confirmed":
            errs = [position_error(t, tr) if tr.in_flight(t.time) else np.inf for tr in trajs]
            owners.setdefault(t.id, Counter())[int(np.argmin(errs))] += 1
    assert sorted(c.most_common(1)[0][0] for c in owners.values()) == [0, 1, 2, 3]
    assert all(len(c) == 1 for c in owners.values())


def test_hand_over_between_partners_keeps_one_identity() -> None:
    tr = trajectory()
    rng = np.random.default_rng(5)
    # Korea's radar until 250 s, then 20 s of nothing, then only Japan's.
    reports = radar_reports(KOR, [tr], T0, T0 + 250.0, rng)
    reports += radar_reports(JPN, [tr], T0 + 270.0, T0 + 600.0, rng)
    out = run(Tracker(), reports)
    ids = {t.id for t in out if t.status != "deleted"}
    assert len(ids) == 1
    last = out[-1]
    assert last.time > T0 + 500.0 and set(last.provenance) == {"KOR", "JPN"}


def test_infrared_alone_starts_a_track_in_boost() -> None:
    tr = trajectory()
    rng = np.random.default_rng(6)
    sats = [("GEO-A", "USA", 0.0, 120.0, 35_786_000.0), ("GEO-B", "JPN", 0.0, 150.0, 35_786_000.0)]
    reports = []
    for s in sats:
        reports += ir_reports(s, tr, T0 + 10.0, T0 + 200.0, 1.0, 0.003, rng)
    out = run(Tracker(), reports)
    confirmed = [t for t in out if t.status == "confirmed"]
    assert {t.id for t in confirmed} == {confirmed[0].id}
    assert confirmed[0].time < T0 + 30.0 and confirmed[0].phase == "boost"
    assert set(confirmed[-1].provenance) == {"USA", "JPN"}
    assert position_error(confirmed[-1], tr) < 2000.0
    # Then radar takes over the same track after burnout.
    tracker = Tracker()
    run(tracker, reports + radar_reports(KOR, [tr], T0 + tr.burnout_s + 20, T0 + 400.0, rng))
    assert len([t for t in tracker.live if t.status != "tentative"]) == 1


def test_coasting_track_uncertainty_grows() -> None:
    tr = trajectory()
    reports = radar_reports(KOR, [tr], T0, T0 + 250.0, np.random.default_rng(7))
    tracker = Tracker()
    run(tracker, reports)
    (now,) = tracker.tracks(T0 + 251.0)
    (coast,) = tracker.tracks(T0 + 300.0)
    assert coast.status == "coasting" and coast.time == T0 + 300.0
    assert coast.sigma_position_m > 1.2 * now.sigma_position_m


def test_report_fields_are_read_right() -> None:
    m = from_report(plot(KOR, T0, np.array([90.0, 10.0, 5e5]), 0))
    assert m is not None and m.kind == "radar" and m.originators == ("KOR",)
    assert np.linalg.norm(m.point - aer_to_ecef(90.0, 10.0, 5e5, KOR.lat, KOR.lon, KOR.h)) < 1e-6  # type: ignore[operator]


def test_ukf_tracker_runs_the_same_pipeline() -> None:
    tr = trajectory()
    reports = radar_reports(KOR, [tr], T0, T0 + 200.0, np.random.default_rng(8))
    out = run(Tracker(TrackerConfig(filter="ukf")), reports)
    assert len(_confirmed(out)) == 1 and position_error(out[-1], tr) < 300.0
