"""The alert manager on synthesised tracks of true flights: who is warned, when, and how often."""

from __future__ import annotations

from collections import Counter

import msgspec
import pytest
import shapely

from meshwarn.warn.alerts import AlertManager, WarnPolicy
from meshwarn.warn.commands import issue_alerts
from meshwarn.warn.quality import warning_quality
from meshwarn.warn.synth import decaying, tracks_from_truth
from tests.test_warn_fixtures import irbm, lofted_icbm, srbm_sea_of_japan, truth_of


@pytest.fixture(scope="module")
def irbm_alerts():
    return issue_alerts(tracks_from_truth(irbm()))


def test_irbm_overflight_warns_exactly_the_prefectures_under_the_true_ground_track(irbm_alerts) -> None:
    q = warning_quality(irbm_alerts, truth_of(irbm()))
    assert q["at_risk"] == ["JP-02"]  # Aomori, from the true ground track
    assert q["warned"] == q["at_risk"], f"extra {q['false']}, missed {q['missed']}"
    assert q["false"] == [] and q["missed"] == [] and q["late"] == []
    row = q["regions"]["JP-02"]
    assert row["status"] == "warned"
    assert row["from_launch_s"] < 90.0  # confirmed after two predictions, a minute after launch
    assert row["lead_time_s"] > 300.0  # minutes before the missile is over Aomori
    assert row["cancelled"] is not None and row["cancelled"] > row["true_time"]  # all clear after it passed


def test_every_alert_chain_ends_with_an_all_clear_and_references_its_history(irbm_alerts) -> None:
    chains: dict[str, list] = {}
    for a in irbm_alerts:
        chains.setdefault(a.region_code, []).append(a)
    for chain in chains.values():
        assert chain[0].msg_type == "Alert" and chain[0].references == ()
        assert chain[-1].msg_type == "Cancel" and "All clear" in chain[-1].headline
        for i, a in enumerate(chain):
            assert a.references == tuple(b.id for b in chain[:i])
            assert len({b.event_id for b in chain}) == 1


def test_updates_are_rate_limited(irbm_alerts) -> None:
    policy = WarnPolicy()
    updates = [a for a in irbm_alerts if a.msg_type != "Cancel"]
    for prev, nxt in zip(updates, updates[1:], strict=False):
        if prev.region_code == nxt.region_code:
            assert (
                nxt.sent - prev.sent >= policy.min_update_interval_s
                or abs(nxt.expected_time - prev.expected_time) >= policy.large_time_change_s
            )
    assert Counter(a.msg_type for a in irbm_alerts)["Update"] <= 5


def test_a_lone_noisy_early_prediction_does_not_flood_alerts() -> None:
    tracks = tracks_from_truth(irbm())
    wild = tracks_from_truth(irbm(), first_s=70.0, step_s=1000.0, width_km=lambda s: 250.0,
                             offset_km=lambda s: 150.0)[0]  # fmt: skip
    noisy = sorted(tracks + [msgspec.structs.replace(wild, time=wild.time + 0.5)], key=lambda t: t.time)
    alerts = issue_alerts(noisy)
    q = warning_quality(alerts, truth_of(irbm()))
    assert q["false"] == [], "one wild prediction warned regions never at risk"
    assert q["warned"] == ["JP-02"]
    manager = AlertManager()
    assert manager.hazards(wild, wild.time).keys() > {"JP-02"}  # the wild one alone would have warned more


def test_a_prediction_that_moves_away_cancels_the_region() -> None:
    # An early bias 70 km to the north puts Hokkaido at risk; as the track converges it is cancelled.
    tracks = tracks_from_truth(
        irbm(), offset_km=decaying(-70.0, 0.0, 40.0, 60.0), width_km=decaying(30.0, 8.0, 60.0, 60.0)
    )
    alerts = issue_alerts(tracks)
    hokkaido = [a for a in alerts if a.region_code == "JP-01"]
    assert [a.msg_type for a in hokkaido][0] == "Alert"
    assert hokkaido[-1].msg_type == "Cancel" and "no longer at risk" in hokkaido[-1].headline
    assert hokkaido[-1].sent < hokkaido[-1].expected_time  # withdrawn before the time it had announced
    q = warning_quality(alerts, truth_of(irbm()))
    assert q["false"] == ["JP-01"] and q["missed"] == []
    assert q["regions"]["JP-01"]["cancelled"] == hokkaido[-1].sent


def test_a_lost_track_grows_its_area_and_is_not_frozen() -> None:
    obj = irbm()
    tracks = tracks_from_truth(obj, until_s=150.0)
    lost = [
        msgspec.structs.replace(t, status="coasting")
        for t in tracks_from_truth(obj, first_s=150.0, until_s=400.0, step_s=10.0)
    ]
    lost = [
        msgspec.structs.replace(t, impact=tracks[-1].impact, phase="ballistic") for t in lost
    ]  # no new data
    manager = AlertManager(WarnPolicy(lost_accel_mps2=1.0))  # a manoeuvring threat: growth is material
    for t in tracks + lost:
        manager.update(t)
        manager.advance(t.time)
    event = manager.events["T1"]
    assert event.lost
    early = manager.hazards(event.track, 160.0 + obj.launch_time, lost_since=event.last_fix)
    late = manager.hazards(event.track, 380.0 + obj.launch_time, lost_since=event.last_fix)
    assert "JP-02" in early and "JP-02" in late
    assert shapely.area(late["JP-02"].area) > shapely.area(early["JP-02"].area)  # uncertainty grows
    aomori = [a for a in manager.issued if a.region_code == "JP-02"]
    assert aomori[-1].msg_type != "Cancel"  # not cancelled while lost and still due
    assert any("track lost" in a.headline for a in aomori)  # and re-announced with the wider area
    done = manager.advance(obj.impact_time + 120.0)
    assert {a.region_code for a in done if a.msg_type == "Cancel"} >= {"JP-02"}
    assert all("predicted impact time has passed" in a.headline for a in done)


def test_a_ballistic_track_lost_until_impact_does_not_flood_the_map() -> None:
    """No thrust, no drift of hundreds of km: a lofted ICBM lost 500 s after launch and coasting for
    45 minutes keeps the regions its live track warned and adds none (the old 1 m/s^2 allowance
    warned all of Japan's prefectures and half of Korea's provinces)."""
    obj = lofted_icbm()
    tracks = tracks_from_truth(obj, until_s=500.0)
    manager = AlertManager()
    for t in tracks:
        manager.update(t)
        manager.advance(t.time)
    live = {a.region_code for a in manager.issued if a.msg_type == "Alert"}
    manager.update(msgspec.structs.replace(tracks[-1], status="coasting"))  # lost: no data from here on
    for now in range(int(tracks[-1].time) + 10, int(obj.impact_time), 10):
        manager.advance(float(now))
    warned = {a.region_code for a in manager.issued if a.msg_type == "Alert"}
    assert manager.events["T1"].lost
    assert live == {"JPN-MZ"} and warned == live


def test_deleted_after_impact_gives_all_clear() -> None:
    tracks = tracks_from_truth(srbm_sea_of_japan())
    manager = AlertManager()
    for t in tracks:
        manager.update(t)
    active = {a.region_code for a in manager.issued if a.msg_type == "Alert"}
    assert {"JPN-MZ", "KOR-MZ"} <= active  # the impact falls inside both approximate zones
    final = manager.update(
        msgspec.structs.replace(tracks[-1], status="deleted", time=tracks[-1].impact.time + 5)
    )
    assert {a.region_code for a in final} == active and all(a.msg_type == "Cancel" for a in final)
    q = warning_quality(manager.issued, truth_of(srbm_sea_of_japan()))
    assert q["missed"] == [] and q["regions"]["JPN-MZ"]["lead_time_s"] > 60.0


def test_tentative_tracks_and_other_countries_are_not_warned() -> None:
    tracks = [
        msgspec.structs.replace(t, status="tentative") for t in tracks_from_truth(irbm(), until_s=120.0)
    ]
    manager = AlertManager()
    assert all(manager.update(t) == [] for t in tracks)
    only_korea = issue_alerts(tracks_from_truth(irbm()), WarnPolicy(countries=("KOR",)))
    assert only_korea == []


def _flapping_tracks():
    # The predicted path jumps north and back every other update, so Hokkaido's coast is in and out of the corridor.
    return tracks_from_truth(
        irbm(),
        first_s=200.0,
        until_s=480.0,
        step_s=4.0,
        width_km=lambda s: 6.0,
        offset_km=lambda s: -38.0 if int(s / 8) % 2 else -28.0,
    )


def test_a_region_on_the_edge_of_the_corridor_is_not_warned_and_cancelled_by_turns() -> None:
    alerts = issue_alerts(_flapping_tracks())
    counts = Counter((a.region_code, a.msg_type) for a in alerts)
    assert counts[("JP-01", "Alert")] == 1 and counts[("JP-01", "Cancel")] == 1
    assert all(n == 1 for (code, kind), n in counts.items() if kind != "Update")
    naive = WarnPolicy(
        keep_factor=1.0, keep_margin_km=0.0, cancel_after_s=0.0, cancel_after_updates=1, confirm_updates=1
    )
    flapping = Counter((a.region_code, a.msg_type) for a in issue_alerts(_flapping_tracks(), naive))
    assert flapping[("JP-01", "Alert")] > 3  # what the hysteresis prevents


def test_no_impact_warning_while_the_motor_burns() -> None:
    obj = srbm_sea_of_japan()
    flicker = tracks_from_truth(obj, first_s=30.0, until_s=300.0, step_s=4.0)
    # a tracker's phase may flicker to ballistic for one update before burnout
    flicker = [
        msgspec.structs.replace(t, phase="ballistic") if abs(t.time - obj.launch_time - 40.0) < 3 else t
        for t in flicker
    ]
    alerts = issue_alerts(flicker)
    zone = next(a for a in alerts if a.region_code == "JPN-MZ")
    assert zone.sent >= obj.burnout_time + WarnPolicy().boost_settle_s
    early = issue_alerts(flicker, WarnPolicy(impact_in_boost=True))
    assert next(a for a in early if a.region_code == "JPN-MZ").sent < obj.burnout_time


def test_predictions_that_swing_during_boost_must_hold_before_they_warn() -> None:
    obj = irbm()
    tracks = tracks_from_truth(obj)
    wild = tracks_from_truth(
        obj, first_s=70.0, until_s=76.0, step_s=2.0, width_km=lambda s: 250.0, offset_km=lambda s: 150.0
    )
    assert all(t.phase == "boost" for t in wild) and len(wild) == 3
    noisy = sorted(
        tracks + [msgspec.structs.replace(t, time=t.time + 0.5) for t in wild], key=lambda t: t.time
    )
    q = warning_quality(issue_alerts(noisy, interval_s=0.0), truth_of(obj))
    assert q["false"] == [] and q["warned"] == ["JP-02"]
    eager = issue_alerts(noisy, WarnPolicy(boost_confirm_s=0.0), interval_s=0.0)
    assert len(warning_quality(eager, truth_of(obj))["false"]) > 3  # what holding prevents


def test_a_missile_lost_and_found_under_a_new_track_keeps_its_alerts() -> None:
    obj = irbm()
    first = tracks_from_truth(obj, until_s=200.0)
    gone = msgspec.structs.replace(first[-1], status="deleted", time=first[-1].time + 5.0)
    found = tracks_from_truth(obj, track_id="T2", first_s=230.0)
    manager = AlertManager()
    for t in [*first, gone, *found]:
        manager.update(t)
        manager.advance(t.time)
    aomori = [a for a in manager.issued if a.region_code == "JP-02"]
    assert [a.msg_type for a in aomori].count("Alert") == 1  # one identity, carried on by T2
    assert {a.event_id for a in aomori} == {"EV-T1"} and aomori[-1].track_id == "T2"
    assert aomori[-1].msg_type == "Cancel" and "passed" in aomori[-1].headline
    assert list(manager.events) == ["T1"]


def test_a_region_warned_on_a_biased_early_prediction_is_withdrawn_once_the_prediction_settles() -> None:
    # The predicted path runs 70 km south of the truth (its middle over Akita) until 150 s after
    # launch (as a boost-phase prediction may), then on the truth with a narrow corridor.
    settle_s = 150.0
    tracks = tracks_from_truth(
        irbm(),
        width_km=lambda s: 8.0 if s < settle_s else 2.0,
        offset_km=lambda s: 70.0 if s < settle_s else 0.0,
    )
    alerts = issue_alerts(tracks)
    launch = irbm().launch_time
    first = {a.region_code: a.sent - launch for a in alerts if a.msg_type == "Alert"}
    cancel = {a.region_code: a.sent - launch for a in alerts if a.msg_type == "Cancel"}
    extra = set(first) - {"JP-02"}
    assert "JP-02" in first and extra, "the biased prediction should warn a neighbour of Aomori"
    q = warning_quality(alerts, truth_of(irbm()))
    aomori_passed = q["regions"]["JP-02"]["true_time"] - launch
    for code in extra:  # withdrawn soon after the prediction settled, long before the missile passed
        assert settle_s < cancel[code] < settle_s + 45.0 < aomori_passed
    assert cancel["JP-02"] > aomori_passed  # Aomori's alert holds until the missile has passed


def test_a_region_only_the_corridor_edge_reaches_is_warned_once_its_overflight_is_near() -> None:
    # A steady prediction 60 km south of the truth, 8 km wide: its middle runs over Aomori, its
    # edge over Akita (JP-05). Akita's chance of being overflown is small, and a prediction made
    # minutes ahead narrows, so Akita waits until its overflight is edge_lead_s away; Aomori does not.
    obj = irbm()
    tracks = tracks_from_truth(obj, width_km=lambda s: 8.0, offset_km=lambda s: 60.0)
    policy = WarnPolicy()
    first = {a.region_code: a for a in issue_alerts(tracks, policy) if a.msg_type == "Alert"}
    assert set(first) == {"JP-02", "JP-05"}
    assert first["JP-02"].sent - obj.launch_time < 90.0  # the likely path: at once
    akita_lead = first["JP-05"].expected_time - first["JP-05"].sent
    assert policy.edge_lead_s - 10.0 <= akita_lead <= policy.edge_lead_s  # the edge: in time, not early
    eager = {
        a.region_code: a for a in issue_alerts(tracks, WarnPolicy(edge_lead_s=1e9)) if a.msg_type == "Alert"
    }
    assert eager["JP-05"].sent < first["JP-05"].sent - 100.0  # the rule, not the corridor, held it back
